//! An application pool: `servers × workers` service slots and a FIFO backlog (one per priority level)
//! with an optional limit and an optional overload slowdown.
//!
//! The pool is pure mechanism: it holds slots and queues and says what happened (started, queued,
//! blocked). Who arrives, how long they wait and what they do next is decided by the world.

use super::fluid::AttackFluid;
use super::slab::Ref;
use crate::engine::{DurationDist, SeedRng, SimDuration, SimTime, StreamRng};
use crate::metrics::{MinuteDurations, TimeWeighted, Window};
use std::collections::VecDeque;

/// The priority attack requests claim in a pool with priority classes: none, so they wait in the last
/// class's backlog, behind every real request of a more urgent class.
pub const ATTACK_PRIORITY: u8 = u8::MAX;

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

crate::totals! {
    /// A pool's counters, running totals from the start of the run (read through [`Window`]s: a minute's
    /// row, an autoscaler's window).
    pub struct PoolCounts {
        /// Requests offered to the pool.
        pub arrivals: u64,
        /// Service starts.
        pub started: u64,
        /// Service completions.
        pub served: u64,
        /// Abandonments from the backlog.
        pub abandoned: u64,
        /// Requests turned away (backlog full).
        pub blocked: u64,
        /// Service time spent on requests whose client had already given up, in microseconds.
        pub wasted_us: u64,
        /// Waits of the real requests that started service, summed, µs (an autoscaler's latency).
        pub start_wait_us: u128,
        /// The real requests that started service (the count of `start_wait_us`).
        pub timed_starts: u64,
    }
}

crate::totals! {
    /// A reading of everything a pool accumulates: its counters and its time integrals, at one instant
    /// (see [`Pool::totals`]).
    pub struct PoolTotals {
        /// The counters.
        pub counts: PoolCounts,
        /// Busy slots, attack work included, integrated (slot × µs).
        pub busy: u128,
        /// Waiting requests, integrated (request × µs).
        pub waiting: u128,
        /// Servers paid for (ready or booting), integrated (server × µs).
        pub provisioned: u128,
        /// Slots, integrated (slot × µs).
        pub slots: u128,
        /// Slots busy with attack work (the fluid's and attack requests'), integrated, slot-seconds.
        pub attack_busy_s: f64,
    }
}

/// One pool's state.
///
/// Its capacity fields are private so that their invariants hold by construction: slots are always ready
/// servers × workers per server, and the integrals of slots, servers paid for, busy slots and waiting
/// requests change only with the values they integrate ([`Pool::set_servers`], [`Pool::offer`],
/// [`Pool::release`], ...). What others read of it are accessors, its running totals ([`Pool::totals`])
/// and the windows over them that the observer and the autoscaler close.
#[derive(Debug)]
pub struct Pool {
    /// Name (platform or dependency) for the timeseries.
    pub name: String,
    /// Service slots (ready servers × workers per server).
    slots: u64,
    /// Concurrent requests per server.
    workers: u64,
    /// Servers ready to serve.
    ready: u64,
    /// Servers booting (ordered by an autoscaler, not ready yet).
    booting: u64,
    /// Servers paid for (ready + booting), integrated over time: the cost in server-hours.
    provisioned: TimeWeighted,
    /// Slots, integrated over time (the denominator of utilization when capacity changes).
    slots_tw: TimeWeighted,
    /// What an autoscaler reads: the window since its last evaluation.
    pub scale_window: Window<PoolTotals>,
    /// Largest backlog allowed (`max_in_system − slots`), `None` for unbounded.
    max_waiting: Option<u64>,
    /// Service-time distribution.
    service: DurationDist,
    /// Overload slowdown (knee as a multiple of slots, slowdown factor).
    overload: Option<(f64, f64)>,
    /// Requests waiting, one FIFO per priority level, each with its mark (the attack work that entered the
    /// backlog before it, see [`AttackFluid`]); entries whose request has left are skipped.
    backlogs: Vec<VecDeque<(Ref, f64)>>,
    /// Aggregate attack traffic at this pool, with the stream of its admission draws.
    pub fluid: Option<(AttackFluid, StreamRng)>,
    /// Busy slots, integrated over time.
    busy: TimeWeighted,
    /// Slots busy with attack requests simulated one by one (counted in `busy` too), integrated over time.
    attack_busy: TimeWeighted,
    /// Live waiting requests, integrated over time.
    waiting: TimeWeighted,
    /// The counters, running totals.
    pub counts: PoolCounts,
    /// The current minute.
    pub minute: Window<PoolTotals>,
    /// The observed span: from the end of the warm-up (or 0) to the horizon.
    pub observed: Window<PoolTotals>,
    /// Waits of requests that left the backlog this minute.
    pub minute_waits: MinuteDurations,
}

