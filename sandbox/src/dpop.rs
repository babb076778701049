//! DPoP (RFC 9449): a token endpoint that binds tokens to the proof's key, and a
//! resource server that checks every request as §4.3 and §7 say.
//!
//!   POST /dpop/token            client_credentials and refresh_token (demo clients, Basic
//!                               or body); the proof's key goes into the token's `cnf.jkt`
//!   POST /dpop/nonce/token      the same, demanding the server's nonce (400 use_dpop_nonce
//!                               with `DPoP-Nonce`), also sent on success
//!   POST /dpop/bearer/token     a server that ignores DPoP: token_type Bearer
//!   ANY  /dpop/api/...          200 {"method", "path", "htu", "jti"} for a DPoP token and a
//!                               valid proof, else 401 with `WWW-Authenticate: DPoP
//!                               error=...` and {"error", "why"}
//!   ANY  /dpop/nonce-api/...    the same, demanding a nonce (401 use_dpop_nonce); every
//!                               success names a new one (§8.2), and only the last three
//!                               issued are accepted
//!   ANY  /dpop/echo/...         a DPoP token and a `DPoP` header, the proof unchecked: for
//!                               `scripts/bench-dpop`, to tell tok's share of the cost from
//!                               the checks'
//!
//! Checked of a proof: one `DPoP` header; a JWT with `typ` dpop+jwt, `alg` ES256 or
//! EdDSA (never none or HMAC), a public `jwk` (no private part) that verifies the
//! signature; `htm` the request's method, `htu` its URL without query and fragment;
//! `iat` within a minute; a `jti` never seen; `ath` the token's hash; the nonce when one
//! is demanded; and the key's thumbprint against the token's `cnf.jkt`.

use crate::{Reply, Req, State, jwt};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;

const IAT_WINDOW: i64 = 60;
const NONCES_KEPT: usize = 3;

#[derive(Default)]
pub struct Ledger {
    /// DPoP tokens issued: their key's thumbprint and expiry.
    tokens: BTreeMap<String, (String, i64)>,
    /// Refresh tokens not yet spent: their client and key.
    refresh: BTreeMap<String, (String, String)>,
    jtis: BTreeSet<String>,
    token_nonce: Option<String>,
    api_nonces: VecDeque<String>,
    serial: u64,
}

impl Ledger {
    /// `POST /_sandbox/revoke`: that DPoP token, or every one.
    pub fn revoke(&mut self, token: Option<&str>) {
        match token {
            Some(token) => {
                self.tokens.remove(token);
            }
            None => self.tokens.clear(),
        }
    }

    fn next(&mut self, what: &str) -> String {
        self.serial += 1;
        format!("{what}-{}-{:08x}", self.serial, crate::now() as u64 ^ (self.serial * 0x9e37_79b9))
    }
}

pub fn handle(state: &Mutex<State>, req: &Req) -> Option<Reply> {
    let path = req.path.as_str();
    Some(match (req.method.as_str(), path) {
        ("POST", "/dpop/token") => token(state, req, false, false),
        ("POST", "/dpop/nonce/token") => token(state, req, true, false),
        ("POST", "/dpop/bearer/token") => token(state, req, false, true),
        _ if path.starts_with("/dpop/api/") => api(state, req, false),
        _ if path.starts_with("/dpop/nonce-api/") => api(state, req, true),
        _ if path.starts_with("/dpop/echo/") => unchecked(state, req),
        _ => return None,
    })
}

enum Refusal {
    Invalid(String),
    Nonce,
}

fn invalid(why: impl Into<String>) -> Refusal {
    Refusal::Invalid(why.into())
}

/// The request's URL as the client addressed it, without query (the sandbox is plain HTTP).
fn own_url(req: &Req) -> String {
    format!("http://{}{}", req.header("host").unwrap_or("127.0.0.1"), req.path)
}

/// `htu` compared as RFC 9449 §4.3 says: without query and fragment, normalised.
fn same_htu(htu: &str, url: &str) -> bool {
    let norm = |text: &str| {
        url::Url::parse(text).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
    };
    matches!((norm(htu), norm(url)), (Some(a), Some(b)) if a == b)
}

pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for m in members {
        canonical.insert((*m).to_string(), json!(jwk.get(*m)?.as_str()?));
    }
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(Value::Object(canonical).to_string().as_bytes())))
}

