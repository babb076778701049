//! NetDirector V1: a checkout session's token, handed out in a *response header*.
//!
//! `GET {base}/api/transaction?uuid=<uuid>&expand=customer,ndMeta` answers with
//! `authentication-token: <HS256 JWT>` whose `iat`/`exp` are fractional numbers. The
//! token goes on every later call as Bearer, and a later response may carry a newer one:
//! the newest is the one to keep (`tok curl` watches for it). There is no secret: the
//! transaction id names the session.

use crate::error::{Error, Result};
use crate::http::{self, Http, Request};
use crate::jwt;
use crate::policy::Lifetime;
use crate::profile::Profile;
use crate::secret::Secret;
use crate::term::verbose;
use crate::token::{self, TokenRecord};
use reqwest::{Method, Url};

use super::spec::{CurlTouches, Environment, Identity, Need, Ops, Setting, Spec};
use crate::input::Secrets;

const DEFAULT_BASE: &str = "https://payments-2.netdirector.co.uk";

pub const SPEC: Spec = Spec {
    name: "netdirector-v1",
    title: "NetDirector V1 (checkout sessions)",
    summary: "a checkout session's token from a response header; no secret, the transaction names the session",
    settings: &[
        Setting {
            field: "transaction",
            flag: "--transaction",
            help: "the transaction id whose session token to keep",
            need: Need::Always,
            prompt: Some("Transaction id"),
            placeholder: "5d081471-0c12-5183-a611-a1ed1d9bbacb-EU01",
        },
        Setting {
            field: "base_url",
            flag: "--base-url",
            help: "replace the documented host",
            need: Need::Optional,
            prompt: None,
            placeholder: DEFAULT_BASE,
        },
    ],
    secrets: &[],
    environments: &[Environment { name: "production", host: DEFAULT_BASE, default: true }],
    api_host: "the base URL",
    example: "tok login checkout --provider netdirector-v1 --transaction 5d081471-0c12-5183-a611-a1ed1d9bbacb-EU01",
    variants: &[],
    ops: Ops { identity, obtain: obtain_for, curl, check: None },
};

fn identity(profile: &Profile) -> Result<Identity> {
    Ok(Identity::checked(Params::from_profile(profile)?.binding()))
}

fn obtain_for(
    profile: &Profile,
    http: &Http,
    _: &mut Secrets,
    current: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    obtain(&Params::from_profile(profile)?, http, current)
}

fn curl(profile: &Profile) -> Result<CurlTouches> {
    let p = Params::from_profile(profile)?;
    Ok(CurlTouches { watch_header: Some(HEADER), ..CurlTouches::base(&p.base) })
}

/// A token seen in a `tok curl` response header, as a record to store when it is newer
/// than `current` and plausible. Other providers hand out no tokens that way.
pub fn adopt(profile: &Profile, value: &str, current: Option<&TokenRecord>) -> Result<Option<TokenRecord>> {
    if profile.provider.name() != SPEC.name {
        return Ok(None);
    }
    let p = Params::from_profile(profile)?;
    if token::validate(value).is_err() || current.is_some_and(|c| !is_newer(value, c)) {
        return Ok(None);
    }
    if let Err(why) = plausible(value, token::now_f64()) {
        crate::term::warn(&format!("{}: not keeping the token from the response: {why}", profile.name));
        return Ok(None);
    }
    Ok(Some(record(&p, value, token::now_f64())))
}
/// When a token says nothing of its life: short, never "forever".
const UNSTATED_LIFETIME: f64 = 3600.0;
/// The longest life a session token may claim: the document's example lasts a week, so
/// eight days leaves room, while `exp = 1e300` (a token never refreshed again) is refused.
const MAX_LIFETIME: f64 = 8.0 * 86_400.0;
/// How far ahead of the local clock a token's `iat` may be (clock skew).
const MAX_IAT_AHEAD: f64 = 300.0;
const HEADER: &str = "authentication-token";

struct Params {
    base: Url,
    transaction: String,
}

impl Params {
    pub fn from_profile(profile: &Profile) -> Result<Params> {
        let transaction = profile.require("transaction")?;
        if transaction.is_empty()
            || transaction.len() > 100
            || !transaction.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(Error::usage(
                "--transaction is not a NetDirector transaction id (like 5d081471-0c12-5183-a611-a1ed1d9bbacb-EU01)",
            ));
        }
        let base = match profile.url("base_url")? {
            Some(url) => url,
            None => http::base_url(DEFAULT_BASE)?,
        };
        Ok(Params { base, transaction: transaction.to_string() })
    }

    pub fn binding(&self) -> String {
        format!("netdirector-v1 {} {}", self.base, self.transaction)
    }

    fn transaction_url(&self) -> Url {
        let mut url = http::join(&self.base, "/api/transaction");
        url.query_pairs_mut().append_pair("uuid", &self.transaction).append_pair("expand", "customer,ndMeta");
        url
    }
}

