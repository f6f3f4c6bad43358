//! How far an answer computed at a reduced `--scale` is from the full-scale answer.
//!
//! `--scale F` shrinks population and capacity together, but queues do not shrink proportionally: a pool
//! of 8 slots fluctuates far more than one of 800. This measurement runs the 6 April 2021 replay and each
//! of its variants, the Monday evening, and each study's strategies (`experiments/*/experiment.toml`) at
//! several scales with replications, and prints, for every headline metric, the full-scale mean and at each
//! reduced scale the difference from it with its 95% Welch interval, judged against the metric's
//! equivalence margin (the largest bias a planner can ignore: half a point of users in, two minutes of
//! waiting, …): `✓` when the whole interval lies within ±margin (equivalent, in the sense of Schuirmann's
//! two one-sided tests: Schuirmann 1987, "A comparison of the two one-sided tests procedure and the power
//! approach for assessing the equivalence of average bioavailability", J. Pharmacokinet. Biopharm. 15), `✗`
//! when it lies wholly outside (biased), `?` when it straddles the margin (too few replications to tell).
//! Then the smallest scale from which every metric is equivalent, and whether each study ranks its
//! strategies as full scale does. A scale is never called faithful for want of replications: an interval
//! too wide to show equivalence is not agreement.
//!
//! ```sh
//! cargo run --release --example scale_bias -- \
//!     [--scales 0.01,0.03,0.1,0.3,1] [--reps 10,6,4,3,2] [--only replay,evening,quota-strategies,provisioning] \
//!     [--runs results/scale-bias/runs.tsv] [--seed 20210406] [--table-only]
//! ```
//!
//! `--reps` gives the replications at each scale (full scale varies least and costs most). Every finished
//! run is appended to the runs file at once (one line of metrics), and runs already there are not run again:
//! an interrupted measurement resumes where it stopped, and more replications or scales can be added later
//! and tabulated with the earlier ones. Runs go in order of replication, then scale, so that an early stop
//! still leaves two replications at every scale. This is a measurement, not a test: a full set takes hours
//! on 2 cores (a full-scale replay is about a minute).

use rentree::metrics::ci::{Difference, Estimate};
use rentree::scenario::{Override, Scenario};
use rentree::sweep::experiment::{Experiment, RawExperiment};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The largest difference from full scale a planner can ignore.
#[derive(Clone, Copy)]
enum Margin {
    /// In the metric's own unit.
    Abs(f64),
    /// As a share of the full-scale mean.
    Rel(f64),
}

impl Margin {
    fn of(self, full_mean: f64) -> f64 {
        match self {
            Margin::Abs(x) => x,
            Margin::Rel(r) => r * full_mean.abs(),
        }
    }
}

/// The metrics kept of each run, in the runs file's column order: name, title, equivalence margin. The
/// margins are decisions' resolution, fixed before any measurement: half a point of users let in, a point
/// of Pronote's (a smaller population) or of those who gave up, two minutes of waiting or of the first
/// saturated minute, 5% of the requests a session costs, two timeouts per 100 users, half a point of classes.
const METRICS: [(&str, &str, Margin); 9] = [
    ("in_by_0900", "users in by 9:00 (%)", Margin::Abs(0.5)),
    ("in_by_1200", "users in by noon (%)", Margin::Abs(0.5)),
    ("pronote_in_by_0900", "Pronote users in by 9:00 (%)", Margin::Abs(1.0)),
    ("p95_access_min", "p95 time to access (min)", Margin::Abs(2.0)),
    ("gave_up", "users who gave up (%)", Margin::Abs(1.0)),
    ("requests_per_session", "requests per session", Margin::Rel(0.05)),
    ("timeouts_per_100", "timeouts per 100 users", Margin::Abs(2.0)),
    ("classes_lost", "virtual classes lost (%)", Margin::Abs(0.5)),
    ("pronote_saturated_at", "Pronote's first saturated minute (clock)", Margin::Abs(2.0)),
];

/// How a reduced scale's difference from full scale compares with a margin.
fn verdict(d: &Difference, margin: f64) -> &'static str {
    if d.mean.abs() + d.half_width <= margin {
        "✓"
    } else if d.mean.abs() - d.half_width > margin {
        "✗"
    } else {
        "?"
    }
}

/// Utilization from which a minute of a pool counts as saturated.
const SATURATED: f64 = 0.95;

/// One configuration to measure: a study, a label, and how to build its scenario at a scale.
struct Case {
    study: String,
    label: String,
    text: String,
    origin: PathBuf,
    overrides: Vec<Override>,
    seed: u64,
}

