//! The library's error type: bad input and I/O only.
//!
//! Domain outcomes (rejections, timeouts, abandonment) are counted in the results, never returned as errors.
//! Every variant names the file it is about; the binary prints the message and exits with code 2.

use std::path::PathBuf;

/// A failure caused by the input files or the file system.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or does not match the schema (unknown field, wrong type, unknown
    /// distribution name…). The message comes from the TOML parser and gives the line and column.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and the offending snippet.
        message: String,
    },
    /// A value is well-formed but impossible (a negative rate, zero servers, K < c…).
    #[error("{path}: {field} = {found}: expected {expected}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted path of the field, e.g. `platforms.desk.pool.servers`.
        field: String,
        /// The value found, as written.
        found: String,
        /// What would have been accepted.
        expected: String,
    },
    /// Several problems in the same file (validation reports all of them, not just the first).
    #[error("{path}: {} problems:\n{}", .problems.len(), .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Many {
        /// The file.
        path: PathBuf,
        /// One line per problem: `field = found: expected …`.
        problems: Vec<String>,
    },
    /// A command-line override (`--set path=value`) does not apply.
    #[error("--set {assignment}: {message}")]
    Override {
        /// The assignment as given.
        assignment: String,
        /// What is wrong with it.
        message: String,
    },
    /// Results could not be written.
    #[error("{path}: cannot write: {message}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
