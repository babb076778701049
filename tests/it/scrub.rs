//! No secret in any error message or `-v` line, even from a server that echoes the
//! request back, headers and body, in its error replies (issue: trust, item 2).

use crate::support::*;
use base64::Engine;
use serde_json::json;

/// Short and unlike a token, so the old "long runs" masking never caught them.
const PASSWORD: &str = "Hunter2-secret!";
const ODD_SECRET: &str = "s3cr3t/+?&=:%ü é";

/// Every form a secret could take in what tok shows: raw, JSON-escaped, form-encoded,
/// base64 (the Basic credential).
fn assert_clean(text: &str, secrets: &[&str], what: &str) {
    for secret in secrets {
        let json = serde_json::to_string(secret).unwrap();
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for form in [secret.to_string(), json.trim_matches('"').to_string(), form] {
            assert!(!text.contains(&form), "{what}: {form:?} leaked in:\n{text}");
        }
    }
}

/// Error bodies that quote the request, in JSON (escaped) or as raw text. 5xx replies
/// are retried, so every attempt gets one.
fn echo(sb: &Sandbox, path: &str, status: u16, json_echo: bool) {
    let times = if status >= 500 { 3 } else { 1 };
    let fault = if json_echo {
        json!({ "path": path, "status": status, "times": times,
            "body": r#"{"error":"invalid_request","error_description":"you sent {{echo}}","request_id":"req-7f3c9a12-0b3f-4d2e-9c1a-5e6f7a8b9c0d"}"# })
    } else {
        json!({ "path": path, "status": status, "times": times, "headers": { "content-type": "text/plain" },
            "body": "bad request, you sent: {{echo_raw}}" })
    };
    sb.fault(fault);
}

fn stderr_after(cmd: &mut assert_cmd::Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    (out.status.code(), stderr_of(&out))
}

#[test]
fn nexterpay_password_never_shows() {
    let sb = Sandbox::start();
    let home = Home::new();
    for status in [400, 401, 500] {
        for json_echo in [true, false] {
            echo(&sb, "/security/createToken", status, json_echo);
            let (code, err) = stderr_after(
                home.tok()
                    .args([
                        "-v",
                        "login",
                        "nexterpay",
                        "--username",
                        USER,
                        "--base-url",
                        &sb.url,
                        "--secret-stdin",
                    ])
                    .write_stdin(format!("{PASSWORD}\n")),
            );
            assert!(matches!(code, Some(4 | 5)), "{status}: {err}");
            assert_clean(&err, &[PASSWORD], &format!("nexterpay {status}"));
        }
    }
    // The fault's echo did reach tok: the request really held the password.
    assert!(sb.last(CREATE_TOKEN)["body"].as_str().unwrap().contains(PASSWORD));
}

#[test]
fn oauth2_client_secrets_and_basic_credentials_never_show() {
    let sb = Sandbox::start();
    let home = Home::new();
    let token_url = format!("{}/oauth2/generic/token", sb.url);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "demo+client%3A%C3%BC:{}",
        url::form_urlencoded::byte_serialize(ODD_SECRET.as_bytes()).collect::<String>()
    ));
    let cases: [(&str, Vec<&str>, &str); 5] = [
        (
            "generic basic+form",
            vec![
                "billing",
                "--provider",
                "oauth2",
                "--token-url",
                &token_url,
                "--auth",
                "basic",
                "--body",
                "form",
            ],
            "/oauth2/generic/token",
        ),
        (
            "generic body+form",
            vec![
                "billing",
                "--provider",
                "oauth2",
                "--token-url",
                &token_url,
                "--auth",
                "body",
                "--body",
                "form",
            ],
            "/oauth2/generic/token",
        ),
        (
            "generic body+json",
            vec![
                "billing",
                "--provider",
                "oauth2",
                "--token-url",
                &token_url,
                "--auth",
                "body",
                "--body",
                "json",
            ],
            "/oauth2/generic/token",
        ),
        ("netdirector", vec!["netdirector", "--base-url", &sb.url], "/oauth2/token"),
        (
            "n3xt",
            vec!["n3xt", "--project", "project-test-1", "--base-url", &sb.url],
            "/v1/public/project-test-1/oauth2/token",
        ),
    ];
    for (what, args, path) in cases {
        for (status, json_echo) in [(401, true), (400, false), (502, false)] {
            echo(&sb, path, status, json_echo);
            let (code, err) = stderr_after(
                home.tok()
                    .args(["-v", "login"])
                    .args(&args)
                    .args(["--client-id", "demo client:ü", "--secret-stdin"])
                    .write_stdin(format!("{ODD_SECRET}\n")),
            );
            assert!(matches!(code, Some(4 | 5)), "{what} {status}: {err}");
            assert_clean(&err, &[ODD_SECRET, &basic], &format!("{what} {status}"));
            if json_echo && status < 500 {
                // Support still gets what it needs: the request id stays readable.
                assert!(err.contains("req-7f3c9a12-0b3f-4d2e-9c1a-5e6f7a8b9c0d"), "{what}: {err}");
            }
        }
        let last = sb.last(&format!("POST {path}"));
        let sent = format!("{} {}", last["headers"], last["body"]);
        assert!(sent.contains(&basic) || sent.contains("s3cr3t"), "{what}: the secret was sent: {sent}");
    }
}

