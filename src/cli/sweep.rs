//! `rentree sweep` (an experiment's runs, in parallel, sharded or not, or the merge of its shards) and
//! `rentree slurm` (the job-array script that runs it on a cluster).

use super::{budget_of, Outcome, SlurmArgs, SweepArgs};
use crate::output;
use crate::sweep::experiment::Experiment;
use crate::sweep::{self as sweeps, SweepOptions};
use std::io::IsTerminal;
use std::path::Path;

/// Reads `--shard I/N` (or `--task I/N`, named by `flag`): part I of N, with 0 <= I < N.
pub(super) fn parse_part(flag: &str, text: &str) -> anyhow::Result<(usize, usize)> {
    let err = || crate::Error::Argument { flag: flag.into(), found: text.into(), expected: "I/N with integers 0 <= I < N".into() };
    let (i, n) = text.split_once('/').ok_or_else(err)?;
    let (i, n): (usize, usize) = (i.trim().parse().map_err(|_| err())?, n.trim().parse().map_err(|_| err())?);
    if n == 0 || i >= n {
        return Err(err().into());
    }
    Ok((i, n))
}

/// Runs an experiment's sweep (or merges a sharded one) and writes its tables.
pub(super) fn sweep(args: SweepArgs) -> anyhow::Result<Outcome> {
    if let Some(dir) = &args.merge {
        let files = sweeps::merge(dir)?;
        for f in files {
            say!("{}", f.display());
        }
        return Ok(Outcome::Success);
    }
    let path = args.experiment.expect("clap requires the experiment unless --merge");
    let mut experiment = Experiment::load(&path)?;
    // Over a posterior: every configuration at the same draws (a function of the experiment's seed).
    let posterior = match &args.posterior {
        Some(dir) => {
            let p = crate::sweep::calibrate::Posterior::load(dir)?;
            let draws = p.draws(args.draws as usize, experiment.raw.experiment.seed);
            let configurations = experiment.configs.iter().map(|c| c.label.clone()).collect();
            experiment = experiment.over_draws(&draws, dir)?;
            Some(sweeps::PosteriorSweep {
                calibration: dir.display().to_string(),
                calibration_run_id: p.run_id.clone(),
                draws: args.draws as usize,
                configurations,
            })
        }
        None => None,
    };
    // One warning per distinct wording: the configurations of a study usually share their scenario's.
    let mut warned = Vec::new();
    for c in &experiment.configs {
        if let Some(w) = c.scenario.scale_warning() {
            if !warned.contains(&w) {
                tell!("warning: {}: experiment.scale = {}: {w}", path.display(), experiment.raw.experiment.scale);
                warned.push(w);
            }
        }
    }
    let until_ci = args.until_ci.as_deref().map(crate::sweep::parse_until_ci).transpose()?;
    let shard = args.shard.as_deref().map(|t| parse_part("--shard", t)).transpose()?;
    if shard.is_some() && until_ci.is_some() {
        return Err(crate::Error::Argument {
            flag: "--until-ci".into(),
            found: "with --shard".into(),
            expected: "no --shard: adaptive replications need the whole sweep in one place".into(),
        }
        .into());
    }
    let jobs = super::jobs_of(args.jobs);
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
        posterior: posterior.clone(),
    };
    let outcome = sweeps::sweep(&experiment, &options)?;
    if outcome.stale_temps_removed > 0 {
        tell!("{}: removed {} stale temporary file(s) left by an interrupted sweep", args.out.display(), outcome.stale_temps_removed);
    }
    let total = outcome.executed + outcome.skipped;
    tell!(
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
            tell!("  {}: {} replications, {metric} half-width {hw:.5} ({status} {bound})", c.label, n);
        }
    }
    if let Some(p) = &posterior {
        print_credible(&args.out, p)?;
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
        say!("{}", f.display());
    }
    Ok(Outcome::Success)
}

/// Writes the sbatch script of an experiment's sweep as a job array of shards.
pub(super) fn slurm(args: SlurmArgs) -> anyhow::Result<Outcome> {
    // Validate now: a typo should fail here, not in 200 array tasks.
    let experiment = Experiment::load(&args.experiment)?;
    output::ensure_dir(&args.out)?;
    let bin = std::env::current_exe().map_err(|e| crate::Error::Write { path: "rentree".into(), message: e.to_string() })?;
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
    say!("{}", path.display());
    Ok(Outcome::Success)
}

/// Prints each configuration's headline figures with their credible interval, from `credible.parquet`.
fn print_credible(out: &Path, p: &sweeps::PosteriorSweep) -> anyhow::Result<()> {
    let table = output::read_table(&out.join(sweeps::CREDIBLE_TABLE))?;
    let (label, metric) = (table.text("label")?, table.text("metric")?);
    let (mean, lo, hi, noise) = (table.num("mean")?, table.num("credible_lo")?, table.num("credible_hi")?, table.num("noise_sd")?);
    let users = (0..table.height).any(|i| metric[i] == "users" && mean[i] > 0.0);
    let headline: &[&str] =
        if users { &["served_share_by_0900", "served_share_by_1200", "p95_time_to_access_s"] } else { &["mean_wait_s", "utilization"] };
    tell!("over {} draws from the posterior of {} (90% credible intervals; ± one run's own noise, one sd):", p.draws, p.calibration);
    for i in (0..table.height).filter(|&i| headline.contains(&metric[i].as_str())) {
        tell!("  {}: {} {:.4} [{:.4}, {:.4}] ± {:.4}", label[i], metric[i], mean[i], lo[i], hi[i], noise[i]);
    }
    Ok(())
}
