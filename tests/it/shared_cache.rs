//! The shared cache: a fleet of machines (separate TOK_HOMEs) sharing tokens through a
//! real `redis-server`, started by each test on a free port or socket with an ACL user.

use crate::support::*;
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const REDIS_PASSWORD: &str = "redis-acl-pw-4b1d";

struct Redis {
    dir: tempfile::TempDir,
    port: u16,
    tls: bool,
    /// More lines of redis.conf.
    extra: String,
    child: Option<Child>,
}

/// The value of `key` in `tok status P`'s table.
fn status_value(text: &str, key: &str) -> String {
    let line =
        text.lines().find(|l| l.trim_start().starts_with(key)).unwrap_or_else(|| panic!("no {key}: {text}"));
    line.trim_start()[key.len()..].trim().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Redis {
    fn start() -> Redis {
        Redis::new(false)
    }

    /// A read-only replica of `primary` (Redis's default for replicas).
    fn replica_of(primary: &Redis) -> Redis {
        Redis::with(
            false,
            format!("replicaof 127.0.0.1 {}\nmasteruser tok\nmasterauth {REDIS_PASSWORD}\n", primary.port),
        )
    }

    fn new(tls: bool) -> Redis {
        Redis::with(tls, String::new())
    }

    fn with(tls: bool, extra: String) -> Redis {
        let status = std::process::Command::new("redis-server").arg("--version").output();
        assert!(
            status.is_ok_and(|o| o.status.success()),
            "these tests need redis-server on PATH (apt-get install redis-server; .ci/run installs it)"
        );
        let mut redis =
            Redis { dir: tempfile::tempdir().unwrap(), port: free_port(), tls, extra, child: None };
        if tls {
            redis.make_certificates();
        }
        redis.run();
        redis
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    fn run(&mut self) {
        let conf = self.dir.path().join("redis.conf");
        let mut text = format!(
            "bind 127.0.0.1\nsave \"\"\nappendonly no\ndir {dir}\nunixsocket {sock}\nunixsocketperm 700\n\
             user default off\nuser tok on >{REDIS_PASSWORD} ~* &* +@all\n",
            dir = self.dir.path().display(),
            sock = self.socket().display(),
        );
        if self.tls {
            let d = self.dir.path().display();
            text += &format!(
                "port 0\ntls-port {}\ntls-cert-file {d}/server.pem\ntls-key-file {d}/server.key\n\
                 tls-ca-cert-file {d}/ca.pem\ntls-auth-clients no\n",
                self.port
            );
        } else {
            text += &format!("port {}\n", self.port);
        }
        text += &self.extra;
        std::fs::write(&conf, text).unwrap();
        let child = std::process::Command::new("redis-server")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn make_certificates(&self) {
        let d = self.dir.path();
        let ssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl").current_dir(d).args(args).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        ssl(&[
            &["req", "-x509"],
            &ec[..],
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=tok test CA"],
        ]
        .concat());
        ssl(&[&["req"], &ec[..], &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]]
            .concat());
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        ssl(&["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"]
            .iter()
            .chain(&["-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"])
            .copied()
            .collect::<Vec<_>>());
    }

    /// A command through redis-cli, as the ACL user: a client with Redis access but
    /// without any profile's credential.
    fn cli(&self, args: &[&str]) -> String {
        let mut cmd = std::process::Command::new("redis-cli");
        cmd.env("REDISCLI_AUTH", REDIS_PASSWORD).args(["--user", "tok", "-s"]).arg(self.socket());
        let out = cmd.args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn url(&self) -> String {
        format!("{}://tok@localhost:{}/0", if self.tls { "rediss" } else { "redis" }, self.port)
    }

    fn keys(&self, suffix: &str) -> Vec<String> {
        self.cli(&["--scan", "--pattern", &format!("tok:*:{suffix}")]).lines().map(str::to_string).collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A machine of the fleet: its own TOK_HOME, a NexterPay profile in the environment.
fn machine(sb: &Sandbox, redis: &Redis, home: &Home) -> std::process::Command {
    let mut cmd = home.process();
    cmd.env("TOK_NEXTERPAY_USERNAME", USER)
        .env("TOK_NEXTERPAY_PASSWORD", PASSWORD)
        .env("TOK_NEXTERPAY_BASE_URL", &sb.url)
        .env("TOK_SHARED_CACHE", redis.url())
        .env("TOK_SHARED_CACHE_PASSWORD", REDIS_PASSWORD)
        .env("TOK_TIMEOUT", "20s");
    cmd
}

fn run(mut cmd: std::process::Command, args: &[&str]) -> std::process::Output {
    cmd.args(args).stdin(Stdio::null()).output().unwrap()
}

fn print_ok(sb: &Sandbox, redis: &Redis, home: &Home) -> (String, String) {
    let out = run(machine(sb, redis, home), &["print", "nexterpay"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    (String::from_utf8(out.stdout).unwrap(), err)
}

#[test]
fn ten_machines_of_five_toks_on_an_expired_token_make_one_request() {
    let sb = Sandbox::with_args(&["--nexterpay-lifetime", "20"]);
    let redis = Redis::start();
    let seed = Home::new();
    let (old, _) = print_ok(&sb, &redis, &seed);
    assert_eq!(sb.count(CREATE_TOKEN), 1);
    // The fleet's token is due (20 s < --min-ttl); the next one lives 10 hours.
    sb.settings(json!({ "nexterpay_lifetime": 36_000 }));
    let homes: Vec<Home> = (0..10).map(|_| Home::new()).collect();
    let children: Vec<Child> = homes
        .iter()
        .flat_map(|home| (0..5).map(move |_| home))
        .map(|home| {
            let mut cmd = machine(&sb, &redis, home);
            cmd.args(["print", "nexterpay"]).stdout(Stdio::piped()).stderr(Stdio::piped());
            spawn_patiently(&mut cmd)
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for out in &outputs {
        assert!(out.status.success(), "{}", stderr_of(out));
        assert_eq!(out.stdout, outputs[0].stdout, "the whole fleet prints one token");
        assert!(!stderr_of(out).contains("warning"), "{}", stderr_of(out));
    }
    assert_ne!(outputs[0].stdout, old.as_bytes());
    assert_eq!(sb.count(CREATE_TOKEN), 2, "the seed's and exactly one refresh for 50 toks");
    let status = run(machine(&sb, &redis, &seed), &["status", "nexterpay"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status_value(&text, "mints today"), "2 (the fleet, UTC)", "{text}");
}

#[test]
fn a_fresh_shared_token_is_copied_and_the_cached_print_stays_off_the_network() {
    let sb = Sandbox::start();
    let mut redis = Redis::start();
    let (a, b) = (Home::new(), Home::new());
    let (token, _) = print_ok(&sb, &redis, &a);
    let (same, _) = print_ok(&sb, &redis, &b);
    assert_eq!(token, same);
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the second machine used the fleet's token");
    // With the cache gone, the local copy is printed without a word: no network.
    redis.stop();
    let (again, err) = print_ok(&sb, &redis, &b);
    assert_eq!(again, token);
    assert!(err.is_empty(), "{err}");
}

#[test]
fn redis_stopped_and_restarted_mid_run() {
    let sb = Sandbox::with_args(&["--nexterpay-lifetime", "20"]);
    let mut redis = Redis::start();
    print_ok(&sb, &redis, &Home::new());
    redis.stop();
    // Down: one warning, the local path, a token all the same.
    let (_, err) = print_ok(&sb, &redis, &Home::new());
    assert_eq!(err.matches("warning: the shared cache").count(), 1, "{err}");
    assert_eq!(err.matches("shared cache").count(), 1, "warned once: {err}");
    assert_eq!(sb.count(CREATE_TOKEN), 2);
    // Required: exit 6 instead.
    let out = run(machine(&sb, &redis, &Home::new()), &["--shared-cache-required", "print", "nexterpay"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(sb.count(CREATE_TOKEN), 2, "required: nothing minted");
    redis.run();
    sb.settings(json!({ "nexterpay_lifetime": 36_000 }));
    let (t1, err) = print_ok(&sb, &redis, &Home::new());
    assert!(err.is_empty(), "{err}");
    let (t2, _) = print_ok(&sb, &redis, &Home::new());
    assert_eq!(t1, t2);
    assert_eq!(sb.count(CREATE_TOKEN), 3, "back up: one more, shared again");
}

#[test]
fn a_wrong_password_falls_back_or_exits_6_when_required() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let home = Home::new();
    let mut cmd = machine(&sb, &redis, &home);
    cmd.env("TOK_SHARED_CACHE_PASSWORD", "not-it");
    let out = run(cmd, &["print", "nexterpay"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("wrong user or password") && err.contains("(WRONGPASS)"), "{err}");
    assert!(!err.contains("not-it") && !err.contains(REDIS_PASSWORD), "{err}");
    let mut cmd = machine(&sb, &redis, &Home::new());
    cmd.env("TOK_SHARED_CACHE_PASSWORD", "not-it").env("TOK_SHARED_CACHE_REQUIRED", "1");
    let out = run(cmd, &["print", "nexterpay"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 1);
}

#[test]
fn a_password_in_the_url_on_argv_is_refused_without_echo() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let url = format!("redis://tok:{REDIS_PASSWORD}@127.0.0.1:{}/0", redis.port);
    let mut cmd = machine(&sb, &redis, &Home::new());
    cmd.env_remove("TOK_SHARED_CACHE");
    let out = run(cmd, &["--shared-cache", &url, "print", "nexterpay"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("--shared-cache has a password in it") && err.contains("TOK_SHARED_CACHE_PASSWORD"),
        "{err}"
    );
    assert!(!err.contains(REDIS_PASSWORD), "{err}");
    assert_eq!(sb.count(CREATE_TOKEN), 0);
    // The same URL without the password, on argv, works.
    let mut cmd = machine(&sb, &redis, &Home::new());
    cmd.env_remove("TOK_SHARED_CACHE");
    let out = run(cmd, &["--shared-cache", &redis.url(), "print", "nexterpay"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(redis.keys("entry").len(), 1);
}

#[test]
fn a_value_planted_or_altered_without_the_credential_is_ignored_counted_and_replaced() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let (token, _) = print_ok(&sb, &redis, &Home::new());
    let keys = redis.keys("entry");
    assert_eq!(keys.len(), 1);
    // The name and value show nothing usable.
    let value = redis.cli(&["GET", &keys[0]]);
    assert!(
        !value.contains(token.trim()) && !keys[0].contains("nexterpay") && !keys[0].contains(USER),
        "{value}"
    );
    // Altered: one byte of the ciphertext flipped.
    let mut altered = value.trim().to_string();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    redis.cli(&["SET", &keys[0], &altered]);
    let home = Home::new();
    let (other, err) = print_ok(&sb, &redis, &home);
    assert!(err.contains("did not seal; ignoring it"), "{err}");
    assert_ne!(other, token);
    assert_eq!(sb.count(CREATE_TOKEN), 2);
    // Planted: a well-formed value of another credential's making.
    redis.cli(&["SET", &keys[0], "v1.9.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]);
    let (third, _) = print_ok(&sb, &redis, &Home::new());
    assert_ne!(third, other);
    assert_eq!(sb.count(CREATE_TOKEN), 3);
    // Replaced: the next machine uses the fleet's token again.
    let (fourth, err) = print_ok(&sb, &redis, &Home::new());
    assert_eq!(fourth, third, "{err}");
    assert_eq!(sb.count(CREATE_TOKEN), 3);
    let status = run(machine(&sb, &redis, &home), &["status", "nexterpay"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status_value(&text, "unreadable values").starts_with("2 "), "{text}");
    let out = run(machine(&sb, &redis, &home), &["status", "nexterpay", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate(&schema("status-profile.json"), &value).unwrap_or_else(|e| panic!("{e}\n{value:#}"));
    let fleet = &value["shared_cache"];
    assert_eq!(
        (fleet["used"].as_bool(), fleet["unreadable"].as_u64(), fleet["mints_today"].as_u64()),
        (Some(true), Some(2), Some(3)),
        "{value:#}"
    );
    assert!(fleet["fleet_token"].as_str().unwrap().starts_with("expires in "), "{value:#}");
}

#[test]
fn logout_shared_deletes_the_fleets_entry_and_only_then() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let home = Home::new();
    let login = machine(&sb, &redis, &home);
    let mut login = login;
    login.args(["login", "nexterpay", "--username", USER, "--base-url", &sb.url]);
    let out = login.stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    print_ok(&sb, &redis, &Home::new());
    assert_eq!(redis.keys("entry").len(), 1);
    let out = run(machine(&sb, &redis, &home), &["logout", "nexterpay"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(redis.keys("entry").len(), 1, "a plain logout leaves the fleet's entry");
    let out = run(machine(&sb, &redis, &home), &["logout", "nexterpay", "--shared"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(redis.keys("entry").len(), 0);
}

#[test]
fn a_unix_socket_works_and_profiles_with_nothing_to_share_say_so() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let url = format!("unix://{}?user=tok", redis.socket().display());
    let (a, b) = (Home::new(), Home::new());
    for home in [&a, &b] {
        let mut cmd = machine(&sb, &redis, home);
        cmd.env("TOK_SHARED_CACHE", &url);
        let out = run(cmd, &["print", "nexterpay"]);
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1);
    let out = a.api_key_login(&sb);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut cmd = machine(&sb, &redis, &a);
    cmd.env("TOK_SHARED_CACHE", &url);
    let out = run(cmd, &["status", "acme-key"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        status_value(&text, "shared cache").starts_with("not used: an API key is the credential itself"),
        "{text}"
    );
}

#[test]
fn tls_with_a_test_ca_is_verified() {
    let sb = Sandbox::start();
    let redis = Redis::new(true);
    let ca = redis.dir.path().join("ca.pem");
    for _ in 0..2 {
        let mut cmd = machine(&sb, &redis, &Home::new());
        cmd.env("TOK_SHARED_CACHE_CA", &ca);
        let out = run(cmd, &["print", "nexterpay"]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(stderr_of(&out).is_empty(), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1, "shared over TLS");
    // Without the CA, the server's certificate is not trusted: required, that is exit 6.
    let out = run(machine(&sb, &redis, &Home::new()), &["--shared-cache-required", "print", "nexterpay"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("certificate"), "{}", stderr_of(&out));
}

#[test]
fn a_silent_or_garbage_server_costs_at_most_the_timeout() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let garbage = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let garbage_port = garbage.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming() {
            held.push(s);
        }
    });
    std::thread::spawn(move || {
        use std::io::Write;
        for mut s in garbage.incoming().flatten() {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    for (port, what) in [(silent_port, "did not answer in time"), (garbage_port, "not Redis protocol")] {
        let mut cmd = machine(&sb, &redis, &Home::new());
        cmd.env("TOK_SHARED_CACHE", format!("redis://127.0.0.1:{port}/0")).env("TOK_TIMEOUT", "1s");
        let started = Instant::now();
        let out = run(cmd, &["print", "nexterpay"]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        let err = stderr_of(&out);
        assert!(err.contains(what), "{err}");
        assert_eq!(err.matches("warning:").count(), 1, "warned once: {err}");
    }
}

const LOGIN: &str = "POST /v2/auth/login";
const REFRESH: &str = "POST /v2/auth/refresh";

/// A merchant-v2 machine: rotating refresh tokens, and a password to log in afresh with.
fn merchant(sb: &Sandbox, redis: &Redis, home: &Home, timeout: &str) -> std::process::Command {
    let mut cmd = home.process();
    cmd.env("TOK_ACME_PROVIDER", "merchant-v2")
        .env("TOK_ACME_BASE_URL", &sb.url)
        .env("TOK_ACME_EMAIL", "owner@acme.example")
        .env("TOK_ACME_MERCHANT_ID", "b34555b7-dca4-5ec1-ade3-64a3ad545310")
        .env("TOK_ACME_PASSWORD", PASSWORD)
        .env("TOK_SHARED_CACHE", redis.url())
        .env("TOK_SHARED_CACHE_PASSWORD", REDIS_PASSWORD)
        .env("TOK_TIMEOUT", timeout)
        .args(["print", "acme"])
        .stdin(Stdio::null());
    cmd
}

fn refresh_token_sent(sb: &Sandbox) -> String {
    let body = sb.last(REFRESH)["body"].as_str().unwrap_or_default().to_string();
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["refreshToken"].as_str().unwrap().to_string()
}

#[test]
fn rotating_refresh_tokens_go_round_the_fleet_and_are_never_redeemed_twice() {
    let sb = Sandbox::start();
    // Access tokens live 20 s, within --min-ttl: every print after the first refreshes.
    sb.settings(json!({ "merchant_access_lifetime": 20, "merchant_refresh_lifetime": 172_800 }));
    let redis = Redis::start();
    let out = merchant(&sb, &redis, &Home::new(), "20s").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!((sb.count(LOGIN), sb.count(REFRESH)), (1, 0));
    // Another machine refreshes with the fleet's refresh token; a third, with the one
    // that refresh brought (its own store has none).
    let out = merchant(&sb, &redis, &Home::new(), "20s").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let first = refresh_token_sent(&sb);
    let out = merchant(&sb, &redis, &Home::new(), "20s").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_ne!(refresh_token_sent(&sb), first, "the rotated refresh token was shared");
    assert_eq!((sb.count(LOGIN), sb.count(REFRESH)), (1, 2));

    // The next holder is killed while its refresh is at the server: the refresh token may
    // be spent. Its lease (--timeout, 1 s) runs out; the successor must not send that
    // refresh token again, and logs in with the password instead.
    sb.fault(json!({ "path": "/v2/auth/refresh", "pass": true, "hold": true, "times": 1 }));
    let mut holder = merchant(&sb, &redis, &Home::new(), "1s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sb.count(REFRESH) < 3 {
        assert!(Instant::now() < deadline, "the holder's refresh never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
    let spent = refresh_token_sent(&sb);
    // SIGKILL: no destructor runs, the lock stays until its lease ends.
    holder.kill().unwrap();
    holder.wait().unwrap();
    // 10 machines x 5 toks wait out the lease; one of them takes over.
    let homes: Vec<Home> = (0..10).map(|_| Home::new()).collect();
    let children: Vec<Child> = homes
        .iter()
        .flat_map(|home| (0..5).map(move |_| home))
        .map(|home| {
            let mut cmd = merchant(&sb, &redis, home, "5s");
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            spawn_patiently(&mut cmd)
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    sb.call("POST", "/_sandbox/release", "{}");
    for out in &outputs {
        assert!(out.status.success(), "{}", stderr_of(out));
        assert_eq!(out.stdout, outputs[0].stdout, "one token for all");
    }
    assert_eq!(sb.count(REFRESH), 3, "the possibly spent refresh token was not sent again");
    assert_eq!(sb.count(LOGIN), 2, "one more request: a login with the password");
    // The fleet goes on from the successor's refresh token.
    let out = merchant(&sb, &redis, &Home::new(), "20s").output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count(REFRESH), 4);
    assert_ne!(refresh_token_sent(&sb), spent);
}

#[test]
fn max_mints_per_day_warns_or_refuses_when_required() {
    let sb = Sandbox::with_args(&["--nexterpay-lifetime", "20"]);
    let redis = Redis::start();
    let limited = |home: &Home| {
        let mut cmd = machine(&sb, &redis, home);
        cmd.env("TOK_NEXTERPAY_MAX_MINTS_PER_DAY", "1");
        cmd
    };
    let out = run(limited(&Home::new()), &["print", "nexterpay"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("max_mints_per_day"), "{}", stderr_of(&out));
    let out = run(limited(&Home::new()), &["print", "nexterpay"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("has minted 1 tokens today (UTC), max_mints_per_day is 1; minting anyway"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(sb.count(CREATE_TOKEN), 2);
    let out = run(limited(&Home::new()), &["--shared-cache-required", "print", "nexterpay"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 2, "refused before any request");
}

#[test]
fn refresh_and_curls_401_retry_renew_the_fleets_token_and_exec_hands_it_on() {
    require_curl();
    let sb = Sandbox::start();
    let redis = Redis::start();
    let (a, b, c) = (Home::new(), Home::new(), Home::new());
    let (first, _) = print_ok(&sb, &redis, &a);
    // `tok refresh` on one machine: a new token for the fleet.
    let out = run(machine(&sb, &redis, &a), &["refresh", "nexterpay"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 2);
    let (second, _) = print_ok(&sb, &redis, &b);
    assert_ne!(second, first);
    assert_eq!(sb.count(CREATE_TOKEN), 2, "the other machine took the refreshed one");
    // The API refuses every token so far: curl's retry gets one new token, for the fleet.
    assert_eq!(sb.call("POST", "/_sandbox/revoke", "{}")["ok"], true);
    let mut cmd = machine(&sb, &redis, &b);
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    let out = run(cmd, &["curl", "nexterpay", "-s", "--fail", "-X", "POST", "/Catalog/GetCountries"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 3);
    let (third, _) = print_ok(&sb, &redis, &c);
    assert_ne!(third, second);
    assert_eq!(sb.count(CREATE_TOKEN), 3, "a third machine took the retry's token");
    // tok exec on a fourth machine hands its command the fleet's token.
    let mut cmd = machine(&sb, &redis, &Home::new());
    cmd.env("PATH", "/usr/bin:/bin");
    let out = run(cmd, &["exec", "nexterpay", "--", "sh", "-c", "echo \"$TOK_NEXTERPAY_TOKEN\""]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), third);
    assert_eq!(sb.count(CREATE_TOKEN), 3);
}

#[test]
fn the_profiles_own_settings_choose_and_require_the_cache() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let home = Home::new();
    // A login with the profile's variables saves them as its settings.
    let mut login = machine(&sb, &redis, &home);
    login
        .env_remove("TOK_SHARED_CACHE")
        .env("TOK_NEXTERPAY_SHARED_CACHE", redis.url())
        .env("TOK_NEXTERPAY_SHARED_CACHE_REQUIRED", "true")
        .args(["login", "nexterpay", "--username", USER, "--base-url", &sb.url]);
    let out = login.stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(
        config.contains("shared_cache = ") && config.contains("shared_cache_required = \"true\""),
        "{config}"
    );
    // No TOK_SHARED_CACHE: the profile's setting (TOK_NEXTERPAY_SHARED_CACHE) is enough.
    let prints: Vec<String> = (0..2)
        .map(|_| {
            let mut cmd = machine(&sb, &redis, &Home::new());
            cmd.env_remove("TOK_SHARED_CACHE").env("TOK_NEXTERPAY_SHARED_CACHE", redis.url());
            let out = run(cmd, &["print", "nexterpay"]);
            assert!(out.status.success(), "{}", stderr_of(&out));
            String::from_utf8(out.stdout).unwrap()
        })
        .collect();
    assert_eq!(prints[0], prints[1]);
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the login's, handed to the fleet");
    // Required by the saved setting: with the cache unreachable, exit 6.
    let mut cmd = home.process();
    cmd.env("TOK_SHARED_CACHE_PASSWORD", REDIS_PASSWORD).env("TOK_SHARED_CACHE", "redis://127.0.0.1:1/0");
    let out = run(cmd, &["refresh", "nexterpay"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 1, "required: nothing minted");
}

#[test]
fn the_holders_lease_is_renewed_while_its_exchange_runs() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    sb.fault(json!({ "path": "/security/createToken", "pass": true, "hold": true, "times": 1 }));
    let mut cmd = machine(&sb, &redis, &Home::new());
    cmd.env("TOK_TIMEOUT", "3s").args(["print", "nexterpay"]).stdout(Stdio::null()).stderr(Stdio::null());
    let mut holder = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sb.count(CREATE_TOKEN) < 1 {
        assert!(Instant::now() < deadline, "the request never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
    let lock = redis.keys("lock");
    assert_eq!(lock.len(), 1, "the holder holds the fleet's lock");
    let pttl = || redis.cli(&["PTTL", &lock[0]]).trim().parse::<i64>().unwrap();
    // The lease is 3 s, renewed every second: its time left goes up again.
    let mut last = pttl();
    let mut renewed = false;
    while !renewed && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let now = pttl();
        renewed = now > last;
        last = now;
    }
    sb.call("POST", "/_sandbox/release", "{}");
    assert!(holder.wait().unwrap().success());
    assert!(renewed, "the lease was never renewed");
    assert!(redis.keys("lock").is_empty(), "released at the end");
}

#[test]
fn a_cache_that_refuses_commands_noperm_or_oom_is_a_warning_then_the_local_path() {
    let sb = Sandbox::with_args(&["--nexterpay-lifetime", "20"]);
    let redis = Redis::start();
    // An ACL user that may read but not write: NOPERM on the lock.
    redis.cli(&["ACL", "SETUSER", "reader", "on", ">reader-pw", "~*", "+get", "+auth"]);
    let mut cmd = machine(&sb, &redis, &Home::new());
    cmd.env("TOK_SHARED_CACHE", format!("redis://reader@127.0.0.1:{}/0", redis.port))
        .env("TOK_SHARED_CACHE_PASSWORD", "reader-pw");
    let out = run(cmd, &["print", "nexterpay"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("(NOPERM)") && err.matches("shared cache").count() == 1, "{err}");
    assert!(!err.contains("reader-pw"), "{err}");
    // Out of memory: every write refused.
    redis.cli(&["CONFIG", "SET", "maxmemory", "1"]);
    let out = run(machine(&sb, &redis, &Home::new()), &["print", "nexterpay"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("out of memory (OOM)"), "{}", stderr_of(&out));
    let out = run(machine(&sb, &redis, &Home::new()), &["--shared-cache-required", "print", "nexterpay"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 2, "the two fallbacks; nothing when required");
}

#[test]
fn runners_without_a_keyring_still_share_the_fleets_token() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let runner = |home: &Home| {
        let mut cmd = machine(&sb, &redis, home);
        cmd.env("TOK_STORE", "keyring").env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
        cmd
    };
    let first = run(runner(&Home::new()), &["print", "nexterpay"]);
    assert!(first.status.success(), "{}", stderr_of(&first));
    assert!(stderr_of(&first).contains("nothing was cached"), "{}", stderr_of(&first));
    let second = run(runner(&Home::new()), &["print", "nexterpay"]);
    assert!(second.status.success(), "{}", stderr_of(&second));
    assert_eq!(second.stdout, first.stdout);
    assert!(stderr_of(&second).is_empty(), "the fleet's token, no warning: {}", stderr_of(&second));
    assert_eq!(sb.count(CREATE_TOKEN), 1);
}

#[test]
fn tok_proxy_takes_the_fleets_token() {
    use std::io::BufRead;
    let sb = Sandbox::start();
    let redis = Redis::start();
    print_ok(&sb, &redis, &Home::new());
    let home = Home::new();
    let mut cmd = machine(&sb, &redis, &home);
    cmd.args(["proxy", "nexterpay"]).stdout(Stdio::piped()).stderr(Stdio::null()).stdin(Stdio::null());
    let mut proxy = spawn_patiently(&mut cmd);
    let mut base = String::new();
    std::io::BufReader::new(proxy.stdout.take().unwrap()).read_line(&mut base).unwrap();
    let (addr, capability) = base.trim().trim_start_matches("http://").split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    write!(stream, "GET /{capability}/echo/fleet HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    let _ = proxy.kill();
    let _ = proxy.wait();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the proxy used the fleet's token");
}

#[test]
fn shared_cache_required_may_be_a_toml_boolean_in_config_toml() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let home = Home::new();
    let mut login = machine(&sb, &redis, &home);
    login.env_remove("TOK_SHARED_CACHE").args([
        "login",
        "nexterpay",
        "--username",
        USER,
        "--base-url",
        &sb.url,
    ]);
    let out = login.stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let path = home.path().join("config.toml");
    let saved = std::fs::read_to_string(&path).unwrap();
    let header = "[profiles.nexterpay]\n";
    assert!(saved.contains(header), "{saved}");
    // As cli.md writes it; the same through the one-table fast path and the full parse
    // (a comment after the header sends it there).
    for (header_as, value, want) in [
        (header, "true", Some(6)),
        ("[profiles.nexterpay] # the fleet's\n", "true", Some(6)),
        (header, "\"true\"", Some(6)),
        (header, "false", Some(0)),
    ] {
        let text = saved.replace(header, &format!("{header_as}shared_cache_required = {value}\n"));
        std::fs::write(&path, text).unwrap();
        let mut cmd = home.process();
        cmd.env("TOK_SHARED_CACHE_PASSWORD", REDIS_PASSWORD).env("TOK_SHARED_CACHE", "redis://127.0.0.1:1/0");
        let out = run(cmd, &["refresh", "nexterpay"]);
        assert_eq!(out.status.code(), want, "{header_as} {value}: {}", stderr_of(&out));
    }
    // Other settings are strings, as before.
    std::fs::write(&path, saved.replace(&format!("username = \"{USER}\""), "username = true")).unwrap();
    let out = run(home.process(), &["print", "nexterpay"]);
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("username must be a string"), "{}", stderr_of(&out));
}

#[test]
fn a_login_hands_its_token_to_the_fleet() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let a = Home::new();
    let mut login = machine(&sb, &redis, &a);
    login.args(["login", "nexterpay", "--username", USER, "--base-url", &sb.url]);
    let out = login.stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 1);
    let (on_a, _) = print_ok(&sb, &redis, &a);
    let (on_b, err) = print_ok(&sb, &redis, &Home::new());
    assert_eq!(on_b, on_a, "machine B prints the token machine A's login got");
    assert!(err.is_empty(), "{err}");
    assert_eq!(sb.count(CREATE_TOKEN), 1, "no token request for machine B");
    let status = run(machine(&sb, &redis, &a), &["status", "nexterpay"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status_value(&text, "mints today"), "1 (the fleet, UTC)", "{text}");
}

/// Waits (polling, within 20 s) until the sandbox has had `n` token requests.
fn await_requests(sb: &Sandbox, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while sb.count(CREATE_TOKEN) < n {
        assert!(Instant::now() < deadline, "{} of {n} token requests arrived", sb.count(CREATE_TOKEN));
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn redis_stopped_and_restarted_while_a_fleet_of_toks_runs() {
    const MACHINES: usize = 4;
    const TOKS: usize = 3;
    let sb = Sandbox::with_args(&["--nexterpay-lifetime", "20"]);
    let mut redis = Redis::start();
    print_ok(&sb, &redis, &Home::new());
    sb.settings(json!({ "nexterpay_lifetime": 36_000 }));
    // The fleet's holder is at the token endpoint, held there, while the others wait.
    sb.fault(json!({ "path": "/security/createToken", "pass": true, "hold": true, "times": 1 }));
    let homes: Vec<Home> = (0..MACHINES).map(|_| Home::new()).collect();
    let started = Instant::now();
    let children: Vec<(usize, Child)> = (0..MACHINES)
        .flat_map(|m| (0..TOKS).map(move |_| m))
        .map(|m| {
            let mut cmd = machine(&sb, &redis, &homes[m]);
            cmd.env("TOK_TIMEOUT", "10s")
                .args(["print", "nexterpay"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            (m, spawn_patiently(&mut cmd))
        })
        .collect();
    await_requests(&sb, 2);
    redis.stop();
    // Redis is gone under them: each other machine warns and falls back to its own
    // store, one request per machine (its toks wait for its local lock).
    await_requests(&sb, 1 + MACHINES as u64);
    redis.run();
    sb.call("POST", "/_sandbox/release", "{}");
    let outputs: Vec<(usize, std::process::Output)> =
        children.into_iter().map(|(m, c)| (m, c.wait_with_output().unwrap())).collect();
    // Within a command's longest network time (3 x --timeout), with time to spare.
    assert!(started.elapsed() < Duration::from_secs(25), "took {:?}", started.elapsed());
    let mut printed: Vec<Option<Vec<u8>>> = vec![None; MACHINES];
    for (m, out) in &outputs {
        let err = stderr_of(out);
        assert!(out.status.success(), "{err}");
        assert!(err.matches("shared cache").count() <= 1, "warned at most once: {err}");
        let first = printed[*m].get_or_insert_with(|| out.stdout.clone());
        assert_eq!(*first, out.stdout, "a machine's toks print one token: they waited for each other");
    }
    assert_eq!(
        sb.count(CREATE_TOKEN),
        1 + MACHINES as u64,
        "the seed's, then one per machine while Redis was away: none minted twice on a machine"
    );
    // No token lost: every machine still has the one it printed, with no request.
    for (m, home) in homes.iter().enumerate() {
        let (again, _) = print_ok(&sb, &redis, home);
        assert_eq!(Some(again.into_bytes()), printed[m], "machine {m} kept its token");
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1 + MACHINES as u64);
    // Back up: new machines share one token again.
    let (t1, err) = print_ok(&sb, &redis, &Home::new());
    assert!(err.is_empty(), "{err}");
    let (t2, _) = print_ok(&sb, &redis, &Home::new());
    assert_eq!(t1, t2);
    assert_eq!(sb.count(CREATE_TOKEN), 2 + MACHINES as u64, "one more, shared again");
}

#[test]
fn a_read_only_replica_is_one_warning_then_the_local_path_or_exit_6_when_required() {
    let sb = Sandbox::start();
    let primary = Redis::start();
    let replica = Redis::replica_of(&primary);
    let at_replica = |home: &Home| {
        let mut cmd = machine(&sb, &primary, home);
        cmd.env("TOK_SHARED_CACHE", format!("redis://tok@127.0.0.1:{}/0", replica.port));
        cmd
    };
    assert!(replica.cli(&["ROLE"]).starts_with("slave"), "{}", replica.cli(&["ROLE"]));
    let out = run(at_replica(&Home::new()), &["print", "nexterpay"]);
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("read-only replica; point tok at the primary"), "{err}");
    assert_eq!(err.matches("shared cache").count(), 1, "warned once: {err}");
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the local path's");
    let out = run(at_replica(&Home::new()), &["--shared-cache-required", "print", "nexterpay"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(sb.count(CREATE_TOKEN), 1, "required: nothing minted");
}

const AS_TOKEN: &str = "POST /as/token";

/// A machine with a generic oauth2 profile `api` in the environment, at the sandbox's
/// authorization server (whose refresh tokens rotate and can be spent once).
fn oauth2_machine(sb: &Sandbox, redis: &Redis, home: &Home) -> std::process::Command {
    let mut cmd = home.process();
    cmd.env("TOK_API_PROVIDER", "oauth2")
        .env("TOK_API_TOKEN_URL", format!("{}/as/token", sb.url))
        .env("TOK_API_CLIENT_ID", "demo-client")
        .env("TOK_API_CLIENT_SECRET", "demo-secret")
        .env("TOK_SHARED_CACHE", redis.url())
        .env("TOK_SHARED_CACHE_PASSWORD", REDIS_PASSWORD)
        .env("TOK_TIMEOUT", "20s")
        .stdin(Stdio::null());
    cmd
}

/// The last token request's grant and refresh token.
fn last_grant(sb: &Sandbox) -> (String, Option<String>) {
    let body = sb.last(AS_TOKEN)["body"].as_str().unwrap_or_default().to_string();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    (get("grant_type").unwrap_or_default(), get("refresh_token"))
}

#[test]
fn an_oauth2_fleet_refreshes_once_and_never_redeems_a_refresh_token_twice() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    // Due at once (20 s is within --min-ttl): every later print wants a refresh.
    sb.settings(json!({ "oauth2_lifetime": 20 }));
    let out = oauth2_machine(&sb, &redis, &Home::new()).args(["print", "api"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(last_grant(&sb).0, "client_credentials");
    // 5 machines x 3 toks: one refresh for all, with the fleet's refresh token.
    sb.settings(json!({ "oauth2_lifetime": 3600 }));
    let homes: Vec<Home> = (0..5).map(|_| Home::new()).collect();
    let children: Vec<Child> = homes
        .iter()
        .flat_map(|home| (0..3).map(move |_| home))
        .map(|home| {
            let mut cmd = oauth2_machine(&sb, &redis, home);
            cmd.args(["print", "api"]).stdout(Stdio::piped()).stderr(Stdio::piped());
            spawn_patiently(&mut cmd)
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for out in &outputs {
        assert!(out.status.success(), "{}", stderr_of(out));
        assert_eq!(out.stdout, outputs[0].stdout, "one token for the fleet");
    }
    assert_eq!(sb.count(AS_TOKEN), 2, "one refresh for 15 toks");
    let (grant, first) = last_grant(&sb);
    assert_eq!(grant, "refresh_token");
    // Each next refresh, on yet another machine, spends the token the one before got.
    // A spent one would be refused and cost a client_credentials request more.
    let mut spent = vec![first.unwrap()];
    for n in 0..3 {
        let out = oauth2_machine(&sb, &redis, &Home::new()).args(["refresh", "api"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(sb.count(AS_TOKEN), 3 + n);
        let (grant, token) = last_grant(&sb);
        assert_eq!(grant, "refresh_token");
        let token = token.unwrap();
        assert!(!spent.contains(&token), "{token} redeemed twice");
        spent.push(token);
    }
}

#[test]
fn the_list_of_profiles_says_which_use_the_shared_cache_without_connecting() {
    let sb = Sandbox::start();
    let mut redis = Redis::start();
    let home = Home::new();
    // nexterpay shares through its own setting; the oauth2 profile `api` has none.
    let url = redis.url();
    let on = |home: &Home| {
        let mut cmd = home.process();
        cmd.env("TOK_API_PROVIDER", "oauth2")
            .env("TOK_API_TOKEN_URL", format!("{}/as/token", sb.url))
            .env("TOK_API_CLIENT_ID", "demo-client")
            .env("TOK_SHARED_CACHE_PASSWORD", REDIS_PASSWORD);
        cmd.env_remove("TOK_SHARED_CACHE")
            .env("TOK_NEXTERPAY_USERNAME", USER)
            .env("TOK_NEXTERPAY_PASSWORD", PASSWORD)
            .env("TOK_NEXTERPAY_BASE_URL", &sb.url)
            .env("TOK_NEXTERPAY_SHARED_CACHE", &url);
        cmd
    };
    let out = run(on(&home), &["print", "nexterpay"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let detail: serde_json::Value =
        serde_json::from_slice(&run(on(&home), &["status", "nexterpay", "--json"]).stdout).unwrap();
    assert_eq!(detail["shared_cache"]["reachable"], true, "{detail:#}");
    // The list connects to nothing: with Redis gone it says the same, without a warning.
    redis.stop();
    let out = run(on(&home), &["status", "--json"]);
    assert!(out.status.success() && out.stderr.is_empty(), "{}", stderr_of(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    validate(&schema("status.json"), &list).unwrap_or_else(|e| panic!("{e}\n{list:#}"));
    let of = |name: &str| list["profiles"].as_array().unwrap().iter().find(|p| p["profile"] == name).unwrap();
    assert_eq!(of("api")["shared_cache"], serde_json::Value::Null, "{list:#}");
    let shared = &of("nexterpay")["shared_cache"];
    assert_eq!(shared["used"], true, "{list:#}");
    assert_eq!(
        (&shared["used"], &shared["url"]),
        (&detail["shared_cache"]["used"], &detail["shared_cache"]["url"])
    );
    assert!(shared.get("reachable").is_none(), "{list:#}");
    // The text list: a SHARED column.
    let out = run(on(&home), &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text.lines().next().unwrap();
    let column = header.find(" SHARED ").unwrap_or_else(|| panic!("{text}")) + 1;
    let shared_of = |name: &str| {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        line[column..].split_whitespace().next().unwrap().to_string()
    };
    assert_eq!(shared_of("nexterpay"), "configured", "{text}");
    assert_eq!(shared_of("api"), "-", "{text}");
    assert!(out.stderr.is_empty(), "{}", stderr_of(&out));
}

#[test]
fn a_login_keeps_the_caches_password_in_the_store_and_logout_forgets_it() {
    let sb = Sandbox::start();
    let redis = Redis::start();
    let home = Home::new();
    let mut login = machine(&sb, &redis, &home);
    login.env_remove("TOK_SHARED_CACHE").env("TOK_NEXTERPAY_SHARED_CACHE", redis.url()).args([
        "login",
        "nexterpay",
        "--username",
        USER,
        "--base-url",
        &sb.url,
    ]);
    let out = login.stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    // No password in the environment now: the store's is used.
    let bare = || {
        let mut cmd = home.process();
        cmd.env("TOK_NEXTERPAY_PASSWORD", PASSWORD);
        cmd
    };
    let out = run(bare(), &["status", "nexterpay", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["shared_cache"]["reachable"], true, "{value:#}\n{}", stderr_of(&out));
    assert!(out.stderr.is_empty(), "{}", stderr_of(&out));
    // A second login without it keeps the one stored.
    let mut again = bare();
    again.args(["login", "nexterpay", "--username", USER, "--base-url", &sb.url]);
    let out = again.stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = run(bare(), &["status", "nexterpay", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["shared_cache"]["reachable"], true, "{value:#}");
    // Never handed to a command tok runs.
    let out = run(machine(&sb, &redis, &home), &["exec", "nexterpay", "--", "env"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(REDIS_PASSWORD), "the child saw the password");
    let mut cmd = machine(&sb, &redis, &home);
    cmd.env("TOK_SHARED_CACHE", format!("redis://tok:{REDIS_PASSWORD}@127.0.0.1:{}/0", redis.port));
    let out = run(cmd, &["exec", "nexterpay", "--", "env"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(REDIS_PASSWORD),
        "the child saw the URL's password"
    );
    // Logout forgets it with the profile's other secrets.
    assert!(run(home.process(), &["logout", "nexterpay"]).status.success());
    let store = home.store_file("nexterpay");
    let kept = std::fs::read_to_string(&store).unwrap_or_default();
    assert!(!kept.contains(REDIS_PASSWORD), "{kept}");
}
