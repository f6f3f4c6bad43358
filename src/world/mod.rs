//! The simulated system: users who arrive, log in through admission policies and shared dependencies, read
//! pages, time out, retry and come back later; requests that queue for pools; and the closed set of events
//! that moves them.
//!
//! A textbook queue is the simplest case of this world: a cohort with no session, whose arrivals each send
//! one request to one pool with no client behind it. The world never touches the file system, polars or
//! plotly: a run is a pure function [`run`] from a validated [`Scenario`] and a seed to a [`RunReport`].

pub mod admission;
pub mod attack;
pub mod budget;
mod build;
pub mod classes;
pub mod fluid;
pub mod guard;
mod observer;
pub mod platform;
pub mod pool;
mod provision;
pub mod request;
pub mod sink;
pub mod slab;
pub mod stats;
pub mod user;

use crate::engine::{ArrivalStream, DurationDist, Model, Scheduler, SimDuration, SimTime, Stop, StreamRng};
use crate::metrics::{AccessPoint, MinuteRow, Summary};
use crate::policy::RetryBudget;
use crate::scenario::{Scenario, SessionSpec};
use admission::Verdict;
use observer::Minutes;
use platform::Platform;
use pool::{Admission, Pool};
use provision::{PoolProvisioning, Then};
use rand::RngCore;
use rayon::prelude::*;
use request::{Kind, Request, Stage};
use slab::{Ref, Slab};
use stats::GroupStats;
use user::{User, UserStage};

pub use build::components;
pub use guard::{Limits, RunError};
pub use sink::{MinuteSink, SinkError, FLUSH_ROWS};

/// Length of a timeseries bin.
pub const MINUTE: SimDuration = SimDuration::from_secs(60);

/// Everything that can happen. Small and `Copy`: events sit in the pending set by the million.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The next member of a (cohort, platform) group arrives.
    Arrival {
        /// Group index.
        group: u32,
    },
    /// A request finishes service in its current pool.
    ServiceDone(Ref),
    /// A waiting request's patience runs out (it leaves the backlog).
    PatienceExpired(Ref),
    /// A request's client timeout expires (the client stops waiting; the server does not know).
    Timeout(Ref),
    /// A user acts: comes back, retries, reads the next page, or gives up waiting in the room.
    Wake {
        /// The user.
        user: Ref,
        /// The user's token when this was scheduled; a different token means the event is stale.
        token: u32,
    },
    /// A session reaches the platform's session time limit.
    SessionExpired {
        /// The user.
        user: Ref,
        /// The session token when this was scheduled.
        token: u32,
    },
    /// A platform's waiting room may admit its next user.
    RoomRelease {
        /// Platform index.
        platform: u32,
    },
    /// A pool's timetable reaches step `step`.
    TimetableStep {
        /// Pool index.
        pool: u32,
        /// Index in the timetable.
        step: u32,
    },
    /// A pool's autoscaler evaluates its metric.
    Autoscale {
        /// Pool index.
        pool: u32,
    },
    /// A server ordered by an autoscaler finishes booting.
    BootDone {
        /// Pool index.
        pool: u32,
        /// Whether the boot succeeded.
        ok: bool,
    },
    /// A capacity incident starts (servers lost) or ends (servers back).
    Incident {
        /// Pool index.
        pool: u32,
        /// Index in the pool's incidents.
        index: u32,
        /// Whether this is the end of the incident.
        restore: bool,
    },
    /// An attack's rate changes (aggregate model): a burst starts or ends, a ramp steps up.
    AttackStep {
        /// Platform index.
        platform: u32,
    },
    /// Protection against attacks engages on a platform.
    MitigationOn {
        /// Platform index.
        platform: u32,
    },
    /// A botnet sends a request (request-by-request model).
    AttackArrival {
        /// Platform index.
        platform: u32,
        /// Index of the attack on that platform.
        attack: u32,
    },
    /// A bot closes a front-door connection (request-by-request model).
    AttackHangup {
        /// Platform index.
        platform: u32,
    },
    /// A bell rings on a platform with virtual classes.
    ClassBell {
        /// Platform index.
        platform: u32,
        /// Index of the bell.
        bell: u32,
    },
    /// A class participant makes their first try to join.
    ClassJoin {
        /// Platform index.
        platform: u32,
        /// Class index.
        class: u32,
        /// Whether it is the teacher.
        teacher: bool,
    },
    /// The join window of a bell's classes ends: each is judged.
    ClassJudge {
        /// Platform index.
        platform: u32,
        /// Index of the bell.
        bell: u32,
    },
    /// A bell's lessons end.
    ClassEnd {
        /// Platform index.
        platform: u32,
        /// Index of the bell.
        bell: u32,
    },
    /// The attack work ahead of a pool's first waiting request has drained (aggregate model).
    FluidHead {
        /// Pool index.
        pool: u32,
        /// The fluid's token when scheduled; a different token means the event is stale.
        token: u32,
    },
    /// The warm-up ends: time averages restart.
    WarmupEnd,
    /// A minute ends: the timeseries takes a row per pool.
    MinuteTick,
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// Summary rows: the whole system first (`platform = cohort = "all"`), then one per platform, then one
    /// per cohort when there are several.
    pub rows: Vec<Summary>,
    /// The whole-system row (the first of `rows`).
    pub summary: Summary,
    /// One row per simulated minute and pool.
    pub timeseries: Vec<MinuteRow>,
    /// Time-to-first-access curves, per cohort and for everyone (empty without sessions).
    pub access: Vec<AccessPoint>,
    /// Events handled.
    pub events: u64,
}

