//! One token request: its fields, its body encoding, client authentication
//! (`client_auth::apply`), sending it through tok's `Http` (deadlines, no redirects, a
//! size cap, scrubbing), and reading the reply: a grant (`parse_grant`, which keeps
//! `refresh_token` and `id_token`) or an error (`error_for`, with its exit code).
//!
//! Every grant calls `exchange` with its own fields; the interactive grants add the
//! fields of their request (`code`, `code_verifier`, `device_code`, `subject_token`...).

use super::Params;
use super::client_auth;
use crate::error::{Error, Result};
use crate::http::{self, Http, Request, Retry};
use crate::input::Secrets;
use crate::jwt;
use crate::policy::Lifetime;
use crate::secret::Secret;
use crate::token::TokenRecord;
use reqwest::Method;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Form,
    Json,
}

/// The fields every grant's request may carry beyond its own: `scope`, each
/// `audience`, each `resource` (RFC 8707) and `--param`s, for the request that starts the
/// grant (the token request of client_credentials and refresh_token; the authorization
/// or device request of the interactive grants).
pub fn request_params(p: &Params) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    if let Some(scope) = &p.scope {
        fields.push(("scope".to_string(), scope.clone()));
    }
    fields.extend(p.audiences.iter().map(|a| ("audience".to_string(), a.clone())));
    fields.extend(p.resources.iter().map(|r| ("resource".to_string(), r.clone())));
    fields.extend(p.extra.iter().cloned());
    fields
}

/// Form: repeated names repeat. JSON: a name given more than once becomes an array.
fn encode_body(encoding: Encoding, fields: &[(String, String)]) -> (&'static str, Vec<u8>) {
    match encoding {
        Encoding::Form => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                form.append_pair(k, v);
            }
            ("application/x-www-form-urlencoded", form.finish().into_bytes())
        }
        Encoding::Json => {
            let mut map: Map<String, Value> = Map::new();
            for (k, v) in fields {
                match map.get_mut(k) {
                    Some(Value::Array(values)) => values.push(json!(v)),
                    Some(one) => *one = json!([one.clone(), v]),
                    None => {
                        map.insert(k.clone(), json!(v));
                    }
                }
            }
            ("application/json", Value::Object(map).to_string().into_bytes())
        }
    }
}

/// A token request that failed, with the OAuth2 `error` code when the server sent one:
/// the refresh path tells a refused refresh token (`invalid_grant`) from an outage.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    pub code: Option<String>,
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        f.error
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure { error, code: None }
    }
}

/// Sends one token request: `fields` are the grant's own (`grant_type` first), the
/// client authenticates by `p.auth`, and a 200 reply becomes a record.
pub fn exchange(
    p: &Params,
    http: &Http,
    secrets: &mut Secrets,
    fields: Vec<(String, String)>,
) -> Result<TokenRecord, Failure> {
    exchange_checked(p, http, secrets, fields, |_| Ok(()))
}

/// A grant's own check of its reply's JSON object, before `parse_grant` reads it (token
/// exchange: `issued_token_type`); it may remove what only that grant allows.
pub type ReplyCheck = fn(&mut Map<String, Value>) -> Result<(), String>;

