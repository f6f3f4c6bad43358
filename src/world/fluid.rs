//! Attack traffic at a pool as a fluid of work: the aggregate representation of an attack.
//!
//! A botnet sending 10⁵–10⁶ requests a second for hours cannot be simulated request by request. What real
//! users feel of it is (1) the slots its requests occupy, (2) the backlog positions they hold ahead of a
//! real request in the FIFO, and (3) the share of arrivals a full backlog turns away. The fluid keeps
//! exactly those three, with the law of large numbers standing in for the attack's own randomness:
//!
//! - attack work flows in at `rate × work` slot-seconds per second; slots not held by real requests
//!   serve it (a real arrival takes the next slot an attack request frees, which at these rates is at once);
//! - when that inflow exceeds the free slots, the excess waits in the backlog as a quantity of work; a real
//!   request arriving then waits behind it: it carries a *mark*, the backlog work that had entered before it,
//!   and starts once that much work has drained (FIFO between fluid and requests);
//! - when the backlog is full, the attack's surplus is turned away, and a real arrival finds a place with
//!   the probability that a freed position goes to it rather than to one of the far more numerous attack
//!   arrivals: `(free slots / work) / rate`, the attack's departure rate over its arrival rate.
//!
//! Between two real events everything is linear, so [`AttackFluid::advance`] integrates it exactly. The
//! `tests/suite/attack.rs` suite checks this against the same attack simulated request by request.

use crate::engine::SimTime;

/// Slot-seconds below which a backlog of attack work counts as empty (rounding of the integration), while
/// the cumulative sums are small; see [`AttackFluid::tolerance_s`].
pub const EPS_S: f64 = 1e-9;

/// Units in the last place of the cumulative sums within which two of them count as equal: the backlog and
/// the marks are differences of sums that grow with the attack, and once the sums are large a difference
/// of a few units in their last place is rounding, not work. Treating it as work would schedule a start
/// every microsecond whose drain adds nothing representable to the sum: the run would never progress.
const ULPS: f64 = 4.0;

/// The attack's state at one pool.
#[derive(Debug, Clone, Default)]
pub struct AttackFluid {
    /// Attack requests reaching the pool per second (after mitigation).
    rate_per_s: f64,
    /// Slot-seconds of work in one attack request.
    work_s: f64,
    /// Work that has entered the backlog since t = 0, slot-seconds (the marks of real requests behind it).
    pub entered_s: f64,
    /// Work that has left the backlog into service since t = 0, slot-seconds.
    pub drained_s: f64,
    /// Slots the attack occupies now.
    pub occupancy: f64,
    /// Integral of `occupancy`, slot-seconds.
    pub busy_area_s: f64,
    /// Attack requests that reached the pool.
    pub offered: f64,
    /// Attack requests turned away by a full backlog.
    pub blocked: f64,
    /// Attack requests served.
    pub served: f64,
    /// Time of the last [`AttackFluid::advance`].
    last: SimTime,
    /// Invalidates stale "head may start" events.
    pub token: u32,
    /// When the pending "head may start" event fires, if one is pending.
    pub pending_at: Option<SimTime>,
}

impl AttackFluid {
    /// Sets the attack's arrival rate and work per request from `now` on (after [`AttackFluid::advance`]).
    pub fn set_rate(&mut self, rate_per_s: f64, work_s: f64) {
        self.rate_per_s = rate_per_s;
        if work_s > 0.0 {
            self.work_s = work_s;
        }
    }

    /// Slot-seconds of work in one attack request.
    pub fn work_s(&self) -> f64 {
        self.work_s
    }

    /// Attack requests per second reaching the pool.
    pub fn rate_per_s(&self) -> f64 {
        self.rate_per_s
    }

    /// Attack work waiting in the backlog, slot-seconds: what entered and has not drained. Kept as that
    /// difference (never as a separate quantity) so that the marks of real requests, compared with
    /// `drained_s`, agree exactly with whether work is waiting.
    pub fn backlog_s(&self) -> f64 {
        (self.entered_s - self.drained_s).max(0.0)
    }

    /// Backlog positions the attack holds (its waiting work in requests).
    pub fn positions(&self) -> f64 {
        if self.work_s > 0.0 {
            self.backlog_s() / self.work_s
        } else {
            0.0
        }
    }

    /// Whether attack work is waiting: a real arrival must queue behind it.
    pub fn has_backlog(&self) -> bool {
        self.backlog_s() > self.tolerance_s()
    }

    /// Slot-seconds within which the backlog counts as empty and a mark as reached: [`EPS_S`], or a few
    /// units in the last place of the cumulative sums once they are larger (an attack of 10^12 requests a
    /// second fills them fast), so that every drain the run schedules changes them.
    pub fn tolerance_s(&self) -> f64 {
        EPS_S.max(ULPS * f64::EPSILON * self.entered_s.max(self.drained_s))
    }

    /// Probability that a real arrival finds a place in a full backlog: the attack's rate of freed
    /// positions over its arrival rate, with `free` slots serving it.
    pub fn admit_share(&self, free: f64) -> f64 {
        if self.rate_per_s <= 0.0 || self.work_s <= 0.0 {
            return 1.0;
        }
        (free / self.work_s / self.rate_per_s).min(1.0)
    }

