//! OAuth2 client credentials: N3XT, NetDirector V2 and the generic kind, checked at
//! the byte level on the sandbox's side.

use crate::support::*;
use base64::Engine;
use serde_json::{Value, json};

const PROJECT: &str = "project-test-84ff27dd-0cbe-423d-964c-d89b01324c61";
const ID: &str = "demo-client";
const SECRET: &str = "demo-secret";
/// Reserved and non-ASCII characters in both halves.
const ODD_ID: &str = "demo client:ü";
const ODD_SECRET: &str = "s3cr3t/+?&=:%ü é";
const NETDIRECTOR: &str = "POST /oauth2/token";
const GENERIC: &str = "POST /oauth2/generic/token";

fn n3xt_route() -> String {
    format!("POST /v1/public/{PROJECT}/oauth2/token")
}

fn body_json(last: &Value) -> Value {
    serde_json::from_str(last["body"].as_str().unwrap()).unwrap()
}

fn login(home: &Home, args: &[&str], secret: &str) -> std::process::Output {
    home.tok()
        .arg("login")
        .args(args)
        .arg("--secret-stdin")
        .write_stdin(format!("{secret}\n"))
        .output()
        .unwrap()
}

fn print_json(home: &Home, profile: &str) -> Value {
    let out = home.tok().args(["print", profile, "--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn n3xt_json_body_and_lower_case_bearer() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = login(&home, &["n3xt", "--project", PROJECT, "--client-id", ID, "--base-url", &sb.url], SECRET);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let last = sb.last(&n3xt_route());
    assert!(last["headers"]["content-type"].as_str().unwrap().starts_with("application/json"));
    assert!(last["headers"].get("authorization").is_none(), "credentials go in the body");
    assert_eq!(
        body_json(&last),
        json!({ "grant_type": "client_credentials", "client_id": ID, "client_secret": SECRET })
    );

    // The reply said "bearer"; the header is always "Bearer".
    let json = print_json(&home, "n3xt");
    assert_eq!(json["header"], format!("Authorization: Bearer {}", json["token"].as_str().unwrap()));
    let expires_in = json["expires_in"].as_i64().unwrap();
    assert!((3_590..=3_600).contains(&expires_in), "{expires_in}");
    home.print("n3xt");
    assert_eq!(sb.count(&n3xt_route()), 1);
}

#[test]
fn n3xt_rejection_shows_the_description_and_request_id() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = login(
        &home,
        &["n3xt", "--project", PROJECT, "--client-id", ID, "--base-url", &sb.url],
        "wrong-secret",
    );
    assert_eq!(out.status.code(), Some(4));
    let err = stderr_of(&out);
    assert!(err.contains("invalid_client: Client authentication failed."), "{err}");
    assert!(err.contains("(request_id request-id-test-"), "{err}");
    assert!(!err.contains("wrong-secret"));
}

#[test]
fn n3xt_in_a_ci_job_from_the_environment_alone() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = home
        .tok_without_keyring()
        .env("TOK_N3XT_CLIENT_ID", ODD_ID)
        .env("TOK_N3XT_CLIENT_SECRET", ODD_SECRET)
        .env("TOK_N3XT_PROJECT", PROJECT)
        .env("TOK_N3XT_BASE_URL", &sb.url)
        .args(["print", "n3xt", "--format", "header"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("Authorization: Bearer eyJ"));
    let body = body_json(&sb.last(&n3xt_route()));
    assert_eq!(
        (body["client_id"].as_str(), body["client_secret"].as_str()),
        (Some(ODD_ID), Some(ODD_SECRET))
    );
}

#[test]
fn netdirector_sends_exact_basic_bytes_and_the_default_scope() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = login(&home, &["netdirector", "--client-id", ODD_ID, "--base-url", &sb.url], ODD_SECRET);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let last = sb.last(NETDIRECTOR);
    // RFC 6749 §2.3.1: each half form-urlencoded, then base64, no newline. Written out by
    // hand here rather than computed with tok's own function.
    let pair = "demo+client%3A%C3%BC:s3cr3t%2F%2B%3F%26%3D%3A%25%C3%BC+%C3%A9";
    let want = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair));
    assert_eq!(last["headers"]["authorization"], want);
    assert_eq!(last["headers"]["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(last["body"], "grant_type=client_credentials&scope=nop2%2Fread+nop2%2Fwrite");
    let json = print_json(&home, "netdirector");
    assert_eq!(claims(json["token"].as_str().unwrap())["scope"], "nop2/read nop2/write");
}

#[test]
fn netdirector_scope_can_be_narrowed_and_bad_scopes_exit_4() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = login(
        &home,
        &["netdirector", "--client-id", ID, "--scope", "nop2/read", "--base-url", &sb.url],
        SECRET,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.last(NETDIRECTOR)["body"], "grant_type=client_credentials&scope=nop2%2Fread");

    let out = login(
        &home,
        &[
            "nd-admin",
            "--provider",
            "netdirector",
            "--client-id",
            ID,
            "--scope",
            "admin",
            "--base-url",
            &sb.url,
        ],
        SECRET,
    );
    assert_eq!(out.status.code(), Some(4));
    let err = stderr_of(&out);
    assert!(err.contains("invalid_scope") && err.contains("--scope"), "{err}");
}

