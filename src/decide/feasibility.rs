//! A fully sequential check of constraints on secondary outputs: which systems are feasible.
//!
//! The procedure is the feasibility check of Andradóttir, S. and Kim, S.-H. (2010), "Fully sequential
//! procedures for comparing constrained systems via simulation", *Naval Research Logistics*
//! 57(5):403–421, extended to several constraints as in Batur, D. and Kim, S.-H. (2010), "Finding feasible
//! systems in the presence of constraints on multiple performance measures", *ACM TOMACS* 20(3):13. Each
//! constraint `ℓ` asks that a secondary output's mean be at most (or at least) a threshold `q_ℓ`, with a
//! tolerance `ε_ℓ > 0`: a mean on the right side by `ε_ℓ` or more is *desirable*, on the wrong side by
//! `ε_ℓ` or more *unacceptable*, and in between *acceptable*, where either answer will do.
//!
//! **Test of one constraint of one system.** With `D_j = Y_j − q` (negated for an at-least bound), `S²`
//! the sample variance of the first `n0` outputs and `R(r) = max{0, h²S²/(2ε) − εr/2}`, at stage `r` the
//! constraint is declared met if `Σ_{j≤r} D_j ≤ −R(r)` and violated if `Σ_{j≤r} D_j ≥ R(r)`; otherwise one
//! more replication. It is KN's triangular continuation region (see [`super::kn`]) with `ε` for `δ` and the
//! threshold for the other system, and it is decided by stage `⌊h²S²/ε²⌋ + 1`, where `R` vanishes.
//!
//! **Error.** A desirable constraint declared violated, or an unacceptable one declared met, means leaving
//! the triangle on the wrong side against a drift of at least `ε`; as in KN, Fabian's bound averaged over
//! the χ² law of `S²` gives a probability at most `½(1 + h²/(n0−1))^(−(n0−1)/2)`. Setting this to `β`,
//! `h² = (n0−1)[(2β)^(−2/(n0−1)) − 1]`. This implementation gives each of the `k·s` tests (`k` systems,
//! `s` constraints) `β = α/(k·s)`, so by Bonferroni, with probability at least `1 − α`, every system whose
//! constraints are all desirable is declared feasible and every system with an unacceptable constraint is
//! declared infeasible. Bonferroni holds under any dependence between systems and constraints, common
//! random numbers included; the papers split `α` in ways that spend fewer runs under their assumptions,
//! which are not reproduced here, so this check is the conservative member of their family.
//!
//! A system is declared infeasible as soon as one constraint is declared violated, and feasible once all
//! are declared met; either way it needs no more runs. To select the best feasible system, run this check at
//! `1 − α₁` and [`super::kn`] among the systems declared feasible at `1 − α₂`: both statements hold together
//! with probability at least `1 − α₁ − α₂`.

use super::kn::Run;
use thiserror::Error;

/// The side of a threshold a mean must be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The mean must be at most the threshold (a waiting time, a share refused).
    AtMost,
    /// The mean must be at least the threshold (a share served).
    AtLeast,
}

/// One constraint on a secondary output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constraint {
    /// The threshold `q`, in the output's unit.
    pub threshold: f64,
    /// The tolerance `ε > 0`, in the output's unit: means within `ε` of the threshold may be declared
    /// either way.
    pub tolerance: f64,
    /// Which side of the threshold is feasible.
    pub bound: Bound,
}

/// The parameters of a feasibility check.
#[derive(Debug, Clone, PartialEq)]
pub struct FeasibilitySpec {
    /// The number of systems `k` (at least 1), numbered `0..k`.
    pub systems: usize,
    /// The first-stage size `n0` (at least 2).
    pub first_stage: usize,
    /// The confidence `1 − α` in `(0, 1)` that every desirable system is declared feasible and every
    /// unacceptable one infeasible.
    pub confidence: f64,
    /// The constraints (at least one); a run reports one output per constraint, in this order.
    pub constraints: Vec<Constraint>,
}

/// What the check says of a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not decided yet.
    Undecided,
    /// Every constraint declared met.
    Feasible {
        /// The stage at which the last constraint was declared met.
        stage: usize,
    },
    /// A constraint declared violated.
    Infeasible {
        /// The first constraint declared violated (the lowest-numbered at that stage).
        constraint: usize,
        /// The stage at which it was.
        stage: usize,
    },
}

