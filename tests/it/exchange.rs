//! Token exchange (RFC 8693) against the sandbox's `/as` issuer: profiles that chain,
//! what the exchange request carries, loops refused, and replies RFC 8693 forbids.

use crate::support::*;
use serde_json::{Value, json};

const ID: &str = "demo-client";
const SECRET: &str = "demo-secret";
const AS_TOKEN: &str = "POST /as/token";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

fn login(home: &Home, sb: &Sandbox, profile: &str, extra: &[&str]) -> std::process::Output {
    let issuer = format!("{}/as", sb.url);
    home.tok()
        .args(["-v", "login", profile, "--provider", "oauth2", "--issuer", &issuer, "--client-id", ID])
        .args(extra)
        .arg("--secret-stdin")
        .write_stdin(format!("{SECRET}\n"))
        .output()
        .unwrap()
}

fn form(last: &Value) -> Vec<(String, String)> {
    let body = last["body"].as_str().unwrap_or_default();
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
}

#[test]
fn an_exchange_profile_trades_its_subjects_token_caches_and_ends_with_its_subject() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = login(&home, &sb, "workload", &["--scope", "openid"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let subject = home.print("workload");

    let out = login(
        &home,
        &sb,
        "ledger",
        &[
            "--grant",
            "token_exchange",
            "--subject-profile",
            "workload",
            "--audience",
            "https://ledger.example/",
            "--audience",
            "https://books.example/",
            "--resource",
            "https://ledger.example/v1",
            "--scope",
            "ledger:read",
            "--param",
            "purpose=test",
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains(&subject), "the subject token is never shown: {}", stderr_of(&out));
    let kept = std::fs::read_to_string(home.store_file("ledger")).unwrap();
    assert!(!kept.contains(&subject), "the subject token is not saved as ledger's: {kept}");
    let sent = form(&sb.last(AS_TOKEN));
    assert_eq!(field(&sent, "grant_type"), [EXCHANGE]);
    assert_eq!(field(&sent, "subject_token"), [subject.as_str()], "the subject profile's cached token");
    assert_eq!(field(&sent, "subject_token_type"), [ACCESS_TOKEN_TYPE], "the default type");
    assert!(field(&sent, "requested_token_type").is_empty(), "asked for only when given");
    assert_eq!(field(&sent, "audience"), ["https://ledger.example/", "https://books.example/"]);
    assert_eq!(field(&sent, "resource"), ["https://ledger.example/v1"]);
    assert_eq!(field(&sent, "scope"), ["ledger:read"]);
    assert_eq!(field(&sent, "purpose"), ["test"]);

    let before = sb.count(AS_TOKEN);
    let exchanged = home.print("ledger");
    assert_eq!(home.print("ledger"), exchanged);
    assert_eq!(sb.count(AS_TOKEN), before, "the exchanged token is cached");
    assert_ne!(exchanged, subject);
    let c = claims(&exchanged);
    assert_eq!((c["sub"].as_str(), c["act"]["sub"].as_str()), (Some(ID), Some(ID)), "{c}");

    // Refreshed like any other: by exchanging again, with the subject's (cached) token.
    let out = home.tok().args(["-v", "refresh", "ledger"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains(&subject), "{}", stderr_of(&out));
    assert_eq!(field(&form(&sb.last(AS_TOKEN)), "subject_token"), [subject.as_str()]);
    assert_ne!(home.print("ledger"), exchanged);

    // With its subject logged out, the exchanged profile cannot renew: exit 3 naming it.
    home.tok().args(["logout", "workload"]).assert().success();
    let before = sb.count(AS_TOKEN);
    let out = home.tok().args(["refresh", "ledger"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("subject profile 'workload'"), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("tok login workload"), "{}", stderr_of(&out));
    assert_eq!(sb.count(AS_TOKEN), before, "nothing is sent without a subject token");
}

#[test]
fn an_exchange_renews_its_subject_first_when_the_subjects_token_is_due() {
    let sb = Sandbox::start();
    let home = Home::new();
    sb.settings(json!({ "oauth2_lifetime": 20 }));
    assert!(login(&home, &sb, "workload", &[]).status.success());
    let first = home.print("workload");
    sb.settings(json!({ "oauth2_lifetime": 3600 }));
    let out = login(&home, &sb, "ledger", &["--grant", "token_exchange", "--subject-profile", "workload"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    // 20 s is within print's 30 s margin: the subject got a new token, and that one was sent.
    let subject = home.print("workload");
    assert_ne!(subject, first);
    assert_eq!(field(&form(&sb.last(AS_TOKEN)), "subject_token"), [subject.as_str()]);
}

#[test]
fn subject_profiles_that_loop_are_refused_before_anything_is_sent() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = login(&home, &sb, "api", &["--grant", "token_exchange", "--subject-profile", "api"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("cannot be its own --subject-profile"), "{}", stderr_of(&out));
    assert_eq!(sb.count(AS_TOKEN), 0);

    assert!(login(&home, &sb, "a", &[]).status.success());
    let out = login(&home, &sb, "b", &["--grant", "token_exchange", "--subject-profile", "a"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let before = sb.count(AS_TOKEN);
    let out = login(&home, &sb, "a", &["--grant", "token_exchange", "--subject-profile", "b"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("a -> b -> a"), "{}", stderr_of(&out));
    assert_eq!(sb.count(AS_TOKEN), before);

    // A subject that was never logged in: exit 3, naming it.
    let out = login(&home, &sb, "c", &["--grant", "token_exchange", "--subject-profile", "nobody"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("subject profile 'nobody'"), "{}", stderr_of(&out));
}

#[test]
fn an_exchange_reply_without_issued_token_type_exits_5() {
    let sb = Sandbox::start();
    let home = Home::new();
    assert!(login(&home, &sb, "workload", &[]).status.success());
    sb.settings(json!({ "exchange_omit_issued_token_type": true }));
    let out = login(&home, &sb, "ledger", &["--grant", "token_exchange", "--subject-profile", "workload"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("issued_token_type"), "{}", stderr_of(&out));
}

#[test]
fn the_token_types_given_are_sent_and_a_refused_exchange_exits_4() {
    let sb = Sandbox::start();
    let home = Home::new();
    assert!(login(&home, &sb, "workload", &[]).status.success());
    let jwt_type = "urn:ietf:params:oauth:token-type:jwt";
    let out = login(
        &home,
        &sb,
        "ledger",
        &[
            "--grant",
            "token_exchange",
            "--subject-profile",
            "workload",
            "--subject-token-type",
            jwt_type,
            "--requested-token-type",
            ACCESS_TOKEN_TYPE,
        ],
    );
    // The sandbox takes access tokens only: invalid_request, a refusal (exit 4).
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let sent = form(&sb.last(AS_TOKEN));
    assert_eq!(field(&sent, "subject_token_type"), [jwt_type]);
    assert_eq!(field(&sent, "requested_token_type"), [ACCESS_TOKEN_TYPE]);
    let subject = home.print("workload");
    assert!(!stderr_of(&out).contains(&subject), "{}", stderr_of(&out));
}