fn decode_part(part: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Checks the request's proof; the key's thumbprint and the proof's claims when it passes.
/// The state is locked only to record the `jti`: signatures are checked side by side.
fn check_proof(
    state: &Mutex<State>,
    req: &Req,
    token: Option<&str>,
    nonces: &[String],
) -> Result<(String, Map<String, Value>), Refusal> {
    let proofs: Vec<&str> =
        req.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("dpop")).map(|(_, v)| v.as_str()).collect();
    let proof = match proofs.as_slice() {
        [] => return Err(invalid("no DPoP header")),
        [one] => *one,
        _ => return Err(invalid("more than one DPoP header")),
    };
    let parts: Vec<&str> = proof.split('.').collect();
    if parts.len() != 3 {
        return Err(invalid("the proof is no JWS"));
    }
    let header = decode_part(parts[0]).ok_or_else(|| invalid("the proof's header is no JSON object"))?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(invalid("typ is not dpop+jwt"));
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => jsonwebtoken::Algorithm::ES256,
        Some("EdDSA") => jsonwebtoken::Algorithm::EdDSA,
        Some(other) if other == "none" || other.starts_with("HS") => {
            return Err(invalid("alg none or HMAC is never a proof"));
        }
        _ => return Err(invalid("alg is not ES256 or EdDSA")),
    };
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(invalid("no jwk in the proof's header"));
    };
    if jwk.contains_key("d") {
        return Err(invalid("the jwk holds a private key"));
    }
    let parsed: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(Value::Object(jwk.clone())).map_err(|_| invalid("the jwk is no key"))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&parsed).map_err(|_| invalid("the jwk is no key"))?;
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(proof, &key, &validation)
        .map_err(|_| invalid("the signature does not verify with the jwk"))?
        .claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("htm") != Some(req.method.as_str()) {
        return Err(invalid(format!("htm is not {}", req.method)));
    }
    if !text("htu").is_some_and(|htu| same_htu(htu, &own_url(req))) {
        return Err(invalid("htu is not the request's URL"));
    }
    let now = crate::now();
    if claims.get("iat").and_then(Value::as_i64).is_none_or(|iat| (iat - now).abs() > IAT_WINDOW) {
        return Err(invalid("iat is not within a minute of now"));
    }
    if !nonces.is_empty() && !text("nonce").is_some_and(|n| nonces.iter().any(|k| k == n)) {
        return Err(Refusal::Nonce);
    }
    let Some(jti) = text("jti").filter(|j| !j.is_empty()) else {
        return Err(invalid("no jti"));
    };
    if !state.lock().unwrap().dpop.jtis.insert(jti.to_string()) {
        return Err(invalid("the jti was seen before (a replayed proof)"));
    }
    if let Some(token) = token {
        let want = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        match text("ath") {
            None => return Err(invalid("no ath")),
            Some(ath) if ath != want => return Err(invalid("ath is not the token's hash")),
            Some(_) => {}
        }
    }
    let jkt = thumbprint(jwk).ok_or_else(|| invalid("the jwk makes no thumbprint"))?;
    Ok((jkt, claims))
}

fn with_header(mut reply: Reply, name: &str, value: &str) -> Reply {
    reply.headers.push((name.into(), value.into()));
    reply
}