/// A parameter or a call the check refuses, naming what is wrong.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FeasibilityError {
    /// No system.
    #[error("feasibility: systems (k) must be at least 1, found 0")]
    Systems,
    /// `first_stage` below 2.
    #[error("feasibility: first_stage (n0) must be at least 2, found {0}")]
    FirstStage(usize),
    /// `confidence` outside `(0, 1)`.
    #[error("feasibility: confidence (1 - alpha) must lie in (0, 1), found {0}")]
    Confidence(f64),
    /// No constraint.
    #[error("feasibility: constraints must hold at least one constraint")]
    NoConstraint,
    /// A threshold that is not finite.
    #[error("feasibility: constraints[{index}].threshold must be a finite number, found {value}")]
    Threshold {
        /// The constraint.
        index: usize,
        /// The value given.
        value: f64,
    },
    /// A tolerance that is not finite and positive.
    #[error("feasibility: constraints[{index}].tolerance must be a finite number > 0, found {value}")]
    Tolerance {
        /// The constraint.
        index: usize,
        /// The value given.
        value: f64,
    },
    /// A run that the current batch does not contain.
    #[error("feasibility: run (system {}, replication {}) is not in the current batch", .0.system, .0.replication)]
    NotRequested(Run),
    /// A run recorded twice.
    #[error("feasibility: run (system {}, replication {}) was already recorded", .0.system, .0.replication)]
    Duplicate(Run),
    /// Not one output per constraint.
    #[error("feasibility: run (system {}, replication {}) gave {found} outputs, one per constraint is {expected}",
        .run.system, .run.replication)]
    Outputs {
        /// The run.
        run: Run,
        /// The outputs given.
        found: usize,
        /// The number of constraints.
        expected: usize,
    },
    /// An output that is not a finite number.
    #[error("feasibility: run (system {}, replication {}) gave {value} for constraint {constraint}, not a finite number",
        .run.system, .run.replication)]
    NotFinite {
        /// The run.
        run: Run,
        /// The constraint.
        constraint: usize,
        /// The value given.
        value: f64,
    },
    /// [`FeasibilityCheck::advance`] before every run of the batch was recorded.
    #[error("feasibility: {missing} runs of the batch are not recorded yet, the first is (system {}, replication {})",
        .first.system, .first.replication)]
    Incomplete {
        /// How many runs are missing.
        missing: usize,
        /// The first of them in the batch's order.
        first: Run,
    },
}

/// One system's test of one constraint.
#[derive(Debug, Clone, Default)]
struct Test {
    /// The first-stage values of `D`, until `S²` is known.
    first: Vec<f64>,
    variance: f64,
    /// Σ D so far.
    sum: f64,
    /// `Some(true)` met, `Some(false)` violated, `None` undecided.
    decided: Option<bool>,
}

/// A feasibility check in progress: a state machine fed by its caller, like [`super::kn::Kn`].
#[derive(Debug, Clone)]
pub struct FeasibilityCheck {
    spec: FeasibilitySpec,
    h2: f64,
    /// `tests[system][constraint]`.
    tests: Vec<Vec<Test>>,
    counts: Vec<usize>,
    verdicts: Vec<Verdict>,
    batch: Vec<(Run, Option<Vec<f64>>)>,
}

impl FeasibilityCheck {
    /// A check validated against its parameters, waiting for its first stage.
    pub fn new(spec: FeasibilitySpec) -> Result<FeasibilityCheck, FeasibilityError> {
        if spec.systems == 0 {
            return Err(FeasibilityError::Systems);
        }
        if spec.constraints.is_empty() {
            return Err(FeasibilityError::NoConstraint);
        }
        for (index, c) in spec.constraints.iter().enumerate() {
            if !c.threshold.is_finite() {
                return Err(FeasibilityError::Threshold { index, value: c.threshold });
            }
            if !(c.tolerance.is_finite() && c.tolerance > 0.0) {
                return Err(FeasibilityError::Tolerance { index, value: c.tolerance });
            }
        }
        let h2 = feasibility_h2(spec.systems * spec.constraints.len(), spec.first_stage, spec.confidence)?;
        let batch = (0..spec.first_stage)
            .flat_map(|replication| (0..spec.systems).map(move |system| (Run { system, replication }, None)))
            .collect();
        Ok(FeasibilityCheck {
            h2,
            tests: vec![vec![Test::default(); spec.constraints.len()]; spec.systems],
            counts: vec![0; spec.systems],
            verdicts: vec![Verdict::Undecided; spec.systems],
            batch,
            spec,
        })
    }

