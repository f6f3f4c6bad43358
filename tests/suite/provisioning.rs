//! Provisioning: the autoscaler keeps its boot delay, cooldown, bounds and quota; incidents remove and
//! restore capacity at the stated times; pre-warming serves a surge that reactive scaling cannot.

use crate::common;
use common::run;
use rentree::metrics::MinuteRow;
use rentree::scenario::Scenario;
use rentree::world::RunReport;
use std::path::Path;

/// One platform of `servers` servers × 4 workers (0.5 s pages) under a step of demand at t = 1800 s, with
/// `pool_extra` TOML lines in its pool table.
fn platform(servers: u32, pool_extra: &str, rate_before: f64, rate_after: f64) -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "provisioning"
horizon_s = 5400.0

[cohorts.users]
platform = "app"
arrivals = {{ process = "profile", points = [[0.0, {rate_before}], [1799.0, {rate_before}], [1800.0, {rate_after}], [5400.0, {rate_after}]] }}
session = {{ pages = 4, think = {{ dist = "exponential", mean_s = 20.0 }}, timeout_s = 20.0, retry = {{ backoff = "exponential", base_s = 2.0, cap_s = 30.0, max_attempts = 3, jitter = "full" }}, comeback = {{ delay = {{ dist = "uniform", min_s = 60.0, max_s = 180.0 }}, max_returns = 3 }} }}

[platforms.app.pool]
servers = {servers}
workers_per_server = 4
service = {{ dist = "exponential", mean_s = 0.5 }}
{pool_extra}
"#
    );
    Scenario::from_toml(&text, Path::new("provisioning.toml"), &[]).unwrap()
}

fn rows(r: &RunReport) -> Vec<&MinuteRow> {
    r.timeseries.iter().filter(|m| m.platform == "app").collect()
}

#[test]
fn the_autoscaler_keeps_boot_delay_cooldown_bounds_and_quota() {
    let s = platform(
        10,
        r#"provisioning = { kind = "autoscale", metric = "utilization", target = 0.6, window_s = 60.0, step = 5, boot_delay = { dist = "deterministic", value_s = 180.0 }, cooldown_s = 300.0, min = 10, max = 60, provider_quota = 30 }"#,
        4.0,
        40.0,
    );
    let r = run(&s, 1, 0);
    let m = rows(&r);
    // Bounds: never below min, never above the provider quota (which is below max), booting included.
    assert!(
        m.iter().all(|x| x.servers_ready >= 10 && x.servers_ready + x.servers_booting <= 30),
        "{:?}",
        m.iter().map(|x| (x.servers_ready, x.servers_booting)).collect::<Vec<_>>()
    );
    assert!(m.iter().any(|x| x.servers_ready + x.servers_booting == 30), "the surge drives it to the quota");
    // Actions (ready + booting jumps by a step) are at least the cooldown apart.
    let paid: Vec<u64> = m.iter().map(|x| x.servers_ready + x.servers_booting).collect();
    let actions: Vec<usize> = (1..paid.len()).filter(|&i| paid[i] != paid[i - 1]).collect();
    assert!(actions.len() >= 4, "{paid:?}");
    for w in actions.windows(2) {
        assert!(w[1] - w[0] >= 5, "actions at minutes {actions:?} closer than the 300 s cooldown");
    }
    // Boot delay: capacity ordered at minute i is ready three minutes later, not before.
    for &i in actions.iter().filter(|&&i| paid[i] > paid[i - 1]) {
        let ready_before = m[i - 1].servers_ready;
        assert!(m[i].servers_ready <= ready_before && m[i + 1].servers_ready <= ready_before, "ready before its boot delay at {i}");
        assert!(m[i + 3].servers_ready > ready_before, "not ready after the boot delay at {i}");
    }
    // Cost counts booting servers too, and the scaled-up hours exceed the static ones.
    assert!(r.summary.server_hours > 10.0 * 1.5);
}

#[test]
fn an_incident_removes_capacity_at_its_time_and_restores_it() {
    let s = platform(20, "incidents = [{ at_s = 600.0, servers = 8, duration_s = 1200.0 }, { at_s = 3600.0, servers = 5 }]", 4.0, 4.0);
    let r = run(&s, 1, 0);
    let m = rows(&r);
    // A row reports the servers at the end of its minute: minute 9 ends at 600 s, when the loss happens.
    for x in &m {
        let expected = match x.minute {
            0..=8 => 20,
            9..=28 => 12,
            29..=58 => 20,
            _ => 15,
        };
        assert_eq!(x.servers_ready, expected, "minute {}", x.minute);
        assert_eq!(x.slots, 4 * expected);
    }
    // Cost follows exactly: 20 servers for 10 minutes, 12 for 20, 20 for 30, then 15 for 30.
    let expected_hours = (20.0 * 10.0 + 12.0 * 20.0 + 20.0 * 30.0 + 15.0 * 30.0) / 60.0;
    assert!((r.summary.server_hours - expected_hours).abs() < 1e-9, "{} vs {expected_hours}", r.summary.server_hours);
    let s = &r.summary;
    assert_eq!(s.arrivals, s.served + s.abandoned + s.blocked + s.in_system_end);
    assert_eq!(s.users, s.completed + s.gave_up + s.users_active_end);
}

#[test]
fn pre_warming_serves_a_surge_that_slow_reactive_scaling_does_not() {
    // The surge at 1800 s needs ~50 servers. Pre-warming has them at 1500 s; the autoscaler reacts but
    // each server takes 10 minutes to boot.
    let prewarm = platform(10, "provisioning = { kind = \"scheduled\", timetable = [[1500.0, 60]] }", 2.0, 40.0);
    let reactive = platform(
        10,
        r#"provisioning = { kind = "autoscale", metric = "utilization", target = 0.7, window_s = 60.0, step = 10, boot_delay = { dist = "deterministic", value_s = 600.0 }, cooldown_s = 60.0, min = 10, max = 60 }"#,
        2.0,
        40.0,
    );
    let surge = |r: &RunReport| -> (u64, u64) {
        let m: Vec<&MinuteRow> = rows(r).into_iter().filter(|x| (30..45).contains(&x.minute)).collect();
        (m.iter().map(|x| x.timeouts).sum(), m.iter().map(|x| x.goodput).sum())
    };
    let (p, a) = (run(&prewarm, 1, 0), run(&reactive, 1, 0));
    let ((to_p, good_p), (to_a, good_a)) = (surge(&p), surge(&a));
    assert!(to_p * 10 < to_a.max(1), "timeouts in the first 15 minutes: pre-warmed {to_p}, reactive {to_a}");
    assert!(good_p > good_a * 3 / 2, "goodput: pre-warmed {good_p}, reactive {good_a}");
    assert!(
        p.summary.served_share_by_1200 > a.summary.served_share_by_1200 || p.summary.p95_time_to_access_s < a.summary.p95_time_to_access_s
    );
}
