//! The observer: what a run records of itself — a row per pool each minute, and at the end the summary
//! rows and the time-to-first-access curves.
//!
//! [`Minutes`] owns the minute rows and where they go: kept for the report, or handed to a
//! [`MinuteSink`] every [`FLUSH_ROWS`] so that a long run's memory does not grow with its horizon. The rows
//! themselves are read from the parts of the world (pools, platforms, attacks, classes) at each tick by
//! [`World::close_minute`], and the summaries from the groups' counters and the pools' integrals at the
//! horizon.

use super::ids::{GroupId, Id, IdVec, PlatformId, PoolId};
use super::request::Kind;
use super::sink::{MinuteSink, SinkError, FLUSH_ROWS};
use super::stats::GroupStats;
use super::{attack, classes, World, MINUTE};
use crate::engine::{SimDuration, SimTime};
use crate::metrics::{time_average, AccessPoint, MinuteRow, Summary, Window};
use crate::scenario::Scenario;

/// The minute rows of a run, and the sink they stream to, if any; `'s` is the sink's borrow.
pub(super) struct Minutes<'s> {
    /// When the current minute opened.
    opened_at: SimTime,
    /// Rows, each with the index of its pool: all of them, or those not yet handed to `sink`.
    rows: Vec<(u32, MinuteRow)>,
    /// Where the rows stream to (`None`: they stay in `rows`).
    sink: Option<&'s mut dyn MinuteSink>,
    /// Why the sink failed; the run halts at the next check.
    error: Option<SinkError>,
}

impl<'s> Minutes<'s> {
    /// No row yet, the first minute opening at 0.
    pub(super) fn new(sink: Option<&'s mut dyn MinuteSink>) -> Minutes<'s> {
        Minutes { opened_at: SimTime::ZERO, rows: Vec::new(), sink, error: None }
    }

    /// When the current minute opened.
    pub(super) fn opened_at(&self) -> SimTime {
        self.opened_at
    }

    /// The row of pool `pool` for the current minute.
    pub(super) fn record(&mut self, pool: PoolId, row: MinuteRow) {
        self.rows.push((u32::from(pool.0), row));
    }

    /// The current minute closes at `now`, which opens the next; a full buffer goes to the sink.
    pub(super) fn close(&mut self, now: SimTime) {
        self.opened_at = now;
        if self.rows.len() >= FLUSH_ROWS {
            self.flush();
        }
    }

    /// Hands the buffered rows to the sink, if there is one (and it has not failed).
    pub(super) fn flush(&mut self) {
        let Some(sink) = self.sink.as_mut() else { return };
        if self.error.is_none() {
            if let Err(e) = sink.take(&self.rows) {
                self.error = Some(e);
            }
        }
        self.rows.clear();
    }

    /// Tells the sink, if there is one, that the clock reached `now` after `events` events.
    pub(super) fn progress(&mut self, now: SimTime, events: u64) {
        if let Some(sink) = self.sink.as_mut() {
            sink.progress(now.as_secs_f64(), events);
        }
    }

    /// Whether the sink failed (the run must halt).
    pub(super) fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Why the sink failed, if it did.
    pub(super) fn take_error(&mut self) -> Option<SinkError> {
        self.error.take()
    }

    /// Takes over the rows of another component's minutes.
    pub(super) fn absorb(&mut self, other: Minutes<'_>) {
        self.rows.extend(other.rows);
    }

    /// The rows kept (none if they streamed), in (minute, pool) order.
    pub(super) fn take_rows(&mut self) -> Vec<MinuteRow> {
        self.rows.sort_by_key(|(pool, row)| (row.minute, *pool));
        std::mem::take(&mut self.rows).into_iter().map(|(_, row)| row).collect()
    }
}

/// `a / b`, 0 when `b` is 0 (the convention of the rows' shares).
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl World<'_> {
    /// The warm-up ends at `now`: time averages restart.
    pub(super) fn warmup_end(&mut self, now: SimTime) {
        for pool in &mut self.servers.pools {
            pool.sync(now);
            pool.observed = Window::opening(pool.totals(now));
        }
        for p in &mut self.shared.platforms {
            p.observed = Window::opening(p.totals(now));
        }
    }

