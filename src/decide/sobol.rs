//! Sobol sensitivity indices from a Saltelli design, with bootstrap intervals.
//!
//! Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. and Tarantola, S. (2010), "Variance based
//! sensitivity analysis of model output. Design and estimator for the total sensitivity index", *Computer
//! Physics Communications* 181(2):259–270.
//!
//! For a model `Y = f(X_1, …, X_d)` with independent inputs, the first-order index `S_i = V[E(Y|X_i)]/V(Y)`
//! is the share of the output's variance that input `i` explains alone, and the total index
//! `ST_i = E[V(Y|X_~i)]/V(Y)` the share it takes part in, interactions included. `ST_i − S_i` measures
//! input `i`'s interactions; `ST_i ≈ 0` means it can be fixed anywhere.
//!
//! **Design.** Two independent `N × d` matrices `A` and `B` of points in `[0, 1)^d` and, for each input `i`,
//! `AB_i`: `A` with its column `i` taken from `B`. The model is evaluated on the `(d + 2)·N` rows of `A`,
//! `B`, `AB_1`, …, `AB_d`, in that order of blocks ([`SaltelliDesign::point`]).
//!
//! **Estimators** (Saltelli et al. 2010, Table 2, (b) for `S_i` and (f), Jansen's, for `ST_i`), with `V`
//! the sample variance of the `2N` outputs on `A` and `B`:
//! `S_i = (1/N) Σ_j f(B)_j (f(AB_i)_j − f(A)_j) / V` and `ST_i = (1/2N) Σ_j (f(A)_j − f(AB_i)_j)² / V`.
//!
//! **Intervals.** The `N` rows are resampled with replacement (a row carries its `d + 2` outputs together,
//! since the estimators pair them), the indices recomputed on each resample, and the percentile interval
//! read from their distribution. Resample `b` draws from the stream `(seed, b, "decide/sobol-bootstrap")`,
//! so the intervals are a function of the seed whatever the number of threads.
//!
//! **Base points.** Saltelli et al. take `A` and `B` from a `2d`-dimensional Sobol' low-discrepancy
//! sequence, which makes the estimates converge faster than plain Monte Carlo. [`SaltelliDesign::new`] draws
//! plain pseudo-random uniform points from a seeded stream instead (no quasi-random crate is a dependency);
//! the estimators and intervals are valid with either, and [`SaltelliDesign::from_base`] takes any
//! `N × 2d` base (quasi-random included), so a Sobol' sequence can replace the stream without touching the
//! estimation. The bootstrap's resampling of rows assumes they are independent, which holds for the
//! pseudo-random base and only approximately for a quasi-random one.

use crate::engine::random::stream;
use rand::Rng;
use rayon::prelude::*;
use thiserror::Error;

