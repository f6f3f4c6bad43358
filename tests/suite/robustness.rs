//! No input can exhaust the machine, hang a run or be silently clamped: every input below once aborted the
//! process on a failed allocation, spun for ever, ran with a clamped value or blamed the wrong thing. Each
//! now exits with code 2 and a message naming the file or flag, the field, what was found and what was
//! expected — or, where it is valid, runs within its budget.

use crate::common;

use common::{rentree, scratch};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A small session scenario (one platform, one cohort) to mutate.
const SESSIONS: &str = r#"
[scenario]
name = "small platform"
horizon_s = 600.0

[cohorts.pupils]
platform = "ent"
arrivals = { process = "population", count = 200, shape = [[0.0, 1.0], [300.0, 1.0]] }
session = { pages = 3, think = { dist = "exponential", mean_s = 5.0 }, timeout_s = 30.0, comeback = { delay = { dist = "uniform", min_s = 60.0, max_s = 120.0 }, max_returns = 3 } }

[platforms.ent.pool]
servers = 2
workers_per_server = 4
service = { dist = "exponential", mean_s = 0.2 }
"#;

/// A textbook queue to mutate.
const QUEUE: &str = common::MM2;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the binary and checks it exits 2 with a message containing every needle, no panic, no clap tip
/// about `--`, and a message of reasonable length.
fn refused(what: &str, args: &[&str], needles: &[&str]) {
    let started = Instant::now();
    let (code, _, stderr) = rentree(args);
    assert_eq!(code, 2, "{what}: exit code; stderr:\n{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{what}: message lacks {n:?}:\n{stderr}");
    }
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{what}: panic:\n{stderr}");
    assert!(!stderr.contains("memory allocation"), "{what}: allocation failure:\n{stderr}");
    assert!(!stderr.contains("-- -"), "{what}: clap's tip about negative numbers:\n{stderr}");
    assert!(stderr.len() < 4000, "{what}: a message of {} bytes", stderr.len());
    // Refusals come before any simulation: a few seconds at most even on a loaded machine.
    assert!(started.elapsed() < Duration::from_secs(60), "{what}: took {:?}", started.elapsed());
}

/// `validate` accepts `text` (it is well-formed) and `run` refuses it with the needles.
fn run_refused(name: &str, text: &str, extra: &[&str], needles: &[&str]) {
    let dir = scratch("robustness", name);
    let file = write(&dir, "scenario.toml", text);
    let out = dir.join("out");
    let mut args = vec!["run", s(&file), "--out", s(&out)];
    args.extend_from_slice(extra);
    let mut all = vec![s(&file)];
    all.extend_from_slice(needles);
    refused(name, &args, &all);
    assert!(!out.join("manifest.json").exists(), "{name}: a refused run wrote results");
}

// ---- Resource exhaustion: refused by the budget, with the fields that drive it ----

