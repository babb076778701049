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

/// `tok exec --proxy ...`: everything after `--` is the command.
fn exec_proxy(home: &Home, args: &[&str], script: &str) -> std::process::Command {
    let mut cmd = home.process();
    cmd.env("PATH", "/usr/bin:/bin")
        .env("TOK_NEXTERPAY_PASSWORD", "a-secret-tok-has")
        .arg("exec")
        .args(args)
        .args(["--", "sh", "-c", script]);
    cmd
}

/// The port of a proxy URL `http://127.0.0.1:PORT/CAPABILITY`.
fn port_of(url: &str) -> u16 {
    let rest = url.strip_prefix("http://127.0.0.1:").unwrap_or_else(|| panic!("{url}"));
    rest.split('/').next().unwrap().parse().unwrap()
}

#[test]
fn with_proxy_the_command_gets_a_url_and_no_token() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    assert!(home.api_key_login(&sb).status.success());
    let token = home.print("nexterpay");
    // A token profile before the option, a proxy after it: both kinds at once.
    let out = exec_proxy(
        &home,
        &["acme-key", "--proxy", "nexterpay"],
        "curl -sS \"$TOK_NEXTERPAY_URL/echo/child\"; echo; \
         curl -s -o /dev/null -w '%{http_code} ' \"${TOK_NEXTERPAY_URL%/*}/echo/child\"; \
         curl -s -o /dev/null -w '%{http_code}\\n' -H 'Origin: http://evil.example' \"$TOK_NEXTERPAY_URL/echo/child\"; \
         echo ---; env; exit 7",
    )
    .output()
    .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(7), "the command's exit code: {stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (answers, env) = text.split_once("---\n").unwrap_or_else(|| panic!("{text}"));
    let (answer, refused) = answers.trim_end().split_once('\n').unwrap_or_else(|| panic!("{answers}"));
    // tok proxy's guards hold: no capability, 404; another page's request, 403.
    assert_eq!(refused, "404 403", "{answers}");
    let seen: serde_json::Value = serde_json::from_str(answer.trim()).unwrap_or_else(|_| panic!("{answer}"));
    assert_eq!(seen["path"], "/echo/child");
    assert_eq!(seen["headers"]["authorization"], format!("Bearer {token}"), "the proxy added the credential");
    let url =
        env.lines().find_map(|l| l.strip_prefix("TOK_NEXTERPAY_URL=")).unwrap_or_else(|| panic!("{env}"));
    assert_eq!(url.rsplit('/').next().unwrap().len(), 32, "the capability is in the URL: {url}");
    for absent in [token.as_str(), "a-secret-tok-has", "TOK_NEXTERPAY_TOKEN", "TOK_NEXTERPAY_HEADER"] {
        assert!(!env.contains(absent), "{absent} in the command's environment: {env}");
    }
    assert!(env.contains(&format!("TOK_ACME_KEY_HEADER=Api-key: {API_KEY}")), "{env}");
    // One line per request on stderr, as `tok proxy` writes, and no capability.
    assert!(stderr.contains("proxy: GET /echo/child -> 200 ("), "{stderr}");
    assert!(!stderr.contains(url.rsplit('/').next().unwrap()), "{stderr}");
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the cached token was used");
    // The proxy ended with the command.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port_of(url))).is_err(), "{url} still open");
}

#[test]
fn with_several_proxies_each_profile_gets_its_own() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    assert!(home.api_key_login(&sb).status.success());
    let token = home.print("nexterpay");
    let out = exec_proxy(
        &home,
        &["--proxy", "nexterpay", "--proxy", "acme-key"],
        "curl -sS \"$TOK_NEXTERPAY_URL/echo/a\"; echo; curl -sS \"$TOK_ACME_KEY_URL/echo/b\"; echo; \
         env | grep -c '^TOK_.*_URL='",
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let a: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let b: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(a["headers"]["authorization"], format!("Bearer {token}"));
    assert_eq!(b["headers"]["api-key"], API_KEY);
    assert!(b["headers"].get("authorization").is_none(), "{b}");
    assert_eq!(lines[2], "2");
}

#[test]
fn with_proxy_usage_errors_and_failures_run_nothing() {
    let sb = Sandbox::start();
    let home = Home::new();
    let marker = home.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    // Not logged in: exit 3, before the command.
    let out = exec_proxy(&home, &["--proxy", "nexterpay"], &touch).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    home.login(&sb);
    for args in [
        &["--proxy", "nexterpay", "nexterpay"][..],
        &["nexterpay", "--proxy", "nexterpay"],
        &["--proxy", "nexterpay", "--proxy", "nexterpay"],
        &["--proxy", "nexterpay", "--var", "X"],
    ] {
        let out = exec_proxy(&home, args, &touch).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
    }
    assert!(!marker.exists(), "the command did not run");
    // No command at all.
    let out = home.process().args(["exec", "--proxy", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
}

/// tok stays as the command's parent: SIGTERM to it reaches the command, SIGINT (which the
/// terminal sends to both) is left to the command, and a command a signal ended ends tok
/// with the same signal, as if tok had replaced itself.
#[cfg(unix)]
#[test]
fn with_proxy_signals_pass_to_the_command_and_back() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let mut child = exec_proxy(&home, &["--proxy", "nexterpay"], "echo ready; exec sleep 30")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pid = child.id() as i32;
    let started = std::time::Instant::now();
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "the command ended at once");
    // A command's own signal, too.
    let status = exec_proxy(&home, &["--proxy", "nexterpay"], "kill -HUP $$").status().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGHUP), "{status:?}");
}

/// The answer for long-running commands: the proxy refreshes the token the command never
/// sees, where an environment token would have gone stale.
#[cfg(target_os = "linux")]
#[test]
fn with_proxy_a_long_running_command_gets_fresh_tokens() {
    let faketime = faketime_library();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let first = home.print("nexterpay");
    let clock = home.path().join("clock");
    std::fs::write(&clock, "+0\n").unwrap();
    // Nine and a half hours pass in the middle (the sandbox's tokens last ten).
    let script = "unset LD_PRELOAD; curl -sS \"$TOK_NEXTERPAY_URL/echo/one\"; echo; \
                  echo +34200 > \"$CLOCK\"; \
                  curl -sS -o /dev/null -H 'Content-Type: application/json' \
                    -d '{\"clock_offset\": 34200}' \"$SANDBOX/_sandbox/settings\"; \
                  curl -sS \"$TOK_NEXTERPAY_URL/echo/two\"; echo";
    let out = exec_proxy(&home, &["--proxy", "nexterpay", "--min-ttl", "1h"], script)
        // tok's refresh would log in with it: here the stored password is the right one.
        .env_remove("TOK_NEXTERPAY_PASSWORD")
        .env("CLOCK", &clock)
        .env("SANDBOX", &sb.url)
        .env("LD_PRELOAD", faketime)
        .env("FAKETIME_TIMESTAMP_FILE", &clock)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let seen: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(seen.len(), 2, "{text}");
    assert_eq!(seen[0]["headers"]["authorization"], format!("Bearer {first}"));
    let second = seen[1]["headers"]["authorization"].as_str().unwrap();
    assert!(second.starts_with("Bearer ") && second != format!("Bearer {first}"), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 2, "one refresh");
}
