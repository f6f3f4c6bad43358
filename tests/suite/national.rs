//! The national model: the 6 April 2021 replay reproduces what was seen (at reduced scale), policies do
//! what they say, retries without backoff make a metastable failure that backoff with jitter cures, and
//! the accounting holds for every cohort and platform.

use crate::common;
use common::run;
use rentree::builtin;
use rentree::metrics::ci::Estimate;
use rentree::metrics::{MinuteRow, Summary};
use rentree::scenario::{Override, Scenario};
use rentree::world::RunReport;
use std::path::Path;

/// The scale the replay tests run at: the replay's faithful scale (`faithful_scale` in its file: from 0.1 up
/// its headline figures are within their margins of full scale, `models/scale-bias.md`), so what these tests
/// check of the day holds at full scale too. 1.25 million users, a few seconds a run. (The Monday evening is
/// faithful from 0.01 and the policy tests use small platforms of their own.)
const SCALE: f64 = 0.1;

fn builtin_scaled(model: &builtin::BuiltinModel, scale: f64, overrides: &[&str]) -> Scenario {
    let o: Vec<Override> = overrides.iter().map(|s| Override::parse(s).unwrap()).collect();
    Scenario::from_toml_scaled(model.text, Path::new(model.path), &o, scale).unwrap()
}

fn row<'a>(r: &'a RunReport, platform: &str, cohort: &str) -> &'a Summary {
    r.rows.iter().find(|s| s.platform == platform && s.cohort == cohort).unwrap_or_else(|| panic!("no row {platform}/{cohort}"))
}

fn minutes<'a>(r: &'a RunReport, platform: &'a str) -> impl Iterator<Item = &'a MinuteRow> + 'a {
    r.timeseries.iter().filter(move |m| m.platform == platform)
}

fn replay() -> RunReport {
    run(&builtin_scaled(&builtin::REPLAY, SCALE, &[]), 1, 0)
}

#[test]
fn monday_evening_is_fine_with_the_same_capacities() {
    let r = run(&builtin_scaled(&builtin::EVENING, SCALE, &[]), 1, 0);
    let all = row(&r, "all", "all");
    assert!(all.users > 100_000);
    // Everyone gets in, but for the few who arrive in the run's last seconds and are still logging in at
    // 22:00 (one of 131,390 at this scale).
    let not_in = all.users - all.accessed;
    assert!(not_in <= all.users_active_end && not_in * 10_000 < all.users, "{not_in} of {} not in on Monday evening", all.users);
    // Timeouts are rare, not absent: a pool's queue sometimes holds a request past its 30 s (one at this
    // scale; about 2 per 100,000 users at full scale, `models/scale-bias-runs.tsv`). At 0.01 there were none, which
    // is why "no timeout" was once claimed.
    assert!(all.timeouts * 10_000 < all.users, "{} timeouts for {} users", all.timeouts, all.users);
    assert_eq!(all.gave_up, 0);
    for p in ["ent", "pronote", "cned", "educonnect"] {
        let peak = minutes(&r, p).map(|m| m.utilization).fold(0.0, f64::max);
        assert!(peak < 0.5, "{p}: peak utilization {peak} on Monday evening");
    }
}

#[test]
fn the_morning_saturates_from_about_eight() {
    let r = replay();
    // Pronote and EduConnect: lightly loaded before 7:30, saturated through 8:00-9:00.
    for p in ["pronote", "educonnect"] {
        let before: Vec<f64> = minutes(&r, p).filter(|m| m.clock.as_str() < "07:30").map(|m| m.utilization).collect();
        let peak: Vec<f64> = minutes(&r, p).filter(|m| ("08:00".."09:00").contains(&m.clock.as_str())).map(|m| m.utilization).collect();
        let mean_before = before.iter().sum::<f64>() / before.len() as f64;
        assert!(mean_before < 0.5, "{p} before 7:30: {before:?}");
        assert!(peak.iter().all(|&u| u > 0.9), "{p} 8:00-9:00: {peak:?}");
    }
    // Saturation shows to users: timeouts and a p95 time to access of many minutes.
    let all = row(&r, "all", "all");
    assert!(all.timeouts > 10_000, "timeouts {}", all.timeouts);
    assert!(all.p95_time_to_access_s > 600.0, "p95 time to access {}", all.p95_time_to_access_s);
    assert!(all.served_share_by_0900 < 0.5, "served by 9:00 {}", all.served_share_by_0900);
    // Work done for clients that already left is counted.
    assert!(row(&r, "pronote", "all").wasted_work_s > 0.0);
}

