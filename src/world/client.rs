//! The client side: people who arrive, log in through their platform's admission, send their pages one
//! after another, time out and retry, come back later or give up. A user's plan is a stage and a token
//! (`user::User`): any change of plan increments the token, so a timer that no longer applies is ignored
//! when it fires.

use super::admission::Verdict;
use super::ids::{GroupId, IdVec, PlatformId};
use super::platform::Platform;
use super::request::Kind;
use super::slab::Ref;
use super::user::{User, UserStage};
use super::{classes, Clients, Event, Group, PackedEvent, Servers, Shared};
use crate::engine::{Scheduler, SimDuration, SimTime};
use crate::scenario::Retrial;

impl Clients {
    /// Schedules the next arrival of `group`, if it falls within the horizon.
    #[inline]
    pub(super) fn schedule_next_arrival(sh: &mut Shared, group: GroupId, sched: &mut Scheduler<PackedEvent>) {
        let g = &mut sh.groups[group];
        if let Some(t) = g.arrivals.as_mut().and_then(|a| a.next_arrival(&mut g.arrival_rng)) {
            if t <= sh.horizon {
                sched.schedule_at(t, Event::Arrival { group });
            }
        }
    }

    /// The next member of `group` arrives: a textbook arrival sends its one request, a person tries to log
    /// in.
    #[inline]
    pub(super) fn arrival(&mut self, sh: &mut Shared, servers: &mut Servers, group: GroupId, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let g = &mut sh.groups[group];
        match &g.session {
            None => {
                servers.send(sh, self, group, None, Kind::Single, sched);
            }
            Some(session) => {
                let pages = session.pages;
                if now >= sh.warmup {
                    g.stats.users += 1;
                }
                let platform = g.platform;
                let p = &mut sh.platforms[platform];
                p.counts.users_arrived += 1;
                let mut user = User::new(now, group, pages);
                p.flag(&mut user);
                let u = self.users.insert(user);
                self.try_login(sh, servers, u, sched);
            }
        }
        Clients::schedule_next_arrival(sh, group, sched);
    }

    /// Whether user `u`, if alive, is one the protection blocks.
    #[inline]
    pub(super) fn flagged(&self, u: Ref) -> bool {
        self.users.get(u).is_some_and(|x| x.has(User::FLAGGED))
    }

    /// The protection dropped a request of user `u` (flagged): counted once per user.
    pub(super) fn mitigated(&mut self, sh: &mut Shared, u: Ref) {
        let user = self.users.get_mut(u).expect("a flagged user is alive");
        if !user.has(User::MITIGATED) && user.arrived >= sh.warmup {
            sh.groups[user.group].stats.mitigated_users += 1;
        }
        user.set(User::MITIGATED, true);
    }

    /// Clears `u`'s pending request if it is `r` (its answer came, or it failed).
    pub(super) fn lost_request(&mut self, u: Ref, r: Ref) {
        if let Some(user) = self.users.get_mut(u) {
            if user.pending == Some(r) {
                user.pending = None;
            }
        }
    }

    fn wake_user(&mut self, sh: &mut Shared, u: Ref, delay: SimDuration, stage: UserStage, sched: &mut Scheduler<PackedEvent>) {
        let user = self.users.get_mut(u).expect("a user being scheduled is alive");
        restage(user, stage, &sh.groups, &mut sh.platforms, sched.now());
        user.token = self.tokens.fresh();
        sched.schedule(delay, Event::Wake { slot: u.slot, token: user.token });
    }

    /// Moves user `u` to `stage` at `now` (see [`restage`]).
    #[inline]
    fn set_stage(&mut self, sh: &mut Shared, u: Ref, stage: UserStage, now: SimTime) {
        let user = self.users.get_mut(u).expect("a user changing stage is alive");
        restage(user, stage, &sh.groups, &mut sh.platforms, now);
    }

