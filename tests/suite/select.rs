//! `rentree select`: the best configuration by Erlang C is the one selected, in fewer runs than the
//! fixed-sample baseline; the guarantee holds over repetitions of the whole procedure in the slippage
//! configuration; the same bytes whatever the jobs and after a resume; bad arguments are refused.

use rentree::analytic::erlang_c;
use rentree::decide::kn::Goal;
use rentree::metrics::SummaryColumn;
use rentree::sweep::experiment::Experiment;
use rentree::sweep::select::{select, SelectOptions, SelectOutcome};
use std::path::{Path, PathBuf};

use crate::common;

/// M/M/5 at λ = 4/s, μ = 1/s: the slower configurations.
const LAMBDA: f64 = 4.0;
/// The best configuration's arrival rate: its mean wait is lower by exactly the indifference zone.
const LAMBDA_BEST: f64 = 3.8;

/// The slippage configuration's indifference zone: the Erlang C difference of mean waits between the
/// best configuration and the others (0.1545 s).
fn delta() -> f64 {
    erlang_c(5, LAMBDA, 1.0).unwrap().mean_wait_s - erlang_c(5, LAMBDA_BEST, 1.0).unwrap().mean_wait_s
}

/// Writes an experiment of four M/M/5 configurations into `dir`: the first (`best`) at λ = 3.8/s, three at
/// λ = 4/s, independent streams (`crn = false`: the textbook setting of the guarantee), warmed up for 600 s
/// (about seven relaxation times of this queue, so the steady state of Erlang C holds) and observed for 600 s.
fn experiment(dir: &Path, seed: u64, crn: bool) -> PathBuf {
    let text = format!(
        r#"[experiment]
name = "slippage"
scenario = "{}"
replications = 2
seed = {seed}
crn = {crn}
design = "zip"
[grid]
"platforms.server.pool.servers" = [5, 5, 5, 5]
"scenario.description" = ["best", "b", "c", "d"]
"cohorts.customers.arrivals.rate_per_s" = [{LAMBDA_BEST}, {LAMBDA}, {LAMBDA}, {LAMBDA}]
"scenario.horizon_s" = [1200.0, 1200.0, 1200.0, 1200.0]
"scenario.warmup_s" = [600.0, 600.0, 600.0, 600.0]
"#,
        common::repo("models/textbook/mmc.toml").display()
    );
    let p = dir.join("experiment.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn options(out: PathBuf) -> SelectOptions {
    SelectOptions {
        out,
        jobs: 2,
        resume: false,
        progress: false,
        budget: Default::default(),
        metric: SummaryColumn::mean_wait_s,
        goal: Goal::Minimize,
        delta: delta(),
        confidence: 0.95,
        first_stage: 10,
        max_replications: 10_000,
        constraints: Vec::new(),
        cluster: None,
    }
}

fn select_in(dir: &Path, seed: u64) -> SelectOutcome {
    let e = Experiment::load(&experiment(dir, seed, false)).unwrap();
    select(&e, &options(dir.join("out"))).unwrap()
}

#[test]
fn the_best_by_erlang_c_is_selected_in_fewer_runs_than_the_fixed_sample_baseline() {
    let d = common::scratch("select", "erlang");
    let o = select_in(&d, 11);
    assert_eq!(o.best, Some(0), "{o:?}");
    assert!(o.runs_spent < o.fixed_sample_runs, "KN {} runs against Rinott's {}", o.runs_spent, o.fixed_sample_runs);
    // Every other configuration was eliminated, at a stage no earlier than the first stage's end.
    for f in &o.fates[1..] {
        let e = f.eliminated.expect("eliminated");
        assert!(e.stage >= 10 && f.replications == e.stage as u64, "{f:?}");
    }
    let table = rentree::output::read_table(&d.join("out/selection.parquet")).unwrap();
    assert_eq!(table.text("outcome").unwrap(), ["best", "eliminated", "eliminated", "eliminated"]);
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["selection"]["runs_spent"], o.runs_spent);
    assert!(manifest["files"].as_array().unwrap().iter().any(|f| f["name"] == "selection.parquet"));
    rentree::output::check_results(&d.join("out")).unwrap();
    // The briefing says the choice as a sentence and draws each configuration's interval at its elimination.
    let (code, stdout, stderr) = common::rentree(&["report", d.join("out").to_str().unwrap(), "--lang", "en"]);
    assert_eq!(code, 0, "{stderr}");
    let words = format!(
        "\"{}\" is the best of 4 configurations on mean_wait_s, with 95.0% confidence within {}; {} runs.",
        table.text("label").unwrap()[0],
        (delta() * 1e4).round() / 1e4,
        o.runs_spent
    );
    assert!(stderr.contains(&words), "{stderr}");
    let page = std::fs::read_to_string(stdout.trim()).unwrap();
    assert!(page.contains("id=\"selection\"") && page.contains("Choosing the best strategy"), "{page:.300}");
}

