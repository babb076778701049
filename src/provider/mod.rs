//! The providers tok speaks to. The core knows only `Provider` (a provider's `Spec`) and
//! the few functions here; each provider is one small module holding its whole
//! behaviour: settings, secrets, prompts, environments, quirks. Adding one is one new
//! file plus one line in `REGISTRY`.

mod merchant_v2;
mod nelnet;
mod netdirector_v1;
mod nexterpay;
mod oauth2;
mod reply_tokens;
mod spec;

pub use spec::{COMMON_SETTINGS, CurlTouches, Environment, Identity, Need, SecretField, Setting, Spec};

use crate::error::{Error, Result};
use crate::http::Http;
use crate::input::Secrets;
use crate::profile::Profile;
use crate::token::{self, TokenRecord};
use std::fmt;

/// Every provider, in the order `tok providers` lists them.
const REGISTRY: &[&Spec] = &[
    &nexterpay::SPEC,
    &merchant_v2::SPEC,
    &nelnet::SPEC,
    &oauth2::N3XT_SPEC,
    &oauth2::NETDIRECTOR_SPEC,
    &netdirector_v1::SPEC,
    &oauth2::OAUTH2_SPEC,
];

/// A provider: a handle on its `Spec`.
#[derive(Clone, Copy)]
pub struct Provider(&'static Spec);

impl PartialEq for Provider {
    fn eq(&self, other: &Provider) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Provider {}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Provider {
    pub fn all() -> impl Iterator<Item = Provider> {
        REGISTRY.iter().map(|spec| Provider(spec))
    }

    pub fn spec(self) -> &'static Spec {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::all().find(|p| p.name() == name)
    }

    pub fn names() -> Vec<&'static str> {
        Provider::all().map(Provider::name).collect()
    }

    /// Every environment name any provider has, for `--env`'s list of values.
    pub fn environment_names() -> Vec<&'static str> {
        let mut names: Vec<&'static str> =
            Provider::all().flat_map(|p| p.0.environments.iter().map(|e| e.name)).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Non-secret settings, as field names (`config.toml` keys, `TOK_<P>_<FIELD>` suffixes).
    pub fn fields(self) -> impl Iterator<Item = &'static str> {
        self.0.settings.iter().chain(COMMON_SETTINGS).map(|s| s.field)
    }

    pub fn has_field(self, field: &str) -> bool {
        self.fields().any(|f| f == field)
    }

    /// The `tok login` flag that gives a setting (`--base-url` for `base_url`).
    pub fn flag(self, field: &str) -> Option<&'static str> {
        self.0.settings.iter().chain(COMMON_SETTINGS).find(|s| s.field == field).map(|s| s.flag)
    }

    /// Secret fields, kept in the store.
    pub fn secrets(self) -> impl Iterator<Item = &'static str> {
        self.0.secrets.iter().map(|s| s.field)
    }

    pub fn secret(self, field: &str) -> Option<&'static SecretField> {
        self.0.secrets.iter().find(|s| s.field == field)
    }

    /// Every secret field any provider keeps: what a logout or a change of mode or
    /// provider must remove, whatever the profile was before.
    /// With the shared cache's password, which a login may keep in the profile's store.
    pub fn every_secret_field() -> Vec<&'static str> {
        let mut fields: Vec<&'static str> = Provider::all()
            .flat_map(Provider::secrets)
            .chain([crate::store::shared::PASSWORD_FIELD])
            .collect();
        fields.sort_unstable();
        fields.dedup();
        fields
    }

    /// Settings to ask for at login on a terminal, given what the profile has so far.
    pub fn prompted(self, profile: &Profile) -> Vec<&'static Setting> {
        self.0
            .settings
            .iter()
            .filter(|s| s.prompt.is_some() && s.need.required(|f| profile.get(f).map(str::to_string)))
            .collect()
    }

    /// Required settings the profile lacks.
    pub fn missing(self, profile: &Profile) -> Vec<&'static Setting> {
        self.0
            .settings
            .iter()
            .filter(|s| {
                profile.get(s.field).is_none() && s.need.required(|f| profile.get(f).map(str::to_string))
            })
            .collect()
    }

    /// The secrets this profile needs, given its settings (its mode).
    pub fn needed_secrets(self, profile: &Profile) -> Vec<&'static SecretField> {
        self.0.secrets.iter().filter(|s| s.need.required(|f| profile.get(f).map(str::to_string))).collect()
    }
}

/// Validates the settings (so it doubles as the check a login makes before sending
/// anything) and says what identifies the profile's tokens.
pub fn identity(profile: &Profile) -> Result<Identity> {
    (profile.provider.0.ops.identity)(profile)
}

/// Settings a login reads from the provider before anything else (oauth2's `--issuer`
/// discovery); none for other providers.
pub fn discover(profile: &Profile, http: &Http) -> Result<Vec<(&'static str, String)>> {
    oauth2::discover(profile, http)
}

/// oauth2's `--key-file`: the private key, checked, as the secret to keep.
pub fn read_private_key(file: &str) -> Result<crate::secret::Secret> {
    oauth2::read_private_key(file)
}