    /// Removes user `u` at `now` (done, or given up), out of its platform's orbit if it was in it.
    fn remove_user(&mut self, sh: &mut Shared, u: Ref, now: SimTime) -> User {
        let user = self.users.remove(u).expect("alive");
        if user.stage.in_orbit() {
            sh.platforms[sh.groups[user.group].platform].orbit.decr(now);
        }
        user
    }

    /// Tries to log in: the admission pipeline of the user's platform answers, and the user acts on it.
    pub(super) fn try_login(&mut self, sh: &mut Shared, servers: &mut Servers, u: Ref, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let user = *self.users.get(u).expect("alive");
        let g = &sh.groups[user.group];
        let (platform, priority) = (g.platform, g.priority);
        // The ticket the room would hold: a new token, which invalidates any timer of the user's.
        let ticket = (u, self.tokens.next());
        let verdict = sh.platforms[platform].admission.login(now, g.slot_start, priority, ticket);
        if !matches!(verdict, Verdict::Later(_)) {
            self.count_return(sh, u);
        }
        self.follow(sh, servers, u, platform, verdict, sched);
    }

    /// The user acts on admission's verdict.
    fn follow(
        &mut self,
        sh: &mut Shared,
        servers: &mut Servers,
        u: Ref,
        platform: PlatformId,
        verdict: Verdict,
        sched: &mut Scheduler<PackedEvent>,
    ) {
        let now = sched.now();
        match verdict {
            // "Your class connects at 9:00": come back at the slot, with no return counted.
            Verdict::Later(slot) => self.wake_user(sh, u, slot - now, UserStage::Away, sched),
            // "When the maximum number of users is reached, you must wait your turn… come back later."
            Verdict::Refused(_) => {
                sh.platforms[platform].counts.logins_rejected += 1;
                self.count_rejection(sh, u);
                self.go_away(sh, u, sched);
            }
            Verdict::IntoRoom { release_at } => {
                self.set_stage(sh, u, UserStage::InRoom, now);
                let user = self.users.get_mut(u).expect("alive");
                user.token = self.tokens.fresh();
                let token = user.token;
                if let Some(t) = release_at {
                    sched.schedule_at(t, Event::RoomRelease { platform });
                }
                let g = &mut sh.groups[user.group];
                if let Some(patience) = g.session.as_ref().and_then(|s| s.room_patience.as_ref()) {
                    let d = patience.sample(&mut g.behaviour_rng);
                    sched.schedule(d, Event::Wake { slot: u.slot, token });
                }
            }
            Verdict::Admit { in_quota } => {
                let user = self.users.get_mut(u).expect("alive");
                user.in_quota = in_quota;
                user.next = Kind::Login;
                user.attempt = 1;
                if let Some(b) = &mut sh.groups[user.group].budget {
                    b.record_first_attempt(now);
                }
                self.send_user_request(sh, servers, u, sched);
            }
        }
    }

    fn count_rejection(&mut self, sh: &mut Shared, u: Ref) {
        let user = self.users.get_mut(u).expect("alive");
        let again = user.was_rejected;
        user.was_rejected = true;
        if user.arrived >= sh.warmup {
            let s = &mut sh.groups[user.group].stats;
            s.rejected += 1;
            if again {
                s.rejected_again += 1;
            }
        }
    }

    /// Counts a login attempt of a user refused before: the denominator of "still refused on coming back".
    fn count_return(&self, sh: &mut Shared, u: Ref) {
        let user = self.users.get(u).expect("alive");
        if user.was_rejected && user.arrived >= sh.warmup {
            sh.groups[user.group].stats.returns_after_rejection += 1;
        }
    }