#[test]
fn a_horizon_of_a_billion_seconds_streams_its_minute_rows_and_is_refused_only_for_disk() {
    // 16.7 million minute rows: 64 GiB held in memory, which is why a run streams them to disk; there they
    // take about 24 GiB, more than the disk allowed here.
    let text = QUEUE.replace("horizon_s = 100.0", "horizon_s = 1e9").replace("rate_per_s = 1.0", "rate_per_s = 0.001");
    run_refused(
        "horizon",
        &text,
        &["--max-disk", "1000"],
        &["scenario.horizon_s = 1000000000", "minute rows", "disk", "--max-disk", "--force"],
    );
    // Without the disk limit the memory is no obstacle: a budget of 200 MiB passes the check (the refusal
    // left is the disk one, not memory).
    let dir = scratch("robustness", "horizon-memory");
    let file = write(&dir, "scenario.toml", &text);
    let out = dir.join("out");
    let (code, _, stderr) = rentree(&["run", s(&file), "--out", s(&out), "--max-memory", "200", "--max-disk", "1000"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("disk") && !stderr.contains("of memory"), "{stderr}");
}

/// The replay at scale 0.001 over 30 days: 172,800 minute rows from three components, eleven batches.
const LONG_REPLAY: [&str; 4] = ["--scale", "0.001", "--set", "scenario.horizon_s=2592000"];

#[test]
fn a_long_run_streams_its_minute_rows_and_writes_the_same_tables_as_one_held_in_memory() {
    let dir = scratch("robustness", "streamed");
    let out = dir.join("out");
    // 172,800 rows held in memory would be estimated at 675 MiB: refused under --max-memory 300 if they
    // were held, run within it because they stream.
    let mut args = vec!["run", "--out", s(&out), "--format", "both", "--max-memory", "300"];
    args.extend_from_slice(&LONG_REPLAY);
    let (code, _, stderr) = rentree(&args);
    assert_eq!(code, 0, "{stderr}");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let peak = manifest["peak_rss_mib"].as_f64().unwrap();
    assert!(peak < 300.0, "the run held {peak} MiB, above the 300 MiB it was allowed");
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".rentree-"))
        .collect();
    assert!(leftovers.is_empty(), "spill files left behind: {leftovers:?}");

    // The same run held in memory, in this process.
    let m = rentree::builtin::REPLAY;
    let overrides = [rentree::scenario::Override::parse(LONG_REPLAY[3]).unwrap()];
    let scenario = rentree::scenario::Scenario::from_toml_scaled(m.text, std::path::Path::new(m.path), &overrides, 0.001).unwrap();
    let report = rentree::world::run(&scenario, 1, 0).unwrap();
    assert_eq!(report.timeseries.len(), 172_800, "the test's premise: rows from 43,200 minutes × 4 pools");

    let table = rentree::output::read_table(&out.join("timeseries.parquet")).unwrap();
    assert_eq!(table.height, report.timeseries.len());
    for (name, _) in report.timeseries[0].fields() {
        for (i, row) in report.timeseries.iter().enumerate() {
            let value = row.fields().into_iter().find(|f| f.0 == name).unwrap().1;
            let same = match value {
                rentree::metrics::Field::U64(x) => table.num(name).unwrap()[i] == x as f64,
                rentree::metrics::Field::F64(x) => table.num(name).unwrap()[i].to_bits() == x.to_bits(),
                rentree::metrics::Field::Str(x) => table.text(name).unwrap()[i] == x,
            };
            assert!(same, "timeseries.parquet row {i}, column {name}: differs from the run held in memory");
        }
    }
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + report.timeseries.len());
    assert_eq!(csv.lines().filter(|l| l.starts_with("minute,")).count(), 1, "one header, not one a batch");
}

/// A sink that takes `room` rows and then fails, as a full disk does.
struct FullDisk {
    room: usize,
}

impl rentree::world::MinuteSink for FullDisk {
    fn take(&mut self, rows: &[(u32, rentree::metrics::MinuteRow)]) -> Result<(), rentree::world::SinkError> {
        if rows.len() > self.room {
            self.room = 0;
            return Err(rentree::world::SinkError { path: "/full/disk/rows.tmp".into(), message: "No space left on device".into() });
        }
        self.room -= rows.len();
        Ok(())
    }
}

#[test]
fn a_sink_that_fails_stops_the_run_with_its_file_and_reason() {
    let text = QUEUE.replace("horizon_s = 100.0", "horizon_s = 1e7").replace("rate_per_s = 1.0", "rate_per_s = 0.001");
    let scenario = rentree::scenario::Scenario::from_toml(&text, std::path::Path::new("q.toml"), &[]).unwrap();
    let mut made = 0;
    let result = rentree::world::run_streamed(&scenario, 1, 0, &rentree::world::Limits::default(), |_| {
        made += 1;
        Ok(FullDisk { room: 3 * rentree::world::FLUSH_ROWS })
    });
    assert_eq!(made, 1);
    match result {
        Err(e @ rentree::world::RunError::Output(_)) => {
            let error = e.into_error("q.toml".into(), "");
            let message = error.to_string();
            assert!(message.starts_with("/full/disk/rows.tmp: cannot write: No space left on device"), "{message}");
        }
        Err(other) => panic!("stopped for another reason: {other}"),
        Ok(_) => panic!("a run whose rows could not be written reached its horizon"),
    }
}

/// Keeps nothing, and notes each progress call (clock in seconds, events so far).
struct Watcher {
    calls: Vec<(f64, u64)>,
}

impl rentree::world::MinuteSink for Watcher {
    fn take(&mut self, _rows: &[(u32, rentree::metrics::MinuteRow)]) -> Result<(), rentree::world::SinkError> {
        Ok(())
    }

