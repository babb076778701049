//! NexterPay as its document describes it (shared/seeds/nexterpay.md):
//! `POST /security/createToken` with `{"userName","password"}` answers 200 with the JWT
//! as a *JSON string* (in quotes); 400 for wrong credentials or a malformed body; 403 for
//! a suspended account. `POST /Catalog/GetCountries` wants the token as Bearer, else 401
//! with a problem+json body.

use crate::{Reply, Req, State, jwt};
use serde_json::{Value, json};
use std::sync::Mutex;

pub const USER: &str = "demo";
pub const PASSWORD: &str = "demo-password";
pub const SUSPENDED: &str = "suspended";

pub fn handle(state: &Mutex<State>, req: &Req) -> Option<Reply> {
    Some(match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/security/createToken") => create_token(state, req),
        ("POST", "/Catalog/GetCountries") => countries(state, req),
        _ => return None,
    })
}

fn create_token(state: &Mutex<State>, req: &Req) -> Reply {
    let json_type =
        req.header("content-type").is_some_and(|t| t.to_ascii_lowercase().starts_with("application/json"));
    let body: Option<Value> = serde_json::from_slice(&req.body).ok();
    let creds =
        body.as_ref().and_then(|b| Some((b.get("userName")?.as_str()?, b.get("password")?.as_str()?)));
    let Some((user, password)) = creds.filter(|_| json_type) else {
        return Reply::problem(400, "Bad Request", "15.5.1");
    };
    if password != PASSWORD || (user != USER && user != SUSPENDED) {
        return Reply::problem(400, "Bad Request", "15.5.1");
    }
    if user == SUSPENDED {
        return Reply::problem(403, "Forbidden", "15.5.4");
    }
    let mut s = state.lock().unwrap();
    s.serial += 1;
    let now = s.now();
    let exp = now + s.settings.nexterpay_lifetime;
    let mut claims = json!({
        "Id": "78", "Role": "ClientAPI", "sub": user, "email": user,
        "jti": format!("sandbox-{}", s.serial), "iat": now, "nbf": now,
        "iss": "http://clkto.co",
    });
    if s.settings.nexterpay_exp {
        claims["exp"] = json!(exp);
    }
    let token = jwt::mint("HS512", &claims, s.serial);
    s.issued.insert(token.clone(), exp);
    // The documented quirk: the body is the JWT as a JSON string, quotes included.
    Reply::json(200, &Value::String(token))
}

fn countries(state: &Mutex<State>, req: &Req) -> Reply {
    let s = state.lock().unwrap();
    let valid = req.bearer().and_then(|t| s.issued.get(t)).is_some_and(|exp| *exp > s.now());
    if !valid {
        return Reply::problem(401, "Unauthorized", "15.5.2");
    }
    Reply::json(200, &json!([{ "code": "FR", "name": "France" }, { "code": "GB", "name": "United Kingdom" }]))
}