#[test]
fn a_constraint_on_another_metric_keeps_the_best_of_the_feasible_only() {
    // M/M/c at λ = 45/s, μ = 1/s with 48, 50, 52 and 55 servers: the utilisation is λ/c exactly (0.9375,
    // 0.9, 0.865, 0.818), so "utilization >= 0.85 within 0.01" keeps the first three, and among them Erlang C
    // puts the lowest mean wait at 52 servers (0.032 s against 0.073 s at 50).
    let d = common::scratch("select", "constraint");
    let e = d.join("experiment.toml");
    std::fs::write(
        &e,
        format!(
            "[experiment]\nname = \"servers\"\nscenario = \"{}\"\nreplications = 2\nseed = 7\ndesign = \"grid\"\n[grid]\n\
             \"platforms.server.pool.servers\" = [48, 50, 52, 55]\n\"scenario.horizon_s\" = [1500.0]\n",
            common::repo("models/textbook/mmc.toml").display()
        ),
    )
    .unwrap();
    assert!(erlang_c(52, 45.0, 1.0).unwrap().mean_wait_s < erlang_c(50, 45.0, 1.0).unwrap().mean_wait_s);
    let mut o = options(d.join("out"));
    o.delta = 0.005;
    o.constraints = vec![rentree::sweep::select::parse_constraint("utilization>=0.85+-0.01").unwrap()];
    let outcome = select(&Experiment::load(&e).unwrap(), &o).unwrap();
    assert_eq!(outcome.feasible, [0, 1, 2]);
    assert_eq!(outcome.best, Some(2));
    assert!(outcome.fates[3].infeasible.is_some() && outcome.fates[3].eliminated.is_none());
    let table = rentree::output::read_table(&d.join("out/selection.parquet")).unwrap();
    assert_eq!(table.text("outcome").unwrap(), ["eliminated", "eliminated", "best", "infeasible"]);
    // Nothing meets an impossible constraint: no selection, and no error.
    let mut o = options(d.join("none"));
    o.constraints = vec![rentree::sweep::select::parse_constraint("utilization>=0.99+-0.001").unwrap()];
    let outcome = select(&Experiment::load(&e).unwrap(), &o).unwrap();
    assert!(outcome.feasible.is_empty() && outcome.best.is_none());
}

#[test]
fn over_repetitions_in_the_slippage_configuration_the_best_is_selected_at_least_as_often_as_promised() {
    // Forty independent selections (seeds 1..=40). KN promises P(correct) >= 0.95 here; the share observed
    // must not fall below 0.95 by more than three binomial standard deviations of 40 trials (0.103).
    // `examples/select_pcs.rs` repeats it 400 times.
    let n = 40;
    let (mut correct, mut kn_runs, mut fixed_runs) = (0, 0, 0);
    for seed in 1..=n {
        let d = common::scratch("select", &format!("pcs-{seed}"));
        let o = select_in(&d, seed);
        correct += u64::from(o.best == Some(0));
        kn_runs += o.runs_spent;
        fixed_runs += o.fixed_sample_runs;
        std::fs::remove_dir_all(&d).unwrap();
    }
    let share = correct as f64 / n as f64;
    let floor = 0.95 - 3.0 * (0.95 * 0.05 / n as f64).sqrt();
    assert!(share >= floor, "{correct} correct selections of {n}: {share} < {floor}");
    assert!(kn_runs < fixed_runs, "KN spent {kn_runs} runs, Rinott's baseline {fixed_runs}");
}

