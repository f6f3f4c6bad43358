//! Sweeps: many configurations × replications, in parallel, resumable, shardable across a Slurm array.
//!
//! A sweep's unit of work is one run, `(configuration, replication)`. Each finished run is written at once,
//! atomically, as `OUT/runs/cNNNN-rNNNN.json`; the result tables are built afterwards from those files in
//! canonical order (configuration, then replication). Three consequences:
//! - the tables do not depend on the number of threads, nor on which machine ran which run: `--jobs 1`,
//!   `--jobs 2` and a Slurm array give byte-identical `runs`, `configs` and `timeseries` tables;
//! - an interrupted sweep loses nothing finished: `--resume` skips the runs whose file exists, and removes
//!   the temporary files (`.rentree-*.tmp`) of the runs that were being written when it was killed;
//! - memory stays bounded per job: a run's report is reduced to its file and dropped.
//!
//! The plan (configurations, their parameters and replication counts) is written as `OUT/plan.json`, so
//! `rentree sweep --merge OUT` can build the tables from the part files alone.
//!
//! The folder itself follows the protocol of [`crate::output`]: a sweep withdraws `OUT/manifest.json`
//! before it rewrites the plan, and the merge writes `runs.parquet`, `configs.parquet`, `configs.csv` and
//! `timeseries.parquet` then a new manifest, last, listing them and `plan.json` with their SHA-256. The
//! sweep's id is a function of the rentree version and the plan (which holds the experiment's SHA-256), so
//! a local sweep, a resumed one and a Slurm array's merge write the same id and the same bytes.

pub mod calibrate;
pub mod experiment;
pub mod optimize;
pub mod select;
pub mod sensitivity;
pub mod size;
pub mod slurm;
pub mod stability;

use crate::error::{Error, Result};
use crate::metrics::ci::Estimate;
use crate::metrics::{Column, Field, MinuteColumn, MinuteRow, Stat, SummaryColumn};
use crate::output;
use crate::world;
use experiment::Experiment;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Timeseries columns aggregated per configuration and minute (mean and 95% band over replications).
pub const TIMESERIES_METRICS: &[MinuteColumn] = &[
    MinuteColumn::users_arrived,
    MinuteColumn::attempts,
    MinuteColumn::goodput,
    MinuteColumn::logins_ok,
    MinuteColumn::logins_rejected,
    MinuteColumn::logins_failed,
    MinuteColumn::timeouts,
    MinuteColumn::active_sessions,
    MinuteColumn::waiting_room_len,
    MinuteColumn::mean_orbit,
    MinuteColumn::retry_amplification,
    MinuteColumn::goodput_share,
    MinuteColumn::utilization,
    MinuteColumn::mean_queue_len,
    MinuteColumn::p95_latency_s,
    MinuteColumn::wasted_work_s,
    MinuteColumn::servers_ready,
    MinuteColumn::server_hours,
    // What a pool's monitoring sees, which a calibration's series compare with (appended: the columns
    // above keep their places).
    MinuteColumn::arrivals,
    MinuteColumn::served,
    MinuteColumn::refused,
    MinuteColumn::mean_wait_s,
    MinuteColumn::p95_wait_s,
];

/// One finished run, as written to its part file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Configuration index.
    pub config: usize,
    /// Replication index within the configuration.
    pub replication: u64,
    /// Seed of the run's streams.
    pub seed: u64,
    /// Replication index of the run's streams (equal to `replication` with common random numbers).
    pub stream_replication: u64,
    /// The whole-system summary row, numeric columns by name (NaN stored as null).
    pub summary: NumericRow,
    /// Per pool and minute, the values of [`TIMESERIES_METRICS`].
    pub timeseries: Vec<(String, u64, Vec<f64>)>,
    /// Per platform, its summary row (every cohort), numeric columns by name: what a calibration's targets
    /// on one platform read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<(String, NumericRow)>,
}

/// A summary row's numeric columns by name (NaN stored as `None`).
pub type NumericRow = Vec<(String, Option<f64>)>;

/// The numeric columns of summary row `row`.
fn numeric_fields(row: &crate::metrics::Summary) -> NumericRow {
    row.fields()
        .into_iter()
        .filter_map(|(n, v)| match v {
            Field::U64(x) => Some((n.to_owned(), Some(x as f64))),
            Field::F64(x) => Some((n.to_owned(), x.is_finite().then_some(x))),
            Field::Str(_) => None,
        })
        .collect()
}

