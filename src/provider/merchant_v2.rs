//! merchant-v2: e-mail + password + merchant id → an access token (30 min, RS256 JWT)
//! and a rotating refresh token (2 days); or a persistent API key.
//!
//! The document names neither the company nor its host, so `--base-url` is required.
//! `expiresIn` in the login reply is an *absolute* Unix time, whatever its name says.
//! Each refresh returns a new refresh token and spends the old one: tok stores both new
//! tokens in one record (one atomic write), under the profile lock, so two processes
//! never spend the same refresh token and a crash never leaves only a spent one.

use crate::error::{Error, Kind, Result};
use crate::http::{self, Http, Request, Retry};
use crate::input::Secrets;
use crate::jwt;
use crate::policy::Lifetime;
use crate::profile::Profile;
use crate::secret::Secret;
use crate::term::verbose;
use crate::token::{self, TokenRecord};
use reqwest::{Method, Url};
use serde_json::{Value, json};

use super::spec::{CurlTouches, Identity, Need, Ops, SecretField, Setting, Spec};

pub const SPEC: Spec = Spec {
    name: "merchant-v2",
    title: "merchant-v2",
    summary: "e-mail, password and merchant id for a 30-minute token and a rotating refresh token; or an API key",
    settings: &[
        Setting {
            field: "base_url",
            flag: "--base-url",
            help: "the API host (the document names none)",
            need: Need::Always,
            prompt: None,
            placeholder: "https://api.acme.example",
        },
        Setting {
            field: "mode",
            flag: "",
            help: "login (e-mail and password) or api-key (--api-key)",
            need: Need::Optional,
            prompt: None,
            placeholder: "api-key",
        },
        Setting {
            field: "email",
            flag: "--email",
            help: "the e-mail to log in with",
            need: Need::Unless("mode", "api-key"),
            prompt: Some("E-mail"),
            placeholder: "owner@acme.example",
        },
        Setting {
            field: "merchant_id",
            flag: "--merchant-id",
            help: "the merchant id, sent as the merchant_id header",
            need: Need::Unless("mode", "api-key"),
            prompt: Some("Merchant id"),
            placeholder: "b34555b7-…",
        },
    ],
    secrets: &[
        SecretField {
            field: "password",
            label: "merchant-v2 password",
            need: Need::Unless("mode", "api-key"),
        },
        SecretField { field: "api_key", label: "API key", need: Need::When("mode", "api-key") },
    ],
    environments: &[],
    api_host: "the base URL",
    example: "tok login acme --provider merchant-v2 --base-url https://api.acme.example --email owner@acme.example --merchant-id b34555b7-dca4-5ec1-ade3-64a3ad545310",
    variants: &[],
    ops: Ops { identity, obtain: obtain_for, curl, check: None },
};

fn identity(profile: &Profile) -> Result<Identity> {
    let p = Params::from_profile(profile)?;
    let api_key = p.is_api_key();
    Ok(Identity { binding: p.binding(), api_key, unchecked_login: api_key })
}

fn obtain_for(
    profile: &Profile,
    http: &Http,
    secrets: &mut Secrets,
    current: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    obtain(&Params::from_profile(profile)?, http, secrets, current)
}

fn curl(profile: &Profile) -> Result<CurlTouches> {
    Ok(CurlTouches::base(Params::from_profile(profile)?.base()))
}
const ACCESS_LIFETIME: f64 = 30.0 * 60.0;
const REFRESH_LIFETIME: f64 = 2.0 * 24.0 * 3600.0;
/// A refresh token this close to its end is not worth a round trip.
const REFRESH_MARGIN: i64 = 30;

enum Params {
    Login { base: Url, email: String, merchant_id: String },
    ApiKey { base: Url },
}

impl Params {
    pub fn from_profile(profile: &Profile) -> Result<Params> {
        let base = match profile.url("base_url")? {
            Some(url) => url,
            None => {
                return Err(Error::usage("merchant-v2 has no documented host: --base-url is required").hint(
                    format!(
                        "tok login {} --provider merchant-v2 --base-url https://api.<merchant>.example ...",
                        profile.name
                    ),
                ));
            }
        };
        match profile.get("mode").unwrap_or("login") {
            "api-key" => Ok(Params::ApiKey { base }),
            "login" => Ok(Params::Login {
                base,
                email: profile.require("email")?.to_string(),
                merchant_id: profile.require("merchant_id")?.to_string(),
            }),
            other => Err(Error::usage(format!(
                "unknown merchant-v2 mode: login or api-key{}",
                crate::secret::near_miss(other, &["login", "api-key"])
            ))),
        }
    }

    pub fn is_api_key(&self) -> bool {
        matches!(self, Params::ApiKey { .. })
    }

    pub fn base(&self) -> &Url {
        match self {
            Params::Login { base, .. } | Params::ApiKey { base } => base,
        }
    }

