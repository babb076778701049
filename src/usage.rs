//! clap's usage errors in tok's words. clap quotes what was typed ("unexpected argument
//! 'demo-password' found"), and what was typed in the wrong place is often a secret: a
//! password after `--secret-stdin`, a client secret after `--client-id ID`, a key where a
//! variable name goes. Here an error names the option or the position instead, never a
//! value; only tok's own names (options, commands, possible values) are quoted.

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// The ways tok does take a secret, for every message about one typed on the command line.
pub const SECRET_WAYS: &str = "give it on stdin with --secret-stdin, in TOK_<PROFILE>_<FIELD> \
    (e.g. TOK_NEXTERPAY_PASSWORD), or at the prompt";

/// The same for the keys of `tok sign` and `tok inspect --verify`.
const KEY_WAYS: &str = "give a key with --key-file FILE, --key-env VAR (the variable's name) or --key-stdin";

fn ways(cmd: &clap::Command) -> &'static str {
    if matches!(cmd.get_name(), "sign" | "inspect") { KEY_WAYS } else { SECRET_WAYS }
}

fn if_secret(cmd: &clap::Command) -> String {
    format!(
        "if it is a secret: tok never takes one as an argument, where other users can read it; {}",
        ways(cmd)
    )
}

fn no_secret_value(flag: &str, cmd: &clap::Command) -> Explained {
    Explained {
        message: format!("`{flag}` takes no value, and tok never takes secrets as arguments: {}", ways(cmd)),
        ..Default::default()
    }
}

/// An error's first line and the tips under it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Explained {
    pub message: String,
    pub tips: Vec<String>,
    /// Lines of clap's own under the message (the arguments missing, say), as clap wrote them.
    pub detail: String,
}

