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
    clap_complete::CompleteEnv::with_factory(full_command).var(VAR).complete();
}

pub fn completions(args: &CompletionsArgs) -> Result<()> {
    match (&args.shell, &args.dir) {
        (Some(shell), None) => {
            let script = registration(shell)?;
            std::io::Write::write_all(&mut std::io::stdout().lock(), &script)
                .map_err(|e| Error::other(format!("cannot write to stdout: {e}")))
        }
        (None, Some(dir)) => write_all(dir),
        _ => Err(Error::usage("give a shell (bash, zsh, fish, powershell, elvish) or --dir DIR")),
    }
}

/// The registration script for `shell`.
pub fn registration(shell: &str) -> Result<Vec<u8>> {
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells.completer(shell).ok_or_else(|| {
        Error::usage(format!("no completions for '{shell}' (bash, zsh, fish, powershell, elvish)"))
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
        candidates.push(
            clap_complete::CompletionCandidate::new(provider.name()).help(Some(provider.spec().title.into())),
        );
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

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
