//! A rate-based virtual waiting room (Queue-it style), as put in front of a platform expecting a rush.
//!
//! Users who reach the platform join a queue instead of the site; the room lets them through one at a time
//! at a fixed rate, `admit_per_min` per minute, evenly spaced (one every `60 / admit_per_min` seconds), in
//! arrival order. The platform behind it therefore sees a smooth, bounded arrival rate whatever the crowd
//! outside does; the crowd's excess becomes waiting time in the room, where it costs nothing but the users'
//! patience. Each user learns their position when joining, which is what a user's decision to abandon (or
//! to stay) is based on. Refinements modelled:
//!
//! - an *opening time*: before `opens_at` nobody is admitted. With `shuffle_prequeue`, everyone who joined
//!   before opening is put in a random order at opening ("shuffle everyone who arrived before opening into a
//!   random pre-queue"), so that being on the page at 7:59:59.9 gives no edge over 7:55 and there is no
//!   incentive to hammer the page before the start; users who join at or after `opens_at` queue behind the
//!   pre-queue in arrival order;
//! - *priority classes*: class 0 is the highest (e.g. staff before pupils); a waiting user of a higher class
//!   is always admitted before any user of a lower one, FIFO within a class;
//! - *abandonment*: a user who gives up is not searched for in the queue; the world marks them gone, calls
//!   [`WaitingRoom::leave`] to keep the live count right, and the entry is skipped when it reaches the front
//!   (the world's liveness check decides). A skipped entry does not use an admission slot.
//!
//! # Protocol with a discrete-event world
//!
//! The room never schedules anything; the world keeps at most one pending "release" event for it:
//!
//! 1. a user arrives at `now`: `let position = room.join(now, user, class)`; then, if no release event is
//!    pending, `if let Some(t) = room.next_release_at(now)` schedule one at `t`;
//! 2. the release event fires at `now`: mark it no longer pending; `if let Some(user) = room.release(now,
//!    rng, |u| is_waiting(u))` admit `user`; then, whatever `release` returned, `if let Some(t) =
//!    room.next_release_at(now)` schedule the next release at `t`;
//! 3. a waiting user abandons: the world marks them gone (so `is_waiting` returns false for them) and calls
//!    `room.leave(class)`. No event changes.
//!
//! [`WaitingRoom::next_release_at`] never returns a time before `now`, and a join never makes the next
//! admission earlier than an already-pending event (the event sits at the earliest instant the rate allows),
//! so the single pending event is always right. A `release` called too early (before `opens_at` or before
//! the rate allows) admits nobody and changes nothing, so a stray event cannot break the rate.
//!
//! # Rate
//!
//! While the room stays busy, the `k`-th admission after the one that started the busy run happens at
//! `start + round(k × 60 / admit_per_min s)`, computed from `k` rather than by adding a rounded interval to
//! the previous time: a rate like 7 per minute (one every 8.571 428 57… s) then holds exactly over a run of
//! any length instead of drifting by the rounding at each step. When the room runs empty and someone joins
//! after the next slot has passed, that user goes through at once and a new run starts.

use super::{positive, PolicyError};
use crate::engine::{SimDuration, SimTime, MICROS_PER_S};
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::VecDeque;

/// A FIFO waiting room admitting users at a fixed rate, with priority classes, an optional shuffled
/// pre-queue and lazy removal of users who abandoned. `T` is the world's handle for a user.
#[derive(Debug, Clone)]
pub struct WaitingRoom<T> {
    admit_per_min: f64,
    /// Microseconds between admissions, kept unrounded (see the module documentation, "Rate").
    interval_us: f64,
    opens_at: SimTime,
    shuffle_prequeue: bool,
    /// Whether the opening (and its shuffle) has happened.
    opened: bool,
    /// One FIFO per class, class 0 first; entries of users who left stay until they reach the front.
    queues: Vec<VecDeque<T>>,
    /// Per class, how many entries at the front joined before `opens_at`; only meaningful until opening.
    prequeue_len: Vec<usize>,
    /// Per class, entries whose user left (per `leave`) and that have not been skipped yet.
    abandoned: Vec<u64>,
    /// Entries in all queues, live or not.
    entries: usize,
    /// Sum of `abandoned`, so that the live count is O(1).
    abandoned_total: u64,
    /// The admission that started the current busy run.
    run_start: SimTime,
    /// Admissions in the current run after `run_start`.
    run_len: u64,
    /// The earliest instant the rate allows the next admission (zero before the first one).
    next_allowed: SimTime,
    released_total: u64,
    skipped_total: u64,
}

