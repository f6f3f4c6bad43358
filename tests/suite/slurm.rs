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

/// Runs `rentree args…` and returns its stdout, asserting success.
fn rentree_out(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rentree")).args(args).output().unwrap();
    assert!(out.status.success(), "rentree {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_selection_a_sensitivity_analysis_and_a_stability_study_staged_on_slurm_write_the_local_bytes() {
    // Each stage of the procedure is a job array waited for (`--slurm TASKS`); an optimisation's stages go
    // through the same path (`sweep::execute`), one array per iteration of its search.
    if std::env::var_os("RENTREE_SLURM").is_none() {
        eprintln!("not run: start a cluster with scripts/slurm-cluster.sh start and set RENTREE_SLURM=1");
        return;
    }
    let d = scratch("stages");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/textbook/mmc.toml");
    let exp = d.join("select.toml");
    std::fs::write(
        &exp,
        format!(
            "[experiment]\nname = \"servers\"\nscenario = \"{}\"\nreplications = 2\nseed = 7\ndesign = \"grid\"\n[grid]\n\
             \"platforms.server.pool.servers\" = [48, 50, 52, 55]\n\"scenario.horizon_s\" = [1500.0]\n",
            model.display()
        ),
    )
    .unwrap();
    let select = |out: &Path, extra: &[&str]| {
        // δ = 0.0015 s takes KN four screening stages after the feasibility check's first (measured locally).
        let mut args = vec!["select", exp.to_str().unwrap(), "--metric", "mean_wait_s", "--minimize", "--delta", "0.0015"];
        args.extend_from_slice(&["--constraint", "utilization>=0.85+-0.01", "--out", out.to_str().unwrap()]);
        args.extend_from_slice(extra);
        rentree_out(&args)
    };
    let (local, cluster) = (d.join("select-local"), d.join("select-cluster"));
    let said = select(&local, &["--jobs", "2"]);
    assert_eq!(select(&cluster, &["--slurm", "3"]), said.replace(&local.display().to_string(), &cluster.display().to_string()));
    let stages = std::fs::read_dir(cluster.join("stages"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    assert!(stages >= 4, "a feasibility check then screening stages: {stages} stage(s)");
    for t in ["selection", "runs", "configs", "timeseries"] {
        let (a, b) =
            (std::fs::read(local.join(format!("{t}.parquet"))).unwrap(), std::fs::read(cluster.join(format!("{t}.parquet"))).unwrap());
        assert_eq!(a, b, "{t}.parquet differs between the local selection and the staged one");
    }
    let exp = d.join("sensitivity.toml");
    std::fs::write(
        &exp,
        format!(
            "[experiment]\nname = \"mmc sensitivity\"\nscenario = \"{}\"\nreplications = 2\nseed = 9\ndesign = \"lhs\"\n[lhs]\nsamples = 2\n\
             ranges = {{ \"cohorts.customers.arrivals.rate_per_s\" = {{ min = 40.0, max = 42.0 }}, \"platforms.server.pool.servers\" = {{ min = 48, max = 54, integer = true }} }}\n",
            model.display()
        ),
    )
    .unwrap();
    let (local, cluster) = (d.join("sens-local"), d.join("sens-cluster"));
    for (out, extra) in [(&local, ["--jobs", "2"]), (&cluster, ["--slurm", "4"])] {
        let mut args = vec!["sensitivity", exp.to_str().unwrap(), "--metric", "mean_wait_s", "--method", "morris", "--trajectories", "3"];
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        args.extend_from_slice(&extra);
        rentree_out(&args);
    }
    for t in ["sensitivity", "runs", "configs"] {
        let (a, b) =
            (std::fs::read(local.join(format!("{t}.parquet"))).unwrap(), std::fs::read(cluster.join(format!("{t}.parquet"))).unwrap());
        assert_eq!(a, b, "{t}.parquet differs between the local analysis and the staged one");
    }
    // A stability study: the configurations and their baseline twins, one array.
    let exp = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/retrial-stability/constant.toml");
    let (local, cluster) = (d.join("stab-local"), d.join("stab-cluster"));
    for (out, extra) in [(&local, ["--jobs", "2"]), (&cluster, ["--slurm", "3"])] {
        let mut args = vec!["stability", exp.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend_from_slice(&extra);
        rentree_out(&args);
    }
    for t in ["stability", "runs", "configs", "timeseries"] {
        let (a, b) =
            (std::fs::read(local.join(format!("{t}.parquet"))).unwrap(), std::fs::read(cluster.join(format!("{t}.parquet"))).unwrap());
        assert_eq!(a, b, "{t}.parquet differs between the local stability study and the staged one");
    }
}

#[test]
fn a_calibration_staged_on_slurm_writes_the_local_bytes() {
    // Each generation is a job array, the early generations' reduced scale included (the batch carries it).
    if std::env::var_os("RENTREE_SLURM").is_none() {
        eprintln!("not run: start a cluster with scripts/slurm-cluster.sh start and set RENTREE_SLURM=1");
        return;
    }
    let d = scratch("calibrate");
    std::fs::write(
        d.join("queue.toml"),
        "[scenario]\nname = \"queue\"\nhorizon_s = 600.0\nwarmup_s = 0.0\nfaithful_scale = 0.5\n[cohorts.callers]\nplatform = \"desk\"\n\
         arrivals = { process = \"poisson\", rate_per_s = 8.0 }\n[platforms.desk.pool]\nservers = 10\n\
         service = { dist = \"exponential\", mean_s = 1.0 }\n",
    )
    .unwrap();
    let cal = d.join("calibration.toml");
    std::fs::write(
        &cal,
        "[calibration]\nname = \"staged\"\nscenario = \"queue.toml\"\nparticles = 20\nmax_generations = 3\nmin_epsilon_drop = 0.0\n\
         early_scale = 0.5\nearly_generations = 1\npredictive = 4\nseed = 2\n[parameters]\n\
         \"cohorts.callers.arrivals.rate_per_s\" = { prior = \"uniform\", min = 2.0, max = 20.0 }\n\
         [targets]\n\"all.served\" = { value = 4800, sd = 50 }\n",
    )
    .unwrap();
    let (local, cluster) = (d.join("local"), d.join("cluster"));
    let said = rentree_out(&["calibrate", cal.to_str().unwrap(), "--jobs", "2", "--out", local.to_str().unwrap()]);
    let staged = rentree_out(&["calibrate", cal.to_str().unwrap(), "--slurm", "2", "--out", cluster.to_str().unwrap()]);
    assert_eq!(staged, said.replace(&local.display().to_string(), &cluster.display().to_string()));
    let stages = std::fs::read_dir(cluster.join("stages"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    // Three generations, the early population again at the target scale, the predictive runs.
    assert_eq!(stages, 5, "one array per batch");
    for f in ["posterior.parquet", "predictive.parquet", "calibrated.toml", "posterior-draws.toml"] {
        assert_eq!(std::fs::read(local.join(f)).unwrap(), std::fs::read(cluster.join(f)).unwrap(), "{f} differs between local and staged");
    }
}