    pub fn binding(&self) -> String {
        match self {
            Params::Login { base, email, merchant_id } => format!("merchant-v2 {base} {email} {merchant_id}"),
            Params::ApiKey { base } => format!("merchant-v2 api-key {base}"),
        }
    }
}

fn obtain(
    p: &Params,
    http: &Http,
    secrets: &mut Secrets,
    current: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    let Params::Login { base, merchant_id, .. } = p else {
        // An API key is its own token: nothing to fetch, nothing that expires.
        let key = secrets.get("api_key", "API key")?;
        return Ok(TokenRecord {
            token: key,
            header: "Api-key".into(),
            scheme: None,
            obtained_at: token::now(),
            expires_at: None,
            refresh_token: None,
            id_token: None,
            refresh_expires_at: None,
            clock_skew: None,
            binding: p.binding(),
        });
    };
    let usable_refresh = current.and_then(|r| {
        let alive = r.refresh_expires_at.is_none_or(|e| e - token::now() > REFRESH_MARGIN);
        r.refresh_token.as_ref().filter(|_| alive)
    });
    let had_refresh = current.is_some_and(|r| r.refresh_token.is_some());
    if let Some(refresh_token) = usable_refresh {
        let request = exchange(
            base,
            merchant_id,
            "/v2/auth/refresh",
            &json!({ "refreshToken": refresh_token.expose() }),
            Retry::Once,
        );
        let reply = http.send(&request)?;
        match reply.status {
            200 => return record_from(p, &reply),
            _ => {
                let (code, message) = error_code(&reply.body);
                if code.as_deref() == Some("REFRESH_TOKEN_EXPIRED") || reply.status == 401 {
                    verbose!(
                        "merchant-v2: the refresh token was refused ({}); logging in again",
                        code.as_deref().unwrap_or("401")
                    );
                } else {
                    return Err(rejection("the token refresh", reply.status, code, message)
                        .unwrap_or_else(|| reply.unexpected()));
                }
            }
        }
    } else if had_refresh {
        verbose!("merchant-v2: the refresh token has expired; logging in again");
    }
    let password = secrets.get("password", "merchant-v2 password").map_err(|e| {
        if had_refresh && e.kind() == Kind::NotLoggedIn {
            Error::not_logged_in("the refresh token has expired and no password is stored")
                .hint(format!("run `tok login {}` again", secrets.profile()))
        } else {
            e
        }
    })?;
    login(p, http, &password)
}

fn login(p: &Params, http: &Http, password: &Secret) -> Result<TokenRecord> {
    let Params::Login { base, email, merchant_id } = p else { unreachable!("api-key profiles never log in") };
    let body = json!({ "token": email, "password": password.expose() });
    let reply = http.send(&exchange(base, merchant_id, "/v2/auth/login", &body, Retry::Safe))?;
    if reply.status != 200 {
        let (code, message) = error_code(&reply.body);
        return Err(rejection("the login", reply.status, code, message).unwrap_or_else(|| reply.unexpected()));
    }
    record_from(p, &reply)
}

fn exchange(base: &Url, merchant_id: &str, path: &str, body: &Value, retry: Retry) -> Request {
    let mut request = Request::new("merchant-v2", Method::POST, http::join(base, path))
        .header("accept", "application/json")
        .header("merchant_id", merchant_id)
        .json(body);
    request.retry = retry;
    request
}

/// `{"data": {"accessToken", "expiresIn", "refreshToken"}}`, the same for login and refresh.
fn record_from(p: &Params, reply: &http::Reply) -> Result<TokenRecord> {
    super::reply_tokens::register(&reply.body);
    let data = parse_data(&reply.body).map_err(|why| {
        Error::network(format!(
            "merchant-v2's reply cannot be used: {why}; the body starts: {}",
            reply.excerpt()
        ))
    })?;
    let access = jwt::decode(data.access_token.expose()).ok();
    let exp =
        [access.as_ref().and_then(|c| c.time("exp")), data.expires_at].into_iter().flatten().reduce(f64::min);
    let life = Lifetime {
        sent_at: reply.sent_at,
        jwt_exp: exp,
        jwt_iat: access.as_ref().and_then(|c| c.time("iat")),
        default: Some(ACCESS_LIFETIME),
        ..Default::default()
    };
    let mut record = TokenRecord::bearer(data.access_token, &life, p.binding());
    let refresh_claims = jwt::decode(data.refresh_token.expose()).ok();
    let refresh_life = Lifetime {
        sent_at: reply.sent_at,
        jwt_exp: refresh_claims.as_ref().and_then(|c| c.time("exp")),
        jwt_iat: refresh_claims.as_ref().and_then(|c| c.time("iat")),
        default: Some(REFRESH_LIFETIME),
        ..Default::default()
    };
    record.refresh_expires_at = token::believed_expiry(&refresh_life, "the refresh token");
    record.refresh_token = Some(data.refresh_token);
    Ok(record)
}

