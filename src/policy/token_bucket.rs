//! A token-bucket rate limiter, as placed in front of a login service or an API gateway.
//!
//! The bucket holds up to `burst` tokens and gains `rate_per_s` tokens per second; a request is admitted when
//! it can take a token. Over any interval of length `t` it admits at most `burst + rate_per_s × t` requests,
//! so it caps the mean rate a backend sees while letting short bursts through untouched. In the simulator it
//! models a gateway's rate limit: what is not admitted is rejected at once (typically with HTTP 429), which
//! is cheap for the platform but becomes a retry if the client has a [`super::RetryPolicy`].
//!
//! The refill is lazy: the bucket stores its level at the last update and adds the tokens earned since,
//! computed from the elapsed integer microseconds, whenever it is asked. There are no refill events, and no
//! floating-point time accumulates: the level after a gap is `level + elapsed_us × rate_per_s / 10^6`,
//! where for integer rates `elapsed_us × rate_per_s` is an exact product (below 2^53), so an arrival exactly
//! `1 / rate_per_s` after the bucket emptied finds exactly one token. A tolerance of 10⁻⁹ token absorbs the
//! rounding that non-integer rates leave; the deficit it grants is carried in the level (which may dip to
//! −10⁻⁹), never forgiven, so it cannot accumulate over a long run.

use super::{positive, PolicyError};
use crate::engine::{SimDuration, SimTime, MICROS_PER_S};

/// A level this close to one token counts as one token: see the module documentation.
const TOKEN_SLACK: f64 = 1e-9;

/// Admits at most `rate_per_s` on average with bursts up to `burst`; refilled lazily from elapsed time (no
/// events). Starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate_per_s: f64,
    burst: f64,
    /// Tokens at `updated_at`, at most `burst`; may be a hair below zero (see the module documentation).
    tokens: f64,
    updated_at: SimTime,
}

impl TokenBucket {
    /// A full bucket earning `rate_per_s` tokens per second and holding at most `burst`.
    ///
    /// # Panics
    /// If the parameters are invalid (see [`TokenBucket::try_new`]).
    pub fn new(rate_per_s: f64, burst: f64) -> Self {
        Self::try_new(rate_per_s, burst).expect("invalid token bucket")
    }

    /// As [`TokenBucket::new`], returning an error unless `rate_per_s` is finite and positive (a zero rate
    /// would admit `burst` requests and then nobody, ever: a gate, not a rate limit) and `burst` is finite
    /// and at least 1 (a bucket that cannot hold a whole token would admit nothing).
    pub fn try_new(rate_per_s: f64, burst: f64) -> Result<Self, PolicyError> {
        let rate_per_s = positive("rate_per_s", rate_per_s)?;
        if !(burst.is_finite() && burst >= 1.0) {
            return Err(PolicyError { parameter: "burst", found: burst, expected: "a finite number >= 1" });
        }
        Ok(TokenBucket { rate_per_s, burst, tokens: burst, updated_at: SimTime::ZERO })
    }

    /// The refill rate in tokens per second.
    pub fn rate_per_s(&self) -> f64 {
        self.rate_per_s
    }

    /// The capacity in tokens.
    pub fn burst(&self) -> f64 {
        self.burst
    }

    /// The level at `now` without changing the bucket (internal level, possibly a hair below zero).
    #[inline]
    fn level_at(&self, now: SimTime) -> f64 {
        debug_assert!(now >= self.updated_at, "time went backwards: {now} < {}", self.updated_at);
        let elapsed_us = now.saturating_since(self.updated_at).as_micros();
        if elapsed_us == 0 {
            return self.tokens;
        }
        // Multiply before dividing: the product of integers is exact below 2^53 (see the module docs).
        let earned = elapsed_us as f64 * self.rate_per_s / MICROS_PER_S as f64;
        (self.tokens + earned).min(self.burst)
    }

    /// The number of tokens available at `now`, in `[0, burst]`.
    pub fn tokens_at(&self, now: SimTime) -> f64 {
        self.level_at(now).max(0.0)
    }