/// `e`, raised by `root` parsing `words` (`words[0]` is the program), told without
/// repeating any word the user typed but tok's own names.
pub fn explain(e: &clap::Error, root: &clap::Command, words: &[String]) -> Explained {
    let sub = words.iter().skip(1).find_map(|w| root.find_subcommand(w));
    let cmd = sub.unwrap_or(root);
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        Some(ContextValue::Strings(v)) => v.first().map(String::as_str),
        _ => None,
    };
    let strings = |kind| match e.get(kind) {
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    // "--format <FORMAT>" or "<PROFILE>": the option's name is tok's, its value is not.
    let arg_name = || text(ContextKind::InvalidArg).map(|a| a.split(' ').next().unwrap_or(a).to_string());
    let said = |message: String, tips: Vec<String>| Explained { message, tips, ..Default::default() };
    match e.kind() {
        ErrorKind::UnknownArgument => unknown(e, root, cmd, sub.is_some(), words),
        ErrorKind::InvalidSubcommand => {
            let mut tips: Vec<String> = strings(ContextKind::SuggestedSubcommand)
                .iter()
                .map(|s| format!("did you mean `{s}`?"))
                .collect();
            tips.push(format!("the commands: {}", command_names(root).join(", ")));
            said(
                "tok has no such command (what was typed is not repeated: it could be a secret)".into(),
                tips,
            )
        }
        ErrorKind::InvalidValue => {
            let name = arg_name().unwrap_or_else(|| "an option".into());
            let valid = strings(ContextKind::ValidValue);
            let typed = text(ContextKind::InvalidValue).unwrap_or("");
            if typed.is_empty() {
                return said(format!("`{name}` needs a value"), possible(&valid));
            }
            let mut tips = Vec::new();
            // `--format JSON`, `--alg hs256`: the right value in its right case.
            if let Some(right) = valid.iter().find(|v| v.eq_ignore_ascii_case(typed)) {
                tips.push(format!("did you mean `{right}`? The values are case-sensitive"));
            } else {
                tips.extend(
                    strings(ContextKind::SuggestedValue).iter().map(|s| format!("did you mean `{s}`?")),
                );
            }
            tips.extend(possible(&valid));
            said(format!("invalid value for `{name}`"), tips)
        }
        ErrorKind::ValueValidation => {
            let name = arg_name().unwrap_or_else(|| "an option".into());
            // The value parsers in `cli.rs` never quote the value either.
            let why = std::error::Error::source(e).map(|s| format!(": {s}")).unwrap_or_default();
            said(format!("invalid value for `{name}`{why}"), Vec::new())
        }
        ErrorKind::TooManyValues => {
            let name = arg_name().unwrap_or_else(|| "an option".into());
            takes_no_value(&name, cmd)
        }
        _ => {
            // The other kinds quote tok's own names only, but a value typed in the wrong
            // place must not slip through one of them either.
            let rendered = hide_typed(&e.render().to_string(), words, cmd);
            let mut lines = rendered
                .lines()
                .filter(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"));
            let first = lines.next().unwrap_or("invalid command line");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let rest: Vec<&str> = lines.collect();
            Explained { message: first.into(), tips: Vec::new(), detail: rest.join("\n").trim_end().into() }
        }
    }
}

/// An argument clap did not expect: an option tok does not have, or a word in a place
/// that takes none.
fn unknown(
    e: &clap::Error,
    root: &clap::Command,
    cmd: &clap::Command,
    in_sub: bool,
    words: &[String],
) -> Explained {
    let typed = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let tok_cmd = if in_sub { format!("tok {}", cmd.get_name()) } else { "tok".into() };
    if typed.starts_with('-') && typed != "-" && typed != "--" {
        // clap names `-p` for `-pSECRET`: judge the word as typed.
        let word = culprit(e.kind(), root, words).and_then(|i| words.get(i)).unwrap_or(&typed);
        let curl_tip = (cmd.get_name() == "curl" && in_sub)
            .then(|| "curl's own options go after the profile: tok curl <PROFILE> -s /path".to_string());
        let Some(name) = option_name(word) else {
            return Explained {
                message: format!("an unexpected option for `{tok_cmd}` (not repeated: it could be a secret)"),
                tips: curl_tip.into_iter().chain([if_secret(cmd)]).collect(),
                ..Default::default()
            };
        };
        if looks_secret(&name) {
            return Explained {
                message: format!(
                    "tok never takes secrets as flags (`{name}` is not an option): {}",
                    ways(cmd)
                ),
                tips: Vec::new(),
                ..Default::default()
            };
        }
        let mut tips: Vec<String> = curl_tip.into_iter().collect();
        // `tok print p --json`: the value of one of the command's options, as a flag.
        let bare = name.trim_start_matches('-');
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long()
                && arg.get_possible_values().iter().any(|v| v.get_name() == bare)
            {
                tips.push(format!("did you mean `--{long} {bare}`?"));
            }
        }
        if tips.is_empty()
            && let Some(ContextValue::String(s)) = e.get(ContextKind::SuggestedArg)
        {
            tips.push(format!("did you mean `{s}`?"));
        }
        return Explained {
            message: format!("`{tok_cmd}` has no option `{name}`"),
            tips,
            ..Default::default()
        };
    }
    let at = culprit(e.kind(), root, words);
    let before = at.and_then(|i| words.get(..i)).unwrap_or(&[]);
    let place = position(before, cmd, root, &tok_cmd);
    let flag = before.last().and_then(|w| option_name(w)).filter(|_| before.len() > 1);
    if let Some(flag) = flag.filter(|f| !takes_value(cmd, root, f)) {
        if looks_secret(&flag) || flag.ends_with("-stdin") {
            return no_secret_value(&flag, cmd);
        }
        return Explained {
            message: format!("an unexpected argument {place} (not repeated: it could be a secret)"),
            tips: vec![format!("`{flag}` takes no value"), if_secret(cmd)],
            ..Default::default()
        };
    }
    Explained {
        message: format!("an unexpected argument {place} (not repeated: it could be a secret)"),
        tips: vec![if_secret(cmd)],
        ..Default::default()
    }
}

