//! Closed-form and exact numerical results of queueing theory.
//!
//! These are the oracle the simulator is checked against: when a scenario is
//! reduced to a textbook model, its measured metrics must converge to the
//! numbers computed here.
//!
//! What is here:
//!
//! - [`erlang_b`] / [`try_erlang_b`]: blocking probability of M/M/c/c (and,
//!   by insensitivity, M/G/c/c).
//! - [`erlang_c`] and [`erlang_c_wait_tail`]: the delay system M/M/c.
//! - [`mmck`]: the finite-capacity system M/M/c/K.
//! - [`erlang_a`]: M/M/c+M, the delay system with exponential patience.
//! - [`mg1_mean_wait_s`]: the Pollaczek-Khinchine mean wait of M/G/1.
//! - [`retrial_ctmc`]: the exact Markov chain of one server with a bounded
//!   backlog, impatient clients and a bounded number of come-backs (rentree's
//!   own retrial semantics), solved numerically: steady state and drain times.
//!
//! Conventions:
//!
//! - Rates are per second (`*_rate_per_s`), times are in seconds (`*_s`),
//!   offered loads are in Erlangs (`*_erl`, i.e. arrival rate / service rate).
//! - Waits (`mean_wait_s`) are time spent in the queue, before service starts;
//!   sojourns (`mean_sojourn_s`) add the service time.
//! - Parameters outside a formula's domain give an [`AnalyticError`]; nothing
//!   here panics on bad input.
//!
//! Numerical stability: every result must hold up to 10,000 servers and
//! offered loads of ~10,000 Erlangs, where `a^c / c!` overflows any float.
//! Nothing computes a factorial or a large power directly: Erlang B uses its
//! forward recurrence, and the birth-death models accumulate their
//! unnormalised stationary weights rescaled so the largest seen is 1.

mod erlang;
mod erlang_a;
mod mg1;
mod mmck;
mod retrial_ctmc;

#[cfg(test)]
mod test_support;

pub use erlang::{erlang_b, erlang_c, erlang_c_wait_tail, try_erlang_b, MmcMetrics};
pub use erlang_a::{erlang_a, ErlangAMetrics, ERLANG_A_MAX_STATES};
pub use mg1::mg1_mean_wait_s;
pub use mmck::{mmck, MmckMetrics};
pub use retrial_ctmc::{retrial_ctmc, RetrialCtmcMetrics, RetrialDrain, RetrialModel, RETRIAL_CTMC_MAX_STATES};

/// Errors for parameters outside a formula's domain.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalyticError {
    /// The model has no steady state: the offered work per server `rho`
    /// (arrival rate / total service rate) is not below 1.
    #[error("unstable system: utilisation rho = {rho} must be below 1")]
    Unstable {
        /// Offered utilisation, arrival rate / (servers × service rate).
        rho: f64,
    },
    /// A parameter is out of range (non-finite, non-positive, too small...).
    #[error("invalid parameter `{name}` = {value}: expected {expected}")]
    InvalidParameter {
        /// Name of the offending argument, as in the function signature.
        name: &'static str,
        /// The value that was passed (integers are converted to `f64`).
        value: f64,
        /// Human-readable description of the valid domain.
        expected: &'static str,
    },
    /// The exact computation would have to visit more states than `limit`
    /// (e.g. Erlang-A with an abandonment rate so small that the queue
    /// distribution stretches over billions of states).
    #[error("state space too large: more than {limit} states would be needed")]
    StateSpaceTooLarge {
        /// The cap that was hit.
        limit: u64,
    },
}

/// Checks that a rate (or any strictly positive real parameter) is finite
/// and > 0, which every formula here assumes.
fn require_positive(name: &'static str, value: f64) -> Result<f64, AnalyticError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(AnalyticError::InvalidParameter { name, value, expected: "a finite number > 0" })
    }
}

/// Checks that there is at least one server; returns the count as `f64`
/// because every formula uses it as a real number.
fn require_servers(servers: u32) -> Result<f64, AnalyticError> {
    if servers >= 1 {
        Ok(f64::from(servers))
    } else {
        Err(AnalyticError::InvalidParameter { name: "servers", value: 0.0, expected: "at least 1 server" })
    }
}

/// Offered load `lambda / mu` in Erlangs, rejected if it overflows: the
/// birth-death recurrences multiply by it, so it must itself be finite.
fn offered_load_erl(arrival_rate_per_s: f64, service_rate_per_s: f64) -> Result<f64, AnalyticError> {
    let lambda = require_positive("arrival_rate_per_s", arrival_rate_per_s)?;
    let mu = require_positive("service_rate_per_s", service_rate_per_s)?;
    let load_erl = lambda / mu;
    if load_erl.is_finite() {
        Ok(load_erl)
    } else {
        Err(AnalyticError::InvalidParameter {
            name: "arrival_rate_per_s",
            value: lambda,
            expected: "an offered load arrival_rate_per_s / service_rate_per_s that is finite",
        })
    }
}
