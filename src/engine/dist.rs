//! Distributions of durations (service times, patience, think times, delays).
//!
//! A closed enum rather than `Box<dyn Distribution>`: sampling is a `match` the compiler can inline into the
//! event loop, and the set of shapes is part of the scenario file format anyway.

use super::time::SimDuration;
use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, LogNormal, StandardNormal};

/// A distribution of non-negative durations, parameterised in seconds.
#[derive(Clone, Debug)]
pub enum DurationDist {
    /// Exponential with the given mean.
    Exponential {
        /// Mean in seconds.
        mean_s: f64,
    },
    /// Always the same value.
    Deterministic {
        /// The value in seconds.
        value_s: f64,
    },
    /// Log-normal with the given mean and coefficient of variation (std / mean).
    LogNormal {
        /// Mean in seconds.
        mean_s: f64,
        /// Coefficient of variation.
        cv: f64,
        /// The underlying distribution, in seconds.
        inner: LogNormal<f64>,
    },
    /// Gamma with the given shape and mean (Erlang-k when the shape is an integer k).
    Gamma {
        /// Mean in seconds.
        mean_s: f64,
        /// Shape parameter (k for Erlang-k).
        shape: f64,
        /// The underlying distribution, in seconds.
        inner: Gamma<f64>,
    },
    /// Uniform on `[min_s, max_s]`.
    Uniform {
        /// Lower bound in seconds.
        min_s: f64,
        /// Upper bound in seconds.
        max_s: f64,
    },
}

/// Why a distribution could not be built; the scenario layer turns this into a message naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{parameter} = {found}: expected {expected}")]
pub struct DistError {
    /// The offending parameter.
    pub parameter: &'static str,
    /// The value found.
    pub found: f64,
    /// What was expected.
    pub expected: &'static str,
}

fn positive(parameter: &'static str, value: f64) -> Result<f64, DistError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(DistError { parameter, found: value, expected: "a finite number > 0" })
    }
}

fn non_negative(parameter: &'static str, value: f64) -> Result<f64, DistError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(DistError { parameter, found: value, expected: "a finite number >= 0" })
    }
}

impl DurationDist {
    /// Exponential with mean `mean_s` seconds.
    pub fn exponential(mean_s: f64) -> Result<Self, DistError> {
        Ok(DurationDist::Exponential { mean_s: positive("mean_s", mean_s)? })
    }

    /// A constant `value_s` seconds.
    pub fn deterministic(value_s: f64) -> Result<Self, DistError> {
        Ok(DurationDist::Deterministic { value_s: non_negative("value_s", value_s)? })
    }

    /// Log-normal with mean `mean_s` and coefficient of variation `cv`.
    pub fn lognormal(mean_s: f64, cv: f64) -> Result<Self, DistError> {
        let mean_s = positive("mean_s", mean_s)?;
        let cv = positive("cv", cv)?;
        // For X = exp(N(mu, sigma^2)): E[X] = exp(mu + sigma^2/2), CV^2 = exp(sigma^2) - 1.
        let sigma2 = (1.0 + cv * cv).ln();
        let mu = mean_s.ln() - sigma2 / 2.0;
        let inner =
            LogNormal::new(mu, sigma2.sqrt()).map_err(|_| DistError { parameter: "cv", found: cv, expected: "a finite number > 0" })?;
        Ok(DurationDist::LogNormal { mean_s, cv, inner })
    }

    /// Gamma with shape `shape` and mean `mean_s`.
    pub fn gamma(shape: f64, mean_s: f64) -> Result<Self, DistError> {
        let shape = positive("shape", shape)?;
        let mean_s = positive("mean_s", mean_s)?;
        let inner = Gamma::new(shape, mean_s / shape).map_err(|_| DistError {
            parameter: "shape",
            found: shape,
            expected: "a finite number > 0",
        })?;
        Ok(DurationDist::Gamma { mean_s, shape, inner })
    }

    /// Erlang-k (a sum of `k` exponentials) with mean `mean_s`.
    pub fn erlang(k: u32, mean_s: f64) -> Result<Self, DistError> {
        if k == 0 {
            return Err(DistError { parameter: "k", found: 0.0, expected: "an integer >= 1" });
        }
        Self::gamma(f64::from(k), mean_s)
    }

