//! The probability of correct selection of KN (`rentree::decide::kn`) and the runs it spends, against
//! Rinott's two-stage procedure with the same guarantee: a measurement, not a test.
//!
//! `cargo run --release --no-default-features --example selection_pcs -- [REPS]` (default 2000).
//!
//! Normal outputs in the slippage configuration: system 0 is better than the `k − 1` others by exactly the
//! indifference zone `δ`, and they are equal among themselves, the least favourable configuration for an
//! indifference-zone procedure, where its probability of correct selection (PCS) is closest to its promise.
//! Each system's output has variance 1. Two ways of sampling:
//! - *common random numbers*: replication `j` of every system shares a normal component of variance ½
//!   (`X_ij = μ_i + √½·Z_j + √½·E_ij`), so a difference has variance 1;
//! - *independent*: `X_ij = μ_i + E_ij`, so a difference has variance 2.
//!
//! Rinott's procedure samples independently; its expected runs are `k·E[max{n0, ⌈h²S²/δ²⌉}]` for a variance
//! of 1 (`rinott_expected_n`), the same for both rows. The PCS interval is Wilson's score interval at 95%,
//! which stays inside [0, 1] near 1 where the normal approximation does not.

use rand::Rng;
use rayon::prelude::*;
use rentree::decide::kn::{Goal, Kn, KnSpec, Status};
use rentree::decide::rinott::{rinott_expected_n, rinott_h};
use rentree::engine::random::stream;
use rentree::metrics::ci::wilson;

const FIRST_STAGE: usize = 10;
const INDIFFERENCE: f64 = 0.5;
const CONFIDENCE: f64 = 0.95;

fn main() {
    let reps: usize = match std::env::args().nth(1) {
        None => 2000,
        Some(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("selection_pcs: REPS must be a whole number, found {text:?}");
            std::process::exit(2)
        }),
    };
    println!(
        "KN (c = 1) in the slippage configuration: n0 = {FIRST_STAGE}, delta = {INDIFFERENCE}, 1 - alpha = {CONFIDENCE}, \
         each output of variance 1, {reps} repetitions per row"
    );
    println!(
        "{:>3}  {:<12} {:>6}  {:<17} {:>9} {:>9} {:>9}  {:>8} {:>11} {:>9}",
        "k", "sampling", "PCS", "95% interval", "KN runs", "sd", "max", "Rinott h", "Rinott runs", "KN/Rinott"
    );
    for k in [2, 5, 10] {
        let h = rinott_h(k, FIRST_STAGE, CONFIDENCE).expect("valid Rinott parameters");
        let rinott_runs = k as f64 * rinott_expected_n(h, 1.0, INDIFFERENCE, FIRST_STAGE);
        for (label, common) in [("common (CRN)", true), ("independent", false)] {
            let outcomes: Vec<(bool, usize)> = (0..reps as u64).into_par_iter().map(|seed| select(k, common, seed)).collect();
            let correct = outcomes.iter().filter(|(ok, _)| *ok).count();
            let runs: Vec<f64> = outcomes.iter().map(|(_, r)| *r as f64).collect();
            let mean = runs.iter().sum::<f64>() / reps as f64;
            let sd = (runs.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (reps as f64 - 1.0)).sqrt();
            let max = runs.iter().cloned().fold(0.0, f64::max);
            let pcs = correct as f64 / reps as f64;
            let (low, high) = wilson(correct as u64, reps as u64);
            println!(
                "{k:>3}  {label:<12} {pcs:>6.4}  [{low:.4}, {high:.4}] {mean:>9.1} {sd:>9.1} {max:>9.0}  {h:>8.4} {rinott_runs:>11.1} {:>9.3}",
                mean / rinott_runs
            );
        }
    }
}

/// One selection: whether it picked system 0, and the runs it spent.
fn select(k: usize, common: bool, seed: u64) -> (bool, usize) {
    let spec = KnSpec { systems: k, first_stage: FIRST_STAGE, indifference: INDIFFERENCE, confidence: CONFIDENCE, goal: Goal::Maximize };
    let mut kn = Kn::new(spec).expect("valid KN parameters");
    let (shared_sd, own_sd) = if common { (0.5_f64.sqrt(), 0.5_f64.sqrt()) } else { (0.0, 1.0) };
    loop {
        for run in kn.next_batch() {
            // Replication j's stream gives the shared draw first, then one own draw per system in order,
            // so a run's output does not depend on which other runs the batch holds.
            let mut rng = stream(seed, run.replication as u64, "selection_pcs");
            let shared = standard_normal(&mut rng);
            let own = (0..=run.system).map(|_| standard_normal(&mut rng)).last().expect("at least one draw");
            let mean = if run.system == 0 { INDIFFERENCE } else { 0.0 };
            kn.record(run.system, run.replication, mean + shared_sd * shared + own_sd * own).expect("a run of the batch");
        }
        if let Status::Selected { best } = kn.advance().expect("a complete batch") {
            return (best == 0, kn.runs_spent());
        }
    }
}

/// A standard normal deviate by Box–Muller.
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