/// A (cohort, platform) pair: the users of one platform from one cohort.
struct Group {
    /// The cohort, or [`CLASS_GROUP`] for the participants of a platform's virtual classes.
    cohort: u32,
    platform: u32,
    /// Arrivals of the cohort's share (`None` for class participants, who come at bells).
    arrivals: Option<ArrivalStream>,
    arrival_rng: StreamRng,
    behaviour_rng: StreamRng,
    /// Seeds of the service requirements of the requests this group sends, one draw per request.
    work_rng: StreamRng,
    patience: Option<DurationDist>,
    session: Option<SessionSpec>,
    budget: Option<RetryBudget>,
    class: u8,
    slot_start: Option<SimTime>,
    stats: GroupStats,
}

/// The cohort index of the groups of class participants: they follow a cohort's behaviour but are counted
/// in the class figures, not in the cohorts' rows.
const CLASS_GROUP: u32 = u32::MAX;

/// The state of one run; `'s` is the borrow of the sink its minute rows stream to, if any.
struct World<'s> {
    horizon: SimTime,
    warmup: SimTime,
    clock_start_s: f64,
    /// Checkpoint instants of the "served by" metrics.
    checkpoints: [SimTime; 4],
    groups: Vec<Group>,
    platforms: Vec<Platform>,
    /// Application pools (one per platform, same index) then dependency pools.
    pools: Vec<Pool>,
    requests: Slab<Request>,
    users: Slab<User>,
    /// The minute rows, and the sink they stream to.
    minutes: Minutes<'s>,
    /// The pools (platforms first, then dependencies) this world simulates: those of one component of
    /// platforms that share nothing with the others (see [`components`]).
    active_pools: Vec<bool>,
    /// Provisioning of each pool (same index as `pools`).
    provisioning: Vec<PoolProvisioning>,
    /// Attacks and protection of each platform (same index as `platforms`).
    attacks: Vec<Option<attack::PlatformAttack>>,
    /// Flags real users for the protection (false positives, users abroad), per platform.
    flag_rngs: Vec<Option<StreamRng>>,
    /// Virtual classes of each platform (same index as `platforms`).
    classes: Vec<Option<classes::Classes>>,
    /// Groups of people from cohorts (the class participants' groups follow).
    user_groups: usize,
    /// Master seed and replication, for streams created during the run.
    seed: u64,
    replication: u64,
    /// Users and requests this world may hold at once (see [`Limits`]).
    max_records: u64,
}

impl<'s> World<'s> {
    /// Schedules the next arrival of `group`, if it falls within the horizon.
    #[inline]
    fn schedule_next_arrival(&mut self, group: u32, sched: &mut Scheduler<Event>) {
        let g = &mut self.groups[group as usize];
        if let Some(t) = g.arrivals.as_mut().and_then(|a| a.next_arrival(&mut g.arrival_rng)) {
            if t <= self.horizon {
                sched.schedule_at(t, Event::Arrival { group });
            }
        }
    }

    #[inline]
    fn arrival(&mut self, group: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let g = &mut self.groups[group as usize];
        match &g.session {
            None => {
                self.send(group, None, Kind::Single, sched);
            }
            Some(session) => {
                let pages = session.pages;
                if now >= self.warmup {
                    g.stats.users += 1;
                }
                let platform = g.platform as usize;
                self.platforms[platform].minute.users_arrived += 1;
                let mut user = User::new(now, group, pages);
                self.flag(platform, &mut user);
                let u = self.users.insert(user);
                self.try_login(u, sched);
            }
        }
        self.schedule_next_arrival(group, sched);
    }

    /// Decides, on a user's arrival at `platform`, whether its protection will block them: a false
    /// positive, or a user abroad under geo-filtering (drawn only where the platform has protection).
    fn flag(&mut self, platform: usize, user: &mut User) {
        if let (Some(rng), Some(m)) = (&mut self.flag_rngs[platform], self.attacks[platform].as_ref().and_then(|a| a.mitigation)) {
            let wrongly = rand::Rng::random::<f64>(rng) < m.false_positive_share;
            let abroad = rand::Rng::random::<f64>(rng) < m.real_abroad_share;
            user.set(User::FLAGGED, wrongly || (m.geo_filter && abroad));
        }
    }

    // ------------------------------------------------------------------ requests

