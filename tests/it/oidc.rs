//! tok against the real panva/oidc-provider (tests/oidc/: server.mjs, the clients in
//! tests/oidc/README.md, browser.mjs as `$BROWSER`), and the harness itself: its
//! browser completes an authorization code + PKCE login and a device login.
//!
//! Each test starts its own provider (`Oidc`); `npm ci` runs once, under a file lock,
//! when tests/oidc/node_modules is missing or holds another version.

use crate::oidc_bound::{Pki, https};
use crate::support::*;
use base64::Engine;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const BASIC: (&str, &str) = ("tok-basic", "tok-basic-secret");
const POST: (&str, &str) = ("tok-post", "tok-post-secret");
const API: &str = "https://api.tok.test/";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 7636 Appendix B's pair: the test crate has no SHA-256 of its own, and the
/// provider checks S256 for real (a wrong verifier is refused below).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("oidc")
}

fn node() -> &'static str {
    let ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "the oidc tests need node and npm on PATH (apt-get install nodejs npm)");
    "node"
}

/// The version package.json pins, and the one installed (if any).
fn versions(dir: &Path) -> (String, Option<String>) {
    let read =
        |p: PathBuf| std::fs::read_to_string(p).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let pinned =
        read(dir.join("package.json")).expect("tests/oidc/package.json")["dependencies"]["oidc-provider"]
            .as_str()
            .expect("an exact oidc-provider version")
            .to_string();
    let installed = read(dir.join("node_modules/oidc-provider/package.json"))
        .and_then(|v| v["version"].as_str().map(str::to_string));
    (pinned, installed)
}

/// `npm ci` once for every test of this run (and every other `cargo test` at the same
/// time, through the lock file), only when the pinned version is not installed.
fn install_once() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = harness_dir();
        node();
        let lock = std::fs::File::create(dir.join(".npm-ci.lock")).expect("tests/oidc is writable");
        lock.lock().expect("the npm ci lock");
        let (pinned, installed) = versions(&dir);
        if installed.as_deref() != Some(pinned.as_str()) {
            let out = Command::new("npm")
                .args(["ci", "--prefix"])
                .arg(&dir)
                .args(["--no-audit", "--no-fund"])
                .output()
                .expect("the oidc tests need npm on PATH (apt-get install npm)");
            assert!(
                out.status.success(),
                "`npm ci --prefix tests/oidc --no-audit --no-fund` failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let (pinned, installed) = versions(&dir);
        assert_eq!(
            installed.as_deref(),
            Some(pinned.as_str()),
            "oidc-provider installed at the pinned version"
        );
    });
}

/// A running oidc-provider of this test's own; it exits when dropped (its stdin closes).
pub struct Oidc {
    child: Child,
    stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
    pub issuer: String,
    /// The test CA and certificates of an HTTPS provider (`Oidc::tls`).
    pub pki: Option<Pki>,
}

impl Oidc {
    pub fn start() -> Oidc {
        Oidc::with_args(&[])
    }

    /// With server.mjs's own options (`--clients FILE`, `--no-device-interval`).
    pub fn with_args(args: &[&str]) -> Oidc {
        Oidc::launch(tempfile::tempdir().unwrap(), args, None)
    }

    /// Over HTTPS with a test CA made now (`server.mjs --tls`), its mTLS listener and
    /// clients, and `args` (`--dpop-nonce`).
    pub fn tls(args: &[&str]) -> Oidc {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::make(&dir.path().join("pki"));
        let tls = pki.dir.to_str().unwrap().to_string();
        Oidc::launch(dir, &[&["--tls", &tls][..], args].concat(), Some(pki))
    }

