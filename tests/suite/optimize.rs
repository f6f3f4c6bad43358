//! `rentree optimize`: on two M/M/c pools whose cheapest allocation under a wait target Erlang C gives
//! exactly, the optimisation finds it in fewer runs than a grid, over repetitions too; the same bytes
//! whatever the jobs and after a resume; bad problems are refused with the file and the field.

use rentree::analytic::erlang_c;
use rentree::sweep::experiment::Experiment;
use rentree::sweep::optimize::{optimize, OptimizeOptions, OptimizeOutcome};
use std::path::{Path, PathBuf};

use crate::common;

/// Pool a: λ = 20/s, μ = 1/s, price 1; pool b: λ = 6/s, μ = 1/2 per s, price 2 (the model's and the
/// experiment's values).
const POOLS: [(f64, f64, f64); 2] = [(20.0, 1.0, 1.0), (6.0, 0.5, 2.0)];
/// The target on the whole system's mean wait, and its tolerance.
const TARGET_S: f64 = 0.094;
const TOLERANCE_S: f64 = 0.012;

/// The whole system's mean wait by Erlang C: the pools' waits weighted by their arrival rates.
fn mean_wait_s(servers: [u32; 2]) -> f64 {
    let total: f64 = POOLS.iter().map(|p| p.0).sum();
    POOLS.iter().zip(servers).map(|(&(l, m, _), c)| l * erlang_c(c, l, m).map_or(f64::INFINITY, |e| e.mean_wait_s)).sum::<f64>() / total
}

/// The cheapest allocation in the experiment's box (a in 21..=45, b in 13..=35) meeting the target, by
/// enumeration of Erlang C; asserts the problem is one a procedure with the tolerance can decide.
fn exact_optimum() -> [u32; 2] {
    let cost = |s: [u32; 2]| POOLS[0].2 * f64::from(s[0]) + POOLS[1].2 * f64::from(s[1]);
    let points: Vec<[u32; 2]> = (21..=45).flat_map(|a| (13..=35).map(move |b| [a, b])).collect();
    let best = points.iter().copied().filter(|&s| mean_wait_s(s) <= TARGET_S).min_by(|&x, &y| cost(x).total_cmp(&cost(y))).unwrap();
    // The optimum is desirable (below the target by more than the tolerance), unique at its cost, and
    // every cheaper allocation unacceptable (above by more than the tolerance).
    assert!(mean_wait_s(best) <= TARGET_S - TOLERANCE_S, "{}", mean_wait_s(best));
    assert_eq!(points.iter().filter(|&&s| cost(s) == cost(best) && mean_wait_s(s) <= TARGET_S).count(), 1);
    for &s in points.iter().filter(|&&s| cost(s) < cost(best)) {
        assert!(mean_wait_s(s) >= TARGET_S + TOLERANCE_S, "{s:?}: {}", mean_wait_s(s));
    }
    best
}

/// The experiment of `experiments/two-pools`, with another seed, and optionally a smaller box.
fn experiment(dir: &Path, seed: u64, boxed: Option<([u32; 2], [u32; 2])>) -> PathBuf {
    let text = std::fs::read_to_string(common::repo("experiments/two-pools/experiment.toml")).unwrap();
    let mut text = text.replace("seed = 1\n", &format!("seed = {seed}\n")).replace(
        "scenario = \"two-pools.toml\"",
        &format!("scenario = \"{}\"", common::repo("experiments/two-pools/two-pools.toml").display()),
    );
    if let Some((lo, hi)) = boxed {
        text = text
            .replace("{ min = 21, max = 45,", &format!("{{ min = {}, max = {},", lo[0], hi[0]))
            .replace("{ min = 13, max = 35,", &format!("{{ min = {}, max = {},", lo[1], hi[1]));
    }
    let p = dir.join("experiment.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn options(out: PathBuf, jobs: usize) -> OptimizeOptions {
    OptimizeOptions {
        out,
        jobs,
        resume: false,
        progress: false,
        budget: Default::default(),
        confidence: 0.95,
        first_stage: 5,
        max_runs: 2000,
        max_replications: 1000,
        cluster: None,
    }
}

fn knobs(o: &OptimizeOutcome) -> Vec<String> {
    o.note.optimum_knobs.iter().map(|(_, v)| v.clone()).collect()
}

#[test]
fn the_cheapest_allocation_by_erlang_c_is_found_in_fewer_runs_than_a_grid() {
    let best = exact_optimum();
    assert_eq!(best, [25, 15]);
    let d = common::scratch("optimize", "erlang");
    let o = optimize(&Experiment::load(&experiment(&d, 1, None)).unwrap(), &options(d.join("out"), 2)).unwrap();
    assert_eq!(knobs(&o), ["25", "15"], "{:?}", o.note);
    assert_eq!(o.note.optimum_cost, Some(55.0));
    let spent = (o.note.search_runs + o.note.cleanup_runs) as f64;
    assert!(spent < o.note.grid_runs, "{spent} runs against a grid's {}", o.note.grid_runs);
    // The table holds every visited point, the optimum marked, and the frontier of cost against wait.
    let table = rentree::output::read_table(&d.join("out/optimization.parquet")).unwrap();
    assert_eq!(table.text("outcome").unwrap().iter().filter(|t| *t == "optimum").count(), 1);
    assert_eq!(table.text("label").unwrap().len(), o.visited.len());
    assert!(table.text("frontier").unwrap().iter().any(|t| t == "yes"));
    assert!(table.num("mean_wait_s_mean").unwrap().iter().all(|w| w.is_finite()));
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["optimization"]["optimum"], "a.pool.servers=25, b.pool.servers=15");
    rentree::output::check_results(&d.join("out")).unwrap();
    // The briefing says what was found, how sure, at what cost in runs, and draws the frontier.
    for (lang, words) in [
        ("en", "Cheapest configuration found: \"a.pool.servers=25, b.pool.servers=15\", cost 55"),
        ("fr", "Configuration la moins chère trouvée : « a.pool.servers=25, b.pool.servers=15 », coût 55"),
    ] {
        let (code, stdout, stderr) = common::rentree(&["report", d.join("out").to_str().unwrap(), "--lang", lang]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains(words), "{stderr}");
        let page = std::fs::read_to_string(stdout.trim()).unwrap();
        // The page escapes its quotes.
        assert!(page.contains("id=\"optimization\"") && page.contains(&words.replace('"', "&quot;")), "{lang}");
    }
}

