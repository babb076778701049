//! The providers tok speaks to. The core knows only this enum and three functions:
//! which settings a provider has, what identifies a token's settings (`binding`), and
//! how to obtain a token. Each provider is one small module.

mod merchant_v2;
mod nelnet;
mod netdirector_v1;
mod nexterpay;
mod oauth2;

use crate::error::{Error, Result};
use crate::http::Http;
use crate::input::Secrets;
use crate::profile::Profile;
use crate::token::{self, TokenRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Nexterpay,
    MerchantV2,
    Nelnet,
    N3xt,
    Netdirector,
    NetdirectorV1,
    Oauth2,
}

/// A setting to ask for at login on a terminal when it is missing.
pub struct Prompted {
    pub field: &'static str,
    pub label: &'static str,
}

const CLIENT_ID: Prompted = Prompted { field: "client_id", label: "Client id" };

impl Provider {
    pub const ALL: &'static [Provider] = &[
        Provider::Nexterpay,
        Provider::MerchantV2,
        Provider::Nelnet,
        Provider::N3xt,
        Provider::Netdirector,
        Provider::NetdirectorV1,
        Provider::Oauth2,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Provider::Nexterpay => "nexterpay",
            Provider::MerchantV2 => "merchant-v2",
            Provider::Nelnet => "nelnet",
            Provider::N3xt => "n3xt",
            Provider::Netdirector => "netdirector",
            Provider::NetdirectorV1 => "netdirector-v1",
            Provider::Oauth2 => "oauth2",
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
            Provider::MerchantV2 => merchant_v2::FIELDS,
            Provider::Nelnet => nelnet::FIELDS,
            Provider::N3xt => oauth2::N3XT_FIELDS,
            Provider::Netdirector => oauth2::NETDIRECTOR_FIELDS,
            Provider::NetdirectorV1 => netdirector_v1::FIELDS,
            Provider::Oauth2 => oauth2::OAUTH2_FIELDS,
        }
    }

    /// Secret fields, kept in the store.
    pub fn secrets(self) -> &'static [&'static str] {
        match self {
            Provider::Nexterpay => &["password"],
            Provider::MerchantV2 => &["password", "api_key"],
            Provider::Nelnet => &["api_key"],
            Provider::NetdirectorV1 => &[],
            Provider::N3xt | Provider::Netdirector | Provider::Oauth2 => &["client_secret"],
        }
    }

    /// Every secret field any provider keeps: what a logout or a change of mode or
    /// provider must remove, whatever the profile was before.
    pub fn every_secret_field() -> Vec<&'static str> {
        let mut fields: Vec<&'static str> =
            Provider::ALL.iter().flat_map(|p| p.secrets().iter().copied()).collect();
        fields.sort_unstable();
        fields.dedup();
        fields
    }

    /// Settings to ask for at login on a terminal, given what the profile has so far.
    pub fn prompted(self, profile: &Profile) -> &'static [Prompted] {
        match self {
            Provider::MerchantV2 if profile.get("mode") == Some("api-key") => &[],
            Provider::MerchantV2 => &[
                Prompted { field: "email", label: "E-mail" },
                Prompted { field: "merchant_id", label: "Merchant id" },
            ],
            Provider::Nexterpay => &[Prompted { field: "username", label: "NexterPay user name" }],
            Provider::Nelnet => &[Prompted { field: "key_id", label: "NPS API Key ID" }],
            Provider::NetdirectorV1 => &[Prompted { field: "transaction", label: "Transaction id" }],
            Provider::N3xt => &[Prompted { field: "project", label: "N3XT project id" }, CLIENT_ID],
            Provider::Netdirector | Provider::Oauth2 => &[CLIENT_ID],
        }
    }
}

/// Provider-specific settings, validated.
enum Params {
    Nexterpay(nexterpay::Params),
    MerchantV2(merchant_v2::Params),
    Nelnet(nelnet::Params),
    NetdirectorV1(netdirector_v1::Params),
    OAuth2(oauth2::Params),
}

