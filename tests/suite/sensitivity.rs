//! `rentree sensitivity`: Morris's ranking of M/M/c's inputs agrees with Erlang C's on the same design;
//! Sobol's indices come with their intervals; a design other than `lhs` is refused.

use rentree::analytic::erlang_c;
use rentree::decide::morris::{MorrisDesign, MorrisEffects};
use rentree::metrics::SummaryColumn;
use rentree::sweep::experiment::Experiment;
use rentree::sweep::sensitivity::{sensitivity, Method, SensitivityOptions};
use std::path::{Path, PathBuf};

use crate::common;

/// M/M/c with three uncertain inputs: arrival rate 40–42/s, 48–54 servers, mean service 0.98–1 s; each
/// run warmed up for 500 s and observed for 1,000 s.
fn experiment(dir: &Path, design: &str) -> PathBuf {
    let scenario =
        std::fs::read_to_string(common::repo("models/textbook/mmc.toml")).unwrap().replace("horizon_s = 5000.0", "horizon_s = 1500.0");
    assert!(scenario.contains("horizon_s = 1500.0") && scenario.contains("warmup_s = 500.0"));
    let scenario_path = dir.join("mmc.toml");
    std::fs::write(&scenario_path, scenario).unwrap();
    let text = format!(
        r#"[experiment]
name = "mmc sensitivity"
scenario = "{}"
replications = 4
seed = 9
design = "{design}"
[lhs]
samples = 2
ranges = {{ "cohorts.customers.arrivals.rate_per_s" = {{ min = 40.0, max = 42.0 }}, "platforms.server.pool.servers" = {{ min = 48, max = 54, integer = true }}, "platforms.server.pool.service.mean_s" = {{ min = 0.98, max = 1.0 }} }}
[grid]
"scenario.warmup_s" = [500.0]
"#,
        scenario_path.display()
    );
    let p = dir.join("experiment.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn options(out: PathBuf, method: Method) -> SensitivityOptions {
    SensitivityOptions {
        out,
        jobs: 2,
        resume: false,
        progress: false,
        budget: Default::default(),
        metric: SummaryColumn::mean_wait_s,
        method,
        cluster: None,
    }
}

/// The inputs' order by decreasing `key`.
fn ranking(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order
}

#[test]
fn morris_ranks_the_inputs_of_an_m_m_c_queue_as_erlang_c_does() {
    let d = common::scratch("sensitivity", "morris");
    let e = Experiment::load(&experiment(&d, "lhs")).unwrap();
    let (trajectories, levels) = (10, 4);
    let outcome = sensitivity(&e, &options(d.join("out"), Method::Morris { trajectories, levels })).unwrap();
    // The same design evaluated by Erlang C (the inputs in the [lhs] table's order: rate, servers, mean).
    let design = MorrisDesign::new(3, trajectories, levels, 9).unwrap();
    let exact: Vec<f64> = design
        .points()
        .iter()
        .map(|u| {
            let rate = 40.0 + 2.0 * u[0];
            let servers = (48.0 + 6.0 * u[1]).round() as u32;
            let mean = 0.98 + 0.02 * u[2];
            erlang_c(servers, rate, 1.0 / mean).unwrap().mean_wait_s
        })
        .collect();
    let exact = MorrisEffects::estimate(&design, &exact).unwrap();
    let exact_mu_star: Vec<f64> = exact.inputs.iter().map(|x| x.mu_star).collect();
    let simulated: Vec<f64> = outcome.inputs.iter().map(|x| x.mu_star).collect();
    assert_eq!(ranking(&simulated), ranking(&exact_mu_star), "simulated mu* {simulated:?}, Erlang C {exact_mu_star:?}");
    // More servers shorten the wait, a higher rate or a longer service lengthens it: the signs of mu.
    assert!(outcome.inputs[0].mu > 0.0 && outcome.inputs[1].mu < 0.0 && outcome.inputs[2].mu > 0.0, "{:?}", outcome.inputs);
    let table = rentree::output::read_table(&d.join("out/sensitivity.parquet")).unwrap();
    assert_eq!(table.num("mu_star").unwrap(), simulated.as_slice());
    rentree::output::check_results(&d.join("out")).unwrap();
    // The briefing names the input that weighs most and draws the tornado of μ*.
    let top = (0..3).max_by(|&a, &b| simulated[a].total_cmp(&simulated[b])).unwrap();
    let (code, stdout, stderr) = common::rentree(&["report", d.join("out").to_str().unwrap(), "--lang", "en"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("The assumption that weighs most on mean_wait_s: {}", outcome.inputs[top].input)), "{stderr}");
    let page = std::fs::read_to_string(stdout.trim()).unwrap();
    assert!(page.contains("id=\"sensitivity\"") && page.contains("The assumptions that matter"), "{page:.300}");
}

#[test]
fn sobol_indices_come_with_intervals_and_servers_explain_most_of_the_wait() {
    let d = common::scratch("sensitivity", "sobol");
    let exp = experiment(&d, "lhs");
    let out = d.join("out");
    let (code, stdout, stderr) = common::rentree(&[
        "sensitivity",
        exp.to_str().unwrap(),
        "--metric",
        "mean_wait_s",
        "--method",
        "sobol",
        "--samples",
        "32",
        "--bootstrap",
        "200",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Sobol indices of mean_wait_s over 3 inputs (160 points × 4 replications)"), "{stdout}");
    let table = rentree::output::read_table(&out.join("sensitivity.parquet")).unwrap();
    let (total, lo, hi) = (table.num("total").unwrap(), table.num("total_lo").unwrap(), table.num("total_hi").unwrap());
    for i in 0..3 {
        assert!(lo[i] <= total[i] && total[i] <= hi[i], "input {i}: {} not in [{}, {}]", total[i], lo[i], hi[i]);
    }
    // Servers (the second input) have the largest total index, as their Morris effect is the largest.
    assert_eq!(ranking(total)[0], 1, "{total:?}");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["sensitivity"]["points"], 160);
    // Another design of the same file does not mix its runs into this folder.
    let (code, _, stderr) = common::rentree(&[
        "sensitivity",
        exp.to_str().unwrap(),
        "--metric",
        "mean_wait_s",
        "--method",
        "morris",
        "--out",
        out.to_str().unwrap(),
        "--resume",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("another experiment"), "{stderr}");
}

#[test]
fn a_design_other_than_lhs_and_bad_sizes_are_refused() {
    let d = common::scratch("sensitivity", "bad");
    let exp = experiment(&d, "grid");
    let out = d.join("out");
    let (code, _, stderr) = common::rentree(&[
        "sensitivity",
        exp.to_str().unwrap(),
        "--metric",
        "mean_wait_s",
        "--method",
        "morris",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("experiment.design") && stderr.contains("lhs"), "{stderr}");
    let exp = experiment(&d, "lhs");
    for (extra, flag) in [
        (vec!["--method", "morris", "--levels", "3"], "--trajectories/--levels"),
        (vec!["--method", "morris", "--trajectories", "1"], "--trajectories/--levels"),
        (vec!["--method", "sobol", "--samples", "1"], "--samples"),
        (vec!["--method", "fast"], "--method"),
        (vec!["--method", "morris", "--metric", "mean_wiat_s"], "--metric"),
    ] {
        let mut args = vec!["sensitivity", exp.to_str().unwrap(), "--out", out.to_str().unwrap()];
        if !extra.contains(&"--metric") {
            args.extend(["--metric", "mean_wait_s"]);
        }
        args.extend(extra);
        let (code, _, stderr) = common::rentree(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
}