    /// Sends a request from `group` (for `user`, if any) into its platform. Returns the request, or `None`
    /// if it was refused at once (the user's failure is already handled).
    #[inline]
    fn send(&mut self, group: u32, user: Option<Ref>, kind: Kind, sched: &mut Scheduler<Event>) -> Option<Ref> {
        let now = sched.now();
        let observed = now >= self.warmup;
        let g = &mut self.groups[group as usize];
        let platform = g.platform;
        let class = g.class;
        let work_seed = g.work_rng.next_u64();
        if observed {
            g.stats.arrivals += 1;
        }
        let p = &mut self.platforms[platform as usize];
        if kind != Kind::Single {
            p.minute.attempts += 1;
        }
        if let Some(u) = user {
            let active = self.attacks[platform as usize].as_ref().is_some_and(|a| a.active);
            if active && self.users.get(u).is_some_and(|x| x.has(User::FLAGGED)) {
                // The protection drops the request before the front door, as if it came from a bot.
                p.minute.mitigated_real += 1;
                if observed {
                    // Turned away before reaching the platform: a blocked request, counted as such.
                    self.groups[group as usize].stats.blocked += 1;
                }
                let user = self.users.get_mut(u).expect("checked");
                if !user.has(User::MITIGATED) && user.arrived >= self.warmup {
                    self.groups[group as usize].stats.mitigated_users += 1;
                }
                user.set(User::MITIGATED, true);
                self.request_failed(u, sched);
                return None;
            }
        }
        let door_open = match (p.max_connections, &mut self.attacks[platform as usize]) {
            (None, _) => true,
            (Some(m), None) => p.connections < m,
            (Some(m), Some(a)) => a.door_admits(p.connections, m),
        };
        if !door_open {
            // Connection refused at the front door: nothing reaches the servers.
            p.minute.refused += 1;
            if observed {
                self.groups[group as usize].stats.blocked += 1;
            }
            if let Some(u) = user {
                self.request_failed(u, sched);
            }
            return None;
        }
        p.connections += 1;
        let route = p.route(kind);
        let (first_pool, hops) = (route[0], route.len() as u8);
        let r = self.requests.insert(Request {
            arrived: now,
            since: now,
            work_seed,
            waited_us: 0,
            user,
            group,
            platform: request::narrow(platform),
            pool: request::narrow(first_pool),
            hop: 0,
            hops,
            class,
            kind,
            stage: Stage::Waiting,
            observed,
            orphaned: false,
            // Users' requests have a client timeout, armed lazily.
            unarmed: user.is_some(),
        });
        self.offer(r, first_pool, class, group, sched);
        // The request may already be gone (blocked); the caller only keeps it as the user's pending one.
        self.requests.get(r).map(|_| r)
    }

    /// Offers request `r` to `pool`.
    #[inline]
    fn enter_pool(&mut self, r: Ref, pool: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let req = self.requests.get_mut(r).expect("a request entering a pool is live");
        req.pool = request::narrow(pool);
        req.since = now;
        req.stage = Stage::Waiting;
        let (class, group) = (req.class, req.group);
        self.offer(r, pool, class, group, sched);
    }

    /// Offers `r`, already placed at `pool` and stamped with its entry time, to that pool.
    #[inline]
    fn offer(&mut self, r: Ref, pool: u32, class: u8, group: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let group = group as usize;
        let attack = self.requests.get(r).is_some_and(|q| q.kind == Kind::Attack);
        let admission = self.pools[pool as usize].offer(now, r, usize::from(class));
        if self.pools[pool as usize].fluid.is_some() {
            // The free slots (hence the attack's drain) or the head of the backlog may have changed.
            self.reschedule_head(pool, sched);
        }
        if attack {
            match admission {
                Admission::Started => self.start_service(r, sched),
                Admission::Queued => {}
                Admission::Blocked => {
                    self.requests.remove(r);
                    let pa = self.attacks[pool as usize].as_mut().expect("attack requests hit attacked platforms");
                    pa.counts.blocked += 1.0;
                }
            }
            return;
        }
        match admission {
            Admission::Started => self.start_service(r, sched),
            Admission::Queued => {
                self.arm_timeout(r, None, sched);
                let g = &mut self.groups[group];
                let req = self.requests.get(r).expect("a queued request is live");
                if req.observed && req.hop == 0 {
                    g.stats.waited += 1;
                }
                if let Some(patience) = &g.patience {
                    let p = patience.sample(&mut g.behaviour_rng);
                    sched.schedule(p, Event::PatienceExpired(r));
                }
            }
            Admission::Blocked => {
                let req = self.requests.remove(r).expect("live");
                let p = &mut self.platforms[req.platform as usize];
                p.minute.refused += 1;
                if req.observed {
                    self.groups[group].stats.blocked += 1;
                }
                if !req.orphaned {
                    p.connections -= 1;
                    if let Some(u) = req.user {
                        self.user_lost_request(u, r);
                        self.request_failed(u, sched);
                    }
                }
            }
        }
    }

