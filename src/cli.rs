//! The command line: clap definitions and the commands they call. The only module that sees argv.

use rentree::output::{self, Format, Manifest};
use rentree::scenario::{Override, Scenario};
use rentree::{verify, world};
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
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
    /// Override a scenario field, e.g. `--set platforms.desk.pool.servers=60` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Table format.
    #[arg(long, value_enum, default_value_t = FormatArg::Parquet)]
    pub format: FormatArg,
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

/// Loads a scenario from disk, or the built-in replay when `path` is `None`.
fn load(path: Option<&Path>, overrides: &[String], scale: f64) -> anyhow::Result<(Scenario, String)> {
    let overrides = overrides.iter().map(|o| Override::parse(o)).collect::<Result<Vec<_>, _>>()?;
    Ok(match path {
        Some(p) => (Scenario::load_scaled(p, &overrides, scale)?, p.display().to_string()),
        None => {
            let m = rentree::builtin::REPLAY;
            (Scenario::from_toml_scaled(m.text, Path::new(m.path), &overrides, scale)?, format!("builtin:{}", m.path))
        }
    })
}

/// Runs the parsed command line.
pub fn execute(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Validate { file } => {
            let (s, _) = load(Some(&file), &[], 1.0)?;
            println!(
                "{}: valid scenario \"{}\": {} cohort(s), {} platform(s), horizon {} s, warm-up {} s",
                file.display(),
                s.name,
                s.cohorts.len(),
                s.platforms.len(),
                s.horizon.as_secs_f64(),
                s.warmup.as_secs_f64()
            );
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
    let (scenario, source) = load(args.scenario.as_deref(), &args.overrides, args.scale)?;
    // Fail on an unusable output directory before spending time simulating.
    output::ensure_dir(&args.out)?;
    let started = Instant::now();
    let report = world::run(&scenario, args.seed, 0);
    let wall_s = started.elapsed().as_secs_f64();
    let mut manifest = Manifest {
        rentree_version: env!("CARGO_PKG_VERSION").into(),
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
    let written = output::write_run(&args.out, &report, &mut manifest, args.format.into())
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
