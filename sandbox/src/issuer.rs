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
//! - `GET /as/authorize`: an authorization request (`response_type=code`, a loopback
//!   `redirect_uri`, `state`, PKCE S256 required) is approved at once: a 302 to the
//!   redirect URI with `code`, `state` and `iss` (RFC 9207). The code redeems once at
//!   `/as/token` (`grant_type=authorization_code`) with the same `redirect_uri` and the
//!   verifier; a public client (`tok-public`) sends only its `client_id`. The ID token
//!   carries the request's `nonce`. Setting `authorize_quirk` makes it misbehave.
//! - `POST /as/device` and the device_code grant: see `device`.

use crate::oauth2::CLIENTS;
use crate::{Reply, Req, State, device, jwt};
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
        ("GET", "/as/authorize") => authorize(state, req, &format!("http://{host}/as")),
        ("POST", path @ ("/as/token" | "/as8414/token")) => {
            token(state, req, &format!("http://{host}{path}"))
        }
        ("POST", path @ ("/as/device" | "/as8414/device")) => {
            device(state, req, &format!("http://{host}{path}"))
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
            "authorization_response_iss_parameter_supported": true,
            "mtls_endpoint_aliases": { "token_endpoint": "https://mtls.example/token" },
        }),
    )
}

/// The `/as` client registered as public (`none`): PKCE is its only proof.
const PUBLIC_CLIENT: &str = "tok-public";

/// Approves every well-formed request at once: no person is asked.
fn authorize(state: &Mutex<State>, req: &Req, issuer: &str) -> Reply {
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(req.query.as_bytes()).into_owned().collect();
    let get = |k: &str| query.get(k).map(String::as_str);
    let Some(redirect) = get("redirect_uri").and_then(|r| url::Url::parse(r).ok()) else {
        return error(400, "invalid_request", "no redirect_uri");
    };
    if redirect.scheme() != "http" || redirect.host_str() != Some("127.0.0.1") {
        return error(400, "invalid_request", "the redirect_uri is not loopback");
    }
    let known = |id: &str| id == PUBLIC_CLIENT || CLIENTS.iter().any(|(i, _)| *i == id);
    if get("response_type") != Some("code")
        || !get("client_id").is_some_and(known)
        || get("code_challenge_method") != Some("S256")
        || get("code_challenge").is_none_or(str::is_empty)
    {
        return error(400, "invalid_request", "response_type=code, a known client_id and PKCE S256");
    }
    let mut s = state.lock().unwrap();
    s.serial += 1;
    let code = format!("code-{}-{}", s.serial, s.now());
    let quirk = s.settings.authorize_quirk.clone().unwrap_or_default();
    let mut request = json!(query);
    if quirk == "wrong_nonce" {
        request["nonce"] = json!("a-nonce-of-another-login");
    }
    s.as_codes.insert(code.clone(), request);
    let mut location = redirect;
    match quirk.as_str() {
        "wrong_iss" => {
            location.query_pairs_mut().append_pair("code", &code).append_pair("iss", "https://evil.example")
        }
        // An answer made elsewhere, without the iss this server says it always sends.
        "no_iss" => location.query_pairs_mut().append_pair("code", &code),
        "error" => location
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair(
                "error_description",
                &format!("denied: the client's secret is {}", secret_of(get("client_id"))),
            )
            .append_pair("iss", issuer),
        _ => location.query_pairs_mut().append_pair("code", &code).append_pair("iss", issuer),
    };
    if let Some(st) = get("state") {
        location.query_pairs_mut().append_pair("state", st);
    }
    Reply { status: 302, headers: vec![("Location".into(), location.to_string())], body: Vec::new() }
}

fn error(status: u16, error: &str, description: &str) -> Reply {
    Reply::json(status, &json!({ "error": error, "error_description": description }))
}

