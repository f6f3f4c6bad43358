//! Client retries after a failed request (timeout, connection refused, backlog full), and a retry budget.
//!
//! Retries are the main amplifier of a flash crowd: every pupil whose login times out tries again, so an
//! overloaded platform receives its first-attempt load *plus* the retries of everyone it failed, and can stay
//! overloaded long after the arrival peak has passed (a "retry storm", or metastable failure). Two levers
//! decide how bad it gets, and both are modelled here:
//!
//! - the [`RetryPolicy`] of each client: how long to wait before the next attempt ([`Backoff`]), how much
//!   randomness spreads those waits ([`Jitter`]: without it, clients that failed together retry together,
//!   re-creating the peak), and how many attempts to make in all;
//! - a [`RetryBudget`] shared by a client population (as in the Google SRE book, "Handling Overload"):
//!   retries are allowed only while they stay below a fixed share of first attempts over a sliding window,
//!   which bounds the amplification at `1 + ratio` whatever the failure rate.

use super::window::SecondWindow;
use super::{non_negative, positive, PolicyError};
use crate::engine::{SimDuration, SimTime};
use rand::Rng;

/// How the delay before a retry grows with the attempt number (before jitter).
#[derive(Debug, Clone, PartialEq)]
pub enum Backoff {
    /// Retry at once (the behaviour of a user hammering "reload").
    Immediate,
    /// The same delay before every retry.
    Fixed {
        /// The delay in seconds.
        delay_s: f64,
    },
    /// `min(cap_s, base_s * multiplier^(n - 2))` before attempt `n` (so `base_s` before the first retry).
    Exponential {
        /// Delay before the first retry, in seconds.
        base_s: f64,
        /// Growth factor per retry (2 doubles the delay each time).
        multiplier: f64,
        /// Upper bound on the delay, in seconds (finite: a cap is what keeps a long run of retries from
        /// waiting for ever).
        cap_s: f64,
    },
}

impl Backoff {
    /// The delay before attempt `next_attempt` (2 = first retry) in seconds, before jitter.
    pub fn delay_s(&self, next_attempt: u32) -> f64 {
        match *self {
            Backoff::Immediate => 0.0,
            Backoff::Fixed { delay_s } => delay_s,
            Backoff::Exponential { base_s, multiplier, cap_s } => {
                // Past ~1000 retries the power overflows to infinity for any multiplier > 1, which the cap
                // absorbs; clamping the exponent only keeps the conversion to `i32` lossless.
                let exponent = i32::try_from(next_attempt.saturating_sub(2)).unwrap_or(i32::MAX);
                (base_s * multiplier.powi(exponent)).min(cap_s)
            }
        }
    }

    /// Checks the parameters: a fixed delay finite and non-negative; an exponential backoff's `base_s`
    /// positive (from zero it would never grow: immediate retries under another name), `multiplier >= 1`
    /// and `cap_s` finite and at least `base_s`.
    pub fn validate(&self) -> Result<(), PolicyError> {
        match *self {
            Backoff::Immediate => Ok(()),
            Backoff::Fixed { delay_s } => non_negative("delay_s", delay_s).map(drop),
            Backoff::Exponential { base_s, multiplier, cap_s } => {
                positive("base_s", base_s)?;
                if !(multiplier.is_finite() && multiplier >= 1.0) {
                    return Err(PolicyError { parameter: "multiplier", found: multiplier, expected: "a finite number >= 1" });
                }
                if cap_s.is_finite() && cap_s >= base_s {
                    Ok(())
                } else {
                    Err(PolicyError { parameter: "cap_s", found: cap_s, expected: "a finite number of seconds >= base_s" })
                }
            }
        }
    }
}

/// Randomisation of a backoff delay `d`, which de-synchronises clients that failed at the same moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly `d`.
    None,
    /// Uniform in `[0, d]`: the widest spread, and the lowest mean (`d / 2`).
    Full,
    /// `d / 2` plus uniform in `[0, d / 2]`: keeps at least half the backoff, mean `3 d / 4`.
    Equal,
}

impl Jitter {
    /// Applies the jitter to a delay of `delay_s` seconds. Draws one uniform unless the jitter is `None`,
    /// so the number of draws does not depend on the delay.
    pub fn apply_s<R: Rng + ?Sized>(self, delay_s: f64, rng: &mut R) -> f64 {
        match self {
            Jitter::None => delay_s,
            Jitter::Full => delay_s * rng.random::<f64>(),
            Jitter::Equal => delay_s / 2.0 + delay_s / 2.0 * rng.random::<f64>(),
        }
    }
}

