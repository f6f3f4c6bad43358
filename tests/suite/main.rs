//! The integration tests, in one binary (one link of the library, and one place for shared helpers:
//! `common`). Those that run the `rentree` binary or read result files need the `files` feature.
//!
//! Run one file's tests by its module name: `cargo test --release --test suite replay::`.

mod common;

mod attack;
mod classes;
mod columns;
mod ctmc;
mod golden;
mod national;
mod orbit;
mod provisioning;
mod replay;
mod theory;

#[cfg(feature = "files")]
mod bad_input;
#[cfg(feature = "files")]
mod calibrate;
#[cfg(feature = "files")]
mod optimize;
#[cfg(feature = "files")]
mod results_folder;
#[cfg(feature = "files")]
mod robustness;
#[cfg(feature = "files")]
mod run_files;
#[cfg(feature = "files")]
mod schema;
#[cfg(feature = "files")]
mod select;
#[cfg(feature = "files")]
mod sensitivity;
#[cfg(feature = "files")]
mod slurm;
#[cfg(feature = "files")]
mod stability;
#[cfg(feature = "files")]
mod sweep;
