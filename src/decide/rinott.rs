//! Rinott's two-stage procedure: the fixed-sample baseline for a selection of the best.
//!
//! Rinott, Y. (1978), "On two-stage selection procedures and related probability-inequalities",
//! *Communications in Statistics – Theory and Methods* 7(8):799–811.
//!
//! After a first stage of `n0` replications of each of `k` systems with sample variances `S²_i`, system `i`
//! gets `N_i = max{n0, ⌈(h S_i/δ)²⌉}` replications in all, and the largest mean is selected. The
//! probability of a correct selection is at least `1 − α` when the best is better by `δ` or more, if `h`
//! solves
//!
//! ```text
//! ∫₀^∞ [ ∫₀^∞ Φ( h / √((n0 − 1)(1/x + 1/y)) ) f(x) dx ]^(k−1) f(y) dy = 1 − α
//! ```
//!
//! with `f` the χ² density with `n0 − 1` degrees of freedom (Bechhofer, Santner & Goldsman, 1995, *Design
//! and Analysis of Experiments for Statistical Selection, Screening, and Multiple Comparisons*, §2.6).
//! Rinott's procedure samples the systems independently and does not exploit common random numbers; here
//! it serves as the number of runs a fixed-sample design with the same guarantee would spend, against which
//! KN's sequential spending is judged.
//!
//! **Quadrature.** Both integrals are over a χ² density, which at small `n0` is singular at 0 (`x^(−1/2)`
//! for one degree of freedom) and always has an exponential tail. The substitution
//! `x = ν·exp(π/2·sinh t)` (`ν = n0 − 1`; the exp-sinh rule of Takahasi & Mori's double-exponential family)
//! turns each into an integral over `t ∈ ℝ` whose integrand decays double-exponentially at both ends, where
//! the trapezoidal rule converges geometrically even with the endpoint singularity. The step shrinks with
//! `√(2/ν)`, the relative width of the χ² bulk, so that large `n0` keep a dozen nodes per standard deviation.
//! Nodes whose weight is below `e^(−70)` are dropped and the weights are normalized to sum to 1 (the
//! remaining error in that sum is of the order of the rule's own). The same rule serves both integrals, so
//! one evaluation costs `M²` normal distribution functions for `M` nodes (a few hundred), and `h` is found by
//! bisection on this monotone function to 10⁻¹⁰.

use super::normal_cdf;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use statrs::function::gamma::ln_gamma;
use thiserror::Error;

/// A parameter of Rinott's constant refused, naming it.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RinottError {
    /// `systems` below 2.
    #[error("rinott: systems (k) must be at least 2, found {0}")]
    Systems(usize),
    /// `first_stage` below 2.
    #[error("rinott: first_stage (n0) must be at least 2, found {0}")]
    FirstStage(usize),
    /// `confidence` outside `(1/k, 1)`.
    #[error("rinott: confidence (1 - alpha) must lie in (1/k, 1) = ({low}, 1), found {found}")]
    Confidence {
        /// The value given.
        found: f64,
        /// `1/k`.
        low: f64,
    },
}

/// Rinott's constant `h` for `systems` systems, a first stage of `first_stage` replications and the
/// probability of correct selection `confidence`, by quadrature and bisection (see the module doc).
pub fn rinott_h(systems: usize, first_stage: usize, confidence: f64) -> Result<f64, RinottError> {
    if systems < 2 {
        return Err(RinottError::Systems(systems));
    }
    if first_stage < 2 {
        return Err(RinottError::FirstStage(first_stage));
    }
    let low = 1.0 / systems as f64;
    if !(confidence > low && confidence < 1.0) {
        return Err(RinottError::Confidence { found: confidence, low });
    }
    let integral = RinottIntegral::new(systems, first_stage);
    // The probability rises from 2^(1−k) ≤ 1/k at h = 0 towards 1: bracket, then bisect.
    let mut high = 1.0;
    while integral.probability(high) < confidence {
        high *= 2.0;
    }
    let mut low_h = 0.0;
    while high - low_h > 1e-10 {
        let mid = 0.5 * (low_h + high);
        if integral.probability(mid) < confidence {
            low_h = mid;
        } else {
            high = mid;
        }
    }
    Ok(0.5 * (low_h + high))
}

/// The probability of correct selection Rinott's procedure guarantees with constant `h` (the left-hand side
/// of the equation in the module doc), for checking a constant or a published table.
pub fn rinott_probability(systems: usize, first_stage: usize, h: f64) -> f64 {
    RinottIntegral::new(systems, first_stage).probability(h)
}

/// Rinott's total replications for one system: `max{n0, ⌈h²S²/δ²⌉}`, with `variance` its first-stage
/// sample variance `S²` and `indifference` the zone `δ` in the output's unit. A non-finite product
/// saturates (`usize::MAX` for +∞).
pub fn rinott_n(h: f64, variance: f64, indifference: f64, first_stage: usize) -> usize {
    let wanted = (h * h * variance / (indifference * indifference)).ceil();
    // `as` saturates, and the product is non-negative for valid inputs.
    (wanted as usize).max(first_stage)
}

