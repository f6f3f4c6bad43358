//! The size of a run before it starts: the events it will handle and the memory it will hold, estimated
//! from the validated scenario, so that a run too large for the machine is refused with the fields that
//! make it large instead of aborting on a failed allocation hours later.
//!
//! The estimate is deliberately simple and errs high where it must guess. Its parts:
//! - **people**: every user the run may see (population counts and open arrival rates over the horizon,
//!   each platform share, plus virtual-class participants), at [`PERSON_BYTES`] each, as if all were
//!   around at once (a finite population often is, at 8:00);
//! - **single requests** (cohorts without sessions, the textbook queues): in an overloaded pool without a
//!   backlog limit the backlog grows by (arrivals − capacity) over the horizon; with a limit, at most that;
//! - **minute rows**: one row per simulated minute and pool, held until the end and expanded for the tables
//!   when the run keeps them ([`Rows::Memory`], sweeps); when they stream to disk ([`Rows::Disk`],
//!   `rentree run`) they cost disk instead: their spill file and the tables written from it;
//! - **groups**: the per-(cohort, platform) counters and their latency histograms.
//!
//! Events: about three per request (arrival or wake-up, service start or end, timeout), a request per page
//! and per login. Checked against the national replay (`tests/suite/bad_input.rs`): the estimate is within a
//! factor two of the events counted.
//!
//! What the estimate cannot foresee (retries and orphaned requests piling up in a backlog) the run guards
//! itself against at run time ([`super::Limits`]).

use super::guard::RECORD_BYTES;
use crate::engine::{ArrivalProcess, DurationDist};
use crate::scenario::{AttackModel, AttackTier, Scenario};

/// Bytes one person of the population costs while around: their user record, the request in flight and
/// their pending events.
pub const PERSON_BYTES: f64 = (RECORD_BYTES * 3 / 2) as f64;

/// Bytes one minute row of one pool costs: the row, and its expansion into named fields and columns when
/// the tables are built.
pub const MINUTE_ROW_BYTES: f64 = 4096.0;

/// Disk bytes one minute row of one pool costs when rows stream to disk: its spill record (about 600
/// bytes), its CSV line (180 to 400) and its share of the Parquet table, rounded up.
pub const MINUTE_ROW_DISK_BYTES: f64 = 1536.0;

/// Where a run's minute rows go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Kept in memory until the run ends (sweeps, which aggregate them; library callers of `run`).
    Memory,
    /// Streamed to disk as the run makes them (`rentree run`, see `world::run_streamed`).
    Disk,
}

/// Bytes the counters of one (cohort, platform) group cost once used: two latency histograms of about
/// 220 KiB each, and the counters.
pub const GROUP_BYTES: f64 = 460_000.0;

/// Memory the process needs whatever the scenario (code, the embedded models, the thread pool).
pub const BASE_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// One thing that makes a run large: the fields that drive it, and what it costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Driver {
    /// The fields of the scenario (dotted paths) and their values, in words.
    pub what: String,
    /// Bytes it needs.
    pub bytes: f64,
    /// Events it makes.
    pub events: f64,
    /// Whether its bytes are users and requests, which the run counts and stops at ([`super::Limits`]);
    /// the others (minute rows, counters) are held whatever happens.
    pub records: bool,
}

/// The estimated size of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    /// Events the run will handle.
    pub events: f64,
    /// Peak memory, bytes.
    pub memory_bytes: f64,
    /// Disk the minute rows take when they stream ([`Rows::Disk`]), bytes; 0 when they stay in memory.
    pub disk_bytes: f64,
    /// What makes it large, largest memory first.
    pub drivers: Vec<Driver>,
}