impl Case {
    fn scenario(&self, scale: f64) -> Scenario {
        Scenario::from_toml_scaled(&self.text, &self.origin, &self.overrides, scale)
            .unwrap_or_else(|e| panic!("{} / {} at scale {scale}: {e}", self.study, self.label))
    }
}

fn replay_cases(seed: u64) -> Vec<Case> {
    let m = rentree::builtin::REPLAY;
    let origin = PathBuf::from(m.path);
    let names: Vec<String> = {
        let raw: toml::Table = toml::from_str(m.text).expect("the built-in replay parses");
        raw.get("variants").and_then(|v| v.as_table()).map(|t| t.keys().cloned().collect()).unwrap_or_default()
    };
    let mut cases = vec![Case {
        study: "replay".into(),
        label: "the day".into(),
        text: m.text.into(),
        origin: origin.clone(),
        overrides: vec![],
        seed,
    }];
    for name in names {
        let overrides = Override::variant(m.text, &origin, &name).expect("a built-in variant");
        cases.push(Case {
            study: "replay".into(),
            label: format!("variant {name}"),
            text: m.text.into(),
            origin: origin.clone(),
            overrides,
            seed,
        });
    }
    cases
}

fn evening_cases(seed: u64) -> Vec<Case> {
    let m = rentree::builtin::EVENING;
    vec![Case {
        study: "evening".into(),
        label: "Monday evening".into(),
        text: m.text.into(),
        origin: m.path.into(),
        overrides: vec![],
        seed,
    }]
}

/// The strategies of `experiments/NAME/experiment.toml`, each with its overrides on the study's scenario.
fn study_cases(name: &str) -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments").join(name).join("experiment.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let raw: RawExperiment = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let seed = raw.experiment.seed;
    let scenario_path = path.parent().unwrap().join(&raw.experiment.scenario);
    let scenario_text = std::fs::read_to_string(&scenario_path).unwrap_or_else(|e| panic!("{}: {e}", scenario_path.display()));
    let experiment = Experiment::from_raw(raw, &path).unwrap_or_else(|e| panic!("{e}"));
    experiment
        .configs
        .iter()
        .map(|c| Case {
            study: name.into(),
            label: c.label.clone(),
            text: scenario_text.clone(),
            origin: scenario_path.clone(),
            overrides: c.overrides.clone(),
            seed,
        })
        .collect()
}

/// The headline metrics of one run (NaN where a metric does not apply).
fn measure(s: &Scenario, seed: u64, replication: u64) -> Vec<f64> {
    let report = rentree::world::run(s, seed, replication).unwrap_or_else(|e| panic!("{}: {e}", s.name));
    let all = &report.summary;
    let per_user = |x: u64| if all.users > 0 { x as f64 / all.users as f64 } else { f64::NAN };
    let pronote = report.rows.iter().find(|r| r.platform == "pronote" && r.cohort == "all");
    let saturated = report
        .timeseries
        .iter()
        .find(|r| r.platform == "pronote" && r.utilization >= SATURATED)
        .map_or(f64::NAN, |r| (s.clock_start_s + r.t_s) / 60.0);
    vec![
        100.0 * all.served_share_by_0900,
        100.0 * all.served_share_by_1200,
        pronote.map_or(f64::NAN, |p| 100.0 * p.served_share_by_0900),
        all.p95_time_to_access_s / 60.0,
        100.0 * per_user(all.gave_up),
        all.amplification,
        100.0 * per_user(all.timeouts),
        if all.classes_planned > 0 { 100.0 * all.classes_lost as f64 / all.classes_planned as f64 } else { f64::NAN },
        saturated,
    ]
}

fn list<T: std::str::FromStr>(flag: &str, text: &str) -> Vec<T> {
    text.split(',').map(|x| x.trim().parse().unwrap_or_else(|_| panic!("{flag}: cannot read {x:?}"))).collect()
}

/// Key of a run in the runs file.
type Key = (String, String, String, u64);

fn key_of(study: &str, label: &str, scale: f64, rep: u64) -> Key {
    (study.to_owned(), label.to_owned(), format!("{scale}"), rep)
}

/// The runs already measured: key → metrics.
fn read_runs(path: &Path) -> BTreeMap<Key, Vec<f64>> {
    let mut runs = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(path) else { return runs };
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split('\t').collect();
        if cells.len() != 4 + METRICS.len() {
            continue; // a line cut by a kill: its run is measured again
        }
        let values = cells[4..].iter().map(|c| c.parse().unwrap_or(f64::NAN)).collect();
        runs.insert((cells[0].into(), cells[1].into(), cells[2].into(), cells[3].parse().unwrap()), values);
    }
    runs
}

