//! Evidence under bad conditions (issue 7): many processes at once for every kind of
//! provider, secrets that never leak anywhere, and memory that stays small.

use crate::support::*;
use serde_json::{Value, json};

const NPS_KEY_ID: &str = "42f0c9d1-5b6e-4c1a-9d3e-7a8b9c0d1e2f";
const NPS_API_KEY: &str = "nps-demo-api-key-0f9e8d7c6b5a";
const MERCHANT: &str = "b34555b7-dca4-5ec1-ade3-64a3ad545310";
const PROJECT: &str = "project-test-84ff27dd-0cbe-423d-964c-d89b01324c61";
const TRANSACTION: &str = "5d081471-0c12-5183-a611-a1ed1d9bbacb-EU01";

/// One provider's login command line (after `tok login`) and its secret.
fn login_args(kind: &str, url: &str) -> (Vec<String>, &'static str) {
    let generic = format!("{url}/oauth2/generic/token");
    let (args, secret): (Vec<&str>, &str) = match kind {
        "nexterpay" => {
            (vec!["p", "--provider", "nexterpay", "--username", USER, "--base-url", url], PASSWORD)
        }
        "merchant-v2" => (
            vec![
                "p",
                "--provider",
                "merchant-v2",
                "--base-url",
                url,
                "--email",
                "owner@acme.example",
                "--merchant-id",
                MERCHANT,
            ],
            PASSWORD,
        ),
        "n3xt" => (
            vec![
                "p",
                "--provider",
                "n3xt",
                "--project",
                PROJECT,
                "--client-id",
                "demo-client",
                "--base-url",
                url,
            ],
            "demo-secret",
        ),
        "netdirector" => (
            vec!["p", "--provider", "netdirector", "--client-id", "demo-client", "--base-url", url],
            "demo-secret",
        ),
        "oauth2" => (
            vec!["p", "--provider", "oauth2", "--client-id", "demo-client", "--token-url", &generic],
            "demo-secret",
        ),
        "netdirector-v1" => {
            (vec!["p", "--provider", "netdirector-v1", "--transaction", TRANSACTION, "--base-url", url], "")
        }
        "nelnet" => (
            vec!["p", "--provider", "nelnet", "--key-id", NPS_KEY_ID, "--base-url", url, "--ttl", "20s"],
            NPS_API_KEY,
        ),
        other => panic!("no such kind {other}"),
    };
    (args.into_iter().map(str::to_string).collect(), secret)
}

fn login(home: &Home, kind: &str, url: &str, verbose: bool) -> std::process::Output {
    let (args, secret) = login_args(kind, url);
    let mut cmd = home.tok();
    if verbose {
        cmd.arg("-v");
    }
    cmd.arg("login").args(&args);
    if !secret.is_empty() {
        cmd.arg("--secret-stdin").write_stdin(format!("{secret}\n"));
    }
    cmd.output().unwrap()
}

/// Logs in with tokens about to expire, then lets 50 `tok print` race for the refresh.
fn fifty_prints(
    kind: &str,
    expiring: Value,
    lasting: Value,
    route: Option<&str>,
    extra_env: &[(&str, &str)],
) {
    let sb = Sandbox::start();
    sb.settings(expiring);
    let home = Home::new();
    let out = login(&home, kind, &sb.url, false);
    assert!(out.status.success(), "{kind}: {}", stderr_of(&out));
    let before = route.map(|r| sb.count(r));
    sb.settings(lasting);
    home.race_prints("p", 50, extra_env);
    if let (Some(route), Some(before)) = (route, before) {
        assert_eq!(sb.count(route) - before, 1, "{kind}: exactly one exchange with the provider");
    }
}

#[test]
fn fifty_prints_nexterpay() {
    fifty_prints(
        "nexterpay",
        json!({ "nexterpay_lifetime": 20 }),
        json!({ "nexterpay_lifetime": 36_000 }),
        Some(CREATE_TOKEN),
        &[],
    );
}

#[test]
fn fifty_prints_merchant_v2_spend_one_refresh_token() {
    let (expiring, lasting) =
        (json!({ "merchant_access_lifetime": 20 }), json!({ "merchant_access_lifetime": 1800 }));
    fifty_prints("merchant-v2", expiring, lasting, Some("POST /v2/auth/refresh"), &[]);
}

#[test]
fn fifty_prints_oauth2_kinds() {
    let routes = [
        ("n3xt", format!("POST /v1/public/{PROJECT}/oauth2/token")),
        ("netdirector", "POST /oauth2/token".to_string()),
        ("oauth2", "POST /oauth2/generic/token".to_string()),
    ];
    for (kind, route) in routes {
        fifty_prints(
            kind,
            json!({ "oauth2_lifetime": 20 }),
            json!({ "oauth2_lifetime": 3600 }),
            Some(&route),
            &[],
        );
    }
}

