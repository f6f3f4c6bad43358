//! The rows a run produces: one summary row, one row per simulated minute and pool, and the points of the
//! time-to-first-access curves.
//!
//! This file is the column registry: each column is declared here once, with its type, its merge rule and
//! its unit in brackets, and its meaning as its doc comment (see [`columns!`](crate::columns)). The row
//! structs, their column lists, the typed column names (`SummaryColumn::served_share_by_0900`) and
//! `docs/columns.md` all come from these declarations. Column names carry their units.

pub use super::columns::Field;

crate::columns! {
    /// The whole-run summary. Counts and averages cover requests that arrived in `[warmup, horizon]`, and time
    /// averages the same span.
    pub struct Summary / SummaryColumn in "summary" {
        /// Scenario name.
        scenario: String [Key, ""],
        /// Platform the row is about (`"all"` for the whole system).
        platform: String [Key, ""],
        /// Cohort the row is about (`"all"` for everyone).
        cohort: String [Key, ""],
        /// Seconds over which statistics were collected (horizon − warm-up).
        observed_s: f64 [Statistic, "s"],
        /// Requests that arrived.
        arrivals: u64 [Count, "requests"],
        /// Requests that completed service.
        served: u64 [Count, "requests"],
        /// Requests that left the backlog because their client ran out of patience.
        abandoned: u64 [Count, "requests"],
        /// Requests turned away because the pool was full (`max_in_system` reached).
        blocked: u64 [Count, "requests"],
        /// Requests still waiting or in service at the horizon.
        in_system_end: u64 [Level, "requests"],
        /// Share of arrivals blocked.
        p_block: f64 [Statistic, "share"],
        /// Share of the requests admitted to their first pool that had to wait there (found every slot busy).
        p_wait: f64 [Statistic, "share"],
        /// Share of the requests admitted to their first pool that abandoned a backlog.
        p_abandon: f64 [Statistic, "share"],
        /// Mean time in the backlog of admitted requests that left it (served or abandoned), 0 for no wait.
        mean_wait_s: f64 [Statistic, "s"],
        /// Median of the same.
        p50_wait_s: f64 [Statistic, "s"],
        /// 95th percentile of the same.
        p95_wait_s: f64 [Statistic, "s"],
        /// 99th percentile of the same.
        p99_wait_s: f64 [Statistic, "s"],
        /// Longest wait.
        max_wait_s: f64 [Statistic, "s"],
        /// Mean wait of requests that were served.
        mean_wait_served_s: f64 [Statistic, "s"],
        /// Mean time from arrival to end of service, of requests served.
        mean_sojourn_s: f64 [Statistic, "s"],
        /// Time-average number of requests waiting.
        mean_queue_len: f64 [Level, "requests"],
        /// Time-average number of requests in the pool (waiting or in service).
        mean_in_system: f64 [Level, "requests"],
        /// Time-average share of service slots busy.
        utilization: f64 [Statistic, "share"],
        /// Served requests per second.
        throughput_per_s: f64 [Level, "requests/s"],
        /// Servers paid for (ready or booting) × hours over the observed span: the cost.
        server_hours: f64 [Count, "server-hours"],
        /// Users (one person on one platform) who arrived.
        users: u64 [Count, "users"],
        /// Users who logged in at least once.
        accessed: u64 [Count, "users"],
        /// Users who read every page of their session.
        completed: u64 [Count, "users"],
        /// Users who gave up for the morning.
        gave_up: u64 [Count, "users"],
        /// Users still trying (or in a session) at the horizon.
        users_active_end: u64 [Level, "users"],
        /// Sessions opened (successful logins, a user may log in again after a failure).
        sessions: u64 [Count, "sessions"],
        /// Logins refused by an admission policy (session quota, token bucket).
        rejected: u64 [Count, "logins"],
        /// Sessions closed by the session time limit.
        kicked: u64 [Count, "sessions"],
        /// Of the login attempts by users an admission policy had refused before, the share refused again:
        /// "a few minutes later, nothing had changed".
        re_rejection_share: f64 [Statistic, "share"],
        /// Requests whose client timed out.
        timeouts: u64 [Count, "requests"],
        /// Requests rejected locally by adaptive client throttling.
        throttled: u64 [Count, "requests"],
        /// Median time from arrival to first successful login, of users who got in.
        p50_time_to_access_s: f64 [Statistic, "s"],
        /// 95th percentile of the same.
        p95_time_to_access_s: f64 [Statistic, "s"],
        /// Share of users logged in by 8:30 (wall clock of the scenario).
        served_share_by_0830: f64 [Statistic, "share"],
        /// Share of users logged in by 9:00.
        served_share_by_0900: f64 [Statistic, "share"],
        /// Share of users logged in by 10:00.
        served_share_by_1000: f64 [Statistic, "share"],
        /// Share of users logged in by noon.
        served_share_by_1200: f64 [Statistic, "share"],
        /// Requests sent per session opened (retries and failed attempts make it grow).
        amplification: f64 [Statistic, "requests/session"],
        /// Time-average number of users in the orbit over the observed span: failed or refused, waiting to
        /// retry or to come back (NaN for a cohort row). The population whose retries sustain an overload.
        mean_orbit: f64 [Level, "users"],
        /// Requests users sent for a need not tried before (attempt 1 of a login or a page).
        first_attempts: u64 [Count, "requests"],
        /// Share of those that failed (timed out, refused at the door or by a full backlog, abandoned,
        /// throttled, dropped by the protection; 0 with no first attempt); admission refusals are `rejected`.
        first_attempt_failure_share: f64 [Statistic, "share"],
        /// Requests sent per first attempt: 1 when nothing is retried, 1 + N when every call fails and is
        /// retried N times (0 with no first attempt: a queue without clients).
        retry_amplification: f64 [Statistic, "requests/first attempt"],
        /// Of the requests answered, the share answered while their client still waited (goodput against
        /// raw throughput).
        goodput_share: f64 [Statistic, "share"],
        /// Minutes lost waiting to get in: per user, from arrival to first login (or the horizon), summed.
        lost_learning_min: f64 [Count, "user-minutes"],
        /// Service time spent on requests nobody waited for any more, in server-seconds.
        wasted_work_s: f64 [Count, "server-seconds"],
        /// Attack requests sent by botnets (fractional in the hybrid and aggregate attack models, which count
        /// what they do not draw as its expectation).
        attack_sent: f64 [Count, "requests"],
        /// Of those, dropped by the protection.
        attack_mitigated: f64 [Count, "requests"],
        /// Turned away by the tier they hit (full backlog, connection cap).
        attack_blocked: f64 [Count, "requests"],
        /// Served by the pool, or holding a front-door connection.
        attack_served: f64 [Count, "requests"],
        /// Real users the protection blocked at least once.
        mitigated_users: u64 [Count, "users"],
        /// Requests of real users the protection dropped.
        mitigated_requests: u64 [Count, "requests"],
        /// Virtual classes planned (bells within the run).
        classes_planned: u64 [Count, "classes"],
        /// Classes held: the teacher got in and a room was found.
        classes_held: u64 [Count, "classes"],
        /// Held classes some of whose pupils could not join.
        classes_degraded: u64 [Count, "classes"],
        /// Classes lost: the teacher never got in, or no media server had a room.
        classes_lost: u64 [Count, "classes"],
        /// Participants (teachers and pupils) who joined a class.
        class_participants: u64 [Count, "people"],
        /// Events the engine handled in the whole run (warm-up included).
        events: u64 [Count, "events"],
    }
}

