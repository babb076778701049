//! Single flight: many tok processes, one exchange with the provider.

use crate::support::*;
use serde_json::json;
use std::process::Stdio;

#[test]
fn twenty_concurrent_prints_make_one_request() {
    let sb = Sandbox::with_args(&["--nexterpay-lifetime", "20"]);
    let home = Home::new();
    home.login(&sb);
    let old = std::fs::read_to_string(home.store_file("nexterpay")).unwrap();
    // The stored token is about to expire; the next one will live 10 hours.
    sb.settings(json!({ "nexterpay_lifetime": 36_000 }));
    let printed = home.race_prints("nexterpay", 20, &[]);
    assert_eq!(sb.count(CREATE_TOKEN), 2, "login + exactly one refresh");
    assert!(!old.contains(printed.trim()), "a new token");
}

#[test]
fn a_refresh_killed_half_way_leaves_the_old_token() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    sb.fault(json!({ "path": "/security/createToken", "status": 200, "delay_ms": 30_000, "times": 1 }));
    let mut child = home
        .process()
        .args(["refresh", "nexterpay"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the request is at the server, then kill tok mid-exchange.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sb.count(CREATE_TOKEN) < 2 {
        assert!(std::time::Instant::now() < deadline, "the refresh never arrived");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(home.print("nexterpay"), token, "the old token is intact and the lock released");
    assert_eq!(sb.count(CREATE_TOKEN), 2);
}

/// `--min-ttl` longer than any token lives: the first print refreshes, and the others take
/// the token it got (a new request would bring one no fresher), each saying in one line
/// that `--min-ttl` exceeds the token's lifetime. Before, each of the twenty refreshed.
#[test]
fn twenty_concurrent_prints_with_a_min_ttl_beyond_the_lifetime_make_one_request() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    // The refresh is held until the other nineteen wait for the lock (each says so with
    // -v): no timing decides the outcome, however slowly the processes start.
    sb.fault(json!({ "path": "/security/createToken", "pass": true, "hold": true, "times": 1 }));
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let children: Vec<_> = (0..20)
        .map(|_| {
            let mut cmd = home.process();
            cmd.env("TOK_TIMEOUT", "2m")
                .args(["-v", "print", "nexterpay", "--min-ttl", "100d"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = spawn_patiently(&mut cmd);
            let stderr = BufReader::new(child.stderr.take().unwrap());
            let tx = tx.clone();
            let lines = std::thread::spawn(move || {
                let mut lines = Vec::new();
                for line in stderr.lines().map_while(Result::ok) {
                    if line.contains("waiting for another tok") {
                        let _ = tx.send(());
                    }
                    lines.push(line);
                }
                lines
            });
            (child, lines)
        })
        .collect();
    for waiting in 0..19 {
        if rx.recv_timeout(std::time::Duration::from_secs(120)).is_err() {
            panic!("only {waiting} of 19 toks waited for the lock");
        }
    }
    sb.call("POST", "/_sandbox/release", "{}");
    let outputs: Vec<_> = children
        .into_iter()
        .map(|(child, lines)| (child.wait_with_output().unwrap(), lines.join().unwrap().join("\n")))
        .collect();
    for (out, err) in &outputs {
        assert!(out.status.success(), "{err}");
        assert!(out.stdout.starts_with(b"eyJ"), "{err}");
        assert_eq!(out.stdout, outputs[0].0.stdout, "all print the same token");
        let warning = "warning: --min-ttl 100d exceeds the token's whole lifetime (10h)";
        assert_eq!(err.matches(warning).count(), 1, "{err}");
        assert_eq!(err.matches("warning:").count(), 1, "one warning line: {err}");
    }
    assert_eq!(sb.count(CREATE_TOKEN), 2, "login + exactly one refresh");
}
