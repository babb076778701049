//! `tok curl`, NetDirector V1's rotating header token, `--github-env` and completions.

use crate::support::*;
use serde_json::json;
use std::process::{Command, Stdio};

const COUNTRIES: &str = "POST /Catalog/GetCountries";

#[test]
fn the_header_reaches_the_server_but_no_command_line() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    sb.fault(
        json!({ "path": "/Catalog/GetCountries", "status": 200, "body": "[]", "delay_ms": 1500, "times": 1 }),
    );
    let child = home
        .process()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(["curl", "nexterpay", "-s", "-X", "POST", "/Catalog/GetCountries"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // While curl waits for the slow reply, no process's argv holds the token.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sb.count(COUNTRIES) < 1 {
        assert!(std::time::Instant::now() < deadline, "curl never called");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut scanned = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            scanned += 1;
            let text = String::from_utf8_lossy(&cmdline);
            assert!(!text.contains(&token), "the token is on a command line: {}", text.replace('\0', " "));
        }
    }
    assert!(scanned > 3);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"[]");
    assert_eq!(sb.last(COUNTRIES)["headers"]["authorization"], format!("Bearer {token}"));
}

#[test]
fn relative_urls_stdin_and_exit_codes_pass_through() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-s", "-X", "POST", "-d", "@-", "/Catalog/GetCountries"])
        .write_stdin("from stdin")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8(out.stdout).unwrap().contains("France"));
    assert_eq!(sb.last(COUNTRIES)["body"], "from stdin");

    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-s", "--fail", "-X", "POST", "/Catalog/Nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(22), "curl's --fail code");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = home
        .tok_with_path()
        .env("TOK_NEXTERPAY_ALLOW_HOST", format!("127.0.0.1:{port}"))
        .args(["curl", "nexterpay", "-s"])
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "curl's cannot-connect code: {}", stderr_of(&out));

    let out = home.tok().env("PATH", "/nonexistent").args(["curl", "nexterpay", "/x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("curl was not found"), "{}", stderr_of(&out));
}

#[test]
fn providers_without_an_api_host_need_absolute_urls() {
    let home = Home::new();
    let out = home
        .tok_with_path()
        .env("TOK_N3XT_CLIENT_ID", "x")
        .env("TOK_N3XT_PROJECT", "project-x")
        .args(["curl", "n3xt", "/v1/things"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("n3xt documents no API host"), "{}", stderr_of(&out));
}

#[test]
fn nelnet_requests_get_a_fresh_trace_id_unless_given_one() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.tok()
        .args([
            "login",
            "nelnet",
            "--key-id",
            "42f0c9d1-5b6e-4c1a-9d3e-7a8b9c0d1e2f",
            "--base-url",
            &sb.url,
            "--secret-stdin",
        ])
        .write_stdin("nps-demo-api-key-0f9e8d7c6b5a\n")
        .assert()
        .success();
    let pay = |extra: &[&str]| {
        let out = home
            .tok_with_path()
            .args(["curl", "nelnet", "-s", "--fail", "-X", "POST", "/payments"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        sb.last("POST /payments")["headers"]["nps-trace-uuid"].as_str().unwrap().to_string()
    };
    let (a, b) = (pay(&[]), pay(&[]));
    assert_ne!(a, b);
    assert!(a.len() == 36 && a.as_bytes()[14] == b'4', "{a}");
    assert_eq!(pay(&["-H", "nps-trace-uuid: mine-1"]), "mine-1");
    let out = home
        .tok_with_path()
        .args(["curl", "nelnet", "-s", "-X", "POST", "/tokenization/session"])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("\"session\""));
}

#[test]
fn netdirector_v1_keeps_the_newest_token_from_responses() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.v1_login(&sb);
    let route = "GET /api/transaction";
    let first = home.print("checkout");
    let c = claims(&first);
    assert!(c["iat"].as_f64().unwrap().fract() > 0.0, "fractional iat");
    assert!(c["exp"].as_f64().unwrap() - c["iat"].as_f64().unwrap() > 600_000.0);
    let url = format!("/api/transaction?uuid={TRANSACTION}&expand=customer,ndMeta");

    // -i puts the headers on curl's stdout; tok still sees the new token.
    let out = home.tok_with_path().args(["curl", "checkout", "-s", "-i", &url]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("authentication-token:") && text.contains(TRANSACTION), "{text}");
    assert_eq!(sb.last(route)["headers"]["authorization"], format!("Bearer {first}"));
    let second = home.print("checkout");
    assert_ne!(second, first);
    assert_eq!(sb.count(route), 2, "login + the curl call; print used the store");

    // The user's own -D file is left as asked, and read for the token.
    let dump = home.path().join("headers.txt");
    let out_file = home.path().join("body.json");
    let out = home
        .tok_with_path()
        .args([
            "curl",
            "checkout",
            "-s",
            "-D",
            dump.to_str().unwrap(),
            "-o",
            out_file.to_str().unwrap(),
            &url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty());
    assert!(std::fs::read_to_string(&dump).unwrap().contains("authentication-token:"));
    assert!(std::fs::read_to_string(&out_file).unwrap().contains(TRANSACTION));
    let third = home.print("checkout");
    assert_ne!(third, second);

    // -D - too: tok reads its own pipe and puts the headers on stdout before the body.
    let out = home.tok_with_path().args(["curl", "checkout", "-s", "-D", "-", &url]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("HTTP/") && text.find("authentication-token:") < text.find(TRANSACTION),
        "{text}"
    );
    let fourth = home.print("checkout");
    assert_ne!(fourth, third, "adopted from tok's own pipe");
    let third = fourth;

    // An older token in a reply is not kept.
    sb.fault(json!({ "path": "/api/transaction", "status": 200, "body": "{}", "headers": { "authentication-token": first }, "times": 1 }));
    home.tok_with_path().args(["curl", "checkout", "-s", &url]).assert().success();
    assert_eq!(home.print("checkout"), third);
}

#[test]
fn github_env_appends_and_masks() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    let file = home.path().join("github_env");
    std::fs::write(&file, "EXISTING=1\n").unwrap();
    let out = home
        .tok()
        .env("GITHUB_ENV", &file)
        .args(["print", "nexterpay", "--format", "header", "--github-env", "NP_AUTH"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("::add-mask::{token}\n"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("EXISTING=1\nNP_AUTH=Authorization: Bearer {token}\n")
    );

    let out = home.tok().args(["print", "nexterpay", "--github-env", "NP_AUTH"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("GITHUB_ENV is not set"));
    let out = home
        .tok()
        .env("GITHUB_ENV", &file)
        .args(["print", "nexterpay", "--format", "env", "--github-env", "X"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(sb.count(CREATE_TOKEN), 1);
}

/// The committed bash script is what tok prints, and in a real bash it completes
/// profile names from the user's own config and every flag's values.
#[test]
fn completions_complete_profiles_and_values_in_bash() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    home.tok()
        .args([
            "login",
            "billing",
            "--provider",
            "oauth2",
            "--token-url",
            &format!("{}/oauth2/generic/token", sb.url),
        ])
        .args(["--client-id", "demo-client", "--secret-stdin"])
        .write_stdin("demo-secret\n")
        .assert()
        .success();
    let out = home.tok().args(["completions", "bash"]).output().unwrap();
    let committed =
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/tok.bash")).unwrap();
    assert_eq!(out.stdout, committed);
    let script = home.path().join("tok.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let bin_dir = tok_path().parent().unwrap();
    // What bash offers after `tok <words...> <TAB>`.
    let complete = |words: &[&str]| -> Vec<String> {
        let words_text = words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" ");
        let program = format!(
            "source {}; COMP_WORDS=(tok {words_text}); COMP_CWORD={}; COMP_TYPE=9; _clap_complete_tok tok '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            words.len(),
            words.last().unwrap(),
            words.get(words.len().wrapping_sub(2)).copied().unwrap_or("tok"),
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(program)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
            .env("HOME", home.path())
            .env("TOK_HOME", home.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let profiles = complete(&["print", ""]);
    assert!(
        profiles.contains(&"nexterpay".to_string()) && profiles.contains(&"billing".to_string()),
        "{profiles:?}"
    );
    assert!(
        complete(&["print", "bi"]).iter().all(|c| c.starts_with("bi")),
        "{:?}",
        complete(&["print", "bi"])
    );
    let providers = complete(&["login", "x", "--provider", ""]);
    assert!(providers.contains(&"netdirector-v1".to_string()), "{providers:?}");
    let formats = complete(&["print", "nexterpay", "--format", ""]);
    assert_eq!(formats, ["token", "header", "json", "env"], "{formats:?}");
    let envs = complete(&["login", "x", "--env", ""]);
    assert!(envs.contains(&"sandbox".to_string()) && envs.contains(&"uat".to_string()), "{envs:?}");
    let algs = complete(&["sign", "--alg", "E"]);
    assert!(algs.contains(&"ES256".to_string()) && algs.contains(&"EdDSA".to_string()), "{algs:?}");
}

/// Everything after the profile is curl's: flags tok also has, bundles of short options
/// with a value at the end, `--opt=value`, and values that look like paths.
#[test]
fn everything_after_the_profile_is_curls() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    // -v after the profile is curl's verbose output, not tok's.
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-v", "-s", "-o", "/dev/null", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("> POST /Catalog/GetCountries"), "curl's -v: {err}");
    assert!(!err.contains("tok: "), "not tok's -v: {err}");
    // tok's -v goes before the profile.
    let out = home
        .tok_with_path()
        .args(["curl", "-v", "nexterpay", "-s", "-o", "/dev/null", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(stderr_of(&out).contains("tok: nexterpay: cached token"), "{}", stderr_of(&out));
    // -h after the profile reaches curl.
    let out = home.tok_with_path().args(["curl", "nexterpay", "-h"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Usage: curl"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Bundled short options with a value at the end, and --opt=value.
    let out_file = home.path().join("out.json");
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-X", "POST", "-sSo"])
        .arg(&out_file)
        .arg("/Catalog/GetCountries")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(std::fs::read_to_string(&out_file).unwrap().contains("France"), "the body went to the file");
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-X", "POST", "-sD", "-", "-o", "/dev/null", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // curl reads --opt=value since 8.16.0; older curls say "unknown option" (tok's own
    // reading of it is unit-tested in curl_args).
    let version = String::from_utf8(Command::new("curl").arg("--version").output().unwrap().stdout).unwrap();
    let (major, minor) = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split_once('.'))
        .map(|(a, b)| {
            (a.parse::<u32>().unwrap_or(0), b.split('.').next().unwrap().parse::<u32>().unwrap_or(0))
        })
        .unwrap();
    if (major, minor) < (8, 16) {
        assert_eq!(sb.count(COUNTRIES), 3);
        return;
    }
    std::fs::remove_file(&out_file).unwrap();
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-X", "POST", "-s"])
        .arg(format!("--output={}", out_file.display()))
        .arg("--url=/Catalog/GetCountries")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(out_file.exists());
    assert_eq!(sb.count(COUNTRIES), 4);
}

/// An option curl does not have is refused as curl would refuse it (exit 2, named),
/// before anything is sent: tok cannot know whether the next argument is its value or
/// a URL (`--min-ttl 5m` would make `5m` a URL).
#[test]
fn an_option_curl_does_not_have_is_refused_by_name() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let table: &[(&[&str], &str)] = &[
        (&["--min-ttl", "5m", "/Catalog/GetCountries"], "go before the profile: tok curl --min-ttl"),
        (&["--no-retry", "/Catalog/GetCountries"], "go before the profile"),
        (&["-s", "--frobnicate=1", "/Catalog/GetCountries"], "curl --help all"),
        (&["-sW", "/Catalog/GetCountries"], "curl --help all"),
        (&["--no-output", "/Catalog/GetCountries"], "curl --help all"),
    ];
    for (args, hint) in table {
        let out = home.tok_with_path().args(["curl", "nexterpay"]).args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        let option = args.iter().find(|a| a.starts_with('-') && !["-s"].contains(a)).unwrap();
        let named = if *option == "-sW" { "-W" } else { option.split('=').next().unwrap() };
        assert!(stderr_of(&out).contains(&format!("curl has no option {named}")), "{}", stderr_of(&out));
        assert!(stderr_of(&out).contains(hint), "{args:?}: {}", stderr_of(&out));
        assert!(!stderr_of(&out).contains("=1"), "no value is repeated: {}", stderr_of(&out));
    }
    assert_eq!(sb.count(COUNTRIES), 0, "nothing was sent");
    assert_eq!(sb.count(CREATE_TOKEN), 1, "only the login's");
}
