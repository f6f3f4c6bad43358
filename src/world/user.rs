//! Users: one person's use of one platform for the morning, from first arrival to leaving.

use super::ids::{ClassId, GroupId};
use super::request::Kind;
use super::slab::Ref;
use crate::engine::SimTime;

/// What a user is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStage {
    /// Away: will try to log in when woken (a staggered slot not yet open).
    Away,
    /// Gone after a failure or a refusal ("come back in a few minutes"): will try to log in again when woken.
    ComingBack,
    /// In the platform's waiting room.
    InRoom,
    /// A request is in flight.
    Requesting,
    /// A request failed; the retry is scheduled.
    RetryWait,
    /// Reading a page; the next one is scheduled.
    Thinking,
}

impl UserStage {
    /// Whether a user at this stage is in the *orbit*: failed or refused, and waiting to try again (a retry
    /// pending, or coming back later) — the population whose retries sustain an overload.
    #[inline]
    pub fn in_orbit(self) -> bool {
        matches!(self, UserStage::RetryWait | UserStage::ComingBack)
    }
}

/// One user. Kept compact: a national morning has millions alive at once.
#[derive(Debug, Clone, Copy)]
pub struct User {
    /// When the user first arrived.
    pub arrived: SimTime,
    /// Their (cohort, platform) group.
    pub group: GroupId,
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
    /// Invalidates stale wake-ups: a wake carries the token it was scheduled with. Given by [`Tokens`], so
    /// no two users of a world ever hold the same one (0, a new user's, is never given).
    pub token: u32,
    /// Invalidates stale session-limit events; given by [`Tokens`] too.
    pub session_token: u32,
    /// Whether a session is open.
    pub logged_in: bool,
    /// Whether they hold a place in the session quota.
    pub in_quota: bool,
    /// Whether they ever logged in successfully.
    pub accessed: bool,
    /// Whether an admission policy refused them before.
    pub was_rejected: bool,
    /// [`User::FLAGGED`], [`User::MITIGATED`], [`User::TEACHER`]: packed so that a user (with its slab
    /// slot) fits one 64-byte cache line, which is what a wake-up among millions of users costs.
    pub flags: u8,
    /// The virtual class they are joining ([`super::classes::NO_CLASS`] for an ordinary user).
    pub class: ClassId,
}

// A user and its slab slot fit in one cache line (see `Slab`).
const _: () = assert!(std::mem::size_of::<User>() <= 56);

impl User {
    /// A user arriving at `now`, about to log in.
    pub fn new(now: SimTime, group: GroupId, pages: u32) -> User {
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
            flags: 0,
            class: super::classes::NO_CLASS,
        }
    }
}

/// The tokens of a world's users. Each is given once, so that an event naming a user's slot and a token
/// (see `world::event`) is told stale even when its user has left and another took the slot: the new user's
/// tokens all come later. They run out after 2^32 - 1, and then start again at 1; a stale timer could only
/// pass for a live one if it were still pending after that many tokens were given, which in the national
/// morning's largest component (some 6,000 a simulated second) would take a timer of eight days.
#[derive(Debug, Default)]
pub struct Tokens {
    last: u32,
}

impl Tokens {
    /// A token not given before.
    #[inline]
    pub fn fresh(&mut self) -> u32 {
        self.last = self.next();
        self.last
    }

    /// The token [`Tokens::fresh`] gives next.
    #[inline]
    pub fn next(&self) -> u32 {
        self.last.checked_add(1).unwrap_or(1)
    }
}

impl User {
    /// The attack protection, once on, blocks this user (a false positive, or a user abroad under
    /// geo-filtering).
    pub const FLAGGED: u8 = 1;
    /// The protection has blocked this user at least once.
    pub const MITIGATED: u8 = 2;
    /// This user teaches their class.
    pub const TEACHER: u8 = 4;

    /// Whether `flag` is set.
    #[inline]
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Sets `flag` to `on`.
    #[inline]
    pub fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }
}