fn clock(min: f64) -> String {
    if min.is_nan() {
        return "never".into();
    }
    format!("{}:{:02}", (min / 60.0).floor() as u64, (min % 60.0).round() as u64)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut scales: Vec<f64> = vec![0.01, 0.03, 0.1, 0.3, 1.0];
    let mut reps: Vec<u64> = vec![10, 6, 4, 3, 2];
    let mut only: Vec<String> = ["replay", "evening", "quota-strategies", "provisioning"].map(String::from).to_vec();
    let mut runs_path = PathBuf::from("results/scale-bias/runs.tsv");
    let mut seed = 20210406;
    let mut table_only = false;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--table-only" {
            // Tabulate the runs file as it is (while a measurement is still filling it, say).
            table_only = true;
            i += 1;
            continue;
        }
        let value = args.get(i + 1).unwrap_or_else(|| panic!("{} needs a value", args[i]));
        match args[i].as_str() {
            "--scales" => scales = list("--scales", value),
            "--reps" => reps = list("--reps", value),
            "--only" => only = list("--only", value),
            "--runs" => runs_path = value.into(),
            "--seed" => seed = value.parse().expect("--seed: an integer"),
            other => panic!("unknown option {other}; see the doc comment of examples/scale_bias.rs"),
        }
        i += 2;
    }
    assert_eq!(scales.len(), reps.len(), "--reps gives one count per scale");
    let full = *scales.iter().max_by(|a, b| a.total_cmp(b)).unwrap();

    let mut cases = Vec::new();
    for study in &only {
        cases.extend(match study.as_str() {
            "replay" => replay_cases(seed),
            "evening" => evening_cases(seed),
            name => study_cases(name),
        });
    }
    let done = read_runs(&runs_path);
    if let Some(dir) = runs_path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&runs_path).unwrap();
    let file = Mutex::new(file);
    if done.is_empty() {
        let header: Vec<&str> = ["study", "config", "scale", "replication"].into_iter().chain(METRICS.iter().map(|m| m.0)).collect();
        writeln!(file.lock().unwrap(), "{}", header.join("\t")).unwrap();
    }
    // Replication-major, then scale, then case: an early stop leaves every scale with its first replications.
    let max_reps = reps.iter().copied().max().unwrap_or(0);
    let mut jobs = Vec::new();
    for rep in (0..max_reps).filter(|_| !table_only) {
        for (k, &scale) in scales.iter().enumerate() {
            if rep >= reps[k] {
                continue;
            }
            for (c, case) in cases.iter().enumerate() {
                if !done.contains_key(&key_of(&case.study, &case.label, scale, rep)) {
                    jobs.push((c, scale, rep));
                }
            }
        }
    }
    eprintln!("{} runs to do, {} already in {}", jobs.len(), done.len(), runs_path.display());
    let started = std::time::Instant::now();
    let finished = std::sync::atomic::AtomicUsize::new(0);
    // Two runs at a time, taken in list order from a shared counter (rayon would split the list in halves
    // and lose the order): a full-scale run already keeps both cores of this machine busy with its
    // components, and holds about 1 GiB.
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(c, scale, rep)) = jobs.get(j) else { break };
                let case = &cases[c];
                let values = measure(&case.scenario(scale), case.seed, rep);
                let cells: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
                let mut f = file.lock().unwrap();
                writeln!(f, "{}\t{}\t{scale}\t{rep}\t{}", case.study, case.label, cells.join("\t")).unwrap();
                f.flush().unwrap();
                let n = finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                eprintln!(
                    "[{n}/{}] {} / {} at {scale}, replication {rep} ({:.0} s)",
                    jobs.len(),
                    case.study,
                    case.label,
                    started.elapsed().as_secs_f64()
                );
            });
        }
    });

    let runs = read_runs(&runs_path);
    let estimate = |case: &Case, scale: f64, m: usize| -> Option<Estimate> {
        let values: Vec<f64> = (0..max_reps).filter_map(|r| runs.get(&key_of(&case.study, &case.label, scale, r)).map(|v| v[m])).collect();
        (!values.is_empty() && values.iter().all(|v| v.is_finite())).then(|| Estimate::new(&values, 0.95))
    };
    println!(
        "Scale bias: each reduced scale's difference from scale {full} (mean ± 95% Welch half-width): ✓ within the metric's margin \
         (shown beside it), ✗ beyond it, ? too few replications to tell."
    );
    println!("Replications per scale: {}.\n", scales.iter().zip(&reps).map(|(s, r)| format!("{s}: {r}")).collect::<Vec<_>>().join(", "));
    let reduced: Vec<f64> = scales.iter().copied().filter(|&s| s != full).collect();
    let mut faithful_lines = Vec::new();
    for case in &cases {
        println!("#### {} / {}\n", case.study, case.label);
        let head: Vec<String> = reduced.iter().map(|s| format!("{s} − {full}")).collect();
        println!("| metric | scale {full} | {} |", head.join(" | "));
        println!("| --- | ---: |{}", " ---: |".repeat(reduced.len()));
        // Whether every metric agrees at each reduced scale.
        let mut agrees = vec![true; reduced.len()];
        for (m, (name, title, margin)) in METRICS.iter().enumerate() {
            let Some(f) = estimate(case, full, m) else { continue };
            let show = |x: f64| if *name == "pronote_saturated_at" { clock(x) } else { format!("{x:.2}") };
            let mut cells = Vec::new();
            for (k, &s) in reduced.iter().enumerate() {
                match estimate(case, s, m) {
                    Some(e) => {
                        let d = Difference::new(&e, &f, 0.95);
                        let v = verdict(&d, margin.of(f.mean));
                        agrees[k] &= v == "✓";
                        cells.push(format!("{:+.2} ± {:.2} {v}", d.mean, d.half_width));
                    }
                    None => {
                        // A metric that exists at full scale but not here (Pronote never saturates, say).
                        if (0..max_reps).any(|r| runs.contains_key(&key_of(&case.study, &case.label, s, r))) {
                            agrees[k] = false;
                            cells.push("n/a ✗".into());
                        } else {
                            cells.push("—".into());
                        }
                    }
                }
            }
            println!("| {title} (±{:.2}) | {} ± {:.2} | {} |", margin.of(f.mean), show(f.mean), f.half_width, cells.join(" | "));
        }
        // The smallest scale from which every larger scale agrees too.
        let mut faithful = full;
        for (k, &s) in reduced.iter().enumerate().rev() {
            if agrees[k] {
                faithful = s;
            } else {
                break;
            }
        }
        println!();
        faithful_lines.push(format!("| {} | {} | {faithful} |", case.study, case.label));
    }
    println!("#### Smallest scale whose every headline metric is equivalent to scale {full} (and every scale above it)\n");
    println!("| study | configuration | scale |\n| --- | --- | ---: |");
    for l in &faithful_lines {
        println!("{l}");
    }
    // The first headline metric at a glance: one row per configuration, one column per scale.
    println!(
        "\n#### {} at each scale (mean; ✗ biased beyond ±{} point, ? too few replications to tell, against scale {full})\n",
        METRICS[0].1,
        METRICS[0].2.of(0.0)
    );
    println!("| study | configuration | {} |", scales.iter().map(|s| format!("{s}")).collect::<Vec<_>>().join(" | "));
    println!("| --- | --- |{}", " ---: |".repeat(scales.len()));
    for case in &cases {
        let Some(f) = estimate(case, full, 0) else { continue };
        let cells: Vec<String> = scales
            .iter()
            .map(|&s| match estimate(case, s, 0) {
                Some(e) if s == full => format!("{:.2} ± {:.2}", e.mean, e.half_width),
                Some(e) => match verdict(&Difference::new(&e, &f, 0.95), METRICS[0].2.of(f.mean)) {
                    "✓" => format!("{:.2}", e.mean),
                    v => format!("{:.2} {v}", e.mean),
                },
                None => "—".into(),
            })
            .collect();
        println!("| {} | {} | {} |", case.study, case.label, cells.join(" | "));
    }
    // Rankings of each study's strategies, by the share of users in by 9:00 and by noon.
    for study in only.iter().filter(|s| !matches!(s.as_str(), "replay" | "evening")) {
        let members: Vec<&Case> = cases.iter().filter(|c| &c.study == study).collect();
        for (m, title) in [(0, "in by 9:00"), (1, "in by noon")] {
            println!("\n#### {study}: strategies ranked by users {title}\n");
            println!("| scale | ranking (best first) | same as scale {full} |\n| ---: | --- | --- |");
            let rank = |s: f64| -> Option<Vec<String>> {
                let mut r: Vec<(f64, String)> =
                    members.iter().map(|c| estimate(c, s, m).map(|e| (e.mean, c.label.clone()))).collect::<Option<_>>()?;
                r.sort_by(|a, b| b.0.total_cmp(&a.0));
                Some(r.into_iter().map(|x| x.1).collect())
            };
            let reference = rank(full);
            for &s in &scales {
                if let Some(r) = rank(s) {
                    let same = if Some(&r) == reference.as_ref() { "yes" } else { "no" };
                    println!("| {s} | {} | {same} |", r.join(" > "));
                }
            }
        }
    }
}
