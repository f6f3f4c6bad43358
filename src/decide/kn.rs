//! Kim & Nelson's fully sequential indifference-zone procedure KN.
//!
//! Kim, S.-H. and Nelson, B. L. (2001), "A fully sequential procedure for indifference-zone selection in
//! simulation", *ACM Transactions on Modeling and Computer Simulation* 11(3):251–273.
//!
//! Among `k` simulated systems, KN selects the one with the best mean with probability at least `1 − α`
//! whenever the best is better than every other by at least `δ` (the indifference zone), for normally
//! distributed outputs with unknown and unequal variances. It is valid under common random numbers: the
//! variances it uses are those of pairwise *differences* `X_i − X_l`, which common random numbers shrink.
//!
//! The procedure, with the paper's parameter `c` set to 1 (its continuation region is then a triangle):
//! - **setup**: `η = ½[(2α/(k−1))^(−2/(n0−1)) − 1]` and `h² = 2cη(n0−1)`;
//! - **first stage**: `n0` replications of every system; for every pair, `S²_il`, the sample variance of
//!   the `n0` differences `X_ij − X_lj`;
//! - **screening** at stage `r` (each survivor has `r` replications): with
//!   `W_il(r) = max{0, (δ/(2cr))(h²S²_il/δ² − r)}`, system `i` survives if `X̄_i(r) ≥ X̄_l(r) − W_il(r)`
//!   for every other `l` that survived the previous screening (maximization; minimization negates the
//!   outputs). All eliminations of a stage are judged against the same set, so the order of the systems
//!   does not change who is eliminated;
//! - **stopping**: one survivor is the selection; otherwise one more replication of each survivor, `r + 1`,
//!   and screen again.
//!
//! The screening is evaluated on sums rather than means: `i` is eliminated by `l` when
//! `Σ_j(X_ij − X_lj) < −max{0, h²S²_il/(2cδ) − δr/(2c)} = −r·W_il(r)`, the same inequality multiplied by
//! `r`, which spares a division.
//!
//! `W_il(r)` vanishes once `r ≥ h²S²_il/δ²`, so every pair is decided by stage `⌊h²S²_il/δ²⌋ + 1`: there
//! `i` survives only if its mean is at least every other survivor's. Survivors past every pair's bound
//! therefore share exactly the same mean (ties, as with identical outputs); the paper leaves ties to the
//! user, and this implementation selects the lowest-numbered of them and records the others as eliminated
//! by [`Rule::Tie`].
//!
//! The caller drives it: [`Kn::next_batch`] names the runs needed (the first stage for everyone, then one
//! more replication of each survivor), [`Kn::record`] takes their outputs in any order, and
//! [`Kn::advance`] screens once the batch is complete. Replication `j` of every system should use the same
//! random numbers (the same seed and replication index) for common random numbers to pay.

use thiserror::Error;

/// Whether the best system is the one with the largest or the smallest mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// The best has the largest mean (a share served, a goodput).
    Maximize,
    /// The best has the smallest mean (a waiting time, a cost).
    Minimize,
}

/// The parameters of a KN selection.
#[derive(Debug, Clone, PartialEq)]
pub struct KnSpec {
    /// The number of systems `k` (at least 2), numbered `0..k`.
    pub systems: usize,
    /// The first-stage size `n0` (at least 2): replications of every system before the first screening.
    pub first_stage: usize,
    /// The indifference zone `δ > 0`, in the output's own unit: a difference of means smaller than this is
    /// not worth telling apart.
    pub indifference: f64,
    /// The confidence `1 − α`, in `(1/k, 1)`: the least probability of selecting the best when it is
    /// better than the others by at least `δ`.
    pub confidence: f64,
    /// Whether the best mean is the largest or the smallest.
    pub goal: Goal,
}

/// A run to simulate: replication `replication` (0-based) of system `system`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Run {
    /// The system, in `0..k`.
    pub system: usize,
    /// The replication index, the same for every system at a stage (common random numbers).
    pub replication: usize,
}

/// Where the selection stands after a screening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// More than one system survives: run [`Kn::next_batch`] and screen again.
    Running,
    /// One system is left: the selection.
    Selected {
        /// The selected system.
        best: usize,
    },
}

/// Why a system was eliminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// KN's screening: its mean fell below another survivor's by more than `W_il(r)`.
    Screening,
    /// A tie past every pair's last stage: equal means, the lower-numbered system kept.
    Tie,
}