impl<T: Copy> WaitingRoom<T> {
    /// A room admitting `admit_per_min` users per minute from `opens_at` on, with `classes` priority
    /// classes (1 for plain FIFO), shuffling the users who joined before `opens_at` if `shuffle_prequeue`.
    ///
    /// # Panics
    /// If the parameters are invalid (see [`WaitingRoom::try_new`]).
    pub fn new(admit_per_min: f64, opens_at: SimTime, shuffle_prequeue: bool, classes: usize) -> Self {
        Self::try_new(admit_per_min, opens_at, shuffle_prequeue, classes).expect("invalid waiting room")
    }

    /// As [`WaitingRoom::new`], returning an error unless `admit_per_min` is finite and positive and
    /// `classes >= 1`.
    pub fn try_new(admit_per_min: f64, opens_at: SimTime, shuffle_prequeue: bool, classes: usize) -> Result<Self, PolicyError> {
        let admit_per_min = positive("admit_per_min", admit_per_min)?;
        if classes == 0 {
            return Err(PolicyError { parameter: "classes", found: 0.0, expected: "an integer >= 1" });
        }
        Ok(WaitingRoom {
            admit_per_min,
            interval_us: 60.0 * MICROS_PER_S as f64 / admit_per_min,
            opens_at,
            shuffle_prequeue,
            opened: false,
            queues: (0..classes).map(|_| VecDeque::new()).collect(),
            prequeue_len: vec![0; classes],
            abandoned: vec![0; classes],
            entries: 0,
            abandoned_total: 0,
            run_start: SimTime::ZERO,
            run_len: 0,
            next_allowed: SimTime::ZERO,
            released_total: 0,
            skipped_total: 0,
        })
    }

    /// Admissions per minute.
    pub fn admit_per_min(&self) -> f64 {
        self.admit_per_min
    }

    /// The spacing between admissions, to the nearest microsecond.
    pub fn interval(&self) -> SimDuration {
        SimDuration::from_secs_f64(self.interval_us / MICROS_PER_S as f64)
    }

    /// When the room opens.
    pub fn opens_at(&self) -> SimTime {
        self.opens_at
    }

    /// The number of priority classes.
    pub fn classes(&self) -> usize {
        self.queues.len()
    }

    /// Adds `user` of priority `class` (0 = highest) at `now`; returns the user's position at joining
    /// (1 = next): the live users of the same or a higher class already waiting, plus one. Users of a higher
    /// class who join later will pass ahead, so the position is a snapshot. Before opening with a shuffled
    /// pre-queue the position is provisional (the shuffle at opening redraws it uniformly within the
    /// pre-queue of the class).
    ///
    /// # Panics
    /// If `class >= classes()`.
    pub fn join(&mut self, now: SimTime, user: T, class: usize) -> u64 {
        self.queues[class].push_back(user);
        self.entries += 1;
        if now < self.opens_at {
            debug_assert!(!self.opened, "joined before opening after the room opened: time went backwards");
            self.prequeue_len[class] += 1;
        }
        (0..=class).map(|c| self.live_len_of(c)).sum()
    }

    /// When the next admission may happen: at or after `now`, at or after `opens_at`, and no earlier than
    /// the rate allows after the last admission. `None` when no entry is waiting. Entries of users who left
    /// count until skipped, so this can return a time at which `release` finds nobody live: that costs one
    /// empty event, after which the room is empty.
    pub fn next_release_at(&self, now: SimTime) -> Option<SimTime> {
        if self.entries == 0 {
            None
        } else {
            Some(now.max(self.opens_at).max(self.next_allowed))
        }
    }

