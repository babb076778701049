//! A profile: a name, a provider, and the provider's non-secret settings, resolved once
//! from flags, `TOK_<PROFILE>_<FIELD>` variables and `config.toml`, in that order.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::provider::Provider;
use crate::store::StoreKind;

pub use crate::naming::{env_name, validate_name};

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub provider: Provider,
    pub settings: Settings,
    /// Whether `config.toml` has it (a login happened), as opposed to flags or variables only.
    pub saved: bool,
    /// The store it was logged in with (`store` in `config.toml`).
    pub store: Option<StoreKind>,
    /// When a request made with its credential last succeeded, for providers whose login
    /// cannot check the credential (`verified` in `config.toml`, Unix seconds).
    pub verified: Option<i64>,
}

/// Another profile among `others` whose variables are `name`'s (`p.q`, `p-q` and `p_q`
/// all read `TOK_P_Q_*`): the two would share credentials from the environment.
pub fn variable_twin<'a>(name: &str, others: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let prefix = env_name(name, "");
    others.into_iter().find(|other| *other != name && env_name(other, "") == prefix)
}

/// The refusal for two profiles that read the same variables.
pub fn twin_error(name: &str, twin: &str, doing: &str) -> Error {
    Error::usage(format!(
        "profiles '{twin}' and '{name}' read the same variables ({}*): {doing}",
        env_name(name, "")
    ))
    .hint(format!("use a name that differs from '{twin}' in more than '.', '-' and '_'"))
}

pub fn env_value(profile: &str, field: &str) -> Option<String> {
    std::env::var(env_name(profile, field)).ok().filter(|v| !v.is_empty())
}

/// Resolves a profile. `flags` are the settings given on this command line (login);
/// `saved` is the profile's entry in `config.toml`, if any.
pub fn resolve(
    name: &str,
    provider_flag: Option<Provider>,
    flags: &[(&'static str, String)],
    saved: Option<&Settings>,
) -> Result<Profile> {
    resolve_among(name, provider_flag, flags, saved, &[])
}

/// `resolve`, with the names of the profiles that exist, for "did you mean".
pub fn resolve_among(
    name: &str,
    provider_flag: Option<Provider>,
    flags: &[(&'static str, String)],
    saved: Option<&Settings>,
    known: &[String],
) -> Result<Profile> {
    let provider = match provider_flag {
        Some(p) => p,
        None => {
            let named =
                env_value(name, "provider").or_else(|| saved.and_then(|s| s.get("provider").cloned()));
            match named {
                Some(p) => Provider::from_name(&p).ok_or_else(|| {
                    Error::usage(format!(
                        "profile '{name}' names an unknown provider{}",
                        crate::secret::near_miss(&p, &Provider::names())
                    ))
                    .hint(format!("providers: {}", Provider::names().join(", ")))
                })?,
                None => Provider::from_name(name).ok_or_else(|| {
                    let error = Error::not_logged_in(format!("no profile named '{name}'"));
                    match closest(name, known.iter().map(String::as_str).chain(Provider::names())) {
                        Some(near) => error.hint(format!("did you mean '{near}'?")),
                        None => error.hint(format!(
                            "run `tok login {name} --provider <P>` (`tok providers` lists them: {})",
                            Provider::names().join(", ")
                        )),
                    }
                })?,
            }
        }
    };
    // Saved settings of another provider do not carry over when a login switches it.
    let saved = saved.filter(|s| s.get("provider").is_none_or(|p| p == provider.name()));
    let mut settings = Settings::new();
    for field in provider.fields() {
        let flag = flags.iter().find(|(f, _)| *f == field).map(|(_, v)| v.clone());
        if let Some(value) =
            flag.or_else(|| env_value(name, field)).or_else(|| saved.and_then(|s| s.get(field).cloned()))
        {
            settings.insert(field.to_string(), value);
        }
    }
    // The shared cache's settings apply to every provider (see `store::shared`).
    for field in crate::store::shared::SETTINGS {
        if let Some(value) = env_value(name, field).or_else(|| saved.and_then(|s| s.get(field).cloned())) {
            settings.insert(field.to_string(), value);
        }
    }
    // `--allow-host ''` clears the list rather than saving an empty one.
    settings.retain(|field, value| !(field == "allow_host" && value.trim().is_empty()));
    for (field, _) in flags {
        if !provider.has_field(field) {
            return Err(Error::usage(format!(
                "--{} does not apply to the {} provider",
                field.replace('_', "-"),
                provider.name()
            )));
        }
    }
    let store = saved.and_then(|s| s.get("store")).and_then(|s| StoreKind::from_name(s));
    let verified = saved.and_then(|s| s.get("verified")).and_then(|v| v.parse().ok());
    Ok(Profile { name: name.to_string(), provider, settings, saved: saved.is_some(), store, verified })
}

/// The candidate nearest to `word` by edit distance, if it is near enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 4).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb { previous } else { 1 + previous.min(row[j]).min(current) };
            previous = current;
        }
    }
    row[b.len()]
}

/// `TOK_<PROFILE>_<SOMETHING>` variables that are no setting of the profile but nearly
/// one (`TOK_NEXTERPAY_BASEURL`): a warning names the right one, since a misspelt
/// variable otherwise just does nothing.
pub fn warn_misspelt_variables(profile: &Profile) {
    let prefix = env_name(&profile.name, "");
    let known: Vec<String> = profile
        .provider
        .fields()
        .chain(profile.provider.secrets())
        .chain(["provider", "token", "header", "store"])
        .chain(crate::store::shared::SETTINGS)
        .map(|f| f.to_ascii_uppercase())
        .collect();
    for (var, _) in std::env::vars_os() {
        let Some(rest) = var.to_str().and_then(|v| v.strip_prefix(&prefix)) else { continue };
        if known.iter().any(|k| k == rest) {
            continue;
        }
        if let Some(near) = closest(rest, known.iter().map(String::as_str)) {
            crate::term::warn(&format!(
                "{prefix}{rest} is not a {} setting; did you mean {prefix}{near}?",
                profile.provider.name()
            ));
        }
    }
}

impl Profile {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.settings.get(field).map(String::as_str)
    }

    /// A URL setting, checked as `http::base_url` checks one. Its error names the profile
    /// and the setting, since the value itself is never repeated (it may hold a key).
    pub fn url(&self, field: &str) -> Result<Option<reqwest::Url>> {
        self.get(field).map(|text| self.url_of(field, text)).transpose()
    }

    /// A required URL setting: [`Profile::require`], then [`Profile::url`]'s checks.
    pub fn require_url(&self, field: &str) -> Result<reqwest::Url> {
        self.url_of(field, self.require(field)?)
    }

    /// The error names the setting as `config.toml` has it and as `tok login` takes it:
    /// the value came from one of them (or the environment), and is never repeated.
    fn url_of(&self, field: &str, text: &str) -> Result<reqwest::Url> {
        crate::http::base_url(text).map_err(|e| {
            let flag = self.provider.flag(field).filter(|f| !f.is_empty());
            e.within(match flag {
                Some(flag) => format!("profile '{}': {field} ({flag})", self.name),
                None => format!("profile '{}': {field}", self.name),
            })
        })
    }

    /// A required setting, or exit 3 with a complete login command and the variables
    /// that would do instead.
    pub fn require(&self, field: &str) -> Result<&str> {
        self.get(field).ok_or_else(|| {
            let what = field.replace('_', " ");
            let message = if self.saved {
                format!("profile '{}' has no {what}", self.name)
            } else {
                format!("not logged in to '{}'", self.name)
            };
            let variables: Vec<String> = self
                .provider
                .missing(self)
                .iter()
                .map(|s| env_name(&self.name, s.field))
                .chain(self.provider.needed_secrets(self).iter().map(|s| env_name(&self.name, s.field)))
                .collect();
            Error::not_logged_in(message).hint(format!(
                "run `{}`, or set {} to work without a login",
                self.login_example(),
                variables.join(" ")
            ))
        })
    }

    /// A complete login command for this profile: every required setting with what it has
    /// or a placeholder, and where the secret comes from.
    /// A complete `tok login` command for this profile: every required setting with the
    /// value it has or a placeholder.
    pub fn login_example(&self) -> String {
        let spec = self.provider.spec();
        let mut words = vec![format!("tok login {}", self.name)];
        if Provider::from_name(&self.name) != Some(self.provider) {
            words.push(format!("--provider {}", spec.name));
        }
        let get = |f: &str| self.get(f).map(str::to_string);
        for setting in spec.settings {
            if setting.flag.is_empty() || !setting.need.required(get) {
                continue;
            }
            let value = self
                .get(setting.field)
                .map(|v| crate::secret::outside(shell_word(v)).to_string())
                .unwrap_or_else(|| setting.placeholder.to_string());
            words.push(format!("{} {value}", setting.flag));
        }
        if self.get("mode") == Some("api-key") {
            words.push("--api-key".into());
        }
        words.join(" ")
    }

    /// Where this profile's secret can come from, for hints.
    pub fn secret_sources(&self) -> Option<String> {
        let secret = *self.provider.needed_secrets(self).first()?;
        Some(format!(
            "the {} is asked for, or read with --secret-stdin or from {}",
            secret.label,
            env_name(&self.name, secret.field)
        ))
    }

    /// What `config.toml` keeps for this profile.
    pub fn saved(&self) -> Settings {
        let mut s = self.settings.clone();
        s.insert("provider".into(), self.provider.name().into());
        if let Some(store) = self.store {
            s.insert("store".into(), store.name().into());
        }
        if let Some(at) = self.verified {
            s.insert("verified".into(), at.to_string());
        }
        s
    }
}