    /// Starts service of `r`, which has just been given a slot.
    #[inline]
    fn start_service(&mut self, r: Ref, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let req = self.requests.get_mut(r).expect("a request given a slot is live");
        req.stage = Stage::InService;
        let wait = now - req.since;
        req.since = now;
        req.waited_us += wait.as_micros();
        let last_hop = req.hop + 1 == req.hops;
        let pool = &mut self.pools[req.pool as usize];
        pool.minute_waits.record(wait);
        pool.scale_window.wait_us += u128::from(wait.as_micros());
        pool.scale_window.starts += 1;
        if last_hop && req.observed {
            let total = SimDuration(req.waited_us);
            let s = &mut self.groups[req.group as usize].stats;
            s.started += 1;
            s.waits.record(total);
            s.served_wait_us += u128::from(total.as_micros());
        }
        // Each hop of a route gets its own requirement from the request's seed.
        let mut service = pool.draw_service(req.work_seed ^ u64::from(req.hop).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if req.kind == Kind::Attack {
            let pa = self.attacks[req.platform as usize].as_ref().expect("attacked platform");
            if let crate::scenario::AttackTier::Pool { cost } = pa.attacks[req.group as usize].tier {
                service = SimDuration::from_secs_f64(service.as_secs_f64() * cost);
            }
        } else if req.unarmed {
            let done = if last_hop { Some(now + service) } else { None };
            self.arm_timeout(r, done, sched);
        }
        sched.schedule(service, Event::ServiceDone(r));
    }

    /// Schedules the client timeout of `r` if it is not armed yet and may be needed: always while it
    /// waits or has hops to go (`done` is `None`), or if its last service ends (`done`) after the deadline.
    #[inline]
    fn arm_timeout(&mut self, r: Ref, done: Option<SimTime>, sched: &mut Scheduler<Event>) {
        let req = self.requests.get_mut(r).expect("live");
        if !req.unarmed {
            return;
        }
        let timeout = self.groups[req.group as usize].session.as_ref().expect("user requests have a session").timeout;
        let deadline = req.arrived + timeout;
        if done.is_none_or(|d| d > deadline) {
            req.unarmed = false;
            sched.schedule_at(deadline, Event::Timeout(r));
        }
    }

    fn service_done(&mut self, r: Ref, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let req = *self.requests.get(r).expect("a request in service is live until it completes");
        let pool = &mut self.pools[req.pool as usize];
        pool.minute.served += 1;
        if req.orphaned {
            let wasted = (now - req.since).as_micros();
            pool.minute.wasted_us += wasted;
            if req.observed {
                self.groups[req.group as usize].stats.wasted_us += u128::from(wasted);
            }
        }
        let requests = &self.requests;
        let next = pool.release(now, |w| requests.get(w).is_some_and(|q| q.stage == Stage::Waiting));
        // The next release of this pool will look at the new head of its backlog: a request that entered
        // long ago, whose record has left the cache. Start loading it now.
        if let Some(w) = pool.waiting_head() {
            requests.prefetch(w);
        }
        if req.kind == Kind::Attack {
            self.requests.remove(r);
            self.attacks[req.platform as usize].as_mut().expect("attacked platform").counts.served += 1.0;
            if let Some(next) = next {
                self.start_service(next, sched);
            }
            return;
        }
        if self.pools[req.pool as usize].fluid.is_some() {
            self.reschedule_head(req.pool.into(), sched);
        }
        if req.hop + 1 < req.hops {
            let next_pool = self.platforms[req.platform as usize].route(req.kind)[usize::from(req.hop) + 1];
            self.requests.get_mut(r).expect("live").hop += 1;
            self.enter_pool(r, next_pool, sched);
        } else {
            self.requests.remove(r);
            if req.observed {
                let s = &mut self.groups[req.group as usize].stats;
                s.served += 1;
                s.sojourn_us += u128::from((now - req.arrived).as_micros());
            }
            if !req.orphaned {
                self.platforms[req.platform as usize].connections -= 1;
                if let Some(u) = req.user {
                    self.user_lost_request(u, r);
                    self.request_succeeded(u, now - req.arrived, sched);
                }
            }
        }
        if let Some(next) = next {
            self.start_service(next, sched);
        }
    }

    fn patience_expired(&mut self, r: Ref, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        // Stale if the request was served (and its slot perhaps reused) before its patience ran out.
        let Some(req) = self.requests.get(r) else {
            return;
        };
        if req.stage != Stage::Waiting {
            return;
        }
        let req = self.requests.remove(r).expect("checked live");
        let pool = &mut self.pools[req.pool as usize];
        pool.forget_waiting(now);
        if pool.fluid.is_some() {
            self.reschedule_head(req.pool.into(), sched);
        }
        let pool = &mut self.pools[req.pool as usize];
        let wait = now - req.since;
        pool.minute_waits.record(wait);
        if req.observed {
            let s = &mut self.groups[req.group as usize].stats;
            s.abandoned += 1;
            s.waits.record(SimDuration(req.waited_us + wait.as_micros()));
        }
        if !req.orphaned {
            self.platforms[req.platform as usize].connections -= 1;
            if let Some(u) = req.user {
                self.user_lost_request(u, r);
                self.request_failed(u, sched);
            }
        }
    }

    fn timeout(&mut self, r: Ref, sched: &mut Scheduler<Event>) {
        let Some(req) = self.requests.get_mut(r) else {
            return;
        };
        if req.orphaned {
            return;
        }
        // The client closes the connection and moves on; the servers keep working on the request.
        req.orphaned = true;
        let (platform, group, observed, user) = (req.platform, req.group, req.observed, req.user);
        let p = &mut self.platforms[platform as usize];
        p.connections -= 1;
        p.minute.timeouts += 1;
        if observed {
            self.groups[group as usize].stats.timeouts += 1;
        }
        if let Some(u) = user {
            self.user_lost_request(u, r);
            self.request_failed(u, sched);
        }
    }

    /// Clears `u`'s pending request if it is `r`.
    fn user_lost_request(&mut self, u: Ref, r: Ref) {
        if let Some(user) = self.users.get_mut(u) {
            if user.pending == Some(r) {
                user.pending = None;
            }
        }
    }

    // ------------------------------------------------------------------ users

    fn wake_user(&mut self, u: Ref, delay: SimDuration, stage: UserStage, sched: &mut Scheduler<Event>) {
        let user = self.users.get_mut(u).expect("a user being scheduled is alive");
        user.stage = stage;
        user.token = user.token.wrapping_add(1);
        sched.schedule(delay, Event::Wake { user: u, token: user.token });
    }

    /// Tries to log in: the admission pipeline of the user's platform answers, and the user acts on it.
    fn try_login(&mut self, u: Ref, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let user = *self.users.get(u).expect("alive");
        let g = &self.groups[user.group as usize];
        let (platform, class) = (g.platform as usize, g.class);
        // The ticket the room would hold: a new token, which invalidates any timer of the user's.
        let ticket = (u, user.token.wrapping_add(1));
        let verdict = self.platforms[platform].admission.login(now, g.slot_start, class, ticket);
        if !matches!(verdict, Verdict::Later(_)) {
            self.count_return(u);
        }
        self.follow(u, platform, verdict, sched);
    }

    /// The user acts on admission's verdict.
    fn follow(&mut self, u: Ref, platform: usize, verdict: Verdict, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        match verdict {
            // "Your class connects at 9:00": come back at the slot, with no return counted.
            Verdict::Later(slot) => self.wake_user(u, slot - now, UserStage::Away, sched),
            // "When the maximum number of users is reached, you must wait your turn… come back later."
            Verdict::Refused(_) => {
                self.platforms[platform].minute.logins_rejected += 1;
                self.count_rejection(u);
                self.go_away(u, sched);
            }
            Verdict::IntoRoom { release_at } => {
                let user = self.users.get_mut(u).expect("alive");
                user.stage = UserStage::InRoom;
                user.token = user.token.wrapping_add(1);
                let token = user.token;
                if let Some(t) = release_at {
                    sched.schedule_at(t, Event::RoomRelease { platform: platform as u32 });
                }
                let g = &mut self.groups[user.group as usize];
                if let Some(patience) = g.session.as_ref().and_then(|s| s.room_patience.as_ref()) {
                    let d = patience.sample(&mut g.behaviour_rng);
                    sched.schedule(d, Event::Wake { user: u, token });
                }
            }
            Verdict::Admit { in_quota } => {
                let user = self.users.get_mut(u).expect("alive");
                user.in_quota = in_quota;
                user.next = Kind::Login;
                user.attempt = 1;
                if let Some(b) = &mut self.groups[user.group as usize].budget {
                    b.record_first_attempt(now);
                }
                self.send_user_request(u, sched);
            }
        }
    }

    fn count_rejection(&mut self, u: Ref) {
        let user = self.users.get_mut(u).expect("alive");
        let again = user.was_rejected;
        user.was_rejected = true;
        if user.arrived >= self.warmup {
            let s = &mut self.groups[user.group as usize].stats;
            s.rejected += 1;
            if again {
                s.rejected_again += 1;
            }
        }
    }

    /// Counts a login attempt of a user refused before: the denominator of "still refused on coming back".
    fn count_return(&mut self, u: Ref) {
        let user = self.users.get(u).expect("alive");
        if user.was_rejected && user.arrived >= self.warmup {
            self.groups[user.group as usize].stats.returns_after_rejection += 1;
        }
    }

    /// Sends the user's current request (`next`, attempt `attempt`), unless client-side throttling drops it.
    fn send_user_request(&mut self, u: Ref, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let user = self.users.get_mut(u).expect("alive");
        user.stage = UserStage::Requesting;
        let (group, kind) = (user.group, user.next);
        let platform = self.groups[group as usize].platform as usize;
        let p = &mut self.platforms[platform];
        if let Some(t) = &mut p.throttle {
            if t.should_reject(now, &mut p.rng) {
                p.minute.throttled += 1;
                if now >= self.warmup {
                    self.groups[group as usize].stats.throttled += 1;
                }
                self.request_failed(u, sched);
                return;
            }
        }
        if let Some(r) = self.send(group, Some(u), kind, sched) {
            if let Some(user) = self.users.get_mut(u) {
                user.pending = Some(r);
            }
        }
    }

    /// The user's request failed (timeout, refused, abandoned): retry, or give up on this session for now.
    fn request_failed(&mut self, u: Ref, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let Some(user) = self.users.get(u) else {
            return;
        };
        let user = *user;
        let g = &mut self.groups[user.group as usize];
        let platform = g.platform as usize;
        if let Some(t) = &mut self.platforms[platform].throttle {
            t.record(now, false);
        }
        let session = g.session.as_ref().expect("users belong to session cohorts");
        let next_attempt = user.attempt + 1;
        let delay = session.retry.delay(next_attempt, &mut g.behaviour_rng);
        let allowed = delay.is_some() && g.budget.as_mut().is_none_or(|b| b.try_retry(now));
        if let (Some(delay), true) = (delay, allowed) {
            self.users.get_mut(u).expect("alive").attempt = next_attempt;
            self.wake_user(u, delay, UserStage::RetryWait, sched);
            return;
        }
        if user.next == Kind::Login {
            self.platforms[platform].minute.logins_failed += 1;
        }
        self.end_session(u);
        self.go_away(u, sched);
    }

    fn request_succeeded(&mut self, u: Ref, latency: SimDuration, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let Some(user) = self.users.get(u) else {
            return;
        };
        let user = *user;
        let g = &mut self.groups[user.group as usize];
        let platform = g.platform as usize;
        let p = &mut self.platforms[platform];
        if let Some(t) = &mut p.throttle {
            t.record(now, true);
        }
        p.minute.goodput += 1;
        p.minute_latencies.record(latency);
        let observed = user.arrived >= self.warmup;
        let session = g.session.as_ref().expect("users belong to session cohorts");
        let think = session.think.sample(&mut g.behaviour_rng);
        match user.next {
            Kind::Login => {
                p.minute.logins_ok += 1;
                p.active_sessions += 1;
                let time_limit = p.time_limit;
                if observed {
                    g.stats.sessions += 1;
                }
                if !user.accessed && observed {
                    g.stats.accessed += 1;
                    g.stats.access_times.record(now - user.arrived);
                    g.stats.lost_us += u128::from((now - user.arrived).as_micros());
                    for (k, &c) in self.checkpoints.iter().enumerate() {
                        if now <= c {
                            g.stats.accessed_by[k] += 1;
                        }
                    }
                }
                if user.class != classes::NO_CLASS {
                    self.class_logged_in(u);
                }
                let user = self.users.get_mut(u).expect("alive");
                user.accessed = true;
                user.logged_in = true;
                user.session_token = user.session_token.wrapping_add(1);
                if let Some(limit) = time_limit {
                    sched.schedule(limit, Event::SessionExpired { user: u, token: user.session_token });
                }
                if user.pages_left == 0 {
                    self.finish_user(u);
                } else {
                    user.next = Kind::Page;
                    user.attempt = 1;
                    self.wake_user(u, think, UserStage::Thinking, sched);
                }
            }
            Kind::Page => {
                let user = self.users.get_mut(u).expect("alive");
                user.pages_left -= 1;
                if user.pages_left == 0 {
                    self.finish_user(u);
                } else {
                    user.attempt = 1;
                    self.wake_user(u, think, UserStage::Thinking, sched);
                }
            }
            Kind::Single | Kind::Attack => unreachable!("single and attack requests have no user"),
        }
    }

    fn wake(&mut self, u: Ref, token: u32, sched: &mut Scheduler<Event>) {
        let Some(user) = self.users.get(u) else {
            return;
        };
        if user.token != token {
            return;
        }
        match user.stage {
            UserStage::Away => self.try_login(u, sched),
            UserStage::RetryWait | UserStage::Thinking => {
                if user.stage == UserStage::Thinking {
                    if let Some(b) = &mut self.groups[user.group as usize].budget {
                        b.record_first_attempt(sched.now());
                    }
                }
                self.send_user_request(u, sched)
            }
            UserStage::InRoom => {
                // Room patience ran out: leave the room and come back later.
                let g = &self.groups[user.group as usize];
                self.platforms[g.platform as usize].admission.leave_room(g.class);
                self.go_away(u, sched);
            }
            UserStage::Requesting => {}
        }
    }

    fn session_expired(&mut self, u: Ref, token: u32, sched: &mut Scheduler<Event>) {
        let Some(user) = self.users.get(u) else {
            return;
        };
        if user.session_token != token || !user.logged_in {
            return;
        }
        let user = *user;
        if user.arrived >= self.warmup {
            self.groups[user.group as usize].stats.kicked += 1;
        }
        if let Some(r) = user.pending {
            // The page being loaded is lost with the session: its remaining work is wasted.
            if let Some(req) = self.requests.get_mut(r) {
                if !req.orphaned {
                    req.orphaned = true;
                    self.platforms[req.platform as usize].connections -= 1;
                }
            }
        }
        self.end_session(u);
        self.go_away(u, sched);
    }

    /// Closes the user's session, if open, and frees their quota place.
    fn end_session(&mut self, u: Ref) {
        let user = self.users.get_mut(u).expect("alive");
        let platform = self.groups[user.group as usize].platform as usize;
        let p = &mut self.platforms[platform];
        if user.logged_in {
            user.logged_in = false;
            user.session_token = user.session_token.wrapping_add(1);
            p.active_sessions -= 1;
        }
        if user.in_quota {
            user.in_quota = false;
            p.admission.release_quota();
        }
        user.pending = None;
        user.next = Kind::Login;
    }

    /// "Come back in a few minutes": the user leaves and returns later, or gives up for the morning.
    fn go_away(&mut self, u: Ref, sched: &mut Scheduler<Event>) {
        let user = self.users.get_mut(u).expect("alive");
        user.returns += 1;
        // A class participant whose class has been judged stops trying.
        let class_over = {
            let user = *user;
            self.class_over(&user)
        };
        let user = self.users.get_mut(u).expect("alive");
        let g = &mut self.groups[user.group as usize];
        let session = g.session.as_ref().expect("users belong to session cohorts");
        if user.returns > session.max_returns || class_over {
            let user = self.users.remove(u).expect("alive");
            self.platforms[g.platform as usize].minute.gave_up += 1;
            if user.arrived >= self.warmup {
                g.stats.gave_up += 1;
                if !user.accessed {
                    g.stats.lost_us += u128::from((self.horizon - user.arrived).as_micros());
                }
            }
            return;
        }
        let delay = session.comeback_delay.sample(&mut g.behaviour_rng);
        self.wake_user(u, delay, UserStage::Away, sched);
    }

    fn finish_user(&mut self, u: Ref) {
        self.end_session(u);
        let user = self.users.remove(u).expect("alive");
        if user.arrived >= self.warmup {
            self.groups[user.group as usize].stats.completed += 1;
        }
    }

    /// The waiting room of `platform` releases its next user, who goes on to the quota.
    fn room_release(&mut self, platform: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let p = &mut self.platforms[platform as usize];
        let users = &self.users;
        let (admitted, next) = p
            .admission
            .release(now, &mut p.rng, |(u, token)| users.get(u).is_some_and(|x| x.stage == UserStage::InRoom && x.token == token));
        if let Some(t) = next {
            sched.schedule_at(t, Event::RoomRelease { platform });
        }
        if let Some((u, _)) = admitted {
            let user = self.users.get_mut(u).expect("live in the room");
            // Invalidate the room-patience timer.
            user.token = user.token.wrapping_add(1);
            user.stage = UserStage::Requesting;
            let verdict = p.admission.admit_session();
            self.follow(u, platform as usize, verdict, sched);
        }
    }

    // ------------------------------------------------------------------ provisioning

    /// Schedules the timetable, autoscaler and incidents of every pool this world simulates.
    fn schedule_provisioning(&mut self, sched: &mut Scheduler<Event>) {
        for (i, prov) in self.provisioning.iter().enumerate().filter(|(i, _)| self.active_pools[*i]) {
            prov.schedule(i as u32, sched);
        }
    }

    /// Fills the slots of `pool` if provisioning just added some.
    fn then(&mut self, then: Then, pool: u32, sched: &mut Scheduler<Event>) {
        if then == Then::Fill {
            self.fill(pool, sched);
        }
    }

    /// Puts waiting requests into slots that capacity just freed.
    fn fill(&mut self, pool: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        loop {
            let requests = &self.requests;
            let next = self.pools[pool as usize].take_waiting(now, |w| requests.get(w).is_some_and(|q| q.stage == Stage::Waiting));
            match next {
                Some(r) => self.start_service(r, sched),
                None => break,
            }
        }
        if self.pools[pool as usize].fluid.is_some() {
            self.reschedule_head(pool, sched);
        }
    }
}

impl Model for World<'_> {
    type Event = Event;

