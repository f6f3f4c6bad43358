//! Result files: Parquet and CSV tables built with polars, and the JSON run manifest.
//!
//! This is the only module that knows polars. Every file is written atomically: to a temporary file in the
//! destination directory, flushed, then renamed over the final name, so an interrupted run never leaves a
//! half-written file under a name that looks complete.
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

pub mod spill;

use crate::error::{Error, Result};
use crate::metrics::Field;
use crate::world::RunReport;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use spill::MinuteSpill;

/// Which table formats to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Parquet only (the default).
    #[default]
    Parquet,
    /// CSV only.
    Csv,
    /// Both, side by side.
    Both,
}

impl Format {
    /// The name of the format, as `--format` spells it (part of a run's id).
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Both => "both",
        }
    }
    fn parquet(self) -> bool {
        matches!(self, Format::Parquet | Format::Both)
    }
    fn csv(self) -> bool {
        matches!(self, Format::Csv | Format::Both)
    }
}

/// What a run's manifest records. Everything but the timings is a deterministic function of the inputs.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Version of rentree that wrote the files.
    pub rentree_version: String,
    /// The run's id (see [`run_id`]), also in the footer of each Parquet table; set by [`write_run`].
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
    /// Files written next to the manifest, with their SHA-256; set by [`write_run`].
    pub files: Vec<FileEntry>,
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
fn run_id_of(manifest: &Manifest, format: Format) -> String {
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

/// The process's peak resident memory in MiB, from `/proc/self/status` (Linux only).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Memory this process may use now, in bytes: Linux's `MemAvailable`, lowered to the control group's
/// `memory.max` where one is set; `None` where neither can be read.
pub fn memory_available_bytes() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let available = line.split_whitespace().nth(1)?.parse::<f64>().ok()? * 1024.0;
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|t| t.trim().parse::<f64>().ok());
    Some(cgroup.map_or(available, |c| c.min(available)))
}

/// Space free for this user on the file system of `dir` (or of its nearest existing ancestor, for a
/// folder not made yet), in bytes; `None` where it cannot be read.
pub fn disk_available_bytes(dir: &Path) -> Option<f64> {
    // The folder may not exist yet: it will be made on the file system of its nearest existing ancestor.
    let at = dir.ancestors().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p }).find(|p| p.exists())?;
    statvfs_available(at)
}

#[cfg(unix)]
fn statvfs_available(path: &Path) -> Option<f64> {
    let st = rustix::fs::statvfs(path).ok()?;
    Some(st.f_bavail as f64 * st.f_frsize as f64)
}

#[cfg(not(unix))]
fn statvfs_available(_: &Path) -> Option<f64> {
    None
}

/// Builds a table from rows that list their columns as `(name, value)` in the same order.
pub fn frame<S: AsRef<str>>(rows: &[Vec<(S, Field)>]) -> Result<DataFrame, PolarsError> {
    let height = rows.len();
    let Some(first) = rows.first() else {
        return DataFrame::new(0, Vec::new());
    };
    let mut columns = Vec::with_capacity(first.len());
    for (j, (name, kind)) in first.iter().enumerate() {
        let name = PlSmallStr::from(name.as_ref());
        let column = match kind {
            Field::U64(_) => Column::new(name, rows.iter().map(|r| as_u64(&r[j].1)).collect::<Vec<u64>>()),
            Field::F64(_) => Column::new(name, rows.iter().map(|r| as_f64(&r[j].1)).collect::<Vec<f64>>()),
            Field::Str(_) => Column::new(name, rows.iter().map(|r| as_str(&r[j].1)).collect::<Vec<&str>>()),
        };
        columns.push(column);
    }
    DataFrame::new(height, columns)
}

fn as_u64(f: &Field) -> u64 {
    match f {
        Field::U64(x) => *x,
        _ => unreachable!("rows of one table share their column types"),
    }
}

fn as_f64(f: &Field) -> f64 {
    match f {
        Field::F64(x) => *x,
        _ => unreachable!("rows of one table share their column types"),
    }
}

fn as_str(f: &Field) -> &str {
    match f {
        Field::Str(x) => x,
        _ => unreachable!("rows of one table share their column types"),
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut std::fs::File) -> std::result::Result<(), String>) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let err = |message: String| Error::Write { path: path.to_owned(), message };
    let mut tmp = tempfile::Builder::new().prefix(".rentree-").suffix(".tmp").tempfile_in(dir).map_err(|e| err(e.to_string()))?;
    write(tmp.as_file_mut()).map_err(err)?;
    tmp.as_file_mut().flush().map_err(|e| err(e.to_string()))?;
    tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
    // Temporary files are private (0600); results are ordinary files, readable like any other.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(|e| err(e.to_string()))?;
    }
    tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    Ok(())
}