#[test]
fn users_refused_by_the_quota_are_mostly_refused_again_when_they_come_back() {
    let r = replay();
    let ent = row(&r, "ent", "all");
    assert!(ent.rejected > 10_000, "the quota refuses many logins: {}", ent.rejected);
    assert!(ent.re_rejection_share > 0.5, "share refused again on coming back: {}", ent.re_rejection_share);
    // And the quota is never exceeded.
    let quota = (10_000.0 * SCALE) as u64;
    let peak = minutes(&r, "ent").map(|m| m.active_sessions).max().unwrap();
    assert!(peak <= quota && peak >= quota * 9 / 10, "ENT sessions peak at {peak}, quota {quota}");
}

#[test]
fn about_half_a_million_are_in_by_late_morning() {
    // [ref] "500,000 students and teachers" had accessed the platforms (ministry, 6 April). The replay is
    // expected to be of that order: within half an order of magnitude (a factor of sqrt(10)) by 10:00.
    let r = replay();
    let all = row(&r, "all", "all");
    let in_by_ten = all.served_share_by_1000 * all.users as f64 / SCALE;
    assert!((500_000.0 / 10f64.sqrt()..500_000.0 * 10f64.sqrt()).contains(&in_by_ten), "{in_by_ten} users in by 10:00");
}

#[test]
fn accounting_holds_for_every_cohort_and_platform() {
    let r = replay();
    for s in &r.rows {
        assert_eq!(s.arrivals, s.served + s.abandoned + s.blocked + s.in_system_end, "requests {}/{}", s.platform, s.cohort);
        assert_eq!(s.users, s.completed + s.gave_up + s.users_active_end, "users {}/{}", s.platform, s.cohort);
        assert!(s.accessed <= s.users && s.sessions >= s.accessed);
        // Shares are shares, even where a login waits at the identity service and is then refused by the
        // platform's full backlog (counted as admitted to its first pool, and blocked).
        for (name, share) in [("p_block", s.p_block), ("p_wait", s.p_wait), ("p_abandon", s.p_abandon)] {
            assert!((0.0..=1.0).contains(&share), "{name} = {share} for {}/{}", s.platform, s.cohort);
        }
    }
    // Rows add up: platforms to the whole, cohorts to the whole.
    let all = row(&r, "all", "all");
    for (pick, field) in [(|s: &Summary| s.cohort == "all" && s.platform != "all") as fn(&Summary) -> bool, |s: &Summary| {
        s.platform == "all" && s.cohort != "all"
    }]
    .into_iter()
    .zip(["platforms", "cohorts"])
    {
        let parts: Vec<&Summary> = r.rows.iter().filter(|s| pick(s)).collect();
        assert_eq!(parts.iter().map(|s| s.users).sum::<u64>(), all.users, "{field}");
        assert_eq!(parts.iter().map(|s| s.arrivals).sum::<u64>(), all.arrivals, "{field}");
        assert_eq!(parts.iter().map(|s| s.accessed).sum::<u64>(), all.accessed, "{field}");
    }
}

#[test]
fn the_replay_is_deterministic_by_seed() {
    // Compared through their printed form: rows of cohorts carry NaN pool metrics, and NaN != NaN.
    let s = builtin_scaled(&builtin::REPLAY, 0.002, &[]);
    let show = |seed| format!("{:?}", run(&s, seed, 0));
    assert_eq!(show(3), show(3));
    assert_ne!(show(3), show(4));
}

