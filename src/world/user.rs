//! Users: one person's use of one platform for the morning, from first arrival to leaving.

use super::request::Kind;
use super::slab::Ref;
use crate::engine::SimTime;

/// What a user is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStage {
    /// Away: will try to log in when woken (come back later, or a staggered slot not yet open).
    Away,
    /// In the platform's waiting room.
    InRoom,
    /// A request is in flight.
    Requesting,
    /// A request failed; the retry is scheduled.
    RetryWait,
    /// Reading a page; the next one is scheduled.
    Thinking,
}

/// One user. Kept compact: a national morning has millions alive at once.
#[derive(Debug, Clone, Copy)]
pub struct User {
    /// When the user first arrived.
    pub arrived: SimTime,
    /// Their (cohort, platform) group.
    pub group: u32,
    /// What they are doing.
    pub stage: UserStage,
    /// What the current (or next) request is for.
    pub next: Kind,
    /// Attempt number of the current request (1 = first).
    pub attempt: u32,
    /// Times they came back later.
    pub returns: u32,
    /// Pages still to read.
    pub pages_left: u32,
    /// The request in flight, if any.
    pub pending: Option<Ref>,
    /// Invalidates stale wake-ups: a wake carries the token it was scheduled with.
    pub token: u32,
    /// Invalidates stale session-limit events.
    pub session_token: u32,
    /// Whether a session is open.
    pub logged_in: bool,
    /// Whether they hold a place in the session quota.
    pub in_quota: bool,
    /// Whether they ever logged in successfully.
    pub accessed: bool,
    /// Whether an admission policy refused them before.
    pub was_rejected: bool,
    /// Whether the attack protection, once on, blocks them (a false positive, or a user abroad under
    /// geo-filtering).
    pub flagged: bool,
    /// Whether the protection has blocked them at least once.
    pub was_mitigated: bool,
    /// The virtual class they are joining ([`super::classes::NO_CLASS`] for an ordinary user).
    pub class: u32,
    /// Whether they teach that class.
    pub teacher: bool,
}

impl User {
    /// A user arriving at `now`, about to log in.
    pub fn new(now: SimTime, group: u32, pages: u32) -> User {
        User {
            arrived: now,
            group,
            stage: UserStage::Away,
            next: Kind::Login,
            attempt: 0,
            returns: 0,
            pages_left: pages,
            pending: None,
            token: 0,
            session_token: 0,
            logged_in: false,
            in_quota: false,
            accessed: false,
            was_rejected: false,
            flagged: false,
            was_mitigated: false,
            class: super::classes::NO_CLASS,
            teacher: false,
        }
    }
}
