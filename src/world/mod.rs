//! The simulated system: users who arrive, log in through admission policies and shared dependencies, read
//! pages, time out, retry and come back later; requests that queue for pools; and the closed set of events
//! that moves them.
//!
//! A textbook queue is the simplest case of this world: a cohort with no session, whose arrivals each send
//! one request to one pool with no client behind it. The world never touches the file system, polars or
//! plotly: a run is a pure function [`run`] from a validated [`Scenario`] and a seed to a [`RunReport`].
//!
//! This file holds the state of a run, in parts, and the one `match` (`World`'s `Model::handle`) that hands
//! each event to the part that owns it, lending it the others it needs:
//! - `Servers` (`server.rs`, and the attack's share in [`attack`] and [`fluid`]): pools and the requests
//!   in them, through front door, protection and routes;
//! - `Clients` (`client.rs`, and the class participants' share in [`classes`]): users, logins, pages,
//!   retries, coming back;
//! - `Shared`: what both sides read and write — the run's frame, the groups (counters and the behaviour
//!   stream both sides draw from, in an order the results depend on, which is why the two sides call each
//!   other directly rather than through a queue of outcomes) and the platforms, with their admission
//!   ([`admission`]: a pipeline answering a verdict);
//! - provisioning (`provision.rs`: each pool's timetable, autoscaler and incidents, acting on the pool it is
//!   lent, the autoscaler's decision a policy);
//! - the observer (`observer.rs`: minute rows, warm-up, summaries, read from every part).
//!
//! `build.rs` makes a world from a scenario and merges the worlds of a run's components.

pub mod admission;
pub mod attack;
pub mod budget;
mod build;
pub mod classes;
mod client;
pub mod event;
pub mod fluid;
pub mod guard;
pub mod ids;
mod observer;
pub mod platform;
pub mod pool;
mod provision;
pub mod request;
mod server;
pub mod sink;
pub mod slab;
pub mod stats;
pub mod user;

use crate::engine::{ArrivalStream, DurationDist, Model, Scheduler, SimDuration, SimTime, Stop, StreamRng};
use crate::metrics::{AccessPoint, MinuteRow, Summary};
use crate::policy::RetryBudget;
use crate::scenario::{Scenario, SessionSpec};
use ids::{GroupId, IdVec, PlatformId, PoolId};
use observer::Minutes;
use platform::Platform;
use pool::Pool;
use provision::PoolProvisioning;
use rayon::prelude::*;
use request::Request;
use slab::Slab;
use stats::GroupStats;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use user::User;

pub use build::components;
pub use event::{Event, PackedEvent};
pub use guard::{clear_interrupt, interrupt_requested, request_interrupt, Limits, RunError};
pub use sink::{MinuteSink, SinkError, FLUSH_ROWS};

/// Length of a timeseries bin.
pub const MINUTE: SimDuration = SimDuration::from_secs(60);

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
    platform: PlatformId,
    /// Arrivals of the cohort's share (`None` for class participants, who come at bells).
    arrivals: Option<ArrivalStream>,
    arrival_rng: StreamRng,
    behaviour_rng: StreamRng,
    /// Seeds of the service requirements of the requests this group sends, one draw per request.
    work_rng: StreamRng,
    patience: Option<DurationDist>,
    session: Option<SessionSpec>,
    budget: Option<RetryBudget>,
    /// Priority in backlogs and the waiting room (0 first), where the platform has priorities.
    priority: u8,
    slot_start: Option<SimTime>,
    stats: GroupStats,
}

/// The users' storage beyond which [`Model::prefetch_second`] is given: a core's L2 cache on the machines the
/// speed section measures (AMD EPYC, 1 MiB per core). Below it a user's record is found in cache anyway.
const SECOND_HINT_MIN_BYTES: usize = 1 << 20;

/// The cohort index of the groups of class participants: they follow a cohort's behaviour but are counted
/// in the class figures, not in the cohorts' rows.
const CLASS_GROUP: u32 = u32::MAX;

/// What every room reads and writes, lent to each by [`World`]'s `handle`: the frame of the run (horizon,
/// warm-up, which pools this world simulates, the seed its late streams derive from), the groups (whose
/// counters both sides write and whose behaviour stream both sides draw from, in an order a run's results
/// depend on) and the platforms (admission, front door, counters, attacks and classes).
struct Shared {
    horizon: SimTime,
    warmup: SimTime,
    clock_start_s: f64,
    /// Checkpoint instants of the "served by" metrics.
    checkpoints: [SimTime; 4],
    /// The pools (platforms first, then dependencies) this world simulates: those of one component of
    /// platforms that share nothing with the others (see [`components`]).
    active: IdVec<PoolId, bool>,
    /// Master seed and replication, for streams created during the run.
    seed: u64,
    replication: u64,
    groups: IdVec<GroupId, Group>,
    platforms: IdVec<PlatformId, Platform>,
}

