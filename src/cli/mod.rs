//! The command line: clap definitions and the commands they call. The only module that sees argv.
//!
//! This file holds the definitions, what the commands share (loading a scenario, a run's budget) and the
//! short commands; a command of more than a screen has a file of its own (`run.rs`, `sweep.rs` with
//! `slurm`, `select.rs`, `optimize.rs`, `sensitivity.rs`, `stability.rs`, `size.rs`).
//!
//! What a command prints besides its errors (its findings, the files it wrote, its warnings) goes through
//! `say!` and `tell!`, which a host program silences with [`set_quiet`]: the Python package returns
//! the same findings as objects, and warnings as Python warnings.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by [`set_quiet`]: the commands print nothing but their errors.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Silences what the commands print besides their errors (for the whole process), or lets them print again.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether the commands are silenced ([`set_quiet`]).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// `println!`, unless the commands are silenced.
macro_rules! say {
    ($($t:tt)*) => {
        if !$crate::cli::quiet() {
            println!($($t)*);
        }
    };
}

/// `print!`, unless the commands are silenced.
macro_rules! say_raw {
    ($($t:tt)*) => {
        if !$crate::cli::quiet() {
            print!($($t)*);
        }
    };
}

/// `eprintln!` (a finding or a warning on stderr), unless the commands are silenced.
macro_rules! tell {
    ($($t:tt)*) => {
        if !$crate::cli::quiet() {
            eprintln!($($t)*);
        }
    };
}

mod calibrate;
mod optimize;
mod run;
mod schema;
mod select;
mod sensitivity;
mod size;
mod stability;
mod sweep;

pub use run::{run_kept, Kept};

use crate::output::{self, Format};
use crate::scenario::{Scenario, Source};
use crate::sweep::experiment::Experiment;
use crate::world::budget::{Budget, Rows};
use crate::{verify, world};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

/// rentree: see a national school platform's first morning before it happens.
#[derive(Debug, Parser)]
#[command(name = "rentree", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a scenario and write summary, timeseries and manifest files.
    Run(RunArgs),
    /// Write a commented starting scenario for one platform (two cohorts, a pool, a session quota, two
    /// variants) that runs as written: `rentree init desk` writes `desk.toml`.
    Init {
        /// The platform's name (ASCII letters, digits, '_' or '-').
        #[arg(value_name = "PLATFORM_NAME")]
        platform: String,
        /// The file to write (default: PLATFORM_NAME.toml in the current folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Parse and check a scenario file, explaining every problem.
    Validate {
        /// The file to check.
        file: PathBuf,
    },
    /// Run every configuration × replication of an experiment in parallel and write runs, configs and
    /// timeseries tables; or, with --merge DIR, build the tables from a sharded sweep's part files.
    Sweep(SweepArgs),
    /// Write an sbatch job-array script that runs an experiment's sweep as N shards, then merges them.
    Slurm(SlurmArgs),
    /// The best configuration of an experiment on one metric, with a stated probability of being right
    /// (Kim and Nelson's fully sequential selection on common random numbers).
    Select(SelectArgs),
    /// The cheapest configuration of an experiment's [optimize] knobs that meets its constraints with a
    /// stated confidence (COMPASS with a penalty function with memory, then a clean-up), and the frontier of
    /// cost against service.
    Optimize(OptimizeArgs),
    /// Which uncertain inputs (an experiment's [lhs] ranges) drive a metric: Morris screening or Sobol indices.
    Sensitivity(SensitivityArgs),
    /// Learn a scenario's unknown parameters from observations (per-minute series, reported figures) by
    /// ABC-SMC: their posterior, the calibrated scenario and the posterior-predictive band of every
    /// observation.
    Calibrate(CalibrateArgs),
    /// Whether each configuration comes back by itself after a trigger (an experiment's [stability]):
    /// recovery times against baseline twins, and a class per configuration (stable, vulnerable, metastable).
    Stability(StabilityArgs),
    /// The smallest value of a knob that meets a target with 95% confidence.
    Size(SizeArgs),
    /// Run task I of N of a procedure's stage (what `--slurm` submits as a job array).
    #[command(hide = true)]
    Stage {
        /// The stage's batch file (`OUT/stages/stage-HASH.json`).
        batch: PathBuf,
        /// This task and the array's size, `$SLURM_ARRAY_TASK_ID/N`.
        #[arg(long)]
        task: String,
        /// Worker threads (default: the task's CPUs, `SLURM_CPUS_PER_TASK`, or 1).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
    },
    /// Print the JSON Schema of scenario or experiment files (generated from the types that read them), for
    /// editors; or, with --markdown, the reference of every field generated from it.
    Schema {
        /// Which files.
        #[arg(value_enum, default_value = "scenario")]
        kind: schema::SchemaKind,
        /// The Markdown reference of both kinds of file (docs/scenario-reference.md) instead of the schema.
        #[arg(long)]
        markdown: bool,
    },
    /// Write the briefing page of a run or a sweep (and its charts as PNG/SVG for slides).
    Report(ReportArgs),
    /// Run the textbook queues against queueing theory and print the table (exit 1 if any check fails).
    Verify {
        /// Master seed.
        #[arg(long, default_value_t = 20210406)]
        seed: u64,
        /// Independent replications per model.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..=10_000), allow_negative_numbers = true)]
        replications: u64,
    },
}

