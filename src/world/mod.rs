//! The simulated system: users who arrive, log in through admission policies and shared dependencies, read
//! pages, time out, retry and come back later; requests that queue for pools; and the closed set of events
//! that moves them.
//!
//! A textbook queue is the simplest case of this world: a cohort with no session, whose arrivals each send
//! one request to one pool with no client behind it. The world never touches the file system, polars or
//! plotly: a run is a pure function [`run`] from a validated [`Scenario`] and a seed to a [`RunReport`].

pub mod attack;
pub mod budget;
pub mod classes;
pub mod fluid;
pub mod guard;
pub mod platform;
pub mod pool;
pub mod request;
pub mod sink;
pub mod slab;
pub mod stats;
pub mod user;

use crate::engine::{ArrivalProcess, ArrivalStream, DurationDist, Model, Scheduler, SimDuration, SimTime, Stop, StreamKey, StreamRng};
use crate::metrics::{time_average, AccessPoint, MinuteRow, Summary};
use crate::policy::RetryBudget;
use crate::scenario::{Incident, Provisioning, ScaleMetric, Scenario, SessionSpec};
use platform::Platform;
use pool::{Admission, Pool};
use rand::RngCore;
use rayon::prelude::*;
use request::{Kind, Request, Stage};
use slab::{Ref, Slab};
use stats::{GroupStats, CHECKPOINTS};
use user::{User, UserStage};

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

impl Group {
    /// The group `label` (its streams' name) of `cohort` (an index, or [`CLASS_GROUP`]) with the behaviour of
    /// cohort spec `c`, on platform `pi` (spec `p`); `key` makes a stream from a label.
    #[allow(clippy::too_many_arguments)]
    fn new(
        label: &str,
        cohort: u32,
        c: &crate::scenario::CohortSpec,
        pi: usize,
        p: &crate::scenario::PlatformSpec,
        arrivals: Option<ArrivalStream>,
        slot_start: Option<SimTime>,
        key: &dyn Fn(String) -> StreamRng,
    ) -> Group {
        Group {
            cohort,
            platform: pi as u32,
            arrivals,
            arrival_rng: key(format!("arrivals/{label}")),
            behaviour_rng: key(format!("behaviour/{label}")),
            work_rng: key(format!("work/{label}")),
            patience: c.patience.clone(),
            session: c.session.clone(),
            budget: c.session.as_ref().and_then(|s| s.retry_budget).map(|r| RetryBudget::new(r, 60)),
            class: if p.admission.priority { c.priority.min(7) as u8 } else { 0 },
            slot_start,
            stats: GroupStats::default(),
        }
    }
}

/// The most users whose storage is reserved up front (4 GiB of address space at 64 bytes each).
const MAX_RESERVED_USERS: usize = 1 << 26;

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
    /// Timeseries rows, each with the index of its pool: all of them, or those not yet handed to `sink`.
    timeseries: Vec<(u32, MinuteRow)>,
    /// Where the rows stream to, [`FLUSH_ROWS`] at a time (`None`: they stay in `timeseries`).
    sink: Option<&'s mut dyn MinuteSink>,
    /// Why the sink failed; the run halts at the next check.
    sink_error: Option<SinkError>,
    minute_start: SimTime,
    /// The pools (platforms first, then dependencies) this world simulates: those of one component of
    /// platforms that share nothing with the others (see [`components`]).
    active_pools: Vec<bool>,
    /// Provisioning and incidents of each pool (same index as `pools`).
    provisioning: Vec<(Provisioning, Vec<Incident>)>,
    /// Randomness of boots (delays, failures), one stream per pool.
    boot_rngs: Vec<StreamRng>,
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

/// A share of an arrival process: each member of the cohort uses the platform with probability `share`.
fn share_of(process: &ArrivalProcess, share: f64) -> ArrivalProcess {
    if share >= 1.0 {
        return process.clone();
    }
    match process {
        ArrivalProcess::Poisson { mean_gap_s } => ArrivalProcess::Poisson { mean_gap_s: mean_gap_s / share },
        ArrivalProcess::Profile(p) => ArrivalProcess::Profile(p.scaled(share)),
        ArrivalProcess::Population { count, shape } => {
            ArrivalProcess::Population { count: ((*count as f64) * share).round() as u64, shape: shape.clone() }
        }
    }
}

