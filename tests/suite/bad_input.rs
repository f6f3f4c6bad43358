//! Bad input never panics: every case exits with code 2 and one clear message naming the file, the field (or
//! line and column), what was found and what was expected.

use std::path::{Path, PathBuf};

use crate::common;

use common::MM2 as VALID;

fn scratch(name: &str) -> PathBuf {
    common::scratch("bad-input", name)
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("scenario.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `rentree args…` and returns (exit code, stderr).
fn rentree(args: &[&str]) -> (i32, String) {
    let (code, _, stderr) = common::rentree(args);
    (code, stderr)
}

/// Checks that `validate` and `run` on `text` both exit 2 with a message containing every `needle`.
fn check(name: &str, text: &str, needles: &[&str]) {
    let dir = scratch(name);
    let file = write(&dir, text);
    let file_s = file.to_str().unwrap();
    for args in [vec!["validate", file_s], vec!["run", file_s, "--out", dir.join("out").to_str().unwrap()]] {
        let (code, stderr) = rentree(&args);
        assert_eq!(code, 2, "{name}: {args:?} exit code; stderr:\n{stderr}");
        assert!(stderr.contains(file_s), "{name}: message does not name the file:\n{stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{name}: message lacks {n:?}:\n{stderr}");
        }
        assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{name}: panic:\n{stderr}");
    }
}

#[test]
fn valid_file_validates() {
    let dir = scratch("valid");
    let file = write(&dir, VALID);
    let (code, stderr) = rentree(&["validate", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn malformed_toml_names_line_and_column() {
    check("malformed", &VALID.replace("servers = 2", "servers = = 2"), &["line 11", "column"]);
}

#[test]
fn unknown_field_is_named_with_the_expected_ones() {
    check("unknown-field", &VALID.replace("servers = 2", "servers = 2\nservrs = 3"), &["unknown field `servrs`", "expected", "line 12"]);
}

#[test]
fn negative_rate_names_the_field() {
    check(
        "negative-rate",
        &VALID.replace("rate_per_s = 1.0", "rate_per_s = -4.0"),
        &["cohorts.customers.arrivals.rate_per_s", "-4", "expected a rate per second > 0"],
    );
}

#[test]
fn zero_servers_names_the_field() {
    check(
        "zero-servers",
        &VALID.replace("servers = 2", "servers = 0"),
        &["platforms.desk.pool.servers", "= 0", "expected an integer from 1 to 4294967295"],
    );
}

#[test]
fn capacity_below_servers_is_rejected() {
    check(
        "k-below-c",
        &VALID.replace("servers = 2", "servers = 2\nmax_in_system = 1"),
        &["platforms.desk.pool.max_in_system", "= 1", "K >= c"],
    );
}

#[test]
fn unknown_distribution_lists_the_known_ones() {
    check(
        "unknown-dist",
        &VALID.replace("dist = \"exponential\"", "dist = \"weibull\""),
        &["unknown variant `weibull`", "exponential", "lognormal"],
    );
}

#[test]
fn unknown_platform_reference_lists_the_defined_ones() {
    check(
        "unknown-platform",
        &VALID.replace("platform = \"desk\"", "platform = \"dsk\""),
        &["cohorts.customers.platform", "\"dsk\"", "desk"],
    );
}

#[test]
fn several_problems_are_reported_together() {
    let text = VALID.replace("servers = 2", "servers = 0").replace("rate_per_s = 1.0", "rate_per_s = -1.0");
    check("many", &text, &["2 problems", "platforms.desk.pool.servers", "cohorts.customers.arrivals.rate_per_s"]);
}

#[test]
fn missing_file_is_named() {
    let (code, stderr) = rentree(&["run", "/nonexistent/rentree/scenario.toml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/rentree/scenario.toml") && stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn unwritable_output_directory_is_named() {
    let dir = scratch("unwritable");
    let file = write(&dir, VALID);
    // A regular file where a directory is needed: fails even for root, unlike permission bits.
    let blocker = dir.join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let out = blocker.join("out");
    let (code, stderr) = rentree(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(out.to_str().unwrap()) && stderr.contains("cannot write"), "{stderr}");
}

#[test]
fn bad_override_is_explained() {
    let dir = scratch("override");
    let file = write(&dir, VALID);
    let f = file.to_str().unwrap();
    let out = dir.join("out");
    let (code, stderr) = rentree(&["run", f, "--out", out.to_str().unwrap(), "--set", "platforms.desk.pool.srvers=4"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("platforms.desk.pool.srvers=4") && stderr.contains("unknown field `srvers`"), "{stderr}");
    let (code, stderr) = rentree(&["run", f, "--out", out.to_str().unwrap(), "--set", "platforms.desk.pool.servers=0"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("platforms.desk.pool.servers"), "{stderr}");
    let (code, stderr) = rentree(&["run", f, "--set", "nonsense"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("expected path=value"), "{stderr}");
}

#[test]
fn a_share_above_one_names_the_field() {
    let text = VALID.replace("platform = \"desk\"", "platforms = { desk = 1.5 }");
    check("share", &text, &["cohorts.customers.platforms.desk", "1.5", "a share in (0, 1]"]);
}

#[test]
fn an_unknown_dependency_lists_the_defined_ones() {
    let text = VALID.replace("[platforms.desk.pool]", "[platforms.desk]\nlogin_via = [\"sso\"]\n[platforms.desk.pool]");
    check("dependency", &text, &["platforms.desk.login_via", "\"sso\"", "dependencies defined"]);
}

#[test]
fn a_bad_scale_is_explained() {
    let (code, stderr) = rentree(&["run", "--scale=-1", "--out", "/tmp/rentree-bad-scale"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--scale") && stderr.contains("expected a number > 0"), "{stderr}");
}

#[test]
fn more_pools_than_a_request_can_number_are_refused() {
    // Pools are numbered in 16 bits: one platform and 65,535 dependencies is one too many.
    let mut text = String::from(VALID);
    for d in 0..65_535 {
        text.push_str(&format!("[dependencies.d{d}.pool]\nservers = 1\nservice = {{ dist = \"exponential\", mean_s = 1.0 }}\n"));
    }
    check("too-many-pools", &text, &["platforms", "1 platforms and 65535 dependencies", "at most 65535"]);
}

/// Every command that reads a scenario resolves it the same way (`scenario::Source`): an unknown variant, an
/// experiment file given as a scenario and an unknown built-in model are refused alike.
#[test]
fn run_size_and_sweep_refuse_a_bad_scenario_source_alike() {
    let size = ["size", "--target", "served_share_by_1200>=0.3", "--knob", "platforms.pronote.pool.servers", "--range", "100..200"];
    let (code, stderr) = rentree(&[&size[..], &["--variant", "nope"]].concat());
    assert_eq!(code, 2);
    assert!(stderr.contains("--variant") && stderr.contains("\"nope\"") && stderr.contains("no-attack"), "{stderr}");
    let experiment = common::repo("experiments/quota-strategies/experiment.toml");
    let e = experiment.to_str().unwrap();
    for args in [vec!["run", e], [&["size", e], &size[1..]].concat()] {
        let (code, stderr) = rentree(&args);
        assert_eq!(code, 2, "{args:?}");
        assert!(stderr.contains("this is an experiment file") && stderr.contains("rentree sweep"), "{args:?}: {stderr}");
    }
    let dir = scratch("source");
    let file = dir.join("experiment.toml");
    let text = std::fs::read_to_string(&experiment).unwrap().replace("../../models/france-2021-04-06.toml", "builtin:morning");
    std::fs::write(&file, text).unwrap();
    let (code, stderr) = rentree(&["sweep", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("experiment.scenario") && stderr.contains("\"builtin:morning\"") && stderr.contains("\"builtin:replay\""),
        "{stderr}"
    );
}
