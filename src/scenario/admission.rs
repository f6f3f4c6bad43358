//! A platform's admission policies, validated: each built once by its policy's checked constructor, whose
//! refusal names the field; which policies a platform has and which cohorts a slot names are the scenario's.

use super::raw::RawAdmission;
use super::validator::Validator;
use crate::engine::{SimDuration, SimTime};
use crate::policy::{AdaptiveThrottle, SessionQuota, TokenBucket, WaitingRoom};

/// A platform's admission policies. They compose in a fixed pipeline, whatever their order in the file:
/// staggered slots (too early: come back at the slot) → token bucket (no token: come back later) →
/// waiting room (wait your turn) → session quota (full: come back later) → login request; the session time
/// limit, priority classes and adaptive throttling modify what happens along the way.
///
/// The policies are kept as their numbers: the world builds its own from them, each platform's with its
/// priority levels; validation built each once, so the world's constructors cannot refuse them.
#[derive(Debug, Clone, Default)]
pub struct AdmissionSpec {
    /// Concurrent sessions allowed.
    pub session_quota: Option<u64>,
    /// Session length limit.
    pub session_time_limit: Option<SimDuration>,
    /// Waiting room: (admitted per minute, opening time, shuffle the pre-queue).
    pub waiting_room: Option<(f64, SimTime, bool)>,
    /// Token bucket: (tokens per second, burst).
    pub token_bucket: Option<(f64, f64)>,
    /// Whether priority classes apply in pools and the waiting room.
    pub priority: bool,
    /// Slot start per cohort index (`None`: no slot for that cohort).
    pub slots: Vec<Option<SimTime>>,
    /// Adaptive client throttling: (K, window in seconds).
    pub throttle: Option<(f64, u32)>,
}