    /// Takes one token at `now` if one is available; returns whether the request is admitted.
    #[inline]
    pub fn try_take(&mut self, now: SimTime) -> bool {
        self.tokens = self.level_at(now);
        self.updated_at = self.updated_at.max(now);
        if self.tokens >= 1.0 - TOKEN_SLACK {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// The earliest instant at or after `now` at which [`TokenBucket::try_take`] would succeed (the rate is
    /// positive, so there is one). Lets a world *delay* requests to the limit (a traffic shaper) instead of
    /// rejecting them.
    pub fn next_token_at(&self, now: SimTime) -> SimTime {
        let level = self.level_at(now);
        if level >= 1.0 - TOKEN_SLACK {
            return now.max(self.updated_at);
        }
        // Rounding the wait up to the next microsecond lands at or after the exact instant, and the
        // token slack covers the rounding of the refill computed there.
        let missing = 1.0 - TOKEN_SLACK - level;
        let wait_us = (missing * MICROS_PER_S as f64 / self.rate_per_s).ceil() as u64;
        now.max(self.updated_at) + SimDuration(wait_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::random::stream;
    use rand::Rng;

    fn at_s(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    #[test]
    fn a_bucket_starts_full_and_caps_its_burst() {
        let mut b = TokenBucket::new(10.0, 5.0);
        assert_eq!(b.tokens_at(SimTime::ZERO), 5.0);
        // The full burst goes through at once, then nothing: zero elapsed time earns no token.
        assert_eq!((0..20).filter(|_| b.try_take(at_s(100.0))).count(), 5);
        assert_eq!(b.tokens_at(at_s(100.0)), 0.0);
        // A long idle period refills to the burst, never beyond.
        assert_eq!(b.tokens_at(at_s(1_000_000.0)), 5.0);
        assert_eq!((0..20).filter(|_| b.try_take(at_s(1_000_000.0))).count(), 5);
    }

    #[test]
    fn zero_elapsed_time_gives_no_refill() {
        let mut b = TokenBucket::new(1_000.0, 1.0);
        assert!(b.try_take(at_s(3.0)));
        for _ in 0..1_000 {
            assert!(!b.try_take(at_s(3.0)));
        }
        assert_eq!(b.tokens_at(at_s(3.0)), 0.0);
        // One microsecond later: a thousandth of a token.
        assert!((b.tokens_at(SimTime(3_000_001)) - 0.001).abs() < 1e-12);
    }

    #[test]
    fn arrivals_at_exactly_the_rate_all_pass() {
        // One request every 1/rate seconds: each must find exactly the token earned since the last.
        for rate_per_s in [1.0, 2.0, 5.0, 8.0, 10.0, 1_000.0, 0.25, 0.5] {
            let mut b = TokenBucket::new(rate_per_s, 1.0);
            let step_us = (1e6 / rate_per_s) as u64;
            assert_eq!(step_us as f64, 1e6 / rate_per_s, "test needs an exact step");
            for i in 0..10_000u64 {
                assert!(b.try_take(SimTime(i * step_us)), "rate {rate_per_s}: refused at step {i}");
            }
        }
    }

    #[test]
    fn a_bucket_keeps_its_rate_over_a_long_run() {
        // Poisson offered load at 5x the rate for a simulated day, with a non-integer rate so that the
        // refill rounds: admitted / elapsed must equal the rate to within one burst over the run (the
        // bucket admits at most burst + rate x t, and at 5x overload it is never idle for long).
        let mut rng = stream(11, 0, "bucket-test");
        let (rate_per_s, burst) = (33.3, 20.0);
        let mut b = TokenBucket::new(rate_per_s, burst);
        let horizon_us = 86_400 * MICROS_PER_S;
        let mut now = SimTime::ZERO;
        let mut admitted = 0u64;
        while now.as_micros() < horizon_us {
            let gap_s = -(1.0 - rng.random::<f64>()).ln() / (5.0 * rate_per_s);
            now += SimDuration::from_secs_f64(gap_s);
            admitted += u64::from(b.try_take(now));
        }
        let expected = rate_per_s * now.as_secs_f64();
        assert!(admitted as f64 <= expected + burst, "{admitted} > {expected} + {burst}");
        assert!(admitted as f64 >= expected - burst, "{admitted} < {expected} - {burst}");
    }

    #[test]
    fn next_token_at_is_exact() {
        let mut b = TokenBucket::new(3.0, 2.0);
        assert!(b.try_take(at_s(1.0)));
        assert!(b.try_take(at_s(1.0)));
        assert!(!b.try_take(at_s(1.0)));
        let t = b.next_token_at(at_s(1.0));
        // A third of a second, to the microsecond.
        assert!(t.as_micros().abs_diff(1_333_333) <= 1, "{t}");
        assert!(!b.try_take(SimTime(t.as_micros() - 1)));
        assert!(b.try_take(t));
        assert_eq!(b.next_token_at(at_s(10.0)), at_s(10.0));
    }

    #[test]
    fn invalid_buckets_are_rejected() {
        assert!(TokenBucket::try_new(-1.0, 5.0).is_err());
        assert_eq!(TokenBucket::try_new(0.0, 5.0).unwrap_err().parameter, "rate_per_s");
        assert!(TokenBucket::try_new(f64::NAN, 5.0).is_err());
        assert!(TokenBucket::try_new(1.0, 0.5).is_err());
        assert!(TokenBucket::try_new(1.0, f64::INFINITY).is_err());
    }
}
