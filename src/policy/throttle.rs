//! Client-side adaptive throttling (Google SRE book, chapter 21, "Handling Overload").
//!
//! An overloaded backend still spends resources on every request it rejects. Adaptive throttling moves the
//! rejection to the client: each client (or client-side proxy) counts, over a sliding window,
//!
//! - `requests`: the requests attempted by the application layer, and
//! - `accepts`: those the backend accepted,
//!
//! and rejects a new request locally, without sending it, with probability
//!
//! ```text
//! p = max(0, (requests − K × accepts) / (requests + 1))
//! ```
//!
//! While the backend accepts everything, `p = 0` (for `K >= 1`). Once it accepts only a fraction, the
//! client lets through about `K` times what the backend accepts and drops the rest at no cost to the
//! backend; `K = 2` (the book's value) wastes at most half the backend's rejection work on requests it will
//! reject anyway, and keeps enough traffic flowing to notice quickly when the backend recovers. Lowering `K`
//! throttles harder.
//!
//! # What counts as a request
//!
//! Following the book, `requests` counts *every* attempt at the application layer, including those this
//! throttle rejected locally: [`AdaptiveThrottle::should_reject`] counts a local rejection itself, at once.
//! This is what makes the mechanism settle where intended: with `R` attempts and `A` acceptances per window,
//! a client sends `R × (1 − p) ≈ K × A`, i.e. `K` times what the backend can take. If local rejections were
//! left out, `requests` would only count sent requests `S`, the rule would settle at `S² ≈ K × A × R` and
//! the load sent would keep growing with the demand outside instead of being tied to the backend's capacity.
//!
//! A request that was sent is counted by [`AdaptiveThrottle::record`] when its outcome is known (response,
//! rejection or timeout), with `accepted` telling which: counting the request and its acceptance at the
//! same instant keeps them in the same one-second bucket, so that `accepts <= requests` in every window.
//!
//! The window is a ring of one-second buckets (see the retry budget): at `now` it covers the current second
//! and the `window_s − 1` before it. The book uses two minutes.

use super::window::SecondWindow;
use super::PolicyError;
use crate::engine::SimTime;
use rand::Rng;

/// The longest window, seconds. The window keeps one bucket per second per client group: an hour is a
/// sixtieth of the memory of a day, and thirty times the SRE book's two minutes.
pub const MAX_WINDOW_S: u32 = 3600;

/// Which counter of the window is which.
const REQUESTS: usize = 0;
const ACCEPTS: usize = 1;

/// The adaptive throttle of one client or client population.
#[derive(Debug, Clone)]
pub struct AdaptiveThrottle {
    k: f64,
    counts: SecondWindow,
    rejected_locally_total: u64,
}

impl AdaptiveThrottle {
    /// A throttle with multiplier `k` over a window of `window_s` seconds (the book: `k = 2`,
    /// `window_s = 120`).
    ///
    /// # Panics
    /// If the parameters are invalid (see [`AdaptiveThrottle::try_new`]).
    pub fn new(k: f64, window_s: u32) -> Self {
        Self::try_new(k, window_s).expect("invalid adaptive throttle")
    }

    /// As [`AdaptiveThrottle::new`], returning an error unless `k` is finite and at least 1 (below 1 the
    /// client would reject requests even while the backend accepts all of them) and `window_s` is from 1 to
    /// [`MAX_WINDOW_S`].
    pub fn try_new(k: f64, window_s: u32) -> Result<Self, PolicyError> {
        if !(k.is_finite() && k >= 1.0) {
            return Err(PolicyError { parameter: "k", found: k, expected: "a multiplier >= 1 (2 in the SRE book)" });
        }
        if !(1..=MAX_WINDOW_S).contains(&window_s) {
            // The message states MAX_WINDOW_S as written (a test holds them together).
            let expected = "an integer number of seconds from 1 to 3600";
            return Err(PolicyError { parameter: "window_s", found: f64::from(window_s), expected });
        }
        Ok(AdaptiveThrottle { k, counts: SecondWindow::new(window_s), rejected_locally_total: 0 })
    }

    /// The multiplier `K`.
    pub fn k(&self) -> f64 {
        self.k
    }

    /// The window length in seconds.
    pub fn window_s(&self) -> u32 {
        self.counts.window_s()
    }

    /// The probability that a request attempted at `now` is rejected locally.
    pub fn reject_probability(&mut self, now: SimTime) -> f64 {
        let [requests, accepts] = self.counts.totals(now);
        let requests = requests as f64;
        ((requests - self.k * accepts as f64) / (requests + 1.0)).max(0.0)
    }