impl Validator {
    /// A platform's admission policies; `cohorts` are the names a staggered slot may give.
    pub(super) fn admission(&mut self, field: &str, policies: &[RawAdmission], cohorts: &[&String]) -> AdmissionSpec {
        let mut a = AdmissionSpec { slots: vec![None; cohorts.len()], ..AdmissionSpec::default() };
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in policies.iter().enumerate() {
            let f = format!("{field}[{i}]");
            let kind = match p {
                RawAdmission::SessionQuota { .. } => "session_quota",
                RawAdmission::SessionTimeLimit { .. } => "session_time_limit",
                RawAdmission::WaitingRoom { .. } => "waiting_room",
                RawAdmission::TokenBucket { .. } => "token_bucket",
                RawAdmission::Priority {} => "priority",
                RawAdmission::StaggeredSlots { .. } => "staggered_slots",
                RawAdmission::AdaptiveThrottling { .. } => "adaptive_throttling",
            };
            if !seen.insert(kind) {
                self.problem(&format!("{f}.policy"), &format!("{kind:?} a second time"), "each policy at most once per platform");
                continue;
            }
            match p {
                // Each policy is built once to check it; the world builds its own from the numbers kept.
                RawAdmission::SessionQuota { max_sessions } => {
                    a.session_quota = self.built(&f, SessionQuota::try_new(*max_sessions)).map(|q| q.max());
                }
                RawAdmission::SessionTimeLimit { max_s } => {
                    if self.positive(&format!("{f}.max_s"), *max_s, "a number of seconds > 0") {
                        a.session_time_limit = Some(SimDuration::from_secs_f64(*max_s));
                    }
                }
                RawAdmission::WaitingRoom { admit_per_min, opens_at_s, shuffle_prequeue } => {
                    // An instant of the file: the scenario's to read, as the room takes a time.
                    let opens_ok = opens_at_s.is_finite() && *opens_at_s >= 0.0;
                    let opens_at = if opens_ok { SimTime::from_secs_f64(*opens_at_s) } else { SimTime::ZERO };
                    // One class is enough to check the rate: the world gives the room the platform's levels.
                    let room = self.built(&f, WaitingRoom::<()>::try_new(*admit_per_min, opens_at, *shuffle_prequeue, 1));
                    self.check(opens_ok, &format!("{f}.opens_at_s"), opens_at_s, "seconds >= 0");
                    if let (Some(room), true) = (room, opens_ok) {
                        a.waiting_room = Some((room.admit_per_min(), room.opens_at(), *shuffle_prequeue));
                    }
                }
                RawAdmission::TokenBucket { rate_per_s, burst } => {
                    a.token_bucket = self.built(&f, TokenBucket::try_new(*rate_per_s, *burst)).map(|b| (b.rate_per_s(), b.burst()));
                }
                RawAdmission::Priority {} => a.priority = true,
                RawAdmission::StaggeredSlots { slots } => {
                    for (cohort, start_s) in slots {
                        let sf = format!("{f}.slots.{cohort}");
                        match cohorts.iter().position(|c| *c == cohort) {
                            Some(ci) => {
                                if start_s.is_finite() && *start_s >= 0.0 {
                                    a.slots[ci] = Some(SimTime::from_secs_f64(*start_s));
                                } else {
                                    self.problem(&sf, &start_s.to_string(), "seconds >= 0");
                                }
                            }
                            None => self.problem(&sf, &format!("{cohort:?}"), &format!("one of the cohorts defined: {cohorts:?}")),
                        }
                    }
                }
                RawAdmission::AdaptiveThrottling { k, window_s } => {
                    a.throttle = self.built(&f, AdaptiveThrottle::try_new(*k, *window_s)).map(|t| (t.k(), t.window_s()));
                }
            }
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{desk, problems};
    use super::super::{Scenario, MAX_WINDOW_S};
    use super::*;
    use std::path::Path;

    /// `desk` with one admission policy on its platform, given as the lines of its table.
    fn admitting(policy: &str) -> String {
        desk(&format!("\n[[platforms.desk.admission]]\n{policy}"))
    }

    #[test]
    fn admission_policies_are_built_by_their_policies_whose_refusals_name_the_field() {
        let s = |text: &str| Scenario::from_toml(text, Path::new("desk.toml"), &[]).unwrap().platforms[0].admission.clone();
        let a = s(&admitting("policy = \"token_bucket\"\nrate_per_s = 2.0\nburst = 5.0"));
        assert_eq!(a.token_bucket, Some((2.0, 5.0)));
        let a = s(&admitting("policy = \"waiting_room\"\nadmit_per_min = 30.0\nopens_at_s = 10.0"));
        assert_eq!(a.waiting_room, Some((30.0, SimTime::from_secs_f64(10.0), false)));
        assert_eq!(s(&admitting("policy = \"session_quota\"\nmax_sessions = 7")).session_quota, Some(7));
        assert_eq!(s(&admitting("policy = \"adaptive_throttling\"\nk = 2.0")).throttle, Some((2.0, 120)));
        // Each refusal comes from the policy's checked constructor, named by the scenario's field.
        let f = "platforms.desk.admission[0]";
        for (policy, refusal) in [
            // `policy::TokenBucket::try_new`
            ("policy = \"token_bucket\"\nrate_per_s = 0.0\nburst = 5.0", format!("{f}.rate_per_s = 0: expected a finite number > 0")),
            ("policy = \"token_bucket\"\nrate_per_s = 1.0\nburst = 0.5", format!("{f}.burst = 0.5: expected a finite number >= 1")),
            // `policy::WaitingRoom::try_new`
            ("policy = \"waiting_room\"\nadmit_per_min = -6.0", format!("{f}.admit_per_min = -6: expected a finite number > 0")),
            // `policy::SessionQuota::try_new`
            ("policy = \"session_quota\"\nmax_sessions = 0", format!("{f}.max_sessions = 0: expected an integer >= 1")),
            // `policy::AdaptiveThrottle::try_new`
            ("policy = \"adaptive_throttling\"\nk = 0.5", format!("{f}.k = 0.5: expected a multiplier >= 1 (2 in the SRE book)")),
            (
                "policy = \"adaptive_throttling\"\nk = 2.0\nwindow_s = 3601",
                format!("{f}.window_s = 3601: expected an integer number of seconds from 1 to {MAX_WINDOW_S}"),
            ),
        ] {
            assert_eq!(problems(&admitting(policy)), [refusal], "{policy}");
        }
        // When the room opens is an instant of the file, the scenario's own rule.
        let p = problems(&admitting("policy = \"waiting_room\"\nadmit_per_min = 6.0\nopens_at_s = -1.0"));
        assert_eq!(p, [format!("{f}.opens_at_s = -1: expected seconds >= 0")]);
    }
}