/// "`--all` takes no value" for `--all=VALUE`.
fn takes_no_value(name: &str, cmd: &clap::Command) -> Explained {
    if looks_secret(name) || name.ends_with("-stdin") {
        return no_secret_value(name, cmd);
    }
    Explained { message: format!("`{name}` takes no value"), ..Default::default() }
}

/// Where the unexpected word was, told by what came before it.
fn position(before: &[String], cmd: &clap::Command, root: &clap::Command, tok_cmd: &str) -> String {
    let n = before.len();
    if n == 0 {
        return "on the command line".into();
    }
    if let Some(flag) = option_name(&before[n - 1]).filter(|_| n > 1) {
        let value = if before[n - 1].contains('=') { " and its value" } else { "" };
        return format!("after `{flag}`{value}");
    }
    if n >= 3
        && !before[n - 2].contains('=')
        && let Some(flag) = option_name(&before[n - 2]).filter(|f| takes_value(cmd, root, f))
    {
        return format!("after `{flag}` and its value");
    }
    if before[n - 1] == cmd.get_name() {
        return format!("after `{tok_cmd}`");
    }
    format!("in position {n} of `{tok_cmd}`")
}

/// The index in `words` of the word that made `kind` of error: the shortest prefix of the
/// command line that fails the same way ends with it. Parsing is left to right, so the
/// first failing prefix is the culprit even when the same word appears twice.
fn culprit(kind: ErrorKind, root: &clap::Command, words: &[String]) -> Option<usize> {
    (2..=words.len()).find_map(|k| match root.clone().try_get_matches_from(&words[..k]) {
        Err(e) if e.kind() == kind => Some(k - 1),
        _ => None,
    })
}

/// `--name` of `--name=value`, `-x` of `-x`; `None` when the word is not spelt as an
/// option of tok's could be (lower-case letters, digits and dashes; a short one alone),
/// which tok would not repeat: `-pSECRET` is not `-p`.
fn option_name(word: &str) -> Option<String> {
    if let Some(long) = word.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or(long);
        let plain = !name.is_empty()
            && name.len() <= 40
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        return plain.then(|| format!("--{name}"));
    }
    let mut chars = word.strip_prefix('-')?.chars();
    let short = chars.next()?;
    (short.is_ascii_alphanumeric() && chars.next().is_none()).then(|| format!("-{short}"))
}

fn takes_value(cmd: &clap::Command, root: &clap::Command, flag: &str) -> bool {
    let find = |c: &clap::Command| {
        c.get_arguments()
            .find(|a| match flag.strip_prefix("--") {
                Some(long) => a.get_long() == Some(long),
                None => flag.strip_prefix('-').and_then(|s| s.chars().next()) == a.get_short(),
            })
            .map(|a| a.get_action().takes_values())
    };
    find(cmd).or_else(|| find(root)).unwrap_or(false)
}

/// An option name that says it carries a secret: `--password`, `--client-secret`,
/// `--api-key`, `--refresh-token`, `--key`... but not `--token-url` or `--key-id`,
/// which name something about a secret.
pub fn looks_secret(flag: &str) -> bool {
    const SECRET: &[&str] = &[
        "password",
        "passwd",
        "pass",
        "pw",
        "pwd",
        "secret",
        "token",
        "key",
        "apikey",
        "credential",
        "credentials",
        "creds",
        "bearer",
        "authorization",
        "jwt",
        "pin",
    ];
    const ABOUT: &[&str] =
        &["id", "file", "env", "stdin", "url", "name", "type", "ttl", "endpoint", "var", "path", "kind"];
    let words: Vec<String> =
        flag.trim_start_matches('-').split(['-', '_']).map(|w| w.to_ascii_lowercase()).collect();
    words.iter().any(|w| SECRET.contains(&w.as_str())) && !words.iter().any(|w| ABOUT.contains(&w.as_str()))
}

fn possible(valid: &[String]) -> Vec<String> {
    if valid.is_empty() { Vec::new() } else { vec![format!("possible values: {}", valid.join(", "))] }
}

