//! merchant-v2 as its document describes it (shared/seeds/merchant-v2.txt):
//! `POST /v2/auth/login` with the `merchant_id` header and `{"token": email, "password"}`
//! → `{"data": {"accessToken", "expiresIn" (absolute!), "refreshToken"}}`;
//! `POST /v2/auth/refresh` with `{"refreshToken"}` → the same shape, with a new refresh
//! token: refresh tokens rotate, and a spent one is refused like an expired one
//! (`REFRESH_TOKEN_EXPIRED`). `POST /v2/customer/create` takes a Bearer access token or
//! the `Api-key` header.

use crate::{Reply, Req, State, jwt};
use serde_json::{Value, json};
use std::sync::Mutex;

pub const EMAIL: &str = "owner@acme.example";
pub const PASSWORD: &str = "demo-password";
pub const MERCHANT: &str = "b34555b7-dca4-5ec1-ade3-64a3ad545310";
pub const API_KEY: &str = "demo-api-key-7f3c9a12";

pub fn handle(state: &Mutex<State>, req: &Req) -> Option<Reply> {
    Some(match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v2/auth/login") => login(state, req),
        ("POST", "/v2/auth/refresh") => refresh(state, req),
        ("POST", "/v2/customer/create") => create_customer(state, req),
        _ => return None,
    })
}

fn errors(status: u16, code: &str, message: Value) -> Reply {
    Reply::json(status, &json!({ "errors": [{ "code": code, "message": message }] }))
}

fn body(req: &Req) -> Option<Value> {
    let json_type =
        req.header("content-type").is_some_and(|t| t.to_ascii_lowercase().starts_with("application/json"));
    json_type.then(|| serde_json::from_slice(&req.body).ok()).flatten()
}

fn check_merchant(req: &Req) -> Result<(), Reply> {
    match req.header("merchant_id") {
        Some(MERCHANT) => Ok(()),
        Some(_) => Err(errors(400, "MERCHANT_NOT_FOUND", json!("Merchant not found"))),
        None => Err(errors(400, "VALIDATION_ERROR", json!("merchant_id header is required"))),
    }
}

fn issue(state: &Mutex<State>) -> Reply {
    let mut s = state.lock().unwrap();
    s.serial += 1;
    let now = s.now();
    let access_exp = now + s.settings.merchant_access_lifetime;
    let refresh_exp = now + s.settings.merchant_refresh_lifetime;
    let access = jwt::mint(
        "RS256",
        &json!({ "id": "78a12644", "email": EMAIL, "role": "Owner", "merchantId": MERCHANT, "jwtId": format!("j-{}", s.serial), "iat": now, "exp": access_exp }),
        s.serial,
    );
    let refresh = jwt::mint(
        "RS256",
        &json!({ "id": "78a12644", "sessionCreatedAt": now * 1000, "n": s.serial, "iat": now, "exp": refresh_exp }),
        s.serial,
    );
    s.issued.insert(access.clone(), access_exp);
    s.refresh_tokens.insert(refresh.clone(), refresh_exp);
    Reply::json(
        200,
        &json!({ "data": { "accessToken": access, "expiresIn": access_exp, "refreshToken": refresh } }),
    )
}

fn login(state: &Mutex<State>, req: &Req) -> Reply {
    if let Err(reply) = check_merchant(req) {
        return reply;
    }
    let body = body(req);
    let creds = body.as_ref().and_then(|b| Some((b.get("token")?.as_str()?, b.get("password")?.as_str()?)));
    match creds {
        None => errors(400, "VALIDATION_ERROR", json!("token and password are required")),
        Some((EMAIL, PASSWORD)) => issue(state),
        Some(_) => errors(401, "INVALID_CREDENTIALS", json!("Invalid email or password")),
    }
}

fn refresh(state: &Mutex<State>, req: &Req) -> Reply {
    if let Err(reply) = check_merchant(req) {
        return reply;
    }
    let token = body(req).and_then(|b| b.get("refreshToken")?.as_str().map(str::to_string));
    let Some(token) = token else {
        return errors(400, "VALIDATION_ERROR", json!("refreshToken is required"));
    };
    let valid = {
        let mut s = state.lock().unwrap();
        let now = s.now();
        let forced = s.settings.merchant_refresh_expired;
        // Spent on use: a refresh token works once.
        let exp = s.refresh_tokens.remove(&token);
        !forced && exp.is_some_and(|e| e > now)
    };
    if !valid {
        return errors(401, "REFRESH_TOKEN_EXPIRED", json!("Invalid token"));
    }
    issue(state)
}

fn create_customer(state: &Mutex<State>, req: &Req) -> Reply {
    let s = state.lock().unwrap();
    let now = s.now();
    let by_key = req.header("api-key") == Some(API_KEY);
    let by_token = req.bearer().and_then(|t| s.issued.get(t)).copied();
    match (by_key, by_token) {
        (true, _) => {}
        (false, Some(exp)) if exp > now => {}
        (false, Some(exp)) => {
            let expired_at = jiff::Timestamp::from_second(exp).map(|t| t.to_string()).unwrap_or_default();
            return errors(
                401,
                "UNAUTHORIZED",
                json!({ "name": "TokenExpiredError", "message": "jwt expired", "expiredAt": expired_at }),
            );
        }
        (false, None) => return errors(401, "UNAUTHORIZED", json!("Unauthorized")),
    }
    Reply::json(200, &json!({ "data": { "id": format!("customer-{}", s.serial), "created": true } }))
}
