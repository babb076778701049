//! `--grant authorization_code`: tok's own loopback login, against the real oidc-provider
//! (browser.mjs as `$BROWSER`) for each client authentication and PAR, and against
//! tok-sandbox's `/as` for what a person's browser cannot show on cue: a forged state, a
//! favicon, a browser that never comes back, Ctrl-C.

use crate::oidc::{Oidc, http};
use crate::support::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ID: &str = "demo-client";
const SECRET: &str = "demo-secret";

fn oidc_keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/keys")
}

/// `tok login P --grant authorization_code --issuer ... --client-id ...` and `extra`.
fn code_login(home: &Home, issuer: &str, client: &str, browser: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(tok_path());
    cmd.env_clear()
        .env("HOME", home.path())
        .env("TOK_HOME", home.path())
        .env("TOK_STORE", "file")
        .env("NO_COLOR", "1")
        .env("BROWSER", browser)
        .args(["login", "api", "--provider", "oauth2", "--grant", "authorization_code"])
        .args(["--issuer", issuer, "--client-id", client])
        .args(extra);
    cmd
}

/// Runs `cmd` with `stdin`, bounded (a login that hangs fails the test, not the run).
fn run(cmd: &mut Command, stdin: &str) -> std::process::Output {
    let mut cmd = assert_cmd::Command::from_std(std::mem::replace(cmd, Command::new("true")));
    cmd.timeout(Duration::from_secs(60)).write_stdin(stdin.to_string()).output().unwrap()
}

fn refresh_token_of(home: &Home) -> String {
    let text = std::fs::read_to_string(home.store_file("api")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    find_string(&value, "refresh_token").unwrap_or_else(|| panic!("no refresh token stored"))
}

fn find_string(value: &serde_json::Value, key: &str) -> Option<String> {
    match value {
        serde_json::Value::Object(map) => map
            .get(key)
            .and_then(|v| v.as_str().map(str::to_string))
            .or_else(|| map.values().find_map(|v| find_string(v, key))),
        serde_json::Value::Array(items) => items.iter().find_map(|v| find_string(v, key)),
        serde_json::Value::String(text) => {
            serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| find_string(&v, key))
        }
        _ => None,
    }
}

