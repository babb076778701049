//! NexterPay end to end, as `shared/providers.md` describes it.

use crate::support::*;
use serde_json::{Value, json};

#[test]
fn login_then_print_serves_the_cache() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    assert_eq!(sb.count(CREATE_TOKEN), 1);
    let token = home.print("nexterpay");
    assert_eq!(claims(&token)["sub"], USER);
    for _ in 0..3 {
        assert_eq!(home.print("nexterpay"), token);
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1, "a cached print makes no request");
}

#[test]
fn the_request_matches_the_document() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let last = sb.last(CREATE_TOKEN);
    assert!(last["headers"]["content-type"].as_str().unwrap().starts_with("application/json"));
    assert!(last["headers"]["user-agent"].as_str().unwrap().starts_with("tok/"));
    let body: Value = serde_json::from_str(last["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({ "userName": USER, "password": PASSWORD }));
}

#[test]
fn the_token_works_against_the_api() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let header = home.tok().args(["print", "nexterpay", "--format", "header"]).output().unwrap();
    let header = String::from_utf8(header.stdout).unwrap();
    assert_eq!(sb.api("POST", "/Catalog/GetCountries", &header), 200);
    assert_eq!(sb.api("POST", "/Catalog/GetCountries", "Authorization: Bearer not-a-token"), 401);
}

