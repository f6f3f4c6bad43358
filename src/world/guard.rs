//! What stops a run before it exhausts the machine or spins for ever: the records it may hold at once, and
//! the diagnosis of a run that stopped (a clock stuck at one instant, too many records alive, or a sink
//! that could not take its minute rows).
//!
//! These are outcomes of a run that cannot go on as asked, not domain outcomes: the run returns
//! a [`RunError`] instead of a report, and the command line turns it into a message and exit code 2. The
//! checks themselves live in the scheduler loop ([`crate::engine::Stop`]) and cost one comparison per event.

use super::{Event, PackedEvent, World};
use crate::engine::{DurationDist, Scheduler, SimTime, STALL_EVENTS};
use crate::scenario::Scenario;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes one live record (a user or a request) costs: its 64-byte slab slot, about one pending event
/// (24 bytes) and its share of the backlog queues and slab free lists.
pub const RECORD_BYTES: u64 = 112;

/// What a run may hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Users and requests alive at once, all components together: each component gets an equal share, and
    /// no world more than `event::RECORD_LIMIT` whatever this says.
    pub max_records: u64,
}

impl Default for Limits {
    /// 2^26 records (about 7 GiB), what one world may hold at most in any case (its events name a record's
    /// slot in 27 bits, `super::event::RECORD_LIMIT`): far above any scenario this machine runs. The
    /// command line sets a limit from the memory it may use.
    fn default() -> Self {
        Limits { max_records: super::event::RECORD_LIMIT }
    }
}

impl Limits {
    /// The records that `memory_bytes` of memory holds.
    pub fn from_memory_bytes(memory_bytes: f64) -> Limits {
        Limits { max_records: (memory_bytes / RECORD_BYTES as f64).max(1.0) as u64 }
    }
}

/// Set while an interrupt is requested: every run in progress in the process stops at its next check.
static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// Asks every run in progress in this process to stop at its next check (every
/// [`crate::engine::CHECK_EVENTS`] events, a few microseconds), with [`RunError::Interrupted`]; runs started
/// before [`clear_interrupt`] stop at once. What an interrupted run would have written is not written, and
/// what a sweep finished before is kept (it resumes). This is how Ctrl-C reaches a run that a host
/// process drives (the Python package): like Ctrl-C at a terminal, it stops the whole process's work. The
/// flag only ever stops a run; a run that ends has the result it would have had without it.
pub fn request_interrupt() {
    INTERRUPT.store(true, Ordering::Relaxed);
}

/// Lets runs go on again after [`request_interrupt`], once the interrupted work has returned.
pub fn clear_interrupt() {
    INTERRUPT.store(false, Ordering::Relaxed);
}

/// Whether an interrupt is requested.
#[inline]
pub fn interrupt_requested() -> bool {
    INTERRUPT.load(Ordering::Relaxed)
}

/// Why a run stopped before its horizon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// Simulated time stopped advancing while events kept firing.
    #[error("simulated time stopped advancing at {clock}: {events} events in a row at that instant ({kinds}); {cause}")]
    Stalled {
        /// The instant, as a clock time of the simulated day.
        clock: String,
        /// Events handled at that instant before the run was stopped.
        events: u64,
        /// The kinds of event seen at that instant, most frequent first, with their shares.
        kinds: String,
        /// The scenario's settings that can make such a loop, or a general hint.
        cause: String,
    },
    /// More users and requests were alive at once than the run may hold.
    #[error(
        "the run outgrew its memory at {clock}: {users} users and {requests} requests alive at once, above the limit of {limit} \
         records (about {limit_mib} MiB); {cause}"
    )]
    TooManyRecords {
        /// When, as a clock time of the simulated day.
        clock: String,
        /// Users alive.
        users: u64,
        /// Requests alive.
        requests: u64,
        /// The limit, in records.
        limit: u64,
        /// The limit in MiB.
        limit_mib: u64,
        /// Where they pile up, and what bounds them.
        cause: String,
    },
    /// The sink of the minute rows failed (a full disk, most often): the run's timeseries would be lost.
    #[error("{0}")]
    Output(super::SinkError),
    /// The run was asked to stop ([`request_interrupt`]).
    #[error("interrupted at {clock}")]
    Interrupted {
        /// When, as a clock time of the simulated day.
        clock: String,
    },
}

impl RunError {
    /// The library error for the run of the file at `path` that stopped, its message prefixed with
    /// `context` (which configuration or knob value, or nothing): exit code 2 at the command line.
    pub fn into_error(self, path: std::path::PathBuf, context: &str) -> crate::Error {
        let message = format!("{context}{self}");
        match self {
            RunError::Output(e) => crate::Error::Write { path: e.path, message: format!("{context}{}", e.message) },
            RunError::Stalled { .. } => crate::Error::Stalled { path, message },
            RunError::TooManyRecords { .. } => crate::Error::TooLarge { path, message },
            RunError::Interrupted { .. } => crate::Error::Interrupted { path, message },
        }
    }
}

