//! `rentree select`: which configuration of an experiment is best on one summary metric, with a stated
//! probability of being right, spending replications only where they are needed.
//!
//! The procedure is Kim and Nelson's fully sequential KN ([`crate::decide::kn`]): every configuration gets a
//! first stage of `n0` replications, then one more replication per stage for the configurations still in
//! contention, each screened out as soon as another's mean is ahead of it by more than the continuation
//! region allows. With probability at least the confidence, the configuration kept is the best when it is
//! better than every other by at least the indifference zone `delta` (in the metric's unit). The
//! configurations of a stage see the same replication index, hence the same random numbers (common random
//! numbers), which the screening's variances of pairwise differences turn into fewer runs.
//!
//! With constraints on other metrics (`--constraint "timeouts<=1000+-50"`), a feasibility check comes first
//! (Andradóttir and Kim's, [`crate::decide::feasibility`]): each configuration gets replications until
//! every constraint is declared met or one violated, and KN then chooses among the feasible ones, reusing
//! their runs. Each procedure is given half the error, so with probability at least the confidence every
//! configuration whose constraints hold by their tolerance is kept, every one that breaks one by its
//! tolerance is not, and the best of those kept is selected (Bonferroni, whatever the dependence).
//!
//! A stage is a batch of runs through the sweep's own machinery: one atomic part file per run, skipped on
//! `--resume`, run on `--jobs` threads. The procedure is a function of the runs' outputs, and each run of
//! its seed, so a selection resumed after a kill, or run with any number of jobs, makes the same decisions
//! and writes the same bytes. The folder is a sweep's (plan, part files, `runs`, `configs` and `timeseries`
//! tables, manifest) with `selection.parquet` beside them and the selection in the manifest.

use super::experiment::Experiment;
use super::{merge_with, prepare, read_json, run_batch, run_file, Addition, Note, Prepared, RunRecord, SweepInvocation};
use crate::decide::feasibility::{Bound, Constraint, FeasibilityCheck, FeasibilitySpec, Verdict};
use crate::decide::kn::{Elimination, Goal, Kn, KnSpec, Rule, Status};
use crate::decide::rinott;
use crate::error::{Error, Result};
use crate::metrics::ci::Estimate;
use crate::metrics::{Field, SummaryColumn};
use crate::world;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The table a selection adds to its folder.
pub const SELECTION_TABLE: &str = "selection.parquet";

/// Options of `rentree select`.
#[derive(Debug, Clone)]
pub struct SelectOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// Skip runs already written.
    pub resume: bool,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
    /// The budget of one run.
    pub budget: world::budget::Budget,
    /// The summary metric the best is judged on.
    pub metric: SummaryColumn,
    /// Whether the best has the largest or the smallest mean.
    pub goal: Goal,
    /// The indifference zone, in the metric's unit: differences smaller than this are not worth telling apart.
    pub delta: f64,
    /// The least probability of selecting the best when it leads by at least `delta`.
    pub confidence: f64,
    /// Replications of every configuration before the first screening (`n0`, at least 2).
    pub first_stage: u64,
    /// Replications no configuration goes beyond: a budget; reaching it ends the selection undecided.
    pub max_replications: u64,
    /// Constraints on other metrics that a configuration must meet to be selected.
    pub constraints: Vec<MetricConstraint>,
    /// Run each stage as a Slurm job array instead of on local threads.
    pub cluster: Option<super::slurm::StageCluster>,
}

/// A constraint on a summary metric's mean: at most (or at least) a threshold, with a tolerance within
/// which either answer will do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricConstraint {
    /// The metric.
    pub metric: SummaryColumn,
    /// Its bound.
    pub constraint: Constraint,
}

impl std::fmt::Display for MetricConstraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.constraint.bound {
            Bound::AtMost => "<=",
            Bound::AtLeast => ">=",
        };
        write!(f, "{}{op}{}+-{}", self.metric, self.constraint.threshold, self.constraint.tolerance)
    }
}