    /// Brings the fluid from its last update to `now`, during which `free` slots were not held by real
    /// requests and the backlog had room for `room_s` slot-seconds of attack work (`None`: unbounded).
    pub fn advance(&mut self, now: SimTime, free: f64, room_s: Option<f64>) {
        let mut dt = (now - self.last).as_secs_f64();
        self.last = now;
        let free = free.max(0.0);
        let inflow = self.rate_per_s * self.work_s;
        if dt <= 0.0 {
            self.occupancy = if self.has_backlog() || inflow > free { free } else { inflow };
            return;
        }
        self.offered += self.rate_per_s * dt;
        let cap = room_s.unwrap_or(f64::INFINITY).max(0.0);
        let per_request = |work: f64, w: f64| if w > 0.0 { work / w } else { 0.0 };
        while dt > 0.0 {
            let backlog = self.backlog_s();
            let eps = self.tolerance_s();
            if backlog <= eps && inflow <= free {
                // Everything passes straight through service.
                self.drained_s = self.entered_s;
                self.occupancy = inflow;
                self.busy_area_s += inflow * dt;
                self.served += per_request(inflow * dt, self.work_s);
                break;
            }
            // Work waits: every free slot drains the backlog.
            self.occupancy = free;
            let net = inflow - free;
            let (step, admitted) = if backlog > cap + eps {
                // Real requests took positions the attack held: none of its work gets in until the backlog
                // has drained back to its room (the backlog never holds more than its limit).
                let step = if free > 0.0 { dt.min((backlog - cap) / free) } else { dt };
                (step, 0.0)
            } else if net > 0.0 && backlog >= cap - eps {
                // Full: only as much gets in as drains; the surplus is turned away.
                (dt, free)
            } else if net > 0.0 {
                (dt.min((cap - backlog) / net), inflow)
            } else if net < 0.0 {
                (dt.min(backlog / -net), inflow)
            } else {
                (dt, inflow)
            };
            self.blocked += per_request((inflow - admitted) * step, self.work_s);
            self.entered_s += admitted * step;
            self.drained_s += free * step;
            // Snap the ends of a phase exactly, so that rounding never leaves a sliver of work behind.
            if step < dt || backlog > cap + eps {
                let after = self.entered_s - self.drained_s;
                if after <= eps {
                    self.drained_s = self.entered_s;
                } else if (after - cap).abs() <= 1e-9 * cap.max(1.0) {
                    self.drained_s = self.entered_s - cap;
                }
            }
            self.busy_area_s += free * step;
            self.served += per_request(free * step, self.work_s);
            dt -= step;
            if step <= 0.0 || (free <= 0.0 && admitted == 0.0) {
                break;
            }
        }
    }

    /// Seconds from now until the work drained reaches `mark` with `free` slots serving the backlog, if it
    /// ever does at the current state.
    pub fn secs_until(&self, mark: f64, free: f64) -> Option<f64> {
        let left = mark - self.drained_s;
        if left <= self.tolerance_s() || !self.has_backlog() {
            return Some(0.0);
        }
        (free > 0.0).then(|| left / free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    /// 10 attack requests a second of half a slot-second each: 5 slot-seconds of work a second.
    fn fluid() -> AttackFluid {
        let mut f = AttackFluid::default();
        f.set_rate(10.0, 0.5);
        f
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn below_the_free_slots_everything_passes_straight_through_service() {
        let mut f = fluid();
        f.advance(t(10.0), 8.0, None);
        assert!(close(f.offered, 100.0) && close(f.served, 100.0) && f.blocked == 0.0);
        assert!(close(f.occupancy, 5.0) && close(f.busy_area_s, 50.0) && !f.has_backlog());
        assert_eq!(f.secs_until(f.entered_s, 8.0), Some(0.0));
    }

    #[test]
    fn above_them_the_surplus_waits_and_a_real_request_behind_it_waits_for_it_to_drain() {
        let mut f = fluid();
        // 4 free slots for 5 slot-seconds a second: the backlog grows by 1 slot-second a second.
        f.advance(t(10.0), 4.0, None);
        assert!(close(f.backlog_s(), 10.0) && close(f.positions(), 20.0));
        assert!(close(f.served, 80.0) && close(f.occupancy, 4.0) && f.blocked == 0.0);
        // A real request arriving now is marked behind the 10 slot-seconds: 2.5 s at 4 free slots.
        assert!(close(f.secs_until(f.entered_s, 4.0).unwrap(), 2.5));
        assert_eq!(f.secs_until(f.entered_s, 0.0), None);
    }

    #[test]
    fn a_full_backlog_turns_the_surplus_away_and_every_request_is_accounted_for() {
        let mut f = fluid();
        // Room for 3 slot-seconds: full after 3 s, then 1 slot-second a second is turned away (2 requests).
        f.advance(t(10.0), 4.0, Some(3.0));
        assert!(close(f.backlog_s(), 3.0) && close(f.blocked, 14.0) && close(f.served, 80.0));
        // Offered = served + turned away + waiting.
        assert!(close(f.offered, f.served + f.blocked + f.positions()));
        // A real arrival finds a place with the attack's departure rate over its arrival rate: 8 / 10.
        assert!(close(f.admit_share(4.0), 0.8));
    }

    #[test]
    fn once_the_attack_stops_its_backlog_drains_at_the_free_slots_rate() {
        let mut f = fluid();
        f.advance(t(10.0), 4.0, None);
        f.set_rate(0.0, 0.5);
        f.advance(t(12.0), 4.0, None);
        assert!(close(f.backlog_s(), 2.0) && f.has_backlog());
        f.advance(t(20.0), 4.0, None);
        assert!(!f.has_backlog() && close(f.served, 100.0) && close(f.offered, 100.0));
    }
}
