//! Shell completions: small registration scripts that call back into `tok` on TAB
//! (clap_complete's dynamic engine), so profile names complete from the user's own
//! config and every flag's values (providers, environments, formats, algorithms)
//! complete in bash, zsh, fish, PowerShell and elvish alike.

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, Result};
use clap::CommandFactory;
use std::path::Path;

/// The variable the registration scripts set when they call tok back.
const VAR: &str = "COMPLETE";

/// Each shell, its registration script's conventional file name, and where it goes.
pub const SHELLS: &[(&str, &str, &str)] = &[
    (
        "bash",
        "tok.bash",
        "source it from ~/.bashrc, or put it in ~/.local/share/bash-completion/completions/tok",
    ),
    ("zsh", "_tok", "put it in a directory on $fpath"),
    ("fish", "tok.fish", "put it in ~/.config/fish/completions/"),
    ("powershell", "_tok.ps1", "dot-source it from $PROFILE"),
    ("elvish", "tok.elv", "eval it from ~/.config/elvish/rc.elv"),
];

/// Answers a completion request (tok run by a registration script with `COMPLETE` set)
/// and exits; does nothing otherwise. Cheap when not completing: one variable lookup.
pub fn answer_if_asked() {
    if std::env::var_os(VAR).is_none() {
        return;
    }
    let factory = if completing_curl_args() { curl_command } else { full_command };
    clap_complete::CompleteEnv::with_factory(factory).var(VAR).complete();
}

/// Whether the word being completed comes after `tok curl`'s profile, where every word
/// is curl's. The registration scripts call `tok -- tok WORDS...`, with the word's index
/// in `_CLAP_COMPLETE_INDEX` (bash, zsh, elvish) or last (fish, PowerShell).
fn completing_curl_args() -> bool {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip_while(|a| a != "--").skip(1).collect();
    let index = std::env::var("_CLAP_COMPLETE_INDEX").ok().and_then(|i| i.parse().ok());
    after_curl_profile(args, index)
}

fn after_curl_profile(words: Vec<std::ffi::OsString>, index: Option<usize>) -> bool {
    let index = index.unwrap_or(words.len().saturating_sub(1)).min(words.len());
    let before: Vec<_> = words.into_iter().take(index).collect();
    // The same split as a real run's: the profile is in `before` when curl has a rest.
    crate::cli::split_curl_args(before).1.is_some()
}

/// The tree for completing a curl argument: `curl PROFILE CURL-ARGS`, where the only
/// candidates are curl's long options. None of tok's options is offered there, since
/// none would be read as tok's; tok's own options before `curl` are only skipped over.
fn curl_command() -> clap::Command {
    use clap::{Arg, ArgAction, Command};
    let curl_args = Arg::new("curl_args")
        .num_args(0..)
        .trailing_var_arg(true)
        .allow_hyphen_values(true)
        .add(clap_complete::ArgValueCompleter::new(curl_option_candidates));
    let curl = Command::new("curl").disable_help_flag(true).arg(Arg::new("profile")).arg(curl_args);
    let mut root = Command::new("tok").disable_help_flag(true).disable_version_flag(true).subcommand(curl);
    for (option, takes_value) in crate::cli::tok_curl_options() {
        if let Some(long) = option.strip_prefix("--") {
            let action = if takes_value { ArgAction::Set } else { ArgAction::SetTrue };
            root = root.arg(Arg::new(long).long(long).action(action).hide(true));
        }
    }
    root.disable_help_subcommand(true)
}

/// curl's long options that start with `current`, from the table tok parses curl's
/// arguments with.
fn curl_option_candidates(current: &std::ffi::OsStr) -> Vec<clap_complete::CompletionCandidate> {
    let Some(current) = current.to_str().filter(|c| c.starts_with('-')) else { return Vec::new() };
    use super::curl_options::{BOOLEAN, LONG, PLAIN};
    LONG.iter()
        .chain(BOOLEAN)
        .chain(PLAIN)
        .map(|name| format!("--{name}"))
        .filter(|option| option.starts_with(current))
        .map(clap_complete::CompletionCandidate::new)
        .collect()
}