/// The record of one elimination.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Elimination {
    /// The system eliminated.
    pub system: usize,
    /// The stage `r` of the screening that eliminated it: the replications it had then.
    pub stage: usize,
    /// The system that eliminated it: among the previous screening's survivors it fell below, the one it
    /// fell furthest below (the lowest-numbered on equal margins). That system may be eliminated at the
    /// same stage, since a stage judges everyone against the same set.
    pub by: usize,
    /// Which rule eliminated it.
    pub rule: Rule,
}

/// A parameter or a call the procedure refuses, naming what is wrong.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum KnError {
    /// `systems` below 2.
    #[error("kn: systems (k) must be at least 2, found {0}")]
    Systems(usize),
    /// `first_stage` below 2: no variance can be estimated.
    #[error("kn: first_stage (n0) must be at least 2, found {0}")]
    FirstStage(usize),
    /// `indifference` not a finite positive number.
    #[error("kn: indifference (delta) must be a finite number > 0, found {0}")]
    Indifference(f64),
    /// `confidence` outside `(1/k, 1)`.
    #[error("kn: confidence (1 - alpha) must lie in (1/k, 1) = ({low}, 1), found {found}")]
    Confidence {
        /// The value given.
        found: f64,
        /// `1/k`, below which picking at random would do as well.
        low: f64,
    },
    /// A run that the current batch does not contain.
    #[error("kn: run (system {}, replication {}) is not in the current batch", .0.system, .0.replication)]
    NotRequested(Run),
    /// A run recorded twice.
    #[error("kn: run (system {}, replication {}) was already recorded", .0.system, .0.replication)]
    Duplicate(Run),
    /// An output that is not a finite number.
    #[error("kn: run (system {}, replication {}) gave {value}, not a finite number", .run.system, .run.replication)]
    NotFinite {
        /// The run.
        run: Run,
        /// The value given.
        value: f64,
    },
    /// [`Kn::advance`] before every run of the batch was recorded.
    #[error("kn: {missing} runs of the batch are not recorded yet, the first is (system {}, replication {})",
        .first.system, .first.replication)]
    Incomplete {
        /// How many runs are missing.
        missing: usize,
        /// The first of them in the batch's order.
        first: Run,
    },
}

/// A KN selection in progress: a state machine fed by its caller.
#[derive(Debug, Clone)]
pub struct Kn {
    spec: KnSpec,
    h2: f64,
    /// +1 to maximize, −1 to minimize: outputs are stored multiplied by it, so the screening always
    /// maximizes.
    sign: f64,
    /// The first-stage outputs (signed), `first[system][replication]`, kept until the variances are known.
    first: Vec<Vec<f64>>,
    /// `S²_il`, row-major `k × k`, symmetric; known after the first stage.
    variance: Vec<f64>,
    /// Σ of each system's signed outputs so far.
    sums: Vec<f64>,
    /// Replications folded into each system's sum.
    counts: Vec<usize>,
    /// The survivors, in increasing order.
    survivors: Vec<usize>,
    eliminations: Vec<Elimination>,
    /// The runs asked for, sorted, with their outputs as they arrive.
    batch: Vec<(Run, Option<f64>)>,
    status: Status,
}

impl Kn {
    /// A selection checked against its parameters, waiting for its first stage.
    pub fn new(spec: KnSpec) -> Result<Kn, KnError> {
        let h2 = kn_h2(spec.systems, spec.first_stage, spec.confidence)?;
        if !(spec.indifference.is_finite() && spec.indifference > 0.0) {
            return Err(KnError::Indifference(spec.indifference));
        }
        let k = spec.systems;
        let batch =
            (0..spec.first_stage).flat_map(|replication| (0..k).map(move |system| (Run { system, replication }, None))).collect::<Vec<_>>();
        let sign = match spec.goal {
            Goal::Maximize => 1.0,
            Goal::Minimize => -1.0,
        };
        Ok(Kn {
            first: vec![Vec::with_capacity(spec.first_stage); k],
            variance: Vec::new(),
            sums: vec![0.0; k],
            counts: vec![0; k],
            survivors: (0..k).collect(),
            eliminations: Vec::new(),
            batch: sorted(batch),
            status: Status::Running,
            h2,
            sign,
            spec,
        })
    }

