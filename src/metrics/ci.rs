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

/// The `p`-quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(df: usize, p: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64).expect("df >= 1 is a valid t distribution").inverse_cdf(p)
}

#[cfg(test)]
mod tests {
    use super::*;

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
