//! The manifest of a results folder and the protocol that makes a folder one run or nothing.
//!
//! Atomic files are not enough for a folder: a rerun killed after replacing its first table leaves the new
//! summary beside the old timeseries. So a results folder (a run's, or a sweep's) is written by one protocol,
//! and a folder is one run or nothing:
//! 1. [`begin_results`] withdraws the old `manifest.json` and syncs the directory, *before* any table is
//!    replaced; then it removes the tables the old manifest listed (and the tables this kind of folder may
//!    hold) that the new run will not write, so no stale `access.parquet` or `.csv` survives beside the new
//!    manifest;
//! 2. each table is written atomically; a Parquet table carries its run's id in its footer (key-value
//!    metadata [`RUN_ID_KEY`]);
//! 3. [`finish_results`] syncs the directory and writes the new manifest last, with the run id and the
//!    name and SHA-256 of every file it vouches for.
//!
//! A kill or a full disk at any point leaves either the old complete folder (before step 1) or a folder
//! without a manifest (after it), until the new manifest lands. [`check_results`] is the reader's half:
//! it accepts a folder only if its manifest exists, every file it lists is there with the listed SHA-256,
//! and every Parquet table carries the manifest's run id. The run id is a pure function of the inputs
//! ([`run_id`]), so two identical runs still write byte-identical tables.

use super::table::parquet_run_id;
use super::{sync_dir, write_json, Format};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a run's manifest records. Everything but the timings is a deterministic function of the inputs.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Version of rentree that wrote the files.
    pub rentree_version: String,
    /// The run's id (see [`run_id`]), also in the footer of each Parquet table; set by [`write_run`](super::write_run).
    pub run_id: String,
    /// Scenario name.
    pub scenario: String,
    /// Where the scenario came from (a path, or `builtin:NAME`).
    pub scenario_source: String,
    /// SHA-256 of the scenario's canonical form, after overrides.
    pub scenario_sha256: String,
    /// `--set` overrides applied, in order.
    pub overrides: Vec<String>,
    /// Master seed.
    pub seed: u64,
    /// Population and capacity scale (1 = as written).
    pub scale: f64,
    /// Replication index.
    pub replication: u64,
    /// Simulated horizon in seconds.
    pub horizon_s: f64,
    /// Warm-up in seconds.
    pub warmup_s: f64,
    /// Events handled.
    pub events: u64,
    /// Wall-clock seconds of the simulation itself (not the file writing).
    pub wall_s: f64,
    /// `events / wall_s`.
    pub events_per_s: f64,
    /// Peak resident memory of the process, in MiB (Linux `VmHWM`; absent where unknown).
    pub peak_rss_mib: Option<f64>,
    /// The smallest scale measured to agree with full scale for this scenario (`scenario.faithful_scale`;
    /// absent where it was never measured).
    pub faithful_scale: Option<f64>,
    /// Why figures at this run's scale are not for a decision (the run was below its faithful scale, or at a
    /// reduced scale never measured); absent when the scale is faithful.
    pub scale_warning: Option<String>,
    /// Files written next to the manifest, with their SHA-256; set by [`write_run`](super::write_run).
    pub files: Vec<FileEntry>,
    /// With `run --posterior`: the run is at a calibration's posterior median, and this is how much its
    /// figures move over the posterior's draws and from the simulation's own noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<PosteriorNote>,
    /// A run of a built-in model as it stands (no variant, no override) whose calibration ships with it:
    /// each figure's band over that calibration's posterior predictive, beside this run's value. Read from
    /// the shipped manifest: no extra run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrated: Option<CalibratedNote>,
}

/// What the calibration shipped with a built-in model says of a run of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibratedNote {
    /// The calibration's folder, in the repository.
    pub calibration: String,
    /// The calibration's run id.
    pub calibration_run_id: String,
    /// The scale of the calibration's runs.
    pub calibration_scale: f64,
    /// Its posterior-predictive runs.
    pub predictive_runs: usize,
    /// Per whole-system summary metric, in this run's units (counts at this run's scale).
    pub metrics: Vec<CalibratedMetric>,
}

/// One summary metric of a run beside the shipped calibration's posterior predictive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibratedMetric {
    /// The metric.
    pub metric: String,
    /// This run's value.
    pub value: f64,
    /// The posterior predictive's 5% quantile.
    pub q05: f64,
    /// Its median.
    pub median: f64,
    /// Its 95% quantile.
    pub q95: f64,
}

/// How a run's figures depend on what a calibration left uncertain (`rentree run --posterior DIR`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PosteriorNote {
    /// The calibration's results folder.
    pub calibration: String,
    /// The calibration's run id.
    pub calibration_run_id: String,
    /// Runs at draws from the posterior, on the run's own random streams (common random numbers, so that
    /// their spread is the parameters', not the simulation's).
    pub draws: usize,
    /// Further replications at the posterior median, whose spread is the simulation's own noise.
    pub noise_replications: usize,
    /// Per whole-system summary metric.
    pub metrics: Vec<MetricUncertainty>,
}