#[test]
fn every_format() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    let run = |args: &[&str]| {
        let out = home.tok().arg("print").arg("nexterpay").args(args).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run(&["--format", "token"]), format!("{token}\n"));
    assert_eq!(run(&["--format", "header"]), format!("Authorization: Bearer {token}\n"));
    assert_eq!(run(&["--format", "env"]), format!("export TOK_NEXTERPAY_TOKEN={token}\n"));
    assert_eq!(run(&["--format", "env", "--var", "NP_TOKEN"]), format!("export NP_TOKEN={token}\n"));
    let json: Value = serde_json::from_str(&run(&["--format", "json"])).unwrap();
    assert_eq!(json["token"], token.as_str());
    assert_eq!(json["header"], format!("Authorization: Bearer {token}"));
    let expires_in = json["expires_in"].as_i64().unwrap();
    assert!((35_990..=36_000).contains(&expires_in), "{expires_in}");
    assert!(json["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(sb.count(CREATE_TOKEN), 1);

    let out =
        home.tok().args(["print", "nexterpay", "--format", "env", "--var", "bad-name"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn environment_only_print_needs_no_login() {
    let sb = Sandbox::start();
    let home = Home::new();
    let ci = || home.tok_from_env(&sb);
    let first = ci().args(["print", "nexterpay"]).output().unwrap();
    assert!(first.status.success(), "{}", stderr_of(&first));
    let second = ci().args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the file store caches the token");
    assert!(!home.path().join("config.toml").exists(), "print does not log in");

    // Another user in the environment never gets the cached token of the first.
    let other =
        ci().env("TOK_NEXTERPAY_USERNAME", "suspended").args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(other.status.code(), Some(4));
    assert!(other.stdout.is_empty());
}

// Unix: makes the keyring unreachable through DBUS_SESSION_BUS_ADDRESS.
#[cfg(unix)]
#[test]
fn environment_only_print_without_a_keyring_still_prints() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = home
        .tok_without_keyring()
        .env("TOK_NEXTERPAY_USERNAME", USER)
        .env("TOK_NEXTERPAY_PASSWORD", PASSWORD)
        .env("TOK_NEXTERPAY_BASE_URL", &sb.url)
        .args(["print", "nexterpay"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(out.stdout.starts_with(b"eyJ"));
    let err = stderr_of(&out);
    assert_eq!(err.matches("nothing was cached").count(), 1, "{err}");
    // One plain line: what happened and what to do, not the D-Bus library's error.
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no keyring is reachable") && err.contains("TOK_STORE=file"), "{err}");
    for raw in ["zbus", "os error", "/nonexistent/bus", "DBUS"] {
        assert!(!err.contains(raw), "{raw}: {err}");
    }
    // The platform's own words are there for whoever asks.
    let out = home
        .tok_without_keyring()
        .env("TOK_NEXTERPAY_USERNAME", USER)
        .env("TOK_NEXTERPAY_PASSWORD", PASSWORD)
        .env("TOK_NEXTERPAY_BASE_URL", &sb.url)
        .args(["-v", "print", "nexterpay"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("/nonexistent/bus"), "{}", stderr_of(&out));
}

// Unix: makes the keyring unreachable through DBUS_SESSION_BUS_ADDRESS.
#[cfg(unix)]
#[test]
fn login_without_a_keyring_fails_before_sending_anything() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = home
        .tok_without_keyring()
        .args(["login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"])
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(stderr_of(&out).contains("TOK_STORE=file"), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 0);
    assert!(!home.path().join("config.toml").exists());
    assert!(!home.store_file("nexterpay").exists(), "no silent fallback to files");
}

#[test]
fn rejected_logins_exit_4_and_keep_the_old_token() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    let login = |user: &str, password: &str| {
        home.tok()
            .args(["login", "nexterpay", "--username", user, "--base-url", &sb.url, "--secret-stdin"])
            .write_stdin(format!("{password}\n"))
            .output()
            .unwrap()
    };
    let wrong = login(USER, "not-the-password");
    assert_eq!(wrong.status.code(), Some(4));
    assert!(stderr_of(&wrong).contains("wrong credentials"), "{}", stderr_of(&wrong));
    assert!(!stderr_of(&wrong).contains("not-the-password"));
    let suspended = login("suspended", PASSWORD);
    assert_eq!(suspended.status.code(), Some(4));
    assert!(stderr_of(&suspended).contains("contact your NexterPay representative"));
    for out in [&wrong, &suspended] {
        assert!(out.stdout.is_empty());
    }
    assert_eq!(home.print("nexterpay"), token, "a failed login loses nothing");
    assert_eq!(sb.count(CREATE_TOKEN), 3);
}

#[test]
fn refresh_logs_in_again_with_the_stored_password() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let before = home.print("nexterpay");
    home.tok().args(["refresh", "nexterpay"]).assert().success().stdout("");
    assert_eq!(sb.count(CREATE_TOKEN), 2);
    let body: Value = serde_json::from_str(sb.last(CREATE_TOKEN)["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["password"], PASSWORD);
    let after = home.print("nexterpay");
    assert_ne!(before, after);
}

#[test]
fn tokens_near_expiry_are_refreshed_and_min_ttl_counts() {
    let sb = Sandbox::with_args(&["--nexterpay-lifetime", "20"]);
    let home = Home::new();
    home.login(&sb);
    // 20 s left is within the default --min-ttl of 30 s: every print refreshes.
    home.print("nexterpay");
    home.print("nexterpay");
    assert_eq!(sb.count(CREATE_TOKEN), 3);
    // With --min-ttl 0 only the 10 % rule applies (2 s of 20): no refresh.
    home.tok().args(["print", "nexterpay", "--min-ttl", "0"]).assert().success();
    assert_eq!(sb.count(CREATE_TOKEN), 3);
}

fn expires_in(home: &Home) -> i64 {
    let out = home.tok().args(["print", "nexterpay", "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["expires_in"].as_i64().unwrap()
}

#[test]
fn without_exp_the_documented_lifetimes_apply() {
    let sb = Sandbox::with_args(&["--nexterpay-no-exp"]);
    let home = Home::new();
    home.login(&sb);
    let sandbox = expires_in(&home);
    assert!((35_990..=36_000).contains(&sandbox), "sandbox: 600 min, got {sandbox}");

    home.tok()
        .args(["login", "np-prod", "--provider", "nexterpay", "--env", "production"])
        .args(["--username", USER, "--base-url", &sb.url, "--secret-stdin"])
        .write_stdin(format!("{PASSWORD}\n"))
        .assert()
        .success();
    let out = home.tok().args(["print", "np-prod", "--format", "json"]).output().unwrap();
    let production = serde_json::from_slice::<Value>(&out.stdout).unwrap()["expires_in"].as_i64().unwrap();
    assert!((5_390..=5_400).contains(&production), "production: 90 min, got {production}");
}

#[test]
fn a_skewed_server_clock_never_stretches_the_lifetime() {
    // The server's clock runs an hour ahead: its exp looks 70 min away, the token lives 10.
    let sb = Sandbox::with_args(&["--nexterpay-lifetime", "600"]);
    sb.settings(json!({ "clock_offset": 3600 }));
    let home = Home::new();
    home.login(&sb);
    let ahead = expires_in(&home);
    assert!((590..=600).contains(&ahead), "{ahead}");

    // An hour behind: exp is nearer than exp - iat says; the earlier one wins.
    sb.settings(json!({ "clock_offset": -3600, "nexterpay_lifetime": 7200 }));
    home.tok().args(["refresh", "nexterpay"]).assert().success();
    let behind = expires_in(&home);
    assert!((3_590..=3_600).contains(&behind), "{behind}");
}

#[test]
fn production_needs_a_base_url_and_http_needs_loopback() {
    let home = Home::new();
    let out = home
        .tok()
        .args(["login", "nexterpay", "--env", "production", "--username", USER, "--secret-stdin"])
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--base-url"), "{}", stderr_of(&out));

    let out = home
        .tok()
        .args([
            "login",
            "nexterpay",
            "--username",
            USER,
            "--base-url",
            "http://api.example.com",
            "--secret-stdin",
        ])
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("HTTPS"), "{}", stderr_of(&out));
}

#[test]
fn no_terminal_and_no_secret_exits_3_at_once() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out =
        home.tok().args(["login", "nexterpay", "--username", USER, "--base-url", &sb.url]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("TOK_NEXTERPAY_PASSWORD"), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 0);

    let out = home.tok().args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "never logged in");
    let out = home.tok().args(["print", "no-such-profile"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("tok login no-such-profile"), "{}", stderr_of(&out));
}

#[test]
fn logout_forgets_everything() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    home.tok().args(["logout", "nexterpay"]).assert().success().stdout("");
    assert!(!home.store_file("nexterpay").exists());
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(!config.contains("nexterpay"), "{config}");
    let out = home.tok().args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    assert!(stderr_of(&out).contains("not logged in to 'nexterpay'"), "{}", stderr_of(&out));
    let json: Value =
        serde_json::from_slice(&home.tok().args(["status", "--json"]).assert().success().get_output().stdout)
            .unwrap();
    assert_eq!(json["profiles"], serde_json::json!([]));
}

#[test]
fn status_lists_profiles_without_network() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let table = home.tok().arg("status").output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("PROFILE"));
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("nexterpay")
            && row.contains("valid")
            && (row.contains("in 10h") || row.contains("in 9h59m")),
        "{row}"
    );
    let json: Value =
        serde_json::from_slice(&home.tok().args(["status", "--json"]).output().unwrap().stdout).unwrap();
    let json = &json["profiles"];
    assert_eq!(json[0]["profile"], "nexterpay");
    assert_eq!(json[0]["state"], "valid");
    assert!(json[0]["expires_in"].as_i64().unwrap() > 35_000);
    assert_eq!(sb.count(CREATE_TOKEN), 1);
}

#[test]
fn verbose_shows_requests_but_no_secret() {
    let sb = Sandbox::start();
    let home = Home::new();
    let login = home
        .tok()
        .args(["-v", "login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"])
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    let refresh = home.tok().args(["-v", "refresh", "nexterpay"]).output().unwrap();
    let print = home.tok().args(["-v", "print", "nexterpay"]).output().unwrap();
    let token = String::from_utf8(print.stdout.clone()).unwrap();
    let token = token.trim();
    for out in [&login, &refresh, &print] {
        assert!(out.status.success());
        let err = stderr_of(out);
        assert!(!err.contains(PASSWORD), "{err}");
        assert!(!err.contains(token), "{err}");
    }
    let err = stderr_of(&refresh);
    assert!(err.contains("POST") && err.contains("/security/createToken") && err.contains("200 OK"), "{err}");
    assert!(stderr_of(&print).contains("cached token"));
}

/// Clocks that differ by more than a minute are said once on stderr and shown by
/// `tok status PROFILE`; within a minute nothing is said (issue: beyond, item 4).
#[test]
fn clock_skew_is_visible() {
    let sb = Sandbox::start();
    let home = Home::new();
    // Within a minute: silence.
    sb.settings(json!({ "clock_offset": 30 }));
    let out = home.nexterpay_login(&sb, PASSWORD).output().unwrap();
    assert!(out.status.success());
    assert!(!stderr_of(&out).contains("clock"), "{}", stderr_of(&out));
    // The server's clock five minutes ahead.
    sb.settings(json!({ "clock_offset": 300 }));
    let out = home.tok().args(["refresh", "nexterpay"]).output().unwrap();
    assert!(out.status.success());
    let err = stderr_of(&out);
    assert_eq!(err.matches("clock is").count(), 1, "said once: {err}");
    assert!(
        err.contains("nexterpay's clock is 5m ahead of this machine's; tok decides on this machine's clock"),
        "{err}"
    );
    let status = home.tok().args(["status", "nexterpay"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&status.stdout)
            .contains("nexterpay's clock is 5m ahead of this machine's (at the last token)")
    );
}

/// The same seen from the other side: this machine's clock ten minutes behind
/// (libfaketime shifts tok's clock; the sandbox's is right).
#[cfg(target_os = "linux")]
#[test]
fn a_local_clock_behind_is_visible_too() {
    let faketime = faketime_library();
    let sb = Sandbox::start();
    let home = Home::new();
    let out = home
        .nexterpay_login(&sb, PASSWORD)
        .env("LD_PRELOAD", faketime)
        .env("FAKETIME", "-10m")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("nexterpay's clock is 10m ahead of this machine's"),
        "{}",
        stderr_of(&out)
    );
}