/// Writes `df` as Parquet at `path`, atomically, with `run_id` in the footer under [`RUN_ID_KEY`].
pub fn write_parquet(path: &Path, df: &mut DataFrame, run_id: &str) -> Result<()> {
    let metadata = KeyValueMetadata::from_static(vec![(RUN_ID_KEY.to_owned(), run_id.to_owned())]);
    write_atomic(path, |f| ParquetWriter::new(f).with_key_value_metadata(Some(metadata)).finish(df).map(|_| ()).map_err(|e| e.to_string()))
}

/// The run id recorded in a Parquet table's footer (`None` for a table written without one).
pub fn parquet_run_id(path: &Path) -> Result<Option<String>> {
    let file = std::fs::File::open(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    let mut reader = ParquetReader::new(file);
    let metadata = reader.get_metadata().map_err(|e| Error::Parse { path: path.to_owned(), message: e.to_string() })?;
    Ok(metadata.key_value_metadata().iter().flatten().find(|kv| kv.key == RUN_ID_KEY).and_then(|kv| kv.value.clone()))
}

/// Writes `df` as CSV (with a header) at `path`, atomically.
pub fn write_csv(path: &Path, df: &mut DataFrame) -> Result<()> {
    write_atomic(path, |f| CsvWriter::new(f).include_header(true).finish(df).map_err(|e| e.to_string()))
}

/// Writes `value` as pretty JSON at `path`, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, |f| {
        serde_json::to_writer_pretty(&mut *f, value).map_err(|e| e.to_string())?;
        f.write_all(b"\n").map_err(|e| e.to_string())
    })
}

/// Reads a Parquet file back into a table.
pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    ParquetReader::new(file).finish().map_err(|e| Error::Parse { path: path.to_owned(), message: e.to_string() })
}

/// A table read back as plain columns, for modules that must not see polars (the report).
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Number of rows.
    pub height: usize,
    /// Numeric columns (every integer or float column, as f64; nulls as NaN).
    pub numbers: std::collections::BTreeMap<String, Vec<f64>>,
    /// Text columns.
    pub texts: std::collections::BTreeMap<String, Vec<String>>,
}

impl Table {
    /// A numeric column, or an error naming the file and the column.
    pub fn num(&self, name: &str) -> Result<&[f64]> {
        self.numbers
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| Error::Parse { path: name.into(), message: format!("no numeric column {name:?}") })
    }

    /// A text column.
    pub fn text(&self, name: &str) -> Result<&[String]> {
        self.texts
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| Error::Parse { path: name.into(), message: format!("no text column {name:?}") })
    }
}

/// Reads a Parquet file into a [`Table`].
pub fn read_table(path: &Path) -> Result<Table> {
    let df = read_parquet(path)?;
    let err = |e: PolarsError| Error::Parse { path: path.to_owned(), message: e.to_string() };
    let mut t = Table { height: df.height(), ..Table::default() };
    for col in df.columns() {
        let name = col.name().to_string();
        if col.dtype() == &DataType::String {
            let s = col.str().map_err(err)?;
            t.texts.insert(name, s.iter().map(|v| v.unwrap_or("").to_owned()).collect());
        } else if col.dtype().is_primitive_numeric() {
            let c = col.cast(&DataType::Float64).map_err(err)?;
            let f = c.f64().map_err(err)?;
            t.numbers.insert(name, f.iter().map(|v| v.unwrap_or(f64::NAN)).collect());
        }
    }
    Ok(t)
}

/// Removes the temporary files (`.rentree-*.tmp`) that a killed writer left in `dir`; returns how many.
///
/// Only for a folder no other process is writing into: a live writer's temporary file looks the same.
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(Error::Read { path: dir.to_owned(), source }),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Read { path: dir.to_owned(), source })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".rentree-") && name.ends_with(".tmp") && entry.file_type().is_ok_and(|t| t.is_file()) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::Write { path, message: e.to_string() })?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Creates `dir` (and parents) or explains why it cannot be used.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Write { path: dir.to_owned(), message: e.to_string() })?;
    let meta = std::fs::metadata(dir).map_err(|e| Error::Write { path: dir.to_owned(), message: e.to_string() })?;
    if !meta.is_dir() {
        return Err(Error::Write { path: dir.to_owned(), message: "exists and is not a directory".into() });
    }
    Ok(())
}

