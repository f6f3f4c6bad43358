//! The scheduler loop: a clock, the pending-event set and the model that handles events.

use super::queue::EventQueue;
use super::time::{SimDuration, SimTime};

/// A simulated system: it reacts to one event at a time and may schedule more.
///
/// The engine calls [`Model::handle`] for each event in time order; the model owns all its state, so a run is
/// a plain value that can be sent to another thread.
pub trait Model {
    /// The closed set of events this model understands.
    type Event;
    /// Reacts to `event` at the scheduler's current time.
    fn handle(&mut self, event: Self::Event, sched: &mut Scheduler<Self::Event>);

    /// A hint that `next` will probably be handled a few events from now ([`PREFETCH_AHEAD`]): a model
    /// whose events point into large tables can start loading the record now, so that the memory access
    /// overlaps with the work of the events in between. Must not change any state. Default: nothing.
    #[inline]
    fn prefetch(&self, _next: &Self::Event) {}
}

/// How many events ahead [`Model::prefetch`] is told of. A load from main memory takes as long as handling
/// a few events, so a hint given one event ahead hides only part of it; several in flight at once hide most.
pub const PREFETCH_AHEAD: usize = 4;

/// The clock and the pending events of one run.
#[derive(Debug)]
pub struct Scheduler<E> {
    now: SimTime,
    queue: EventQueue<E>,
    processed: u64,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Scheduler<E> {
    /// A scheduler at time zero with nothing pending.
    pub fn new() -> Self {
        Scheduler { now: SimTime::ZERO, queue: EventQueue::new(), processed: 0 }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` after `delay` (zero means "now, after the events already due now").
    #[inline]
    pub fn schedule(&mut self, delay: SimDuration, event: E) {
        self.queue.push(self.now + delay, event);
    }

    /// Schedules `event` at the absolute instant `at`; an instant in the past is treated as now.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        self.queue.push(at.max(self.now), event);
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

    /// Handles every event due at or before `until`, then sets the clock to `until`.
    pub fn run_until<M: Model<Event = E>>(&mut self, model: &mut M, until: SimTime) {
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
            model.handle(event, self);
        }
        self.now = self.now.max(until);
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
        s.schedule_at(SimTime(0), 3);
        s.schedule_at(SimTime(100), 42);
        s.run_until(&mut m, SimTime(12));
        assert_eq!(m.0, vec![(0, 3), (5, 2), (10, 1)]);
        assert_eq!(s.now(), SimTime(12));
        assert_eq!(s.pending(), 2);
        s.run_until(&mut m, SimTime(1000));
        assert_eq!(m.0.last(), Some(&(100, 42)));
        assert_eq!(s.events_processed(), 5);
    }

    #[test]
    fn zero_delay_events_run_after_those_already_due() {
        let mut s = Scheduler::new();
        let mut m = Recorder(Vec::new());
        s.schedule_at(SimTime(5), 20);
        s.schedule_at(SimTime(0), 1);
        s.run_until(&mut m, SimTime(5));
        // Event 1 schedules 0 at t=5, after 20 which was already due at t=5.
        assert_eq!(m.0, vec![(0, 1), (5, 20), (5, 0)]);
    }
}
