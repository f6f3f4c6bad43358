//! Helpers shared by the integration tests: each module uses some of them.
#![allow(dead_code)]

use rentree::scenario::Scenario;
use rentree::world::RunReport;
use std::path::PathBuf;
use std::process::Command;

/// A valid M/M/2 scenario file, the base of the tests that mutate one.
pub const MM2: &str = r#"
[scenario]
name = "M/M/2"
horizon_s = 100.0

[cohorts.customers]
platform = "desk"
arrivals = { process = "poisson", rate_per_s = 1.0 }

[platforms.desk.pool]
servers = 2
service = { dist = "exponential", mean_s = 1.0 }
"#;

/// Runs a scenario that must reach its horizon (every model of the tests does).
pub fn run(scenario: &Scenario, seed: u64, replication: u64) -> RunReport {
    rentree::world::run(scenario, seed, replication).expect("the test's scenario runs to its horizon")
}

/// The scale a replay test runs at: `default` (the replay's faithful scale), or `RENTREE_TEST_SCALE` when set,
/// so that the same statements can be checked at full scale:
/// `RENTREE_TEST_SCALE=1 cargo test --release --test suite replay::` (about nine minutes here).
pub fn test_scale(default: f64) -> f64 {
    match std::env::var("RENTREE_TEST_SCALE") {
        Ok(v) => v.parse().ok().filter(|s: &f64| *s > 0.0 && *s <= 1.0).expect("RENTREE_TEST_SCALE is a number in (0, 1]"),
        Err(_) => default,
    }
}

/// A path inside the repository.
pub fn repo(path: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A fresh scratch folder for test `name` of binary `suite`.
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rentree-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `rentree args…` and returns (exit code, stdout, stderr).
#[cfg(feature = "files")]
pub fn rentree(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rentree")).args(args).output().expect("binary runs");
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
