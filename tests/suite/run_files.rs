//! `rentree run` writes the three files, they read back, and a run is a deterministic function of its seed.

use polars::prelude::DataType;
use rentree::metrics::columns::ColumnType;
use rentree::metrics::{Column, MinuteColumn, SummaryColumn};
use rentree::output::read_parquet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rentree-run-files-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(model: &str, out: &Path, extra: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_rentree"))
        .arg("run")
        .arg(repo(model))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("binary runs");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
}

#[test]
fn every_textbook_model_writes_three_files_that_read_back() {
    for entry in std::fs::read_dir(repo("models/textbook")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "mmc-bench" {
            continue; // the long benchmark horizon; covered by the benches
        }
        let out = out_dir(&name);
        run(&format!("models/textbook/{name}.toml"), &out, &[]);
        let summary = read_parquet(&out.join("summary.parquet")).unwrap();
        assert_eq!(summary.height(), 1, "{name}");
        // The files carry exactly the registry's columns, in its order, with its types.
        let names = |df: &polars::prelude::DataFrame| df.get_column_names().iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&summary), SummaryColumn::ALL.iter().map(|c| c.name()).collect::<Vec<_>>(), "{name}");
        for c in SummaryColumn::ALL {
            let dtype = summary.column(c.name()).unwrap().dtype().clone();
            let expected = match c.column_type() {
                ColumnType::U64 => DataType::UInt64,
                ColumnType::F64 => DataType::Float64,
                ColumnType::Str => DataType::String,
            };
            assert_eq!(dtype, expected, "{name}: {c}");
        }
        let ts = read_parquet(&out.join("timeseries.parquet")).unwrap();
        let text = std::fs::read_to_string(repo(&format!("models/textbook/{name}.toml"))).unwrap();
        let horizon: f64 = text.lines().find_map(|l| l.strip_prefix("horizon_s = ")).unwrap().parse().unwrap();
        assert_eq!(ts.height() as f64, (horizon / 60.0).ceil(), "{name}: one row per simulated minute");
        assert_eq!(names(&ts), MinuteColumn::ALL.iter().map(|c| c.name()).collect::<Vec<_>>(), "{name}");
        let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
        for key in ["rentree_version", "scenario_sha256", "seed", "events", "wall_s"] {
            assert!(manifest.get(key).is_some(), "{name}: manifest lacks {key}");
        }
        assert_eq!(manifest["events"].as_u64().unwrap(), summary.column("events").unwrap().u64().unwrap().get(0).unwrap());
        // No temporary file is left behind.
        let leftovers: Vec<_> =
            std::fs::read_dir(&out).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().ends_with(".tmp")).collect();
        assert!(leftovers.is_empty(), "{name}: temporary files left: {leftovers:?}");
    }
}

#[test]
fn same_seed_gives_byte_identical_files_and_another_seed_differs() {
    let (a, b, c) = (out_dir("seed-a"), out_dir("seed-b"), out_dir("seed-c"));
    run("models/textbook/erlang-a.toml", &a, &["--seed", "7"]);
    run("models/textbook/erlang-a.toml", &b, &["--seed", "7"]);
    run("models/textbook/erlang-a.toml", &c, &["--seed", "8"]);
    for f in ["summary.parquet", "timeseries.parquet"] {
        let (fa, fb, fc) = (std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), std::fs::read(c.join(f)).unwrap());
        assert_eq!(fa, fb, "{f} differs between two runs with the same seed");
        assert_ne!(fa, fc, "{f} is the same for two different seeds");
    }
}

#[test]
fn csv_format_writes_csv_beside_parquet() {
    let out = out_dir("csv");
    run("models/textbook/mm1.toml", &out, &["--format", "both"]);
    for f in ["summary.parquet", "summary.csv", "timeseries.parquet", "timeseries.csv", "manifest.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.contains("mean_wait_s") && header.contains("arrivals"), "{header}");
    assert_eq!(csv.lines().count(), 2);
}

#[test]
fn overrides_change_the_run_and_the_hash() {
    let (a, b) = (out_dir("ovr-a"), out_dir("ovr-b"));
    run("models/textbook/mmc.toml", &a, &[]);
    run("models/textbook/mmc.toml", &b, &["--set", "platforms.server.pool.servers=60"]);
    let ma: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(a.join("manifest.json")).unwrap()).unwrap();
    let mb: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(b.join("manifest.json")).unwrap()).unwrap();
    assert_ne!(ma["scenario_sha256"], mb["scenario_sha256"]);
    let wa = read_parquet(&a.join("summary.parquet")).unwrap().column("mean_wait_s").unwrap().f64().unwrap().get(0).unwrap();
    let wb = read_parquet(&b.join("summary.parquet")).unwrap().column("mean_wait_s").unwrap().f64().unwrap().get(0).unwrap();
    assert!(wb < wa / 5.0, "60 servers should wait far less than 50: {wb} vs {wa}");
}

#[test]
fn init_writes_a_starting_scenario_that_validates_and_runs_and_never_overwrites() {
    let dir = crate::common::scratch("run-files", "init");
    let file = dir.join("desk.toml");
    let file_s = file.to_str().unwrap();
    let (code, stdout, stderr) = crate::common::rentree(&["init", "desk", "--out", file_s]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), file_s);
    // It validates (with its variants) and runs as written, and the run reads back.
    let (code, stdout, stderr) = crate::common::rentree(&["validate", file_s]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("twice-the-servers") && stdout.contains("no-quota"), "{stdout}");
    let out = dir.join("out");
    let (code, _, stderr) = crate::common::rentree(&["run", file_s, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let summary = read_parquet(&out.join("summary.parquet")).unwrap();
    let cohorts: Vec<&str> = summary.column("cohort").unwrap().str().unwrap().iter().flatten().collect();
    assert_eq!(cohorts, ["all", "pupils", "staff"]);
    let minutes = read_parquet(&out.join("timeseries.parquet")).unwrap();
    assert!(minutes.column("platform").unwrap().str().unwrap().iter().flatten().all(|p| p == "desk"));
    let served = summary.column("served").unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().get(0).unwrap();
    assert!(served > 100_000.0, "the morning serves its pages: {served}");
    // A second init does not replace the file (exit 2, naming it); --force does.
    std::fs::write(&file, "# my edits\n").unwrap();
    let (code, _, stderr) = crate::common::rentree(&["init", "desk", "--out", file_s]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(file_s) && stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# my edits\n");
    let (code, _, stderr) = crate::common::rentree(&["init", "desk", "--out", file_s, "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::read_to_string(&file).unwrap().contains("[platforms.desk.pool]"));
    // A name that cannot be a table's key is refused with what is expected.
    let (code, _, stderr) = crate::common::rentree(&["init", "my desk", "--out", dir.join("x.toml").to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("PLATFORM_NAME") && stderr.contains("letters"), "{stderr}");
    assert!(!dir.join("x.toml").exists());
}
