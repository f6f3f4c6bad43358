//! The measurements of a platform's orbit and retries, checked where their value is known exactly.
//!
//! Every login fails (a 1-s client timeout against 5-s services), each user retries after a fixed delay and
//! gives up or comes back a fixed number of times, so the time each user spends in the orbit, the requests
//! they send and the first attempts among them are known in closed form; the run must reproduce them to the
//! microsecond (Little's law over the whole run: the orbit's time average is users × time in orbit / span).

use crate::common::run;
use rentree::metrics::{MinuteRow, Summary};
use rentree::scenario::Scenario;
use std::path::Path;

const USERS: f64 = 200.0;
const HORIZON_S: f64 = 4000.0;
/// Retries after the first attempt (`max_attempts` − 1), each after `RETRY_DELAY_S`.
const RETRIES: f64 = 3.0;
const RETRY_DELAY_S: f64 = 10.0;
const COMEBACK_S: f64 = 100.0;

/// 200 users arriving over the first 10 minutes, whose every login times out; each retries three times
/// after 10 s, then comes back after 100 s up to `returns` times.
fn all_fail(returns: u32) -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "orbit"
horizon_s = {HORIZON_S}

[cohorts.users]
platform = "app"
arrivals = {{ process = "population", count = {USERS}, shape = [[0.0, 1.0], [600.0, 1.0]] }}
session = {{ pages = 0, think = {{ dist = "deterministic", value_s = 0.0 }}, timeout_s = 1.0, retry = {{ backoff = "fixed", delay_s = {RETRY_DELAY_S}, max_attempts = {attempts} }}, comeback = {{ delay = {{ dist = "deterministic", value_s = {COMEBACK_S} }}, max_returns = {returns} }} }}

[platforms.app.pool]
servers = 1000
service = {{ dist = "deterministic", value_s = 5.0 }}
"#,
        attempts = RETRIES as u32 + 1
    );
    Scenario::from_toml(&text, Path::new("orbit.toml"), &[]).unwrap()
}

fn close(got: f64, want: f64, what: &str) {
    // Durations are whole microseconds and counts exact: only the last division rounds.
    assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{what}: {got} against {want}");
}

fn check(returns: u32) -> (Summary, Vec<MinuteRow>) {
    let r = run(&all_fail(returns), 1, 0);
    let s = r.summary.clone();
    let tries = f64::from(returns) + 1.0;
    assert_eq!(s.users as f64, USERS);
    assert_eq!(s.gave_up as f64, USERS, "every user gives up in the end");
    // Each try of a login is one first attempt and `RETRIES` retries, all failing.
    close(s.first_attempts as f64, USERS * tries, "first attempts");
    close(s.retry_amplification, 1.0 + RETRIES, "requests per first attempt with every call failing");
    close(s.first_attempt_failure_share, 1.0, "first attempts failed");
    close(s.goodput_share, 0.0, "answered in time, of the requests answered");
    // In the orbit: the retry waits of every try, and the comebacks between tries.
    let orbit_s = USERS * (tries * RETRIES * RETRY_DELAY_S + f64::from(returns) * COMEBACK_S);
    close(s.mean_orbit, orbit_s / HORIZON_S, "time-average orbit (Little's law)");
    // The minute rows tell the same story minute by minute.
    let ts = r.timeseries;
    let area: f64 = ts.iter().map(|m| m.mean_orbit * (HORIZON_S - m.t_s).min(60.0)).sum();
    assert!((area - orbit_s).abs() < 1e-6 * orbit_s, "orbit area over the minutes: {area} against {orbit_s}");
    close(ts.iter().map(|m| m.first_attempts as f64).sum(), USERS * tries, "first attempts over the minutes");
    close(ts.iter().map(|m| m.first_attempts_failed as f64).sum(), USERS * tries, "first attempts failed over the minutes");
    assert_eq!(ts.last().unwrap().orbit_end, 0, "nobody is left in the orbit");
    assert!(ts.iter().any(|m| m.orbit_end > 0), "somebody was in the orbit");
    for m in ts.iter().filter(|m| m.first_attempts > 0) {
        close(m.retry_amplification, m.attempts as f64 / m.first_attempts as f64, "a minute's amplification");
    }
    (s, ts)
}

