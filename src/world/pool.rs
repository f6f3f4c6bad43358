//! An application pool: `servers × workers` service slots and a FIFO backlog with an optional limit.
//!
//! The pool is pure mechanism: it holds slots and a queue and says what happened (started, queued,
//! blocked). Who arrives, how long they wait and what they do next is decided by the world.

use super::request::RequestRef;
use crate::engine::{DurationDist, SimTime, StreamRng};
use crate::metrics::{DurationStats, TimeWeighted};
use std::collections::VecDeque;

/// What the pool did with an arriving request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A slot was free: service starts now.
    Started,
    /// Every slot was busy: the request waits in the backlog.
    Queued,
    /// The backlog was full: the request is turned away.
    Blocked,
}

/// Per-minute counters of one pool, flushed into a timeseries row at every minute tick.
#[derive(Debug, Clone, Default)]
pub struct MinuteCounters {
    /// Arrivals this minute.
    pub arrivals: u64,
    /// Service starts this minute.
    pub started: u64,
    /// Service completions this minute.
    pub served: u64,
    /// Abandonments this minute.
    pub abandoned: u64,
    /// Blocked arrivals this minute.
    pub blocked: u64,
}

/// One pool's state.
#[derive(Debug)]
pub struct Pool {
    /// Service slots (servers × workers per server).
    pub slots: u64,
    /// Largest backlog allowed (`max_in_system − slots`), `None` for unbounded.
    pub max_waiting: Option<u64>,
    /// Service-time distribution.
    pub service: DurationDist,
    /// The pool's own random stream (service times).
    pub rng: StreamRng,
    /// Requests waiting, in arrival order; entries whose request has abandoned are skipped when reached.
    backlog: VecDeque<RequestRef>,
    /// Busy slots, integrated over time.
    pub busy: TimeWeighted,
    /// Live waiting requests (abandoned ones excluded), integrated over time.
    pub waiting: TimeWeighted,
    /// Readings of the `busy` and `waiting` integrals at the start of the current minute.
    pub minute_mark: (u128, u128),
    /// Readings of the same integrals at the end of the warm-up.
    pub warmup_mark: (u128, u128),
    /// This minute's counters.
    pub minute: MinuteCounters,
    /// Waits of requests that left the backlog this minute.
    pub minute_waits: DurationStats,
}

impl Pool {
    /// An idle pool.
    pub fn new(slots: u64, max_waiting: Option<u64>, service: DurationDist, rng: StreamRng) -> Pool {
        Pool {
            slots,
            max_waiting,
            service,
            rng,
            backlog: VecDeque::new(),
            busy: TimeWeighted::default(),
            waiting: TimeWeighted::default(),
            minute_mark: (0, 0),
            warmup_mark: (0, 0),
            minute: MinuteCounters::default(),
            minute_waits: DurationStats::new(),
        }
    }

    /// Requests currently waiting (abandoned ones excluded).
    #[inline]
    pub fn waiting_len(&self) -> u64 {
        self.waiting.value()
    }

    /// Requests currently in service.
    #[inline]
    pub fn busy_len(&self) -> u64 {
        self.busy.value()
    }

    /// Offers a request to the pool at `now`; on `Started` the caller schedules the service completion.
    #[inline]
    pub fn offer(&mut self, now: SimTime, request: RequestRef) -> Admission {
        if self.busy.value() < self.slots {
            self.busy.incr(now);
            Admission::Started
        } else if self.max_waiting.is_none_or(|m| self.waiting.value() < m) {
            self.backlog.push_back(request);
            self.waiting.incr(now);
            Admission::Queued
        } else {
            Admission::Blocked
        }
    }

    /// Frees a slot at `now`, then hands it to the first live waiting request, if any: `is_live` tells whether
    /// a backlog entry still wants service. Returns the request that starts service.
    #[inline]
    pub fn release(&mut self, now: SimTime, mut is_live: impl FnMut(RequestRef) -> bool) -> Option<RequestRef> {
        while let Some(r) = self.backlog.pop_front() {
            if is_live(r) {
                // The slot passes straight from one request to the next: busy count unchanged.
                self.waiting.decr(now);
                return Some(r);
            }
        }
        self.busy.decr(now);
        None
    }

    /// Records that a waiting request left the backlog without service (abandonment) at `now`; its entry
    /// stays in the backlog and is skipped later.
    #[inline]
    pub fn forget_waiting(&mut self, now: SimTime) {
        self.waiting.decr(now);
    }

    /// Readings of the busy and waiting integrals at `now`.
    pub fn areas_at(&self, now: SimTime) -> (u128, u128) {
        (self.busy.area_at(now), self.waiting.area_at(now))
    }
}
