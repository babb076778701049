//! Token exchange against the real oidc-provider (its harness registers the RFC 8693
//! grant, tests/oidc/README.md): one profile's client-credentials token, exchanged by
//! another profile's client for a JWT naming both.

use crate::oidc::{Oidc, http};
use crate::support::*;

const LEDGER: &str = "https://ledger.tok.test/";

#[test]
fn a_profile_exchanges_another_profiles_token_at_oidc_provider() {
    let oidc = Oidc::start();
    let token_url = oidc.endpoint("token_endpoint");
    let home = Home::new();
    let out = home
        .tok()
        .args(["login", "workload", "--provider", "oauth2", "--token-url", &token_url])
        .args(["--client-id", "tok-basic", "--auth", "basic", "--secret-stdin"])
        .write_stdin("tok-basic-secret\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\nserver log:\n{}", stderr_of(&out), oidc.server_log());
    let subject = home.print("workload");

    // The exchanging client authenticates by its own method: tok-rsa signs an assertion.
    let key = format!("{}/tests/oidc/keys/test-only-client-rsa.pem", env!("CARGO_MANIFEST_DIR"));
    let out = home
        .tok()
        .args(["-v", "login", "ledger", "--provider", "oauth2", "--issuer", &oidc.issuer])
        .args(["--client-id", "tok-rsa", "--auth", "private_key_jwt", "--key-id", "test-rsa"])
        .args(["--key-file", &key, "--grant", "token_exchange", "--subject-profile", "workload"])
        .args(["--resource", LEDGER])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\nserver log:\n{}", stderr_of(&out), oidc.server_log());
    assert!(!stderr_of(&out).contains(&subject), "the subject token never shows: {}", stderr_of(&out));

    let before = oidc.count("POST /token");
    let exchanged = home.print("ledger");
    assert_eq!(home.print("ledger"), exchanged);
    assert_eq!(oidc.count("POST /token"), before, "the exchanged token is cached");
    assert_ne!(exchanged, subject);
    let c = claims(&exchanged);
    assert_eq!(
        (c["sub"].as_str(), c["act"]["sub"].as_str(), c["aud"].as_str()),
        (Some("tok-basic"), Some("tok-rsa"), Some(LEDGER)),
        "{c}"
    );
    // The provider itself takes the subject token as live (it is the one exchanged).
    let intro = http(
        "POST",
        &oidc.endpoint("introspection_endpoint"),
        &[("token", &subject)],
        Some(("tok-basic", "tok-basic-secret")),
    )
    .json();
    assert_eq!(intro["active"].as_bool(), Some(true), "{intro}");

    // Refreshed by exchanging again; after the subject's logout, exit 3 naming it.
    let out = home.tok().args(["refresh", "ledger"]).output().unwrap();
    assert!(out.status.success(), "{}\nserver log:\n{}", stderr_of(&out), oidc.server_log());
    assert_ne!(home.print("ledger"), exchanged);
    home.tok().args(["logout", "workload"]).assert().success();
    let before = oidc.count("POST /token");
    let out = home.tok().args(["refresh", "ledger"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("subject profile 'workload'"), "{}", stderr_of(&out));
    assert_eq!(oidc.count("POST /token"), before);
}
