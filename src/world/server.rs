//! The server side: requests sent into a platform through its front door and protection, routed through
//! their pools (login dependencies first), queued, served with the pool's overload slowdown, timed out by
//! their client or abandoned, and their outcome handed back to the client side. The client does not see the
//! server and vice versa: a timed-out request keeps its slot until its service ends, as wasted work.

use super::ids::{GroupId, Id, PoolId};
use super::pool::Admission;
use super::provision::Then;
use super::request::{Kind, Request, Stage};
use super::slab::Ref;
use super::{Clients, Event, PackedEvent, Servers, Shared};
use crate::engine::{Scheduler, SimDuration, SimTime};
use rand::RngCore;

impl Servers {
    /// Sends a request from `group` (for `user`, if any) into its platform. Returns the request, or `None`
    /// if it was refused at once (the user's failure is already handled).
    #[inline]
    pub(super) fn send(
        &mut self,
        sh: &mut Shared,
        clients: &mut Clients,
        group: GroupId,
        user: Option<Ref>,
        kind: Kind,
        sched: &mut Scheduler<PackedEvent>,
    ) -> Option<Ref> {
        let now = sched.now();
        let observed = now >= sh.warmup;
        let g = &mut sh.groups[group];
        let platform = g.platform;
        let priority = g.priority;
        let work_seed = g.work_rng.next_u64();
        if observed {
            g.stats.arrivals += 1;
        }
        let p = &mut sh.platforms[platform];
        if kind != Kind::Single {
            p.counts.attempts += 1;
        }
        if let Some(u) = user {
            let active = p.attack.as_ref().is_some_and(|a| a.active);
            if active && clients.flagged(u) {
                // The protection drops the request before the front door, as if it came from a bot.
                p.counts.mitigated_real += 1;
                if observed {
                    // Turned away before reaching the platform: a blocked request, counted as such.
                    sh.groups[group].stats.blocked += 1;
                }
                clients.mitigated(sh, u);
                clients.request_failed(sh, u, sched);
                return None;
            }
        }
        let door_open = match (p.max_connections, &mut p.attack) {
            (None, _) => true,
            (Some(m), None) => p.connections < m,
            (Some(m), Some(a)) => a.door_admits(p.connections, m),
        };
        if !door_open {
            // Connection refused at the front door: nothing reaches the servers.
            p.counts.refused += 1;
            if observed {
                sh.groups[group].stats.blocked += 1;
            }
            if let Some(u) = user {
                clients.request_failed(sh, u, sched);
            }
            return None;
        }
        p.connections += 1;
        let route = p.route(kind);
        let (first_pool, hops) = (route[0], route.len() as u8);
        if self.pools[first_pool].turns_away() {
            // Turned away at once by its first pool, as `offer` would turn it away, without a record stored
            // and removed: no reference to it could outlive this call. The counts and the sender's news are
            // those of the `Admission::Blocked` arm of `offer` for a request not orphaned; change both together.
            self.pools[first_pool].count_turned_away();
            p.counts.refused += 1;
            if observed {
                sh.groups[group].stats.blocked += 1;
            }
            p.connections -= 1;
            Self::door_room(sh, platform, sched);
            if let Some(u) = user {
                clients.request_failed(sh, u, sched);
            }
            return None;
        }
        let r = self.requests.insert(Request {
            arrived: now,
            since: now,
            work_seed,
            waited_us: 0,
            user,
            sender: group.0,
            platform,
            pool: first_pool,
            hop: 0,
            hops,
            priority,
            kind,
            stage: Stage::Waiting,
            observed,
            orphaned: false,
            // Users' requests have a client timeout, armed lazily.
            unarmed: user.is_some(),
        });
        self.offer(sh, clients, r, first_pool, group, sched);
        // The request may already be gone (blocked); the caller only keeps it as the user's pending one.
        self.requests.get(r).map(|_| r)
    }

    /// Offers request `r` of a group to `pool`, the next of its route.
    #[inline]
    fn enter_pool(&mut self, sh: &mut Shared, clients: &mut Clients, r: Ref, pool: PoolId, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let req = self.requests.get_mut(r).expect("a request entering a pool is live");
        req.pool = pool;
        req.since = now;
        req.stage = Stage::Waiting;
        let group = req.group();
        self.offer(sh, clients, r, pool, group, sched);
    }

    /// Offers `r`, already placed at `pool` and stamped with its entry time, to that pool: it starts, waits
    /// or is turned away. The pool's answer, for the side that sent it to act on.
    // Always inlined: outlined, this step of every request costs 1.2% more instructions on the M/M/c
    // bench (callgrind).
    #[inline(always)]
    pub(super) fn admit(&mut self, r: Ref, pool: PoolId, priority: u8, sched: &mut Scheduler<PackedEvent>) -> Admission {
        let admission = self.pools[pool].offer(sched.now(), r, usize::from(priority));
        if self.pools[pool].fluid.is_some() {
            // The free slots (hence the attack's drain) or the head of the backlog may have changed.
            self.reschedule_head(pool, sched);
        }
        admission
    }