impl Pool {
    /// An idle pool with `classes` priority classes.
    pub fn new(
        name: String,
        servers: u64,
        workers: u64,
        max_waiting: Option<u64>,
        service: DurationDist,
        overload: Option<(f64, f64)>,
        classes: usize,
    ) -> Pool {
        let slots = servers * workers;
        let mut provisioned = TimeWeighted::default();
        provisioned.set(SimTime::ZERO, servers);
        let mut slots_tw = TimeWeighted::default();
        slots_tw.set(SimTime::ZERO, slots);
        Pool {
            name,
            slots,
            workers,
            ready: servers,
            booting: 0,
            provisioned,
            slots_tw,
            scale_window: Window::default(),
            max_waiting,
            service,
            overload,
            backlogs: (0..classes.max(1)).map(|_| VecDeque::new()).collect(),
            fluid: None,
            busy: TimeWeighted::default(),
            attack_busy: TimeWeighted::default(),
            waiting: TimeWeighted::default(),
            counts: PoolCounts::default(),
            minute: Window::default(),
            observed: Window::default(),
            minute_waits: MinuteDurations::new(),
        }
    }

    /// Service slots (ready servers × workers per server).
    #[inline]
    pub fn slots(&self) -> u64 {
        self.slots
    }

    /// Concurrent requests per server.
    pub fn workers(&self) -> u64 {
        self.workers
    }

    /// Servers ready to serve.
    pub fn ready(&self) -> u64 {
        self.ready
    }

    /// Servers booting (ordered by an autoscaler, not ready yet).
    pub fn booting(&self) -> u64 {
        self.booting
    }

    /// The service-time distribution.
    pub fn service(&self) -> &DurationDist {
        &self.service
    }

    /// The largest backlog allowed, `None` for unbounded.
    pub fn max_waiting(&self) -> Option<u64> {
        self.max_waiting
    }

    /// The largest backlog since the last call (the minute's), which restarts from the current one.
    pub fn take_max_waiting(&mut self) -> u64 {
        self.waiting.take_max()
    }

    /// Requests currently waiting (those that left excluded).
    #[inline]
    pub fn waiting_len(&self) -> u64 {
        self.waiting.value()
    }

    /// Requests currently in service.
    #[inline]
    pub fn busy_len(&self) -> u64 {
        self.busy.value()
    }

    /// Whether [`Pool::offer`] would answer `Blocked` now, outside an attack: every slot busy and the
    /// backlog full. In the national morning's retry storm most requests are turned away so, and their
    /// sender can then fail them without first storing them.
    #[inline]
    pub fn turns_away(&self) -> bool {
        self.fluid.is_none() && self.busy.value() >= self.slots && self.max_waiting.is_some_and(|m| self.waiting.value() >= m)
    }

    /// Counts a request turned away by [`Pool::turns_away`] as [`Pool::offer`] counts one it blocks.
    #[inline]
    pub fn count_turned_away(&mut self) {
        debug_assert!(self.turns_away());
        self.counts.arrivals += 1;
        self.counts.blocked += 1;
    }

    /// Offers a request of priority `priority` to the pool at `now`; on `Started` the caller schedules the
    /// service completion.
    // Always inlined: with two callers (a group's request, an attack's) the inliner outlined it, 1.2% more
    // instructions on the M/M/c bench (callgrind).
    #[inline(always)]
    pub fn offer(&mut self, now: SimTime, request: Ref, priority: usize) -> Admission {
        self.counts.arrivals += 1;
        if self.fluid.is_some() {
            return self.offer_under_attack(now, request, priority);
        }
        if self.busy.value() < self.slots {
            self.busy.incr(now);
            self.counts.started += 1;
            Admission::Started
        } else if self.max_waiting.is_none_or(|m| self.waiting.value() < m) {
            let c = priority.min(self.backlogs.len() - 1);
            self.backlogs[c].push_back((request, 0.0));
            self.waiting.incr(now);
            Admission::Queued
        } else {
            self.counts.blocked += 1;
            Admission::Blocked
        }
    }

    /// Whether attack work and real requests share one FIFO (no priority classes): then real requests wait
    /// behind the attack's backlog. With priorities the attack, which claims none, comes last.
    fn fifo_with_attack(&self) -> bool {
        self.backlogs.len() == 1
    }

    /// Slots not held by real requests.
    fn free_slots(&self) -> f64 {
        self.slots.saturating_sub(self.busy.value()) as f64
    }

