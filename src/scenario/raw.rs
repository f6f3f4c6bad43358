//! The scenario file as written: serde types that mirror the TOML one to one and only check its shape.
//!
//! Every struct denies unknown fields, so a misspelt key is an error with its line and column rather than a
//! silently ignored setting. These types are the file format's compatibility promise; the validated
//! [`Scenario`](super::Scenario) is built from them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Run-wide settings.
    pub scenario: RawRun,
    /// Who arrives, keyed by cohort name.
    pub cohorts: BTreeMap<String, RawCohort>,
    /// The services they use, keyed by platform name.
    pub platforms: BTreeMap<String, RawPlatform>,
}

/// The `[scenario]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRun {
    /// A short name, shown in reports.
    pub name: String,
    /// What the scenario covers, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Simulated span, from t = 0, in seconds.
    pub horizon_s: f64,
    /// Initial span excluded from statistics (steady-state cases); 0 for a terminating run.
    #[serde(default)]
    pub warmup_s: f64,
}

/// One `[cohorts.NAME]` table: a group of people (or customers) with one arrival process and behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCohort {
    /// The platform this cohort's requests go to.
    pub platform: String,
    /// How the cohort arrives.
    pub arrivals: RawArrivals,
    /// How long a request waits in a backlog before its client abandons (absent: it waits for ever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patience: Option<RawDist>,
}

/// An arrival process, tagged by `process`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawArrivals {
    /// Poisson arrivals at a constant rate.
    Poisson {
        /// Arrivals per second.
        rate_per_s: f64,
    },
    /// Poisson arrivals at a piecewise-linear rate through `[t_s, rate_per_s]` points (zero outside them).
    Profile {
        /// `[t_s, rate_per_s]` pairs, times increasing.
        points: Vec<[f64; 2]>,
    },
    /// A finite population that arrives once each, spread by a piecewise-linear density.
    Population {
        /// Number of people.
        count: u64,
        /// `[t_s, relative_density]` pairs, times increasing.
        shape: Vec<[f64; 2]>,
    },
}

/// A duration distribution, tagged by `dist`; every parameter is in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawDist {
    /// Exponential.
    Exponential {
        /// Mean in seconds.
        mean_s: f64,
    },
    /// Constant.
    Deterministic {
        /// The value in seconds.
        value_s: f64,
    },
    /// Log-normal by mean and coefficient of variation.
    Lognormal {
        /// Mean in seconds.
        mean_s: f64,
        /// Coefficient of variation (std / mean).
        cv: f64,
    },
    /// Gamma by shape and mean.
    Gamma {
        /// Shape parameter.
        shape: f64,
        /// Mean in seconds.
        mean_s: f64,
    },
    /// Erlang-k by phase count and mean.
    Erlang {
        /// Number of exponential phases.
        k: u32,
        /// Mean in seconds.
        mean_s: f64,
    },
    /// Uniform between two bounds.
    Uniform {
        /// Lower bound in seconds.
        min_s: f64,
        /// Upper bound in seconds.
        max_s: f64,
    },
}

/// One `[platforms.NAME]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlatform {
    /// The application pool that serves requests.
    pub pool: RawPool,
}

/// A pool of servers with a FIFO backlog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// Number of servers.
    pub servers: i64,
    /// Concurrent requests each server handles (threads, workers); default 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub workers_per_server: i64,
    /// Maximum requests in the pool, in service and waiting (the K of M/M/c/K); absent: unlimited backlog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_system: Option<i64>,
    /// Service-time distribution of one request.
    pub service: RawDist,
}

fn one() -> i64 {
    1
}

fn is_one(v: &i64) -> bool {
    *v == 1
}
