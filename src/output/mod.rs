//! Result files: Parquet and CSV tables built with polars ([`table`]), and the JSON run manifest with the
//! results-folder protocol ([`manifest`]).
//!
//! This is the only module that knows polars. Every file is written atomically: to a temporary file in the
//! destination directory, flushed, then renamed over the final name, so an interrupted run never leaves a
//! half-written file under a name that looks complete. A folder is one run or nothing: see [`manifest`] for
//! the protocol that writes it (manifest withdrawn first, written last) and the check its readers make.

pub mod manifest;
pub mod spill;
pub mod table;

use crate::error::{Error, Result};
use crate::world::RunReport;
use polars::prelude::PolarsError;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use manifest::{
    begin_results, check_results, file_entries, finish_results, run_id, run_id_of, sha256_file, sha256_hex, CalibratedMetric,
    CalibratedNote, CheckedResults, FileEntry, Manifest, MetricUncertainty, PosteriorNote, MANIFEST, RUN_ID_KEY, RUN_TABLES,
};
pub use spill::MinuteSpill;
pub use table::{frame, parquet_bytes, parquet_run_id, read_parquet, read_table, read_user_table, write_csv, write_parquet, Table};
use table::{write_csv_spilled, write_parquet_spilled};

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

/// Writes `value` as pretty JSON at `path`, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, |f| {
        serde_json::to_writer_pretty(&mut *f, value).map_err(|e| e.to_string())?;
        f.write_all(b"\n").map_err(|e| e.to_string())
    })
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

/// A run's tables as `rentree run` writes them: `summary`, `timeseries` (the report's rows; empty for a run
/// that streamed them) and, for scenarios with sessions, `access`.
pub fn run_tables(report: &RunReport) -> std::result::Result<Vec<(&'static str, polars::prelude::DataFrame)>, PolarsError> {
    let rows: Vec<_> = report.rows.iter().map(|r| r.fields()).collect();
    let summary = frame(&rows)?;
    let rows: Vec<_> = report.timeseries.iter().map(|r| r.fields()).collect();
    let timeseries = frame(&rows)?;
    drop(rows);
    let mut tables = vec![("summary", summary), ("timeseries", timeseries)];
    if !report.access.is_empty() {
        let access: Vec<_> = report.access.iter().map(|r| r.fields()).collect();
        tables.push(("access", frame(&access)?));
    }
    Ok(tables)
}

/// Writes a run's `summary`, `timeseries` (and `access`, for scenarios with sessions) tables and
/// `manifest.json` into `dir`; returns the paths written, the manifest last.
///
/// The timeseries is `report.timeseries`, or, for a run that streamed its minute rows
/// ([`crate::world::run_streamed`]), the rows of `spilled` merged in (minute, pool) order and written
/// [`spill::BATCH_ROWS`] at a time. Follows the folder protocol of [`manifest`]: the old manifest is
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
    let streamed = spilled.iter().any(|s| s.rows() > 0);
    let tables = run_tables(report).map_err(polars_err)?;
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