#[test]
fn with_every_call_failing_n_retries_multiply_the_requests_by_1_plus_n_and_fill_the_orbit() {
    check(0);
}

#[test]
fn users_coming_back_are_in_the_orbit_until_they_try_again() {
    let (s, _) = check(2);
    assert!(s.mean_orbit > check(0).0.mean_orbit);
}

#[test]
fn a_queue_that_answers_every_request_in_time_has_all_its_goodput_and_no_orbit() {
    // The M/M/50 of verify, each arrival a user logging in once, with no timeout to miss.
    let text = std::fs::read_to_string(crate::common::repo("models/textbook/mmc.toml")).unwrap();
    let session = r#"cohorts.customers.session={ pages = 0, think = { dist = "deterministic", value_s = 0.0 }, timeout_s = 1e9, comeback = { delay = { dist = "deterministic", value_s = 1.0 }, max_returns = 0 } }"#;
    let s = Scenario::from_toml(&text, Path::new("mmc.toml"), &[rentree::scenario::Override::parse(session).unwrap()]).unwrap();
    let r = run(&s, 1, 0).summary;
    assert!(r.served > 1000);
    close(r.goodput_share, 1.0, "answered in time");
    close(r.retry_amplification, 1.0, "no retries");
    close(r.first_attempt_failure_share, 0.0, "no failures");
    close(r.mean_orbit, 0.0, "no orbit");
}

/// 50 users a second for 30 minutes (Poisson), whose every call fails after a 1-s timeout; each retries at
/// once up to three times, within `budget` if given, and then gives up.
fn budgeted(budget: &str) -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "budget"
horizon_s = 1900.0

[cohorts.users]
platform = "app"
arrivals = {{ process = "profile", points = [[0.0, 50.0], [1800.0, 50.0], [1801.0, 0.0], [1900.0, 0.0]] }}
session = {{ pages = 0, think = {{ dist = "deterministic", value_s = 0.0 }}, timeout_s = 1.0, retry = {{ backoff = "immediate", max_attempts = 4 }}, {budget} comeback = {{ delay = {{ dist = "deterministic", value_s = 1.0 }}, max_returns = 0 }} }}

[platforms.app.pool]
servers = 2000
service = {{ dist = "deterministic", value_s = 5.0 }}
"#
    );
    Scenario::from_toml(&text, Path::new("budget.toml"), &[]).unwrap()
}

#[test]
fn a_retry_budget_of_a_tenth_holds_the_amplification_at_1_1_where_unbudgeted_retries_make_it_1_plus_n() {
    let free = run(&budgeted(""), 1, 0).summary;
    close(free.retry_amplification, 1.0 + RETRIES, "unbudgeted: every failure retried");
    let s = run(&budgeted("retry_budget = 0.1,"), 1, 0).summary;
    // Every failure wants a retry at once, so the budget is spent whenever a call fails: the retries of each
    // 60-s window reach the floor of a tenth of its first attempts (one short at most) and never exceed it.
    // Over the run's windows the shortfall is at most one retry per window (and the first window's ramp),
    // so the amplification is 1.1 within (windows + 1) / first attempts. (Seed 1: 90,110 first attempts,
    // 1.09984, against 1.1 ± 0.00037.)
    let windows = (1900.0f64 / 60.0).ceil();
    let tolerance = (windows + 1.0) / s.first_attempts as f64;
    assert!(s.first_attempts > 80_000, "{}", s.first_attempts);
    assert!(
        (s.retry_amplification - 1.1).abs() <= tolerance,
        "with a 10% budget: {} requests per first attempt, against 1.1 ± {tolerance:.5}",
        s.retry_amplification
    );
}