    /// The parameters.
    pub fn spec(&self) -> &KnSpec {
        &self.spec
    }

    /// The constant `h²` of the continuation region.
    pub fn h2(&self) -> f64 {
        self.h2
    }

    /// The runs the next screening needs, ordered by replication then system; empty once a system is
    /// selected. Runs already recorded are included: the batch is the whole stage.
    pub fn next_batch(&self) -> Vec<Run> {
        self.batch.iter().map(|(run, _)| *run).collect()
    }

    /// Records the output of one run of the current batch, in any order.
    pub fn record(&mut self, system: usize, replication: usize, value: f64) -> Result<(), KnError> {
        let run = Run { system, replication };
        let slot = match self.batch.binary_search_by(|(r, _)| key(r).cmp(&key(&run))) {
            Ok(at) => &mut self.batch[at].1,
            Err(_) => return Err(KnError::NotRequested(run)),
        };
        if slot.is_some() {
            return Err(KnError::Duplicate(run));
        }
        if !value.is_finite() {
            return Err(KnError::NotFinite { run, value });
        }
        *slot = Some(value);
        Ok(())
    }

    /// Folds the completed batch in, screens, and says whether a system is selected. Once one is, it
    /// returns the same status again without doing anything.
    pub fn advance(&mut self) -> Result<Status, KnError> {
        if self.status != Status::Running {
            return Ok(self.status);
        }
        let missing = self.batch.iter().filter(|(_, v)| v.is_none()).count();
        if let Some((first, _)) = self.batch.iter().find(|(_, v)| v.is_none()) {
            return Err(KnError::Incomplete { missing, first: *first });
        }
        let first_stage = self.variance.is_empty();
        for (run, value) in std::mem::take(&mut self.batch) {
            let value = self.sign * value.expect("checked complete above");
            self.sums[run.system] += value;
            self.counts[run.system] += 1;
            if first_stage {
                self.first[run.system].push(value);
            }
        }
        if first_stage {
            self.variance = pairwise_variances(&self.first);
            self.first = Vec::new();
        }
        self.screen();
        if self.survivors.len() > 1 && self.all_regions_closed() {
            self.break_tie();
        }
        if let [best] = self.survivors[..] {
            self.status = Status::Selected { best };
        } else {
            let replication = self.stage();
            self.batch = self.survivors.iter().map(|&system| (Run { system, replication }, None)).collect();
        }
        Ok(self.status)
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The stage `r`: the replications each survivor has had folded in (0 before the first stage).
    pub fn stage(&self) -> usize {
        self.survivors.first().map_or(0, |&s| self.counts[s])
    }

    /// The systems still in contention, in increasing order.
    pub fn survivors(&self) -> &[usize] {
        &self.survivors
    }

    /// The eliminations so far, in the order they happened (by stage, then system).
    pub fn eliminations(&self) -> &[Elimination] {
        &self.eliminations
    }

    /// Each system's sample mean over the replications folded in (for an eliminated system, those it had
    /// when eliminated), in the output's unit and sign; `NaN` before the first stage.
    pub fn means(&self) -> Vec<f64> {
        self.sums.iter().zip(&self.counts).map(|(s, &n)| self.sign * s / n as f64).collect()
    }

    /// The replications folded into each system's mean.
    pub fn replications(&self) -> &[usize] {
        &self.counts
    }

    /// The runs spent: replications folded in, over all systems.
    pub fn runs_spent(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The variance estimate `S²_il` of the differences between systems `i` and `l`, once the first stage
    /// is in.
    pub fn difference_variance(&self, i: usize, l: usize) -> Option<f64> {
        (!self.variance.is_empty()).then(|| self.variance[i * self.spec.systems + l])
    }

    /// The stage by which the current survivors are sure to be decided, `max ⌊h²S²_il/δ²⌋ + 1` over their
    /// pairs (at least the current stage): a bound on the replications any system will need, for budgeting.
    /// `None` before the first stage.
    pub fn stage_bound(&self) -> Option<usize> {
        if self.variance.is_empty() {
            return None;
        }
        let delta2 = self.spec.indifference * self.spec.indifference;
        let mut bound = self.stage();
        for (a, &i) in self.survivors.iter().enumerate() {
            for &l in &self.survivors[a + 1..] {
                let last = (self.h2 * self.variance[i * self.spec.systems + l] / delta2).floor() as usize + 1;
                bound = bound.max(last);
            }
        }
        Some(bound)
    }

    /// `r·W_il(r)`: how far below `l`'s sum `i`'s may fall at stage `r` and survive.
    fn allowance(&self, i: usize, l: usize, r: usize) -> f64 {
        let delta = self.spec.indifference;
        let s2 = self.variance[i * self.spec.systems + l];
        (self.h2 * s2 / (2.0 * delta) - delta * r as f64 / 2.0).max(0.0)
    }

    /// One screening: every survivor judged against every other survivor of the previous screening.
    fn screen(&mut self) {
        let r = self.stage();
        let mut kept = Vec::with_capacity(self.survivors.len());
        let mut eliminated = Vec::new();
        for &i in &self.survivors {
            // The eliminator is the survivor `i` fell furthest below, beyond its allowance.
            let mut worst: Option<(f64, usize)> = None;
            for &l in &self.survivors {
                if l == i {
                    continue;
                }
                let shortfall = (self.sums[l] - self.sums[i]) - self.allowance(i, l, r);
                if shortfall > 0.0 && worst.is_none_or(|(s, _)| shortfall > s) {
                    worst = Some((shortfall, l));
                }
            }
            match worst {
                Some((_, by)) => eliminated.push(Elimination { system: i, stage: r, by, rule: Rule::Screening }),
                None => kept.push(i),
            }
        }
        self.survivors = kept;
        self.eliminations.extend(eliminated);
    }

    /// Whether every pair of survivors is past its last stage (all allowances zero).
    fn all_regions_closed(&self) -> bool {
        let r = self.stage();
        self.survivors.iter().enumerate().all(|(a, &i)| self.survivors[a + 1..].iter().all(|&l| self.allowance(i, l, r) == 0.0))
    }

    /// Survivors with closed regions have equal sums (each is at least every other's): keep the first.
    fn break_tie(&mut self) {
        let r = self.stage();
        let best = self.survivors[0];
        for &system in &self.survivors[1..] {
            self.eliminations.push(Elimination { system, stage: r, by: best, rule: Rule::Tie });
        }
        self.survivors.truncate(1);
    }
}

/// KN's `h² = 2cη(n0 − 1)` with `c = 1` and `η = ½[(2α/(k−1))^(−2/(n0−1)) − 1]`, the parameters checked.
///
/// It comes from bounding each pair's probability of a wrong elimination by `α/(k−1)` (Fabian's bound for a
/// Brownian motion leaving a triangular region, averaged over the χ² law of `S²_il`), so that the
/// Bonferroni union over the `k − 1` inferior systems is at most `α`.
pub fn kn_h2(systems: usize, first_stage: usize, confidence: f64) -> Result<f64, KnError> {
    if systems < 2 {
        return Err(KnError::Systems(systems));
    }
    if first_stage < 2 {
        return Err(KnError::FirstStage(first_stage));
    }
    let low = 1.0 / systems as f64;
    if !(confidence > low && confidence < 1.0) {
        return Err(KnError::Confidence { found: confidence, low });
    }
    let alpha = 1.0 - confidence;
    let dof = (first_stage - 1) as f64;
    let eta = 0.5 * ((2.0 * alpha / (systems - 1) as f64).powf(-2.0 / dof) - 1.0);
    Ok(2.0 * eta * dof)
}

/// `S²_il` for every pair: the sample variance (divisor `n0 − 1`) of the paired differences.
fn pairwise_variances(first: &[Vec<f64>]) -> Vec<f64> {
    let k = first.len();
    let n0 = first[0].len();
    let mut variance = vec![0.0; k * k];
    for i in 0..k {
        for l in i + 1..k {
            let diffs = first[i].iter().zip(&first[l]).map(|(a, b)| a - b);
            let mean = diffs.clone().sum::<f64>() / n0 as f64;
            let s2 = diffs.map(|d| (d - mean) * (d - mean)).sum::<f64>() / (n0 - 1) as f64;
            variance[i * k + l] = s2;
            variance[l * k + i] = s2;
        }
    }
    variance
}

/// The batch's order: replication, then system.
fn key(run: &Run) -> (usize, usize) {
    (run.replication, run.system)
}

fn sorted(mut batch: Vec<(Run, Option<f64>)>) -> Vec<(Run, Option<f64>)> {
    batch.sort_by_key(|(run, _)| key(run));
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::rinott::{rinott_expected_n, rinott_h};
    use crate::decide::testing::{binomial_margin, standard_normal};
    use crate::engine::random::stream;

    fn spec(systems: usize, first_stage: usize, indifference: f64, confidence: f64) -> KnSpec {
        KnSpec { systems, first_stage, indifference, confidence, goal: Goal::Maximize }
    }

    /// Drives a selection to its end, asking `output(system, replication)` for each run.
    fn run_to_end(kn: &mut Kn, mut output: impl FnMut(usize, usize) -> f64) -> usize {
        loop {
            for run in kn.next_batch() {
                kn.record(run.system, run.replication, output(run.system, run.replication)).unwrap();
            }
            if let Status::Selected { best } = kn.advance().unwrap() {
                return best;
            }
        }
    }

    /// Normal outputs with common random numbers: replication `j` of every system shares the draw `Z_j`,
    /// `X_ij = μ_i + common_sd·Z_j + own_sd·E_ij`, so `Var(X_i − X_l) = 2·own_sd²`.
    fn normal_output(seed: u64, means: &[f64], common_sd: f64, own_sd: f64) -> impl Fn(usize, usize) -> f64 + '_ {
        move |system, replication| {
            let mut rng = stream(seed, replication as u64, "decide/kn-test");
            let common = standard_normal(&mut rng);
            let own = (0..=system).map(|_| standard_normal(&mut rng)).last().unwrap();
            means[system] + common_sd * common + own_sd * own
        }
    }

    #[test]
    fn h2_follows_the_papers_formula() {
        // k = 2, n0 = 3, α = 0.05: η = ½((2·0.05)^(−1) − 1) = 4.5 and h² = 2·4.5·2 = 18.
        assert!((kn_h2(2, 3, 0.95).unwrap() - 18.0).abs() < 1e-12);
        // k = 5, n0 = 10, α = 0.05: η = ½(0.025^(−2/9) − 1).
        let eta = 0.5 * (0.025_f64.powf(-2.0 / 9.0) - 1.0);
        assert!((kn_h2(5, 10, 0.95).unwrap() - 18.0 * eta).abs() < 1e-12);
    }

    #[test]
    fn bad_parameters_are_named() {
        let named = |s: KnSpec, name: &str| {
            let message = Kn::new(s).unwrap_err().to_string();
            assert!(message.contains(name), "{message}");
        };
        named(spec(1, 10, 1.0, 0.95), "systems");
        named(spec(3, 1, 1.0, 0.95), "first_stage");
        named(spec(3, 10, 0.0, 0.95), "indifference");
        named(spec(3, 10, f64::NAN, 0.95), "indifference");
        named(spec(3, 10, 1.0, 0.2), "confidence");
        named(spec(3, 10, 1.0, 1.0), "confidence");
    }

    #[test]
    fn the_batch_protocol_refuses_what_was_not_asked() {
        let mut kn = Kn::new(spec(2, 2, 1.0, 0.9)).unwrap();
        assert_eq!(kn.next_batch().len(), 4);
        assert_eq!(kn.record(2, 0, 1.0), Err(KnError::NotRequested(Run { system: 2, replication: 0 })));
        assert_eq!(kn.record(0, 2, 1.0), Err(KnError::NotRequested(Run { system: 0, replication: 2 })));
        assert!(matches!(kn.record(0, 0, f64::INFINITY), Err(KnError::NotFinite { .. })));
        kn.record(0, 0, 1.0).unwrap();
        assert_eq!(kn.record(0, 0, 1.0), Err(KnError::Duplicate(Run { system: 0, replication: 0 })));
        let err = kn.advance().unwrap_err();
        assert_eq!(err, KnError::Incomplete { missing: 3, first: Run { system: 1, replication: 0 } });
        assert!(err.to_string().contains("3 runs"));
    }

    #[test]
    fn a_clearly_dominated_system_is_eliminated_at_the_first_check() {
        // System 1 is 100 below the others with unit noise: at stage n0 its allowance, about
        // h²S²/(2δ) ≈ 11·2/2, is far less than its shortfall of 100·n0.
        let means = [0.0, -100.0, 0.2, 0.1];
        let mut kn = Kn::new(spec(4, 10, 0.5, 0.95)).unwrap();
        let output = normal_output(3, &means, 1.0, 1.0);
        for run in kn.next_batch() {
            kn.record(run.system, run.replication, output(run.system, run.replication)).unwrap();
        }
        assert_eq!(kn.advance().unwrap(), Status::Running);
        let first = kn.eliminations()[0];
        assert_eq!((first.system, first.stage, first.rule), (1, 10, Rule::Screening));
        assert!(!kn.survivors().contains(&1));
        assert_eq!(kn.replications()[1], 10);
        // The batch now asks the survivors for replication 10 (0-based), one each.
        let batch = kn.next_batch();
        assert!(batch.iter().all(|r| r.replication == 10 && r.system != 1));
        let best = run_to_end(&mut kn, output);
        assert_eq!(kn.replications()[1], 10, "an eliminated system is never run again");
        assert_eq!(kn.survivors(), &[best]);
        assert_eq!(kn.eliminations().len(), 3);
        assert_eq!(kn.runs_spent(), kn.replications().iter().sum::<usize>());
    }

    #[test]
    fn identical_systems_end_with_one_by_the_tie_rule() {
        // Perfect common random numbers: every difference is zero, S² = 0, the region is closed at once.
        let mut kn = Kn::new(spec(3, 5, 1.0, 0.95)).unwrap();
        let best = run_to_end(&mut kn, |_, j| j as f64);
        assert_eq!(best, 0);
        assert_eq!(kn.stage(), 5);
        assert!(kn.eliminations().iter().all(|e| e.rule == Rule::Tie && e.by == 0 && e.stage == 5));
    }

    #[test]
    fn equal_noisy_systems_end_with_one_within_the_stage_bound() {
        let means = [1.0; 6];
        for seed in 0..20 {
            let mut kn = Kn::new(spec(6, 8, 0.3, 0.9)).unwrap();
            let output = normal_output(seed, &means, 0.5, 1.0);
            for run in kn.next_batch() {
                kn.record(run.system, run.replication, output(run.system, run.replication)).unwrap();
            }
            kn.advance().unwrap();
            let bound = kn.stage_bound().unwrap();
            run_to_end(&mut kn, output);
            assert!(kn.stage() <= bound, "seed {seed}: stage {} past the bound {bound}", kn.stage());
            assert_eq!(kn.survivors().len(), 1);
            assert_eq!(kn.eliminations().len(), 5);
        }
    }

    #[test]
    fn minimizing_selects_the_smallest_mean() {
        let means = [3.0, 1.0, 2.0];
        let mut kn = Kn::new(KnSpec { goal: Goal::Minimize, ..spec(3, 10, 0.5, 0.95) }).unwrap();
        assert_eq!(run_to_end(&mut kn, normal_output(1, &means, 1.0, 0.2)), 1);
        let mean = kn.means()[1];
        assert!((mean - 1.0).abs() < 0.5, "means are reported in the output's own sign: {mean}");
    }

    #[test]
    fn the_slippage_configuration_is_selected_as_often_as_promised_and_cheaper_than_rinott() {
        // k = 5, the best better by exactly δ, the others equal (the least favourable configuration for an
        // indifference-zone procedure); common random numbers through a shared normal component of
        // variance ½ and an own one of variance ½: each system's variance is 1, a difference's is 1.
        let (k, n0, delta, confidence) = (5, 10, 0.5, 0.95);
        let mut means = vec![0.0; k];
        means[2] = delta;
        let macroreps = 300;
        let sd = 0.5_f64.sqrt();
        let mut correct = 0;
        let mut runs = 0;
        for seed in 0..macroreps {
            let mut kn = Kn::new(spec(k, n0, delta, confidence)).unwrap();
            correct += usize::from(run_to_end(&mut kn, normal_output(seed, &means, sd, sd)) == 2);
            runs += kn.runs_spent();
        }
        let pcs = correct as f64 / macroreps as f64;
        let floor = confidence - binomial_margin(confidence, macroreps as usize);
        assert!(pcs >= floor, "PCS {pcs} below {floor}");
        // Rinott, sampling each system independently with its variance of 1, would expect this many runs.
        let h = rinott_h(k, n0, confidence).unwrap();
        let rinott_runs = k as f64 * rinott_expected_n(h, 1.0, delta, n0);
        let kn_runs = runs as f64 / macroreps as f64;
        assert!(kn_runs < rinott_runs, "KN spent {kn_runs} runs on average, Rinott expects {rinott_runs}");
    }
}
