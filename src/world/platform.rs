//! A platform's own state: routes, front door, its admission pipeline, throttling and per-minute counters.

use super::admission::Pipeline;
use super::attack::PlatformAttack;
use super::classes::Classes;
use super::ids::{Id, PlatformId, PoolId};
use super::request::Kind;
use super::user::User;
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::metrics::{MinuteDurations, TimeWeighted, Window};
use crate::policy::AdaptiveThrottle;
use crate::scenario::PlatformSpec;

crate::totals! {
    /// A platform's counters (users and sessions, not pools), running totals from the start of the run.
    pub struct PlatformCounts {
        /// Users who arrived.
        pub users_arrived: u64,
        /// Requests sent, retries included.
        pub attempts: u64,
        /// Requests answered while their client waited.
        pub goodput: u64,
        /// Successful logins.
        pub logins_ok: u64,
        /// Logins refused by admission.
        pub logins_rejected: u64,
        /// Logins failed after retries.
        pub logins_failed: u64,
        /// Client timeouts.
        pub timeouts: u64,
        /// Refused at the door or by a full backlog.
        pub refused: u64,
        /// Dropped by client throttling.
        pub throttled: u64,
        /// Users who gave up.
        pub gave_up: u64,
        /// Requests of real users dropped by the attack protection.
        pub mitigated_real: u64,
        /// Requests sent for a need not tried before (attempt 1 of a login or a page).
        pub first_attempts: u64,
        /// Of those, failed (timed out, refused, abandoned, throttled, dropped), counted when they fail.
        pub first_attempts_failed: u64,
    }
}

crate::totals! {
    /// A reading of everything a platform accumulates, at one instant (see [`Platform::totals`]).
    pub struct PlatformTotals {
        /// The counters.
        pub counts: PlatformCounts,
        /// Users in the orbit, integrated (user × µs).
        pub orbit: u128,
    }
}

/// One platform.
#[derive(Debug)]
pub struct Platform {
    /// Pools a login visits: the login dependencies, then the application pool.
    login_route: Vec<PoolId>,
    /// Pools a page (or a single request) visits: the application pool.
    page_route: [PoolId; 1],
    /// Front-door connection cap.
    pub max_connections: Option<u64>,
    /// Whether its pool has priorities.
    pub priority_pool: bool,
    /// Connections open (requests whose client still waits).
    pub connections: u64,
    /// Admission of logins: slots, token bucket, waiting room (whose tickets are (user, token), so that a
    /// stale entry is recognised), session quota.
    pub admission: Pipeline<(super::slab::Ref, u32)>,
    /// Session time limit.
    pub time_limit: Option<SimDuration>,
    /// Client-side adaptive throttling, aggregated over the platform's clients.
    pub throttle: Option<AdaptiveThrottle>,
    /// Randomness of admission (shuffle, throttling draws).
    pub rng: StreamRng,
    /// Sessions open.
    pub active_sessions: u64,
    /// Users in the orbit (failed or refused, waiting to try again: see `UserStage::in_orbit`), over time.
    pub orbit: TimeWeighted,
    /// The counters, running totals.
    pub counts: PlatformCounts,
    /// The current minute.
    pub minute: Window<PlatformTotals>,
    /// The observed span: from the end of the warm-up (or 0) to the horizon.
    pub observed: Window<PlatformTotals>,
    /// Response times of requests answered in time this minute.
    pub minute_latencies: MinuteDurations,
    /// Attacks on the platform and its protection, if it is attacked.
    pub attack: Option<PlatformAttack>,
    /// Flags real users for the protection (false positives, users abroad), if it has one.
    pub flag_rng: Option<StreamRng>,
    /// Virtual classes, if it holds them.
    pub classes: Option<Classes>,
    /// The users of its orbit who come back one at a time (cohorts with `comeback.retrial = "constant"`).
    pub retrial_queue: RetrialQueue,
}

/// A platform's orbit that comes back one user at a time, whatever its size (a constant retrial rate): the
/// users in the order they left, each with the token of its plan (an entry whose user changed plans since is
/// skipped when reached), and whether the next come-back is scheduled.
#[derive(Debug, Default)]
pub struct RetrialQueue {
    /// (user, token), first to come back first.
    pub users: std::collections::VecDeque<(super::slab::Ref, u32)>,
    /// An `OrbitRetry` event is pending.
    pub armed: bool,
}

impl Platform {
    /// The state of platform `id`; dependency pools follow the `n_platforms` application pools.
    pub fn new(spec: &PlatformSpec, id: PlatformId, n_platforms: usize, rng: StreamRng) -> Platform {
        let a = &spec.admission;
        let mut login_route: Vec<PoolId> = spec.login_via.iter().map(|&d| PoolId::from_index(n_platforms + d)).collect();
        login_route.push(id.pool());
        let levels = if a.priority { 8 } else { 1 };
        Platform {
            login_route,
            page_route: [id.pool()],
            max_connections: spec.max_connections,
            priority_pool: a.priority,
            connections: 0,
            admission: Pipeline::new(a, levels),
            time_limit: a.session_time_limit,
            throttle: a.throttle.map(|(k, window)| AdaptiveThrottle::new(k, window)),
            rng,
            active_sessions: 0,
            orbit: TimeWeighted::default(),
            counts: PlatformCounts::default(),
            minute: Window::default(),
            observed: Window::default(),
            minute_latencies: MinuteDurations::new(),
            attack: None,
            flag_rng: None,
            classes: None,
            retrial_queue: RetrialQueue::default(),
        }
    }

    /// A reading of the platform's totals at `now`.
    pub fn totals(&self, now: SimTime) -> PlatformTotals {
        PlatformTotals { counts: self.counts, orbit: self.orbit.area_at(now) }
    }

    /// Decides, on a user's arrival, whether the platform's protection will block them: a false positive,
    /// or a user abroad under geo-filtering (drawn only where the platform has protection).
    pub fn flag(&mut self, user: &mut User) {
        if let (Some(rng), Some(m)) = (&mut self.flag_rng, self.attack.as_ref().and_then(|a| a.mitigation)) {
            let wrongly = rand::Rng::random::<f64>(rng) < m.false_positive_share;
            let abroad = rand::Rng::random::<f64>(rng) < m.real_abroad_share;
            user.set(User::FLAGGED, wrongly || (m.geo_filter && abroad));
        }
    }

    /// The pools a request of `kind` visits, in order.
    #[inline]
    pub fn route(&self, kind: Kind) -> &[PoolId] {
        match kind {
            Kind::Login => &self.login_route,
            Kind::Page | Kind::Single | Kind::Attack => &self.page_route,
        }
    }
}
