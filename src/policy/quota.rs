//! A quota on concurrent sessions: "when the maximum number of users is reached, you must wait your turn".
//!
//! Several national platforms protect themselves this way: a session is admitted only while fewer than
//! `max_sessions` are open, and a pupil turned away must come back later (or is parked in a
//! [`super::WaitingRoom`]). Unlike a rate limit, the quota bounds the *number in the system*, so the
//! platform's load stays bounded however long sessions last; the cost moves to the pupils outside, whose
//! waiting time depends on how fast sessions end. The world calls [`SessionQuota::try_admit`] when a session
//! would start and [`SessionQuota::release`] when it ends (logout or session timeout).

use super::PolicyError;

/// A counter of open sessions with an upper bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionQuota {
    max_sessions: u64,
    active: u64,
    peak: u64,
    admitted_total: u64,
    refused_total: u64,
}

impl SessionQuota {
    /// A quota of `max_sessions` concurrent sessions, none open.
    ///
    /// # Panics
    /// If the parameter is invalid (see [`SessionQuota::try_new`]).
    pub fn new(max_sessions: u64) -> Self {
        Self::try_new(max_sessions).expect("invalid session quota")
    }

    /// As [`SessionQuota::new`], returning an error unless `max_sessions` is at least 1: a quota of zero
    /// would admit nobody, a platform closed rather than protected.
    pub fn try_new(max_sessions: u64) -> Result<Self, PolicyError> {
        if max_sessions == 0 {
            return Err(PolicyError { parameter: "max_sessions", found: 0.0, expected: "an integer >= 1" });
        }
        Ok(SessionQuota { max_sessions, active: 0, peak: 0, admitted_total: 0, refused_total: 0 })
    }

    /// A quota that never refuses (for scenarios without one).
    pub fn unlimited() -> Self {
        Self::new(u64::MAX)
    }

    /// Opens a session if fewer than the maximum are open; returns whether it was admitted.
    #[inline]
    pub fn try_admit(&mut self) -> bool {
        if self.active < self.max_sessions {
            self.active += 1;
            self.peak = self.peak.max(self.active);
            self.admitted_total += 1;
            true
        } else {
            self.refused_total += 1;
            false
        }
    }

    /// Closes a session. Releasing with none open is a logic error in the world: a debug assertion catches
    /// it, and release builds leave the count at zero rather than wrapping.
    #[inline]
    pub fn release(&mut self) {
        debug_assert!(self.active > 0, "released a session with none open");
        self.active = self.active.saturating_sub(1);
    }

    /// Sessions open now.
    pub fn active(&self) -> u64 {
        self.active
    }

    /// The maximum number of concurrent sessions.
    pub fn max(&self) -> u64 {
        self.max_sessions
    }

    /// Sessions that could still be opened now.
    pub fn available(&self) -> u64 {
        self.max_sessions - self.active
    }

    /// The largest number of sessions open at once so far.
    pub fn peak(&self) -> u64 {
        self.peak
    }

    /// Sessions admitted so far.
    pub fn admitted_total(&self) -> u64 {
        self.admitted_total
    }

    /// Admissions refused so far (a pupil retrying counts once per refusal).
    pub fn refused_total(&self) -> u64 {
        self.refused_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::random::stream;
    use rand::Rng;

    #[test]
    fn a_quota_is_never_exceeded() {
        // A random walk of admissions and releases, biased towards admissions so the quota is hit often,
        // checked against a plain shadow count.
        let mut rng = stream(5, 0, "quota-test");
        let max = 50;
        let mut q = SessionQuota::new(max);
        let (mut open, mut peak, mut refused) = (0u64, 0u64, 0u64);
        for _ in 0..100_000 {
            if open > 0 && rng.random_bool(0.45) {
                q.release();
                open -= 1;
            } else if q.try_admit() {
                open += 1;
                peak = peak.max(open);
            } else {
                assert_eq!(open, max, "refused below the quota");
                refused += 1;
            }
            assert!(q.active() <= q.max());
            assert_eq!(q.active(), open);
            assert_eq!(q.available(), max - open);
        }
        assert_eq!(q.peak(), peak);
        assert_eq!(q.peak(), max, "the walk should have reached the quota");
        assert_eq!(q.refused_total(), refused);
        assert!(refused > 0);
    }

    #[test]
    fn peak_is_tracked_across_releases() {
        let mut q = SessionQuota::new(10);
        for _ in 0..7 {
            assert!(q.try_admit());
        }
        for _ in 0..5 {
            q.release();
        }
        assert!(q.try_admit());
        assert_eq!((q.active(), q.peak(), q.admitted_total()), (3, 7, 8));
    }

    #[test]
    fn a_zero_quota_is_refused_and_an_unlimited_one_never_refuses() {
        assert_eq!(SessionQuota::try_new(0).unwrap_err().parameter, "max_sessions");
        let mut one = SessionQuota::try_new(1).unwrap();
        assert!(one.try_admit());
        assert!(!one.try_admit());
        assert_eq!(one.refused_total(), 1);
        let mut all = SessionQuota::unlimited();
        assert!((0..1_000).all(|_| all.try_admit()));
    }

    #[test]
    #[cfg(not(debug_assertions))]
    fn releasing_an_empty_quota_saturates() {
        let mut q = SessionQuota::new(3);
        q.release();
        assert_eq!(q.active(), 0);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "none open")]
    fn releasing_an_empty_quota_is_caught_in_debug() {
        SessionQuota::new(3).release();
    }
}
