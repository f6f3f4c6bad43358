//! Morris elementary effects: a screening of many inputs at a cost linear in their number.
//!
//! Morris, M. D. (1991), "Factorial sampling plans for preliminary computational experiments",
//! *Technometrics* 33(2):161–174; with the mean of absolute effects μ* of Campolongo, F., Cariboni, J. and
//! Saltelli, A. (2007), "An effective screening design for sensitivity analysis of large models",
//! *Environmental Modelling & Software* 22(10):1509–1518.
//!
//! The inputs are scaled to `[0, 1]` and restricted to a grid of `p` levels `{0, 1/(p−1), …, 1}`. A
//! *trajectory* starts at a random grid point and moves one input at a time, each by `±Δ` with
//! `Δ = p/(2(p−1))`, in a random order: `d + 1` points giving one elementary effect per input,
//! `EE_i = (f(x + Δe_i) − f(x))/Δ` (with the sign of the move). Over `r` trajectories:
//! - `μ_i`, the mean of the effects: the input's overall direction, which effects of opposite signs cancel;
//! - `μ*_i`, the mean of their absolute values (Campolongo et al.), which they cannot: the measure to rank
//!   inputs by;
//! - `σ_i`, their standard deviation (divisor `r − 1`): nonzero when the effect of input `i` depends on
//!   where it is taken, i.e. on its own value (non-linearity) or on the others' (interaction).
//!
//! The effects are per unit of the scaled coordinate: an input whose range is `[lo, hi]` has effects in
//! output units per `(hi − lo)` of that input.
//!
//! **Trajectories** follow Morris's randomized orientation `B*`: each input's base level is drawn among the
//! `p/2` levels from which `+Δ` stays on the grid, its direction (`+Δ` from the base, or `−Δ` from
//! base + Δ) by a fair coin, and the order of the moves by a uniform permutation, all from the stream
//! `(seed, t, "decide/morris")` for trajectory `t`. With `p` even, `Δ` is `p/2` grid steps, so every
//! level is reached with the same probability. Campolongo et al.'s selection of the most spread
//! trajectories among many candidates is not done here; the caller may draw more trajectories instead.

use crate::engine::random::stream;
use rand::seq::SliceRandom;
use rand::Rng;
use thiserror::Error;

/// A parameter or an input refused, naming it.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MorrisError {
    /// No input to study.
    #[error("morris: inputs (d) must be at least 1, found {0}")]
    Inputs(usize),
    /// Fewer than 2 trajectories: no standard deviation.
    #[error("morris: trajectories (r) must be at least 2, found {0}")]
    Trajectories(usize),
    /// A number of levels that is odd or below 2, so that `Δ` would fall off the grid.
    #[error("morris: levels (p) must be even and at least 2, found {0}")]
    Levels(usize),
    /// Not one output per point.
    #[error("morris: outputs has {found} values, the design has {expected} points")]
    Outputs {
        /// The outputs given.
        found: usize,
        /// `r·(d + 1)`.
        expected: usize,
    },
    /// An output that is not a finite number.
    #[error("morris: output {index} is {value}, not a finite number")]
    NotFinite {
        /// The point.
        index: usize,
        /// The value.
        value: f64,
    },
}

/// The points of `r` Morris trajectories in `[0, 1]^d`, trajectory after trajectory (`d + 1` points each);
/// the caller maps each coordinate to its input's range and evaluates the model on each point.
#[derive(Debug, Clone, PartialEq)]
pub struct MorrisDesign {
    inputs: usize,
    trajectories: usize,
    levels: usize,
    /// Row-major `r(d + 1) × d`.
    points: Vec<f64>,
    /// For trajectory `t` and step `s`, the input moved between points `s` and `s + 1`.
    moves: Vec<usize>,
}