#[derive(Debug)]
pub(super) struct Data {
    access_token: Secret,
    /// `expiresIn`: an absolute Unix time on the server's clock.
    expires_at: Option<f64>,
    refresh_token: Secret,
}

pub(super) fn parse_data(body: &[u8]) -> Result<Data, String> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON".to_string())?;
    let data = value.get("data").and_then(Value::as_object).ok_or("there is no \"data\" object")?;
    let text = |key: &str| match data.get(key) {
        Some(Value::String(s)) => Ok(Secret::new(s.clone())),
        Some(_) => Err(format!("{key} is not a string")),
        None => Err(format!("there is no {key}")),
    };
    let expires_at = match data.get("expiresIn") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            // A small number would be a duration after all; only a plausible date counts.
            Some(t) if t > 1_000_000_000.0 => Some(t),
            Some(_) => return Err("expiresIn is not a Unix time".into()),
            None => return Err("expiresIn is not a number".into()),
        },
    };
    Ok(Data { access_token: text("accessToken")?, expires_at, refresh_token: text("refreshToken")? })
}

/// `{"errors": [{"code", "message"}]}`, where `message` is a string or an object with
/// its own `message`.
pub(super) fn error_code(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let Some(first) = value.get("errors").and_then(Value::as_array).and_then(|a| a.first()) else {
        return (None, None);
    };
    let code = first.get("code").and_then(Value::as_str).map(|c| http::clean(c, 60).replace(' ', ""));
    let message = match first.get("message") {
        Some(Value::String(m)) => Some(m.clone()),
        Some(Value::Object(o)) => o.get("message").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    (code, message.map(|m| http::excerpt(m.as_bytes())))
}

fn rejection(what: &str, status: u16, code: Option<String>, message: Option<String>) -> Option<Error> {
    if !(matches!(status, 400 | 401 | 403 | 404 | 422) || code.is_some()) || status >= 500 {
        return None;
    }
    let mut text = format!("merchant-v2 rejected {what} ({})", http::status_text(status));
    let no_code = code.is_none();
    for part in [code, message].into_iter().flatten() {
        text.push_str(": ");
        text.push_str(&part);
    }
    let hint = if status == 404 && no_code {
        "check --base-url: the API has no such endpoint there"
    } else {
        "check the e-mail, password and merchant id; `tok login` stores new ones"
    };
    Some(Error::rejected(text).hint(hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_table() {
        let ok = r#"{"data":{"accessToken":"a.b.c","expiresIn":1707241515,"refreshToken":"r.s.t"}}"#;
        let data = parse_data(ok.as_bytes()).unwrap();
        assert_eq!((data.access_token.expose(), data.refresh_token.expose()), ("a.b.c", "r.s.t"));
        assert_eq!(data.expires_at, Some(1707241515.0));
        let bad = [
            ("nope", "not JSON"),
            (r#"{"accessToken":"a"}"#, "no \"data\""),
            (r#"{"data":{"expiresIn":1707241515,"refreshToken":"r"}}"#, "no accessToken"),
            (r#"{"data":{"accessToken":"a","expiresIn":1800,"refreshToken":"r"}}"#, "not a Unix time"),
            (r#"{"data":{"accessToken":"a","expiresIn":"soon","refreshToken":"r"}}"#, "not a number"),
            (r#"{"data":{"accessToken":"a","expiresIn":1707241515}}"#, "no refreshToken"),
        ];
        for (body, want) in bad {
            let err = parse_data(body.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
        }
    }

    #[test]
    fn error_table() {
        let expired = r#"{"errors":[{"code":"REFRESH_TOKEN_EXPIRED","message":"Invalid token"}]}"#;
        assert_eq!(
            error_code(expired.as_bytes()),
            (Some("REFRESH_TOKEN_EXPIRED".into()), Some("Invalid token".into()))
        );
        let jwt_expired = r#"{"errors":[{"code":"UNAUTHORIZED","message":{"name":"TokenExpiredError","message":"jwt expired","expiredAt":"2024-02-09T19:23:17.000Z"}}]}"#;
        assert_eq!(
            error_code(jwt_expired.as_bytes()),
            (Some("UNAUTHORIZED".into()), Some("jwt expired".into()))
        );
        assert_eq!(error_code(b"<html>"), (None, None));
        assert_eq!(error_code(br#"{"errors":[]}"#), (None, None));
        let err = rejection(
            "the login",
            401,
            Some("INVALID_CREDENTIALS".into()),
            Some("Invalid email or password".into()),
        )
        .unwrap();
        assert_eq!(err.exit_code(), 4);
        assert_eq!(
            err.to_string(),
            "merchant-v2 rejected the login (401 Unauthorized): INVALID_CREDENTIALS: Invalid email or password"
        );
        assert!(rejection("the login", 503, Some("DOWN".into()), None).is_none());
        assert!(rejection("the login", 418, None, None).is_none());
    }
}
