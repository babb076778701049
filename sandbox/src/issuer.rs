//! A standards-shaped authorization server under `/as`, for the generic `oauth2`
//! provider's discovery, client authentication and refresh:
//!
//! - `GET /as/.well-known/openid-configuration` (issuer `http://<host>/as`) and, for
//!   RFC 8414 §3.1's path insertion, `GET /.well-known/oauth-authorization-server/as8414`
//!   (issuer `http://<host>/as8414`, with no OpenID document). Setting
//!   `issuer_mismatch` makes both name another issuer.
//! - `POST /as/token` (also `/as8414/token`): `client_credentials` and `refresh_token`,
//!   with client authentication `client_secret_basic`, `client_secret_post`,
//!   `client_secret_jwt` (HS256 with the client secret) and `private_key_jwt` for clients
//!   `jwt-rsa`, `jwt-ec` and `jwt-ed` (the public keys of tests/fixtures). Assertions must
//!   have iss = sub = client id, aud = this token endpoint, a jti not seen before, and
//!   live at most 5 minutes. Every reply carries a refresh token that rotates: each can
//!   be spent once. Setting `refuse_refresh` refuses every refresh token
//!   (`invalid_grant`). `rt-out-of-band` is a refresh token handed out beforehand. A
//!   scope with `openid` adds an `id_token`. Token exchange (RFC 8693) takes a live
//!   access token this sandbox issued as `subject_token` (its `sub` is kept, `act.sub` is
//!   the exchanging client) and gives no refresh token; setting
//!   `exchange_omit_issued_token_type` leaves RFC 8693's required `issued_token_type` out.

use crate::oauth2::CLIENTS;
use crate::{Reply, Req, State, jwt};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

pub const OUT_OF_BAND_REFRESH: &str = "rt-out-of-band";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const KEYS: &[(&str, &str)] = &[
    ("jwt-rsa", include_str!("../../tests/fixtures/rsa-public.pem")),
    ("jwt-ec", include_str!("../../tests/fixtures/ec-public.pem")),
    ("jwt-ed", include_str!("../../tests/fixtures/ed25519-public.pem")),
];

pub fn handle(state: &Mutex<State>, req: &Req) -> Option<Reply> {
    let host = req.header("host").unwrap_or("127.0.0.1");
    Some(match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/as/.well-known/openid-configuration") => metadata(state, &format!("http://{host}/as")),
        ("GET", "/.well-known/oauth-authorization-server/as8414") => {
            metadata(state, &format!("http://{host}/as8414"))
        }
        ("POST", path @ ("/as/token" | "/as8414/token")) => {
            token(state, req, &format!("http://{host}{path}"))
        }
        _ => return None,
    })
}

fn metadata(state: &Mutex<State>, issuer: &str) -> Reply {
    let named = if state.lock().unwrap().settings.issuer_mismatch {
        "https://evil.example".to_string()
    } else {
        issuer.to_string()
    };
    Reply::json(
        200,
        &json!({
            "issuer": named,
            "token_endpoint": format!("{issuer}/token"),
            "authorization_endpoint": format!("{issuer}/authorize"),
            "device_authorization_endpoint": format!("{issuer}/device"),
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"],
            "grant_types_supported": ["client_credentials", "refresh_token"],
            "mtls_endpoint_aliases": { "token_endpoint": "https://mtls.example/token" },
        }),
    )
}

fn error(status: u16, error: &str, description: &str) -> Reply {
    Reply::json(status, &json!({ "error": error, "error_description": description }))
}

fn token(state: &Mutex<State>, req: &Req, endpoint: &str) -> Reply {
    let form: BTreeMap<String, Vec<String>> =
        url::form_urlencoded::parse(&req.body).into_owned().fold(BTreeMap::new(), |mut m, (k, v)| {
            m.entry(k).or_default().push(v);
            m
        });
    let one = |k: &str| first(&form, k);
    let client = match authenticate(state, req, &form, endpoint) {
        Ok(client) => client,
        Err(why) => return error(401, "invalid_client", &why),
    };
    let mut s = state.lock().unwrap();
    let mut subject = None;
    match one("grant_type") {
        Some("client_credentials") => {}
        Some(TOKEN_EXCHANGE) => {
            let given = one("subject_token").unwrap_or_default();
            let now = s.now();
            if s.issued.get(given).is_none_or(|exp| *exp <= now) {
                return error(400, "invalid_grant", "the subject token is not a live token of this issuer");
            }
            if one("subject_token_type") != Some(ACCESS_TOKEN_TYPE) {
                return error(400, "invalid_request", "subject_token_type must be an access token");
            }
            subject = Some(payload_sub(given));
        }
        Some("refresh_token") => {
            let given = one("refresh_token").unwrap_or_default();
            let known = s.as_refresh.remove(given).is_some_and(|owner| owner == client)
                || (given == OUT_OF_BAND_REFRESH && !s.as_out_of_band_spent);
            if given == OUT_OF_BAND_REFRESH {
                s.as_out_of_band_spent = true;
            }
            if !known || s.settings.refuse_refresh {
                return error(400, "invalid_grant", "the refresh token is invalid, expired or already used");
            }
        }
        _ => {
            return error(
                400,
                "unsupported_grant_type",
                "client_credentials, refresh_token or token exchange",
            );
        }
    }
    s.serial += 1;
    let now = s.now();
    let lifetime = s.settings.oauth2_lifetime;
    let mut claims = json!({
        "iss": endpoint, "sub": subject.clone().unwrap_or_else(|| client.clone()), "iat": now, "exp": now + lifetime,
        "jti": format!("as-{}", s.serial),
        "scope": one("scope"), "aud": form.get("audience"), "resource": form.get("resource"),
        "prompt": one("prompt"),
    });
    if subject.is_some() {
        claims["act"] = json!({ "sub": client });
    }
    let access = jwt::mint("RS256", &claims, s.serial);
    s.issued.insert(access.clone(), now + lifetime);
    let refresh = format!(
        "rt-{}-{}",
        s.serial,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(access.len().to_le_bytes())
    );
    s.as_refresh.insert(refresh.clone(), client.clone());
    let mut reply = json!({ "access_token": access, "expires_in": lifetime, "token_type": "Bearer", "refresh_token": refresh });
    if subject.is_some() {
        reply.as_object_mut().unwrap().remove("refresh_token");
        s.as_refresh.remove(&refresh);
        if !s.settings.exchange_omit_issued_token_type {
            reply["issued_token_type"] = json!(ACCESS_TOKEN_TYPE);
        }
    }
    // An OpenID scope gets an ID token too.
    if one("scope").is_some_and(|scope| scope.split(' ').any(|s| s == "openid")) {
        let id_claims =
            json!({ "iss": endpoint, "sub": client, "aud": client, "iat": now, "exp": now + lifetime });
        reply["id_token"] = json!(jwt::mint("RS256", &id_claims, s.serial + 1_000_000));
    }
    Reply::json(200, &reply)
}