#[test]
fn a_public_client_logs_in_with_pkce_and_refresh_rotates_until_refused() {
    let oidc = Oidc::start();
    let home = Home::new();
    let browser = oidc.browser(&[("OIDC_BROWSER_LOGIN", "alice")]);
    let scope = ["--scope", "openid offline_access", "--param", "prompt=consent", "--auth", "none"];
    let out = run(&mut code_login(&home, &oidc.issuer, "tok-public", &browser, &scope), "");
    assert!(
        out.status.success(),
        "{}\nbrowser:\n{}\nserver:\n{}",
        stderr_of(&out),
        oidc.browser_log(),
        oidc.server_log()
    );
    assert!(out.stdout.is_empty());
    let err = stderr_of(&out);
    assert!(err.contains("code_challenge_method=S256") && err.contains("state="), "{err}");
    let token = home.print("api");
    let id = home.tok().args(["print", "api", "--id-token"]).output().unwrap();
    assert_eq!(claims(String::from_utf8_lossy(&id.stdout).trim())["sub"], "alice");
    let intro = http(
        "POST",
        &oidc.endpoint("introspection_endpoint"),
        &[("token", &token)],
        Some(("tok-basic", "tok-basic-secret")),
    )
    .json();
    assert_eq!(
        (intro["active"].as_bool(), intro["client_id"].as_str()),
        (Some(true), Some("tok-public")),
        "{intro}"
    );

    // `tok refresh` spends the refresh token, and keeps the rotated one.
    let first = refresh_token_of(&home);
    let out = home.tok().args(["refresh", "api"]).output().unwrap();
    assert!(out.status.success(), "{}\n{}", stderr_of(&out), oidc.server_log());
    let second = refresh_token_of(&home);
    assert_ne!(first, second, "rotated");
    assert_ne!(home.print("api"), token);
    // Spending the old one again revokes the grant (oidc-provider's reuse detection).
    let reused = http(
        "POST",
        &oidc.endpoint("token_endpoint"),
        &[("grant_type", "refresh_token"), ("refresh_token", &first), ("client_id", "tok-public")],
        None,
    );
    assert_eq!(reused.status, 400);
    let out = home.tok().args(["refresh", "api"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("run `tok login api` again"), "{}", stderr_of(&out));
    for shown in [stderr_of(&out), String::from_utf8_lossy(&out.stdout).to_string()] {
        assert!(!shown.contains(&second) && !shown.contains(&first), "{shown}");
    }
}

#[test]
fn confidential_clients_log_in_with_basic_private_key_jwt_and_par() {
    let oidc = Oidc::start();
    let rsa = oidc_keys().join("test-only-client-rsa.pem");
    let rsa = rsa.to_str().unwrap();
    type Case<'a> = (&'a str, &'a [&'a str], &'a str);
    let cases: [Case; 3] = [
        ("tok-basic", &["--auth", "basic", "--secret-stdin"], "tok-basic-secret\n"),
        ("tok-rsa", &["--auth", "private_key_jwt", "--key-file", rsa, "--key-id", "test-rsa"], ""),
        ("tok-par", &["--auth", "basic", "--secret-stdin", "--par"], "tok-par-secret\n"),
    ];
    for (client, extra, stdin) in cases {
        let home = Home::new();
        let browser = oidc.browser(&[]);
        let par = url::Url::parse(&oidc.endpoint("pushed_authorization_request_endpoint")).unwrap();
        let par_route = format!("POST {}", par.path());
        let pushed_before = oidc.count(&par_route);
        let args = [extra, &["--scope", "openid offline_access", "--param", "prompt=consent"][..]].concat();
        let out = run(&mut code_login(&home, &oidc.issuer, client, &browser, &args), stdin);
        assert!(
            out.status.success(),
            "{client}: {}\nbrowser:\n{}\nserver:\n{}",
            stderr_of(&out),
            oidc.browser_log(),
            oidc.server_log()
        );
        let err = stderr_of(&out);
        if client == "tok-par" {
            assert_eq!(oidc.count(&par_route), pushed_before + 1, "pushed once");
            // The browser gets only client_id and request_uri.
            assert!(err.contains("request_uri=urn"), "{err}");
            assert!(!err.contains("code_challenge") && !err.contains("state="), "{err}");
        } else {
            assert!(err.contains("code_challenge="), "{err}");
        }
        let token = home.print("api");
        let intro = http(
            "POST",
            &oidc.endpoint("introspection_endpoint"),
            &[("token", &token)],
            Some(("tok-basic", "tok-basic-secret")),
        )
        .json();
        assert_eq!(intro["client_id"].as_str(), Some(client), "{intro}");
        // The refresh authenticates the client again, from the store.
        let again = home.tok().args(["refresh", "api"]).output().unwrap();
        assert!(again.status.success(), "{client}: {}\n{}", stderr_of(&again), oidc.server_log());
        assert_ne!(home.print("api"), token);
        let secret = if stdin.is_empty() {
            let pem = std::fs::read_to_string(oidc_keys().join("test-only-client-rsa.pem")).unwrap();
            pem.lines().nth(1).unwrap().to_string()
        } else {
            stdin.trim().to_string()
        };
        assert!(!err.contains(&secret) && !stderr_of(&again).contains(&secret), "{client}: {err}");
    }
}

