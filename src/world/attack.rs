//! Attack traffic and mitigation at a platform: the schedule of each botnet, protection engaging after its
//! detection delay, and the three ways of simulating the traffic.
//!
//! Requests: every attack request is an event through the same pool or front door as real ones, and
//! protection draws for each whether it is caught. The reference the others are checked against
//! (`tests/suite/attack.rs`), at a cost proportional to the attack's size.
//!
//! Hybrid (the default): the same requests, but only those that can change something are drawn.
//! 1. Protection thins the botnet's Poisson stream into two independent ones, the caught and the
//!    passing; the caught are only counted (their expected number), the passing are drawn one by one.
//! 2. A passing request that finds its tier full (backlog at its limit, every connection held) is turned
//!    away and changes nothing. So once one has been refused, or one has taken the tier's last place,
//!    the tier's attack stream is *parked*: the
//!    requests it would send are counted as refused (their expected number) and not drawn, until an
//!    event of the tier makes room (a slot or a connection freed, a request leaving the backlog). Then
//!    the next arrival is drawn afresh from that instant, which the Poisson stream's lack of memory
//!    makes exact: the requests admitted, and so everything real requests see, have the law of the
//!    requests model. What is drawn is bounded by what the tier admits, hence by its capacity.
//! 3. A pool whose backlog is deep or unbounded would still admit every attack request. Once it holds
//!    [`HYBRID_QUEUE_SLOTS`] attack requests per slot one by one, the pool's stream is parked into the
//!    fluid instead: further attack work waits as an [`AttackFluid`] behind those requests, and the
//!    stream resumes one by one when half of them have left. A real request behind that fluid waits for
//!    the work of thousands of attack requests, a sum the law of large numbers makes nearly certain.
//!
//! Aggregate: at every change of rate (a burst starting, a ramp step, protection engaging) the pool's
//! [`AttackFluid`] gets the attack's new rate of work, and the front door its
//! new level of connections held by bots (rate × hold time, Little's law). Cost independent of the
//! attack's size, and right in heavy overload only: it drops the attack's own randomness.

use super::fluid::AttackFluid;
use super::ids::{AttackId, Id, IdVec, PlatformId, PoolId};
use super::platform::Platform;
use super::pool::{Admission, ATTACK_PRIORITY};
use super::request::{Kind, Request, Stage};
use super::{Event, PackedEvent, Servers, Shared};
use crate::engine::{Scheduler, SimDuration, SimTime, StreamRng};
use crate::metrics::Window;
use crate::scenario::{AttackModel, AttackSpec, AttackTier, MitigationSpec, PlatformSpec, HYBRID_QUEUE_SLOTS};
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

