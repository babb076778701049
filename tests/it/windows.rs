//! Windows: `tok curl` hands curl.exe the header through an owner-only named pipe, and
//! the header is on no command line. Run under Wine by `.ci/windows-tests`, with a
//! stand-in curl.exe (`sandbox/src/bin/fake-curl.rs`; Wine has no curl).

use crate::support::*;

#[test]
fn tok_curl_hands_the_header_to_curl_exe_through_a_named_pipe() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    let fake = tok_path().parent().unwrap().join("fake-curl.exe");
    assert!(fake.exists(), "build it first: cargo build -p tok-sandbox --bin fake-curl ({})", fake.display());
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(&fake, bin.join("curl.exe")).unwrap();
    // Under Wine, Rust binaries need the ProcessPrng stand-in beside them (.ci/wine/).
    let stub = tok_path().parent().unwrap().join("bcryptprimitives.dll");
    if stub.exists() {
        std::fs::copy(&stub, bin.join("bcryptprimitives.dll")).unwrap();
    }
    let report = home.path().join("curl-report.txt");
    let out = home
        .tok()
        .env("PATH", &bin)
        .env("FAKE_CURL_REPORT", &report)
        .env("TOK_NEXTERPAY_PASSWORD", "not-for-curl")
        .args(["-v", "curl", "nexterpay", "-s", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    // A report file, not stdout: under Wine a grandchild's inherited stdout was lost when
    // the whole suite ran in parallel.
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    assert!(text.contains(&format!("header: Authorization: Bearer {token}")), "{text}\nstderr: {err}");
    assert!(text.contains("header-from: \\\\.\\pipe\\tok-"), "through a named pipe: {text}");
    for line in text.lines().filter(|l| l.starts_with("arg: ")) {
        assert!(!line.contains(&token), "the token is on curl's command line: {line}");
    }
    assert!(text.contains(&format!("arg: {}/Catalog/GetCountries", sb.url)), "{text}");
}

#[test]
fn format_env_writes_powershell_and_cmd_when_asked() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    let env = |shell: &str| {
        let out =
            home.tok().args(["print", "nexterpay", "--format", "env", "--shell", shell]).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(env("powershell"), format!("$env:TOK_NEXTERPAY_TOKEN = '{token}'\n"));
    assert_eq!(env("cmd"), format!("set \"TOK_NEXTERPAY_TOKEN={token}\"\n"));
    assert_eq!(env("posix"), format!("export TOK_NEXTERPAY_TOKEN={token}\n"));
}

#[test]
fn tok_proxy_serves_with_the_profiles_credential() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    let mut cmd = home.process();
    cmd.args(["proxy", "nexterpay"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
    let mut child = spawn_patiently(&mut cmd);
    let mut base = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut base).unwrap();
    let base = base.trim_end().to_string();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::new();
    let text = client.post(format!("{base}/echo/win")).body("{}").send().and_then(|r| r.text()).unwrap();
    let seen: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let missing = client.get(format!("{}/echo/win", base.rsplit_once('/').unwrap().0)).send().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen["headers"]["authorization"], format!("Bearer {token}"), "{seen}");
    assert_eq!(missing.status(), 404);
}
