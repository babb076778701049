//! OAuth2 client-credentials stand-ins, each checking credentials the way its document
//! describes and answering errors in its provider's shape:
//!
//! - N3XT (shared/seeds/n3xt.txt): `POST /v1/public/<project>/oauth2/token`, JSON body
//!   `{client_id, client_secret, grant_type}`; Stytch-style replies with `status_code`
//!   and `request_id`; `token_type: "bearer"` in lower case.
//! - NetDirector V2 (shared/seeds/netdirector.md): `POST /oauth2/token` with
//!   `Authorization: Basic` (exact RFC 6749 §2.3.1 bytes: a trailing newline fails) and a
//!   form body; Cognito-style `{"error": ...}` replies; `GET /api/v2/transaction` wants
//!   the token.
//! - A generic RFC 6749 server at `POST /oauth2/generic/token`: Basic or body
//!   credentials, form or JSON; `expires_in` as a numeric *string*; scope and audience
//!   copied into the token's claims.

use crate::{Reply, Req, State, jwt};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Demo clients: a plain one, and one whose id and secret hold reserved and non-ASCII
/// characters, to prove the encodings.
pub const CLIENTS: &[(&str, &str)] = &[("demo-client", "demo-secret"), ("demo client:ü", "s3cr3t/+?&=:%ü é")];
const SCOPES: &[&str] = &["nop2/read", "nop2/write"];

pub fn handle(state: &Mutex<State>, req: &Req) -> Option<Reply> {
    let path = req.path.as_str();
    Some(match req.method.as_str() {
        "POST" if path == "/oauth2/token" => netdirector(state, req),
        "POST" if path == "/oauth2/generic/token" => generic(state, req),
        "POST" => {
            let project = path.strip_prefix("/v1/public/")?.strip_suffix("/oauth2/token")?;
            n3xt(state, req, project)
        }
        "GET" if path == "/api/v2/transaction" => {
            let s = state.lock().unwrap();
            match req.bearer().and_then(|t| s.issued.get(t)) {
                Some(exp) if *exp > s.now() => {
                    Reply::json(200, &json!({ "data": [], "meta": { "total": 0 } }))
                }
                _ => Reply::json(401, &json!({ "message": "Unauthorized" })),
            }
        }
        _ => return None,
    })
}

fn secret_of(id: &str) -> Option<&'static str> {
    CLIENTS.iter().find(|(i, _)| *i == id).map(|(_, s)| *s)
}

fn content_type(req: &Req, want: &str) -> bool {
    req.header("content-type").is_some_and(|t| t.to_ascii_lowercase().starts_with(want))
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// A token reply, without `expires_in` when the settings say so.
fn grant(state: &Mutex<State>, mut reply: Value) -> Reply {
    if state.lock().unwrap().settings.oauth2_omit_expires_in
        && let Some(fields) = reply.as_object_mut()
    {
        fields.remove("expires_in");
    }
    Reply::json(200, &reply)
}

/// A token and the `expires_in` to state for it.
pub(crate) fn issue(state: &Mutex<State>, issuer: &str, subject: &str, extra: Value) -> (String, Value) {
    let mut s = state.lock().unwrap();
    s.serial += 1;
    let now = s.now();
    let lifetime = s.settings.oauth2_lifetime;
    let exp = s.settings.oauth2_exp.map_or(json!(now + lifetime), |e| json!(e));
    let mut claims = json!({ "iss": issuer, "sub": subject, "iat": now, "exp": exp, "jti": format!("sandbox-{}", s.serial) });
    if let (Some(c), Value::Object(more)) = (claims.as_object_mut(), extra) {
        c.extend(more);
    }
    let token = jwt::mint("RS256", &claims, s.serial);
    s.issued.insert(token.clone(), now + lifetime);
    (token, s.settings.oauth2_expires_in.map_or(json!(lifetime), |e| json!(e)))
}

fn n3xt(state: &Mutex<State>, req: &Req, project: &str) -> Reply {
    let request_id = format!("request-id-test-{:08x}", state.lock().unwrap().serial + 1);
    let stytch = |status: u16, error: &str, description: &str| {
        Reply::json(
            status,
            &json!({ "status_code": status, "request_id": request_id, "error": error, "error_description": description }),
        )
    };
    if !project.starts_with("project-") || project.contains('/') {
        return stytch(404, "project_not_found", "Project not found.");
    }
    if !content_type(req, "application/json") {
        return stytch(400, "invalid_request", "Content-Type must be application/json.");
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return stytch(400, "invalid_request", "The request body is not valid JSON.");
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str);
    if field("grant_type") != Some("client_credentials") {
        return stytch(400, "unsupported_grant_type", "grant_type must be client_credentials.");
    }
    let (Some(id), Some(secret)) = (field("client_id"), field("client_secret")) else {
        return stytch(400, "invalid_request", "client_id and client_secret are required.");
    };
    if secret_of(id) != Some(secret) {
        return stytch(401, "invalid_client", "Client authentication failed.");
    }
    let (token, lifetime) = issue(state, &format!("stytch.com/{project}"), id, json!({ "scope": "" }));
    grant(
        state,
        json!({ "status_code": 200, "expires_in": lifetime, "request_id": request_id, "access_token": token, "token_type": "bearer" }),
    )
}

/// The expected `Authorization` value for a client, per RFC 6749 §2.3.1.
fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// The client named by a Basic header, if the header is exactly right for it.
pub fn basic_client(header: &str) -> Option<&'static str> {
    let b64 = header.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).ok()?).ok()?;
    let (id_part, _) = decoded.split_once(':')?;
    let id: String = url::form_urlencoded::parse(format!("x={id_part}").as_bytes()).next()?.1.into_owned();
    let (id, secret) = CLIENTS.iter().find(|(i, _)| *i == id)?;
    (header == basic(id, secret)).then_some(*id)
}

