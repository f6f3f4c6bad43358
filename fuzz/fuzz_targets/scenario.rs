//! Fuzz target `scenario`: bytes → UTF-8 text → scenario parsing and validation → a bounded short run.
//!
//! What counts as a finding: a panic, an abort, an input that runs longer than libFuzzer's `-timeout`, or
//! memory above its `-rss_limit_mb`. A scenario the validator refuses is an answer, not a finding.
//!
//! - Text with an `[experiment]` table is read as an experiment: up to two strategies' (or grid points') overrides
//!   are applied to the built-in scenario it names (the replay by default) at its scale. The experiment's
//!   own schema lives in `sweep`, behind the `files` feature (polars), which this crate does not build.
//! - Any other text is a scenario file: `Scenario::from_toml`, then up to two of its `[variants]`.
//! - A valid scenario is shrunk (see [`shrink`]) and run once. Shrinking keeps the file's structure and
//!   ratios but bounds the run's work, so that a slow input means a bug, not a big country: at most a day
//!   simulated, ~10^4 people and ~10^3 servers (by the scenario's own `scale`), a few pages, attempts and
//!   returns per user, at most a thousand autoscaler windows or attack bursts.
//!
//! Shrinking never turns a valid scenario into an invalid one; the target panics if it does (a bug of the
//! harness, or of `RawScenario::scale`).
//!
//! With `RENTREE_FUZZ_DEBUG=1` in the environment, each input prints what it became (the validator's
//! message, or the bounded run's size and events): `fuzz/target/.../scenario FILE…` replays files so.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rentree::builtin::{self, BuiltinModel};
use rentree::engine::RateProfile;
use rentree::scenario::raw::{RawAdmission, RawArrivals, RawProvisioning, RawRetry, RawScenario};
use rentree::scenario::{AttackModel, Override, Scenario};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;
use toml::Value;

/// The name errors give the fuzzed text.
const ORIGIN: &str = "fuzz.toml";
/// Seed of every run: one input, one run, so a crash replays.
const SEED: u64 = 20210406;
/// Simulated span of a bounded run, seconds: a day, which every model fits (work is bounded by counts below).
const HORIZON_MAX_S: f64 = 86_400.0;
/// People expected over a bounded run (arrivals and class participants, each platform use counted).
const PEOPLE_MAX: f64 = 1e4;
/// Servers in a bounded run: every pool at its most (timetable, autoscaler), and media servers.
const SERVERS_MAX: f64 = 1e3;
/// Page requests per session, attempts per request and returns per user in a bounded run.
const PAGES_MAX: u32 = 20;
const ATTEMPTS_MAX: u32 = 5;
const RETURNS_MAX: u32 = 5;
/// Mean pupils per virtual class.
const PUPILS_MAX: f64 = 50.0;
/// Attack requests in the request-by-request attack model, per attack.
const ATTACK_REQUESTS_MAX: f64 = 1e5;
/// Autoscaler windows, and attack bursts, per bounded run.
const PERIODS_MAX: f64 = 1e3;
/// The smallest scale applied: below it, rates of ordinary size would round to zero.
const SCALE_MIN: f64 = 1e-12;
/// Variants, or experiment configurations, run per input.
const CONFIGURATIONS_MAX: usize = 2;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
});

/// Whether to print what each input became (`RENTREE_FUZZ_DEBUG=1`).
fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("RENTREE_FUZZ_DEBUG").is_some_and(|v| v == "1"))
}

/// A refused input: format the message (it is part of the answer), print it when debugging.
fn refused(e: &rentree::Error) {
    let message = e.to_string();
    if debug() {
        eprintln!("refused: {}", message.lines().next().unwrap_or_default());
    }
}

/// Parses, validates and runs (bounded) everything `text` describes.
fn check(text: &str) {
    if let Ok(table) = toml::from_str::<toml::Table>(text) {
        if table.contains_key("experiment") {
            experiment(&table, text.len());
            return;
        }
    }
    let origin = Path::new(ORIGIN);
    match Scenario::from_toml(text, origin, &[]) {
        Ok(scenario) => {
            bounded_run(&scenario);
            for name in some(scenario.raw.variants.keys(), text.len()) {
                match Override::variant(text, origin, name).and_then(|o| Scenario::from_toml(text, origin, &o)) {
                    Ok(variant) => bounded_run(&variant),
                    Err(e) => refused(&e),
                }
            }
        }
        Err(e) => refused(&e),
    }
}

