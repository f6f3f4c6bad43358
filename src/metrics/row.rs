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
    /// Servers paid for (ready or booting) × hours over the observed span: the cost.
    pub server_hours: f64,
    /// Users (one person on one platform) who arrived.
    pub users: u64,
    /// Users who logged in at least once.
    pub accessed: u64,
    /// Users who read every page of their session.
    pub completed: u64,
    /// Users who gave up for the morning.
    pub gave_up: u64,
    /// Users still trying (or in a session) at the horizon.
    pub users_active_end: u64,
    /// Sessions opened (successful logins, a user may log in again after a failure).
    pub sessions: u64,
    /// Logins refused by an admission policy (session quota, token bucket).
    pub rejected: u64,
    /// Sessions closed by the session time limit.
    pub kicked: u64,
    /// Of the login attempts by users an admission policy had refused before, the share refused again:
    /// "a few minutes later, nothing had changed".
    pub re_rejection_share: f64,
    /// Requests whose client timed out.
    pub timeouts: u64,
    /// Requests rejected locally by adaptive client throttling.
    pub throttled: u64,
    /// Median time from arrival to first successful login, of users who got in.
    pub p50_time_to_access_s: f64,
    /// 95th percentile of the same.
    pub p95_time_to_access_s: f64,
    /// Share of users logged in by 8:30 (wall clock of the scenario).
    pub served_share_by_0830: f64,
    /// Share of users logged in by 9:00.
    pub served_share_by_0900: f64,
    /// Share of users logged in by 10:00.
    pub served_share_by_1000: f64,
    /// Share of users logged in by noon.
    pub served_share_by_1200: f64,
    /// Requests sent per session opened (retries and failed attempts make it grow).
    pub amplification: f64,
    /// Minutes lost waiting to get in: per user, from arrival to first login (or the horizon), summed.
    pub lost_learning_min: f64,
    /// Service time spent on requests nobody waited for any more, in server-seconds.
    pub wasted_work_s: f64,
    /// Attack requests sent by botnets (fractional in the aggregate attack model).
    pub attack_sent: f64,
    /// Of those, dropped by the protection.
    pub attack_mitigated: f64,
    /// Turned away by the tier they hit (full backlog, connection cap).
    pub attack_blocked: f64,
    /// Served by the pool, or holding a front-door connection.
    pub attack_served: f64,
    /// Real users the protection blocked at least once.
    pub mitigated_users: u64,
    /// Requests of real users the protection dropped.
    pub mitigated_requests: u64,
    /// Virtual classes planned (bells within the run).
    pub classes_planned: u64,
    /// Classes held: the teacher got in and a room was found.
    pub classes_held: u64,
    /// Held classes some of whose pupils could not join.
    pub classes_degraded: u64,
    /// Classes lost: the teacher never got in, or no media server had a room.
    pub classes_lost: u64,
    /// Participants (teachers and pupils) who joined a class.
    pub class_participants: u64,
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
            ("server_hours", F64(self.server_hours)),
            ("users", U64(self.users)),
            ("accessed", U64(self.accessed)),
            ("completed", U64(self.completed)),
            ("gave_up", U64(self.gave_up)),
            ("users_active_end", U64(self.users_active_end)),
            ("sessions", U64(self.sessions)),
            ("rejected", U64(self.rejected)),
            ("kicked", U64(self.kicked)),
            ("re_rejection_share", F64(self.re_rejection_share)),
            ("timeouts", U64(self.timeouts)),
            ("throttled", U64(self.throttled)),
            ("p50_time_to_access_s", F64(self.p50_time_to_access_s)),
            ("p95_time_to_access_s", F64(self.p95_time_to_access_s)),
            ("served_share_by_0830", F64(self.served_share_by_0830)),
            ("served_share_by_0900", F64(self.served_share_by_0900)),
            ("served_share_by_1000", F64(self.served_share_by_1000)),
            ("served_share_by_1200", F64(self.served_share_by_1200)),
            ("amplification", F64(self.amplification)),
            ("lost_learning_min", F64(self.lost_learning_min)),
            ("wasted_work_s", F64(self.wasted_work_s)),
            ("attack_sent", F64(self.attack_sent)),
            ("attack_mitigated", F64(self.attack_mitigated)),
            ("attack_blocked", F64(self.attack_blocked)),
            ("attack_served", F64(self.attack_served)),
            ("mitigated_users", U64(self.mitigated_users)),
            ("mitigated_requests", U64(self.mitigated_requests)),
            ("classes_planned", U64(self.classes_planned)),
            ("classes_held", U64(self.classes_held)),
            ("classes_degraded", U64(self.classes_degraded)),
            ("classes_lost", U64(self.classes_lost)),
            ("class_participants", U64(self.class_participants)),
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