#[test]
fn over_repetitions_the_optimum_is_found_as_often_as_stated() {
    // Five independent optimisations (seeds 2..=6): the optimum must be the answer in at least four. The
    // benchmark (`examples/optimize_success.rs`) measures the share over many more (README); at a share of
    // 0.95, four of five or better comes with probability 0.977.
    let best = exact_optimum();
    let want = [best[0].to_string(), best[1].to_string()];
    let mut found = 0;
    for seed in 2..=6 {
        let d = common::scratch("optimize", &format!("rep-{seed}"));
        let o = optimize(&Experiment::load(&experiment(&d, seed, None)).unwrap(), &options(d.join("out"), 2)).unwrap();
        found += usize::from(knobs(&o) == want);
        std::fs::remove_dir_all(&d).unwrap();
    }
    assert!(found >= 4, "the optimum in {found} of 5 optimisations");
}

#[test]
fn a_start_is_the_first_point_run_and_the_optimum_is_still_found() {
    // Started at the far corner of the box (45, 35), the search's first point is that corner, and it
    // still ends at Erlang C's optimum: a start adds a point, it does not confine the search.
    let d = common::scratch("optimize", "start");
    let p = experiment(&d, 1, None);
    let text = std::fs::read_to_string(&p).unwrap().replace(
        "[optimize.cost]\n",
        "[optimize.start]\n\"platforms.a.pool.servers\" = 45\n\"platforms.b.pool.servers\" = 35\n[optimize.cost]\n",
    );
    std::fs::write(&p, text).unwrap();
    let o = optimize(&Experiment::load(&p).unwrap(), &options(d.join("out"), 2)).unwrap();
    assert_eq!(knobs(&o), ["25", "15"], "{:?}", o.note);
    let table = rentree::output::read_table(&d.join("out/optimization.parquet")).unwrap();
    assert_eq!(table.text("label").unwrap()[0], "a.pool.servers=45, b.pool.servers=35");
}

fn bytes(dir: &Path) -> Vec<Vec<u8>> {
    ["optimization.parquet", "runs.parquet", "configs.parquet", "timeseries.parquet", "plan.json"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect()
}

#[test]
fn one_and_two_jobs_and_a_resume_after_losing_runs_write_the_same_bytes() {
    let d = common::scratch("optimize", "jobs");
    let e = experiment(&d, 3, Some(([22, 13], [30, 19])));
    let (a, b) = (d.join("a"), d.join("b"));
    for (out, jobs) in [(&a, "1"), (&b, "2")] {
        let args = ["optimize", e.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", jobs];
        let (code, stdout, stderr) = common::rentree(&args);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.starts_with("cheapest found: 'a.pool.servers=25, b.pool.servers=15', cost 55"), "{stdout}");
    }
    assert_eq!(bytes(&a), bytes(&b));
    // An optimisation killed late: its manifest withdrawn, a third of its runs lost.
    std::fs::remove_file(b.join("manifest.json")).unwrap();
    let mut lost = 0;
    for (i, entry) in std::fs::read_dir(b.join("runs")).unwrap().enumerate() {
        if i % 3 == 0 {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
            lost += 1;
        }
    }
    let args = ["optimize", e.to_str().unwrap(), "--out", b.to_str().unwrap(), "--jobs", "2", "--resume"];
    let (code, _, stderr) = common::rentree(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("{lost} run(s) executed")), "{stderr}");
    assert_eq!(bytes(&a), bytes(&b));
    // Other options make another search: the folder refuses them.
    let args = ["optimize", e.to_str().unwrap(), "--out", b.to_str().unwrap(), "--resume", "--max-runs", "50"];
    let (code, _, stderr) = common::rentree(&args);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("another experiment"), "{stderr}");
}

