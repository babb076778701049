//! `tok curl` hands the credential only to the profile's hosts, keeps curl's environment
//! free of tok's secrets, and adopts NetDirector V1 tokens only from the API host
//! (issue: trust, items 7 and 8).

use crate::support::*;
use base64::Engine;
use serde_json::json;

/// The same sandbox under another name: another host as far as curl is concerned.
fn other_host(sb: &Sandbox) -> String {
    sb.url.replace("127.0.0.1", "localhost")
}

#[test]
fn a_cross_host_redirect_never_carries_the_credential() {
    require_curl();
    let sb = Sandbox::start();
    let elsewhere = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    assert!(home.api_key_login(&sb).status.success());
    let target = format!("{}/landing", other_host(&elsewhere));
    sb.fault(json!({ "path": "/Catalog/GetCountries", "status": 302, "headers": { "location": target }, "times": 1 }));

    // Bearer: curl follows, and drops Authorization on the way to the other host.
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-sSL", "-X", "GET", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(elsewhere.count("GET /landing"), 1, "the redirect was followed");
    let headers = &elsewhere.last("GET /landing")["headers"];
    assert!(headers.get("authorization").is_none(), "the token crossed hosts: {headers}");

    // Api-key: curl would send the custom header anywhere, so -L is refused up front.
    for follow in [&["-L"][..], &["-sSL"], &["--location"]] {
        let out = home
            .tok_with_path()
            .args(["curl", "acme-key"])
            .args(follow)
            .arg("/v2/customer/create")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{follow:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("Api-key header"), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count("POST /v2/customer/create") + sb.count("GET /v2/customer/create"), 0);
    // Without -L the redirect is just a reply: the other host sees nothing.
    sb.fault(json!({ "path": "/v2/customer/create", "status": 302, "headers": { "location": format!("{}/key-landing", other_host(&elsewhere)) }, "times": 1 }));
    let out = home
        .tok_with_path()
        .args(["curl", "acme-key", "-s", "-o", "/dev/null", "-w", "%{http_code}", "/v2/customer/create"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"302", "{}", stderr_of(&out));
    assert_eq!(elsewhere.count("GET /key-landing"), 0);

    // --location-trusted would send any credential to any host: refused for both kinds.
    for profile in ["nexterpay", "acme-key"] {
        let out = home.tok_with_path().args(["curl", profile, "--location-trusted", "/x"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    }
}

#[test]
fn plain_http_to_another_host_is_refused_before_anything_runs() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    for url in ["http://api.example.com/x", "api.example.com/x", "--url=http://10.0.0.1/x"] {
        let out = home.tok_with_path().args(["curl", "nexterpay", "-s", url]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("plain HTTP"), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1, "only the login's");
}

#[test]
fn curl_gets_no_tok_secret_in_its_environment() {
    let sb = Sandbox::start();
    let home = Home::new();
    // A stand-in curl that records its environment.
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let dump = home.path().join("curl-env");
    let fake = bin.join("curl");
    std::fs::write(&fake, format!("#!/bin/sh\nenv > '{}'\n", dump.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = home
        .tok_from_env(&sb)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("TOK_OTHER_CLIENT_SECRET", "other-secret-5150")
        .env("KEEP_ME", "1")
        .args(["curl", "nexterpay", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let env = std::fs::read_to_string(&dump).unwrap();
    assert!(env.contains("KEEP_ME=1"), "the rest of the environment is curl's: {env}");
    assert!(!env.contains("TOK_") && !env.contains(PASSWORD) && !env.contains("other-secret-5150"), "{env}");
}

fn forged_v1_token(iat: f64, exp: f64) -> String {
    let enc = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        enc(r#"{"alg":"HS256","typ":"JWT"}"#.into()),
        enc(format!(r#"{{"iat":{iat},"exp":{exp:e},"sub":"x"}}"#)),
        enc("sig".into())
    )
}

#[test]
fn netdirector_v1_tokens_are_adopted_only_from_the_api_host_and_only_when_plausible() {
    require_curl();
    let sb = Sandbox::start();
    let elsewhere = Sandbox::start();
    let home = Home::new();
    home.v1_login(&sb);
    let token = home.print("checkout");
    let path = format!("/api/transaction?uuid={TRANSACTION}&expand=customer,ndMeta");

    // Another host answers with a newer token of its own: not adopted.
    let out = home
        .tok_with_path()
        .args(["curl", "checkout", "-s", "-o", "/dev/null"])
        .arg(format!("{}{path}", other_host(&elsewhere)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(elsewhere.count("GET /api/transaction"), 1);
    assert_eq!(home.print("checkout"), token, "a foreign host's token is never kept");

    // With -L the last response may be any host's: nothing adopted either.
    let out =
        home.tok_with_path().args(["curl", "checkout", "-sL", "-o", "/dev/null", &path]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(home.print("checkout"), token);

    // The API host itself, with absurd times: refused with a warning.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    // (The sandbox writes fractional iats up to a second ahead: +5 s is surely newer.)
    for (iat, exp) in
        [(now + 5.0, 1e300), (now + 86_400.0, now + 90_000.0), (now + 5.0, now + 30.0 * 86_400.0)]
    {
        let forged = forged_v1_token(iat, exp);
        sb.fault(json!({ "path": "/api/transaction", "status": 200, "body": "{}", "headers": { "authentication-token": forged }, "times": 1 }));
        let out =
            home.tok_with_path().args(["curl", "checkout", "-s", "-o", "/dev/null", &path]).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(stderr_of(&out).contains("not keeping the token"), "{}", stderr_of(&out));
        assert_eq!(home.print("checkout"), token, "iat {iat} exp {exp}");
    }

    // And a plausible newer token from the API host is kept, as before.
    let out =
        home.tok_with_path().args(["curl", "checkout", "-s", "-o", "/dev/null", &path]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_ne!(home.print("checkout"), token, "the sandbox's newer token is adopted");
}