impl RunRecord {
    fn new(config: usize, replication: u64, seed: u64, stream_replication: u64, report: &world::RunReport) -> RunRecord {
        let summary = numeric_fields(&report.summary);
        let platforms = report
            .rows
            .iter()
            .filter(|s| s.cohort == "all" && s.platform != "all")
            .map(|s| (s.platform.clone(), numeric_fields(s)))
            .collect();
        let timeseries = report
            .timeseries
            .iter()
            .map(|m: &MinuteRow| {
                let values = TIMESERIES_METRICS.iter().map(|&c| m.value(c).unwrap_or(f64::NAN)).collect();
                (m.platform.clone(), m.minute, values)
            })
            .collect();
        RunRecord { config, replication, seed, stream_replication, summary, timeseries, platforms }
    }

    /// A summary metric (`None` where it is undefined, e.g. a mean of nothing).
    pub fn metric(&self, column: SummaryColumn) -> Option<f64> {
        self.summary.iter().find(|(n, _)| n == column.name()).and_then(|(_, v)| *v)
    }

    /// A summary metric of one platform's row, or of the whole system's for `"all"`.
    pub fn platform_metric(&self, platform: &str, column: SummaryColumn) -> Option<f64> {
        if platform == "all" {
            return self.metric(column);
        }
        let (_, row) = self.platforms.iter().find(|(p, _)| p == platform)?;
        row.iter().find(|(n, _)| n == column.name()).and_then(|(_, v)| *v)
    }
}

/// What a sweep will run, saved beside its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Experiment name.
    pub experiment: String,
    /// SHA-256 of the experiment file's text.
    pub experiment_sha256: String,
    /// Parameter column names.
    pub param_names: Vec<String>,
    /// Per configuration: label, parameter values, replications planned.
    pub configs: Vec<PlanConfig>,
    /// Population and capacity scale of every run (`experiment.scale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// The largest faithful scale of the configurations' scenarios (`scenario.faithful_scale`; absent when
    /// none states one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faithful_scale: Option<f64>,
    /// Seconds after midnight of every run's t = 0 (`scenario.clock_start`), when the configurations share
    /// it: the briefing draws the sweep's minutes as times of day. Absent when they differ, and in plans
    /// written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_start_s: Option<f64>,
}

/// One configuration of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanConfig {
    /// Index.
    pub index: usize,
    /// Label.
    pub label: String,
    /// Parameter values as text, in `param_names` order.
    pub params: Vec<String>,
    /// Replications planned.
    pub replications: u64,
}

/// Parses `--until-ci METRIC=HALFWIDTH` (e.g. `served_share_by_0900=0.005`).
pub fn parse_until_ci(text: &str) -> Result<(SummaryColumn, f64)> {
    let err = |expected: String| Error::Argument { flag: "--until-ci".into(), found: text.into(), expected };
    let usage = || "METRIC=HALFWIDTH with a half-width > 0, e.g. served_share_by_0900=0.005".to_owned();
    let (m, v) = text.split_once('=').ok_or_else(|| err(usage()))?;
    let metric = crate::metrics::columns::parse_metric::<SummaryColumn>(m).map_err(|e| err(format!("{}: {}", usage(), e.expected())))?;
    let v: f64 = v.trim().parse().map_err(|_| err(usage()))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(err(usage()));
    }
    Ok((metric, v))
}

/// Options of `rentree sweep`.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads.
    pub jobs: usize,
    /// Skip runs already written.
    pub resume: bool,
    /// Run only the runs with `index % n == i` (Slurm array task `i` of `n`); no tables are built.
    pub shard: Option<(usize, usize)>,
    /// Add replications until this metric's 95% half-width is below the bound in every configuration.
    pub until_ci: Option<(SummaryColumn, f64)>,
    /// Replication cap for `until_ci`.
    pub max_replications: u64,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
    /// The budget of one run (its share of the machine when `jobs` run at once).
    pub budget: world::budget::Budget,
    /// The experiment is crossed with a calibration's posterior draws ([`Experiment::over_draws`]).
    pub posterior: Option<PosteriorSweep>,
}