impl<'s> World<'s> {
    fn new(scenario: &Scenario, seed: u64, replication: u64, active_pools: Vec<bool>, sink: Option<&'s mut dyn MinuteSink>) -> World<'s> {
        let key = |label: String| StreamKey::new(seed, replication, &label).rng();
        let horizon_s = scenario.horizon.as_secs_f64();
        let mut groups = Vec::new();
        // People this world may see: the storage of users is reserved for them all (see `Slab`).
        let mut expected_users = 0.0;
        for (ci, c) in scenario.cohorts.iter().enumerate() {
            for &(pi, share) in &c.platforms {
                let p = &scenario.platforms[pi];
                let process = share_of(&c.arrivals, share);
                if active_pools[pi] && c.session.is_some() {
                    expected_users += process.expected_count(horizon_s);
                }
                // A cohort on a single platform keeps the stream names of a textbook queue.
                let label = if c.platforms.len() == 1 { c.name.clone() } else { format!("{}/{}", c.name, p.name) };
                let arrivals = Some(ArrivalStream::new(process));
                let slot_start = p.admission.slots.get(ci).copied().flatten();
                groups.push(Group::new(&label, ci as u32, c, pi, p, arrivals, slot_start, &key));
            }
        }
        // The participants of each platform's virtual classes: a group of teachers and one of pupils, with
        // the behaviour of the cohorts the file names.
        let user_groups = groups.len();
        let mut classes = Vec::new();
        for (pi, p) in scenario.platforms.iter().enumerate() {
            let Some(spec) = &p.classes else {
                classes.push(None);
                continue;
            };
            if active_pools[pi] {
                expected_users += spec.bells.iter().map(|&(_, classes)| classes as f64 * (1.0 + spec.pupils_mean)).sum::<f64>();
            }
            let first = groups.len() as u32;
            for (role, ci) in [("teachers", spec.teachers), ("pupils", spec.pupils_cohort)] {
                let c = &scenario.cohorts[ci];
                let label = format!("classes/{}/{role}", p.name);
                groups.push(Group::new(&label, CLASS_GROUP, c, pi, p, None, None, &key));
            }
            classes.push(Some(classes::Classes::new(spec.clone(), first, first + 1, key(format!("classes/{}", p.name)))));
        }
        // Application pools (one per platform, same index), then the shared dependencies.
        let any_priority = scenario.platforms.iter().any(|p| p.admission.priority);
        let make_pool = |name: &str, spec: &crate::scenario::PoolSpec, classes: usize| {
            Pool::new(
                name.to_owned(),
                u64::from(spec.servers),
                u64::from(spec.workers_per_server),
                spec.max_in_system.map(|k| k - spec.slots()),
                spec.service.clone(),
                spec.overload,
                classes,
            )
        };
        let class_count = |priority: bool| if priority { 8 } else { 1 };
        let pools: Vec<Pool> = scenario
            .platforms
            .iter()
            .map(|p| make_pool(&p.name, &p.pool, class_count(p.admission.priority)))
            .chain(scenario.dependencies.iter().map(|d| make_pool(&d.name, &d.pool, class_count(any_priority))))
            .collect();
        let n_platforms = scenario.platforms.len() as u32;
        let platforms = scenario
            .platforms
            .iter()
            .enumerate()
            .map(|(i, p)| Platform::new(p, i as u32, n_platforms, key(format!("admission/{}", p.name))))
            .collect();
        let provisioning: Vec<(Provisioning, Vec<Incident>)> = scenario
            .platforms
            .iter()
            .map(|p| &p.pool)
            .chain(scenario.dependencies.iter().map(|d| &d.pool))
            .map(|p| (p.provisioning.clone(), p.incidents.clone()))
            .collect();
        let boot_rngs = pools.iter().map(|p| key(format!("provisioning/{}", p.name))).collect();
        let attacks = scenario
            .platforms
            .iter()
            .map(|p| attack::PlatformAttack::new(p, scenario.attack_model, key(format!("attack/{}", p.name))))
            .collect();
        let flag_rngs = scenario.platforms.iter().map(|p| p.mitigation.map(|_| key(format!("mitigation/{}", p.name)))).collect();
        let checkpoints = CHECKPOINTS.map(|(h, m)| SimTime::from_secs_f64(scenario.clock_offset_s(h, m).max(0.0)));
        World {
            horizon: scenario.horizon,
            warmup: scenario.warmup,
            clock_start_s: scenario.clock_start_s,
            checkpoints,
            groups,
            platforms,
            pools,
            requests: Slab::default(),
            // At worst all of them are alive at once; a Poisson count above its mean just grows the slab.
            users: Slab::with_capacity(expected_users.min(MAX_RESERVED_USERS as f64) as usize),
            timeseries: Vec::new(),
            sink,
            sink_error: None,
            minute_start: SimTime::ZERO,
            active_pools,
            provisioning,
            boot_rngs,
            attacks,
            flag_rngs,
            classes,
            user_groups,
            seed,
            replication,
            max_records: u64::MAX,
        }
    }

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
        pool.scaler.wait_us += u128::from(wait.as_micros());
        pool.scaler.starts += 1;
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

    /// Tries to log in: the admission pipeline of the user's platform.
    fn try_login(&mut self, u: Ref, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let user = *self.users.get(u).expect("alive");
        let g = &self.groups[user.group as usize];
        let (platform, class) = (g.platform as usize, g.class);
        if let Some(slot) = g.slot_start {
            if now < slot {
                // "Your class connects at 9:00": come back at the slot, with no return counted.
                self.wake_user(u, slot - now, UserStage::Away, sched);
                return;
            }
        }
        self.count_return(u);
        let p = &mut self.platforms[platform];
        if let Some(bucket) = &mut p.bucket {
            if !bucket.try_take(now) {
                p.minute.logins_rejected += 1;
                self.count_rejection(u);
                self.go_away(u, sched);
                return;
            }
        }
        if let Some(room) = &mut p.room {
            let user = self.users.get_mut(u).expect("alive");
            user.stage = UserStage::InRoom;
            user.token = user.token.wrapping_add(1);
            room.join(now, (u, user.token), usize::from(class));
            let token = user.token;
            if !p.room_event_pending {
                if let Some(t) = room.next_release_at(now) {
                    p.room_event_pending = true;
                    sched.schedule_at(t, Event::RoomRelease { platform: platform as u32 });
                }
            }
            let g = &mut self.groups[user.group as usize];
            if let Some(patience) = g.session.as_ref().and_then(|s| s.room_patience.as_ref()) {
                let d = patience.sample(&mut g.behaviour_rng);
                sched.schedule(d, Event::Wake { user: u, token });
            }
            return;
        }
        self.pass_quota(u, sched);
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

    /// After the waiting room (or without one): the session quota, then the login request.
    fn pass_quota(&mut self, u: Ref, sched: &mut Scheduler<Event>) {
        let user = self.users.get(u).expect("alive");
        let platform = self.groups[user.group as usize].platform as usize;
        let p = &mut self.platforms[platform];
        let mut in_quota = false;
        if let Some(quota) = &mut p.quota {
            if !quota.try_admit() {
                // "When the maximum number of users is reached, you must wait your turn… come back later."
                p.minute.logins_rejected += 1;
                self.count_rejection(u);
                self.go_away(u, sched);
                return;
            }
            in_quota = true;
        }
        let user = self.users.get_mut(u).expect("alive");
        user.in_quota = in_quota;
        user.next = Kind::Login;
        user.attempt = 1;
        let now = sched.now();
        if let Some(b) = &mut self.groups[user.group as usize].budget {
            b.record_first_attempt(now);
        }
        self.send_user_request(u, sched);
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
                let class = usize::from(self.groups[user.group as usize].class);
                let platform = self.groups[user.group as usize].platform as usize;
                if let Some(room) = &mut self.platforms[platform].room {
                    room.leave(class);
                }
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
            if let Some(q) = &mut p.quota {
                q.release();
            }
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

    fn room_release(&mut self, platform: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let p = &mut self.platforms[platform as usize];
        p.room_event_pending = false;
        let users = &self.users;
        let room = p.room.as_mut().expect("release events only for platforms with a room");
        let admitted =
            room.release(now, &mut p.rng, |(u, token)| users.get(u).is_some_and(|x| x.stage == UserStage::InRoom && x.token == token));
        if let Some(t) = room.next_release_at(now) {
            p.room_event_pending = true;
            sched.schedule_at(t, Event::RoomRelease { platform });
        }
        if let Some((u, _)) = admitted {
            let user = self.users.get_mut(u).expect("live in the room");
            // Invalidate the room-patience timer.
            user.token = user.token.wrapping_add(1);
            user.stage = UserStage::Requesting;
            self.pass_quota(u, sched);
        }
    }

    // ------------------------------------------------------------------ provisioning

    /// Schedules the timetable, autoscaler and incidents of every pool.
    fn schedule_provisioning(&mut self, sched: &mut Scheduler<Event>) {
        for (i, (prov, incidents)) in self.provisioning.iter().enumerate().filter(|(i, _)| self.active_pools[*i]) {
            let pool = i as u32;
            match prov {
                Provisioning::Static => {}
                Provisioning::Scheduled(steps) => {
                    for (k, (t, _)) in steps.iter().enumerate() {
                        sched.schedule_at(*t, Event::TimetableStep { pool, step: k as u32 });
                    }
                }
                Provisioning::Autoscale(a) => sched.schedule(a.window, Event::Autoscale { pool }),
            }
            for (k, inc) in incidents.iter().enumerate() {
                sched.schedule_at(inc.at, Event::Incident { pool, index: k as u32, restore: false });
            }
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

    fn timetable_step(&mut self, pool: u32, step: u32, sched: &mut Scheduler<Event>) {
        let Provisioning::Scheduled(steps) = &self.provisioning[pool as usize].0 else {
            return;
        };
        let servers = u64::from(steps[step as usize].1);
        let p = &mut self.pools[pool as usize];
        p.set_servers(sched.now(), servers, p.booting);
        self.fill(pool, sched);
    }

    fn autoscale(&mut self, pool: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let Provisioning::Autoscale(a) = &self.provisioning[pool as usize].0 else {
            return;
        };
        let p = &mut self.pools[pool as usize];
        p.sync(now);
        let (busy, waiting) = p.areas_at(now);
        let slots_area = p.slots_tw.area_at(now);
        let (b0, w0, s0) = p.scaler.marks;
        let span_us = a.window.as_micros().max(1) as f64;
        let value = match a.metric {
            ScaleMetric::Utilization => {
                let s = (slots_area - s0) as f64;
                if s > 0.0 {
                    (busy - b0) as f64 / s
                } else {
                    1.0
                }
            }
            ScaleMetric::Backlog => (waiting - w0) as f64 / span_us / (p.slots.max(1) as f64),
            ScaleMetric::Latency => {
                if p.scaler.starts == 0 {
                    // Nothing started: either idle (no latency) or stuck (all slots busy for the window).
                    if p.waiting_len() > 0 {
                        f64::INFINITY
                    } else {
                        0.0
                    }
                } else {
                    p.scaler.wait_us as f64 / p.scaler.starts as f64 / 1e6
                }
            }
        };
        p.scaler.marks = (busy, waiting, slots_area);
        p.scaler.wait_us = 0;
        p.scaler.starts = 0;
        let cooled = p.scaler.last_action.is_none_or(|t| now >= t + a.cooldown);
        if cooled {
            let running = p.ready + p.booting;
            if value > a.target {
                // Scale out, within max and the provider's quota on servers running or booting.
                let room = u64::from(a.max.min(a.provider_quota)).saturating_sub(running);
                let add = u64::from(a.step).min(room);
                if add > 0 {
                    p.set_servers(now, p.ready, p.booting + add);
                    p.scaler.last_action = Some(now);
                    let rng = &mut self.boot_rngs[pool as usize];
                    for _ in 0..add {
                        let delay = a.boot_delay.sample(rng);
                        let ok = rand::Rng::random::<f64>(rng) >= a.boot_failure_share;
                        sched.schedule(delay, Event::BootDone { pool, ok });
                    }
                }
            } else if value < a.target / 2.0 && p.ready > u64::from(a.min) {
                let remove = u64::from(a.step).min(p.ready - u64::from(a.min));
                p.set_servers(now, p.ready - remove, p.booting);
                p.scaler.last_action = Some(now);
            }
        }
        sched.schedule(a.window, Event::Autoscale { pool });
    }

    fn boot_done(&mut self, pool: u32, ok: bool, sched: &mut Scheduler<Event>) {
        let p = &mut self.pools[pool as usize];
        let ready = if ok { p.ready + 1 } else { p.ready };
        p.set_servers(sched.now(), ready, p.booting - 1);
        if ok {
            self.fill(pool, sched);
        }
    }

    fn incident(&mut self, pool: u32, index: u32, restore: bool, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let inc = &self.provisioning[pool as usize].1[index as usize];
        let (servers, duration) = (u64::from(inc.servers), inc.duration);
        let p = &mut self.pools[pool as usize];
        if restore {
            p.set_servers(now, p.ready + servers, p.booting);
            self.fill(pool, sched);
        } else {
            p.set_servers(now, p.ready.saturating_sub(servers), p.booting);
            if let Some(d) = duration {
                sched.schedule(d, Event::Incident { pool, index, restore: true });
            }
        }
    }

    // ------------------------------------------------------------------ statistics

    fn warmup_end(&mut self, now: SimTime) {
        for pool in &mut self.pools {
            pool.sync(now);
            pool.warmup_mark = pool.areas_at(now);
            pool.warmup_provisioned = pool.provisioned.area_at(now);
            pool.warmup_slots = pool.slots_tw.area_at(now);
        }
    }

    fn clock_label(&self, t: SimTime) -> String {
        let s = (self.clock_start_s + t.as_secs_f64()).round() as u64;
        format!("{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60)
    }

    /// Closes the current minute at `now` (a tick, or the horizon for a partial last minute).
    fn close_minute(&mut self, now: SimTime) {
        let span = now - self.minute_start;
        if span == SimDuration::ZERO {
            return;
        }
        let minute = self.minute_start.as_micros() / MINUTE.as_micros();
        let clock = self.clock_label(self.minute_start);
        let n_platforms = self.platforms.len();
        let attack_minutes: Vec<Option<attack::AttackCounts>> = (0..n_platforms)
            .map(|i| {
                if !self.active_pools[i] {
                    return None;
                }
                let c = self.attack_counts(i, now)?;
                let pa = self.attacks[i].as_mut().expect("counted");
                let minute = c.since(&pa.minute_mark);
                pa.minute_mark = c;
                Some(minute)
            })
            .collect();
        for (i, pool) in self.pools.iter_mut().enumerate() {
            if !self.active_pools[i] {
                continue;
            }
            pool.sync(now);
            let (busy_now, wait_now) = pool.areas_at(now);
            let (busy_area, wait_area) = (busy_now - pool.minute_mark.0, wait_now - pool.minute_mark.1);
            pool.minute_mark = (busy_now, wait_now);
            let max_waiting = pool.waiting.take_max();
            let mean_busy = time_average(busy_area, span);
            let provisioned_now = pool.provisioned.area_at(now);
            let server_hours = (provisioned_now - pool.minute_provisioned) as f64 / 3.6e9;
            pool.minute_provisioned = provisioned_now;
            let slots_now = pool.slots_tw.area_at(now);
            let mean_slots = time_average(slots_now - pool.minute_slots, span);
            pool.minute_slots = slots_now;
            let counters = std::mem::take(&mut pool.minute);
            let attack_busy_area_s = pool.fluid.as_ref().map_or(0.0, |(f, _)| f.busy_area_s);
            let mut row = MinuteRow {
                minute,
                t_s: self.minute_start.as_secs_f64(),
                clock: clock.clone(),
                platform: pool.name.clone(),
                tier: if i < n_platforms { "platform".into() } else { "dependency".into() },
                arrivals: counters.arrivals,
                started: counters.started,
                served: counters.served,
                abandoned: counters.abandoned,
                blocked: counters.blocked,
                mean_queue_len: time_average(wait_area, span),
                max_queue_len: max_waiting,
                mean_busy_slots: mean_busy,
                slots: pool.slots,
                utilization: if mean_slots > 0.0 { mean_busy / mean_slots } else { f64::from(u8::from(mean_busy > 0.0)) },
                servers_ready: pool.ready,
                servers_booting: pool.booting,
                server_hours,
                capacity_per_min: mean_slots * 60.0 / pool.service.mean_s(),
                mean_wait_s: pool.minute_waits.mean_s(),
                p95_wait_s: pool.minute_waits.quantile_s(0.95),
                wasted_work_s: counters.wasted_us as f64 / 1e6,
                ..MinuteRow::default()
            };
            pool.minute_waits.reset();
            if let Some(p) = self.platforms.get_mut(i) {
                let m = std::mem::take(&mut p.minute);
                row.users_arrived = m.users_arrived;
                row.attempts = m.attempts;
                row.goodput = m.goodput;
                row.logins_ok = m.logins_ok;
                row.logins_rejected = m.logins_rejected;
                row.logins_failed = m.logins_failed;
                row.timeouts = m.timeouts;
                row.refused = m.refused;
                row.throttled = m.throttled;
                row.gave_up = m.gave_up;
                row.active_sessions = p.active_sessions;
                row.waiting_room_len = p.room.as_ref().map_or(0, |r| r.live_len());
                row.p50_latency_s = p.minute_latencies.quantile_s(0.50);
                row.p95_latency_s = p.minute_latencies.quantile_s(0.95);
                row.p99_latency_s = p.minute_latencies.quantile_s(0.99);
                p.minute_latencies.reset();
                row.mitigated_requests = m.mitigated_real;
                p.mitigated_total += m.mitigated_real;
                if let Some(a) = attack_minutes[i] {
                    row.attack_sent = a.sent;
                    row.attack_mitigated = a.mitigated;
                    row.attack_blocked = a.blocked;
                    row.attack_served = a.served;
                    row.mitigation_on = u64::from(self.attacks[i].as_ref().is_some_and(|a| a.active));
                }
                if let Some(c) = self.classes[i].as_mut() {
                    let minute = c.counts.since(&c.minute_mark);
                    c.minute_mark = c.counts;
                    row.classes_started = minute.planned;
                    row.classes_held = minute.held;
                    row.classes_degraded = minute.degraded;
                    row.classes_lost = minute.lost;
                    (row.media_rooms_busy, row.media_participants) = c.media_load();
                }
                row.attack_busy_slots = (attack_busy_area_s - pool.minute_attack_area_s) / span.as_secs_f64();
                pool.minute_attack_area_s = attack_busy_area_s;
            }
            self.timeseries.push((i as u32, row));
        }
        self.minute_start = now;
        if self.timeseries.len() >= FLUSH_ROWS {
            self.flush_rows();
        }
    }

    /// Hands the buffered rows to the sink, if there is one (and it has not failed).
    fn flush_rows(&mut self) {
        let Some(sink) = self.sink.as_mut() else { return };
        if self.sink_error.is_none() {
            if let Err(e) = sink.take(&self.timeseries) {
                self.sink_error = Some(e);
            }
        }
        self.timeseries.clear();
    }

    /// Users still around at the horizon who never got in lost the whole rest of the morning.
    fn close_users(&mut self) {
        for r in self.requests.iter().filter(|r| r.observed && r.kind != Kind::Attack) {
            self.groups[r.group as usize].stats.in_system_end += 1;
        }
        for user in self.users.iter() {
            if user.arrived >= self.warmup {
                let s = &mut self.groups[user.group as usize].stats;
                s.active_end += 1;
                if !user.accessed {
                    s.lost_us += u128::from((self.horizon - user.arrived).as_micros());
                }
            }
        }
    }

    /// One summary row over `groups` (stats) and `pools` (time averages).
    fn summary_row(&self, scenario: &Scenario, platform: &str, cohort: &str, groups: &[usize], pools: &[usize], events: u64) -> Summary {
        let now = self.horizon;
        let span = self.horizon - self.warmup;
        let mut s = GroupStats::default();
        for &g in groups {
            s.merge(&self.groups[g].stats);
        }
        let (mut busy_area, mut wait_area, mut slots_area, mut provisioned_area) = (0u128, 0u128, 0u128, 0u128);
        for &i in pools {
            let pool = &self.pools[i];
            let (busy, waiting) = pool.areas_at(now);
            busy_area += busy - pool.warmup_mark.0;
            wait_area += waiting - pool.warmup_mark.1;
            slots_area += pool.slots_tw.area_at(now) - pool.warmup_slots;
            provisioned_area += pool.provisioned.area_at(now) - pool.warmup_provisioned;
        }
        let in_system_end = s.in_system_end;
        let admitted = s.arrivals - s.blocked;
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let mean_busy = time_average(busy_area, span);
        let mean_queue = time_average(wait_area, span);
        let nan_if_no_pool = |x: f64| if pools.is_empty() { f64::NAN } else { x };
        let share_by = |k: usize| ratio(s.accessed_by[k], s.users);
        // Attacks and classes belong to platforms: the platforms among `pools`.
        let mut attack = attack::AttackCounts::default();
        let mut mitigated_requests = 0;
        for &i in pools.iter().filter(|&&i| i < self.platforms.len()) {
            if let Some(a) = &self.attacks[i] {
                let c = a.minute_mark;
                attack.sent += c.sent;
                attack.mitigated += c.mitigated;
                attack.blocked += c.blocked;
                attack.served += c.served;
            }
            mitigated_requests += self.platforms[i].mitigated_total;
        }
        let classes = self.class_totals(pools);
        Summary {
            scenario: scenario.name.clone(),
            platform: platform.into(),
            cohort: cohort.into(),
            observed_s: span.as_secs_f64(),
            arrivals: s.arrivals,
            served: s.served,
            abandoned: s.abandoned,
            blocked: s.blocked,
            in_system_end,
            p_block: ratio(s.blocked, s.arrivals),
            p_wait: ratio(s.waited, admitted),
            p_abandon: ratio(s.abandoned, admitted),
            mean_wait_s: s.waits.mean_s(),
            p50_wait_s: s.waits.quantile_s(0.50),
            p95_wait_s: s.waits.quantile_s(0.95),
            p99_wait_s: s.waits.quantile_s(0.99),
            max_wait_s: s.waits.max_s(),
            mean_wait_served_s: if s.started == 0 { 0.0 } else { s.served_wait_us as f64 / s.started as f64 / 1e6 },
            mean_sojourn_s: if s.served == 0 { 0.0 } else { s.sojourn_us as f64 / s.served as f64 / 1e6 },
            mean_queue_len: nan_if_no_pool(mean_queue),
            mean_in_system: nan_if_no_pool(mean_queue + mean_busy),
            utilization: nan_if_no_pool(if slots_area == 0 { 0.0 } else { busy_area as f64 / slots_area as f64 }),
            server_hours: nan_if_no_pool(provisioned_area as f64 / 3.6e9),
            throughput_per_s: s.served as f64 / span.as_secs_f64(),
            users: s.users,
            accessed: s.accessed,
            completed: s.completed,
            gave_up: s.gave_up,
            users_active_end: s.active_end,
            sessions: s.sessions,
            rejected: s.rejected,
            kicked: s.kicked,
            re_rejection_share: ratio(s.rejected_again, s.returns_after_rejection),
            timeouts: s.timeouts,
            throttled: s.throttled,
            p50_time_to_access_s: s.access_times.quantile_s(0.50),
            p95_time_to_access_s: s.access_times.quantile_s(0.95),
            served_share_by_0830: share_by(0),
            served_share_by_0900: share_by(1),
            served_share_by_1000: share_by(2),
            served_share_by_1200: share_by(3),
            amplification: ratio(s.arrivals + s.throttled, s.sessions),
            lost_learning_min: s.lost_us as f64 / 60e6,
            wasted_work_s: s.wasted_us as f64 / 1e6,
            attack_sent: attack.sent,
            attack_mitigated: attack.mitigated,
            attack_blocked: attack.blocked,
            attack_served: attack.served,
            mitigated_users: s.mitigated_users,
            mitigated_requests,
            classes_planned: classes.planned,
            classes_held: classes.held,
            classes_degraded: classes.degraded,
            classes_lost: classes.lost,
            class_participants: classes.participants,
            events,
        }
    }

    /// The time-to-first-access curve of each cohort (and of everyone), in percent steps of those who got in.
    fn access_curves(&self, scenario: &Scenario) -> Vec<AccessPoint> {
        let mut out = Vec::new();
        let mut curve = |name: &str, groups: Vec<usize>| {
            let mut s = GroupStats::default();
            for g in groups {
                s.merge(&self.groups[g].stats);
            }
            if s.users == 0 || s.accessed == 0 {
                return;
            }
            let got_in = s.accessed as f64 / s.users as f64;
            for k in 0..=100 {
                let q = f64::from(k) / 100.0;
                out.push(AccessPoint { cohort: name.to_owned(), share: q * got_in, time_to_access_s: s.access_times.quantile_s(q) });
            }
        };
        curve("all", (0..self.user_groups).collect());
        for (ci, c) in scenario.cohorts.iter().enumerate() {
            curve(&c.name, (0..self.user_groups).filter(|&g| self.groups[g].cohort as usize == ci).collect());
        }
        out
    }

    fn summaries(&self, scenario: &Scenario, events: u64) -> Vec<Summary> {
        // People from cohorts; class participants are counted in the class figures instead.
        let all_groups: Vec<usize> = (0..self.user_groups).collect();
        // The whole system includes the shared dependencies: their servers are part of its cost.
        let all_pools: Vec<usize> = (0..self.pools.len()).collect();
        let mut rows = vec![self.summary_row(scenario, "all", "all", &all_groups, &all_pools, events)];
        if self.platforms.len() > 1 {
            for (pi, p) in scenario.platforms.iter().enumerate() {
                let groups: Vec<usize> = all_groups.iter().copied().filter(|&g| self.groups[g].platform as usize == pi).collect();
                rows.push(self.summary_row(scenario, &p.name, "all", &groups, &[pi], events));
            }
        }
        if scenario.cohorts.len() > 1 {
            for (ci, c) in scenario.cohorts.iter().enumerate() {
                let groups: Vec<usize> = all_groups.iter().copied().filter(|&g| self.groups[g].cohort as usize == ci).collect();
                rows.push(self.summary_row(scenario, "all", &c.name, &groups, &[], events));
            }
        }
        rows
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
        self.users.live() + self.requests.live() > self.max_records || self.sink_error.is_some()
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
            Event::TimetableStep { pool, step } => self.timetable_step(pool, step, sched),
            Event::Autoscale { pool } => self.autoscale(pool, sched),
            Event::BootDone { pool, ok } => self.boot_done(pool, ok, sched),
            Event::Incident { pool, index, restore } => self.incident(pool, index, restore, sched),
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
    world.timeseries.sort_by_key(|(pool, row)| (row.minute, *pool));
    let rows = world.summaries(scenario, events);
    let access = world.access_curves(scenario);
    let timeseries = std::mem::take(&mut world.timeseries).into_iter().map(|(_, row)| row).collect();
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
        Stop::Halted => return Err(world.sink_error.take().map_or_else(|| world.too_many_records(sched.now()), RunError::Output)),
    }
    world.close_minute(horizon);
    world.flush_rows();
    if let Some(e) = world.sink_error.take() {
        return Err(RunError::Output(e));
    }
    world.close_users();
    Ok((world, sched.events_processed()))
}

impl World<'_> {
    /// The diagnosis of a clock stuck at `at`: the kinds of the next few thousand events (all at that
    /// instant, since the loop goes on) and the scenario's settings that can close such a loop.
    fn stalled(&mut self, scenario: &Scenario, at: SimTime, sched: &mut Scheduler<Event>) -> RunError {
        let mut counts: Vec<(&'static str, u64)> = Vec::new();
        for _ in 0..4096 {
            let mut kind = "";
            if sched.step_observed(self, |e| kind = guard::kind_name(e)).is_none() {
                break;
            }
            match counts.iter_mut().find(|c| c.0 == kind) {
                Some(c) => c.1 += 1,
                None => counts.push((kind, 1)),
            }
        }
        RunError::Stalled {
            clock: guard::clock_text(self.clock_start_s, at),
            events: crate::engine::STALL_EVENTS,
            kinds: guard::kinds_text(&counts),
            cause: guard::zero_length_loops(scenario),
        }
    }

    /// The diagnosis of a world that outgrew its records at `now`: where the requests pile up.
    fn too_many_records(&self, now: SimTime) -> RunError {
        let busiest =
            self.pools.iter().enumerate().filter(|(i, _)| self.active_pools[*i]).max_by_key(|(_, p)| p.waiting_len()).map(|(_, p)| p);
        let cause = match busiest {
            Some(p) if p.waiting_len() > 0 => format!(
                "the largest backlog is pool {:?} with {} requests waiting{}; bound it (max_in_system, patience), shorten the \
                 horizon, lower --scale, or raise --max-memory",
                p.name,
                p.waiting_len(),
                if p.max_waiting.is_none() { " and no backlog limit" } else { "" }
            ),
            _ => "too many people around at once; lower --scale or the population, shorten the \
                 horizon, or raise --max-memory"
                .into(),
        };
        RunError::TooManyRecords {
            clock: guard::clock_text(self.clock_start_s, now),
            users: self.users.live(),
            requests: self.requests.live(),
            limit: self.max_records,
            limit_mib: self.max_records * guard::RECORD_BYTES / (1 << 20),
            cause,
        }
    }
}

/// The platforms that share nothing, as sets of active pools (platform pools first, then dependencies):
/// two platforms are in one component when a login dependency links them. In name order of their first
/// platform, so the decomposition depends on the scenario only.
pub fn components(scenario: &Scenario) -> Vec<Vec<bool>> {
    let n = scenario.platforms.len();
    let pools = n + scenario.dependencies.len();
    // Union-find over pools: a platform joins each dependency it logs in through.
    let mut parent: Vec<usize> = (0..pools).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, p) in scenario.platforms.iter().enumerate() {
        for &d in &p.login_via {
            let (a, b) = (root(&mut parent, i), root(&mut parent, n + d));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut roots: Vec<usize> = Vec::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        if !roots.contains(&r) {
            roots.push(r);
        }
    }
    roots
        .iter()
        .map(|&r| {
            let mut active: Vec<bool> = (0..pools).map(|i| root(&mut parent, i) == r).collect();
            // A dependency no platform uses belongs to the first component (its servers still cost).
            if r == roots[0] {
                for (j, a) in active.iter_mut().enumerate().skip(n) {
                    if (0..n).all(|i| root(&mut parent, i) != root(&mut parent, j)) {
                        *a = true;
                    }
                }
            }
            active
        })
        .collect()
}

impl World<'_> {
    /// Takes over the state of `other`, a world that simulated other pools of the same scenario: its
    /// groups, pools, platforms, attacks, classes and timeseries rows.
    fn absorb(&mut self, other: World<'_>) {
        let World { groups, platforms, pools, attacks, classes, timeseries, active_pools, .. } = other;
        for (g, group) in groups.into_iter().enumerate() {
            if active_pools[group.platform as usize] {
                self.groups[g] = group;
            }
        }
        for (i, ((platform, attack), class)) in platforms.into_iter().zip(attacks).zip(classes).enumerate() {
            if active_pools[i] {
                self.platforms[i] = platform;
                self.attacks[i] = attack;
                self.classes[i] = class;
            }
        }
        for (i, pool) in pools.into_iter().enumerate() {
            if active_pools[i] {
                self.pools[i] = pool;
                self.active_pools[i] = true;
            }
        }
        self.timeseries.extend(timeseries);
    }
}
