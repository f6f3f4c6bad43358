//! Simulated time as an integer number of microseconds.
//!
//! Integers give an exact, total order (no NaN, no rounding drift when many small delays are added), and a
//! microsecond resolution is three orders of magnitude below the shortest service times the models use
//! (milliseconds). `u64` microseconds cover 584,000 years, so overflow is not a practical concern; arithmetic
//! saturates anyway rather than wrapping.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Microseconds in one second.
pub const MICROS_PER_S: u64 = 1_000_000;

/// Seconds to the nearest microsecond. Adding one half then truncating rounds non-negative values without
/// the libm `round` call (this sits on the hot path of every sampled delay); negative and NaN inputs
/// saturate to zero in the cast.
#[inline]
fn round_micros(secs: f64) -> u64 {
    (secs * MICROS_PER_S as f64 + 0.5) as u64
}

/// An instant of simulated time, in microseconds since the start of the run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A non-negative span of simulated time, in microseconds. Being unsigned, a duration cannot point to the past,
/// so the scheduler cannot be asked to schedule an event before `now`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of the run.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable instant ("never").
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The instant `secs` seconds after the start, rounded to the nearest microsecond. Negative or NaN inputs
    /// map to zero (the cast saturates), which validated inputs never produce.
    #[inline]
    pub fn from_secs_f64(secs: f64) -> SimTime {
        SimTime(round_micros(secs))
    }

    /// Seconds since the start of the run.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_S as f64
    }

    /// Microseconds since the start of the run.
    pub fn as_micros(self) -> u64 {
        self.0
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// The empty span.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A span of `secs` seconds, rounded to the nearest microsecond; negative or NaN maps to zero.
    #[inline]
    pub fn from_secs_f64(secs: f64) -> SimDuration {
        SimDuration(round_micros(secs))
    }

    /// A span of whole seconds.
    pub const fn from_secs(secs: u64) -> SimDuration {
        SimDuration(secs * MICROS_PER_S)
    }

    /// The span in seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_S as f64
    }

    /// The span in microseconds.
    pub fn as_micros(self) -> u64 {
        self.0
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    /// The span between two instants; saturates at zero rather than going negative.
    fn sub(self, rhs: SimTime) -> SimDuration {
        self.saturating_since(rhs)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6} s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_trip_to_the_microsecond() {
        assert_eq!(SimTime::from_secs_f64(1.5).as_micros(), 1_500_000);
        assert_eq!(SimDuration::from_secs_f64(0.000_000_4).as_micros(), 0);
        assert_eq!(SimDuration::from_secs_f64(0.000_000_6).as_micros(), 1);
        assert_eq!(SimTime::from_secs_f64(3600.0).as_secs_f64(), 3600.0);
    }

    #[test]
    fn negative_and_nan_seconds_clamp_to_zero() {
        assert_eq!(SimDuration::from_secs_f64(-3.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration::ZERO);
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(SimTime::MAX + SimDuration(5), SimTime::MAX);
        assert_eq!(SimTime(3) - SimTime(10), SimDuration::ZERO);
    }
}
