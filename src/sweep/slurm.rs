//! A sweep on a Slurm cluster: the sbatch script that runs an experiment as a job array of shards
//! (`rentree sweep --shard I/N`, each writing its part files), then a merge job that waits for all of them
//! and builds the tables (`rentree sweep --merge`), byte-identical to a local sweep.

use std::path::Path;

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