fn command_names(root: &clap::Command) -> Vec<&str> {
    root.get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name())
        .filter(|n| *n != "help")
        .collect()
}

/// `text` with every quoted word of the command line that is not one of tok's own names
/// cut out.
fn hide_typed(text: &str, words: &[String], cmd: &clap::Command) -> String {
    let mut text = text.to_string();
    for word in words.iter().skip(1) {
        let ours = option_name(word).is_some_and(|n| n == *word) || cmd.find_subcommand(word).is_some();
        if !ours && !word.is_empty() {
            text = text.replace(&format!("'{word}'"), "(a value typed, not repeated)");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `explain` says for a command line, as main.rs parses it.
    fn explained(line: &[&str]) -> Explained {
        use clap::CommandFactory;
        let mut root = crate::cli::Cli::command().bin_name("tok");
        let words: Vec<String> =
            std::iter::once("tok").chain(line.iter().copied()).map(String::from).collect();
        let e = root.try_get_matches_from_mut(&words).expect_err("a usage error");
        explain(&e, &root, &words)
    }

    #[test]
    fn errors_name_the_place_never_the_value() {
        let cases: &[(&[&str], &str)] = &[
            (&["login", "p", "--secret-stdin", "pw1"], "`--secret-stdin` takes no value"),
            (&["login", "p", "--check=pw1"], "`--check` takes no value"),
            (
                &["login", "p", "--client-id", "x", "pw1"],
                "an unexpected argument after `--client-id` and its value",
            ),
            (&["login", "p", "--check", "pw1"], "an unexpected argument after `--check`"),
            (&["print", "p", "pw1"], "an unexpected argument in position 3 of `tok print`"),
            (&["login", "pw1", "pw1"], "an unexpected argument in position 3 of `tok login`"),
            (
                &["login", "p", "--password=pw1"],
                "tok never takes secrets as flags (`--password` is not an option)",
            ),
            (&["sign", "--private-key", "pw1"], "--key-file FILE"),
            (&["print", "p", "--format", "pw1"], "invalid value for `--format`"),
            (&["print", "p", "--min-ttl", "pw1"], "invalid value for `--min-ttl`: not a duration"),
            (&["print", "P.W1"], "invalid value for `<PROFILE>`"),
            (&["pw1"], "tok has no such command"),
            (&["print", "p", "-Xpw1"], "an unexpected option for `tok print`"),
            (&["print", "p", "-X"], "`tok print` has no option `-X`"),
        ];
        for (line, says) in cases {
            let e = explained(line);
            let all = format!("{}\n{}\n{}", e.message, e.tips.join("\n"), e.detail);
            assert!(e.message.contains(says), "{line:?}: {all}");
            assert!(!all.to_ascii_lowercase().contains("pw1"), "{line:?} repeats the value: {all}");
        }
    }

    #[test]
    fn secret_looking_flags() {
        for yes in [
            "--password",
            "--client-secret",
            "--api-key",
            "--refresh-token",
            "--secret",
            "--token",
            "--key",
            "--private-key",
            "--pass",
            "--apikey",
            "--client_secret",
        ] {
            assert!(looks_secret(yes), "{yes}");
        }
        for no in [
            "--token-url",
            "--key-id",
            "--key-file",
            "--key-env",
            "--secret-stdin",
            "--username",
            "--client-id",
            "--format",
            "--json",
            "--min-ttl",
        ] {
            assert!(!looks_secret(no), "{no}");
        }
    }

    #[test]
    fn option_names_are_repeated_only_when_plain() {
        let cases = [
            ("--password=hunter2", Some("--password")),
            ("--secret-stdin=demo", Some("--secret-stdin")),
            ("--sk_live_51H8", None),
            ("--Hunter2", None),
            ("-pSECRET", None),
            ("-s", Some("-s")),
            ("-!x", None),
            ("plain", None),
        ];
        for (word, name) in cases {
            assert_eq!(option_name(word).as_deref(), name, "{word}");
        }
    }
}