fn token(state: &Mutex<State>, req: &Req, endpoint: &str) -> Reply {
    let form = parse_form(req);
    let one = |k: &str| first(&form, k);
    let public_code = one("grant_type") == Some("authorization_code")
        && one("client_id") == Some(PUBLIC_CLIENT)
        && req.header("authorization").is_none()
        && one("client_secret").is_none()
        && one("client_assertion").is_none();
    let client = match authenticate(state, req, &form, endpoint) {
        Ok(client) => client,
        Err(_) if public_code => PUBLIC_CLIENT.to_string(),
        // A public client refreshes with its client_id alone too (RFC 6749 §6).
        Err(_)
            if matches!(one("grant_type"), Some(device::GRANT_TYPE | "refresh_token")) && public(&form) =>
        {
            device::PUBLIC_CLIENT.to_string()
        }
        Err(why) => return error(401, "invalid_client", &why),
    };
    let mut s = state.lock().unwrap();
    let mut nonce = None;
    let mut scope = one("scope").map(str::to_string);
    let mut subject = None;
    match one("grant_type") {
        Some("client_credentials") => {}
        Some("authorization_code") => {
            let Some(request) = s.as_codes.remove(one("code").unwrap_or_default()) else {
                return error(400, "invalid_grant", "the code is invalid, expired or already used");
            };
            let challenge = request["code_challenge"].as_str().unwrap_or_default();
            let verifier = one("code_verifier").unwrap_or_default();
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
            if request["client_id"] != client.as_str()
                || request["redirect_uri"].as_str() != one("redirect_uri")
                || computed != challenge
            {
                return error(400, "invalid_grant", "client, redirect_uri or code_verifier do not match");
            }
            nonce = request["nonce"].as_str().map(str::to_string);
            scope = request["scope"].as_str().map(str::to_string);
        }
        Some(device::GRANT_TYPE) => {
            if let Err((status, code)) = device::poll(&mut s, one("device_code"), &client) {
                return error(status, code, "see RFC 8628 §3.5");
            }
        }
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
        "scope": scope, "aud": form.get("audience"), "resource": form.get("resource"),
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
    if scope.is_some_and(|scope| scope.split(' ').any(|s| s == "openid")) {
        let mut id_claims =
            json!({ "iss": endpoint, "sub": client, "aud": client, "iat": now, "exp": now + lifetime });
        if let Some(nonce) = nonce {
            id_claims["nonce"] = json!(nonce);
        }
        reply["id_token"] = json!(jwt::mint("RS256", &id_claims, s.serial + 1_000_000));
    }
    Reply::json(200, &reply)
}

pub(crate) fn parse_form(req: &Req) -> BTreeMap<String, Vec<String>> {
    url::form_urlencoded::parse(&req.body).into_owned().fold(BTreeMap::new(), |mut m, (k, v)| {
        m.entry(k).or_default().push(v);
        m
    })
}

/// The device client that authenticates with nothing: its `client_id` alone.
fn public(form: &BTreeMap<String, Vec<String>>) -> bool {
    first(form, "client_id") == Some(device::PUBLIC_CLIENT)
        && ["client_secret", "client_assertion"].iter().all(|k| !form.contains_key(*k))
}

/// RFC 8628 §3.1, authenticated like a token request (the assertion's `aud` is this
/// endpoint), or the public device client.
fn device(state: &Mutex<State>, req: &Req, endpoint: &str) -> Reply {
    let form = parse_form(req);
    let client = match authenticate(state, req, &form, endpoint) {
        Ok(client) => client,
        Err(_) if req.header("authorization").is_none() && public(&form) => device::PUBLIC_CLIENT.to_string(),
        Err(why) => return error(401, "invalid_client", &why),
    };
    let issuer = endpoint.trim_end_matches("/device");
    let (status, body) = device::authorize(&mut state.lock().unwrap(), &client, issuer);
    Reply::json(status, &body)
}

/// The client the request authenticates as, by whichever method it used.
pub(crate) fn authenticate(
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

/// A careless server's error text names the client's secret.
fn secret_of(id: Option<&str>) -> &'static str {
    CLIENTS.iter().find(|(i, _)| Some(*i) == id).map_or("unknown", |(_, s)| *s)
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

pub(crate) fn first<'a>(form: &'a BTreeMap<String, Vec<String>>, k: &str) -> Option<&'a str> {
    form.get(k).and_then(|v| v.first()).map(String::as_str)
}

fn key_of(id: &str) -> Result<&'static str, String> {
    KEYS.iter().find(|(i, _)| *i == id).map(|(_, k)| *k).ok_or_else(|| format!("{id} has no registered key"))
}
