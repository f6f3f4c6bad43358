//! The attack models across the whole range of attack loads (a measurement, not a test): the hybrid
//! model (the default) and the aggregate fluid, each against the request-by-request reference, on the
//! bench of `rentree::verify::attack`, for every regime and load of its grid.
//!
//! ```text
//! cargo run --release --example attack_grid [REPLICATIONS] [SEED]
//! ```
//!
//! Prints, per regime and load, each metric's relative difference from the reference and whether Welch's
//! interval (Bonferroni-corrected over the whole table of each model, joint level 99%) holds zero; then
//! the points where it does not.

use rentree::verify::attack::{compare, decision_level, GridRow, Regime, LOADS, METRICS};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let replications: u64 = args.next().map_or(20, |a| a.parse().expect("REPLICATIONS is a whole number"));
    let seed: u64 = args.next().map_or(20_210_406, |a| a.parse().expect("SEED is a whole number"));
    let comparisons = Regime::ALL.len() * LOADS.len() * METRICS.len();
    let level = decision_level(0.99, comparisons);
    println!(
        "attack grid: {replications} replications per model and point, seed {seed}; {comparisons} comparisons per model, \
         each at {:.5} (99% jointly)\n",
        level
    );
    for model in ["hybrid", "aggregate"] {
        let started = Instant::now();
        let mut disagree: Vec<GridRow> = Vec::new();
        println!("## {model} against requests: difference relative to the reference (* : interval excludes 0)\n");
        let header: Vec<String> = METRICS.iter().map(|m| m.to_string()).collect();
        println!("| regime | load | {} |", header.join(" | "));
        println!("| --- | --- |{}", " --- |".repeat(METRICS.len()));
        for regime in Regime::ALL {
            for load in LOADS {
                let rows = compare(regime, load, model, seed, replications, level);
                let cells: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        let mark = if r.agrees() { "" } else { "*" };
                        let rel = r.relative();
                        if rel.is_finite() {
                            format!("{:+.1}%{mark}", 100.0 * rel)
                        } else {
                            format!("{:+.3}{mark}", r.difference.mean)
                        }
                    })
                    .collect();
                println!("| {} | {load} | {} |", regime.name(), cells.join(" | "));
                disagree.extend(rows.into_iter().filter(|r| !r.agrees()));
            }
        }
        println!("\n{model}: {} of {comparisons} comparisons disagree ({:.0} s)", disagree.len(), started.elapsed().as_secs_f64());
        for r in &disagree {
            println!(
                "  {} at {}: {} {:.4} ± {:.4} vs requests {:.4} ± {:.4}",
                r.regime.name(),
                r.load,
                r.metric,
                r.model.mean,
                r.model.half_width,
                r.reference.mean,
                r.reference.half_width
            );
        }
        println!();
    }
}
