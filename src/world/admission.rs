//! Admission: the fixed pipeline a login goes through on its platform — a staggered slot, the token bucket,
//! the waiting room, the session quota — answering with a [`Verdict`] that the client side carries out.
//!
//! The pipeline owns its policies' state and never schedules an event: it says "come back at t", "you are
//! in the room (and its next release is at t)", "refused, because…" or "go on to the login request", and
//! the world turns that into events. The order of the stages is documented on
//! [`crate::scenario::AdmissionSpec`]; a user refused by the bucket never reaches the room, and one in the
//! room reaches the quota only when the room releases them.

use crate::engine::{SimTime, StreamRng};
use crate::policy::{SessionQuota, TokenBucket, WaitingRoom};
use crate::scenario::AdmissionSpec;

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The token bucket had no token: logins arrive faster than its rate (and burst) allow.
    Rate,
    /// The session quota is full: "when the maximum number of users is reached, you must wait your turn".
    Quota,
}

/// What admission answers to a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Too early: the user's staggered slot opens at this time.
    Later(SimTime),
    /// The user waits in the room.
    IntoRoom {
        /// When the room's next release must be scheduled (`None`: one is already pending, or nobody can be
        /// released).
        release_at: Option<SimTime>,
    },
    /// Refused, for this reason.
    Refused(Refusal),
    /// Admitted: go on to the login request.
    Admit {
        /// Whether the user holds a place in the session quota (there is one).
        in_quota: bool,
    },
}

/// One platform's admission pipeline; `T` is the world's ticket for a user in the room (user and token,
/// so that a stale entry is recognised).
#[derive(Debug)]
pub struct Pipeline<T> {
    bucket: Option<TokenBucket>,
    room: Option<WaitingRoom<T>>,
    /// Whether a release of the room is scheduled.
    release_pending: bool,
    quota: Option<SessionQuota>,
}

impl<T: Copy> Pipeline<T> {
    /// The pipeline of `spec`; `levels` priorities in the room.
    pub fn new(spec: &AdmissionSpec, levels: usize) -> Pipeline<T> {
        Pipeline {
            bucket: spec.token_bucket.map(|(rate, burst)| TokenBucket::new(rate, burst)),
            room: spec.waiting_room.map(|(rate, opens, shuffle)| WaitingRoom::new(rate, opens, shuffle, levels)),
            release_pending: false,
            quota: spec.session_quota.map(SessionQuota::new),
        }
    }

    /// A login attempt at `now` by a user of priority `priority` (0 first) whose slot opens at `slot` (if
    /// staggered);
    /// `ticket` is what the room holds if the user joins it.
    pub fn login(&mut self, now: SimTime, slot: Option<SimTime>, priority: u8, ticket: T) -> Verdict {
        if let Some(slot) = slot.filter(|s| now < *s) {
            return Verdict::Later(slot);
        }
        if let Some(bucket) = &mut self.bucket {
            if !bucket.try_take(now) {
                return Verdict::Refused(Refusal::Rate);
            }
        }
        if let Some(room) = &mut self.room {
            room.join(now, ticket, usize::from(priority));
            let release_at = if self.release_pending { None } else { room.next_release_at(now) };
            self.release_pending |= release_at.is_some();
            return Verdict::IntoRoom { release_at };
        }
        self.admit_session()
    }

    /// The last stage, for a user the room released or one with no room before it: the session quota.
    pub fn admit_session(&mut self) -> Verdict {
        match self.quota.as_mut().map(SessionQuota::try_admit) {
            None => Verdict::Admit { in_quota: false },
            Some(true) => Verdict::Admit { in_quota: true },
            Some(false) => Verdict::Refused(Refusal::Quota),
        }
    }

    /// The room's scheduled release at `now`: the user it lets through (the first live one, `is_live`
    /// telling stale tickets), and when its next release must be scheduled.
    pub fn release(&mut self, now: SimTime, rng: &mut StreamRng, is_live: impl FnMut(T) -> bool) -> (Option<T>, Option<SimTime>) {
        let room = self.room.as_mut().expect("release events only for platforms with a room");
        let admitted = room.release(now, rng, is_live);
        let next = room.next_release_at(now);
        self.release_pending = next.is_some();
        (admitted, next)
    }

    /// A user of priority `priority` gave up waiting in the room.
    pub fn leave_room(&mut self, priority: u8) {
        if let Some(room) = &mut self.room {
            room.leave(usize::from(priority));
        }
    }

    /// A session holding a place in the quota closed.
    pub fn release_quota(&mut self) {
        if let Some(q) = &mut self.quota {
            q.release();
        }
    }

