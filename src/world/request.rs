//! Requests in flight.

use super::ids::{AttackId, GroupId, PlatformId, PoolId};
use super::slab::Ref;
use crate::engine::SimTime;
use crate::scenario::MAX_POOLS;

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A one-off request with no client behind it (textbook queues).
    Single,
    /// A login: through the platform's login dependencies, then its application pool.
    Login,
    /// A page of a session: the application pool.
    Page,
    /// A botnet's request (simulated request by request); its origin is an attack.
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
    /// When it entered its current stage: the backlog of its pool (`Waiting`) or service (`InService`).
    pub since: SimTime,
    /// Seed of this request's service requirements (see `Pool::draw_service`).
    pub work_seed: u64,
    /// Time spent waiting in backlogs so far, in microseconds.
    pub waited_us: u64,
    /// The user who sent it, if any (sessions); its cohort and platform are its group's.
    pub user: Option<Ref>,
    /// Who sent it, as an index: a group's, or an attack's for [`Kind::Attack`]; read it through
    /// [`Request::origin`], [`Request::group`] or [`Request::attack`]. (An `Origin` field would take 8
    /// bytes where this and `kind` take 5, and a request would no longer fit its cache line.)
    pub(super) sender: u32,
    /// Platform of origin (16 bits, like `pool`, so that a request fits in a cache line with its slot; a
    /// scenario has at most [`MAX_POOLS`] pools).
    pub platform: PlatformId,
    /// The pool it is in.
    pub pool: PoolId,
    /// Position along its route (0 = first pool).
    pub hop: u8,
    /// Length of its route, so the last hop is known without looking the route up.
    pub hops: u8,
    /// Priority in backlogs (0 first; a virtual class is something else, see `classes`).
    pub priority: u8,
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

/// Who sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The members of a group (users, or a textbook queue's arrivals).
    Group(GroupId),
    /// A botnet.
    Attack(AttackId),
}

impl Request {
    /// Who sent it.
    #[inline]
    pub fn origin(&self) -> Origin {
        match self.kind {
            Kind::Attack => Origin::Attack(AttackId(self.sender)),
            _ => Origin::Group(GroupId(self.sender)),
        }
    }

    /// The group that sent it; a request of a group's member (not an attack's).
    #[inline]
    pub fn group(&self) -> GroupId {
        debug_assert!(self.kind != Kind::Attack, "an attack's request has no group");
        GroupId(self.sender)
    }

    /// The attack that sent it; an attack's request.
    #[inline]
    pub fn attack(&self) -> AttackId {
        debug_assert!(self.kind == Kind::Attack, "a group's request has no attack");
        AttackId(self.sender)
    }
}

// Platforms and pools are numbered in 16 bits.
const _: () = assert!(MAX_POOLS <= u16::MAX as usize);

// A request and its slab slot fit in one cache line (see `Slab`).
const _: () = assert!(std::mem::size_of::<Request>() <= 56);
