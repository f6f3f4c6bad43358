//! A run's minute rows on their way to the timeseries tables, through a spill file per component.
//!
//! A run of a long horizon makes more minute rows than it can hold (a row per pool and simulated minute),
//! so `rentree run` streams them: each component of the run writes its rows, as it makes them, into a
//! [`MinuteSpill`] in the results folder (a temporary `.rentree-minutes-*.tmp` file, removed when the spill
//! is dropped); the tables are then written from a merge of the spills, [`BATCH_ROWS`] rows at a time. The
//! memory a run holds no longer grows with its horizon; the disk does, and the budget checks it.
//!
//! A spill record is the row's key (minute, pool index) and its columns, each a tag and a little-endian
//! value; the file opens with the column names. The format lives only as long as the run that writes it,
//! so it has no version.

use super::frame;
use crate::metrics::{Field, MinuteRow};
use crate::world::{MinuteSink, SinkError};
use polars::prelude::DataFrame;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Rows per batch of the tables written from spills (and per Parquet row group): about 40 MiB of rows in
/// flight whatever the horizon.
pub const BATCH_ROWS: usize = 16_384;

const TAG_U64: u8 = 0;
const TAG_F64: u8 = 1;
const TAG_STR: u8 = 2;

/// The minute rows of one component of a run, spilled to a temporary file as the run makes them.
pub struct MinuteSpill {
    file: tempfile::NamedTempFile,
    writer: BufWriter<File>,
    /// Column names, written with the first rows.
    names: Option<Vec<&'static str>>,
    rows: u64,
}

impl MinuteSpill {
    /// A new, empty spill file in `dir` (the results folder, so that it is on the disk the tables go to).
    pub fn create(dir: &Path) -> Result<MinuteSpill, SinkError> {
        let err = |path: &Path, e: std::io::Error| SinkError { path: path.to_owned(), message: e.to_string() };
        let file = tempfile::Builder::new().prefix(".rentree-minutes-").suffix(".tmp").tempfile_in(dir).map_err(|e| err(dir, e))?;
        let writer = BufWriter::with_capacity(1 << 20, file.as_file().try_clone().map_err(|e| err(file.path(), e))?);
        Ok(MinuteSpill { file, writer, names: None, rows: 0 })
    }

    /// The spill file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn write_rows(&mut self, rows: &[(u32, MinuteRow)]) -> std::io::Result<()> {
        for (pool, row) in rows {
            let fields = row.fields();
            if self.names.is_none() {
                let names: Vec<&'static str> = fields.iter().map(|f| f.0).collect();
                self.writer.write_all(&(names.len() as u32).to_le_bytes())?;
                for name in &names {
                    write_str(&mut self.writer, name)?;
                }
                self.names = Some(names);
            }
            self.writer.write_all(&row.minute.to_le_bytes())?;
            self.writer.write_all(&pool.to_le_bytes())?;
            for (_, value) in &fields {
                match value {
                    Field::U64(x) => {
                        self.writer.write_all(&[TAG_U64])?;
                        self.writer.write_all(&x.to_le_bytes())?;
                    }
                    Field::F64(x) => {
                        self.writer.write_all(&[TAG_F64])?;
                        self.writer.write_all(&x.to_bits().to_le_bytes())?;
                    }
                    Field::Str(s) => {
                        self.writer.write_all(&[TAG_STR])?;
                        write_str(&mut self.writer, s)?;
                    }
                }
            }
            self.rows += 1;
        }
        Ok(())
    }

    /// Flushes what is buffered and opens the file for reading from its start.
    fn reader(&mut self) -> Result<SpillReader, String> {
        let at = |e: std::io::Error| format!("{}: {e}", self.file.path().display());
        self.writer.flush().map_err(at)?;
        let mut reader = BufReader::with_capacity(1 << 20, self.file.reopen().map_err(at)?);
        let mut names = Vec::new();
        if self.rows > 0 {
            let n = read_u32(&mut reader).map_err(at)?;
            for _ in 0..n {
                names.push(read_str(&mut reader).map_err(at)?);
            }
        }
        Ok(SpillReader { path: self.file.path().to_owned(), reader, names, left: self.rows, head: None })
    }
}

