//! The command line: clap definitions and the commands they call. The only module that sees argv.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use rentree::output::{self, Format, Manifest};
use rentree::scenario::{Override, Scenario};
use rentree::sweep::experiment::Experiment;
use rentree::sweep::{self as sweeps, SweepOptions};
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
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..))]
        replications: u64,
    },
}

/// Arguments of `rentree run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (TOML); without one, the built-in 6 April 2021 replay.
    pub scenario: Option<PathBuf>,
    /// Multiply population and capacity by this factor (e.g. 0.01 for a quick look).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Output directory.
    #[arg(long, default_value = "results/run")]
    pub out: PathBuf,
    /// Master seed of the random streams.
    #[arg(long, default_value_t = 1)]
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
    #[arg(long)]
    pub jobs: Option<usize>,
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
    #[arg(long, default_value_t = 64)]
    pub max_replications: u64,
}

/// Arguments of `rentree slurm`.
#[derive(Debug, clap::Args)]
pub struct SlurmArgs {
    /// Experiment file.
    pub experiment: PathBuf,
    /// Array tasks.
    #[arg(long)]
    pub tasks: usize,
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
    /// Replications per point.
    #[arg(long, default_value_t = 5)]
    pub replications: u64,
    /// Population and capacity scale.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Other overrides applied at every point.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
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
/// given, then applying `overrides`.
fn load(path: Option<&Path>, variant: Option<&str>, overrides: &[String], scale: f64) -> anyhow::Result<(Scenario, String)> {
    let (text, origin, source) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| rentree::Error::Read { path: p.to_owned(), source })?;
            (text, p.to_owned(), p.display().to_string())
        }
        None => {
            let m = rentree::builtin::REPLAY;
            (m.text.to_owned(), PathBuf::from(m.path), format!("builtin:{}", m.path))
        }
    };
    let mut all = match variant {
        Some(v) => Override::variant(&text, &origin, v)?,
        None => Vec::new(),
    };
    for o in overrides {
        all.push(Override::parse(o)?);
    }
    let source = match variant {
        Some(v) => format!("{source} (variant {v})"),
        None => source,
    };
    Ok((Scenario::from_toml_scaled(&text, &origin, &all, scale)?, source))
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
            println!(
                "{}: valid scenario \"{}\": {} cohort(s), {} platform(s), horizon {} s, warm-up {} s",
                file.display(),
                s.name,
                s.cohorts.len(),
                s.platforms.len(),
                s.horizon.as_secs_f64(),
                s.warmup.as_secs_f64()
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
    // Fail on an unusable output directory before spending time simulating.
    output::ensure_dir(&args.out)?;
    let started = Instant::now();
    let report = world::run(&scenario, args.seed, 0);
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
        files: Vec::new(),
    };
    let written =
        output::write_run(&args.out, &report, &mut manifest, args.format.into()).with_context(|| format!("writing results of {source}"))?;
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
    let err = || rentree::Error::Override { assignment: format!("--shard {text}"), message: "expected I/N with 0 <= I < N".into() };
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
    let until_ci = match &args.until_ci {
        None => None,
        Some(t) => {
            let err = || rentree::Error::Override { assignment: format!("--until-ci {t}"), message: "expected METRIC=HALFWIDTH".into() };
            let (m, v) = t.split_once('=').ok_or_else(err)?;
            let v: f64 = v.trim().parse().map_err(|_| err())?;
            if !(v.is_finite() && v > 0.0) {
                return Err(err().into());
            }
            Some((m.trim().to_owned(), v))
        }
    };
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    if shard.is_some() && until_ci.is_some() {
        return Err(rentree::Error::Override {
            assignment: "--until-ci with --shard".into(),
            message: "adaptive replications need the whole sweep in one place: run them without --shard".into(),
        }
        .into());
    }
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let options = SweepOptions {
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
    let manifest = serde_json::json!({
        "rentree_version": env!("CARGO_PKG_VERSION"),
        "experiment": experiment.raw.experiment.name,
        "experiment_file": path.display().to_string(),
        "configurations": experiment.configs.len(),
        "runs_executed": outcome.executed,
        "runs_skipped": outcome.skipped,
        "jobs": jobs,
        "shard": args.shard,
        "wall_s": outcome.wall_s,
        "runs_per_min": outcome.executed as f64 / outcome.wall_s.max(1e-9) * 60.0,
        "files": outcome.files.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect::<Vec<_>>(),
    });
    // A whole sweep's manifest.json is written by the merge, last, beside the tables it vouches for; a shard
    // builds no tables and leaves this note of what it ran.
    if let Some((i, n)) = shard {
        output::write_json(&args.out.join(format!("manifest-shard-{i}-of-{n}.json")), &manifest)?;
    }
    for f in outcome.files {
        println!("{}", f.display());
    }
    Ok(Outcome::Success)
}