/// A sweep over a calibration's posterior (`rentree sweep --posterior DIR --draws N`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PosteriorSweep {
    /// The calibration's results folder.
    pub calibration: String,
    /// Its run id.
    pub calibration_run_id: String,
    /// Draws per configuration.
    pub draws: usize,
    /// The experiment's own configurations' labels: configuration `c` at draw `d` is `c × draws + d`.
    pub configurations: Vec<String>,
}

/// The table of a sweep over a posterior: per configuration and summary metric, the credible interval over
/// the draws and the simulation's own noise.
pub const CREDIBLE_TABLE: &str = "credible.parquet";

/// Per configuration of the experiment and summary metric: the mean over every run, the 5% and 95%
/// quantiles of the draws' means (the 90% credible interval over the calibrated unknowns), and the pooled
/// standard deviation of a single run within a draw (the simulation's own noise; NaN with one replication).
fn credible_rows(p: &PosteriorSweep, records: &[Vec<RunRecord>]) -> Rows {
    let mut rows = Vec::new();
    for (c, label) in p.configurations.iter().enumerate() {
        let by_draw = &records[c * p.draws..(c + 1) * p.draws];
        for m in SummaryColumn::metrics() {
            let values: Vec<Vec<f64>> =
                by_draw.iter().map(|recs| recs.iter().filter_map(|r| r.metric(m)).filter(|x| x.is_finite()).collect()).collect();
            let means: Vec<(f64, f64)> =
                values.iter().filter(|v| !v.is_empty()).map(|v| (v.iter().sum::<f64>() / v.len() as f64, 1.0)).collect();
            let all: Vec<f64> = values.iter().flatten().copied().collect();
            let (mut ss, mut dof) = (0.0, 0usize);
            for v in values.iter().filter(|v| v.len() > 1) {
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                ss += v.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
                dof += v.len() - 1;
            }
            rows.push(vec![
                ("config".into(), Field::U64(c as u64)),
                ("label".into(), Field::Str(label.clone())),
                ("metric".into(), Field::Str(m.name().into())),
                ("draws".into(), Field::U64(means.len() as u64)),
                ("mean".into(), Field::F64(if all.is_empty() { f64::NAN } else { all.iter().sum::<f64>() / all.len() as f64 })),
                ("credible_lo".into(), Field::F64(crate::decide::abc::weighted_quantile(means.clone(), 0.05))),
                ("credible_hi".into(), Field::F64(crate::decide::abc::weighted_quantile(means, 0.95))),
                ("noise_sd".into(), Field::F64(if dof > 0 { (ss / dof as f64).sqrt() } else { f64::NAN })),
            ]);
        }
    }
    rows
}

/// What a sweep did.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// Runs executed by this invocation.
    pub executed: u64,
    /// Runs found already finished and skipped.
    pub skipped: u64,
    /// Wall seconds.
    pub wall_s: f64,
    /// For `until_ci`: per configuration, (replications, half-width reached).
    pub precision: Vec<(u64, f64)>,
    /// Files written (tables, then `manifest.json`), empty for a shard.
    pub files: Vec<PathBuf>,
    /// Temporary files of an interrupted sweep removed by `--resume`.
    pub stale_temps_removed: usize,
}

/// The tables a sweep's merge writes, every time.
pub const SWEEP_TABLES: &[&str] = &["runs.parquet", "configs.parquet", "configs.csv", "timeseries.parquet"];

/// What a sweep folder's `manifest.json` records.
#[derive(Debug, Clone, Serialize)]
pub struct SweepManifest {
    /// Version of rentree that wrote the tables.
    pub rentree_version: String,
    /// The sweep's id (see [`output::run_id`]): version and plan; also in each Parquet table's footer.
    pub run_id: String,
    /// Experiment name.
    pub experiment: String,
    /// SHA-256 of the experiment file's text.
    pub experiment_sha256: String,
    /// Number of configurations.
    pub configurations: usize,
    /// Runs in the tables (configurations × their replications).
    pub runs: u64,
    /// Population and capacity scale of the runs.
    pub scale: Option<f64>,
    /// The smallest scale measured to agree with full scale for the study's scenarios (see [`Plan`]).
    pub faithful_scale: Option<f64>,
    /// Why figures at this scale are not for a decision; absent when the scale is faithful.
    pub scale_warning: Option<String>,
    /// How the sweep ran, when `rentree sweep` built the tables (absent after `--merge`).
    #[serde(flatten)]
    pub invocation: Option<SweepInvocation>,
    /// The selection made on these runs, when `rentree select` built the tables (`selection.parquet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<select::SelectionNote>,
    /// The sensitivity analysis made on these runs, when `rentree sensitivity` built the tables
    /// (`sensitivity.parquet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<sensitivity::SensitivityNote>,
    /// The optimisation made on these runs, when `rentree optimize` built the tables
    /// (`optimization.parquet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimization: Option<optimize::OptimizationNote>,
    /// The stability study made on these runs, when `rentree stability` built the tables
    /// (`stability.parquet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stability: Option<stability::StabilityNote>,
    /// The calibration whose posterior draws the runs were made at (`sweep --posterior`; `credible.parquet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posterior: Option<PosteriorSweep>,
    /// The tables and `plan.json`, with their SHA-256.
    pub files: Vec<output::FileEntry>,
}