    #[inline]
    fn prefetch(&self, next: &Event) {
        // Users and requests live in slabs of millions: their first touch is a cache miss.
        match *next {
            Event::Wake { user, .. } | Event::SessionExpired { user, .. } => self.users.prefetch(user),
            Event::ServiceDone(r) | Event::Timeout(r) | Event::PatienceExpired(r) => self.requests.prefetch(r),
            _ => {}
        }
    }

    #[inline]
    fn halted(&self) -> bool {
        self.users.live() + self.requests.live() > self.max_records || self.minutes.failed()
    }

    // Always inlined into the scheduler's loop, as it was before the loop gained its guards: left to the
    // inliner it became a call, 1.2% more instructions on the M/M/c bench (callgrind).
    #[inline(always)]
    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::Arrival { group } => self.arrival(group, sched),
            Event::ServiceDone(r) => self.service_done(r, sched),
            Event::PatienceExpired(r) => self.patience_expired(r, sched),
            Event::Timeout(r) => self.timeout(r, sched),
            Event::Wake { user, token } => self.wake(user, token, sched),
            Event::SessionExpired { user, token } => self.session_expired(user, token, sched),
            Event::RoomRelease { platform } => self.room_release(platform, sched),
            Event::TimetableStep { pool, step } => {
                let then = self.provisioning[pool as usize].timetable_step(step, &mut self.pools[pool as usize], sched.now());
                self.then(then, pool, sched);
            }
            Event::Autoscale { pool } => self.provisioning[pool as usize].autoscale(pool, &mut self.pools[pool as usize], sched),
            Event::BootDone { pool, ok } => {
                let then = PoolProvisioning::boot_done(&mut self.pools[pool as usize], ok, sched.now());
                self.then(then, pool, sched);
            }
            Event::Incident { pool, index, restore } => {
                let then = self.provisioning[pool as usize].incident(pool, index, restore, &mut self.pools[pool as usize], sched);
                self.then(then, pool, sched);
            }
            Event::AttackStep { platform } => self.attack_step(platform, sched),
            Event::MitigationOn { platform } => self.mitigation_on(platform, sched),
            Event::AttackArrival { platform, attack } => self.attack_arrival(platform, attack, sched),
            Event::AttackHangup { platform } => self.attack_hangup(platform),
            Event::FluidHead { pool, token } => self.fluid_head(pool, token, sched),
            Event::ClassBell { platform, bell } => self.class_bell(platform, bell, sched),
            Event::ClassJoin { platform, class, teacher } => self.class_join(platform, class, teacher, sched),
            Event::ClassJudge { platform, bell } => self.class_judge(platform, bell),
            Event::ClassEnd { platform, bell } => self.class_end(platform, bell),
            Event::WarmupEnd => self.warmup_end(sched.now()),
            Event::MinuteTick => {
                let now = sched.now();
                self.close_minute(now);
                if now + MINUTE < self.horizon {
                    sched.schedule(MINUTE, Event::MinuteTick);
                }
            }
        }
    }
}

