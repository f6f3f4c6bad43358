//! Golden results: every textbook model, and the replay, each of its variants and the Monday evening at
//! scale 0.01, run with seed 1, must give exactly the summary rows, access curve and minute rows recorded in
//! `tests/golden/`. A change that must not move any result (a refactor, a speed-up) is checked by this test
//! on every run of the suite; a change that moves results on purpose rewrites the files with
//!
//! ```sh
//! RENTREE_BLESS=1 cargo test --release --test suite golden::
//! ```
//!
//! and the diff of `tests/golden/` is then part of the change, to be read and explained. Each file holds the
//! summary rows in full (one line per row, every column, floats as their exact shortest representation),
//! the events handled, and a SHA-256 of the access curve and of the minute rows, which are too long to keep
//! (`scripts/compare-results.sh` compares those tables row by row against an older binary).
//!
//! These are checks of mechanics, not findings: 0.01 is below the replay's faithful scale, which does not
//! matter for "the same as before". Floats are compared exactly, so the files hold for this platform's
//! floating-point library (x86-64 Linux, glibc); another platform may need its own blessing.

use crate::common;
use rentree::builtin::{self, BuiltinModel};
use rentree::metrics::Field;
use rentree::scenario::{Override, Scenario};
use rentree::world::RunReport;
use sha2::{Digest, Sha256};
use std::fmt::Write;
use std::path::Path;

const SCALE: f64 = 0.01;
const SEED: u64 = 1;

fn text(f: &Field) -> String {
    match f {
        Field::U64(x) => x.to_string(),
        // `{:?}` is the shortest text that reads back to the same f64.
        Field::F64(x) => format!("{x:?}"),
        Field::Str(s) => s.clone(),
    }
}

/// The golden text of a run: summary rows in full, then events and digests.
fn render(r: &RunReport) -> String {
    let mut out = String::new();
    for row in &r.rows {
        let fields = row.fields();
        let _ = writeln!(out, "summary {}/{}", row.platform, row.cohort);
        for (name, value) in fields {
            let _ = writeln!(out, "  {name} = {}", text(&value));
        }
    }
    let _ = writeln!(out, "events = {}", r.events);
    let digest = |lines: Vec<String>| -> String {
        let mut h = Sha256::new();
        for l in lines {
            h.update(l.as_bytes());
            h.update(b"\n");
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    };
    let access = r.access.iter().map(|a| format!("{} {:?} {:?}", a.cohort, a.share, a.time_to_access_s)).collect();
    let _ = writeln!(out, "access curve: {} points, sha256 {}", r.access.len(), digest(access));
    let minutes = r.timeseries.iter().map(|m| m.fields().iter().map(|(_, v)| text(v)).collect::<Vec<_>>().join("\t")).collect();
    let _ = writeln!(out, "minute rows: {}, sha256 {}", r.timeseries.len(), digest(minutes));
    out
}

/// Checks (or with `RENTREE_BLESS=1`, rewrites) the golden file `name` for `scenario`.
fn check(name: &str, scenario: &Scenario) -> Result<(), String> {
    let got = render(&common::run(scenario, SEED, 0));
    let path = common::repo(&format!("tests/golden/{name}.txt"));
    if std::env::var_os("RENTREE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
        return Ok(());
    }
    let want = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (write it with RENTREE_BLESS=1 cargo test --release --test suite golden::)", path.display()))?;
    if got == want {
        return Ok(());
    }
    // Name the first line that differs, with the row it belongs to.
    let (mut row, mut first) = (String::new(), None);
    for (g, w) in got.lines().zip(want.lines()) {
        if g.starts_with("summary ") {
            row = g.to_owned();
        }
        if g != w {
            first = Some(format!("{row}: got `{}`, golden `{}`", g.trim(), w.trim()));
            break;
        }
    }
    let first = first.unwrap_or_else(|| format!("{} lines, golden {}", got.lines().count(), want.lines().count()));
    Err(format!("{name}: differs from {} at {first}", path.display()))
}

fn scaled(m: &BuiltinModel, variant: Option<&str>) -> Scenario {
    let o: Vec<Override> = variant.map(|v| Override::variant(m.text, Path::new(m.path), v).unwrap()).unwrap_or_default();
    Scenario::from_toml_scaled(m.text, Path::new(m.path), &o, SCALE).unwrap()
}

/// Runs every case and reports all that differ at once.
fn check_all(cases: Vec<(String, Scenario)>) {
    let failures: Vec<String> = cases.iter().filter_map(|(name, s)| check(name, s).err()).collect();
    assert!(failures.is_empty(), "{} of {} golden results differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn the_textbook_models_give_their_golden_results() {
    let cases = builtin::TEXTBOOK
        .iter()
        .map(|m| {
            let name = Path::new(m.path).file_stem().unwrap().to_string_lossy().into_owned();
            (format!("textbook-{name}"), Scenario::from_toml(m.text, Path::new(m.path), &[]).unwrap())
        })
        .collect();
    check_all(cases);
}

#[test]
fn the_replay_its_variants_and_the_evening_give_their_golden_results_at_001() {
    let mut cases = vec![("replay".to_owned(), scaled(&builtin::REPLAY, None))];
    for v in ["pre-warming", "autoscaling", "no-attack", "mitigated-in-5-min", "hosting-loss"] {
        cases.push((format!("replay-{v}"), scaled(&builtin::REPLAY, Some(v))));
    }
    cases.push(("evening".to_owned(), scaled(&builtin::EVENING, None)));
    check_all(cases);
}
