//! How often `rentree optimize` finds the cheapest allocation that Erlang C gives, whether its answer meets
//! the constraint as promised, and the runs it spends against a grid: a measurement, not a test.
//!
//! `cargo run --release --example optimize_success -- [REPS]` (default 40; about 20 s per repetition on two
//! cores).
//!
//! The problem is `experiments/two-pools`: two M/M/c pools (a: λ = 20/s, μ = 1/s, price 1 per server; b:
//! λ = 6/s, μ = 1/2 per s, price 2), the whole system's mean wait at most 0.094 s to within 0.012 s. Erlang C
//! puts the cheapest allocation at 25 and 15 servers (cost 55, 0.0813 s); every cheaper allocation waits
//! 0.106 s or more. Each repetition is the whole command on its own seed, its runs written and read back as
//! part files. The grid's runs are the lattice's points at the first stage's replications (5): a lower
//! bound on what a grid search would spend for the same answer. Intervals are Wilson's at 95%.

use rentree::analytic::erlang_c;
use rentree::metrics::ci::wilson;
use rentree::sweep::experiment::Experiment;
use rentree::sweep::optimize::{optimize, OptimizeOptions};
use std::path::Path;

/// The whole system's mean wait by Erlang C at `a` and `b` servers.
fn mean_wait_s(a: u32, b: u32) -> f64 {
    (20.0 * erlang_c(a, 20.0, 1.0).map_or(f64::INFINITY, |e| e.mean_wait_s)
        + 6.0 * erlang_c(b, 6.0, 0.5).map_or(f64::INFINITY, |e| e.mean_wait_s))
        / 26.0
}

fn main() {
    let reps: u64 = match std::env::args().nth(1) {
        None => 40,
        Some(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("optimize_success: REPS must be a whole number, found {text:?}");
            std::process::exit(2)
        }),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(root.join("experiments/two-pools/experiment.toml")).expect("the experiment is in the repository");
    let scratch = std::env::temp_dir().join(format!("rentree-optimize-success-{}", std::process::id()));
    let (mut exact, mut meets, mut runs, mut grid) = (0u64, 0u64, 0u64, 0.0);
    let mut walls = Vec::new();
    for seed in 1..=reps {
        let dir = scratch.join(seed.to_string());
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let text = source.replace("seed = 1\n", &format!("seed = {seed}\n")).replace(
            "scenario = \"two-pools.toml\"",
            &format!("scenario = \"{}\"", root.join("experiments/two-pools/two-pools.toml").display()),
        );
        let path = dir.join("experiment.toml");
        std::fs::write(&path, text).expect("scratch folder is writable");
        let options = OptimizeOptions {
            out: dir.join("out"),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            resume: false,
            progress: false,
            budget: Default::default(),
            confidence: 0.95,
            first_stage: 5,
            max_runs: 2000,
            max_replications: 1000,
            cluster: None,
        };
        let o = optimize(&Experiment::load(&path).expect("valid experiment"), &options).expect("optimisation runs");
        let knobs: Vec<u32> = o.note.optimum_knobs.iter().map(|(_, v)| v.parse().expect("integer knob")).collect();
        if let [a, b] = knobs[..] {
            exact += u64::from(a == 25 && b == 15);
            meets += u64::from(mean_wait_s(a, b) <= 0.094 + 0.012);
        }
        runs += o.note.search_runs + o.note.cleanup_runs;
        grid = o.note.grid_runs;
        walls.push(o.wall_s);
        println!("seed {seed}: {:?}, {} + {} runs", o.note.optimum, o.note.search_runs, o.note.cleanup_runs);
        std::fs::remove_dir_all(&dir).expect("scratch folder");
    }
    walls.sort_by(f64::total_cmp);
    let (lo, hi) = wilson(exact, reps);
    let (mlo, mhi) = wilson(meets, reps);
    println!("rentree optimize, two M/M/c pools (experiments/two-pools), {reps} repetitions");
    println!("  the optimum (25, 15) found:            {exact}/{reps} = {:.3}  [{lo:.3}, {hi:.3}]", exact as f64 / reps as f64);
    println!(
        "  the answer meets the constraint (±ε):  {meets}/{reps} = {:.3}  [{mlo:.3}, {mhi:.3}]  (promised: at least 0.95)",
        meets as f64 / reps as f64
    );
    println!(
        "  runs per optimisation: {:.0} (search and clean-up); a grid at 5 replications per point: {grid:.0}; ratio {:.3}",
        runs as f64 / reps as f64,
        runs as f64 / reps as f64 / grid
    );
    println!("  median wall per optimisation: {:.1} s", walls[walls.len() / 2]);
    let _ = std::fs::remove_dir_all(&scratch);
}