/// The client the request authenticates as, by whichever method it used.
fn authenticate(
    state: &Mutex<State>,
    req: &Req,
    form: &BTreeMap<String, Vec<String>>,
    endpoint: &str,
) -> Result<String, String> {
    let one = |k: &str| first(form, k);
    if let Some(header) = req.header("authorization") {
        let b64 = header.strip_prefix("Basic ").ok_or("not Basic")?;
        let pair = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| "bad base64")?;
        let pair = String::from_utf8(pair).map_err(|_| "bad utf-8")?;
        let (id, secret) = pair.split_once(':').ok_or("no colon")?;
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|p| p.1.into_owned())
        };
        let (id, secret) = (decode(id).unwrap_or_default(), decode(secret).unwrap_or_default());
        return CLIENTS
            .iter()
            .find(|(i, s)| *i == id && *s == secret)
            .map(|(i, _)| i.to_string())
            .ok_or("bad secret".into());
    }
    let id = one("client_id").ok_or("no client_id")?;
    match (one("client_secret"), one("client_assertion_type"), one("client_assertion")) {
        (Some(secret), None, None) => CLIENTS
            .iter()
            .find(|(i, s)| *i == id && *s == secret)
            .map(|(i, _)| i.to_string())
            .ok_or("bad secret".into()),
        (None, Some(JWT_BEARER), Some(assertion)) => {
            let header = jsonwebtoken::decode_header(assertion).map_err(|e| format!("bad assertion: {e}"))?;
            let key = match header.alg {
                Algorithm::HS256 => {
                    let secret = CLIENTS.iter().find(|(i, _)| *i == id).ok_or("unknown client")?.1;
                    DecodingKey::from_secret(secret.as_bytes())
                }
                Algorithm::RS256 | Algorithm::PS256 => {
                    DecodingKey::from_rsa_pem(key_of(id)?.as_bytes()).map_err(|e| e.to_string())?
                }
                Algorithm::ES256 => {
                    DecodingKey::from_ec_pem(key_of(id)?.as_bytes()).map_err(|e| e.to_string())?
                }
                Algorithm::EdDSA => {
                    DecodingKey::from_ed_pem(key_of(id)?.as_bytes()).map_err(|e| e.to_string())?
                }
                other => return Err(format!("{other:?} is not accepted")),
            };
            let mut validation = Validation::new(header.alg);
            validation.set_audience(&[endpoint]);
            validation.set_issuer(&[id]);
            validation.sub = Some(id.to_string());
            validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
            let claims = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
                .map_err(|e| format!("assertion refused: {e}"))?
                .claims;
            let iat = claims["iat"].as_i64().ok_or("no iat")?;
            let exp = claims["exp"].as_i64().ok_or("no exp")?;
            if exp - iat > 300 {
                return Err("the assertion lives longer than 5 minutes".into());
            }
            let jti = claims["jti"].as_str().ok_or("no jti")?.to_string();
            if !state.lock().unwrap().as_jtis.insert(jti) {
                return Err("the assertion's jti was used before".into());
            }
            // The kid, when sent, must be the one registered (the sandbox registers "k1").
            if header.kid.as_deref().is_some_and(|k| k != "k1") {
                return Err("unknown kid".into());
            }
            Ok(id.to_string())
        }
        _ => Err("no client authentication".into()),
    }
}

/// The `sub` of a token this sandbox minted (its payload is plain base64url JSON).
fn payload_sub(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|claims| claims["sub"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn first<'a>(form: &'a BTreeMap<String, Vec<String>>, k: &str) -> Option<&'a str> {
    form.get(k).and_then(|v| v.first()).map(String::as_str)
}

fn key_of(id: &str) -> Result<&'static str, String> {
    KEYS.iter().find(|(i, _)| *i == id).map(|(_, k)| *k).ok_or_else(|| format!("{id} has no registered key"))
}