    /// The wall clock of `t`, "hh:mm".
    pub(super) fn clock_label(&self, t: SimTime) -> String {
        let s = (self.shared.clock_start_s + t.as_secs_f64()).round() as u64;
        format!("{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60)
    }

    /// Closes the current minute at `now` (a tick, or the horizon for a partial last minute).
    pub(super) fn close_minute(&mut self, now: SimTime) {
        let span = now - self.minutes.opened_at();
        if span == SimDuration::ZERO {
            return;
        }
        let minute = self.minutes.opened_at().as_micros() / MINUTE.as_micros();
        let clock = self.clock_label(self.minutes.opened_at());
        let n_platforms = self.shared.platforms.len();
        let attack_minutes: IdVec<PlatformId, Option<attack::AttackCounts>> = (0..n_platforms)
            .map(|i| {
                let i = PlatformId::from_index(i);
                if !self.shared.active[i.pool()] {
                    return None;
                }
                let c = self.servers.attack_counts(&mut self.shared.platforms, i, now)?;
                Some(self.shared.platforms[i].attack.as_mut().expect("counted").minute.close(c))
            })
            .collect();
        for (i, pool) in self.servers.pools.iter_ids_mut() {
            if !self.shared.active[i] {
                continue;
            }
            pool.sync(now);
            let m = pool.minute.close(pool.totals(now));
            let max_waiting = pool.take_max_waiting();
            let mean_busy = time_average(m.busy, span);
            let server_hours = m.provisioned as f64 / 3.6e9;
            let mean_slots = time_average(m.slots, span);
            let mut row = MinuteRow {
                minute,
                t_s: self.minutes.opened_at().as_secs_f64(),
                clock: clock.clone(),
                platform: pool.name.clone(),
                tier: if i.index() < n_platforms { "platform".into() } else { "dependency".into() },
                arrivals: m.counts.arrivals,
                started: m.counts.started,
                served: m.counts.served,
                abandoned: m.counts.abandoned,
                blocked: m.counts.blocked,
                mean_queue_len: time_average(m.waiting, span),
                max_queue_len: max_waiting,
                mean_busy_slots: mean_busy,
                slots: pool.slots(),
                utilization: if mean_slots > 0.0 { mean_busy / mean_slots } else { f64::from(u8::from(mean_busy > 0.0)) },
                servers_ready: pool.ready(),
                servers_booting: pool.booting(),
                server_hours,
                capacity_per_min: mean_slots * 60.0 / pool.service().mean_s(),
                mean_wait_s: pool.minute_waits.mean_s(),
                p95_wait_s: pool.minute_waits.quantile_s(0.95),
                wasted_work_s: m.counts.wasted_us as f64 / 1e6,
                ..MinuteRow::default()
            };
            pool.minute_waits.reset();
            if let Some(platform) = i.platform(n_platforms) {
                let p = &mut self.shared.platforms[platform];
                let w = p.minute.close(p.totals(now));
                let c = w.counts;
                row.users_arrived = c.users_arrived;
                row.attempts = c.attempts;
                row.goodput = c.goodput;
                row.logins_ok = c.logins_ok;
                row.logins_rejected = c.logins_rejected;
                row.logins_failed = c.logins_failed;
                row.timeouts = c.timeouts;
                row.refused = c.refused;
                row.throttled = c.throttled;
                row.gave_up = c.gave_up;
                row.active_sessions = p.active_sessions;
                row.waiting_room_len = p.admission.room_len();
                row.orbit_end = p.orbit.value();
                row.mean_orbit = time_average(w.orbit, span);
                row.first_attempts = c.first_attempts;
                row.first_attempts_failed = c.first_attempts_failed;
                row.retry_amplification = ratio(c.attempts, c.first_attempts);
                row.goodput_share = ratio(c.goodput, m.counts.served);
                row.p50_latency_s = p.minute_latencies.quantile_s(0.50);
                row.p95_latency_s = p.minute_latencies.quantile_s(0.95);
                row.p99_latency_s = p.minute_latencies.quantile_s(0.99);
                p.minute_latencies.reset();
                row.mitigated_requests = c.mitigated_real;
                if let Some(a) = attack_minutes[platform] {
                    row.attack_sent = a.sent;
                    row.attack_mitigated = a.mitigated;
                    row.attack_blocked = a.blocked;
                    row.attack_served = a.served;
                    row.mitigation_on = u64::from(p.attack.as_ref().is_some_and(|a| a.active));
                }
                if let Some(c) = p.classes.as_mut() {
                    let minute = c.minute.close(c.counts);
                    row.classes_started = minute.planned;
                    row.classes_held = minute.held;
                    row.classes_degraded = minute.degraded;
                    row.classes_lost = minute.lost;
                    (row.media_rooms_busy, row.media_participants) = c.media_load();
                }
                row.attack_busy_slots = m.attack_busy_s / span.as_secs_f64();
            }
            self.minutes.record(i, row);
        }
        self.minutes.close(now);
    }

    /// Users still around at the horizon who never got in lost the whole rest of the morning.
    pub(super) fn close_users(&mut self) {
        for r in self.servers.requests.iter().filter(|r| r.observed && r.kind != Kind::Attack) {
            self.shared.groups[r.group()].stats.in_system_end += 1;
        }
        for user in self.clients.users.iter() {
            if user.arrived >= self.shared.warmup {
                let s = &mut self.shared.groups[user.group].stats;
                s.active_end += 1;
                if !user.accessed {
                    s.lost_us += u128::from((self.shared.horizon - user.arrived).as_micros());
                }
            }
        }
    }

    /// One summary row over `groups` (stats) and `pools` (time averages).
    fn summary_row(&self, scenario: &Scenario, platform: &str, cohort: &str, groups: &[GroupId], pools: &[PoolId], events: u64) -> Summary {
        let now = self.shared.horizon;
        let span = self.shared.horizon - self.shared.warmup;
        let mut s = GroupStats::default();
        for &g in groups {
            s.merge(&self.shared.groups[g].stats);
        }
        let (mut busy_area, mut wait_area, mut slots_area, mut provisioned_area) = (0u128, 0u128, 0u128, 0u128);
        for &i in pools {
            let pool = &self.servers.pools[i];
            let observed = pool.observed.since(pool.totals(now));
            busy_area += observed.busy;
            wait_area += observed.waiting;
            slots_area += observed.slots;
            provisioned_area += observed.provisioned;
        }
        let in_system_end = s.in_system_end;
        // Requests admitted to their first pool: a request refused at a later hop of its route (a login
        // that waited at the identity service, then found the platform's backlog full) still entered.
        let admitted = s.entered;
        let mean_busy = time_average(busy_area, span);
        let mean_queue = time_average(wait_area, span);
        let nan_if_no_pool = |x: f64| if pools.is_empty() { f64::NAN } else { x };
        let share_by = |k: usize| ratio(s.accessed_by[k], s.users);
        // Attacks and classes belong to platforms: the platforms among `pools`.
        let mut attack = attack::AttackCounts::default();
        let mut mitigated_requests = 0;
        let mut orbit_area = 0u128;
        for i in pools.iter().filter_map(|p| p.platform(self.shared.platforms.len())) {
            let p = &self.shared.platforms[i];
            orbit_area += p.observed.since(p.totals(now)).orbit;
            if let Some(a) = &self.shared.platforms[i].attack {
                // The counters at the last minute closed (the horizon's).
                let c = a.minute.opened();
                attack.sent += c.sent;
                attack.mitigated += c.mitigated;
                attack.blocked += c.blocked;
                attack.served += c.served;
            }
            mitigated_requests += self.shared.platforms[i].counts.mitigated_real;
        }
        let classes = classes::totals(&self.shared.platforms, pools);
        Summary {
            scenario: scenario.name.clone(),
            platform: platform.into(),
            cohort: cohort.into(),
            observed_s: span.as_secs_f64(),
            arrivals: s.arrivals,
            served: s.served,
            abandoned: s.abandoned,
            blocked: s.blocked,
            in_system_end,
            p_block: ratio(s.blocked, s.arrivals),
            p_wait: ratio(s.waited, admitted),
            p_abandon: ratio(s.abandoned, admitted),
            mean_wait_s: s.waits.mean_s(),
            p50_wait_s: s.waits.quantile_s(0.50),
            p95_wait_s: s.waits.quantile_s(0.95),
            p99_wait_s: s.waits.quantile_s(0.99),
            max_wait_s: s.waits.max_s(),
            mean_wait_served_s: if s.started == 0 { 0.0 } else { s.served_wait_us as f64 / s.started as f64 / 1e6 },
            mean_sojourn_s: if s.served == 0 { 0.0 } else { s.sojourn_us as f64 / s.served as f64 / 1e6 },
            mean_queue_len: nan_if_no_pool(mean_queue),
            mean_in_system: nan_if_no_pool(mean_queue + mean_busy),
            utilization: nan_if_no_pool(if slots_area == 0 { 0.0 } else { busy_area as f64 / slots_area as f64 }),
            server_hours: nan_if_no_pool(provisioned_area as f64 / 3.6e9),
            throughput_per_s: s.served as f64 / span.as_secs_f64(),
            users: s.users,
            accessed: s.accessed,
            completed: s.completed,
            gave_up: s.gave_up,
            users_active_end: s.active_end,
            sessions: s.sessions,
            rejected: s.rejected,
            kicked: s.kicked,
            re_rejection_share: ratio(s.rejected_again, s.returns_after_rejection),
            timeouts: s.timeouts,
            throttled: s.throttled,
            p50_time_to_access_s: s.access_times.quantile_s(0.50),
            p95_time_to_access_s: s.access_times.quantile_s(0.95),
            served_share_by_0830: share_by(0),
            served_share_by_0900: share_by(1),
            served_share_by_1000: share_by(2),
            served_share_by_1200: share_by(3),
            mean_orbit: nan_if_no_pool(time_average(orbit_area, span)),
            first_attempts: s.first_attempts,
            first_attempt_failure_share: ratio(s.first_attempts_failed, s.first_attempts),
            retry_amplification: ratio(s.arrivals, s.first_attempts),
            goodput_share: ratio(s.answered_in_time, s.served),
            amplification: ratio(s.arrivals + s.throttled, s.sessions),
            lost_learning_min: s.lost_us as f64 / 60e6,
            wasted_work_s: s.wasted_us as f64 / 1e6,
            attack_sent: attack.sent,
            attack_mitigated: attack.mitigated,
            attack_blocked: attack.blocked,
            attack_served: attack.served,
            mitigated_users: s.mitigated_users,
            mitigated_requests,
            classes_planned: classes.planned,
            classes_held: classes.held,
            classes_degraded: classes.degraded,
            classes_lost: classes.lost,
            class_participants: classes.participants,
            events,
        }
    }

    /// The time-to-first-access curve of each cohort (and of everyone), in percent steps of those who got in.
    pub(super) fn access_curves(&self, scenario: &Scenario) -> Vec<AccessPoint> {
        let mut out = Vec::new();
        let mut curve = |name: &str, groups: Vec<GroupId>| {
            let mut s = GroupStats::default();
            for g in groups {
                s.merge(&self.shared.groups[g].stats);
            }
            if s.users == 0 || s.accessed == 0 {
                return;
            }
            let got_in = s.accessed as f64 / s.users as f64;
            for k in 0..=100 {
                let q = f64::from(k) / 100.0;
                out.push(AccessPoint { cohort: name.to_owned(), share: q * got_in, time_to_access_s: s.access_times.quantile_s(q) });
            }
        };
        let user_groups = || (0..self.clients.user_groups).map(GroupId::from_index);
        curve("all", user_groups().collect());
        for (ci, c) in scenario.cohorts.iter().enumerate() {
            curve(&c.name, user_groups().filter(|&g| self.shared.groups[g].cohort as usize == ci).collect());
        }
        out
    }

    /// The summary rows: the whole system, then each platform (when there are several), then each cohort
    /// (likewise).
    pub(super) fn summaries(&self, scenario: &Scenario, events: u64) -> Vec<Summary> {
        // People from cohorts; class participants are counted in the class figures instead.
        let all_groups: Vec<GroupId> = (0..self.clients.user_groups).map(GroupId::from_index).collect();
        // The whole system includes the shared dependencies: their servers are part of its cost.
        let all_pools: Vec<PoolId> = self.servers.pools.ids().collect();
        let mut rows = vec![self.summary_row(scenario, "all", "all", &all_groups, &all_pools, events)];
        if self.shared.platforms.len() > 1 {
            for (pi, p) in self.shared.platforms.ids().zip(&scenario.platforms) {
                let groups: Vec<GroupId> = all_groups.iter().copied().filter(|&g| self.shared.groups[g].platform == pi).collect();
                rows.push(self.summary_row(scenario, &p.name, "all", &groups, &[pi.pool()], events));
            }
        }
        if scenario.cohorts.len() > 1 {
            for (ci, c) in scenario.cohorts.iter().enumerate() {
                let groups: Vec<GroupId> = all_groups.iter().copied().filter(|&g| self.shared.groups[g].cohort as usize == ci).collect();
                rows.push(self.summary_row(scenario, "all", &c.name, &groups, &[], events));
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Keeps what it is handed, and fails from its `fail_at`-th call on (if given).
    struct Collect {
        rows: Vec<(u32, u64)>,
        calls: usize,
        fail_at: Option<usize>,
    }

    impl MinuteSink for Collect {
        fn take(&mut self, rows: &[(u32, MinuteRow)]) -> Result<(), SinkError> {
            self.calls += 1;
            if self.fail_at.is_some_and(|k| self.calls >= k) {
                return Err(SinkError { path: PathBuf::from("spill"), message: "No space left on device".into() });
            }
            self.rows.extend(rows.iter().map(|(pool, r)| (*pool, r.minute)));
            Ok(())
        }
    }

    fn row(minute: u64) -> MinuteRow {
        MinuteRow { minute, ..MinuteRow::default() }
    }

    /// Records two pools a minute for `minutes` minutes.
    fn fill(m: &mut Minutes, minutes: u64) {
        for minute in 0..minutes {
            m.record(PoolId(1), row(minute));
            m.record(PoolId(0), row(minute));
            m.close(SimTime::from_secs_f64(60.0 * (minute + 1) as f64));
        }
    }

    #[test]
    fn without_a_sink_the_rows_are_kept_and_come_back_in_minute_and_pool_order() {
        let mut m = Minutes::new(None);
        fill(&mut m, 3);
        assert_eq!(m.opened_at(), SimTime::from_secs_f64(180.0));
        let rows: Vec<u64> = m.take_rows().iter().map(|r| r.minute).collect();
        assert_eq!(rows, [0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn with_a_sink_the_rows_go_out_a_buffer_at_a_time_and_none_are_kept() {
        let mut sink = Collect { rows: Vec::new(), calls: 0, fail_at: None };
        let minutes = (FLUSH_ROWS as u64 / 2) + 10;
        {
            let mut m = Minutes::new(Some(&mut sink));
            fill(&mut m, minutes);
            m.flush();
            assert!(!m.failed() && m.take_rows().is_empty());
        }
        // One full buffer during the run, the rest at the end: every row once, in the order made.
        assert_eq!(sink.calls, 2);
        assert_eq!(sink.rows.len() as u64, 2 * minutes);
        assert_eq!(sink.rows[..2], [(1, 0), (0, 0)]);
    }

    #[test]
    fn a_failing_sink_is_remembered_once_and_the_run_can_halt_on_it() {
        let mut sink = Collect { rows: Vec::new(), calls: 0, fail_at: Some(1) };
        let mut m = Minutes::new(Some(&mut sink));
        fill(&mut m, FLUSH_ROWS as u64);
        assert!(m.failed());
        let e = m.take_error().expect("the sink's error");
        assert_eq!(e.to_string(), "spill: cannot write: No space left on device");
        assert!(m.take_error().is_none());
    }
}
