//! Mutual TLS (RFC 8705) on an HTTPS listener of its own (`Options::tls`), with a test
//! CA the sandbox makes when it starts (`Pki`: rcgen, so tests need no openssl).
//!
//! The listener asks every client for a certificate and takes any, or none: which one
//! counts is the route's business, as with a real authorization server.
//!
//! - `GET /mtls/.well-known/openid-configuration` (issuer `https://<host>/mtls`): the
//!   token endpoint `/mtls/token`, and `mtls_endpoint_aliases.token_endpoint`
//!   `/mtls/bound/token` (RFC 8705 §5).
//! - `POST /mtls/device` and its alias `POST /mtls/bound/device`: RFC 8628 device
//!   authorization (the `device` setting scripts the polls, as at `/as`), authenticated
//!   like the token endpoints; a device code is polled for at `/mtls/bound/token`.
//! - `POST /mtls/token`: client_credentials with the `/as` client authentication
//!   (Basic, `private_key_jwt`...); it ignores certificates, so its tokens are unbound
//!   and it refuses the certificate methods (they belong at the alias).
//! - `POST /mtls/bound/token`: the same, plus `tls_client_auth` for client
//!   `mtls-client` (a certificate from the sandbox CA whose subject DN is
//!   `CN=mtls-client`) and `self_signed_tls_client_auth` for `self-signed-client` (the
//!   registered `Pki::self_signed` certificate). Whenever a certificate was presented,
//!   the token's `cnf` carries its `x5t#S256` (RFC 8705 §3.1).
//! - `ANY /mtls/resource[/...]`: a resource server that takes the sandbox's tokens and,
//!   for a bound one, requires the connection's certificate to have the `cnf`
//!   thumbprint (RFC 8705 §3): another certificate, or none, gets 401 `invalid_token`.
//!   200 answers `{"ok", "path", "method", "x5t#S256"}`.
//!
//! These routes answer only on the HTTPS listener.

pub use crate::pki::{Pair, Pki, subject_dn, thumbprint};
use crate::{Reply, Req, State, issuer, oauth2};
use base64::Engine;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

pub const TLS_CLIENT: &str = "mtls-client";
pub const TLS_CLIENT_DN: &str = "CN=mtls-client";
pub const SELF_SIGNED_CLIENT: &str = "self-signed-client";