    fn launch(dir: tempfile::TempDir, args: &[&str], pki: Option<Pki>) -> Oidc {
        install_once();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut child = Command::new(node())
            .arg(harness_dir().join("server.mjs"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("node starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let stdin = child.stdin.take();
        let mut oidc = Oidc { child, stdin, dir, issuer: line.trim().to_string(), pki };
        let scheme = if oidc.pki.is_some() { "https" } else { "http" };
        assert!(
            oidc.issuer.starts_with(&format!("{scheme}://127.0.0.1:")),
            "no issuer line; server log:\n{}",
            oidc.server_log()
        );
        oidc.stdin.as_mut().unwrap().flush().unwrap();
        oidc
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// What the browser (detached by default) wrote.
    pub fn browser_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("browser.log")).unwrap_or_default()
    }

    /// The discovery document, read with a plain GET.
    pub fn metadata(&self) -> Value {
        let reply = self.get(&format!("{}/.well-known/openid-configuration", self.issuer));
        assert_eq!(reply.status, 200);
        reply.json()
    }

    pub fn endpoint(&self, name: &str) -> String {
        self.metadata()[name].as_str().unwrap_or_else(|| panic!("no {name} in the metadata")).to_string()
    }

    /// How many requests reached `route` ("POST /token").
    pub fn count(&self, route: &str) -> u64 {
        self.get(&format!("{}/_test/stats", self.issuer)).json()["requests"][route].as_u64().unwrap_or(0)
    }

    /// A plain GET, over HTTPS (trusting the test CA) for a `tls` provider.
    fn get(&self, url: &str) -> Reply {
        match &self.pki {
            Some(pki) => https(pki, None, "GET", url, &[], &[], None),
            None => http("GET", url, &[], None),
        }
    }

    /// A program to be `$BROWSER`: browser.mjs with `env` (OIDC_BROWSER_*) set, logging to
    /// `browser_log()`; a wrapper, so it runs whatever environment tok gives its children.
    pub fn browser(&self, env: &[(&str, &str)]) -> PathBuf {
        let path = self.dir.path().join("browser");
        let node = which("node");
        let log = self.dir.path().join("browser.log");
        let mut script = format!("#!/bin/sh\nexport OIDC_BROWSER_LOG='{}'\n", log.display());
        if let Some(pki) = &self.pki {
            script.push_str(&format!("export NODE_EXTRA_CA_CERTS='{}'\n", pki.ca().display()));
        }
        for (k, v) in env {
            script.push_str(&format!("export {k}='{v}'\n"));
        }
        script.push_str(&format!(
            "exec '{}' '{}' \"$@\"\n",
            node.display(),
            harness_dir().join("browser.mjs").display()
        ));
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// `browser.mjs --device URL [CODE]`, in the foreground; its output on failure.
    pub fn device_browser(
        &self,
        url: &str,
        code: Option<&str>,
        env: &[(&str, &str)],
    ) -> std::process::Output {
        let mut cmd = Command::new(node());
        cmd.arg(harness_dir().join("browser.mjs")).args(["--device", url]).args(code);
        if let Some(pki) = &self.pki {
            cmd.env("NODE_EXTRA_CA_CERTS", pki.ca());
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

impl Drop for Oidc {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {} {}", self.status, self.body))
    }
}

/// A plain HTTP/1.1 request to a loopback URL, with a form body when `form` is not
/// empty and HTTP Basic when `basic` is given (each half form-encoded, RFC 6749 §2.3.1).
pub fn http(method: &str, url: &str, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Reply {
    let url = url::Url::parse(url).unwrap();
    let addr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    if let Some((id, secret)) = basic {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!("{}:{}", enc(id), enc(secret));
        head.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ));
    }
    if !form.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(stream, "{head}\r\n{}", if form.is_empty() { "" } else { &body }).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    // Koa answers with a length, never chunked, for these small JSON bodies.
    Reply { status, head: head.to_string(), body: body.to_string() }
}

pub fn random_state() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The one request a loopback callback listener gets, within 30 s: its path and query.
fn accept_callback(listener: TcpListener, oidc: &Oidc) -> url::Url {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(stream.try_clone().unwrap()).read_line(&mut line).unwrap();
        let page = "Signed in; return to the terminal.";
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("no callback; browser log:\n{}", oidc.browser_log()));
    let target = line.split(' ').nth(1).expect("a request line");
    url::Url::parse(&format!("http://127.0.0.1{target}")).unwrap()
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// An authorization code + PKCE login for `tok-public` driven by browser.mjs as
/// `$BROWSER` would be: the callback URL it delivered.
fn browser_login(oidc: &Oidc, env: &[(&str, &str)], state: &str) -> (url::Url, String) {
    browser_login_for(oidc, "tok-public", "openid offline_access", env, state)
}

/// A code for `client` (PKCE with `PKCE_VERIFIER`), alice signing in: (code, redirect_uri).
pub fn browser_code(oidc: &Oidc, client: &str, scope: &str) -> (String, String) {
    let (callback, redirect) = browser_login_for(oidc, client, scope, &[], &random_state());
    let code = query(&callback, "code").unwrap_or_else(|| panic!("{callback}\n{}", oidc.browser_log()));
    (code, redirect)
}

pub const PKCE_VERIFIER: &str = VERIFIER;

fn browser_login_for(
    oidc: &Oidc,
    client: &str,
    scope: &str,
    env: &[(&str, &str)],
    state: &str,
) -> (url::Url, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let redirect = format!("http://127.0.0.1:{}/callback", listener.local_addr().unwrap().port());
    let mut auth = url::Url::parse(&oidc.endpoint("authorization_endpoint")).unwrap();
    auth.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client)
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", scope)
        .append_pair("prompt", "consent")
        .append_pair("state", state)
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    // As a launcher, the browser returns at once: the login goes on without it.
    let started = std::time::Instant::now();
    let status = Command::new(oidc.browser(env)).arg(auth.as_str()).env_clear().status().unwrap();
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_secs(5), "the browser launcher returned promptly");
    (accept_callback(listener, oidc), redirect)
}

fn login(
    home: &Home,
    profile: &str,
    token_url: &str,
    (id, secret): (&str, &str),
    auth: &str,
) -> std::process::Output {
    home.tok()
        .args(["login", profile, "--provider", "oauth2", "--token-url", token_url, "--client-id", id])
        .args(["--auth", auth, "--secret-stdin"])
        .write_stdin(format!("{secret}\n"))
        .output()
        .unwrap()
}

#[test]
fn tok_gets_client_credentials_tokens_from_oidc_provider_with_basic_and_body_auth() {
    let oidc = Oidc::start();
    let token_url = oidc.endpoint("token_endpoint");
    for (profile, client, auth) in [("basic", BASIC, "basic"), ("body", POST, "body")] {
        let home = Home::new();
        let out = login(&home, profile, &token_url, client, auth);
        assert!(out.status.success(), "{}\nserver log:\n{}", stderr_of(&out), oidc.server_log());
        let before = oidc.count("POST /token");
        let token = home.print(profile);
        assert_eq!(home.print(profile), token);
        assert_eq!(oidc.count("POST /token"), before, "print is served from the cache");
        // A live token of that client, as the provider itself says (opaque: no resource).
        let intro =
            http("POST", &oidc.endpoint("introspection_endpoint"), &[("token", &token)], Some(client)).json();
        assert_eq!(
            (intro["active"].as_bool(), intro["client_id"].as_str()),
            (Some(true), Some(client.0)),
            "{intro}"
        );
        let ttl = intro["exp"].as_i64().unwrap() - intro["iat"].as_i64().unwrap();
        assert_eq!(ttl, 600);
    }
    assert_eq!(oidc.count("POST /token"), 2, "one token request per login");
}

#[test]
fn a_wrong_client_secret_is_oidc_providers_invalid_client_and_exits_4() {
    let oidc = Oidc::start();
    let home = Home::new();
    let wrong = "not-the-secret-5e1f";
    let out = home
        .tok()
        .args([
            "-v",
            "login",
            "basic",
            "--provider",
            "oauth2",
            "--token-url",
            &oidc.endpoint("token_endpoint"),
        ])
        .args(["--client-id", BASIC.0, "--secret-stdin"])
        .write_stdin(format!("{wrong}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("invalid_client"), "{err}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{}:{wrong}", BASIC.0));
    for shown in [&out.stdout[..], &out.stderr[..]] {
        let shown = String::from_utf8_lossy(shown);
        assert!(!shown.contains(wrong) && !shown.contains(&encoded), "{shown}");
    }
    assert_eq!(oidc.count("POST /token"), 1);
}

#[test]
fn the_browser_completes_an_authorization_code_pkce_login_and_refresh_rotates() {
    let oidc = Oidc::start();
    let state = random_state();
    let (callback, redirect) = browser_login(&oidc, &[("OIDC_BROWSER_LOGIN", "alice")], &state);
    assert_eq!(callback.path(), "/callback");
    assert_eq!(query(&callback, "state").as_deref(), Some(state.as_str()));
    // RFC 9207: oidc-provider names itself on the redirect.
    assert_eq!(query(&callback, "iss").as_deref(), Some(oidc.issuer.as_str()));
    let code = query(&callback, "code").unwrap_or_else(|| panic!("{callback}\n{}", oidc.browser_log()));

    let token_url = oidc.endpoint("token_endpoint");
    let redeem = |code: &str, verifier: &str| {
        http(
            "POST",
            &token_url,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &redirect),
                ("client_id", "tok-public"),
                ("code_verifier", verifier),
            ],
            None,
        )
    };
    // S256 is checked for real; a failed check leaves the code redeemable.
    let wrong = redeem(&code, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX");
    assert_eq!((wrong.status, wrong.json()["error"].as_str()), (400, Some("invalid_grant")));
    let reply = redeem(&code, VERIFIER);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let tokens = reply.json();
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["sub"], "alice");
    assert_eq!(tokens["scope"], "openid offline_access");
    let first = tokens["refresh_token"].as_str().expect("offline_access + prompt=consent: a refresh token");

    let refresh = |rt: &str| {
        http(
            "POST",
            &token_url,
            &[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", "tok-public")],
            None,
        )
    };
    let rotated = refresh(first).json();
    let second = rotated["refresh_token"].as_str().expect("a rotated refresh token");
    assert_ne!(second, first);
    let reused = refresh(first);
    assert_eq!((reused.status, reused.json()["error"].as_str()), (400, Some("invalid_grant")));
    // Reusing a rotated token revokes the whole grant, the new one too.
    assert_eq!(refresh(second).json()["error"], "invalid_grant");
}

#[test]
fn the_browser_can_deny_the_login() {
    let oidc = Oidc::start();
    let state = random_state();
    let (callback, _) = browser_login(&oidc, &[("OIDC_BROWSER_DENY", "1")], &state);
    assert_eq!(query(&callback, "error").as_deref(), Some("access_denied"), "{}", oidc.browser_log());
    assert_eq!(query(&callback, "state").as_deref(), Some(state.as_str()));
    assert_eq!(query(&callback, "code"), None);
}

#[test]
fn the_device_helper_completes_a_device_login() {
    let oidc = Oidc::start();
    let start = |scope: &str| {
        let r = http(
            "POST",
            &oidc.endpoint("device_authorization_endpoint"),
            &[("client_id", "tok-public"), ("scope", scope)],
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    };
    let poll = |device: &Value| {
        http(
            "POST",
            &oidc.endpoint("token_endpoint"),
            &[
                ("grant_type", DEVICE_CODE),
                ("device_code", device["device_code"].as_str().unwrap()),
                ("client_id", "tok-public"),
            ],
            None,
        )
        .json()
    };
    let device = start("openid offline_access");
    assert_eq!(device["interval"], 1, "server.mjs adds a short interval");
    assert_eq!(poll(&device)["error"], "authorization_pending");
    let out = oidc.device_browser(
        device["verification_uri"].as_str().unwrap(),
        Some(device["user_code"].as_str().unwrap()),
        &[("OIDC_BROWSER_LOGIN", "bob")],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let tokens = poll(&device);
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["sub"], "bob", "{tokens}");
    // No prompt in a device request: offline_access alone brings a refresh token.
    assert!(tokens["refresh_token"].is_string(), "{tokens}");

    // The complete URI needs no code; denying there is access_denied for the poller.
    let denied = start("openid");
    let out = oidc.device_browser(
        denied["verification_uri_complete"].as_str().unwrap(),
        None,
        &[("OIDC_BROWSER_DENY", "1")],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(poll(&denied)["error"], "access_denied");
}

/// What the tok feature work will lean on: resources give JWTs, the committed keys match
/// the private_key_jwt clients, token exchange works, PAR is required where registered.
#[test]
fn the_harness_issues_jwts_for_resources_takes_key_assertions_and_exchanges_tokens() {
    let oidc = Oidc::start();
    let token_url = oidc.endpoint("token_endpoint");
    let cc = |form: &[(&str, &str)], basic| http("POST", &token_url, form, basic);

    let jwt =
        cc(&[("grant_type", "client_credentials"), ("resource", API), ("scope", "api:read")], Some(BASIC))
            .json();
    let c = claims(jwt["access_token"].as_str().unwrap());
    assert_eq!((c["aud"].as_str(), c["scope"].as_str()), (Some(API), Some("api:read")), "{c}");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);
    assert_eq!(jwt["expires_in"], 300);

    for (client, file, alg) in [
        ("tok-rsa", "test-only-client-rsa.pem", jsonwebtoken::Algorithm::RS256),
        ("tok-rsa", "test-only-client-rsa.pem", jsonwebtoken::Algorithm::PS256),
        ("tok-ec", "test-only-client-ec-p256.pem", jsonwebtoken::Algorithm::ES256),
        ("tok-ed25519", "test-only-client-ed25519.pem", jsonwebtoken::Algorithm::EdDSA),
    ] {
        let pem = std::fs::read(harness_dir().join("keys").join(file)).unwrap();
        let key = match alg {
            jsonwebtoken::Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(&pem),
            jsonwebtoken::Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(&pem),
            _ => jsonwebtoken::EncodingKey::from_rsa_pem(&pem),
        }
        .unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let assertion_claims = serde_json::json!({
            "iss": client, "sub": client, "aud": token_url, "jti": random_state(), "iat": now, "exp": now + 60,
        });
        let assertion =
            jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &assertion_claims, &key).unwrap();
        let reply = cc(
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", &assertion),
            ],
            None,
        );
        assert_eq!(reply.status, 200, "{client} {alg:?}: {}", reply.body);
    }

    let subject = jwt["access_token"].as_str().unwrap();
    let exchanged = cc(
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("audience", "https://ledger.tok.test/"),
        ],
        Some(POST),
    )
    .json();
    assert_eq!(exchanged["issued_token_type"], ACCESS_TOKEN_TYPE, "{exchanged}");
    let c = claims(exchanged["access_token"].as_str().unwrap());
    assert_eq!((c["sub"].as_str(), c["act"]["sub"].as_str()), (Some(BASIC.0), Some(POST.0)), "{c}");
    let bogus = cc(
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", "bogus"),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
        ],
        Some(POST),
    );
    assert_eq!(bogus.json()["error"], "invalid_grant");

