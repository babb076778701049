use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, Result};
use clap::CommandFactory;

/// Writes the completion script for a shell; the generated files are also committed
/// under `completions/` (a test keeps them current).
pub fn completions(args: &CompletionsArgs) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut full_command(), "tok", &mut out);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &out)
        .map_err(|e| Error::other(format!("cannot write to stdout: {e}")))
}

/// The whole command tree. Subcommands are built lazily (`defer` in `cli.rs`) so that a
/// run pays only for its own; a completion script needs them all.
fn full_command() -> clap::Command {
    let mut command = Cli::command();
    command.build();
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap_complete::Shell;

    /// The committed scripts are what this build generates. Run with
    /// `TOK_UPDATE_COMPLETIONS=1 cargo test completions` to rewrite them.
    #[test]
    fn committed_completions_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
        let update = std::env::var_os("TOK_UPDATE_COMPLETIONS").is_some();
        let files = [
            (Shell::Bash, "tok.bash"),
            (Shell::Zsh, "_tok"),
            (Shell::Fish, "tok.fish"),
            (Shell::PowerShell, "_tok.ps1"),
            (Shell::Elvish, "tok.elv"),
        ];
        for (shell, name) in files {
            let mut generated = Vec::new();
            clap_complete::generate(shell, &mut full_command(), "tok", &mut generated);
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

#[cfg(test)]
mod man {
    use super::full_command;

    /// `man/tok.1` is what clap_mangen makes of the current command line. Run with
    /// `TOK_UPDATE_COMPLETIONS=1 cargo test man` to rewrite it.
    #[test]
    fn committed_man_page_is_current() {
        let mut generated = Vec::new();
        clap_mangen::Man::new(full_command()).render(&mut generated).unwrap();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/tok.1");
        if std::env::var_os("TOK_UPDATE_COMPLETIONS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        assert!(
            std::fs::read(&path).unwrap_or_default() == generated,
            "man/tok.1 is stale: run TOK_UPDATE_COMPLETIONS=1 cargo test man"
        );
    }
}
