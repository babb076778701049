//! Nelnet Payment Services: a JWT tok signs itself. HS512, standard header, claims
//! `sub` = API Key ID, `iat` = now, `exp` = iat + TTL (300 s unless the profile says
//! otherwise; the document advises 1–5 minutes). The API key's UTF-8 bytes are the HMAC
//! key. Not refreshable: a new one is signed; cached only within its life like any token.

use crate::duration;
use crate::error::{Error, Result};
use crate::http;
use crate::input::Secrets;
use crate::keys;
use crate::policy::Lifetime;
use crate::profile::Profile;
use crate::term;
use crate::token::{self, TokenRecord};
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::Url;
use serde_json::json;

use super::spec::{CurlTouches, Environment, Identity, Need, Ops, SecretField, Setting, Spec};
use crate::http::Http;

pub const SPEC: Spec = Spec {
    name: "nelnet",
    title: "Nelnet Payment Services",
    summary: "an HS512 JWT tok signs itself with the API key; no network to get one",
    settings: &[
        Setting {
            field: "key_id",
            flag: "--key-id",
            help: "the NPS API Key ID (the JWT's sub)",
            need: Need::Always,
            prompt: Some("NPS API Key ID"),
            placeholder: "42f0c9d1-…",
        },
        Setting {
            field: "env",
            flag: "--env",
            help: "production (default) or uat",
            need: Need::Optional,
            prompt: None,
            placeholder: "uat",
        },
        Setting {
            field: "base_url",
            flag: "--base-url",
            help: "replace the documented host",
            need: Need::Optional,
            prompt: None,
            placeholder: "https://api.uat.nelnetpay.com",
        },
        Setting {
            field: "ttl",
            flag: "--ttl",
            help: "lifetime of the tokens tok signs (default 5m; the document advises 1-5 minutes)",
            need: Need::Optional,
            prompt: None,
            placeholder: "2m",
        },
    ],
    secrets: &[SecretField { field: "api_key", label: "NPS API key", need: Need::Always }],
    environments: &[
        Environment { name: "production", host: "https://api.nelnetpay.com", default: true },
        Environment { name: "uat", host: "https://api.uat.nelnetpay.com", default: false },
    ],
    api_host: "the environment's host",
    example: "tok login nelnet --key-id 42f0c9d1-5b6e-4c1a-9d3e-7a8b9c0d1e2f",
    variants: &[],
    ops: Ops { identity, obtain: obtain_for, curl, check: Some(check) },
};

fn identity(profile: &Profile) -> Result<Identity> {
    let p = Params::from_profile(profile)?;
    Ok(Identity { binding: p.binding(), api_key: false, unchecked_login: true })
}

fn obtain_for(
    profile: &Profile,
    _: &Http,
    secrets: &mut Secrets,
    _: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    obtain(&Params::from_profile(profile)?, secrets)
}

fn curl(profile: &Profile) -> Result<CurlTouches> {
    let p = Params::from_profile(profile)?;
    Ok(CurlTouches { trace_uuid: true, ..CurlTouches::base(&p.base) })
}

/// `tok login nelnet --check`: the one documented call that proves the key is
/// `POST /tokenization/session`. It creates a tokenization session (left unused; NPS
/// expires it), which is its cost.
fn check(profile: &Profile, http: &Http, record: &TokenRecord) -> Result<()> {
    let p = Params::from_profile(profile)?;
    let request =
        http::Request::new("nelnet", reqwest::Method::POST, http::join(&p.base, "/tokenization/session"))
            .header("accept", "application/json")
            .secret_header("authorization", record.header_value())
            .json(&json!({}));
    let reply = http.send(&request)?;
    match reply.status {
        200..=299 => Ok(()),
        401 | 403 => Err(Error::rejected(format!(
            "NPS refused the signed token ({}): {}",
            http::status_text(reply.status),
            reply.excerpt()
        ))
        .hint("check the API Key ID and the API key; `tok login nelnet` stores new ones")),
        404 => Err(Error::rejected("NPS has no /tokenization/session at this host (404 Not Found)")
            .hint("check --env and --base-url")),
        _ => Err(reply.unexpected()),
    }
}

const DEFAULT_TTL: u64 = 300;
const ADVISED_MAX_TTL: u64 = 300;

struct Params {
    key_id: String,
    ttl: u64,
    base: Url,
}

impl Params {
    pub fn from_profile(profile: &Profile) -> Result<Params> {
        let host = match profile.get("env").unwrap_or("production") {
            "production" => "https://api.nelnetpay.com",
            "uat" => "https://api.uat.nelnetpay.com",
            other => {
                return Err(Error::usage(format!(
                    "unknown Nelnet environment: production or uat{}",
                    crate::secret::near_miss(other, &["production", "uat"])
                )));
            }
        };
        let base = match profile.url("base_url")? {
            Some(url) => url,
            None => http::base_url(host)?,
        };
        let ttl = match profile.get("ttl") {
            None => DEFAULT_TTL,
            Some(text) => duration::parse(text).map_err(|e| Error::usage(format!("ttl: {e}")))?.as_secs(),
        };
        if ttl == 0 {
            return Err(Error::usage("a Nelnet token needs a TTL of at least one second"));
        }
        Ok(Params { key_id: profile.require("key_id")?.to_string(), ttl, base })
    }

    pub fn binding(&self) -> String {
        format!("nelnet {} {} {}", self.base, self.key_id, self.ttl)
    }
}

fn obtain(p: &Params, secrets: &mut Secrets) -> Result<TokenRecord> {
    let api_key = secrets.get("api_key", "NPS API key")?;
    if p.ttl > ADVISED_MAX_TTL {
        term::warn(&format!(
            "a {} token outlives the 1-5 minutes Nelnet advises",
            duration::human(p.ttl as i64)
        ));
    }
    let now = token::now();
    let claims = json!({ "sub": p.key_id, "iat": now, "exp": now + p.ttl as i64 });
    let key = EncodingKey::from_secret(api_key.expose().as_bytes());
    let jwt = keys::sign(Algorithm::HS512, None, &claims, &key)?;
    let life = Lifetime { sent_at: now as f64, stated: Some(p.ttl as f64), ..Default::default() };
    Ok(TokenRecord::bearer(crate::secret::Secret::new(jwt), &life, p.binding()))
}
