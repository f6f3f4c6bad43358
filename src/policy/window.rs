//! A pair of event counters over a sliding window of whole seconds, shared by the retry budget and the
//! adaptive throttle.
//!
//! The window is a ring of one-second buckets: the count for second `s` lives in bucket `s % window_s`, and
//! moving to a later second clears the buckets of the seconds that fell out. Memory is fixed at creation
//! (`window_s` buckets), an update is O(1) amortised (each bucket is cleared at most once per second of
//! simulated time, and a gap longer than the window clears the whole ring at once), and running totals make
//! a query O(1). The price is granularity: at instant `now` the window covers the current, partial second
//! and the `window_s - 1` whole seconds before it, so its length is between `window_s - 1` and `window_s`
//! seconds. For the windows these policies use (tens of seconds) that is a few percent at most, and the
//! mechanisms being modelled are themselves implemented this way in practice.

use crate::engine::{SimTime, MICROS_PER_S};

/// Two counters summed over the last `window_s` one-second buckets.
#[derive(Debug, Clone)]
pub(crate) struct SecondWindow {
    /// `buckets[s % window_s]` holds the counts of second `s`, for the seconds still in the window.
    buckets: Vec<[u64; 2]>,
    /// The latest second seen; the buckets of later seconds are clear.
    newest_s: u64,
    /// The sum of all buckets, kept so that a query does not scan the ring.
    totals: [u64; 2],
}

impl SecondWindow {
    /// An empty window of `window_s` seconds.
    ///
    /// # Panics
    /// If `window_s` is zero.
    pub(crate) fn new(window_s: u32) -> Self {
        assert!(window_s >= 1, "a sliding window needs at least one second");
        SecondWindow { buckets: vec![[0; 2]; window_s as usize], newest_s: 0, totals: [0; 2] }
    }

    /// The window length in seconds.
    pub(crate) fn window_s(&self) -> u32 {
        // The ring was built from a u32.
        self.buckets.len() as u32
    }

    /// Slides the window so that it ends in the second containing `now`; returns that second's bucket.
    #[inline]
    fn advance(&mut self, now: SimTime) -> usize {
        let now_s = now.as_micros() / MICROS_PER_S;
        let len = self.buckets.len() as u64;
        if now_s > self.newest_s {
            if now_s - self.newest_s >= len {
                // Everything in the ring is older than the window: clearing it all is cheaper than walking
                // the gap second by second.
                self.buckets.fill([0; 2]);
                self.totals = [0; 2];
            } else {
                for s in self.newest_s + 1..=now_s {
                    let bucket = &mut self.buckets[(s % len) as usize];
                    self.totals[0] -= bucket[0];
                    self.totals[1] -= bucket[1];
                    *bucket = [0; 2];
                }
            }
            self.newest_s = now_s;
        } else {
            debug_assert!(now_s == self.newest_s, "time went backwards: second {now_s} < {}", self.newest_s);
        }
        (self.newest_s % len) as usize
    }

    /// Adds `n` to counter `counter` (0 or 1) at `now`.
    #[inline]
    pub(crate) fn add(&mut self, now: SimTime, counter: usize, n: u64) {
        let bucket = self.advance(now);
        self.buckets[bucket][counter] += n;
        self.totals[counter] += n;
    }

    /// Both counters summed over the window ending at `now`.
    #[inline]
    pub(crate) fn totals(&mut self, now: SimTime) -> [u64; 2] {
        self.advance(now);
        self.totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_s(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    #[test]
    fn counts_expire_after_the_window() {
        let mut w = SecondWindow::new(10);
        w.add(at_s(0.5), 0, 3);
        w.add(at_s(4.2), 1, 2);
        assert_eq!(w.totals(at_s(9.99)), [3, 2]);
        // Second 10 evicts second 0 only.
        assert_eq!(w.totals(at_s(10.0)), [0, 2]);
        assert_eq!(w.totals(at_s(13.9)), [0, 2]);
        assert_eq!(w.totals(at_s(14.0)), [0, 0]);
    }

    #[test]
    fn a_long_gap_clears_everything() {
        let mut w = SecondWindow::new(5);
        for s in 0..5 {
            w.add(at_s(f64::from(s)), 0, 1);
        }
        assert_eq!(w.totals(at_s(4.0)), [5, 0]);
        assert_eq!(w.totals(at_s(1_000_000.0)), [0, 0]);
        w.add(at_s(1_000_000.5), 1, 7);
        assert_eq!(w.totals(at_s(1_000_004.0)), [0, 7]);
        assert_eq!(w.window_s(), 5);
    }

    #[test]
    fn totals_match_a_brute_force_sum() {
        // Irregular steps, some within a second, some skipping several: the running totals must equal the
        // sum of the events whose second lies in (now_s - window_s, now_s].
        let window_s = 7u64;
        let mut w = SecondWindow::new(window_s as u32);
        let mut events: Vec<(u64, usize)> = Vec::new();
        let mut t_us = 0u64;
        for i in 0..5_000u64 {
            t_us += (i * 7_919 % 2_300_000) + 1;
            let counter = (i % 3 == 0) as usize;
            w.add(SimTime(t_us), counter, 1);
            events.push((t_us / MICROS_PER_S, counter));
            let now_s = t_us / MICROS_PER_S;
            let mut expected = [0u64; 2];
            for &(s, c) in &events {
                if s + window_s > now_s {
                    expected[c] += 1;
                }
            }
            assert_eq!(w.totals(SimTime(t_us)), expected, "at {t_us} us");
        }
    }
}
