//! The `git-vault` binary: parse, run, report, exit.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(git_vault::cli::main())
}