/// Why a tier's attack stream is parked in the hybrid model (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Park {
    /// The tier is full: what the stream would send is turned away.
    Full,
    /// The pool's backlog holds its share of attack requests: what the stream sends waits as a fluid.
    Fluid,
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
    /// Per attack, the generation of its pending arrival (hybrid: parking or protection engaging makes
    /// the pending one stale).
    tokens: Vec<u32>,
    /// Hybrid: why the pool attacks are parked, if they are.
    pool_park: Option<Park>,
    /// Hybrid: whether the front-door attacks are parked (every connection was held).
    door_parked: bool,
    /// Attack requests waiting one by one in the pool's backlog.
    pub pool_waiting: u64,
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
            tokens: vec![0; spec.attacks.len()],
            pool_park: None,
            door_parked: false,
            pool_waiting: 0,
        })
    }

    /// Whether attack `a` lands on the front door (rather than the pool).
    fn at_door(a: &AttackSpec) -> bool {
        matches!(a.tier, AttackTier::FrontDoor { .. })
    }

    /// Hybrid: why the stream of attack `a`'s tier is parked, if it is.
    fn parked(&self, a: &AttackSpec) -> Option<Park> {
        if Self::at_door(a) {
            self.door_parked.then_some(Park::Full)
        } else {
            self.pool_park
        }
    }

    /// The attacks on the pool: their passing rate now (requests per second) and its work rate
    /// (slot-seconds per second).
    fn pool_rates(&self, now: SimTime) -> (f64, f64) {
        let (mut rate, mut work) = (0.0, 0.0);
        for a in &self.attacks {
            if let AttackTier::Pool { cost } = a.tier {
                let r = a.rate_at(now) * self.passing(a);
                rate += r;
                work += r * cost * self.page_s;
            }
        }
        (rate, work)
    }

    /// Hybrid: draws the next passing arrival of every attack on the door (`door`) or on the pool, from
    /// `now`, and schedules it under a fresh token (any pending one goes stale).
    fn draw_tier(&mut self, platform: PlatformId, door: bool, horizon: SimTime, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        for k in 0..self.attacks.len() {
            if Self::at_door(&self.attacks[k]) != door {
                continue;
            }
            self.tokens[k] = self.tokens[k].wrapping_add(1);
            let share = self.passing(&self.attacks[k]);
            if let Some(t) = next_arrival(&self.attacks[k], now, share, &mut self.rng) {
                if t <= horizon {
                    sched.schedule_at(t, Event::AttackArrival { platform, attack: AttackId::from_index(k), token: self.tokens[k] });
                }
            }
        }
    }

    /// Hybrid: makes the pending arrivals of the door's (`door`) or the pool's attacks stale.
    fn cancel_tier(&mut self, door: bool) {
        for k in 0..self.attacks.len() {
            if Self::at_door(&self.attacks[k]) == door {
                self.tokens[k] = self.tokens[k].wrapping_add(1);
            }
        }
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
        if dt <= 0.0 || self.model == AttackModel::Requests {
            return;
        }
        if self.model == AttackModel::Hybrid {
            // The caught requests are only counted; so are the passing ones of a parked tier: turned away
            // (full), or counted by the pool's fluid, which they join.
            for a in &self.attacks {
                let rate = a.rate_at(from);
                let pass = self.passing(a);
                let caught = rate * (1.0 - pass) * dt;
                self.counts.sent += caught;
                self.counts.mitigated += caught;
                match self.parked(a) {
                    Some(Park::Full) => {
                        self.counts.sent += rate * pass * dt;
                        self.counts.blocked += rate * pass * dt;
                    }
                    Some(Park::Fluid) => self.counts.sent += rate * pass * dt,
                    None => {}
                }
            }
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
    /// bots hold the rest, and (aggregate) a freed connection goes to the request only if no bot takes it
    /// first.
    pub fn door_admits(&mut self, real: u64, cap: u64) -> bool {
        if real >= cap {
            return false;
        }
        let room = (cap - real) as f64;
        match self.model {
            AttackModel::Requests | AttackModel::Hybrid => real as f64 + self.door_connections < cap as f64,
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
    pub(super) fn schedule_attacks(sh: &mut Shared, sched: &mut Scheduler<PackedEvent>) {
        for (platform, p) in sh.platforms.iter_ids_mut() {
            let Some(pa) = p.attack.as_mut().filter(|_| sh.active[platform.pool()]) else { continue };
            if let Some(t) = pa.mitigation_at {
                if t <= sh.horizon {
                    sched.schedule_at(t, Event::MitigationOn { platform });
                }
            }
            if pa.model != AttackModel::Requests {
                // The aggregate model changes its fluid's rates there; the hybrid one counts what it does
                // not draw at the rate in force, so it must hear of every change.
                for t in pa.breakpoints() {
                    if t <= sh.horizon {
                        sched.schedule_at(t, Event::AttackStep { platform });
                    }
                }
            }
            if pa.model != AttackModel::Aggregate {
                for k in 0..pa.attacks.len() {
                    let start = pa.attacks[k].start();
                    // Protection is off at the start: every request passes (it redraws when it engages).
                    if let Some(t) = next_arrival(&pa.attacks[k], start, 1.0, &mut pa.rng) {
                        if t <= sh.horizon {
                            sched.schedule_at(t, Event::AttackArrival { platform, attack: AttackId::from_index(k), token: 0 });
                        }
                    }
                }
            }
        }
    }

    /// Aggregate: the attack's rates on `platform` change now (a step, or protection engaging).
    pub(super) fn attack_step(&mut self, sh: &mut Shared, platform: PlatformId, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let p = &sh.platforms[platform];
        let (connections, cap) = (p.connections, p.max_connections);
        let pa = sh.platforms[platform].attack.as_mut().expect("attack events only for attacked platforms");
        pa.integrate(now, connections, cap);
        if pa.model == AttackModel::Hybrid {
            if pa.pool_park == Some(Park::Fluid) {
                self.feed_fluid(sh, platform, sched);
            }
            return;
        }
        if pa.model != AttackModel::Aggregate {
            return;
        }
        let (pool_rate, pool_work) = pa.pool_rates(now);
        let (mut door_rate, mut door_conns) = (0.0, 0.0);
        for a in &pa.attacks {
            if let AttackTier::FrontDoor { hold } = a.tier {
                let rate = a.rate_at(now) * pa.passing(a);
                door_rate += rate;
                door_conns += rate * hold.as_secs_f64();
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
                pool.fluid = Some(new_fluid(sh, &pool.name));
                pool.sync(now);
            }
            pool.fluid.as_mut().expect("just set").0.set_rate(pool_rate, work);
            self.reschedule_head(platform.pool(), sched);
        }
    }

    /// Protection engages on `platform`.
    pub(super) fn mitigation_on(&mut self, sh: &mut Shared, platform: PlatformId, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let p = &sh.platforms[platform];
        let (connections, cap) = (p.connections, p.max_connections);
        let pa = sh.platforms[platform].attack.as_mut().expect("attacked platform");
        pa.integrate(now, connections, cap);
        pa.active = true;
        match pa.model {
            AttackModel::Aggregate => self.attack_step(sh, platform, sched),
            AttackModel::Hybrid => {
                // The passing streams thin out: the pending arrivals were drawn at the old rate.
                let horizon = sh.horizon;
                if !pa.door_parked {
                    pa.draw_tier(platform, true, horizon, sched);
                }
                match pa.pool_park {
                    None => pa.draw_tier(platform, false, horizon, sched),
                    Some(Park::Fluid) => self.feed_fluid(sh, platform, sched),
                    Some(Park::Full) => {}
                }
            }
            AttackModel::Requests => {}
        }
    }

    /// Hybrid: sets the pool's fluid inflow to the pool attacks' passing work while their stream is parked
    /// into it, and to nothing otherwise (creating the fluid the first time).
    fn feed_fluid(&mut self, sh: &mut Shared, platform: PlatformId, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let pa = sh.platforms[platform].attack.as_ref().expect("attacked platform");
        let (rate, work) = if pa.pool_park == Some(Park::Fluid) { pa.pool_rates(now) } else { (0.0, 0.0) };
        let pool = &mut self.pools[platform.pool()];
        if pool.fluid.is_none() {
            pool.fluid = Some(new_fluid(sh, &pool.name));
        }
        pool.sync(now);
        let work_s = if rate > 0.0 { work / rate } else { 0.0 };
        pool.fluid.as_mut().expect("just set").0.set_rate(rate, work_s);
        self.reschedule_head(platform.pool(), sched);
    }

    /// Hybrid: parks the pool's attack stream (`why`) after one of its requests was turned away or the
    /// backlog reached its share of attack requests.
    fn park_pool(&mut self, sh: &mut Shared, platform: PlatformId, why: Park, sched: &mut Scheduler<PackedEvent>) {
        let p = &mut sh.platforms[platform];
        let (connections, cap) = (p.connections, p.max_connections);
        let pa = p.attack.as_mut().expect("attacked platform");
        pa.integrate(sched.now(), connections, cap);
        pa.pool_park = Some(why);
        pa.cancel_tier(false);
        if why == Park::Fluid {
            self.feed_fluid(sh, platform, sched);
        }
    }

    /// Hybrid: after an event of `pool` that may have made room (a slot freed, a request gone from the
    /// backlog, slots added), lets its parked attack stream send again if there is room now.
    #[inline]
    pub(super) fn attack_room(&mut self, sh: &mut Shared, pool: PoolId, sched: &mut Scheduler<PackedEvent>) {
        let Some(platform) = pool.platform(sh.platforms.len()) else { return };
        let p = &mut sh.platforms[platform];
        let Some(pa) = p.attack.as_mut() else { return };
        let Some(why) = pa.pool_park else { return };
        let room = match why {
            Park::Full => self.pools[pool].has_room(),
            Park::Fluid => pa.pool_waiting < attack_queue_limit(self.pools[pool].slots()) / 2,
        };
        if !room {
            return;
        }
        let (connections, cap) = (p.connections, p.max_connections);
        pa.integrate(sched.now(), connections, cap);
        pa.pool_park = None;
        pa.draw_tier(platform, false, sh.horizon, sched);
        if why == Park::Fluid {
            self.feed_fluid(sh, platform, sched);
        }
    }

    /// A bot's connection at the front door of `platform` closes.
    pub(super) fn attack_hangup(sh: &mut Shared, platform: PlatformId, sched: &mut Scheduler<PackedEvent>) {
        sh.platforms[platform].attack.as_mut().expect("attacked platform").door_connections -= 1.0;
        Self::door_room(sh, platform, sched);
    }

    /// Hybrid: after a connection at the front door of `platform` closed, lets its parked attack stream
    /// send again if a connection is free now.
    #[inline]
    pub(super) fn door_room(sh: &mut Shared, platform: PlatformId, sched: &mut Scheduler<PackedEvent>) {
        let p = &mut sh.platforms[platform];
        let Some(pa) = p.attack.as_mut() else { return };
        if !pa.door_parked {
            return;
        }
        let cap = p.max_connections.expect("validated: front-door attacks need a cap");
        if p.connections as f64 + pa.door_connections >= cap as f64 {
            return;
        }
        pa.integrate(sched.now(), p.connections, Some(cap));
        pa.door_parked = false;
        pa.draw_tier(platform, true, sh.horizon, sched);
    }

    /// Requests and hybrid: attack `attack` on `platform` sends a request (in the hybrid model, one that
    /// protection let pass), if `token` is still its pending arrival's.
    pub(super) fn attack_arrival(
        &mut self,
        sh: &mut Shared,
        platform: PlatformId,
        attack: AttackId,
        token: u32,
        sched: &mut Scheduler<PackedEvent>,
    ) {
        let now = sched.now();
        let p = &mut sh.platforms[platform];
        let pa = p.attack.as_mut().expect("attacked platform");
        if pa.tokens[attack.index()] != token {
            return;
        }
        let hybrid = pa.model == AttackModel::Hybrid;
        let spec = &pa.attacks[attack.index()];
        let tier = spec.tier;
        pa.counts.sent += 1.0;
        let mut dropped = false;
        if let (false, true, Some(m)) = (hybrid, pa.active, pa.mitigation) {
            let abroad = pa.rng.random::<f64>() < spec.abroad_share;
            let caught = pa.rng.random::<f64>() < m.blocked_share;
            dropped = caught || (m.geo_filter && abroad);
        }
        // The hybrid model draws the passing stream only, at the passing rate.
        let share = if hybrid { pa.passing(spec) } else { 1.0 };
        let next = next_arrival(spec, now, share, &mut pa.rng).filter(|&t| t <= sh.horizon);
        let work_seed = pa.rng.next_u64();
        // The hybrid model schedules the next arrival once it knows this one did not park the tier: a
        // parked stream's pending arrival would only be a stale event.
        let later = if hybrid { next } else { None };
        if let (false, Some(t)) = (hybrid, next) {
            sched.schedule_at(t, Event::AttackArrival { platform, attack, token });
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
                    if hybrid {
                        // Full: what the door's attacks send is refused until a connection closes.
                        pa.integrate(now, p.connections, Some(cap));
                        pa.door_parked = true;
                        pa.cancel_tier(true);
                    }
                } else {
                    pa.door_connections += 1.0;
                    pa.counts.served += 1.0;
                    sched.schedule(hold, Event::AttackHangup { platform });
                    if hybrid && p.connections as f64 + pa.door_connections >= cap as f64 {
                        // It took the last connection: park now rather than at the next one's refusal.
                        pa.integrate(now, p.connections, Some(cap));
                        pa.door_parked = true;
                        pa.cancel_tier(true);
                    }
                }
            }
            AttackTier::Pool { .. } => {
                // The attack claims no priority: it waits behind everyone.
                let priority = if p.priority_pool { ATTACK_PRIORITY } else { 0 };
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
                let pool = platform.pool();
                match self.admit(r, pool, priority, sched) {
                    Admission::Started => {
                        // Counted as waiting for no time: `start_service` takes it off.
                        sh.platforms[platform].attack.as_mut().expect("attacked platform").pool_waiting += 1;
                        self.start_service(sh, r, sched);
                        if hybrid && !self.pools[pool].has_room() {
                            self.park_pool(sh, platform, Park::Full, sched);
                        }
                    }
                    Admission::Queued => {
                        let pa = sh.platforms[platform].attack.as_mut().expect("attacked platform");
                        pa.pool_waiting += 1;
                        if hybrid && pa.pool_waiting >= attack_queue_limit(self.pools[pool].slots()) {
                            self.park_pool(sh, platform, Park::Fluid, sched);
                        } else if hybrid && !self.pools[pool].has_room() {
                            // It took the last place: the next one would be turned away. Parking now
                            // rather than at that refusal spares drawing it, and changes no law.
                            self.park_pool(sh, platform, Park::Full, sched);
                        }
                    }
                    Admission::Blocked => {
                        self.requests.remove(r);
                        sh.platforms[platform].attack.as_mut().expect("attacked platform").counts.blocked += 1.0;
                        if hybrid {
                            self.park_pool(sh, platform, Park::Full, sched);
                        }
                    }
                }
            }
        }
        if let Some(t) = later {
            let pa = sh.platforms[platform].attack.as_ref().expect("attacked platform");
            if pa.parked(&pa.attacks[attack.index()]).is_none() {
                sched.schedule_at(t, Event::AttackArrival { platform, attack, token });
            }
        }
    }

    /// Aggregate: schedules the moment the first real request waiting behind attack work in `pool` may
    /// start, replacing any earlier such event.
    pub(super) fn reschedule_head(&mut self, pool: PoolId, sched: &mut Scheduler<PackedEvent>) {
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
    pub(super) fn fluid_head(&mut self, sh: &mut Shared, pool: PoolId, token: u32, sched: &mut Scheduler<PackedEvent>) {
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

/// A pool's attack fluid, empty, with the stream of its admission draws (keyed by the pool's name).
fn new_fluid(sh: &Shared, pool: &str) -> (AttackFluid, StreamRng) {
    (AttackFluid::default(), crate::engine::StreamKey::new(sh.seed, sh.replication, &format!("attack-admission/{pool}")).rng())
}

/// Attack requests a pool of `slots` holds one by one in its backlog in the hybrid model.
fn attack_queue_limit(slots: u64) -> u64 {
    HYBRID_QUEUE_SLOTS * slots.max(8)
}

/// The next request of `attack` after `from`, for a Poisson process at its piecewise-constant rate times
/// `share` (the share protection lets pass, in the hybrid model; 1 for the whole stream).
fn next_arrival(attack: &AttackSpec, from: SimTime, share: f64, rng: &mut StreamRng) -> Option<SimTime> {
    let mut need: f64 = -(1.0 - rng.random::<f64>()).ln();
    let mut t = from;
    let steps = &attack.steps;
    let mut i = steps.partition_point(|s| s.0 <= t);
    loop {
        let rate = if i == 0 { 0.0 } else { steps[i - 1].1 * share };
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
