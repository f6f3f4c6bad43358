//! `rentree optimize`: the cheapest configuration of an experiment's knobs that meets every constraint,
//! with the frontier of cost against the main metric and the runs spent.
//!
//! The problem is the experiment's `[optimize]` table: integer-ordered knobs (each a lattice of values), a
//! cost (a price per unit of knob, a price per server-hour of each platform, or any summary metric), and
//! constraints on summary metrics' means with tolerances (`served_share_by_0900>=0.9+-0.01`).
//!
//! **Why this method.** The knobs are integer-ordered (servers, quotas, rates on a step), the constraints
//! are noisy and the cheapest set-up sits on their boundary, and a run of the national morning is costly:
//! the method must visit few points, use the order of the knobs, and not be fooled by a boundary solution's
//! noise. COMPASS ([`crate::decide::compass`], Hong and Nelson 2006) is built for integer-ordered knobs and
//! spends its runs around the best so far; Park and Kim's penalty function with memory (2015) carries the
//! noisy constraints into it without rejecting boundary solutions for ever; and a clean-up (Boesel, Nelson
//! and Kim 2003) turns the search's candidate into a statement with a stated confidence. Bayesian
//! optimisation would need a surrogate of each constraint over a lattice whose response (a collapse that
//! starts at a knee) is far from smooth; R-SPLINE needs a continuous piecewise-linear interpolation of the
//! same. A grid search is the baseline: every lattice point at the first-stage replications, a lower bound on
//! what it would spend for the same answer.
//!
//! **Procedure.**
//! 1. *Search*: COMPASS with PFM over the lattice, each visited point a configuration (runs on common random
//!    numbers when the experiment says so), until a local optimum (every neighbour of the best visited) or
//!    `max_runs`.
//! 2. *Clean-up* on fresh replications (streams from [`CLEANUP_STREAM`], never seen by the search, so the
//!    search's selection of lucky points does not bias the statement): the candidates are the cheapest
//!    visited points whose means meet the constraints (up to [`CANDIDATES`]), and the search's best. A
//!    feasibility check (Andradóttir and Kim 2010) declares each feasible or not; with a linear cost the
//!    answer is the cheapest declared feasible; with a noisy cost KN (Kim and Nelson 2001) selects the
//!    cheapest among them to within `delta`, each procedure at half the error (Bonferroni).
//!
//! **What is promised.** With probability at least the confidence, the answer meets every constraint to
//! within its tolerance, and (noisy cost) no other declared-feasible candidate is cheaper by `delta` or
//! more. That the answer is the cheapest point of the whole lattice is the search's claim, not a stated
//! probability: COMPASS finds a local optimum, a global one where the problem is convex in its knobs.
//!
//! The folder is a sweep's, with `optimization.parquet` (every visited point, its estimates, the frontier
//! and the clean-up's verdict) and the optimisation in the manifest. The search is a deterministic function
//! of its seed and the runs' outputs, so a resumed optimisation visits the same points in the same order,
//! finds their part files, and writes the same bytes whatever `--jobs`.

use super::experiment::{Config, Cost, Experiment, Problem};
use super::select::MetricConstraint;
use super::{merge_with, plan_of, prepare, read_json, run_batch, run_file, Addition, Note, Prepared, RunRecord, SweepInvocation};
use crate::decide::compass::{Compass, CompassSpec, Status};
use crate::decide::feasibility::{Bound, FeasibilityCheck, FeasibilitySpec, Verdict};
use crate::decide::kn::{Goal, Kn, KnSpec, Status as KnStatus};
use crate::error::{Error, Result};
use crate::metrics::ci::Estimate;
use crate::metrics::{Field, MinuteColumn};
use crate::output;
use crate::scenario::Override;
use crate::world;
use serde::Serialize;
use std::path::PathBuf;

/// The table an optimisation adds to its folder.
pub const OPTIMIZATION_TABLE: &str = "optimization.parquet";

/// The first random stream of the clean-up's replications: far beyond any replication a search reaches,
/// so the clean-up's runs are independent of those that chose the candidates.
pub const CLEANUP_STREAM: u64 = 1 << 32;

/// The most candidates the clean-up checks.
pub const CANDIDATES: usize = 5;