/// A single platform of 100 slots (0.5 s pages: 200 requests/s) under a 10-minute surge of 80 users/s
/// (each sends 5 requests: twice the capacity), then a calm of 6 users/s (15% of it); clients time out
/// after 10 s and come back up to three times. `retry` is the session's retry policy as TOML.
fn surge(retry: &str, budget: &str) -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "surge"
horizon_s = 3600.0

[cohorts.users]
platform = "app"
arrivals = {{ process = "profile", points = [[0.0, 80.0], [600.0, 80.0], [601.0, 6.0], [3600.0, 6.0]] }}
session = {{ pages = 4, think = {{ dist = "exponential", mean_s = 5.0 }}, timeout_s = 10.0, retry = {retry}, {budget} comeback = {{ delay = {{ dist = "uniform", min_s = 30.0, max_s = 90.0 }}, max_returns = 3 }} }}

[platforms.app.pool]
servers = 100
service = {{ dist = "exponential", mean_s = 0.5 }}
"#
    );
    Scenario::from_toml(&text, Path::new("surge.toml"), &[]).unwrap()
}

#[test]
fn retries_without_backoff_stay_saturated_and_backoff_with_jitter_recovers() {
    let immediate = run(&surge("{ backoff = \"immediate\", max_attempts = 50 }", ""), 1, 0);
    let backoff = run(
        &surge("{ backoff = \"exponential\", base_s = 2.0, cap_s = 60.0, max_attempts = 4, jitter = \"full\" }", "retry_budget = 0.1,"),
        1,
        0,
    );
    // Long after the surge (the last 20 minutes), the immediate-retry system is still saturated and its
    // goodput is a trickle of what the calm demand needs, while the backoff system is back to normal.
    let late = |r: &RunReport| -> (f64, u64, u64) {
        let m: Vec<&MinuteRow> = r.timeseries.iter().filter(|m| m.t_s >= 2400.0).collect();
        let util = m.iter().map(|m| m.utilization).sum::<f64>() / m.len() as f64;
        (util, m.iter().map(|m| m.goodput).sum(), m.iter().map(|m| m.timeouts).sum())
    };
    let (u_imm, good_imm, to_imm) = late(&immediate);
    let (u_bo, good_bo, to_bo) = late(&backoff);
    assert!(u_imm > 0.95, "immediate retries: utilization {u_imm} long after the surge");
    assert!(to_imm > 10 * to_bo.max(1), "timeouts: immediate {to_imm}, backoff {to_bo}");
    assert!(good_bo > 2 * good_imm, "goodput: backoff {good_bo}, immediate {good_imm}");
    assert!(u_bo < 0.5, "backoff: utilization {u_bo}");
    assert_eq!(good_imm, 0, "immediate retries: every answer comes after its client left");
    // Retries amplify the load: more requests per session.
    assert!(immediate.summary.amplification > 2.0 * backoff.summary.amplification);
}

/// A small platform with one admission policy, for policy checks.
fn with_policy(policy: &str, extra_cohort: &str) -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "policy"
horizon_s = 3600.0

[cohorts.pupils]
platform = "app"
priority = 1
arrivals = {{ process = "population", count = 6000, shape = [[0.0, 1.0], [600.0, 1.0]] }}
session = {{ pages = 3, think = {{ dist = "exponential", mean_s = 30.0 }}, timeout_s = 30.0, comeback = {{ delay = {{ dist = "uniform", min_s = 60.0, max_s = 120.0 }}, max_returns = 30 }} }}
{extra_cohort}
[platforms.app.pool]
servers = 50
service = {{ dist = "exponential", mean_s = 0.2 }}

[[platforms.app.admission]]
{policy}
"#
    );
    Scenario::from_toml(&text, Path::new("policy.toml"), &[]).unwrap()
}

#[test]
fn a_session_limit_is_enforced() {
    let s = with_policy("policy = \"session_time_limit\"\nmax_s = 40.0", "");
    let r = run(&s, 2, 0);
    // Three pages with 30 s think times often outlast 40 s: those sessions are closed and come back.
    assert!(r.summary.kicked > 500, "kicked {}", r.summary.kicked);
    assert!(r.summary.sessions > r.summary.accessed, "kicked users log in again");
}

