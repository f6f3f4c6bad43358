//! The simulator agrees with queueing theory: the verify suite, Little's law and conservation, on every
//! textbook model, with fixed seeds and intervals from independent replications.

use crate::common;
use rentree::verify::{self, Oracle};

const SEED: u64 = 20210406;
const REPLICATIONS: u64 = 30;

#[test]
fn theory_lies_inside_the_simulated_interval_for_every_verify_case() {
    let cases = verify::suite();
    let rows = verify::run_suite(&cases, SEED, REPLICATIONS);
    let exact = rows.iter().filter(|r| r.oracle == Oracle::Exact).count();
    assert!(exact >= 30, "the suite should judge many checks, found {exact}");
    let failed: Vec<_> = rows.iter().filter(|r| !r.pass).collect();
    assert!(failed.is_empty(), "{}", verify::format_table(&rows, SEED, REPLICATIONS));
    // The suite covers what the issue asks of it: heavy load, many servers, finite K, abandonment.
    for needed in ["mmc-heavy", "mmc-large", "mmck", "erlang-a", "mgc-loss"] {
        assert!(rows.iter().any(|r| r.model.contains(needed)), "{needed} missing from the suite");
    }
}

/// Little's law as a sample-path identity: on a run that starts empty and ends empty, the time integral of
/// the number waiting equals the sum of the waits, and the same for the whole pool, exactly (up to float
/// rounding), whatever the model. Each textbook model is run with arrivals for 2,000 s, no warm-up, then
/// enough time to drain. (Over a steady-state window the law holds only up to an edge term of order
/// `L × W / T` from requests that straddle the window's ends, which the tight replication intervals of these
/// models can detect; a run that starts and ends empty has no such term.)
#[test]
fn littles_law_holds_exactly_on_a_run_that_starts_and_ends_empty() {
    use rentree::scenario::{Override, Scenario};
    for case in verify::suite() {
        let lambda = case.scenario.cohorts[0].arrivals.poisson_rate_per_s().unwrap();
        let overrides = [
            format!("cohorts.customers.arrivals={{ process = \"profile\", points = [[0.0, {lambda}], [2000.0, {lambda}]] }}"),
            "scenario.warmup_s=0.0".to_string(),
            "scenario.horizon_s=6000.0".to_string(),
        ];
        let overrides: Vec<Override> = overrides.iter().map(|o| Override::parse(o).unwrap()).collect();
        let scenario = Scenario::from_toml(case.model.text, std::path::Path::new(case.model.path), &overrides).unwrap();
        for replication in 0..3 {
            let s = common::run(&scenario, SEED, replication).summary;
            let path = case.model.path;
            assert_eq!(s.in_system_end, 0, "{path}: the run must drain");
            assert!(s.arrivals > 1000, "{path}");
            let admitted = (s.arrivals - s.blocked) as f64;
            let queue_area = s.mean_queue_len * s.observed_s;
            let wait_sum = s.mean_wait_s * admitted;
            assert!((queue_area - wait_sum).abs() <= 1e-9 * wait_sum.max(1.0), "{path}: Lq T = {queue_area}, sum of waits = {wait_sum}");
            let system_area = s.mean_in_system * s.observed_s;
            let abandoned_wait = wait_sum - s.mean_wait_served_s * s.served as f64;
            let time_sum = s.mean_sojourn_s * s.served as f64 + abandoned_wait;
            assert!((system_area - time_sum).abs() <= 1e-9 * time_sum, "{path}: L T = {system_area}, sum of times = {time_sum}");
        }
    }
}

#[test]
fn every_arrival_is_served_abandoned_blocked_or_still_there() {
    for case in verify::suite() {
        for s in verify::replicate(&case, SEED + 2, 3) {
            assert_eq!(s.arrivals, s.served + s.abandoned + s.blocked + s.in_system_end, "{}: conservation broken: {s:?}", case.model.path);
            assert!(s.arrivals > 0);
        }
    }
}

#[test]
fn replications_do_not_depend_on_the_thread_count() {
    let case = verify::case(rentree::builtin::find("models/textbook/erlang-a.toml").unwrap());
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let a = one.install(|| verify::replicate(&case, SEED, 6));
    let b = two.install(|| verify::replicate(&case, SEED, 6));
    assert_eq!(a, b);
    assert_ne!(a[0], a[1], "replications must differ from one another");
}

#[test]
fn the_same_arrivals_are_seen_whatever_the_capacity() {
    // Common random numbers: arrivals draw from their own stream, so changing servers leaves them alone.
    use rentree::scenario::{Override, Scenario};
    let model = rentree::builtin::find("models/textbook/mmc.toml").unwrap();
    let base = Scenario::from_toml(model.text, std::path::Path::new(model.path), &[]).unwrap();
    let more =
        Scenario::from_toml(model.text, std::path::Path::new(model.path), &[Override::parse("platforms.server.pool.servers=70").unwrap()])
            .unwrap();
    let (a, b) = (common::run(&base, 5, 0), common::run(&more, 5, 0));
    assert_eq!(a.summary.arrivals, b.summary.arrivals);
    let per_minute = |r: &rentree::world::RunReport| r.timeseries.iter().map(|m| m.arrivals).collect::<Vec<_>>();
    assert_eq!(per_minute(&a), per_minute(&b));
    assert!(b.summary.mean_wait_s < a.summary.mean_wait_s);
}