/// Parses `--constraint METRIC<=THRESHOLD+-TOLERANCE` (or `>=`), e.g. `timeouts<=1000+-50`.
pub fn parse_constraint(text: &str) -> Result<MetricConstraint> {
    let usage = "METRIC<=THRESHOLD+-TOLERANCE or METRIC>=THRESHOLD+-TOLERANCE with a tolerance > 0, e.g. timeouts<=1000+-50";
    let err = |expected: String| Error::Argument { flag: "--constraint".into(), found: text.into(), expected };
    let (metric, rest, bound) = if let Some((m, r)) = text.split_once("<=") {
        (m, r, Bound::AtMost)
    } else if let Some((m, r)) = text.split_once(">=") {
        (m, r, Bound::AtLeast)
    } else {
        return Err(err(usage.into()));
    };
    let metric =
        crate::metrics::columns::parse_metric::<SummaryColumn>(metric.trim()).map_err(|e| err(format!("{usage}: {}", e.expected())))?;
    let (q, eps) = rest.split_once("+-").ok_or_else(|| err(usage.into()))?;
    let number = |t: &str| t.trim().parse::<f64>().ok().filter(|x| x.is_finite());
    let (Some(threshold), Some(tolerance)) = (number(q), number(eps)) else {
        return Err(err(usage.into()));
    };
    if tolerance <= 0.0 {
        return Err(err(usage.into()));
    }
    Ok(MetricConstraint { metric, constraint: Constraint { threshold, tolerance, bound } })
}

/// What a selection adds to its folder's manifest.
#[derive(Debug, Clone, Serialize)]
pub struct SelectionNote {
    /// The procedure.
    pub procedure: String,
    /// The metric.
    pub metric: String,
    /// `maximize` or `minimize`.
    pub goal: String,
    /// The indifference zone, in the metric's unit.
    pub delta: f64,
    /// The confidence.
    pub confidence: f64,
    /// The first-stage replications.
    pub first_stage: u64,
    /// The replication cap.
    pub max_replications: u64,
    /// The constraints, as given (`METRIC<=THRESHOLD+-TOLERANCE`).
    pub constraints: Vec<String>,
    /// The configurations declared feasible (all of them without constraints).
    pub feasible: Vec<String>,
    /// The configuration selected (its label), absent when the cap ended the selection first or none is
    /// feasible.
    pub best: Option<String>,
    /// The configurations still in contention when it ended (one when a best was selected).
    pub survivors: Vec<String>,
    /// Runs used, each counted once (the selection reuses the feasibility check's).
    pub runs_spent: u64,
    /// Runs of the selection among the feasible configurations.
    pub selection_runs: u64,
    /// Runs Rinott's two-stage procedure, the fixed-sample baseline with the same guarantee, would use for
    /// that selection with the first stage's variances.
    pub fixed_sample_runs: u64,
}

/// One configuration's fate.
#[derive(Debug, Clone, PartialEq)]
pub struct Fate {
    /// Configuration index.
    pub config: usize,
    /// Replications it had when the selection ended, or when it was eliminated.
    pub replications: u64,
    /// The metric's mean over those replications.
    pub mean: f64,
    /// The 95% half-width of that mean (Student t).
    pub half_width: f64,
    /// Its elimination, if it was eliminated by another configuration (`by` is a configuration index).
    pub eliminated: Option<Elimination>,
    /// The constraint it was declared to break (an index in the options' constraints), and at which stage.
    pub infeasible: Option<(usize, usize)>,
}

/// What a selection did.
#[derive(Debug, Clone)]
pub struct SelectOutcome {
    /// The configuration selected; `None` if the replication cap ended the selection first.
    pub best: Option<usize>,
    /// Configurations still in contention at the end.
    pub survivors: Vec<usize>,
    /// Each configuration's fate, in index order.
    pub fates: Vec<Fate>,
    /// Stages screened (the first stage counts as one).
    pub stages: u64,
    /// The configurations declared feasible (all without constraints).
    pub feasible: Vec<usize>,
    /// Runs used, each counted once.
    pub runs_spent: u64,
    /// Runs of the selection among the feasible configurations.
    pub selection_runs: u64,
    /// Rinott's fixed-sample runs for that selection (see [`SelectionNote::fixed_sample_runs`]).
    pub fixed_sample_runs: u64,
    /// Runs executed by this invocation.
    pub executed: u64,
    /// Runs found already finished and skipped.
    pub skipped: u64,
    /// Wall seconds.
    pub wall_s: f64,
    /// Files written (tables, then `manifest.json`).
    pub files: Vec<PathBuf>,
    /// Temporary files of an interrupted selection removed by `--resume`.
    pub stale_temps_removed: usize,
}