/// `exchange`, with the grant's `check` run on the reply first.
pub fn exchange_checked(
    p: &Params,
    http: &Http,
    secrets: &mut Secrets,
    fields: Vec<(String, String)>,
    check: ReplyCheck,
) -> Result<TokenRecord, Failure> {
    let key = super::dpop::key(p, secrets)?;
    // A rotating refresh token is spent by the first attempt, and an assertion's jti may
    // be used once: such a request is retried only when it surely did not arrive.
    let spends = fields.iter().any(|(k, v)| k == "grant_type" && v == "refresh_token")
        || fields.iter().any(|(k, _)| k == "client_assertion")
        // A device-code poll is one request: a quick retry would poll faster than the
        // server's interval (RFC 8628 §3.4); device.rs polls again at the interval.
        || fields.iter().any(|(k, _)| k == "device_code");
    let mut nonce: Option<String> = None;
    let reply = loop {
        // Built anew for a second attempt: a new assertion (its jti is used once) and a
        // new proof carrying the nonce.
        let mut fields = fields.clone();
        let request =
            Request::new(p.provider, Method::POST, p.token_url.clone()).header("accept", "application/json");
        let request = super::dpop::attach(request, key.as_ref(), nonce.as_deref())?;
        let mut request = client_auth::apply(p, secrets, &p.token_url, request, &mut fields)?;
        if spends || fields.iter().any(|(k, _)| k == "client_assertion") {
            request.retry = Retry::Once;
        }
        let body = encode_body(p.encoding, &fields);
        // The body may hold the client secret, an assertion or a refresh token: registered
        // as secrets when made, so no message can show them.
        request.body = Some(body);
        let reply = http.send(&request)?;
        // RFC 9449 §8: a server that wants a nonce refuses the request before looking at
        // the grant (a refresh token is not spent), so it is sent once more with it.
        if key.is_some()
            && nonce.is_none()
            && let Some(asked) = super::dpop::nonce_asked(&reply)
        {
            crate::term::verbose!("{}: the token endpoint asks for a DPoP nonce; sending again", p.provider);
            nonce = Some(asked);
            continue;
        }
        break reply;
    };
    if reply.status != 200 {
        let code = parse_error(&reply.body).error;
        let error = error_for(p.provider, reply.status, &reply.body).unwrap_or_else(|| reply.unexpected());
        return Err(Failure { error, code });
    }
    // Registered before any check can refuse the reply and show an excerpt of it: a
    // refused reply's refresh token is as secret as the one of a reply tok keeps.
    super::super::reply_tokens::register(&reply.body);
    let grant = checked(&reply.body, check).and_then(|body| parse_reply(&body, p.dpop)).map_err(|why| {
        Error::network(format!(
            "{}'s token reply cannot be used: {why}; the body starts: {}",
            p.provider,
            reply.excerpt()
        ))
    })?;
    let mut life = Lifetime { sent_at: reply.sent_at, stated: grant.expires_in, ..Default::default() };
    if let Ok(claims) = jwt::decode(grant.access_token.expose()) {
        life.jwt_exp = claims.time("exp");
        life.jwt_iat = claims.time("iat");
    }
    if life.stated.is_none() && life.jwt_exp.is_none() {
        life.default = Some(p.default_lifetime);
    }
    let mut record = TokenRecord::bearer(grant.access_token, &life, p.binding());
    if p.dpop {
        record.scheme = Some("DPoP".into());
    }
    record.refresh_token = grant.refresh_token;
    record.id_token = grant.id_token;
    Ok(record)
}

/// The body after `check`; one that is no JSON object is left to `parse_grant` to refuse.
fn checked(body: &[u8], check: ReplyCheck) -> Result<Vec<u8>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut object)) => {
            check(&mut object)?;
            Ok(Value::Object(object).to_string().into_bytes())
        }
        _ => Ok(body.to_vec()),
    }
}

#[derive(Debug)]
pub struct Grant {
    access_token: Secret,
    expires_in: Option<f64>,
    refresh_token: Option<Secret>,
    id_token: Option<Secret>,
}

/// A successful token reply: `access_token`; `expires_in` as a number or a numeric
/// string; `token_type` bearer in any case (N3XT says `bearer`), or absent.
pub fn parse_grant(body: &[u8]) -> Result<Grant, String> {
    parse_reply(body, false)
}