#[test]
fn a_denied_login_exits_4_and_a_par_client_without_par_is_told_to_use_it() {
    let oidc = Oidc::start();
    let home = Home::new();
    let browser = oidc.browser(&[("OIDC_BROWSER_DENY", "1")]);
    let out = run(&mut code_login(&home, &oidc.issuer, "tok-public", &browser, &["--auth", "none"]), "");
    assert_eq!(out.status.code(), Some(4), "{}\n{}", stderr_of(&out), oidc.browser_log());
    assert!(stderr_of(&out).contains("access_denied"), "{}", stderr_of(&out));
    assert!(
        !home.store_file("api").exists()
            || home.tok().args(["print", "api"]).output().unwrap().status.code() == Some(3)
    );

    // tok-par requires PAR though the metadata does not say so.
    let home = Home::new();
    let browser = oidc.browser(&[]);
    let out = run(
        &mut code_login(&home, &oidc.issuer, "tok-par", &browser, &["--auth", "basic", "--secret-stdin"]),
        "tok-par-secret\n",
    );
    assert_eq!(out.status.code(), Some(4), "{}\n{}", stderr_of(&out), oidc.browser_log());
    let err = stderr_of(&out);
    assert!(err.contains("invalid_request") && err.contains("--par"), "{err}");
    assert!(!err.contains("tok-par-secret"), "{err}");
}

