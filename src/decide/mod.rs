//! The statistics behind decisions taken from simulations: which configuration is best, and which inputs
//! matter.
//!
//! Each procedure here is a pure core driven by its caller. The caller runs the simulations (in batches, in
//! parallel, resumable: none of that is this module's business) and feeds the numbers back; nothing here runs
//! the simulator, reads a file or keeps a clock, so each procedure is a deterministic function of the numbers
//! it is given (and of a seed where it draws points or resamples).
//!
//! - [`abc`]: approximate Bayesian computation by sequential Monte Carlo (Lenormand et al.'s APMC with
//!   Beaumont et al.'s weights and adaptive kernel), the posterior of a simulator's unknowns given what was
//!   observed, a state machine asking for a batch of simulations per generation;
//! - [`kn`]: Kim & Nelson's fully sequential indifference-zone selection of the best system (KN), a state
//!   machine asking for replications stage by stage and eliminating systems as it goes;
//! - [`rinott`]: the constant and the sample sizes of Rinott's two-stage procedure, the fixed-sample baseline
//!   with the same guarantee;
//! - [`feasibility`]: the sequential check of constraints on secondary outputs (Andradóttir & Kim; Batur &
//!   Kim), deciding for each system whether it meets thresholds on other metrics, before or beside KN;
//! - [`compass`]: COMPASS (Hong & Nelson) with Park & Kim's penalty function with memory, the search of a
//!   simulation optimisation over integer-ordered knobs with noisy constraints;
//! - [`sobol`]: first-order and total Sobol indices from a Saltelli design, with bootstrap intervals;
//! - [`morris`]: Morris elementary effects (μ, μ*, σ), the cheap screening before a variance-based study;
//! - [`recovery`]: when a run is back to its baseline twin after a trigger, and whether a configuration is
//!   stable, vulnerable or metastable over its replications.
//!
//! Randomness (design points, bootstrap resamples) comes from [`crate::engine::random`] streams keyed by the
//! caller's seed, so a study is reproduced exactly from its seed whatever the number of threads.

pub mod abc;
pub mod compass;
pub mod feasibility;
pub mod kn;
pub mod morris;
pub mod recovery;
pub mod rinott;
pub mod sobol;

/// The standard normal distribution function Φ(z), through `erfc` so that the lower tail keeps its
/// relative precision (Rinott's integrand spends much of its mass there).
pub(crate) fn normal_cdf(z: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-z / std::f64::consts::SQRT_2)
}

/// The `q`-quantile of sorted values, interpolated linearly between order statistics (Hyndman & Fan's
/// type 7, R's default), which the bootstrap intervals use.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    debug_assert!(!sorted.is_empty() && (0.0..=1.0).contains(&q));
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers the tests share: a normal deviate without another dependency.

    use rand::Rng;

    /// A standard normal deviate by Box–Muller (one of the pair; the tests are not short of draws).
    pub(crate) fn standard_normal(rng: &mut impl Rng) -> f64 {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// The half-width of a 3-sigma binomial margin around a share `p` estimated from `n` trials.
    pub(crate) fn binomial_margin(p: f64, n: usize) -> f64 {
        3.0 * (p * (1.0 - p) / n as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_known_values() {
        // statrs's erfc is good to about 10⁻¹² here, far finer than any probability this module compares.
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-11);
        assert!((normal_cdf(-1.644_853_626_951_472_2) - 0.05).abs() < 1e-11);
    }

    #[test]
    fn quantile_interpolates_between_order_statistics() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&sorted, 0.0), 1.0);
        assert_eq!(quantile_sorted(&sorted, 1.0), 5.0);
        assert_eq!(quantile_sorted(&sorted, 0.5), 3.0);
        assert!((quantile_sorted(&sorted, 0.1) - 1.4).abs() < 1e-12);
    }
}