/// An argument error of `rentree select`.
fn argument(flag: &str, found: impl ToString, expected: &str) -> Error {
    Error::Argument { flag: flag.into(), found: found.to_string(), expected: expected.into() }
}

/// Checks the options against the experiment before any run.
fn check(experiment: &Experiment, o: &SelectOptions) -> Result<()> {
    let k = experiment.configs.len();
    if k < 2 {
        return Err(Error::Invalid {
            path: experiment.path.clone(),
            field: "configurations".into(),
            found: k.to_string(),
            expected: "at least 2 configurations to choose among".into(),
        });
    }
    if !(o.delta.is_finite() && o.delta > 0.0) {
        return Err(argument("--delta", o.delta, "a number > 0, in the metric's unit"));
    }
    let low = 1.0 / k as f64;
    if !(o.confidence > low && o.confidence < 1.0) {
        return Err(argument("--confidence", o.confidence, &format!("a probability in (1/k, 1) = ({low:.4}, 1) for {k} configurations")));
    }
    if o.first_stage < 2 {
        return Err(argument("--first-stage", o.first_stage, "at least 2 replications (a variance needs two)"));
    }
    if o.max_replications < o.first_stage {
        return Err(argument("--max-replications", o.max_replications, &format!("at least --first-stage ({})", o.first_stage)));
    }
    Ok(())
}

/// The runs of a selection so far and what it needs to run more: the batches of both procedures go
/// through here, so each run is executed once and counted once.
struct Runner<'a> {
    experiment: &'a Experiment,
    options: &'a SelectOptions,
    out: &'a Path,
    sha: String,
    limits: Vec<world::Limits>,
    /// Replications run so far, per configuration (always `0..reps[c]`).
    reps: Vec<u64>,
    executed: u64,
    skipped: u64,
}

impl Runner<'_> {
    /// Runs `batch` (those not already written), then returns each run's record in batch order.
    fn run(&mut self, batch: &[(usize, u64)]) -> Result<Vec<RunRecord>> {
        let o = self.options;
        let (records, executed, skipped) =
            run_batch(self.experiment, self.out, &self.sha, &mut self.reps, batch, (o.jobs, o.progress), &self.limits, o.cluster.as_ref())?;
        self.executed += executed;
        self.skipped += skipped;
        Ok(records)
    }

    /// `metric` in `record`, which every run must define.
    fn value(&self, record: &RunRecord, metric: SummaryColumn) -> Result<f64> {
        record.metric(metric).ok_or_else(|| Error::Invalid {
            path: self.experiment.path.clone(),
            field: "--metric".into(),
            found: format!(
                "{metric}, undefined in configuration {} ({}), replication {}",
                record.config, self.experiment.configs[record.config].label, record.replication
            ),
            expected: "a summary column defined in every run (e.g. served_share_by_0900)".into(),
        })
    }

    /// Whether `batch` would go beyond the replication cap.
    fn capped(&self, batch: &[(usize, u64)]) -> bool {
        batch.iter().any(|&(_, r)| r >= self.options.max_replications)
    }
}

/// The feasibility check: which configurations meet every constraint (all, without constraints), with its
/// verdicts; `None` in the verdicts where the cap stopped it first.
fn feasibility(runner: &mut Runner, confidence: f64) -> Result<(Vec<usize>, Vec<Verdict>)> {
    let k = runner.experiment.configs.len();
    let constraints = &runner.options.constraints;
    if constraints.is_empty() {
        return Ok(((0..k).collect(), vec![Verdict::Feasible { stage: 0 }; k]));
    }
    let spec = FeasibilitySpec {
        systems: k,
        first_stage: runner.options.first_stage as usize,
        confidence,
        constraints: constraints.iter().map(|c| c.constraint).collect(),
    };
    let mut check = FeasibilityCheck::new(spec).map_err(|e| argument("--constraint", "", &e.to_string()))?;
    loop {
        let batch: Vec<(usize, u64)> = check.next_batch().iter().map(|r| (r.system, r.replication as u64)).collect();
        if batch.is_empty() || runner.capped(&batch) {
            break;
        }
        for record in runner.run(&batch)? {
            let outputs = constraints.iter().map(|c| runner.value(&record, c.metric)).collect::<Result<Vec<f64>>>()?;
            check
                .record(record.config, record.replication as usize, &outputs)
                .map_err(|e| Error::Write { path: run_file(runner.out, record.config, record.replication), message: e.to_string() })?;
        }
        let done = check.advance().map_err(|e| Error::Write { path: runner.out.to_owned(), message: e.to_string() })?;
        if runner.options.progress {
            let undecided = check.verdicts().iter().filter(|v| **v == Verdict::Undecided).count();
            eprintln!(
                "feasibility: {} declared feasible, {undecided} undecided, {} runs spent",
                check.feasible().len(),
                runner.reps.iter().sum::<u64>()
            );
        }
        if done {
            break;
        }
    }
    Ok((check.feasible(), check.verdicts().to_vec()))
}

