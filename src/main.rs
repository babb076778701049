//! The `tok` binary: parse, run, map the error to an exit code. See the library for the rest.

use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;

fn main() -> ExitCode {
    tok::harden();
    match tok::run(parse()) {
        Ok(code) => code,
        Err(e) => {
            tok::term::error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// `Cli::parse()`, except that the command tree is not freed afterwards: the process
/// ends soon, and dropping the tree was ~5 % of a cached `tok print` (BENCHMARKS.md).
fn parse() -> tok::cli::Cli {
    let (args, curl_args) = tok::cli::split_curl_args(std::env::args_os().collect());
    let mut command = tok::cli::Cli::command();
    let mut matches = command.try_get_matches_from_mut(args).unwrap_or_else(|e| e.exit());
    let mut cli =
        tok::cli::Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut command).exit());
    if let (tok::cli::Command::Curl(args), Some(rest)) = (&mut cli.command, curl_args) {
        args.curl_args = rest;
    }
    std::mem::forget(command);
    cli
}
