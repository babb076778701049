//! The providers tok speaks to. The core knows only this enum and three functions:
//! which settings a provider has, what identifies a token's settings (`binding`), and
//! how to obtain a token. Each provider is one small module.

mod nexterpay;

use crate::error::{Error, Result};
use crate::http::Http;
use crate::input::Secrets;
use crate::profile::Profile;
use crate::token::{self, TokenRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Nexterpay,
}

/// A setting to ask for at login on a terminal when it is missing.
pub struct Prompted {
    pub field: &'static str,
    pub label: &'static str,
}

impl Provider {
    pub const ALL: &'static [Provider] = &[Provider::Nexterpay];

    pub fn name(self) -> &'static str {
        match self {
            Provider::Nexterpay => "nexterpay",
        }
    }

    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL.iter().copied().find(|p| p.name() == name)
    }

    pub fn names() -> Vec<&'static str> {
        Provider::ALL.iter().map(|p| p.name()).collect()
    }

    /// Non-secret settings, as field names (`config.toml` keys, `TOK_<P>_<FIELD>` suffixes).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Provider::Nexterpay => nexterpay::FIELDS,
        }
    }

    /// Secret fields, kept in the store.
    pub fn secrets(self) -> &'static [&'static str] {
        match self {
            Provider::Nexterpay => &["password"],
        }
    }

    pub fn prompted(self) -> &'static [Prompted] {
        match self {
            Provider::Nexterpay => &[Prompted {
                field: "username",
                label: "NexterPay user name",
            }],
        }
    }
}

/// What a token was obtained with. Validates the settings, so it doubles as the check
/// a login makes before sending anything.
pub fn binding(profile: &Profile) -> Result<String> {
    match profile.provider {
        Provider::Nexterpay => Ok(nexterpay::Params::from_profile(profile)?.binding()),
    }
}

/// Gets a new token. `current` is the stored record for the same settings, for
/// providers that can refresh with it.
pub fn obtain(
    profile: &Profile,
    http: &Http,
    secrets: &mut Secrets,
    current: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    let _ = current;
    let record = match profile.provider {
        Provider::Nexterpay => {
            nexterpay::obtain(&nexterpay::Params::from_profile(profile)?, http, secrets)?
        }
    };
    // Every token passes the same gate before it is stored or printed.
    if let Err(why) = token::validate(record.token.expose()) {
        return Err(Error::network(format!(
            "{} sent an unusable token: {why}",
            profile.provider.name()
        )));
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
