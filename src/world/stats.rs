//! Counters of one (cohort, platform) group over the observed span, merged into summary rows.

use crate::metrics::DurationStats;

/// Wall-clock checkpoints of the "share served by" metrics, as (hour, minute).
pub const CHECKPOINTS: [(u32, u32); 4] = [(8, 30), (9, 0), (10, 0), (12, 0)];

/// Request-level and user-level counters.
#[derive(Debug, Clone, Default)]
pub struct GroupStats {
    /// Requests sent (each attempt counts).
    pub arrivals: u64,
    /// Requests answered (their last hop completed), whether or not the client still waited.
    pub served: u64,
    /// Requests that left a backlog because their client ran out of patience.
    pub abandoned: u64,
    /// Requests refused at the front door or turned away by a full backlog.
    pub blocked: u64,
    /// Requests that got a slot or a backlog place at their first pool (neither refused at the front door
    /// or by protection, nor turned away by that pool's full backlog).
    pub entered: u64,
    /// Of those, requests that had to wait in their first pool's backlog.
    pub waited: u64,
    /// Requests that reached service at their last hop.
    pub started: u64,
    /// Total backlog time of requests that reached their last service or abandoned.
    pub waits: DurationStats,
    /// Backlog time of requests that reached their last service, µs.
    pub served_wait_us: u128,
    /// Time from sending to answer of answered requests, µs.
    pub sojourn_us: u128,
    /// Requests whose client timed out.
    pub timeouts: u64,
    /// Requests rejected locally by adaptive throttling (never sent).
    pub throttled: u64,
    /// Users who arrived.
    pub users: u64,
    /// Users who logged in at least once.
    pub accessed: u64,
    /// Users who read every page.
    pub completed: u64,
    /// Users who gave up for the morning.
    pub gave_up: u64,
    /// Time from arrival to first successful login.
    pub access_times: DurationStats,
    /// Users whose first login succeeded by each checkpoint.
    pub accessed_by: [u64; 4],
    /// Successful logins (sessions opened).
    pub sessions: u64,
    /// Logins refused by an admission policy (quota, token bucket).
    pub rejected: u64,
    /// Sessions closed by the session time limit.
    pub kicked: u64,
    /// Login attempts by users who had been refused by admission before (they came back).
    pub returns_after_rejection: u64,
    /// Of those, attempts refused again.
    pub rejected_again: u64,
    /// Users still around at the horizon.
    pub active_end: u64,
    /// Observed requests still waiting or in service at the horizon.
    pub in_system_end: u64,
    /// Minutes between arrival and first access (or the horizon, for those who never got in), summed.
    pub lost_us: u128,
    /// Service time spent on requests whose client had given up, µs.
    pub wasted_us: u128,
    /// Users the attack protection blocked at least once.
    pub mitigated_users: u64,
    /// Requests sent for a need not tried before (attempt 1 of a login or a page).
    pub first_attempts: u64,
    /// Of those, failed (timed out, refused, abandoned, throttled, dropped).
    pub first_attempts_failed: u64,
    /// Requests answered while their client still waited (goodput; `served` counts late answers too).
    pub answered_in_time: u64,
}

impl GroupStats {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &GroupStats) {
        self.arrivals += other.arrivals;
        self.served += other.served;
        self.abandoned += other.abandoned;
        self.blocked += other.blocked;
        self.entered += other.entered;
        self.waited += other.waited;
        self.started += other.started;
        self.waits.merge(&other.waits);
        self.served_wait_us += other.served_wait_us;
        self.sojourn_us += other.sojourn_us;
        self.timeouts += other.timeouts;
        self.throttled += other.throttled;
        self.users += other.users;
        self.accessed += other.accessed;
        self.completed += other.completed;
        self.gave_up += other.gave_up;
        self.access_times.merge(&other.access_times);
        for (a, b) in self.accessed_by.iter_mut().zip(other.accessed_by) {
            *a += b;
        }
        self.sessions += other.sessions;
        self.rejected += other.rejected;
        self.kicked += other.kicked;
        self.returns_after_rejection += other.returns_after_rejection;
        self.rejected_again += other.rejected_again;
        self.active_end += other.active_end;
        self.lost_us += other.lost_us;
        self.wasted_us += other.wasted_us;
        self.mitigated_users += other.mitigated_users;
        self.in_system_end += other.in_system_end;
        self.first_attempts += other.first_attempts;
        self.first_attempts_failed += other.first_attempts_failed;
        self.answered_in_time += other.answered_in_time;
    }
}