    /// The constant `h²` of the continuation region.
    pub fn h2(&self) -> f64 {
        self.h2
    }

    /// The runs the next check needs, ordered by replication then system; empty once every system is
    /// decided.
    pub fn next_batch(&self) -> Vec<Run> {
        self.batch.iter().map(|(run, _)| *run).collect()
    }

    /// Records the outputs of one run of the current batch, one per constraint in the spec's order.
    pub fn record(&mut self, system: usize, replication: usize, outputs: &[f64]) -> Result<(), FeasibilityError> {
        let run = Run { system, replication };
        let expected = self.spec.constraints.len();
        let at = self
            .batch
            .binary_search_by(|(r, _)| (r.replication, r.system).cmp(&(replication, system)))
            .map_err(|_| FeasibilityError::NotRequested(run))?;
        if self.batch[at].1.is_some() {
            return Err(FeasibilityError::Duplicate(run));
        }
        if outputs.len() != expected {
            return Err(FeasibilityError::Outputs { run, found: outputs.len(), expected });
        }
        if let Some((constraint, &value)) = outputs.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(FeasibilityError::NotFinite { run, constraint, value });
        }
        self.batch[at].1 = Some(outputs.to_vec());
        Ok(())
    }

    /// Folds the completed batch in, decides what can be decided, and says whether every system is.
    pub fn advance(&mut self) -> Result<bool, FeasibilityError> {
        if self.batch.is_empty() {
            return Ok(true);
        }
        let missing = self.batch.iter().filter(|(_, v)| v.is_none()).count();
        if let Some((first, _)) = self.batch.iter().find(|(_, v)| v.is_none()) {
            return Err(FeasibilityError::Incomplete { missing, first: *first });
        }
        for (run, outputs) in std::mem::take(&mut self.batch) {
            let outputs = outputs.expect("checked complete above");
            self.counts[run.system] += 1;
            let r = self.counts[run.system];
            for ((test, constraint), y) in self.tests[run.system].iter_mut().zip(&self.spec.constraints).zip(outputs) {
                let d = match constraint.bound {
                    Bound::AtMost => y - constraint.threshold,
                    Bound::AtLeast => constraint.threshold - y,
                };
                test.sum += d;
                if r <= self.spec.first_stage {
                    test.first.push(d);
                    if r == self.spec.first_stage {
                        test.variance = sample_variance(&test.first);
                        test.first = Vec::new();
                    }
                }
            }
        }
        let mut undecided = Vec::new();
        for system in 0..self.spec.systems {
            if self.verdicts[system] != Verdict::Undecided {
                continue;
            }
            self.decide(system);
            if self.verdicts[system] == Verdict::Undecided {
                undecided.push(system);
            }
        }
        let replication = undecided.first().map_or(0, |&s| self.counts[s]);
        self.batch = undecided.into_iter().map(|system| (Run { system, replication }, None)).collect();
        Ok(self.batch.is_empty())
    }

    /// Each system's verdict so far.
    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }

    /// The systems declared feasible so far, in increasing order.
    pub fn feasible(&self) -> Vec<usize> {
        (0..self.spec.systems).filter(|&s| matches!(self.verdicts[s], Verdict::Feasible { .. })).collect()
    }

    /// The replications folded in for each system.
    pub fn replications(&self) -> &[usize] {
        &self.counts
    }

    /// The runs spent over all systems.
    pub fn runs_spent(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Each undecided constraint of `system` against its region at the system's stage.
    fn decide(&mut self, system: usize) {
        let r = self.counts[system];
        for (index, (test, constraint)) in self.tests[system].iter_mut().zip(&self.spec.constraints).enumerate() {
            if test.decided.is_some() {
                continue;
            }
            let eps = constraint.tolerance;
            let region = (self.h2 * test.variance / (2.0 * eps) - eps * r as f64 / 2.0).max(0.0);
            if test.sum <= -region {
                test.decided = Some(true);
            } else if test.sum >= region {
                test.decided = Some(false);
                if self.verdicts[system] == Verdict::Undecided {
                    self.verdicts[system] = Verdict::Infeasible { constraint: index, stage: r };
                }
            }
        }
        if self.verdicts[system] == Verdict::Undecided && self.tests[system].iter().all(|t| t.decided == Some(true)) {
            self.verdicts[system] = Verdict::Feasible { stage: r };
        }
    }
}