fn slurm(args: SlurmArgs) -> anyhow::Result<Outcome> {
    // Validate now: a typo should fail here, not in 200 array tasks.
    let experiment = Experiment::load(&args.experiment)?;
    if args.tasks == 0 {
        return Err(rentree::Error::Override { assignment: "--tasks 0".into(), message: "expected at least 1 task".into() }.into());
    }
    output::ensure_dir(&args.out)?;
    let bin = std::env::current_exe().map_err(|e| rentree::Error::Write { path: "rentree".into(), message: e.to_string() })?;
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let (exp, out) = (abs(&args.experiment), abs(&args.out));
    let n = args.tasks;
    let script = format!(
        r#"#!/usr/bin/env bash
# Sweep "{name}" as a Slurm job array of {n} task(s), then a merge job that waits for all of them.
# Written by `rentree slurm`; submit with:  bash {script_name}
# Each task runs a deterministic shard of the runs and writes its part files into {out}/runs; the merge
# builds runs.parquet, configs.parquet and timeseries.parquet, identical to a local `rentree sweep`.
set -euo pipefail
array=$(sbatch --parsable --job-name=rentree-sweep --array=0-{last} --output={out}/slurm-%A_%a.out {extra_flags}--wrap \
  '{bin} sweep {exp} --out {out} --jobs ${{SLURM_CPUS_PER_TASK:-1}} --shard ${{SLURM_ARRAY_TASK_ID}}/{n}')
merge=$(sbatch --parsable --job-name=rentree-merge --dependency=afterok:${{array%%;*}} --output={out}/slurm-merge-%j.out {extra_flags}--wrap \
  '{bin} sweep --merge {out}')
echo "array job ${{array%%;*}}, merge job ${{merge%%;*}}"
"#,
        name = experiment.raw.experiment.name,
        last = n - 1,
        out = out.display(),
        exp = exp.display(),
        bin = bin.display(),
        script_name = args.script.as_deref().unwrap_or(&args.out.join("sweep.sbatch")).display(),
        extra_flags = args.sbatch.iter().map(|l| format!("{l} ")).collect::<String>(),
    );
    let path = args.script.unwrap_or_else(|| args.out.join("sweep.sbatch"));
    output::write_atomic(&path, |f| std::io::Write::write_all(f, script.as_bytes()).map_err(|e| e.to_string()))?;
    println!("{}", path.display());
    Ok(Outcome::Success)
}

fn size(args: SizeArgs) -> anyhow::Result<Outcome> {
    use rentree::sweep::size::{size as search, Target};
    let target = Target::parse(&args.target)?;
    let err =
        || rentree::Error::Override { assignment: format!("--range {}", args.range), message: "expected LO..HI with integers".into() };
    let (lo, hi) = args.range.split_once("..").ok_or_else(err)?;
    let (lo, hi): (i64, i64) = (lo.trim().parse().map_err(|_| err())?, hi.trim().parse().map_err(|_| err())?);
    let overrides = args.overrides.iter().map(|o| Override::parse(o)).collect::<Result<Vec<_>, _>>()?;
    let (text, origin) = match &args.scenario {
        Some(p) => (std::fs::read_to_string(p).map_err(|source| rentree::Error::Read { path: p.clone(), source })?, p.clone()),
        None => (rentree::builtin::REPLAY.text.to_owned(), PathBuf::from(rentree::builtin::REPLAY.path)),
    };
    let report = search(&text, &origin, &overrides, args.scale, &args.knob, (lo, hi), &target, args.replications, args.seed)?;
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
