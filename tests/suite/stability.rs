//! `rentree stability`: the stability maps of the M/M/1 retrial queue put each boundary where retrial-queue
//! theory does (Artalejo and Falin 2002); the study's files are the same bytes whatever `--jobs` and after a
//! resume; bad `[stability]` tables are refused with the file and the field.

use rentree::decide::recovery::Class;
use rentree::sweep::experiment::Experiment;
use rentree::sweep::stability::{stability, StabilityOptions, StabilityOutcome};
use std::path::{Path, PathBuf};

use crate::common;

/// Service rate of the retrial queue's one server, per second (`retrial.toml`: mean 0.05 s).
const MU: f64 = 20.0;

fn study(experiment: &str, out: PathBuf) -> StabilityOutcome {
    let e = Experiment::load(&common::repo(&format!("experiments/retrial-stability/{experiment}"))).unwrap();
    let options = StabilityOptions { out, jobs: 2, resume: false, progress: false, budget: Default::default(), cluster: None };
    stability(&e, &options).unwrap()
}

/// Each configuration's arrival rate and outcome.
fn loads(outcome: &StabilityOutcome) -> Vec<(f64, &rentree::sweep::stability::ConfigStability)> {
    outcome.configs.iter().map(|c| (c.params[0].1.parse::<f64>().unwrap(), c)).collect()
}

/// Below the boundary the median run recovers and the probability of never recovering is below one half
/// with 95% confidence (Wilson); above it, the opposite. The grid's loads sit where the fluid drift of the
/// orbit (theory: the server completes mu (lambda + r) / (mu + lambda + r) requests a second while the orbit retries at
/// rate r) drains the surge within the horizon below the boundary.
fn assert_boundary(outcome: &StabilityOutcome, boundary: f64) {
    let mut below = 0;
    let mut above = 0;
    for (lambda, c) in loads(outcome) {
        let v = &c.verdict;
        if lambda < boundary {
            below += 1;
            assert_ne!(v.class, Class::Metastable, "load {lambda} below the boundary {boundary}: {v:?}");
            assert!(v.p_not_recovered.2 < 0.5, "load {lambda}: {v:?}");
        } else {
            above += 1;
            assert_eq!(v.class, Class::Metastable, "load {lambda} above the boundary {boundary}: {v:?}");
            assert!(v.p_not_recovered.1 > 0.5, "load {lambda}: {v:?}");
            // The users the surge sent away are still there: the orbit excess is the surge's order.
            assert!(c.mean_peak_excess_orbit > 1000.0, "load {lambda}: {}", c.mean_peak_excess_orbit);
        }
        // Metastable is not collapsed: past the boundary the server still works at capacity, as its twin
        // does, only the surge's users never leave; below it the surge only adds work.
        assert_eq!(c.collapsed_min.iter().sum::<usize>(), 0, "load {lambda}: {:?}", c.collapsed_min);
    }
    assert!(below >= 2 && above >= 2, "the grid brackets the boundary");
}

#[test]
fn classical_come_backs_are_stable_iff_rho_is_below_one() {
    let d = common::scratch("stability", "classical");
    let outcome = study("classical.toml", d.join("out"));
    assert_boundary(&outcome, MU);
}

