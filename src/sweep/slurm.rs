//! Runs on a Slurm cluster, two ways.
//!
//! - A sweep: the sbatch script that runs an experiment as a job array of shards (`rentree sweep --shard
//!   I/N`, each writing its part files), then a merge job that waits for all of them and builds the tables
//!   (`rentree sweep --merge`), byte-identical to a local sweep ([`script`]).
//! - The stages of a procedure (`select`, `optimize`, `sensitivity`, `stability`, `calibrate` with `--slurm
//!   TASKS`): each stage's runs
//!   are written to a batch file, submitted as a job array with `sbatch --wait`, and run by the hidden
//!   command `rentree stage BATCH --task I/N`; the procedure waits for the array, reads the part files and
//!   decides the next stage (`run_stage`, [`run_task`]). The batch names each configuration by its
//!   overrides of the experiment's base scenario, so a task rebuilds exactly the scenario the driver holds,
//!   whatever made it (a design, a sensitivity analysis's points, an optimisation's search), and
//!   `super::run_one` writes the same part file a local run would.

use super::experiment::Experiment;
use super::{read_json, run_file, run_one};
use crate::error::{Error, Result};
use crate::output;
use crate::scenario::Override;
use crate::world;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How a procedure's stages go to a Slurm cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct StageCluster {
    /// The most array tasks per stage (a stage of fewer runs has one task per run).
    pub tasks: usize,
    /// Extra sbatch flags, e.g. `--partition=debug`.
    pub sbatch: Vec<String>,
    /// The `rentree` binary the tasks run (visible from every node).
    pub bin: PathBuf,
}

/// One stage's runs, as the array's tasks read them (`OUT/stages/stage-HASH.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// The experiment file (absolute): its base scenario and scale.
    pub experiment: PathBuf,
    /// The results folder (absolute).
    pub out: PathBuf,
    /// The configurations the runs need, each by its overrides of the base scenario.
    pub configs: Vec<BatchConfig>,
    /// The runs: (configuration, replication, seed, stream replication).
    pub runs: Vec<(usize, u64, u64, u64)>,
}

/// A configuration of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchConfig {
    /// Its index in the procedure.
    pub index: usize,
    /// Its label, for messages.
    pub label: String,
    /// Its overrides of the base scenario: dotted path and value, in order.
    pub set: Vec<(String, toml::Value)>,
    /// The scale it runs at, where it is not the base scenario's (a calibration's early generations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|source| Error::Read { path: p.to_owned(), source })
}

/// Runs `todo` as one job array on the cluster and waits for it; returns the runs executed. A task that
/// fails, or a run missing once the array has ended, is an error naming the batch and the logs.
pub(super) fn run_stage(experiment: &Experiment, out: &Path, todo: &[(usize, u64)], cluster: &StageCluster) -> Result<u64> {
    let mut configs: Vec<BatchConfig> = Vec::new();
    for &(c, _) in todo {
        if !configs.iter().any(|b| b.index == c) {
            let config = &experiment.configs[c];
            configs.push(BatchConfig {
                index: c,
                label: config.label.clone(),
                set: config.overrides.iter().map(|o| (o.path.join("."), o.value.clone())).collect(),
                scale: (config.scenario.scale != experiment.base.scale()).then_some(config.scenario.scale),
            });
        }
    }
    let runs = todo
        .iter()
        .map(|&(c, r)| {
            let (seed, stream) = experiment.stream_of(c, r);
            (c, r, seed, stream)
        })
        .collect();
    let batch = Batch { experiment: absolute(&experiment.path)?, out: absolute(out)?, configs, runs };
    let text = serde_json::to_vec(&batch).map_err(|e| Error::Write { path: out.to_owned(), message: e.to_string() })?;
    // Named by its content: a resumed procedure resubmits the same stage under the same name.
    let stages = out.join("stages");
    output::ensure_dir(&stages)?;
    let file = stages.join(format!("stage-{}.json", &output::sha256_hex(&text)[..16]));
    output::write_json(&file, &batch)?;
    let tasks = cluster.tasks.clamp(1, todo.len());
    let command = format!("{} stage {} --task ${{SLURM_ARRAY_TASK_ID}}/{tasks}", cluster.bin.display(), file.display());
    let logs = stages.join("slurm-%A_%a.out");
    let status = Command::new("sbatch")
        .arg("--wait")
        .arg("--parsable")
        .arg("--job-name=rentree-stage")
        .arg(format!("--array=0-{}", tasks - 1))
        .arg(format!("--output={}", logs.display()))
        .args(&cluster.sbatch)
        .arg("--wrap")
        .arg(&command)
        .output()
        .map_err(|e| Error::Write {
            path: file.clone(),
            message: format!("cannot run sbatch: {e} (is Slurm installed and on the PATH?)"),
        })?;
    if !status.status.success() {
        return Err(Error::Write {
            path: file.clone(),
            message: format!(
                "the stage's job array failed ({}): {} — see the task logs in {}",
                status.status,
                String::from_utf8_lossy(&status.stderr).trim(),
                stages.display()
            ),
        });
    }
    let missing: Vec<PathBuf> = todo.iter().map(|&(c, r)| run_file(out, c, r)).filter(|p| !p.exists()).collect();
    if let Some(first) = missing.first() {
        return Err(Error::Write {
            path: file.clone(),
            message: format!(
                "{} run(s) of the stage missing after its job array ended (first: {}); see {}",
                missing.len(),
                first.display(),
                stages.display()
            ),
        });
    }
    Ok(todo.len() as u64)
}