/// At most [`CONFIGURATIONS_MAX`] of `items`, from an offset that `seed` picks: the same ones for the same
/// input, others as mutations change it.
fn some<T>(items: impl ExactSizeIterator<Item = T> + Clone, seed: usize) -> impl Iterator<Item = T> {
    let n = items.len();
    items.cycle().skip(if n == 0 { 0 } else { seed % n }).take(n.min(CONFIGURATIONS_MAX))
}

/// An experiment: its configurations' overrides on its built-in base scenario (some of them, picked by
/// `seed`).
fn experiment(table: &toml::Table, seed: usize) {
    let settings = table.get("experiment").and_then(Value::as_table);
    let base = settings.and_then(|s| s.get("scenario")).and_then(Value::as_str).map_or(&builtin::REPLAY, base_model);
    let scale = match settings.and_then(|s| s.get("scale")) {
        Some(Value::Float(x)) => *x,
        Some(Value::Integer(i)) => *i as f64,
        _ => 1.0,
    };
    let origin = Path::new(base.path);
    let mut configurations: Vec<Vec<Override>> = Vec::new();
    for strategy in table.get("strategy").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_table) {
        let mut overrides = match strategy.get("variant").and_then(Value::as_str) {
            Some(name) => match Override::variant(base.text, origin, name) {
                Ok(o) => o,
                Err(e) => {
                    refused(&e);
                    continue;
                }
            },
            None => Vec::new(),
        };
        if let Some(set) = strategy.get("set").and_then(Value::as_table) {
            overrides.extend(set.iter().map(|(p, v)| Override::set(ORIGIN, p, v)));
        }
        configurations.push(overrides);
    }
    // A grid or zip design: the i-th value of every axis.
    if let Some(grid) = table.get("grid").and_then(Value::as_table) {
        for i in 0..CONFIGURATIONS_MAX {
            let picks: Vec<Override> = grid.iter().filter_map(|(p, values)| Some(Override::set(ORIGIN, p, values.as_array()?.get(i)?))).collect();
            if picks.is_empty() {
                break;
            }
            configurations.push(picks);
        }
    }
    // A Latin hypercube: every range at its bounds.
    if let Some(ranges) = table.get("lhs").and_then(|l| l.get("ranges")).and_then(Value::as_table) {
        for bound in ["min", "max"] {
            configurations.push(ranges.iter().filter_map(|(p, r)| Some(Override::set(ORIGIN, p, r.get(bound)?))).collect());
        }
    }
    if configurations.is_empty() {
        configurations.push(Vec::new());
    }
    for overrides in some(configurations.iter(), seed) {
        match Scenario::from_toml_scaled(base.text, origin, overrides, scale) {
            Ok(scenario) => bounded_run(&scenario),
            Err(e) => refused(&e),
        }
    }
}

/// The built-in model an experiment's `scenario` names (`builtin:evening`, or a path to one of `models/`).
fn base_model(name: &str) -> &'static BuiltinModel {
    let file = |path: &str| path.rsplit('/').next().unwrap_or(path).to_owned();
    match name {
        "builtin:evening" => &builtin::EVENING,
        _ => builtin::find(&format!("models/{}", file(name)))
            .or_else(|| builtin::TEXTBOOK.iter().find(|m| file(m.path) == file(name)))
            .unwrap_or(&builtin::REPLAY),
    }
}