/// Syncs a directory, so that the renames and removals in it so far are on disk before the next step.
fn sync_dir(dir: &Path) -> Result<()> {
    // Only Unix can open and sync a directory; elsewhere the order of renames is the file system's.
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::Write { path: dir.to_owned(), message: e.to_string() })?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Whether a name listed in a manifest may be removed or read as a table of the folder: a plain file name
/// (no directory part, so a hand-edited manifest cannot reach outside the folder) of a Parquet or CSV file.
fn is_table_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(n)), None) if n == name)
        && (name.ends_with(".parquet") || name.ends_with(".csv"))
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
        if !is_table_name(name) && name != "plan.json" {
            return Err(refuse(format!("{MANIFEST} lists {name:?}: expected a file name of this folder (a table or plan.json)")));
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

/// Writes a run's `summary`, `timeseries` (and `access`, for scenarios with sessions) tables and
/// `manifest.json` into `dir`; returns the paths written, the manifest last.
///
/// The timeseries is `report.timeseries`, or, for a run that streamed its minute rows
/// ([`crate::world::run_streamed`]), the rows of `spilled` merged in (minute, pool) order and written
/// [`spill::BATCH_ROWS`] at a time. Follows the folder protocol of the module doc: the old manifest is
/// withdrawn before any table is replaced and the new one written last, so a manifest vouches for exactly
/// the tables beside it. Sets the manifest's `run_id` and `files`.
pub fn write_run(
    dir: &Path,
    report: &RunReport,
    spilled: &mut [MinuteSpill],
    manifest: &mut Manifest,
    format: Format,
) -> Result<Vec<PathBuf>> {
    ensure_dir(dir)?;
    let polars_err = |e: PolarsError| Error::Write { path: dir.to_owned(), message: e.to_string() };
    let rows: Vec<_> = report.rows.iter().map(|r| r.fields()).collect();
    let summary = frame(&rows).map_err(polars_err)?;
    let streamed = spilled.iter().any(|s| s.rows() > 0);
    let rows: Vec<_> = report.timeseries.iter().map(|r| r.fields()).collect();
    let timeseries = frame(&rows).map_err(polars_err)?;
    drop(rows);
    let access: Vec<_> = report.access.iter().map(|r| r.fields()).collect();
    let access = frame(&access).map_err(polars_err)?;
    let mut tables = vec![("summary", summary), ("timeseries", timeseries)];
    if !report.access.is_empty() {
        tables.push(("access", access));
    }
    let mut names = Vec::new();
    for (stem, _) in &tables {
        if format.parquet() {
            names.push(format!("{stem}.parquet"));
        }
        if format.csv() {
            names.push(format!("{stem}.csv"));
        }
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    manifest.run_id = run_id_of(manifest, format);
    begin_results(dir, &names, RUN_TABLES)?;
    let mut written = Vec::new();
    for (stem, mut df) in tables {
        let from_spills = streamed && stem == "timeseries";
        if format.parquet() {
            let p = dir.join(format!("{stem}.parquet"));
            if from_spills {
                write_parquet_spilled(&p, spilled, &manifest.run_id)?;
            } else {
                write_parquet(&p, &mut df, &manifest.run_id)?;
            }
            written.push(p);
        }
        if format.csv() {
            let p = dir.join(format!("{stem}.csv"));
            if from_spills {
                write_csv_spilled(&p, spilled)?;
            } else {
                write_csv(&p, &mut df)?;
            }
            written.push(p);
        }
    }
    manifest.files = file_entries(dir, &names)?;
    written.push(finish_results(dir, manifest)?);
    Ok(written)
}

/// [`write_parquet`] of the rows of `spills` (see [`spill::for_each_batch`]), a row group a batch; a
/// table of at most one batch is byte for byte the one [`write_parquet`] writes.
fn write_parquet_spilled(path: &Path, spills: &mut [MinuteSpill], run_id: &str) -> Result<()> {
    let metadata = KeyValueMetadata::from_static(vec![(RUN_ID_KEY.to_owned(), run_id.to_owned())]);
    write_atomic(path, |f| {
        // The writer owns a second handle of the temporary file (a closure cannot lend its `f` out).
        let file = f.try_clone().map_err(|e| e.to_string())?;
        let mut file = Some(file);
        let mut writer = None;
        spill::for_each_batch(spills, |df| {
            if writer.is_none() {
                let w = ParquetWriter::new(file.take().expect("one writer")).with_key_value_metadata(Some(metadata.clone()));
                writer = Some(w.batched(df.schema()).map_err(|e| e.to_string())?);
            }
            writer.as_mut().expect("set above").write_batch(df).map_err(|e| e.to_string())
        })?;
        writer.expect("a spilled table has rows").finish().map(|_| ()).map_err(|e| e.to_string())
    })
}

/// [`write_csv`] of the rows of `spills`; the same bytes as [`write_csv`] of the same rows.
fn write_csv_spilled(path: &Path, spills: &mut [MinuteSpill]) -> Result<()> {
    write_atomic(path, |f| {
        let mut file = Some(f.try_clone().map_err(|e| e.to_string())?);
        let mut writer = None;
        spill::for_each_batch(spills, |df| {
            if writer.is_none() {
                writer = Some(
                    CsvWriter::new(file.take().expect("one writer"))
                        .include_header(true)
                        .batched(df.schema())
                        .map_err(|e| e.to_string())?,
                );
            }
            writer.as_mut().expect("set above").write_batch(df).map_err(|e| e.to_string())
        })?;
        writer.expect("a spilled table has rows").finish().map_err(|e| e.to_string())
    })
}
