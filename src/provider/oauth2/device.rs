//! The device authorization grant (RFC 8628): ask `p.device_url` for a user code, show it
//! (and the verification URI) on stderr, and poll the token endpoint until the person
//! approves on any device.
//!
//! Choices, beyond the RFC:
//! - The server's reply is checked before anything is shown: the verification URIs must
//!   be HTTPS (or loopback HTTP), the user code short and printable; `interval` is kept
//!   within 1..=60 s (5 s when absent, §3.2) and `expires_in` at most 30 minutes, so a
//!   server cannot make tok hammer it or wait for ever. Anything else exits 5.
//! - Nothing is opened, even with `$BROWSER` set: the point of the grant is that the
//!   person may sign in on another device (gh, too, opens a browser only when asked).
//! - Each poll is one request, not retried at once after an uncertain outcome: a retry
//!   would poll faster than the server's interval (§3.4, which `slow_down` enforces). A
//!   poll that fails on the network or the server (5xx, 429) is not the end either: the
//!   device code is spent only by success, so polling goes on at the interval; three
//!   failed polls in a row end the login (exit 5).
//! - The login ends at `--login-timeout` or when the code expires, whichever comes first;
//!   each poll has its own `--timeout` and budget. Ctrl-C stops it (exit 130).

use super::Params;
use super::client_auth;
use super::interrupt::CtrlC;
use super::token_request::{self, Failure};
use crate::error::{Error, Kind, Result};
use crate::http::{self, Http, Request, Retry};
use crate::input::Secrets;
use crate::secret::{Secret, outside};
use crate::term::verbose;
use crate::token::TokenRecord;
use reqwest::{Method, Url};
use serde_json::Value;
use std::time::{Duration, Instant};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.2: the interval when the server names none.
const DEFAULT_INTERVAL: u64 = 5;
const MIN_INTERVAL: u64 = 1;
const MAX_INTERVAL: u64 = 60;
/// RFC 8628 §3.5: what `slow_down` adds to the interval, for this and every later poll.
const SLOW_DOWN: u64 = 5;
const MAX_EXPIRES_IN: u64 = 30 * 60;
const MAX_USER_CODE: usize = 64;
/// Polls that fail on the network in a row before the login gives up.
const MAX_FAILED_POLLS: u32 = 3;

/// A device authorization reply that passed its checks.
#[derive(Debug)]
pub struct Authorization {
    device_code: Secret,
    user_code: String,
    verification_uri: Url,
    complete: Option<Url>,
    interval: Duration,
    expires_in: Duration,
}

/// `tok login` with `--grant device_code`.
pub fn login(p: &Params, http: &Http, secrets: &mut Secrets) -> Result<TokenRecord> {
    let device_url = p.device_url.as_ref().ok_or_else(|| {
        Error::usage("--grant device_code needs the device authorization endpoint")
            .hint("give --device-url, or --issuer whose metadata names a device_authorization_endpoint")
    })?;
    let started = Instant::now();
    // Ctrl-C is caught only from here: until now it may have to end a secret's prompt,
    // and the polls reuse the secret read for this request.
    let authorization = authorize(p, http, secrets, device_url)?;
    let ctrl_c = CtrlC::catch();
    let (wait, why) = if authorization.expires_in < p.login_timeout {
        (authorization.expires_in, "the user code expired")
    } else {
        (p.login_timeout, "--login-timeout ran out")
    };
    show(&authorization, wait);
    let deadline = started + wait;
    let mut interval = authorization.interval;
    let mut failed = 0;
    loop {
        let next = Instant::now() + interval;
        if !ctrl_c.wait(next.min(deadline)) {
            return Err(interrupted());
        }
        if next > deadline {
            return Err(Error::network(format!(
                "the device login was not completed in time: {why} (after {})",
                crate::duration::show(started.elapsed())
            ))
            .hint(format!("run `tok login {}` again", secrets.profile())));
        }
        let fields = vec![
            ("grant_type".to_string(), GRANT_TYPE.to_string()),
            ("device_code".to_string(), authorization.device_code.expose().to_string()),
        ];
        // A budget per poll: the command's own (3 × --timeout) would run out long before
        // a person is done.
        let outcome = token_request::exchange(p, &Http::new(http.timeout()), secrets, fields);
        if ctrl_c.pressed() {
            return Err(interrupted());
        }
        let failure = match outcome {
            Ok(record) => return Ok(record),
            Err(failure) => failure,
        };
        match after_poll(failure, interval) {
            Poll::Again(next) => {
                if next != interval {
                    verbose!("{}: slow_down: polling every {} s from now on", p.provider, next.as_secs());
                }
                interval = next;
                failed = 0;
            }
            Poll::Failed(error) => {
                failed += 1;
                if failed >= MAX_FAILED_POLLS {
                    return Err(error);
                }
                crate::term::warn(&format!("{error}; polling again"));
            }
            Poll::Stop(error) => {
                return Err(error.hint(format!("run `tok login {}` again", secrets.profile())));
            }
        }
    }
}

