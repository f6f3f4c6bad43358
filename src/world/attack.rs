//! Attack traffic and mitigation at a platform: the schedule of each botnet, protection engaging after its
//! detection delay, and the two ways of simulating the traffic (an aggregate fluid, or request by request).
//!
//! Aggregate: at every change of rate (a burst starting, a ramp step, protection engaging) the pool's
//! [`AttackFluid`](super::fluid::AttackFluid) gets the attack's new rate of work, and the front door its
//! new level of connections held by bots (rate × hold time, Little's law). The cost of a run no longer
//! depends on the size of the attack. Requests: every attack request is an event through the same pool
//! or front door as real ones, which is the reference the aggregate is checked against (`tests/suite/attack.rs`).

use super::fluid::AttackFluid;
use super::ids::{AttackId, Id, IdVec, PlatformId, PoolId};
use super::platform::Platform;
use super::pool::Admission;
use super::request::{Kind, Request, Stage};
use super::{Event, Servers, Shared};
use crate::engine::{Scheduler, SimDuration, SimTime, StreamRng};
use crate::metrics::Window;
use crate::scenario::{AttackModel, AttackSpec, AttackTier, MitigationSpec, PlatformSpec};
use rand::{Rng, RngCore};

crate::totals! {
    /// Attack counters, running totals from the start of the run (fractional in the aggregate model).
    pub struct AttackCounts {
        /// Attack requests sent by the botnets.
        pub sent: f64,
        /// Of those, dropped by the protection.
        pub mitigated: f64,
        /// Turned away by the tier (full backlog, connection cap).
        pub blocked: f64,
        /// Served by the pool or accepted by the front door.
        pub served: f64,
    }
}

/// The attacks on one platform and its protection.
#[derive(Debug)]
pub struct PlatformAttack {
    /// The botnets.
    pub attacks: Vec<AttackSpec>,
    /// The protection.
    pub mitigation: Option<MitigationSpec>,
    /// When protection engages.
    pub mitigation_at: Option<SimTime>,
    /// Whether protection is on.
    pub active: bool,
    /// How the traffic is simulated.
    pub model: AttackModel,
    /// Mean service time of a real page at the platform's pool, seconds (an attack's `cost` unit).
    pub page_s: f64,
    /// Front door: connections held by bots (a count, or the fluid level in the aggregate model).
    pub door_connections: f64,
    /// Front door, aggregate: bot connection attempts per second getting past protection.
    door_rate: f64,
    /// Front door, aggregate: mean hold time of those connections, seconds.
    door_hold_s: f64,
    /// Counters outside the pool (sent, mitigated, and the front door's blocked and served).
    pub counts: AttackCounts,
    /// Time the aggregate counters were last integrated to.
    last: SimTime,
    /// The current minute of the platform's counters (pool's included); its opening is also the reading
    /// at the last minute closed.
    pub minute: Window<AttackCounts>,
    /// Randomness of per-request attacks: arrivals, mitigation draws, work.
    rng: StreamRng,
}

impl PlatformAttack {
    /// The attack state of platform `spec`, or `None` if nothing attacks it.
    pub fn new(spec: &PlatformSpec, model: AttackModel, rng: StreamRng) -> Option<PlatformAttack> {
        if spec.attacks.is_empty() {
            return None;
        }
        Some(PlatformAttack {
            attacks: spec.attacks.clone(),
            mitigation: spec.mitigation,
            mitigation_at: spec.mitigation_at(),
            active: false,
            model,
            page_s: spec.pool.service.mean_s(),
            door_connections: 0.0,
            door_rate: 0.0,
            door_hold_s: 0.0,
            counts: AttackCounts::default(),
            last: SimTime::ZERO,
            minute: Window::default(),
            rng,
        })
    }

    /// Share of attack `a`'s traffic getting past protection now.
    fn passing(&self, a: &AttackSpec) -> f64 {
        match (self.active, self.mitigation) {
            (true, Some(m)) => m.passing_share(a.abroad_share),
            _ => 1.0,
        }
    }

    /// Every instant at which some attack's rate changes.
    fn breakpoints(&self) -> Vec<SimTime> {
        let mut t: Vec<SimTime> = self.attacks.iter().flat_map(|a| a.steps.iter().map(|s| s.0)).collect();
        t.sort_unstable();
        t.dedup();
        t
    }

    /// Integrates the aggregate counters outside the pool (sent, mitigated, front door) up to `now`, with
    /// `real_connections` real connections open and a connection cap of `cap`.
    fn integrate(&mut self, now: SimTime, real_connections: u64, cap: Option<u64>) {
        let dt = (now - self.last).as_secs_f64();
        let from = self.last;
        self.last = now;
        if dt <= 0.0 || self.model != AttackModel::Aggregate {
            return;
        }
        for a in &self.attacks {
            let rate = a.rate_at(from);
            self.counts.sent += rate * dt;
            self.counts.mitigated += rate * (1.0 - self.passing(a)) * dt;
        }
        if self.door_rate > 0.0 {
            // Bots hold what the real connections leave free; the rest of their attempts are refused.
            let room = cap.map_or(f64::INFINITY, |m| m.saturating_sub(real_connections) as f64);
            let accepted_rate = self.door_rate.min(room / self.door_hold_s);
            self.counts.served += accepted_rate * dt;
            self.counts.blocked += (self.door_rate - accepted_rate) * dt;
        }
    }