/// Where a command's scenario comes from: a file or the built-in replay, a variant, overrides and a scale,
/// resolved into one `scenario::Source` by [`ScenarioArgs::source`].
#[derive(Debug, clap::Args)]
pub struct ScenarioArgs {
    /// Scenario file (TOML); without one, the built-in 6 April 2021 replay.
    pub scenario: Option<PathBuf>,
    /// Multiply population and capacity by this factor (e.g. 0.01 for a quick look).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub scale: f64,
    /// Start from a variant the scenario file defines (e.g. `--variant no-attack`; `rentree validate`
    /// lists them).
    #[arg(long, value_name = "NAME")]
    pub variant: Option<String>,
    /// Override a scenario field, e.g. `--set platforms.desk.pool.servers=60` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
}

impl ScenarioArgs {
    /// The scenario these arguments name, not yet built.
    fn source(&self) -> anyhow::Result<Source> {
        Ok(Source::file(self.scenario.as_deref())?.variant(self.variant.as_deref())?.set(&self.overrides)?.scaled(self.scale))
    }
}

/// Arguments of `rentree run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario.
    #[command(flatten)]
    pub source: ScenarioArgs,
    /// Output directory.
    #[arg(long, default_value = "results/run")]
    pub out: PathBuf,
    /// Master seed of the random streams.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub seed: u64,
    /// Table format.
    #[arg(long, value_enum, default_value_t = FormatArg::Parquet)]
    pub format: FormatArg,
    /// Run at the posterior median of a calibration (the `--out` folder of `rentree calibrate`), and say how
    /// much the figures move over the posterior: runs at --draws draws from it, and replications at the
    /// median for the simulation's own noise.
    #[arg(long, value_name = "DIR")]
    pub posterior: Option<PathBuf>,
    /// With --posterior: runs at posterior draws.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(2..=10_000), allow_negative_numbers = true)]
    pub draws: u64,
    /// With --posterior: further replications at the posterior median.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=10_000), allow_negative_numbers = true)]
    pub noise_replications: u64,
    /// Limits of the run's size, checked before it starts.
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// Refuse a run whose minute rows (streamed to --out as it runs) are estimated to take more than this
    /// many MiB of disk (default: the space free there now).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    pub max_disk: Option<u64>,
}

