//! The simulator against the exact Markov chain of a small retrial queue (`rentree::analytic::retrial_ctmc`):
//! one server with room for K requests, users who abandon the backlog, and users refused or abandoned who come
//! back a bounded number of times. Every figure of the chain lies in the replications' Student-t interval,
//! Bonferroni-corrected over the checks.

use crate::common;
use rayon::prelude::*;
use rentree::analytic::{retrial_ctmc, RetrialCtmcMetrics, RetrialModel};
use rentree::metrics::ci::{t_quantile, Estimate};
use rentree::metrics::{Summary, SummaryColumn};
use rentree::scenario::Scenario;
use std::fmt::Write as _;
use std::path::Path;

const SEED: u64 = 20250603;
const REPLICATIONS: u64 = 40;
/// Joint confidence of all the checks (each at `1 - (1 - FAMILY_CONFIDENCE) / checks`).
const FAMILY_CONFIDENCE: f64 = 0.95;

/// Fresh users per second.
const LAMBDA: f64 = 7.0;
/// Services per second of the one server.
const MU: f64 = 10.0;
/// Abandonment rate of a waiting request, per second.
const GAMMA: f64 = 2.0;
/// Come-back rate of a user in the orbit, per second.
const THETA: f64 = 1.0;
/// Requests the pool holds, the one in service included.
const K: u32 = 4;
/// Failures after which a user still comes back; the next makes it give up.
const R: u32 = 2;
/// Cap of each orbit level in the chain; the test checks that the chain's mass at it is negligible.
const ORBIT_CAP: u32 = 30;
/// The chain relaxes in seconds (its drain time with the orbit is about 6 s): 200 s of warm-up leaves no
/// trace of the empty start, and 10,000 s observed per replication makes the edge terms of the counts
/// (requests and users straddling the warm-up or the horizon, a few seconds' worth) thousands of times
/// smaller than the intervals.
const WARMUP_S: f64 = 200.0;
const HORIZON_S: f64 = 10_200.0;

/// The chain's model written as a scenario: Poisson fresh users each logging in once (a session of no page,
/// no retry table, a timeout that never fires), exponential patience in the backlog, exponential come-backs
/// up to R times; one exponential server with `max_in_system = K`.
fn scenario() -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "retrial CTMC"
horizon_s = {HORIZON_S:.1}
warmup_s = {WARMUP_S:.1}

[cohorts.users]
platform = "app"
arrivals = {{ process = "poisson", rate_per_s = {LAMBDA:.1} }}
patience = {{ dist = "exponential", mean_s = {patience_s} }}
session = {{ pages = 0, think = {{ dist = "exponential", mean_s = 1.0 }}, timeout_s = 1e9, comeback = {{ delay = {{ dist = "exponential", mean_s = {comeback_s} }}, max_returns = {R} }} }}

[platforms.app.pool]
servers = 1
max_in_system = {K}
service = {{ dist = "exponential", mean_s = {service_s} }}
"#,
        patience_s = 1.0 / GAMMA,
        comeback_s = 1.0 / THETA,
        service_s = 1.0 / MU,
    );
    Scenario::from_toml(&text, Path::new("retrial-ctmc.toml"), &[]).expect("the test's scenario is valid")
}

/// One comparison: a figure of the simulation (from a replication's summary) and the chain's value.
struct Check {
    name: &'static str,
    simulated: fn(&Summary) -> f64,
    exact: fn(&RetrialCtmcMetrics) -> f64,
}

/// A count of the summary per observed second.
fn per_s(s: &Summary, column: SummaryColumn) -> f64 {
    s.value(column).expect("a numeric column") / s.observed_s
}

