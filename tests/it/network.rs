//! Every network call is deliberate: proxies only for HTTPS, a deadline per exchange and
//! per command, no retry of a certificate failure, no query string in an error
//! (issue: trust, items 3, 4 and 9).

use crate::support::*;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A local "proxy" that records the first line of each connection and answers 403.
struct FakeProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeProxy {
    fn start() -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut text = String::new();
                // The request head: up to the blank line.
                while let Ok(n) = reader.read_line(&mut text) {
                    if n == 0 || text.ends_with("\r\n\r\n") {
                        break;
                    }
                }
                log.lock().unwrap().push(text);
                let _ = (&stream).write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            }
        });
        FakeProxy { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

#[test]
fn plain_http_to_loopback_never_goes_through_a_proxy() {
    let sb = Sandbox::start();
    let home = Home::new();
    let proxy = FakeProxy::start();
    let mut cmd = home.tok();
    for var in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"] {
        cmd.env(var, &proxy.url);
    }
    cmd.args(["-v", "login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"])
        .write_stdin(format!("{PASSWORD}\n"))
        .assert()
        .success();
    assert!(proxy.seen().is_empty(), "the proxy saw: {:?}", proxy.seen());
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the request went straight to the sandbox");
}

#[test]
fn https_goes_through_the_environment_proxy_as_a_tunnel_and_v_names_it() {
    let home = Home::new();
    let proxy = FakeProxy::start();
    let with_credentials = proxy.url.replace("http://", "http://proxyuser:proxy-pass-9f@");
    let out = home
        .tok()
        .env("HTTPS_PROXY", &with_credentials)
        .env("http_proxy", "http://127.0.0.9:1")
        .args([
            "-v",
            "login",
            "billing",
            "--provider",
            "oauth2",
            "--token-url",
            "https://auth.example.test/oauth2/token",
        ])
        .args(["--client-id", "id", "--secret-stdin"])
        .write_stdin("client-secret-77\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    let seen = proxy.seen();
    assert!(!seen.is_empty(), "the request went to the proxy");
    for head in &seen {
        assert!(head.starts_with("CONNECT auth.example.test:443 "), "a tunnel, TLS end to end: {head}");
        assert!(!head.contains("client-secret-77"), "{head}");
    }
    let err = stderr_of(&out);
    let port = proxy.url.rsplit(':').next().unwrap();
    assert!(err.contains(&format!("through the proxy http://(redacted)@127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("proxy-pass-9f") && !err.contains("proxyuser"), "{err}");

    // NO_PROXY exempts a host: the proxy sees nothing more.
    let before = proxy.seen().len();
    let out = home
        .tok()
        .env("HTTPS_PROXY", &proxy.url)
        .env("NO_PROXY", "example.test")
        .env("TOK_TIMEOUT", "2s")
        .args([
            "login",
            "billing",
            "--provider",
            "oauth2",
            "--token-url",
            "https://auth.example.test/oauth2/token",
        ])
        .args(["--client-id", "id", "--secret-stdin"])
        .write_stdin("client-secret-77\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert_eq!(proxy.seen().len(), before, "NO_PROXY hosts are reached directly");
}

#[test]
fn tok_proxy_reaches_an_https_upstream_through_the_environment_proxy_as_a_tunnel() {
    let sb = Sandbox::start();
    let home = Home::new();
    let token_url = format!("{}/oauth2/generic/token", sb.url);
    let out = home
        .tok()
        .args(["login", "api", "--provider", "oauth2", "--token-url", &token_url])
        .args(["--client-id", "demo-client", "--secret-stdin"])
        .write_stdin("demo-secret\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let proxy = FakeProxy::start();
    let with_credentials = proxy.url.replace("http://", "http://proxy%40user:proxy-pass-9f@");
    let mut cmd = home.process();
    cmd.env("HTTPS_PROXY", &with_credentials)
        .args(["proxy", "api", "--upstream", "https://api.example.test/v1"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = spawn_patiently(&mut cmd);
    let mut base = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut base).unwrap();
    let base = base.trim_end();
    assert!(base.starts_with("http://127.0.0.1:"), "tok proxy did not start");
    let (host_port, path) = base.trim_start_matches("http://").split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host_port).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(stream, "GET /{path}/orders HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
    let _ = child.kill();
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    assert!(answer.contains("the proxy refused the tunnel (403"), "{answer}");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let head = &seen[0];
    assert!(
        head.starts_with("CONNECT api.example.test:443 HTTP/1.1\r\n"),
        "a tunnel, TLS end to end: {head}"
    );
    // base64("proxy@user:proxy-pass-9f"): the user part decoded, as curl sends it.
    assert!(head.contains("Proxy-Authorization: Basic cHJveHlAdXNlcjpwcm94eS1wYXNzLTlm\r\n"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("authorization: bearer"), "no token to the proxy: {head}");
    assert!(!head.contains("/orders"), "the proxy learns the host, not the path: {head}");
    for text in [&answer, &err] {
        assert!(
            !text.contains("proxy-pass-9f") && !text.contains("cHJveHlAdXNlcjpwcm94eS1wYXNzLTlm"),
            "{text}"
        );
    }
}

/// Headers at once, then a byte every 200 ms: a per-read limit would wait for ever.
fn trickle(sb: &Sandbox) {
    sb.fault(json!({ "path": "/security/createToken", "status": 200, "body": "\"eyJhbGciOiJub25lIn0.e30.\"", "size": 400, "trickle_ms": 200 }));
}

#[test]
fn timeout_is_a_deadline_for_the_exchange_and_the_command() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    trickle(&sb);
    // 500 ms per exchange, 1.5 s for the whole command (3 × --timeout).
    let spawn = || {
        home.process()
            .args(["--timeout", "500ms", "refresh", "nexterpay"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let started = Instant::now();
    let first = spawn();
    std::thread::sleep(Duration::from_millis(100));
    let second = spawn();
    let first = first.wait_with_output().unwrap();
    let first_took = started.elapsed();
    let second = second.wait_with_output().unwrap();
    let second_took = started.elapsed();
    // 1.5 s of budget plus slack for starting a process: Wine takes over a second to start
    // one on a busy machine (the trickle alone would take ten).
    let bound = Duration::from_millis(1_500 + if cfg!(windows) { 2_500 } else { 700 });
    assert_eq!(first.status.code(), Some(5), "{}", stderr_of(&first));
    assert!(first_took < bound, "first tok took {first_took:?}");
    let err = stderr_of(&first);
    assert!(err.contains("no complete answer from nexterpay"), "{err}");
    assert!(
        err.contains("within 500ms (--timeout)")
            || err.contains("(1500ms = 3 × --timeout)")
            || err.contains("used up"),
        "{err}"
    );
    assert_eq!(second.status.code(), Some(5), "{}", stderr_of(&second));
    assert!(second_took < bound + Duration::from_millis(100), "second tok took {second_took:?}");
    // It waited for the first, then gave up or used what was left of its own budget.
    let err = stderr_of(&second);
    assert!(err.contains("another tok is refreshing nexterpay") || err.contains("3 × --timeout"), "{err}");
    // Only the first reached the server, and it tried again within its budget.
    let tries = sb.count(CREATE_TOKEN) - 1;
    assert!((1..=3).contains(&tries), "{tries}");
}

/// A TLS server whose certificate nobody trusts, counting connections.
fn untrusted_tls_server() -> (u16, Arc<AtomicUsize>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let fixture = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
        pem::parse(std::fs::read(path).unwrap()).unwrap().into_contents()
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(fixture("rsa-cert.pem"))],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(fixture("rsa-private.pem"))),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let _ = conn.complete_io(&mut stream);
            let _ = conn.complete_io(&mut stream);
        }
    });
    (port, count)
}

#[test]
fn certificate_failures_are_not_retried() {
    let home = Home::new();
    let (port, connections) = untrusted_tls_server();
    let out = home
        .tok()
        .args([
            "login",
            "billing",
            "--provider",
            "oauth2",
            "--token-url",
            &format!("https://127.0.0.1:{port}/token"),
        ])
        .args(["--client-id", "id", "--secret-stdin"])
        .write_stdin("client-secret-77\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("TLS certificate of 127.0.0.1 is not trusted"), "{err}");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "one try only: {err}");
}

#[test]
fn errors_never_show_a_query_string() {
    let home = Home::new();
    // A port nobody listens on: a connection error, whose text names the URL.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = home
        .tok()
        .args([
            "login",
            "checkout",
            "--provider",
            "netdirector-v1",
            "--transaction",
            "5d081471-0c12-5183-a611-a1ed1d9bbacb-EU01",
        ])
        .args(["--base-url", &format!("http://127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("cannot reach netdirector-v1"), "{err}");
    assert!(!err.contains("uuid=") && !err.contains("5d081471"), "{err}");
}

#[test]
fn out_of_range_values_are_usage_errors() {
    let home = Home::new();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 6] = [
        (&["--timeout", "18446744073709551615", "status"], &[], "too large"),
        (&["--timeout", "0", "status"], &[], "no time at all"),
        (&["status"], &[("TOK_TIMEOUT", "2h")], "over an hour"),
        (
            &["--store", "keyring", "print", "nexterpay"],
            &[("TOK_KEYRING_TIMEOUT", "bogus"), ("TOK_NEXTERPAY_USERNAME", "demo")],
            "TOK_KEYRING_TIMEOUT",
        ),
        (&["sign", "--key-env", "K", "--ttl", "0"], &[("K", "key")], "born expired"),
        (&["login", "nelnet", "--key-id", "x", "--ttl", "500ms", "--secret-stdin"], &[], "born expired"),
    ];
    for (args, env, message) in cases {
        let mut cmd = home.tok();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).write_stdin("k\n").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains(message), "{args:?}: {}", stderr_of(&out));
    }
}

#[cfg(unix)]
#[test]
fn a_read_only_tok_home_still_prints_from_the_environment() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::start();
    let home = Home::new();
    // The lock directory cannot be created: a file is in its way.
    std::fs::write(home.path().join("locks"), b"").unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = home.tok_from_env(&sb).args(["print", "nexterpay"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(out.stdout.starts_with(b"eyJ"));
    assert!(stderr_of(&out).contains("nothing was cached"), "{}", stderr_of(&out));
}

/// A non-dumpable process's /proc files belong to root, not to its user: seen by
/// running tok as another user (root can), blocked on a slow reply.
#[cfg(target_os = "linux")]
#[test]
fn tok_is_not_dumpable() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test runs tok as another user, which needs root");
    let sb = Sandbox::start();
    let home = Home::new();
    std::os::unix::fs::chown(home.path(), Some(65534), Some(65534)).unwrap();
    sb.fault(json!({ "path": "/security/createToken", "status": 200, "delay_ms": 3_000, "times": 1 }));
    let mut child = home
        .process()
        .uid(65534)
        .gid(65534)
        .env("TOK_NEXTERPAY_USERNAME", USER)
        .env("TOK_NEXTERPAY_PASSWORD", PASSWORD)
        .env("TOK_NEXTERPAY_BASE_URL", &sb.url)
        .args(["print", "nexterpay"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sb.count(CREATE_TOKEN) == 0 {
        assert!(Instant::now() < deadline, "tok never asked for a token");
        std::thread::sleep(Duration::from_millis(10));
    }
    let environ = std::fs::metadata(format!("/proc/{}/environ", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(environ.uid(), 0, "/proc/<tok>/environ belongs to tok's user: tok is dumpable");
}
