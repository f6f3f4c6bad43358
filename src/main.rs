//! The `rentree` binary: the library's command line ([`rentree::cli::main`]), which parses the arguments,
//! runs the command and maps errors to exit codes.
//!
//! Exit codes: 0 success; 1 a command's checks failed (`verify`); 2 bad input or I/O (the message names the
//! file, the field, what was found and what was expected). Clap's own usage errors also exit 2.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(rentree::cli::main(std::env::args_os()))
}
