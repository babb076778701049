//! merchant-v2: login, rotating refresh tokens, falling back to the password, API keys.

use crate::support::*;
use serde_json::{Value, json};

const EMAIL: &str = "owner@acme.example";
const MERCHANT: &str = "b34555b7-dca4-5ec1-ade3-64a3ad545310";
const LOGIN: &str = "POST /v2/auth/login";
const REFRESH: &str = "POST /v2/auth/refresh";

fn login(home: &Home, sb: &Sandbox, password: &str) -> std::process::Output {
    home.tok()
        .args(["login", "acme", "--provider", "merchant-v2", "--base-url", &sb.url, "--email", EMAIL])
        .args(["--merchant-id", MERCHANT, "--secret-stdin"])
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap()
}

fn stored(home: &Home) -> Value {
    serde_json::from_str(&std::fs::read_to_string(home.store_file("acme")).unwrap()).unwrap()
}

fn header(home: &Home, profile: &str) -> String {
    let out = home.tok().args(["print", profile, "--format", "header"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn login_follows_the_document_and_the_token_works() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = login(&home, &sb, PASSWORD);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let last = sb.last(LOGIN);
    assert_eq!(last["headers"]["merchant_id"], MERCHANT);
    assert_eq!(last["headers"]["accept"], "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(last["body"].as_str().unwrap()).unwrap(),
        json!({ "token": EMAIL, "password": PASSWORD })
    );
    let line = header(&home, "acme");
    assert!(line.starts_with("Authorization: Bearer eyJ"), "{line}");
    assert_eq!(sb.api("POST", "/v2/customer/create", &line), 200);
    // expiresIn was an absolute time; the access token lives 30 minutes.
    let json: Value = serde_json::from_slice(
        &home.tok().args(["print", "acme", "--format", "json"]).output().unwrap().stdout,
    )
    .unwrap();
    assert!((1_790..=1_800).contains(&json["expires_in"].as_i64().unwrap()), "{json}");
    let status: Value =
        serde_json::from_slice(&home.tok().args(["status", "--json"]).output().unwrap().stdout).unwrap();
    assert!(status["profiles"][0]["refresh_expires_at"].as_str().is_some(), "{status}");
    let table = String::from_utf8(home.tok().arg("status").output().unwrap().stdout).unwrap();
    assert!(table.contains("; refresh token in 1d23h") || table.contains("; refresh token in 2d"), "{table}");
    assert_eq!(sb.count(LOGIN), 1);
}

#[test]
fn a_low_access_token_is_renewed_with_the_refresh_token_not_a_login() {
    let sb = Sandbox::start();
    sb.settings(json!({ "merchant_access_lifetime": 20 }));
    let home = Home::new();
    assert!(login(&home, &sb, PASSWORD).status.success());
    let first_refresh = stored(&home)["token"]["refresh_token"].as_str().unwrap().to_string();
    sb.settings(json!({ "merchant_access_lifetime": 1800 }));
    let line = header(&home, "acme");
    assert_eq!((sb.count(LOGIN), sb.count(REFRESH)), (1, 1), "renewed by refresh, no login");
    let sent: Value = serde_json::from_str(sb.last(REFRESH)["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, json!({ "refreshToken": first_refresh }));
    assert_eq!(sb.last(REFRESH)["headers"]["merchant_id"], MERCHANT);
    // The rotated refresh token was stored with the new access token.
    let record = stored(&home)["token"].clone();
    assert_ne!(record["refresh_token"].as_str().unwrap(), first_refresh);
    assert_eq!(format!("Authorization: Bearer {}\n", record["token"].as_str().unwrap()), line);
    assert_eq!(sb.api("POST", "/v2/customer/create", &line), 200);
    header(&home, "acme");
    assert_eq!((sb.count(LOGIN), sb.count(REFRESH)), (1, 1), "cached afterwards");
}

#[test]
fn concurrent_prints_spend_the_refresh_token_once() {
    let sb = Sandbox::start();
    sb.settings(json!({ "merchant_access_lifetime": 20 }));
    let home = Home::new();
    assert!(login(&home, &sb, PASSWORD).status.success());
    sb.settings(json!({ "merchant_access_lifetime": 1800 }));
    home.race_prints("acme", 20, &[]);
    assert_eq!((sb.count(LOGIN), sb.count(REFRESH)), (1, 1), "one exchange, no fallback login");
}

#[test]
fn a_refused_refresh_token_falls_back_to_the_password() {
    let sb = Sandbox::start();
    let home = Home::new();
    assert!(login(&home, &sb, PASSWORD).status.success());
    sb.settings(json!({ "merchant_refresh_expired": true }));
    let out = home.tok().args(["-v", "refresh", "acme"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("REFRESH_TOKEN_EXPIRED"), "{}", stderr_of(&out));
    assert_eq!((sb.count(REFRESH), sb.count(LOGIN)), (1, 2));
}

#[test]
fn a_refresh_token_known_to_be_expired_is_not_sent() {
    let sb = Sandbox::start();
    sb.settings(json!({ "merchant_refresh_lifetime": 10 }));
    let home = Home::new();
    assert!(login(&home, &sb, PASSWORD).status.success());
    home.tok().args(["refresh", "acme"]).assert().success();
    assert_eq!((sb.count(REFRESH), sb.count(LOGIN)), (0, 2));
}

#[test]
fn no_password_and_an_expired_refresh_token_exits_3() {
    let sb = Sandbox::start();
    let home = Home::new();
    assert!(login(&home, &sb, PASSWORD).status.success());
    // Keep the token but drop the stored password.
    let mut contents = stored(&home);
    contents["secrets"] = json!({});
    std::fs::write(home.store_file("acme"), contents.to_string()).unwrap();
    sb.settings(json!({ "merchant_refresh_expired": true }));
    let out = home.tok().args(["refresh", "acme"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(err.contains("refresh token has expired") && err.contains("tok login acme"), "{err}");
    assert_eq!(sb.count(LOGIN), 1);
}

#[test]
fn rejected_logins_exit_4_with_the_providers_code() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = login(&home, &sb, "wrong");
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr_of(&out).contains("INVALID_CREDENTIALS: Invalid email or password"),
        "{}",
        stderr_of(&out)
    );
    let out = home
        .tok()
        .args(["login", "acme", "--provider", "merchant-v2", "--base-url", &sb.url, "--email", EMAIL])
        .args(["--merchant-id", "00000000-0000-0000-0000-000000000000", "--secret-stdin"])
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr_of(&out).contains("MERCHANT_NOT_FOUND"), "{}", stderr_of(&out));
}

#[test]
fn the_base_url_is_required() {
    let home = Home::new();
    let out = home
        .tok()
        .args([
            "login",
            "acme",
            "--provider",
            "merchant-v2",
            "--email",
            EMAIL,
            "--merchant-id",
            MERCHANT,
            "--secret-stdin",
        ])
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("needs a setting: base url (--base-url or TOK_ACME_BASE_URL)"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn api_key_mode() {
    let sb = Sandbox::start();
    let home = Home::new();
    assert!(home.api_key_login(&sb).status.success());
    assert!(sb.stats()["requests"].as_object().unwrap().is_empty(), "nothing to fetch for a key");
    assert_eq!(home.print("acme-key"), API_KEY);
    let line = header(&home, "acme-key");
    assert_eq!(line, format!("Api-key: {API_KEY}\n"));
    assert_eq!(sb.api("POST", "/v2/customer/create", &line), 200);
    assert_eq!(sb.api("POST", "/v2/customer/create", "Api-key: wrong"), 401);

    let out = home.tok().args(["refresh", "acme-key"]).output().unwrap();
    assert!(out.status.success());
    assert!(stderr_of(&out).contains("nothing to refresh"), "{}", stderr_of(&out));
    let table = String::from_utf8(home.tok().arg("status").output().unwrap().stdout).unwrap();
    let row = table.lines().find(|l| l.starts_with("acme-key")).unwrap();
    assert!(row.contains("API key") && row.contains("never"), "{row}");

    // The same from the environment alone.
    let out = Home::new()
        .tok()
        .env("TOK_CI_KEY_PROVIDER", "merchant-v2")
        .env("TOK_CI_KEY_MODE", "api-key")
        .env("TOK_CI_KEY_BASE_URL", &sb.url)
        .env("TOK_CI_KEY_API_KEY", API_KEY)
        .args(["print", "ci-key", "--format", "header"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("Api-key: {API_KEY}\n"), "{err}");
}
