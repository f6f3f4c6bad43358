//! The simulated system: cohorts that arrive, requests that queue for platform pools, and the closed set of
//! events that moves them.
//!
//! A textbook queue is the simplest case of this world: a cohort with Poisson arrivals sending one request per
//! person to one pool, with no retries. The world never touches the file system, polars or plotly: a run is
//! a pure function [`run`] from a validated [`Scenario`] and a seed to a [`RunReport`].

pub mod pool;
pub mod request;

use crate::engine::{ArrivalStream, DurationDist, Model, Scheduler, SimDuration, SimTime, StreamKey, StreamRng};
use crate::metrics::{time_average, DurationStats, MinuteRow, Summary};
use crate::scenario::Scenario;
use pool::{Admission, Pool};
use request::{Request, RequestRef, Requests, Stage};

/// Length of a timeseries bin.
pub const MINUTE: SimDuration = SimDuration::from_secs(60);

/// Everything that can happen. Small and `Copy`: events sit in the pending set by the million.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The next member of a cohort arrives.
    Arrival {
        /// Cohort index.
        cohort: u32,
    },
    /// A request finishes service in its pool.
    ServiceDone(RequestRef),
    /// A waiting request's patience runs out.
    PatienceExpired(RequestRef),
    /// The warm-up ends: time averages restart.
    WarmupEnd,
    /// A minute ends: the timeseries takes a row per platform.
    MinuteTick,
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The whole-run summary.
    pub summary: Summary,
    /// One row per simulated minute and platform.
    pub timeseries: Vec<MinuteRow>,
    /// Events handled.
    pub events: u64,
}

struct Cohort {
    arrivals: ArrivalStream,
    arrival_rng: StreamRng,
    patience: Option<DurationDist>,
    behaviour_rng: StreamRng,
    platform: u32,
}

/// The state of one run.
struct World {
    horizon: SimTime,
    warmup: SimTime,
    cohorts: Vec<Cohort>,
    pools: Vec<Pool>,
    platform_names: Vec<String>,
    requests: Requests,
    stats: RunStats,
    timeseries: Vec<MinuteRow>,
    minute_start: SimTime,
}

/// Whole-run counters over observed requests.
#[derive(Default)]
struct RunStats {
    arrivals: u64,
    served: u64,
    abandoned: u64,
    blocked: u64,
    waited: u64,
    /// Observed requests that started service (some may still be in service at the horizon).
    started: u64,
    waits: DurationStats,
    served_wait_us: u128,
    sojourn_us: u128,
}

impl World {
    fn new(scenario: &Scenario, seed: u64, replication: u64) -> World {
        let key = |label: String| StreamKey::new(seed, replication, &label).rng();
        let cohorts = scenario
            .cohorts
            .iter()
            .map(|c| Cohort {
                arrivals: ArrivalStream::new(c.arrivals.clone()),
                arrival_rng: key(format!("arrivals/{}", c.name)),
                patience: c.patience.clone(),
                behaviour_rng: key(format!("behaviour/{}", c.name)),
                platform: c.platform as u32,
            })
            .collect();
        let pools = scenario
            .platforms
            .iter()
            .map(|p| {
                let slots = p.pool.slots();
                let max_waiting = p.pool.max_in_system.map(|k| k - slots);
                Pool::new(slots, max_waiting, p.pool.service.clone(), key(format!("service/{}", p.name)))
            })
            .collect();
        World {
            horizon: scenario.horizon,
            warmup: scenario.warmup,
            cohorts,
            pools,
            platform_names: scenario.platforms.iter().map(|p| p.name.clone()).collect(),
            requests: Requests::default(),
            stats: RunStats { waits: DurationStats::new(), ..RunStats::default() },
            timeseries: Vec::new(),
            minute_start: SimTime::ZERO,
        }
    }

    /// Schedules the next arrival of `cohort`, if it falls within the horizon.
    fn schedule_next_arrival(&mut self, cohort: u32, sched: &mut Scheduler<Event>) {
        let c = &mut self.cohorts[cohort as usize];
        if let Some(t) = c.arrivals.next_arrival(&mut c.arrival_rng) {
            if t <= self.horizon {
                sched.schedule_at(t, Event::Arrival { cohort });
            }
        }
    }

    fn arrival(&mut self, cohort: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let observed = now >= self.warmup;
        let platform = self.cohorts[cohort as usize].platform;
        let request = Request { arrived: now, started: now, cohort, platform, stage: Stage::Waiting, observed };
        let r = self.requests.insert(request);
        let pool = &mut self.pools[platform as usize];
        pool.minute.arrivals += 1;
        if observed {
            self.stats.arrivals += 1;
        }
        match pool.offer(now, r) {
            Admission::Started => self.start_service(r, now, sched),
            Admission::Queued => {
                if observed {
                    self.stats.waited += 1;
                }
                let c = &mut self.cohorts[cohort as usize];
                if let Some(patience) = &c.patience {
                    let p = patience.sample(&mut c.behaviour_rng);
                    sched.schedule(p, Event::PatienceExpired(r));
                }
            }
            Admission::Blocked => {
                pool.minute.blocked += 1;
                if observed {
                    self.stats.blocked += 1;
                }
                self.requests.remove(r);
            }
        }
        self.schedule_next_arrival(cohort, sched);
    }

    /// Starts service of `r`, which has just been given a slot.
    fn start_service(&mut self, r: RequestRef, now: SimTime, sched: &mut Scheduler<Event>) {
        let req = self.requests.get_mut(r).expect("a request given a slot is live");
        req.stage = Stage::InService;
        req.started = now;
        let wait = now - req.arrived;
        let (observed, platform) = (req.observed, req.platform as usize);
        let pool = &mut self.pools[platform];
        pool.minute.started += 1;
        pool.minute_waits.record(wait);
        if observed {
            self.stats.waits.record(wait);
            self.stats.started += 1;
            self.stats.served_wait_us += u128::from(wait.as_micros());
        }
        let service = pool.service.sample(&mut pool.rng);
        sched.schedule(service, Event::ServiceDone(r));
    }