    /// Whether a real request finds a connection at a front door of `cap` with `real` connections open:
    /// Requests: a bot's connection at the front door closes.
    pub fn hangup(&mut self) {
        self.door_connections -= 1.0;
    }

    /// bots hold the rest, and a freed connection goes to the request only if no bot takes it first.
    pub fn door_admits(&mut self, real: u64, cap: u64) -> bool {
        if real >= cap {
            return false;
        }
        let room = (cap - real) as f64;
        match self.model {
            AttackModel::Requests => real as f64 + self.door_connections < cap as f64,
            AttackModel::Aggregate => {
                if real as f64 + self.door_connections < cap as f64 {
                    return true;
                }
                let share = room / self.door_connections;
                self.rng.random::<f64>() < share
            }
        }
    }
}

impl Servers {
    /// Schedules every platform's attack events: rate changes (aggregate) or first arrivals (requests), and
    /// the moment protection engages.
    pub(super) fn schedule_attacks(sh: &mut Shared, sched: &mut Scheduler<Event>) {
        for (platform, p) in sh.platforms.iter_ids_mut() {
            let Some(pa) = p.attack.as_mut().filter(|_| sh.active[platform.pool()]) else { continue };
            if let Some(t) = pa.mitigation_at {
                if t <= sh.horizon {
                    sched.schedule_at(t, Event::MitigationOn { platform });
                }
            }
            match pa.model {
                AttackModel::Aggregate => {
                    for t in pa.breakpoints() {
                        if t <= sh.horizon {
                            sched.schedule_at(t, Event::AttackStep { platform });
                        }
                    }
                }
                AttackModel::Requests => {
                    for k in 0..pa.attacks.len() {
                        let start = pa.attacks[k].start();
                        if let Some(t) = next_arrival(&pa.attacks[k], start, &mut pa.rng) {
                            if t <= sh.horizon {
                                sched.schedule_at(t, Event::AttackArrival { platform, attack: AttackId::from_index(k) });
                            }
                        }
                    }
                }
            }
        }
    }

    /// Aggregate: the attack's rates on `platform` change now (a step, or protection engaging).
    pub(super) fn attack_step(&mut self, sh: &mut Shared, platform: PlatformId, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let p = &sh.platforms[platform];
        let (connections, cap) = (p.connections, p.max_connections);
        let pa = sh.platforms[platform].attack.as_mut().expect("attack events only for attacked platforms");
        pa.integrate(now, connections, cap);
        if pa.model != AttackModel::Aggregate {
            return;
        }
        let (mut pool_rate, mut pool_work, mut door_rate, mut door_conns) = (0.0, 0.0, 0.0, 0.0);
        for a in &pa.attacks {
            let rate = a.rate_at(now) * pa.passing(a);
            match a.tier {
                AttackTier::Pool { cost } => {
                    pool_rate += rate;
                    pool_work += rate * cost * pa.page_s;
                }
                AttackTier::FrontDoor { hold } => {
                    door_rate += rate;
                    door_conns += rate * hold.as_secs_f64();
                }
            }
        }
        pa.door_rate = door_rate;
        pa.door_hold_s = if door_rate > 0.0 { door_conns / door_rate } else { 0.0 };
        pa.door_connections = door_conns;
        let pool = &mut self.pools[platform.pool()];
        if pool_rate > 0.0 || pool.fluid.is_some() {
            pool.sync(now);
            let work = if pool_rate > 0.0 { pool_work / pool_rate } else { 0.0 };
            if pool.fluid.is_none() {
                let rng = crate::engine::StreamKey::new(sh.seed, sh.replication, &format!("attack-admission/{}", pool.name)).rng();
                pool.fluid = Some((AttackFluid::default(), rng));
                pool.sync(now);
            }
            pool.fluid.as_mut().expect("just set").0.set_rate(pool_rate, work);
            self.reschedule_head(platform.pool(), sched);
        }
    }

    /// Protection engages on `platform`.
    pub(super) fn mitigation_on(&mut self, sh: &mut Shared, platform: PlatformId, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let p = &sh.platforms[platform];
        let (connections, cap) = (p.connections, p.max_connections);
        let pa = sh.platforms[platform].attack.as_mut().expect("attacked platform");
        pa.integrate(now, connections, cap);
        pa.active = true;
        if pa.model == AttackModel::Aggregate {
            self.attack_step(sh, platform, sched);
        }
    }