/// The limits a run's estimated size is checked against before it starts (see `crate::world::budget`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BudgetArgs {
    /// Refuse a run estimated to need more memory than this many MiB (default: the memory available now).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    pub max_memory: Option<u64>,
    /// Refuse a run estimated to handle more events than this (default 2e10, about an hour here).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_events: Option<f64>,
    /// Run even when the estimate exceeds the limits.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `rentree sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Experiment file (TOML); omit with --merge.
    #[arg(required_unless_present = "merge")]
    pub experiment: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "results/sweep")]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024), allow_negative_numbers = true)]
    pub jobs: Option<u64>,
    /// Continue an interrupted sweep: skip the runs already written.
    #[arg(long)]
    pub resume: bool,
    /// Run only shard I of N (a Slurm array task): `--shard $SLURM_ARRAY_TASK_ID/N`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Build the tables of a sharded sweep in DIR from its part files.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["experiment", "shard", "resume"])]
    pub merge: Option<PathBuf>,
    /// Add replications until METRIC's 95% CI half-width is at most HALFWIDTH in every configuration.
    #[arg(long, value_name = "METRIC=HALFWIDTH")]
    pub until_ci: Option<String>,
    /// Replication cap for --until-ci.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(2..=100_000), allow_negative_numbers = true)]
    pub max_replications: u64,
    /// Run every configuration at draws from a calibration's posterior (the `--out` folder of `rentree
    /// calibrate`): each configuration at each of --draws draws, its replications on each, and
    /// `credible.parquet` with each figure's 90% credible interval over the calibrated unknowns.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["merge", "shard", "until_ci"])]
    pub posterior: Option<PathBuf>,
    /// With --posterior: draws per configuration (the same draws for every configuration).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(2..=10_000), allow_negative_numbers = true, requires = "posterior")]
    pub draws: u64,
    /// Limits of each run's size, checked before the sweep starts.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Arguments of `rentree slurm`.
#[derive(Debug, clap::Args)]
pub struct SlurmArgs {
    /// Experiment file.
    pub experiment: PathBuf,
    /// Array tasks.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000), allow_negative_numbers = true)]
    pub tasks: u64,
    /// Output directory of the sweep (must be visible from every node).
    #[arg(long, default_value = "results/sweep")]
    pub out: PathBuf,
    /// Where to write the script (default: OUT/sweep.sbatch).
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Extra `#SBATCH` lines, e.g. `--sbatch "--partition=debug"` (repeatable).
    #[arg(long = "sbatch")]
    pub sbatch: Vec<String>,
}

