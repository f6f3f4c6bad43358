//! The command line: clap definitions and the commands they call. The only module that sees argv.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use rentree::output::{self, Format, Manifest};
use rentree::scenario::{Scenario, Source};
use rentree::sweep::experiment::Experiment;
use rentree::sweep::{self as sweeps, SweepOptions};
use rentree::world::budget::{Budget, Rows};
use rentree::{verify, world};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    /// The smallest value of a knob that meets a target with 95% confidence.
    Size(SizeArgs),
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

/// Arguments of `rentree run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (TOML); without one, the built-in 6 April 2021 replay.
    pub scenario: Option<PathBuf>,
    /// Multiply population and capacity by this factor (e.g. 0.01 for a quick look).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub scale: f64,
    /// Output directory.
    #[arg(long, default_value = "results/run")]
    pub out: PathBuf,
    /// Master seed of the random streams.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub seed: u64,
    /// Start from a variant the scenario file defines (e.g. `--variant no-attack`; `rentree validate`
    /// lists them).
    #[arg(long, value_name = "NAME")]
    pub variant: Option<String>,
    /// Override a scenario field, e.g. `--set platforms.desk.pool.servers=60` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Table format.
    #[arg(long, value_enum, default_value_t = FormatArg::Parquet)]
    pub format: FormatArg,
    /// Limits of the run's size, checked before it starts.
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// Refuse a run whose minute rows (streamed to --out as it runs) are estimated to take more than this
    /// many MiB of disk (default: the space free there now).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    pub max_disk: Option<u64>,
}

/// The limits a run's estimated size is checked against before it starts (see `rentree::world::budget`).
#[derive(Debug, Clone, clap::Args)]
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

/// Arguments of `rentree size`.
#[derive(Debug, clap::Args)]
pub struct SizeArgs {
    /// Scenario file; without one, the built-in 6 April 2021 replay.
    pub scenario: Option<PathBuf>,
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
    /// Population and capacity scale.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub scale: f64,
    /// Answer from a scale below the scenario's faithful scale anyway (to explore, not to decide).
    #[arg(long)]
    pub allow_biased_scale: bool,
    /// Master seed.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub seed: u64,
    /// Start from a variant the scenario file defines (e.g. `--variant no-attack`).
    #[arg(long, value_name = "NAME")]
    pub variant: Option<String>,
    /// Other overrides applied at every point.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
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
    /// Chromium used to render images.
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

/// Loads a scenario from disk, or the built-in replay when `path` is `None`, starting from `variant` if
/// given, then applying `overrides`; with the label a manifest gives it.
fn load(path: Option<&Path>, variant: Option<&str>, overrides: &[String], scale: f64) -> anyhow::Result<(Scenario, String)> {
    let source = Source::file(path)?.variant(variant)?.set(overrides)?.scaled(scale);
    Ok((source.scenario()?, source.label().to_owned()))
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
                rentree::Error::Argument { flag: "--max-events".into(), found: n.to_string(), expected: "a number >= 1".into() }.into()
            )
        }
    };
    Ok(Budget { memory_bytes, events, force: args.force, rows })
}

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Sweep(args) => sweep(args),
        Command::Report(args) => {
            use rentree::report::{labels::Lang, report, ReportOptions};
            let options = ReportOptions {
                out: args.out.clone().unwrap_or_else(|| args.results.join("briefing")),
                lang: match args.lang {
                    LangArg::Fr => Lang::Fr,
                    LangArg::En => Lang::En,
                },
                png: args.png,
                svg: args.svg,
                chromium: args.chromium.clone(),
            };
            let outcome = report(&args.results, &options)?;
            for s in &outcome.sentences {
                eprintln!("{s}");
            }
            println!("{}", outcome.page.display());
            for i in outcome.images {
                println!("{}", i.display());
            }
            Ok(Outcome::Success)
        }
        Command::Slurm(args) => slurm(args),
        Command::Size(args) => size(args),
        Command::Validate { file } => {
            let text = std::fs::read_to_string(&file).map_err(|source| rentree::Error::Read { path: file.clone(), source })?;
            if Experiment::is_experiment_text(&text) {
                let e = Experiment::load(&file)?;
                println!(
                    "{}: valid experiment \"{}\": {} configuration(s) × {} replication(s), design {}",
                    file.display(),
                    e.raw.experiment.name,
                    e.configs.len(),
                    e.replications(),
                    e.raw.experiment.design
                );
                return Ok(Outcome::Success);
            }
            let (s, _) = load(Some(&file), None, &[], 1.0)?;
            let fp = world::budget::estimate(&s, Rows::Disk);
            println!(
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
                load(Some(&file), Some(name), &[], 1.0)?;
                println!("  variant \"{name}\": valid");
            }
            Ok(Outcome::Success)
        }
        Command::Verify { seed, replications } => {
            let cases = verify::suite();
            let rows = verify::run_suite(&cases, seed, replications);
            print!("{}", verify::format_table(&rows, seed, replications));
            Ok(if rows.iter().all(|r| r.pass) { Outcome::Success } else { Outcome::ChecksFailed })
        }
    }
}

fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let (scenario, source) = load(args.scenario.as_deref(), args.variant.as_deref(), &args.overrides, args.scale)?;
    let disk_bytes = args.max_disk.map(|mib| mib as f64 * 1024.0 * 1024.0).or_else(|| output::disk_available_bytes(&args.out));
    let limits = budget_with_rows(&args.budget, 1, (Rows::Disk, disk_bytes))?
        .check(&scenario)
        .map_err(|message| rentree::Error::TooLarge { path: source.clone().into(), message })?;
    // Fail on an unusable output directory before spending time simulating.
    output::ensure_dir(&args.out)?;
    let scale_warning = scenario.scale_warning();
    if let Some(w) = &scale_warning {
        eprintln!("warning: {source}: {w}");
    }
    let started = Instant::now();
    // The minute rows stream to spill files in the results folder as the run makes them, so that the memory
    // a run holds does not grow with its horizon.
    let (report, mut spills) = world::run_streamed(&scenario, args.seed, 0, &limits, |_| output::MinuteSpill::create(&args.out))
        .map_err(|e| e.into_error(source.clone().into(), ""))?;
    let wall_s = started.elapsed().as_secs_f64();
    let mut manifest = Manifest {
        rentree_version: env!("CARGO_PKG_VERSION").into(),
        run_id: String::new(),
        scenario: scenario.name.clone(),
        scenario_source: source.clone(),
        scenario_sha256: scenario.hash_hex(),
        overrides: args.overrides.clone(),
        seed: args.seed,
        scale: args.scale,
        replication: 0,
        horizon_s: scenario.horizon.as_secs_f64(),
        warmup_s: scenario.warmup.as_secs_f64(),
        events: report.events,
        wall_s,
        events_per_s: report.events as f64 / wall_s.max(1e-9),
        peak_rss_mib: output::peak_rss_mib(),
        faithful_scale: scenario.faithful_scale,
        scale_warning,
        files: Vec::new(),
    };
    let written = output::write_run(&args.out, &report, &mut spills, &mut manifest, args.format.into())
        .with_context(|| format!("writing results of {source}"))?;
    let s = &report.summary;
    if s.users > 0 {
        eprintln!(
            "{}: {} users, {} got in ({:.1}% by 9:00, {:.1}% by noon), p95 time to access {:.0} s, {:.2} requests per session, {} gave up",
            scenario.name,
            s.users,
            s.accessed,
            100.0 * s.served_share_by_0900,
            100.0 * s.served_share_by_1200,
            s.p95_time_to_access_s,
            s.amplification,
            s.gave_up
        );
    } else {
        eprintln!(
            "{}: {} arrivals, {} served, {} abandoned, {} blocked; mean wait {:.4} s, p95 {:.4} s; utilization {:.3}",
            scenario.name, s.arrivals, s.served, s.abandoned, s.blocked, s.mean_wait_s, s.p95_wait_s, s.utilization
        );
    }
    eprintln!("{} events in {:.2} s ({:.1} M events/s)", report.events, wall_s, manifest.events_per_s / 1e6);
    for p in written {
        println!("{}", p.display());
    }
    Ok(Outcome::Success)
}