/// A `$BROWSER` for tok-sandbox: follows the authorization URL's redirect with curl, first
/// sends a favicon request and a forged state to the callback, then the real answer. It
/// records its arguments and environment.
fn sandbox_browser(dir: &Path, mode: &str) -> PathBuf {
    require_curl();
    let path = dir.join("browser");
    let script = format!(
        r#"#!/bin/sh
PATH=/usr/local/bin:/usr/bin:/bin
d='{dir}'
printf '%s\n' "$#" "$@" > "$d/args"
env > "$d/env"
[ '{mode}' = never ] && exit 0
[ '{mode}' = slow ] && sleep 1
if [ '{mode}' = flood ]; then
  i=0; while [ ! -e "$d/flooded" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
fi
loc=$(curl -s -o /dev/null -w '%{{redirect_url}}' "$1")
base=${{loc%%\?*}}
curl -s -o "$d/favicon.html" -w '%{{http_code}}' "${{base%/*}}/favicon.ico" > "$d/favicon.status"
forged=$(printf '%s' "$loc" | sed 's/state=[^&]*/state=forged/')
curl -s -o "$d/forged.html" -w '%{{http_code}}' "$forged" > "$d/forged.status"
curl -s -o "$d/right.html" -w '%{{http_code}}' "$loc" > "$d/right.status"
curl -s -m 2 -o /dev/null -w '%{{http_code}}' "$loc" > "$d/second.status"
touch "$d/done"
"#,
        dir = dir.display()
    );
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

#[test]
fn a_forged_state_and_a_favicon_are_ignored_and_the_right_answer_completes() {
    let sb = Sandbox::start();
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    let browser = sandbox_browser(dir.path(), "follow");
    let issuer = format!("{}/as", sb.url);
    let mut cmd = code_login(&home, &issuer, ID, &browser, &["--secret-stdin", "--scope", "openid read"]);
    cmd.env("TOK_API_UPSTREAM", "https://api.example.com")
        .env("TOK_OTHER_CLIENT_SECRET", "other-secret-0xdead");
    let out = run(&mut cmd, &format!("{SECRET}\n"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    // tok does not wait for its browser; the test does.
    let started = Instant::now();
    while !dir.path().join("done").exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "the browser script did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(read(dir.path(), "favicon.status"), "400");
    assert_eq!(read(dir.path(), "forged.status"), "400");
    assert!(read(dir.path(), "forged.html").contains("ignored"));
    assert_eq!(read(dir.path(), "right.status"), "200");
    assert!(read(dir.path(), "right.html").contains("return to the terminal"));
    // The listener closed after its one answer.
    assert_eq!(read(dir.path(), "second.status"), "000");
    // The URL is the browser's one argument; tok's variables never reach it.
    let args = read(dir.path(), "args");
    assert!(args.starts_with("1\n") && args.contains("/as/authorize?"), "{args}");
    let env = read(dir.path(), "env");
    assert!(!env.contains("TOK_") && !env.contains("other-secret-0xdead") && !env.contains(SECRET), "{env}");
    let form = sb.last("POST /as/token");
    let body = form.to_string();
    assert!(body.contains("authorization_code") && body.contains("code_verifier"), "{body}");
    home.print("api");
    // The ID token carries this login's nonce (tok compared it).
    let id = home.tok().args(["print", "api", "--id-token"]).output().unwrap();
    assert!(claims(String::from_utf8_lossy(&id.stdout).trim())["nonce"].is_string());
}

#[test]
fn no_browser_prints_the_url_only_and_the_login_timeout_exits_5() {
    let sb = Sandbox::start();
    let issuer = format!("{}/as", sb.url);
    for no_browser in [true, false] {
        let home = Home::new();
        let dir = tempfile::tempdir().unwrap();
        let browser = sandbox_browser(dir.path(), "never");
        let mut extra = vec!["--secret-stdin", "--login-timeout", "1s"];
        if no_browser {
            extra.push("--no-browser");
        }
        let started = Instant::now();
        let out = run(&mut code_login(&home, &issuer, ID, &browser, &extra), &format!("{SECRET}\n"));
        assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
        assert!(started.elapsed() < Duration::from_secs(10), "prompt: {:?}", started.elapsed());
        assert!(out.stdout.is_empty(), "stdout carries no URL");
        let err = stderr_of(&out);
        assert!(err.contains(&format!("{issuer}/authorize?")) && err.contains("--login-timeout"), "{err}");
        assert_eq!(
            dir.path().join("args").exists(),
            !no_browser,
            "$BROWSER started only without --no-browser"
        );
        assert_eq!(sb.count("POST /as/token"), 0);
    }
}

#[test]
fn ctrl_c_ends_the_login_with_130_and_closes_the_port() {
    let sb = Sandbox::start();
    let home = Home::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let redirect = format!("http://127.0.0.1:{port}/cb");
    let issuer = format!("{}/as", sb.url);
    let mut cmd = code_login(
        &home,
        &issuer,
        ID,
        Path::new("/nonexistent"),
        &["--secret-stdin", "--no-browser", "--redirect-uri", &redirect],
    );
    let mut child = cmd.stdin(Stdio::piped()).stderr(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{SECRET}").unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("/as/authorize?") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "tok ended early: {seen}");
        seen.push_str(&line);
    }
    assert!(seen.contains(&format!("redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcb")), "{seen}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(), "listening");
    let sent = Instant::now();
    // SAFETY: signals the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(sent.elapsed() < Duration::from_secs(10), "tok outlived Ctrl-C");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(130));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(rest.contains("interrupted"), "{rest}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the port is closed");
}

#[test]
fn redirect_uris_must_be_loopback_http() {
    let sb = Sandbox::start();
    let issuer = format!("{}/as", sb.url);
    for bad in ["https://127.0.0.1:8765/cb", "http://example.com:8765/cb", "http://localhost:8765/cb"] {
        let home = Home::new();
        let out = run(
            &mut code_login(
                &home,
                &issuer,
                ID,
                Path::new("/nonexistent"),
                &["--secret-stdin", "--redirect-uri", bad],
            ),
            &format!("{SECRET}\n"),
        );
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("--redirect-uri"), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count("GET /as/authorize"), 0);
}

/// A sandbox login through the curl browser; `settings` first.
fn sandbox_login(sb: &Sandbox, home: &Home, extra: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let browser = sandbox_browser(dir.path(), "follow");
    let issuer = format!("{}/as", sb.url);
    let out = run(
        &mut code_login(home, &issuer, ID, &browser, &[&["--secret-stdin"][..], extra].concat()),
        &format!("{SECRET}\n"),
    );
    (out, dir)
}

#[test]
fn print_refreshes_with_the_refresh_token_and_a_refused_one_says_log_in_again() {
    let sb = Sandbox::start();
    sb.settings(serde_json::json!({ "oauth2_lifetime": 5 }));
    let home = Home::new();
    let (out, _dir) = sandbox_login(&sb, &home, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let first = home.print("api");
    // A 5-second token is due at once: print refreshes it with the refresh token.
    let second = home.print("api");
    assert_ne!(first, second);
    assert!(sb.last("POST /as/token").to_string().contains("refresh_token"), "{}", sb.last("POST /as/token"));
    sb.settings(serde_json::json!({ "oauth2_lifetime": 5, "refuse_refresh": true }));
    let out = home.tok().args(["print", "api"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr_of(&out).contains("run `tok login api` again"), "{}", stderr_of(&out));
    assert_eq!(sb.count("GET /as/authorize"), 1, "print never starts a login");
}

#[test]
fn a_wrong_iss_or_nonce_is_refused_and_an_error_reply_is_scrubbed() {
    let sb = Sandbox::start();
    type Case<'a> = (&'a str, i32, &'a str);
    let cases: [Case; 4] = [
        ("wrong_iss", 4, "RFC 9207"),
        ("no_iss", 4, "has no iss"),
        ("wrong_nonce", 5, "nonce"),
        ("error", 4, "refused the login: access_denied: denied: the client's secret is (redacted)"),
    ];
    for (quirk, code, says) in cases {
        sb.settings(serde_json::json!({ "authorize_quirk": quirk }));
        let home = Home::new();
        let before = sb.count("POST /as/token");
        let (out, _dir) = sandbox_login(&sb, &home, &["--scope", "openid"]);
        assert_eq!(out.status.code(), Some(code), "{quirk}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(err.contains(says), "{quirk}: {err}");
        assert!(!err.contains(SECRET), "{quirk}: {err}");
        let redeemed = sb.count("POST /as/token") - before;
        assert_eq!(
            redeemed,
            u64::from(quirk == "wrong_nonce"),
            "{quirk}: a code from a mix-up is never redeemed"
        );
        let print = home.tok().args(["print", "api"]).output().unwrap();
        assert_eq!(print.status.code(), Some(3), "{quirk}: nothing was stored");
    }
}

#[test]
fn a_person_slower_than_the_network_budget_still_gets_a_token() {
    let sb = Sandbox::start();
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    let browser = sandbox_browser(dir.path(), "slow");
    let issuer = format!("{}/as", sb.url);
    // --timeout 300ms: a budget of 900 ms for tok's own waiting; the browser takes longer.
    let mut cmd = code_login(&home, &issuer, ID, &browser, &["--secret-stdin"]);
    cmd.args(["--timeout", "300ms"]);
    let out = run(&mut cmd, &format!("{SECRET}\n"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count("POST /as/token"), 1);
}

/// A flood of silent connections to the callback listener holds no more than a bounded
/// number of reader threads (one per connection, unbounded, once), and the browser's
/// answer still completes the login behind them.
#[cfg(target_os = "linux")]
#[test]
fn a_flood_of_silent_connections_holds_bounded_readers_and_the_login_completes() {
    let sb = Sandbox::start();
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    let browser = sandbox_browser(dir.path(), "flood");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let issuer = format!("{}/as", sb.url);
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let mut cmd = code_login(&home, &issuer, ID, &browser, &["--secret-stdin", "--redirect-uri", &redirect]);
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("{SECRET}\n").as_bytes()).unwrap();
    }
    let started = Instant::now();
    let mut flood = Vec::new();
    while flood.len() < 200 && started.elapsed() < Duration::from_secs(20) {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => flood.push(stream),
            Err(_) if flood.is_empty() => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("connection {}: {e}", flood.len()),
        }
    }
    assert_eq!(flood.len(), 200, "the listener took the flood's connections");
    // Let the listener take them all, then count tok's threads.
    std::thread::sleep(Duration::from_millis(500));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let threads: usize =
        status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok()).unwrap();
    assert!(threads <= 64 + 8, "{threads} threads for 200 silent connections");
    std::fs::write(dir.path().join("flooded"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(read(dir.path(), "right.status"), "200");
    drop(flood);
}