    /// Requests: attack `attack` on `platform` sends a request.
    pub(super) fn attack_arrival(&mut self, sh: &mut Shared, platform: PlatformId, attack: AttackId, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let p = &mut sh.platforms[platform];
        let pa = p.attack.as_mut().expect("attacked platform");
        let spec = &pa.attacks[attack.index()];
        let tier = spec.tier;
        pa.counts.sent += 1.0;
        let mut dropped = false;
        if let (true, Some(m)) = (pa.active, pa.mitigation) {
            let abroad = pa.rng.random::<f64>() < spec.abroad_share;
            let caught = pa.rng.random::<f64>() < m.blocked_share;
            dropped = caught || (m.geo_filter && abroad);
        }
        let next = next_arrival(spec, now, &mut pa.rng);
        let work_seed = pa.rng.next_u64();
        if let Some(t) = next {
            if t <= sh.horizon {
                sched.schedule_at(t, Event::AttackArrival { platform, attack });
            }
        }
        if dropped {
            pa.counts.mitigated += 1.0;
            return;
        }
        match tier {
            AttackTier::FrontDoor { hold } => {
                let cap = p.max_connections.expect("validated: front-door attacks need a cap");
                if p.connections as f64 + pa.door_connections >= cap as f64 {
                    pa.counts.blocked += 1.0;
                } else {
                    pa.door_connections += 1.0;
                    pa.counts.served += 1.0;
                    sched.schedule(hold, Event::AttackHangup { platform });
                }
            }
            AttackTier::Pool { .. } => {
                // The attack claims no priority: it waits behind everyone.
                let priority = if p.priority_pool { 7 } else { 0 };
                let r = self.requests.insert(Request {
                    arrived: now,
                    since: now,
                    work_seed,
                    waited_us: 0,
                    user: None,
                    sender: attack.0,
                    platform,
                    pool: platform.pool(),
                    hop: 0,
                    hops: 1,
                    priority,
                    kind: Kind::Attack,
                    stage: Stage::Waiting,
                    observed: false,
                    orphaned: false,
                    unarmed: false,
                });
                match self.admit(r, platform.pool(), priority, sched) {
                    Admission::Started => self.start_service(sh, r, sched),
                    Admission::Queued => {}
                    Admission::Blocked => {
                        self.requests.remove(r);
                        sh.platforms[platform].attack.as_mut().expect("attacked platform").counts.blocked += 1.0;
                    }
                }
            }
        }
    }

    /// Aggregate: schedules the moment the first real request waiting behind attack work in `pool` may
    /// start, replacing any earlier such event.
    pub(super) fn reschedule_head(&mut self, pool: PoolId, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let requests = &self.requests;
        let p = &mut self.pools[pool];
        if p.fluid.is_none() {
            return;
        }
        let at = p.head_ready_at(now, |w| requests.get(w).is_some_and(|q| q.stage == Stage::Waiting));
        let f = &mut p.fluid.as_mut().expect("checked").0;
        match (at, f.pending_at) {
            // The pending event comes first: when it fires it looks again (a later start only wastes a check).
            (Some(t), Some(pending)) if pending <= t && pending >= now => {}
            (Some(t), _) => {
                f.token = f.token.wrapping_add(1);
                f.pending_at = Some(t);
                sched.schedule_at(t, Event::FluidHead { pool, token: f.token });
            }
            (None, _) => {}
        }
    }

    /// Aggregate: the work ahead of `pool`'s first waiting request has drained: it takes a slot.
    pub(super) fn fluid_head(&mut self, sh: &mut Shared, pool: PoolId, token: u32, sched: &mut Scheduler<Event>) {
        let Some((f, _)) = self.pools[pool].fluid.as_mut() else { return };
        if f.token != token {
            return;
        }
        f.pending_at = None;
        self.fill(sh, pool, sched);
    }

    /// The attack counters of `platform` up to `now` (those outside the pool plus the pool's fluid or
    /// per-request counts).
    pub(super) fn attack_counts(
        &self,
        platforms: &mut IdVec<PlatformId, Platform>,
        platform: PlatformId,
        now: SimTime,
    ) -> Option<AttackCounts> {
        let p = &platforms[platform];
        let (connections, cap) = (p.connections, p.max_connections);
        let pa = platforms[platform].attack.as_mut()?;
        pa.integrate(now, connections, cap);
        let mut c = pa.counts;
        if let Some((f, _)) = &self.pools[platform.pool()].fluid {
            c.blocked += f.blocked;
            c.served += f.served;
        }
        Some(c)
    }
}

/// The next request of `attack` after `from`, for a Poisson process at its piecewise-constant rate.
fn next_arrival(attack: &AttackSpec, from: SimTime, rng: &mut StreamRng) -> Option<SimTime> {
    let mut need: f64 = -(1.0 - rng.random::<f64>()).ln();
    let mut t = from;
    let steps = &attack.steps;
    let mut i = steps.partition_point(|s| s.0 <= t);
    loop {
        let rate = if i == 0 { 0.0 } else { steps[i - 1].1 };
        let end = steps.get(i).map(|s| s.0);
        let span = end.map_or(f64::INFINITY, |e| (e - t).as_secs_f64());
        if rate > 0.0 && rate * span >= need {
            return Some(t + SimDuration::from_secs_f64(need / rate));
        }
        if rate > 0.0 {
            need -= rate * span;
        }
        t = end?;
        i += 1;
    }
}
