//! Requests in flight.

use super::slab::Ref;
use crate::engine::SimTime;

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A one-off request with no client behind it (textbook queues).
    Single,
    /// A login: through the platform's login dependencies, then its application pool.
    Login,
    /// A page of a session: the application pool.
    Page,
    /// A botnet's request (simulated request by request); its `group` is the attack's index.
    Attack,
}

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In a pool's backlog.
    Waiting,
    /// Being served.
    InService,
}

/// One request in flight.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// When it was sent.
    pub arrived: SimTime,
    /// When it entered the current pool.
    pub entered: SimTime,
    /// When its current service started (valid in `InService`).
    pub started: SimTime,
    /// Seed of this request's service requirements (see `Pool::draw_service`).
    pub work_seed: u64,
    /// Time spent waiting in backlogs so far, in microseconds.
    pub waited_us: u64,
    /// The user who sent it, if any (sessions); its cohort and platform are in `group`.
    pub user: Option<Ref>,
    /// Index of the (cohort, platform) group that sent it.
    pub group: u32,
    /// Platform of origin.
    pub platform: u32,
    /// The pool it is in.
    pub pool: u32,
    /// Position along its route (0 = first pool).
    pub hop: u8,
    /// Length of its route, so the last hop is known without looking the route up.
    pub hops: u8,
    /// Priority class in backlogs.
    pub class: u8,
    /// What it is for.
    pub kind: Kind,
    /// Where it is.
    pub stage: Stage,
    /// Whether it was sent after the warm-up (counted in the statistics).
    pub observed: bool,
    /// Whether its client stopped waiting (timeout, session closed): any further work on it is wasted.
    pub orphaned: bool,
    /// Whether its client's timeout still has to be scheduled. A request that starts service at once and
    /// is answered within the timeout never needs the event: it is armed only when the request waits, or
    /// starts a service that will end too late, or has further hops (see `World::arm_timeout`).
    pub unarmed: bool,
}