fn parse_shard(text: &str) -> anyhow::Result<(usize, usize)> {
    let err = || rentree::Error::Argument { flag: "--shard".into(), found: text.into(), expected: "I/N with integers 0 <= I < N".into() };
    let (i, n) = text.split_once('/').ok_or_else(err)?;
    let (i, n): (usize, usize) = (i.trim().parse().map_err(|_| err())?, n.trim().parse().map_err(|_| err())?);
    if n == 0 || i >= n {
        return Err(err().into());
    }
    Ok((i, n))
}

fn sweep(args: SweepArgs) -> anyhow::Result<Outcome> {
    if let Some(dir) = &args.merge {
        let files = sweeps::merge(dir)?;
        for f in files {
            println!("{}", f.display());
        }
        return Ok(Outcome::Success);
    }
    let path = args.experiment.expect("clap requires the experiment unless --merge");
    let experiment = Experiment::load(&path)?;
    // One warning per distinct wording: the configurations of a study usually share their scenario's.
    let mut warned = Vec::new();
    for c in &experiment.configs {
        if let Some(w) = c.scenario.scale_warning() {
            if !warned.contains(&w) {
                eprintln!("warning: {}: experiment.scale = {}: {w}", path.display(), experiment.raw.experiment.scale);
                warned.push(w);
            }
        }
    }
    let until_ci = args.until_ci.as_deref().map(rentree::sweep::parse_until_ci).transpose()?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    if shard.is_some() && until_ci.is_some() {
        return Err(rentree::Error::Argument {
            flag: "--until-ci".into(),
            found: "with --shard".into(),
            expected: "no --shard: adaptive replications need the whole sweep in one place".into(),
        }
        .into());
    }
    let jobs = args.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |j| j as usize);
    let budget = budget_of(&args.budget, jobs)?;
    let options = SweepOptions {
        budget,
        out: args.out.clone(),
        jobs,
        resume: args.resume,
        shard,
        until_ci,
        max_replications: args.max_replications,
        progress: std::io::stderr().is_terminal(),
    };
    let outcome = sweeps::sweep(&experiment, &options)?;
    if outcome.stale_temps_removed > 0 {
        eprintln!("{}: removed {} stale temporary file(s) left by an interrupted sweep", args.out.display(), outcome.stale_temps_removed);
    }
    let total = outcome.executed + outcome.skipped;
    eprintln!(
        "{}: {} run(s) done ({} skipped as already finished) in {:.1} s with {} job(s): {:.1} runs/min",
        experiment.raw.experiment.name,
        total,
        outcome.skipped,
        outcome.wall_s,
        jobs,
        outcome.executed as f64 / outcome.wall_s.max(1e-9) * 60.0
    );
    if let Some((metric, bound)) = &options.until_ci {
        for (c, (n, hw)) in experiment.configs.iter().zip(&outcome.precision) {
            let status = if *hw <= *bound { "reached" } else { "NOT reached (replication cap)" };
            eprintln!("  {}: {} replications, {metric} half-width {hw:.5} ({status} {bound})", c.label, n);
        }
    }
    let note = sweeps::ShardNote {
        rentree_version: env!("CARGO_PKG_VERSION").into(),
        experiment: experiment.raw.experiment.name.clone(),
        experiment_file: path.display().to_string(),
        configurations: experiment.configs.len(),
        runs_executed: outcome.executed,
        runs_skipped: outcome.skipped,
        jobs,
        shard: args.shard.clone(),
        wall_s: outcome.wall_s,
        runs_per_min: outcome.executed as f64 / outcome.wall_s.max(1e-9) * 60.0,
        files: outcome.files.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect(),
    };
    // A whole sweep's manifest.json is written by the merge, last, beside the tables it vouches for; a shard
    // builds no tables and leaves this note of what it ran.
    if let Some((i, n)) = shard {
        output::write_json(&args.out.join(format!("manifest-shard-{i}-of-{n}.json")), &note)?;
    }
    for f in outcome.files {
        println!("{}", f.display());
    }
    Ok(Outcome::Success)
}

