//! Sessions and their clients' behaviour (think time, timeout, retries and their budget), validated.

use super::raw::{RawRetry, RawSession};
use super::validator::Validator;
use crate::engine::{DurationDist, SimDuration};
use crate::policy::retry::{Backoff, Jitter, RetryPolicy};
use crate::policy::RetryBudget;

/// A session and its client's behaviour, validated.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Page requests after login.
    pub pages: u32,
    /// Think time between pages.
    pub think: DurationDist,
    /// Client timeout of every request.
    pub timeout: SimDuration,
    /// Retry policy after a failed request.
    pub retry: RetryPolicy,
    /// Retries per first attempt allowed over the last minute.
    pub retry_budget: Option<f64>,
    /// Delay before coming back after a rejection or a failed session.
    pub comeback_delay: DurationDist,
    /// Returns before giving up.
    pub max_returns: u32,
    /// How the orbit comes back.
    pub retrial: Retrial,
    /// Patience in a waiting room.
    pub room_patience: Option<DurationDist>,
}

/// How users who were refused or failed come back: the two policies of retrial queues (Artalejo and Falin
/// 2002, "Standard and retrial queueing systems: a comparative analysis", Rev. Mat. Complut. 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retrial {
    /// Each user in the orbit comes back on their own, after their own delay: the orbit's retrial rate
    /// grows with its size (an M/M/1 retrial queue is stable iff rho < 1).
    Classical,
    /// The platform's orbit (the users of every cohort with this policy on it) sends one user at a time,
    /// first in first out, one delay apart (drawn from the next user's cohort): a retrial rate alpha = 1 /
    /// mean delay whatever the orbit's size (stable iff rho < alpha / (lambda + alpha)).
    Constant,
}

impl Validator {
    /// A cohort's session and its client's behaviour.
    pub(super) fn session(&mut self, field: &str, s: &RawSession) -> Option<SessionSpec> {
        let think = self.dist(&format!("{field}.think"), &s.think);
        let timeout_ok = self.positive(&format!("{field}.timeout_s"), s.timeout_s, "a number of seconds > 0");
        let retry = match &s.retry {
            None => Some(RetryPolicy::none()),
            Some(r) => self.retry(&format!("{field}.retry"), r),
        };
        if let Some(ratio) = s.retry_budget {
            // Built once to check it, over the minute the world gives it; the world builds its own.
            if let Err(e) = RetryBudget::try_new(ratio, 60) {
                self.refused(&format!("{field}.retry_budget"), &e);
            }
        }
        let comeback_delay = self.dist(&format!("{field}.comeback.delay"), &s.comeback.delay);
        let room_patience = s.room_patience.as_ref().map(|d| self.dist(&format!("{field}.room_patience"), d));
        let retrial = match s.comeback.retrial.as_str() {
            "classical" => Some(Retrial::Classical),
            "constant" => Some(Retrial::Constant),
            other => {
                self.problem(&format!("{field}.comeback.retrial"), &format!("{other:?}"), "\"classical\" or \"constant\"");
                None
            }
        };
        Some(SessionSpec {
            pages: s.pages,
            think: think?,
            timeout: timeout_ok.then(|| SimDuration::from_secs_f64(s.timeout_s))?,
            retry: retry?,
            retry_budget: s.retry_budget,
            comeback_delay: comeback_delay?,
            max_returns: s.comeback.max_returns,
            retrial: retrial?,
            room_patience: match room_patience {
                None => None,
                Some(d) => Some(d?),
            },
        })
    }

    fn jitter(&mut self, field: &str, j: &str) -> Option<Jitter> {
        match j {
            "none" => Some(Jitter::None),
            "full" => Some(Jitter::Full),
            "equal" => Some(Jitter::Equal),
            other => {
                self.problem(field, &format!("{other:?}"), "one of \"none\", \"full\", \"equal\"");
                None
            }
        }
    }