    /// Sends the user's current request (`next`, attempt `attempt`), unless client-side throttling drops it.
    fn send_user_request(&mut self, sh: &mut Shared, servers: &mut Servers, u: Ref, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let user = self.users.get_mut(u).expect("alive");
        restage(user, UserStage::Requesting, &sh.groups, &mut sh.platforms, now);
        let (group, kind, first) = (user.group, user.next, user.attempt == 1);
        let platform = sh.groups[group].platform;
        let p = &mut sh.platforms[platform];
        if first {
            p.counts.first_attempts += 1;
            if now >= sh.warmup {
                sh.groups[group].stats.first_attempts += 1;
            }
        }
        if let Some(t) = &mut p.throttle {
            if t.should_reject(now, &mut p.rng) {
                p.counts.throttled += 1;
                if now >= sh.warmup {
                    sh.groups[group].stats.throttled += 1;
                }
                self.request_failed(sh, u, sched);
                return;
            }
        }
        if let Some(r) = servers.send(sh, self, group, Some(u), kind, sched) {
            if let Some(user) = self.users.get_mut(u) {
                user.pending = Some(r);
            }
        }
    }

    /// The user's request failed (timeout, refused, abandoned): retry, or give up on this session for now.
    pub(super) fn request_failed(&mut self, sh: &mut Shared, u: Ref, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let Some(user) = self.users.get(u) else {
            return;
        };
        let user = *user;
        let g = &mut sh.groups[user.group];
        let platform = g.platform;
        if user.attempt == 1 {
            sh.platforms[platform].counts.first_attempts_failed += 1;
            if now >= sh.warmup {
                g.stats.first_attempts_failed += 1;
            }
        }
        if let Some(t) = &mut sh.platforms[platform].throttle {
            t.record(now, false);
        }
        let session = g.session.as_ref().expect("users belong to session cohorts");
        let next_attempt = user.attempt + 1;
        let delay = session.retry.delay(next_attempt, &mut g.behaviour_rng);
        let allowed = delay.is_some() && g.budget.as_mut().is_none_or(|b| b.try_retry(now));
        if let (Some(delay), true) = (delay, allowed) {
            self.users.get_mut(u).expect("alive").attempt = next_attempt;
            self.wake_user(sh, u, delay, UserStage::RetryWait, sched);
            return;
        }
        if user.next == Kind::Login {
            sh.platforms[platform].counts.logins_failed += 1;
        }
        self.end_session(sh, u);
        self.go_away(sh, u, sched);
    }

    /// The user's request was answered, `latency` after it was sent: a session opens (login) or a page is
    /// read, and the user thinks before the next, or is done.
    pub(super) fn request_succeeded(&mut self, sh: &mut Shared, u: Ref, latency: SimDuration, sched: &mut Scheduler<PackedEvent>) {
        let now = sched.now();
        let Some(user) = self.users.get(u) else {
            return;
        };
        let user = *user;
        let g = &mut sh.groups[user.group];
        let platform = g.platform;
        let p = &mut sh.platforms[platform];
        if let Some(t) = &mut p.throttle {
            t.record(now, true);
        }
        p.counts.goodput += 1;
        p.minute_latencies.record(latency);
        let observed = user.arrived >= sh.warmup;
        let session = g.session.as_ref().expect("users belong to session cohorts");
        let think = session.think.sample(&mut g.behaviour_rng);
        match user.next {
            Kind::Login => {
                p.counts.logins_ok += 1;
                p.active_sessions += 1;
                let time_limit = p.time_limit;
                if observed {
                    g.stats.sessions += 1;
                }
                if !user.accessed && observed {
                    g.stats.accessed += 1;
                    g.stats.access_times.record(now - user.arrived);
                    g.stats.lost_us += u128::from((now - user.arrived).as_micros());
                    for (k, &c) in sh.checkpoints.iter().enumerate() {
                        if now <= c {
                            g.stats.accessed_by[k] += 1;
                        }
                    }
                }
                if user.class != classes::NO_CLASS {
                    self.class_logged_in(sh, u);
                }
                let user = self.users.get_mut(u).expect("alive");
                user.accessed = true;
                user.logged_in = true;
                user.session_token = self.tokens.fresh();
                if let Some(limit) = time_limit {
                    sched.schedule(limit, Event::SessionExpired { slot: u.slot, token: user.session_token });
                }
                if user.pages_left == 0 {
                    self.finish_user(sh, u, now);
                } else {
                    user.next = Kind::Page;
                    user.attempt = 1;
                    self.wake_user(sh, u, think, UserStage::Thinking, sched);
                }
            }
            Kind::Page => {
                let user = self.users.get_mut(u).expect("alive");
                user.pages_left -= 1;
                if user.pages_left == 0 {
                    self.finish_user(sh, u, now);
                } else {
                    user.attempt = 1;
                    self.wake_user(sh, u, think, UserStage::Thinking, sched);
                }
            }
            Kind::Single | Kind::Attack => unreachable!("single and attack requests have no user"),
        }
    }