/// The expected total replications of one system under Rinott's procedure when its true variance is
/// `variance`: `E[max{n0, ⌈h²S²/δ²⌉}]` with `S² ~ σ²χ²(n0−1)/(n0−1)`, computed exactly as
/// `n0 + Σ_{m ≥ n0} P(h²S²/δ² > m)` (the sum stops when its terms fall below 10⁻¹²).
pub fn rinott_expected_n(h: f64, variance: f64, indifference: f64, first_stage: usize) -> f64 {
    let dof = (first_stage - 1) as f64;
    let scale = h * h * variance / (indifference * indifference * dof);
    if scale <= 0.0 {
        return first_stage as f64;
    }
    let chi2 = ChiSquared::new(dof).expect("first_stage >= 2 gives a positive degree of freedom");
    let mut expected = first_stage as f64;
    let mut m = first_stage as f64;
    loop {
        let term = chi2.sf(m / scale);
        expected += term;
        if term < 1e-12 && m > scale * dof {
            return expected;
        }
        m += 1.0;
    }
}

/// The quadrature rule for a χ² density and the precomputed arguments of Φ.
struct RinottIntegral {
    systems: usize,
    weights: Vec<f64>,
    /// `1/√(ν(1/x_j + 1/x_m))`, row-major `M × M`.
    factors: Vec<f64>,
}

impl RinottIntegral {
    fn new(systems: usize, first_stage: usize) -> RinottIntegral {
        let dof = (first_stage - 1) as f64;
        let (nodes, weights) = chi_square_rule(dof);
        let factors = nodes.iter().flat_map(|&y| nodes.iter().map(move |&x| 1.0 / (dof * (1.0 / x + 1.0 / y)).sqrt())).collect();
        RinottIntegral { systems, weights, factors }
    }

    fn probability(&self, h: f64) -> f64 {
        let m = self.weights.len();
        let power = (self.systems - 1) as i32;
        (0..m)
            .map(|outer| {
                let row = &self.factors[outer * m..(outer + 1) * m];
                let inner: f64 = row.iter().zip(&self.weights).map(|(f, w)| w * normal_cdf(h * f)).sum();
                self.weights[outer] * inner.powi(power)
            })
            .sum()
    }
}

