//! Result files: Parquet and CSV tables built with polars, and the JSON run manifest.
//!
//! This is the only module that knows polars. Every file is written atomically: to a temporary file in the
//! destination directory, flushed, then renamed over the final name, so an interrupted run never leaves a
//! half-written file under a name that looks complete.

use crate::error::{Error, Result};
use crate::metrics::Field;
use crate::world::RunReport;
use polars::prelude::*;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// Files written next to the manifest.
    pub files: Vec<String>,
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

/// Writes `df` as Parquet at `path`, atomically.
pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<()> {
    write_atomic(path, |f| ParquetWriter::new(f).finish(df).map(|_| ()).map_err(|e| e.to_string()))
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

/// Creates `dir` (and parents) or explains why it cannot be used.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Write { path: dir.to_owned(), message: e.to_string() })?;
    let meta = std::fs::metadata(dir).map_err(|e| Error::Write { path: dir.to_owned(), message: e.to_string() })?;
    if !meta.is_dir() {
        return Err(Error::Write { path: dir.to_owned(), message: "exists and is not a directory".into() });
    }
    Ok(())
}

/// Writes a run's `summary`, `timeseries` and `manifest.json` into `dir`; returns the paths written.
///
/// The manifest is written last, so its presence means the tables beside it are complete.
pub fn write_run(dir: &Path, report: &RunReport, manifest: &mut Manifest, format: Format) -> Result<Vec<PathBuf>> {
    ensure_dir(dir)?;
    let polars_err = |e: PolarsError| Error::Write { path: dir.to_owned(), message: e.to_string() };
    let rows: Vec<_> = report.rows.iter().map(|r| r.fields()).collect();
    let mut summary = frame(&rows).map_err(polars_err)?;
    let rows: Vec<_> = report.timeseries.iter().map(|r| r.fields()).collect();
    let mut timeseries = frame(&rows).map_err(polars_err)?;
    let access: Vec<_> = report.access.iter().map(|r| r.fields()).collect();
    let mut access = frame(&access).map_err(polars_err)?;
    let mut written = Vec::new();
    let mut tables = vec![("summary", &mut summary), ("timeseries", &mut timeseries)];
    if !report.access.is_empty() {
        tables.push(("access", &mut access));
    }
    for (stem, df) in tables {
        if format.parquet() {
            let p = dir.join(format!("{stem}.parquet"));
            write_parquet(&p, df)?;
            written.push(p);
        }
        if format.csv() {
            let p = dir.join(format!("{stem}.csv"));
            write_csv(&p, df)?;
            written.push(p);
        }
    }
    manifest.files = written.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
    let p = dir.join("manifest.json");
    write_json(&p, manifest)?;
    written.push(p);
    Ok(written)
}
