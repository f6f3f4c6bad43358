//! The scheduler loop: a clock, the pending-event set and the model that handles events.

use super::queue::EventQueue;
use super::time::{SimDuration, SimTime};

/// A simulated system: it reacts to one event at a time and may schedule more.
///
/// The engine calls [`Model::handle`] for each event in time order; the model owns all its state, so a run is
/// a plain value that can be sent to another thread.
pub trait Model {
    /// The closed set of events this model understands: small plain values, copied in and out of the
    /// pending set.
    type Event: Copy;
    /// Reacts to `event` at the scheduler's current time.
    fn handle(&mut self, event: Self::Event, sched: &mut Scheduler<Self::Event>);

    /// A hint that `next` will probably be handled a few events from now ([`PREFETCH_AHEAD`]): a model
    /// whose events point into large tables can start loading the record now, so that the memory access
    /// overlaps with the work of the events in between. Must not change any state. Default: nothing.
    #[inline]
    fn prefetch(&self, _next: &Self::Event) {}

    /// A second hint for the same event, given closer to it ([`PREFETCH_SECOND_AHEAD`]), when the record
    /// [`Model::prefetch`] asked for has had time to arrive: a model can read it and start loading the
    /// record it points to (a request's user). Must not change any state. Default: nothing.
    #[inline]
    fn prefetch_second(&self, _next: &Self::Event) {}

    /// Whether [`Model::prefetch_second`] is worth its cost now: its records lie beyond the cache, where a
    /// load stalls. Asked at the start of a run and every [`CHECK_EVENTS`] events; while false, the
    /// scheduler skips the second hint and its look into the queue. Default: never.
    #[inline]
    fn second_hint_pays(&self) -> bool {
        false
    }

    /// Whether the model asks the run to stop now (it outgrew the records it was allowed). Asked every
    /// [`CHECK_EVENTS`] events. Default: never.
    #[inline]
    fn halted(&self) -> bool {
        false
    }
}

/// Events handled at one instant (give or take [`CHECK_EVENTS`]) after which the clock is judged stuck: a model whose simulated time no
/// longer advances (a zero-length loop: zero think and service times, instant come-backs without end)
/// would otherwise run for ever with flat memory. 2^24 is far above any real burst at one microsecond
/// (the national replay's largest is a few hundred) and costs a few seconds to reach.
pub const STALL_EVENTS: u64 = 1 << 24;

/// How often (in events handled) [`Scheduler::run_until`] asks [`Model::halted`] and reads the clock for
/// [`STALL_EVENTS`]: records grow by a few per event, so a halt overshoots by a few thousand records.
pub const CHECK_EVENTS: u64 = 1 << 12;

/// Why [`Scheduler::run_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Every event due by the requested instant was handled.
    Reached,
    /// About [`STALL_EVENTS`] events in a row were handled at the same instant `at`; the rest are pending.
    Stalled {
        /// The instant the clock is stuck at.
        at: SimTime,
    },
    /// The model asked to stop ([`Model::halted`]).
    Halted,
}

/// How many events ahead [`Model::prefetch`] is told of. A load from main memory takes as long as handling
/// a few events, so a hint given one event ahead hides only part of it; several in flight at once hide most.
/// Measured on the national replay at full scale, alternated runs of one binary per value: 4 ahead took
/// 33.6 s, 6 ahead 29.1 s, 8 ahead 29.6 s, 12 ahead 30.4 s and 16 ahead 31.1 s (further hints are
/// evicted, or overtaken by pushes, before their event comes). On the M/M/c bench, whose records all stay
/// in cache, 6 costs 2% more time than 4 for 0.3% more instructions.
pub const PREFETCH_AHEAD: usize = 6;

/// How many events ahead [`Model::prefetch_second`] is told of: half way between the first hint and the
/// event, so that the first hint's record has arrived and the second's has time to. 2 and 4 ahead were
/// measured the same as 3 within the machine's noise (full-scale replay, alternated runs).
pub const PREFETCH_SECOND_AHEAD: usize = 3;

/// The clock and the pending events of one run.
#[derive(Debug)]
pub struct Scheduler<E> {
    now: SimTime,
    queue: EventQueue<E>,
    processed: u64,
}