/// Provider-specific lines for `tok status PROFILE` (oauth2: grant, client auth, issuer).
pub fn describe(profile: &Profile) -> Vec<(&'static str, String)> {
    oauth2::describe(profile)
}

/// The profile whose token this one exchanges (oauth2 `--grant token_exchange`), if any.
pub fn subject_profile(profile: &Profile) -> Option<&str> {
    oauth2::subject_profile(profile)
}

pub fn curl_touches(profile: &Profile) -> Result<CurlTouches> {
    (profile.provider.0.ops.curl)(profile)
}

/// A token seen in a response header (`tok curl`), as a record to store when it is newer
/// than `current`.
pub fn adopt(profile: &Profile, value: &str, current: Option<&TokenRecord>) -> Result<Option<TokenRecord>> {
    netdirector_v1::adopt(profile, value, current)
}

/// Gets a new token. `current` is the stored record for the same settings, for
/// providers that can refresh with it.
pub fn obtain(
    profile: &Profile,
    http: &Http,
    secrets: &mut Secrets,
    current: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    let mut record = (profile.provider.0.ops.obtain)(profile, http, secrets, current)?;
    record.clock_skew = http.clock_skew();
    // Every token passes the same gate before it is stored or printed.
    if let Err(why) = token::validate(record.token.expose()) {
        return Err(Error::network(format!("{} sent an unusable token: {why}", profile.provider.name())));
    }
    if let Some(refresh) = &record.refresh_token
        && let Err(why) = token::validate(refresh.expose())
    {
        return Err(Error::network(format!(
            "{} sent an unusable refresh token: {why}",
            profile.provider.name()
        )));
    }
    Ok(record)
}

/// Every parser of what a provider sends back, fed raw bytes: the entry points of the
/// fuzz targets in `fuzz/`. Each returns whether the input was accepted; none may panic.
#[doc(hidden)]
pub mod fuzz {
    pub fn nexterpay_reply(body: &[u8]) -> bool {
        super::nexterpay::parse_reply(body).is_ok_and(|t| crate::token::validate(t.expose()).is_ok())
    }

    pub fn oauth2_grant(body: &[u8]) -> bool {
        super::oauth2::parse_grant(body).is_ok()
    }

    pub fn oauth2_error(body: &[u8]) -> bool {
        super::oauth2::parse_error(body) != Default::default()
    }

    pub fn merchant_v2_data(body: &[u8]) -> bool {
        super::merchant_v2::parse_data(body).is_ok()
    }

    pub fn merchant_v2_error(body: &[u8]) -> bool {
        super::merchant_v2::error_code(body).0.is_some()
    }

    /// The sanitized excerpt every error message quotes: short and printable, always.
    pub fn excerpt(body: &[u8]) -> bool {
        let text = crate::http::excerpt(body);
        assert!(
            text.chars().count() <= 161 && text.chars().all(|c| c.is_ascii_graphic() || c == ' ' || c == '…')
        );
        !text.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::fuzz;
    use crate::testgen::XorShift;

    /// Every reply parser over generated bodies: real replies from the documents,
    /// mutated, and JSON-shaped fragments. No input may panic.
    #[test]
    fn property_reply_parsers_never_panic() {
        let replies = [
            r#""eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJkZW1vIn0.c2ln""#,
            r#"{"status_code":200,"expires_in":3600,"request_id":"r","access_token":"eyJ.a.b","token_type":"bearer"}"#,
            r#"{"access_token":"t","expires_in":"3600","token_type":"Bearer"}"#,
            r#"{"status_code":401,"request_id":"r","error":"invalid_client","error_description":"no"}"#,
            r#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.2","title":"Unauthorized","status":401}"#,
            r#"{"data":{"accessToken":"a.b.c","expiresIn":1707241515,"refreshToken":"r.s.t"}}"#,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":{"name":"TokenExpiredError","message":"jwt expired"}}]}"#,
        ];
        let pieces = [
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"access_token\"",
            "\"expires_in\"",
            "\"data\"",
            "\"errors\"",
            "\"code\"",
            "\"message\"",
            "\"x\"",
            "1e400",
            "-1",
            "0.5",
            "null",
            "true",
            "\"\\u0000\"",
            "\"\\ud800\"",
        ];
        let mut rng = XorShift(0x0dd_ba11_c0ff_ee42);
        let mut accepted = 0;
        for i in 0..30_000 {
            let body = match i % 3 {
                0 => {
                    let reply = rng.pick(&replies);
                    rng.mutate(reply.as_bytes())
                }
                1 => (0..rng.below(16)).map(|_| rng.pick(&pieces)).collect::<String>().into_bytes(),
                _ => rng.bytes(48),
            };
            let results = [
                fuzz::nexterpay_reply(&body),
                fuzz::oauth2_grant(&body),
                fuzz::oauth2_error(&body),
                fuzz::merchant_v2_data(&body),
                fuzz::merchant_v2_error(&body),
                fuzz::excerpt(&body),
            ];
            accepted += results.iter().filter(|ok| **ok).count();
        }
        // The generator reaches the parsers' success paths too, not only their errors.
        assert!(accepted > 1_000, "{accepted}");
        for reply in replies {
            assert!(fuzz::excerpt(reply.as_bytes()));
        }
    }
}
