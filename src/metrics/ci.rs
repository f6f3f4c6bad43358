//! Confidence intervals over independent replications (Student t).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Mean, standard deviation and confidence half-width of a sample of replication results.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Number of replications.
    pub n: usize,
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 denominator; 0 when n < 2).
    pub std_dev: f64,
    /// Half-width of the two-sided interval at the requested confidence (infinite when n < 2).
    pub half_width: f64,
}

impl Estimate {
    /// The estimate of `values` with a two-sided `confidence` (e.g. 0.95) interval.
    pub fn new(values: &[f64], confidence: f64) -> Estimate {
        let n = values.len();
        let mean = if n == 0 { f64::NAN } else { values.iter().sum::<f64>() / n as f64 };
        if n < 2 {
            return Estimate { n, mean, std_dev: 0.0, half_width: f64::INFINITY };
        }
        let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let std_dev = var.sqrt();
        let half_width = t_quantile(n - 1, 0.5 + confidence / 2.0) * std_dev / (n as f64).sqrt();
        Estimate { n, mean, std_dev, half_width }
    }

    /// Lower end of the interval.
    pub fn lo(&self) -> f64 {
        self.mean - self.half_width
    }

    /// Upper end of the interval.
    pub fn hi(&self) -> f64 {
        self.mean + self.half_width
    }

    /// Whether `x` lies in the interval (bounds included).
    pub fn contains(&self, x: f64) -> bool {
        self.lo() <= x && x <= self.hi()
    }
}

/// The difference of the means of two independent samples, with Welch's interval (Welch 1947, "The
/// generalization of 'Student's' problem when several different population variances are involved",
/// Biometrika 34: the standard error of each mean from its own sample, and Satterthwaite's degrees of
/// freedom).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Difference {
    /// Mean of the first sample minus mean of the second.
    pub mean: f64,
    /// Half-width of the two-sided interval at the requested confidence (infinite when a sample has fewer
    /// than two values; 0 when both samples are constant).
    pub half_width: f64,
    /// Welch–Satterthwaite degrees of freedom (rounded down, at least 1).
    pub df: usize,
}

impl Difference {
    /// `a − b` with a two-sided `confidence` interval.
    pub fn new(a: &Estimate, b: &Estimate, confidence: f64) -> Difference {
        let mean = a.mean - b.mean;
        if a.n < 2 || b.n < 2 {
            return Difference { mean, half_width: f64::INFINITY, df: 0 };
        }
        let (va, vb) = (a.std_dev.powi(2) / a.n as f64, b.std_dev.powi(2) / b.n as f64);
        if va + vb == 0.0 {
            return Difference { mean, half_width: 0.0, df: a.n + b.n - 2 };
        }
        let df = (va + vb).powi(2) / (va.powi(2) / (a.n - 1) as f64 + vb.powi(2) / (b.n - 1) as f64);
        let df = (df.floor() as usize).max(1);
        Difference { mean, half_width: t_quantile(df, 0.5 + confidence / 2.0) * (va + vb).sqrt(), df }
    }

    /// Whether the interval holds 0: the samples do not tell the means apart at this confidence.
    pub fn holds_zero(&self) -> bool {
        self.mean.abs() <= self.half_width
    }
}

/// The `p`-quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(df: usize, p: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64).expect("df >= 1 is a valid t distribution").inverse_cdf(p)
}

/// Wilson's 95% score interval for a binomial share of `successes` in `trials` (Wilson 1927): the interval
/// the benchmarks of a procedure's guarantee (a probability of correct selection, a success rate) quote,
/// sound near 0 and 1 where the normal interval is not.
pub fn wilson(successes: u64, trials: u64) -> (f64, f64) {
    let z = 1.959_963_984_540_054;
    let n = trials as f64;
    let p = successes as f64 / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    (centre - half, centre + half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_matches_a_worked_example() {
        // Two samples of unequal variance: means 20.0 and 14.0; variances of the means 10/6 ≈ 1.667 and
        // 1/11 ≈ 0.0909 (sample variances 10 and 1 over n = 6 and 11); Satterthwaite's df =
        // (1.7576)² / (1.667²/5 + 0.0909²/10) = 5.54, so t(5) = 2.571 and the half-width 2.571 × 1.3257.
        let a = Estimate { n: 6, mean: 20.0, std_dev: 10f64.sqrt(), half_width: 0.0 };
        let b = Estimate { n: 11, mean: 14.0, std_dev: 1.0, half_width: 0.0 };
        let d = Difference::new(&a, &b, 0.95);
        assert_eq!(d.df, 5);
        assert!((d.mean - 6.0).abs() < 1e-12);
        let se = (10.0 / 6.0 + 1.0 / 11.0f64).sqrt();
        assert!((d.half_width - 2.5706 * se).abs() < 1e-3, "{d:?}");
        assert!(!d.holds_zero());
        // Equal samples: a difference of 0, inside any interval.
        assert!(Difference::new(&a, &a, 0.95).holds_zero());
        // A sample of one has no interval.
        let one = Estimate { n: 1, mean: 20.0, std_dev: 0.0, half_width: f64::INFINITY };
        assert!(Difference::new(&one, &b, 0.95).half_width.is_infinite());
    }

    #[test]
    fn t_quantiles_match_tables() {
        // Standard t tables: t_{0.975, 9} = 2.262, t_{0.975, 29} = 2.045, t_{0.995, 19} = 2.861.
        assert!((t_quantile(9, 0.975) - 2.262).abs() < 1e-3);
        assert!((t_quantile(29, 0.975) - 2.045).abs() < 1e-3);
        assert!((t_quantile(19, 0.995) - 2.861).abs() < 1e-3);
    }

    #[test]
    fn estimate_of_a_known_sample() {
        let e = Estimate::new(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95);
        assert_eq!(e.mean, 3.0);
        assert!((e.std_dev - 2.5f64.sqrt()).abs() < 1e-12);
        // t_{0.975,4} = 2.776
        assert!((e.half_width - 2.776 * 2.5f64.sqrt() / 5f64.sqrt()).abs() < 1e-3);
        assert!(e.contains(3.0) && !e.contains(5.0));
        assert!(Estimate::new(&[1.0], 0.95).half_width.is_infinite());
    }
}