/// Shrinks a valid scenario and runs it once.
fn bounded_run(scenario: &Scenario) {
    let mut raw = scenario.raw.clone();
    let scale = shrink(&mut raw, scenario);
    let small = match Scenario::from_raw(raw, Path::new(ORIGIN)) {
        Ok(s) => s,
        Err(e) => panic!("the harness's shrinking made a valid scenario invalid: {e}"),
    };
    let start = Instant::now();
    // A run the budget refuses, or one that outgrows its records, is an answer (exit 2 with a message), not
    // a finding. A clock stuck at one instant is a finding: the shrunk scenario has a few pages, attempts
    // and returns per user, so a zero-length loop there is one that validation should have refused.
    let Ok(limits) = rentree::world::budget::Budget::default().check(&small) else { return };
    let report = std::hint::black_box(rentree::world::run_with(&small, SEED, 0, &limits));
    if let Err(e @ rentree::world::RunError::Stalled { .. }) = &report {
        panic!("a shrunk scenario stalled: {e}");
    }
    let events = report.as_ref().map(|r| r.events);
    if debug() {
        let (horizon_s, seconds) = (small.horizon.as_secs_f64(), start.elapsed().as_secs_f64());
        eprintln!("ran {:?} at scale {scale:.3e}, horizon {horizon_s} s: {events:?} events in {seconds:.3} s", small.name);
    }
}

/// Bounds the work of a run of `raw` (the file of the valid `scenario`), keeping it valid; returns the
/// scale applied (1 if none).
fn shrink(raw: &mut RawScenario, scenario: &Scenario) -> f64 {
    let original = raw.clone();
    let run = &mut raw.scenario;
    let horizon_s = run.horizon_s.min(HORIZON_MAX_S);
    run.horizon_s = horizon_s;
    if run.warmup_s >= horizon_s {
        run.warmup_s = horizon_s / 2.0;
    }

    // Per user: pages, attempts and returns.
    for c in raw.cohorts.values_mut() {
        if let Some(s) = &mut c.session {
            s.pages = s.pages.min(PAGES_MAX);
            s.comeback.max_returns = s.comeback.max_returns.min(RETURNS_MAX);
            match &mut s.retry {
                Some(
                    RawRetry::Immediate { max_attempts }
                    | RawRetry::Fixed { max_attempts, .. }
                    | RawRetry::Exponential { max_attempts, .. },
                ) => {
                    *max_attempts = (*max_attempts).min(ATTEMPTS_MAX);
                }
                None => {}
            }
        }
    }

    // Periodic work: autoscaler windows and attack bursts, at most PERIODS_MAX of each over the horizon.
    let period_min_s = horizon_s / PERIODS_MAX;
    for pool in raw.platforms.values_mut().map(|p| &mut p.pool).chain(raw.dependencies.values_mut().map(|d| &mut d.pool)) {
        if let Some(RawProvisioning::Autoscale { window_s, .. }) = &mut pool.provisioning {
            // A window shorter than the clock's microsecond is left alone: whether the world copes with it
            // is for the fuzzer to find out, not for the shrinking to hide.
            if *window_s >= 1e-6 {
                *window_s = window_s.max(period_min_s);
            }
        }
    }
    for p in raw.platforms.values_mut() {
        for a in &mut p.attacks {
            if let (Some(on), Some(off)) = (&mut a.on_s, &mut a.off_s) {
                if *on + *off < period_min_s {
                    // Longer bursts and pauses in the same proportion: fewer bursts, still valid.
                    let on_share = (*on / (*on + *off)).clamp(1e-6, 1.0);
                    *on = period_min_s * on_share;
                    *off = period_min_s - *on;
                }
            }
        }
        if let Some(c) = &mut p.classes {
            c.pupils = c.pupils.min(PUPILS_MAX);
        }
    }

    // People and servers: the scenario's own scale, which keeps demand and capacity in proportion.
    let mut people = 0.0;
    for c in &scenario.cohorts {
        let uses: f64 = c.platforms.iter().map(|&(_, share)| share).sum();
        people += c.arrivals.expected_count(horizon_s) * uses;
    }
    let mut servers = 0.0;
    for p in raw.platforms.values() {
        if let Some(c) = &p.classes {
            let participants: f64 = c.bells.iter().filter(|b| b[0] <= horizon_s).map(|b| b[1] * (1.0 + c.pupils)).sum();
            people += participants;
            servers += c.media.servers as f64;
        }
    }
    for pool in raw.platforms.values().map(|p| &p.pool).chain(raw.dependencies.values().map(|d| &d.pool)) {
        let most = match &pool.provisioning {
            None | Some(RawProvisioning::Static {}) => 0.0,
            Some(RawProvisioning::Scheduled { timetable }) => timetable.iter().map(|t| t[1]).fold(0.0, f64::max),
            Some(RawProvisioning::Autoscale { max, provider_quota, .. }) => (*max).max(provider_quota.unwrap_or(0)) as f64,
        };
        servers += (pool.servers as f64).max(most);
    }
    // Floored, so that a huge or infinite count cannot scale rates down to nothing; the caps below catch
    // what the floor leaves.
    let scale = (PEOPLE_MAX / people).min(SERVERS_MAX / servers).max(SCALE_MIN);
    if scale < 1.0 {
        raw.scale(scale);
        repair_underflow(raw, &original);
    }
    let rate_max = PEOPLE_MAX / horizon_s;
    for c in raw.cohorts.values_mut() {
        match &mut c.arrivals {
            RawArrivals::Poisson { rate_per_s } => *rate_per_s = rate_per_s.min(rate_max),
            RawArrivals::Profile { points } => points.iter_mut().for_each(|p| p[1] = p[1].min(rate_max)),
            RawArrivals::Population { count, .. } => *count = (*count).min(PEOPLE_MAX as u64),
        }
    }
    for p in raw.platforms.values_mut() {
        if let Some(c) = &mut p.classes {
            let classes_max = (PEOPLE_MAX / (1.0 + c.pupils)).floor();
            c.bells.iter_mut().for_each(|b| b[1] = b[1].min(classes_max));
            c.media.servers = c.media.servers.min(SERVERS_MAX as i64);
        }
    }
    for pool in raw.platforms.values_mut().map(|p| &mut p.pool).chain(raw.dependencies.values_mut().map(|d| &mut d.pool)) {
        // Each server an autoscaler adds is a boot event.
        if let Some(RawProvisioning::Autoscale { step, .. }) = &mut pool.provisioning {
            *step = (*step).min(SERVERS_MAX as i64);
        }
    }

    // Attack requests, one event each in the request-by-request model (after scaling, which scales bots).
    if scenario.attack_model == AttackModel::Requests {
        for a in raw.platforms.values_mut().flat_map(|p| &mut p.attacks) {
            let on_s = (a.end_s.min(horizon_s) - a.start_s).max(0.0);
            if a.bots * a.rate_per_bot * on_s > ATTACK_REQUESTS_MAX {
                a.rate_per_bot = ATTACK_REQUESTS_MAX / (a.bots * on_s);
            }
        }
    }
    scale.min(1.0)
}

