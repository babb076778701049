//! Odd server replies and network trouble: each fails clearly (exit 5, provider and
//! status named) and never costs the last good token.

use crate::support::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// A logged-in home whose token we remember, for "nothing was lost" checks.
fn logged_in(sb: &Sandbox) -> (Home, String) {
    let home = Home::new();
    home.login(sb);
    let token = home.print("nexterpay");
    (home, token)
}

fn refresh(home: &Home) -> std::process::Output {
    home.tok().args(["refresh", "nexterpay", "--timeout", "2s"]).output().unwrap()
}

#[test]
fn unreadable_replies_exit_5_and_keep_the_old_token() {
    let sb = Sandbox::start();
    let (home, token) = logged_in(&sb);
    let bodies = [
        ("<html><body>Service Unavailable</body></html>", "text/html", "not JSON"),
        ("", "application/json", "empty"),
        ("{\"token\":\"abc\"}", "application/json", "JSON object"),
        ("\"two words\"", "application/json", "space"),
        ("\"line\\nbreak\"", "application/json", "line break"),
        ("\"ctl\\u0007\"", "application/json", "control character"),
    ];
    for (body, content_type, why) in bodies {
        sb.fault(json!({ "path": "/security/createToken", "status": 200, "body": body,
                         "headers": { "Content-Type": content_type }, "times": 1 }));
        let out = refresh(&home);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(5), "{body}: {err}");
        assert!(err.to_lowercase().contains("nexterpay") && err.contains(why), "{body}: {err}");
        assert!(out.stdout.is_empty());
        assert_eq!(home.print("nexterpay"), token, "{body}: the old token is intact");
    }
}

#[test]
fn server_errors_are_retried_a_bounded_number_of_times() {
    let sb = Sandbox::start();
    let (home, token) = logged_in(&sb);
    sb.fault(json!({ "path": "/security/createToken", "status": 503, "body": "busy", "times": 1 }));
    refresh(&home).status.success().then_some(()).expect("one 503 is retried");
    assert_eq!(sb.count(CREATE_TOKEN), 3, "login + 503 + retry");
    let fresh = home.print("nexterpay");
    assert_ne!(fresh, token);

    sb.fault(json!({ "path": "/security/createToken", "status": 500, "body": "<h1>oops</h1>" }));
    let out = refresh(&home);
    assert_eq!(out.status.code(), Some(5));
    let err = stderr_of(&out);
    assert!(err.contains("nexterpay answered 500 Internal Server Error: <h1>oops</h1>"), "{err}");
    assert_eq!(sb.count(CREATE_TOKEN), 6, "three attempts, then give up");
    assert_eq!(home.print("nexterpay"), fresh);
}

#[test]
fn rate_limits_honour_retry_after() {
    let sb = Sandbox::start();
    let (home, _) = logged_in(&sb);
    sb.fault(json!({ "path": "/security/createToken", "status": 429, "headers": { "Retry-After": "0" }, "times": 1 }));
    assert!(refresh(&home).status.success());
    assert_eq!(sb.count(CREATE_TOKEN), 3);

    // A wait longer than tok's cap is reported, not slept through.
    sb.fault(json!({ "path": "/security/createToken", "status": 429, "headers": { "Retry-After": "3600" }, "times": 1 }));
    let started = Instant::now();
    let out = refresh(&home);
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr_of(&out).contains("retry after 3600s"), "{}", stderr_of(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn token_endpoints_never_follow_redirects() {
    let sb = Sandbox::start();
    let (home, token) = logged_in(&sb);
    let target = format!("{}/elsewhere", sb.url);
    sb.fault(json!({ "path": "/security/createToken", "status": 307, "headers": { "Location": target }, "times": 1 }));
    let out = refresh(&home);
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr_of(&out).contains("does not follow redirects"), "{}", stderr_of(&out));
    assert_eq!(sb.count("POST /elsewhere") + sb.count("GET /elsewhere"), 0, "nothing reached the target");
    assert_eq!(home.print("nexterpay"), token);
}

#[test]
fn oversized_replies_are_refused() {
    let sb = Sandbox::start();
    let (home, token) = logged_in(&sb);
    for chunked in [false, true] {
        sb.fault(json!({ "path": "/security/createToken", "status": 200, "size": 3 * 1024 * 1024,
                         "chunked": chunked, "times": 1 }));
        let out = refresh(&home);
        assert_eq!(out.status.code(), Some(5), "chunked {chunked}");
        assert!(stderr_of(&out).contains("larger than 1 MiB"), "{}", stderr_of(&out));
    }
    assert_eq!(home.print("nexterpay"), token);
}

#[test]
fn a_hanging_server_times_out() {
    let sb = Sandbox::start();
    let (home, token) = logged_in(&sb);
    sb.fault(json!({ "path": "/security/createToken", "status": 200, "delay_ms": 30_000 }));
    let started = Instant::now();
    let out = home.tok().args(["refresh", "nexterpay", "--timeout", "300ms"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr_of(&out).contains("no complete answer from nexterpay"), "{}", stderr_of(&out));
    // Attempts and backoff share one budget of 3 × 300 ms; slack for a busy machine, and
    // for Wine, which can take over a second to start a process (the hang is 30 s).
    let bound = Duration::from_millis(if cfg!(windows) { 4_000 } else { 1_700 });
    assert!(started.elapsed() < bound, "{:?}", started.elapsed());
    assert_eq!(home.print("nexterpay"), token);
}

#[test]
fn an_unreachable_server_exits_5() {
    let home = Home::new();
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = home
        .tok()
        .args(["login", "nexterpay", "--username", USER, "--secret-stdin"])
        .arg("--base-url")
        .arg(format!("http://127.0.0.1:{port}"))
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr_of(&out).contains("cannot reach nexterpay"), "{}", stderr_of(&out));
    assert!(!home.path().join("config.toml").exists());
}