    fn progress(&mut self, now_s: f64, events: u64) {
        self.calls.push((now_s, events));
    }
}

#[test]
fn a_sink_is_told_the_clock_and_the_events_once_a_simulated_minute() {
    let text = QUEUE.replace("horizon_s = 100.0", "horizon_s = 600.0");
    let scenario = rentree::scenario::Scenario::from_toml(&text, std::path::Path::new("q.toml"), &[]).unwrap();
    let (report, sinks) =
        rentree::world::run_streamed(&scenario, 1, 0, &rentree::world::Limits::default(), |_| Ok(Watcher { calls: Vec::new() })).unwrap();
    let calls = &sinks[0].calls;
    // A tick closes each whole minute before the horizon (the last, partial or not, closes at the end).
    let clocks: Vec<f64> = calls.iter().map(|c| c.0).collect();
    assert_eq!(clocks, (1..=9).map(|m| 60.0 * m as f64).collect::<Vec<_>>());
    assert!(calls.windows(2).all(|w| w[0].1 < w[1].1), "events grow with the clock: {calls:?}");
    assert!(calls.last().unwrap().1 <= report.events);
    // Watching a run does not change it.
    let plain = rentree::world::run(&scenario, 1, 0).unwrap();
    assert_eq!((plain.events, plain.summary.served), (report.events, report.summary.served));
}

#[test]
fn a_run_that_cannot_create_its_spill_file_is_refused_before_it_starts() {
    let scenario = rentree::scenario::Scenario::from_toml(QUEUE, std::path::Path::new("q.toml"), &[]).unwrap();
    let result = rentree::world::run_streamed(&scenario, 1, 0, &rentree::world::Limits::default(), |_| {
        rentree::output::MinuteSpill::create(std::path::Path::new("/nonexistent/rentree-out"))
    });
    match result {
        Err(rentree::world::RunError::Output(e)) => assert_eq!(e.path, std::path::PathBuf::from("/nonexistent/rentree-out")),
        other => panic!("expected a sink error, got {:?}", other.map(|r| r.0.events)),
    }
}

#[test]
fn the_replay_at_scale_100_is_refused_naming_the_scale() {
    refused("scale 100", &["run", "--scale", "100", "--out", "/nonexistent/never-written"], &["--scale 100", "memory", "cohorts."]);
}

#[test]
fn an_absurd_scale_is_refused_as_a_flag() {
    refused("scale 1e300", &["run", "--scale", "1e300"], &["--scale 1e300", "at most"]);
    refused("scale -1", &["run", "--scale", "-1"], &["--scale -1", "a number > 0"]);
}

#[test]
fn a_population_of_a_billion_is_refused() {
    let text = SESSIONS.replace("count = 200", "count = 1000000000");
    run_refused("population", &text, &[], &["cohorts.pupils.arrivals.count = 1000000000", "memory"]);
}

#[test]
fn ten_million_arrivals_a_second_for_an_hour_are_refused() {
    let text = QUEUE.replace("horizon_s = 100.0", "horizon_s = 3600.0").replace("rate_per_s = 1.0", "rate_per_s = 1e7");
    run_refused("rate", &text, &[], &["cohorts.customers.arrivals.rate_per_s = 10000000"]);
}

#[test]
fn a_billion_classes_at_one_bell_are_refused() {
    let classes = r#"
[platforms.ent.classes]
bells = [[60.0, 1e9]]
pupils = 20.0
duration_s = 300.0
join_spread_s = 60.0
join_window_s = 120.0
teachers = "pupils"
pupils_cohort = "pupils"
media = { servers = 10, rooms_per_server = 10, mbps_per_server = 1000.0, mbps_per_participant = 1.0 }
"#;
    let text = format!("{SESSIONS}{classes}");
    run_refused("classes", &text, &[], &["platforms.ent.classes.bells", "memory"]);
}

#[test]
fn endless_immediate_retries_stop_at_the_record_limit_or_the_stall_guard() {
    // Every request times out (service far longer than the timeout) and is retried at once, up to 2^32 − 1
    // times: orphaned requests pile up in the backlog without end.
    let text = SESSIONS
        .replace("mean_s = 0.2", "mean_s = 1000.0")
        .replace("timeout_s = 30.0", "timeout_s = 0.5, retry = { backoff = \"immediate\", max_attempts = 4294967295 }");
    let text = text.replace("horizon_s = 600.0", "horizon_s = 100000.0");
    run_refused(
        "retries",
        &text,
        &["--max-memory", "64", "--force"],
        &["outgrew its memory", "requests alive", "pool \"ent\"", "no backlog limit"],
    );
}