/// `parse_grant`, or with `dpop` a reply whose `token_type` is `DPoP` (any case): a
/// Bearer token to a DPoP request is a server that ignored the proof (RFC 9449 §5).
fn parse_reply(body: &[u8], dpop: bool) -> Result<Grant, String> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        if body.is_empty() { "the body is empty".to_string() } else { "the body is not JSON".to_string() }
    })?;
    let object = value.as_object().ok_or("the body is not a JSON object")?;
    let access_token = match object.get("access_token") {
        Some(Value::String(t)) => Secret::new(t.clone()),
        Some(_) => return Err("access_token is not a string".into()),
        None => return Err("there is no access_token".into()),
    };
    let expires_in = match object.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => Some(
            s.trim()
                .parse::<f64>()
                .map_err(|_| format!("expires_in '{}' is not a number", http::excerpt(s.as_bytes())))?,
        ),
        Some(_) => return Err("expires_in is not a number".into()),
    };
    if let Some(secs) = expires_in
        && !(secs.is_finite() && secs > 0.0)
    {
        return Err(format!("expires_in {secs} is not a positive number of seconds"));
    }
    match object.get("token_type") {
        Some(Value::String(t)) if dpop && t.eq_ignore_ascii_case("dpop") => {}
        None | Some(Value::Null) if dpop => {
            return Err("it has no token_type, and a DPoP-bound token says token_type DPoP (--dpop)".into());
        }
        Some(other) if dpop => {
            let shown = other
                .as_str()
                .map_or_else(|| http::excerpt(other.to_string().as_bytes()), |s| http::excerpt(s.as_bytes()));
            return Err(format!(
                "token_type '{shown}' came back, and a DPoP request (--dpop) needs token_type DPoP: the server did not bind the token to the key"
            ));
        }
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| http::excerpt(other.to_string().as_bytes()), |s| http::excerpt(s.as_bytes()));
            return Err(format!("token_type '{shown}' is not supported (only bearer)"));
        }
    }
    let secret_text = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) if !t.is_empty() => Ok(Some(Secret::new(t.clone()))),
        Some(_) => Err(format!("{name} is not a string")),
    };
    let refresh_token = secret_text("refresh_token")?;
    let id_token = secret_text("id_token")?;
    Ok(Grant { access_token, expires_in, refresh_token, id_token })
}

/// What an error reply says, in any of the shapes seen in the wild: RFC 6749 §5.2
/// (`error`, `error_description`, `error_uri`), Stytch (`status_code`, `request_id`,
/// `error`/`error_type`, `error_description`/`error_message`), problem+json (`title`,
/// `detail`).
#[derive(Debug, Default, PartialEq)]
pub struct ErrorReply {
    error: Option<String>,
    description: Option<String>,
    uri: Option<String>,
    request_id: Option<String>,
}

pub fn parse_error(body: &[u8]) -> ErrorReply {
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) else {
        return ErrorReply::default();
    };
    let text =
        |keys: &[&str]| keys.iter().find_map(|k| o.get(*k).and_then(Value::as_str)).map(str::to_string);
    ErrorReply {
        error: text(&["error", "error_type", "title"]),
        description: text(&["error_description", "error_message", "detail", "message"]),
        uri: text(&["error_uri", "error_url", "type"]).filter(|u| u.starts_with("https://")),
        request_id: text(&["request_id"]),
    }
}

