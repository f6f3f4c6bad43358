//! A results folder is one run or nothing: a rerun killed (or failing) at any point leaves either a complete
//! folder whose tables all carry its manifest's run id, or a folder `rentree report` refuses; never a mix.

use rentree::output::{check_results, parquet_run_id, read_parquet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

fn repo(path: &str) -> PathBuf {
    common::repo(path)
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("results-folder", name)
}

/// `rentree run` of the built-in replay, small (three tables: summary, timeseries, access; a fraction of a
/// second) unless `extra` gives a `--scale`.
fn run_command(out: &Path, seed: u64, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rentree"));
    c.arg("run").arg("--out").arg(out).arg("--seed").arg(seed.to_string()).args(extra);
    if !extra.contains(&"--scale") {
        c.args(["--scale", "0.002"]);
    }
    c
}

/// Runs the small replay into `out` (asserting success).
fn run(out: &Path, seed: u64, extra: &[&str]) {
    let o = run_command(out, seed, extra).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `rentree report DIR`: exit code and stderr.
fn report(dir: &Path) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_rentree"))
        .arg("report")
        .arg(dir)
        .arg("--out")
        .arg(dir.with_extension("briefing"))
        .output()
        .unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn run_id(dir: &Path) -> String {
    manifest(dir)["run_id"].as_str().unwrap().to_owned()
}

/// The folder is one complete run: `report` accepts it, every table the manifest lists reads back and (for
/// Parquet) carries the manifest's run id, which is `expected`.
fn assert_one_run(dir: &Path, expected: &str) {
    let (code, err) = report(dir);
    assert_eq!(code, 0, "{err}");
    let checked = check_results(dir).unwrap();
    assert_eq!(checked.run_id, expected);
    for name in &checked.files {
        if name.ends_with(".parquet") {
            assert!(read_parquet(&dir.join(name)).unwrap().height() > 0, "{name}");
            assert_eq!(parquet_run_id(&dir.join(name)).unwrap().as_deref(), Some(expected), "{name}");
        }
    }
}

/// The folder is refused as an interrupted one.
fn assert_refused_as_incomplete(dir: &Path) {
    let (code, err) = report(dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&dir.display().to_string()), "names the folder: {err}");
    assert!(err.contains("no manifest.json: the run was interrupted or is still being written; rerun it"), "{err}");
}

/// The run ids of the replay with seeds 1 and 2, from reference folders.
fn reference_ids(d: &Path, extra: &[&str]) -> [String; 2] {
    [1, 2].map(|seed| {
        let r = d.join(format!("ref-{seed}"));
        run(&r, seed, extra);
        run_id(&r)
    })
}

#[test]
fn a_rerun_killed_at_any_point_leaves_one_run_or_a_refused_folder() {
    let d = scratch("kill");
    let ids = reference_ids(&d, &[]);
    assert_ne!(ids[0], ids[1]);
    let dir = d.join("run");
    let full = {
        let t0 = Instant::now();
        run(&dir, 1, &[]);
        t0.elapsed()
    };
    let (mut complete, mut refused) = (0, 0);
    // Two ways to pick the moment: a delay after the start spread over the whole run (mostly the simulation,
    // when the old run is still intact), and a delay after the old manifest disappears (the writing, when
    // the folder mixes tables of both runs).
    let after_start: Vec<Duration> = (0..8).map(|k| full.mul_f64(k as f64 / 6.0)).collect();
    let after_withdrawal: Vec<Duration> = [0, 100, 300, 1000, 3000, 10_000].map(Duration::from_micros).to_vec();
    let moments = after_start.iter().map(|t| (false, *t)).chain(after_withdrawal.iter().map(|t| (true, *t)));
    for (k, (wait_for_withdrawal, delay)) in moments.enumerate() {
        // Start from a complete folder of one seed (a rerun over a refused folder must repair it), then kill
        // a rerun with the other.
        let (old, new) = if k % 2 == 0 { (0, 1) } else { (1, 0) };
        run(&dir, old as u64 + 1, &[]);
        assert_one_run(&dir, &ids[old]);
        let mut child = run_command(&dir, new as u64 + 1, &[]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let mut withdrawn = false;
        if wait_for_withdrawal {
            let t0 = Instant::now();
            while child.try_wait().unwrap().is_none() && t0.elapsed() < Duration::from_secs(60) {
                if !dir.join("manifest.json").exists() {
                    withdrawn = true;
                    break;
                }
            }
        }
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        let status = child.wait().unwrap();
        let (code, err) = report(&dir);
        if code == 0 {
            // Complete: the old run if the rerun never reached the writing, else the new one; all its tables.
            let id = run_id(&dir);
            assert!(id == ids[old] || id == ids[new], "run id {id} is neither run's");
            if withdrawn {
                assert_eq!(id, ids[new], "the old manifest was withdrawn, so only the new one may vouch for the folder");
            }
            assert_one_run(&dir, &id);
            complete += 1;
        } else {
            assert!(status.code().is_none(), "the rerun finished ({status}) but left a folder report refuses: {err}");
            assert_refused_as_incomplete(&dir);
            refused += 1;
        }
    }
    eprintln!("kills: {complete} left a complete folder, {refused} a refused one");
    run(&dir, 2, &[]);
    assert_one_run(&dir, &ids[1]);
}

#[test]
fn a_rerun_that_fails_after_each_table_leaves_a_refused_folder_until_rerun() {
    // A deterministic interruption (the same path as a full disk): a directory squats the name of the k-th
    // table, so the rerun writes the tables before it, fails on it and exits 2.
    let d = scratch("fail");
    let ids = reference_ids(&d, &["--format", "both"]);
    let order = ["summary.parquet", "summary.csv", "timeseries.parquet", "timeseries.csv", "access.parquet", "access.csv"];
    for (k, blocked) in order.iter().enumerate() {
        let dir = d.join(format!("run-{k}"));
        run(&dir, 1, &["--format", "both"]);
        assert_one_run(&dir, &ids[0]);
        std::fs::remove_file(dir.join(blocked)).unwrap();
        std::fs::create_dir(dir.join(blocked)).unwrap();
        let o = run_command(&dir, 2, &["--format", "both"]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
        // The folder mixes the runs: the tables before the k-th are the new run's, those after the old one's…
        for name in order[..k].iter().filter(|n| n.ends_with(".parquet")) {
            assert_eq!(parquet_run_id(&dir.join(name)).unwrap().as_deref(), Some(ids[1].as_str()), "{name}");
        }
        for name in order[k + 1..].iter().filter(|n| n.ends_with(".parquet")) {
            assert_eq!(parquet_run_id(&dir.join(name)).unwrap().as_deref(), Some(ids[0].as_str()), "{name}");
        }
        // …and so it has no manifest, and the report refuses it.
        assert!(!dir.join("manifest.json").exists());
        assert_refused_as_incomplete(&dir);
        std::fs::remove_dir(dir.join(blocked)).unwrap();
        run(&dir, 2, &["--format", "both"]);
        assert_one_run(&dir, &ids[1]);
    }
}

#[test]
fn report_refuses_a_table_from_another_run_a_missing_table_and_a_changed_csv() {
    let d = scratch("mix");
    let (a, b) = (d.join("a"), d.join("b"));
    run(&a, 1, &["--format", "both"]);
    run(&b, 2, &["--format", "both"]);
    let (id_a, id_b) = (run_id(&a), run_id(&b));
    assert_one_run(&a, &id_a);

    // Summary of run B copied into run A's folder.
    std::fs::copy(b.join("summary.parquet"), a.join("summary.parquet")).unwrap();
    let (code, err) = report(&a);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&a.display().to_string()) && err.contains("summary.parquet"), "{err}");
    assert!(err.contains(&format!("carries run {id_b} but manifest.json is run {id_a}")) && err.contains("mixes two runs"), "{err}");
    std::fs::copy(b.join("timeseries.parquet"), a.join("timeseries.parquet")).unwrap();
    assert_eq!(report(&a).0, 2);

    // A table the manifest lists, gone.
    run(&a, 1, &["--format", "both"]);
    std::fs::remove_file(a.join("access.parquet")).unwrap();
    let (code, err) = report(&a);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("manifest.json lists access.parquet, which is missing"), "{err}");

    // A CSV carries no run id: its SHA-256 in the manifest is what ties it to the run.
    run(&a, 1, &["--format", "both"]);
    std::fs::copy(b.join("timeseries.csv"), a.join("timeseries.csv")).unwrap();
    let (code, err) = report(&a);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("timeseries.csv has sha256") && err.contains("but manifest.json expects"), "{err}");

    // No manifest at all.
    run(&a, 1, &[]);
    std::fs::remove_file(a.join("manifest.json")).unwrap();
    assert_refused_as_incomplete(&a);
}