#[test]
fn ten_thousand_cohorts_run_in_little_memory() {
    let mut text = String::from("[scenario]\nname = \"many cohorts\"\nhorizon_s = 600.0\n\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "[cohorts.c{i}]\nplatform = \"desk\"\narrivals = {{ process = \"population\", count = 1, shape = [[0.0, 1.0], [500.0, 1.0]] }}\n"
        ));
    }
    text.push_str("[platforms.desk.pool]\nservers = 2\nservice = { dist = \"exponential\", mean_s = 1.0 }\n");
    let dir = scratch("robustness", "cohorts");
    let file = write(&dir, "scenario.toml", &text);
    let out = dir.join("out");
    let (code, _, stderr) = rentree(&["run", s(&file), "--out", s(&out)]);
    assert_eq!(code, 0, "{stderr}");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let peak = manifest["peak_rss_mib"].as_f64().unwrap();
    // 10,000 pairs of latency histograms allocated up front took 4.5 GiB; unused ones are not allocated now.
    assert!(peak < 1024.0, "peak RSS {peak} MiB");
}

// ---- Runs that never end: the clock must advance, or the run stops and says why ----

/// Runs the binary with a deadline; returns (exit code, stderr), failing the test on a hang.
fn run_with_deadline(args: &[&str], deadline: Duration) -> (i32, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rentree"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code().expect("exited"), err);
        }
        if started.elapsed() > deadline {
            child.kill().unwrap();
            panic!("{args:?} still running after {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_huge_pool_attack_runs_in_bounded_time() {
    // 10^12 requests a second at a 40-slot pool for 5 s (the aggregate model), real traffic behind it.
    let attack = r#"
[[platforms.ent.attacks]]
bots = 1e6
rate_per_bot = 1e6
start_s = 100.0
end_s = 105.0
"#;
    let text = format!("{}{attack}", SESSIONS.replace("servers = 2\n", "servers = 10\nmax_in_system = 200\n"));
    let dir = scratch("robustness", "attack");
    let file = write(&dir, "scenario.toml", &text);
    let (code, err) = run_with_deadline(&["run", s(&file), "--out", s(&dir.join("out"))], Duration::from_secs(120));
    assert_eq!(code, 0, "{err}");
    // Beyond 10^12 a second, the file is refused up front.
    let text = text.replace("bots = 1e6", "bots = 1e8");
    let file = write(&dir, "bigger.toml", &text);
    refused("attack 1e14", &["validate", s(&file)], &["platforms.ent.attacks[0].rate_per_bot", "at most 1e12"]);
}

#[test]
fn sessions_of_zero_think_and_zero_service_stop_with_the_cause() {
    let text = SESSIONS
        .replace("think = { dist = \"exponential\", mean_s = 5.0 }", "think = { dist = \"deterministic\", value_s = 0.0 }")
        .replace("service = { dist = \"exponential\", mean_s = 0.2 }", "service = { dist = \"deterministic\", value_s = 0.0 }")
        .replace("pages = 3", "pages = 4294967295");
    let dir = scratch("robustness", "zero-loop");
    let file = write(&dir, "scenario.toml", &text);
    // Four billion pages a person: the estimate refuses it up front…
    refused("zero loop", &["run", s(&file), "--out", s(&dir.join("out"))], &[s(&file), "events", "cohorts.pupils.arrivals.count = 200"]);
    // …and forced, the run stops once its clock is stuck, naming the settings that close the loop.
    let (code, err) = run_with_deadline(&["run", s(&file), "--out", s(&dir.join("out")), "--force"], Duration::from_secs(120));
    assert_eq!(code, 2, "{err}");
    for needle in
        [s(&file), "simulated time stopped advancing", "cohorts.pupils.session.think can be 0 s", "platforms.ent.pool.service can be 0 s"]
    {
        assert!(err.contains(needle), "lacks {needle:?}:\n{err}");
    }
}

#[test]
fn a_quota_of_one_with_instant_come_backs_stops_with_the_cause() {
    let text = SESSIONS
        .replace("{ dist = \"uniform\", min_s = 60.0, max_s = 120.0 }", "{ dist = \"deterministic\", value_s = 0.0 }")
        .replace("max_returns = 3", "max_returns = 4294967295");
    let text = format!("{text}\n[[platforms.ent.admission]]\npolicy = \"session_quota\"\nmax_sessions = 1\n");
    let dir = scratch("robustness", "quota-loop");
    let file = write(&dir, "scenario.toml", &text);
    let (code, err) = run_with_deadline(&["run", s(&file), "--out", s(&dir.join("out"))], Duration::from_secs(120));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("simulated time stopped advancing") && err.contains("comeback.delay can be 0 s"), "{err}");
}

