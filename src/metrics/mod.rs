//! Measurements taken during a run, and the run's result rows.
//!
//! Accumulators are streaming: a national run has billions of samples, so nothing stores one value per
//! request for longer than a minute. Quantiles come from HDR histograms (bounded memory, 3 significant
//! digits) or, within a minute, from the minute's values reported as the histogram would
//! ([`MinuteDurations`]); means from exact integer sums, time averages from integrated areas.

pub mod ci;
pub mod columns;
pub mod row;

use crate::engine::{SimDuration, SimTime, MICROS_PER_S};
use hdrhistogram::Histogram;

pub use columns::{Column, Field, Merge, Stat};
pub use row::{AccessColumn, AccessPoint, MinuteColumn, MinuteRow, Summary, SummaryColumn};

/// A window over running totals: the reading of the totals when the window opened, and what has
/// accumulated since, by difference.
///
/// The one convention for every windowed figure of a run: counters and time integrals only grow, from the
/// start of the run, and a minute's row, the observed span after the warm-up, or an autoscaler's evaluation
/// window is the difference of two readings of them. A part of the world keeps its totals in a struct
/// declared with [`totals!`](crate::totals) (which subtracts field by field) and a `Window` per span it
/// reports on; nothing is reset, so a figure over any span can be read without disturbing the others.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Window<T> {
    opened: T,
}

impl<T: Copy + std::ops::Sub<Output = T>> Window<T> {
    /// A window opening at the reading `now`.
    pub fn opening(now: T) -> Window<T> {
        Window { opened: now }
    }

    /// What accumulated from the window's opening to the reading `now`.
    #[inline]
    pub fn since(&self, now: T) -> T {
        now - self.opened
    }

    /// Closes the window at the reading `now`, returning what accumulated in it, and opens the next.
    #[inline]
    pub fn close(&mut self, now: T) -> T {
        let d = now - self.opened;
        self.opened = now;
        d
    }

    /// The reading the window opened at.
    pub fn opened(&self) -> T {
        self.opened
    }
}