#[test]
fn merchant_v2_password_and_refresh_token_never_show() {
    let sb = Sandbox::start();
    let home = Home::new();
    let login = |home: &Home| {
        let mut cmd = home.tok();
        cmd.args(["-v", "login", "acme", "--provider", "merchant-v2", "--base-url", &sb.url]).args([
            "--email",
            "owner@acme.example",
            "--merchant-id",
            "b34555b7-dca4-5ec1-ade3-64a3ad545310",
            "--secret-stdin",
        ]);
        cmd
    };
    sb.fault(json!({ "path": "/v2/auth/login", "status": 401, "times": 1,
        "body": r#"{"errors":[{"code":"INVALID_CREDENTIALS","message":"you sent {{echo}}"}]}"# }));
    let (code, err) = stderr_after(login(&home).write_stdin(format!("{PASSWORD}\n")));
    assert_eq!(code, Some(4), "{err}");
    assert_clean(&err, &[PASSWORD], "merchant-v2 login");

    // A real login, then a refresh whose error echoes the refresh token.
    login(&home).write_stdin("demo-password\n").assert().success();
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.store_file("acme")).unwrap()).unwrap();
    let refresh = stored["token"]["refresh_token"].as_str().unwrap().to_string();
    let access = stored["token"]["token"].as_str().unwrap().to_string();
    sb.fault(json!({ "path": "/v2/auth/refresh", "status": 500, "times": 1, "body": "{\"errors\":[{\"code\":\"E\",\"message\":\"got {{echo}}\"}]}" }));
    let (code, err) = stderr_after(home.tok().args(["-v", "refresh", "acme"]));
    assert!(matches!(code, Some(3..=5)), "{err}");
    assert!(sb.last("POST /v2/auth/refresh")["body"].as_str().unwrap().contains(&refresh));
    assert_clean(&err, &[&refresh, &access, "demo-password"], "merchant-v2 refresh");
}

/// A 200 token reply that a check refuses (a bad lifetime, the wrong shape) is quoted in
/// the error; every token it holds was registered first, for every provider.
#[test]
fn a_refused_successful_token_reply_shows_none_of_its_tokens() {
    let sb = Sandbox::start();
    let home = Home::new();
    let (access, refresh, second) =
        ("quoted-access-7f3a9c", "quoted-refresh-5d1e8b", "quoted-session-2c6f4a");
    let merchant = json!({ "data": { "accessToken": access, "expiresIn": "soon", "refreshToken": refresh } });
    let nexterpay = json!({ "token": access, "refreshToken": refresh, "sessionToken": second });
    let oauth2 = json!({ "access_token": access, "token_type": "Bearer", "expires_in": "soon",
        "refresh_token": refresh, "session_token": second });
    let merchant_login = [
        "login",
        "acme",
        "--provider",
        "merchant-v2",
        "--base-url",
        &sb.url,
        "--email",
        "owner@acme.example",
        "--merchant-id",
        "b34555b7-dca4-5ec1-ade3-64a3ad545310",
        "--secret-stdin",
    ];
    let nexterpay_login = ["login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"];
    let token_url = format!("{}/oauth2/generic/token", sb.url);
    let oauth2_login = [
        "login",
        "api",
        "--provider",
        "oauth2",
        "--token-url",
        &token_url,
        "--client-id",
        "demo-client",
        "--secret-stdin",
    ];
    let cases: [(&str, &str, serde_json::Value, &[&str], &str); 3] = [
        ("merchant-v2", "/v2/auth/login", merchant, &merchant_login, "demo-password"),
        ("nexterpay", "/security/createToken", nexterpay, &nexterpay_login, crate::support::PASSWORD),
        ("oauth2", "/oauth2/generic/token", oauth2, &oauth2_login, "demo-secret"),
    ];
    for (what, path, body, args, secret) in cases {
        sb.fault(json!({ "path": path, "status": 200, "times": 1, "body": body.to_string(),
            "headers": { "Content-Type": "application/json" } }));
        let (code, err) = stderr_after(home.tok().arg("-v").args(args).write_stdin(format!("{secret}\n")));
        assert_eq!(code, Some(5), "{what}: {err}");
        assert!(err.contains("the body starts"), "{what}: the body is quoted: {err}");
        assert_clean(&err, &[access, refresh, second], what);
    }
}

#[test]
fn netdirector_v1_session_token_never_shows() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.tok()
        .args([
            "login",
            "checkout",
            "--provider",
            "netdirector-v1",
            "--transaction",
            "5d081471-0c12-5183-a611-a1ed1d9bbacb-EU01",
            "--base-url",
            &sb.url,
        ])
        .assert()
        .success();
    let token = home.print("checkout");
    sb.fault(json!({ "path": "/api/transaction", "status": 403, "times": 2, "headers": { "content-type": "text/plain" }, "body": "denied: {{echo_raw}}" }));
    let (code, err) = stderr_after(home.tok().args(["-v", "refresh", "checkout"]));
    assert!(matches!(code, Some(4 | 5)), "{err}");
    assert!(
        sb.last("GET /api/transaction")["headers"].to_string().contains(&token[..20]),
        "the token was sent"
    );
    assert_clean(&err, &[&token], "netdirector-v1");
}

