//! The authorization code grant (RFC 6749 §4.1) as a native app does it: always PKCE
//! S256 (RFC 7636), a `state` (and, for OpenID scopes, a `nonce`) from the OS generator,
//! the loopback redirect of `callback`, a pushed request (RFC 9126) when the server
//! requires one or `--par` says so, then the code's token request.
//!
//! The code and the verifier are secrets. The browser is a child: it gets the URL as its
//! one argument and an environment without tok's `TOK_*` variables, and tok does not wait
//! for it (a launcher returns at once; a real browser stays).

use super::Params;
use super::callback::{Answer, Listener, Redirect};
use super::client_auth::{self, Auth};
use super::token_request;
use crate::error::{Error, Result};
use crate::http::{Http, Request};
use crate::input::Secrets;
use crate::secret::{Secret, outside};
use crate::token::TokenRecord;
use base64::Engine;
use reqwest::{Method, Url};
use std::time::Instant;

/// RFC 7636 §4.1-4.2: a verifier of 43 unreserved characters (32 random bytes) and its
/// S256 challenge.
pub struct Pkce {
    pub verifier: Secret,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Result<Pkce> {
        Ok(Pkce::from_verifier(Secret::new(random_text()?)))
    }

    pub fn from_verifier(verifier: Secret) -> Pkce {
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.expose().as_bytes());
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
        Pkce { verifier, challenge }
    }
}

/// 256 random bits, base64url: a verifier, a state, a nonce.
fn random_text() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::other(format!("cannot get random bytes: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub fn run(p: &Params, http: &Http, secrets: &mut Secrets) -> Result<TokenRecord> {
    let started = Instant::now();
    let authorize_url = p.authorize_url.clone().ok_or_else(|| {
        Error::usage("--grant authorization_code needs the authorization endpoint")
            .hint("give --issuer (discovery finds it) or --authorize-url")
    })?;
    let redirect = Redirect::parse(p.redirect_uri.as_deref())?;
    // Asked before the browser opens: a prompt after the login would find the user gone.
    if matches!(p.auth, Auth::Basic | Auth::Body | Auth::ClientSecretJwt) {
        secrets.get("client_secret", "client secret")?;
    }
    let listener = Listener::bind(&redirect)?;
    let redirect_uri = redirect.uri(listener.port());
    let pkce = Pkce::new()?;
    let state = random_text()?;
    let openid = p.scope.as_deref().is_some_and(|s| s.split_whitespace().any(|w| w == "openid"));
    let nonce = if openid { Some(random_text()?) } else { None };

    let mut fields = vec![
        ("response_type".to_string(), "code".to_string()),
        ("client_id".to_string(), p.client_id.clone()),
        ("redirect_uri".to_string(), redirect_uri.clone()),
        ("state".to_string(), state.clone()),
        ("code_challenge".to_string(), pkce.challenge.clone()),
        ("code_challenge_method".to_string(), "S256".to_string()),
    ];
    if let Some(nonce) = &nonce {
        fields.push(("nonce".to_string(), nonce.clone()));
    }
    fields.extend(token_request::request_params(p));
    // RFC 9449 §10: the code is bound to the key, so only this key can redeem it.
    if let Some(key) = super::dpop::key(p, secrets)? {
        fields.push(("dpop_jkt".to_string(), key.thumbprint().to_string()));
    }
    let browser_url = if p.par {
        push(p, http, secrets, &authorize_url, fields)?
    } else {
        with_query(&authorize_url, &fields)
    };

    // Two lines: a line's control characters are escaped, and the URL stands alone to copy.
    crate::term::note("to log in, open this URL in a browser:");
    crate::term::note(browser_url.as_str());
    if !p.no_browser {
        open_browser(browser_url.as_str());
    }
    let deadline = started + p.login_timeout;
    let (code, iss) = match listener.wait(&redirect.path, &state, deadline)? {
        Answer::Code { code, iss } => (code, iss),
        Answer::Refused { error, description, iss } => {
            check_iss(p, iss.as_deref())?;
            return Err(refused(p, &error, description.as_deref()));
        }
    };
    check_iss(p, iss.as_deref())?;
    // The command's network budget (`BUDGET` × `--timeout`) is for tok's own waiting, not
    // the person's: the code's exchange starts a budget of its own.
    let http = &Http::new(http.timeout());
    let fields = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".to_string(), code.expose().to_string()),
        ("redirect_uri".to_string(), redirect_uri),
        ("code_verifier".to_string(), pkce.verifier.expose().to_string()),
    ];
    let record = token_request::exchange(p, http, secrets, fields)?;
    if let (Some(nonce), Some(id_token)) = (&nonce, &record.id_token) {
        check_nonce(p, id_token, nonce)?;
    }
    Ok(record)
}

fn with_query(base: &Url, fields: &[(String, String)]) -> Url {
    let mut url = base.clone();
    url.query_pairs_mut().extend_pairs(fields);
    url
}