fn interrupted() -> Error {
    Error::interrupted("the device login was stopped (Ctrl-C)")
}

/// What a poll's failure means for the login.
#[derive(Debug)]
enum Poll {
    /// Not yet: poll again after this interval.
    Again(Duration),
    /// A failure the device code outlives (the network, the server): poll again.
    Failed(Error),
    Stop(Error),
}

fn after_poll(failure: Failure, interval: Duration) -> Poll {
    match failure.code.as_deref() {
        Some("authorization_pending") => Poll::Again(interval),
        Some("slow_down") => Poll::Again(slowed(interval)),
        Some("expired_token") => Poll::Stop(Error::network(
            "the user code expired before the sign-in was completed (expired_token)",
        )),
        Some("access_denied") => {
            Poll::Stop(Error::rejected(format!("the device login was denied: {}", failure.error)))
        }
        _ if failure.error.kind() == Kind::Network => Poll::Failed(failure.error),
        _ => Poll::Stop(failure.error),
    }
}

fn slowed(interval: Duration) -> Duration {
    Duration::from_secs((interval.as_secs() + SLOW_DOWN).min(MAX_INTERVAL))
}

/// RFC 8628 §3.1: the device authorization request, with the grant's parameters and the
/// client's authentication (a public client sends its `client_id` alone).
fn authorize(p: &Params, http: &Http, secrets: &mut Secrets, device_url: &Url) -> Result<Authorization> {
    let mut fields = token_request::request_params(p);
    let request =
        Request::new(p.provider, Method::POST, device_url.clone()).header("accept", "application/json");
    let mut request = client_auth::apply(p, secrets, device_url, request, &mut fields)?;
    if fields.iter().any(|(k, _)| k == "client_assertion") {
        // An assertion's jti may be used once.
        request.retry = Retry::Once;
    }
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &fields {
        form.append_pair(k, v);
    }
    request.body = Some(("application/x-www-form-urlencoded", form.finish().into_bytes()));
    let mut reply = http.send(&request)?;
    if reply.status != 200 {
        return Err(token_request::error_for(p.provider, reply.status, &reply.body)
            .unwrap_or_else(|| reply.unexpected()));
    }
    let parsed = parse_authorization(&reply.body);
    // The body holds the device code.
    http::zero(&mut reply.body);
    parsed.map_err(|why| {
        Error::network(format!(
            "{}'s device authorization reply cannot be used: {}",
            p.provider,
            outside(why)
        ))
    })
}

/// Where to go and what to check, on stderr: with the complete URI the page knows the
/// code already, and the person checks it is the one shown here.
fn show(a: &Authorization, wait: Duration) {
    match &a.complete {
        Some(complete) => {
            crate::term::note(&format!("to sign in, open this page on any device: {}", outside(complete)));
            crate::term::note(&format!("and check that it shows the code: {}", outside(&a.user_code)));
        }
        None => {
            crate::term::note(&format!(
                "to sign in, open this page on any device: {}",
                outside(&a.verification_uri)
            ));
            crate::term::note(&format!("and enter the code: {}", outside(&a.user_code)));
        }
    }
    crate::term::note(&format!(
        "waiting for the sign-in (up to {}; Ctrl-C stops)",
        crate::duration::show(wait)
    ));
}