    /// Counts a request that was sent, when its outcome is known at `now`: `accepted` if the backend served
    /// it, false if it was rejected or timed out.
    pub fn record(&mut self, now: SimTime, accepted: bool) {
        self.counts.add(now, REQUESTS, 1);
        if accepted {
            self.counts.add(now, ACCEPTS, 1);
        }
    }

    /// Draws whether a request attempted at `now` should be rejected locally (not sent). A rejection is
    /// counted as a request at once (see the module documentation); a request let through is counted later
    /// by [`AdaptiveThrottle::record`]. Draws exactly one uniform per call, whatever the state, so that the
    /// caller's stream stays aligned across configurations.
    pub fn should_reject<R: Rng + ?Sized>(&mut self, now: SimTime, rng: &mut R) -> bool {
        let p = self.reject_probability(now);
        let reject = rng.random::<f64>() < p;
        if reject {
            self.counts.add(now, REQUESTS, 1);
            self.rejected_locally_total += 1;
        }
        reject
    }

    /// Requests and accepts counted in the window ending at `now`.
    pub fn counts(&mut self, now: SimTime) -> (u64, u64) {
        let [requests, accepts] = self.counts.totals(now);
        (requests, accepts)
    }

    /// Requests rejected locally so far.
    pub fn rejected_locally_total(&self) -> u64 {
        self.rejected_locally_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::random::stream;

    fn at_s(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    /// The book's formula.
    fn formula(k: f64, requests: u64, accepts: u64) -> f64 {
        ((requests as f64 - k * accepts as f64) / (requests as f64 + 1.0)).max(0.0)
    }

    #[test]
    fn nothing_is_rejected_while_everything_is_accepted() {
        let mut rng = stream(1, 0, "throttle-test");
        let mut t = AdaptiveThrottle::new(2.0, 120);
        assert_eq!(t.reject_probability(SimTime::ZERO), 0.0);
        for i in 0..10_000 {
            let now = at_s(f64::from(i) * 0.01);
            assert!(!t.should_reject(now, &mut rng));
            t.record(now, true);
            assert_eq!(t.reject_probability(now), 0.0);
        }
        assert_eq!(t.rejected_locally_total(), 0);
        // K = 1 is the boundary: still nothing rejected.
        let mut k1 = AdaptiveThrottle::new(1.0, 10);
        (0..100).for_each(|_| k1.record(at_s(1.0), true));
        assert_eq!(k1.reject_probability(at_s(1.0)), 0.0);
    }

    #[test]
    fn a_steady_accept_rate_gives_the_books_probability() {
        // n requests accepted with probability a: accepts ~ Binomial(n, a), so p = (n − K·accepts)/(n + 1)
        // has mean (1 − K·a)·n/(n + 1) and standard deviation K·sqrt(n·a·(1 − a))/(n + 1).
        let mut rng = stream(2, 0, "throttle-test");
        let k = 2.0;
        let n = 60_000u64;
        for a in [0.05, 0.2, 0.35, 0.45] {
            let mut t = AdaptiveThrottle::new(k, 120);
            let mut accepts = 0u64;
            for i in 0..n {
                // 60 s of traffic, inside the 120 s window.
                let now = SimTime(i * 1_000);
                let accepted = rng.random_bool(a);
                accepts += u64::from(accepted);
                t.record(now, accepted);
            }
            let now = SimTime(n * 1_000);
            let p = t.reject_probability(now);
            assert_eq!(t.counts(now), (n, accepts));
            assert!((p - formula(k, n, accepts)).abs() < 1e-12);
            let nf = n as f64;
            let mean = (1.0 - k * a) * nf / (nf + 1.0);
            let sd = k * (nf * a * (1.0 - a)).sqrt() / (nf + 1.0);
            assert!((p - mean).abs() < 5.0 * sd, "a = {a}: p = {p}, expected {mean} ± {sd}");
        }
        // Above 1/K the backend keeps up with what the client would send: nothing is rejected.
        let mut t = AdaptiveThrottle::new(k, 120);
        for i in 0..n {
            t.record(SimTime(i * 1_000), rng.random_bool(0.8));
        }
        assert_eq!(t.reject_probability(SimTime(n * 1_000)), 0.0);
    }

    #[test]
    fn old_failures_are_forgotten_as_the_window_slides() {
        let mut t = AdaptiveThrottle::new(2.0, 120);
        // Seconds 0–9: 100 failures per second.
        for ms in 0..10_000u64 {
            if ms % 10 == 0 {
                t.record(SimTime(ms * 1_000), false);
            }
        }
        assert_eq!(t.reject_probability(at_s(10.0)), 1_000.0 / 1_001.0);
        // Seconds 60–69: 100 successes per second.
        for ms in 60_000..70_000u64 {
            if ms % 10 == 0 {
                t.record(SimTime(ms * 1_000), true);
            }
        }
        assert_eq!(t.counts(at_s(70.0)), (2_000, 1_000));
        assert_eq!(t.reject_probability(at_s(70.0)), 0.0);
        // At 125.5 s the window holds seconds 6–125: 400 failures and 1,000 successes remain, so p = 0 still,
        // and at 185 s only the successes of seconds 66–69 are left.
        assert_eq!(t.counts(at_s(125.5)), (1_400, 1_000));
        assert_eq!(t.counts(at_s(185.0)), (400, 400));
        // Once everything has slid out, the client starts afresh.
        assert_eq!(t.counts(at_s(190.0)), (0, 0));
        assert_eq!(t.reject_probability(at_s(190.0)), 0.0);
        // A fresh burst of failures after a clean window throttles again.
        for _ in 0..99 {
            t.record(at_s(200.0), false);
        }
        assert_eq!(t.reject_probability(at_s(200.0)), 0.99);
    }

    #[test]
    fn a_throttled_client_sends_about_k_times_what_the_backend_accepts() {
        // Closed loop: 1,000 attempts per second, a backend accepting the first 100 requests it receives
        // each second and rejecting the rest at once. In equilibrium a client with window W sends
        // R(1 − p) = R(1 + K·W·C)/(W·R + 1) ≈ K·C = 200 per second. Over the last 300 s of a 600 s run
        // the sent count is a sum of 300,000 Bernoulli(1 − p) draws: five binomial standard deviations.
        let mut rng = stream(3, 0, "throttle-test");
        let (k, window_s, attempts_per_s, capacity_per_s) = (2.0, 120u32, 1_000u64, 100u64);
        let mut t = AdaptiveThrottle::new(k, window_s);
        let (mut sent, mut accepted) = (0u64, 0u64);
        let mut served_this_second = 0u64;
        for i in 0..600 * attempts_per_s {
            let now = SimTime(i * 1_000_000 / attempts_per_s);
            if i % attempts_per_s == 0 {
                served_this_second = 0;
            }
            if t.should_reject(now, &mut rng) {
                continue;
            }
            let ok = served_this_second < capacity_per_s;
            served_this_second += u64::from(ok);
            t.record(now, ok);
            if i >= 300 * attempts_per_s {
                sent += 1;
                accepted += u64::from(ok);
            }
        }
        let (w, r, c) = (f64::from(window_s), attempts_per_s as f64, capacity_per_s as f64);
        let send_share = (1.0 + k * w * c) / (w * r + 1.0);
        let n = 300.0 * r;
        let expected = n * send_share;
        let sd = (n * send_share * (1.0 - send_share)).sqrt();
        assert!((sent as f64 - expected).abs() < 5.0 * sd, "sent {sent}, expected {expected} ± {sd}");
        assert_eq!(accepted, 300 * capacity_per_s, "the backend should stay saturated");
        assert!(t.rejected_locally_total() > 0);
    }

    #[test]
    fn invalid_throttles_are_rejected() {
        assert!(AdaptiveThrottle::try_new(0.0, 120).is_err());
        assert!(AdaptiveThrottle::try_new(f64::NAN, 120).is_err());
        assert!(AdaptiveThrottle::try_new(2.0, 0).is_err());
        assert_eq!(AdaptiveThrottle::try_new(0.5, 120).unwrap_err().parameter, "k");
        let too_long = AdaptiveThrottle::try_new(2.0, MAX_WINDOW_S + 1).unwrap_err();
        assert_eq!(too_long.parameter, "window_s");
        assert!(too_long.expected.ends_with(&format!("to {MAX_WINDOW_S}")), "{too_long}");
        assert_eq!(AdaptiveThrottle::try_new(1.0, MAX_WINDOW_S).unwrap().window_s(), MAX_WINDOW_S);
        let t = AdaptiveThrottle::new(2.0, 120);
        assert_eq!((t.k(), t.window_s()), (2.0, 120));
    }
}