    /// Uniform on `[min_s, max_s]`.
    pub fn uniform(min_s: f64, max_s: f64) -> Result<Self, DistError> {
        let min_s = non_negative("min_s", min_s)?;
        let max_s = non_negative("max_s", max_s)?;
        if max_s < min_s {
            return Err(DistError { parameter: "max_s", found: max_s, expected: "a number >= min_s" });
        }
        Ok(DurationDist::Uniform { min_s, max_s })
    }

    /// Draws one duration.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        SimDuration::from_secs_f64(self.sample_s(rng))
    }

    /// Draws one duration in seconds.
    #[inline]
    pub fn sample_s<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            DurationDist::Exponential { mean_s } => {
                let e: f64 = Exp1.sample(rng);
                e * mean_s
            }
            DurationDist::Deterministic { value_s } => *value_s,
            DurationDist::LogNormal { inner, .. } => inner.sample(rng),
            DurationDist::Gamma { inner, .. } => inner.sample(rng),
            DurationDist::Uniform { min_s, max_s } => {
                if max_s > min_s {
                    rng.random_range(*min_s..=*max_s)
                } else {
                    *min_s
                }
            }
        }
    }

    /// The mean in seconds.
    pub fn mean_s(&self) -> f64 {
        match self {
            DurationDist::Exponential { mean_s } | DurationDist::LogNormal { mean_s, .. } | DurationDist::Gamma { mean_s, .. } => *mean_s,
            DurationDist::Deterministic { value_s } => *value_s,
            DurationDist::Uniform { min_s, max_s } => (min_s + max_s) / 2.0,
        }
    }

    /// The squared coefficient of variation (variance / mean^2), used by the M/G/1 oracle.
    pub fn scv(&self) -> f64 {
        match self {
            DurationDist::Exponential { .. } => 1.0,
            DurationDist::Deterministic { .. } => 0.0,
            DurationDist::LogNormal { cv, .. } => cv * cv,
            DurationDist::Gamma { shape, .. } => 1.0 / shape,
            DurationDist::Uniform { min_s, max_s } => {
                let mean = (min_s + max_s) / 2.0;
                if mean == 0.0 {
                    0.0
                } else {
                    (max_s - min_s).powi(2) / 12.0 / (mean * mean)
                }
            }
        }
    }
}

/// A standard normal draw, exposed for models that need one without depending on `rand_distr` directly.
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::random::stream;

    /// Sample mean and variance of `n` draws.
    fn moments(d: &DurationDist, n: usize) -> (f64, f64) {
        let mut rng = stream(7, 0, "dist-test");
        let xs: Vec<f64> = (0..n).map(|_| d.sample_s(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var)
    }

    #[test]
    fn sample_moments_match_parameters() {
        // 200k draws: the sample mean's standard error is mean*cv/447; 5 standard errors never flake.
        let n = 200_000;
        for d in [
            DurationDist::exponential(2.0).unwrap(),
            DurationDist::lognormal(1.5, 0.8).unwrap(),
            DurationDist::gamma(3.0, 0.5).unwrap(),
            DurationDist::erlang(4, 1.0).unwrap(),
            DurationDist::uniform(1.0, 3.0).unwrap(),
        ] {
            let (mean, var) = moments(&d, n);
            let sd = (d.scv()).sqrt() * d.mean_s();
            let se = sd / (n as f64).sqrt();
            assert!((mean - d.mean_s()).abs() < 5.0 * se, "{d:?}: mean {mean}");
            let var_expected = d.scv() * d.mean_s().powi(2);
            assert!((var / var_expected - 1.0).abs() < 0.05, "{d:?}: var {var} vs {var_expected}");
        }
        assert_eq!(moments(&DurationDist::deterministic(0.25).unwrap(), 10).0, 0.25);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(DurationDist::exponential(-1.0).is_err());
        assert!(DurationDist::exponential(0.0).is_err());
        assert!(DurationDist::exponential(f64::NAN).is_err());
        assert!(DurationDist::lognormal(1.0, 0.0).is_err());
        assert!(DurationDist::erlang(0, 1.0).is_err());
        assert!(DurationDist::uniform(3.0, 1.0).is_err());
        assert!(DurationDist::deterministic(-0.1).is_err());
    }
}