/// One simulated minute of one pool: a platform's application pool (with the platform's own counters) or a
/// shared dependency.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinuteRow {
    /// Minute index from the start of the run.
    pub minute: u64,
    /// Start of the minute, seconds from the start of the run.
    pub t_s: f64,
    /// Start of the minute on the scenario's wall clock, `HH:MM`.
    pub clock: String,
    /// Platform (or dependency) name.
    pub platform: String,
    /// `"platform"` or `"dependency"`.
    pub tier: String,
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
    /// Service slots at the end of the minute.
    pub slots: u64,
    /// Busy share of the slots available over the minute.
    pub utilization: f64,
    /// Servers ready at the end of the minute.
    pub servers_ready: u64,
    /// Servers booting at the end of the minute.
    pub servers_booting: u64,
    /// Server-hours paid in the minute (ready or booting).
    pub server_hours: f64,
    /// Requests per minute the pool completes when saturated at its nominal service time (slots × 60 /
    /// mean service time; the overload slowdown can make the real figure lower).
    pub capacity_per_min: f64,
    /// Mean wait of requests that left the backlog this minute (served or abandoned).
    pub mean_wait_s: f64,
    /// 95th percentile of the same.
    pub p95_wait_s: f64,
    /// Service time spent on requests nobody waited for any more, server-seconds.
    pub wasted_work_s: f64,
    /// Users who arrived (platform rows).
    pub users_arrived: u64,
    /// Requests sent by clients, retries included: the offered load (platform rows).
    pub attempts: u64,
    /// Requests answered while their client still waited (platform rows).
    pub goodput: u64,
    /// Successful logins.
    pub logins_ok: u64,
    /// Logins refused by an admission policy.
    pub logins_rejected: u64,
    /// Logins that failed after every retry.
    pub logins_failed: u64,
    /// Requests whose client timed out.
    pub timeouts: u64,
    /// Requests refused at the front door (connection cap) or by a full backlog.
    pub refused: u64,
    /// Requests rejected locally by adaptive throttling.
    pub throttled: u64,
    /// Users who gave up for the morning.
    pub gave_up: u64,
    /// Sessions open at the end of the minute.
    pub active_sessions: u64,
    /// Users in the waiting room at the end of the minute.
    pub waiting_room_len: u64,
    /// Median response time of requests answered in time.
    pub p50_latency_s: f64,
    /// 95th percentile of the same.
    pub p95_latency_s: f64,
    /// 99th percentile of the same.
    pub p99_latency_s: f64,
    /// Attack requests sent by botnets this minute (fractional in the aggregate model).
    pub attack_sent: f64,
    /// Of those, dropped by the protection.
    pub attack_mitigated: f64,
    /// Turned away by the tier they hit.
    pub attack_blocked: f64,
    /// Served by the pool, or holding a front-door connection.
    pub attack_served: f64,
    /// Time-average slots busy with attack work (included in `mean_busy_slots`).
    pub attack_busy_slots: f64,
    /// 1 if the protection is on at the end of the minute.
    pub mitigation_on: u64,
    /// Requests of real users the protection dropped.
    pub mitigated_requests: u64,
    /// Virtual classes whose bell rang this minute.
    pub classes_started: u64,
    /// Classes judged held this minute.
    pub classes_held: u64,
    /// Of those, classes some of whose pupils could not join.
    pub classes_degraded: u64,
    /// Classes judged lost this minute.
    pub classes_lost: u64,
    /// Rooms in use on the media servers at the end of the minute.
    pub media_rooms_busy: u64,
    /// Participants streaming from the media servers at the end of the minute.
    pub media_participants: u64,
}

impl MinuteRow {
    /// The row's columns, in output order.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        use Field::*;
        vec![
            ("minute", U64(self.minute)),
            ("t_s", F64(self.t_s)),
            ("clock", Str(self.clock.clone())),
            ("platform", Str(self.platform.clone())),
            ("tier", Str(self.tier.clone())),
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
            ("servers_ready", U64(self.servers_ready)),
            ("servers_booting", U64(self.servers_booting)),
            ("server_hours", F64(self.server_hours)),
            ("capacity_per_min", F64(self.capacity_per_min)),
            ("mean_wait_s", F64(self.mean_wait_s)),
            ("p95_wait_s", F64(self.p95_wait_s)),
            ("wasted_work_s", F64(self.wasted_work_s)),
            ("users_arrived", U64(self.users_arrived)),
            ("attempts", U64(self.attempts)),
            ("goodput", U64(self.goodput)),
            ("logins_ok", U64(self.logins_ok)),
            ("logins_rejected", U64(self.logins_rejected)),
            ("logins_failed", U64(self.logins_failed)),
            ("timeouts", U64(self.timeouts)),
            ("refused", U64(self.refused)),
            ("throttled", U64(self.throttled)),
            ("gave_up", U64(self.gave_up)),
            ("active_sessions", U64(self.active_sessions)),
            ("waiting_room_len", U64(self.waiting_room_len)),
            ("p50_latency_s", F64(self.p50_latency_s)),
            ("p95_latency_s", F64(self.p95_latency_s)),
            ("p99_latency_s", F64(self.p99_latency_s)),
            ("attack_sent", F64(self.attack_sent)),
            ("attack_mitigated", F64(self.attack_mitigated)),
            ("attack_blocked", F64(self.attack_blocked)),
            ("attack_served", F64(self.attack_served)),
            ("attack_busy_slots", F64(self.attack_busy_slots)),
            ("mitigation_on", U64(self.mitigation_on)),
            ("mitigated_requests", U64(self.mitigated_requests)),
            ("classes_started", U64(self.classes_started)),
            ("classes_held", U64(self.classes_held)),
            ("classes_degraded", U64(self.classes_degraded)),
            ("classes_lost", U64(self.classes_lost)),
            ("media_rooms_busy", U64(self.media_rooms_busy)),
            ("media_participants", U64(self.media_participants)),
        ]
    }
}

/// One point of the time-to-first-access curve of a cohort: `share` of its users had logged in within
/// `time_to_access_s` of their first try. The curve stops at the share who got in at all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccessPoint {
    /// Cohort name (`"all"` for everyone).
    pub cohort: String,
    /// Share of the cohort's users.
    pub share: f64,
    /// Time from first try to first successful login, seconds.
    pub time_to_access_s: f64,
}

impl AccessPoint {
    /// The row's columns, in output order.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        vec![
            ("cohort", Field::Str(self.cohort.clone())),
            ("share", Field::F64(self.share)),
            ("time_to_access_s", Field::F64(self.time_to_access_s)),
        ]
    }
}