fn token(state: &Mutex<State>, req: &Req, demand_nonce: bool, bearer: bool) -> Reply {
    let rfc = |status: u16, error: &str, why: &str| {
        Reply::json(status, &json!({ "error": error, "error_description": why }))
    };
    let mut s = state.lock().unwrap();
    let nonce = if demand_nonce {
        if s.dpop.token_nonce.is_none() {
            let n = s.dpop.next("as-nonce");
            s.dpop.token_nonce = Some(n);
        }
        s.dpop.token_nonce.clone()
    } else {
        None
    };
    let nonces: Vec<String> = nonce.iter().cloned().collect();
    drop(s);
    let checked = check_proof(state, req, None, &nonces);
    let mut s = state.lock().unwrap();
    let jkt = match checked {
        Ok((jkt, _)) => jkt,
        Err(Refusal::Nonce) => {
            let reply = rfc(400, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof");
            return with_header(reply, "DPoP-Nonce", nonce.as_deref().unwrap_or_default());
        }
        Err(Refusal::Invalid(why)) => return rfc(400, "invalid_dpop_proof", &why),
    };
    let fields: BTreeMap<String, String> = url::form_urlencoded::parse(&req.body).into_owned().collect();
    let client = match (req.header("authorization"), fields.get("client_id"), fields.get("client_secret")) {
        (Some(header), _, None) => crate::oauth2::basic_client(header),
        (None, Some(id), Some(secret)) => {
            crate::oauth2::CLIENTS.iter().find(|(i, k)| i == id && k == secret).map(|(i, _)| *i)
        }
        _ => None,
    };
    let Some(client) = client else {
        return rfc(401, "invalid_client", "Client authentication failed");
    };
    match fields.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some("refresh_token") => {
            let given = fields.get("refresh_token").cloned().unwrap_or_default();
            match s.dpop.refresh.remove(&given) {
                Some((owner, bound)) if owner == client && bound == jkt => {}
                Some((owner, _)) if owner == client => {
                    return rfc(400, "invalid_grant", "the refresh token is bound to another DPoP key");
                }
                _ => return rfc(400, "invalid_grant", "unknown refresh token"),
            }
        }
        _ => return rfc(400, "unsupported_grant_type", "client_credentials or refresh_token"),
    }
    let now = s.now();
    let lifetime = s.settings.oauth2_lifetime;
    s.serial += 1;
    let serial = s.serial;
    let claims = json!({
        "iss": "tok-sandbox/dpop", "sub": client, "iat": now, "exp": now + lifetime,
        "jti": format!("sandbox-{serial}"), "cnf": { "jkt": jkt },
    });
    let access = jwt::mint("RS256", &claims, serial);
    let refresh = s.dpop.next("dpop-refresh");
    s.dpop.tokens.insert(access.clone(), (jkt.clone(), now + lifetime));
    s.dpop.refresh.insert(refresh.clone(), (client.to_string(), jkt));
    let token_type = if bearer { "Bearer" } else { "DPoP" };
    let reply = Reply::json(
        200,
        &json!({ "access_token": access, "token_type": token_type, "expires_in": lifetime, "refresh_token": refresh }),
    );
    match nonce {
        Some(n) => with_header(reply, "DPoP-Nonce", &n),
        None => reply,
    }
}

fn api(state: &Mutex<State>, req: &Req, demand_nonce: bool) -> Reply {
    let refuse = |error: &str, why: &str| {
        let reply = Reply::json(401, &json!({ "error": error, "why": why }));
        with_header(
            reply,
            "WWW-Authenticate",
            &format!("DPoP algs=\"ES256 EdDSA\", error=\"{error}\", error_description=\"{why}\""),
        )
    };
    let mut s = state.lock().unwrap();
    let token = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("dpop").then(|| token.to_string()));
    let Some(token) = token else {
        return refuse("invalid_token", "no DPoP token (Authorization: DPoP ...)");
    };
    let Some((bound, exp)) = s.dpop.tokens.get(&token).cloned() else {
        return refuse("invalid_token", "unknown token");
    };
    if exp <= s.now() {
        return refuse("invalid_token", "the token expired");
    }
    if demand_nonce && s.dpop.api_nonces.is_empty() {
        let n = s.dpop.next("rs-nonce");
        s.dpop.api_nonces.push_back(n);
    }
    let nonces: Vec<String> =
        if demand_nonce { s.dpop.api_nonces.iter().cloned().collect() } else { Vec::new() };
    drop(s);
    let checked = check_proof(state, req, Some(&token), &nonces);
    let mut s = state.lock().unwrap();
    let (jkt, claims) = match checked {
        Ok(found) => found,
        Err(Refusal::Nonce) => {
            let latest = s.dpop.api_nonces.back().cloned().unwrap_or_default();
            let reply = refuse("use_dpop_nonce", "Resource server requires nonce in DPoP proof");
            return with_header(reply, "DPoP-Nonce", &latest);
        }
        Err(Refusal::Invalid(why)) => return refuse("invalid_dpop_proof", &why),
    };
    if jkt != bound {
        return refuse("invalid_token", "the proof's key is not the one the token is bound to (cnf.jkt)");
    }
    let reply = Reply::json(
        200,
        &json!({ "method": req.method, "path": req.path, "htu": claims.get("htu"), "jti": claims.get("jti") }),
    );
    if demand_nonce {
        let n = s.dpop.next("rs-nonce");
        s.dpop.api_nonces.push_back(n.clone());
        while s.dpop.api_nonces.len() > NONCES_KEPT {
            s.dpop.api_nonces.pop_front();
        }
        return with_header(reply, "DPoP-Nonce", &n);
    }
    reply
}

fn unchecked(state: &Mutex<State>, req: &Req) -> Reply {
    let s = state.lock().unwrap();
    let token = req.header("authorization").and_then(|v| v.strip_prefix("DPoP "));
    match token.and_then(|t| s.dpop.tokens.get(t)) {
        Some(_) if req.header("dpop").is_some() => Reply::json(200, &json!({ "path": req.path })),
        _ => Reply::json(401, &json!({ "error": "invalid_token" })),
    }
}