    /// Offers `r`, a request of `group` already placed at `pool` and stamped with its entry time, to that
    /// pool, and carries out its answer.
    #[inline]
    fn offer(&mut self, sh: &mut Shared, clients: &mut Clients, r: Ref, pool: PoolId, group: GroupId, sched: &mut Scheduler<PackedEvent>) {
        let req = self.requests.get(r).expect("a request offered is live");
        let (priority, first) = (req.priority, req.observed && req.hop == 0);
        let admission = self.admit(r, pool, priority, sched);
        if first && admission != Admission::Blocked {
            sh.groups[group].stats.entered += 1;
        }
        match admission {
            Admission::Started => self.start_service(sh, r, sched),
            Admission::Queued => {
                self.arm_timeout(sh, r, None, sched);
                let g = &mut sh.groups[group];
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
                // Also done, without the record, by `send` for a request its first pool `turns_away`.
                let req = self.requests.remove(r).expect("live");
                let p = &mut sh.platforms[req.platform];
                p.counts.refused += 1;
                if req.observed {
                    sh.groups[group].stats.blocked += 1;
                }
                if !req.orphaned {
                    p.connections -= 1;
                    Self::door_room(sh, req.platform, sched);
                    if let Some(u) = req.user {
                        clients.lost_request(u, r);
                        clients.request_failed(sh, u, sched);
                    }
                }
            }
        }
    }