fn slurm(args: SlurmArgs) -> anyhow::Result<Outcome> {
    // Validate now: a typo should fail here, not in 200 array tasks.
    let experiment = Experiment::load(&args.experiment)?;
    output::ensure_dir(&args.out)?;
    let bin = std::env::current_exe().map_err(|e| rentree::Error::Write { path: "rentree".into(), message: e.to_string() })?;
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let (exp, out) = (abs(&args.experiment), abs(&args.out));
    let path = args.script.unwrap_or_else(|| args.out.join("sweep.sbatch"));
    let script = sweeps::slurm::script(&sweeps::slurm::Job {
        name: &experiment.raw.experiment.name,
        bin: &bin,
        experiment: &exp,
        out: &out,
        script: &path,
        tasks: args.tasks,
        sbatch: &args.sbatch,
    });
    output::write_atomic(&path, |f| std::io::Write::write_all(f, script.as_bytes()).map_err(|e| e.to_string()))?;
    println!("{}", path.display());
    Ok(Outcome::Success)
}

fn size(args: SizeArgs) -> anyhow::Result<Outcome> {
    use rentree::sweep::size::{size as search, Target};
    let target = Target::parse(&args.target)?;
    let err = || rentree::Error::Argument {
        flag: "--range".into(),
        found: args.range.clone(),
        expected: "LO..HI with integers LO <= HI, e.g. 1..400".into(),
    };
    let (lo, hi) = args.range.split_once("..").ok_or_else(err)?;
    let (lo, hi): (i64, i64) = (lo.trim().parse().map_err(|_| err())?, hi.trim().parse().map_err(|_| err())?);
    let source = Source::file(args.scenario.as_deref())?.variant(args.variant.as_deref())?.set(&args.overrides)?.scaled(args.scale);
    let origin = source.origin();
    // A capacity is a decision: not from a scale whose bias may decide it, unless asked for.
    let first = source.scenario()?;
    if let Some(w) = first.scale_warning() {
        if !args.allow_biased_scale {
            let expected = match first.faithful_scale {
                Some(f) => format!(
                    "at least {f}, the smallest scale shown to agree with full scale for {}: below it a capacity can come out \
                     wrong by more than its confidence interval says (--allow-biased-scale answers anyway, to explore)",
                    origin.display()
                ),
                None => format!(
                    "1: the bias of a reduced scale was never measured for {} (no scenario.faithful_scale), so a capacity found \
                     below full scale may be wrong (--allow-biased-scale answers anyway, to explore)",
                    origin.display()
                ),
            };
            return Err(rentree::Error::Argument { flag: "--scale".into(), found: args.scale.to_string(), expected }.into());
        }
        eprintln!("warning: {}: {w}", origin.display());
    }
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let budget = budget_of(&args.budget, jobs)?;
    let report = search(&source, &args.knob, (lo, hi), &target, args.replications, args.seed, &budget)?;
    println!("{:>10} {:>12} {:>25} {:>6}", args.knob.rsplit('.').next().unwrap_or(&args.knob), "mean", "95% CI", "meets");
    for p in &report.points {
        println!(
            "{:>10} {:>12.5} {:>25} {:>6}",
            p.value,
            p.estimate.mean,
            format!("[{:.5}, {:.5}]", p.estimate.lo(), p.estimate.hi()),
            if p.meets { "yes" } else { "no" }
        );
    }
    if !report.monotone {
        println!("warning: {} does not move monotonically with {} over these points; the bisection may be wrong", target.metric, args.knob);
    }
    match report.answer {
        Some(v) => {
            let p = report.points.iter().find(|p| p.value == v).expect("the answer was evaluated");
            println!(
                "answer: {} = {v} meets {} with 95% confidence ({} = {:.5} ± {:.5}, {} replications)",
                args.knob, args.target, target.metric, p.estimate.mean, p.estimate.half_width, args.replications
            );
            Ok(Outcome::Success)
        }
        None => {
            println!("answer: no value in {lo}..{hi} meets {} with 95% confidence", args.target);
            Ok(Outcome::ChecksFailed)
        }
    }
}