fn checks() -> Vec<Check> {
    use SummaryColumn as C;
    vec![
        Check { name: "mean_in_system", simulated: |s| s.mean_in_system, exact: |x| x.mean_in_system },
        Check { name: "mean_queue_len", simulated: |s| s.mean_queue_len, exact: |x| x.mean_queue_len },
        Check { name: "utilization", simulated: |s| s.utilization, exact: |x| x.utilization },
        Check { name: "mean_orbit", simulated: |s| s.mean_orbit, exact: |x| x.mean_orbit },
        Check { name: "throughput_per_s", simulated: |s| s.throughput_per_s, exact: |x| x.throughput_per_s },
        Check { name: "blocked per s", simulated: |s| per_s(s, C::blocked), exact: |x| x.refused_per_s },
        Check { name: "abandoned per s", simulated: |s| per_s(s, C::abandoned), exact: |x| x.abandoned_per_s },
        Check { name: "gave_up per s", simulated: |s| per_s(s, C::gave_up), exact: |x| x.gave_up_per_s },
        // Every try is a first attempt (no retry table): fresh users and come-backs.
        Check { name: "first_attempts per s", simulated: |s| per_s(s, C::first_attempts), exact: |x| x.tries_per_s },
        Check {
            name: "first_attempt_failure_share",
            simulated: |s| s.first_attempt_failure_share,
            exact: |x| x.first_attempt_failure_share,
        },
        Check { name: "p_block", simulated: |s| s.p_block, exact: |x| x.refused_per_s / x.tries_per_s },
        Check { name: "p_abandon", simulated: |s| s.p_abandon, exact: |x| x.abandoned_per_s / (x.tries_per_s - x.refused_per_s) },
    ]
}

#[test]
fn the_simulated_retrial_queue_agrees_with_its_exact_markov_chain() {
    let model = RetrialModel {
        arrival_rate_per_s: LAMBDA,
        service_rate_per_s: MU,
        abandon_rate_per_s: GAMMA,
        comeback_rate_per_s: THETA,
        max_in_system: K,
        max_returns: R,
        orbit_cap: ORBIT_CAP,
    };
    let scenario = scenario();
    let (chain, runs) = rayon::join(
        || retrial_ctmc(&model).expect("a valid model"),
        || (0..REPLICATIONS).into_par_iter().map(|r| common::run(&scenario, SEED, r).summary).collect::<Vec<_>>(),
    );
    // The truncated chain is the model: what the cap cuts off is far below anything 40 runs resolve.
    assert!(chain.truncation_mass < 1e-12, "orbit cap too low: mass {} at the cap", chain.truncation_mass);
    assert!(chain.stationary_error_bound < 1e-9, "stationary law solved to {}", chain.stationary_error_bound);
    // Coming back matters in this model, at both levels.
    assert!(chain.mean_orbit_by_returns.iter().all(|&o| o > 0.1) && chain.gave_up_per_s > 0.05, "{chain:?}");

    let checks = checks();
    let level = 1.0 - (1.0 - FAMILY_CONFIDENCE) / checks.len() as f64;
    let n = runs.len();
    let mut table = format!(
        "chain ({} states) against {n} replications of {:.0} s observed; decision at {:.4} per check ({:.0}% jointly)\n",
        chain.states,
        HORIZON_S - WARMUP_S,
        level,
        FAMILY_CONFIDENCE * 100.0
    );
    let mut failed = Vec::new();
    // The test tells the model from its neighbour: users coming back once fewer (R = 1) give up two and a half
    // times as often, far outside the interval (so an off-by-one in `max_returns` would fail it).
    let fewer_returns = retrial_ctmc(&RetrialModel { max_returns: R - 1, ..model }).expect("a valid model");
    let mut told_apart = false;
    for c in &checks {
        let values: Vec<f64> = runs.iter().map(c.simulated).collect();
        let e = Estimate::new(&values, 0.95);
        let half_width = t_quantile(n - 1, 0.5 + level / 2.0) * e.std_dev / (n as f64).sqrt();
        let exact = (c.exact)(&chain);
        let pass = (e.mean - exact).abs() <= half_width;
        let _ = writeln!(
            table,
            "{:<28} chain {exact:>10.6}  simulated {:>10.6} ± {half_width:.6} (95%: ± {:.6})  {}",
            c.name,
            e.mean,
            e.half_width,
            if pass { "ok" } else { "FAIL" }
        );
        if !pass {
            failed.push(c.name);
        }
        told_apart |= ((c.exact)(&fewer_returns) - e.mean).abs() > half_width;
    }
    let _ = writeln!(
        table,
        "drain from a full pool: {:.4} s to idle, {:.4} s to idle with the orbit empty",
        chain.drain.to_idle_s, chain.drain.to_idle_and_orbit_empty_s
    );
    eprintln!("{table}");
    assert!(failed.is_empty(), "outside the interval: {failed:?}\n{table}");
    assert!(told_apart, "no check tells R = {R} from R = {}:\n{table}", R - 1);
}
