//! The `rentree` binary: parses arguments, calls the library, maps errors to exit codes.
//!
//! Exit codes: 0 success; 1 a command's checks failed (`verify`); 2 bad input or I/O (the message names the
//! file, the field, what was found and what was expected). Clap's own usage errors also exit 2.

use clap::Parser;
use cli::{execute, Cli, Outcome};
use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::ChecksFailed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