/// Serves `listener` over TLS until the runtime stops; each connection's client
/// certificates go with its requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    state: Arc<Mutex<State>>,
    quiet: bool,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else { return };
            let certs: Vec<Vec<u8>> =
                tls.get_ref().1.peer_certificates().unwrap_or_default().iter().map(|c| c.to_vec()).collect();
            let peer = crate::Peer { tls: true, certs: Arc::new(certs) };
            let service = hyper::service::service_fn(move |request| {
                let state = Arc::clone(&state);
                let peer = peer.clone();
                async move { Ok::<_, std::convert::Infallible>(crate::handle(state, request, quiet, peer).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}

pub fn handle(state: &Mutex<State>, req: &Req) -> Option<Reply> {
    if !req.path.starts_with("/mtls/") {
        return None;
    }
    if !req.peer.tls {
        return Some(error(404, "not_found", "the mTLS routes are on the sandbox's HTTPS listener"));
    }
    let host = req.header("host").unwrap_or("127.0.0.1");
    let here = |path: &str| format!("https://{host}{path}");
    Some(match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/mtls/.well-known/openid-configuration") => Reply::json(
            200,
            &json!({
                "issuer": here("/mtls"),
                "token_endpoint": here("/mtls/token"),
                "device_authorization_endpoint": here("/mtls/device"),
                "token_endpoint_auth_methods_supported":
                    ["client_secret_basic", "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"],
                "tls_client_certificate_bound_access_tokens": true,
                "mtls_endpoint_aliases": {
                    "token_endpoint": here("/mtls/bound/token"),
                    "device_authorization_endpoint": here("/mtls/bound/device"),
                },
            }),
        ),
        ("POST", "/mtls/token") => token(state, req, &here("/mtls"), &here(&req.path), false),
        ("POST", "/mtls/bound/token") => token(state, req, &here("/mtls"), &here(&req.path), true),
        ("POST", path @ ("/mtls/device" | "/mtls/bound/device")) => {
            let form = issuer::parse_form(req);
            match client_of(state, req, &form, &here(path), path.starts_with("/mtls/bound/")) {
                Ok(client) => {
                    let (status, body) =
                        crate::device::authorize(&mut state.lock().unwrap(), &client, &here("/mtls"));
                    Reply::json(status, &body)
                }
                Err(reply) => reply,
            }
        }
        (_, path) if path == "/mtls/resource" || path.starts_with("/mtls/resource/") => resource(state, req),
        _ => error(404, "not_found", "no such mTLS route"),
    })
}

fn error(status: u16, error: &str, description: &str) -> Reply {
    Reply::json(status, &json!({ "error": error, "error_description": description }))
}

fn token(state: &Mutex<State>, req: &Req, issuer_url: &str, endpoint: &str, bound: bool) -> Reply {
    let form = issuer::parse_form(req);
    let one = |k: &str| issuer::first(&form, k);
    let client = match client_of(state, req, &form, endpoint, bound) {
        Ok(client) => client,
        Err(reply) => return reply,
    };
    match one("grant_type") {
        Some("client_credentials") => {}
        Some(crate::device::GRANT_TYPE) if bound => {
            if let Err((status, code)) =
                crate::device::poll(&mut state.lock().unwrap(), one("device_code"), &client)
            {
                return error(status, code, "see RFC 8628 §3.5");
            }
        }
        _ => {
            return error(
                400,
                "unsupported_grant_type",
                "this endpoint serves client_credentials (and device codes at the alias)",
            );
        }
    }
    let presented = req.peer.certs.first().filter(|_| bound).map(|der| thumbprint(der));
    let extra = match &presented {
        Some(x5t) => json!({ "cnf": { "x5t#S256": x5t } }),
        None => json!({}),
    };
    let (token, expires_in) = oauth2::issue(state, issuer_url, &client, extra);
    Reply::json(200, &json!({ "access_token": token, "token_type": "Bearer", "expires_in": expires_in }))
}

/// The client a request to `endpoint` authenticates as: by its certificate at an mTLS
/// alias (`bound`), else as at `/as`.
fn client_of(
    state: &Mutex<State>,
    req: &Req,
    form: &std::collections::BTreeMap<String, Vec<String>>,
    endpoint: &str,
    bound: bool,
) -> Result<String, Reply> {
    let one = |k: &str| issuer::first(form, k);
    let by_certificate = matches!(one("client_id"), Some(TLS_CLIENT | SELF_SIGNED_CLIENT))
        && req.header("authorization").is_none()
        && one("client_secret").is_none()
        && one("client_assertion").is_none();
    if by_certificate && !bound {
        return Err(error(
            401,
            "invalid_client",
            "certificate authentication is at the mtls_endpoint_aliases endpoints",
        ));
    }
    let client = if by_certificate {
        certificate_client(state, req, one("client_id").unwrap_or_default())
    } else {
        issuer::authenticate(state, req, form, endpoint)
    };
    client.map_err(|why| error(401, "invalid_client", &why))
}

/// RFC 8705 §2: the client is who its certificate says.
fn certificate_client(state: &Mutex<State>, req: &Req, client_id: &str) -> Result<String, String> {
    let chain = req.peer.certs.as_slice();
    let first = chain.first().ok_or("no client certificate was presented")?;
    let pki = state.lock().unwrap().pki.clone().ok_or("no PKI")?;
    match client_id {
        TLS_CLIENT => {
            pki.issued_by_ca(chain)?;
            let dn = subject_dn(first).ok_or("the certificate's subject cannot be read")?;
            if dn != TLS_CLIENT_DN {
                return Err(format!(
                    "the certificate's subject {dn} is not the one registered for {client_id}"
                ));
            }
        }
        _ => {
            if thumbprint(first) != pki.self_signed.thumbprint() {
                return Err(format!("the certificate is not the one registered for {client_id}"));
            }
        }
    }
    Ok(client_id.to_string())
}

/// RFC 8705 §3: a bound token is taken only with the certificate it is bound to.
fn resource(state: &Mutex<State>, req: &Req) -> Reply {
    let refuse = |why: &str| {
        let mut reply = error(401, "invalid_token", why);
        reply.headers.push((
            "WWW-Authenticate".into(),
            format!("Bearer error=\"invalid_token\", error_description=\"{why}\""),
        ));
        reply
    };
    let Some(token) = req.bearer() else { return refuse("no bearer token") };
    let live = {
        let s = state.lock().unwrap();
        s.issued.get(token).is_some_and(|exp| *exp > s.now())
    };
    if !live {
        return refuse("the token is not a live token of this sandbox");
    }
    let claims = claims(token);
    let presented = req.peer.certs.first().map(|der| thumbprint(der));
    if let Some(bound) = claims["cnf"]["x5t#S256"].as_str() {
        match &presented {
            None => return refuse("the token is certificate-bound and no certificate was presented"),
            Some(x5t) if x5t != bound => return refuse("the certificate presented is not the token's"),
            Some(_) => {}
        }
    }
    Reply::json(200, &json!({ "ok": true, "method": req.method, "path": req.path, "x5t#S256": presented }))
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}