impl MorrisDesign {
    /// `trajectories` (`r`) trajectories for `inputs` (`d`) inputs on a grid of `levels` (`p`, even)
    /// levels, drawn from `seed`.
    pub fn new(inputs: usize, trajectories: usize, levels: usize, seed: u64) -> Result<MorrisDesign, MorrisError> {
        if inputs == 0 {
            return Err(MorrisError::Inputs(inputs));
        }
        if trajectories < 2 {
            return Err(MorrisError::Trajectories(trajectories));
        }
        if levels < 2 || levels % 2 != 0 {
            return Err(MorrisError::Levels(levels));
        }
        let jump = levels / 2; // Δ in grid steps
        let grid = (levels - 1) as f64;
        let mut points = Vec::with_capacity(trajectories * (inputs + 1) * inputs);
        let mut moves = Vec::with_capacity(trajectories * inputs);
        for t in 0..trajectories {
            let mut rng = stream(seed, t as u64, "decide/morris");
            // Levels as integers so that every coordinate is exactly a grid value.
            let mut level: Vec<usize> = Vec::with_capacity(inputs);
            let mut upward: Vec<bool> = Vec::with_capacity(inputs);
            for _ in 0..inputs {
                let base = rng.random_range(0..levels - jump);
                let up = rng.random_bool(0.5);
                level.push(if up { base } else { base + jump });
                upward.push(up);
            }
            let mut order: Vec<usize> = (0..inputs).collect();
            order.shuffle(&mut rng);
            points.extend(level.iter().map(|&l| l as f64 / grid));
            for &input in &order {
                level[input] = if upward[input] { level[input] + jump } else { level[input] - jump };
                points.extend(level.iter().map(|&l| l as f64 / grid));
            }
            moves.extend(order);
        }
        Ok(MorrisDesign { inputs, trajectories, levels, points, moves })
    }

    /// The number of inputs `d`.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The number of trajectories `r`.
    pub fn trajectories(&self) -> usize {
        self.trajectories
    }

    /// The step `Δ = p/(2(p−1))` in the scaled coordinate.
    pub fn delta(&self) -> f64 {
        self.levels as f64 / (2.0 * (self.levels - 1) as f64)
    }

    /// The number of points to evaluate, `r·(d + 1)`.
    pub fn len(&self) -> usize {
        self.trajectories * (self.inputs + 1)
    }

    /// Whether the design has no point (never, for a design that was built).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Point `index`, in `0..len()`: point `index % (d + 1)` of trajectory `index / (d + 1)`.
    pub fn point(&self, index: usize) -> &[f64] {
        &self.points[index * self.inputs..(index + 1) * self.inputs]
    }

    /// All the points, in the order the outputs are expected.
    pub fn points(&self) -> Vec<Vec<f64>> {
        (0..self.len()).map(|index| self.point(index).to_vec()).collect()
    }
}

/// One input's summary of its elementary effects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputEffects {
    /// `μ`: the mean effect.
    pub mu: f64,
    /// `μ*`: the mean absolute effect, to rank inputs by.
    pub mu_star: f64,
    /// `σ`: the standard deviation of the effects, the sign of non-linearity or interaction.
    pub sigma: f64,
}

/// The elementary effects of every input.
#[derive(Debug, Clone, PartialEq)]
pub struct MorrisEffects {
    /// The summaries, by input.
    pub inputs: Vec<InputEffects>,
    /// The effects themselves, `effects[input][trajectory]`.
    pub effects: Vec<Vec<f64>>,
}