/// RFC 8628 §3.2's reply, checked (see the module's choices).
pub fn parse_authorization(body: &[u8]) -> Result<Authorization, String> {
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) else {
        return Err("it is not a JSON object".into());
    };
    let text = |name: &str| match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
        Some(_) => Err(format!("{name} is not a string")),
    };
    let device_code = Secret::new(text("device_code")?.ok_or("there is no device_code")?);
    let user_code = text("user_code")?.ok_or("there is no user_code")?;
    check_user_code(user_code)?;
    // `verification_url`: the name some servers (Google's) used before the RFC.
    let uri =
        text("verification_uri")?.or(text("verification_url")?).ok_or("there is no verification_uri")?;
    let verification_uri = page("verification_uri", uri)?;
    let complete =
        text("verification_uri_complete")?.map(|u| page("verification_uri_complete", u)).transpose()?;
    let interval = seconds(&o, "interval")?.unwrap_or(DEFAULT_INTERVAL).clamp(MIN_INTERVAL, MAX_INTERVAL);
    let expires_in = match seconds(&o, "expires_in")? {
        Some(0) => return Err("expires_in is 0".into()),
        Some(secs) => secs.min(MAX_EXPIRES_IN),
        // Required by the RFC; without it the login timeout alone bounds the wait.
        None => MAX_EXPIRES_IN,
    };
    Ok(Authorization {
        device_code,
        user_code: user_code.to_string(),
        verification_uri,
        complete,
        interval: Duration::from_secs(interval),
        expires_in: Duration::from_secs(expires_in),
    })
}

/// Short, and nothing that could move the cursor or hide in the line: what a person
/// compares with what the page shows.
/// Printable ASCII only (RFC 8628 §6.1's codes are letters and digits): a bidi override or
/// a zero-width character would make the line say something else than the page.
fn check_user_code(code: &str) -> Result<(), String> {
    let printable = code.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if !printable || code.trim() != code || code.chars().count() > MAX_USER_CODE {
        // Not the code itself: it is what failed the check for the terminal.
        return Err("the user code is not a short printable code (printable ASCII)".to_string());
    }
    Ok(())
}

/// A page for a person to open: HTTPS, or HTTP on loopback (a local test server).
fn page(name: &str, text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| {
        format!("{name} '{}' is not a URL{}", http::clean(text, 200), http::url_hint(e, text))
    })?;
    http::check_url(&url).map_err(|_| {
        format!("{name} {} is not HTTPS (or loopback HTTP)", http::clean(&http::redact_url(&url), 200))
    })?;
    Ok(url)
}