/// A parameter or an input refused, naming it.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SobolError {
    /// No input to study.
    #[error("sobol: inputs (d) must be at least 1, found {0}")]
    Inputs(usize),
    /// Fewer than 2 base rows: no variance.
    #[error("sobol: base_rows (N) must be at least 2, found {0}")]
    BaseRows(usize),
    /// A base whose length is not a whole number of rows of `2d` coordinates.
    #[error("sobol: base holds {found} numbers, not a multiple of 2·inputs = {row}")]
    BaseShape {
        /// The numbers given.
        found: usize,
        /// `2d`.
        row: usize,
    },
    /// A base coordinate outside `[0, 1)`.
    #[error("sobol: base coordinate {index} is {value}, outside [0, 1)")]
    BaseValue {
        /// Its position in the base.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Not one output per point.
    #[error("sobol: outputs has {found} values, the design has {expected} points")]
    Outputs {
        /// The outputs given.
        found: usize,
        /// `(d + 2)·N`.
        expected: usize,
    },
    /// An output that is not a finite number.
    #[error("sobol: output {index} is {value}, not a finite number")]
    NotFinite {
        /// The point.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Outputs with no variance: there is nothing to apportion.
    #[error("sobol: the outputs on A and B have zero variance, so no index is defined")]
    NoVariance,
    /// `confidence` outside `(0, 1)`.
    #[error("sobol: confidence must lie in (0, 1), found {0}")]
    Confidence(f64),
    /// No bootstrap resample.
    #[error("sobol: bootstrap must be at least 1 resample, found 0")]
    Bootstrap,
}

/// The points of a Saltelli design in `[0, 1)^d`; the caller maps each coordinate to its input's range
/// (through the input's inverse distribution function) and evaluates the model on each point.
#[derive(Debug, Clone, PartialEq)]
pub struct SaltelliDesign {
    inputs: usize,
    base_rows: usize,
    /// Row-major `N × 2d`: row `j` is `A_j` then `B_j`.
    base: Vec<f64>,
}

impl SaltelliDesign {
    /// A design of `base_rows` (`N`) rows for `inputs` (`d`) inputs from pseudo-random uniform points:
    /// row `j` draws `A_j` then `B_j` from the stream `(seed, 0, "decide/saltelli")`, so a design with a
    /// larger `N` and the same seed extends a smaller one.
    pub fn new(inputs: usize, base_rows: usize, seed: u64) -> Result<SaltelliDesign, SobolError> {
        check_shape(inputs, base_rows)?;
        let mut rng = stream(seed, 0, "decide/saltelli");
        let base = (0..2 * inputs * base_rows).map(|_| rng.random::<f64>()).collect();
        SaltelliDesign::from_base(inputs, base)
    }

    /// A design from any base of `N` rows of `2d` coordinates in `[0, 1)` (row-major): the first `d` of a
    /// row are `A`'s, the last `d` are `B`'s. This is where a quasi-random sequence plugs in.
    pub fn from_base(inputs: usize, base: Vec<f64>) -> Result<SaltelliDesign, SobolError> {
        check_shape(inputs, 2)?;
        let row = 2 * inputs;
        if base.len() % row != 0 {
            return Err(SobolError::BaseShape { found: base.len(), row });
        }
        let base_rows = base.len() / row;
        check_shape(inputs, base_rows)?;
        if let Some((index, &value)) = base.iter().enumerate().find(|(_, v)| !(0.0..1.0).contains(*v)) {
            return Err(SobolError::BaseValue { index, value });
        }
        Ok(SaltelliDesign { inputs, base_rows, base })
    }

    /// The number of inputs `d`.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The number of base rows `N`.
    pub fn base_rows(&self) -> usize {
        self.base_rows
    }

    /// The number of points to evaluate, `(d + 2)·N`.
    pub fn len(&self) -> usize {
        (self.inputs + 2) * self.base_rows
    }

    /// Whether the design has no point (never, for a design that was built).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Point `index` (in `0..len()`): block `index / N` (0 for `A`, 1 for `B`, `2 + i` for `AB_i`), row
    /// `index % N`.
    pub fn point(&self, index: usize) -> Vec<f64> {
        let (block, row) = (index / self.base_rows, index % self.base_rows);
        let d = self.inputs;
        let a = &self.base[row * 2 * d..row * 2 * d + d];
        let b = &self.base[row * 2 * d + d..(row + 1) * 2 * d];
        match block {
            0 => a.to_vec(),
            1 => b.to_vec(),
            _ => {
                let mut point = a.to_vec();
                point[block - 2] = b[block - 2];
                point
            }
        }
    }

    /// All the points, in the order the outputs are expected.
    pub fn points(&self) -> Vec<Vec<f64>> {
        (0..self.len()).map(|index| self.point(index)).collect()
    }
}

/// An estimate and its bootstrap percentile interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The point estimate from all `N` rows.
    pub estimate: f64,
    /// The lower end of the percentile interval.
    pub low: f64,
    /// The upper end of the percentile interval.
    pub high: f64,
}

impl Interval {
    /// Whether `value` lies in `[low, high]`.
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// One input's indices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputIndices {
    /// The first-order index `S_i`: the output variance's share explained by this input alone.
    pub first_order: Interval,
    /// The total index `ST_i`: the share this input takes part in, interactions included.
    pub total: Interval,
}

/// Sobol indices of every input, estimated from a Saltelli design's outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolIndices {
    /// The output variance `V`, in the output's unit squared.
    pub variance: f64,
    /// The indices, by input.
    pub inputs: Vec<InputIndices>,
    /// The intervals' confidence.
    pub confidence: f64,
    /// The number of bootstrap resamples behind them.
    pub bootstrap: usize,
}

