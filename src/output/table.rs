//! Tables: result rows into polars frames, Parquet (with the run's id in its footer) and CSV written
//! atomically, a timeseries written from its spill files a batch at a time, and tables read back as plain
//! columns for the modules that must not see polars.

use super::manifest::RUN_ID_KEY;
use super::spill::{self, MinuteSpill};
use super::write_atomic;
use crate::error::{Error, Result};
use crate::metrics::Field;
use polars::prelude::*;
use std::path::Path;

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

/// Writes `df` as Parquet at `path`, atomically, with `run_id` in the footer under [`RUN_ID_KEY`].
pub fn write_parquet(path: &Path, df: &mut DataFrame, run_id: &str) -> Result<()> {
    write_atomic(path, |f| encode_parquet(f, df, run_id).map_err(|e| e.to_string()))
}

/// `df` as the bytes of the Parquet file [`write_parquet`] writes, for a caller that keeps tables in memory
/// (the Python package hands them to its polars).
pub fn parquet_bytes(df: &mut DataFrame, run_id: &str) -> Result<Vec<u8>, PolarsError> {
    let mut bytes = Vec::new();
    encode_parquet(&mut bytes, df, run_id)?;
    Ok(bytes)
}

/// Encodes `df` as Parquet into `to`, `run_id` in the footer: the one encoder of the run tables.
fn encode_parquet<W: std::io::Write>(to: W, df: &mut DataFrame, run_id: &str) -> Result<(), PolarsError> {
    let metadata = KeyValueMetadata::from_static(vec![(RUN_ID_KEY.to_owned(), run_id.to_owned())]);
    ParquetWriter::new(to).with_key_value_metadata(Some(metadata)).finish(df).map(|_| ())
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
    table_of(path, read_parquet(path)?)
}

/// Reads a file a user exported (from monitoring, a spreadsheet) into a [`Table`]: CSV with a header row
/// when its name ends in `.csv`, Parquet otherwise. Empty CSV cells are missing values (NaN).
pub fn read_user_table(path: &Path) -> Result<Table> {
    let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv {
        return read_table(path);
    }
    // Opened here first, so that a missing or unreadable file is reported as such, not as a parse error.
    std::fs::File::open(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(None)
        .try_into_reader_with_file_path(Some(path.to_owned()))
        .and_then(|r| r.finish())
        .map_err(|e| Error::Parse { path: path.to_owned(), message: e.to_string() })?;
    table_of(path, df)
}

fn table_of(path: &Path, df: DataFrame) -> Result<Table> {
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

/// [`write_parquet`] of the rows of `spills` (see [`spill::for_each_batch`]), a row group a batch; a
/// table of at most one batch is byte for byte the one [`write_parquet`] writes.
pub(super) fn write_parquet_spilled(path: &Path, spills: &mut [MinuteSpill], run_id: &str) -> Result<()> {
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
pub(super) fn write_csv_spilled(path: &Path, spills: &mut [MinuteSpill]) -> Result<()> {
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