    /// The retry policy, built by its own checked constructor (attempts and backoff); the jitter is a name
    /// the scenario reads.
    fn retry(&mut self, field: &str, r: &RawRetry) -> Option<RetryPolicy> {
        let (backoff, jitter, max_attempts) = match r {
            RawRetry::Immediate { max_attempts } => (Backoff::Immediate, Some(Jitter::None), *max_attempts),
            RawRetry::Fixed { delay_s, max_attempts, jitter } => {
                (Backoff::Fixed { delay_s: *delay_s }, self.jitter(&format!("{field}.jitter"), jitter), *max_attempts)
            }
            RawRetry::Exponential { base_s, multiplier, cap_s, max_attempts, jitter } => (
                Backoff::Exponential { base_s: *base_s, multiplier: *multiplier, cap_s: *cap_s },
                self.jitter(&format!("{field}.jitter"), jitter),
                *max_attempts,
            ),
        };
        let policy = self.built(field, RetryPolicy::new(backoff, jitter.unwrap_or(Jitter::None), max_attempts));
        jitter.and(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{desk, problems};
    use super::super::Scenario;
    use super::*;
    use std::path::Path;

    /// `desk` whose customers have sessions, with `extra` fields in their session table.
    fn sessions(extra: &str) -> String {
        desk(&format!(
            "\n[cohorts.customers.session]\npages = 2\nthink = {{ dist = \"exponential\", mean_s = 5.0 }}\ntimeout_s = 10.0\n\
             comeback = {{ delay = {{ dist = \"exponential\", mean_s = 60.0 }}, max_returns = 1 }}\n{extra}"
        ))
    }

    #[test]
    fn retries_and_their_budget_are_built_by_their_policies_whose_refusals_name_the_field() {
        let session = |text: &str| Scenario::from_toml(text, Path::new("desk.toml"), &[]).unwrap().cohorts[0].session.clone().unwrap();
        let exponential = |base_s: &str, cap_s: &str, attempts: u32| {
            format!(
                "retry = {{ backoff = \"exponential\", base_s = {base_s}, multiplier = 2.0, cap_s = {cap_s}, max_attempts = {attempts}, \
                 jitter = \"full\" }}"
            )
        };
        let s = session(&sessions(&format!("{}\nretry_budget = 0.1", exponential("1.0", "30.0", 3))));
        let backoff = Backoff::Exponential { base_s: 1.0, multiplier: 2.0, cap_s: 30.0 };
        assert_eq!(s.retry, RetryPolicy::new(backoff, Jitter::Full, 3).unwrap());
        assert_eq!(s.retry_budget, Some(0.1));
        let f = "cohorts.customers.session";
        for (extra, refusal) in [
            // `policy::RetryPolicy::new`
            (exponential("1.0", "30.0", 0), format!("{f}.retry.max_attempts = 0: expected an integer >= 1 (the first attempt included)")),
            (exponential("0.0", "30.0", 3), format!("{f}.retry.base_s = 0: expected a finite number > 0")),
            (exponential("1.0", "inf", 3), format!("{f}.retry.cap_s = inf: expected a finite number of seconds >= base_s")),
            (
                "retry = { backoff = \"fixed\", delay_s = -2.0, max_attempts = 2 }".to_owned(),
                format!("{f}.retry.delay_s = -2: expected a finite number >= 0"),
            ),
            // `policy::RetryBudget::try_new`
            ("retry_budget = -0.5".to_owned(), format!("{f}.retry_budget = -0.5: expected a finite number >= 0")),
        ] {
            assert_eq!(problems(&sessions(&extra)), [refusal], "{extra}");
        }
        // A jitter's name is the scenario's to read.
        let p = problems(&sessions("retry = { backoff = \"fixed\", delay_s = 2.0, max_attempts = 2, jitter = \"some\" }"));
        assert_eq!(p, [format!("{f}.retry.jitter = \"some\": expected one of \"none\", \"full\", \"equal\"")]);
    }
}
