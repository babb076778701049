//! `tok exec`: a command gets fresh tokens in its environment, never tok's secrets, and
//! becomes the process itself (issue: beyond the usual tools, item 1).

use crate::support::*;

/// `tok exec ... -- sh -c SCRIPT`, with a password in tok's own environment.
fn exec(home: &Home, profiles: &[&str], script: &str) -> std::process::Output {
    home.tok()
        .env("PATH", "/usr/bin:/bin")
        .env("TOK_NEXTERPAY_PASSWORD", "a-secret-tok-has")
        .arg("exec")
        .args(profiles)
        .args(["--", "sh", "-c", script])
        .output()
        .unwrap()
}

#[test]
fn the_command_gets_tokens_and_headers_but_no_secret() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    assert!(home.api_key_login(&sb).status.success());
    let token = home.print("nexterpay");
    let out = exec(
        &home,
        &["nexterpay,acme-key"],
        "echo \"$TOK_NEXTERPAY_TOKEN\"; echo \"$TOK_NEXTERPAY_HEADER\"; echo \"$TOK_ACME_KEY_HEADER\"; env",
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(token.as_str()));
    assert_eq!(lines.next(), Some(format!("Authorization: Bearer {token}").as_str()));
    assert_eq!(
        lines.next(),
        Some(format!("Api-key: {API_KEY}").as_str()),
        "API-key profiles work the same way"
    );
    assert!(!text.contains("a-secret-tok-has") && !text.contains("TOK_NEXTERPAY_PASSWORD"), "{text}");
    assert!(text.contains("TOK_HOME="), "the rest of the environment stays: {text}");
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the cached token was used");
}

#[test]
fn var_names_exit_codes_and_exec() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    let out = exec(
        &home,
        &["nexterpay", "--var", "API_TOKEN"],
        "echo \"$API_TOKEN|$API_TOKEN_HEADER|$TOK_NEXTERPAY_TOKEN\"",
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("{token}|Authorization: Bearer {token}|")
    );
    // The exit code is the command's.
    assert_eq!(exec(&home, &["nexterpay"], "exit 7").status.code(), Some(7));
    // tok replaced itself: the shell has tok's process id.
    let child = home
        .process()
        .env("PATH", "/usr/bin:/bin")
        .args(["exec", "nexterpay", "--", "sh", "-c", "echo $$"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), pid.to_string(), "no tok process left behind");
    // Usage errors: no command, --var with several profiles, a command that does not exist.
    for args in [
        &["exec", "nexterpay"][..],
        &["exec", "nexterpay,n3xt", "--var", "X", "--", "true"],
        &["exec", "nexterpay", "--", "no-such-command-tok"],
    ] {
        let out = home.tok().env("PATH", "/usr/bin:/bin").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn nothing_runs_when_a_token_cannot_be_had() {
    let home = Home::new();
    let marker = home.path().join("ran");
    let out = home
        .tok()
        .env("PATH", "/usr/bin:/bin")
        .args(["exec", "nexterpay", "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(!marker.exists(), "the command did not run");
}

/// In GitHub Actions every token tok hands out is announced with ::add-mask:: on stderr
/// first (the runner reads workflow commands there too); stdout stays the data alone.
#[test]
fn github_actions_masks_every_token_without_changing_stdout() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    for format in ["token", "header", "json", "env"] {
        let out = home
            .tok()
            .env("GITHUB_ACTIONS", "true")
            .args(["print", "nexterpay", "--format", format])
            .output()
            .unwrap();
        assert!(out.status.success());
        let plain = home.tok().args(["print", "nexterpay", "--format", format]).output().unwrap();
        if format == "json" {
            // The two runs may straddle a second: expires_in counts down between them.
            let without_countdown = |bytes: &[u8]| {
                let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                let left = v.as_object_mut().unwrap().remove("expires_in").unwrap().as_i64().unwrap();
                (v, left)
            };
            let ((masked, left), (unmasked, plain_left)) =
                (without_countdown(&out.stdout), without_countdown(&plain.stdout));
            assert_eq!(masked, unmasked, "json: stdout unchanged");
            assert!((left - plain_left).abs() <= 1, "json: {left} against {plain_left}");
        } else {
            assert_eq!(out.stdout, plain.stdout, "{format}: stdout unchanged");
        }
        assert_eq!(stderr_of(&out), format!("::add-mask::{token}\n"), "{format}");
    }
    let out = home
        .tok()
        .env("GITHUB_ACTIONS", "true")
        .env("PATH", "/usr/bin:/bin")
        .args(["exec", "nexterpay", "--", "sh", "-c", "echo ok"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"ok\n");
    assert!(stderr_of(&out).starts_with(&format!("::add-mask::{token}\n")), "{}", stderr_of(&out));
    // Outside GitHub Actions nothing is said.
    let out = home.tok().env("GITHUB_ACTIONS", "false").args(["print", "nexterpay"]).output().unwrap();
    assert!(out.stderr.is_empty());
}