    fn service_done(&mut self, r: RequestRef, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let req = self.requests.remove(r).expect("a request in service is live until it completes");
        let pool = &mut self.pools[req.platform as usize];
        pool.minute.served += 1;
        if req.observed {
            self.stats.served += 1;
            self.stats.sojourn_us += u128::from((now - req.arrived).as_micros());
        }
        let requests = &self.requests;
        if let Some(next) = pool.release(now, |w| requests.get(w).is_some_and(|q| q.stage == Stage::Waiting)) {
            self.start_service(next, now, sched);
        }
    }

    fn patience_expired(&mut self, r: RequestRef, now: SimTime) {
        // Stale if the request was served (and its slot perhaps reused) before its patience ran out.
        let Some(req) = self.requests.get(r) else { return };
        if req.stage != Stage::Waiting {
            return;
        }
        let req = self.requests.remove(r).expect("checked live");
        let pool = &mut self.pools[req.platform as usize];
        pool.forget_waiting(now);
        pool.minute.abandoned += 1;
        let wait = now - req.arrived;
        pool.minute_waits.record(wait);
        if req.observed {
            self.stats.abandoned += 1;
            self.stats.waits.record(wait);
        }
    }

    fn warmup_end(&mut self, now: SimTime) {
        for pool in &mut self.pools {
            pool.warmup_mark = pool.areas_at(now);
        }
    }

    /// Closes the current minute at `now` (a tick, or the horizon for a partial last minute).
    fn close_minute(&mut self, now: SimTime) {
        let span = now - self.minute_start;
        if span == SimDuration::ZERO {
            return;
        }
        let minute = self.minute_start.as_micros() / MINUTE.as_micros();
        for (i, pool) in self.pools.iter_mut().enumerate() {
            let (busy_now, wait_now) = pool.areas_at(now);
            let (busy_area, wait_area) = (busy_now - pool.minute_mark.0, wait_now - pool.minute_mark.1);
            pool.minute_mark = (busy_now, wait_now);
            let max_waiting = pool.waiting.take_max();
            let mean_busy = time_average(busy_area, span);
            let counters = std::mem::take(&mut pool.minute);
            self.timeseries.push(MinuteRow {
                minute,
                t_s: self.minute_start.as_secs_f64(),
                platform: self.platform_names[i].clone(),
                arrivals: counters.arrivals,
                started: counters.started,
                served: counters.served,
                abandoned: counters.abandoned,
                blocked: counters.blocked,
                mean_queue_len: time_average(wait_area, span),
                max_queue_len: max_waiting,
                mean_busy_slots: mean_busy,
                slots: pool.slots,
                utilization: mean_busy / pool.slots as f64,
                mean_wait_s: pool.minute_waits.mean_s(),
                p95_wait_s: pool.minute_waits.quantile_s(0.95),
            });
            pool.minute_waits.reset();
        }
        self.minute_start = now;
    }

    fn summary(&self, scenario: &Scenario, events: u64) -> Summary {
        let now = self.horizon;
        let span = self.horizon - self.warmup;
        let (mut busy_area, mut wait_area, mut slots) = (0u128, 0u128, 0u64);
        for pool in &self.pools {
            let (busy, waiting) = pool.areas_at(now);
            busy_area += busy - pool.warmup_mark.0;
            wait_area += waiting - pool.warmup_mark.1;
            slots += pool.slots;
        }
        let in_system_end = self.requests.iter().filter(|r| r.observed).count() as u64;
        let s = &self.stats;
        let admitted = s.arrivals - s.blocked;
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let mean_busy = time_average(busy_area, span);
        let mean_queue = time_average(wait_area, span);
        Summary {
            scenario: scenario.name.clone(),
            platform: "all".into(),
            cohort: "all".into(),
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
            mean_queue_len: mean_queue,
            mean_in_system: mean_queue + mean_busy,
            utilization: if slots == 0 { 0.0 } else { mean_busy / slots as f64 },
            throughput_per_s: s.served as f64 / span.as_secs_f64(),
            events,
        }
    }
}

impl Model for World {
    type Event = Event;

    #[inline]
    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::Arrival { cohort } => self.arrival(cohort, sched),
            Event::ServiceDone(r) => self.service_done(r, sched),
            Event::PatienceExpired(r) => self.patience_expired(r, sched.now()),
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

/// Runs `scenario` with master seed `seed` and replication index `replication`.
///
/// Pure and deterministic: the same arguments give the same report, on any thread. Every random stream is
/// keyed by (seed, replication, purpose), so replication `r` of two different configurations sees the same
/// arrivals (common random numbers).
pub fn run(scenario: &Scenario, seed: u64, replication: u64) -> RunReport {
    let mut world = World::new(scenario, seed, replication);
    let mut sched = Scheduler::new();
    for cohort in 0..world.cohorts.len() as u32 {
        world.schedule_next_arrival(cohort, &mut sched);
    }
    if world.warmup > SimTime::ZERO {
        sched.schedule_at(world.warmup, Event::WarmupEnd);
    }
    if MINUTE < SimDuration(world.horizon.as_micros()) {
        sched.schedule_at(SimTime::ZERO + MINUTE, Event::MinuteTick);
    }
    let horizon = world.horizon;
    sched.run_until(&mut world, horizon);
    world.close_minute(world.horizon);
    let events = sched.events_processed();
    let summary = world.summary(scenario, events);
    RunReport { summary, timeseries: world.timeseries, events }
}
