//! rentree: a discrete-event capacity simulator for national school platforms under a flash crowd.
//!
//! A scenario file describes who arrives (cohorts and their arrival processes), what they ask of which
//! platform (pools of servers with backlogs), and how long they are willing to wait. A run is a pure function
//! of the scenario and a seed:
//!
//! ```
//! use rentree::scenario::Scenario;
//! use std::path::Path;
//!
//! let text = r#"
//! [scenario]
//! name = "M/M/2"
//! horizon_s = 2000.0
//! warmup_s = 100.0
//!
//! [cohorts.customers]
//! platform = "desk"
//! arrivals = { process = "poisson", rate_per_s = 1.0 }
//!
//! [platforms.desk.pool]
//! servers = 2
//! service = { dist = "exponential", mean_s = 1.0 }
//! "#;
//! let scenario = Scenario::from_toml(text, Path::new("example.toml"), &[]).unwrap();
//! let report = rentree::world::run(&scenario, 42, 0).unwrap();
//! // Erlang C gives Wq = 1/3 s for this queue; one short run lands near it.
//! assert!(report.summary.mean_wait_s > 0.1 && report.summary.mean_wait_s < 0.7);
//! assert_eq!(report, rentree::world::run(&scenario, 42, 0).unwrap());
//! ```
//!
//! Result files (Parquet/CSV tables, sweeps, the briefing) and the binary need the default feature `files`,
//! which brings polars and plotly; without it the crate is the simulator alone.
#![warn(missing_docs)]

pub mod analytic;
pub mod builtin;
#[cfg(feature = "files")]
pub mod cli;
pub mod decide;
pub mod engine;
pub mod error;
pub mod metrics;
#[cfg(feature = "files")]
pub mod output;
pub mod policy;
#[cfg(feature = "files")]
pub mod report;
pub mod scenario;
#[cfg(feature = "files")]
pub mod sweep;
pub mod verify;
pub mod world;

pub use error::{Error, FieldProblem, Result};