/// What a client does after a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// The delay before each retry, before jitter.
    pub backoff: Backoff,
    /// The randomisation applied to each delay.
    pub jitter: Jitter,
    /// Total attempts including the first, at least 1 (1 = never retry).
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy { backoff: Backoff::Immediate, jitter: Jitter::None, max_attempts: 1 }
    }

    /// The shortest delay before a retry, in seconds (0 for immediate retries or full jitter): what tells
    /// whether retries after an instant refusal can loop without the clock advancing.
    pub fn min_delay_s(&self) -> f64 {
        let first = match self.backoff {
            Backoff::Immediate => 0.0,
            Backoff::Fixed { delay_s } => delay_s,
            Backoff::Exponential { base_s, cap_s, .. } => base_s.min(cap_s),
        };
        match self.jitter {
            Jitter::None => first,
            Jitter::Full => 0.0,
            Jitter::Equal => first / 2.0,
        }
    }

    /// A policy after checking its parameters (see [`RetryPolicy::validate`]).
    pub fn new(backoff: Backoff, jitter: Jitter, max_attempts: u32) -> Result<Self, PolicyError> {
        let policy = RetryPolicy { backoff, jitter, max_attempts };
        policy.validate()?;
        Ok(policy)
    }

    /// Checks the backoff parameters and that `max_attempts >= 1`.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.max_attempts == 0 {
            return Err(PolicyError { parameter: "max_attempts", found: 0.0, expected: "an integer >= 1 (the first attempt included)" });
        }
        self.backoff.validate()
    }

    /// Whether attempt number `next_attempt` (2 = first retry) is allowed at all.
    pub fn allows(&self, next_attempt: u32) -> bool {
        next_attempt <= self.max_attempts
    }

    /// Delay before attempt number `next_attempt` (2 = first retry), or `None` when `max_attempts` is
    /// reached. Draws from `rng` only when an attempt is allowed and the jitter is not `None`.
    ///
    /// `next_attempt < 2` is a logic error (the first attempt has no delay): a debug assertion catches it,
    /// and release builds treat it as the first retry.
    pub fn delay<R: Rng + ?Sized>(&self, next_attempt: u32, rng: &mut R) -> Option<SimDuration> {
        debug_assert!(next_attempt >= 2, "attempt {next_attempt} is not a retry");
        let next_attempt = next_attempt.max(2);
        if !self.allows(next_attempt) {
            return None;
        }
        let delay_s = self.jitter.apply_s(self.backoff.delay_s(next_attempt), rng);
        Some(SimDuration::from_secs_f64(delay_s))
    }
}

/// Which counter of the window is which.
const FIRST: usize = 0;
const RETRY: usize = 1;

/// Slack on `ratio × first attempts` so that, say, `0.1 × 30` allows 3 retries even when the product
/// rounds to 2.999…; far below one retry, so it never grants an extra one.
const RATIO_SLACK: f64 = 1e-9;

/// A retry budget as in the Google SRE book: retries are allowed only while
/// `retries <= ratio × first attempts` over a sliding window (e.g. 10 % over the last 60 s).
///
/// Counts live in one-second buckets of a ring of `window_s` buckets, so memory is fixed and the window
/// slides with simulated time; the window at `now` covers the current second and the `window_s - 1` before
/// it. An optional floor ([`RetryBudget::with_floor`]) allows a few retries even with little traffic, as
/// production budgets do (Finagle's `minRetriesPerSec`), so that a quiet client can still retry at all.
#[derive(Debug, Clone)]
pub struct RetryBudget {
    ratio: f64,
    min_retries_per_window: u64,
    counts: SecondWindow,
}

impl RetryBudget {
    /// A budget allowing retries up to `ratio` times the first attempts of the last `window_s` seconds.
    ///
    /// # Panics
    /// If `ratio` is negative or not finite, or `window_s` is zero (see [`RetryBudget::try_new`]).
    pub fn new(ratio: f64, window_s: u32) -> Self {
        Self::try_new(ratio, window_s).expect("invalid retry budget")
    }

    /// As [`RetryBudget::new`], returning an error for invalid parameters.
    pub fn try_new(ratio: f64, window_s: u32) -> Result<Self, PolicyError> {
        let ratio = non_negative("ratio", ratio)?;
        positive("window_s", f64::from(window_s))?;
        Ok(RetryBudget { ratio, min_retries_per_window: 0, counts: SecondWindow::new(window_s) })
    }

    /// The same budget, but always allowing at least `min_retries_per_window` retries per window.
    pub fn with_floor(mut self, min_retries_per_window: u64) -> Self {
        self.min_retries_per_window = min_retries_per_window;
        self
    }