/// Arguments of `rentree select`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("goal").required(true).args(["maximize", "minimize"])))]
pub struct SelectArgs {
    /// Experiment file (TOML): its configurations are the candidates (its replication count is not used:
    /// the procedure decides how many each needs).
    pub experiment: PathBuf,
    /// The summary metric the best is judged on, e.g. served_share_by_0900.
    #[arg(long)]
    pub metric: String,
    /// The best has the largest mean.
    #[arg(long)]
    pub maximize: bool,
    /// The best has the smallest mean.
    #[arg(long)]
    pub minimize: bool,
    /// Indifference zone, in the metric's unit: a lead smaller than this is not worth telling apart.
    #[arg(long, allow_negative_numbers = true)]
    pub delta: f64,
    /// Least probability of selecting the best when it leads by at least --delta.
    #[arg(long, default_value_t = 0.95, allow_negative_numbers = true)]
    pub confidence: f64,
    /// Replications of every configuration before the first screening (n0).
    #[arg(long, default_value_t = 10, allow_negative_numbers = true)]
    pub first_stage: u64,
    /// No configuration gets more replications than this; reaching it ends the selection undecided.
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
    pub max_replications: u64,
    /// A constraint on another metric, METRIC<=THRESHOLD+-TOLERANCE (or >=), e.g. "timeouts<=1000+-50":
    /// only configurations meeting every constraint can be selected. Repeatable.
    #[arg(long, value_name = "CONSTRAINT", allow_hyphen_values = true)]
    pub constraint: Vec<String>,
    /// Output directory.
    #[arg(long, default_value = "results/select")]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024), allow_negative_numbers = true)]
    pub jobs: Option<u64>,
    /// Continue an interrupted selection: skip the runs already written.
    #[arg(long)]
    pub resume: bool,
    /// Where the stages run.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Limits of each run's size, checked before the selection starts.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Arguments of `rentree optimize`.
#[derive(Debug, clap::Args)]
pub struct OptimizeArgs {
    /// Experiment file (TOML) with design = "optimize" and an [optimize] table: knobs, cost, constraints
    /// (its replication count is not used: the procedure decides how many each point needs).
    pub experiment: PathBuf,
    /// Least probability that the answer meets every constraint (to within its tolerance).
    #[arg(long, default_value_t = 0.95, allow_negative_numbers = true)]
    pub confidence: f64,
    /// Replications of each point when the search first visits it (n0).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    pub first_stage: u64,
    /// The most runs the search may spend before the clean-up.
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
    pub max_runs: u64,
    /// The most replications the clean-up gives one candidate.
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
    pub max_replications: u64,
    /// Output directory.
    #[arg(long, default_value = "results/optimize")]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024), allow_negative_numbers = true)]
    pub jobs: Option<u64>,
    /// Continue an interrupted optimisation: skip the runs already written.
    #[arg(long)]
    pub resume: bool,
    /// Where the stages run.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Limits of each run's size, checked at every point before it runs.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Where a procedure's stages run: local threads, or a Slurm job array per stage.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Run each stage as a Slurm job array of at most TASKS tasks, waited for (`sbatch --wait`); the results
    /// folder and the experiment must be visible from every node.
    #[arg(long, value_name = "TASKS", value_parser = clap::value_parser!(u64).range(1..=100_000), allow_negative_numbers = true)]
    pub slurm: Option<u64>,
    /// An extra sbatch flag for the stages' arrays, e.g. --sbatch=--partition=debug (repeatable; with --slurm).
    #[arg(long = "sbatch", requires = "slurm", allow_hyphen_values = true)]
    pub sbatch: Vec<String>,
}

impl ClusterArgs {
    /// The cluster the stages go to, if any: the tasks run this very binary.
    fn cluster(&self) -> anyhow::Result<Option<crate::sweep::slurm::StageCluster>> {
        let Some(tasks) = self.slurm else {
            return Ok(None);
        };
        let bin = std::env::current_exe().map_err(|e| crate::Error::Argument {
            flag: "--slurm".into(),
            found: tasks.to_string(),
            expected: format!("a rentree binary the tasks can run: {e}"),
        })?;
        Ok(Some(crate::sweep::slurm::StageCluster { tasks: tasks as usize, sbatch: self.sbatch.clone(), bin }))
    }
}

/// A sensitivity method.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SensitivityMethod {
    /// Morris elementary effects (μ*, σ): a screening, r·(d + 1) points.
    Morris,
    /// Sobol first-order and total indices with bootstrap intervals: N·(d + 2) points.
    Sobol,
}

/// Arguments of `rentree sensitivity`.
#[derive(Debug, clap::Args)]
pub struct SensitivityArgs {
    /// Experiment file (TOML) with design = "lhs": its [lhs] ranges are the inputs (its samples are not
    /// used: the method draws its own design), its replications are run at every point.
    pub experiment: PathBuf,
    /// The summary metric studied, e.g. served_share_by_0900.
    #[arg(long)]
    pub metric: String,
    /// The method.
    #[arg(long, value_enum)]
    pub method: SensitivityMethod,
    /// Morris: trajectories (r).
    #[arg(long, default_value_t = 10, allow_negative_numbers = true)]
    pub trajectories: usize,
    /// Morris: grid levels (p, even).
    #[arg(long, default_value_t = 4, allow_negative_numbers = true)]
    pub levels: usize,
    /// Sobol: base rows (N).
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    pub samples: usize,
    /// Sobol: bootstrap resamples behind the 95% intervals.
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
    pub bootstrap: usize,
    /// Output directory.
    #[arg(long, default_value = "results/sensitivity")]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024), allow_negative_numbers = true)]
    pub jobs: Option<u64>,
    /// Continue an interrupted analysis: skip the runs already written.
    #[arg(long)]
    pub resume: bool,
    /// Where the stages run.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Limits of each run's size, checked before the analysis starts.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Arguments of `rentree calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// Calibration file (TOML): a [calibration] table, the [parameters] with their priors, and the
    /// observations ([[series]] files and [targets]).
    pub calibration: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "results/calibration")]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024), allow_negative_numbers = true)]
    pub jobs: Option<u64>,
    /// Continue an interrupted calibration: skip the runs already written.
    #[arg(long)]
    pub resume: bool,
    /// Where the generations run.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Limits of each run's size, checked before each run is started.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Arguments of `rentree stability`.
