//! Arrival processes, generated lazily in time order.
//!
//! Each process yields its next arrival instant on demand, so a run keeps one pending arrival event per
//! stream, never the whole population up front.
//!
//! - [`ArrivalProcess::Poisson`]: constant rate, exponential gaps.
//! - [`ArrivalProcess::Profile`]: a non-homogeneous Poisson process whose rate is piecewise linear in time,
//!   generated exactly by inversion of the cumulative intensity: the next arrival after `t` is the `s` with
//!   `Λ(s) = Λ(t) + E`, `E ~ Exp(1)`. Inversion (rather than thinning) wastes no draws when the rate is
//!   peaky, as a bell at 8:00 makes it.
//! - [`ArrivalProcess::Population`]: a finite population of `count` people who each arrive exactly once, at
//!   instants distributed according to a piecewise-linear density. The sorted arrival instants are the order
//!   statistics `F⁻¹(U_(1)) ≤ … ≤ F⁻¹(U_(n))`, and sorted uniforms can be generated one at a time:
//!   `U_(i+1) = 1 − (1 − U_(i)) · V^{1/(n−i)}` with `V` uniform (the minimum of the `n − i` remaining uniforms
//!   on `(U_(i), 1)`).

use super::time::SimTime;
use rand::Rng;
use rand_distr::{Distribution, Exp1};

/// A rate (or density shape) that is piecewise linear between `(t_s, rate_per_s)` points and zero before the
/// first and after the last point.
#[derive(Clone, Debug)]
pub struct RateProfile {
    t_s: Vec<f64>,
    rate_per_s: Vec<f64>,
    /// Cumulative intensity at each point: `cum[i] = Λ(t_s[i])`.
    cum: Vec<f64>,
}

/// Why a profile could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    /// Fewer than two points.
    #[error("found {0} point(s): expected at least 2 (t_s, rate_per_s) points")]
    TooFewPoints(usize),
    /// Times not strictly increasing.
    #[error("point {index}: t_s = {found} is not after the previous point: expected strictly increasing times")]
    NotIncreasing {
        /// Index of the offending point.
        index: usize,
        /// Its time.
        found: f64,
    },
    /// A negative or non-finite value.
    #[error("point {index}: {what} = {found}: expected a finite number >= 0")]
    Invalid {
        /// Index of the offending point.
        index: usize,
        /// `"t_s"` or `"rate_per_s"`.
        what: &'static str,
        /// The value.
        found: f64,
    },
    /// The rate is zero everywhere.
    #[error("the rate is zero everywhere: expected some positive rate")]
    Empty,
}

impl RateProfile {
    /// A profile through `points` (time in seconds, rate per second).
    pub fn new(points: &[(f64, f64)]) -> Result<Self, ProfileError> {
        if points.len() < 2 {
            return Err(ProfileError::TooFewPoints(points.len()));
        }
        for (index, &(t, r)) in points.iter().enumerate() {
            if !(t.is_finite() && t >= 0.0) {
                return Err(ProfileError::Invalid { index, what: "t_s", found: t });
            }
            if !(r.is_finite() && r >= 0.0) {
                return Err(ProfileError::Invalid { index, what: "rate_per_s", found: r });
            }
            if index > 0 && t <= points[index - 1].0 {
                return Err(ProfileError::NotIncreasing { index, found: t });
            }
        }
        let t_s: Vec<f64> = points.iter().map(|p| p.0).collect();
        let rate_per_s: Vec<f64> = points.iter().map(|p| p.1).collect();
        let mut cum = vec![0.0; points.len()];
        for i in 1..points.len() {
            cum[i] = cum[i - 1] + (t_s[i] - t_s[i - 1]) * (rate_per_s[i] + rate_per_s[i - 1]) / 2.0;
        }
        if cum[points.len() - 1] <= 0.0 {
            return Err(ProfileError::Empty);
        }
        Ok(RateProfile { t_s, rate_per_s, cum })
    }

    /// The same profile with every rate multiplied by `factor`.
    pub fn scaled(&self, factor: f64) -> RateProfile {
        RateProfile {
            t_s: self.t_s.clone(),
            rate_per_s: self.rate_per_s.iter().map(|r| r * factor).collect(),
            cum: self.cum.iter().map(|c| c * factor).collect(),
        }
    }

    /// Total expected number of arrivals, `Λ(∞)`.
    pub fn total(&self) -> f64 {
        *self.cum.last().expect("at least two points")
    }

    /// The rate at `t_s`.
    pub fn rate_at(&self, t_s: f64) -> f64 {
        let n = self.t_s.len();
        if t_s < self.t_s[0] || t_s > self.t_s[n - 1] {
            return 0.0;
        }
        let i = self.segment(t_s);
        let (t0, t1) = (self.t_s[i], self.t_s[i + 1]);
        let (r0, r1) = (self.rate_per_s[i], self.rate_per_s[i + 1]);
        r0 + (r1 - r0) * (t_s - t0) / (t1 - t0)
    }