// ---- Values silently clamped or accepted ----

#[test]
fn counts_beyond_32_bits_are_refused_not_clamped() {
    for (field, value) in [("servers", "9223372036854775807"), ("servers", "4294967296"), ("workers_per_server", "9223372036854775807")] {
        let text = QUEUE.replace("servers = 2", &format!("servers = 2\n{field} = {value}")).replace("servers = 2\nservers", "servers");
        let dir = scratch("robustness", &format!("clamp-{field}-{value}"));
        let file = write(&dir, "scenario.toml", &text);
        refused(field, &["validate", s(&file)], &[s(&file), &format!("platforms.desk.pool.{field} = {value}"), "from 1 to 4294967295"]);
    }
}

const EXPERIMENT: &str = r#"
[experiment]
name = "lhs"
scenario = "scenario.toml"
replications = 2
design = "lhs"

[lhs]
samples = 3
ranges = { "platforms.desk.pool.servers" = { min = 1, max = 4, integer = true } }
"#;

fn experiment(name: &str, text: &str) -> (PathBuf, PathBuf) {
    let dir = scratch("robustness", name);
    write(&dir, "scenario.toml", QUEUE);
    (write(&dir, "experiment.toml", text), dir)
}

#[test]
fn lhs_ranges_empty_or_beyond_integers_are_refused() {
    let (file, _) = experiment(
        "lhs-empty",
        &EXPERIMENT.replace(r#"ranges = { "platforms.desk.pool.servers" = { min = 1, max = 4, integer = true } }"#, "ranges = {}"),
    );
    refused("empty ranges", &["validate", s(&file)], &[s(&file), "lhs.ranges", "at least one"]);
    let (file, _) = experiment("lhs-huge", &EXPERIMENT.replace("max = 4", "max = 1e300"));
    refused("huge range", &["validate", s(&file)], &[s(&file), "lhs.ranges", "2^53"]);
}

#[test]
fn option_values_out_of_range_are_refused_by_the_flag() {
    let (file, dir) = experiment("flags", EXPERIMENT);
    let out = dir.join("out");
    refused("--jobs 0", &["sweep", s(&file), "--out", s(&out), "--jobs", "0"], &["--jobs"]);
    refused("--jobs -1", &["sweep", s(&file), "--out", s(&out), "--jobs", "-1"], &["--jobs"]);
    refused("--shard", &["sweep", s(&file), "--out", s(&out), "--shard", "3/2"], &["--shard 3/2", "0 <= I < N"]);
    refused("--until-ci", &["sweep", s(&file), "--out", s(&out), "--until-ci", "x"], &["--until-ci x", "METRIC=HALFWIDTH"]);
    // A misspelt column is refused before any run, with the column meant.
    let misspelt = ["sweep", s(&file), "--out", s(&out), "--until-ci", "served_share_by_900=0.01"];
    refused("--until-ci misspelt", &misspelt, &["--until-ci", "did you mean \"served_share_by_0900\"", "docs/columns.md"]);
    refused("--tasks 0", &["slurm", s(&file), "--tasks", "0"], &["--tasks"]);
    refused("--seed -1", &["run", "--seed", "-1"], &["--seed"]);
    let scenario = dir.join("scenario.toml");
    let size = |extra: &[&str]| {
        let mut a = vec!["size", s(&scenario), "--target", "served_share_by_0900>=0.5", "--knob", "platforms.desk.pool.servers"];
        a.extend_from_slice(extra);
        a.iter().map(|x| x.to_string()).collect::<Vec<_>>()
    };
    let call = |extra: &[&str], needles: &[&str]| {
        let a = size(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        refused(&format!("size {extra:?}"), &a, needles);
    };
    call(&["--replications", "1"], &["--replications"]);
    call(&["--range", "9..x"], &["--range 9..x", "LO..HI"]);
    call(&["--range", "9..2"], &["--range 9..2", "LO <= HI"]);
    let bad_target = ["size", s(&scenario), "--target", "bogus>=1", "--knob", "platforms.desk.pool.servers"];
    refused("--target", &bad_target, &["--target bogus>=1", "summary column"]);
    let bad_knob =
        ["size", s(&scenario), "--target", "served_share_by_0900>=0.5", "--knob", "platforms.desk.pool.servrs", "--range", "1..2"];
    refused("--knob", &bad_knob, &["--knob", "servrs"]);
}

// ---- Messages that name the real source ----

#[test]
fn an_error_in_a_variant_names_the_variant_and_the_file() {
    let text = format!("{QUEUE}\n[variants.bigger]\n\"platforms.desk.pool.servrs\" = 4\n");
    let dir = scratch("robustness", "variant");
    let file = write(&dir, "scenario.toml", &text);
    refused("variant", &["run", s(&file), "--variant", "bigger", "--out", s(&dir.join("out"))], &[s(&file), "[variants.bigger]", "servrs"]);
    refused("validate variant", &["validate", s(&file)], &["[variants.bigger]", "servrs"]);
}

#[test]
fn an_unknown_strategy_variant_names_the_experiment_field() {
    let text = r#"
[experiment]
name = "strategies"
scenario = "scenario.toml"
replications = 2
design = "strategies"

[[strategy]]
name = "bigger"
variant = "nope"
"#;
    let (file, _) = experiment("strategy-variant", text);
    refused("strategy variant", &["validate", s(&file)], &[s(&file), "strategy[0].variant", "\"nope\""]);
}

#[test]
fn an_experiment_with_an_overflowing_count_reports_that_not_an_unknown_field() {
    let (file, _) = experiment("overflow", &EXPERIMENT.replace("replications = 2", "replications = 99999999999999999999"));
    refused("overflow", &["validate", s(&file)], &[s(&file), "replications"]);
    let (_, _, err) = rentree(&["validate", s(&file)]);
    assert!(!err.contains("unknown field `experiment`"), "{err}");
}

#[test]
fn a_scenario_where_an_experiment_is_expected_and_the_reverse_get_a_hint() {
    let (file, dir) = experiment("swapped", EXPERIMENT);
    let scenario = dir.join("scenario.toml");
    refused("scenario to sweep", &["sweep", s(&scenario), "--out", s(&dir.join("out"))], &["scenario file", "rentree run"]);
    refused("experiment to run", &["run", s(&file), "--out", s(&dir.join("out"))], &["experiment file", "rentree sweep"]);
}

#[test]
fn a_deeply_nested_array_gets_a_short_message() {
    let depth = 100_000;
    let text = format!("{QUEUE}\nx = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let dir = scratch("robustness", "deep");
    let file = write(&dir, "scenario.toml", &text);
    refused("deep", &["validate", s(&file)], &[s(&file)]);
}

/// Fuzzing findings that are valid scenarios: what crashed was the simulator's own code (a debug assertion),
/// fixed there, so the input now runs to its end.
const VALID_FINDINGS: &[&str] = &["queue-floor-pushes-in-bucket-one.toml"];

#[test]
fn every_fuzzing_finding_is_refused_with_a_message_or_runs_to_its_end() {
    // Each file once crashed, aborted or hung the simulator (fuzz/regressions/README.md says how).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    files.sort();
    assert!(files.len() >= 6, "{} findings", files.len());
    let out = scratch("robustness", "findings");
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        if VALID_FINDINGS.contains(&name) {
            let run_out = out.join(name);
            let (code, _, stderr) = rentree(&["run", s(f), "--out", s(&run_out)]);
            assert_eq!(code, 0, "{name}: exit code; stderr:\n{stderr}");
            assert!(run_out.join("manifest.json").is_file(), "{name}: no manifest");
        } else {
            refused(s(f), &["validate", s(f)], &[s(f), "expected"]);
        }
    }
    assert!(VALID_FINDINGS.iter().all(|v| files.iter().any(|f| f.ends_with(v))), "a valid finding's file is missing");
}