/// Options of `rentree optimize`.
#[derive(Debug, Clone)]
pub struct OptimizeOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// Skip runs already written.
    pub resume: bool,
    /// Show the search's progress (on a terminal).
    pub progress: bool,
    /// The budget of one run.
    pub budget: world::budget::Budget,
    /// The confidence of the clean-up's statement.
    pub confidence: f64,
    /// Replications of a newly visited point (`n₀`).
    pub first_stage: u64,
    /// The most runs the search may spend.
    pub max_runs: u64,
    /// The most replications the clean-up gives one candidate.
    pub max_replications: u64,
    /// Run each stage as a Slurm job array instead of on local threads.
    pub cluster: Option<super::slurm::StageCluster>,
}

/// What an optimisation adds to its folder's manifest.
#[derive(Debug, Clone, Serialize)]
pub struct OptimizationNote {
    /// The method.
    pub procedure: String,
    /// The knobs: path, smallest and largest value, number of values.
    pub knobs: Vec<(String, f64, f64, usize)>,
    /// The cost, described.
    pub cost: String,
    /// The constraints, as given.
    pub constraints: Vec<String>,
    /// The clean-up's confidence.
    pub confidence: f64,
    /// Why the search stopped: `local optimum` or `budget`.
    pub stopped: String,
    /// Iterations of the search.
    pub iterations: usize,
    /// The local optima its local searches ended at (one per search finished), by label.
    pub local_optima: Vec<String>,
    /// The answer's label, absent when no candidate was declared feasible (or the clean-up hit its cap).
    pub optimum: Option<String>,
    /// The answer's knob values.
    pub optimum_knobs: Vec<(String, String)>,
    /// The answer's cost (exact for a linear cost, the clean-up's mean otherwise).
    pub optimum_cost: Option<f64>,
    /// Points visited by the search.
    pub visited: usize,
    /// Runs of the search.
    pub search_runs: u64,
    /// Runs of the clean-up.
    pub cleanup_runs: u64,
    /// Points of the whole lattice.
    pub lattice_points: f64,
    /// A grid search's runs at the first-stage replications: a lower bound on the baseline's cost.
    pub grid_runs: f64,
}

/// One visited point's estimates and fate.
#[derive(Debug, Clone)]
pub struct Visited {
    /// Its configuration index (the search's order of visit).
    pub config: usize,
    /// Its label.
    pub label: String,
    /// Replications by the search.
    pub replications: u64,
    /// The cost's mean (exact for a linear cost) and 95% half-width.
    pub cost: Estimate,
    /// Each constraint metric's mean and 95% half-width.
    pub metrics: Vec<Estimate>,
    /// Whether it is on the frontier of cost against the main metric (the first constraint's).
    pub frontier: bool,
    /// The clean-up's verdict, when it was a candidate.
    pub cleanup: Option<Verdict>,
}

/// What an optimisation did.
#[derive(Debug, Clone)]
pub struct OptimizeOutcome {
    /// The answer: its configuration index among the visited points.
    pub optimum: Option<usize>,
    /// Every visited point, in the order of visit.
    pub visited: Vec<Visited>,
    /// The note written in the manifest.
    pub note: OptimizationNote,
    /// Runs executed by this invocation.
    pub executed: u64,
    /// Runs found already finished and skipped.
    pub skipped: u64,
    /// Wall seconds.
    pub wall_s: f64,
    /// Files written (tables, then `manifest.json`).
    pub files: Vec<PathBuf>,
    /// Temporary files of an interrupted optimisation removed by `--resume`.
    pub stale_temps_removed: usize,
}

fn argument(flag: &str, found: impl ToString, expected: &str) -> Error {
    Error::Argument { flag: flag.into(), found: found.to_string(), expected: expected.into() }
}

/// The configurations of an optimisation, made as the search visits points, and their runs.
struct Runner<'a> {
    design: Experiment,
    problem: &'a Problem,
    options: &'a OptimizeOptions,
    sha: String,
    limits: Vec<world::Limits>,
    reps: Vec<u64>,
    executed: u64,
    skipped: u64,
}