pub fn completions(args: &CompletionsArgs) -> Result<()> {
    match (&args.shell, &args.dir) {
        (Some(shell), None) => crate::term::stdout(&registration(shell)?),
        (None, Some(dir)) => write_all(dir),
        _ => Err(Error::usage("give a shell (bash, zsh, fish, powershell, elvish) or --dir DIR")),
    }
}

/// The registration script for `shell`.
pub fn registration(shell: &str) -> Result<Vec<u8>> {
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells.completer(shell).ok_or_else(|| {
        Error::usage(format!(
            "no completions for that shell: bash, zsh, fish, powershell or elvish{}",
            crate::secret::near_miss(shell, &["bash", "zsh", "fish", "powershell", "elvish"])
        ))
    })?;
    let mut out = Vec::new();
    clap_complete::env::EnvCompleter::write_registration(completer, VAR, "tok", "tok", "tok", &mut out)
        .map_err(|e| Error::other(format!("cannot write the {shell} completions: {e}")))?;
    Ok(out)
}

/// `tok completions --dir DIR`: every shell's script and the man page, for packagers and
/// for `cargo install` users.
fn write_all(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::other(format!("cannot create {}: {e}", dir.display())))?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes)
            .map_err(|e| Error::other(format!("cannot write {}: {e}", dir.join(name).display())))
    };
    for (shell, file, how) in SHELLS {
        write(file, &registration(shell)?)?;
        crate::term::note(&format!("{}: {how}", dir.join(file).display()));
    }
    write("tok.1", &super::man::page())?;
    crate::term::note(&format!(
        "{}: man -l it, or put it in ~/.local/share/man/man1/",
        dir.join("tok.1").display()
    ));
    Ok(())
}

/// The whole command tree. Subcommands are built lazily (`defer` in `cli.rs`) so that a
/// run pays only for its own; completions and the man page need them all.
pub fn full_command() -> clap::Command {
    let mut command = Cli::command();
    command.build();
    command
}

/// Profile names for completion: the user's saved profiles and file-store profiles.
pub fn profile_candidates() -> Vec<clap_complete::CompletionCandidate> {
    let Ok(paths) = crate::config::Paths::discover() else { return Vec::new() };
    let config = crate::config::ConfigFile::load(&paths.config_file).unwrap_or_default();
    super::known_profiles(&paths, &config).into_iter().map(clap_complete::CompletionCandidate::new).collect()
}

/// For `tok login`: existing profiles, and the provider names (a profile named after its
/// provider needs no --provider).
pub fn login_candidates() -> Vec<clap_complete::CompletionCandidate> {
    let mut candidates = profile_candidates();
    for provider in crate::provider::Provider::all() {
        // A profile named after its provider is listed once.
        if candidates.iter().any(|c| c.get_value() == provider.name()) {
            continue;
        }
        candidates.push(
            clap_complete::CompletionCandidate::new(provider.name()).help(Some(provider.spec().title.into())),
        );
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_arguments_are_the_words_after_the_profile() {
        let cases: &[(&str, Option<usize>, bool)] = &[
            ("tok curl p --", None, true),
            ("tok curl p -s --da", None, true),
            ("tok --store file curl --min-ttl 5m p -", None, true),
            ("tok curl p", None, false),
            ("tok curl --min-ttl", None, false),
            ("tok curl p -s /x", Some(2), false),
            ("tok curl p -s /x", Some(3), true),
            ("tok print p --", None, false),
        ];
        for (line, index, expected) in cases {
            let words = line.split(' ').map(Into::into).collect();
            assert_eq!(after_curl_profile(words, *index), *expected, "{line} at {index:?}");
        }
    }

    /// The committed scripts are what this build writes. Run with
    /// `TOK_UPDATE_COMPLETIONS=1 cargo test completions` to rewrite them.
    #[test]
    fn committed_completions_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
        let update = std::env::var_os("TOK_UPDATE_COMPLETIONS").is_some();
        for (shell, name, _) in SHELLS {
            let generated = registration(shell).unwrap();
            let path = dir.join(name);
            if update {
                std::fs::write(&path, &generated).unwrap();
            }
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == generated,
                "completions/{name} is stale: run TOK_UPDATE_COMPLETIONS=1 cargo test completions"
            );
        }
    }
}