    /// The user in `slot` acts on the timer it set with `token` (ignored if its plan changed since, or if
    /// it left: the slot is then empty, or another user's, whose tokens are not this one).
    pub(super) fn wake(&mut self, sh: &mut Shared, servers: &mut Servers, slot: u32, token: u32, sched: &mut Scheduler<PackedEvent>) {
        let Some((u, user)) = self.users.occupant(slot) else {
            return;
        };
        if user.token != token {
            return;
        }
        match user.stage {
            UserStage::Away | UserStage::ComingBack => self.try_login(sh, servers, u, sched),
            UserStage::RetryWait | UserStage::Thinking => {
                if user.stage == UserStage::Thinking {
                    if let Some(b) = &mut sh.groups[user.group].budget {
                        b.record_first_attempt(sched.now());
                    }
                }
                self.send_user_request(sh, servers, u, sched)
            }
            UserStage::InRoom => {
                // Room patience ran out: leave the room and come back later.
                let g = &sh.groups[user.group];
                sh.platforms[g.platform].admission.leave_room(g.priority);
                self.go_away(sh, u, sched);
            }
            UserStage::Requesting => {}
        }
    }

    /// The session (the one of `token`) of the user in `slot` reaches the platform's time limit.
    pub(super) fn session_expired(
        &mut self,
        sh: &mut Shared,
        servers: &mut Servers,
        slot: u32,
        token: u32,
        sched: &mut Scheduler<PackedEvent>,
    ) {
        let Some((u, user)) = self.users.occupant(slot) else {
            return;
        };
        if user.session_token != token || !user.logged_in {
            return;
        }
        let user = *user;
        if user.arrived >= sh.warmup {
            sh.groups[user.group].stats.kicked += 1;
        }
        if let Some(r) = user.pending {
            // The page being loaded is lost with the session: its remaining work is wasted.
            servers.orphan(sh, r, sched);
        }
        self.end_session(sh, u);
        self.go_away(sh, u, sched);
    }