impl Runner<'_> {
    /// Adds the configuration of knob indices `point` (fresh streams from `stream_offset`); returns its index.
    fn add(&mut self, point: &[u64], stream_offset: u64, suffix: &str) -> Result<usize> {
        let index = self.design.configs.len();
        let path = self.design.path.clone();
        let origin = format!("{}, [optimize.knobs]", path.display());
        let picks: Vec<(&str, toml::Value)> =
            self.problem.knobs.iter().zip(point).map(|(k, &i)| (k.path.as_str(), k.value(i as usize))).collect();
        let text = |v: &toml::Value| match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let names = short_names(&self.problem.knobs.iter().map(|k| k.path.as_str()).collect::<Vec<_>>());
        let label = names.iter().zip(&picks).map(|(n, (_, v))| format!("{n}={}", text(v))).collect::<Vec<_>>().join(", ");
        let label = format!("{label}{suffix}");
        let params = picks.iter().map(|(p, v)| ((*p).to_owned(), text(v))).collect();
        let overrides: Vec<Override> = picks.iter().map(|(p, v)| Override::set(&origin, p, v)).collect();
        let scenario = self.design.base.scenario_with(&overrides).map_err(|e| Error::Invalid {
            path: path.clone(),
            field: format!("optimize.knobs at {label}"),
            found: e.to_string(),
            expected: "a valid scenario at every point of the knobs' lattice".into(),
        })?;
        let limits = self
            .options
            .budget
            .check(&scenario)
            .map_err(|message| Error::TooLarge { path: path.clone(), message: format!("at {label}: {message}") })?;
        self.design.configs.push(Config { index, label, params, overrides, scenario, stream_offset });
        self.limits.push(limits);
        self.reps.push(0);
        Ok(index)
    }

    /// Runs `batch` (those not already written) and returns each run's record, in batch order.
    fn run(&mut self, batch: &[(usize, u64)]) -> Result<Vec<RunRecord>> {
        let o = self.options;
        let (records, executed, skipped) =
            run_batch(&self.design, &o.out, &self.sha, &mut self.reps, batch, (o.jobs, false), &self.limits, o.cluster.as_ref())?;
        self.executed += executed;
        self.skipped += skipped;
        Ok(records)
    }

    /// The cost of a run of configuration `c`.
    fn cost(&self, record: &RunRecord) -> Result<f64> {
        let c = &self.design.configs[record.config];
        match &self.problem.cost {
            Cost::Linear(prices) => Ok(prices
                .iter()
                .zip(&self.problem.knobs)
                .zip(&c.params)
                .map(|((p, _), (_, v))| p * v.parse::<f64>().unwrap_or(f64::NAN))
                .sum()),
            Cost::ServerHours { prices, .. } => {
                let column =
                    super::TIMESERIES_METRICS.iter().position(|&m| m == MinuteColumn::server_hours).expect("server_hours is aggregated");
                let mut total = 0.0;
                for (platform, price) in prices {
                    let rows: Vec<f64> = record.timeseries.iter().filter(|(p, _, _)| p == platform).map(|(_, _, v)| v[column]).collect();
                    if rows.is_empty() {
                        return Err(Error::Invalid {
                            path: self.design.path.clone(),
                            field: format!("optimize.cost.server_hours.{platform}"),
                            found: platform.clone(),
                            expected: "a platform of the scenario".into(),
                        });
                    }
                    total += price * rows.iter().filter(|v| v.is_finite()).sum::<f64>();
                }
                Ok(total)
            }
            Cost::Metric { metric, .. } => self.metric(record, *metric, "optimize.cost.metric"),
        }
    }

    fn metric(&self, record: &RunRecord, metric: crate::metrics::SummaryColumn, field: &str) -> Result<f64> {
        record.metric(metric).ok_or_else(|| Error::Invalid {
            path: self.design.path.clone(),
            field: field.into(),
            found: format!("{metric}, undefined in {} replication {}", self.design.configs[record.config].label, record.replication),
            expected: "a summary column defined in every run (e.g. served_share_by_0900)".into(),
        })
    }

    fn outputs(&self, record: &RunRecord) -> Result<Vec<f64>> {
        self.problem
            .constraints
            .iter()
            .enumerate()
            .map(|(i, c)| self.metric(record, c.metric, &format!("optimize.constraints[{i}]")))
            .collect()
    }
}

/// The shortest dotted suffixes that tell the paths apart (`a.pool.servers`, `b.pool.servers`), at least two
/// components long where the path has them, for labels.
fn short_names(paths: &[&str]) -> Vec<String> {
    let most = paths.iter().map(|p| p.split('.').count()).max().unwrap_or(1);
    for n in 2.min(most)..=most {
        let names: Vec<String> = paths
            .iter()
            .map(|p| {
                let parts: Vec<&str> = p.split('.').collect();
                parts[parts.len().saturating_sub(n)..].join(".")
            })
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() == names.len() {
            return names;
        }
    }
    paths.iter().map(|p| (*p).to_owned()).collect()
}