/// A whole number of seconds, as a number or a numeric string.
fn seconds(o: &serde_json::Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    let not = || format!("{name} is not a whole number of seconds");
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(not),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| not()),
        Some(_) => Err(not()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Authorization, String> {
        parse_authorization(v.to_string().as_bytes())
    }

    fn base() -> Value {
        json!({
            "device_code": "dc-1", "user_code": "WDJB-MJHT",
            "verification_uri": "https://example.com/device", "expires_in": 1800,
        })
    }

    fn with(changes: Value) -> Value {
        let mut v = base();
        for (k, x) in changes.as_object().unwrap() {
            if x.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = x.clone();
            }
        }
        v
    }

    #[test]
    fn replies_that_are_used() {
        // (changes, interval, expires_in, complete)
        let table = [
            (json!({}), 5, 1800, None),
            (json!({ "interval": 1 }), 1, 1800, None),
            (json!({ "interval": 0 }), 1, 1800, None),
            (json!({ "interval": 3600 }), 60, 1800, None),
            (json!({ "interval": "7" }), 7, 1800, None),
            (json!({ "expires_in": 86400 }), 5, 1800, None),
            (json!({ "expires_in": 600 }), 5, 600, None),
            (json!({ "expires_in": null }), 5, 1800, None),
            (
                json!({ "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT" }),
                5,
                1800,
                Some("https://example.com/device?user_code=WDJB-MJHT"),
            ),
            (json!({ "verification_uri": "http://127.0.0.1:3000/device" }), 5, 1800, None),
            (
                json!({ "verification_uri": null, "verification_url": "https://www.google.com/device" }),
                5,
                1800,
                None,
            ),
            (json!({ "user_code": "123 456" }), 5, 1800, None),
        ];
        for (changes, interval, expires_in, complete) in table {
            let a = parse(with(changes.clone())).unwrap_or_else(|e| panic!("{changes}: {e}"));
            assert_eq!(a.interval, Duration::from_secs(interval), "{changes}");
            assert_eq!(a.expires_in, Duration::from_secs(expires_in), "{changes}");
            assert_eq!(a.complete.as_ref().map(Url::as_str), complete, "{changes}");
            assert_eq!(a.device_code.expose(), "dc-1");
        }
    }

    #[test]
    fn replies_that_are_refused() {
        let table = [
            (json!({ "device_code": null }), "no device_code"),
            (json!({ "device_code": 5 }), "device_code is not a string"),
            (json!({ "user_code": null }), "no user_code"),
            (json!({ "user_code": "AB\u{1b}[2J" }), "not a short printable code"),
            (json!({ "user_code": "AB\nCD" }), "not a short printable code"),
            (json!({ "user_code": " ABCD" }), "not a short printable code"),
            (json!({ "user_code": "AB\u{202e}DC" }), "not a short printable code"),
            (json!({ "user_code": "AB\u{200b}CD" }), "not a short printable code"),
            (json!({ "user_code": "ÄBCD" }), "not a short printable code"),
            (json!({ "user_code": "A".repeat(65) }), "not a short printable code"),
            (json!({ "verification_uri": null }), "no verification_uri"),
            (json!({ "verification_uri": "http://evil.example/device" }), "is not HTTPS"),
            (json!({ "verification_uri": "javascript:alert(1)" }), "is not HTTPS"),
            (json!({ "verification_uri": "https://u:p@example.com/" }), "is not HTTPS"),
            (json!({ "verification_uri": "/device" }), "is not a URL"),
            (
                json!({ "verification_uri_complete": "http://evil.example/d?c=1" }),
                "verification_uri_complete",
            ),
            (json!({ "interval": -1 }), "interval is not a whole number"),
            (json!({ "interval": 1.5 }), "interval is not a whole number"),
            (json!({ "interval": "soon" }), "interval is not a whole number"),
            (json!({ "expires_in": 0 }), "expires_in is 0"),
            (json!({ "expires_in": true }), "expires_in is not a whole number"),
        ];
        for (changes, want) in table {
            let err = parse(with(changes.clone())).unwrap_err();
            assert!(err.contains(want), "{changes}: {err}");
        }
        for body in [&b"[]"[..], b"", b"<html>"] {
            assert!(parse_authorization(body).unwrap_err().contains("not a JSON object"));
        }
    }

    #[test]
    fn poll_outcomes_and_the_interval() {
        let failure = |code: Option<&str>, error: Error| Failure { error, code: code.map(str::to_string) };
        let rejected = || Error::rejected("x rejected the request (400 Bad Request): ...");
        let secs = Duration::from_secs;
        // (code, kind of error, interval before) -> what happens
        let again = |code, before: u64| match after_poll(failure(code, rejected()), secs(before)) {
            Poll::Again(next) => next.as_secs(),
            other => panic!("{code:?}: {other:?}"),
        };
        assert_eq!(again(Some("authorization_pending"), 5), 5);
        assert_eq!(again(Some("slow_down"), 1), 6);
        assert_eq!(again(Some("slow_down"), 5), 10);
        assert_eq!(again(Some("slow_down"), 58), 60, "kept within the cap");
        let stop = |code, error| match after_poll(failure(code, error), secs(5)) {
            Poll::Stop(e) => e.exit_code(),
            other => panic!("{code:?}: {other:?}"),
        };
        assert_eq!(stop(Some("expired_token"), rejected()), 5);
        assert_eq!(stop(Some("access_denied"), rejected()), 4);
        assert_eq!(stop(Some("invalid_client"), rejected()), 4);
        assert_eq!(stop(Some("invalid_grant"), rejected()), 4);
        assert_eq!(stop(None, Error::usage("bad header")), 2);
        assert!(matches!(after_poll(failure(None, Error::network("down")), secs(5)), Poll::Failed(_)));
        assert!(matches!(
            after_poll(failure(Some("server_error"), Error::network("500")), secs(5)),
            Poll::Failed(_)
        ));
    }
}