/// Runs `scenario` with master seed `seed` and replication index `replication`, within the default
/// [`Limits`].
///
/// Pure and deterministic: the same arguments give the same report, on any thread. Every random stream is
/// keyed by (seed, replication, purpose), so replication `r` of two different configurations sees the same
/// arrivals (common random numbers). A model that cannot be simulated as written (a clock stuck at one
/// instant, more records alive than the limits allow) returns a [`RunError`] that says why.
pub fn run(scenario: &Scenario, seed: u64, replication: u64) -> Result<RunReport, RunError> {
    run_with(scenario, seed, replication, &Limits::default())
}

/// [`run`] within `limits`.
pub fn run_with(scenario: &Scenario, seed: u64, replication: u64, limits: &Limits) -> Result<RunReport, RunError> {
    let sinks = components(scenario).iter().map(|_| None).collect();
    run_parts(scenario, seed, replication, limits, sinks)
}

/// [`run_with`], with the minute rows streamed to sinks as the run makes them instead of kept in the
/// report (whose `timeseries` is then empty): the memory a run holds no longer grows with its horizon.
///
/// `make_sink(k)` makes the sink of the run's `k`-th component (see [`components`]); the sinks come back
/// in that order, each with its component's rows in (minute, pool) order. Merging them by (minute, pool
/// index) gives the report's `timeseries` of [`run_with`], row for row.
pub fn run_streamed<S: MinuteSink>(
    scenario: &Scenario,
    seed: u64,
    replication: u64,
    limits: &Limits,
    make_sink: impl FnMut(usize) -> Result<S, SinkError>,
) -> Result<(RunReport, Vec<S>), RunError> {
    let mut sinks = (0..components(scenario).len()).map(make_sink).collect::<Result<Vec<S>, _>>().map_err(RunError::Output)?;
    let lent = sinks.iter_mut().map(|s| Some(s as &mut dyn MinuteSink)).collect();
    let report = run_parts(scenario, seed, replication, limits, lent)?;
    Ok((report, sinks))
}

