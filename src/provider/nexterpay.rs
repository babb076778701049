//! NexterPay: user name + password → one JWT, sent back as a JSON *string*.
//!
//! `POST {base}/security/createToken` with `{"userName","password"}`. The 200 body is
//! a JSON-encoded string (quotes and escapes), so it is decoded as JSON, never trimmed.
//! There is no refresh token: refreshing means logging in again with the stored
//! password. Lifetimes: sandbox 600 min, production 90 min; the JWT's `exp` wins when
//! present. The production host is not published, so production needs `--base-url`.

use crate::error::{Error, Result};
use crate::http::{self, Http, Request};
use crate::input::Secrets;
use crate::jwt;
use crate::policy::Lifetime;
use crate::profile::Profile;
use crate::secret::Secret;
use crate::term::verbose;
use crate::token::TokenRecord;
use reqwest::{Method, Url};
use serde_json::{Value, json};

use super::spec::{CurlTouches, Environment, Identity, Need, Ops, SecretField, Setting, Spec};

const SANDBOX_URL: &str = "https://api-sandbox.nexterpay.io";

pub const SPEC: Spec = Spec {
    name: "nexterpay",
    title: "NexterPay",
    summary: "user name and password for a JWT; refreshing logs in again",
    settings: &[
        Setting {
            field: "env",
            flag: "--env",
            help: "sandbox (default) or production",
            need: Need::Optional,
            prompt: None,
            placeholder: "production",
        },
        Setting {
            field: "base_url",
            flag: "--base-url",
            help: "the API host; production's is not published, NexterPay gives it to you",
            need: Need::When("env", "production"),
            prompt: None,
            placeholder: "https://<host NexterPay gave you>",
        },
        Setting {
            field: "username",
            flag: "--username",
            help: "the NexterPay user name",
            need: Need::Always,
            prompt: Some("NexterPay user name"),
            placeholder: "alice",
        },
    ],
    secrets: &[SecretField { field: "password", label: "NexterPay password", need: Need::Always }],
    environments: &[
        Environment { name: "sandbox", host: SANDBOX_URL, default: true },
        Environment { name: "production", host: "not published: --base-url", default: false },
    ],
    api_host: "the base URL",
    example: "tok login nexterpay --username alice",
    variants: &[],
    ops: Ops { identity, obtain: obtain_for, curl, check: None },
};

fn identity(profile: &Profile) -> Result<Identity> {
    Ok(Identity::checked(Params::from_profile(profile)?.binding()))
}

fn obtain_for(
    profile: &Profile,
    http: &Http,
    secrets: &mut Secrets,
    _: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    obtain(&Params::from_profile(profile)?, http, secrets)
}