#[test]
fn a_constant_retrial_rate_is_stable_iff_rho_is_below_alpha_over_lambda_plus_alpha() {
    let d = common::scratch("stability", "constant");
    let outcome = study("constant.toml", d.join("out"));
    // alpha = 1 / 0.05 s = mu: rho < alpha / (lambda + alpha) ⇔ lambda² + alpha lambda − alpha mu < 0.
    let alpha = 20.0;
    let boundary = (-alpha + (alpha * alpha + 4.0 * alpha * MU).sqrt()) / 2.0;
    assert!((boundary - 12.36).abs() < 0.01);
    assert_boundary(&outcome, boundary);
    // Recovery slows as the load nears the boundary: the orbit's drift towards empty, mu (lambda + alpha) /
    // (mu + lambda + alpha) − lambda, falls from 3.7/s at 8 to 1.2/s at 11.
    let medians: Vec<f64> = loads(&outcome).into_iter().filter(|(l, _)| *l < boundary).map(|(_, c)| c.verdict.median_s.0).collect();
    assert!(medians.windows(2).all(|w| w[0] < w[1]), "{medians:?}");
    // The study is in the folder: its tables, and its note in the manifest.
    let manifest = std::fs::read_to_string(d.join("out/manifest.json")).unwrap();
    assert!(manifest.contains("\"stability\"") && manifest.contains("stability.parquet"), "{manifest}");
    // Each triggered run's recovery, read back from its Parquet table: one row per (configuration,
    // replication), the same times the summary was made of.
    let runs = rentree::output::read_table(&d.join("out/stability_runs.parquet")).unwrap();
    let expected: Vec<Option<f64>> = outcome.configs.iter().flat_map(|c| c.times_s.clone()).collect();
    assert_eq!(runs.height, expected.len());
    let (recovered, times) = (runs.num("recovered").unwrap(), runs.num("recovery_s").unwrap());
    for (i, t) in expected.iter().enumerate() {
        assert_eq!(recovered[i] == 1.0, t.is_some(), "row {i}");
        assert!(t.map_or(times[i].is_nan(), |t| times[i] == t), "row {i}: {} against {t:?}", times[i]);
    }
    let collapsed: Vec<f64> = outcome.configs.iter().flat_map(|c| c.collapsed_min.iter().map(|&m| m as f64)).collect();
    assert_eq!(runs.num("collapsed_min").unwrap(), collapsed);
    // The briefing says where recovery stops, in both languages, and draws the map and the curves.
    let out = d.join("out");
    for (lang, said) in [
        ("en", "Between cohorts.pupils.arrivals.rate_per_s = 11.0 and cohorts.pupils.arrivals.rate_per_s = 13.0, portal stops recovering"),
        ("fr", "Entre cohorts.pupils.arrivals.rate_per_s = 11.0 et cohorts.pupils.arrivals.rate_per_s = 13.0, portal cesse de se rétablir"),
    ] {
        let (code, _, stderr) =
            common::rentree(&["report", out.to_str().unwrap(), "--lang", lang, "--out", d.join("briefing").to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains(said), "{stderr}");
        let page = std::fs::read_to_string(d.join(format!("briefing/briefing-{lang}.html"))).unwrap();
        for id in ["stability", "recovery", "orbit_excess"] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{lang}: no chart {id}");
        }
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    ["stability.parquet", "stability_runs.parquet", "configs.parquet", "runs.parquet", "timeseries.parquet"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
        .collect()
}

#[test]
fn one_and_two_jobs_and_a_resume_write_the_same_bytes() {
    let d = common::scratch("stability", "bytes");
    let e = common::repo("experiments/retrial-stability/constant.toml");
    let e = e.to_str().unwrap();
    let (one, two) = (d.join("one"), d.join("two"));
    for (out, jobs) in [(&one, "1"), (&two, "2")] {
        let (code, stdout, stderr) = common::rentree(&["stability", e, "--out", out.to_str().unwrap(), "--jobs", jobs]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("metastable") && stdout.contains("arrivals.rate_per_s=8.0"), "{stdout}");
    }
    assert_eq!(files(&one), files(&two));
    // A study that lost some runs (killed) and its manifest resumes to the same bytes, running only those.
    std::fs::remove_file(two.join("manifest.json")).unwrap();
    for f in ["c0001-r0003.json", "c0008-r0000.json"] {
        std::fs::remove_file(two.join("runs").join(f)).unwrap();
    }
    let (code, _, stderr) = common::rentree(&["stability", e, "--out", two.to_str().unwrap(), "--resume"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("2 run(s) executed"), "{stderr}");
    assert_eq!(files(&one), files(&two));
}

#[test]
fn bad_stability_tables_are_refused_with_the_file_and_the_field() {
    let d = common::scratch("stability", "bad");
    std::fs::copy(common::repo("experiments/retrial-stability/retrial.toml"), d.join("retrial.toml")).unwrap();
    let good = std::fs::read_to_string(common::repo("experiments/retrial-stability/constant.toml")).unwrap();
    let cases: Vec<(String, &str, &str)> = vec![
        (good.replace("band = 0.15", "band = 1.5"), "stability.band", "1.5"),
        (good.replace("platform = \"portal\"", "platform = \"portl\""), "stability.platform", "portal"),
        (good.replace("removal_s = 660.0", "removal_s = 9000.0"), "stability.removal_s", "horizon"),
        (good.replace("seed = 20210406", "seed = 20210406\ncrn = false"), "experiment.crn", "same random streams"),
        (good.replace("\"cohorts.surge.arrivals.count\" = 0", "\"cohorts.surge.arrivals.cont\" = 0"), "stability.baseline", "cont"),
        (good.replace("baseline = { \"cohorts.surge.arrivals.count\" = 0 }", "baseline = {}"), "stability.baseline", "trigger"),
        (good.replace("slow_s = 900.0", "slow_s = 900.0\nbnad = 0.1"), "bnad", "unknown field"),
        (good.replace("[stability]", "[stabilty]"), "stabilty", "unknown field"),
    ];
    for (i, (text, field, hint)) in cases.iter().enumerate() {
        let p = d.join(format!("bad{i}.toml"));
        std::fs::write(&p, text).unwrap();
        let (code, _, stderr) = common::rentree(&["stability", p.to_str().unwrap(), "--out", d.join("out").to_str().unwrap()]);
        assert_eq!(code, 2, "case {i}: {stderr}");
        assert!(stderr.contains(&format!("bad{i}.toml")) && stderr.contains(field) && stderr.contains(hint), "case {i}: {stderr}");
        // `rentree validate` finds the same problem, twins included, before any run.
        let (code, stdout, stderr) = common::rentree(&["validate", p.to_str().unwrap()]);
        assert_eq!(code, 2, "case {i}: {stdout}{stderr}");
        assert!(stderr.contains(field) && !stdout.contains("valid experiment"), "case {i}: {stdout}{stderr}");
    }
    // An experiment without a [stability] table.
    let p = d.join("plain.toml");
    let plain = &good[..good.find("[stability]").unwrap()];
    std::fs::write(&p, plain).unwrap();
    let (code, _, stderr) = common::rentree(&["stability", p.to_str().unwrap(), "--out", d.join("out").to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("plain.toml") && stderr.contains("[stability]"), "{stderr}");
}

/// Every file the studies ship is valid as written, and each stability study's twins build: a study folder
/// whose command fails from a clean checkout would be a study nobody can repeat.
#[test]
fn every_shipped_experiment_and_scenario_validates() {
    let mut said = std::collections::BTreeMap::new();
    for dir in std::fs::read_dir(common::repo("experiments")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "toml") {
                let (code, out, err) = common::rentree(&["validate", file.to_str().unwrap()]);
                assert_eq!(code, 0, "{}: {out}{err}", file.display());
                said.insert(file.strip_prefix(common::repo("experiments")).unwrap().to_path_buf(), out);
            }
        }
    }
    assert!(said.len() >= 12, "only {} files found", said.len());
    // The replay's stability studies: each configuration beside its twin.
    for (file, configs) in [("capacity-loss.toml", 8), ("the-day.toml", 10), ("demand.toml", 5), ("bounded-queues.toml", 2)] {
        let out = &said[&Path::new("pronote-stability").join(file)];
        assert!(out.contains(&format!("{configs} configuration(s)")) && out.contains("baseline twin"), "{file}: {out}");
    }
}
