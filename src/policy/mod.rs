//! Overload-control mechanisms: what clients and platforms do when demand exceeds capacity.
//!
//! At 8:00 on the first school day millions of pupils log on within minutes. Whether the platform survives
//! depends as much on these mechanisms as on its raw capacity, because each one changes the load that
//! actually reaches the servers:
//!
//! - [`retry`]: how a client retries a failed request (backoff shape, jitter, attempt limit), and a
//!   [`RetryBudget`] that caps retries to a share of first attempts so that retries cannot multiply an
//!   overload;
//! - [`token_bucket`]: a [`TokenBucket`] rate limiter admitting a mean rate with bounded bursts;
//! - [`quota`]: a [`SessionQuota`] on concurrent sessions ("when the maximum number of users is reached, you
//!   must wait your turn");
//! - [`waiting_room`]: a rate-based [`WaitingRoom`] (Queue-it style) admitting users one by one at a fixed
//!   rate, in arrival order, with an optional shuffled pre-queue at opening and priority classes;
//! - [`autoscale`]: a reactive [`Autoscaler`]'s decision (add servers, remove some, hold) from what it read
//!   over its last window, within its bounds and cooldown;
//! - [`throttle`]: client-side [`AdaptiveThrottle`] (Google SRE, "Handling Overload"), which rejects requests
//!   locally in proportion to how often the backend has been rejecting them.
//!
//! Each is a *mechanism with a decision*: the simulated world calls it with the current time and it answers
//! (admit or not, how long to wait, when the next admission may happen). None of them schedules events or
//! reads a clock of its own, so each can be tested in isolation and reasoned about as a pure state machine.
//! State that depends on elapsed time is updated lazily from the `now` passed in, which must not decrease
//! between calls on the same object (a debug assertion checks it; release builds treat an earlier `now` as
//! the latest one seen). Randomness, where a decision needs it, comes from a generator the caller passes,
//! so a run stays a pure function of its seed.

pub mod autoscale;
pub mod quota;
pub mod retry;
pub mod throttle;
pub mod token_bucket;
pub mod waiting_room;
mod window;

pub use autoscale::Autoscaler;
pub use quota::SessionQuota;
pub use retry::{Backoff, Jitter, RetryBudget, RetryPolicy};
pub use throttle::AdaptiveThrottle;
pub use token_bucket::TokenBucket;
pub use waiting_room::WaitingRoom;

/// Why a policy could not be built from its parameters; the scenario layer turns this into a message naming
/// the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{parameter} = {found}: expected {expected}")]
pub struct PolicyError {
    /// The offending parameter.
    pub parameter: &'static str,
    /// The value found.
    pub found: f64,
    /// What was expected.
    pub expected: &'static str,
}

/// `Ok(value)` when `value` is finite and strictly positive.
fn positive(parameter: &'static str, value: f64) -> Result<f64, PolicyError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(PolicyError { parameter, found: value, expected: "a finite number > 0" })
    }
}

/// `Ok(value)` when `value` is finite and not negative.
fn non_negative(parameter: &'static str, value: f64) -> Result<f64, PolicyError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(PolicyError { parameter, found: value, expected: "a finite number >= 0" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The world moves whole runs across threads: every policy must be `Send` (and, holding no shared
    /// state, `Sync` too).
    #[test]
    fn policies_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<RetryPolicy>();
        check::<RetryBudget>();
        check::<TokenBucket>();
        check::<SessionQuota>();
        check::<WaitingRoom<u32>>();
        check::<AdaptiveThrottle>();
        check::<Autoscaler>();
        check::<PolicyError>();
    }
}