/// Describes the cost for the manifest.
fn describe(problem: &Problem) -> String {
    match &problem.cost {
        Cost::Linear(prices) => {
            let terms: Vec<String> =
                problem.knobs.iter().zip(prices).filter(|(_, &p)| p != 0.0).map(|(k, p)| format!("{p} × {}", k.path)).collect();
            format!("linear: {}", terms.join(" + "))
        }
        Cost::ServerHours { prices, delta } => {
            let terms: Vec<String> = prices.iter().map(|(k, p)| format!("{p} × server-hours of {k}")).collect();
            format!("{} (told apart to within {delta})", terms.join(" + "))
        }
        Cost::Metric { metric, delta } => format!("mean {metric} (told apart to within {delta})"),
    }
}

/// Finds the cheapest configuration of `experiment`'s knobs meeting its constraints.
pub fn optimize(experiment: &Experiment, options: &OptimizeOptions) -> Result<OptimizeOutcome> {
    let started = std::time::Instant::now();
    let Some(problem) = &experiment.problem else {
        return Err(Error::Invalid {
            path: experiment.path.clone(),
            field: "experiment.design".into(),
            found: format!("{:?}", experiment.raw.experiment.design),
            expected: "\"optimize\", with an [optimize] table of knobs, cost and constraints".into(),
        });
    };
    if !(options.confidence > 0.0 && options.confidence < 1.0) {
        return Err(argument("--confidence", options.confidence, "a probability in (0, 1)"));
    }
    if options.first_stage < 2 {
        return Err(argument("--first-stage", options.first_stage, "at least 2 replications (a variance needs two)"));
    }
    if options.max_replications < options.first_stage {
        return Err(argument("--max-replications", options.max_replications, &format!("at least --first-stage ({})", options.first_stage)));
    }
    // Both ends of every knob must make a valid scenario: found now, not hours into the search.
    let origin = format!("{}, [optimize.knobs]", experiment.path.display());
    for k in &problem.knobs {
        for i in [0, k.values.len() - 1] {
            let value = k.value(i);
            experiment.base.scenario_with(&[Override::set(&origin, &k.path, &value)]).map_err(|e| Error::Invalid {
                path: experiment.path.clone(),
                field: format!("optimize.knobs.\"{}\"", k.path),
                found: format!("{value}: {e}"),
                expected: "values the scenario accepts at both ends of the knob's range".into(),
            })?;
        }
    }
    // 1. The search.
    let levels: Vec<u64> = problem.knobs.iter().map(|k| k.values.len() as u64).collect();
    let mut spec =
        CompassSpec::new(levels.clone(), problem.constraints.iter().map(|c| c.constraint).collect(), experiment.raw.experiment.seed);
    spec.first_stage = options.first_stage as usize;
    spec.start = problem.start.clone();
    let mut compass = Compass::new(spec).map_err(|e| argument("[optimize]", "", &e.to_string()))?;
    let first = compass.next_batch().len() as u64;
    if options.max_runs < first {
        return Err(argument(
            "--max-runs",
            options.max_runs,
            &format!("at least the search's first batch ({first} runs: its first points at --first-stage replications)"),
        ));
    }
    let out = &options.out;
    // The search's path depends on these options: a folder's runs are never those of other options.
    let description = format!(
        "optimize first_stage={} max_runs={} max_replications={} confidence={}",
        options.first_stage, options.max_runs, options.max_replications, options.confidence
    );
    let Prepared { sha, stale_temps_removed, .. } = prepare(experiment, out, options.resume, false, &options.budget, &description)?;
    let mut runner =
        Runner { design: experiment.clone(), problem, options, sha, limits: Vec::new(), reps: Vec::new(), executed: 0, skipped: 0 };
    let mut stopped = "budget";
    loop {
        let batch = compass.next_batch();
        if (compass.runs_spent() + batch.len()) as u64 > options.max_runs {
            break;
        }
        while runner.design.configs.len() < compass.solutions().len() {
            let point = compass.solutions()[runner.design.configs.len()].point.clone();
            runner.add(&point, 0, "")?;
        }
        let runs: Vec<(usize, u64)> = batch.iter().map(|r| (r.solution, r.replication as u64)).collect();
        // A restart may begin on solutions that already have their replications: an empty batch.
        let records = if runs.is_empty() { Vec::new() } else { runner.run(&runs)? };
        for record in records {
            let cost = runner.cost(&record)?;
            let outputs = runner.outputs(&record)?;
            compass
                .record(record.config, record.replication as usize, cost, &outputs)
                .map_err(|e| Error::Write { path: run_file(out, record.config, record.replication), message: e.to_string() })?;
        }
        let status = compass.advance().map_err(|e| Error::Write { path: out.clone(), message: e.to_string() })?;
        if options.progress {
            if let Some(b) = compass.best() {
                eprintln!(
                    "iteration {}: best so far {} (cost {:.4}), {} points visited, {} runs",
                    compass.iteration(),
                    runner.design.configs[b].label,
                    compass.solutions()[b].objective(),
                    compass.solutions().len(),
                    compass.runs_spent()
                );
            }
        }
        if status == Status::LocalOptimum {
            stopped = "local optimum";
            break;
        }
    }
    // Points drawn by the last iteration but never run are not part of the search.
    let visited_n = compass.solutions().iter().take_while(|s| s.replications > 0).count().min(runner.design.configs.len());
    runner.design.configs.truncate(visited_n);
    runner.limits.truncate(visited_n);
    runner.reps.truncate(visited_n);
    let search_runs: u64 = runner.reps.iter().sum();
    // 2. The clean-up on fresh streams.
    let best = compass.best();
    let mut order: Vec<usize> = (0..visited_n).filter(|&s| compass.looks_feasible(s)).collect();
    order.sort_by(|&a, &b| compass.solutions()[a].objective().total_cmp(&compass.solutions()[b].objective()).then(a.cmp(&b)));
    order.truncate(CANDIDATES);
    if let Some(b) = best.filter(|&b| b < visited_n && !order.contains(&b)) {
        order.push(b);
    }
    let candidates_of = order;
    let mut cleanup_configs = Vec::new();
    for &s in &candidates_of {
        let point = compass.solutions()[s].point.clone();
        cleanup_configs.push(runner.add(&point, CLEANUP_STREAM, " (clean-up)")?);
    }
    let noisy = !matches!(problem.cost, Cost::Linear(_));
    let share = if noisy && !problem.constraints.is_empty() { 0.5 } else { 1.0 };
    let alpha = 1.0 - options.confidence;
    let mut verdicts = vec![Verdict::Feasible { stage: 0 }; cleanup_configs.len()];
    if !problem.constraints.is_empty() && !cleanup_configs.is_empty() {
        let fspec = FeasibilitySpec {
            systems: cleanup_configs.len(),
            first_stage: options.first_stage as usize,
            confidence: 1.0 - alpha * share,
            constraints: problem.constraints.iter().map(|c| c.constraint).collect(),
        };
        let mut check = FeasibilityCheck::new(fspec).map_err(|e| argument("--confidence", options.confidence, &e.to_string()))?;
        loop {
            let batch: Vec<(usize, u64)> = check.next_batch().iter().map(|r| (cleanup_configs[r.system], r.replication as u64)).collect();
            if batch.is_empty() || batch.iter().any(|&(_, r)| r >= options.max_replications) {
                break;
            }
            for record in runner.run(&batch)? {
                let outputs = runner.outputs(&record)?;
                let system = cleanup_configs.iter().position(|&c| c == record.config).expect("a clean-up configuration");
                check
                    .record(system, record.replication as usize, &outputs)
                    .map_err(|e| Error::Write { path: run_file(out, record.config, record.replication), message: e.to_string() })?;
            }
            if check.advance().map_err(|e| Error::Write { path: out.clone(), message: e.to_string() })? {
                break;
            }
        }
        verdicts = check.verdicts().to_vec();
    }
    let feasible: Vec<usize> = (0..cleanup_configs.len()).filter(|&i| matches!(verdicts[i], Verdict::Feasible { .. })).collect();
    // The answer among the feasible candidates.
    let answer: Option<usize> = match (&problem.cost, feasible.len()) {
        (_, 0) => None,
        (Cost::Linear(_), _) => feasible.iter().copied().min_by(|&a, &b| {
            compass.solutions()[candidates_of[a]].objective().total_cmp(&compass.solutions()[candidates_of[b]].objective()).then(a.cmp(&b))
        }),
        (_, 1) => Some(feasible[0]),
        (Cost::ServerHours { delta, .. } | Cost::Metric { delta, .. }, _) => {
            let spec = KnSpec {
                systems: feasible.len(),
                first_stage: options.first_stage as usize,
                confidence: 1.0 - alpha * share,
                indifference: *delta,
                goal: Goal::Minimize,
            };
            let mut kn = Kn::new(spec).map_err(|e| argument("--confidence", options.confidence, &e.to_string()))?;
            loop {
                let batch: Vec<(usize, u64)> =
                    kn.next_batch().iter().map(|r| (cleanup_configs[feasible[r.system]], r.replication as u64)).collect();
                if batch.is_empty() || batch.iter().any(|&(_, r)| r >= options.max_replications) {
                    break;
                }
                for record in runner.run(&batch)? {
                    let cost = runner.cost(&record)?;
                    let system = feasible.iter().position(|&i| cleanup_configs[i] == record.config).expect("a feasible candidate");
                    kn.record(system, record.replication as usize, cost)
                        .map_err(|e| Error::Write { path: run_file(out, record.config, record.replication), message: e.to_string() })?;
                }
                if matches!(
                    kn.advance().map_err(|e| Error::Write { path: out.clone(), message: e.to_string() })?,
                    KnStatus::Selected { .. }
                ) {
                    break;
                }
            }
            match kn.status() {
                KnStatus::Selected { best } => Some(feasible[best]),
                _ => None,
            }
        }
    };
    let cleanup_runs: u64 = runner.reps[visited_n..].iter().sum();
    // Estimates of every visited point, from the search's runs; of the answer's cost, from the clean-up's.
    let mut visited = Vec::with_capacity(visited_n);
    for c in 0..visited_n {
        let mut costs = Vec::new();
        let mut metrics = vec![Vec::new(); problem.constraints.len()];
        for r in 0..runner.reps[c] {
            let record: RunRecord = read_json(&run_file(out, c, r))?;
            costs.push(runner.cost(&record)?);
            for (m, v) in metrics.iter_mut().zip(runner.outputs(&record)?) {
                m.push(v);
            }
        }
        let cleanup = candidates_of.iter().position(|&s| s == c).map(|i| verdicts[i]);
        visited.push(Visited {
            config: c,
            label: runner.design.configs[c].label.clone(),
            replications: runner.reps[c],
            cost: Estimate::new(&costs, 0.95),
            metrics: metrics.iter().map(|v| Estimate::new(v, 0.95)).collect(),
            frontier: false,
            cleanup,
        });
    }
    mark_frontier(&mut visited, problem.constraints.first());
    let optimum = answer.map(|i| candidates_of[i]);
    let optimum_cost = match answer {
        Some(i) if noisy => {
            let c = cleanup_configs[i];
            let costs = (0..runner.reps[c])
                .map(|r| read_json::<RunRecord>(&run_file(out, c, r)).and_then(|rec| runner.cost(&rec)))
                .collect::<Result<Vec<f64>>>()?;
            Some(Estimate::new(&costs, 0.95).mean)
        }
        Some(i) => Some(compass.solutions()[candidates_of[i]].objective()),
        None => None,
    };
    let lattice_points: f64 = levels.iter().map(|&n| n as f64).product();
    let note = OptimizationNote {
        procedure: "COMPASS (Hong and Nelson 2006) with a penalty function with memory (Park and Kim 2015); clean-up on fresh replications (Boesel, Nelson and Kim 2003): feasibility check (Andradóttir and Kim 2010), then KN (Kim and Nelson 2001) for a noisy cost".into(),
        knobs: problem.knobs.iter().map(|k| (k.path.clone(), k.values[0], *k.values.last().expect("a knob has values"), k.values.len())).collect(),
        cost: describe(problem),
        constraints: problem.constraints.iter().map(MetricConstraint::to_string).collect(),
        confidence: options.confidence,
        stopped: stopped.into(),
        iterations: compass.iteration(),
        local_optima: compass.local_optima().iter().map(|&s| runner.design.configs[s].label.clone()).collect(),
        optimum: optimum.map(|c| runner.design.configs[c].label.clone()),
        optimum_knobs: optimum.map(|c| runner.design.configs[c].params.clone()).unwrap_or_default(),
        optimum_cost,
        visited: visited_n,
        search_runs,
        cleanup_runs,
        lattice_points,
        grid_runs: lattice_points * options.first_stage as f64,
    };
    let rows = visited
        .iter()
        .map(|v| {
            let c = &runner.design.configs[v.config];
            let mut row: Vec<(String, Field)> =
                vec![("config".into(), Field::U64(v.config as u64)), ("label".into(), Field::Str(v.label.clone()))];
            for (n, x) in &c.params {
                row.push((n.clone(), Field::Str(x.clone())));
            }
            row.push(("replications".into(), Field::U64(v.replications)));
            row.push(("cost_mean".into(), Field::F64(v.cost.mean)));
            row.push(("cost_hw95".into(), Field::F64(v.cost.half_width)));
            for (m, e) in problem.constraints.iter().zip(&v.metrics) {
                row.push((format!("{}_mean", m.metric.name()), Field::F64(e.mean)));
                row.push((format!("{}_hw95", m.metric.name()), Field::F64(e.half_width)));
            }
            row.push(("penalised".into(), Field::F64(compass.penalised(v.config))));
            row.push(("frontier".into(), Field::Str(if v.frontier { "yes" } else { "no" }.into())));
            let cleanup = match v.cleanup {
                None => "",
                Some(Verdict::Feasible { .. }) => "feasible",
                Some(Verdict::Infeasible { .. }) => "infeasible",
                Some(Verdict::Undecided) => "undecided",
            };
            row.push(("cleanup".into(), Field::Str(cleanup.into())));
            row.push(("outcome".into(), Field::Str(if optimum == Some(v.config) { "optimum" } else { "" }.into())));
            row
        })
        .collect();
    let (executed, skipped) = (runner.executed, runner.skipped);
    let invocation = SweepInvocation::since(&experiment.path, executed, skipped, options.jobs, started);
    // The plan lists exactly the runs made (the last iteration's unrun draws are gone).
    output::write_json(&out.join("plan.json"), &plan_of(&runner.design, &runner.sha, &runner.reps))?;
    let files = merge_with(
        out,
        Some(invocation),
        Some(Addition { name: OPTIMIZATION_TABLE, rows, note: Note::Optimization(note.clone()), more: Vec::new() }),
    )?;
    Ok(OptimizeOutcome { optimum, visited, note, executed, skipped, wall_s: started.elapsed().as_secs_f64(), files, stale_temps_removed })
}

