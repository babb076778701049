//! The `tok` binary: parse, run, map the error to an exit code. See the library for the rest.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = tok::cli::Cli::parse();
    match tok::run(cli) {
        Ok(code) => code,
        Err(e) => {
            tok::term::error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}