/// What a shard of a sweep leaves in the results folder (`manifest-shard-I-of-N.json`): what it ran. It builds
/// no tables; the merge writes the folder's `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ShardNote {
    /// Version of rentree that ran the shard.
    pub rentree_version: String,
    /// Experiment name.
    pub experiment: String,
    /// The experiment file as given.
    pub experiment_file: String,
    /// Configurations of the whole experiment.
    pub configurations: usize,
    /// Runs this shard executed.
    pub runs_executed: u64,
    /// Runs already finished, skipped.
    pub runs_skipped: u64,
    /// Worker threads.
    pub jobs: usize,
    /// The shard, `I/N`.
    pub shard: Option<String>,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Runs executed per minute of wall clock.
    pub runs_per_min: f64,
    /// Part files written.
    pub files: Vec<String>,
}

/// How a sweep ran: what its manifest adds when the tables were built by the sweep itself.
#[derive(Debug, Clone, Serialize)]
pub struct SweepInvocation {
    /// The experiment file as given.
    pub experiment_file: String,
    /// Runs executed by this invocation.
    pub runs_executed: u64,
    /// Runs found already finished and skipped.
    pub runs_skipped: u64,
    /// Worker threads.
    pub jobs: usize,
    /// Wall seconds of the runs.
    pub wall_s: f64,
    /// Runs executed per wall minute.
    pub runs_per_min: f64,
}

impl SweepInvocation {
    /// The invocation of a sweep (or a procedure) on `experiment_file` that started at `started`.
    fn since(experiment_file: &Path, executed: u64, skipped: u64, jobs: usize, started: std::time::Instant) -> SweepInvocation {
        let wall_s = started.elapsed().as_secs_f64();
        SweepInvocation {
            experiment_file: experiment_file.display().to_string(),
            runs_executed: executed,
            runs_skipped: skipped,
            jobs,
            wall_s,
            runs_per_min: executed as f64 / wall_s.max(1e-9) * 60.0,
        }
    }
}

/// Runs a procedure's batch: raises each configuration's replications in `reps` to cover it, rewrites the
/// plan (the runs the tables will hold, so far), executes the runs not already written, and returns every
/// run's record in batch order with the runs executed and skipped.
#[allow(clippy::too_many_arguments)]
fn run_batch(
    experiment: &Experiment,
    out: &Path,
    sha: &str,
    reps: &mut [u64],
    batch: &[(usize, u64)],
    (jobs, progress): (usize, bool),
    limits: &[world::Limits],
    cluster: Option<&slurm::StageCluster>,
) -> Result<(Vec<RunRecord>, u64, u64)> {
    for &(c, r) in batch {
        reps[c] = reps[c].max(r + 1);
    }
    output::write_json(&out.join("plan.json"), &plan_of(experiment, sha, reps))?;
    let todo: Vec<(usize, u64)> = batch.iter().copied().filter(|&(c, r)| !run_file(out, c, r).exists()).collect();
    let skipped = (batch.len() - todo.len()) as u64;
    let executed = execute(experiment, out, &todo, jobs, progress, limits, cluster)?;
    let records = batch.iter().map(|&(c, r)| read_json(&run_file(out, c, r))).collect::<Result<Vec<RunRecord>>>()?;
    Ok((records, executed, skipped))
}

fn run_file(out: &Path, config: usize, replication: u64) -> PathBuf {
    out.join("runs").join(format!("c{config:04}-r{replication:04}.json"))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    serde_json::from_str(&text).map_err(|e| Error::Parse { path: path.to_owned(), message: e.to_string() })
}