/// Puts back the rates that scaling by a tiny factor rounded down to zero (they were denormal-small, so
/// as cheap as zero), which would make a valid scenario invalid.
fn repair_underflow(raw: &mut RawScenario, original: &RawScenario) {
    for (c, before) in raw.cohorts.values_mut().zip(original.cohorts.values()) {
        match (&mut c.arrivals, &before.arrivals) {
            (RawArrivals::Poisson { rate_per_s }, RawArrivals::Poisson { rate_per_s: was }) if *rate_per_s <= 0.0 => *rate_per_s = *was,
            (RawArrivals::Profile { points }, RawArrivals::Profile { points: was }) => {
                let pairs: Vec<(f64, f64)> = points.iter().map(|p| (p[0], p[1])).collect();
                if RateProfile::new(&pairs).is_err() {
                    points.clone_from(was);
                }
            }
            _ => {}
        }
    }
    for (p, before) in raw.platforms.values_mut().zip(original.platforms.values()) {
        for (a, was) in p.admission.iter_mut().zip(&before.admission) {
            match (a, was) {
                (RawAdmission::TokenBucket { rate_per_s, .. }, RawAdmission::TokenBucket { rate_per_s: was, .. }) if *rate_per_s <= 0.0 => {
                    *rate_per_s = *was;
                }
                (RawAdmission::WaitingRoom { admit_per_min, .. }, RawAdmission::WaitingRoom { admit_per_min: was, .. })
                    if *admit_per_min <= 0.0 =>
                {
                    *admit_per_min = *was;
                }
                _ => {}
            }
        }
    }
}