/// One summary metric's uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricUncertainty {
    /// The metric.
    pub metric: String,
    /// This run's value (at the posterior median).
    pub value: f64,
    /// The 5% quantile over the posterior draws.
    pub credible_lo: f64,
    /// The 95% quantile over the posterior draws.
    pub credible_hi: f64,
    /// The standard deviation of a single run at the posterior median over its replications (this run's
    /// among them).
    pub noise_sd: f64,
}

/// The manifest file of a results folder: written last, withdrawn first.
pub const MANIFEST: &str = "manifest.json";

/// The Parquet footer key (file-level key-value metadata) under which a table records its run's id.
pub const RUN_ID_KEY: &str = "rentree.run_id";

/// The tables a run folder may hold: the protocol removes those a new run does not write, whatever the old
/// manifest says (it may be missing, or from an older rentree).
pub const RUN_TABLES: &[&str] = &["summary.parquet", "summary.csv", "timeseries.parquet", "timeseries.csv", "access.parquet", "access.csv"];

/// A file a manifest vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// File name, in the manifest's directory.
    pub name: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

/// `bytes` as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of the file at `path`, lowercase hex, read a MiB at a time (a streamed timeseries can be
/// larger than the memory).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// A run's id: the first 16 hex digits of the SHA-256 of `kind` and the `(name, value)` pairs that make the
/// run what it is (for `rentree run`: version, scenario hash, seed, scale, replication, format).
///
/// A pure function of the inputs, never of the clock or the machine, so two identical runs write the same id
/// into their tables and the tables stay byte-identical; 64 bits are plenty to tell two runs of one folder
/// apart.
pub fn run_id(kind: &str, fields: &[(&str, String)]) -> String {
    let mut text = format!("rentree {kind}\n");
    for (name, value) in fields {
        text.push_str(&format!("{name}={value}\n"));
    }
    sha256_hex(text.as_bytes())[..16].to_owned()
}

/// The id of a `rentree run` (the manifest's `run_id`).
pub fn run_id_of(manifest: &Manifest, format: Format) -> String {
    run_id(
        "run",
        &[
            ("rentree_version", manifest.rentree_version.clone()),
            ("scenario_sha256", manifest.scenario_sha256.clone()),
            ("seed", manifest.seed.to_string()),
            // Debug formatting of an f64 is exact and round-trips.
            ("scale", format!("{:?}", manifest.scale)),
            ("replication", manifest.replication.to_string()),
            ("format", format.name().to_owned()),
        ],
    )
}

/// Whether a name listed in a manifest may be removed or read as a table of the folder: a plain file name
/// (no directory part, so a hand-edited manifest cannot reach outside the folder) of a Parquet or CSV file.
fn is_table_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(n)), None) if n == name)
        && (name.ends_with(".parquet") || name.ends_with(".csv"))
}

/// A scenario or experiment file a results folder holds (a calibration's `calibrated.toml`): a plain
/// file name of the folder ending in `.toml`.
fn is_scenario_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(n)), None) if n == name) && name.ends_with(".toml")
}

/// The file names an existing manifest lists, in either form rentree has written (`["a.parquet"]`, or
/// `[{"name": "a.parquet", "sha256": …}]`); nothing if it is missing or unreadable.
fn listed_files(manifest: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let files = value.get("files").and_then(|f| f.as_array()).cloned().unwrap_or_default();
    files.iter().filter_map(|f| f.as_str().or_else(|| f.get("name").and_then(|n| n.as_str())).map(str::to_owned)).collect()
}

/// Step 1 of the folder protocol (see the module doc): withdraws `dir/manifest.json` and syncs the directory,
/// then removes the tables that the old manifest listed, or that `owned` names, and that `new_files` does not
/// (the new run will not replace them). Call it before replacing any table in `dir`.
pub fn begin_results(dir: &Path, new_files: &[&str], owned: &[&str]) -> Result<()> {
    let manifest = dir.join(MANIFEST);
    let gone = |path: &Path, r: std::io::Result<()>| match r {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Write { path: path.to_owned(), message: e.to_string() }),
        _ => Ok(()),
    };
    // Read the old list before the manifest goes: afterwards nothing names the old run's extra tables.
    let listed = listed_files(&manifest);
    gone(&manifest, std::fs::remove_file(&manifest))?;
    // The withdrawal must reach the disk before any table is replaced: the file system may otherwise persist
    // a new table's rename and lose the unlink, and a crash would leave the old manifest over a new table.
    sync_dir(dir)?;
    for name in listed.iter().map(String::as_str).chain(owned.iter().copied()) {
        if is_table_name(name) && !new_files.contains(&name) {
            let path = dir.join(name);
            gone(&path, std::fs::remove_file(&path))?;
        }
    }
    sync_dir(dir)
}