    /// The cumulative intensity `Λ(t_s)`.
    pub fn cumulative(&self, t_s: f64) -> f64 {
        let n = self.t_s.len();
        if t_s <= self.t_s[0] {
            return 0.0;
        }
        if t_s >= self.t_s[n - 1] {
            return self.total();
        }
        let i = self.segment(t_s);
        let dt = t_s - self.t_s[i];
        let r0 = self.rate_per_s[i];
        let slope = (self.rate_per_s[i + 1] - r0) / (self.t_s[i + 1] - self.t_s[i]);
        self.cum[i] + r0 * dt + slope * dt * dt / 2.0
    }

    /// The earliest `t` with `Λ(t) = target`, or `None` if `target` exceeds the total.
    pub fn inverse_cumulative(&self, target: f64) -> Option<f64> {
        if target > self.total() {
            return None;
        }
        // First segment whose end reaches the target.
        let i = match self.cum.partition_point(|&c| c < target) {
            0 => return Some(self.t_s[0]),
            k => k - 1,
        };
        let need = target - self.cum[i];
        let (t0, t1) = (self.t_s[i], self.t_s[i + 1]);
        let r0 = self.rate_per_s[i];
        let slope = (self.rate_per_s[i + 1] - r0) / (t1 - t0);
        // Solve r0 x + slope x^2 / 2 = need for x in [0, t1 - t0], in the cancellation-free form.
        let x = if slope.abs() < 1e-300 {
            if r0 > 0.0 {
                need / r0
            } else {
                0.0
            }
        } else {
            let disc = (r0 * r0 + 2.0 * slope * need).max(0.0);
            2.0 * need / (r0 + disc.sqrt())
        };
        Some((t0 + x).min(t1))
    }

    /// Index of the segment `[t_s[i], t_s[i+1])` containing `t_s` (clamped to the last segment).
    fn segment(&self, t_s: f64) -> usize {
        let k = self.t_s.partition_point(|&t| t <= t_s);
        k.saturating_sub(1).min(self.t_s.len() - 2)
    }
}

/// A source of arrival instants.
#[derive(Clone, Debug)]
pub enum ArrivalProcess {
    /// Poisson arrivals at a constant rate.
    Poisson {
        /// Mean time between arrivals, `1 / rate`, in seconds (stored so the hot path multiplies rather
        /// than divides).
        mean_gap_s: f64,
    },
    /// Non-homogeneous Poisson arrivals following a piecewise-linear rate.
    Profile(RateProfile),
    /// A finite population, each member arriving once, with instants spread by a piecewise-linear density
    /// (the profile's shape; its scale does not matter).
    Population {
        /// Number of people.
        count: u64,
        /// Shape of the arrival density.
        shape: RateProfile,
    },
}

impl ArrivalProcess {
    /// Poisson arrivals at `rate_per_s` (> 0).
    pub fn poisson(rate_per_s: f64) -> ArrivalProcess {
        ArrivalProcess::Poisson { mean_gap_s: 1.0 / rate_per_s }
    }

    /// The expected number of arrivals in `[0, horizon_s]`.
    pub fn expected_count(&self, horizon_s: f64) -> f64 {
        match self {
            ArrivalProcess::Poisson { mean_gap_s } => horizon_s / mean_gap_s,
            ArrivalProcess::Profile(p) => p.cumulative(horizon_s),
            ArrivalProcess::Population { count, .. } => *count as f64,
        }
    }

    /// The long-run arrival rate of a Poisson process, if this is one.
    pub fn poisson_rate_per_s(&self) -> Option<f64> {
        match self {
            ArrivalProcess::Poisson { mean_gap_s } => Some(1.0 / mean_gap_s),
            _ => None,
        }
    }
}

/// The state of one arrival stream: where it is in its process.
#[derive(Clone, Debug)]
pub struct ArrivalStream {
    process: ArrivalProcess,
    /// Current time (Poisson), cumulative intensity (profile), or current order-statistic uniform (population).
    position: f64,
    remaining: u64,
}

impl ArrivalStream {
    /// A stream at the start of the run.
    pub fn new(process: ArrivalProcess) -> Self {
        let remaining = match &process {
            ArrivalProcess::Population { count, .. } => *count,
            _ => u64::MAX,
        };
        ArrivalStream { process, position: 0.0, remaining }
    }