/// A token that fails tok's own checks is never quoted back in the error.
#[test]
fn an_unusable_token_is_not_shown() {
    let sb = Sandbox::start();
    let home = Home::new();
    sb.fault(json!({ "path": "/security/createToken", "status": 200, "times": 1, "body": "\"tok3n with-a-space\"" }));
    let (code, err) = stderr_after(
        home.tok()
            .args(["-v", "login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"])
            .write_stdin(format!("{PASSWORD}\n")),
    );
    assert_eq!(code, Some(5), "{err}");
    assert_clean(&err, &["tok3n with-a-space", "tok3n", "with-a-space"], "unusable token");
}

/// A secret that is a word of tok's own message is not cut from it (which would tell the
/// reader the secret); the server's echo of it still is. Each provider's real rejection
/// first, then the same with a reply that quotes the request.
#[test]
fn a_secret_that_is_a_word_of_toks_message_leaves_it_whole() {
    let sb = Sandbox::start();
    let home = Home::new();
    let nexterpay = |home: &Home, password: &str| {
        let mut cmd = home.tok();
        cmd.args(["-v", "login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"])
            .write_stdin(format!("{password}\n"));
        cmd
    };
    // The sandbox's own 400 for a wrong password.
    let (code, err) = stderr_after(&mut nexterpay(&home, "malformed"));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("wrong credentials or malformed body)"), "{err}");
    // A 401 whose problem title quotes the request.
    sb.fault(json!({ "path": "/security/createToken", "status": 401, "times": 1,
        "body": r#"{"title":"you sent {{echo}}","status":401}"# }));
    let (code, err) = stderr_after(&mut nexterpay(&home, "malformed"));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("(token missing, malformed or expired): you sent"), "{err}");
    assert!(err.contains(r#""password":"(redacted)""#), "the echo is scrubbed: {err}");
    assert_eq!(err.matches("malformed").count(), 1, "only tok's own word: {err}");

    let token_url = format!("{}/oauth2/generic/token", sb.url);
    let oauth2 = |home: &Home| {
        let mut cmd = home.tok();
        cmd.args(["-v", "login", "billing", "--provider", "oauth2", "--token-url", &token_url])
            .args(["--auth", "body", "--client-id", "demo-client", "--secret-stdin"])
            .write_stdin("rejected\n");
        cmd
    };
    let (code, err) = stderr_after(&mut oauth2(&home));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("oauth2 rejected the request (401 Unauthorized): invalid_client"), "{err}");
    sb.fault(json!({ "path": "/oauth2/generic/token", "status": 401, "times": 1, "headers": { "content-type": "text/plain" },
        "body": "no: {{echo_raw}}" }));
    let (code, err) = stderr_after(&mut oauth2(&home));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("oauth2 rejected the request (401 Unauthorized): no: "), "{err}");
    assert!(err.contains("client_secret=(redacted)"), "the echo is scrubbed: {err}");
    assert_eq!(err.matches("rejected").count(), 1, "only tok's own word: {err}");

    let merchant = |home: &Home| {
        let mut cmd = home.tok();
        cmd.args(["-v", "login", "acme", "--provider", "merchant-v2", "--base-url", &sb.url])
            .args(["--email", "owner@acme.example", "--merchant-id", "b34555b7-dca4-5ec1-ade3-64a3ad545310"])
            .arg("--secret-stdin")
            .write_stdin("password\n");
        cmd
    };
    sb.fault(json!({ "path": "/v2/auth/login", "status": 401, "times": 1,
        "body": r#"{"errors":[{"code":"INVALID_CREDENTIALS","message":"you sent {{echo}}"}]}"# }));
    let (code, err) = stderr_after(&mut merchant(&home));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("check the e-mail, password and merchant id"), "{err}");
    assert!(err.contains(r#""(redacted)":"(redacted)""#), "the echo is scrubbed: {err}");
    assert!(!err.contains(r#""password""#), "{err}");
}

/// Servers escape an echoed secret their own ways: JSON `\u` escapes of ASCII characters,
/// HTML character references, lower-case percent-encoding with `/` left raw. What tok
/// shows of such a reply has the secret cut out all the same.
#[test]
fn echoes_in_other_escapes_are_redacted() {
    let sb = Sandbox::start();
    let home = Home::new();
    let token_url = format!("{}/oauth2/generic/token", sb.url);
    for (placeholder, looks) in
        [("{{echo_json_ascii}}", r"\u0022"), ("{{echo_html}}", "&quot;"), ("{{echo_pct}}", "%22")]
    {
        // A 5xx is shown as the raw body's excerpt (retried: one fault per attempt).
        sb.fault(json!({ "path": "/security/createToken", "status": 500, "times": 3,
            "headers": { "content-type": "text/plain" }, "body": format!("you sent {placeholder}") }));
        let (code, err) = stderr_after(
            home.tok()
                .args([
                    "-v",
                    "login",
                    "nexterpay",
                    "--username",
                    USER,
                    "--base-url",
                    &sb.url,
                    "--secret-stdin",
                ])
                .write_stdin(format!("{PASSWORD}\n")),
        );
        assert_eq!(code, Some(5), "{err}");
        assert!(err.contains("(redacted)"), "{placeholder}: {err}");
        // The escape is there (the echo reached tok) and the secret is not, in any form.
        assert!(err.contains(looks), "{placeholder}: {err}");
        for form in [r"\u0048\u0075", "Hunter2&#45;secret&#33;", "Hunter2-secret%21", "Hunter2"] {
            assert!(!err.contains(form), "{placeholder}: {form} in {err}");
        }

        if placeholder == "{{echo_json_ascii}}" {
            // Six characters for each: a form body's secret is past what an excerpt shows.
            continue;
        }
        sb.fault(json!({ "path": "/oauth2/generic/token", "status": 400, "times": 1,
            "headers": { "content-type": "text/plain" }, "body": format!("bad: {placeholder}") }));
        let (code, err) = stderr_after(
            home.tok()
                .args(["-v", "login", "billing", "--provider", "oauth2", "--token-url", &token_url])
                .args(["--auth", "body", "--client-id", "demo client:ü", "--secret-stdin"])
                .write_stdin(format!("{ODD_SECRET}\n")),
        );
        assert_eq!(code, Some(4), "{err}");
        assert!(
            err.contains("client&#95;secret&#61;(redacted)") || err.contains("client_secret%3d(redacted)"),
            "{placeholder}: {err}"
        );
        assert!(!err.contains("s3cr3t"), "{placeholder}: {err}");
    }
}

/// A Python service quoting `repr()` of the request's bytes, one writing every byte as
/// `\xNN`, and a .NET one answering in UTF-16LE: the secret is cut from each, matched on
/// the decoded text (the excerpt would otherwise show `H u n t e r 2`).
#[test]
fn byte_escaped_and_utf16_echoes_are_redacted() {
    let sb = Sandbox::start();
    let home = Home::new();
    let umlauts = "Grüße-Kennwort1";
    let cases: [(&str, bool, &str, &[&str]); 3] = [
        ("{{echo_pyrepr}}", false, umlauts, &[r"Gr\xc3\xbc", "Kennwort1", "Gr?"]),
        ("{{echo_hex}}", false, PASSWORD, &[r"\x48\x75\x6e", "Hunter2"]),
        ("{{echo_raw}}", true, PASSWORD, &["H u n t", "Hunter2", "secret!"]),
    ];
    for (placeholder, utf16le, password, forms) in cases {
        sb.fault(json!({ "path": "/security/createToken", "status": 500, "times": 3, "utf16le": utf16le,
            "headers": { "content-type": "text/plain" }, "body": format!("invalid request body: {placeholder}") }));
        let (code, err) = stderr_after(
            home.tok()
                .args(["login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"])
                .write_stdin(format!("{password}\n")),
        );
        assert_eq!(code, Some(5), "{placeholder}: {err}");
        assert!(err.contains("(redacted)"), "{placeholder}: {err}");
        // The echo reached tok (decoded, for UTF-16): the request's user name is there.
        let user = if placeholder == "{{echo_hex}}" {
            USER.bytes().map(|b| format!("\\x{b:02x}")).collect()
        } else {
            USER.to_string()
        };
        assert!(err.contains(&user), "{placeholder}: {err}");
        for form in forms {
            assert!(!err.contains(form), "{placeholder}: {form} in {err}");
        }
    }
}