impl Footprint {
    /// The drivers, largest first, as one line for a message (at most `n` of them).
    pub fn top(&self, n: usize) -> String {
        self.drivers
            .iter()
            .take(n)
            .map(|d| format!("{} ({}, {} events)", d.what, mib_text(d.bytes), count_text(d.events)))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The drivers, most events first, as one line (at most `n`).
    pub fn top_events(&self, n: usize) -> String {
        let mut by_events = self.drivers.clone();
        by_events.sort_by(|a, b| b.events.total_cmp(&a.events));
        by_events.iter().take(n).map(|d| format!("{} ({} events)", d.what, count_text(d.events))).collect::<Vec<_>>().join("; ")
    }
}

/// `bytes` in MiB or GiB, for messages.
pub fn mib_text(bytes: f64) -> String {
    let mib = bytes / (1024.0 * 1024.0);
    if mib >= 10_240.0 {
        format!("{:.0} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

/// A count with a readable magnitude (`3.6e10`, `12,345`).
pub fn count_text(x: f64) -> String {
    if x >= 1e7 {
        format!("{x:.1e}")
    } else {
        format!("{x:.0}")
    }
}

/// Mean pages and logins of a session: requests a user sends if nothing fails.
fn requests_per_user(pages: u32) -> f64 {
    f64::from(pages) + 1.0
}

fn mean_service_s(d: &DurationDist) -> f64 {
    d.mean_s().max(1e-6)
}

/// Estimates the events, memory and disk of running `scenario` with its minute rows going to `rows`.
pub fn estimate(scenario: &Scenario, rows: Rows) -> Footprint {
    let horizon_s = scenario.horizon.as_secs_f64();
    let scale_note = if scenario.scale != 1.0 { format!(" at --scale {}", scenario.scale) } else { String::new() };
    let mut drivers = Vec::new();
    let mut groups = 0usize;
    for c in &scenario.cohorts {
        let field = format!("cohorts.{}.arrivals", c.name);
        for &(pi, share) in &c.platforms {
            groups += 1;
            let arrivals = share * c.arrivals.expected_count(horizon_s);
            let how = match &c.arrivals {
                ArrivalProcess::Population { count, .. } => format!("{field}.count = {count}"),
                ArrivalProcess::Poisson { mean_gap_s } => format!("{field}.rate_per_s = {} over {horizon_s} s", 1.0 / mean_gap_s),
                ArrivalProcess::Profile(_) => format!("{field}.points ({} arrivals by the horizon)", count_text(arrivals)),
            };
            let platform = &scenario.platforms[pi];
            let how = if c.platforms.len() > 1 { format!("{how} × share {share} on platforms.{}", platform.name) } else { how };
            match &c.session {
                Some(s) => {
                    let events = arrivals * 3.0 * requests_per_user(s.pages);
                    drivers.push(Driver {
                        what: format!("{how}{scale_note}: {} people", count_text(arrivals)),
                        bytes: arrivals * PERSON_BYTES,
                        events,
                        records: true,
                    });
                }
                None => {
                    // A textbook queue: the backlog grows only where arrivals outrun the pool.
                    let pool = &platform.pool;
                    let capacity = pool.slots() as f64 / mean_service_s(&pool.service) * horizon_s;
                    let mut peak = (arrivals - capacity).max(0.0) + pool.slots() as f64;
                    if let Some(k) = pool.max_in_system {
                        peak = peak.min(k as f64);
                    }
                    if let Some(p) = &c.patience {
                        // Abandonment bounds the backlog near rate × patience.
                        peak = peak.min(arrivals / horizon_s * p.mean_s() * 4.0 + pool.slots() as f64);
                    }
                    drivers.push(Driver {
                        what: format!("{how}{scale_note}: {} requests, up to {} waiting at once", count_text(arrivals), count_text(peak)),
                        bytes: peak.min(arrivals) * RECORD_BYTES as f64,
                        events: arrivals * 3.0,
                        records: true,
                    });
                }
            }
        }
    }
    for p in &scenario.platforms {
        if let Some(c) = &p.classes {
            let classes: f64 = c.bells.iter().map(|&(_, n)| n as f64).sum();
            let people = classes * (1.0 + c.pupils_mean);
            let pages = scenario.cohorts[c.pupils_cohort].session.as_ref().map_or(1, |s| s.pages);
            drivers.push(Driver {
                what: format!(
                    "platforms.{}.classes.bells{scale_note}: {} classes, {} participants",
                    p.name,
                    count_text(classes),
                    count_text(people)
                ),
                bytes: people * PERSON_BYTES + classes * 64.0,
                events: people * 3.0 * requests_per_user(pages),
                records: true,
            });
            groups += 2;
        }
        if scenario.attack_model == AttackModel::Hybrid {
            for (i, a) in p.attacks.iter().enumerate() {
                // What the tier admits one by one is bounded by its capacity over the attack's span; the
                // pool's backlog holds a bounded number of attack requests one by one.
                let (admits_per_s, bytes) = match a.tier {
                    AttackTier::Pool { cost } => {
                        let slots = p.pool.slots() as f64;
                        let held = (crate::scenario::HYBRID_QUEUE_SLOTS as f64 * slots.max(8.0))
                            .min(p.pool.max_in_system.map_or(f64::INFINITY, |k| k as f64));
                        (slots / (cost * mean_service_s(&p.pool.service)).max(1e-9), held * RECORD_BYTES as f64)
                    }
                    AttackTier::FrontDoor { hold } => (p.max_connections.unwrap_or(0) as f64 / hold.as_secs_f64().max(1e-6), 0.0),
                };
                // Each step of the schedule at the smaller of its passing rate and what the tier admits.
                let protected_from = p.mitigation_at().unwrap_or(crate::engine::SimTime::MAX);
                let passing = p.mitigation.map_or(1.0, |m| m.passing_share(a.abroad_share));
                let mut drawn = 0.0;
                for w in a.steps.windows(2) {
                    let (from, to) = (w[0].0, w[1].0);
                    let before = (to.min(protected_from).max(from) - from).as_secs_f64();
                    let after = (to - from).as_secs_f64() - before;
                    drawn += w[0].1.min(admits_per_s) * before + (w[0].1 * passing).min(admits_per_s) * after;
                }
                drivers.push(Driver {
                    what: format!("platforms.{}.attacks[{i}]: {} attack requests admitted one by one", p.name, count_text(drawn)),
                    bytes,
                    // An arrival and a departure each, and a redraw each time room appears after a refusal.
                    events: drawn * 3.0,
                    records: true,
                });
            }
        }
        if scenario.attack_model == AttackModel::Requests {
            for (i, a) in p.attacks.iter().enumerate() {
                let sent = a.expected_requests();
                let bytes = match a.tier {
                    // Attack requests wait like real ones: at most the pool's backlog, or what outruns it.
                    AttackTier::Pool { .. } => {
                        let backlog = p.pool.max_in_system.map_or(sent, |k| k as f64);
                        backlog.min(sent) * RECORD_BYTES as f64
                    }
                    AttackTier::FrontDoor { .. } => 0.0,
                };
                drivers.push(Driver {
                    what: format!("platforms.{}.attacks[{i}] with attack_model = \"requests\": {} requests", p.name, count_text(sent)),
                    bytes,
                    events: sent * 2.0,
                    records: true,
                });
            }
        }
    }
    let pool_specs = scenario.platforms.iter().map(|p| (format!("platforms.{}", p.name), &p.pool));
    for (name, pool) in pool_specs.chain(scenario.dependencies.iter().map(|d| (format!("dependencies.{}", d.name), &d.pool))) {
        if let crate::scenario::Provisioning::Autoscale(a) = &pool.provisioning {
            let window_s = a.window.as_secs_f64().max(1e-6);
            drivers.push(Driver {
                what: format!("{name}.pool.provisioning.window_s = {window_s}: an evaluation every window"),
                bytes: 0.0,
                events: horizon_s / window_s,
                records: false,
            });
        }
    }
    let pools = scenario.platforms.len() + scenario.dependencies.len();
    let minutes = (horizon_s / 60.0).ceil();
    let minute_rows = minutes * pools as f64;
    let (bytes, disk_bytes) = match rows {
        Rows::Memory => (minute_rows * MINUTE_ROW_BYTES, 0.0),
        // A streamed run holds a buffer of rows per component, and a batch of them when the tables are written.
        Rows::Disk => {
            (minute_rows.min((2 * super::FLUSH_ROWS) as f64 * pools as f64) * MINUTE_ROW_BYTES, minute_rows * MINUTE_ROW_DISK_BYTES)
        }
    };
    drivers.push(Driver {
        what: format!("scenario.horizon_s = {horizon_s}: {} minute rows × {pools} pools", count_text(minutes)),
        bytes,
        events: minutes,
        records: false,
    });
    drivers.push(Driver {
        what: format!("{} (cohort, platform) groups and {pools} pools", groups),
        bytes: (groups + 2 * pools) as f64 * GROUP_BYTES,
        events: 0.0,
        records: false,
    });
    drivers.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    Footprint {
        events: drivers.iter().map(|d| d.events).sum(),
        memory_bytes: BASE_BYTES + drivers.iter().map(|d| d.bytes).sum::<f64>(),
        disk_bytes,
        drivers,
    }
}

/// Events a second this machine kind handles on the national replay, for the time a refusal quotes.
pub const EVENTS_PER_S: f64 = 5e6;

/// The limits a run's [`Footprint`] is checked against before it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Memory one run may use, bytes.
    pub memory_bytes: f64,
    /// Events one run may handle.
    pub events: f64,
    /// Run even when the estimate is above the limits (the run-time guard of records still holds).
    pub force: bool,
    /// Where the minute rows go and, when they stream to disk, the space free there in bytes (`None`
    /// where it cannot be read: then not checked).
    pub rows: (Rows, Option<f64>),
}

impl Default for Budget {
    /// 4 GiB and the default event limit: what a library caller that does not know its machine gets (the
    /// command line reads the memory available instead).
    fn default() -> Self {
        Budget { memory_bytes: 4.0 * 1024.0 * 1024.0 * 1024.0, events: Budget::DEFAULT_EVENTS, force: false, rows: (Rows::Memory, None) }
    }
}

impl Budget {
    /// The default event limit: 2·10^10 events, about an hour on this machine kind.
    pub const DEFAULT_EVENTS: f64 = 2e10;

    /// Checks `scenario` against the budget: the [`super::Limits`] to run it with, or why it is refused
    /// (the estimate, the limit and the fields that drive it).
    pub fn check(&self, scenario: &Scenario) -> Result<super::Limits, String> {
        let fp = estimate(scenario, self.rows.0);
        let fixed: f64 = BASE_BYTES + fp.drivers.iter().filter(|d| !d.records).map(|d| d.bytes).sum::<f64>();
        // Whatever the estimate, the run stops itself before its records outgrow the memory left.
        let limits = super::Limits::from_memory_bytes((self.memory_bytes - fixed).max(self.memory_bytes / 4.0));
        if self.force {
            return Ok(limits);
        }
        if fp.memory_bytes > self.memory_bytes {
            return Err(format!(
                "this run needs about {} of memory (estimated), more than the {} it may use (the memory available, or --max-memory); \
                 what makes it large: {}. Lower --scale, shorten scenario.horizon_s or reduce those fields; --force runs it anyway",
                mib_text(fp.memory_bytes),
                mib_text(self.memory_bytes),
                fp.top(3)
            ));
        }
        if let (Rows::Disk, Some(free)) = self.rows {
            if fp.disk_bytes > free {
                let minutes = (scenario.horizon.as_secs_f64() / 60.0).ceil();
                let pools = scenario.platforms.len() + scenario.dependencies.len();
                return Err(format!(
                    "this run writes about {} of minute rows (estimated: scenario.horizon_s = {}, {} minutes × {pools} pools), more than \
                     the {} free on the disk of its results folder (--out, or --max-disk). Choose an --out on a larger disk, shorten scenario.horizon_s \
                     or reduce the pools; --force runs it anyway",
                    mib_text(fp.disk_bytes),
                    scenario.horizon.as_secs_f64(),
                    count_text(minutes),
                    mib_text(free)
                ));
            }
        }
        if fp.events > self.events {
            return Err(format!(
                "this run would handle about {} events (estimated), more than the limit of {} (about {:.0} minutes at {} events/s; \
                 --max-events); what makes it long: {}. Lower --scale, shorten scenario.horizon_s or reduce those fields; --force runs it anyway",
                count_text(fp.events),
                count_text(self.events),
                fp.events / EVENTS_PER_S / 60.0,
                count_text(EVENTS_PER_S),
                fp.top_events(3)
            ));
        }
        Ok(limits)
    }
}
