//! Where secrets come from, in the order `cli.md` fixes: `--secret-stdin`, the
//! `TOK_<PROFILE>_<FIELD>` variable, the store, and a hidden prompt on a terminal.
//! There is no flag that takes a secret as its value: argv is visible to every user.
//!
//! Secrets are asked for lazily, by the provider, only when a request needs one: a
//! cached `tok print` never reads a secret.

use crate::error::{Error, Result};
use crate::naming::env_name;
use crate::secret::Secret;
use crate::store::Store;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Stdin,
    Env,
    Store,
    Prompt,
}

pub struct Secrets<'a> {
    profile: &'a str,
    store: Option<&'a Store>,
    stdin: bool,
    stdin_used: bool,
    interactive: bool,
    /// A login: a new secret (stdin, environment, prompt) wins over the stored one, and
    /// the prompt can be left empty to keep it.
    login: bool,
    got: Vec<(&'static str, Secret, Origin)>,
    /// The token of a token-exchange profile's subject profile, got by the caller before it
    /// took this profile's lock: a secret used, never saved as this profile's.
    subject: Option<Secret>,
}

impl<'a> Secrets<'a> {
    /// `store`: where saved secrets may come from (none at login, or when it is unusable).
    pub fn new(profile: &'a str, store: Option<&'a Store>, stdin: bool) -> Secrets<'a> {
        Secrets {
            profile,
            store,
            stdin,
            stdin_used: false,
            interactive: std::io::stdin().is_terminal(),
            login: false,
            got: Vec::new(),
            subject: None,
        }
    }

    /// For `tok login`: `stored` is the store of an existing profile, whose secrets are
    /// kept unless a new one is given, so editing a setting needs no re-typing.
    pub fn for_login(profile: &'a str, stored: Option<&'a Store>, stdin: bool) -> Secrets<'a> {
        Secrets { login: true, ..Secrets::new(profile, stored, stdin) }
    }

    /// The secret `field` (e.g. `password`); `label` names it for people ("NexterPay password").
    pub fn get(&mut self, field: &'static str, label: &str) -> Result<Secret> {
        if let Some((_, secret, _)) = self.got.iter().find(|(f, _, _)| *f == field) {
            return Ok(secret.clone());
        }
        let (secret, origin) = self.find(field, label)?;
        if secret.is_empty() {
            return Err(Error::not_logged_in(format!("the {label} for {} is empty", self.profile)));
        }
        if let Err(why) = shape(field, secret.expose()) {
            return Err(Error::usage(format!("{} {why}", self.source(field, label, origin)))
                .hint(format!("give the {label} exactly, without quotes, spaces or line breaks around it")));
        }
        self.got.push((field, secret.clone(), origin));
        Ok(secret)
    }

    fn find(&mut self, field: &'static str, label: &str) -> Result<(Secret, Origin)> {
        if self.stdin && !self.stdin_used {
            self.stdin_used = true;
            return Ok((read_stdin_line(label)?, Origin::Stdin));
        }
        if let Some(value) = env_secret(&env_name(self.profile, field), label)? {
            return Ok((value, Origin::Env));
        }
        let stored = match self.store {
            Some(store) => store.secret(self.profile, field)?,
            None => None,
        };
        if let Some(secret) = stored.clone()
            && !(self.login && self.interactive)
        {
            return Ok((secret, Origin::Store));
        }
        if self.interactive {
            let keep = if stored.is_some() { " (Enter keeps the stored one)" } else { "" };
            let prompt = format!("{label} for {}{keep}: ", self.profile);
            let value = rpassword::prompt_password(prompt)
                .map_err(|e| Error::not_logged_in(format!("cannot read the {label}: {e}")))?;
            return match (value.is_empty(), stored) {
                (true, Some(secret)) => Ok((secret, Origin::Store)),
                _ => Ok((Secret::new(value), Origin::Prompt)),
            };
        }
        Err(Error::not_logged_in(format!("no {label} for profile '{}'", self.profile)).hint(format!(
            "run `tok login {p}`, pass --secret-stdin, or set {}",
            env_name(self.profile, field),
            p = self.profile
        )))
    }

    pub fn profile(&self) -> &str {
        self.profile
    }

    /// Whether this is `tok login`, the only command that may start an interactive grant.
    pub fn is_login(&self) -> bool {
        self.login
    }

    /// A secret the login read otherwise (a key file), to be saved with the others.
    pub fn provide(&mut self, field: &'static str, secret: Secret) {
        self.got.retain(|(f, _, _)| *f != field);
        self.got.push((field, secret, Origin::Stdin));
    }

    /// The subject token a token exchange sends (`flow::subject_token`).
    pub fn set_subject(&mut self, token: Option<Secret>) {
        self.subject = token;
    }

    pub fn subject(&self) -> Option<&Secret> {
        self.subject.as_ref()
    }

    /// Where a secret came from, for an error that must never show it.
    fn source(&self, field: &str, label: &str, origin: Origin) -> String {
        match origin {
            Origin::Env => env_name(self.profile, field),
            Origin::Stdin => format!("the {label} read from stdin"),
            Origin::Store => format!("the stored {label} of {}", self.profile),
            Origin::Prompt => format!("the {label} typed"),
        }
    }

    /// The secrets obtained so far, to be saved by a login.
    pub fn collected(&self) -> Vec<(&'static str, Secret)> {
        self.got.iter().map(|(f, s, _)| (*f, s.clone())).collect()
    }
}

