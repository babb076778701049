//! DPoP-bound tokens in use: `tok curl` and `tok proxy` against tok-sandbox's DPoP
//! resource server (`/dpop/api/...`, `/dpop/nonce-api/...`), which checks every proof.

use crate::dpop::dpop_login;
use crate::support::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

fn logged_in() -> (Sandbox, Home) {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    let out = dpop_login(&home, &sb, "/dpop/token", &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    (sb, home)
}

fn curl(home: &Home, args: &[&str]) -> std::process::Output {
    home.tok_with_path().arg("curl").arg("pay").args(args).output().unwrap()
}

fn body(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr_of(out));
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

#[test]
fn tok_curl_passes_the_resource_servers_checks_with_a_new_proof_each_time() {
    let (sb, home) = logged_in();
    let first = body(&curl(&home, &["-sS", "/api/things?page=2"]));
    assert_eq!(first["method"], "GET");
    assert_eq!(first["htu"], format!("{}/dpop/api/things", sb.url));
    let second = body(&curl(&home, &["-sS", "/api/things?page=2"]));
    assert_ne!(first["jti"], second["jti"], "a proof is never reused");
    // The method curl will use is the proof's htm.
    let table: [(&[&str], &str); 5] = [
        (&["-sS", "-d", "x=1", "/api/p"], "POST"),
        (&["-sS", "--json", "{}", "/api/p"], "POST"),
        (&["-sS", "-G", "-d", "q=1", "/api/p"], "GET"),
        (&["-sS", "-X", "DELETE", "/api/p"], "DELETE"),
        (&["-sS", "-T", "/etc/hostname", "/api/p"], "PUT"),
    ];
    for (args, want) in table {
        assert_eq!(body(&curl(&home, args))["method"], want, "{args:?}");
    }
    // What reached the server: the token as DPoP, and the proof in its own header.
    let last = sb.last("PUT /dpop/api/p");
    let token = stored_token(&home);
    assert_eq!(last["headers"]["authorization"], format!("DPoP {token}"));
    assert!(last["headers"]["dpop"].is_string());
}

fn stored_token(home: &Home) -> String {
    crate::dpop::stored(home, "pay")["token"]["token"].as_str().unwrap().to_string()
}

#[test]
fn tok_curl_answers_a_nonce_challenge_once() {
    let (sb, home) = logged_in();
    let url = format!("{}/dpop/nonce-api/x", sb.url);
    let out = body(&curl(&home, &["-sS", &url]));
    assert_eq!(out["path"], "/dpop/nonce-api/x");
    assert_eq!(sb.count("GET /dpop/nonce-api/x"), 2, "one challenge, one retry");

    // A second challenge is not retried: its 401 is the answer.
    let challenge = json!({ "path": "/dpop/api/y", "status": 401, "times": 5, "body": "{\"error\":\"use_dpop_nonce\"}",
        "headers": { "WWW-Authenticate": "DPoP error=\"use_dpop_nonce\"", "DPoP-Nonce": "n-1" } });
    sb.fault(challenge);
    let out = curl(&home, &["-sS", "-o", "/dev/null", "-w", "%{http_code}", "/api/y"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    assert_eq!(sb.count("GET /dpop/api/y"), 2);
    // With a body curl reads from stdin the request cannot be sent twice: no retry.
    let out = home
        .tok_with_path()
        .args(["curl", "pay", "-sS", "-o", "/dev/null", "-d", "@-", &url])
        .write_stdin("x")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count("POST /dpop/nonce-api/x"), 1);
}

#[test]
fn tok_curl_refuses_commands_of_several_requests_naming_tok_proxy() {
    let (sb, home) = logged_in();
    // curl's own retries and two-round authentications send the same proof again.
    let table: [&[&str]; 8] = [
        &["-L", "/api/a"],
        &["/api/a", "/api/b"],
        &["/api/a", "--next", "/api/b"],
        &["/api/[1-3]"],
        &["--retry", "3", "/api/a"],
        &["--retry=2", "--retry-all-errors", "/api/a"],
        &["--digest", "-u", "u:p", "/api/a"],
        &["--anyauth", "/api/a"],
    ];
    for args in table {
        let out = curl(&home, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("tok proxy pay"), "{args:?}: {}", stderr_of(&out));
    }
    assert_eq!(
        sb.stats()["requests"].as_object().unwrap().keys().filter(|k| k.contains("/dpop/api")).count(),
        0
    );
}

#[test]
fn tok_curl_makes_no_proof_for_a_path_curl_would_send_otherwise() {
    let (sb, home) = logged_in();
    // curl sends these paths as written (or another target), the proof would name the
    // WHATWG form: a proof for one request sent with another.
    let table: [(&[&str], &str); 4] = [
        (&["--path-as-is", "/api/a/../admin"], "write the path as '/dpop/api/admin'"),
        (&["/api/a/%2e%2e/admin"], "write the path as '/dpop/api/admin'"),
        (&["/api/a/./b"], "write the path as '/dpop/api/a/b'"),
        (&["--request-target", "/dpop/api/admin", "/api/a"], "--request-target"),
    ];
    for (args, want) in table {
        let out = curl(&home, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains(want), "{args:?}: {}", stderr_of(&out));
    }
    assert_eq!(
        sb.stats()["requests"].as_object().unwrap().keys().filter(|k| k.contains("/dpop/api")).count(),
        0
    );
}

/// A running `tok proxy pay`: its base URL; killed when dropped.
struct Proxy(std::process::Child, String);

impl Proxy {
    fn start(home: &Home) -> Proxy {
        Proxy::with(home, &[])
    }

    fn with(home: &Home, args: &[&str]) -> Proxy {
        let mut cmd = home.process();
        cmd.args(["proxy", "pay"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null());
        let mut child = spawn_patiently(&mut cmd);
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(!line.trim().is_empty(), "tok proxy did not start");
        Proxy(child, line.trim_end().to_string())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap()
}

#[test]
fn tok_proxy_makes_a_proof_for_every_request_and_keeps_the_latest_nonce() {
    let (sb, home) = logged_in();
    let proxy = Proxy::start(&home);
    let client = client();
    let mut jtis = Vec::new();
    for (method, path) in [("GET", "/api/a?x=1"), ("POST", "/api/b"), ("DELETE", "/api/c")] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = client.request(method.clone(), format!("{}{path}", proxy.1)).body("{}").send().unwrap();
        assert_eq!(answer.status(), 200);
        let got: Value = serde_json::from_str(&answer.text().unwrap()).unwrap();
        assert_eq!(got["method"], method.as_str());
        let bare = path.split('?').next().unwrap();
        assert_eq!(got["htu"], format!("{}/dpop{bare}", sb.url));
        jtis.push(got["jti"].as_str().unwrap().to_string());
    }
    jtis.dedup();
    assert_eq!(jtis.len(), 3, "a proof per request");

    // The nonce API: one challenge, then every answer's new nonce is used (the sandbox
    // accepts only the last three it issued, so a proxy that kept only the first fails).
    for n in 0..8 {
        let answer = client.get(format!("{}/nonce-api/n{n}", proxy.1)).send().unwrap();
        assert_eq!(answer.status(), 200, "request {n}");
    }
    let challenged: u64 = (0..8).map(|n| sb.count(&format!("GET /dpop/nonce-api/n{n}"))).sum();
    assert_eq!(challenged, 9, "one nonce challenge for eight requests");
}

/// The base64url of `{"alg":"ES256","jwk":`: how every ES256 proof tok makes begins.
const PROOF_START: &str = "eyJhbGciOiJFUzI1NiIsImp3ayI6";

#[test]
fn no_key_proof_or_token_on_a_command_line_in_verbose_output_or_errors() {
    let (sb, home) = logged_in();
    let key = crate::dpop::stored(&home, "pay")["secrets"]["dpop_key"].as_str().unwrap().to_string();
    // The key's base64 lines, any of which would be a leak.
    let key_lines: Vec<String> =
        key.lines().filter(|l| !l.starts_with("-----") && l.len() > 20).map(str::to_string).collect();
    let token = stored_token(&home);
    sb.fault(json!({ "path": "/dpop/api/slow", "pass": true, "delay_ms": 1500, "times": 1 }));
    let child = home
        .process()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(["-v", "curl", "pay", "-sS", "/api/slow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sb.count("GET /dpop/api/slow") < 1 {
        assert!(std::time::Instant::now() < deadline, "curl never called");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut scanned = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            scanned += 1;
            let text = String::from_utf8_lossy(&cmdline);
            assert!(!text.contains(PROOF_START) && !text.contains(&token), "on a command line: {text}");
        }
    }
    assert!(scanned > 3);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(!err.contains(PROOF_START) && !err.contains(&token), "{err}");
    assert!(sb.last("GET /dpop/api/slow")["headers"]["dpop"].as_str().unwrap().starts_with(PROOF_START));

    // -v of a login, a refresh and a print --for; an unusable key in the environment.
    let for_request = format!("GET {}/dpop/api/x", sb.url);
    let runs: [&[&str]; 2] =
        [&["-v", "refresh", "pay"], &["-v", "print", "pay", "--format", "header", "--for", &for_request]];
    for args in runs {
        let out = home.tok().args(args).output().unwrap();
        let err = stderr_of(&out);
        assert!(key_lines.iter().all(|l| !err.contains(l.as_str())), "{args:?}: {err}");
        assert!(out.status.success() && !err.contains(PROOF_START), "{args:?}: {err}");
    }
    let out = home
        .tok()
        .args(["-v", "curl", "pay", "/api/x"])
        .env("TOK_PAY_DPOP_KEY", "not-a-key-but-secret-text")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("not-a-key-but-secret-text"), "{}", stderr_of(&out));
    // Nothing of the key outside the store.
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(
        key_lines.iter().all(|l| !config.contains(l.as_str())) && config.contains("dpop = \"true\""),
        "{config}"
    );
}

#[test]
fn tok_proxy_answers_a_second_nonce_challenge_with_the_401_and_no_new_token() {
    let (sb, home) = logged_in();
    let proxy = Proxy::start(&home);
    let challenge = json!({ "path": "/dpop/api/z", "status": 401, "times": 2, "body": "{\"error\":\"use_dpop_nonce\"}",
        "headers": { "WWW-Authenticate": "DPoP error=\"use_dpop_nonce\"", "DPoP-Nonce": "n-7" } });
    sb.fault(challenge);
    let answer = client().get(format!("{}/api/z", proxy.1)).send().unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(sb.count("GET /dpop/api/z"), 2, "the request and one retry with the nonce");
    assert_eq!(sb.count(crate::dpop::TOKEN), 1, "no new token for a nonce challenge");
    // The nonce it learnt goes with the next request.
    let answer = client().get(format!("{}/api/z", proxy.1)).send().unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(sb.count("GET /dpop/api/z"), 3);
    let proof = sb.last("GET /dpop/api/z")["headers"]["dpop"].as_str().unwrap().to_string();
    let claims = crate::support::claims(&proof);
    assert_eq!(claims["nonce"], "n-7");
}

/// A nonce challenge the proxy does not answer (`--no-retry`; a body too long to hold) is
/// about the proof, not the token: the 401 goes to the client, the nonce to the next
/// request, and no new token is fetched.
#[test]
fn an_unanswered_nonce_challenge_passes_through_and_keeps_the_token() {
    let (sb, home) = logged_in();
    let proxy = Proxy::with(&home, &["--no-retry"]);
    let answer = client().get(format!("{}/nonce-api/a", proxy.1)).send().unwrap();
    assert_eq!(answer.status(), 401);
    assert!(answer.headers()["www-authenticate"].to_str().unwrap().contains("use_dpop_nonce"));
    for path in ["b", "c"] {
        let answer = client().get(format!("{}/nonce-api/{path}", proxy.1)).send().unwrap();
        assert_eq!(answer.status(), 200, "the nonce learnt went with /nonce-api/{path}");
    }
    assert_eq!(sb.count(crate::dpop::TOKEN), 1, "no new token for a nonce challenge");
    drop(proxy);

    // Without --no-retry, a body over the held-body limit streams and is sent once.
    let (sb, home) = logged_in();
    let proxy = Proxy::start(&home);
    let big = vec![b'x'; 1024 * 1024 + 1];
    let answer = client().post(format!("{}/nonce-api/big", proxy.1)).body(big).send().unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(sb.count("POST /dpop/nonce-api/big"), 1);
    let answer = client().get(format!("{}/nonce-api/small", proxy.1)).send().unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(sb.count(crate::dpop::TOKEN), 1, "no new token for a nonce challenge");
}

#[test]
fn a_revoked_dpop_token_is_refreshed_with_a_proof_and_the_request_sent_again() {
    let (sb, home) = logged_in();
    let revoke = || assert_eq!(sb.call("POST", "/_sandbox/revoke", "{}")["ok"], true);
    revoke();
    // tok curl: the 401, a refresh (its proof made with the same key, which the sandbox
    // demands of the refresh token), the request again with a proof for the new token.
    let out = body(&curl(&home, &["-sS", "/api/after-revoke"]));
    assert_eq!(out["path"], "/dpop/api/after-revoke");
    assert_eq!(sb.count(crate::dpop::TOKEN), 2);
    assert!(sb.last(crate::dpop::TOKEN)["body"].as_str().unwrap().contains("grant_type=refresh_token"));
    // tok proxy alike.
    let proxy = Proxy::start(&home);
    assert_eq!(client().get(format!("{}/api/one", proxy.1)).send().unwrap().status(), 200);
    revoke();
    assert_eq!(client().get(format!("{}/api/two", proxy.1)).send().unwrap().status(), 200);
    assert_eq!(sb.count(crate::dpop::TOKEN), 3);
    assert_eq!(sb.count("GET /dpop/api/two"), 2);
}

/// Issue 20's end-to-end promise for `tok exec --proxy`: the command's requests pass the
/// resource server's proof checks (a fresh proof each), and the command holds no token,
/// key or proof of its own.
#[test]
fn tok_exec_proxy_gives_the_command_proofs_it_never_sees() {
    let (sb, home) = logged_in();
    let out = home
        .process()
        .env("PATH", "/usr/bin:/bin")
        .args(["exec", "--proxy", "pay", "--", "sh", "-c"])
        .arg(
            "curl -sS --fail \"$TOK_PAY_URL/api/one\"; echo; \
             curl -sS --fail -X POST -d '{}' \"$TOK_PAY_URL/api/two\"; echo; echo ---; env",
        )
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (answers, env) = text.split_once("---\n").unwrap_or_else(|| panic!("{text}"));
    let seen: Vec<Value> =
        answers.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("{l}"))).collect();
    assert_eq!(seen.len(), 2, "{answers}");
    assert_eq!((seen[0]["method"].as_str(), seen[0]["path"].as_str()), (Some("GET"), Some("/dpop/api/one")));
    assert_eq!((seen[1]["method"].as_str(), seen[1]["path"].as_str()), (Some("POST"), Some("/dpop/api/two")));
    assert_ne!(seen[0]["jti"], seen[1]["jti"], "two requests, two proofs");
    assert_eq!(sb.count("GET /dpop/api/one") + sb.count("POST /dpop/api/two"), 2, "no proof was refused");
    let store = crate::dpop::stored(&home, "pay");
    let token = store["token"]["token"].as_str().unwrap();
    let key = store["secrets"]["dpop_key"].as_str().unwrap();
    let key_body = key.lines().nth(1).unwrap();
    assert!(env.contains("TOK_PAY_URL=http://127.0.0.1:"), "{env}");
    for absent in [token, key_body, "PRIVATE KEY", "eyJ", "TOK_PAY_TOKEN", "TOK_PAY_HEADER", "DPoP"] {
        assert!(!env.contains(absent), "{absent} in the command's environment: {env}");
        assert!(!stderr.contains(absent) || absent == "DPoP", "{absent} on stderr: {stderr}");
    }
    assert_eq!(sb.count(crate::dpop::TOKEN), 1, "the stored token was used");
}