#[test]
fn the_waiting_room_admits_at_its_rate() {
    let s = with_policy("policy = \"waiting_room\"\nadmit_per_min = 300.0", "");
    let r = run(&s, 2, 0);
    let logins: Vec<u64> = r.timeseries.iter().map(|m| m.logins_ok).collect();
    // Admissions are spaced 0.2 s apart; a login completes one service time (0.2 s on average) later, so a
    // minute's count can differ from the rate by the few logins that straddle its edges.
    assert!(logins.iter().all(|&n| n <= 305), "logins per minute {logins:?}");
    // The room stays busy while the 6,000 users wait, so it admits at its full rate, in 20 minutes.
    assert!(logins[1..19].iter().all(|&n| n >= 295), "{logins:?}");
    assert_eq!(logins[..21].iter().sum::<u64>(), 6000);
    assert!(r.timeseries.iter().any(|m| m.waiting_room_len > 1000));
}

#[test]
fn a_token_bucket_keeps_its_rate() {
    let s = with_policy("policy = \"token_bucket\"\nrate_per_s = 2.0\nburst = 20.0", "");
    let r = run(&s, 2, 0);
    let total: u64 = r.timeseries.iter().map(|m| m.logins_ok).sum();
    // At most rate × time + burst tokens were ever available (logins that then failed also spent one).
    assert!(total as f64 <= 2.0 * 3600.0 + 20.0, "{total}");
    assert!(r.timeseries.iter().all(|m| m.logins_ok <= 120 + 20));
    assert!(r.summary.rejected > 1000);
}

#[test]
fn staff_pass_first_with_priority() {
    let staff = r#"
[cohorts.staff]
platform = "app"
priority = 0
arrivals = { process = "population", count = 600, shape = [[0.0, 1.0], [600.0, 1.0]] }
session = { pages = 3, think = { dist = "exponential", mean_s = 30.0 }, timeout_s = 30.0, comeback = { delay = { dist = "uniform", min_s = 60.0, max_s = 120.0 }, max_returns = 30 } }
"#;
    let text = with_policy("policy = \"waiting_room\"\nadmit_per_min = 300.0", staff).raw;
    let mut raw = text;
    raw.platforms.get_mut("app").unwrap().admission.push(rentree::scenario::raw::RawAdmission::Priority {});
    let s = Scenario::from_raw(raw, Path::new("priority.toml")).unwrap();
    let r = run(&s, 2, 0);
    let (p, st) = (row(&r, "all", "pupils"), row(&r, "all", "staff"));
    assert!(
        st.p95_time_to_access_s < p.p50_time_to_access_s / 2.0,
        "staff p95 {} vs pupils p50 {}",
        st.p95_time_to_access_s,
        p.p50_time_to_access_s
    );
}

#[test]
fn a_one_request_session_without_retries_is_still_the_textbook_queue() {
    // The M/M/50 of verify, with each arrival a user whose session is a single login and no retry.
    let model = builtin::find("models/textbook/mmc.toml").unwrap();
    let o = Override::parse(
        r#"cohorts.customers.session={ pages = 0, think = { dist = "deterministic", value_s = 0.0 }, timeout_s = 1e9, comeback = { delay = { dist = "deterministic", value_s = 1.0 }, max_returns = 0 } }"#,
    )
    .unwrap();
    let s = Scenario::from_toml(model.text, Path::new(model.path), &[o]).unwrap();
    let theory = rentree::analytic::erlang_c(50, 45.0, 1.0).unwrap();
    let waits: Vec<f64> = (0..20).map(|r| run(&s, 9, r).summary.mean_wait_s).collect();
    let e = Estimate::new(&waits, 0.99);
    assert!(e.contains(theory.mean_wait_s), "Wq {} not in {e:?}", theory.mean_wait_s);
}
