//! The rows a run produces: one summary row, and one row per simulated minute and platform.
//!
//! Each row type lists its columns once, in [`Summary::fields`] and [`MinuteRow::fields`]; the output layer
//! turns those lists into tables without knowing the metrics, and sweeps aggregate them by name. Column names
//! carry their units.

/// A column value.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// A count.
    U64(u64),
    /// A measurement.
    F64(f64),
    /// A label.
    Str(String),
}

/// The whole-run summary. Counts and averages cover requests that arrived in `[warmup, horizon]`, and time
/// averages the same span.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Platform the row is about (`"all"` for the whole system).
    pub platform: String,
    /// Cohort the row is about (`"all"` for everyone).
    pub cohort: String,
    /// Seconds over which statistics were collected (horizon − warm-up).
    pub observed_s: f64,
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests that completed service.
    pub served: u64,
    /// Requests that left the backlog because their client ran out of patience.
    pub abandoned: u64,
    /// Requests turned away because the pool was full (`max_in_system` reached).
    pub blocked: u64,
    /// Requests still waiting or in service at the horizon.
    pub in_system_end: u64,
    /// Share of arrivals blocked.
    pub p_block: f64,
    /// Share of admitted requests that had to wait (found every slot busy).
    pub p_wait: f64,
    /// Share of admitted requests that abandoned.
    pub p_abandon: f64,
    /// Mean time in the backlog of admitted requests that left it (served or abandoned), 0 for no wait.
    pub mean_wait_s: f64,
    /// Median of the same.
    pub p50_wait_s: f64,
    /// 95th percentile of the same.
    pub p95_wait_s: f64,
    /// 99th percentile of the same.
    pub p99_wait_s: f64,
    /// Longest wait.
    pub max_wait_s: f64,
    /// Mean wait of requests that were served.
    pub mean_wait_served_s: f64,
    /// Mean time from arrival to end of service, of requests served.
    pub mean_sojourn_s: f64,
    /// Time-average number of requests waiting.
    pub mean_queue_len: f64,
    /// Time-average number of requests in the pool (waiting or in service).
    pub mean_in_system: f64,
    /// Time-average share of service slots busy.
    pub utilization: f64,
    /// Served requests per second.
    pub throughput_per_s: f64,
    /// Events the engine handled in the whole run (warm-up included).
    pub events: u64,
}

impl Summary {
    /// The row's columns, in output order.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        use Field::*;
        vec![
            ("scenario", Str(self.scenario.clone())),
            ("platform", Str(self.platform.clone())),
            ("cohort", Str(self.cohort.clone())),
            ("observed_s", F64(self.observed_s)),
            ("arrivals", U64(self.arrivals)),
            ("served", U64(self.served)),
            ("abandoned", U64(self.abandoned)),
            ("blocked", U64(self.blocked)),
            ("in_system_end", U64(self.in_system_end)),
            ("p_block", F64(self.p_block)),
            ("p_wait", F64(self.p_wait)),
            ("p_abandon", F64(self.p_abandon)),
            ("mean_wait_s", F64(self.mean_wait_s)),
            ("p50_wait_s", F64(self.p50_wait_s)),
            ("p95_wait_s", F64(self.p95_wait_s)),
            ("p99_wait_s", F64(self.p99_wait_s)),
            ("max_wait_s", F64(self.max_wait_s)),
            ("mean_wait_served_s", F64(self.mean_wait_served_s)),
            ("mean_sojourn_s", F64(self.mean_sojourn_s)),
            ("mean_queue_len", F64(self.mean_queue_len)),
            ("mean_in_system", F64(self.mean_in_system)),
            ("utilization", F64(self.utilization)),
            ("throughput_per_s", F64(self.throughput_per_s)),
            ("events", U64(self.events)),
        ]
    }

    /// A numeric metric by column name (for verify, sweeps and targets).
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.fields().into_iter().find(|(n, _)| *n == name).and_then(|(_, v)| match v {
            Field::U64(x) => Some(x as f64),
            Field::F64(x) => Some(x),
            Field::Str(_) => None,
        })
    }
}

/// One simulated minute of one platform.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinuteRow {
    /// Minute index from the start of the run.
    pub minute: u64,
    /// Start of the minute, seconds from the start of the run.
    pub t_s: f64,
    /// Platform name.
    pub platform: String,
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests that started service.
    pub started: u64,
    /// Requests that completed service.
    pub served: u64,
    /// Requests that abandoned.
    pub abandoned: u64,
    /// Requests blocked at the door.
    pub blocked: u64,
    /// Time-average backlog length.
    pub mean_queue_len: f64,
    /// Longest backlog in the minute.
    pub max_queue_len: u64,
    /// Time-average busy service slots.
    pub mean_busy_slots: f64,
    /// Service slots available.
    pub slots: u64,
    /// `mean_busy_slots / slots`.
    pub utilization: f64,
    /// Mean wait of requests that left the backlog this minute (served or abandoned).
    pub mean_wait_s: f64,
    /// 95th percentile of the same.
    pub p95_wait_s: f64,
}

impl MinuteRow {
    /// The row's columns, in output order.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        use Field::*;
        vec![
            ("minute", U64(self.minute)),
            ("t_s", F64(self.t_s)),
            ("platform", Str(self.platform.clone())),
            ("arrivals", U64(self.arrivals)),
            ("started", U64(self.started)),
            ("served", U64(self.served)),
            ("abandoned", U64(self.abandoned)),
            ("blocked", U64(self.blocked)),
            ("mean_queue_len", F64(self.mean_queue_len)),
            ("max_queue_len", U64(self.max_queue_len)),
            ("mean_busy_slots", F64(self.mean_busy_slots)),
            ("slots", U64(self.slots)),
            ("utilization", F64(self.utilization)),
            ("mean_wait_s", F64(self.mean_wait_s)),
            ("p95_wait_s", F64(self.p95_wait_s)),
        ]
    }
}