#[derive(Debug, clap::Args)]
pub struct StabilityArgs {
    /// Experiment file (TOML) with a [stability] table: its design's configurations each carry a trigger,
    /// and `stability.baseline` removes it.
    pub experiment: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "results/stability")]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024), allow_negative_numbers = true)]
    pub jobs: Option<u64>,
    /// Continue an interrupted study: skip the runs already written.
    #[arg(long)]
    pub resume: bool,
    /// Where the runs go.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Limits of each run's size, checked before the study starts.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Arguments of `rentree size`.
#[derive(Debug, clap::Args)]
pub struct SizeArgs {
    /// The scenario (its overrides apply at every point).
    #[command(flatten)]
    pub source: ScenarioArgs,
    /// The target, e.g. "served_share_by_0900>=0.95" or "p95_time_to_access_s<=600".
    #[arg(long)]
    pub target: String,
    /// The knob, a dotted path with an integer value, e.g. platforms.pronote.pool.servers.
    #[arg(long)]
    pub knob: String,
    /// Search range LO..HI.
    #[arg(long, default_value = "1..10000")]
    pub range: String,
    /// Replications per point (at least 2: the answer is judged on a confidence interval).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=100_000), allow_negative_numbers = true)]
    pub replications: u64,
    /// Answer from a scale below the scenario's faithful scale anyway (to explore, not to decide).
    #[arg(long)]
    pub allow_biased_scale: bool,
    /// Master seed.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub seed: u64,
    /// Limits of each run's size, checked at every point before it runs.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Arguments of `rentree report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A run's or a sweep's output directory.
    pub results: PathBuf,
    /// Where to write the page and images (default: RESULTS/briefing).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Language of labels, dates and numbers.
    #[arg(long, value_enum, default_value_t = LangArg::Fr)]
    pub lang: LangArg,
    /// Also write each chart as PNG.
    #[arg(long)]
    pub png: bool,
    /// Also write each chart as SVG.
    #[arg(long)]
    pub svg: bool,
    /// Also write the briefing as a one- or two-page A4 PDF (briefing-LANG.pdf): title, headline figures, the
    /// charts that carry the story, the assumptions, date, version and command.
    #[arg(long)]
    pub pdf: bool,
    /// Chromium used to render images and the PDF.
    #[arg(long, default_value = "/usr/bin/chromium")]
    pub chromium: PathBuf,
}

/// `--lang` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LangArg {
    /// Français.
    Fr,
    /// English.
    En,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Parquet files.
    Parquet,
    /// CSV files.
    Csv,
    /// Parquet and CSV.
    Both,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Parquet => Format::Parquet,
            FormatArg::Csv => Format::Csv,
            FormatArg::Both => Format::Both,
        }
    }
}

/// What a command asks the process to exit with, besides errors (which exit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything as expected.
    Success,
    /// The command ran but its checks failed (verify).
    ChecksFailed,
}

/// Loads the scenario file `path`, starting from `variant` if given.
fn load(path: &Path, variant: Option<&str>) -> anyhow::Result<Scenario> {
    Ok(Source::file(Some(path))?.variant(variant)?.scenario()?)
}

/// `--jobs`, or every core when it is not given.
fn jobs_of(jobs: Option<u64>) -> usize {
    jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |j| j as usize)
}

/// The budget of one run out of `jobs` running at once: `--max-memory` or the memory available now,
/// shared between the jobs; `--max-events` or the default.
fn budget_of(args: &BudgetArgs, jobs: usize) -> anyhow::Result<Budget> {
    budget_with_rows(args, jobs, (Rows::Memory, None))
}