fn params(profile: &Profile) -> Result<Params> {
    Ok(match profile.provider {
        Provider::Nexterpay => Params::Nexterpay(nexterpay::Params::from_profile(profile)?),
        Provider::MerchantV2 => Params::MerchantV2(merchant_v2::Params::from_profile(profile)?),
        Provider::Nelnet => Params::Nelnet(nelnet::Params::from_profile(profile)?),
        Provider::NetdirectorV1 => Params::NetdirectorV1(netdirector_v1::Params::from_profile(profile)?),
        Provider::N3xt => Params::OAuth2(oauth2::Params::n3xt(profile)?),
        Provider::Netdirector => Params::OAuth2(oauth2::Params::netdirector(profile)?),
        Provider::Oauth2 => Params::OAuth2(oauth2::Params::generic(profile)?),
    })
}

/// What identifies a profile's tokens, read once from its validated settings.
pub struct Identity {
    /// What a token was obtained with; a stored token is reused only for the same.
    pub binding: String,
    /// The "token" is a persistent API key: nothing to fetch, refresh or cache.
    pub api_key: bool,
}

/// Validates the settings (so it doubles as the check a login makes before sending
/// anything) and says what identifies the profile's tokens.
pub fn identity(profile: &Profile) -> Result<Identity> {
    let params = params(profile)?;
    let api_key = matches!(&params, Params::MerchantV2(p) if p.is_api_key());
    let binding = match params {
        Params::Nexterpay(p) => p.binding(),
        Params::MerchantV2(p) => p.binding(),
        Params::Nelnet(p) => p.binding(),
        Params::NetdirectorV1(p) => p.binding(),
        Params::OAuth2(p) => p.binding(),
    };
    Ok(Identity { binding, api_key })
}

/// What `tok curl` needs to know of a profile's provider.
pub struct CurlTouches {
    /// Where relative URLs point; `None` where no API host is documented.
    pub api_base: Option<reqwest::Url>,
    /// Nelnet wants a fresh `nps-trace-uuid` header on each request.
    pub trace_uuid: bool,
    /// NetDirector V1 hands out newer tokens in response headers.
    pub watch_header: Option<&'static str>,
}

pub fn curl_touches(profile: &Profile) -> Result<CurlTouches> {
    let none = CurlTouches { api_base: None, trace_uuid: false, watch_header: None };
    Ok(match params(profile)? {
        Params::Nexterpay(p) => CurlTouches { api_base: Some(p.base.clone()), ..none },
        Params::MerchantV2(p) => CurlTouches { api_base: Some(p.base().clone()), ..none },
        Params::Nelnet(p) => CurlTouches { api_base: Some(p.base.clone()), trace_uuid: true, ..none },
        Params::NetdirectorV1(p) => {
            CurlTouches { api_base: Some(p.base.clone()), watch_header: Some(netdirector_v1::HEADER), ..none }
        }
        // N3XT and NetDirector V2 document token endpoints only, not their API hosts.
        Params::OAuth2(_) => none,
    })
}

/// A token seen in a response header (`tok curl`), as a record to store when it is newer
/// than `current`.
pub fn adopt(profile: &Profile, value: &str, current: Option<&TokenRecord>) -> Result<Option<TokenRecord>> {
    let Params::NetdirectorV1(p) = params(profile)? else { return Ok(None) };
    if token::validate(value).is_err() || current.is_some_and(|c| !netdirector_v1::is_newer(value, c)) {
        return Ok(None);
    }
    if let Err(why) = netdirector_v1::plausible(value, token::now_f64()) {
        crate::term::warn(&format!("{}: not keeping the token from the response: {why}", profile.name));
        return Ok(None);
    }
    Ok(Some(netdirector_v1::record(&p, value, token::now_f64())))
}

/// Gets a new token. `current` is the stored record for the same settings, for
/// providers that can refresh with it.
pub fn obtain(
    profile: &Profile,
    http: &Http,
    secrets: &mut Secrets,
    current: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    let record = match params(profile)? {
        Params::Nexterpay(p) => nexterpay::obtain(&p, http, secrets)?,
        Params::MerchantV2(p) => merchant_v2::obtain(&p, http, secrets, current)?,
        Params::Nelnet(p) => nelnet::obtain(&p, secrets)?,
        Params::NetdirectorV1(p) => netdirector_v1::obtain(&p, http, current)?,
        Params::OAuth2(p) => oauth2::obtain(&p, http, secrets)?,
    };
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