/// A secret variable: absent or empty is none; a value that is not UTF-8 is a usage error
/// naming the variable (never its value), not a silent fall-through to a prompt.
fn env_secret(name: &str, label: &str) -> Result<Option<Secret>> {
    match std::env::var(name) {
        Ok(value) if value.is_empty() => Ok(None),
        Ok(value) => Ok(Some(Secret::new(value))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::usage(format!("{name} is not valid UTF-8; the {label} in it cannot be used"))
                .hint(format!("set {name} to the {label} as text (UTF-8)")))
        }
    }
}

/// Whether a secret can be what it claims to be. No secret holds a control character (a
/// line break or tab is a copy-paste or `$(cat file)` slip, and would break a header); an
/// API key is the header value itself, or an HMAC key providers issue as printable ASCII,
/// so it has no spaces or non-ASCII either. Failing here is the user's to fix (exit 2),
/// not "the server sent an unusable token" (exit 5) or a puzzling rejection (exit 4).
fn shape(field: &str, secret: &str) -> std::result::Result<(), &'static str> {
    // A PEM key is lines by nature; the key reader checks it (private_key_jwt, DPoP, the
    // TLS client key).
    if field == "private_key" || field == crate::dpop::KEY_FIELD || field == crate::client_cert::SECRET {
        return Ok(());
    }
    if secret.chars().any(|c| c.is_control()) {
        return Err(if secret.contains(['\r', '\n']) {
            "contains a line break"
        } else {
            "contains a control character (a tab, escape...)"
        });
    }
    if field == "api_key" {
        if secret.contains(char::is_whitespace) {
            return Err("contains a space; an API key has none");
        }
        if !secret.is_ascii() {
            return Err("contains a non-ASCII character; an API key has none");
        }
    }
    Ok(())
}

fn read_stdin_line(label: &str) -> Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::not_logged_in(format!("cannot read the {label} from stdin: {e}")))?;
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    let secret = Secret::new(trimmed);
    drop(line);
    Ok(secret)
}

/// Asks for a non-secret setting (a user name) on a terminal; `None` when there is none.
pub fn prompt_line(label: &str) -> Result<Option<String>> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    // A closed stderr loses the prompt, not the run.
    let _ = write!(std::io::stderr(), "{label}: ").and_then(|()| std::io::stderr().flush());
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::other(format!("cannot read {label}: {e}")))?;
    let value = line.trim().to_string();
    Ok((!value.is_empty()).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_table() {
        // (field, secret, error fragment or None)
        let cases = [
            ("api_key", "demo-api-key-7f3c9a12", None),
            ("api_key", "nps-demo-api-key-0f9e8d7c6b5a", None),
            ("api_key", "key\n", Some("line break")),
            ("api_key", "key\r", Some("line break")),
            ("api_key", "ke\ty", Some("control character")),
            ("api_key", "key\u{1b}[31m", Some("control character")),
            ("api_key", "key\u{7f}", Some("control character")),
            ("api_key", " key", Some("space")),
            ("api_key", "key key", Some("space")),
            ("api_key", "key\u{a0}", Some("space")),
            ("api_key", "kéy", Some("non-ASCII")),
            ("password", "two words and ü", None),
            ("client_secret", "s3cr3t/+?&=:%ü é", None),
            ("password", "line\nbreak", Some("line break")),
            ("password", "nul\u{0}", Some("control character")),
            ("private_key", "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n", None),
        ];
        for (field, secret, want) in cases {
            let got = shape(field, secret);
            match want {
                None => assert!(got.is_ok(), "{field} {secret:?}: {got:?}"),
                Some(want) => assert!(got.is_err_and(|e| e.contains(want)), "{field} {secret:?}"),
            }
        }
    }
}