    /// The ratio of retries to first attempts allowed.
    pub fn ratio(&self) -> f64 {
        self.ratio
    }

    /// The window length in seconds.
    pub fn window_s(&self) -> u32 {
        self.counts.window_s()
    }

    /// Counts a first attempt (not a retry) made at `now`.
    pub fn record_first_attempt(&mut self, now: SimTime) {
        self.counts.add(now, FIRST, 1);
    }

    /// Whether a retry may be sent at `now`; if yes it is counted against the budget.
    pub fn try_retry(&mut self, now: SimTime) -> bool {
        let [firsts, retries] = self.counts.totals(now);
        if retries < self.allowed(firsts) {
            self.counts.add(now, RETRY, 1);
            true
        } else {
            false
        }
    }

    /// First attempts and retries counted in the window ending at `now`.
    pub fn counts(&mut self, now: SimTime) -> (u64, u64) {
        let [firsts, retries] = self.counts.totals(now);
        (firsts, retries)
    }

    /// Retries allowed in a window holding `firsts` first attempts.
    fn allowed(&self, firsts: u64) -> u64 {
        // The float-to-int cast saturates, so a huge ratio cannot wrap.
        let by_ratio = (self.ratio * firsts as f64 + RATIO_SLACK).floor() as u64;
        by_ratio.max(self.min_retries_per_window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::random::stream;

    fn exp(base_s: f64, multiplier: f64, cap_s: f64) -> Backoff {
        Backoff::Exponential { base_s, multiplier, cap_s }
    }

    fn at_s(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    #[test]
    fn each_backoff_kind_gives_its_delays() {
        let mut rng = stream(1, 0, "retry-test");
        let fixed = RetryPolicy::new(Backoff::Fixed { delay_s: 2.5 }, Jitter::None, 4).unwrap();
        for n in 2..=4 {
            assert_eq!(fixed.delay(n, &mut rng), Some(SimDuration::from_secs_f64(2.5)));
        }
        let immediate = RetryPolicy::new(Backoff::Immediate, Jitter::Full, 3).unwrap();
        assert_eq!(immediate.delay(2, &mut rng), Some(SimDuration::ZERO));
        let doubling = RetryPolicy::new(exp(0.5, 2.0, 1e9), Jitter::None, 10).unwrap();
        let delays: Vec<f64> = (2..=6).map(|n| doubling.delay(n, &mut rng).unwrap().as_secs_f64()).collect();
        assert_eq!(delays, vec![0.5, 1.0, 2.0, 4.0, 8.0]);
    }

    #[test]
    fn the_cap_is_respected() {
        let b = exp(1.0, 3.0, 30.0);
        assert_eq!(b.delay_s(2), 1.0);
        assert_eq!(b.delay_s(5), 27.0);
        assert_eq!(b.delay_s(6), 30.0);
        // Far beyond the overflow of the power, the cap still holds.
        assert_eq!(b.delay_s(u32::MAX), 30.0);
        let wide = exp(1.0, 2.0, 1e9);
        assert!(wide.validate().is_ok());
        assert_eq!(wide.delay_s(12), 1024.0);
    }

    #[test]
    fn max_attempts_is_honoured() {
        let mut rng = stream(2, 0, "retry-test");
        let p = RetryPolicy::new(exp(1.0, 2.0, 60.0), Jitter::Full, 3).unwrap();
        assert!(p.delay(2, &mut rng).is_some());
        assert!(p.delay(3, &mut rng).is_some());
        assert_eq!(p.delay(4, &mut rng), None);
        assert_eq!(p.delay(100, &mut rng), None);
        assert_eq!(RetryPolicy::none().delay(2, &mut rng), None);
        assert_eq!(RetryPolicy::none().max_attempts, 1);
    }

    #[test]
    fn jitter_stays_in_bounds_with_the_right_mean() {
        let mut rng = stream(3, 0, "retry-test");
        let d_s = 8.0;
        let n = 100_000;
        // Uniform on an interval of width w has standard deviation w / sqrt(12); the sample mean of n draws
        // has standard error w / sqrt(12 n). Five standard errors.
        for (jitter, lo, hi) in [(Jitter::Full, 0.0, d_s), (Jitter::Equal, d_s / 2.0, d_s)] {
            let p = RetryPolicy::new(Backoff::Fixed { delay_s: d_s }, jitter, 2).unwrap();
            let mut sum = 0.0;
            for _ in 0..n {
                let x = p.delay(2, &mut rng).unwrap().as_secs_f64();
                assert!((lo..=hi).contains(&x), "{jitter:?}: {x} outside [{lo}, {hi}]");
                sum += x;
            }
            let mean = sum / f64::from(n);
            let se = (hi - lo) / (12.0 * f64::from(n)).sqrt();
            let expected = (lo + hi) / 2.0;
            assert!((mean - expected).abs() < 5.0 * se, "{jitter:?}: mean {mean} vs {expected} (se {se})");
        }
    }

    #[test]
    fn invalid_policies_are_rejected() {
        assert!(RetryPolicy::new(Backoff::Immediate, Jitter::None, 0).is_err());
        assert!(RetryPolicy::new(Backoff::Fixed { delay_s: -1.0 }, Jitter::None, 2).is_err());
        assert!(exp(1.0, 0.5, 10.0).validate().is_err());
        assert!(exp(1.0, 2.0, 0.5).validate().is_err());
        assert!(exp(1.0, 2.0, f64::NAN).validate().is_err());
        assert!(exp(f64::NAN, 2.0, 10.0).validate().is_err());
        assert_eq!(exp(0.0, 2.0, 10.0).validate().unwrap_err().parameter, "base_s");
        assert_eq!(exp(1.0, 2.0, f64::INFINITY).validate().unwrap_err().parameter, "cap_s");
        assert!(RetryBudget::try_new(-0.1, 60).is_err());
        assert!(RetryBudget::try_new(0.1, 0).is_err());
    }

    #[test]
    fn a_budget_allows_its_ratio_of_first_attempts() {
        let mut budget = RetryBudget::new(0.1, 60);
        // No traffic, no retries.
        assert!(!budget.try_retry(at_s(0.0)));
        for i in 0..1_000 {
            budget.record_first_attempt(at_s(f64::from(i) * 0.01));
        }
        let allowed = (0..500).filter(|_| budget.try_retry(at_s(10.0))).count();
        assert_eq!(allowed, 100);
        assert_eq!(budget.counts(at_s(10.0)), (1_000, 100));
        // 30 more first attempts make room for 3 more retries (0.1 x 1030 = 103).
        for _ in 0..30 {
            budget.record_first_attempt(at_s(20.0));
        }
        assert_eq!((0..10).filter(|_| budget.try_retry(at_s(20.0))).count(), 3);
    }

    #[test]
    fn a_budget_recovers_once_the_window_slides() {
        let mut budget = RetryBudget::new(0.1, 60);
        for _ in 0..1_000 {
            budget.record_first_attempt(at_s(0.5));
        }
        assert_eq!((0..200).filter(|_| budget.try_retry(at_s(1.0))).count(), 100);
        // Within the window the budget stays spent.
        assert!(!budget.try_retry(at_s(59.9)));
        // After it, both the first attempts and the retries are forgotten: new traffic starts afresh.
        assert_eq!(budget.counts(at_s(61.0)), (0, 0));
        for _ in 0..50 {
            budget.record_first_attempt(at_s(61.0));
        }
        assert_eq!((0..20).filter(|_| budget.try_retry(at_s(61.5))).count(), 5);
    }

    #[test]
    fn a_steady_stream_is_held_to_its_ratio() {
        // 100 first attempts and 50 retry candidates per second for 600 s: the retries let through must be
        // about 10 % of first attempts. Each window holds at most 0.1 x its first attempts, so over the whole
        // run the count cannot drift from 0.1 x total by more than one window's worth of allowance.
        let mut budget = RetryBudget::new(0.1, 60);
        let (mut firsts, mut retries) = (0u64, 0u64);
        for ms in 0..600_000u64 {
            let now = SimTime(ms * 1_000);
            if ms % 10 == 0 {
                budget.record_first_attempt(now);
                firsts += 1;
            }
            if ms % 20 == 5 && budget.try_retry(now) {
                retries += 1;
            }
            let (w_firsts, w_retries) = budget.counts(now);
            assert!(w_retries as f64 <= 0.1 * w_firsts as f64 + 1e-9);
        }
        let one_window = 0.1 * 100.0 * 60.0;
        assert!((retries as f64 - 0.1 * firsts as f64).abs() <= one_window, "{retries} of {firsts}");
    }

    #[test]
    fn a_floor_allows_retries_without_traffic() {
        let mut budget = RetryBudget::new(0.1, 10).with_floor(2);
        assert!(budget.try_retry(at_s(0.0)));
        assert!(budget.try_retry(at_s(0.0)));
        assert!(!budget.try_retry(at_s(0.0)));
        assert!(budget.try_retry(at_s(10.0)));
        assert_eq!(budget.ratio(), 0.1);
        assert_eq!(budget.window_s(), 10);
    }
}
