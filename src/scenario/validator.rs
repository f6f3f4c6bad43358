//! The validator that collects every problem of a file, and the checks every part of a scenario shares:
//! counts, durations and distributions, arrival processes, and the policies' refusals named by field.

use super::raw::{RawArrivals, RawDist};
use super::MAX_COUNT;
use crate::engine::{ArrivalProcess, DurationDist, RateProfile};
use crate::error::{Error, FieldProblem};
use crate::policy::PolicyError;
use std::path::Path;

/// Collects every problem of a file.
pub(super) struct Validator {
    /// (field, found, expected), in the order found; a part tells whether it added any by their count.
    pub(super) problems: Vec<(String, String, String)>,
}

impl Validator {
    /// A validator that found nothing yet.
    pub(super) fn new() -> Validator {
        Validator { problems: Vec::new() }
    }

    /// `Ok` if no problem was found; otherwise the one problem, or all of them, naming `origin`.
    pub(super) fn into_result(mut self, origin: &Path) -> Result<(), Error> {
        match self.problems.len() {
            0 => Ok(()),
            1 => {
                let (field, found, expected) = self.problems.pop().expect("one problem");
                Err(Error::Invalid { path: origin.to_owned(), field, found, expected })
            }
            _ => Err(Error::Many {
                path: origin.to_owned(),
                problems: self.problems.into_iter().map(|(field, found, expected)| FieldProblem { field, found, expected }).collect(),
            }),
        }
    }

    /// Records that `field` holds `found` where `expected` was expected.
    pub(super) fn problem(&mut self, field: &str, found: &str, expected: &str) {
        self.problems.push((field.to_owned(), found.to_owned(), expected.to_owned()));
    }

    /// Records a problem of `field` unless `ok`.
    pub(super) fn check<T: std::fmt::Display>(&mut self, ok: bool, field: &str, found: T, expected: &str) {
        if !ok {
            let text = found.to_string();
            // A float as large as 1e300 displays as 301 digits: show it as written in the file instead.
            let text = match text.parse::<f64>() {
                Ok(x) if text.len() > 24 => format!("{x:e}"),
                _ => text,
            };
            self.problem(field, &text, expected);
        }
    }

    /// The policy its checked constructor `built`, or its refusal recorded as a problem of the parameter it
    /// names, under `field`: the rule lives in the policy, the field's name in the scenario.
    pub(super) fn built<T>(&mut self, field: &str, built: Result<T, PolicyError>) -> Option<T> {
        match built {
            Ok(policy) => Some(policy),
            Err(e) => {
                self.refused(&format!("{field}.{}", e.parameter), &e);
                None
            }
        }
    }

    /// Records a policy's refusal as a problem of `field` (for a parameter the file names otherwise).
    pub(super) fn refused(&mut self, field: &str, e: &PolicyError) {
        self.check(false, field, e.found, e.expected);
    }

    /// A duration distribution, built by its own checked constructor whose refusal names the parameter.
    pub(super) fn dist(&mut self, field: &str, d: &RawDist) -> Option<DurationDist> {
        let built = match *d {
            RawDist::Exponential { mean_s } => DurationDist::exponential(mean_s),
            RawDist::Deterministic { value_s } => DurationDist::deterministic(value_s),
            RawDist::Lognormal { mean_s, cv } => DurationDist::lognormal(mean_s, cv),
            RawDist::Gamma { shape, mean_s } => DurationDist::gamma(shape, mean_s),
            RawDist::Erlang { k, mean_s } => DurationDist::erlang(k, mean_s),
            RawDist::Uniform { min_s, max_s } => DurationDist::uniform(min_s, max_s),
        };
        match built {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(&format!("{field}.{}", e.parameter), &e.found.to_string(), e.expected);
                None
            }
        }
    }

    /// Checks a count of servers (or workers, rooms) read as a 64-bit integer: from `min` to the 32 bits a
    /// pool counts in, never silently clamped.
    pub(super) fn count(&mut self, field: &str, n: i64, min: i64) -> bool {
        let ok = (min..=MAX_COUNT).contains(&n);
        self.check(ok, field, n, &format!("an integer from {min} to {MAX_COUNT}"));
        ok
    }

    pub(super) fn positive(&mut self, field: &str, x: f64, expected: &str) -> bool {
        let ok = x.is_finite() && x > 0.0;
        self.check(ok, field, x, expected);
        ok
    }

    pub(super) fn arrivals(&mut self, field: &str, a: &RawArrivals) -> Option<ArrivalProcess> {
        match a {
            RawArrivals::Poisson { rate_per_s } => {
                let ok = rate_per_s.is_finite() && *rate_per_s > 0.0;
                self.check(ok, &format!("{field}.rate_per_s"), rate_per_s, "a rate per second > 0");
                ok.then(|| ArrivalProcess::poisson(*rate_per_s))
            }
            RawArrivals::Profile { points } => self.profile(&format!("{field}.points"), points).map(ArrivalProcess::Profile),
            RawArrivals::Population { count, shape } => {
                // No one (0) is a cohort switched off: its shape is still checked.
                let shape = self.profile(&format!("{field}.shape"), shape)?;
                Some(ArrivalProcess::Population { count: *count, shape })
            }
        }
    }

    pub(super) fn profile(&mut self, field: &str, points: &[[f64; 2]]) -> Option<RateProfile> {
        let pairs: Vec<(f64, f64)> = points.iter().map(|p| (p[0], p[1])).collect();
        match RateProfile::new(&pairs) {
            Ok(p) => Some(p),
            Err(e) => {
                self.problem(field, &format!("{points:?}"), &e.to_string());
                None
            }
        }
    }
}