impl SobolIndices {
    /// Estimates the indices from `outputs`, one per point of `design` in its order, with percentile
    /// intervals at `confidence` from `bootstrap` resamples of the rows drawn from `seed`.
    pub fn estimate(
        design: &SaltelliDesign,
        outputs: &[f64],
        bootstrap: usize,
        confidence: f64,
        seed: u64,
    ) -> Result<SobolIndices, SobolError> {
        if outputs.len() != design.len() {
            return Err(SobolError::Outputs { found: outputs.len(), expected: design.len() });
        }
        if let Some((index, &value)) = outputs.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(SobolError::NotFinite { index, value });
        }
        if !(confidence > 0.0 && confidence < 1.0) {
            return Err(SobolError::Confidence(confidence));
        }
        if bootstrap == 0 {
            return Err(SobolError::Bootstrap);
        }
        let (n, d) = (design.base_rows, design.inputs);
        let all_rows: Vec<usize> = (0..n).collect();
        let point = estimate_rows(outputs, n, d, &all_rows).ok_or(SobolError::NoVariance)?;
        let resamples: Vec<Option<Estimates>> = (0..bootstrap)
            .into_par_iter()
            .map(|b| {
                let mut rng = stream(seed, b as u64, "decide/sobol-bootstrap");
                let rows: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
                estimate_rows(outputs, n, d, &rows)
            })
            .collect();
        // A resample can only lack variance if almost every row repeats one whose outputs are all equal;
        // it carries no information about the spread and is left out.
        let resamples: Vec<Estimates> = resamples.into_iter().flatten().collect();
        let interval = |estimate: f64, pick: &dyn Fn(&Estimates) -> f64| {
            let mut values: Vec<f64> = resamples.iter().map(pick).collect();
            if values.is_empty() {
                return Interval { estimate, low: estimate, high: estimate };
            }
            values.sort_by(f64::total_cmp);
            let tail = (1.0 - confidence) / 2.0;
            Interval { estimate, low: super::quantile_sorted(&values, tail), high: super::quantile_sorted(&values, 1.0 - tail) }
        };
        let inputs = (0..d)
            .map(|i| InputIndices {
                first_order: interval(point.first_order[i], &|e| e.first_order[i]),
                total: interval(point.total[i], &|e| e.total[i]),
            })
            .collect();
        Ok(SobolIndices { variance: point.variance, inputs, confidence, bootstrap })
    }
}

/// The indices computed from one set of rows.
struct Estimates {
    variance: f64,
    first_order: Vec<f64>,
    total: Vec<f64>,
}

/// Saltelli's and Jansen's estimators over `rows` (repeats allowed); `None` if `V` is zero.
fn estimate_rows(outputs: &[f64], n: usize, d: usize, rows: &[usize]) -> Option<Estimates> {
    let f_a = &outputs[..n];
    let f_b = &outputs[n..2 * n];
    let count = rows.len() as f64;
    let mean = rows.iter().map(|&j| f_a[j] + f_b[j]).sum::<f64>() / (2.0 * count);
    let squares = rows.iter().map(|&j| (f_a[j] - mean).powi(2) + (f_b[j] - mean).powi(2)).sum::<f64>();
    let variance = squares / (2.0 * count - 1.0);
    if variance <= 0.0 {
        return None;
    }
    let mut first_order = Vec::with_capacity(d);
    let mut total = Vec::with_capacity(d);
    for i in 0..d {
        let f_ab = &outputs[(2 + i) * n..(3 + i) * n];
        let (mut first, mut jansen) = (0.0, 0.0);
        for &j in rows {
            first += f_b[j] * (f_ab[j] - f_a[j]);
            jansen += (f_a[j] - f_ab[j]).powi(2);
        }
        first_order.push(first / count / variance);
        total.push(jansen / (2.0 * count) / variance);
    }
    Some(Estimates { variance, first_order, total })
}