impl MinuteSink for MinuteSpill {
    fn take(&mut self, rows: &[(u32, MinuteRow)]) -> Result<(), SinkError> {
        self.write_rows(rows).map_err(|e| SinkError { path: self.file.path().to_owned(), message: e.to_string() })
    }
}

fn write_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_str(r: &mut impl Read) -> std::io::Result<String> {
    let mut b = vec![0; read_u32(r)? as usize];
    r.read_exact(&mut b)?;
    String::from_utf8(b).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// One row read back: its key (minute, pool index) and its values.
type Record = ((u64, u32), Vec<Field>);

/// A spill read from its start, one record ahead.
struct SpillReader {
    path: PathBuf,
    reader: BufReader<File>,
    names: Vec<String>,
    left: u64,
    head: Option<Record>,
}

impl SpillReader {
    /// Reads the next record into `head` (`None` at the end).
    fn advance(&mut self) -> Result<(), String> {
        self.head = None;
        if self.left == 0 {
            return Ok(());
        }
        let at = |e: std::io::Error| format!("{}: {e}", self.path.display());
        let minute = read_u64(&mut self.reader).map_err(at)?;
        let pool = read_u32(&mut self.reader).map_err(at)?;
        let mut values = Vec::with_capacity(self.names.len());
        for _ in 0..self.names.len() {
            let mut tag = [0; 1];
            self.reader.read_exact(&mut tag).map_err(at)?;
            values.push(match tag[0] {
                TAG_U64 => Field::U64(read_u64(&mut self.reader).map_err(at)?),
                TAG_F64 => Field::F64(f64::from_bits(read_u64(&mut self.reader).map_err(at)?)),
                TAG_STR => Field::Str(read_str(&mut self.reader).map_err(at)?),
                other => {
                    return Err(format!("{}: unknown value tag {other}: the spill file was changed during the run", self.path.display()))
                }
            });
        }
        self.left -= 1;
        self.head = Some(((minute, pool), values));
        Ok(())
    }
}

/// The rows of `spills` merged in (minute, pool) order, as tables of at most [`BATCH_ROWS`] rows, each
/// handed to `batch`; returns the number of batches. Can be called again: each call reads the spills from
/// their start.
pub fn for_each_batch(spills: &mut [MinuteSpill], mut batch: impl FnMut(&mut DataFrame) -> Result<(), String>) -> Result<usize, String> {
    let mut readers = spills.iter_mut().map(MinuteSpill::reader).collect::<Result<Vec<_>, _>>()?;
    for r in &mut readers {
        r.advance()?;
    }
    let Some(names) = readers.iter().find(|r| !r.names.is_empty()).map(|r| r.names.clone()) else {
        return Ok(0);
    };
    if let Some(r) = readers.iter().find(|r| !r.names.is_empty() && r.names != names) {
        return Err(format!("{}: its columns differ from the other components' spills", r.path.display()));
    }
    let mut batches = 0;
    let mut rows: Vec<Vec<(&str, Field)>> = Vec::with_capacity(BATCH_ROWS);
    loop {
        // Components are few (a handful of platforms that share nothing): a scan finds the smallest key.
        let next = readers.iter().enumerate().filter_map(|(k, r)| r.head.as_ref().map(|h| (h.0, k))).min();
        let Some((_, k)) = next else { break };
        let (_, values) = readers[k].head.take().expect("the smallest key is a head");
        readers[k].advance()?;
        rows.push(names.iter().map(String::as_str).zip(values).collect());
        if rows.len() == BATCH_ROWS {
            batch(&mut frame(&rows).map_err(|e| e.to_string())?)?;
            batches += 1;
            rows.clear();
        }
    }
    if !rows.is_empty() {
        batch(&mut frame(&rows).map_err(|e| e.to_string())?)?;
        batches += 1;
    }
    Ok(batches)
}
