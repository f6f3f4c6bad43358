//! `rentree._native`, the native module of the Python package: a thin binding over the library the
//! `rentree` command uses. Nothing is implemented twice: a run is `rentree::cli::run_kept` (what `rentree
//! run` does, its rows kept in memory), its tables are encoded by the library's own Parquet writer, the
//! procedures (sweep, select, optimize, sensitivity, calibrate, stability) and the `rentree` console
//! command are the library's command line, and bad input is the library's error with its fields.
//!
//! Every call that simulates releases the GIL and runs on a thread of its own while the calling thread
//! checks for signals every [`POLL`]: Ctrl-C asks the library to stop every run in progress
//! (`rentree::world::request_interrupt`), waits for the work to return, and raises `KeyboardInterrupt`.
//! Results are written atomically by the library, so an interrupted call leaves no half-written file.

use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rentree::cli::{self, Kept};
use rentree::output::Format;
use rentree::scenario::Source;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often a thread waiting on a run checks for signals (Ctrl-C stops a run within about this, plus the
/// few microseconds a run takes to see the request).
const POLL: Duration = Duration::from_millis(50);

create_exception!(
    rentree,
    BadInput,
    PyValueError,
    "Bad input: a scenario, experiment or calibration file (or an argument) that cannot be used. Its \
     message is the rentree command's exit-2 message; `file`, `field`, `found` and `expected` name the \
     first problem (None where the error has no such part) and `problems` lists every one."
);

/// One problem of a scenario (or experiment) file: the file, the dotted field, what was found and what was
/// expected. `field` is None for a problem of the file as a whole (unreadable, not TOML, an unknown field
/// that the parser names in `found`).
#[pyclass(frozen, eq, module = "rentree", get_all)]
#[derive(Debug, Clone, PartialEq)]
struct Problem {
    file: Option<String>,
    field: Option<String>,
    found: String,
    expected: String,
}

#[pymethods]
impl Problem {
    fn __repr__(&self) -> String {
        format!("Problem(file={:?}, field={:?}, found={:?}, expected={:?})", self.file, self.field, self.found, self.expected)
    }

    fn __str__(&self) -> String {
        let file = self.file.as_deref().map(|f| format!("{f}: ")).unwrap_or_default();
        match &self.field {
            Some(field) => format!("{file}{field} = {}: expected {}", self.found, self.expected),
            None => format!("{file}{}: expected {}", self.found, self.expected),
        }
    }
}

/// The problems an error reports: its fields' problems, or one problem of the file as a whole.
fn problems_of(e: &rentree::Error) -> Vec<Problem> {
    let file = e.file();
    let fields = e.problems();
    if !fields.is_empty() {
        return fields
            .into_iter()
            .map(|p| Problem { file: file.clone(), field: Some(p.field), found: p.found, expected: p.expected })
            .collect();
    }
    let (found, expected) = match e {
        rentree::Error::Read { source, .. } => (source.to_string(), "a readable file".to_owned()),
        rentree::Error::Parse { message, .. } => {
            (message.clone(), "TOML that matches the file's schema (`rentree schema` prints it)".to_owned())
        }
        rentree::Error::TooLarge { message, .. } => (message.clone(), "a run this machine can hold".to_owned()),
        rentree::Error::Stalled { message, .. } => (message.clone(), "simulated time that advances".to_owned()),
        rentree::Error::Write { message, .. } => (message.clone(), "a folder the results can be written to".to_owned()),
        other => (other.to_string(), "input that can be used".to_owned()),
    };
    vec![Problem { file, field: None, found, expected }]
}

/// The Python exception for a failed call: `KeyboardInterrupt` if it was interrupted, otherwise `BadInput`
/// with the command line's message and the first problem's parts.
fn to_py(py: Python<'_>, e: &anyhow::Error) -> PyErr {
    let library = e.chain().find_map(|c| c.downcast_ref::<rentree::Error>());
    if let Some(rentree::Error::Interrupted { .. }) = library {
        return PyKeyboardInterrupt::new_err(cli::message(e));
    }
    bad_input(py, cli::message(e), library.map(problems_of).unwrap_or_default(), library.and_then(rentree::Error::file))
}

/// `BadInput` with `message`, its `problems`, and the first problem's parts as attributes (`file` falling back
/// to `file` when there is no problem).
fn bad_input(py: Python<'_>, message: String, problems: Vec<Problem>, file: Option<String>) -> PyErr {
    let err = BadInput::new_err(message);
    let value = err.value(py);
    let first = problems.first();
    // Setting attributes on a fresh exception instance cannot fail but for memory; a failure leaves them unset.
    let _ = value.setattr("file", first.and_then(|p| p.file.clone()).or(file));
    let _ = value.setattr("field", first.and_then(|p| p.field.clone()));
    let _ = value.setattr("found", first.map(|p| p.found.clone()));
    let _ = value.setattr("expected", first.map(|p| p.expected.clone()));
    let _ = value.setattr("problems", problems);
    err
}

/// Runs `work` on a thread of its own with the GIL released, checking for signals every [`POLL`]. On a
/// signal's exception (Ctrl-C's `KeyboardInterrupt`), asks the library to stop every run in progress,
/// waits for `work` to return, and raises that exception.
fn interruptible<T: Send>(py: Python<'_>, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    let waiter = std::thread::current();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            let out = work();
            done.store(true, Ordering::Release);
            waiter.unpark();
            out
        });
        loop {
            // The GIL is released while this thread waits, so other Python threads (and other runs) go on.
            let finished = py.detach(|| {
                if !done.load(Ordering::Acquire) {
                    std::thread::park_timeout(POLL);
                }
                done.load(Ordering::Acquire)
            });
            if finished {
                break;
            }
            if let Err(signal) = py.check_signals() {
                rentree::world::request_interrupt();
                let joined = py.detach(move || handle.join());
                rentree::world::clear_interrupt();
                if let Err(panic) = joined {
                    std::panic::resume_unwind(panic);
                }
                return Err(signal);
            }
        }
        Ok(py.detach(move || handle.join()).unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Where a scenario comes from: a path, a TOML text (named `<string>` in messages), `builtin:NAME`, or the
/// built-in replay when `None`.
fn source_of(scenario: Option<&str>, is_text: bool) -> Result<Source, rentree::Error> {
    match scenario {
        None => Source::file(None),
        Some(text) if is_text => Source::from_text(text.to_owned(), Path::new("<string>")),
        Some(spec) if spec.starts_with("builtin:") => Source::named(spec, Path::new("scenario"), "scenario"),
        Some(path) => Source::file(Some(Path::new(path))),
    }
}

/// A run kept in memory (`rentree.run`'s result, wrapped in Python by `rentree.Run`).
#[pyclass(frozen, module = "rentree._native")]
struct NativeRun {
    kept: Kept,
}

#[pymethods]
impl NativeRun {
    /// The run's tables as Parquet bytes, as (name, bytes): the files `rentree run` writes.
    fn tables<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyBytes>)>> {
        let tables = self.kept.parquet_tables().map_err(|e| to_py(py, &e.into()))?;
        Ok(tables.into_iter().map(|(name, bytes)| (name.to_owned(), PyBytes::new(py, &bytes))).collect())
    }

    /// The manifest as JSON (`run_id` that of the Parquet tables; `files` empty until written).
    fn manifest_json(&self, py: Python<'_>) -> PyResult<String> {
        serde_json::to_string_pretty(&self.kept.manifest).map_err(|e| to_py(py, &e.into()))
    }

    /// Writes the run's folder as `rentree run --out DIR --format FORMAT` does; the paths written.
    fn write(&self, py: Python<'_>, dir: PathBuf, format: &str) -> PyResult<Vec<String>> {
        let format = match format {
            "parquet" => Format::Parquet,
            "csv" => Format::Csv,
            "both" => Format::Both,
            other => {
                let e = rentree::Error::Argument {
                    flag: "format".into(),
                    found: format!("{other:?}"),
                    expected: "\"parquet\", \"csv\" or \"both\"".into(),
                };
                return Err(to_py(py, &e.into()));
            }
        };
        let kept = &self.kept;
        let written = interruptible(py, || kept.write(&dir, format))?.map_err(|e| to_py(py, &e.into()))?;
        Ok(written.iter().map(|p| p.display().to_string()).collect())
    }
}

