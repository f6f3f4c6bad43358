//! A sweep as a real Slurm job array on a single-node cluster (started by `scripts/slurm-cluster.sh`),
//! merged by a dependent job, gives exactly the tables of the same sweep run locally.
//!
//! Needs a running cluster: `scripts/test.sh` starts one and sets `RENTREE_SLURM=1`; without that variable
//! the test says it did not run and passes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rentree-slurm-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rentree(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_rentree")).args(args).output().unwrap();
    assert!(out.status.success(), "rentree {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_slurm_array_of_four_tasks_merges_to_the_local_sweep() {
    if std::env::var_os("RENTREE_SLURM").is_none() {
        eprintln!("not run: start a cluster with scripts/slurm-cluster.sh start and set RENTREE_SLURM=1");
        return;
    }
    let d = scratch("array");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/textbook/erlang-a.toml");
    let exp = d.join("experiment.toml");
    std::fs::write(
        &exp,
        format!(
            r#"[experiment]
name = "slurm test"
scenario = "{}"
replications = 3
seed = 5
design = "grid"
[grid]
"platforms.server.pool.servers" = [18, 20, 22, 24]
"scenario.horizon_s" = [2000.0]
"#,
            model.display()
        ),
    )
    .unwrap();
    let (local, cluster) = (d.join("local"), d.join("cluster"));
    rentree(&["sweep", exp.to_str().unwrap(), "--out", local.to_str().unwrap(), "--jobs", "2"]);
    rentree(&["slurm", exp.to_str().unwrap(), "--tasks", "4", "--out", cluster.to_str().unwrap()]);
    let script = cluster.join("sweep.sbatch");
    let submit = Command::new("bash").arg(&script).output().unwrap();
    assert!(submit.status.success(), "sbatch: {}{}", String::from_utf8_lossy(&submit.stdout), String::from_utf8_lossy(&submit.stderr));
    let ids = String::from_utf8_lossy(&submit.stdout).into_owned();
    // Wait for the merge job's tables (bounded).
    let t0 = Instant::now();
    let done = || ["runs", "configs", "timeseries"].iter().all(|t| cluster.join(format!("{t}.parquet")).exists());
    while !done() && t0.elapsed() < Duration::from_secs(240) {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(done(), "the merge job did not finish in 240 s ({ids}); logs in {}", cluster.display());
    // The four shards each wrote their own part of the runs.
    let shards = std::fs::read_dir(&cluster)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("manifest-shard-"))
        .count();
    assert_eq!(shards, 4, "{ids}");
    for t in ["runs", "configs", "timeseries"] {
        let (a, b) =
            (std::fs::read(local.join(format!("{t}.parquet"))).unwrap(), std::fs::read(cluster.join(format!("{t}.parquet"))).unwrap());
        assert_eq!(a, b, "{t}.parquet differs between the local sweep and the Slurm array");
    }
}
