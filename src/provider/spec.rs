//! What a provider is, as data: one `Spec` per provider, kept in the provider's own
//! module. `tok providers`, `--help`, completions, prompts, the "what is missing" errors
//! and the README table all read it, so they cannot drift apart; the three functions in
//! `Ops` are the provider's behaviour.

use crate::error::Result;
use crate::http::Http;
use crate::input::Secrets;
use crate::profile::Profile;
use crate::token::TokenRecord;

pub struct Spec {
    pub name: &'static str,
    /// The provider's own name for itself ("NexterPay").
    pub title: &'static str,
    /// What a login is, in a line.
    pub summary: &'static str,
    pub settings: &'static [Setting],
    pub secrets: &'static [SecretField],
    pub environments: &'static [Environment],
    /// Where `tok curl` sends relative URLs, in words ("the base URL", or why none).
    pub api_host: &'static str,
    /// A complete login command.
    pub example: &'static str,
    /// The ways of logging in beyond `example`, each with its own complete example
    /// (oauth2: every grant and client authentication); `tok providers NAME` lists them.
    pub variants: &'static [Variant],
    pub ops: Ops,
}

/// One way to log in: `kind` groups them ("grant", "auth"), `name` is the value chosen.
pub struct Variant {
    pub kind: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
    pub example: &'static str,
}

/// A non-secret setting: a `config.toml` key, a `TOK_<P>_<FIELD>` suffix, a login flag.
pub struct Setting {
    pub field: &'static str,
    /// The login flag that sets it (`""` for one set otherwise, like merchant-v2's mode).
    pub flag: &'static str,
    pub help: &'static str,
    pub need: Need,
    /// Asked for on a terminal when missing (the label of the question).
    pub prompt: Option<&'static str>,
    /// What a value looks like, for examples ("alice", "https://api.example.com").
    pub placeholder: &'static str,
}

/// Settings every provider has.
pub const COMMON_SETTINGS: &[Setting] = &[Setting {
    field: "allow_host",
    flag: "--allow-host",
    help: "more hosts (HOST or HOST:PORT, comma-separated) `tok curl` may send the credential to",
    need: Need::Optional,
    prompt: None,
    placeholder: "files.example.com",
}];

/// A secret kept in the store; never a flag.
pub struct SecretField {
    pub field: &'static str,
    /// For people: "NexterPay password".
    pub label: &'static str,
    pub need: Need,
}

/// When a setting or secret is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Always,
    Optional,
    /// Required when `field` has `value` (nexterpay's base URL in production).
    When(&'static str, &'static str),
    /// Required unless `field` has `value` (merchant-v2's e-mail, unless an API key).
    Unless(&'static str, &'static str),
    /// Required unless `field` has one of `values` (oauth2's client secret, unless the
    /// client authenticates with none or a private key).
    UnlessAny(&'static str, &'static [&'static str]),
}

pub struct Environment {
    pub name: &'static str,
    /// The documented host or token endpoint, or how to get one.
    pub host: &'static str,
    pub default: bool,
}

/// What identifies a profile's tokens, read once from its validated settings.
pub struct Identity {
    /// What a token was obtained with; a stored token is reused only for the same.
    pub binding: String,
    /// The "token" is a persistent API key: nothing to fetch, refresh or cache.
    pub api_key: bool,
    /// Nothing the provider documents lets a login check the credential without side
    /// effects (a locally signed JWT, an API key): it is first tested by a real request.
    pub unchecked_login: bool,
}

/// What `tok curl` needs to know of a profile's provider.
pub struct CurlTouches {
    /// Where relative URLs point; `None` where no API host is documented.
    pub api_base: Option<reqwest::Url>,
    /// Nelnet wants a fresh `nps-trace-uuid` header on each request.
    pub trace_uuid: bool,
    /// NetDirector V1 hands out newer tokens in this response header.
    pub watch_header: Option<&'static str>,
}

pub type Obtain = fn(&Profile, &Http, &mut Secrets, Option<&TokenRecord>) -> Result<TokenRecord>;

pub type Check = fn(&Profile, &Http, &TokenRecord) -> Result<()>;

pub struct Ops {
    /// Validates the settings (so it doubles as the check a login makes before sending
    /// anything) and says what identifies the profile's tokens.
    pub identity: fn(&Profile) -> Result<Identity>,
    /// Gets a new token; the stored record for the same settings comes along for
    /// providers that can refresh with it.
    pub obtain: Obtain,
    pub curl: fn(&Profile) -> Result<CurlTouches>,
    /// A documented request that proves the credential (`tok login --check`), where one
    /// exists for providers whose login cannot check it.
    pub check: Option<Check>,
}

impl Need {
    /// Whether it is required, given the settings so far.
    pub fn required(self, get: impl Fn(&str) -> Option<String>) -> bool {
        match self {
            Need::Always => true,
            Need::Optional => false,
            Need::When(field, value) => get(field).as_deref() == Some(value),
            Need::Unless(field, value) => get(field).as_deref() != Some(value),
            Need::UnlessAny(field, values) => get(field).is_none_or(|v| !values.contains(&v.as_str())),
        }
    }
}

impl Identity {
    /// A login that fetches a token, which checks the credentials.
    pub fn checked(binding: String) -> Identity {
        Identity { binding, api_key: false, unchecked_login: false }
    }
}

impl CurlTouches {
    pub fn base(api_base: &reqwest::Url) -> CurlTouches {
        CurlTouches { api_base: Some(api_base.clone()), trace_uuid: false, watch_header: None }
    }

    pub fn none() -> CurlTouches {
        CurlTouches { api_base: None, trace_uuid: false, watch_header: None }
    }
}