    /// Room left in the backlog for attack work, slot-seconds (`None`: unbounded).
    fn fluid_room_s(&self, work_s: f64) -> Option<f64> {
        self.max_waiting.map(|k| k.saturating_sub(self.waiting.value()) as f64 * work_s)
    }

    /// Brings the attack fluid up to `now` under the state that held since its last update. Every change of
    /// slots, busy or waiting counts calls this first.
    #[inline]
    pub fn sync(&mut self, now: SimTime) {
        if let Some((f, _)) = &self.fluid {
            let free = self.free_slots();
            let room = self.fluid_room_s(f.work_s());
            self.fluid.as_mut().expect("checked").0.advance(now, free, room);
        }
    }

    fn offer_under_attack(&mut self, now: SimTime, request: Ref, priority: usize) -> Admission {
        self.sync(now);
        let fifo = self.fifo_with_attack();
        let free = self.free_slots();
        let (fluid, rng) = self.fluid.as_mut().expect("called under attack");
        let behind_attack = fifo && fluid.has_backlog();
        if !behind_attack && self.busy.value() < self.slots {
            // The attack yields the next slot it frees, which at its rates is at once.
            self.busy.incr(now);
            self.counts.started += 1;
            return Admission::Started;
        }
        // Attack requests simulated one by one queue behind the attack's fluid work even with priorities.
        let mark = if fifo || priority >= usize::from(ATTACK_PRIORITY) { fluid.entered_s } else { 0.0 };
        let taken = self.waiting.value() as f64 + if fifo { fluid.positions() } else { 0.0 };
        // Full within one position: when the attack arrives faster than it is served, a freed position is
        // taken by its next request within 1/rate seconds, whereas the fluid refills it only at the net
        // rate (inflow − drain); counting that last position as taken keeps the blocking of real requests
        // what a request-by-request backlog gives.
        let surplus = fluid.rate_per_s() * fluid.work_s() > free;
        let full = self.max_waiting.is_some_and(|k| taken + if fifo && surplus { 1.0 } else { 1e-6 } >= k as f64);
        if full {
            // A freed position goes to this request only if no attack arrival takes it first.
            let share = if fifo { fluid.admit_share(free) } else { 0.0 };
            let u: f64 = rand::Rng::random(rng);
            if u >= share || self.max_waiting.is_some_and(|k| self.waiting.value() >= k) {
                self.counts.blocked += 1;
                return Admission::Blocked;
            }
        }
        let c = priority.min(self.backlogs.len() - 1);
        self.backlogs[c].push_back((request, mark));
        self.waiting.incr(now);
        Admission::Queued
    }

    /// Whether a request arriving now would find a slot or a place in the backlog (attack work waiting
    /// in a shared FIFO takes places too).
    pub fn has_room(&self) -> bool {
        if self.busy.value() < self.slots {
            return true;
        }
        let Some(k) = self.max_waiting else { return true };
        let attack = match &self.fluid {
            Some((f, _)) if self.fifo_with_attack() => f.positions(),
            _ => 0.0,
        };
        self.waiting.value() < k && (self.waiting.value() as f64 + attack) < k as f64
    }

    /// An attack request simulated one by one starts (`starts`) or ends its service at `now`.
    pub fn attack_service(&mut self, now: SimTime, starts: bool) {
        if starts {
            self.attack_busy.incr(now);
        } else {
            self.attack_busy.decr(now);
        }
    }

    /// When the first live waiting request may take a slot from the attack, if it waits behind attack work
    /// and slots are serving that work.
    pub fn head_ready_at(&mut self, now: SimTime, mut is_live: impl FnMut(Ref) -> bool) -> Option<SimTime> {
        let free = self.free_slots();
        let (fluid, _) = self.fluid.as_ref()?;
        let backlog = &mut self.backlogs[0];
        while let Some(&(r, mark)) = backlog.front() {
            if !is_live(r) {
                backlog.pop_front();
                continue;
            }
            let secs = fluid.secs_until(mark, free)?;
            if secs <= 0.0 {
                // Already due (the attack's backlog emptied, or rounding): start it as soon as possible if a
                // slot is serving attack work; otherwise the next release hands it its slot.
                return (free > 0.0).then_some(now);
            }
            // Work that no horizon reaches never starts it; any change of rate or slots looks again.
            if secs.is_nan() || secs >= crate::scenario::MAX_HORIZON_S {
                return None;
            }
            // Round up, so that the work has drained when the event fires.
            return Some(now + SimDuration((secs * 1e6).ceil() as u64 + 1));
        }
        None
    }