/// The error for a non-200 reply, or `None` to fall back to the generic one (5xx, 429...).
pub(super) fn error_for(provider: &str, status: u16, body: &[u8]) -> Option<Error> {
    let reply = parse_error(body);
    let rejected_code = matches!(
        reply.error.as_deref(),
        Some(
            "invalid_client"
                | "unauthorized_client"
                | "invalid_grant"
                | "invalid_scope"
                | "invalid_request"
                | "unsupported_grant_type"
        )
    );
    if status == 404 || reply.error.as_deref() == Some("project_not_found") {
        // A token endpoint that is not there is a wrong URL or project: a settings
        // problem to fix, not an outage to wait out.
        let mut message = format!("{provider}'s token endpoint answered {}", http::status_text(status));
        if let Some(error) = &reply.error {
            message.push_str(&format!(": {}", http::clean(error, 60)));
        }
        if let Some(id) = &reply.request_id {
            message.push_str(&format!(" (request_id {})", http::clean(id, 100)));
        }
        let hint = match provider {
            "n3xt" => "check --project (and --env): N3XT knows no such project there",
            "netdirector" => "check --env and --base-url",
            _ => "check --token-url",
        };
        return Some(Error::rejected(message).hint(hint));
    }
    if !(rejected_code || matches!(status, 400 | 401 | 403)) {
        return None;
    }
    let mut message = format!("{provider} rejected the request ({})", http::status_text(status));
    if let Some(error) = &reply.error {
        message.push_str(&format!(": {}", http::clean(error, 60)));
    }
    if let Some(description) = &reply.description {
        message.push_str(&format!(": {}", http::excerpt(description.as_bytes())));
    }
    if reply.error.is_none() && reply.description.is_none() {
        let excerpt = http::excerpt(body);
        if !excerpt.is_empty() {
            message.push_str(&format!(": {excerpt}"));
        }
    }
    if let Some(id) = &reply.request_id {
        message.push_str(&format!(" (request_id {})", http::clean(id, 100)));
    }
    let hint = format!(
        "{}{}",
        hint_for(reply.error.as_deref()),
        reply.uri.map(|u| format!(" (see {})", http::clean(&u, 120))).unwrap_or_default()
    );
    Some(Error::rejected(message).hint(hint))
}