impl<E: Copy> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Scheduler<E> {
    /// A scheduler at time zero with nothing pending.
    pub fn new() -> Self {
        Scheduler { now: SimTime::ZERO, queue: EventQueue::new(), processed: 0 }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` after `delay` (zero means "now, after the events already due now"). The event is
    /// anything that converts into the queue's item type: a model whose queue holds its events packed
    /// schedules them in their plain form.
    #[inline]
    pub fn schedule(&mut self, delay: SimDuration, event: impl Into<E>) {
        self.queue.push(self.now + delay, event.into());
    }

    /// Schedules `event` at the absolute instant `at`; an instant in the past is treated as now.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: impl Into<E>) {
        self.queue.push(at.max(self.now), event.into());
    }

    /// Number of events handled so far.
    pub fn events_processed(&self) -> u64 {
        self.processed
    }

    /// Number of events pending.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Handles the next event, if any, and returns its time.
    pub fn step<M: Model<Event = E>>(&mut self, model: &mut M) -> Option<SimTime> {
        let (t, event) = self.queue.pop()?;
        self.now = t;
        self.processed += 1;
        model.handle(event, self);
        Some(t)
    }

    /// Handles every event due at or before `until`, then sets the clock to `until`; stops early if the clock
    /// gets stuck ([`Stop::Stalled`]) or the model halts ([`Stop::Halted`]).
    pub fn run_until<M: Model<Event = E>>(&mut self, model: &mut M, until: SimTime) -> Stop {
        // Both guards look every CHECK_EVENTS events only, so the loop keeps one predictable branch. The clock
        // is monotone: equal readings at two checks mean every event between them happened at that instant.
        let (mut checked_at, mut stuck_checks) = (self.now, 0u64);
        let mut second_hint = model.second_hint_pays();
        while let Some(t) = self.queue.peek_time() {
            if t > until {
                break;
            }
            let (t, event) = self.queue.pop().expect("peeked");
            self.now = t;
            self.processed += 1;
            // After the pop, the event at index k of the run is k + 1 events away.
            if let Some(next) = self.queue.peek_ahead(PREFETCH_AHEAD - 1) {
                model.prefetch(next);
            }
            if second_hint {
                if let Some(next) = self.queue.peek_ahead(PREFETCH_SECOND_AHEAD - 1) {
                    model.prefetch_second(next);
                }
            }
            model.handle(event, self);
            if self.processed % CHECK_EVENTS == 0 {
                if model.halted() {
                    return Stop::Halted;
                }
                second_hint = model.second_hint_pays();
                if self.now == checked_at {
                    stuck_checks += 1;
                    if stuck_checks >= STALL_EVENTS / CHECK_EVENTS {
                        return Stop::Stalled { at: self.now };
                    }
                } else {
                    (checked_at, stuck_checks) = (self.now, 0);
                }
            }
        }
        self.now = self.now.max(until);
        Stop::Reached
    }

    /// Handles the next event (as [`Scheduler::step`]) after showing it to `observe`: for diagnosing a run
    /// that stopped, never on the hot path.
    pub fn step_observed<M: Model<Event = E>>(&mut self, model: &mut M, observe: impl FnOnce(&E)) -> Option<SimTime> {
        let (t, event) = self.queue.pop()?;
        observe(&event);
        self.now = t;
        self.processed += 1;
        model.handle(event, self);
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model that records what it sees and reschedules a countdown.
    struct Recorder(Vec<(u64, u32)>);

    impl Model for Recorder {
        type Event = u32;
        fn handle(&mut self, event: u32, sched: &mut Scheduler<u32>) {
            self.0.push((sched.now().as_micros(), event));
            if event > 0 && event < 10 {
                sched.schedule(SimDuration(5), event - 1);
            }
        }
    }

    #[test]
    fn run_until_stops_at_the_horizon_and_keeps_the_rest() {
        let mut s = Scheduler::new();
        let mut m = Recorder(Vec::new());
        s.schedule_at(SimTime(0), 3u32);
        s.schedule_at(SimTime(100), 42u32);
        assert_eq!(s.run_until(&mut m, SimTime(12)), Stop::Reached);
        assert_eq!(m.0, vec![(0, 3), (5, 2), (10, 1)]);
        assert_eq!(s.now(), SimTime(12));
        assert_eq!(s.pending(), 2);
        s.run_until(&mut m, SimTime(1000));
        assert_eq!(m.0.last(), Some(&(100, 42)));
        assert_eq!(s.events_processed(), 5);
    }

    /// A model that reschedules itself at the same instant for ever.
    struct Loop;

    impl Model for Loop {
        type Event = ();
        fn handle(&mut self, _: (), sched: &mut Scheduler<()>) {
            sched.schedule(SimDuration::ZERO, ());
        }
    }

    #[test]
    fn a_clock_stuck_at_one_instant_stops_the_run() {
        let mut s = Scheduler::new();
        s.schedule_at(SimTime(7), ());
        assert_eq!(s.run_until(&mut Loop, SimTime(1000)), Stop::Stalled { at: SimTime(7) });
        // The first check sees the clock move (from 0 to 7); the next STALL_EVENTS / CHECK_EVENTS see it stuck.
        assert_eq!(s.events_processed(), STALL_EVENTS + CHECK_EVENTS);
        assert_eq!(s.pending(), 1);
    }

    /// Counts down and halts at zero.
    struct Halting(u32);

    impl Model for Halting {
        type Event = ();
        fn handle(&mut self, _: (), sched: &mut Scheduler<()>) {
            self.0 = self.0.saturating_sub(1);
            sched.schedule(SimDuration(1), ());
        }
        fn halted(&self) -> bool {
            self.0 == 0
        }
    }

    #[test]
    fn a_halting_model_stops_the_run_at_the_next_check() {
        let mut s = Scheduler::new();
        s.schedule_at(SimTime(0), ());
        // Halted from its third event on: the run stops at the first check after it.
        let mut m = Halting(3);
        assert_eq!(s.run_until(&mut m, SimTime(1 << 20)), Stop::Halted);
        assert_eq!(s.events_processed(), CHECK_EVENTS);
        assert_eq!(s.now(), SimTime(CHECK_EVENTS - 1));
    }

    #[test]
    fn zero_delay_events_run_after_those_already_due() {
        let mut s = Scheduler::new();
        let mut m = Recorder(Vec::new());
        s.schedule_at(SimTime(5), 20u32);
        s.schedule_at(SimTime(0), 1u32);
        s.run_until(&mut m, SimTime(5));
        // Event 1 schedules 0 at t=5, after 20 which was already due at t=5.
        assert_eq!(m.0, vec![(0, 1), (5, 20), (5, 0)]);
    }
}