    /// The next arrival instant, or `None` once the process is exhausted.
    pub fn next_arrival<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<SimTime> {
        match &self.process {
            ArrivalProcess::Poisson { mean_gap_s } => {
                let e: f64 = Exp1.sample(rng);
                self.position += e * mean_gap_s;
                Some(SimTime::from_secs_f64(self.position))
            }
            ArrivalProcess::Profile(profile) => {
                let e: f64 = Exp1.sample(rng);
                self.position += e;
                profile.inverse_cumulative(self.position).map(SimTime::from_secs_f64)
            }
            ArrivalProcess::Population { shape, .. } => {
                if self.remaining == 0 {
                    return None;
                }
                let v: f64 = rng.random();
                // 1 - U_(i+1) = (1 - U_(i)) * V^(1/m), computed on the complement to keep precision near 1.
                let complement = (1.0 - self.position) * v.powf(1.0 / self.remaining as f64);
                self.position = 1.0 - complement;
                self.remaining -= 1;
                let t = shape.inverse_cumulative(self.position * shape.total()).unwrap_or_else(|| shape.t_s[shape.t_s.len() - 1]);
                Some(SimTime::from_secs_f64(t))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::random::stream;

    #[test]
    fn profile_inversion_round_trips() {
        let p = RateProfile::new(&[(0.0, 0.0), (100.0, 10.0), (200.0, 10.0), (300.0, 0.0)]).unwrap();
        assert_eq!(p.total(), 500.0 + 1000.0 + 500.0);
        for target in [0.0, 1.0, 250.0, 499.9, 500.0, 1200.0, 1999.0, 2000.0] {
            let t = p.inverse_cumulative(target).unwrap();
            assert!((p.cumulative(t) - target).abs() < 1e-9 * target.max(1.0), "target {target}: t {t}");
        }
        assert_eq!(p.inverse_cumulative(2000.1), None);
        assert_eq!(p.rate_at(50.0), 5.0);
        assert_eq!(p.rate_at(350.0), 0.0);
    }

    #[test]
    fn bad_profiles_are_rejected() {
        assert_eq!(RateProfile::new(&[(0.0, 1.0)]).unwrap_err(), ProfileError::TooFewPoints(1));
        assert!(matches!(RateProfile::new(&[(0.0, 1.0), (0.0, 2.0)]), Err(ProfileError::NotIncreasing { .. })));
        assert!(matches!(RateProfile::new(&[(0.0, -1.0), (1.0, 2.0)]), Err(ProfileError::Invalid { .. })));
        assert_eq!(RateProfile::new(&[(0.0, 0.0), (1.0, 0.0)]).unwrap_err(), ProfileError::Empty);
    }

    /// Counts per bin for a stream, to compare with the expected intensity.
    fn binned(mut s: ArrivalStream, seed: u64, bins: usize, bin_s: f64) -> (Vec<f64>, u64, bool) {
        let mut rng = stream(seed, 0, "arrivals");
        let mut counts = vec![0.0; bins];
        let mut n = 0;
        let mut last = SimTime::ZERO;
        let mut sorted = true;
        while let Some(t) = s.next_arrival(&mut rng) {
            if t.as_secs_f64() >= bins as f64 * bin_s {
                break;
            }
            sorted &= t >= last;
            last = t;
            counts[(t.as_secs_f64() / bin_s) as usize] += 1.0;
            n += 1;
        }
        (counts, n, sorted)
    }

    #[test]
    fn profile_arrivals_follow_the_rate() {
        // A triangle: expected count per 10 s bin is the integral of the rate over the bin.
        let p = RateProfile::new(&[(0.0, 0.0), (500.0, 400.0), (1000.0, 0.0)]).unwrap();
        let (counts, n, sorted) = binned(ArrivalStream::new(ArrivalProcess::Profile(p.clone())), 3, 100, 10.0);
        assert!(sorted);
        // Total is Poisson(200000): 5 standard deviations is ~2236.
        assert!((n as f64 - 200_000.0).abs() < 5.0 * 200_000f64.sqrt(), "n = {n}");
        for (i, c) in counts.iter().enumerate() {
            let expected = p.cumulative((i + 1) as f64 * 10.0) - p.cumulative(i as f64 * 10.0);
            // Each bin is Poisson; 5 sd plus one for the smallest bins.
            assert!((c - expected).abs() <= 5.0 * expected.sqrt() + 1.0, "bin {i}: {c} vs {expected}");
        }
    }

    #[test]
    fn population_arrives_exactly_once_each_in_order() {
        let shape = RateProfile::new(&[(0.0, 0.0), (600.0, 1.0), (1200.0, 0.0)]).unwrap();
        let count = 100_000;
        let (counts, n, sorted) = binned(ArrivalStream::new(ArrivalProcess::Population { count, shape: shape.clone() }), 5, 120, 10.0);
        assert!(sorted);
        assert_eq!(n, count);
        for (i, c) in counts.iter().enumerate() {
            let p = (shape.cumulative((i + 1) as f64 * 10.0) - shape.cumulative(i as f64 * 10.0)) / shape.total();
            let expected = p * count as f64;
            let sd = (count as f64 * p * (1.0 - p)).sqrt();
            assert!((c - expected).abs() <= 5.0 * sd + 1.0, "bin {i}: {c} vs {expected}");
        }
    }

    #[test]
    fn poisson_gaps_have_the_right_mean() {
        let mut s = ArrivalStream::new(ArrivalProcess::poisson(4.0));
        let mut rng = stream(9, 0, "arrivals");
        let n = 100_000;
        let mut t = SimTime::ZERO;
        for _ in 0..n {
            t = s.next_arrival(&mut rng).unwrap();
        }
        let mean_gap = t.as_secs_f64() / n as f64;
        // Standard error of the mean gap: 0.25/sqrt(n).
        assert!((mean_gap - 0.25).abs() < 5.0 * 0.25 / (n as f64).sqrt());
    }
}
