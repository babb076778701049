//! The `tok` binary: parse, run, map the error to an exit code. See the library for the rest.

// On glibc Linux tok starts from C's `main`, not through Rust's runtime: the runtime's
// set-up of the main thread's stack-overflow guard reads and parses /proc/self/maps,
// which was a sixth of the instructions of a cached `tok print` (BENCHMARKS.md). What
// else the runtime does before `main` is done by `tok::startup`. glibc only: there std
// reads the arguments before `main` itself (elsewhere only the runtime hands them over).
#![cfg_attr(all(target_os = "linux", target_env = "gnu", not(test)), no_main)]

use clap::CommandFactory;
use std::process::ExitCode;

#[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    tok::startup::init();
    let code = tok_main();
    // ExitCode keeps its number to itself (`exit_process` is unstable): found among the
    // 256 there are. `process::exit` flushes stdout, as the runtime does after `main`.
    let code = (0..=u8::MAX).find(|&c| ExitCode::from(c) == code).map_or(1, i32::from);
    std::process::exit(code)
}

// The test harness brings its own entry point.
#[cfg(any(test, not(all(target_os = "linux", target_env = "gnu"))))]
fn main() -> ExitCode {
    tok_main()
}

fn tok_main() -> ExitCode {
    tok::harden();
    // A registration script calling back on TAB: answer and exit.
    tok::answer_completion_request();
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
    // "tok", not argv[0] ("tok.exe" on Windows), in usage lines and help.
    let mut command = tok::cli::Cli::command().bin_name("tok");
    let words: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut matches = command.try_get_matches_from_mut(args).unwrap_or_else(|e| exit(e, &command, &words));
    let mut cli = tok::cli::Cli::from_matches(&mut matches)
        .unwrap_or_else(|e| exit(e.format(&mut command), &command, &words));
    if let (tok::cli::Command::Curl(args), Some(rest)) = (&mut cli.command, curl_args) {
        args.curl_args = rest;
    }
    std::mem::forget(command);
    cli
}

/// clap's help and version as clap prints them; its errors in tok's own style and words
/// (`usage::explain`, which never repeats what was typed): a `tok: error:` line, tips,
/// and the command's plain usage (clap's would list the options set from the
/// environment, as if typed). A closed stream never panics: a closed stdout is 141, as
/// everywhere in tok; a closed stderr loses the message, not the exit code.
fn exit(e: clap::Error, command: &clap::Command, words: &[String]) -> ! {
    use clap::error::ErrorKind;
    use std::io::Write;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let printed = e.print().and_then(|()| std::io::stdout().flush());
        let closed = printed.is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
        std::process::exit(if closed { 141 } else { 0 })
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        std::process::exit(2)
    }
    let explained = tok::usage::explain(&e, command, words);
    tok::term::error(&tok::error::Error::usage(explained.message));
    let sub = words.iter().skip(1).find_map(|w| command.find_subcommand(w));
    let usage = match sub {
        Some(sub) => sub.clone().bin_name(format!("tok {}", sub.get_name())).render_usage().to_string(),
        None => command.clone().render_usage().to_string(),
    };
    let help = match sub {
        Some(sub) => format!("tok {} --help", sub.get_name()),
        None => "tok --help".into(),
    };
    let mut tips: String = explained.tips.iter().map(|t| format!("  tip: {t}\n")).collect();
    if !explained.detail.is_empty() {
        tips = format!("{}\n{tips}", explained.detail);
    }
    let text = format!("{tips}\n{usage}\n\nFor more information, try '{help}'.\n");
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
    std::process::exit(2)
}
