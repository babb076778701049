//! tok: gets, keeps and hands out the bearer tokens of payment and REST APIs.
//!
//! `main` parses, runs and maps the outcome to an exit code; everything else lives in a
//! module named for what it holds. The exit codes are a contract (`cli.md`): see `error`.

mod cli;
mod cmd;
mod config;
mod duration;
mod error;
mod flow;
mod fsutil;
mod http;
mod input;
mod jwt;
mod keys;
mod lock;
mod output;
mod policy;
mod profile;
mod provider;
mod secret;
mod store;
mod term;
mod token;

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            term::error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: cli::Cli) -> error::Result<ExitCode> {
    term::set_verbose(cli.verbose);
    let app = flow::App {
        paths: config::Paths::discover()?,
        store_kind: cli.store.unwrap_or(store::StoreKind::Keyring),
        http: http::Http::new(cli.timeout.unwrap_or(Duration::from_secs(30))),
    };
    match &cli.command {
        cli::Command::Login(args) => cmd::login(&app, args),
        cli::Command::Print(args) => cmd::print(&app, args),
        cli::Command::Refresh(args) => cmd::refresh(&app, args),
        cli::Command::Logout(args) => cmd::logout(&app, args),
        cli::Command::Status(args) => cmd::status(&app, args),
        cli::Command::Sign(args) => cmd::sign(&app, args),
        cli::Command::Inspect(args) => cmd::inspect(&app, args),
        cli::Command::Completions(args) => cmd::completions(args),
        // curl's own exit code passes through.
        cli::Command::Curl(args) => return cmd::curl(&app, args),
    }
    .map(|()| ExitCode::SUCCESS)
}