/// Fetches the transaction; the session token is the reply's `authentication-token`
/// header. A still-valid current token is sent along, so an authenticated session stays
/// the same session; if the server refuses it, a fresh anonymous one is asked for.
fn obtain(p: &Params, http: &Http, current: Option<&TokenRecord>) -> Result<TokenRecord> {
    let live = current.filter(|r| r.expires_in(token::now()).is_some_and(|left| left > 0));
    let ask = |bearer: Option<&TokenRecord>| {
        let mut request = Request::new("netdirector-v1", Method::GET, p.transaction_url())
            .header("accept", "application/json");
        if let Some(record) = bearer {
            request = request.secret_header("authorization", record.header_value());
        }
        http.send(&request)
    };
    let mut reply = ask(live)?;
    if reply.status == 401 && live.is_some() {
        verbose!("netdirector-v1: the session token was refused; starting a new session");
        reply = ask(None)?;
    }
    match reply.status {
        200 => {}
        401 | 403 | 404 => {
            return Err(Error::rejected(format!(
                "netdirector-v1 refused the transaction ({}): {}",
                http::status_text(reply.status),
                reply.excerpt()
            ))
            .hint("check --transaction"));
        }
        _ => return Err(reply.unexpected()),
    }
    let Some(value) = reply.header(HEADER) else {
        return Err(Error::network(format!(
            "netdirector-v1 answered {} without an {HEADER} header",
            http::status_text(reply.status)
        )));
    };
    // The token rule of `reply_tokens`, for a token carried in a header.
    crate::secret::register(value.trim());
    plausible(value.trim(), token::now_f64())
        .map_err(|why| Error::network(format!("netdirector-v1 sent an unusable token: {why}")))?;
    Ok(record(p, value.trim(), reply.sent_at))
}

/// Whether a token's times make sense: issued no later than a little ahead of now, and
/// ending after it starts and within `MAX_LIFETIME`. A token from a response header
/// decides how long tok hands it out, so an absurd one is not taken.
pub fn plausible(value: &str, now: f64) -> Result<(), String> {
    let Ok(claims) = jwt::decode(value) else { return Ok(()) };
    let iat = claims.time("iat");
    if let Some(iat) = iat
        && iat > now + MAX_IAT_AHEAD
    {
        return Err(format!("it claims to be issued {:.0}s in the future", iat - now));
    }
    if let Some(exp) = claims.time("exp") {
        if exp - now > MAX_LIFETIME {
            return Err(format!(
                "it claims to last another {:.0} days (at most {} are believed)",
                ((exp - now) / 86_400.0).min(1e9),
                MAX_LIFETIME / 86_400.0
            ));
        }
        if iat.is_some_and(|iat| exp <= iat) {
            return Err("it expires before it was issued".into());
        }
    }
    Ok(())
}

/// A record for a token seen at `seen_at`, its life read from its claims.
fn record(p: &Params, value: &str, seen_at: f64) -> TokenRecord {
    let mut life = Lifetime { sent_at: seen_at, ..Default::default() };
    if let Ok(claims) = jwt::decode(value) {
        life.jwt_exp = claims.time("exp");
        life.jwt_iat = claims.time("iat");
    }
    // The fallback bounds only a token that states no end of its own.
    if life.jwt_exp.is_none() {
        life.default = Some(UNSTATED_LIFETIME);
    }
    TokenRecord::bearer(Secret::new(value), &life, p.binding())
}

/// Whether `candidate` was issued after `current`: by `iat` when both have one, else by
/// expiry. The newest token is the one to keep.
fn is_newer(candidate: &str, current: &TokenRecord) -> bool {
    if candidate == current.token.expose() {
        return false;
    }
    let iat = |t: &str| jwt::decode(t).ok().and_then(|c| c.time("iat"));
    match (iat(candidate), iat(current.token.expose())) {
        (Some(new), Some(old)) => new > old,
        (Some(_), None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        use base64::Engine;
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.c2ln", enc(r#"{"alg":"HS256","typ":"JWT"}"#), enc(claims))
    }

    #[test]
    fn plausibility_table() {
        let now = 1_700_000_000.0;
        let table = [
            (r#"{"iat":1699999999.5,"exp":1700604799.5}"#, true),
            (r#"{"iat":1700000100,"exp":1700003700}"#, true),
            (r#"{"exp":1700003600}"#, true),
            (r#"{"iat":1699999999,"exp":1e300}"#, false),
            (r#"{"exp":1e300}"#, false),
            (r#"{"iat":1800000000,"exp":1800003600}"#, false),
            (r#"{"iat":1700000000,"exp":1690000000}"#, false),
        ];
        for (claims, ok) in table {
            assert_eq!(plausible(&jwt(claims), now).is_ok(), ok, "{claims}");
        }
        // An opaque token has no claims to doubt.
        assert!(plausible("opaque", now).is_ok());
    }
}
