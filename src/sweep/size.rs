//! `rentree size`: the smallest value of a knob that meets a target with 95% confidence.
//!
//! The planner's question ("how many Pronote servers for 95% of users in by 9:00?") as a search over an
//! integer knob: each point evaluated is a set of replications (common random numbers across points, so
//! neighbouring points are compared on the same pupils), and a point *meets* the target only when the whole
//! 95% confidence interval of the metric is on the right side of it. The search is a bisection, which
//! assumes the metric moves monotonically with the knob; the points evaluated are checked for that, and a
//! violation is reported rather than hidden.

use crate::error::{Error, Result};
use crate::metrics::ci::Estimate;
use crate::metrics::{columns, SummaryColumn};
use crate::scenario::{Override, Source};
use crate::world;
use rayon::prelude::*;

/// Which side of the bound is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `metric >= bound`.
    AtLeast,
    /// `metric <= bound`.
    AtMost,
}

/// A target such as `served_share_by_0900>=0.95`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Summary column.
    pub metric: SummaryColumn,
    /// Direction.
    pub direction: Direction,
    /// Bound.
    pub bound: f64,
}

impl Target {
    /// Parses `METRIC>=VALUE` or `METRIC<=VALUE`.
    pub fn parse(text: &str) -> Result<Target> {
        let err = |m: &str| Error::Argument { flag: "--target".into(), found: text.into(), expected: m.into() };
        let (metric, direction, value) = if let Some((m, v)) = text.split_once(">=") {
            (m, Direction::AtLeast, v)
        } else if let Some((m, v)) = text.split_once("<=") {
            (m, Direction::AtMost, v)
        } else {
            return Err(err("METRIC>=VALUE or METRIC<=VALUE, e.g. served_share_by_0900>=0.95"));
        };
        let metric = columns::parse_metric::<SummaryColumn>(metric).map_err(|e| {
            err(&format!("a numeric summary column before the comparison ({:?} is not one; expected {})", e.found, e.expected()))
        })?;
        let bound: f64 =
            value.trim().parse().map_err(|_| err(&format!("a number after the comparison ({:?} is not one)", value.trim())))?;
        if !bound.is_finite() {
            return Err(err("a finite bound"));
        }
        Ok(Target { metric, direction, bound })
    }

    /// Whether an estimate meets the target with its whole interval.
    pub fn met_by(&self, e: &Estimate) -> bool {
        match self.direction {
            Direction::AtLeast => e.lo() >= self.bound,
            Direction::AtMost => e.hi() <= self.bound,
        }
    }
}

/// One knob value evaluated.
#[derive(Debug, Clone)]
pub struct Point {
    /// Knob value.
    pub value: i64,
    /// The metric over replications (95% interval).
    pub estimate: Estimate,
    /// Whether it meets the target.
    pub meets: bool,
}

/// The answer.
#[derive(Debug, Clone)]
pub struct SizeReport {
    /// Every point evaluated, in knob order.
    pub points: Vec<Point>,
    /// The smallest value found to meet the target, if any in range.
    pub answer: Option<i64>,
    /// Whether the metric moved monotonically over the points evaluated.
    pub monotone: bool,
}

/// Searches `lo..=hi` for the smallest value of `knob`, set on top of `source`, that meets `target`.
#[allow(clippy::too_many_arguments)]
pub fn size(
    source: &Source,
    knob: &str,
    (lo, hi): (i64, i64),
    target: &Target,
    replications: u64,
    seed: u64,
    budget: &world::budget::Budget,
) -> Result<SizeReport> {
    if lo > hi {
        return Err(Error::Argument { flag: "--range".into(), found: format!("{lo}..{hi}"), expected: "LO..HI with LO <= HI".into() });
    }
    let mut points: Vec<Point> = Vec::new();
    let evaluate = |value: i64, points: &mut Vec<Point>| -> Result<bool> {
        if let Some(p) = points.iter().find(|p| p.value == value) {
            return Ok(p.meets);
        }
        let scenario = source.scenario_with(&[Override::parse_from("--knob", &format!("{knob}={value}"))?])?;
        let origin = source.origin();
        let at = |message: String| format!("at {knob} = {value}: {message}");
        let limits = budget.check(&scenario).map_err(|m| Error::TooLarge { path: origin.to_owned(), message: at(m) })?;
        let values: Vec<f64> = (0..replications)
            .into_par_iter()
            .map(|r| world::run_with(&scenario, seed, r, &limits).map(|report| report.summary.value(target.metric).unwrap_or(f64::NAN)))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| e.into_error(origin.to_owned(), &format!("at {knob} = {value}: ")))?;
        let estimate = Estimate::new(&values, 0.95);
        let meets = target.met_by(&estimate);
        points.push(Point { value, estimate, meets });
        Ok(meets)
    };
    let answer = if !evaluate(hi, &mut points)? {
        None
    } else if evaluate(lo, &mut points)? {
        Some(lo)
    } else {
        let (mut bad, mut good) = (lo, hi);
        while good - bad > 1 {
            let mid = bad + (good - bad) / 2;
            if evaluate(mid, &mut points)? {
                good = mid;
            } else {
                bad = mid;
            }
        }
        Some(good)
    };
    points.sort_by_key(|p| p.value);
    let means: Vec<f64> = points.iter().map(|p| p.estimate.mean).collect();
    let up = means.windows(2).all(|w| w[1] >= w[0]);
    let down = means.windows(2).all(|w| w[1] <= w[0]);
    Ok(SizeReport { points, answer, monotone: up || down })
}
