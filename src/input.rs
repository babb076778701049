//! Where secrets come from, in the order `cli.md` fixes: `--secret-stdin`, the
//! `TOK_<PROFILE>_<FIELD>` variable, the store, and a hidden prompt on a terminal.
//! There is no flag that takes a secret as its value: argv is visible to every user.
//!
//! Secrets are asked for lazily, by the provider, only when a request needs one: a
//! cached `tok print` never reads a secret.

use crate::error::{Error, Result};
use crate::profile::{env_name, env_value};
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
        self.got.push((field, secret.clone(), origin));
        Ok(secret)
    }

    fn find(&mut self, field: &'static str, label: &str) -> Result<(Secret, Origin)> {
        if self.stdin && !self.stdin_used {
            self.stdin_used = true;
            return Ok((read_stdin_line(label)?, Origin::Stdin));
        }
        if let Some(value) = env_value(self.profile, field) {
            return Ok((Secret::new(value), Origin::Env));
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

    /// The secrets obtained so far, to be saved by a login.
    pub fn collected(&self) -> Vec<(&'static str, Secret)> {
        self.got.iter().map(|(f, s, _)| (*f, s.clone())).collect()
    }
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
