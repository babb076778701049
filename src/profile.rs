//! A profile: a name, a provider, and the provider's non-secret settings, resolved once
//! from flags, `TOK_<PROFILE>_<FIELD>` variables and `config.toml`, in that order.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::provider::Provider;

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub provider: Provider,
    pub settings: Settings,
    /// Whether `config.toml` has it (a login happened), as opposed to flags or variables only.
    pub saved: bool,
}

/// `[a-z0-9][a-z0-9._-]*`, as `cli.md` fixes; the length cap keeps keyring entry names and
/// file names sane.
pub fn validate_name(name: &str) -> Result<String, String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !first_ok || !rest_ok {
        return Err(format!(
            "invalid profile name '{name}': use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit"
        ));
    }
    if name.len() > 64 {
        return Err("a profile name has at most 64 characters".into());
    }
    Ok(name.to_string())
}

/// `TOK_<PROFILE>_<FIELD>`: profile upper-cased, `-` and `.` turned into `_`.
pub fn env_name(profile: &str, field: &str) -> String {
    let mut name = String::from("TOK_");
    for c in profile.chars().chain(std::iter::once('_')).chain(field.chars()) {
        name.push(match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        });
    }
    name
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
    let provider = match provider_flag {
        Some(p) => p,
        None => {
            let named =
                env_value(name, "provider").or_else(|| saved.and_then(|s| s.get("provider").cloned()));
            match named {
                Some(p) => Provider::from_name(&p).ok_or_else(|| {
                    Error::usage(format!("profile '{name}' names an unknown provider '{p}'"))
                        .hint(format!("providers: {}", Provider::names().join(", ")))
                })?,
                None => Provider::from_name(name).ok_or_else(|| {
                    Error::not_logged_in(format!("no profile named '{name}'")).hint(format!(
                        "run `tok login {name} --provider <P>` (providers: {})",
                        Provider::names().join(", ")
                    ))
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
    for (field, _) in flags {
        if !provider.has_field(field) {
            return Err(Error::usage(format!(
                "--{} does not apply to the {} provider",
                field.replace('_', "-"),
                provider.name()
            )));
        }
    }
    Ok(Profile { name: name.to_string(), provider, settings, saved: saved.is_some() })
}

impl Profile {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.settings.get(field).map(String::as_str)
    }

    /// A required setting, or exit 3 naming the flag and the variable that would give it.
    pub fn require(&self, field: &str) -> Result<&str> {
        self.get(field).ok_or_else(|| {
            let what = field.replace('_', " ");
            let message = if self.saved {
                format!("profile '{}' has no {what}", self.name)
            } else {
                format!("not logged in to '{}' (no {what})", self.name)
            };
            Error::not_logged_in(message).hint(format!(
                "run `tok login {} --{}`, or set {} to work without a login",
                self.name,
                field.replace('_', "-"),
                env_name(&self.name, field)
            ))
        })
    }

    /// What `config.toml` keeps for this profile.
    pub fn saved(&self) -> Settings {
        let mut s = self.settings.clone();
        s.insert("provider".into(), self.provider.name().into());
        s
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
    fn names() {
        for ok in ["nexterpay", "n3xt", "a", "0x", "acme-key", "prod.eu_1"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", ".x", "Upper", "a b", "a/b", "ä", &"a".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