/// Runs each component of `scenario` (with its sink, if any) and merges their results.
fn run_parts(
    scenario: &Scenario,
    seed: u64,
    replication: u64,
    limits: &Limits,
    sinks: Vec<Option<&mut dyn MinuteSink>>,
) -> Result<RunReport, RunError> {
    let parts = components(scenario);
    // Each component holds its share of the records: split evenly, so that whether a run stops does not
    // depend on how the threads interleave.
    let max_records = (limits.max_records / parts.len().max(1) as u64).max(1);
    // Components share nothing (no user, request, pool or policy), so each is a world of its own, run side
    // by side. They are always run apart, whatever the number of threads, so the result is the same on
    // one core or many: each component's events are a function of its own streams only.
    let mut worlds: Vec<(World, u64)> = parts
        .into_par_iter()
        .zip(sinks)
        .map(|(active, sink)| run_component(scenario, seed, replication, active, max_records, sink))
        .collect::<Result<_, _>>()?;
    let (mut world, mut events) = worlds.remove(0);
    for (other, e) in worlds {
        events += e;
        world.absorb(other);
    }
    let rows = world.summaries(scenario, events);
    let access = world.access_curves(scenario);
    let timeseries = world.minutes.take_rows();
    Ok(RunReport { summary: rows[0].clone(), rows, timeseries, access, events })
}