/// One run of a scenario, kept in memory: `rentree run` without its files.
#[pyfunction]
#[pyo3(signature = (scenario, is_text, seed, scale, variant, assignments))]
fn run(
    py: Python<'_>,
    scenario: Option<String>,
    is_text: bool,
    seed: u64,
    scale: f64,
    variant: Option<String>,
    assignments: Vec<String>,
) -> PyResult<NativeRun> {
    let work = || -> anyhow::Result<Kept> {
        let resolved = source_of(scenario.as_deref(), is_text)?.variant(variant.as_deref())?.set(&assignments)?.scaled(scale);
        let as_shipped = variant.is_none() && assignments.is_empty();
        cli::run_kept(&resolved, assignments.clone(), seed, as_shipped)
    };
    let kept = interruptible(py, work)?.map_err(|e| to_py(py, &e))?;
    Ok(NativeRun { kept })
}

/// Every problem of a scenario (and of each of its variants, named in the field); empty if it is valid.
#[pyfunction]
fn validate(py: Python<'_>, scenario: String, is_text: bool) -> PyResult<Vec<Problem>> {
    let source = match source_of(Some(&scenario), is_text) {
        Ok(s) => s,
        Err(e @ rentree::Error::Read { .. }) => return Err(to_py(py, &e.into())),
        Err(e) => return Ok(problems_of(&e)),
    };
    let variants: Vec<String> = match source.scenario() {
        Ok(s) => s.raw.variants.keys().cloned().collect(),
        Err(e) => return Ok(problems_of(&e)),
    };
    let mut problems = Vec::new();
    for name in variants {
        if let Err(e) = source.clone().variant(Some(&name)).and_then(|s| s.scenario()) {
            problems.extend(problems_of(&e).into_iter().map(|p| Problem {
                field: Some(match p.field {
                    Some(f) => format!("{f} (variant {name})"),
                    None => format!("variants.{name}"),
                }),
                ..p
            }));
        }
    }
    Ok(problems)
}

