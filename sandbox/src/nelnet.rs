//! Nelnet Payment Services as its document describes it (shared/seeds/nelnet-nps.md):
//! every backend call carries a short-lived HS512 JWT signed with the API key, with
//! `sub` = API Key ID, `iat`, and `exp`. Expired, badly signed, wrongly signed or
//! wrong-`sub` tokens get `401` with `{responseCode, responseMessage}`.
//!
//! `POST /tokenization/session` → `{"session": {"id", "token", "expiresAt"}}`;
//! `POST /payments` also wants a unique `nps-trace-uuid` header.

use crate::{Reply, Req, State};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use std::sync::Mutex;

pub const KEY_ID: &str = "42f0c9d1-5b6e-4c1a-9d3e-7a8b9c0d1e2f";
pub const API_KEY: &str = "nps-demo-api-key-0f9e8d7c6b5a";
/// The longest JWT the demo key allows (the document: keys define a token duration).
const MAX_DURATION: i64 = 3600;

pub fn handle(state: &Mutex<State>, req: &Req) -> Option<Reply> {
    Some(match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/tokenization/session") => match check(state, req) {
            Err(reply) => reply,
            Ok(()) => session(state),
        },
        ("POST", "/payments") => match check(state, req) {
            Err(reply) => reply,
            Ok(()) => payment(state, req),
        },
        _ => return None,
    })
}

/// Whether the request carries a JWT NPS accepts (for the generic API in `api`).
pub fn valid(state: &Mutex<State>, req: &Req) -> bool {
    check(state, req).is_ok()
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, &json!({ "responseCode": code, "responseMessage": message }))
}

fn unauthorized(message: &str) -> Reply {
    error(401, "E401", &format!("Unauthorized: {message}"))
}

/// The JWT checks NPS makes: signature with the key of `sub`, HS512, `iat`, `exp` in the
/// future and within the key's allowed duration.
fn check(state: &Mutex<State>, req: &Req) -> Result<(), Reply> {
    let token = req.bearer().ok_or_else(|| unauthorized("missing bearer token"))?;
    let claims: Value = token
        .split('.')
        .nth(1)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| unauthorized("malformed JWT"))?;
    if claims.get("sub").and_then(Value::as_str) != Some(KEY_ID) {
        return Err(unauthorized("unknown API Key ID"));
    }
    let mut validation = Validation::new(Algorithm::HS512);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(API_KEY.as_bytes()), &validation)
            .map_err(|e| unauthorized(&format!("invalid JWT ({e})")))?;
    let now = state.lock().unwrap().now();
    let iat =
        data.claims.get("iat").and_then(Value::as_i64).ok_or_else(|| unauthorized("iat is required"))?;
    let exp = data.claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if iat > now + 60 {
        return Err(unauthorized("iat is in the future"));
    }
    if exp - iat > MAX_DURATION {
        return Err(unauthorized("token duration exceeds the API key's limit"));
    }
    Ok(())
}

fn session(state: &Mutex<State>) -> Reply {
    let mut s = state.lock().unwrap();
    s.serial += 1;
    let expires = jiff::Timestamp::from_second(s.now() + 900).map(|t| t.to_string()).unwrap_or_default();
    Reply::json(
        200,
        &json!({ "session": { "id": format!("sess_{:06}", s.serial), "token": format!("st_{:016x}", s.serial * 0x9e37_79b9), "expiresAt": expires } }),
    )
}

fn payment(state: &Mutex<State>, req: &Req) -> Reply {
    let Some(trace) = req.header("nps-trace-uuid").map(str::to_string) else {
        return error(400, "E400", "nps-trace-uuid header is required");
    };
    let mut s = state.lock().unwrap();
    if !s.traces.insert(trace.clone()) {
        return error(409, "E409", "duplicate nps-trace-uuid");
    }
    Reply::json(200, &json!({ "responseCode": "S000", "responseMessage": "Approved", "traceId": trace }))
}
