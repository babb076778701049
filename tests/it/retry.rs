//! `tok curl` survives a token revoked before its expiry: one refresh, one more try, when
//! the request can be sent again (issue: beyond the usual tools, item 2).

use crate::support::*;
use serde_json::json;

const COUNTRIES: &str = "POST /Catalog/GetCountries";

fn revoke(sb: &Sandbox) {
    // Through the control endpoint, as an operator revoking every session would.
    let out = std::process::Command::new("curl")
        .args(["-s", "-X", "POST", "-d", "{}", &format!("{}/_sandbox/revoke", sb.url)])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"ok\":true"));
}

#[test]
fn a_revoked_token_is_replaced_once_and_the_request_succeeds() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let old = home.print("nexterpay");
    revoke(&sb);
    let out = home
        .tok_with_path()
        .args(["-v", "curl", "nexterpay", "-s", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let body = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(body.contains("France"), "the second answer: {body}");
    assert!(!body.contains("Unauthorized"), "the first 401's body is not printed: {body}");
    assert!(stderr_of(&out).contains("the API answered 401; refreshing the token"), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 2, "exactly one extra token request");
    assert_eq!(sb.count(COUNTRIES), 2);
    assert_ne!(home.print("nexterpay"), old, "the new token is kept");
}

#[test]
fn requests_that_cannot_be_sent_twice_are_not_retried() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    revoke(&sb);
    // A body from stdin: read once by curl, so the 401 passes through with a hint.
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-s", "-X", "POST", "-d", "@-", "/Catalog/GetCountries"])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert!(out.status.success(), "curl's exit code: {}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Unauthorized"));
    assert!(
        stderr_of(&out).contains("body came from stdin") && stderr_of(&out).contains("tok refresh nexterpay"),
        "{}",
        stderr_of(&out)
    );
    // --no-retry: the same.
    let out = home
        .tok_with_path()
        .args(["curl", "--no-retry", "nexterpay", "-s", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Unauthorized"));
    assert_eq!(sb.count(CREATE_TOKEN), 1, "no refresh for either");
    // An API key has nothing to refresh: a 401 is final.
    assert!(home.api_key_login(&sb).status.success());
    sb.fault(json!({ "path": "/v2/customer/create", "status": 401, "body": "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}", "times": 1 }));
    let out = home
        .tok_with_path()
        .args(["curl", "acme-key", "-s", "-X", "POST", "/v2/customer/create"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("UNAUTHORIZED"));
    assert_eq!(sb.count("POST /v2/customer/create"), 1, "sent once");
}

#[test]
fn twenty_curls_on_a_revoked_token_make_one_refresh() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    revoke(&sb);
    let children: Vec<_> = (0..20)
        .map(|_| {
            home.process()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .args(["curl", "nexterpay", "-s", "-X", "POST", "/Catalog/GetCountries"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("France"), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count(CREATE_TOKEN), 2, "the login and one refresh, shared by all twenty");
}