/// What to look at for an RFC 6749 §5.2 (or RFC 9449 §7) error code: the credentials only
/// when the code is about them, so that a server refusing, say, two proof-of-possession
/// mechanisms at once does not send the user to re-type a secret that was right.
fn hint_for(error: Option<&str>) -> &'static str {
    match error {
        Some("invalid_scope") => "check --scope against what the client is allowed",
        Some("invalid_grant") => {
            "the grant (a refresh token, code or assertion) is expired, revoked or not this client's: `tok login` again"
        }
        Some("unsupported_grant_type") => "check --grant against the grants the client is registered for",
        Some("invalid_request") => {
            "the server refused the request's form: its description says what; check the settings it names (--auth, --dpop, --client-cert, --param...) against the client's registration"
        }
        Some("invalid_dpop_proof") => {
            "the server refused the DPoP proof: check this machine's clock and --dpop-key-file"
        }
        _ => "check the client id and secret; `tok login` stores new ones",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Url;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn hints_follow_the_error_code() {
        let table: [(Option<&str>, &str); 8] = [
            (Some("invalid_client"), "client id and secret"),
            (Some("unauthorized_client"), "client id and secret"),
            (None, "client id and secret"),
            (Some("invalid_scope"), "--scope"),
            (Some("invalid_grant"), "`tok login` again"),
            (Some("unsupported_grant_type"), "--grant"),
            (Some("invalid_request"), "description says what"),
            (Some("invalid_dpop_proof"), "DPoP proof"),
        ];
        for (code, expected) in table {
            assert!(hint_for(code).contains(expected), "{code:?}: {}", hint_for(code));
        }
        // Only the codes about the client's credentials send the user to its secret.
        for code in ["invalid_scope", "invalid_grant", "invalid_request", "invalid_dpop_proof"] {
            assert!(!hint_for(Some(code)).contains("secret"), "{code}");
        }
    }

    #[test]
    fn body_encodings() {
        type Fields<'a> = &'a [(&'a str, &'a str)];
        let table: [(Fields, &str, Value); 3] = [
            (
                &[("grant_type", "client_credentials"), ("scope", "nop2/read nop2/write")],
                "grant_type=client_credentials&scope=nop2%2Fread+nop2%2Fwrite",
                json!({ "grant_type": "client_credentials", "scope": "nop2/read nop2/write" }),
            ),
            (
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "id ü&"),
                    ("client_secret", "s3:c/r&t ü"),
                ],
                "grant_type=client_credentials&client_id=id+%C3%BC%26&client_secret=s3%3Ac%2Fr%26t+%C3%BC",
                json!({ "grant_type": "client_credentials", "client_id": "id ü&", "client_secret": "s3:c/r&t ü" }),
            ),
            // Repeated names (RFC 8707 resources, RFC 8693 audiences) repeat in a form and
            // become an array in JSON.
            (
                &[("resource", "https://a/"), ("resource", "https://b/"), ("resource", "https://c/")],
                "resource=https%3A%2F%2Fa%2F&resource=https%3A%2F%2Fb%2F&resource=https%3A%2F%2Fc%2F",
                json!({ "resource": ["https://a/", "https://b/", "https://c/"] }),
            ),
        ];
        for (fields, form, value) in table {
            let (ct, body) = encode_body(Encoding::Form, &pairs(fields));
            assert_eq!(ct, "application/x-www-form-urlencoded");
            assert_eq!(String::from_utf8(body).unwrap(), form);
            let (ct, body) = encode_body(Encoding::Json, &pairs(fields));
            assert_eq!(ct, "application/json");
            assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), value);
        }
    }

    #[test]
    fn request_params_in_order() {
        let mut p = Params::base("oauth2", Url::parse("https://auth.example/token").unwrap(), "c".into());
        p.scope = Some("read write".into());
        p.audiences = vec!["a1".into(), "a2".into()];
        p.resources = vec!["https://r/".into()];
        p.extra = vec![("prompt".into(), "consent".into())];
        assert_eq!(
            request_params(&p),
            pairs(&[
                ("scope", "read write"),
                ("audience", "a1"),
                ("audience", "a2"),
                ("resource", "https://r/"),
                ("prompt", "consent")
            ])
        );
    }

    #[test]
    fn refresh_and_id_tokens_are_kept() {
        let grant = parse_grant(br#"{"access_token":"t","refresh_token":"r1","id_token":"i.d.t"}"#).unwrap();
        assert_eq!(grant.refresh_token.unwrap().expose(), "r1");
        assert_eq!(grant.id_token.unwrap().expose(), "i.d.t");
        assert!(
            parse_grant(br#"{"access_token":"t","refresh_token":5}"#).unwrap_err().contains("refresh_token")
        );
    }

    #[test]
    fn grant_table() {
        let ok: [(&str, Option<f64>); 6] = [
            (r#"{"access_token":"t","expires_in":3600,"token_type":"Bearer"}"#, Some(3600.0)),
            (
                r#"{"access_token":"t","expires_in":3600,"token_type":"bearer","status_code":200,"request_id":"r"}"#,
                Some(3600.0),
            ),
            (r#"{"access_token":"t","expires_in":"3600"}"#, Some(3600.0)),
            (r#"{"access_token":"t","expires_in":" 59.5 "}"#, Some(59.5)),
            (r#"{"access_token":"t"}"#, None),
            (r#"{"access_token":"t","expires_in":null,"token_type":"BEARER"}"#, None),
        ];
        for (body, want) in ok {
            let grant = parse_grant(body.as_bytes()).unwrap();
            assert_eq!(grant.access_token.expose(), "t");
            assert_eq!(grant.expires_in, want, "{body}");
        }
        let bad = [
            ("", "empty"),
            ("<html>", "not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"token":"t"}"#, "no access_token"),
            (r#"{"access_token":5}"#, "not a string"),
            (r#"{"access_token":"t","expires_in":"soon"}"#, "not a number"),
            (r#"{"access_token":"t","expires_in":-5}"#, "positive"),
            (r#"{"access_token":"t","expires_in":0}"#, "positive"),
            (r#"{"access_token":"t","token_type":"mac"}"#, "only bearer"),
            (r#"{"access_token":"t","token_type":"DPoP"}"#, "only bearer"),
        ];
        for (body, want) in bad {
            let err = parse_grant(body.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
        }
    }

    #[test]
    fn dpop_replies_table() {
        let table = [
            (r#"{"access_token":"t","token_type":"DPoP"}"#, None),
            (r#"{"access_token":"t","token_type":"dpop"}"#, None),
            (r#"{"access_token":"t","token_type":"Bearer"}"#, Some("token_type 'Bearer' came back")),
            (r#"{"access_token":"t"}"#, Some("no token_type")),
            (r#"{"access_token":"t","token_type":7}"#, Some("token_type '7'")),
        ];
        for (body, want) in table {
            match (parse_reply(body.as_bytes(), true), want) {
                (Ok(_), None) => {}
                (Err(e), Some(want)) => assert!(e.contains(want), "{body}: {e}"),
                (got, _) => panic!("{body}: {got:?}"),
            }
        }
    }

    #[test]
    fn error_shapes() {
        let table: [(&str, ErrorReply); 5] = [
            (
                r#"{"error":"invalid_client","error_description":"Client authentication failed","error_uri":"https://tools.ietf.org/html/rfc6749#section-5.2"}"#,
                ErrorReply {
                    error: Some("invalid_client".into()),
                    description: Some("Client authentication failed".into()),
                    uri: Some("https://tools.ietf.org/html/rfc6749#section-5.2".into()),
                    request_id: None,
                },
            ),
            (
                r#"{"error":"invalid_scope"}"#,
                ErrorReply { error: Some("invalid_scope".into()), ..Default::default() },
            ),
            (
                r#"{"status_code":401,"request_id":"request-id-test-1","error":"invalid_client","error_description":"bad secret"}"#,
                ErrorReply {
                    error: Some("invalid_client".into()),
                    description: Some("bad secret".into()),
                    request_id: Some("request-id-test-1".into()),
                    ..Default::default()
                },
            ),
            (
                r#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.2","title":"Unauthorized","status":401,"detail":"no"}"#,
                ErrorReply {
                    error: Some("Unauthorized".into()),
                    description: Some("no".into()),
                    uri: Some("https://tools.ietf.org/html/rfc9110#section-15.5.2".into()),
                    ..Default::default()
                },
            ),
            ("<html>Bad Request</html>", ErrorReply::default()),
        ];
        for (body, want) in table {
            assert_eq!(parse_error(body.as_bytes()), want, "{body}");
        }
    }

    #[test]
    fn exit_codes_for_errors() {
        let rejected = error_for("n3xt", 401, br#"{"status_code":401,"request_id":"request-id-x","error":"invalid_client","error_description":"Client authentication failed"}"#).unwrap();
        assert_eq!(rejected.exit_code(), 4);
        assert_eq!(
            rejected.to_string(),
            "n3xt rejected the request (401 Unauthorized): invalid_client: Client authentication failed (request_id request-id-x)"
        );
        assert_eq!(error_for("x", 400, br#"{"error":"invalid_scope"}"#).unwrap().exit_code(), 4);
        assert_eq!(
            error_for("x", 403, b"<html>no</html>").unwrap().to_string(),
            "x rejected the request (403 Forbidden): <html>no</html>"
        );
        // invalid_grant with an odd status is still a rejection; 5xx and 429 are not.
        assert_eq!(error_for("x", 409, br#"{"error":"invalid_grant"}"#).unwrap().exit_code(), 4);
        assert!(error_for("x", 503, br#"{"error":"server_error"}"#).is_none());
        assert!(error_for("x", 429, b"").is_none());
        // A missing endpoint or project is a settings problem: exit 4, with the request id.
        let e =
            error_for("n3xt", 404, br#"{"status_code":404,"request_id":"r-1","error":"project_not_found"}"#)
                .unwrap();
        assert_eq!(e.exit_code(), 4);
        assert!(e.to_string().contains("project_not_found (request_id r-1)"), "{e}");
        assert!(e.hint_text().unwrap().contains("--project"));
        assert_eq!(error_for("oauth2", 404, b"<html>").unwrap().exit_code(), 4);
    }
}