/// Declares a struct of running totals, read through a [`Window`]: `Copy`, zero by default, and
/// subtracted field by field (every field a number or another totals struct).
#[macro_export]
macro_rules! totals {
    (
        $(#[doc = $doc:literal])*
        $vis:vis struct $name:ident {
            $( $(#[doc = $fdoc:literal])* $fvis:vis $field:ident : $ty:ty, )+
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq)]
        $vis struct $name {
            $( $(#[doc = $fdoc])* $fvis $field: $ty, )+
        }

        impl ::std::ops::Sub for $name {
            type Output = $name;
            #[inline]
            fn sub(self, earlier: $name) -> $name {
                $name { $( $field: self.$field - earlier.$field, )+ }
            }
        }
    };
}

/// The running time integral of a piecewise-constant quantity (queue length, busy servers).
///
/// The integral is cumulative from the start of the run; a time average over any span is the difference of
/// two readings of [`TimeWeighted::area_at`] divided by the span. One accumulator thus serves the per-minute
/// series and the whole-run summary (which starts at the warm-up), with one update per change.
#[derive(Clone, Debug, Default)]
pub struct TimeWeighted {
    value: u64,
    since: SimTime,
    /// Integral from the start of the run to `since`, in value × microseconds.
    area: u128,
    /// Largest value since the last [`TimeWeighted::take_max`].
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

    /// Adds one at `now`.
    #[inline]
    pub fn incr(&mut self, now: SimTime) {
        self.set(now, self.value + 1);
    }

    /// Removes one at `now`.
    #[inline]
    pub fn decr(&mut self, now: SimTime) {
        debug_assert!(self.value > 0, "time-weighted value stays non-negative");
        self.set(now, self.value.saturating_sub(1));
    }

    /// The integral from the start of the run to `now` (value × µs); `now` must not precede the last change.
    #[inline]
    pub fn area_at(&self, now: SimTime) -> u128 {
        self.area + u128::from(self.value) * u128::from((now - self.since).as_micros())
    }

    /// The largest value since the previous call, then starts tracking afresh from the current value.
    pub fn take_max(&mut self) -> u64 {
        std::mem::replace(&mut self.max, self.value)
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

/// The mean of `count` durations summing to `sum_us` µs, in seconds (0 when there are none).
fn mean_s_of(sum_us: u128, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        sum_us as f64 / count as f64 / MICROS_PER_S as f64
    }
}

/// Where the `q`-quantile of `count` durations, `zeros` of them zero, lies among the positive ones (a
/// quantile of them, at most 1), or `None` when it is zero: the zeros cover rank `⌈q·count⌉`, or there is
/// nothing else.
fn quantile_among_positive(q: f64, count: u64, zeros: u64) -> Option<f64> {
    let positive = count - zeros;
    let rank = (q * count as f64).ceil() as u64;
    (positive > 0 && rank > zeros).then(|| ((rank - zeros) as f64 / positive as f64).min(1.0))
}

/// A streaming record of durations: exact count and mean, approximate quantiles (3 significant digits).
///
/// Zero durations (a request served without waiting: most of them in a healthy system) are counted apart
/// rather than recorded in the histogram, which keeps the common case to one increment; quantiles account
/// for them exactly.
#[derive(Clone, Debug)]
pub struct DurationStats {
    /// Allocated on the first positive duration: a histogram of these bounds takes about 220 KiB, and a
    /// scenario with thousands of cohorts would otherwise pay it for every group that records nothing.
    histogram: Option<Box<Histogram<u64>>>,
    count: u64,
    zeros: u64,
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
        DurationStats { histogram: None, count: 0, zeros: 0, sum_us: 0 }
    }

    /// The histogram's top, µs: two days. Longer durations count at the top for quantiles.
    const HIGHEST_US: u64 = 2 * 86_400 * MICROS_PER_S;
    /// The histogram's precision.
    const SIGNIFICANT_DIGITS: u8 = 3;

    fn empty_histogram() -> Box<Histogram<u64>> {
        Box::new(Histogram::new_with_bounds(1, Self::HIGHEST_US, Self::SIGNIFICANT_DIGITS).expect("static histogram bounds are valid"))
    }

    /// Records one duration.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        self.count += 1;
        if d.as_micros() == 0 {
            self.zeros += 1;
        } else {
            self.histogram.get_or_insert_with(Self::empty_histogram).saturating_record(d.as_micros());
            self.sum_us += u128::from(d.as_micros());
        }
    }

    /// Number of durations recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean in seconds (0 when empty).
    pub fn mean_s(&self) -> f64 {
        mean_s_of(self.sum_us, self.count)
    }

    /// The `q`-quantile in seconds (0 when empty).
    pub fn quantile_s(&self, q: f64) -> f64 {
        match (&self.histogram, quantile_among_positive(q, self.count, self.zeros)) {
            (Some(h), Some(q_positive)) => h.value_at_quantile(q_positive) as f64 / MICROS_PER_S as f64,
            _ => 0.0,
        }
    }

    /// The largest duration recorded, in seconds (to the histogram's precision).
    pub fn max_s(&self) -> f64 {
        match &self.histogram {
            Some(h) if self.count > self.zeros => h.max() as f64 / MICROS_PER_S as f64,
            _ => 0.0,
        }
    }

    /// Adds every duration recorded in `other`.
    pub fn merge(&mut self, other: &DurationStats) {
        if let Some(theirs) = &other.histogram {
            let mine = self.histogram.get_or_insert_with(Self::empty_histogram);
            mine.add(theirs.as_ref()).expect("histograms of one run share their bounds");
        }
        self.count += other.count;
        self.zeros += other.zeros;
        self.sum_us += other.sum_us;
    }

    /// Forgets everything recorded (keeps the allocation).
    pub fn reset(&mut self) {
        if let (Some(h), true) = (&mut self.histogram, self.count > self.zeros) {
            h.reset();
        }
        self.count = 0;
        self.zeros = 0;
        self.sum_us = 0;
    }
}

/// The durations of one short window (a minute's waits or latencies): every value kept until the window
/// closes, so that its quantiles are a selection among them.
///
/// Its quantiles are exactly those of a [`DurationStats`] fed the same values: the rank is the
/// histogram's, and the value at that rank is reported as the top of its histogram bucket, as the
/// histogram reports it. What differs is the cost. A histogram of these bounds is about 220 KiB, which a
/// minute had to zero and then sweep once per quantile: at reduced scales, and in small systems, that cost
/// more than the minute's events themselves. Here a value costs a push, a quantile a selection over the
/// minute's values, and a reset nothing; memory follows the busiest minute (8 bytes a value).
#[derive(Clone, Debug)]
pub struct MinuteDurations {
    /// The positive durations, µs, clamped as the histogram clamps them; in no particular order.
    values_us: Vec<u64>,
    count: u64,
    sum_us: u128,
    /// The largest duration the histogram records as it is ([`Geometry`]), read once.
    largest_us: u64,
}

impl Default for MinuteDurations {
    fn default() -> Self {
        Self::new()
    }
}

/// The bucket geometry of [`DurationStats`]'s histograms, for [`MinuteDurations`] to report a value as
/// they would (never recorded into after its set-up; `u8` counts keep it small), and the largest value
/// they record as it is: their buckets reach past their nominal top, and only a value beyond the last
/// bucket is recorded as the nominal top instead.
struct Geometry {
    histogram: Histogram<u8>,
    largest_us: u64,
}

fn bucket_geometry() -> &'static Geometry {
    static GEOMETRY: std::sync::OnceLock<Geometry> = std::sync::OnceLock::new();
    GEOMETRY.get_or_init(|| {
        let mut probe = Histogram::<u8>::new_with_bounds(1, DurationStats::HIGHEST_US, DurationStats::SIGNIFICANT_DIGITS)
            .expect("static histogram bounds are valid");
        // The recordable values are one range from zero: the largest is found by bisection.
        let (mut fits, mut beyond) = (DurationStats::HIGHEST_US, u64::MAX);
        while beyond - fits > 1 {
            let mid = fits + (beyond - fits) / 2;
            if probe.record(mid).is_ok() {
                fits = mid;
            } else {
                beyond = mid;
            }
        }
        probe.reset();
        Geometry { histogram: probe, largest_us: fits }
    })
}

impl MinuteDurations {
    /// An empty window.
    pub fn new() -> Self {
        MinuteDurations { values_us: Vec::new(), count: 0, sum_us: 0, largest_us: bucket_geometry().largest_us }
    }

    /// Records one duration.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        self.count += 1;
        if d.as_micros() > 0 {
            // As the histogram's saturating record: beyond its last bucket, its nominal top.
            let us = d.as_micros();
            self.values_us.push(if us > self.largest_us { DurationStats::HIGHEST_US } else { us });
            self.sum_us += u128::from(d.as_micros());
        }
    }

    /// Number of durations recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean in seconds (0 when empty).
    pub fn mean_s(&self) -> f64 {
        mean_s_of(self.sum_us, self.count)
    }

    /// The `q`-quantile in seconds (0 when empty), equal to [`DurationStats::quantile_s`] on the same
    /// values. Reorders the values kept.
    pub fn quantile_s(&mut self, q: f64) -> f64 {
        let positive = self.values_us.len() as u64;
        let Some(q_positive) = quantile_among_positive(q, self.count, self.count - positive) else {
            return 0.0;
        };
        // The histogram's step, in the same floating point: the rank among the positive values (at least the
        // first).
        let k = ((q_positive * positive as f64).ceil() as u64).max(1);
        let at = usize::try_from(k - 1).expect("a rank among values held in memory fits usize");
        let (_, &mut value_us, _) = self.values_us.select_nth_unstable(at);
        bucket_geometry().histogram.highest_equivalent(value_us) as f64 / MICROS_PER_S as f64
    }

    /// Forgets everything recorded (keeps the allocation).
    pub fn reset(&mut self) {
        self.values_us.clear();
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
        tw.set(SimTime(20), 0);
        let area = tw.area_at(SimTime(40));
        assert_eq!(area, 2 * 10 + 5 * 10);
        assert_eq!(tw.take_max(), 5);
        assert_eq!(time_average(area, SimDuration(40)), 70.0 / 40.0);
        tw.incr(SimTime(50));
        assert_eq!(tw.area_at(SimTime(60)) - area, 10);
        assert_eq!(tw.take_max(), 1);
        tw.decr(SimTime(60));
        assert_eq!(tw.take_max(), 1);
        assert_eq!(tw.take_max(), 0);
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

    #[test]
    fn zero_durations_count_in_quantiles() {
        // 60 zeros and 40 values 1..=40 ms: the median is 0, the 70th percentile is the 10th value (10 ms).
        let mut s = DurationStats::new();
        for _ in 0..60 {
            s.record(SimDuration::ZERO);
        }
        for ms in 1..=40u64 {
            s.record(SimDuration(ms * 1000));
        }
        assert_eq!(s.count(), 100);
        assert_eq!(s.quantile_s(0.5), 0.0);
        assert_eq!(s.quantile_s(0.6), 0.0);
        assert!((s.quantile_s(0.7) - 0.010).abs() < 1e-5, "{}", s.quantile_s(0.7));
        assert!((s.quantile_s(1.0) - 0.040).abs() < 1e-4);
        assert!((s.mean_s() - 0.0082).abs() < 1e-12);
        assert!((s.max_s() - 0.040).abs() < 1e-4);
    }

    #[test]
    fn minute_durations_give_the_histograms_quantiles_exactly() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        // Windows of every size from empty to thousands, with zeros, ties, values spanning µs to days and
        // beyond the histogram's top.
        for window in 0..300 {
            let n = if window % 50 == 0 { 5_000 } else { window % 37 };
            let (mut hist, mut kept) = (DurationStats::new(), MinuteDurations::new());
            for _ in 0..n {
                let us = match rng.random_range(0..5) {
                    0 => 0,
                    1 => rng.random_range(1..2_000),
                    2 => rng.random_range(1..10_000_000),
                    3 => 1_000 * rng.random_range(1..20u64),
                    _ => rng.random_range(1..(3 * DurationStats::HIGHEST_US)),
                };
                hist.record(SimDuration(us));
                kept.record(SimDuration(us));
            }
            assert_eq!(kept.count(), hist.count());
            assert_eq!(kept.mean_s(), hist.mean_s());
            for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
                assert_eq!(kept.quantile_s(q), hist.quantile_s(q), "window {window} ({n} values), q = {q}");
            }
            kept.reset();
            assert_eq!((kept.count(), kept.quantile_s(0.5), kept.mean_s()), (0, 0.0, 0.0));
        }
    }
}