/// The server side (`server.rs`, and the attacks' share of it in `attack.rs`): pools and the requests
/// in them.
struct Servers {
    /// Application pools (platform `p`'s is pool `p`, see [`PlatformId::pool`]) then dependency pools.
    pools: IdVec<PoolId, Pool>,
    requests: Slab<Request>,
}

/// The client side (`client.rs`, and the class participants' share of it in `classes.rs`): the users.
struct Clients {
    users: Slab<User>,
    /// The users' tokens, each given once (a user's event names its slot and a token, not a generation).
    tokens: user::Tokens,
    /// Groups of people from cohorts (the class participants' groups follow).
    user_groups: usize,
}

/// The state of one run, in parts that `handle` lends to each other; `'s` is the borrow of the sink its
/// minute rows stream to, if any.
struct World<'s> {
    shared: Shared,
    servers: Servers,
    clients: Clients,
    /// Provisioning of each pool (`provision.rs`), acting on the pool it is lent.
    provisioning: IdVec<PoolId, PoolProvisioning>,
    /// The minute rows, and the sink they stream to (`observer.rs`).
    minutes: Minutes<'s>,
    /// Users and requests this world may hold at once (see [`Limits`]).
    max_records: u64,
}

impl Model for World<'_> {
    type Event = PackedEvent;

    #[inline]
    fn prefetch(&self, next: &PackedEvent) {
        // Users and requests live in slabs of millions: their first touch is a cache miss.
        match Event::from(*next) {
            Event::Wake { slot, .. } | Event::SessionExpired { slot, .. } => self.clients.users.prefetch_slot(slot),
            Event::ServiceDone(r) | Event::Timeout(r) | Event::PatienceExpired(r) => self.servers.requests.prefetch_slot(r.slot),
            _ => {}
        }
    }

    #[inline]
    fn prefetch_second(&self, next: &PackedEvent) {
        // A request's completion or timeout goes on to its user, a second record among millions.
        if let Event::ServiceDone(r) | Event::Timeout(r) = Event::from(*next) {
            if let Some(u) = self.servers.requests.get(r).and_then(|req| req.user) {
                self.clients.users.prefetch_slot(u.slot);
            }
        }
    }

    #[inline]
    fn second_hint_pays(&self) -> bool {
        // Only a user's record is loaded by the second hint; while all of them fit in a core's L2 cache (a
        // textbook queue has none), the hint's look into the request costs more than it saves: 4% more
        // instructions on the M/M/c bench (callgrind).
        self.clients.users.storage_bytes() > SECOND_HINT_MIN_BYTES
    }

    #[inline]
    fn halted(&self) -> bool {
        self.clients.users.live() + self.servers.requests.live() > self.max_records || self.minutes.failed() || guard::interrupt_requested()
    }

    // Always inlined into the scheduler's loop, as it was before the loop gained its guards: left to the
    // inliner it became a call, 1.2% more instructions on the M/M/c bench (callgrind).
    #[inline(always)]
    fn handle(&mut self, event: PackedEvent, sched: &mut Scheduler<PackedEvent>) {
        let World { shared: sh, servers, clients, provisioning, .. } = self;
        match Event::from(event) {
            Event::Arrival { group } => clients.arrival(sh, servers, group, sched),
            Event::ServiceDone(r) => servers.service_done(sh, clients, r, sched),
            Event::PatienceExpired(r) => servers.patience_expired(sh, clients, r, sched),
            Event::Timeout(r) => servers.timeout(sh, clients, r, sched),
            Event::Wake { slot, token } => clients.wake(sh, servers, slot, token, sched),
            Event::SessionExpired { slot, token } => clients.session_expired(sh, servers, slot, token, sched),
            Event::RoomRelease { platform } => clients.room_release(sh, servers, platform, sched),
            Event::OrbitRetry { platform } => clients.orbit_retry(sh, servers, platform, sched),
            Event::TimetableStep { pool, step } => {
                let then = provisioning[pool].timetable_step(step, &mut servers.pools[pool], sched.now());
                servers.then(sh, then, pool, sched);
            }
            Event::Autoscale { pool } => provisioning[pool].autoscale(pool, &mut servers.pools[pool], sched),
            Event::BootDone { pool, ok } => {
                let then = PoolProvisioning::boot_done(&mut servers.pools[pool], ok, sched.now());
                servers.then(sh, then, pool, sched);
            }
            Event::Incident { pool, index, restore } => {
                let then = provisioning[pool].incident(pool, index, restore, &mut servers.pools[pool], sched);
                servers.then(sh, then, pool, sched);
            }
            Event::AttackStep { platform } => servers.attack_step(sh, platform, sched),
            Event::MitigationOn { platform } => servers.mitigation_on(sh, platform, sched),
            Event::AttackArrival { platform, attack, token } => servers.attack_arrival(sh, platform, attack, token, sched),
            Event::AttackHangup { platform } => Servers::attack_hangup(sh, platform, sched),
            Event::FluidHead { pool, token } => servers.fluid_head(sh, pool, token, sched),
            Event::ClassBell { platform, bell } => {
                sh.platforms[platform].classes.as_mut().expect("bells only for platforms with classes").bell(platform, bell, sched)
            }
            Event::ClassJoin { platform, class, teacher } => clients.class_join(sh, servers, platform, class, teacher, sched),
            Event::ClassJudge { platform, bell } => sh.platforms[platform].classes.as_mut().expect("classes").judge(bell),
            Event::ClassEnd { platform, bell } => sh.platforms[platform].classes.as_mut().expect("classes").end(bell),
            Event::WarmupEnd => self.warmup_end(sched.now()),
            Event::MinuteTick => {
                let now = sched.now();
                self.close_minute(now);
                self.minutes.progress(now, sched.events_processed());
                if now + MINUTE < self.shared.horizon {
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
    // A world holds no more than `event::RECORD_LIMIT` whatever the limits say: its events name a record's
    // slot in 27 bits.
    let max_records = (limits.max_records / parts.len().max(1) as u64).clamp(1, event::RECORD_LIMIT);
    // Components share nothing (no user, request, pool or policy), so each is a world of its own, run side
    // by side. They are always run apart, whatever the number of threads, so the result is the same on
    // one core or many: each component's events are a function of its own streams only.
    //
    // Which component runs when is a list schedule: the largest (by people expected) first, each thread
    // taking the next as it frees. With fewer threads than components, a component started late bounds
    // the run's wall time: the full-scale replay on 2 cores, components taken in name order, ran ENT then
    // Pronote on one thread (8.6 + 22.6 s) while Cned took 13 s on the other. The order changes when a
    // component runs, never what it computes; the worlds, and the first error if any, are taken in
    // component order.
    let people = build::expected_people(scenario, &parts);
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| people[b].total_cmp(&people[a]).then(a.cmp(&b)));
    let jobs: Vec<Mutex<Option<Component>>> = parts.into_iter().zip(sinks).map(|job| Mutex::new(Some(job))).collect();
    let done: Vec<Mutex<Option<Ran>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    (0..rayon::current_num_threads().clamp(1, order.len().max(1))).into_par_iter().for_each(|_| {
        while let Some(&k) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            let (active, sink) = jobs[k].lock().unwrap_or_else(PoisonError::into_inner).take().expect("each component runs once");
            let world = run_component(scenario, seed, replication, active, max_records, sink);
            *done[k].lock().unwrap_or_else(PoisonError::into_inner) = Some(world);
        }
    });
    let mut worlds: Vec<(World, u64)> = done
        .into_iter()
        .map(|world| world.into_inner().unwrap_or_else(PoisonError::into_inner).expect("every component ran"))
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

/// A component to run: the pools it simulates and the sink of its minute rows.
type Component<'s> = (Vec<bool>, Option<&'s mut dyn MinuteSink>);

/// A component's world and events once run, or why it stopped.
type Ran<'s> = Result<(World<'s>, u64), RunError>;

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
    let sh = &mut world.shared;
    for group in sh.groups.ids() {
        if sh.active[sh.groups[group].platform.pool()] {
            Clients::schedule_next_arrival(sh, group, &mut sched);
        }
    }
    for (pool, prov) in world.provisioning.iter_ids().filter(|(pool, _)| sh.active[*pool]) {
        prov.schedule(pool, &mut sched);
    }
    Servers::schedule_attacks(sh, &mut sched);
    Clients::schedule_classes(sh, &mut sched);
    if sh.warmup > SimTime::ZERO {
        sched.schedule_at(sh.warmup, Event::WarmupEnd);
    }
    if MINUTE < SimDuration(sh.horizon.as_micros()) {
        sched.schedule_at(SimTime::ZERO + MINUTE, Event::MinuteTick);
    }
    let horizon = sh.horizon;
    match sched.run_until(&mut world, horizon) {
        Stop::Reached => {}
        Stop::Stalled { at } => return Err(world.stalled(scenario, at, &mut sched)),
        Stop::Halted if guard::interrupt_requested() => return Err(RunError::Interrupted { clock: world.clock_label(sched.now()) }),
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