    /// Starts service of `r`, which has just been given a slot.
    #[inline]
    pub(super) fn start_service(&mut self, sh: &mut Shared, r: Ref, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let req = self.requests.get_mut(r).expect("a request given a slot is live");
        req.stage = Stage::InService;
        let wait = now - req.since;
        req.since = now;
        req.waited_us += wait.as_micros();
        let last_hop = req.hop + 1 == req.hops;
        let pool = &mut self.pools[req.pool];
        pool.minute_waits.record(wait);
        pool.counts.start_wait_us += u128::from(wait.as_micros());
        pool.counts.timed_starts += 1;
        if last_hop && req.observed {
            let total = SimDuration(req.waited_us);
            let s = &mut sh.groups[req.group()].stats;
            s.started += 1;
            s.waits.record(total);
            s.served_wait_us += u128::from(total.as_micros());
        }
        // Each hop of a route gets its own requirement from the request's seed.
        let mut service = pool.draw_service(req.work_seed ^ u64::from(req.hop).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if req.kind == Kind::Attack {
            pool.attack_service(now, true);
            let pa = sh.platforms[req.platform].attack.as_mut().expect("attacked platform");
            pa.pool_waiting -= 1;
            if let crate::scenario::AttackTier::Pool { cost } = pa.attacks[req.attack().index()].tier {
                service = SimDuration::from_secs_f64(service.as_secs_f64() * cost);
            }
        } else if req.unarmed {
            let done = if last_hop { Some(now + service) } else { None };
            self.arm_timeout(sh, r, done, sched);
        }
        sched.schedule(service, Event::ServiceDone(r));
    }

    /// Schedules the client timeout of `r` if it is not armed yet and may be needed: always while it
    /// waits or has hops to go (`done` is `None`), or if its last service ends (`done`) after the deadline.
    #[inline]
    fn arm_timeout(&mut self, sh: &Shared, r: Ref, done: Option<SimTime>, sched: &mut Scheduler<PackedEvent>) {
        let req = self.requests.get_mut(r).expect("live");
        if !req.unarmed {
            return;
        }
        let timeout = sh.groups[req.group()].session.as_ref().expect("user requests have a session").timeout;
        let deadline = req.arrived + timeout;
        if done.is_none_or(|d| d > deadline) {
            req.unarmed = false;
            sched.schedule_at(deadline, Event::Timeout(r));
        }
    }

    /// Request `r` finishes its service in its current pool: it goes on to the next pool of its route, or
    /// its answer reaches its client (if the client still waits); the freed slot goes to the next waiting.
    pub(super) fn service_done(&mut self, sh: &mut Shared, clients: &mut Clients, r: Ref, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let req = *self.requests.get(r).expect("a request in service is live until it completes");
        let pool = &mut self.pools[req.pool];
        pool.counts.served += 1;
        if req.orphaned {
            let wasted = (now - req.since).as_micros();
            pool.counts.wasted_us += wasted;
            if req.observed {
                sh.groups[req.group()].stats.wasted_us += u128::from(wasted);
            }
        }
        let requests = &self.requests;
        let next = pool.release(now, |w| requests.get(w).is_some_and(|q| q.stage == Stage::Waiting));
        // The next release of this pool will look at the new head of its backlog: a request that entered
        // long ago, whose record has left the cache. Start loading it now.
        if let Some(w) = pool.waiting_head() {
            requests.prefetch_slot(w.slot);
        }
        if req.kind == Kind::Attack {
            self.pools[req.pool].attack_service(now, false);
            self.requests.remove(r);
            sh.platforms[req.platform].attack.as_mut().expect("attacked platform").counts.served += 1.0;
            if let Some(next) = next {
                self.start_service(sh, next, sched);
            }
            self.attack_room(sh, req.pool, sched);
            return;
        }
        if self.pools[req.pool].fluid.is_some() {
            self.reschedule_head(req.pool, sched);
        }
        if req.hop + 1 < req.hops {
            let next_pool = sh.platforms[req.platform].route(req.kind)[usize::from(req.hop) + 1];
            self.requests.get_mut(r).expect("live").hop += 1;
            self.enter_pool(sh, clients, r, next_pool, sched);
        } else {
            self.requests.remove(r);
            if req.observed {
                let s = &mut sh.groups[req.group()].stats;
                s.served += 1;
                s.sojourn_us += u128::from((now - req.arrived).as_micros());
                s.answered_in_time += u64::from(!req.orphaned);
            }
            if !req.orphaned {
                sh.platforms[req.platform].connections -= 1;
                Self::door_room(sh, req.platform, sched);
                if let Some(u) = req.user {
                    clients.lost_request(u, r);
                    clients.request_succeeded(sh, u, now - req.arrived, sched);
                }
            }
        }
        if let Some(next) = next {
            self.start_service(sh, next, sched);
        }
        if sh.platforms[req.platform].attack.is_some() {
            self.attack_room(sh, req.pool, sched);
        }
    }

    /// A waiting request's patience runs out: it leaves the backlog, and its client (if it still waits)
    /// sees a failure.
    pub(super) fn patience_expired(&mut self, sh: &mut Shared, clients: &mut Clients, r: Ref, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        // Stale if the request was served (and its slot perhaps reused) before its patience ran out.
        let Some(req) = self.requests.get(r) else {
            return;
        };
        if req.stage != Stage::Waiting {
            return;
        }
        let req = self.requests.remove(r).expect("checked live");
        let pool = &mut self.pools[req.pool];
        pool.forget_waiting(now);
        if pool.fluid.is_some() {
            self.reschedule_head(req.pool, sched);
        }
        self.attack_room(sh, req.pool, sched);
        let pool = &mut self.pools[req.pool];
        let wait = now - req.since;
        pool.minute_waits.record(wait);
        if req.observed {
            let s = &mut sh.groups[req.group()].stats;
            s.abandoned += 1;
            s.waits.record(SimDuration(req.waited_us + wait.as_micros()));
        }
        if !req.orphaned {
            sh.platforms[req.platform].connections -= 1;
            Self::door_room(sh, req.platform, sched);
            if let Some(u) = req.user {
                clients.lost_request(u, r);
                clients.request_failed(sh, u, sched);
            }
        }
    }

    /// The client of `r` stops waiting for it.
    pub(super) fn timeout(&mut self, sh: &mut Shared, clients: &mut Clients, r: Ref, sched: &mut Scheduler<PackedEvent>) {
        let Some(req) = self.requests.get_mut(r) else {
            return;
        };
        if req.orphaned {
            return;
        }
        // The client closes the connection and moves on; the servers keep working on the request.
        req.orphaned = true;
        let (platform, group, observed, user) = (req.platform, req.group(), req.observed, req.user);
        let p = &mut sh.platforms[platform];
        p.connections -= 1;
        p.counts.timeouts += 1;
        Self::door_room(sh, platform, sched);
        if observed {
            sh.groups[group].stats.timeouts += 1;
        }
        if let Some(u) = user {
            clients.lost_request(u, r);
            clients.request_failed(sh, u, sched);
        }
    }

    /// The client of `r` (live or not) gave it up with its session: the servers go on with it, as wasted
    /// work, and its connection closes.
    pub(super) fn orphan(&mut self, sh: &mut Shared, r: Ref, sched: &mut Scheduler<PackedEvent>) {
        if let Some(req) = self.requests.get_mut(r) {
            if !req.orphaned {
                req.orphaned = true;
                sh.platforms[req.platform].connections -= 1;
                Self::door_room(sh, req.platform, sched);
            }
        }
    }

    /// Puts waiting requests into slots that capacity just freed.
    pub(super) fn fill(&mut self, sh: &mut Shared, pool: PoolId, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        loop {
            let requests = &self.requests;
            let next = self.pools[pool].take_waiting(now, |w| requests.get(w).is_some_and(|q| q.stage == Stage::Waiting));
            match next {
                Some(r) => self.start_service(sh, r, sched),
                None => break,
            }
        }
        if self.pools[pool].fluid.is_some() {
            self.reschedule_head(pool, sched);
        }
        self.attack_room(sh, pool, sched);
    }

    /// Fills the slots of `pool` if provisioning just added some.
    pub(super) fn then(&mut self, sh: &mut Shared, then: Then, pool: PoolId, sched: &mut Scheduler<PackedEvent>) {
        if then == Then::Fill {
            self.fill(sh, pool, sched);
        }
    }
}