/// The scenario's name, its variants and its validated text, or `BadInput`.
#[pyfunction]
fn describe(py: Python<'_>, scenario: Option<String>, is_text: bool) -> PyResult<(String, String, String, Vec<String>)> {
    let source = source_of(scenario.as_deref(), is_text).map_err(|e| to_py(py, &e.into()))?;
    let s = source.scenario().map_err(|e| to_py(py, &e.into()))?;
    Ok((s.name.clone(), source.label().to_owned(), source.text().to_owned(), s.raw.variants.keys().cloned().collect()))
}

/// The built-in models: (name as `builtin:NAME` takes it, path in the repository, text).
#[pyfunction]
fn builtin_models() -> Vec<(String, String, String)> {
    Source::builtins().map(|(name, m)| (name.to_owned(), m.path.to_owned(), m.text.to_owned())).collect()
}

/// Runs a command line (without the program name) of the `rentree` command, silenced, raising `BadInput`
/// where the command would exit 2: what `rentree.sweep` and the procedures call.
#[pyfunction]
fn command(py: Python<'_>, args: Vec<String>) -> PyResult<()> {
    // The package returns what the command finds as objects, and its warnings as Python warnings.
    cli::set_quiet(true);
    let argv: Vec<String> = std::iter::once("rentree".to_owned()).chain(args).collect();
    let parsed = cli::parse(&argv).map_err(|e| bad_input(py, e.to_string().trim_end().to_owned(), Vec::new(), None))?;
    match interruptible(py, || cli::execute(parsed))? {
        Ok(_) => Ok(()),
        Err(e) => Err(to_py(py, &e)),
    }
}

/// The files a results folder's manifest lists, once checked (all present, unchanged, from one run).
#[pyfunction]
fn check_results(py: Python<'_>, dir: PathBuf) -> PyResult<Vec<String>> {
    rentree::output::check_results(&dir).map(|c| c.files).map_err(|e| to_py(py, &e.into()))
}

/// The `rentree` command: runs `argv` (program name first) and returns its exit code; Ctrl-C stops it with
/// exit code 130, as a shell reports an interrupted command.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<String>) -> PyResult<u8> {
    cli::set_quiet(false);
    match interruptible(py, || cli::main(argv)) {
        Ok(code) => Ok(code),
        Err(e) if e.is_instance_of::<PyKeyboardInterrupt>(py) => Ok(130),
        Err(e) => Err(e),
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("BadInput", py.get_type::<BadInput>())?;
    m.add_class::<Problem>()?;
    m.add_class::<NativeRun>()?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(describe, m)?)?;
    m.add_function(wrap_pyfunction!(builtin_models, m)?)?;
    m.add_function(wrap_pyfunction!(command, m)?)?;
    m.add_function(wrap_pyfunction!(check_results, m)?)?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    Ok(())
}