/// [`budget_of`] with the minute rows going to `rows` (a run's stream to its results folder).
fn budget_with_rows(args: &BudgetArgs, jobs: usize, rows: (Rows, Option<f64>)) -> anyhow::Result<Budget> {
    const MIB: f64 = 1024.0 * 1024.0;
    let memory_bytes = match args.max_memory {
        Some(mib) => mib as f64 * MIB,
        // Leave a tenth for the rest of the machine; where the memory cannot be read, assume 4 GiB.
        None => output::memory_available_bytes().map_or(4096.0 * MIB, |b| 0.9 * b) / jobs.max(1) as f64,
    };
    let events = match args.max_events {
        None => Budget::DEFAULT_EVENTS,
        Some(n) if n.is_finite() && n >= 1.0 => n,
        Some(n) => {
            return Err(
                crate::Error::Argument { flag: "--max-events".into(), found: n.to_string(), expected: "a number >= 1".into() }.into()
            )
        }
    };
    Ok(Budget { memory_bytes, events, force: args.force, rows })
}

/// The command line `args` (the program's name first, as `std::env::args_os` gives it) run to the end: its
/// messages printed (errors on stderr, with their causes), and the process's exit code returned: 0 success,
/// 1 a command's checks failed (`verify`), 2 bad input or I/O, and clap's own codes for usage errors, help
/// and version. The `rentree` binary and the Python package's `rentree` command are this function.
pub fn main<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match parse(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with code 0; usage errors to stderr with code 2.
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    match execute(cli) {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::ChecksFailed) => 1,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            2
        }
    }
}

/// Parses `args` (the program's name first) as the command line, without exiting on an error.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args)
}