    /// Frees a slot at `now`, then hands it to the first live waiting request of the most urgent priority, if
    /// any: `is_live` tells whether a backlog entry still wants service.
    #[inline]
    pub fn release(&mut self, now: SimTime, is_live: impl FnMut(Ref) -> bool) -> Option<Ref> {
        self.sync(now);
        if self.busy.value() > self.slots {
            // Capacity was removed while this slot was busy: it goes away instead of passing on.
            self.busy.decr(now);
            return None;
        }
        self.pass_on(now, is_live).or_else(|| {
            self.busy.decr(now);
            None
        })
    }

    /// Gives a slot to the first live waiting request of the most urgent priority; the slot's busy count is
    /// the caller's business.
    #[inline]
    fn pass_on(&mut self, now: SimTime, mut is_live: impl FnMut(Ref) -> bool) -> Option<Ref> {
        let drained = self.fluid.as_ref().map_or(f64::INFINITY, |(f, _)| f.drained_s + f.tolerance_s());
        for backlog in &mut self.backlogs {
            while let Some(&(r, mark)) = backlog.front() {
                if !is_live(r) {
                    backlog.pop_front();
                    continue;
                }
                if mark > drained {
                    // Attack work that arrived before it is still waiting: the slot serves that work.
                    return None;
                }
                backlog.pop_front();
                {
                    // The slot passes straight from one request to the next: busy count unchanged.
                    self.waiting.decr(now);
                    self.counts.started += 1;
                    return Some(r);
                }
            }
        }
        None
    }

    /// The head of the most urgent non-empty backlog, if any: probably the next request to start. For
    /// prefetching; it may be stale.
    #[inline]
    pub fn waiting_head(&self) -> Option<Ref> {
        self.backlogs.iter().find_map(|b| b.front()).map(|&(r, _)| r)
    }

    /// After capacity grew: takes the next live waiting request into a free slot, if both exist.
    pub fn take_waiting(&mut self, now: SimTime, is_live: impl FnMut(Ref) -> bool) -> Option<Ref> {
        self.sync(now);
        if self.busy.value() >= self.slots {
            return None;
        }
        let r = self.pass_on(now, is_live)?;
        self.busy.incr(now);
        Some(r)
    }

    /// Sets the servers ready and booting at `now`.
    pub fn set_servers(&mut self, now: SimTime, ready: u64, booting: u64) {
        self.sync(now);
        self.ready = ready;
        self.booting = booting;
        self.slots = ready * self.workers;
        self.provisioned.set(now, ready + booting);
        self.slots_tw.set(now, self.slots);
    }

    /// Records that a waiting request left the backlog without service at `now`; its entry is skipped later.
    #[inline]
    pub fn forget_waiting(&mut self, now: SimTime) {
        self.sync(now);
        self.waiting.decr(now);
        self.counts.abandoned += 1;
    }

    /// Draws the service time of a request starting now from the request's own `work_seed`, stretched by
    /// the overload slowdown.
    ///
    /// The seed travels with the request (drawn when it was sent, from its sender's stream), so a request
    /// has the same service requirement whatever else the pool is doing: two configurations compared on
    /// common random numbers serve the same customers with the same work, which keeps their difference
    /// sharp even when capacity changes the order of service.
    #[inline]
    pub fn draw_service(&mut self, work_seed: u64) -> SimDuration {
        let mut rng = SeedRng::new(work_seed);
        let base = self.service.sample_s(&mut rng);
        let factor = match self.overload {
            None => 1.0,
            Some((knee, slowdown)) => {
                let attack = self.fluid.as_ref().map_or(0.0, |(f, _)| f.occupancy + f.positions());
                let crowd = ((self.busy.value() + self.waiting.value()) as f64 + attack) / self.slots as f64;
                1.0 + slowdown * ((crowd - knee) / knee).clamp(0.0, 1.0)
            }
        };
        SimDuration::from_secs_f64(base * factor)
    }