#[test]
fn fifty_prints_netdirector_v1() {
    let (expiring, lasting) = (json!({ "v1_lifetime": 20 }), json!({ "v1_lifetime": 604_800 }));
    fifty_prints("netdirector-v1", expiring, lasting, Some("GET /api/transaction"), &[]);
}

#[test]
fn fifty_prints_nelnet_sign_once() {
    // Logged in with a 20 s TTL; the racing processes see a 5 minute one, so the stored
    // token no longer fits and exactly one of them signs the next.
    fifty_prints("nelnet", json!({}), json!({}), None, &[("TOK_P_TTL", "5m")]);
}

/// Every secret and token of every kind stays out of `-v` output, error messages,
/// `config.toml` and every process's command line.
#[test]
fn no_secret_reaches_logs_errors_config_or_argv() {
    let sb = Sandbox::start();
    for kind in ["nexterpay", "merchant-v2", "n3xt", "netdirector", "oauth2", "netdirector-v1", "nelnet"] {
        let home = Home::new();
        let (_, secret) = login_args(kind, &sb.url);
        let mut outputs = vec![login(&home, kind, &sb.url, true)];
        assert!(outputs[0].status.success(), "{kind}: {}", stderr_of(&outputs[0]));
        for args in [
            &["-v", "refresh", "p"][..],
            &["-v", "print", "p"],
            &["-v", "status"],
            &["inspect", "--profile", "p"],
        ] {
            outputs.push(home.tok().args(args).output().unwrap());
        }
        let token = home.print("p");
        for out in &outputs {
            let err = stderr_of(out);
            assert!(secret.is_empty() || !err.contains(secret), "{kind}: secret in stderr: {err}");
            assert!(!err.contains(&token), "{kind}: token in stderr: {err}");
        }
        let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
        assert!(secret.is_empty() || !config.contains(secret), "{kind}: {config}");
        assert!(!config.contains(&token));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(home.store_file("p")), 0o600, "{kind}");
            assert_eq!(mode(home.path().join("store")), 0o700, "{kind}");
            assert_eq!(mode(home.path().join("locks")), 0o700, "{kind}");
        }
    }

    // A rejected secret is not quoted back either, and neither is a server's echo of it.
    let home = Home::new();
    sb.fault(json!({ "path": "/security/createToken", "status": 400, "times": 1,
                     "body": "{\"detail\":\"bad password hunter2-hunter2-hunter2-hunter2\"}" }));
    let out = home
        .tok()
        .args(["-v", "login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"])
        .write_stdin("hunter2-hunter2-hunter2-hunter2\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(!stderr_of(&out).contains("hunter2-hunter2"), "{}", stderr_of(&out));

    // While a login waits on a slow server, no command line holds the password.
    #[cfg(target_os = "linux")]
    {
        sb.fault(json!({ "path": "/security/createToken", "status": 200, "delay_ms": 1000, "times": 1, "body": "\"a.b.c\"" }));
        let before = sb.count(CREATE_TOKEN);
        let mut child = home
            .process()
            .args(["login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"correct-horse-battery-staple\n").unwrap();
        while sb.count(CREATE_TOKEN) == before {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&cmdline).contains("correct-horse"),
                "a password on a command line"
            );
        }
        let _ = child.wait();
    }
}

/// A 60 MB reply is refused without being read into memory: tok's peak memory (the
/// kernel's count for that one process) stays far below the reply's size.
///
/// The count is taken by a small python3 parent: Linux carries a process's peak RSS
/// across exec, and a child spawned straight from this test binary starts from the
/// binary's own (large, parallel-test-dependent) footprint.
#[cfg(target_os = "linux")]
#[test]
fn a_sixty_megabyte_reply_is_refused_in_little_memory() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    let measure = "import resource, subprocess, sys\n\
        code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n\
        print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
    for chunked in [false, true] {
        sb.fault(json!({ "path": "/security/createToken", "status": 200, "size": 60_000_000, "chunked": chunked, "times": 1 }));
        let out = std::process::Command::new("python3")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home.path())
            .env("TOK_HOME", home.path())
            .env("TOK_STORE", "file")
            .args(["-c", measure])
            .arg(tok_path())
            .args(["refresh", "nexterpay"])
            .output();
        let out = match out {
            Ok(out) => out,
            Err(e) => panic!("this test needs python3 to measure tok's memory: {e}"),
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let (code, kib) = text.trim().split_once(' ').expect("exit code and peak RSS");
        assert_eq!(code, "5", "chunked {chunked}: {}", stderr_of(&out));
        let peak_mib: u64 = kib.parse::<u64>().unwrap() / 1024;
        assert!(peak_mib < 40, "chunked {chunked}: tok peaked at {peak_mib} MiB for a 60 MB reply");
    }
    assert_eq!(home.print("nexterpay"), token, "the last good token is intact");
}