fn bytes(dir: &Path) -> Vec<Vec<u8>> {
    ["selection.parquet", "runs.parquet", "configs.parquet", "timeseries.parquet"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect()
}

#[test]
fn one_and_two_jobs_and_a_resume_after_losing_runs_write_the_same_bytes() {
    let d = common::scratch("select", "jobs");
    let e = experiment(&d, 5, true);
    let (a, b) = (d.join("a"), d.join("b"));
    let args = |out: &Path, jobs: &str| {
        vec![
            "select".to_owned(),
            e.display().to_string(),
            "--metric".into(),
            "mean_wait_s".into(),
            "--minimize".into(),
            "--delta".into(),
            format!("{}", delta()),
            "--out".into(),
            out.display().to_string(),
            "--jobs".into(),
            jobs.into(),
        ]
    };
    for (out, jobs) in [(&a, "1"), (&b, "2")] {
        let args = args(out, jobs);
        let (code, stdout, stderr) = common::rentree(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("is the best of 4 configurations on mean_wait_s"), "{stdout}");
    }
    assert_eq!(bytes(&a), bytes(&b));
    // A selection killed late: its manifest withdrawn and the runs of its last replications lost.
    std::fs::remove_file(b.join("manifest.json")).unwrap();
    let mut lost = 0;
    for entry in std::fs::read_dir(b.join("runs")).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with("-r0008.json") || name.ends_with("-r0009.json") {
            std::fs::remove_file(&p).unwrap();
            lost += 1;
        }
    }
    assert!(lost > 0);
    let mut resume = args(&b, "2");
    resume.push("--resume".into());
    let (code, _, stderr) = common::rentree(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("{lost} run(s) executed")), "{stderr}");
    assert_eq!(bytes(&a), bytes(&b));
}

#[test]
fn bad_arguments_are_refused_naming_the_flag() {
    let d = common::scratch("select", "bad");
    let e = experiment(&d, 5, true);
    let e = e.to_str().unwrap();
    let out = d.join("out");
    let out = out.to_str().unwrap();
    for (extra, flag) in [
        (vec!["--metric", "mean_wait_s", "--minimize", "--delta", "0"], "--delta"),
        (vec!["--metric", "mean_wait_s", "--minimize", "--delta", "0.1", "--confidence", "1.2"], "--confidence"),
        (vec!["--metric", "mean_wait_s", "--minimize", "--delta", "0.1", "--confidence", "0.2"], "--confidence"),
        (vec!["--metric", "mean_wiat_s", "--minimize", "--delta", "0.1"], "--metric"),
        (vec!["--metric", "mean_wait_s", "--minimize", "--delta", "0.1", "--first-stage", "1"], "--first-stage"),
        (vec!["--metric", "mean_wait_s", "--minimize", "--delta", "0.1", "--max-replications", "5"], "--max-replications"),
        (vec!["--metric", "mean_wait_s", "--delta", "0.1"], "--maximize"),
        (vec!["--metric", "mean_wait_s", "--minimize", "--delta", "0.1", "--constraint", "timeouts<1000"], "--constraint"),
        (vec!["--metric", "mean_wait_s", "--minimize", "--delta", "0.1", "--constraint", "timeouts<=1000+-0"], "--constraint"),
        (vec!["--metric", "mean_wait_s", "--minimize", "--delta", "0.1", "--constraint", "timeouts<=abc+-5"], "--constraint"),
    ] {
        let mut args = vec!["select", e, "--out", out];
        args.extend(extra);
        let (code, _, stderr) = common::rentree(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // The nearest column name is offered for a misspelt metric.
    let (_, _, stderr) = common::rentree(&["select", e, "--out", out, "--metric", "mean_wiat_s", "--minimize", "--delta", "0.1"]);
    assert!(stderr.contains("mean_wait_s"), "{stderr}");
}