    /// Admits the next live user at `now` (the world calls it at [`WaitingRoom::next_release_at`]). At the
    /// first call at or after `opens_at`, shuffles the pre-queue of each class first if the room was built
    /// with `shuffle_prequeue`, drawing from `rng`. Then pops entries from the highest class with any,
    /// skipping (and dropping) those for which `is_live` is false, and records the admission so that the
    /// rate holds. Returns `None` if nobody live is waiting, or if `now` is before `opens_at` or before the
    /// rate allows (in which case nothing changes).
    pub fn release<R: Rng + ?Sized>(&mut self, now: SimTime, rng: &mut R, mut is_live: impl FnMut(T) -> bool) -> Option<T> {
        if now < self.opens_at || now < self.next_allowed {
            return None;
        }
        if !self.opened {
            self.open(rng);
        }
        for class in 0..self.queues.len() {
            while let Some(user) = self.queues[class].pop_front() {
                self.entries -= 1;
                if is_live(user) {
                    // A world that called `leave` for a user it still reports live would leave more
                    // abandonments than entries; clamp so the live count cannot underflow.
                    let waiting = self.queues[class].len() as u64;
                    if self.abandoned[class] > waiting {
                        self.abandoned_total -= self.abandoned[class] - waiting;
                        self.abandoned[class] = waiting;
                    }
                    self.record_admission(now);
                    return Some(user);
                }
                // Saturating: a world that does not call `leave` still gets its dead entries skipped.
                if self.abandoned[class] > 0 {
                    self.abandoned[class] -= 1;
                    self.abandoned_total -= 1;
                }
                self.skipped_total += 1;
            }
        }
        None
    }

    /// A waiting user of `class` abandoned: the live count drops now, the entry is skipped when reached.
    /// Calling it more often than users of that class are waiting is a logic error (debug assertion); release
    /// builds ignore the excess.
    ///
    /// # Panics
    /// If `class >= classes()`.
    pub fn leave(&mut self, class: usize) {
        let waiting = self.queues[class].len() as u64;
        debug_assert!(self.abandoned[class] < waiting, "more users left class {class} than were waiting");
        if self.abandoned[class] < waiting {
            self.abandoned[class] += 1;
            self.abandoned_total += 1;
        }
    }

    /// Entries in the room, including those of users who left and have not been skipped yet.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether no entry is waiting.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Users waiting who have not left (as told by [`WaitingRoom::leave`]).
    pub fn live_len(&self) -> u64 {
        self.entries as u64 - self.abandoned_total
    }

    /// Users of `class` waiting who have not left.
    ///
    /// # Panics
    /// If `class >= classes()`.
    pub fn live_len_of(&self, class: usize) -> u64 {
        self.queues[class].len() as u64 - self.abandoned[class]
    }

    /// An estimate of when a user now at `position` (1 = next) will be admitted, assuming the room stays
    /// busy and no higher-priority user joins: the next slot plus `position - 1` intervals. What a waiting
    /// room displays to its users.
    pub fn estimated_admission_at(&self, now: SimTime, position: u64) -> SimTime {
        let next = now.max(self.opens_at).max(self.next_allowed);
        let ahead = position.saturating_sub(1) as f64;
        next + SimDuration((ahead * self.interval_us + 0.5) as u64)
    }

    /// Users admitted so far.
    pub fn released_total(&self) -> u64 {
        self.released_total
    }

    /// Entries skipped because their user had left.
    pub fn skipped_total(&self) -> u64 {
        self.skipped_total
    }