/// The manifest entries of `names` in `dir`: each file's name and the SHA-256 of its bytes as now on disk.
pub fn file_entries(dir: &Path, names: &[&str]) -> Result<Vec<FileEntry>> {
    names
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let sha256 = sha256_file(&path).map_err(|source| Error::Read { path, source })?;
            Ok(FileEntry { name: (*name).to_owned(), sha256 })
        })
        .collect()
}

/// Step 3 of the folder protocol: syncs `dir` (the tables' renames first) and writes `manifest` as
/// `dir/manifest.json`, last; returns its path.
pub fn finish_results<T: Serialize>(dir: &Path, manifest: &T) -> Result<PathBuf> {
    sync_dir(dir)?;
    let path = dir.join(MANIFEST);
    write_json(&path, manifest)?;
    sync_dir(dir)?;
    Ok(path)
}

/// What [`check_results`] vouches for: a folder holding one complete run (or sweep).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedResults {
    /// The run id of the manifest and of every Parquet table beside it.
    pub run_id: String,
    /// The files the manifest lists, all present and unchanged.
    pub files: Vec<String>,
    /// The population and capacity scale of the run or sweep (absent from older manifests).
    pub scale: Option<f64>,
    /// The smallest scale measured to agree with full scale for its scenario (absent: never measured).
    pub faithful_scale: Option<f64>,
}

impl CheckedResults {
    /// Whether the manifest lists `name`.
    pub fn has(&self, name: &str) -> bool {
        self.files.iter().any(|f| f == name)
    }
}

/// The reader's half of the folder protocol: accepts `dir` only if its `manifest.json` exists, lists files
/// with their SHA-256 and a run id, every listed file is there with that SHA-256, and every listed Parquet
/// table carries that run id in its footer. The error names the folder, what is wrong and what to do.
pub fn check_results(dir: &Path) -> Result<CheckedResults> {
    let refuse = |message: String| Error::Parse { path: dir.to_owned(), message };
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (what, how) = if dir.join("plan.json").exists() {
                ("sweep", "rerun it (sweep --resume, or sweep --merge for shards)")
            } else {
                ("run", "rerun it")
            };
            return Err(refuse(format!("no {MANIFEST}: the {what} was interrupted or is still being written; {how}")));
        }
        Err(source) => return Err(Error::Read { path, source }),
    };
    #[derive(Deserialize)]
    struct Head {
        run_id: String,
        files: Vec<FileEntry>,
        #[serde(default)]
        scale: Option<f64>,
        #[serde(default)]
        faithful_scale: Option<f64>,
    }
    let head: Head = serde_json::from_str(&text).map_err(|e| {
        refuse(format!(
            "{MANIFEST} does not give a run_id and each file's name and sha256 ({e}): written by an older rentree or edited; rerun it"
        ))
    })?;
    for entry in &head.files {
        let name = entry.name.as_str();
        if !is_table_name(name) && name != "plan.json" && !is_scenario_name(name) {
            return Err(refuse(format!(
                "{MANIFEST} lists {name:?}: expected a file name of this folder (a table, plan.json or a scenario's .toml)"
            )));
        }
        let file = dir.join(name);
        let sha256 = match sha256_file(&file) {
            Ok(sha256) => sha256,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(refuse(format!(
                    "{MANIFEST} lists {name}, which is missing: the folder was changed after the run was written; rerun it"
                )));
            }
            Err(source) => return Err(Error::Read { path: file, source }),
        };
        // A table's run id names the culprit better than a hash, so it is checked first; a file that cannot
        // be read as Parquet falls through to the hash check.
        if name.ends_with(".parquet") {
            if let Ok(found) = parquet_run_id(&file) {
                if found.as_deref() != Some(head.run_id.as_str()) {
                    let found = found.map_or_else(|| "no run id".to_owned(), |id| format!("run {id}"));
                    return Err(refuse(format!(
                        "{name} carries {found} but {MANIFEST} is run {}: the folder mixes two runs (a rewrite was interrupted, \
                         or a file was copied in); rerun it",
                        head.run_id
                    )));
                }
            }
        }
        if sha256 != entry.sha256 {
            return Err(refuse(format!(
                "{name} has sha256 {sha256} but {MANIFEST} expects {}: the file was changed or replaced after the run; rerun it",
                entry.sha256
            )));
        }
    }
    Ok(CheckedResults {
        run_id: head.run_id,
        files: head.files.into_iter().map(|f| f.name).collect(),
        scale: head.scale,
        faithful_scale: head.faithful_scale,
    })
}