    /// Closes the user's session, if open, and frees their quota place.
    fn end_session(&mut self, sh: &mut Shared, u: Ref) {
        let user = self.users.get_mut(u).expect("alive");
        let platform = sh.groups[user.group].platform;
        let p = &mut sh.platforms[platform];
        if user.logged_in {
            user.logged_in = false;
            user.session_token = self.tokens.fresh();
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
    fn go_away(&mut self, sh: &mut Shared, u: Ref, sched: &mut Scheduler<PackedEvent>) {
        let user = self.users.get_mut(u).expect("alive");
        user.returns += 1;
        // A class participant whose class has been judged stops trying.
        let class_over = classes::over(sh, user);
        let (group, returns) = (user.group, user.returns);
        let g = &sh.groups[group];
        let session = g.session.as_ref().expect("users belong to session cohorts");
        if returns > session.max_returns || class_over {
            let platform = g.platform;
            let user = self.remove_user(sh, u, sched.now());
            sh.platforms[platform].counts.gave_up += 1;
            if user.arrived >= sh.warmup {
                let g = &mut sh.groups[group];
                g.stats.gave_up += 1;
                if !user.accessed {
                    g.stats.lost_us += u128::from((sh.horizon - user.arrived).as_micros());
                }
            }
            return;
        }
        let g = &mut sh.groups[group];
        let session = g.session.as_ref().expect("users belong to session cohorts");
        if session.retrial == Retrial::Constant {
            // A constant retrial rate: the user joins the platform's queue of come-backs, whose own timer
            // (armed when the queue was empty, from the delay of the cohort of the user it brings back next)
            // sends its users back one at a time.
            let platform = g.platform;
            let user = self.users.get_mut(u).expect("alive");
            restage(user, UserStage::ComingBack, &sh.groups, &mut sh.platforms, sched.now());
            user.token = self.tokens.fresh();
            let queue = &mut sh.platforms[platform].retrial_queue;
            queue.users.push_back((u, user.token));
            if !queue.armed {
                queue.armed = true;
                let g = &mut sh.groups[group];
                let delay = g.session.as_ref().expect("users belong to session cohorts").comeback_delay.sample(&mut g.behaviour_rng);
                sched.schedule(delay, Event::OrbitRetry { platform });
            }
            return;
        }
        let delay = session.comeback_delay.sample(&mut g.behaviour_rng);
        self.wake_user(sh, u, delay, UserStage::ComingBack, sched);
    }

    /// The queue of come-backs of `platform` (constant retrial rate) sends its first user back, and arms its
    /// timer for the next one while any is left: one come-back per delay whatever the orbit's size.
    pub(super) fn orbit_retry(&mut self, sh: &mut Shared, servers: &mut Servers, platform: PlatformId, sched: &mut Scheduler<PackedEvent>) {
        let users = &self.users;
        let live = |&(u, token): &(Ref, u32)| users.get(u).is_some_and(|x| x.token == token && x.stage == UserStage::ComingBack);
        let queue = &mut sh.platforms[platform].retrial_queue;
        // Entries whose user changed plans since are skipped: the first live one comes back, and the head
        // left behind it is live too.
        let next = std::iter::from_fn(|| queue.users.pop_front()).find(live).map(|(u, _)| u);
        while queue.users.front().is_some_and(|e| !live(e)) {
            queue.users.pop_front();
        }
        // Armed before the user tries, from the delay of the next user's cohort: if this try fails, the user
        // rejoins the queue behind the others.
        match queue.users.front() {
            None => queue.armed = false,
            Some(&(head, _)) => {
                let g = &mut sh.groups[users.get(head).expect("a live head").group];
                let delay = g.session.as_ref().expect("users belong to session cohorts").comeback_delay.sample(&mut g.behaviour_rng);
                sched.schedule(delay, Event::OrbitRetry { platform });
            }
        }
        if let Some(u) = next {
            let user = self.users.get_mut(u).expect("checked live");
            user.token = self.tokens.fresh();
            self.try_login(sh, servers, u, sched);
        }
    }

    fn finish_user(&mut self, sh: &mut Shared, u: Ref, now: SimTime) {
        self.end_session(sh, u);
        let user = self.remove_user(sh, u, now);
        if user.arrived >= sh.warmup {
            sh.groups[user.group].stats.completed += 1;
        }
    }

    /// The waiting room of `platform` releases its next user, who goes on to the quota.
    pub(super) fn room_release(
        &mut self,
        sh: &mut Shared,
        servers: &mut Servers,
        platform: PlatformId,
        sched: &mut Scheduler<PackedEvent>,
    ) {
        let now = sched.now();
        let p = &mut sh.platforms[platform];
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
            user.token = self.tokens.fresh();
            let verdict = p.admission.admit_session();
            self.set_stage(sh, u, UserStage::Requesting, now);
            self.follow(sh, servers, u, platform, verdict, sched);
        }
    }
}

/// Moves `user` to `stage` at `now`, keeping its platform's orbit (see [`UserStage::in_orbit`]) in step.
/// A function of the parts it touches, so that a caller holding the user need not look it up again.
#[inline]
fn restage(user: &mut User, stage: UserStage, groups: &IdVec<GroupId, Group>, platforms: &mut IdVec<PlatformId, Platform>, now: SimTime) {
    let (was, is) = (user.stage.in_orbit(), stage.in_orbit());
    user.stage = stage;
    if was != is {
        let orbit = &mut platforms[groups[user.group].platform].orbit;
        if is {
            orbit.incr(now);
        } else {
            orbit.decr(now);
        }
    }
}