crate::columns! {
    /// One simulated minute of one pool: a platform's application pool (with the platform's own counters) or a
    /// shared dependency.
    pub struct MinuteRow / MinuteColumn in "timeseries" {
        /// Minute index from the start of the run.
        minute: u64 [Key, "min"],
        /// Start of the minute, seconds from the start of the run.
        t_s: f64 [Key, "s"],
        /// Start of the minute on the scenario's wall clock, `HH:MM`.
        clock: String [Key, "HH:MM"],
        /// Platform (or dependency) name.
        platform: String [Key, ""],
        /// `"platform"` or `"dependency"`.
        tier: String [Key, ""],
        /// Requests that arrived.
        arrivals: u64 [Count, "requests"],
        /// Requests that started service.
        started: u64 [Count, "requests"],
        /// Requests that completed service.
        served: u64 [Count, "requests"],
        /// Requests that abandoned.
        abandoned: u64 [Count, "requests"],
        /// Requests blocked at the door.
        blocked: u64 [Count, "requests"],
        /// Time-average backlog length.
        mean_queue_len: f64 [Level, "requests"],
        /// Longest backlog in the minute.
        max_queue_len: u64 [Statistic, "requests"],
        /// Time-average busy service slots.
        mean_busy_slots: f64 [Level, "slots"],
        /// Service slots at the end of the minute.
        slots: u64 [Level, "slots"],
        /// Busy share of the slots available over the minute.
        utilization: f64 [Statistic, "share"],
        /// Servers ready at the end of the minute.
        servers_ready: u64 [Level, "servers"],
        /// Servers booting at the end of the minute.
        servers_booting: u64 [Level, "servers"],
        /// Server-hours paid in the minute (ready or booting).
        server_hours: f64 [Count, "server-hours"],
        /// Requests per minute the pool completes when saturated at its nominal service time (slots × 60 /
        /// mean service time; the overload slowdown can make the real figure lower).
        capacity_per_min: f64 [Level, "requests/min"],
        /// Mean wait of requests that left the backlog this minute (served or abandoned).
        mean_wait_s: f64 [Statistic, "s"],
        /// 95th percentile of the same.
        p95_wait_s: f64 [Statistic, "s"],
        /// Service time spent on requests nobody waited for any more, server-seconds.
        wasted_work_s: f64 [Count, "server-seconds"],
        /// Users who arrived (platform rows).
        users_arrived: u64 [Count, "users"],
        /// Requests sent by clients, retries included: the offered load (platform rows).
        attempts: u64 [Count, "requests"],
        /// Requests answered while their client still waited (platform rows).
        goodput: u64 [Count, "requests"],
        /// Successful logins.
        logins_ok: u64 [Count, "logins"],
        /// Logins refused by an admission policy.
        logins_rejected: u64 [Count, "logins"],
        /// Logins that failed after every retry.
        logins_failed: u64 [Count, "logins"],
        /// Requests whose client timed out.
        timeouts: u64 [Count, "requests"],
        /// Requests refused at the front door (connection cap) or by a full backlog.
        refused: u64 [Count, "requests"],
        /// Requests rejected locally by adaptive throttling.
        throttled: u64 [Count, "requests"],
        /// Users who gave up for the morning.
        gave_up: u64 [Count, "users"],
        /// Sessions open at the end of the minute.
        active_sessions: u64 [Level, "sessions"],
        /// Users in the waiting room at the end of the minute.
        waiting_room_len: u64 [Level, "users"],
        /// Users in the orbit at the end of the minute: failed or refused, waiting to retry or to come back.
        orbit_end: u64 [Level, "users"],
        /// Time-average number of users in the orbit over the minute.
        mean_orbit: f64 [Level, "users"],
        /// Requests users sent for a need not tried before (attempt 1 of a login or a page).
        first_attempts: u64 [Count, "requests"],
        /// First attempts that failed this minute (timed out, refused, abandoned, throttled, dropped).
        first_attempts_failed: u64 [Count, "requests"],
        /// Requests sent per first attempt this minute (`attempts / first_attempts`, 0 with no first attempt):
        /// the retry amplification.
        retry_amplification: f64 [Statistic, "requests/first attempt"],
        /// Requests answered in time per request served by the platform's pool (`goodput / served`, 0 with
        /// nothing served): goodput against raw throughput.
        goodput_share: f64 [Statistic, "share"],
        /// Median response time of requests answered in time.
        p50_latency_s: f64 [Statistic, "s"],
        /// 95th percentile of the same.
        p95_latency_s: f64 [Statistic, "s"],
        /// 99th percentile of the same.
        p99_latency_s: f64 [Statistic, "s"],
        /// Attack requests sent by botnets this minute (fractional in the hybrid and aggregate models).
        attack_sent: f64 [Count, "requests"],
        /// Of those, dropped by the protection.
        attack_mitigated: f64 [Count, "requests"],
        /// Turned away by the tier they hit.
        attack_blocked: f64 [Count, "requests"],
        /// Served by the pool, or holding a front-door connection.
        attack_served: f64 [Count, "requests"],
        /// Time-average slots busy with attack work (included in `mean_busy_slots`).
        attack_busy_slots: f64 [Level, "slots"],
        /// 1 if the protection is on at the end of the minute.
        mitigation_on: u64 [Statistic, "0 or 1"],
        /// Requests of real users the protection dropped.
        mitigated_requests: u64 [Count, "requests"],
        /// Virtual classes whose bell rang this minute.
        classes_started: u64 [Count, "classes"],
        /// Classes judged held this minute.
        classes_held: u64 [Count, "classes"],
        /// Of those, classes some of whose pupils could not join.
        classes_degraded: u64 [Count, "classes"],
        /// Classes judged lost this minute.
        classes_lost: u64 [Count, "classes"],
        /// Rooms in use on the media servers at the end of the minute.
        media_rooms_busy: u64 [Level, "rooms"],
        /// Participants streaming from the media servers at the end of the minute.
        media_participants: u64 [Level, "people"],
    }
}

crate::columns! {
    /// One point of the time-to-first-access curve of a cohort: `share` of its users had logged in within
    /// `time_to_access_s` of their first try. The curve stops at the share who got in at all.
    pub struct AccessPoint / AccessColumn in "access" {
        /// Cohort name (`"all"` for everyone).
        cohort: String [Key, ""],
        /// Share of the cohort's users.
        share: f64 [Statistic, "share"],
        /// Time from first try to first successful login, seconds.
        time_to_access_s: f64 [Key, "s"],
    }
}
