//! `tok proxy`: a local gateway that adds a fresh credential to every request, against
//! the sandbox's generic API (`/echo/...`, `/bytes`), with curl, Python and raw sockets
//! as clients.

use crate::support::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `tok proxy`: its base URL, and its stderr as it comes.
struct Proxy {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(home: &Home, args: &[&str]) -> Proxy {
        let mut cmd = home.process();
        cmd.arg("proxy").args(args);
        Proxy::spawn(cmd)
    }

    fn spawn(mut cmd: std::process::Command) -> Proxy {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
        let mut child = spawn_patiently(&mut cmd);
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut from = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = from.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let mut proxy = Proxy { child, base: line.trim_end().to_string(), stderr, reader: Some(reader) };
        if proxy.base.is_empty() {
            let status = proxy.child.wait().unwrap();
            proxy.join();
            panic!("tok proxy did not start ({status}): {}", proxy.stderr());
        }
        proxy
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn join(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap()
    }

    fn capability(&self) -> String {
        self.base.rsplit('/').next().unwrap().to_string()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM (a kill elsewhere); the exit status and everything it said.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        #[cfg(unix)]
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        #[cfg(not(unix))]
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        self.join();
        (status, self.stderr())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sandbox, a NexterPay login on it, and `tok proxy nexterpay ARGS...` (dropped in
/// reverse: the proxy first).
fn nexterpay_proxy(args: &[&str]) -> (Sandbox, Home, Proxy) {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let proxy = Proxy::start(&home, args);
    (sb, home, proxy)
}

fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn json_of(response: reqwest::blocking::Response) -> Value {
    let text = response.text().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Sends raw bytes and reads the answer until the server closes or `limit` passes.
fn raw(port: u16, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

fn echo_count(sb: &Sandbox) -> u64 {
    let stats = sb.stats();
    stats["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.contains(" /echo"))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum()
}

fn revoke(sb: &Sandbox) {
    assert_eq!(sb.call("POST", "/_sandbox/revoke", "{}")["ok"], true);
}

#[test]
fn requests_get_the_profiles_credential_and_nothing_of_the_clients() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    let proxy = Proxy::start(&home, &["nexterpay"]);
    assert!(proxy.base.starts_with("http://127.0.0.1:"), "{}", proxy.base);
    assert_eq!(proxy.capability().len(), 32, "192 bits, base64url");
    let response = client()
        .post(proxy.url("/echo/a/b?x=1&y=%20two"))
        .header("Authorization", "Bearer client-own")
        .header("Connection", "X-Hop")
        .header("X-Hop", "1")
        .header("X-Custom", "kept")
        .header("Content-Type", "application/json")
        .body(r#"{"amount": 42}"#)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = json_of(response);
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/echo/a/b");
    assert_eq!(seen["query"], "x=1&y=%20two");
    assert_eq!(seen["body"], r#"{"amount": 42}"#);
    assert_eq!(seen["headers"]["authorization"], format!("Bearer {token}"));
    assert_eq!(seen["headers"]["host"], sb.url.trim_start_matches("http://"));
    assert_eq!(seen["headers"]["x-custom"], "kept");
    assert!(seen["headers"].get("x-hop").is_none(), "hop-by-hop headers stay behind: {seen}");
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the stored token is used: no token request");
    let capability = proxy.capability();
    let (status, stderr) = proxy.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("proxy: POST /echo/a/b -> 200 ("), "{stderr}");
    for hidden in [token.as_str(), &capability, "x=1", "client-own"] {
        assert!(!stderr.contains(hidden), "{hidden} in {stderr}");
    }
    assert!(stderr.contains("stopped after 1 connection"), "{stderr}");
}

#[test]
fn in_github_actions_the_capability_is_masked_first() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let mut cmd = home.process();
    cmd.args(["proxy", "nexterpay"]).env("GITHUB_ACTIONS", "true");
    let proxy = Proxy::spawn(cmd);
    let capability = proxy.capability();
    let (_, stderr) = proxy.stop();
    assert!(stderr.starts_with(&format!("::add-mask::{capability}\n")), "{stderr}");
    assert_eq!(stderr.matches(&capability).count(), 1, "{stderr}");
}

#[test]
fn a_fresh_token_costs_no_store_read_and_no_lock() {
    let (sb, home, proxy) = nexterpay_proxy(&["nexterpay"]);
    // With the store and the locks gone, a proxy that read the store would find no token
    // and fetch one, and one that took the lock would fail to.
    std::fs::remove_dir_all(home.path().join("store")).unwrap();
    let _ = std::fs::remove_dir_all(home.path().join("locks"));
    std::fs::write(home.path().join("locks"), "not a directory").unwrap();
    let http = client();
    for _ in 0..20 {
        assert_eq!(http.get(proxy.url("/echo/fresh")).send().unwrap().status(), 200);
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1, "only the login's");
}

#[test]
fn without_the_capability_nothing_reaches_the_api() {
    let (sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    let cap = proxy.capability();
    let port = proxy.port();
    let http = client();
    let root = format!("http://127.0.0.1:{port}");
    let mut near = cap.clone().into_bytes();
    near[31] = if near[31] == b'A' { b'B' } else { b'A' };
    let near = String::from_utf8(near).unwrap();
    for path in [
        "/echo/x".to_string(),
        format!("/{near}/echo/x"),
        format!("/{}/echo/x", &cap[..31]),
        format!("/x/{cap}/echo/x"),
    ] {
        let response = http.get(format!("{root}{path}")).send().unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    // Not a forward proxy: absolute-form targets and CONNECT.
    let absolute = raw(
        port,
        format!("GET {}/echo/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", sb.url).as_bytes(),
    );
    assert!(absolute.starts_with("HTTP/1.1 400"), "{absolute}");
    let connect = raw(port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert!(connect.starts_with("HTTP/1.1 405"), "{connect}");
    assert_eq!(echo_count(&sb), 0, "no request reached the API");
    // The right one does.
    assert_eq!(http.get(proxy.url("/echo/x")).send().unwrap().status(), 200);
    assert_eq!(echo_count(&sb), 1);
    let (_, stderr) = proxy.stop();
    assert!(!stderr.contains(&cap) && !stderr.contains(&near), "{stderr}");
    assert!(stderr.contains("GET (no capability) -> 404"), "{stderr}");
}

#[test]
fn a_revoked_token_is_replaced_once_for_twenty_requests_at_once() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let old = home.print("nexterpay");
    let proxy = Proxy::start(&home, &["nexterpay"]);
    revoke(&sb);
    let http = client();
    let url = proxy.url("/echo/pay");
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            std::thread::spawn(move || {
                http.post(&url).body(format!("{{\"n\": {i}}}")).send().unwrap().status().as_u16()
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(sb.count(CREATE_TOKEN), 2, "exactly one refresh");
    assert_ne!(home.print("nexterpay"), old, "the new token is in the store for every other tok");
    let (_, stderr) = proxy.stop();
    assert!(stderr.contains("401; new token, sent again"), "{stderr}");
}

#[test]
fn several_revocations_in_a_row_are_each_replaced_at_once() {
    let (sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    let http = client();
    for round in 1..=4u64 {
        revoke(&sb);
        let response = http.post(proxy.url("/echo/pay")).body("{}").send().unwrap();
        assert_eq!(response.status(), 200, "revocation {round}");
        assert_eq!(sb.count(CREATE_TOKEN), 1 + round, "one new token per revocation");
    }
    let (_, stderr) = proxy.stop();
    assert_eq!(stderr.matches("401; new token, sent again").count(), 4, "{stderr}");
}

#[test]
fn a_401_for_a_token_just_obtained_costs_one_token_request_not_a_loop() {
    let (sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    // Refused whatever the token: the account lacks a permission for this path.
    sb.fault(
        json!({ "path": "/echo/forbidden", "status": 401, "body": "{\"error\": \"insufficient_scope\"}" }),
    );
    let http = client();
    for _ in 0..5 {
        let response = http.post(proxy.url("/echo/forbidden")).body("{}").send().unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.text().unwrap(), "{\"error\": \"insufficient_scope\"}", "the API's own answer");
    }
    assert_eq!(sb.count(CREATE_TOKEN), 2, "the login's and exactly one more");
    assert_eq!(sb.count("POST /echo/forbidden"), 6, "one request sent again, once");
    // The token it got is kept: the other paths work with it.
    assert_eq!(http.post(proxy.url("/echo/fine")).body("{}").send().unwrap().status(), 200);
    assert_eq!(sb.count(CREATE_TOKEN), 2);
    // The path stays refused after the token worked elsewhere: still no token request.
    for _ in 0..3 {
        assert_eq!(http.post(proxy.url("/echo/forbidden")).body("{}").send().unwrap().status(), 401);
        assert_eq!(http.post(proxy.url("/echo/fine")).body("{}").send().unwrap().status(), 200);
    }
    assert_eq!(sb.count(CREATE_TOKEN), 2, "alternating with working requests costs no token either");
    let (_, stderr) = proxy.stop();
    assert_eq!(stderr.matches("401; new token, sent again").count(), 1, "{stderr}");
    assert_eq!(
        stderr.matches("401, as with a token just obtained before: passed through").count(),
        7,
        "{stderr}"
    );
}

#[test]
fn a_refused_token_left_in_the_store_is_not_taken_again() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let first = home.print("nexterpay");
    let with_first = std::fs::read(home.store_file("nexterpay")).unwrap();
    let proxy = Proxy::start(&home, &["nexterpay"]);
    let http = client();
    assert_eq!(http.post(proxy.url("/echo/a")).body("{}").send().unwrap().status(), 200);
    revoke(&sb);
    assert_eq!(http.post(proxy.url("/echo/b")).body("{}").send().unwrap().status(), 200);
    assert_eq!(sb.count(CREATE_TOKEN), 2);
    // An old copy puts the refused token back (a restored backup, another tok's stale write).
    std::fs::write(home.store_file("nexterpay"), &with_first).unwrap();
    assert_eq!(home.print("nexterpay"), first);
    revoke(&sb);
    let response = http.post(proxy.url("/echo/c")).body("{}").send().unwrap();
    assert_eq!(response.status(), 200, "a new token, not the refused one from the store");
    assert_eq!(sb.count(CREATE_TOKEN), 3);
    assert_ne!(home.print("nexterpay"), first);
}

#[test]
fn a_body_too_long_to_send_twice_gets_its_401_and_the_next_request_a_new_token() {
    let (sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    revoke(&sb);
    let http = client();
    let big = vec![b'x'; 2 * 1024 * 1024];
    let response = http.post(proxy.url("/echo/upload")).body(big).send().unwrap();
    assert_eq!(response.status(), 401);
    let next = http.post(proxy.url("/echo/small")).body("{}").send().unwrap();
    assert_eq!(next.status(), 200);
    assert_eq!(sb.count(CREATE_TOKEN), 2);
    // Streamed, not cut: the API saw every byte of a long body.
    let seen =
        json_of(http.post(proxy.url("/echo/upload")).body(vec![b'y'; 3 * 1024 * 1024]).send().unwrap());
    assert_eq!(seen["body_bytes"], 3 * 1024 * 1024);
    let (_, stderr) = proxy.stop();
    assert!(stderr.contains("401 passed through: the body was over 1 MiB to send twice"), "{stderr}");
}

#[test]
fn no_retry_passes_every_401_through_and_gets_no_token() {
    let (sb, _home, proxy) = nexterpay_proxy(&["nexterpay", "--no-retry"]);
    revoke(&sb);
    let http = client();
    for _ in 0..3 {
        assert_eq!(http.post(proxy.url("/echo/x")).body("{}").send().unwrap().status(), 401);
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1, "only the login's");
    let (_, stderr) = proxy.stop();
    assert_eq!(stderr.matches("401 passed through (--no-retry)").count(), 3, "{stderr}");
}

#[test]
fn responses_stream_through_as_they_come() {
    let (sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    // The sandbox sends 64 KiB, then waits for the release: only a gateway that passes
    // bytes on as they come lets the client read them first.
    let mut response = client().get(proxy.url("/bytes?n=1048576&hold=1")).send().unwrap();
    assert_eq!(response.status(), 200);
    let mut first = vec![0u8; 32 * 1024];
    response.read_exact(&mut first).unwrap();
    assert_eq!(sb.call("POST", "/_sandbox/release", "{}")["ok"], true);
    let mut rest = Vec::new();
    response.read_to_end(&mut rest).unwrap();
    assert_eq!(first.len() + rest.len(), 1_048_576);
    assert_eq!(sb.stats()["hold_timeouts"], 0, "the first bytes arrived before the release");
}

#[cfg(target_os = "linux")]
#[test]
fn fifty_requests_with_an_expiring_token_make_one_token_request() {
    let faketime = faketime_library();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let clock = home.path().join("clock");
    std::fs::write(&clock, "+0\n").unwrap();
    let mut cmd = home.process();
    cmd.args(["proxy", "nexterpay", "--min-ttl", "1h"])
        .env("LD_PRELOAD", faketime)
        .env("FAKETIME_TIMESTAMP_FILE", &clock)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let proxy = Proxy::spawn(cmd);
    let http = client();
    assert_eq!(http.get(proxy.url("/echo/warm")).send().unwrap().status(), 200);
    assert_eq!(sb.count(CREATE_TOKEN), 1, "fresh: no refresh yet");
    // Nine and a half hours on (the sandbox's tokens last ten): within --min-ttl.
    std::fs::write(&clock, "+34200\n").unwrap();
    sb.settings(json!({ "clock_offset": 34200 }));
    let barrier = Arc::new(std::sync::Barrier::new(50));
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let (http, url, barrier) = (http.clone(), proxy.url("/echo/x"), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                http.get(&url).send().unwrap().status().as_u16()
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(sb.count(CREATE_TOKEN), 2, "one token request for fifty requests");
    let (_, stderr) = proxy.stop();
    assert_eq!(stderr.matches("new token").count(), 1, "{stderr}");
}

#[test]
fn upstream_down_is_502_slow_is_504_and_the_gateway_stays_up() {
    let sb = Sandbox::start();
    let home = Home::new();
    let token_url = format!("{}/oauth2/generic/token", sb.url);
    let out = home
        .tok()
        .args([
            "login",
            "api",
            "--provider",
            "oauth2",
            "--token-url",
            &token_url,
            "--client-id",
            "demo-client",
        ])
        .args(["--secret-stdin"])
        .write_stdin("demo-secret\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let down = Proxy::start(&home, &["api", "--upstream", &format!("http://{closed}")]);
    let response = client().get(down.url("/echo/x")).send().unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem = json_of(response);
    assert_eq!(problem["status"], 502);
    assert!(
        problem["detail"].as_str().unwrap().starts_with("tok proxy: cannot reach 127.0.0.1"),
        "{problem}"
    );
    drop(down);

    sb.fault(json!({ "path": "/echo/slow", "status": 200, "body": "{}", "delay_ms": 1500 }));
    let slow = Proxy::start(&home, &["--timeout", "300ms", "api", "--upstream", &sb.url]);
    let response = client().get(slow.url("/echo/slow")).send().unwrap();
    assert_eq!(response.status(), 504);
    assert!(json_of(response)["detail"].as_str().unwrap().contains("within 300ms (--timeout)"));
    assert_eq!(client().get(slow.url("/echo/fine")).send().unwrap().status(), 200, "still serving");
    // An answer whose body pauses longer than --timeout is cut off, not waited on for ever.
    sb.fault(json!({ "path": "/echo/trickle", "status": 200, "body": "{}", "size": 400, "trickle_ms": 600 }));
    let response = client().get(slow.url("/echo/trickle")).send().unwrap();
    assert_eq!(response.status(), 200, "the head came in time");
    // Cut off by the gateway (a broken body), not by this client's own 30 s limit.
    let cut = response.bytes().expect_err("the stalled body ends in an error, not a short success");
    assert!(!cut.is_timeout(), "{cut:?}");
    assert_eq!(client().get(slow.url("/echo/fine")).send().unwrap().status(), 200, "still serving");
    // A body that never comes in full: 408 after --timeout, not a connection held for ever.
    let stalled = raw(
        slow.port(),
        format!(
            "POST /{}/echo/stalled HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc",
            slow.capability(),
            slow.port()
        )
        .as_bytes(),
    );
    assert!(stalled.starts_with("HTTP/1.1 408"), "{stalled}");
    assert!(stalled.contains("did not come within 300ms (--timeout)"), "{stalled}");
    let (status, stderr) = slow.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("GET /echo/slow -> 504"), "{stderr}");
}

#[test]
fn malformed_requests_and_vanishing_clients_do_not_take_it_down() {
    let (_sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    let port = proxy.port();
    let garbage = raw(port, b"\x16\x03\x01 not http at all\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage:?}");
    let bad_header = raw(port, b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n");
    assert!(bad_header.starts_with("HTTP/1.1 400"), "{bad_header:?}");
    // Framed two ways (a length and chunks): the API gets it framed the way it was read.
    let smuggled = raw(
        port,
        format!(
            "POST /{}/echo/framing HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 40\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            proxy.capability()
        )
        .as_bytes(),
    );
    let seen: Value =
        serde_json::from_str(smuggled.split_once("\r\n\r\n").map_or("", |(_, b)| b)).unwrap_or_default();
    assert_eq!(
        (seen["body"].as_str(), seen["headers"].get("content-length")),
        (Some("abc"), None),
        "{smuggled}"
    );
    // A client that promises a megabyte, sends ten bytes and leaves.
    {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let head = format!(
            "POST /{}/echo/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 1048576\r\n\r\n0123456789",
            proxy.capability()
        );
        stream.write_all(head.as_bytes()).unwrap();
    }
    // And one that leaves in the middle of a long answer.
    {
        let mut response = client().get(proxy.url("/bytes?n=50000000")).send().unwrap();
        let mut some = [0u8; 1000];
        response.read_exact(&mut some).unwrap();
    }
    assert_eq!(client().get(proxy.url("/echo/after")).send().unwrap().status(), 200);
    let (status, stderr) = proxy.stop();
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn curl_and_python_are_clients_like_any_other() {
    let (_sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    let curl = std::process::Command::new("curl")
        .args(["-sS", "-X", "POST", "-H", "Content-Type: application/json", "-d", "{\"from\": \"curl\"}"])
        .arg(proxy.url("/Catalog/GetCountries"))
        .output()
        .expect("these tests need curl on PATH");
    assert!(
        String::from_utf8_lossy(&curl.stdout).contains("France"),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    let python = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import json, sys, urllib.request\n\
             base = sys.argv[1]\n\
             r = urllib.request.urlopen(urllib.request.Request(base + '/echo/py?lang=python', data=b'{\"from\": \"python\"}', method='PUT'))\n\
             seen = json.load(r)\n\
             print(r.status, seen['method'], seen['body'], seen['headers']['authorization'][:7])\n",
        )
        .arg(&proxy.base)
        .output()
        .expect("these tests need python3 on PATH");
    assert_eq!(
        String::from_utf8_lossy(&python.stdout).trim(),
        r#"200 PUT {"from": "python"} Bearer"#,
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
}

#[test]
fn api_keys_nelnet_trace_ids_and_netdirector_v1_tokens() {
    let sb = Sandbox::start();
    let home = Home::new();
    // An API key goes in its own header; a 401 has nothing to refresh.
    let out = home.api_key_login(&sb);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let keyed = Proxy::start(&home, &["acme-key"]);
    let seen = json_of(client().get(keyed.url("/echo/k")).header("Api-key", "client-own").send().unwrap());
    assert_eq!(seen["headers"]["api-key"], API_KEY);
    assert!(seen["headers"].get("authorization").is_none(), "{seen}");
    drop(keyed);

    // Nelnet: a fresh nps-trace-uuid on every request, unless the client sent one.
    let out = home
        .tok()
        .args(["login", "nelnet", "--env", "uat", "--base-url", &sb.url])
        .args(["--key-id", "42f0c9d1-5b6e-4c1a-9d3e-7a8b9c0d1e2f", "--secret-stdin"])
        .write_stdin("nps-demo-api-key-0f9e8d7c6b5a\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let nelnet = Proxy::start(&home, &["nelnet"]);
    let http = client();
    let pay = || json_of(http.post(nelnet.url("/payments")).body("{}").send().unwrap());
    let (a, b) = (pay(), pay());
    assert_eq!(
        (a["responseCode"].as_str(), b["responseCode"].as_str()),
        (Some("S000"), Some("S000")),
        "{a} {b}"
    );
    assert_ne!(a["traceId"], b["traceId"]);
    let mine = json_of(
        http.post(nelnet.url("/payments"))
            .header("nps-trace-uuid", "client-chosen-1")
            .body("{}")
            .send()
            .unwrap(),
    );
    assert_eq!(mine["traceId"], "client-chosen-1");
    drop(nelnet);

    // NetDirector V1: newer tokens in responses are kept, and not handed to the client.
    #[cfg(unix)]
    {
        home.v1_login(&sb);
        let before = home.print("checkout");
        let v1 = Proxy::start(&home, &["checkout"]);
        let response =
            http.get(v1.url(&format!("/api/transaction?uuid={TRANSACTION}&expand=customer"))).send().unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("authentication-token").is_none(), "kept back from the client");
        let second = http.get(v1.url(&format!("/api/transaction?uuid={TRANSACTION}"))).send().unwrap();
        assert_eq!(second.status(), 200, "the adopted token works");
        let (_, stderr) = v1.stop();
        assert_ne!(home.print("checkout"), before, "the newer token is in the store: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn netdirector_v1_the_next_request_has_the_token_of_the_answer_before() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.v1_login(&sb);
    let proxy = Proxy::start(&home, &["checkout"]);
    let http = client();
    let url = proxy.url(&format!("/api/transaction?uuid={TRANSACTION}"));
    let mut sent = Vec::new();
    for _ in 0..5 {
        assert_eq!(http.get(&url).send().unwrap().status(), 200);
        sent.push(sb.last("GET /api/transaction")["headers"]["authorization"].as_str().unwrap().to_string());
    }
    // Every answer carries a newer token, adopted before the answer reaches the client.
    for pair in sent.windows(2) {
        assert_ne!(pair[0], pair[1], "a request went out with the token an earlier answer replaced");
    }
}

/// A request to the gateway as a browser page could make it: `headers` on top of the
/// right Host, unless they name one.
fn as_page(proxy: &Proxy, method: &str, path: &str, headers: &[(&str, &str)]) -> reqwest::blocking::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client().request(method, proxy.url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().unwrap()
}

#[test]
fn web_pages_cannot_use_it_or_learn_the_capability() {
    let (sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    let port = proxy.port();
    let own = format!("http://127.0.0.1:{port}");
    let elsewhere = format!("evil.example:{port}");
    type Headers<'a> = &'a [(&'a str, &'a str)];
    let refused: &[(&str, Headers, u16)] = &[
        // DNS rebinding: the page's own name, resolved to 127.0.0.1.
        ("GET", &[("Host", &elsewhere)], 421),
        ("GET", &[("Host", "127.0.0.1:1")], 421),
        ("GET", &[("Origin", "http://evil.example")], 403),
        // Another local program's page: the same site, another origin.
        ("GET", &[("Origin", "http://127.0.0.1:3000")], 403),
        ("POST", &[("Origin", "null")], 403),
        ("GET", &[("Sec-Fetch-Site", "cross-site")], 403),
        ("GET", &[("Sec-Fetch-Site", "same-site")], 403),
        // A preflight gets no permission: the browser sends nothing after it.
        ("OPTIONS", &[("Origin", "http://evil.example"), ("Access-Control-Request-Method", "POST")], 403),
        // An echo would hand back the request as sent, token included.
        ("TRACE", &[], 405),
        ("TRACK", &[], 405),
    ];
    for (method, headers, want) in refused {
        let response = as_page(&proxy, method, "/echo/page", headers);
        assert_eq!(response.status(), *want, "{method} {headers:?}");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        assert!(response.headers().get("access-control-allow-origin").is_none());
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(echo_count(&sb), 0, "nothing reached the API");
    // The gateway's own pages may call it; Referer and Origin stay behind.
    let referer = proxy.url("/app/index.html");
    let allowed: &[&[(&str, &str)]] = &[
        &[("Host", &format!("localhost:{port}"))],
        &[("Origin", &own), ("Referer", &referer), ("Sec-Fetch-Site", "same-origin")],
        &[("Sec-Fetch-Site", "none")],
    ];
    for headers in allowed {
        let response = as_page(&proxy, "POST", "/echo/page", headers);
        assert_eq!(response.status(), 200, "{headers:?}");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        let seen = json_of(response);
        assert!(
            seen["headers"].get("referer").is_none() && seen["headers"].get("origin").is_none(),
            "{seen}"
        );
    }
    // The API's cookies are the capability's; its CORS and referrer policy go.
    sb.fault(json!({ "path": "/echo/login", "status": 200, "body": "{}", "headers": {
        "Set-Cookie": "sid=abc; Domain=127.0.0.1; Path=/; HttpOnly",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Credentials": "true",
        "Referrer-Policy": "unsafe-url",
    }}));
    let response = as_page(&proxy, "GET", "/echo/login", &[]);
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["set-cookie"], format!("sid=abc; Path=/{}; HttpOnly", proxy.capability()));
    assert_eq!(headers.get_all("referrer-policy").iter().collect::<Vec<_>>(), ["no-referrer"]);
    assert!(!headers.keys().any(|k| k.as_str().starts_with("access-control-")), "{headers:?}");
    let (_, stderr) = proxy.stop();
    assert!(stderr.contains("GET (another Host) -> 421"), "{stderr}");
    assert!(stderr.contains("TRACE (TRACE) -> 405"), "{stderr}");
}

#[test]
fn three_hundred_silent_connections_do_not_keep_a_request_out() {
    let (_sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    let port = proxy.port();
    // Connections that never send a byte, and some that stop inside their headers.
    let silent: Vec<TcpStream> = (0..300)
        .map(|i| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            if i % 3 == 0 {
                stream.write_all(b"GET /").unwrap();
            }
            stream
        })
        .collect();
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Under the 5 s a silent connection may take: room must come from closing one.
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(4)).build().unwrap();
    let started = std::time::Instant::now();
    let response = http.get(proxy.url("/echo/after")).send();
    assert_eq!(response.map(|r| r.status().as_u16()).ok(), Some(200), "after {:?}", started.elapsed());
    // Room was made by closing silent ones, not by serving more than 256 at once.
    let closed = silent
        .iter()
        .filter(|stream| {
            let mut stream: &TcpStream = stream;
            stream.set_nonblocking(true).unwrap();
            matches!(stream.read(&mut [0u8; 1]), Ok(0))
        })
        .count();
    assert!(closed > 300 - 256, "{closed} closed");
    drop(silent);
    let (status, stderr) = proxy.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn listen_takes_a_bare_port_or_localhost() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    for form in ["{port}", "localhost:{port}"] {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let listen = form.replace("{port}", &port.to_string());
        let proxy = Proxy::start(&home, &["nexterpay", "--listen", &listen]);
        assert!(proxy.base.starts_with(&format!("http://127.0.0.1:{port}/")), "{listen}: {}", proxy.base);
        let via_localhost = proxy.url("/echo/x").replace("127.0.0.1", "localhost");
        assert_eq!(client().get(via_localhost).send().unwrap().status(), 200, "{listen}");
    }
    let out = home.tok().args(["proxy", "nexterpay", "--listen", "localhost"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("expected a port (8700)"), "{}", stderr_of(&out));
}

#[test]
fn redirects_within_the_api_come_back_through_the_gateway() {
    let (sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    let to = format!("{}/echo/next", sb.url).replace('/', "%2F").replace(':', "%3A");
    let response = client().get(proxy.url(&format!("/echo/start?redirect={to}"))).send().unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], proxy.url("/echo/next"));
}

#[test]
fn settings_are_checked_before_anything_is_served() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let fails = |args: &[&str]| {
        let out = home.tok().arg("proxy").args(args).output().unwrap();
        assert!(out.stdout.is_empty(), "nothing on stdout: {args:?}");
        (out.status.code(), stderr_of(&out))
    };
    let (code, stderr) = fails(&["nexterpay", "--listen", "0.0.0.0:0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a loopback address") && stderr.contains("--allow-remote"), "{stderr}");
    let (code, stderr) = fails(&["nexterpay", "--upstream", "https://elsewhere.example"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is not on the API host of profile 'nexterpay'"), "{stderr}");
    let (code, stderr) = fails(&["nexterpay", "--upstream", "http://api.example.com"]);
    assert_eq!(code, Some(2), "{stderr}");
    let out = home
        .tok()
        .args(["login", "n3xt", "--project", "project-test-84ff27dd-0cbe-423d-964c-d89b01324c61"])
        .args(["--client-id", "demo-client", "--base-url", &sb.url, "--secret-stdin"])
        .write_stdin("demo-secret\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let (code, stderr) = fails(&["n3xt"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("n3xt documents no API host: tok proxy needs --upstream URL"), "{stderr}");
    let out = home
        .tok()
        .args(["login", "n3xt", "--upstream", "http://api.example.com", "--secret-stdin"])
        .write_stdin("demo-secret\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a plain-HTTP upstream is refused at login: {}", stderr_of(&out));
    // Kept as a setting, the upstream serves tok proxy and tok curl's relative URLs alike.
    let out = home
        .tok()
        .args(["login", "n3xt", "--upstream", &sb.url, "--secret-stdin"])
        .write_stdin("demo-secret\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let proxy = Proxy::start(&home, &["n3xt"]);
    assert_eq!(client().get(proxy.url("/echo/n3xt")).send().unwrap().status(), 200);
    drop(proxy);
    // Beyond loopback only when asked, and with a warning.
    let open = Proxy::start(&home, &["nexterpay", "--listen", "0.0.0.0:0", "--allow-remote"]);
    assert!(open.base.starts_with("http://0.0.0.0:"), "{}", open.base);
    let (_, stderr) = open.stop();
    assert!(stderr.contains("warning: proxy: listening on 0.0.0.0:"), "{stderr}");
    // A port in use fails before any network call.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let fresh = Home::new();
    let out = fresh.tok_from_env(&sb).args(["proxy", "nexterpay", "--listen", &port]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains(&format!("cannot listen on {port}")), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 1, "no token fetched for a proxy that cannot listen");
    // Wrong credentials fail at start, with the usual exit code.
    let wrong = Home::new();
    let (code, stderr) = {
        let out = wrong
            .tok_from_env(&sb)
            .env("TOK_NEXTERPAY_PASSWORD", "wrong")
            .args(["proxy", "nexterpay"])
            .output()
            .unwrap();
        assert!(out.stdout.is_empty());
        (out.status.code(), stderr_of(&out))
    };
    assert_eq!(code, Some(4), "{stderr}");
}

#[cfg(unix)]
#[test]
fn sigterm_lets_requests_under_way_finish() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    sb.fault(json!({ "path": "/echo/slow", "status": 200, "body": "{\"done\": true}", "delay_ms": 700 }));
    let proxy = Proxy::start(&home, &["nexterpay"]);
    let url = proxy.url("/echo/slow");
    let pending = std::thread::spawn(move || {
        let response = client().get(&url).send().unwrap();
        (response.status().as_u16(), response.text().unwrap())
    });
    // Stop once the request has reached the sandbox.
    while sb.count("GET /echo/slow") == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (status, stderr) = proxy.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(pending.join().unwrap(), (200, "{\"done\": true}".to_string()));
    assert!(stderr.contains("stopping; waiting up to 30s"), "{stderr}");
}

#[test]
fn paths_methods_and_hosts_that_would_reach_past_the_upstream_are_refused() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let proxy = Proxy::start(&home, &["nexterpay", "--upstream", &format!("{}/echo/base/", sb.url)]);
    let (port, cap) = (proxy.port(), proxy.capability());
    let ask = |method: &str, target: &str, extra: &str| {
        let request = format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n"
        );
        raw(port, request.as_bytes())
    };
    for path in [
        "/../../_sandbox/stats",
        "/%2e%2e/%2e%2e/_sandbox/stats",
        "/%2E%2E/%2e%2E/_sandbox/stats",
        "/%2E./.%2e/_sandbox/stats",
        "/a/../../../_sandbox/stats",
        "/..%5c..%5c_sandbox/stats",
        "/x%2f..%2f..%2f..%2f_sandbox/stats",
        "/..;/..;/_sandbox/stats",
    ] {
        let reply = ask("GET", &format!("/{cap}{path}"), "");
        assert!(reply.starts_with("HTTP/1.1 400"), "{path}: {reply}");
        assert!(reply.contains("application/problem+json") && reply.contains("base path"), "{path}: {reply}");
    }
    for method in ["trace", "Trace", "track", "connect"] {
        let reply = ask(method, &format!("/{cap}/x"), "");
        assert!(reply.starts_with("HTTP/1.1 405"), "{method}: {reply}");
    }
    for extra in ["Host: evil.example\r\n".to_string(), format!("Host: 127.0.0.1:{port}\r\n")] {
        let reply = ask("GET", &format!("/{cap}/x"), &extra);
        assert!(reply.starts_with("HTTP/1.1 400"), "{extra}: {reply}");
    }
    assert_eq!(echo_count(&sb), 0, "nothing reached the API");
    // Dot-segments that stay under the base are resolved there.
    let reply = ask("GET", &format!("/{cap}/a/../b/%2e/c"), "");
    assert!(reply.starts_with("HTTP/1.1 200") && reply.contains("\"path\":\"/echo/base/b/c\""), "{reply}");
    let (_, stderr) = proxy.stop();
    assert!(stderr.contains("GET (a path out of the upstream) -> 400"), "{stderr}");
    assert!(stderr.contains("GET (two Hosts) -> 400"), "{stderr}");
}

#[test]
fn only_cookies_the_api_set_go_back_to_it() {
    let (sb, _home, proxy) = nexterpay_proxy(&["nexterpay"]);
    let http = client();
    // Another local program's cookie, sent by a browser to every port of 127.0.0.1.
    let others = "dev_session=s3cr3t; theme=dark";
    let seen = json_of(http.get(proxy.url("/echo/a")).header("Cookie", others).send().unwrap());
    assert!(seen["headers"].get("cookie").is_none(), "{seen}");
    sb.fault(json!({ "path": "/echo/login", "status": 200, "body": "{}", "times": 1,
        "headers": { "Set-Cookie": "sid=abc; Path=/; HttpOnly" } }));
    assert_eq!(http.get(proxy.url("/echo/login")).send().unwrap().status(), 200);
    let sent = format!("{others}; sid=abc");
    let seen = json_of(http.get(proxy.url("/echo/b")).header("Cookie", sent).send().unwrap());
    assert_eq!(seen["headers"]["cookie"], "sid=abc", "{seen}");
}