/// Marks the points on the frontier of cost (lower is better) against the main metric (the first
/// constraint's, better on its feasible side): those no other point matches or beats on both with one
/// strictly better. Without a constraint, the cheapest point alone.
fn mark_frontier(visited: &mut [Visited], main: Option<&MetricConstraint>) {
    let score = |v: &Visited| match main {
        Some(m) => match m.constraint.bound {
            Bound::AtLeast => v.metrics[0].mean,
            Bound::AtMost => -v.metrics[0].mean,
        },
        None => 0.0,
    };
    let points: Vec<(f64, f64)> = visited.iter().map(|v| (v.cost.mean, score(v))).collect();
    for (i, v) in visited.iter_mut().enumerate() {
        let (c, s) = points[i];
        v.frontier = !points.iter().enumerate().any(|(j, &(c2, s2))| j != i && c2 <= c && s2 >= s && (c2 < c || s2 > s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visited(cost: f64, metric: f64) -> Visited {
        Visited {
            config: 0,
            label: String::new(),
            replications: 2,
            cost: Estimate::new(&[cost, cost], 0.95),
            metrics: vec![Estimate::new(&[metric, metric], 0.95)],
            frontier: false,
            cleanup: None,
        }
    }

    #[test]
    fn labels_name_the_knobs_by_the_shortest_suffix_that_tells_them_apart() {
        assert_eq!(short_names(&["platforms.a.pool.servers", "platforms.b.pool.servers"]), vec!["a.pool.servers", "b.pool.servers"]);
        assert_eq!(short_names(&["platforms.a.pool.servers", "platforms.a.admission"]), vec!["pool.servers", "a.admission"]);
        assert_eq!(short_names(&["x"]), vec!["x"]);
    }

    #[test]
    fn the_frontier_keeps_the_points_nothing_beats_on_both_cost_and_service() {
        let main = super::super::select::parse_constraint("served_share_by_0900>=0.9+-0.01").unwrap();
        let mut v = vec![visited(10.0, 0.5), visited(20.0, 0.9), visited(15.0, 0.4), visited(30.0, 0.9), visited(40.0, 0.95)];
        mark_frontier(&mut v, Some(&main));
        let on: Vec<bool> = v.iter().map(|v| v.frontier).collect();
        assert_eq!(on, vec![true, true, false, false, true]);
    }
}
