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

pub const FIELDS: &[&str] = &["key_id", "env", "base_url", "ttl"];
const DEFAULT_TTL: u64 = 300;
const ADVISED_MAX_TTL: u64 = 300;

pub struct Params {
    key_id: String,
    ttl: u64,
    pub base: Url,
}

impl Params {
    pub fn from_profile(profile: &Profile) -> Result<Params> {
        let host = match profile.get("env").unwrap_or("production") {
            "production" => "https://api.nelnetpay.com",
            "uat" => "https://api.uat.nelnetpay.com",
            other => {
                return Err(Error::usage(format!(
                    "unknown Nelnet environment '{other}' (production or uat)"
                )));
            }
        };
        let base = http::base_url(profile.get("base_url").unwrap_or(host))?;
        let ttl = match profile.get("ttl") {
            None => DEFAULT_TTL,
            Some(text) => duration::parse(text).map_err(Error::usage)?.as_secs(),
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

pub fn obtain(p: &Params, secrets: &mut Secrets) -> Result<TokenRecord> {
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