/// A short name for an event's kind, for diagnoses.
pub(super) fn kind_name(e: &Event) -> &'static str {
    match e {
        Event::Arrival { .. } => "arrivals",
        Event::ServiceDone(_) => "services ending",
        Event::PatienceExpired(_) => "patience running out",
        Event::Timeout(_) => "client timeouts",
        Event::Wake { .. } => "users waking (retrying, coming back, next page)",
        Event::SessionExpired { .. } => "session limits",
        Event::RoomRelease { .. } => "waiting-room releases",
        Event::OrbitRetry { .. } => "come-backs of an orbit with a constant retrial rate",
        Event::TimetableStep { .. } | Event::Autoscale { .. } | Event::BootDone { .. } | Event::Incident { .. } => "provisioning",
        Event::AttackStep { .. } | Event::MitigationOn { .. } | Event::AttackArrival { .. } | Event::AttackHangup { .. } => {
            "attack traffic"
        }
        Event::FluidHead { .. } => "attack fluid draining",
        Event::ClassBell { .. } | Event::ClassJoin { .. } | Event::ClassJudge { .. } | Event::ClassEnd { .. } => "virtual classes",
        Event::WarmupEnd | Event::MinuteTick => "bookkeeping",
    }
}

/// `counts` of event kinds as "kind 62%, kind 38%".
pub(super) fn kinds_text(counts: &[(&'static str, u64)]) -> String {
    let total: u64 = counts.iter().map(|c| c.1).sum::<u64>().max(1);
    let mut sorted = counts.to_vec();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    sorted.iter().map(|(k, n)| format!("{k} {:.0}%", 100.0 * *n as f64 / total as f64)).collect::<Vec<_>>().join(", ")
}

/// Whether a duration drawn from `d` can be zero at the clock's microsecond resolution.
fn can_be_zero(d: &DurationDist) -> bool {
    match d {
        DurationDist::Deterministic { value_s } => *value_s < 1e-6,
        DurationDist::Uniform { min_s, .. } => *min_s < 1e-6,
        other => other.mean_s() < 1e-6,
    }
}

/// The settings of `scenario` that can close a loop of zero length: the causes to name when the clock
/// stalls.
pub(super) fn zero_length_loops(scenario: &Scenario) -> String {
    let mut found = Vec::new();
    for c in &scenario.cohorts {
        let Some(s) = &c.session else { continue };
        let f = format!("cohorts.{}.session", c.name);
        if can_be_zero(&s.comeback_delay) && s.max_returns > 0 {
            found.push(format!("{f}.comeback.delay can be 0 s with max_returns = {} (instant come-backs)", s.max_returns));
        }
        if can_be_zero(&s.think) {
            found.push(format!("{f}.think can be 0 s"));
        }
        if s.retry.max_attempts > 1 && s.retry.min_delay_s() < 1e-6 {
            found.push(format!("{f}.retry retries at once (max_attempts = {})", s.retry.max_attempts));
        }
    }
    for p in &scenario.platforms {
        if can_be_zero(&p.pool.service) {
            found.push(format!("platforms.{}.pool.service can be 0 s", p.name));
        }
    }
    for d in &scenario.dependencies {
        if can_be_zero(&d.pool.service) {
            found.push(format!("dependencies.{}.pool.service can be 0 s", d.name));
        }
    }
    if found.is_empty() {
        format!("a loop of events of zero length; give the delays that close it a length > 0 (stopped after {STALL_EVENTS} events)")
    } else {
        format!("a loop of zero length: {}; give them a length > 0 (at least 1 µs) or bound the loop", found.join("; "))
    }
}

/// The clock time of `t` in a run whose t = 0 is `clock_start_s` after midnight, to the millisecond.
pub(super) fn clock_text(clock_start_s: f64, t: SimTime) -> String {
    let ms = ((clock_start_s + t.as_secs_f64()) * 1000.0).round() as u64;
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}.{:03} (t = {:.3} s)", (s / 3600) % 24, (s / 60) % 60, s % 60, ms % 1000, t.as_secs_f64())
}

impl World<'_> {
    /// The diagnosis of a clock stuck at `at`: the kinds of the next few thousand events (all at that
    /// instant, since the loop goes on) and the scenario's settings that can close such a loop.
    pub(super) fn stalled(&mut self, scenario: &Scenario, at: SimTime, sched: &mut Scheduler<PackedEvent>) -> RunError {
        let mut counts: Vec<(&'static str, u64)> = Vec::new();
        for _ in 0..4096 {
            let mut kind = "";
            if sched.step_observed(self, |e| kind = kind_name(&Event::from(*e))).is_none() {
                break;
            }
            match counts.iter_mut().find(|c| c.0 == kind) {
                Some(c) => c.1 += 1,
                None => counts.push((kind, 1)),
            }
        }
        RunError::Stalled {
            clock: clock_text(self.shared.clock_start_s, at),
            events: STALL_EVENTS,
            kinds: kinds_text(&counts),
            cause: zero_length_loops(scenario),
        }
    }

    /// The diagnosis of a world that outgrew its records at `now`: where the requests pile up.
    pub(super) fn too_many_records(&self, now: SimTime) -> RunError {
        let busiest =
            self.servers.pools.iter_ids().filter(|(i, _)| self.shared.active[*i]).max_by_key(|(_, p)| p.waiting_len()).map(|(_, p)| p);
        let cause = match busiest {
            Some(p) if p.waiting_len() > 0 => format!(
                "the largest backlog is pool {:?} with {} requests waiting{}; bound it (max_in_system, patience), shorten the \
                 horizon, lower --scale, or raise --max-memory",
                p.name,
                p.waiting_len(),
                if p.max_waiting().is_none() { " and no backlog limit" } else { "" }
            ),
            _ => "too many people around at once; lower --scale or the population, shorten the \
                 horizon, or raise --max-memory"
                .into(),
        };
        RunError::TooManyRecords {
            clock: clock_text(self.shared.clock_start_s, now),
            users: self.clients.users.live(),
            requests: self.servers.requests.live(),
            limit: self.max_records,
            limit_mib: self.max_records * RECORD_BYTES / (1 << 20),
            cause,
        }
    }
}
