//! NetDirector V1 as its document describes it (shared/seeds/netdirector.md):
//! `GET /api/transaction?uuid=<uuid>&expand=customer,ndMeta` answers with the
//! transaction and an `authentication-token` response header: an HS256 JWT whose
//! `iat`/`exp` are fractional. Every answer carries a new token (the newest is the one
//! to keep); a request with a bearer token the stand-in does not know gets 401.

use crate::{Reply, Req, State, jwt};
use serde_json::json;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub const TRANSACTION: &str = "5d081471-0c12-5183-a611-a1ed1d9bbacb-EU01";

pub fn handle(state: &Mutex<State>, req: &Req) -> Option<Reply> {
    if (req.method.as_str(), req.path.as_str()) != ("GET", "/api/transaction") {
        return None;
    }
    let query: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(req.query.as_bytes()).into_owned().collect();
    let mut s = state.lock().unwrap();
    if let Some(token) = req.bearer()
        && s.issued.get(token).is_none_or(|exp| *exp <= s.now())
    {
        return Some(Reply::json(401, &json!({ "message": "Invalid or expired token" })));
    }
    if query.get("uuid").map(String::as_str) != Some(TRANSACTION) {
        return Some(Reply::json(404, &json!({ "message": "Transaction not found" })));
    }
    s.serial += 1;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
        + s.settings.clock_offset as f64;
    // Fractional like the document's, and strictly increasing from answer to answer.
    let iat = now.floor() + 0.383_485_078_811_645_5 + s.serial as f64 * 1e-3;
    let lifetime = s.settings.v1_lifetime as f64;
    let claims = json!({
        "iss": "EU01", "aud": "EU01", "iat": iat, "exp": iat + lifetime, "jti": format!("sandbox-{}", s.serial),
        "tokenData": { "type": "basic", "id": format!("sandbox-{}", s.serial), "transactions": null, "config": [] },
    });
    let token = jwt::mint("HS256", &claims, s.serial);
    s.issued.insert(token.clone(), (iat + lifetime) as i64);
    let mut reply = Reply::json(
        200,
        &json!({ "data": { "uuid": TRANSACTION, "status": "open", "customer": null, "ndMeta": { "expand": query.get("expand") } } }),
    );
    reply.headers.push(("authentication-token".into(), token));
    Some(reply)
}