/// RFC 9126 §2: the request goes to the server directly, with the client's
/// authentication; the browser gets only `client_id` and the `request_uri`.
fn push(
    p: &Params,
    http: &Http,
    secrets: &mut Secrets,
    authorize_url: &Url,
    mut fields: Vec<(String, String)>,
) -> Result<Url> {
    let par_url = p.par_url.clone().ok_or_else(|| {
        Error::usage("pushed authorization requests need the server's pushed_authorization_request_endpoint")
            .hint("give --issuer, whose metadata names it")
    })?;
    // `client_id` is in the fields already; `apply` adds its own for body methods.
    if p.auth != Auth::Basic {
        fields.retain(|(k, _)| k != "client_id");
    }
    // RFC 9449 §10.1: the pushed request carries a proof as well (one retry with the
    // server's nonce, as at the token endpoint).
    let key = super::dpop::key(p, secrets)?;
    let mut nonce = None;
    let reply = loop {
        let mut fields = fields.clone();
        let request = super::dpop::attach(request_to(p, &par_url), key.as_ref(), nonce.as_deref())?;
        let mut request = client_auth::apply(p, secrets, &par_url, request, &mut fields)?;
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
        request.body = Some(("application/x-www-form-urlencoded", body.into_bytes()));
        let reply = http.send(&request)?;
        if key.is_some()
            && nonce.is_none()
            && let Some(asked) = super::dpop::nonce_asked(&reply)
        {
            nonce = Some(asked);
            continue;
        }
        break reply;
    };
    if !matches!(reply.status, 200 | 201) {
        return Err(token_request::error_for(p.provider, reply.status, &reply.body)
            .unwrap_or_else(|| reply.unexpected()));
    }
    let value: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    let Some(request_uri) = value["request_uri"].as_str().filter(|u| !u.is_empty()) else {
        return Err(Error::network(format!(
            "{}'s pushed authorization reply has no request_uri; the body starts: {}",
            p.provider,
            reply.excerpt()
        )));
    };
    let pairs = [
        ("client_id".to_string(), p.client_id.clone()),
        ("request_uri".to_string(), request_uri.to_string()),
    ];
    Ok(with_query(authorize_url, &pairs))
}

fn request_to(p: &Params, url: &Url) -> Request {
    Request::new(p.provider, Method::POST, url.clone()).header("accept", "application/json")
}

/// RFC 9207 §2.4: an `iss` on the redirect must be the issuer the login started with,
/// or the answer may come from another server (a mix-up attack).
fn check_iss(p: &Params, iss: Option<&str>) -> Result<()> {
    if iss.is_none() && p.sends_iss {
        return Err(Error::rejected(
            "the login's answer has no iss, though the issuer says it always sends one: it came from \
             somewhere else, and its code was not used (RFC 9207)",
        ));
    }
    match (iss, &p.issuer) {
        (Some(got), Some(want)) if got != want => Err(Error::rejected(format!(
            "the login's answer names the issuer '{}', not {want}; its code was not used (RFC 9207)",
            outside(crate::http::clean(got, 200))
        ))),
        _ => Ok(()),
    }
}

/// An `error=` redirect: the server (or the user) refused. Exit 4.
fn refused(p: &Params, error: &str, description: Option<&str>) -> Error {
    let mut message = format!("{} refused the login: {}", p.provider, outside(crate::http::clean(error, 60)));
    if let Some(description) = description {
        message.push_str(&format!(": {}", outside(crate::http::clean(description, 300))));
    }
    let mentions_par = description.is_some_and(|d| {
        let d = d.to_ascii_lowercase();
        d.contains("pushed") || d.contains("par ")
    });
    let refusal = Error::rejected(message);
    if error == "invalid_request" && mentions_par && !p.par {
        return refusal.hint("the client requires pushed authorization requests: log in again with --par");
    }
    refusal
}

/// OIDC Core §3.1.3.7: the ID token's `nonce` is the one this login sent (its signature
/// is not checked: tok keeps the ID token for others, it does not sign anyone in).
fn check_nonce(p: &Params, id_token: &Secret, nonce: &str) -> Result<()> {
    let claims = crate::jwt::decode(id_token.expose())
        .map_err(|e| Error::network(format!("{}'s ID token cannot be read: {e}", p.provider)))?;
    match claims.payload.get("nonce").and_then(serde_json::Value::as_str) {
        Some(got) if got == nonce => Ok(()),
        _ => Err(Error::network(format!(
            "{}'s ID token does not carry this login's nonce: it was not issued for this login; nothing was stored",
            p.provider
        ))),
    }
}

/// `$BROWSER URL` when set (as gh, xdg-open and Python's webbrowser take it), else the
/// platform's opener. A browser that cannot start is a warning: the URL was printed.
fn open_browser(url: &str) {
    let (program, args): (std::ffi::OsString, Vec<&str>) = match std::env::var_os("BROWSER") {
        Some(b) if !b.is_empty() => (b, vec![]),
        _ if cfg!(target_os = "macos") => ("open".into(), vec![]),
        // ShellExecute through url.dll: `cmd /c start` would parse the URL's `&`s.
        _ if cfg!(windows) => ("rundll32".into(), vec!["url.dll,FileProtocolHandler"]),
        _ => ("xdg-open".into(), vec![]),
    };
    let mut command = std::process::Command::new(&program);
    command
        .args(args)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.to_ascii_uppercase().starts_with("TOK_")) {
            command.env_remove(&name);
        }
    }
    match command.spawn() {
        // Reaped on a thread of its own; tok does not wait for it.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => crate::term::warn(&format!(
            "cannot start the browser '{}': {e}; open the URL above yourself",
            outside(program.to_string_lossy())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_pair() {
        // RFC 7636 Appendix B.
        let pair = Pkce::from_verifier(Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert_eq!(pair.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let (a, b) = (Pkce::new().unwrap(), Pkce::new().unwrap());
        assert_ne!(a.verifier, b.verifier);
        // §4.1: 43 to 128 unreserved characters.
        let v = a.verifier.expose();
        assert_eq!(v.len(), 43);
        assert!(v.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)), "{v}");
        assert_eq!(a.challenge, Pkce::from_verifier(a.verifier.clone()).challenge);
    }
}