    /// A reading of the pool's totals at `now`; callers `sync` first (the attack fluid's integral).
    pub fn totals(&self, now: SimTime) -> PoolTotals {
        // Attack work occupies slots too: utilization (and an autoscaler) sees it.
        let fluid_busy_s = self.fluid.as_ref().map_or(0.0, |(f, _)| f.busy_area_s);
        let attack_busy_s = fluid_busy_s + self.attack_busy.area_at(now) as f64 * 1e-6;
        PoolTotals {
            counts: self.counts,
            busy: self.busy.area_at(now) + (fluid_busy_s * 1e6) as u128,
            waiting: self.waiting.area_at(now),
            provisioned: self.provisioned.area_at(now),
            slots: self.slots_tw.area_at(now),
            attack_busy_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::slab::Slab;

    fn t(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    /// 2 servers × 2 workers, a backlog of at most `limit`, 1-s pages, `levels` priorities.
    fn pool(limit: Option<u64>, levels: usize, overload: Option<(f64, f64)>) -> Pool {
        Pool::new("p".into(), 2, 2, limit, DurationDist::Deterministic { value_s: 1.0 }, overload, levels)
    }

    fn refs(n: usize) -> (Slab<u32>, Vec<Ref>) {
        let mut slab = Slab::default();
        let refs = (0..n).map(|i| slab.insert(i as u32)).collect();
        (slab, refs)
    }

    #[test]
    fn slots_start_then_the_backlog_queues_then_its_limit_blocks() {
        let mut p = pool(Some(2), 1, None);
        let (_, r) = refs(7);
        let got: Vec<Admission> = r.iter().map(|&x| p.offer(t(0.0), x, 0)).collect();
        use Admission::*;
        assert_eq!(got, [Started, Started, Started, Started, Queued, Queued, Blocked]);
        assert_eq!((p.busy_len(), p.waiting_len()), (4, 2));
        assert_eq!((p.counts.arrivals, p.counts.started, p.counts.blocked), (7, 4, 1));
    }

    #[test]
    fn a_freed_slot_passes_to_the_first_live_request_of_the_most_urgent_priority() {
        let mut p = pool(None, 3, None);
        let (_, r) = refs(7);
        for &x in &r[..4] {
            assert_eq!(p.offer(t(0.0), x, 0), Admission::Started);
        }
        // Waiting: r4 (priority 2), r5 (priority 1), r6 (priority 1).
        for (x, priority) in [(r[4], 2), (r[5], 1), (r[6], 1)] {
            assert_eq!(p.offer(t(0.0), x, priority), Admission::Queued);
        }
        // r5 left (its client timed out): it is skipped, and the slot goes to r6, then r4.
        p.forget_waiting(t(0.5));
        let live = |x: Ref| x != r[5];
        assert_eq!(p.release(t(1.0), live), Some(r[6]));
        assert_eq!(p.release(t(1.0), live), Some(r[4]));
        assert_eq!(p.release(t(1.0), live), None);
        assert_eq!((p.busy_len(), p.waiting_len()), (3, 0));
    }

    #[test]
    fn removed_capacity_drains_busy_slots_and_added_capacity_takes_the_waiting() {
        let mut p = pool(None, 1, None);
        let (_, r) = refs(6);
        for &x in &r {
            let _ = p.offer(t(0.0), x, 0);
        }
        // One server of two lost: 2 slots for 4 busy. The next two releases retire their slots.
        p.set_servers(t(1.0), 1, 0);
        assert_eq!(p.slots, 2);
        assert_eq!(p.release(t(2.0), |_| true), None);
        assert_eq!(p.release(t(2.0), |_| true), None);
        assert_eq!((p.busy_len(), p.waiting_len()), (2, 2));
        // Back to two servers: the two waiting requests take the new slots at once.
        p.set_servers(t(3.0), 2, 0);
        assert_eq!(p.take_waiting(t(3.0), |_| true), Some(r[4]));
        assert_eq!(p.take_waiting(t(3.0), |_| true), Some(r[5]));
        assert_eq!(p.take_waiting(t(3.0), |_| true), None);
        assert_eq!(p.busy_len(), 4);
        // Server-hours integrate servers ready or booting: 2 for 1 s, 1 for 2 s, then 2.
        assert_eq!(p.provisioned.area_at(t(4.0)), (2 + 2 + 2) * 1_000_000);
    }

    #[test]
    fn the_overload_slowdown_grows_from_the_knee_to_its_full_factor() {
        // Knee 1.0, slowdown 4: at most 1 + 4 = 5 times slower, reached at twice the knee.
        let mut p = pool(None, 1, Some((1.0, 4.0)));
        let (_, r) = refs(12);
        let service = |p: &mut Pool| p.draw_service(7).as_secs_f64();
        assert_eq!(service(&mut p), 1.0);
        for &x in &r[..6] {
            let _ = p.offer(t(0.0), x, 0);
        }
        // 6 in the pool for 4 slots: crowd 1.5, half-way from the knee: 1 + 4 × 0.5 = 3.
        assert!((service(&mut p) - 3.0).abs() < 1e-9);
        for &x in &r[6..] {
            let _ = p.offer(t(0.0), x, 0);
        }
        // 12 for 4 slots: crowd 3, beyond twice the knee: capped at 5.
        assert!((service(&mut p) - 5.0).abs() < 1e-9);
    }
}