/// An error's message as the command line prints it after "error: ": the error, then each cause on a line of
/// its own.
pub fn message(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        text.push_str(&format!("\n  caused by: {cause}"));
    }
    text
}

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Report(args) => {
            use crate::report::{labels::Lang, report, ReportOptions};
            let options = ReportOptions {
                out: args.out.clone().unwrap_or_else(|| args.results.join("briefing")),
                lang: match args.lang {
                    LangArg::Fr => Lang::Fr,
                    LangArg::En => Lang::En,
                },
                png: args.png,
                svg: args.svg,
                pdf: args.pdf,
                chromium: args.chromium.clone(),
            };
            let outcome = report(&args.results, &options)?;
            for s in &outcome.sentences {
                tell!("{s}");
            }
            say!("{}", outcome.page.display());
            for i in outcome.images {
                say!("{}", i.display());
            }
            Ok(Outcome::Success)
        }
        Command::Slurm(args) => sweep::slurm(args),
        Command::Select(args) => select::select(args),
        Command::Optimize(args) => optimize::optimize(args),
        Command::Sensitivity(args) => sensitivity::sensitivity(args),
        Command::Calibrate(args) => calibrate::calibrate(args),
        Command::Stability(args) => stability::stability(args),
        Command::Size(args) => size::size(args),
        Command::Stage { batch, task, jobs } => {
            let task = sweep::parse_part("--task", &task)?;
            let jobs = jobs
                .map(|j| j as usize)
                .unwrap_or_else(|| std::env::var("SLURM_CPUS_PER_TASK").ok().and_then(|v| v.parse().ok()).unwrap_or(1));
            let executed = crate::sweep::slurm::run_task(&batch, task, jobs, &budget_of(&BudgetArgs::default(), jobs)?)?;
            tell!("{}: task {}/{}: {executed} run(s) executed", batch.display(), task.0, task.1);
            Ok(Outcome::Success)
        }
        Command::Init { platform, out, force } => {
            let text = crate::scenario::starter::starter(&platform)?;
            let flag = if out.is_some() { "--out" } else { "PLATFORM_NAME" };
            let path = out.unwrap_or_else(|| PathBuf::from(format!("{platform}.toml")));
            write_new(&path, &text, force, flag)?;
            say!("{}", path.display());
            tell!(
                "wrote a starting scenario for {platform}: check it with `rentree validate {0}`, run it with `rentree run {0}`",
                path.display()
            );
            Ok(Outcome::Success)
        }
        Command::Schema { kind, markdown } => schema::schema(kind, markdown),
        Command::Validate { file } => {
            let text = std::fs::read_to_string(&file).map_err(|source| crate::Error::Read { path: file.clone(), source })?;
            if crate::scenario::source::has_table(&text, "calibration") {
                let c = crate::sweep::calibrate::Calibration::load(&file)?;
                let series = c.statistics.iter().filter(|s| matches!(s.reading, crate::sweep::calibrate::Reading::Minute { .. })).count();
                say!(
                    "{}: valid calibration \"{}\": {} parameter(s) ({}), {} observed minute(s) and {} target(s); up to {} generation(s) of {} particles at scale {}; run it with `rentree calibrate`",
                    file.display(),
                    c.raw.calibration.name,
                    c.parameters.len(),
                    c.parameters.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
                    series,
                    c.statistics.len() - series,
                    c.spec.max_generations,
                    c.spec.particles,
                    c.raw.calibration.scale
                );
                return Ok(Outcome::Success);
            }
            if Experiment::is_experiment_text(&text) {
                let e = Experiment::load(&file)?;
                if let Some(p) = &e.problem {
                    let points: f64 = p.knobs.iter().map(|k| k.values.len() as f64).product();
                    say!(
                        "{}: valid optimisation \"{}\": {} knob(s) over a lattice of {points} points, {} constraint(s); run it with `rentree optimize`",
                        file.display(),
                        e.raw.experiment.name,
                        p.knobs.len(),
                        p.constraints.len()
                    );
                    return Ok(Outcome::Success);
                }
                if let Some(st) = &e.raw.stability {
                    crate::sweep::stability::twins(&e, st)?;
                }
                say!(
                    "{}: valid experiment \"{}\": {} configuration(s) × {} replication(s), design {}",
                    file.display(),
                    e.raw.experiment.name,
                    e.configs.len(),
                    e.replications(),
                    e.raw.experiment.design
                );
                if let Some(st) = &e.raw.stability {
                    say!(
                        "  and a stability study of {} after the trigger's removal at {} s: each configuration beside its baseline twin \
                         ({}); run it with `rentree stability`",
                        st.platform,
                        st.removal_s,
                        st.baseline.iter().map(|(p, v)| format!("{p} = {v}")).collect::<Vec<_>>().join(", ")
                    );
                }
                return Ok(Outcome::Success);
            }
            let s = load(&file, None)?;
            let fp = world::budget::estimate(&s, Rows::Disk);
            say!(
                "{}: valid scenario \"{}\": {} cohort(s), {} platform(s), horizon {} s, warm-up {} s; a run needs about {} events, {} of memory and {} of disk",
                file.display(),
                s.name,
                s.cohorts.len(),
                s.platforms.len(),
                s.horizon.as_secs_f64(),
                s.warmup.as_secs_f64(),
                world::budget::count_text(fp.events),
                world::budget::mib_text(fp.memory_bytes),
                world::budget::mib_text(fp.disk_bytes)
            );
            // Each variant must make a valid scenario too.
            for name in s.raw.variants.keys() {
                load(&file, Some(name))?;
                say!("  variant \"{name}\": valid");
            }
            Ok(Outcome::Success)
        }
        Command::Verify { seed, replications } => {
            let cases = verify::suite();
            let rows = verify::run_suite(&cases, seed, replications);
            say_raw!("{}", verify::format_table(&rows, seed, replications));
            Ok(if rows.iter().all(|r| r.pass) { Outcome::Success } else { Outcome::ChecksFailed })
        }
    }
}

/// Writes `text` to `path` atomically (a temporary file in the same folder, renamed into place), refusing
/// to replace an existing file unless `force` (`flag` is the argument that named the file).
fn write_new(path: &std::path::Path, text: &str, force: bool, flag: &str) -> crate::Result<()> {
    use std::io::Write as _;
    let write_err = |e: std::io::Error| crate::Error::Write { path: path.to_path_buf(), message: e.to_string() };
    if !force && path.exists() {
        return Err(crate::Error::Argument {
            flag: flag.into(),
            found: format!("{} (exists)", path.display()),
            expected: "a file that does not exist yet (or --force to replace it)".into(),
        });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(write_err)?;
    tmp.write_all(text.as_bytes()).and_then(|()| tmp.as_file().sync_all()).map_err(write_err)?;
    if force {
        tmp.persist(path).map_err(|e| write_err(e.error))?;
    } else {
        // Not over a file that appeared meanwhile.
        tmp.persist_noclobber(path).map_err(|e| write_err(e.error))?;
    }
    Ok(())
}