    /// The opening: shuffles each class's pre-queue if asked, and forgets the pre-queue boundaries.
    fn open<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        if self.shuffle_prequeue {
            for (queue, &n) in self.queues.iter_mut().zip(&self.prequeue_len) {
                // Nothing was popped before opening, so the pre-queue is the front of the queue.
                queue.make_contiguous()[..n].shuffle(rng);
            }
        }
        self.prequeue_len.fill(0);
        self.opened = true;
    }

    /// Records an admission at `now` and computes when the next one may happen.
    fn record_admission(&mut self, now: SimTime) {
        if self.released_total > 0 && now == self.next_allowed {
            // The next slot of a busy run.
            self.run_len += 1;
        } else {
            // The first admission, or the room had gone idle past its next slot: a new run starts here.
            self.run_start = now;
            self.run_len = 0;
        }
        let offset_us = ((self.run_len + 1) as f64 * self.interval_us + 0.5) as u64;
        self.next_allowed = self.run_start + SimDuration(offset_us);
        self.released_total += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::random::stream;
    use crate::engine::EventQueue;

    fn at_s(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    /// The world side of the protocol for tests: users join at given times, some abandon at given times;
    /// returns (admission time, user) in order. Follows the module documentation's protocol to the letter.
    fn drive(room: &mut WaitingRoom<usize>, joins: &[(SimTime, usize)], abandons: &[(SimTime, usize)], seed: u64) -> Vec<(SimTime, usize)> {
        #[derive(Clone, Copy)]
        enum Ev {
            Join(usize),
            Abandon(usize),
            Release,
        }
        let mut rng = stream(seed, 0, "room-test");
        let mut events = EventQueue::new();
        for &(t, u) in joins {
            events.push(t, Ev::Join(u));
        }
        for &(t, u) in abandons {
            events.push(t, Ev::Abandon(u));
        }
        let users = joins.iter().map(|&(_, u)| u + 1).max().unwrap_or(0);
        // 0 = not arrived, 1 = waiting, 2 = gone (admitted or abandoned).
        let mut state = vec![0u8; users];
        let mut pending = false;
        let mut admitted = Vec::new();
        while let Some((now, ev)) = events.pop() {
            match ev {
                Ev::Join(u) => {
                    state[u] = 1;
                    room.join(now, u, 0);
                    if !pending {
                        if let Some(t) = room.next_release_at(now) {
                            assert!(t >= now);
                            events.push(t, Ev::Release);
                            pending = true;
                        }
                    }
                }
                Ev::Abandon(u) => {
                    if state[u] == 1 {
                        state[u] = 2;
                        room.leave(0);
                    }
                }
                Ev::Release => {
                    pending = false;
                    if let Some(u) = room.release(now, &mut rng, |u| state[u] == 1) {
                        state[u] = 2;
                        admitted.push((now, u));
                    }
                    if let Some(t) = room.next_release_at(now) {
                        events.push(t, Ev::Release);
                        pending = true;
                    }
                }
            }
        }
        assert!(room.is_empty());
        admitted
    }

    #[test]
    fn admits_in_order_and_at_its_rate() {
        // 120 per minute = one every 0.5 s, opening at 10 s; 200 users arrive every 0.1 s from 5 s, faster
        // than the room admits, so the room stays busy and every gap must be exactly 0.5 s.
        let mut room = WaitingRoom::new(120.0, at_s(10.0), false, 1);
        let joins: Vec<_> = (0..200).map(|u| (at_s(5.0 + 0.1 * u as f64), u)).collect();
        let admitted = drive(&mut room, &joins, &[], 1);
        assert_eq!(admitted.len(), 200);
        for (k, &(t, u)) in admitted.iter().enumerate() {
            assert_eq!(u, k, "FIFO order");
            assert_eq!(t, at_s(10.0 + 0.5 * k as f64), "admission {k}");
        }
        assert_eq!(room.released_total(), 200);
    }

    #[test]
    fn a_fractional_rate_does_not_drift() {
        // 7 per minute: one every 8.571428571... s. After 10,000 admissions the k-th must still sit at the
        // exact instant rounded to the microsecond, not accumulate 10,000 roundings.
        let mut room = WaitingRoom::new(7.0, SimTime::ZERO, false, 1);
        let joins: Vec<_> = (0..10_000).map(|u| (SimTime::ZERO, u)).collect();
        let admitted = drive(&mut room, &joins, &[], 2);
        for (k, &(t, _)) in admitted.iter().enumerate() {
            let exact_us = k as f64 * 60e6 / 7.0;
            assert!((t.as_micros() as f64 - exact_us).abs() <= 0.5, "admission {k} at {t}");
        }
    }

    #[test]
    fn an_idle_room_admits_a_newcomer_at_once() {
        let mut room = WaitingRoom::new(60.0, at_s(0.0), false, 1);
        let joins = [(at_s(1.0), 0), (at_s(1.2), 1), (at_s(10.0), 2), (at_s(10.5), 3)];
        let admitted = drive(&mut room, &joins, &[], 3);
        assert_eq!(admitted, vec![(at_s(1.0), 0), (at_s(2.0), 1), (at_s(10.0), 2), (at_s(11.0), 3)]);
    }

    #[test]
    fn the_opening_shuffle_permutes_the_prequeue_only() {
        // 1,000 users before opening, 50 at and after it. The first 1,000 admitted must be a permutation of
        // the pre-queue, far from the identity, and the 50 latecomers must follow in arrival order.
        let n_pre = 1_000usize;
        let opens_at = at_s(100.0);
        let mut room = WaitingRoom::new(6_000.0, opens_at, true, 1);
        let mut joins: Vec<_> = (0..n_pre).map(|u| (at_s(0.05 * u as f64), u)).collect();
        joins.extend((0..50).map(|i| (at_s(100.0 + 0.001 * i as f64), n_pre + i)));
        let order: Vec<usize> = drive(&mut room, &joins, &[], 4).into_iter().map(|(_, u)| u).collect();
        assert_eq!(order.len(), n_pre + 50);
        let mut pre: Vec<usize> = order[..n_pre].to_vec();
        assert_ne!(pre, (0..n_pre).collect::<Vec<_>>(), "the pre-queue was not shuffled");
        // A uniform shuffle leaves no correlation between joining and admission rank: Spearman's rho of a
        // random permutation has mean 0 and standard deviation 1 / sqrt(n - 1).
        let n = n_pre as f64;
        let d2: f64 = pre.iter().enumerate().map(|(rank, &u)| (rank as f64 - u as f64).powi(2)).sum();
        let rho = 1.0 - 6.0 * d2 / (n * (n * n - 1.0));
        assert!(rho.abs() < 5.0 / (n - 1.0).sqrt(), "rank correlation {rho}");
        pre.sort_unstable();
        assert_eq!(pre, (0..n_pre).collect::<Vec<_>>(), "not a permutation of the pre-queue");
        assert_eq!(order[n_pre..], (n_pre..n_pre + 50).collect::<Vec<_>>()[..], "latecomers were shuffled");
    }

    #[test]
    fn without_shuffle_the_prequeue_keeps_its_order() {
        let mut room = WaitingRoom::new(600.0, at_s(50.0), false, 1);
        let joins: Vec<_> = (0..100).map(|u| (at_s(0.1 * u as f64), u)).collect();
        let order: Vec<usize> = drive(&mut room, &joins, &[], 5).into_iter().map(|(_, u)| u).collect();
        assert_eq!(order, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn users_who_left_are_skipped_without_using_a_slot() {
        // One admission per second from 0; users 1, 2 and 5 abandon while waiting. The live ones go through
        // in order at consecutive seconds: a skipped entry does not waste the slot.
        let mut room = WaitingRoom::new(60.0, SimTime::ZERO, false, 1);
        let joins: Vec<_> = (0..8).map(|u| (SimTime::ZERO, u)).collect();
        let abandons = [(at_s(0.5), 1), (at_s(0.5), 2), (at_s(0.7), 5)];
        let admitted = drive(&mut room, &joins, &abandons, 6);
        let expected: Vec<_> = [0, 3, 4, 6, 7].iter().enumerate().map(|(k, &u)| (at_s(k as f64), u)).collect();
        assert_eq!(admitted, expected);
        assert_eq!(room.skipped_total(), 3);
        assert_eq!(room.live_len(), 0);
    }

    #[test]
    fn live_count_and_positions_account_for_leavers() {
        let mut rng = stream(7, 0, "room-test");
        let mut room: WaitingRoom<u32> = WaitingRoom::new(60.0, at_s(10.0), false, 1);
        assert_eq!(room.join(at_s(1.0), 10, 0), 1);
        assert_eq!(room.join(at_s(2.0), 11, 0), 2);
        assert_eq!(room.join(at_s(3.0), 12, 0), 3);
        room.leave(0); // user 11
        assert_eq!((room.len(), room.live_len()), (3, 2));
        assert_eq!(room.join(at_s(4.0), 13, 0), 3);
        // Before opening nothing is admitted and nothing changes.
        assert_eq!(room.release(at_s(9.0), &mut rng, |_| true), None);
        assert_eq!(room.next_release_at(at_s(4.0)), Some(at_s(10.0)));
        let alive = |u: u32| u != 11;
        assert_eq!(room.release(at_s(10.0), &mut rng, alive), Some(10));
        // Too early for the rate: nothing admitted, the next slot unchanged.
        assert_eq!(room.release(at_s(10.5), &mut rng, alive), None);
        assert_eq!(room.next_release_at(at_s(10.5)), Some(at_s(11.0)));
        assert_eq!(room.estimated_admission_at(at_s(10.5), 2), at_s(12.0));
        assert_eq!(room.release(at_s(11.0), &mut rng, alive), Some(12));
        assert_eq!((room.len(), room.live_len(), room.skipped_total()), (1, 1, 1));
        assert_eq!(room.release(at_s(12.0), &mut rng, alive), Some(13));
        assert_eq!(room.next_release_at(at_s(12.0)), None);
        assert_eq!(room.release(at_s(20.0), &mut rng, alive), None);
    }

    #[test]
    fn a_higher_class_is_always_admitted_first() {
        let mut rng = stream(8, 0, "room-test");
        let mut room: WaitingRoom<(usize, u32)> = WaitingRoom::new(60.0, at_s(5.0), true, 2);
        // Pupils (class 1) come first, then staff (class 0), all before opening and then after it.
        for i in 0..30 {
            room.join(at_s(f64::from(i) * 0.1), (1, i), 1);
        }
        for i in 0..10 {
            let position = room.join(at_s(3.0 + f64::from(i) * 0.1), (0, i), 0);
            // Staff only queue behind staff.
            assert_eq!(position, u64::from(i) + 1);
        }
        assert_eq!(room.join(at_s(6.0), (1, 100), 1), 41);
        let mut order = Vec::new();
        let mut now = at_s(6.0);
        while let Some(t) = room.next_release_at(now) {
            now = t;
            if now == at_s(8.0) {
                // A staff member arriving mid-way still passes every waiting pupil.
                room.join(now, (0, 100), 0);
            }
            order.push(room.release(now, &mut rng, |_| true).unwrap());
        }
        assert_eq!(order.len(), 42);
        let classes: Vec<usize> = order.iter().map(|&(c, _)| c).collect();
        assert!(classes[..11].iter().all(|&c| c == 0), "{classes:?}");
        assert!(classes[11..].iter().all(|&c| c == 1), "{classes:?}");
        // The latecomer joined after opening, so it queues behind the staff pre-queue (FIFO within its class)
        // but ahead of every pupil, including those who had waited since before opening.
        assert_eq!(order[10], (0, 100), "{order:?}");
        // Each pre-queue was shuffled within its class; the pupil who joined after opening comes last.
        assert_eq!(*order.last().unwrap(), (1, 100));
        let mut staff: Vec<u32> = order[..10].iter().map(|&(_, i)| i).collect();
        staff.sort_unstable();
        assert_eq!(staff, (0..10).collect::<Vec<_>>());
        let mut pupils: Vec<u32> = order[11..41].iter().map(|&(_, i)| i).collect();
        assert_ne!(pupils, (0..30).collect::<Vec<_>>(), "pupils were not shuffled");
        pupils.sort_unstable();
        assert_eq!(pupils, (0..30).collect::<Vec<_>>());
    }

    #[test]
    fn invalid_rooms_are_rejected() {
        assert!(WaitingRoom::<u32>::try_new(0.0, SimTime::ZERO, false, 1).is_err());
        assert!(WaitingRoom::<u32>::try_new(f64::INFINITY, SimTime::ZERO, false, 1).is_err());
        assert!(WaitingRoom::<u32>::try_new(60.0, SimTime::ZERO, false, 0).is_err());
    }
}