#[test]
fn bad_problems_are_refused_with_the_file_and_the_field() {
    let d = common::scratch("optimize", "bad");
    let good = std::fs::read_to_string(experiment(&d, 1, None)).unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("platforms.b.pool.servers\" = 2.0 }", "platforms.c.pool.servers\" = 2.0 }", "optimize.cost.linear.\"platforms.c.pool.servers\""),
        ("mean_wait_s<=0.094+-0.012", "mean_wait_s<=0.094", "optimize.constraints[0]"),
        ("mean_wait_s<=0.094+-0.012", "no_such_metric<=1+-0.1", "optimize.constraints[0]"),
        ("{ min = 13, max = 35,", "{ min = 13, max = 12,", "optimize.knobs.\"platforms.b.pool.servers\""),
        ("{ min = 13, max = 35,", "{ min = 13, max = 35, step = 0,", "optimize.knobs.\"platforms.b.pool.servers\""),
        ("{ min = 13, max = 35,", "{ min = -1, max = 35,", "optimize.knobs.\"platforms.b.pool.servers\""),
        ("[optimize.cost]\n", "[optimize.cost]\nmetric = \"server_hours\"\n", "optimize.cost"),
        ("design = \"optimize\"", "design = \"grid\"", "optimize"),
        ("[optimize]\n", "[optimize]\nbudget = 3\n", "unknown field `budget`"),
        // A start off a knob's lattice, on a knob that does not exist, or missing a knob.
        (
            "[optimize.cost]\n",
            "[optimize.start]\n\"platforms.a.pool.servers\" = 25.5\n\"platforms.b.pool.servers\" = 15\n[optimize.cost]\n",
            "optimize.start.\"platforms.a.pool.servers\"",
        ),
        (
            "[optimize.cost]\n",
            "[optimize.start]\n\"platforms.a.pool.servers\" = 46\n\"platforms.b.pool.servers\" = 15\n[optimize.cost]\n",
            "optimize.start.\"platforms.a.pool.servers\"",
        ),
        (
            "[optimize.cost]\n",
            "[optimize.start]\n\"platforms.c.pool.servers\" = 25\n\"platforms.b.pool.servers\" = 15\n[optimize.cost]\n",
            "optimize.start.\"platforms.c.pool.servers\"",
        ),
        (
            "[optimize.cost]\n",
            "[optimize.start]\n\"platforms.b.pool.servers\" = 15\n[optimize.cost]\n",
            "optimize.start.\"platforms.a.pool.servers\"",
        ),
    ];
    for (i, (from, to, field)) in cases.iter().enumerate() {
        assert!(good.contains(from), "case {i}: {from:?} not in the experiment");
        let p = d.join(format!("bad-{i}.toml"));
        std::fs::write(&p, good.replacen(from, to, 1)).unwrap();
        let out = d.join(format!("out-{i}"));
        let (code, _, stderr) = common::rentree(&["optimize", p.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert_eq!(code, 2, "case {i}: {stderr}");
        assert!(stderr.contains(&p.display().to_string()) && stderr.contains(field), "case {i}: {stderr}");
    }
    // A sweep of an optimisation, and an optimisation of a sweep's experiment, say which command to use.
    let (code, _, stderr) =
        common::rentree(&["sweep", d.join("experiment.toml").to_str().unwrap(), "--out", d.join("s").to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("rentree optimize"), "{stderr}");
    let sweep = common::repo("experiments/quota-strategies/experiment.toml");
    let (code, _, stderr) = common::rentree(&["optimize", sweep.to_str().unwrap(), "--out", d.join("o").to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("experiment.design") && stderr.contains("[optimize]"), "{stderr}");
    for (flag, value) in [("--confidence", "1.5"), ("--max-runs", "3"), ("--first-stage", "1")] {
        let (code, _, stderr) = common::rentree(&[
            "optimize",
            d.join("experiment.toml").to_str().unwrap(),
            flag,
            value,
            "--out",
            d.join("f").to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{flag}: {stderr}");
        assert!(stderr.contains(flag), "{flag}: {stderr}");
    }
}
