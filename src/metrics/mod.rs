//! Measurements taken during a run, and the run's result rows.
//!
//! Accumulators are streaming: a national run has billions of samples, so nothing stores one value per
//! request. Quantiles come from HDR histograms (bounded memory, 3 significant digits), means from exact
//! integer sums, time averages from integrated areas.

pub mod ci;
pub mod row;

use crate::engine::{SimDuration, SimTime, MICROS_PER_S};
use hdrhistogram::Histogram;

pub use row::{Field, MinuteRow, Summary};

/// The time integral of a piecewise-constant quantity (queue length, busy servers), for time averages.
#[derive(Clone, Debug, Default)]
pub struct TimeWeighted {
    value: u64,
    since: SimTime,
    /// Integral since the last [`TimeWeighted::take_area`], in value × microseconds.
    area: u128,
    max: u64,
}

impl TimeWeighted {
    /// Current value.
    #[inline]
    pub fn value(&self) -> u64 {
        self.value
    }

    /// Changes the value at `now`.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: u64) {
        self.area += u128::from(self.value) * u128::from((now - self.since).as_micros());
        self.since = now;
        self.value = value;
        self.max = self.max.max(value);
    }

    /// Adds `delta` (may be negative) to the value at `now`.
    #[inline]
    pub fn add(&mut self, now: SimTime, delta: i64) {
        let v = self.value.checked_add_signed(delta).expect("time-weighted value stays non-negative");
        self.set(now, v);
    }

    /// Returns the integral since the last call (value × µs) and the maximum seen, then starts afresh at `now`.
    pub fn take_area(&mut self, now: SimTime) -> (u128, u64) {
        self.set(now, self.value);
        let out = (self.area, self.max);
        self.area = 0;
        self.max = self.value;
        out
    }
}

/// The mean of an area over a span, in value units.
pub fn time_average(area: u128, span: SimDuration) -> f64 {
    if span.as_micros() == 0 {
        0.0
    } else {
        area as f64 / span.as_micros() as f64
    }
}

/// A streaming record of durations: exact count and mean, approximate quantiles (3 significant digits).
#[derive(Clone, Debug)]
pub struct DurationStats {
    histogram: Histogram<u64>,
    count: u64,
    sum_us: u128,
}

impl Default for DurationStats {
    fn default() -> Self {
        Self::new()
    }
}

impl DurationStats {
    /// An empty record; durations above about 2 days saturate at the top bucket for quantiles (the mean
    /// stays exact).
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, 2 * 86_400 * MICROS_PER_S, 3).expect("static histogram bounds are valid");
        DurationStats { histogram, count: 0, sum_us: 0 }
    }

    /// Records one duration.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        self.histogram.saturating_record(d.as_micros());
        self.count += 1;
        self.sum_us += u128::from(d.as_micros());
    }

    /// Number of durations recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean in seconds (0 when empty).
    pub fn mean_s(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.count as f64 / MICROS_PER_S as f64
        }
    }

    /// The `q`-quantile in seconds (0 when empty).
    pub fn quantile_s(&self, q: f64) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.histogram.value_at_quantile(q) as f64 / MICROS_PER_S as f64
        }
    }

    /// The largest duration recorded, in seconds (to the histogram's precision).
    pub fn max_s(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.histogram.max() as f64 / MICROS_PER_S as f64
        }
    }

    /// Forgets everything recorded (keeps the allocation).
    pub fn reset(&mut self) {
        self.histogram.reset();
        self.count = 0;
        self.sum_us = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_weighted_integrates_a_step_function() {
        let mut tw = TimeWeighted::default();
        tw.set(SimTime(0), 2);
        tw.set(SimTime(10), 5);
        tw.add(SimTime(20), -5);
        let (area, max) = tw.take_area(SimTime(40));
        assert_eq!(area, 2 * 10 + 5 * 10);
        assert_eq!(max, 5);
        assert_eq!(time_average(area, SimDuration(40)), 70.0 / 40.0);
        tw.set(SimTime(50), 1);
        assert_eq!(tw.take_area(SimTime(60)), (10, 1));
    }

    #[test]
    fn duration_stats_mean_is_exact_and_quantiles_close() {
        let mut s = DurationStats::new();
        for ms in 1..=1000u64 {
            s.record(SimDuration(ms * 1000));
        }
        assert_eq!(s.count(), 1000);
        assert!((s.mean_s() - 0.5005).abs() < 1e-12);
        assert!((s.quantile_s(0.95) - 0.95).abs() < 0.95 * 1e-3 + 1e-6);
        assert!((s.max_s() - 1.0).abs() < 1e-3);
        s.reset();
        assert_eq!(s.quantile_s(0.5), 0.0);
    }
}