/// The check's `h² = (n0−1)[(2β)^(−2/(n0−1)) − 1]` with `β = α/tests`, for `tests` one-constraint tests
/// (systems × constraints), the parameters checked.
pub fn feasibility_h2(tests: usize, first_stage: usize, confidence: f64) -> Result<f64, FeasibilityError> {
    if first_stage < 2 {
        return Err(FeasibilityError::FirstStage(first_stage));
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(FeasibilityError::Confidence(confidence));
    }
    let beta = (1.0 - confidence) / tests as f64;
    let dof = (first_stage - 1) as f64;
    Ok(dof * ((2.0 * beta).powf(-2.0 / dof) - 1.0))
}

fn sample_variance(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::testing::{binomial_margin, standard_normal};
    use crate::engine::random::stream;

    fn at_most(threshold: f64, tolerance: f64) -> Constraint {
        Constraint { threshold, tolerance, bound: Bound::AtMost }
    }

    /// Drives a check to its end; `output(system, replication)` gives one value per constraint.
    fn run_to_end(check: &mut FeasibilityCheck, output: impl Fn(usize, usize) -> Vec<f64>) {
        loop {
            for run in check.next_batch() {
                check.record(run.system, run.replication, &output(run.system, run.replication)).unwrap();
            }
            if check.advance().unwrap() {
                return;
            }
        }
    }

    /// Normal outputs, a shared component per replication (common random numbers across systems).
    fn normal(seed: u64, means: &[Vec<f64>]) -> impl Fn(usize, usize) -> Vec<f64> + '_ {
        move |system, replication| {
            let mut rng = stream(seed, replication as u64, "decide/feasibility-test");
            let shared: Vec<f64> = means[0].iter().map(|_| standard_normal(&mut rng)).collect();
            let mut own = Vec::new();
            for _ in 0..=system {
                own = means[0].iter().map(|_| standard_normal(&mut rng)).collect();
            }
            means[system].iter().zip(shared.iter().zip(own)).map(|(m, (s, o))| m + 0.6 * s + 0.8 * o).collect()
        }
    }

    #[test]
    fn h2_follows_the_bound() {
        // One test, n0 = 3, α = 0.05: β = 0.05 and h² = 2·((0.1)^(−1) − 1) = 18, KN's value for k = 2.
        assert!((feasibility_h2(1, 3, 0.95).unwrap() - 18.0).abs() < 1e-12);
        assert!((feasibility_h2(4, 10, 0.95).unwrap() - crate::decide::kn::kn_h2(5, 10, 0.95).unwrap()).abs() < 1e-12);
    }

    #[test]
    fn clear_cases_are_decided_at_the_first_check() {
        let spec = FeasibilitySpec { systems: 3, first_stage: 10, confidence: 0.95, constraints: vec![at_most(0.0, 0.1)] };
        let mut check = FeasibilityCheck::new(spec).unwrap();
        let means = [vec![-50.0], vec![50.0], vec![0.0]];
        let output = normal(1, &means);
        for run in check.next_batch() {
            check.record(run.system, run.replication, &output(run.system, run.replication)).unwrap();
        }
        assert!(!check.advance().unwrap());
        assert_eq!(check.verdicts()[0], Verdict::Feasible { stage: 10 });
        assert_eq!(check.verdicts()[1], Verdict::Infeasible { constraint: 0, stage: 10 });
        assert_eq!(check.next_batch(), vec![Run { system: 2, replication: 10 }]);
        run_to_end(&mut check, output);
        assert_ne!(check.verdicts()[2], Verdict::Undecided);
        assert_eq!(check.replications()[0], 10);
    }

    #[test]
    fn a_violated_constraint_ends_the_system_and_at_least_bounds_are_mirrored() {
        // Constraint 0 (at most 1) is met by far, constraint 1 (at least 5) violated by far.
        let constraints = vec![at_most(1.0, 0.5), Constraint { threshold: 5.0, tolerance: 0.5, bound: Bound::AtLeast }];
        let spec = FeasibilitySpec { systems: 2, first_stage: 5, confidence: 0.9, constraints };
        let mut check = FeasibilityCheck::new(spec).unwrap();
        let means = [vec![-20.0, 0.0], vec![-20.0, 30.0]];
        run_to_end(&mut check, normal(2, &means));
        assert_eq!(check.verdicts()[0], Verdict::Infeasible { constraint: 1, stage: 5 });
        assert_eq!(check.verdicts()[1], Verdict::Feasible { stage: 5 });
        assert_eq!(check.feasible(), vec![1]);
    }

    #[test]
    fn systems_at_the_edges_of_the_tolerance_are_classified_as_often_as_promised() {
        // The hardest desirable and unacceptable means: exactly ε from the threshold. Systems 0 and 1 are
        // desirable on both constraints; system 2 is unacceptable on constraint 1; system 3 on both.
        let (q, eps, confidence) = (1.0, 0.4, 0.9);
        let means = [vec![q - eps, q - eps], vec![q - eps, q - eps], vec![q - eps, q + eps], vec![q + eps, q + eps]];
        let repetitions = 300;
        let mut correct = 0;
        for seed in 0..repetitions {
            let spec = FeasibilitySpec { systems: 4, first_stage: 10, confidence, constraints: vec![at_most(q, eps); 2] };
            let mut check = FeasibilityCheck::new(spec).unwrap();
            run_to_end(&mut check, normal(seed, &means));
            correct += usize::from(check.feasible() == vec![0, 1]);
        }
        let share = correct as f64 / repetitions as f64;
        let floor = confidence - binomial_margin(confidence, repetitions as usize);
        assert!(share >= floor, "all classified correctly in {share} of the repetitions (< {floor})");
    }

    #[test]
    fn bad_parameters_and_calls_are_named() {
        let spec = |constraints: Vec<Constraint>| FeasibilitySpec { systems: 2, first_stage: 5, confidence: 0.95, constraints };
        let named = |s: FeasibilitySpec, name: &str| {
            let message = FeasibilityCheck::new(s).unwrap_err().to_string();
            assert!(message.contains(name), "{message}");
        };
        named(FeasibilitySpec { systems: 0, ..spec(vec![at_most(0.0, 1.0)]) }, "systems");
        named(FeasibilitySpec { first_stage: 1, ..spec(vec![at_most(0.0, 1.0)]) }, "first_stage");
        named(FeasibilitySpec { confidence: 1.0, ..spec(vec![at_most(0.0, 1.0)]) }, "confidence");
        named(spec(vec![]), "constraints");
        named(spec(vec![at_most(0.0, 1.0), at_most(f64::NAN, 1.0)]), "constraints[1].threshold");
        named(spec(vec![at_most(0.0, -1.0)]), "constraints[0].tolerance");
        let mut check = FeasibilityCheck::new(spec(vec![at_most(0.0, 1.0)])).unwrap();
        assert!(check.record(0, 0, &[1.0, 2.0]).unwrap_err().to_string().contains("one per constraint"));
        assert!(matches!(check.record(0, 7, &[1.0]), Err(FeasibilityError::NotRequested(_))));
        assert!(matches!(check.record(0, 0, &[f64::NAN]), Err(FeasibilityError::NotFinite { constraint: 0, .. })));
        check.record(0, 0, &[1.0]).unwrap();
        assert!(matches!(check.record(0, 0, &[1.0]), Err(FeasibilityError::Duplicate(_))));
        assert!(matches!(check.advance(), Err(FeasibilityError::Incomplete { missing: 9, .. })));
    }
}