/// Selects the best configuration of `experiment` on `options.metric`, among those meeting its constraints.
pub fn select(experiment: &Experiment, options: &SelectOptions) -> Result<SelectOutcome> {
    let started = std::time::Instant::now();
    check(experiment, options)?;
    let out = &options.out;
    let Prepared { limits, sha, stale_temps_removed } = prepare(experiment, out, options.resume, false, &options.budget, "")?;
    let k = experiment.configs.len();
    let mut runner = Runner { experiment, options, out, sha, limits, reps: vec![0; k], executed: 0, skipped: 0 };
    // Each procedure gets half the error when there are two: their statements hold together at 1 − α.
    let share = if options.constraints.is_empty() { 1.0 } else { 0.5 };
    let confidence = 1.0 - (1.0 - options.confidence) * share;
    let (feasible, verdicts) = feasibility(&mut runner, confidence)?;
    // KN among the feasible configurations: its system `i` is configuration `feasible[i]`.
    let mut eliminations: Vec<Elimination> = Vec::new();
    let (mut best, mut survivors, mut stages, mut selection_runs, mut fixed_sample_runs) = (None, Vec::new(), 0u64, 0u64, 0u64);
    let all_decided = !verdicts.contains(&Verdict::Undecided);
    match feasible.len() {
        // The cap stopped the check: the undecided and the feasible are all still in contention.
        _ if !all_decided => survivors = (0..k).filter(|&c| verdicts[c] == Verdict::Undecided || feasible.contains(&c)).collect(),
        0 => {}
        1 => {
            best = Some(feasible[0]);
            survivors = feasible.clone();
        }
        n => {
            let spec = KnSpec {
                systems: n,
                first_stage: options.first_stage as usize,
                indifference: options.delta,
                confidence,
                goal: options.goal,
            };
            let mut kn = Kn::new(spec).map_err(|e| argument("--confidence", options.confidence, &e.to_string()))?;
            let mut first: Vec<Vec<f64>> = vec![Vec::new(); n];
            loop {
                let runs = kn.next_batch();
                let batch: Vec<(usize, u64)> = runs.iter().map(|r| (feasible[r.system], r.replication as u64)).collect();
                if batch.is_empty() || runner.capped(&batch) {
                    break;
                }
                for (run, record) in runs.iter().zip(runner.run(&batch)?) {
                    let system = run.system;
                    let value = runner.value(&record, options.metric)?;
                    if stages == 0 {
                        first[system].push(value);
                    }
                    kn.record(system, record.replication as usize, value).map_err(|e| Error::Invalid {
                        path: run_file(out, record.config, record.replication),
                        field: options.metric.name().into(),
                        found: value.to_string(),
                        expected: e.to_string(),
                    })?;
                }
                let status = kn.advance().map_err(|e| Error::Write { path: out.clone(), message: e.to_string() })?;
                stages += 1;
                if options.progress {
                    eprintln!(
                        "stage {}: {} of {n} configuration(s) in contention, {} runs spent",
                        kn.stage(),
                        kn.survivors().len(),
                        runner.reps.iter().sum::<u64>()
                    );
                }
                if matches!(status, Status::Selected { .. }) {
                    break;
                }
            }
            if let Status::Selected { best: b } = kn.status() {
                best = Some(feasible[b]);
            }
            survivors = kn.survivors().iter().map(|&i| feasible[i]).collect();
            eliminations = kn.eliminations().iter().map(|e| Elimination { system: feasible[e.system], by: feasible[e.by], ..*e }).collect();
            selection_runs = kn.runs_spent() as u64;
            // Rinott's fixed-sample baseline: each to max(n0, ⌈(h S_i / δ)²⌉) with the first stage's S_i.
            fixed_sample_runs = rinott::rinott_h(n, options.first_stage as usize, confidence)
                .map(|h| {
                    first
                        .iter()
                        .map(|v| {
                            let s2 = Estimate::new(v, 0.95).std_dev.powi(2);
                            if s2.is_finite() {
                                rinott::rinott_n(h, s2, options.delta, options.first_stage as usize) as u64
                            } else {
                                0
                            }
                        })
                        .sum()
                })
                .unwrap_or(0);
        }
    }
    // Each configuration's mean over all the runs it had, in either procedure.
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); k];
    for (c, v) in values.iter_mut().enumerate() {
        for r in 0..runner.reps[c] {
            let record: RunRecord = read_json(&run_file(out, c, r))?;
            v.push(runner.value(&record, options.metric)?);
        }
    }
    let fates: Vec<Fate> = (0..k)
        .map(|c| {
            let e = Estimate::new(&values[c], 0.95);
            Fate {
                config: c,
                replications: runner.reps[c],
                mean: e.mean,
                half_width: e.half_width,
                eliminated: eliminations.iter().find(|x| x.system == c).copied(),
                infeasible: match verdicts[c] {
                    Verdict::Infeasible { constraint, stage } => Some((constraint, stage)),
                    _ => None,
                },
            }
        })
        .collect();
    let runs_spent: u64 = runner.reps.iter().sum();
    let label = |c: usize| experiment.configs[c].label.clone();
    let goal = match options.goal {
        Goal::Maximize => "maximize",
        Goal::Minimize => "minimize",
    };
    let note = SelectionNote {
        procedure: "KN (Kim and Nelson 2001), fully sequential, common random numbers; feasibility check (Andradóttir and Kim 2010) first when constrained".into(),
        metric: options.metric.name().into(),
        goal: goal.into(),
        delta: options.delta,
        confidence: options.confidence,
        first_stage: options.first_stage,
        max_replications: options.max_replications,
        constraints: options.constraints.iter().map(ToString::to_string).collect(),
        feasible: feasible.iter().map(|&c| label(c)).collect(),
        best: best.map(label),
        survivors: survivors.iter().map(|&c| label(c)).collect(),
        runs_spent,
        selection_runs,
        fixed_sample_runs,
    };
    let rows = fates
        .iter()
        .map(|f| {
            let c = &experiment.configs[f.config];
            let mut row: Vec<(String, Field)> =
                vec![("config".into(), Field::U64(f.config as u64)), ("label".into(), Field::Str(c.label.clone()))];
            for (n, v) in &c.params {
                row.push((n.clone(), Field::Str(v.clone())));
            }
            let outcome = match (best, f.eliminated, f.infeasible) {
                (Some(b), _, _) if b == f.config => "best",
                (_, _, Some(_)) => "infeasible",
                (_, Some(e), _) if e.rule == Rule::Tie => "tied",
                (_, Some(_), _) => "eliminated",
                _ => "undecided",
            };
            let (stage, by) = match (f.eliminated, f.infeasible) {
                (Some(e), _) => (e.stage as f64, label(e.by)),
                (None, Some((constraint, stage))) => (stage as f64, format!("constraint {}", options.constraints[constraint])),
                (None, None) => (f64::NAN, String::new()),
            };
            row.push(("outcome".into(), Field::Str(outcome.into())));
            row.push(("replications".into(), Field::U64(f.replications)));
            row.push((format!("{}_mean", options.metric.name()), Field::F64(f.mean)));
            row.push((format!("{}_hw95", options.metric.name()), Field::F64(f.half_width)));
            row.push(("eliminated_at_stage".into(), Field::F64(stage)));
            row.push(("eliminated_by".into(), Field::Str(by)));
            row
        })
        .collect();
    let (executed, skipped) = (runner.executed, runner.skipped);
    let invocation = SweepInvocation::since(&experiment.path, executed, skipped, options.jobs, started);
    let files =
        merge_with(out, Some(invocation), Some(Addition { name: SELECTION_TABLE, rows, note: Note::Selection(note), more: Vec::new() }))?;
    Ok(SelectOutcome {
        best,
        survivors,
        fates,
        stages,
        feasible,
        runs_spent,
        selection_runs,
        fixed_sample_runs,
        executed,
        skipped,
        wall_s: started.elapsed().as_secs_f64(),
        files,
        stale_temps_removed,
    })
}
