//! tok: gets, keeps and hands out the bearer tokens of payment and REST APIs.
//!
//! The binary (`main.rs`) parses the command line and maps the outcome of [`run`] to an
//! exit code; everything else lives in a module named for what it holds. The exit codes
//! are a contract (`cli.md`): see `error`. The library exists for the binary and for the
//! fuzz targets in `fuzz/`; it is not a stable API.

mod civil;
pub mod cli;
mod client_cert;
mod cmd;
mod config;
mod dpop;
mod duration;
pub mod error;
mod flow;
mod fsutil;
mod http;
mod id_token;
mod input;
pub mod jwt;
mod keys;
mod lock;
mod naming;
mod output;
mod policy;
mod profile;
pub mod provider;
mod proxy;
mod random;
mod secret;
pub mod startup;
mod store;
pub mod term;
#[cfg(test)]
mod testgen;
mod token;
pub mod usage;
#[cfg(windows)]
mod winsec;

/// Answers a shell's completion request (`COMPLETE` set by a registration script) and exits.
pub use cmd::answer_if_asked as answer_completion_request;

use std::process::ExitCode;
use std::time::Duration;

/// Before anything else: on Linux the process makes itself non-dumpable, so no core
/// file holds its secrets and other processes of the same user cannot ptrace it or read
/// its memory and environment through /proc.
pub fn harden() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Runs one parsed command line. `Ok` carries the exit code (0, or curl's for `tok curl`).
pub fn run(cli: cli::Cli) -> error::Result<ExitCode> {
    term::set_verbose(cli.globals.verbose);
    store::shared::set_flags(store::shared::Flags {
        url: cli.globals.shared_cache.clone(),
        required: cli.globals.shared_cache_required,
    });
    let app = flow::App {
        paths: config::Paths::discover()?,
        explicit_store: cli.globals.store.clone(),
        http: http::Http::new(cli.globals.timeout.unwrap_or(Duration::from_secs(30))),
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
        cli::Command::Providers(args) => cmd::providers(args),
        cli::Command::Man(_) => cmd::man(),
        // curl's own exit code passes through.
        cli::Command::Curl(args) => return cmd::curl(&app, args),
        // So is the command's, where tok cannot replace itself with it.
        cli::Command::Exec(args) => return cmd::exec(&app, args),
        cli::Command::Proxy(args) => proxy::proxy(&app, args),
    }
    .map(|()| ExitCode::SUCCESS)
}
