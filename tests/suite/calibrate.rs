//! `rentree calibrate`: known parameters recovered from their own simulated observations, a posterior known
//! in closed form reproduced within Monte Carlo error, the same bytes whatever `--jobs` and after a resume,
//! and bad calibration files refused with the file, the field, what was found and what was expected.

use crate::common::{rentree, scratch};
use rentree::output::read_table;
use statrs::function::gamma::ln_gamma;
use std::path::{Path, PathBuf};

/// A small call centre: Poisson arrivals at 8/s, ten agents, exponential service of 1 s (load 0.8).
const QUEUE: &str = r#"[scenario]
name = "queue"
horizon_s = 1200.0
warmup_s = 0.0
clock_start = "08:00"

[cohorts.callers]
platform = "desk"
arrivals = { process = "poisson", rate_per_s = 8.0 }

[platforms.desk.pool]
servers = 10
service = { dist = "exponential", mean_s = 1.0 }
"#;

fn ok(args: &[&str]) -> String {
    let (code, stdout, stderr) = rentree(args);
    assert_eq!(code, 0, "rentree {args:?}:\n{stderr}");
    stdout
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

/// The queue's per-minute served requests and mean wait, from a run at the true values, as a monitoring
/// export (clock, platform, metrics); and a calibration of the arrival rate and the service time from them.
fn recovery_case(d: &Path, particles: usize) -> PathBuf {
    std::fs::write(d.join("queue.toml"), QUEUE).unwrap();
    let truth = d.join("truth");
    ok(&["run", d.join("queue.toml").to_str().unwrap(), "--seed", "7", "--format", "csv", "--out", truth.to_str().unwrap()]);
    let text = std::fs::read_to_string(truth.join("timeseries.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let mut observed = String::from("clock,platform,served,mean_wait_s\n");
    for line in lines {
        let v: Vec<&str> = line.split(',').collect();
        observed.push_str(&format!("{},{},{},{}\n", v[col("clock")], v[col("platform")], v[col("served")], v[col("mean_wait_s")]));
    }
    std::fs::write(d.join("observed.csv"), observed).unwrap();
    let cal = d.join("recovery.toml");
    std::fs::write(
        &cal,
        format!(
            "[calibration]\nname = \"recovery\"\nscenario = \"queue.toml\"\nparticles = {particles}\nseed = 3\npredictive = 30\n\n\
             [parameters]\n\"cohorts.callers.arrivals.rate_per_s\" = {{ prior = \"uniform\", min = 2.0, max = 20.0 }}\n\
             \"platforms.desk.pool.service.mean_s\" = {{ prior = \"log-uniform\", min = 0.2, max = 5.0 }}\n\n\
             [[series]]\nfile = \"observed.csv\"\nmetrics = [\"served\", \"mean_wait_s\"]\n"
        ),
    )
    .unwrap();
    cal
}

#[test]
fn known_parameters_are_recovered_from_their_own_simulated_monitoring() {
    let d = scratch("calibrate", "recovery");
    let cal = recovery_case(&d, 300);
    let truth = d.join("truth");
    let out = d.join("out");
    let said = ok(&["calibrate", cal.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(said.contains("posterior median and 90% credible interval"), "{said}");
    let m = manifest(&out);
    let params = m["parameters"].as_array().unwrap();
    for (p, truth) in params.iter().zip([8.0, 1.0]) {
        let (lo, hi, narrowing) = (p["q05"].as_f64().unwrap(), p["q95"].as_f64().unwrap(), p["narrowing"].as_f64().unwrap());
        assert!((lo..=hi).contains(&truth), "{}: truth {truth} outside its 90% interval [{lo}, {hi}]", p["name"]);
        // "Much narrower than the prior": a third of the prior's 90% width at most.
        assert!(narrowing < 1.0 / 3.0, "{}: the interval is {narrowing} of the prior's", p["name"]);
    }
    // The posterior table holds every generation's population, with weights summing to 1 in each.
    let post = read_table(&out.join("posterior.parquet")).unwrap();
    let generations = m["generations"].as_array().unwrap().len();
    let g = post.num("generation").unwrap();
    let w = post.num("weight").unwrap();
    for k in 0..generations {
        let total: f64 = g.iter().zip(w).filter(|(g, _)| **g as usize == k).map(|(_, w)| w).sum();
        assert!((total - 1.0).abs() < 1e-9, "generation {k}: weights sum to {total}");
    }
    // The predictive band: every observed point, and most of them inside their 90% band. Twenty minutes of
    // two metrics: with a band of 90%, fewer than 28 of 40 inside has a binomial probability below 0.1%.
    let pred = read_table(&out.join("predictive.parquet")).unwrap();
    assert_eq!(pred.height, 40);
    let (obs, lo, hi) = (pred.num("observed").unwrap(), pred.num("predictive_lo").unwrap(), pred.num("predictive_hi").unwrap());
    let inside = (0..pred.height).filter(|&i| lo[i] <= obs[i] && obs[i] <= hi[i]).count();
    assert!(inside >= 28, "{inside} of 40 observations inside the 90% predictive band");
    // The calibrated scenario runs, at the posterior median, and the draws sweep.
    let text = std::fs::read_to_string(out.join("calibrated.toml")).unwrap();
    assert!(text.contains("[variants.calibrated]"), "{text}");
    ok(&["run", out.join("calibrated.toml").to_str().unwrap(), "--variant", "calibrated", "--out", d.join("median").to_str().unwrap()]);
    let draws = out.join("posterior-draws.toml");
    let sweep = d.join("draws");
    ok(&["validate", draws.to_str().unwrap()]);
    ok(&["sweep", draws.to_str().unwrap(), "--out", sweep.to_str().unwrap()]);
    assert_eq!(read_table(&sweep.join("configs.parquet")).unwrap().height, 30);
    // A run at the posterior median says how much its figures move over the posterior and from its own noise.
    let at = d.join("at-posterior");
    let (code, _, stderr) =
        rentree(&["run", d.join("queue.toml").to_str().unwrap(), "--posterior", out.to_str().unwrap(), "--out", at.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("90% credible interval") && stderr.contains("from the simulation's own noise"), "{stderr}");
    let m = manifest(&at);
    assert!(m["overrides"].as_array().unwrap().iter().any(|o| o.as_str().unwrap().ends_with("(posterior median)")), "{m}");
    let note = &m["posterior"];
    assert_eq!(note["draws"], 20);
    let arrivals = note["metrics"].as_array().unwrap().iter().find(|x| x["metric"] == "arrivals").unwrap();
    let (lo, hi, sd) =
        (arrivals["credible_lo"].as_f64().unwrap(), arrivals["credible_hi"].as_f64().unwrap(), arrivals["noise_sd"].as_f64().unwrap());
    // 20 minutes at about 8 arrivals a second: some 9,600 arrivals, a Poisson noise of about 100.
    assert!(lo < hi && lo > 6_000.0 && hi < 13_000.0, "credible interval of arrivals [{lo}, {hi}]");
    // The sd of 5 runs has 4 degrees of freedom: 99.9% of estimates of a true sd near 100 (Poisson, the
    // rate fixed at the median) fall between 0.14 and 2.24 times it (chi-square quantiles 0.08 and 20.0).
    assert!((10.0..250.0).contains(&sd), "a single run's noise on arrivals: {sd}");
    // The run's briefing quotes the same intervals.
    let (code, _, stderr) = rentree(&["report", at.to_str().unwrap(), "--lang", "en", "--out", d.join("brief-run").to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("mean_wait_s: ") && stderr.contains("90% credible interval") && stderr.contains("20 posterior draws"),
        "{stderr}"
    );
    // The briefing: each parameter's prior against its posterior, each series against its predictive band.
    let (code, page, stderr) = rentree(&["report", out.to_str().unwrap(), "--lang", "en", "--out", d.join("brief").to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Calibrated by ABC-SMC on 40 observations"), "{stderr}");
    assert!(stderr.contains("cohorts.callers.arrivals.rate_per_s: ") && stderr.contains("of the prior's width"), "{stderr}");
    let html = std::fs::read_to_string(page.trim()).unwrap();
    for id in ["posterior-0", "posterior-1", "predictive-0", "predictive-1"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "the briefing has no chart {id}");
    }
    assert!(html.contains("What the observations say of the unknowns"));
    // A folder that is not a calibration's is refused.
    let (code, _, stderr) = rentree(&[
        "run",
        d.join("queue.toml").to_str().unwrap(),
        "--posterior",
        truth.to_str().unwrap(),
        "--out",
        d.join("x").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a calibration's results folder"), "{stderr}");
}

/// The posterior of a Poisson rate `λ` given that a count within `k` of `s` was seen over `t` seconds,
/// under a flat prior on `[lo, hi]`: `π(λ | ·) ∝ P(|N − s| ≤ k)` with `N ~ Poisson(λt)`. For `k = 0` it is the
/// Gamma(s + 1, t) truncated to the prior's range; ABC at a tolerance of `k` counts targets exactly this.
fn abc_posterior(s: u64, k: u64, t: f64, (lo, hi): (f64, f64)) -> (f64, f64) {
    let n = 40_000;
    let (mut z, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let lambda = lo + (hi - lo) * (i as f64 + 0.5) / n as f64;
        let mu = lambda * t;
        let p: f64 = (s.saturating_sub(k)..=s + k).map(|c| (c as f64 * mu.ln() - mu - ln_gamma(c as f64 + 1.0)).exp()).sum();
        z += p;
        m1 += p * lambda;
        m2 += p * lambda * lambda;
    }
    let mean = m1 / z;
    (mean, (m2 / z - mean * mean).sqrt())
}

#[test]
fn an_arrival_rate_seen_through_its_count_has_the_gamma_posterior() {
    // 200 arrivals seen in 100 s, a flat prior on [0.5, 5]: the posterior is Gamma(201, 100), mean 2.01,
    // sd 0.142. The count is the statistic, at the tolerance the calibration reached (a few counts); the
    // ABC posterior at that tolerance is computed exactly above, and the population's weighted mean and
    // sd must agree with it within Monte Carlo error (99.9% bounds from the effective sample size).
    let d = scratch("calibrate", "gamma");
    std::fs::write(
        d.join("arrivals.toml"),
        "[scenario]\nname = \"arrivals\"\nhorizon_s = 100.0\nwarmup_s = 0.0\n[cohorts.callers]\nplatform = \"desk\"\n\
         arrivals = { process = \"poisson\", rate_per_s = 2.0 }\n[platforms.desk.pool]\nservers = 100\n\
         service = { dist = \"exponential\", mean_s = 0.01 }\n",
    )
    .unwrap();
    let cal = d.join("gamma.toml");
    std::fs::write(
        &cal,
        "[calibration]\nname = \"rate\"\nscenario = \"arrivals.toml\"\nparticles = 400\nmin_epsilon_drop = 0.0\nmax_generations = 30\n\
         seed = 5\npredictive = 10\n[parameters]\n\"cohorts.callers.arrivals.rate_per_s\" = { prior = \"uniform\", min = 0.5, max = 5.0 }\n\
         [targets]\n\"all.arrivals\" = { value = 200 }\n",
    )
    .unwrap();
    let out = d.join("out");
    ok(&["calibrate", cal.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let m = manifest(&out);
    let last = m["generations"].as_array().unwrap().last().unwrap().clone();
    let scale = read_table(&out.join("predictive.parquet")).unwrap().num("scale").unwrap()[0];
    let k = (last["epsilon"].as_f64().unwrap() * scale + 1e-6).floor() as u64;
    assert!(k <= 3, "the tolerance reached {k} counts");
    let (mean, sd) = abc_posterior(200, k, 100.0, (0.5, 5.0));
    let (exact_mean, exact_sd) = abc_posterior(200, 0, 100.0, (0.5, 5.0));
    assert!((exact_mean - 2.01).abs() < 1e-3 && (exact_sd - 201f64.sqrt() / 100.0).abs() < 1e-3, "{exact_mean} {exact_sd}");
    let post = read_table(&out.join("posterior.parquet")).unwrap();
    let g = post.num("generation").unwrap();
    let final_gen = last["generation"].as_f64().unwrap();
    let rows: Vec<usize> = (0..post.height).filter(|&i| g[i] == final_gen).collect();
    let (w, x) = (post.num("weight").unwrap(), post.num("cohorts.callers.arrivals.rate_per_s").unwrap());
    let got_mean: f64 = rows.iter().map(|&i| w[i] * x[i]).sum();
    let got_sd = rows.iter().map(|&i| w[i] * (x[i] - got_mean).powi(2)).sum::<f64>().sqrt();
    let ess = last["ess"].as_f64().unwrap();
    assert!((got_mean - mean).abs() < 3.29 * sd / ess.sqrt(), "mean {got_mean} vs {mean} (k = {k}, ESS {ess})");
    assert!((got_sd - sd).abs() < 3.29 * sd / (2.0 * ess).sqrt(), "sd {got_sd} vs {sd} (k = {k}, ESS {ess})");
}

#[test]
fn the_same_bytes_with_one_or_two_jobs_and_after_losing_runs_and_resuming() {
    let d = scratch("calibrate", "bytes");
    let cal = recovery_case(&d, 60);
    // The adaptive distance re-scores the population from statistics read back from the part files: a
    // resume must find the same.
    let text = std::fs::read_to_string(&cal)
        .unwrap()
        .replace("particles = 60\n", "particles = 60\ndistance = \"adaptive\"\nmax_generations = 6\n");
    std::fs::write(&cal, text).unwrap();
    let (one, two) = (d.join("one"), d.join("two"));
    let said = ok(&["calibrate", cal.to_str().unwrap(), "--jobs", "1", "--out", one.to_str().unwrap()]);
    ok(&["calibrate", cal.to_str().unwrap(), "--jobs", "2", "--out", two.to_str().unwrap()]);
    let files = ["posterior.parquet", "predictive.parquet", "calibrated.toml", "posterior-draws.toml", "plan.json"];
    for f in files {
        assert_eq!(std::fs::read(one.join(f)).unwrap(), std::fs::read(two.join(f)).unwrap(), "{f} differs between --jobs 1 and 2");
    }
    // A run killed mid-way: its manifest withdrawn, a third of the part files lost, a temporary file left.
    std::fs::remove_file(two.join("manifest.json")).unwrap();
    let mut parts: Vec<PathBuf> = std::fs::read_dir(two.join("runs")).unwrap().map(|e| e.unwrap().path()).collect();
    parts.sort();
    let total = parts.len();
    for p in parts.iter().step_by(3) {
        std::fs::remove_file(p).unwrap();
    }
    std::fs::write(two.join("runs/.rentree-x.tmp"), "half").unwrap();
    // Without --resume the folder is refused; with it, only the lost runs are run again.
    let (code, _, stderr) = rentree(&["calibrate", cal.to_str().unwrap(), "--out", two.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let (code, again, stderr) = rentree(&["calibrate", cal.to_str().unwrap(), "--resume", "--out", two.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let lost = total.div_ceil(3);
    assert!(stderr.contains(&format!("{lost} run(s) executed, {} skipped", total - lost)), "{stderr}");
    assert_eq!(said.replace(one.to_str().unwrap(), "OUT"), again.replace(two.to_str().unwrap(), "OUT"));
    for f in files {
        assert_eq!(std::fs::read(one.join(f)).unwrap(), std::fs::read(two.join(f)).unwrap(), "{f} differs after the resume");
    }
    assert!(!two.join("runs/.rentree-x.tmp").exists());
}

#[test]
fn bad_calibration_files_are_refused_with_the_file_the_field_and_what_was_expected() {
    let d = scratch("calibrate", "bad");
    std::fs::write(d.join("queue.toml"), QUEUE).unwrap();
    std::fs::write(d.join("observed.csv"), "clock,platform,served\n08:00,desk,480\n08:01,desk,\n").unwrap();
    std::fs::write(d.join("late.csv"), "clock,served\n09:30,480\n").unwrap();
    let head = "[calibration]\nname = \"bad\"\nscenario = \"queue.toml\"\n";
    let rate = "[parameters]\n\"cohorts.callers.arrivals.rate_per_s\" = { prior = \"uniform\", min = 2.0, max = 20.0 }\n";
    let target = "[targets]\n\"all.served\" = { value = 9000, sd = 100 }\n";
    let cases: Vec<(String, &str, &str)> = vec![
        (format!("{head}particles = 2\n{rate}{target}"), "calibration.particles", "from 4"),
        (format!("{head}keep = 1.5\n{rate}{target}"), "calibration.keep", "a share in (0, 1)"),
        (format!("{head}distance = \"euclid\"\n{rate}{target}"), "calibration.distance", "\"adaptive\" or \"prior\""),
        (format!("{head}colour = 1\n{rate}{target}"), "unknown field `colour`", "expected one of"),
        (format!("{head}{target}"), "parameters", "at least one"),
        (
            format!("{head}[parameters]\n\"cohorts.callers.arrivals.rate_per_s\" = {{ prior = \"beta\", min = 1, max = 2 }}\n{target}"),
            "prior",
            "\"uniform\"",
        ),
        (
            format!("{head}[parameters]\n\"cohorts.callers.arrivals.rate_per_s\" = {{ prior = \"uniform\", min = 5, max = 2 }}\n{target}"),
            "parameters.\"cohorts.callers.arrivals.rate_per_s\"",
            "min < max",
        ),
        (
            format!(
                "{head}[parameters]\n\"cohorts.callers.arrivals.rate_per_s\" = {{ prior = \"log-uniform\", min = 0, max = 2 }}\n{target}"
            ),
            "parameters.\"cohorts.callers.arrivals.rate_per_s\"",
            "min > 0",
        ),
        (
            format!("{head}[parameters]\n\"platforms.desk.pool.colour\" = {{ prior = \"uniform\", min = 1, max = 2 }}\n{target}"),
            "parameters.\"platforms.desk.pool.colour\"",
            "a field of the scenario",
        ),
        (
            format!("{head}[parameters]\n\"cohorts.callers.arrivals.rate_per_s\" = {{ prior = \"uniform\", min = -5, max = 2 }}\n{target}"),
            "parameters.\"cohorts.callers.arrivals.rate_per_s\"",
            "every value of the prior's range",
        ),
        (format!("{head}{rate}"), "series, targets", "at least one"),
        (format!("{head}{rate}[targets]\n\"all.servd\" = {{ value = 1 }}\n"), "targets.\"all.servd\"", "served"),
        (format!("{head}{rate}[targets]\n\"moon.served\" = {{ value = 1 }}\n"), "targets.\"moon.served\"", "\"all\" or one of"),
        (format!("{head}{rate}[targets]\n\"all.served\" = {{ value = 1, sd = -1 }}\n"), "targets.\"all.served\"", "sd >= 0"),
        (format!("{head}{rate}[[series]]\nfile = \"missing.csv\"\nmetrics = [\"served\"]\n"), "missing.csv", "No such file"),
        (format!("{head}{rate}[[series]]\nfile = \"observed.csv\"\nmetrics = [\"servd\"]\n"), "series[0].metrics[0]", "served"),
        (
            format!("{head}{rate}[[series]]\nfile = \"observed.csv\"\nmetrics = [\"gave_up\"]\n"),
            "series[0].metrics[0]",
            "a metric a run's part file keeps",
        ),
        (
            format!("{head}{rate}[[series]]\nfile = \"late.csv\"\nplatform = \"desk\"\nmetrics = [\"served\"]\n"),
            "late.csv",
            "within the run, from 08:00 to 08:19",
        ),
        (
            format!("{head}{rate}[[series]]\nfile = \"observed.csv\"\nplatform = \"moon\"\nmetrics = [\"served\"]\n"),
            "series[0].platform",
            "one of",
        ),
        (format!("{head}variant = \"sunny\"\n{rate}{target}"), "calibration.variant", "no variant"),
        (
            format!("{head}{rate}[targets]\n\"desk.onset_served\" = {{ value = 300, sd = 60 }}\n"),
            "targets.\"desk.onset_served\".value",
            "a clock time",
        ),
        (format!("{head}{rate}[targets]\n\"desk.onset_servd\" = {{ value = \"08:05\" }}\n"), "targets.\"desk.onset_servd\"", "served"),
        (format!("{head}{rate}[targets]\n\"all.onset_served\" = {{ value = \"08:05\" }}\n"), "targets.\"all.onset_served\"", "one of"),
        (
            format!("{head}{rate}[targets]\n\"desk.onset_served\" = {{ value = \"8 o'clock\" }}\n"),
            "targets.\"desk.onset_served\".value",
            "\"HH:MM\"",
        ),
        (
            format!("{head}{rate}[targets]\n\"desk.onset_served\" = {{ value = \"08:05\", above = -1 }}\n"),
            "targets.\"desk.onset_served\".above",
            "a level >= 0",
        ),
        (format!("{head}{rate}[targets]\n\"all.served\" = {{ value = 1, above = 3 }}\n"), "targets.\"all.served\".above", "onset_METRIC"),
        (format!("{head}{rate}[targets]\n\"all.served\" = {{ value = \"08:00\" }}\n"), "targets.\"all.served\".value", "a number"),
        (
            format!(
                "{head}[parameters]\n\"cohorts.callers.arrivals.rate_per_s\" = {{ prior = \"uniform\", min = 2, max = 20, also = [\"platforms.desk.pool.colour\"] }}\n{target}"
            ),
            "parameters.\"cohorts.callers.arrivals.rate_per_s\".also[0]",
            "a field of the scenario",
        ),
        (
            format!(
                "{head}[parameters]\n\"cohorts.callers.arrivals.rate_per_s\" = {{ prior = \"uniform\", min = 2, max = 20, also = [\"cohorts.callers.arrivals.rate_per_s\"] }}\n{target}"
            ),
            "parameters.\"cohorts.callers.arrivals.rate_per_s\".also[0]",
            "a field no other parameter writes",
        ),
        (
            format!("{head}[parameters]\n\"platforms.desk.admission.0.max_sessions\" = {{ prior = \"uniform\", min = 2, max = 20 }}\n{target}"),
            "parameters.\"platforms.desk.admission.0.max_sessions\"",
            "a field of the scenario",
        ),
    ];
    for (i, (text, field, expected)) in cases.iter().enumerate() {
        let path = d.join(format!("bad-{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let (code, _, stderr) = rentree(&["calibrate", path.to_str().unwrap(), "--out", d.join(format!("out-{i}")).to_str().unwrap()]);
        assert_eq!(code, 2, "case {i}: {stderr}");
        assert!(stderr.contains(field) && stderr.contains(expected), "case {i}: expected {field:?} and {expected:?} in:\n{stderr}");
        assert!(stderr.contains("bad-") || stderr.contains(".csv"), "case {i}: the file is named:\n{stderr}");
        assert!(!stderr.contains("panicked"), "case {i}: {stderr}");
    }
}

#[test]
fn early_generations_run_at_a_measured_faithful_scale_and_the_final_ones_at_the_target() {
    let d = scratch("calibrate", "early");
    let cal = recovery_case(&d, 60);
    // The queue states that scale 0.5 was measured faithful; the calibration's first two generations use it.
    std::fs::write(d.join("queue.toml"), QUEUE.replace("clock_start = \"08:00\"\n", "clock_start = \"08:00\"\nfaithful_scale = 0.5\n"))
        .unwrap();
    let text = std::fs::read_to_string(&cal).unwrap();
    let early = text.replace(
        "particles = 60\n",
        "particles = 60\nearly_scale = 0.5\nearly_generations = 2\nmin_epsilon_drop = 0.0\nmax_generations = 5\n",
    );
    std::fs::write(&cal, &early).unwrap();
    let out = d.join("out");
    ok(&["calibrate", cal.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let post = read_table(&out.join("posterior.parquet")).unwrap();
    let (g, scale) = (post.num("generation").unwrap(), post.num("scale").unwrap());
    let last = g.iter().copied().fold(0.0, f64::max);
    for i in 0..post.height {
        match g[i] as u64 {
            0 => assert_eq!(scale[i], 0.5),
            1 => assert!(scale[i] == 0.5 || scale[i] == 1.0),
            _ => assert_eq!(scale[i], 1.0, "generation {} at scale {}", g[i], scale[i]),
        }
    }
    assert!(last >= 2.0, "the calibration went on at the target scale: last generation {last}");
    // The last early population was simulated again at the target scale: 30 more runs.
    let rescored = (0..post.height).filter(|&i| g[i] == 1.0 && scale[i] == 1.0).count();
    assert_eq!(rescored, 30);
    // A scale below the measured faithful one, or on a scenario that states none, is refused.
    std::fs::write(&cal, early.replace("early_scale = 0.5", "early_scale = 0.2")).unwrap();
    let (code, _, stderr) = rentree(&["calibrate", cal.to_str().unwrap(), "--out", d.join("x").to_str().unwrap()]);
    assert!(code == 2 && stderr.contains("calibration.early_scale") && stderr.contains("faithful_scale (0.5)"), "{stderr}");
    std::fs::write(d.join("queue.toml"), QUEUE).unwrap();
    std::fs::write(&cal, &early).unwrap();
    let (code, _, stderr) = rentree(&["calibrate", cal.to_str().unwrap(), "--out", d.join("y").to_str().unwrap()]);
    assert!(code == 2 && stderr.contains("calibration.early_scale") && stderr.contains("states no faithful_scale"), "{stderr}");
}

/// Two cohorts of callers at the same unknown rate λ each, on twenty agents of 1 s: past λ = 10 a backlog
/// grows at 2λ − 20 a second, and the mean wait, about backlog / 20, passes 30 s after some 300 / (λ − 10)
/// seconds (the fluid approximation).
const TWO_COHORTS: &str = r#"[scenario]
name = "two cohorts"
horizon_s = 1200.0
warmup_s = 0.0
clock_start = "08:00"

[cohorts.callers]
platform = "desk"
arrivals = { process = "poisson", rate_per_s = 8.0 }

[cohorts.walkins]
platform = "desk"
arrivals = { process = "poisson", rate_per_s = 8.0 }

[platforms.desk.pool]
servers = 20
service = { dist = "exponential", mean_s = 1.0 }
"#;

/// A calibration of the two cohorts' shared rate from when the mean wait first passed 30 s: 8:05, half a
/// minute either way, that is λ near 11 by the fluid approximation.
fn onset_case(d: &Path) -> PathBuf {
    std::fs::write(d.join("desk.toml"), TWO_COHORTS).unwrap();
    let cal = d.join("onset.toml");
    std::fs::write(
        &cal,
        "[calibration]\nname = \"onset\"\nscenario = \"desk.toml\"\nparticles = 60\nseed = 5\npredictive = 20\nmax_generations = 6\n\n\
         [parameters]\n\"cohorts.callers.arrivals.rate_per_s\" = { prior = \"uniform\", min = 2.0, max = 20.0, also = [\"cohorts.walkins.arrivals.rate_per_s\"] }\n\n\
         [targets]\n\"desk.onset_mean_wait_s\" = { value = \"08:05\", sd = 30, above = 30 }\n",
    )
    .unwrap();
    cal
}

#[test]
fn an_onset_pins_a_rate_written_in_two_places_and_a_sweep_runs_over_its_posterior() {
    let d = scratch("calibrate", "onset");
    let cal = onset_case(&d);
    let out = d.join("out");
    ok(&["calibrate", cal.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let m = manifest(&out);
    let p = &m["parameters"][0];
    let (lo, median, hi) = (p["q05"].as_f64().unwrap(), p["median"].as_f64().unwrap(), p["q95"].as_f64().unwrap());
    // The fluid approximation puts an onset at 8:05 ± 30 s at λ = 11 (10.9 to 11.1); below λ = 10 there is
    // no onset at all. The posterior must be above 10 and far narrower than the prior's 2 to 20.
    assert!(lo > 10.0 && hi < 13.0 && (lo..=hi).contains(&median), "rate posterior [{lo}, {hi}], median {median}");
    assert_eq!(p["also"], serde_json::json!(["cohorts.walkins.arrivals.rate_per_s"]));
    // The onset is compared as a clock time, in seconds since midnight: 8:05 is 29,100 s.
    let pred = read_table(&out.join("predictive.parquet")).unwrap();
    let (obs, plo, phi) = (pred.num("observed").unwrap(), pred.num("predictive_lo").unwrap(), pred.num("predictive_hi").unwrap());
    assert_eq!(obs[0], 29_100.0);
    assert!(plo[0] <= 29_100.0 && 29_100.0 <= phi[0] && phi[0] - plo[0] <= 600.0, "predictive onset [{}, {}]", plo[0], phi[0]);
    // The calibrated variant writes the median to both cohorts.
    let text = std::fs::read_to_string(out.join("calibrated.toml")).unwrap();
    let variant = text.split("[variants.calibrated]").nth(1).unwrap();
    for cohort in ["callers", "walkins"] {
        assert!(variant.contains(&format!("\"cohorts.{cohort}.arrivals.rate_per_s\" = {median}")), "{variant}");
    }

    // A sweep over its posterior: two staffing levels at the same four draws, with common random numbers.
    let exp = d.join("staffing.toml");
    std::fs::write(
        &exp,
        "[experiment]\nname = \"staffing\"\nscenario = \"desk.toml\"\nreplications = 2\nseed = 9\ncrn = true\ndesign = \"grid\"\n\n\
         [grid]\n\"platforms.desk.pool.servers\" = [20, 24]\n",
    )
    .unwrap();
    let sweep = d.join("sweep");
    let (code, _, stderr) =
        rentree(&["sweep", exp.to_str().unwrap(), "--posterior", out.to_str().unwrap(), "--draws", "4", "--out", sweep.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("over 4 draws from the posterior"), "{stderr}");
    let runs = read_table(&sweep.join("runs.parquet")).unwrap();
    assert_eq!(runs.height, 2 * 4 * 2, "two configurations, four draws, two replications");
    // Arrivals depend on the rate and the streams only: the same at the same draw and replication whatever
    // the staffing (common draws and common random numbers), and the draws' own rates tell them apart.
    let (config, arrivals) = (runs.num("config").unwrap(), runs.num("arrivals").unwrap());
    let replication = runs.num("replication").unwrap();
    let at = |c: f64, r: f64| (0..runs.height).find(|&i| config[i] == c && replication[i] == r).map(|i| arrivals[i]).unwrap();
    for draw in 0..4 {
        for r in [0.0, 1.0] {
            assert_eq!(at(draw as f64, r), at(4.0 + draw as f64, r), "draw {draw}, replication {r}");
        }
    }
    let distinct: std::collections::BTreeSet<u64> = (0..4).map(|draw| at(draw as f64, 0.0) as u64).collect();
    assert!(distinct.len() > 1, "four posterior draws gave one rate: {distinct:?}");
    // credible.parquet: per configuration and metric, the interval over the draws holds the mean.
    let cred = read_table(&sweep.join("credible.parquet")).unwrap();
    let (metric, mean, clo, chi) =
        (cred.text("metric").unwrap(), cred.num("mean").unwrap(), cred.num("credible_lo").unwrap(), cred.num("credible_hi").unwrap());
    let rows: Vec<usize> = (0..cred.height).filter(|&i| metric[i] == "arrivals").collect();
    assert_eq!(rows.len(), 2);
    for i in rows {
        assert!(clo[i] < chi[i] && (clo[i]..=chi[i]).contains(&mean[i]), "arrivals {} in [{}, {}]", mean[i], clo[i], chi[i]);
    }
    let sm = manifest(&sweep);
    assert_eq!(sm["posterior"]["draws"], 4);
    assert!(sm["files"].as_array().unwrap().iter().any(|f| f["name"] == "credible.parquet"), "{sm}");
    // The same sweep resumed finds every run; a sweep over a posterior cannot be sharded.
    let (code, _, stderr) = rentree(&[
        "sweep",
        exp.to_str().unwrap(),
        "--posterior",
        out.to_str().unwrap(),
        "--draws",
        "4",
        "--resume",
        "--out",
        sweep.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("16 run(s) done (16 skipped"), "{stderr}");
    let (code, _, stderr) = rentree(&[
        "sweep",
        exp.to_str().unwrap(),
        "--posterior",
        out.to_str().unwrap(),
        "--shard",
        "0/2",
        "--out",
        d.join("x").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--shard") && stderr.contains("--posterior"), "{stderr}");
}

#[test]
fn the_replay_as_it_stands_quotes_its_shipped_calibration_and_a_variant_does_not() {
    let d = scratch("calibrate", "shipped");
    let run = d.join("run");
    let (code, _, stderr) = rentree(&["run", "--scale", "0.01", "--out", run.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("calibrated to the day's reported figures (models/calibration/france-2021-04-06.posterior"), "{stderr}");
    let note = &manifest(&run)["calibrated"];
    assert!(note["predictive_runs"].as_u64().unwrap() >= 20, "{note}");
    assert_eq!(note["calibration_scale"], 0.1);
    for name in ["served_share_by_0900", "accessed", "p95_time_to_access_s"] {
        let x = note["metrics"].as_array().unwrap().iter().find(|x| x["metric"] == name).unwrap();
        let (lo, median, hi) = (x["q05"].as_f64().unwrap(), x["median"].as_f64().unwrap(), x["q95"].as_f64().unwrap());
        assert!(lo <= median && median <= hi, "{name}: [{lo}, {hi}], median {median}");
    }
    // The shipped manifest is the folder's own (its checksums hold), and counts are quoted at the run's scale.
    let shipped: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::common::repo("models/calibration/france-2021-04-06.posterior/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(note["calibration_run_id"], shipped["run_id"]);
    rentree::output::check_results(&crate::common::repo("models/calibration/france-2021-04-06.posterior")).unwrap();
    let national =
        shipped["predictive_summary"].as_array().unwrap().iter().find(|x| x["metric"] == "accessed").unwrap()["median"].as_f64().unwrap();
    let quoted = note["metrics"].as_array().unwrap().iter().find(|x| x["metric"] == "accessed").unwrap()["median"].as_f64().unwrap();
    assert!((quoted - national * 0.01).abs() < 1e-6 * national, "{quoted} against {national} × 0.01");
    // The briefing says it.
    let (code, _, stderr) = rentree(&["report", run.to_str().unwrap(), "--lang", "en", "--out", d.join("brief").to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Calibrated to the figures reported that day") && stderr.contains("once calibrated"), "{stderr}");
    // A variant or an override changes what was calibrated: no quote.
    let other = d.join("variant");
    let (code, _, stderr) = rentree(&["run", "--scale", "0.01", "--variant", "no-attack", "--out", other.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("calibrated to the day's") && manifest(&other).get("calibrated").is_none(), "{stderr}");
}