fn shell_word(value: &str) -> String {
    if value.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c)) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names() {
        let table = [
            ("n3xt", "client_id", "TOK_N3XT_CLIENT_ID"),
            ("merchant-v2", "merchant_id", "TOK_MERCHANT_V2_MERCHANT_ID"),
            ("nexterpay.prod", "password", "TOK_NEXTERPAY_PROD_PASSWORD"),
            ("netdirector-v1", "base_url", "TOK_NETDIRECTOR_V1_BASE_URL"),
        ];
        for (profile, field, want) in table {
            assert_eq!(env_name(profile, field), want);
        }
    }

    #[test]
    fn variable_twins_table() {
        let existing = ["p.q", "prod", "nexterpay"];
        let table = [
            ("p-q", Some("p.q")),
            ("p_q", Some("p.q")),
            ("p.q", None),
            ("pq", None),
            ("p.q.r", None),
            ("pro-d", None),
            ("nexterpay", None),
        ];
        for (name, want) in table {
            assert_eq!(variable_twin(name, existing), want, "{name}");
        }
    }

    #[test]
    fn typos_table() {
        let table = [
            ("nexterpy", Some("nexterpay")),
            ("netdirectr", Some("netdirector")),
            ("BASEURL", Some("BASE_URL")),
            ("n3x", Some("n3xt")),
            ("zzzzzz", None),
            ("nexterpay", None),
        ];
        let candidates = ["nexterpay", "netdirector", "netdirector-v1", "n3xt", "BASE_URL", "USERNAME"];
        for (word, want) in table {
            assert_eq!(closest(word, candidates), want, "{word}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn names() {
        for ok in ["nexterpay", "n3xt", "a", "0x", "acme-key", "prod.eu_1"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", ".x", "Upper", "a b", "a/b", "ä", &"a".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