fn check_shape(inputs: usize, base_rows: usize) -> Result<(), SobolError> {
    if inputs == 0 {
        return Err(SobolError::Inputs(inputs));
    }
    if base_rows < 2 {
        return Err(SobolError::BaseRows(base_rows));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::testing::binomial_margin;
    use std::f64::consts::PI;

    const A: f64 = 7.0;
    const B: f64 = 0.1;

    /// The Ishigami function on `[−π, π]³`, from a point of the unit cube.
    fn ishigami(unit: &[f64]) -> f64 {
        let x: Vec<f64> = unit.iter().map(|u| PI * (2.0 * u - 1.0)).collect();
        x[0].sin() + A * x[1].sin().powi(2) + B * x[2].powi(4) * x[0].sin()
    }

    /// The exact indices of the Ishigami function from its variance decomposition (Ishigami & Homma 1990;
    /// Sobol' & Levitan 1999): `V = a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2`, `V_1 = ½(1 + bπ⁴/5)²`, `V_2 = a²/8`,
    /// `V_3 = 0`, and the one interaction `V_13 = b²π⁸(1/18 − 1/50)`.
    fn exact() -> ([f64; 3], [f64; 3]) {
        let v = A * A / 8.0 + B * PI.powi(4) / 5.0 + B * B * PI.powi(8) / 18.0 + 0.5;
        let v1 = 0.5 * (1.0 + B * PI.powi(4) / 5.0).powi(2);
        let v2 = A * A / 8.0;
        let v13 = B * B * PI.powi(8) * (1.0 / 18.0 - 1.0 / 50.0);
        ([v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v])
    }

    fn outputs(design: &SaltelliDesign) -> Vec<f64> {
        design.points().iter().map(|p| ishigami(p)).collect()
    }

    #[test]
    fn the_closed_form_gives_the_published_ishigami_indices() {
        let (first, total) = exact();
        let published_first = [0.3139, 0.4424, 0.0];
        let published_total = [0.5576, 0.4424, 0.2437];
        for i in 0..3 {
            assert!((first[i] - published_first[i]).abs() < 5e-5, "S{} = {}", i + 1, first[i]);
            assert!((total[i] - published_total[i]).abs() < 5e-5, "ST{} = {}", i + 1, total[i]);
        }
    }

    #[test]
    fn the_design_has_its_blocks_in_order() {
        let design = SaltelliDesign::new(3, 4, 1).unwrap();
        assert_eq!(design.len(), 20);
        let (a, b) = (design.point(1), design.point(4 + 1));
        let ab_2 = design.point(4 * (2 + 2) + 1);
        assert_eq!(ab_2, vec![a[0], a[1], b[2]]);
        // A larger design with the same seed extends the smaller one.
        let larger = SaltelliDesign::new(3, 8, 1).unwrap();
        assert_eq!(larger.point(1), a);
        assert_eq!(larger.point(8 + 1), b);
    }

    #[test]
    fn ishigami_indices_lie_in_their_intervals() {
        // Six intervals at 99% each: by Bonferroni all six hold together with probability ≥ 94%, whatever
        // N; a large N makes them narrow enough to mean something.
        let design = SaltelliDesign::new(3, 1 << 15, 11).unwrap();
        let indices = SobolIndices::estimate(&design, &outputs(&design), 500, 0.99, 5).unwrap();
        let (first, total) = exact();
        for i in 0..3 {
            let (s, st) = (indices.inputs[i].first_order, indices.inputs[i].total);
            assert!(s.contains(first[i]), "S{}: {} outside {s:?}", i + 1, first[i]);
            assert!(st.contains(total[i]), "ST{}: {} outside {st:?}", i + 1, total[i]);
            assert!(s.high - s.low < 0.05 && st.high - st.low < 0.05, "{s:?} {st:?}");
        }
    }

    #[test]
    fn the_bootstrap_intervals_cover_as_often_as_they_claim() {
        // Coverage checked honestly: 200 independent designs of N = 1000, 90% intervals; each of the six
        // indices must be covered at least 90% − a 3-sigma binomial margin of the time.
        let (first, total) = exact();
        let designs = 200;
        let mut covered = [[0usize; 3]; 2];
        for seed in 0..designs {
            let design = SaltelliDesign::new(3, 1000, 1000 + seed).unwrap();
            let indices = SobolIndices::estimate(&design, &outputs(&design), 300, 0.9, seed).unwrap();
            for i in 0..3 {
                covered[0][i] += usize::from(indices.inputs[i].first_order.contains(first[i]));
                covered[1][i] += usize::from(indices.inputs[i].total.contains(total[i]));
            }
        }
        let floor = (0.9 - binomial_margin(0.9, designs as usize)) * designs as f64;
        for (kind, counts) in ["S", "ST"].iter().zip(covered) {
            for (i, count) in counts.iter().enumerate() {
                assert!(*count as f64 >= floor, "{kind}{}: covered {count} of {designs} (< {floor})", i + 1);
            }
        }
    }

    #[test]
    fn the_estimate_is_deterministic_given_its_seeds() {
        let design = SaltelliDesign::new(3, 256, 2).unwrap();
        let out = outputs(&design);
        let once = SobolIndices::estimate(&design, &out, 100, 0.9, 3).unwrap();
        let again = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| SobolIndices::estimate(&design, &out, 100, 0.9, 3).unwrap());
        assert_eq!(once, again);
    }

    #[test]
    fn bad_input_is_named() {
        let design = SaltelliDesign::new(2, 4, 0).unwrap();
        let out = vec![1.0; design.len()];
        let message = |e: SobolError| e.to_string();
        assert!(message(SaltelliDesign::new(0, 4, 0).unwrap_err()).contains("inputs"));
        assert!(message(SaltelliDesign::new(2, 1, 0).unwrap_err()).contains("base_rows"));
        assert!(message(SaltelliDesign::from_base(2, vec![0.5; 7]).unwrap_err()).contains("multiple"));
        assert!(message(SaltelliDesign::from_base(2, vec![1.0; 8]).unwrap_err()).contains("outside [0, 1)"));
        assert!(message(SobolIndices::estimate(&design, &out[1..], 10, 0.9, 0).unwrap_err()).contains("outputs"));
        assert_eq!(SobolIndices::estimate(&design, &out, 10, 0.9, 0), Err(SobolError::NoVariance));
        let mut varied = out.clone();
        varied[0] = 2.0;
        assert!(message(SobolIndices::estimate(&design, &varied, 10, 1.0, 0).unwrap_err()).contains("confidence"));
        assert!(message(SobolIndices::estimate(&design, &varied, 0, 0.9, 0).unwrap_err()).contains("bootstrap"));
        varied[3] = f64::NAN;
        assert!(message(SobolIndices::estimate(&design, &varied, 10, 0.9, 0).unwrap_err()).contains("output 3"));
    }
}