fn curl(profile: &Profile) -> Result<CurlTouches> {
    Ok(CurlTouches::base(&Params::from_profile(profile)?.base))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Env {
    Sandbox,
    Production,
}

impl Env {
    fn lifetime_secs(self) -> f64 {
        match self {
            Env::Sandbox => 600.0 * 60.0,
            Env::Production => 90.0 * 60.0,
        }
    }
}

struct Params {
    env: Env,
    base: Url,
    username: String,
}

impl Params {
    pub fn from_profile(profile: &Profile) -> Result<Params> {
        let env = match profile.get("env").unwrap_or("sandbox") {
            "sandbox" => Env::Sandbox,
            "production" => Env::Production,
            other => {
                return Err(Error::usage(format!(
                    "unknown NexterPay environment: sandbox or production{}",
                    crate::secret::near_miss(other, &["sandbox", "production"])
                )));
            }
        };
        let base = match (profile.url("base_url")?, env) {
            (Some(url), _) => url,
            (None, Env::Sandbox) => http::base_url(SANDBOX_URL)?,
            (None, Env::Production) => {
                return Err(Error::usage("NexterPay does not publish its production host").hint(
                    "pass --base-url with the host NexterPay gave you (or set TOK_<PROFILE>_BASE_URL)",
                ));
            }
        };
        let username = profile.require("username")?.to_string();
        Ok(Params { env, base, username })
    }

    pub fn binding(&self) -> String {
        format!("nexterpay {:?} {} {}", self.env, self.base, self.username)
    }
}

fn obtain(p: &Params, http: &Http, secrets: &mut Secrets) -> Result<TokenRecord> {
    let password = secrets.get("password", "NexterPay password")?;
    let body = json!({ "userName": p.username, "password": password.expose() });
    let request = Request::new("nexterpay", Method::POST, http::join(&p.base, "/security/createToken"))
        .header("accept", "application/json")
        .json(&body);
    drop(body);
    let reply = http.send(&request)?;
    match reply.status {
        200 => {}
        400 => {
            return Err(Error::rejected(
                "NexterPay rejected the login (400 Bad Request: wrong credentials or malformed body)",
            )
            .hint("check the user name and password; `tok login` stores new ones"));
        }
        401 => {
            return Err(Error::rejected(format!(
                "NexterPay answered 401 Unauthorized (token missing, malformed or expired){}",
                problem_title(&reply.body)
            )));
        }
        403 => {
            return Err(Error::rejected(
                "NexterPay refused the account (403 Forbidden: suspended or restricted)",
            )
            .hint("contact your NexterPay representative"));
        }
        404 => {
            return Err(Error::rejected(
                "NexterPay has no /security/createToken at this base URL (404 Not Found)",
            )
            .hint("check --base-url (and --env)"));
        }
        _ => return Err(reply.unexpected()),
    }
    super::reply_tokens::register(&reply.body);
    let token = parse_reply(&reply.body).map_err(|why| {
        Error::network(format!(
            "NexterPay's reply is not a token: {why}; the body starts: {}",
            reply.excerpt()
        ))
    })?;
    let mut life =
        Lifetime { sent_at: reply.sent_at, default: Some(p.env.lifetime_secs()), ..Default::default() };
    match jwt::decode(token.expose()) {
        Ok(claims) => {
            life.jwt_exp = claims.time("exp");
            life.jwt_iat = claims.time("iat");
        }
        Err(e) => {
            verbose!("nexterpay: the token is not a readable JWT ({e}); assuming the {:?} lifetime", p.env)
        }
    }
    Ok(TokenRecord::bearer(token, &life, p.binding()))
}

/// The 200 body: a JSON string holding the token. Escapes are decoded by the JSON parser.
pub(super) fn parse_reply(body: &[u8]) -> Result<Secret, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::String(token)) => Ok(Secret::new(token)),
        Ok(Value::Object(_)) => Err("expected a JSON string, got a JSON object".into()),
        Ok(_) => Err("expected a JSON string".into()),
        Err(_) if body.is_empty() => Err("the body is empty".into()),
        Err(_) => Err("the body is not JSON".into()),
    }
}

/// ` (title)` from a problem+json body, when there is one.
fn problem_title(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("title").and_then(Value::as_str).map(|t| format!(": {}", http::excerpt(t.as_bytes())))
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_table() {
        let ok: [(&[u8], &str); 3] = [
            (b"\"eyJ.a.b\"", "eyJ.a.b"),
            (b"  \"eyJ.a.b\"\n", "eyJ.a.b"),
            // Escapes are decoded, not kept: `\/` is `/`.
            (b"\"ab\\/cd\"", "ab/cd"),
        ];
        for (body, want) in ok {
            assert_eq!(parse_reply(body).unwrap().expose(), want);
        }
        let bad: [(&[u8], &str); 5] = [
            (b"", "empty"),
            (b"eyJ.a.b", "not JSON"),
            (b"<html>oops</html>", "not JSON"),
            (b"{\"token\":\"x\"}", "JSON object"),
            (b"42", "JSON string"),
        ];
        for (body, want) in bad {
            assert!(parse_reply(body).unwrap_err().contains(want), "{body:?}");
        }
        // A string that is not a usable token is caught by the common gate afterwards.
        assert!(crate::token::validate(parse_reply(b"\"two words\"").unwrap().expose()).is_err());
    }

    #[test]
    fn problem_titles() {
        assert_eq!(problem_title(br#"{"type":"x","title":"Unauthorized","status":401}"#), ": Unauthorized");
        assert_eq!(problem_title(b"nope"), "");
    }
}
