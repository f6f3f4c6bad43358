//! Where a run's minute rows go while it runs, so that a long horizon streams its timeseries out instead
//! of holding it until the end.
//!
//! The world never touches the file system: it hands its rows, a few thousand at a time, to a
//! [`MinuteSink`] the caller lends it (the output layer's spill file), and keeps none of them. A run
//! without a sink ([`super::run`]) keeps its rows in the report, as sweeps need them.

use crate::metrics::MinuteRow;
use std::path::PathBuf;

/// Rows a world buffers before it hands them to its sink: a bounded amount of memory (a few MiB) whatever
/// the horizon, and few enough calls that the sink costs nothing next to the run.
pub const FLUSH_ROWS: usize = 4096;

/// Takes the minute rows of one component of a run as it makes them.
///
/// Rows come in the order of the run: by minute, and within a minute by pool index. Each row comes with
/// the index of its pool among the scenario's pools (platforms first, then dependencies), which is how
/// the rows of the components are put back in one order.
pub trait MinuteSink: Send {
    /// Takes rows (pool index, row). An error stops the run: its rows would be lost.
    fn take(&mut self, rows: &[(u32, MinuteRow)]) -> Result<(), SinkError>;

    /// The component's clock has reached `now_s` seconds after `events` events: called once a simulated
    /// minute, for a progress display. It sees nothing of the run's state, so it cannot change the run.
    fn progress(&mut self, _now_s: f64, _events: u64) {}
}

/// Why a sink could not take rows: the file it writes, and what went wrong (a full disk, most often).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError {
    /// The file the rows were going to.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: cannot write: {}", self.path.display(), self.message)
    }
}
