//! A reactive autoscaler's decision: given what it read over its last window, add servers, remove some, or
//! hold.
//!
//! This is the target-tracking rule of the cloud providers' autoscalers (AWS "target tracking", the
//! Kubernetes Horizontal Pod Autoscaler) reduced to its decision: above the target it adds `step` servers,
//! below half the target it removes `step`, and after an action it waits out a cooldown before acting
//! again. Scaling out is bounded by `max` and by the provider's quota on servers running or booting (a
//! booting server counts: the quota is what the provider lets you order), scaling in by `min` ready servers.
//! The band between half the target and the target is where it holds, which keeps it from oscillating on
//! a reading that hovers at the target.
//!
//! What the reading measures (busy share of the slots, waiting requests per slot, mean wait) is the
//! world's business: it integrates the pool over the window and hands the figure in. How long a server
//! takes to boot and whether the boot fails are the world's too; the policy only decides.

use super::{positive, PolicyError};
use crate::engine::{SimDuration, SimTime};

/// What the autoscaler sees at the end of a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// The watched metric over the window, in the target's unit.
    pub value: f64,
    /// Servers ready to serve.
    pub ready: u64,
    /// Servers ordered and still booting.
    pub booting: u64,
}

/// What the autoscaler decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Change nothing.
    Hold,
    /// Order this many servers (they boot before they serve).
    Add(u64),
    /// Retire this many ready servers.
    Remove(u64),
}

/// A reactive autoscaler: its rule and when it last acted.
#[derive(Debug, Clone)]
pub struct Autoscaler {
    target: f64,
    cooldown: SimDuration,
    step: u64,
    min: u64,
    /// The most servers running or booting: the smaller of `max` and the provider's quota.
    ceiling: u64,
    last_action: Option<SimTime>,
}

impl Autoscaler {
    /// An autoscaler that tracks `target`, acts by `step` servers at a time, at most once per `cooldown`,
    /// keeping at least `min` servers ready and at most `max` (and `provider_quota`) running or booting.
    pub fn new(target: f64, cooldown: SimDuration, step: u32, min: u32, max: u32, provider_quota: u32) -> Result<Autoscaler, PolicyError> {
        positive("target", target)?;
        for (parameter, value) in [("step", step), ("min", min), ("max", max), ("provider_quota", provider_quota)] {
            if value == 0 {
                return Err(PolicyError { parameter, found: 0.0, expected: "an integer >= 1" });
            }
        }
        if max < min {
            return Err(PolicyError { parameter: "max", found: f64::from(max), expected: "an integer >= min" });
        }
        Ok(Autoscaler {
            target,
            cooldown,
            step: u64::from(step),
            min: u64::from(min),
            ceiling: u64::from(max.min(provider_quota)),
            last_action: None,
        })
    }

    /// Decides at `now` from the window's `reading`; an action starts the cooldown.
    pub fn observe(&mut self, now: SimTime, reading: Reading) -> Decision {
        let cooled = self.last_action.is_none_or(|t| now >= t + self.cooldown);
        if !cooled {
            return Decision::Hold;
        }
        let decision = if reading.value > self.target {
            let room = self.ceiling.saturating_sub(reading.ready + reading.booting);
            match self.step.min(room) {
                0 => Decision::Hold,
                add => Decision::Add(add),
            }
        } else if reading.value < self.target / 2.0 && reading.ready > self.min {
            Decision::Remove(self.step.min(reading.ready - self.min))
        } else {
            Decision::Hold
        };
        if decision != Decision::Hold {
            self.last_action = Some(now);
        }
        decision
    }

    /// When it last added or removed servers.
    pub fn last_action(&self) -> Option<SimTime> {
        self.last_action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    fn scaler() -> Autoscaler {
        // Target 70% busy, 2 servers a step, a 5-minute cooldown, 2 to 10 servers, a quota of 8.
        Autoscaler::new(0.7, SimDuration::from_secs_f64(300.0), 2, 2, 10, 8).unwrap()
    }

    fn reading(value: f64, ready: u64, booting: u64) -> Reading {
        Reading { value, ready, booting }
    }

    #[test]
    fn adds_above_the_target_removes_below_half_and_holds_between() {
        assert_eq!(scaler().observe(t(60.0), reading(0.9, 4, 0)), Decision::Add(2));
        assert_eq!(scaler().observe(t(60.0), reading(0.3, 4, 0)), Decision::Remove(2));
        // Between half the target and the target, and at the target itself: hold.
        for value in [0.35, 0.5, 0.7] {
            assert_eq!(scaler().observe(t(60.0), reading(value, 4, 0)), Decision::Hold, "{value}");
        }
    }

    #[test]
    fn waits_out_its_cooldown_after_an_action_but_not_after_holding() {
        let mut a = scaler();
        assert_eq!(a.observe(t(60.0), reading(0.5, 4, 0)), Decision::Hold);
        assert_eq!(a.observe(t(120.0), reading(0.9, 4, 0)), Decision::Add(2));
        assert_eq!(a.last_action(), Some(t(120.0)));
        assert_eq!(a.observe(t(419.0), reading(0.9, 4, 2)), Decision::Hold);
        assert_eq!(a.observe(t(420.0), reading(0.9, 6, 0)), Decision::Add(2));
    }

    #[test]
    fn booting_servers_count_against_the_quota_and_min_bounds_removal() {
        // Quota 8 (below max 10): 7 running or booting leave room for one.
        assert_eq!(scaler().observe(t(60.0), reading(0.9, 5, 2)), Decision::Add(1));
        assert_eq!(scaler().observe(t(60.0), reading(0.9, 6, 2)), Decision::Hold);
        // Min 2: from 3 ready, remove only one; at 2, none.
        assert_eq!(scaler().observe(t(60.0), reading(0.0, 3, 0)), Decision::Remove(1));
        assert_eq!(scaler().observe(t(60.0), reading(0.0, 2, 0)), Decision::Hold);
    }

    #[test]
    fn an_infinite_reading_scales_out() {
        // The latency of a pool where nothing started while requests waited is infinite.
        assert_eq!(scaler().observe(t(60.0), reading(f64::INFINITY, 4, 0)), Decision::Add(2));
    }

    #[test]
    fn refuses_impossible_parameters() {
        let cooldown = SimDuration::ZERO;
        assert_eq!(Autoscaler::new(0.0, cooldown, 1, 1, 2, 2).unwrap_err().parameter, "target");
        assert_eq!(Autoscaler::new(f64::NAN, cooldown, 1, 1, 2, 2).unwrap_err().parameter, "target");
        assert_eq!(Autoscaler::new(0.7, cooldown, 0, 1, 2, 2).unwrap_err().parameter, "step");
        assert_eq!(Autoscaler::new(0.7, cooldown, 1, 3, 2, 2).unwrap_err().parameter, "max");
        assert_eq!(Autoscaler::new(0.7, cooldown, 1, 1, 2, 0).unwrap_err().parameter, "provider_quota");
    }
}