fn netdirector(state: &Mutex<State>, req: &Req) -> Reply {
    let cognito = |status: u16, error: &str| Reply::json(status, &json!({ "error": error }));
    let Some(client) = req.header("authorization").and_then(basic_client) else {
        return cognito(400, "invalid_client");
    };
    if !content_type(req, "application/x-www-form-urlencoded") {
        return cognito(400, "invalid_request");
    }
    let form = form(&req.body);
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return cognito(400, "unsupported_grant_type");
    }
    let scope = form.get("scope").cloned().unwrap_or_else(|| SCOPES.join(" "));
    if scope.split(' ').any(|s| !SCOPES.contains(&s)) {
        return cognito(400, "invalid_scope");
    }
    let (token, lifetime) = issue(
        state,
        "https://cognito-idp.eu-west-2.amazonaws.com/sandbox",
        client,
        json!({ "scope": scope, "token_use": "access" }),
    );
    grant(state, json!({ "access_token": token, "expires_in": lifetime, "token_type": "Bearer" }))
}

fn generic(state: &Mutex<State>, req: &Req) -> Reply {
    let rfc = |status: u16, error: &str, description: &str| {
        Reply::json(
            status,
            &json!({ "error": error, "error_description": description, "error_uri": "https://www.rfc-editor.org/rfc/rfc6749#section-5.2" }),
        )
    };
    let fields: BTreeMap<String, String> = if content_type(req, "application/json") {
        match serde_json::from_slice::<BTreeMap<String, Value>>(&req.body) {
            Ok(map) => map.into_iter().filter_map(|(k, v)| Some((k, v.as_str()?.to_string()))).collect(),
            Err(_) => return rfc(400, "invalid_request", "malformed JSON"),
        }
    } else if content_type(req, "application/x-www-form-urlencoded") {
        form(&req.body)
    } else {
        return rfc(400, "invalid_request", "unsupported content type");
    };
    if fields.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return rfc(400, "unsupported_grant_type", "only client_credentials");
    }
    let client = match (req.header("authorization"), fields.get("client_id"), fields.get("client_secret")) {
        (Some(header), None, None) => basic_client(header),
        (None, Some(id), Some(secret)) => {
            CLIENTS.iter().find(|(i, s)| i == id && s == secret).map(|(i, _)| *i)
        }
        _ => None,
    };
    let Some(client) = client else {
        return rfc(401, "invalid_client", "Client authentication failed");
    };
    let extra = json!({ "scope": fields.get("scope"), "aud": fields.get("audience") });
    let (token, lifetime) = issue(state, "tok-sandbox/generic", client, extra);
    grant(state, json!({ "access_token": token, "expires_in": lifetime.to_string(), "token_type": "Bearer" }))
}