/// Runs the pools marked in `active` (one component) to the horizon, its minute rows going to `sink` if
/// there is one; returns the world and its events.
fn run_component<'s>(
    scenario: &Scenario,
    seed: u64,
    replication: u64,
    active: Vec<bool>,
    max_records: u64,
    sink: Option<&'s mut dyn MinuteSink>,
) -> Result<(World<'s>, u64), RunError> {
    let mut world = World::new(scenario, seed, replication, active, sink);
    world.max_records = max_records;
    let mut sched = Scheduler::new();
    for group in 0..world.groups.len() as u32 {
        if world.active_pools[world.groups[group as usize].platform as usize] {
            world.schedule_next_arrival(group, &mut sched);
        }
    }
    world.schedule_provisioning(&mut sched);
    world.schedule_attacks(&mut sched);
    world.schedule_classes(&mut sched);
    if world.warmup > SimTime::ZERO {
        sched.schedule_at(world.warmup, Event::WarmupEnd);
    }
    if MINUTE < SimDuration(world.horizon.as_micros()) {
        sched.schedule_at(SimTime::ZERO + MINUTE, Event::MinuteTick);
    }
    let horizon = world.horizon;
    match sched.run_until(&mut world, horizon) {
        Stop::Reached => {}
        Stop::Stalled { at } => return Err(world.stalled(scenario, at, &mut sched)),
        Stop::Halted => return Err(world.minutes.take_error().map_or_else(|| world.too_many_records(sched.now()), RunError::Output)),
    }
    world.close_minute(horizon);
    world.minutes.flush();
    if let Some(e) = world.minutes.take_error() {
        return Err(RunError::Output(e));
    }
    world.close_users();
    Ok((world, sched.events_processed()))
}