/// Nodes and weights integrating against the χ² density with `dof` degrees of freedom (weights sum to 1).
fn chi_square_rule(dof: f64) -> (Vec<f64>, Vec<f64>) {
    use std::f64::consts::{FRAC_PI_2, LN_2};
    let half = dof / 2.0;
    let ln_norm = -half * LN_2 - ln_gamma(half);
    // A dozen nodes per standard deviation of ln χ² (≈ √(2/ν)), and no coarser than 0.05 in t.
    let step = (0.05_f64).min((2.0 / dof).sqrt() / (12.0 * FRAC_PI_2));
    let reach = (5.5 / step).ceil() as i64;
    let mut nodes = Vec::new();
    let mut ln_weights = Vec::new();
    for j in -reach..=reach {
        let t = j as f64 * step;
        let ln_x = dof.ln() + FRAC_PI_2 * t.sinh();
        let x = ln_x.exp();
        // dx = x·(π/2)cosh t dt; the density in logs so that neither tail overflows.
        let ln_weight = step.ln() + (FRAC_PI_2 * t.cosh()).ln() + ln_x + ln_norm + (half - 1.0) * ln_x - x / 2.0;
        if ln_weight > -70.0 && x > 0.0 && x.is_finite() {
            nodes.push(x);
            ln_weights.push(ln_weight);
        }
    }
    let mut weights: Vec<f64> = ln_weights.iter().map(|w| w.exp()).collect();
    let total: f64 = weights.iter().sum();
    weights.iter_mut().for_each(|w| *w /= total);
    (nodes, weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::testing::{binomial_margin, standard_normal};
    use crate::engine::random::stream;

    #[test]
    fn the_chi_square_rule_integrates_the_mean_and_the_variance() {
        // The χ² law has mean ν and variance 2ν: the rule reproduces both far below the tolerance asked of h,
        // from one degree of freedom (singular density) to ten thousand (a narrow bulk).
        for dof in [1.0, 4.0, 9.0, 19.0, 99.0, 10_000.0] {
            let (nodes, weights) = chi_square_rule(dof);
            let mean: f64 = nodes.iter().zip(&weights).map(|(x, w)| w * x).sum();
            let var: f64 = nodes.iter().zip(&weights).map(|(x, w)| w * (x - dof).powi(2)).sum();
            assert!((mean / dof - 1.0).abs() < 1e-9, "dof {dof}: mean {mean}");
            assert!((var / (2.0 * dof) - 1.0).abs() < 1e-8, "dof {dof}: variance {var}");
        }
    }

    #[test]
    fn two_systems_with_a_large_first_stage_tend_to_the_known_variance_constant() {
        // With variances known (n0 → ∞) and k = 2, P(CS) = Φ(h/√2), so h → √2·z_{1−α}.
        let z95 = 1.644_853_626_951_472_2;
        let h = rinott_h(2, 100_001, 0.95).unwrap();
        assert!((h - std::f64::consts::SQRT_2 * z95).abs() < 1e-3, "h = {h}");
        // And a smaller first stage costs a larger constant.
        assert!(rinott_h(2, 10, 0.95).unwrap() > rinott_h(2, 20, 0.95).unwrap());
        assert!(rinott_h(2, 20, 0.95).unwrap() > h);
    }

    #[test]
    fn the_constant_gives_its_probability_by_an_independent_monte_carlo() {
        // P(CS) at Rinott's h is P(Z_j ≤ h/√(ν(1/X_j + 1/Y)) for all j < k), with Z_j standard normal and
        // X_j, Y independent χ²(ν): estimated from draws, unrelated to the quadrature, it must contain the
        // target within a 3-sigma binomial margin.
        let (k, n0, confidence) = (5, 10, 0.95);
        let h = rinott_h(k, n0, confidence).unwrap();
        assert!((rinott_probability(k, n0, h) - confidence).abs() < 1e-9);
        let dof = n0 - 1;
        let mut rng = stream(7, 0, "decide/rinott-test");
        let chi2 = |rng: &mut crate::engine::random::StreamRng| -> f64 { (0..dof).map(|_| standard_normal(rng).powi(2)).sum() };
        let draws = 200_000;
        let mut correct = 0;
        for _ in 0..draws {
            let y = chi2(&mut rng);
            let all = (0..k - 1).all(|_| {
                let x = chi2(&mut rng);
                standard_normal(&mut rng) <= h / ((dof as f64) * (1.0 / x + 1.0 / y)).sqrt()
            });
            correct += usize::from(all);
        }
        let share = correct as f64 / draws as f64;
        assert!((share - confidence).abs() < binomial_margin(confidence, draws), "P(CS) ≈ {share} at h = {h}");
    }

    #[test]
    fn the_constant_agrees_with_the_gauss_laguerre_rule_of_the_published_tables() {
        // Bechhofer, Santner & Goldsman (1995) compute their tables of h with a 32-point Gauss–Laguerre rule
        // on both integrals. These values come from a separate implementation of that rule (nodes by Newton
        // on the Laguerre polynomial, erfc for Φ, 60 bisection steps), not from the printed tables, which
        // were not at hand: they check the double-exponential rule against a different quadrature, to the
        // 6 decimals printed. (k, n0, 1 − α, h).
        let cases = [
            (2, 10, 0.95, 2.614119),
            (2, 20, 0.95, 2.452473),
            (5, 10, 0.95, 3.692624),
            (5, 20, 0.95, 3.385419),
            (10, 10, 0.95, 4.289547),
            (10, 20, 0.95, 3.875277),
            (4, 20, 0.90, 2.720150),
            (10, 30, 0.99, 4.616367),
        ];
        for (k, n0, confidence, expected) in cases {
            let h = rinott_h(k, n0, confidence).unwrap();
            assert!((h - expected).abs() < 1e-5, "k = {k}, n0 = {n0}, 1 − α = {confidence}: h = {h}, expected {expected}");
        }
    }

    #[test]
    fn sample_sizes_follow_the_first_stage_variance() {
        assert_eq!(rinott_n(3.0, 1.0, 1.0, 10), 10);
        assert_eq!(rinott_n(3.0, 4.0, 1.0, 10), 36);
        assert_eq!(rinott_n(3.0, 4.01, 1.0, 10), 37);
        assert_eq!(rinott_n(3.0, 0.0, 1.0, 10), 10);
        // The expectation over S² exceeds the plug-in h²σ²/δ² (ceiling and floor at n0) but not by much.
        let expected = rinott_expected_n(3.0, 4.0, 1.0, 10);
        assert!(expected > 36.0 && expected < 38.0, "{expected}");
        assert_eq!(rinott_expected_n(3.0, 0.0, 1.0, 10), 10.0);
    }

    #[test]
    fn bad_parameters_are_named() {
        assert!(rinott_h(1, 10, 0.95).unwrap_err().to_string().contains("systems"));
        assert!(rinott_h(3, 1, 0.95).unwrap_err().to_string().contains("first_stage"));
        assert!(rinott_h(3, 10, 0.3).unwrap_err().to_string().contains("confidence"));
        assert!(rinott_h(3, 10, 1.0).unwrap_err().to_string().contains("confidence"));
    }
}