/// Runs task `i` of `n` of a batch (`rentree stage BATCH --task I/N`): every run whose position in the
/// batch is `i` modulo `n`, on `jobs` threads, skipping those already written; returns the runs executed.
pub fn run_task(batch_path: &Path, (i, n): (usize, usize), jobs: usize, budget: &world::budget::Budget) -> Result<u64> {
    let batch: Batch = read_json(batch_path)?;
    // A calibration's generations are stages too: its runs' base scenario comes from its own file.
    let experiment = if super::calibrate::is_calibration(&batch.experiment) {
        super::calibrate::Calibration::load(&batch.experiment)?.experiment
    } else {
        Experiment::load(&batch.experiment)?
    };
    let origin = format!("{}", batch_path.display());
    let mut scenarios = Vec::new();
    for b in &batch.configs {
        let overrides: Vec<Override> = b.set.iter().map(|(p, v)| Override::set(&origin, p, v)).collect();
        let scenario = match b.scale {
            Some(scale) => experiment.base.clone().scaled(scale).scenario_with(&overrides)?,
            None => experiment.base.scenario_with(&overrides)?,
        };
        let limits = budget
            .check(&scenario)
            .map_err(|message| Error::TooLarge { path: batch_path.to_owned(), message: format!("{}: {message}", b.label) })?;
        scenarios.push((b.index, b.label.clone(), scenario, limits));
    }
    let mine: Vec<(usize, u64, u64, u64)> = batch
        .runs
        .iter()
        .copied()
        .enumerate()
        .filter(|(k, _)| k % n == i)
        .map(|(_, x)| x)
        .filter(|&(c, r, _, _)| !run_file(&batch.out, c, r).exists())
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| Error::Write { path: batch.out.clone(), message: format!("cannot start {jobs} worker threads: {e}") })?;
    pool.install(|| {
        mine.par_iter().try_for_each(|&(c, r, seed, stream)| {
            let (_, label, scenario, limits) =
                scenarios.iter().find(|s| s.0 == c).expect("the batch lists every configuration of its runs");
            run_one(&batch.experiment, &batch.out, scenario, label, (c, r), (seed, stream), limits)
        })
    })?;
    Ok(mine.len() as u64)
}

/// What the script runs: absolute paths, since the jobs start wherever Slurm puts them.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    /// The experiment's name, for the script's header.
    pub name: &'a str,
    /// The `rentree` binary the tasks run.
    pub bin: &'a Path,
    /// The experiment file.
    pub experiment: &'a Path,
    /// The sweep's results folder, visible from every node.
    pub out: &'a Path,
    /// Where the script is written (named in its header).
    pub script: &'a Path,
    /// Array tasks: shards of the runs.
    pub tasks: u64,
    /// Extra sbatch flags for both jobs, e.g. `--partition=debug`.
    pub sbatch: &'a [String],
}

/// The sbatch script of `job`: submits the array, then the merge with an `afterok` dependency on it.
pub fn script(job: &Job) -> String {
    format!(
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
        name = job.name,
        n = job.tasks,
        last = job.tasks.saturating_sub(1),
        out = job.out.display(),
        exp = job.experiment.display(),
        bin = job.bin.display(),
        script_name = job.script.display(),
        extra_flags = job.sbatch.iter().map(|l| format!("{l} ")).collect::<String>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_shards_the_runs_and_merges_after_all_of_them() {
        let extra = vec!["--partition=debug".to_owned()];
        let s = script(&Job {
            name: "quota",
            bin: Path::new("/opt/rentree"),
            experiment: Path::new("/data/e.toml"),
            out: Path::new("/data/out"),
            script: Path::new("/data/out/sweep.sbatch"),
            tasks: 4,
            sbatch: &extra,
        });
        assert!(s.starts_with("#!/usr/bin/env bash\n"));
        assert!(s.contains("--array=0-3 --output=/data/out/slurm-%A_%a.out --partition=debug --wrap"), "{s}");
        assert!(
            s.contains(
                "'/opt/rentree sweep /data/e.toml --out /data/out --jobs ${SLURM_CPUS_PER_TASK:-1} --shard ${SLURM_ARRAY_TASK_ID}/4'"
            ),
            "{s}"
        );
        assert!(s.contains("--dependency=afterok:${array%%;*}") && s.contains("'/opt/rentree sweep --merge /data/out'"), "{s}");
    }
}