#[test]
fn netdirector_rejects_wrong_credentials_with_exit_4() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = login(&home, &["netdirector", "--client-id", ID, "--base-url", &sb.url], "demo-secret\n");
    // The line read from stdin is the secret without its newline: this one is right.
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = login(&home, &["netdirector", "--client-id", ID, "--base-url", &sb.url], "nope");
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr_of(&out).contains("netdirector rejected the request (400 Bad Request): invalid_client"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn generic_oauth2_body_auth_json_scope_and_audience() {
    let sb = Sandbox::start();
    let home = Home::new();
    let token_url = format!("{}/oauth2/generic/token", sb.url);
    let out = login(
        &home,
        &[
            "billing",
            "--provider",
            "oauth2",
            "--token-url",
            &token_url,
            "--client-id",
            ODD_ID,
            "--auth",
            "body",
            "--body",
            "json",
            "--scope",
            "read write",
            "--audience",
            "api://billing",
        ],
        ODD_SECRET,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let last = sb.last(GENERIC);
    assert!(last["headers"].get("authorization").is_none());
    assert_eq!(
        body_json(&last),
        json!({ "grant_type": "client_credentials", "client_id": ODD_ID, "client_secret": ODD_SECRET, "scope": "read write", "audience": "api://billing" })
    );
    let json = print_json(&home, "billing");
    let claims = claims(json["token"].as_str().unwrap());
    assert_eq!(
        (claims["scope"].as_str(), claims["aud"].as_str()),
        (Some("read write"), Some("api://billing"))
    );
    // expires_in came as the string "3600".
    assert!((3_590..=3_600).contains(&json["expires_in"].as_i64().unwrap()));
}

#[test]
fn generic_oauth2_defaults_to_basic_and_form() {
    let sb = Sandbox::start();
    let home = Home::new();
    let token_url = format!("{}/oauth2/generic/token", sb.url);
    let out = login(
        &home,
        &["api", "--provider", "oauth2", "--token-url", &token_url, "--client-id", ODD_ID],
        ODD_SECRET,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let last = sb.last(GENERIC);
    assert!(last["headers"]["authorization"].as_str().unwrap().starts_with("Basic "));
    assert_eq!(last["body"], "grant_type=client_credentials");
}

#[test]
fn odd_token_replies() {
    let sb = Sandbox::start();
    let home = Home::new();
    let token_url = format!("{}/oauth2/generic/token", sb.url);
    let args = ["api", "--provider", "oauth2", "--token-url", token_url.as_str(), "--client-id", ID];
    let fault = |body: &str| {
        sb.fault(json!({ "path": "/oauth2/generic/token", "status": 200, "body": body, "times": 1 }));
    };
    fault(r#"{"access_token":"abc","token_type":"mac"}"#);
    let out = login(&home, &args, SECRET);
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr_of(&out).contains("token_type 'mac' is not supported"), "{}", stderr_of(&out));

    // No expires_in and an opaque token: the conservative default, never "forever".
    fault(r#"{"access_token":"opaque-token-0123456789","token_type":"Bearer"}"#);
    assert!(login(&home, &args, SECRET).status.success());
    let json = print_json(&home, "api");
    assert_eq!(json["token"], "opaque-token-0123456789");
    assert!((290..=300).contains(&json["expires_in"].as_i64().unwrap()), "{json}");

    sb.fault(json!({ "path": "/oauth2/generic/token", "status": 502, "body": "<html>Bad Gateway</html>" }));
    let out = home.tok().args(["refresh", "api"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stderr_of(&out).contains("oauth2 answered 502 Bad Gateway: <html>Bad Gateway</html>"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(print_json(&home, "api")["token"], "opaque-token-0123456789", "the old token is kept");
}

#[test]
fn settings_are_checked_before_anything_is_sent() {
    let sb = Sandbox::start();
    let home = Home::new();
    let cases: [(&[&str], i32, &str); 6] = [
        (&["n3xt", "--project", PROJECT, "--client-id", ID, "--env", "gamma"], 2, "unknown N3XT environment"),
        (&["n3xt", "--project", "../x", "--client-id", ID], 2, "not an N3XT project id"),
        (&["n3xt", "--client-id", ID], 2, "needs a setting: project (--project or TOK_N3XT_PROJECT)"),
        (
            &["x", "--provider", "oauth2", "--token-url", "http://auth.example.com/token", "--client-id", ID],
            2,
            "HTTPS",
        ),
        (&["netdirector", "--client-id", ID, "--username", "bob"], 2, "--username does not apply"),
        (
            &["n3xt"],
            2,
            "needs settings: project (--project or TOK_N3XT_PROJECT), client id (--client-id or TOK_N3XT_CLIENT_ID)",
        ),
    ];
    for (args, code, message) in cases {
        let out = login(&home, args, SECRET);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains(message), "{args:?}: {}", stderr_of(&out));
    }
    assert!(sb.stats()["requests"].as_object().unwrap().is_empty());
}

/// A wrong project or URL is a settings problem with a hint, not an outage (exit 4, not 5).
#[test]
fn a_missing_project_or_endpoint_is_a_settings_problem() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out =
        login(&home, &["n3xt", "--project", "nope-1", "--client-id", ID, "--base-url", &sb.url], SECRET);
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("project_not_found (request_id request-id-test-"), "{err}");
    assert!(err.contains("hint: check --project"), "{err}");
    let out = login(
        &home,
        &[
            "x",
            "--provider",
            "oauth2",
            "--token-url",
            &format!("{}/no/such/token", sb.url),
            "--client-id",
            ID,
        ],
        SECRET,
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("check --token-url"), "{}", stderr_of(&out));
    let out = home
        .tok()
        .args([
            "login",
            "nexterpay",
            "--username",
            "demo",
            "--base-url",
            &format!("{}/wrong-prefix", sb.url),
            "--secret-stdin",
        ])
        .write_stdin("demo-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("check --base-url"), "{}", stderr_of(&out));
}

// The standards-shaped server under /as (sandbox/src/issuer.rs): discovery, client
// authentication, refresh.

const AS_TOKEN: &str = "POST /as/token";

fn form_of(last: &Value) -> Vec<(String, String)> {
    url::form_urlencoded::parse(last["body"].as_str().unwrap().as_bytes()).into_owned().collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn issuer_login(home: &Home, sb: &Sandbox, extra: &[&str], stdin: &str) -> std::process::Output {
    let issuer = format!("{}/as", sb.url);
    let mut args = vec!["-v", "login", "api", "--provider", "oauth2", "--issuer", issuer.as_str()];
    args.extend_from_slice(extra);
    home.tok().args(&args).write_stdin(stdin.to_string()).output().unwrap()
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn discovery_finds_the_token_endpoint_and_explicit_flags_win() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = issuer_login(&home, &sb, &["--client-id", ID, "--secret-stdin"], &format!("{SECRET}\n"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count("GET /as/.well-known/openid-configuration"), 1);
    assert_eq!(sb.count(AS_TOKEN), 1);
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(config.contains(&format!("token_url = \"{}/as/token\"", sb.url)), "{config}");
    assert!(config.contains(&format!("authorize_url = \"{}/as/authorize\"", sb.url)), "{config}");
    // Later commands send token requests only: the metadata was read once.
    home.tok().args(["refresh", "api"]).assert().success();
    assert_eq!(sb.count("GET /as/.well-known/openid-configuration"), 1);

    // An explicit --token-url overrides the discovered one.
    let home = Home::new();
    let generic = format!("{}/oauth2/generic/token", sb.url);
    let out = issuer_login(
        &home,
        &sb,
        &["--client-id", ID, "--token-url", &generic, "--secret-stdin"],
        &format!("{SECRET}\n"),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count(GENERIC), 1);
    assert_eq!(sb.count(AS_TOKEN), 2);
}

#[test]
fn discovery_falls_back_to_rfc8414_with_the_path_inserted() {
    let sb = Sandbox::start();
    let home = Home::new();
    let issuer = format!("{}/as8414", sb.url);
    let out = home
        .tok()
        .args([
            "login",
            "api",
            "--provider",
            "oauth2",
            "--issuer",
            &issuer,
            "--client-id",
            ID,
            "--secret-stdin",
        ])
        .write_stdin(format!("{SECRET}\n"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count("GET /as8414/.well-known/openid-configuration"), 1);
    assert_eq!(sb.count("GET /.well-known/oauth-authorization-server/as8414"), 1);
    assert_eq!(sb.count("POST /as8414/token"), 1);
}

#[test]
fn metadata_naming_another_issuer_is_refused_before_any_token_request() {
    let sb = Sandbox::start();
    sb.settings(json!({ "issuer_mismatch": true }));
    let home = Home::new();
    let out = issuer_login(&home, &sb, &["--client-id", ID, "--secret-stdin"], &format!("{SECRET}\n"));
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("names the issuer 'https://evil.example'"), "{err}");
    assert_eq!(sb.count(AS_TOKEN), 0);
    assert!(
        !home.path().join("config.toml").exists()
            || !std::fs::read_to_string(home.path().join("config.toml")).unwrap().contains("api")
    );

    // HTML where the metadata should be: exit 5 too.
    let sb = Sandbox::start();
    sb.fault(json!({ "path": "/as/.well-known/openid-configuration", "status": 200, "body": "<html>login</html>" }));
    let out = issuer_login(&Home::new(), &sb, &["--client-id", ID, "--secret-stdin"], &format!("{SECRET}\n"));
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("not JSON"), "{}", stderr_of(&out));
    assert_eq!(sb.count(AS_TOKEN), 0);
}

#[test]
fn client_secret_jwt_sends_a_verified_assertion_and_no_secret() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = issuer_login(
        &home,
        &sb,
        &["--client-id", ID, "--auth", "client_secret_jwt", "--secret-stdin"],
        &format!("{SECRET}\n"),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let last = sb.last(AS_TOKEN);
    let form = form_of(&last);
    assert_eq!(
        field(&form, "client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert!(field(&form, "client_secret").is_none() && last["headers"].get("authorization").is_none());
    let assertion = field(&form, "client_assertion").unwrap();
    let claims = claims(assertion);
    assert_eq!((claims["iss"].as_str(), claims["sub"].as_str()), (Some(ID), Some(ID)));
    assert_eq!(claims["aud"], format!("{}/as/token", sb.url));
    let err = stderr_of(&out);
    assert!(!err.contains(SECRET) && !err.contains(assertion), "{err}");
    // A second token needs a new assertion: the sandbox refuses a jti seen before.
    home.tok().args(["refresh", "api"]).assert().success();
}

#[test]
fn private_key_jwt_with_rsa_ec_and_ed25519_keys() {
    for (client, key, alg) in [
        ("jwt-rsa", "rsa-private.pem", "RS256"),
        ("jwt-ec", "ec-private.pem", "ES256"),
        ("jwt-ed", "ed25519-private.pem", "EdDSA"),
    ] {
        let sb = Sandbox::start();
        let home = Home::new();
        let key_file = fixture(key);
        let out = issuer_login(
            &home,
            &sb,
            &["--client-id", client, "--auth", "private_key_jwt", "--key-file", &key_file, "--key-id", "k1"],
            "",
        );
        assert!(out.status.success(), "{client}: {}", stderr_of(&out));
        let form = form_of(&sb.last(AS_TOKEN));
        let assertion = field(&form, "client_assertion").unwrap().to_string();
        let header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(assertion.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some(alg), Some("k1")), "{client}");
        // The key was read once into the store: later tokens need no --key-file.
        let refresh = home.tok().args(["-v", "refresh", "api"]).output().unwrap();
        assert!(refresh.status.success(), "{client}: {}", stderr_of(&refresh));
        let pem = std::fs::read_to_string(&key_file).unwrap();
        let body = pem.lines().nth(1).unwrap();
        for text in [stderr_of(&out), stderr_of(&refresh)] {
            assert!(!text.contains(body) && !text.contains(&assertion), "{client}: {text}");
        }
        let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
        assert!(!config.contains(body), "the key is a secret, not a setting");
    }
}

#[test]
fn private_key_jwt_needs_a_key_and_a_usable_one() {
    let sb = Sandbox::start();
    let out = issuer_login(&Home::new(), &sb, &["--client-id", "jwt-rsa", "--auth", "private_key_jwt"], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("--key-file"), "{}", stderr_of(&out));
    let public = fixture("rsa-public.pem");
    let out = issuer_login(
        &Home::new(),
        &sb,
        &["--client-id", "jwt-rsa", "--auth", "private_key_jwt", "--key-file", &public],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    // From stdin, with `-`.
    let home = Home::new();
    let pem = std::fs::read_to_string(fixture("ec-private.pem")).unwrap();
    let out = issuer_login(
        &home,
        &sb,
        &["--client-id", "jwt-ec", "--auth", "private_key_jwt", "--key-file", "-"],
        &pem,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count(AS_TOKEN), 1);
}

#[test]
fn refresh_tokens_rotate_and_a_refused_one_falls_back_to_client_credentials() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = issuer_login(
        &home,
        &sb,
        &["--client-id", ID, "--auth", "body", "--secret-stdin"],
        &format!("{SECRET}\n"),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let first = field(&form_of(&sb.last(AS_TOKEN)), "grant_type").map(str::to_string);
    assert_eq!(first.as_deref(), Some("client_credentials"));
    let mut seen = Vec::new();
    for _ in 0..2 {
        let out = home.tok().args(["-v", "refresh", "api"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let form = form_of(&sb.last(AS_TOKEN));
        assert_eq!(field(&form, "grant_type"), Some("refresh_token"));
        let used = field(&form, "refresh_token").unwrap().to_string();
        assert!(!stderr_of(&out).contains(&used), "{}", stderr_of(&out));
        seen.push(used);
    }
    // Each refresh spent the token the one before received: rotation was kept.
    assert_ne!(seen[0], seen[1]);
    let status = home.tok().args(["status", "api"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(text.contains("refresh token") && text.contains("held"), "{text}");
    assert!(text.contains("client_credentials (the default)"), "{text}");
    assert!(!seen.iter().any(|t| text.contains(t.as_str())), "{text}");

    sb.settings(json!({ "refuse_refresh": true }));
    let out = home.tok().args(["refresh", "api"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(field(&form_of(&sb.last(AS_TOKEN)), "grant_type"), Some("client_credentials"));
}

#[test]
fn refresh_token_grant_from_a_secret_and_refused_exits_3() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = home
        .tok()
        .env("TOK_API_CLIENT_SECRET", SECRET)
        .args([
            "login",
            "api",
            "--provider",
            "oauth2",
            "--issuer",
            &format!("{}/as", sb.url),
            "--client-id",
            ID,
        ])
        .args(["--grant", "refresh_token", "--resource", "https://api.example/", "--param", "prompt=consent"])
        .args(["--secret-stdin"])
        .write_stdin("rt-out-of-band\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let form = form_of(&sb.last(AS_TOKEN));
    assert_eq!(field(&form, "grant_type"), Some("refresh_token"));
    assert_eq!(field(&form, "refresh_token"), Some("rt-out-of-band"));
    assert_eq!(field(&form, "resource"), Some("https://api.example/"));
    assert_eq!(field(&form, "prompt"), Some("consent"));
    // The rotated token is used next, with the same parameters.
    home.tok().env("TOK_API_CLIENT_SECRET", SECRET).args(["refresh", "api"]).assert().success();
    let form = form_of(&sb.last(AS_TOKEN));
    assert_ne!(field(&form, "refresh_token"), Some("rt-out-of-band"));
    assert_eq!(field(&form, "prompt"), Some("consent"));

    sb.settings(json!({ "refuse_refresh": true }));
    let out = home.tok().env("TOK_API_CLIENT_SECRET", SECRET).args(["refresh", "api"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("tok login api"), "{}", stderr_of(&out));
}

#[test]
fn params_that_carry_secrets_and_unbuilt_grants_are_usage_errors() {
    let sb = Sandbox::start();
    for args in
        [&["--param", "client_secret=x"][..], &["--param", "code_verifier=x"][..], &["--auth", "none"][..]]
    {
        let out = issuer_login(
            &Home::new(),
            &sb,
            &[&["--client-id", ID, "--secret-stdin"][..], args].concat(),
            "s\n",
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
    }
    assert_eq!(sb.count(AS_TOKEN), 0);
}

#[test]
fn print_never_starts_an_interactive_grant() {
    let sb = Sandbox::start();
    let home = Home::new();
    for grant in ["authorization_code", "device_code"] {
        let out = home
            .tok()
            .env("TOK_API_PROVIDER", "oauth2")
            .env("TOK_API_TOKEN_URL", format!("{}/as/token", sb.url))
            .env("TOK_API_CLIENT_ID", ID)
            .env("TOK_API_CLIENT_SECRET", SECRET)
            .env("TOK_API_GRANT", grant)
            .args(["print", "api"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{grant}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("tok login api"), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count(AS_TOKEN), 0);
}

#[test]
fn an_id_token_is_kept_and_printed_with_id_token() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = issuer_login(
        &home,
        &sb,
        &["--client-id", ID, "--scope", "openid", "--secret-stdin"],
        &format!("{SECRET}\n"),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = home.tok().args(["print", "api", "--id-token"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let id_token = String::from_utf8(out.stdout).unwrap();
    let id_token = id_token.trim_end();
    assert_ne!(id_token, home.print("api"), "the ID token, not the access token");
    assert_eq!(claims(id_token)["aud"], ID);
    // Without an ID token: exit 3, nothing on stdout.
    let home = Home::new();
    issuer_login(&home, &sb, &["--client-id", ID, "--secret-stdin"], &format!("{SECRET}\n"));
    let out = home.tok().args(["print", "api", "--id-token"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    let out = home.tok().args(["print", "api", "--id-token", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
}

/// A server that says a token lasts "for ever" (`expires_in: 1e300`, or a JWT whose `exp`
/// is 1e300) gets a year at most: `print` and `status` show the bound, `-v` says it applied.
#[test]
fn absurd_lifetimes_are_capped_at_a_year_and_verbose_says_so() {
    const YEAR: i64 = 365 * 86_400;
    let cases = [
        ("exp 1e300", json!({ "oauth2_exp": 1e300, "oauth2_omit_expires_in": true }), true),
        ("both 1e300", json!({ "oauth2_exp": 1e300, "oauth2_expires_in": 1e300 }), true),
        ("both as large as f64 goes", json!({ "oauth2_exp": f64::MAX, "oauth2_expires_in": f64::MAX }), true),
        // The earliest estimate wins: the JWT's own `exp` says an hour.
        ("expires_in 1e300, exp in an hour", json!({ "oauth2_expires_in": 1e300 }), false),
        ("an hour", json!({}), false),
    ];
    for (name, settings, capped) in cases {
        let sb = Sandbox::start();
        sb.settings(settings);
        let home = Home::new();
        let out = home
            .tok()
            .args(["-v", "login", "netdirector", "--client-id", ID, "--base-url", &sb.url, "--secret-stdin"])
            .write_stdin(format!("{SECRET}\n"))
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert!(out.status.success(), "{name}: {err}");
        assert_eq!(err.contains("tok believes at most 365d"), capped, "{name}: {err}");

        let expires_in = print_json(&home, "netdirector")["expires_in"].as_i64().unwrap();
        let status = home.tok().arg("status").output().unwrap();
        let status = String::from_utf8_lossy(&status.stdout).into_owned();
        if capped {
            assert!((YEAR - 60..=YEAR).contains(&expires_in), "{name}: {expires_in}");
            assert!(status.contains("in 365d") || status.contains("in 364d23h"), "{name}: {status}");
        } else {
            assert!((3_500..=3_600).contains(&expires_in), "{name}: {expires_in}");
        }
        assert_eq!(sb.count(NETDIRECTOR), 1, "{name}: the capped token is still cached");
    }
}