/// The budget check of every configuration, before any run: a configuration too large for the machine is
/// refused with its index and label, not discovered hours into the sweep.
fn check_budget(experiment: &Experiment, budget: &world::budget::Budget) -> Result<Vec<world::Limits>> {
    experiment
        .configs
        .iter()
        .map(|c| {
            budget.check(&c.scenario).map_err(|message| Error::TooLarge {
                path: experiment.path.clone(),
                message: format!("configuration {} ({}): {message}", c.index, c.label),
            })
        })
        .collect()
}

/// Executes `todo` runs of `experiment`, writing each part file as it completes: on `jobs` threads here,
/// or, with a `cluster`, as one Slurm job array waited for (see [`slurm::run_stage`]).
fn execute(
    experiment: &Experiment,
    out: &Path,
    todo: &[(usize, u64)],
    jobs: usize,
    progress: bool,
    limits: &[world::Limits],
    cluster: Option<&slurm::StageCluster>,
) -> Result<u64> {
    if todo.is_empty() {
        return Ok(0);
    }
    if let Some(cluster) = cluster {
        return slurm::run_stage(experiment, out, todo, cluster);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| Error::Write { path: out.to_owned(), message: format!("cannot start {jobs} worker threads: {e}") })?;
    let bar = if progress {
        let b = indicatif::ProgressBar::new(todo.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {per_sec}  ETA {eta}").expect("static progress template"),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let done = AtomicU64::new(0);
    let result: Result<()> = pool.install(|| {
        todo.par_iter().try_for_each(|&(c, r)| {
            let (seed, stream_rep) = experiment.stream_of(c, r);
            let config = &experiment.configs[c];
            run_one(&experiment.path, out, &config.scenario, &config.label, (c, r), (seed, stream_rep), &limits[c])?;
            done.fetch_add(1, Ordering::Relaxed);
            bar.inc(1);
            Ok(())
        })
    });
    bar.finish_and_clear();
    result?;
    Ok(done.load(Ordering::Relaxed))
}

/// Runs replication `r` of configuration `c` on streams `(seed, stream)` and writes its part file: the one
/// place a part file is made, here or in a Slurm task, so both write the same bytes.
fn run_one(
    experiment_path: &Path,
    out: &Path,
    scenario: &crate::scenario::Scenario,
    label: &str,
    (c, r): (usize, u64),
    (seed, stream): (u64, u64),
    limits: &world::Limits,
) -> Result<()> {
    let report = world::run_with(scenario, seed, stream, limits)
        .map_err(|e| e.into_error(experiment_path.to_owned(), &format!("configuration {c} ({label}), replication {r}: ")))?;
    output::write_json(&run_file(out, c, r), &RunRecord::new(c, r, seed, stream, &report))
}

fn plan_of(experiment: &Experiment, text_sha: &str, reps: &[u64]) -> Plan {
    Plan {
        experiment: experiment.raw.experiment.name.clone(),
        experiment_sha256: text_sha.to_owned(),
        param_names: experiment.param_names.clone(),
        scale: Some(experiment.raw.experiment.scale),
        faithful_scale: experiment.configs.iter().filter_map(|c| c.scenario.faithful_scale).max_by(f64::total_cmp),
        clock_start_s: experiment
            .configs
            .first()
            .map(|c| c.scenario.clock_start_s)
            .filter(|&first| experiment.configs.iter().all(|c| c.scenario.clock_start_s == first)),
        configs: experiment
            .configs
            .iter()
            .map(|c| PlanConfig {
                index: c.index,
                label: c.label.clone(),
                params: c.params.iter().map(|(_, v)| v.clone()).collect(),
                replications: reps[c.index],
            })
            .collect(),
    }
}

/// What a sweep (or a procedure driving one) knows once its folder is ready for runs.
struct Prepared {
    /// The run budget of each configuration.
    limits: Vec<world::Limits>,
    /// SHA-256 of the experiment file's text.
    sha: String,
    /// Temporary files of an interrupted sweep removed.
    stale_temps_removed: usize,
}

/// Checks every configuration's budget and readies `out` for the runs of `experiment`: refuses a folder
/// of another experiment, or (unless `resume` or a shard) one that already holds runs, clears an interrupted
/// sweep's temporary files, and withdraws the manifest before the plan is rewritten.
///
/// `design` names a design other than the file's own (a sensitivity analysis's): it is hashed with the file's
/// text, so that a folder's runs are never those of another design of the same file.
fn prepare(
    experiment: &Experiment,
    out: &Path,
    resume: bool,
    shard: bool,
    budget: &world::budget::Budget,
    design: &str,
) -> Result<Prepared> {
    let limits = check_budget(experiment, budget)?;
    output::ensure_dir(&out.join("runs"))?;
    let text = std::fs::read(&experiment.path).map_err(|source| Error::Read { path: experiment.path.clone(), source })?;
    let sha =
        if design.is_empty() { output::sha256_hex(&text) } else { output::sha256_hex(&[text.as_slice(), design.as_bytes()].concat()) };
    // A results folder belongs to one experiment: mixing two would build tables from foreign runs.
    let plan_path = out.join("plan.json");
    if plan_path.exists() {
        let old: Plan = read_json(&plan_path)?;
        if old.experiment_sha256 != sha {
            return Err(Error::Write {
                path: out.to_owned(),
                message: format!("holds results of another experiment (\"{}\"): use another --out", old.experiment),
            });
        }
        if !resume && !shard {
            return Err(Error::Write {
                path: out.to_owned(),
                message: "already holds runs of this experiment: pass --resume to continue it, or use another --out".into(),
            });
        }
    }
    // Another shard may be writing into the folder right now, and its temporary files look stale.
    let stale_temps_removed =
        if resume && !shard { output::remove_stale_temps(&out.join("runs"))? + output::remove_stale_temps(out)? } else { 0 };
    // The plan is about to be rewritten: the old manifest no longer vouches for this folder.
    output::begin_results(out, SWEEP_TABLES, &[])?;
    Ok(Prepared { limits, sha, stale_temps_removed })
}

/// Runs a sweep.
pub fn sweep(experiment: &Experiment, options: &SweepOptions) -> Result<SweepOutcome> {
    let started = std::time::Instant::now();
    if experiment.problem.is_some() {
        return Err(Error::Invalid {
            path: experiment.path.clone(),
            field: "experiment.design".into(),
            found: "\"optimize\"".into(),
            expected: "a design with configurations to sweep (grid, zip, strategies, lhs): run an optimisation with `rentree optimize`"
                .into(),
        });
    }
    let out = &options.out;
    // Over a posterior, the calibration and the number of draws are part of the plan: a resumed sweep never
    // mixes runs of two posteriors.
    let describe = options.posterior.as_ref().map_or(String::new(), |p| format!("posterior={} draws={}", p.calibration_run_id, p.draws));
    let Prepared { limits, sha, stale_temps_removed } =
        prepare(experiment, out, options.resume, options.shard.is_some(), &options.budget, &describe)?;
    let plan_path = out.join("plan.json");
    let mut reps = vec![experiment.replications(); experiment.configs.len()];
    let (mut executed, mut skipped) = (0, 0);
    let mut precision = Vec::new();
    loop {
        output::write_json(&plan_path, &plan_of(experiment, &sha, &reps))?;
        let all: Vec<(usize, u64)> = (0..experiment.configs.len()).flat_map(|c| (0..reps[c]).map(move |r| (c, r))).collect();
        let mine: Vec<(usize, u64)> = match options.shard {
            Some((i, n)) => all.iter().copied().enumerate().filter(|(k, _)| k % n == i).map(|(_, x)| x).collect(),
            None => all,
        };
        let todo: Vec<(usize, u64)> = mine.iter().copied().filter(|&(c, r)| !run_file(out, c, r).exists()).collect();
        skipped += (mine.len() - todo.len()) as u64;
        executed += execute(experiment, out, &todo, options.jobs, options.progress, &limits, None)?;
        let Some((metric, bound)) = &options.until_ci else {
            break;
        };
        // Precision on demand: double the replications of every configuration still too wide.
        let plan: Plan = read_json(&plan_path)?;
        let records = load_records(out, &plan)?;
        let mut more = false;
        precision.clear();
        for (c, recs) in records.iter().enumerate() {
            // A metric undefined in some run (a mean of nothing) has no interval to narrow.
            let values: Vec<f64> = recs.iter().filter_map(|r| r.metric(*metric)).collect();
            if values.len() != recs.len() {
                return Err(Error::Invalid {
                    path: experiment.path.clone(),
                    field: "--until-ci".into(),
                    found: format!("{metric}, undefined in {} of {} runs", recs.len() - values.len(), recs.len()),
                    expected: "a summary column defined in every run (e.g. served_share_by_0900)".into(),
                });
            }
            let hw = Estimate::new(&values, 0.95).half_width;
            precision.push((reps[c], hw));
            if hw > *bound && reps[c] < options.max_replications {
                reps[c] = (reps[c] * 2).min(options.max_replications);
                more = true;
            }
        }
        if !more {
            break;
        }
    }
    let files = if options.shard.is_some() {
        Vec::new()
    } else {
        let addition = match &options.posterior {
            Some(p) => {
                let plan: Plan = read_json(&plan_path)?;
                let records = load_records(out, &plan)?;
                Some(Addition {
                    name: CREDIBLE_TABLE,
                    rows: credible_rows(p, &records),
                    note: Note::Posterior(p.clone()),
                    more: Vec::new(),
                })
            }
            None => None,
        };
        merge_with(out, Some(SweepInvocation::since(&experiment.path, executed, skipped, options.jobs, started)), addition)?
    };
    Ok(SweepOutcome { executed, skipped, wall_s: started.elapsed().as_secs_f64(), precision, files, stale_temps_removed })
}

/// Reads every planned run, per configuration in replication order; a missing run is an error.
pub fn load_records(out: &Path, plan: &Plan) -> Result<Vec<Vec<RunRecord>>> {
    let mut missing = Vec::new();
    let mut all = Vec::new();
    for c in &plan.configs {
        let mut recs = Vec::new();
        for r in 0..c.replications {
            let p = run_file(out, c.index, r);
            if p.exists() {
                recs.push(read_json::<RunRecord>(&p)?);
            } else {
                missing.push(p);
            }
        }
        all.push(recs);
    }
    if !missing.is_empty() {
        return Err(Error::Write {
            path: out.to_owned(),
            message: format!(
                "{} planned run(s) missing (first: {}): run the remaining shards, or the sweep with --resume",
                missing.len(),
                missing[0].display()
            ),
        });
    }
    Ok(all)
}

/// Builds `runs`, `configs` and `timeseries` tables (Parquet, and `configs.csv`) from the part files in
/// `out`, then its `manifest.json`; returns the paths written, the manifest last.
pub fn merge(out: &Path) -> Result<Vec<PathBuf>> {
    merge_with(out, None, None)
}

/// A table's rows, each a list of (column, value).
type Rows = Vec<Vec<(String, Field)>>;

/// A table, and its note in the manifest, that a procedure driving a sweep (a selection) adds to the
/// folder's tables.
struct Addition {
    /// File name (`….parquet`).
    name: &'static str,
    rows: Rows,
    note: Note,
    /// Further tables of the procedure (a stability study's per-run recoveries), by file name.
    more: Vec<(&'static str, Rows)>,
}

/// The manifest's note of a procedure driving a sweep.
enum Note {
    Selection(select::SelectionNote),
    Sensitivity(sensitivity::SensitivityNote),
    Optimization(optimize::OptimizationNote),
    Stability(stability::StabilityNote),
    Posterior(PosteriorSweep),
}

fn merge_with(out: &Path, invocation: Option<SweepInvocation>, addition: Option<Addition>) -> Result<Vec<PathBuf>> {
    let plan: Plan = read_json(&out.join("plan.json"))?;
    let records = load_records(out, &plan)?;
    let plan_json = serde_json::to_string(&plan).map_err(|e| Error::Write { path: out.join("plan.json"), message: e.to_string() })?;
    let run_id = output::run_id("sweep", &[("rentree_version", env!("CARGO_PKG_VERSION").to_owned()), ("plan", plan_json)]);
    let metrics: Vec<SummaryColumn> = SummaryColumn::metrics().collect();
    let head = |c: &PlanConfig| {
        let mut row: Vec<(String, Field)> =
            vec![("config".into(), Field::U64(c.index as u64)), ("label".into(), Field::Str(c.label.clone()))];
        for (n, v) in plan.param_names.iter().zip(&c.params) {
            row.push((n.clone(), Field::Str(v.clone())));
        }
        row
    };
    let mut runs = Vec::new();
    let mut configs = Vec::new();
    let mut series = Vec::new();
    for (c, recs) in plan.configs.iter().zip(&records) {
        for rec in recs {
            let mut row = head(c);
            row.push(("replication".into(), Field::U64(rec.replication)));
            row.push(("seed".into(), Field::U64(rec.seed)));
            for &m in &metrics {
                row.push((m.name().into(), Field::F64(rec.metric(m).unwrap_or(f64::NAN))));
            }
            runs.push(row);
        }
        let mut row = head(c);
        row.push(("replications".into(), Field::U64(recs.len() as u64)));
        for &m in &metrics {
            let values: Vec<f64> = recs.iter().map(|r| r.metric(m).unwrap_or(f64::NAN)).collect();
            let e = Estimate::new(&values, 0.95);
            row.push((Stat::Mean.of(m), Field::F64(e.mean)));
            row.push((Stat::Std.of(m), Field::F64(e.std_dev)));
            row.push((Stat::Hw95.of(m), Field::F64(e.half_width)));
        }
        configs.push(row);
        // Minutes line up across replications of a configuration: same pools, same horizon.
        if let Some(first) = recs.first() {
            for (k, (platform, minute, _)) in first.timeseries.iter().enumerate() {
                let mut row = head(c);
                row.push(("platform".into(), Field::Str(platform.clone())));
                row.push(("minute".into(), Field::U64(*minute)));
                for (j, &m) in TIMESERIES_METRICS.iter().enumerate() {
                    // A part file written before a metric was kept has no value for it (a resumed old sweep).
                    let values: Vec<f64> =
                        recs.iter().map(|r| r.timeseries.get(k).and_then(|t| t.2.get(j).copied()).unwrap_or(f64::NAN)).collect();
                    let e = Estimate::new(&values, 0.95);
                    row.push((Stat::Mean.of(m), Field::F64(e.mean)));
                    row.push((Stat::Lo.of(m), Field::F64(e.lo())));
                    row.push((Stat::Hi.of(m), Field::F64(e.hi())));
                }
                series.push(row);
            }
        }
    }
    let mut frames = Vec::new();
    let mut tables: Vec<&str> = SWEEP_TABLES.to_vec();
    let (mut selection, mut sensitivity, mut optimization, mut stability, mut posterior) = (None, None, None, None, None);
    let mut named = vec![("runs.parquet", runs), ("configs.parquet", configs), ("timeseries.parquet", series)];
    if let Some(a) = addition {
        named.push((a.name, a.rows));
        tables.push(a.name);
        for (name, rows) in a.more {
            named.push((name, rows));
            tables.push(name);
        }
        match a.note {
            Note::Selection(n) => selection = Some(n),
            Note::Sensitivity(n) => sensitivity = Some(n),
            Note::Optimization(n) => optimization = Some(n),
            Note::Stability(n) => stability = Some(n),
            Note::Posterior(n) => posterior = Some(n),
        }
    }
    for (name, rows) in named {
        frames.push((name, output::frame(&rows).map_err(|e| Error::Write { path: out.to_owned(), message: e.to_string() })?));
    }
    output::begin_results(out, &tables, &[])?;
    let mut files = Vec::new();
    for (name, mut df) in frames {
        let p = out.join(name);
        output::write_parquet(&p, &mut df, &run_id)?;
        files.push(p);
        if name == "configs.parquet" {
            // The configurations table is small: a CSV beside it is what a study folder commits.
            let p = out.join("configs.csv");
            output::write_csv(&p, &mut df)?;
            files.push(p);
        }
    }
    let mut listed = tables;
    listed.push("plan.json");
    let manifest = SweepManifest {
        rentree_version: env!("CARGO_PKG_VERSION").to_owned(),
        run_id,
        experiment: plan.experiment.clone(),
        experiment_sha256: plan.experiment_sha256.clone(),
        configurations: plan.configs.len(),
        runs: plan.configs.iter().map(|c| c.replications).sum(),
        scale: plan.scale,
        faithful_scale: plan.faithful_scale,
        scale_warning: plan.scale.and_then(|s| crate::scenario::fidelity::classify(s, plan.faithful_scale).warning()),
        invocation,
        selection,
        sensitivity,
        optimization,
        stability,
        posterior,
        files: output::file_entries(out, &listed)?,
    };
    files.push(output::finish_results(out, &manifest)?);
    Ok(files)
}