#[test]
fn a_rerun_removes_the_tables_it_does_not_write() {
    let d = scratch("stale");
    let dir = d.join("run");
    // The replay writes access tables, and both formats; the M/M/1 rerun writes Parquet without access.
    run(&dir, 1, &["--format", "both"]);
    for f in ["summary.csv", "access.parquet", "access.csv"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_rentree"))
        .args(["run", repo("models/textbook/mm1.toml").to_str().unwrap(), "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["summary.csv", "timeseries.csv", "access.parquet", "access.csv"] {
        assert!(!dir.join(f).exists(), "{f} survived beside the new manifest");
    }
    let m = manifest(&dir);
    let listed: Vec<&str> = m["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(listed, ["summary.parquet", "timeseries.parquet"]);
    for f in m["files"].as_array().unwrap() {
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
    }
    assert_one_run(&dir, m["run_id"].as_str().unwrap());
}

#[test]
fn the_run_id_is_a_function_of_the_inputs() {
    let d = scratch("id");
    let (a, b) = (d.join("a"), d.join("b"));
    run(&a, 3, &[]);
    run(&b, 3, &[]);
    assert_eq!(run_id(&a), run_id(&b));
    for f in ["summary.parquet", "timeseries.parquet", "access.parquet"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
    assert_eq!(manifest(&a)["files"], manifest(&b)["files"]);
    // Seed, scale and format each change it.
    let c = d.join("c");
    for (seed, extra) in [(4, &[][..]), (3, &["--format", "both"][..]), (3, &["--scale", "0.003"][..])] {
        run(&c, seed, extra);
        assert_ne!(run_id(&c), run_id(&a), "seed {seed} {extra:?}");
    }
}

/// An M/M/20 that states its faithful scale (0.5): at 0.1 it is the M/M/2 of the other tests.
fn measured() -> String {
    common::MM2
        .replace("horizon_s = 100.0", "horizon_s = 600.0\nfaithful_scale = 0.5")
        .replace("rate_per_s = 1.0", "rate_per_s = 10.0")
        .replace("servers = 2\n", "servers = 20\n")
}

#[test]
fn a_run_below_its_faithful_scale_says_so_in_its_message_manifest_and_briefing() {
    let dir = scratch("faithful");
    let file = dir.join("scenario.toml");
    std::fs::write(&file, measured()).unwrap();
    let f = file.to_str().unwrap();
    for (scale, warned) in [("0.1", true), ("0.5", false), ("1", false)] {
        let out = dir.join(format!("out-{scale}"));
        let o = out.to_str().unwrap();
        let (code, _, stderr) = common::rentree(&["run", f, "--scale", scale, "--out", o]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stderr.contains("warning:"), warned, "scale {scale}: {stderr}");
        let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["faithful_scale"].as_f64(), Some(0.5));
        assert_eq!(manifest["scale_warning"].is_string(), warned, "scale {scale}: {manifest}");
        let (code, _, stderr) = common::rentree(&["report", o, "--lang", "en"]);
        assert_eq!(code, 0, "{stderr}");
        let page = std::fs::read_to_string(out.join("briefing").join("briefing-en.html")).unwrap();
        assert_eq!(page.contains("class=\"scale warning\""), warned, "scale {scale}");
        assert!(page.contains(&format!("scale {scale}")) || page.contains(&format!("Scale: {scale}")), "scale {scale}: the page states it");
        if warned {
            assert!(page.contains("rerun at scale 0.5 or more"));
            let (code, _, _) = common::rentree(&["report", o, "--lang", "fr"]);
            assert_eq!(code, 0);
            let page = std::fs::read_to_string(out.join("briefing").join("briefing-fr.html")).unwrap();
            assert!(page.contains("relancer à l'échelle 0,5 ou plus"), "the French page warns too");
        }
    }
    // A reduced scale whose bias was never measured is flagged too.
    let unmeasured = dir.join("unmeasured.toml");
    std::fs::write(&unmeasured, measured().replace("faithful_scale = 0.5\n", "")).unwrap();
    let (code, _, stderr) =
        common::rentree(&["run", unmeasured.to_str().unwrap(), "--scale", "0.5", "--out", dir.join("u").to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("never measured"), "{stderr}");
}

#[test]
fn size_refuses_a_biased_scale_unless_told_to_explore() {
    let dir = scratch("size-scale");
    let file = dir.join("scenario.toml");
    std::fs::write(&file, measured()).unwrap();
    let args = |scale: &'static str, extra: &'static [&'static str]| {
        let mut a = vec!["size", file.to_str().unwrap(), "--target", "mean_wait_s<=1", "--knob", "platforms.desk.pool.servers"];
        a.extend_from_slice(&["--range", "1..40", "--replications", "2", "--scale", scale]);
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let call = |a: Vec<String>| common::rentree(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let (code, _, stderr) = call(args("0.1", &[]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--scale 0.1") && stderr.contains("at least 0.5") && stderr.contains("--allow-biased-scale"), "{stderr}");
    let (code, stdout, stderr) = call(args("0.1", &["--allow-biased-scale"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("answer:") && stderr.contains("warning:"), "{stdout}{stderr}");
    let (code, _, stderr) = call(args("0.5", &[]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning:"), "{stderr}");
}
