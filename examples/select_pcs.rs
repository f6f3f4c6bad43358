//! The probability of correct selection of `rentree select` on simulated queues, and the runs it spends
//! against Rinott's fixed-sample procedure with the same guarantee: a measurement, not a test.
//!
//! `cargo run --release --example select_pcs -- [REPS] [OBSERVED_S]` (defaults 400 and 600; about half a
//! second per repetition at 600 s).
//!
//! Four M/M/5 configurations (μ = 1/s) in the slippage configuration: the first at λ = 3.8/s, three at
//! λ = 4/s, judged on the mean wait, with the indifference zone set to the Erlang C difference of mean
//! waits (0.1545 s), so the best leads by exactly δ, the least favourable case of the guarantee. Each run is
//! warmed up for 600 s (about seven relaxation times) and observed for OBSERVED_S seconds: at 600 s a run's
//! mean wait is precise enough that most selections end at their first stage; a shorter window makes each
//! run noisier, so that KN goes through many stages and eliminates as it goes, which is where it saves runs
//! on a fixed-sample procedure. A window too short breaks the slippage configuration itself: at 60 s a run's
//! mean wait is skewed and biased low by the requests still waiting at the horizon
//! (`benches/select_window_bias.toml` measures it; README, "select"). Each repetition is the whole command on
//! its own seed, its runs written and read back as part files. Rows: independent streams (the textbook
//! setting) and common random numbers (rentree's default). The PCS interval is Wilson's at 95%.

use rentree::analytic::erlang_c;
use rentree::decide::kn::Goal;
use rentree::metrics::ci::wilson;
use rentree::metrics::SummaryColumn;
use rentree::sweep::experiment::Experiment;
use rentree::sweep::select::{select, SelectOptions};
use std::path::Path;

fn experiment(dir: &Path, seed: u64, crn: bool, observed_s: f64) -> std::path::PathBuf {
    let horizon_s = 600.0 + observed_s;
    let text = format!(
        r#"[experiment]
name = "slippage"
scenario = "{}"
replications = 2
seed = {seed}
crn = {crn}
design = "zip"
[grid]
"platforms.server.pool.servers" = [5, 5, 5, 5]
"scenario.description" = ["best", "b", "c", "d"]
"cohorts.customers.arrivals.rate_per_s" = [3.8, 4.0, 4.0, 4.0]
"scenario.horizon_s" = [{horizon_s:?}, {horizon_s:?}, {horizon_s:?}, {horizon_s:?}]
"scenario.warmup_s" = [600.0, 600.0, 600.0, 600.0]
"#,
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/textbook/mmc.toml").display()
    );
    let p = dir.join("experiment.toml");
    std::fs::write(&p, text).expect("scratch folder is writable");
    p
}

fn main() {
    let reps: u64 = match std::env::args().nth(1) {
        None => 400,
        Some(text) => text.parse().ok().filter(|&n| n > 0).unwrap_or_else(|| {
            eprintln!("select_pcs: REPS must be a whole number above 0, found {text:?}");
            std::process::exit(2)
        }),
    };
    let observed_s: f64 = match std::env::args().nth(2) {
        None => 600.0,
        Some(text) => text.parse().ok().filter(|&s: &f64| s.is_finite() && s > 0.0).unwrap_or_else(|| {
            eprintln!("select_pcs: OBSERVED_S must be a number of seconds above 0, found {text:?}");
            std::process::exit(2)
        }),
    };
    let delta = erlang_c(5, 4.0, 1.0).expect("stable").mean_wait_s - erlang_c(5, 3.8, 1.0).expect("stable").mean_wait_s;
    println!(
        "rentree select, M/M/5 slippage: delta = {delta:.4} s on mean_wait_s, {observed_s} s observed per run, n0 = 10, 1 - alpha = 0.95, {reps} repetitions per row"
    );
    println!("{:<14} {:>7} {:>20} {:>9} {:>9} {:>9} {:>7}", "sampling", "PCS", "95% interval", "KN runs", "Rinott", "KN/Rinott", "stages");
    let scratch = std::env::temp_dir().join(format!("rentree-select-pcs-{}", std::process::id()));
    for crn in [false, true] {
        let (mut correct, mut kn, mut rinott, mut stages) = (0u64, 0u64, 0u64, 0u64);
        for seed in 1..=reps {
            let dir = scratch.join(format!("{crn}-{seed}"));
            std::fs::create_dir_all(&dir).expect("scratch folder");
            let e = Experiment::load(&experiment(&dir, seed, crn, observed_s)).expect("valid experiment");
            let options = SelectOptions {
                out: dir.join("out"),
                jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
                resume: false,
                progress: false,
                budget: Default::default(),
                metric: SummaryColumn::mean_wait_s,
                goal: Goal::Minimize,
                delta,
                confidence: 0.95,
                first_stage: 10,
                max_replications: 100_000,
                constraints: Vec::new(),
                cluster: None,
            };
            let o = select(&e, &options).expect("selection runs");
            correct += u64::from(o.best == Some(0));
            kn += o.runs_spent;
            rinott += o.fixed_sample_runs;
            stages += o.stages;
            std::fs::remove_dir_all(&dir).expect("scratch folder");
        }
        let (lo, hi) = wilson(correct, reps);
        println!(
            "{:<14} {:>7.4} {:>20} {:>9.1} {:>9.1} {:>9.3} {:>7.1}",
            if crn { "common (CRN)" } else { "independent" },
            correct as f64 / reps as f64,
            format!("[{lo:.4}, {hi:.4}]"),
            kn as f64 / reps as f64,
            rinott as f64 / reps as f64,
            kn as f64 / rinott as f64,
            stages as f64 / reps as f64
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
