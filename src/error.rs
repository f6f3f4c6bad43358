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
    #[error("{path}: {}", shorten_lines(message))]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and the offending snippet.
        message: String,
    },
    /// A value is well-formed but impossible (a negative rate, zero servers, K < c…).
    #[error("{path}: {field} = {}: expected {expected}", shorten(found))]
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
    #[error("{path}: {} problems:\n{}", .problems.len(), .problems.iter().map(|p| format!("  - {}", shorten(&p.to_string()))).collect::<Vec<_>>().join("\n"))]
    Many {
        /// The file.
        path: PathBuf,
        /// The problems, in the order found; each prints as `field = found: expected …`.
        problems: Vec<FieldProblem>,
    },
    /// An override (`--set path=value`, a `[variants.NAME]` entry, an experiment's `set`, grid or range) does
    /// not apply.
    #[error("{origin}: {assignment}: {message}")]
    Override {
        /// Where the assignment was written: `--set`, or the file and the variant or strategy.
        origin: String,
        /// The assignment as given.
        assignment: String,
        /// What is wrong with it.
        message: String,
    },
    /// A command-line option has a value that cannot be used.
    #[error("{flag} {}: expected {expected}", shorten(found))]
    Argument {
        /// The option, e.g. `--shard`.
        flag: String,
        /// The value given.
        found: String,
        /// What would have been accepted.
        expected: String,
    },
    /// The run would need more than the machine (or `--max-memory`, `--max-events`) allows.
    #[error("{path}: {message}")]
    TooLarge {
        /// The scenario file.
        path: PathBuf,
        /// The estimate, the limit and the fields that drive it.
        message: String,
    },
    /// A run stopped because simulated time stopped advancing while events kept firing.
    #[error("{path}: {message}")]
    Stalled {
        /// The scenario file.
        path: PathBuf,
        /// When and why.
        message: String,
    },
    /// The work was interrupted ([`crate::world::request_interrupt`]: Ctrl-C in a host process) before it
    /// finished; nothing it had not finished was written.
    #[error("{path}: {message}")]
    Interrupted {
        /// The scenario file.
        path: PathBuf,
        /// When the run stopped.
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

/// One problem of a file's field: the field, what was found, what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The dotted path of the field, e.g. `platforms.desk.pool.servers`.
    pub field: String,
    /// The value found, as written.
    pub found: String,
    /// What would have been accepted.
    pub expected: String,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {}: expected {}", self.field, self.found, self.expected)
    }
}

impl Error {
    /// The problems this error reports, each with its field, what was found and what was expected (one for
    /// most errors; every problem of a file for [`Error::Many`]); empty for errors that are not about a
    /// field (a file that cannot be read or parsed, a write that failed, a run that stopped).
    pub fn problems(&self) -> Vec<FieldProblem> {
        match self {
            Error::Invalid { field, found, expected, .. } => {
                vec![FieldProblem { field: field.clone(), found: found.clone(), expected: expected.clone() }]
            }
            Error::Many { problems, .. } => problems.clone(),
            Error::Argument { flag, found, expected } => {
                vec![FieldProblem { field: flag.clone(), found: found.clone(), expected: expected.clone() }]
            }
            Error::Override { assignment, message, .. } => {
                vec![FieldProblem { field: assignment.clone(), found: message.clone(), expected: "an assignment that applies".into() }]
            }
            _ => Vec::new(),
        }
    }

    /// The file (or, for an override, where it was written) the error is about; `None` for a command-line
    /// option.
    pub fn file(&self) -> Option<String> {
        match self {
            Error::Read { path, .. }
            | Error::Parse { path, .. }
            | Error::Invalid { path, .. }
            | Error::Many { path, .. }
            | Error::TooLarge { path, .. }
            | Error::Stalled { path, .. }
            | Error::Interrupted { path, .. }
            | Error::Write { path, .. } => Some(path.display().to_string()),
            Error::Override { origin, .. } => Some(origin.clone()),
            Error::Argument { .. } => None,
        }
    }
}

/// The most characters of a value echoed in a message: a pathological input (an array nested 100,000 deep,
/// a megabyte string) must not flood the terminal.
pub const MAX_ECHO_CHARS: usize = 200;

/// `text`, cut to [`MAX_ECHO_CHARS`] characters with a note of how long it was.
pub fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}… ({} characters in all)", &text[..cut], text.chars().count())),
    }
}

/// Each line of `text` cut as by [`shorten`] (a parser's message quotes the offending line, however long).
pub fn shorten_lines(text: &str) -> String {
    text.lines().map(shorten).collect::<Vec<_>>().join("\n")
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