impl MorrisEffects {
    /// The effects from `outputs`, one per point of `design` in its order.
    pub fn estimate(design: &MorrisDesign, outputs: &[f64]) -> Result<MorrisEffects, MorrisError> {
        if outputs.len() != design.len() {
            return Err(MorrisError::Outputs { found: outputs.len(), expected: design.len() });
        }
        if let Some((index, &value)) = outputs.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(MorrisError::NotFinite { index, value });
        }
        let d = design.inputs;
        let mut effects = vec![Vec::with_capacity(design.trajectories); d];
        for t in 0..design.trajectories {
            for step in 0..d {
                let before = t * (d + 1) + step;
                let input = design.moves[t * d + step];
                // The signed move read from the points themselves, so that the effect divides by exactly
                // the change the model saw.
                let moved = design.point(before + 1)[input] - design.point(before)[input];
                effects[input].push((outputs[before + 1] - outputs[before]) / moved);
            }
        }
        let inputs = effects
            .iter()
            .map(|e| {
                let r = e.len() as f64;
                let mu = e.iter().sum::<f64>() / r;
                let mu_star = e.iter().map(|x| x.abs()).sum::<f64>() / r;
                let sigma = (e.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
                InputEffects { mu, mu_star, sigma }
            })
            .collect();
        Ok(MorrisEffects { inputs, effects })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effects_of(design: &MorrisDesign, f: impl Fn(&[f64]) -> f64) -> MorrisEffects {
        let outputs: Vec<f64> = (0..design.len()).map(|i| f(design.point(i))).collect();
        MorrisEffects::estimate(design, &outputs).unwrap()
    }

    #[test]
    fn trajectories_move_one_input_by_delta_on_the_grid() {
        let design = MorrisDesign::new(5, 10, 6, 4).unwrap();
        let delta = design.delta();
        assert!((delta - 0.6).abs() < 1e-15);
        for t in 0..10 {
            let mut moved = [false; 5];
            for s in 0..5 {
                let (a, b) = (design.point(t * 6 + s), design.point(t * 6 + s + 1));
                let changed: Vec<usize> = (0..5).filter(|&i| a[i] != b[i]).collect();
                assert_eq!(changed.len(), 1);
                let i = changed[0];
                assert!(((a[i] - b[i]).abs() - delta).abs() < 1e-12);
                assert!(!moved[i], "an input moves once per trajectory");
                moved[i] = true;
            }
            for x in design.point(t * 6) {
                let level = x * 5.0;
                assert!((level - level.round()).abs() < 1e-12 && (0.0..=1.0).contains(x));
            }
        }
    }

    #[test]
    fn a_linear_function_has_its_coefficients_as_effects_and_no_spread() {
        // EE_i = c_i at every step, so μ = c_i, μ* = |c_i| and σ = 0, up to the rounding of f's sums
        // (the differences of sums of a few terms of order 1 are exact to about 10⁻¹⁵).
        let c = [2.0, -3.0, 0.5, 0.0];
        let design = MorrisDesign::new(4, 20, 4, 9).unwrap();
        let effects = effects_of(&design, |x| x.iter().zip(&c).map(|(x, c)| x * c).sum());
        for (i, e) in effects.inputs.iter().enumerate() {
            assert!((e.mu - c[i]).abs() < 1e-12, "μ{i} = {}", e.mu);
            assert!((e.mu_star - c[i].abs()).abs() < 1e-12, "μ*{i} = {}", e.mu_star);
            assert!(e.sigma < 1e-12, "σ{i} = {}", e.sigma);
        }
    }

    #[test]
    fn an_interaction_spreads_the_effects_of_the_inputs_in_it_only() {
        // f = x0 + x1·x2 + 2·x3: the effect of x1 is x2 (where x2 stands when x1 moves) and vice versa, which
        // varies; those of x0 and x3 are 1 and 2 everywhere.
        let design = MorrisDesign::new(4, 20, 4, 2).unwrap();
        let effects = effects_of(&design, |x| x[0] + x[1] * x[2] + 2.0 * x[3]);
        let sigma: Vec<f64> = effects.inputs.iter().map(|e| e.sigma).collect();
        assert!(sigma[0] < 1e-12 && sigma[3] < 1e-12, "{sigma:?}");
        assert!(sigma[1] > 0.1 && sigma[2] > 0.1, "{sigma:?}");
        assert!((effects.inputs[3].mu_star - 2.0).abs() < 1e-12);
    }

    #[test]
    fn opposite_effects_cancel_in_mu_but_not_in_mu_star() {
        // f = (x0 − ½)²·4 has effects of both signs: μ near 0 while μ* stays large.
        let design = MorrisDesign::new(1, 200, 4, 5).unwrap();
        let e = effects_of(&design, |x| 4.0 * (x[0] - 0.5).powi(2)).inputs[0];
        assert!(e.mu.abs() < 0.3 * e.mu_star, "{e:?}");
        assert!(e.mu_star > 0.5, "{e:?}");
    }

    #[test]
    fn bad_input_is_named() {
        let message = |e: MorrisError| e.to_string();
        assert!(message(MorrisDesign::new(0, 10, 4, 0).unwrap_err()).contains("inputs"));
        assert!(message(MorrisDesign::new(3, 1, 4, 0).unwrap_err()).contains("trajectories"));
        assert!(message(MorrisDesign::new(3, 10, 5, 0).unwrap_err()).contains("levels"));
        let design = MorrisDesign::new(2, 3, 4, 0).unwrap();
        assert!(message(MorrisEffects::estimate(&design, &[0.0; 8]).unwrap_err()).contains("outputs"));
        let mut out = vec![0.0; 9];
        out[4] = f64::NAN;
        assert!(message(MorrisEffects::estimate(&design, &out).unwrap_err()).contains("output 4"));
    }
}