    // tok-par sent to the browser without PAR: the provider refuses; pushed, it accepts.
    let par_form = [
        ("response_type", "code"),
        ("client_id", "tok-par"),
        ("redirect_uri", "http://127.0.0.1:5555/callback"),
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let mut direct = url::Url::parse(&oidc.endpoint("authorization_endpoint")).unwrap();
    direct.query_pairs_mut().extend_pairs(par_form);
    let refused = http("GET", direct.as_str(), &[], None);
    assert_eq!(refused.status, 303, "{}", refused.head);
    assert!(refused.head.contains("error=invalid_request"), "{}", refused.head);
    let pushed = http(
        "POST",
        &oidc.endpoint("pushed_authorization_request_endpoint"),
        &par_form,
        Some(("tok-par", "tok-par-secret")),
    );
    assert_eq!(pushed.status, 201, "{}", pushed.body);
    assert!(pushed.json()["request_uri"].as_str().unwrap().starts_with("urn:ietf:params:oauth:request_uri:"));
}

#[test]
fn the_provider_exits_when_its_stdin_closes() {
    install_once();
    let mut child = Command::new(node())
        .arg(harness_dir().join("server.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("http://127.0.0.1:"), "{line:?}");
    drop(child.stdin.take());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("server.mjs outlived its stdin");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
}

/// tok's own discovery and client assertions against the provider: `--issuer` finds the
/// token endpoint, and each assertion method buys client-credentials tokens (a second
/// one needs a fresh `jti`: the provider refuses a replay).
#[test]
fn tok_discovers_the_provider_and_authenticates_with_client_assertions() {
    let oidc = Oidc::start();
    let keys = harness_dir().join("keys");
    let introspection = oidc.endpoint("introspection_endpoint");
    let discovered_before = oidc.count("GET /.well-known/openid-configuration");
    /// Client, method, and the key file with its kid for private_key_jwt.
    type Case<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);
    let cases: [Case; 4] = [
        ("tok-secret-jwt", "client_secret_jwt", None),
        ("tok-rsa", "private_key_jwt", Some(("test-only-client-rsa.pem", "test-rsa"))),
        ("tok-ec", "private_key_jwt", Some(("test-only-client-ec-p256.pem", "test-ec"))),
        ("tok-ed25519", "private_key_jwt", Some(("test-only-client-ed25519.pem", "test-ed25519"))),
    ];
    for (client, auth, key) in cases {
        let home = Home::new();
        let mut cmd = home.tok();
        cmd.args([
            "-v",
            "login",
            "api",
            "--provider",
            "oauth2",
            "--issuer",
            &oidc.issuer,
            "--client-id",
            client,
        ])
        .args(["--auth", auth]);
        match key {
            Some((file, kid)) => {
                cmd.arg("--key-file").arg(keys.join(file)).args(["--key-id", kid]);
            }
            None => {
                cmd.arg("--secret-stdin").write_stdin("tok-secret-jwt-secret-0123456789abcdef0123456789\n");
            }
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{client}: {}\nserver log:\n{}", stderr_of(&out), oidc.server_log());
        let token = home.print("api");
        let intro = http("POST", &introspection, &[("token", &token)], Some(BASIC)).json();
        assert_eq!(intro["client_id"].as_str(), Some(client), "{intro}");
        let again = home.tok().args(["refresh", "api"]).output().unwrap();
        assert!(
            again.status.success(),
            "{client}: {}\nserver log:\n{}",
            stderr_of(&again),
            oidc.server_log()
        );
        assert_ne!(home.print("api"), token);
        if let Some((file, _)) = key {
            let pem = std::fs::read_to_string(keys.join(file)).unwrap();
            let line = pem.lines().nth(1).unwrap();
            assert!(!stderr_of(&out).contains(line), "{client}: the key shows");
        }
    }
    assert_eq!(
        oidc.count("GET /.well-known/openid-configuration") - discovered_before,
        4,
        "once per login, never at refresh"
    );
    assert_eq!(oidc.count("POST /token"), 8);
}