    /// Users waiting in the room (stale tickets aside).
    pub fn room_len(&self) -> u64 {
        self.room.as_ref().map_or(0, |r| r.live_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SimDuration, StreamKey};

    fn t(s: f64) -> SimTime {
        SimTime::from_secs_f64(s)
    }

    fn spec() -> AdmissionSpec {
        AdmissionSpec::default()
    }

    #[test]
    fn with_no_policy_everyone_is_admitted_without_a_quota_place() {
        let mut p: Pipeline<u32> = Pipeline::new(&spec(), 1);
        assert_eq!(p.login(t(0.0), None, 0, 1), Verdict::Admit { in_quota: false });
        assert_eq!(p.room_len(), 0);
    }

    #[test]
    fn a_staggered_slot_sends_early_users_back_until_it_opens() {
        let mut p: Pipeline<u32> = Pipeline::new(&spec(), 1);
        assert_eq!(p.login(t(10.0), Some(t(60.0)), 0, 1), Verdict::Later(t(60.0)));
        assert_eq!(p.login(t(60.0), Some(t(60.0)), 0, 1), Verdict::Admit { in_quota: false });
    }

    #[test]
    fn the_quota_admits_up_to_its_size_then_refuses_until_a_place_is_released() {
        let mut p: Pipeline<u32> = Pipeline::new(&AdmissionSpec { session_quota: Some(2), ..spec() }, 1);
        assert_eq!(p.login(t(0.0), None, 0, 1), Verdict::Admit { in_quota: true });
        assert_eq!(p.login(t(0.0), None, 0, 2), Verdict::Admit { in_quota: true });
        assert_eq!(p.login(t(0.0), None, 0, 3), Verdict::Refused(Refusal::Quota));
        p.release_quota();
        assert_eq!(p.login(t(1.0), None, 0, 3), Verdict::Admit { in_quota: true });
    }

    #[test]
    fn the_bucket_refuses_beyond_its_burst_before_the_room_or_the_quota_see_the_user() {
        let s = AdmissionSpec { token_bucket: Some((1.0, 2.0)), session_quota: Some(10), ..spec() };
        let mut p: Pipeline<u32> = Pipeline::new(&s, 1);
        assert_eq!(p.login(t(0.0), None, 0, 1), Verdict::Admit { in_quota: true });
        assert_eq!(p.login(t(0.0), None, 0, 2), Verdict::Admit { in_quota: true });
        assert_eq!(p.login(t(0.0), None, 0, 3), Verdict::Refused(Refusal::Rate));
        // One token a second: one more login a second later.
        assert_eq!(p.login(t(1.0), None, 0, 3), Verdict::Admit { in_quota: true });
    }

    #[test]
    fn the_room_holds_users_and_asks_for_one_release_at_a_time() {
        // 60 a minute: one a second, open from 0.
        let s = AdmissionSpec { waiting_room: Some((60.0, t(0.0), false)), session_quota: Some(1), ..spec() };
        let mut p: Pipeline<u32> = Pipeline::new(&s, 1);
        let Verdict::IntoRoom { release_at: Some(first) } = p.login(t(0.0), None, 0, 1) else { panic!("the first user joins the room") };
        // A release is pending: the next user joins without asking for another.
        assert_eq!(p.login(t(0.0), None, 0, 2), Verdict::IntoRoom { release_at: None });
        assert_eq!(p.room_len(), 2);
        let mut rng = StreamKey::new(1, 0, "test").rng();
        let (admitted, next) = p.release(first, &mut rng, |_| true);
        assert_eq!(admitted, Some(1));
        assert_eq!(next, Some(first + SimDuration::from_secs(1)));
        // The room released user 1 to the quota, which admits one session only.
        assert_eq!(p.admit_session(), Verdict::Admit { in_quota: true });
        let (admitted, next) = p.release(next.unwrap(), &mut rng, |_| true);
        assert_eq!((admitted, next), (Some(2), None));
        assert_eq!(p.admit_session(), Verdict::Refused(Refusal::Quota));
    }

    #[test]
    fn a_user_who_leaves_the_room_is_not_counted_in_it() {
        let s = AdmissionSpec { waiting_room: Some((60.0, t(0.0), false)), ..spec() };
        let mut p: Pipeline<u32> = Pipeline::new(&s, 1);
        let _ = p.login(t(0.0), None, 0, 1);
        let _ = p.login(t(0.0), None, 0, 2);
        p.leave_room(0);
        assert_eq!(p.room_len(), 1);
    }
}
