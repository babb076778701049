//! `--grant device_code` (RFC 8628): against the real oidc-provider (a person approving
//! with browser.mjs, while tok waits) and against tok-sandbox's `/as/device` for what
//! oidc-provider never does (`slow_down`, a code that expires, a plain-HTTP page).

use crate::support::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStderr, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A `tok login` under way, its stderr read line by line on a thread.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(home: &Home, args: &[&str], stdin: Option<&str>) -> Running {
        Running::start_with(home, args, stdin, &[])
    }

    fn start_with(home: &Home, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Running {
        let mut cmd = home.process();
        cmd.envs(env.iter().copied()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = spawn_patiently(&mut cmd);
        if let Some(text) = stdin {
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        let stderr: ChildStderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Running { child, lines, seen: Vec::new() }
    }

    /// The first line holding `marker` (the text after it), within 30 s.
    fn after(&mut self, marker: &str) -> String {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some((_, rest)) = line.split_once(marker) {
                        return rest.trim().to_string();
                    }
                }
                Err(_) => panic!("no line with {marker:?}; stderr so far:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Waits for tok to end: its exit code, stdout and the whole of stderr.
    fn finish(mut self) -> (i32, String, String) {
        let status = self.child.wait().unwrap();
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut self.child.stdout.take().unwrap(), &mut stdout).unwrap();
        self.seen.extend(self.lines.iter());
        (status.code().unwrap_or(-1), stdout, self.seen.join("\n"))
    }
}

const PAGE: &str = "open this page on any device: ";

#[cfg(unix)]
mod oidc_provider {
    use super::*;
    use crate::oidc::{Oidc, http};

    fn device_login(oidc: &Oidc, home: &Home, client: &str, auth: &str, secret: Option<&str>) -> Running {
        let args = [
            "dev",
            "--provider",
            "oauth2",
            "--issuer",
            &oidc.issuer,
            "--client-id",
            client,
            "--auth",
            auth,
            "--grant",
            "device_code",
            "--scope",
            "openid offline_access",
        ];
        let mut args = [&["login"][..], &args].concat();
        if secret.is_some() {
            args.push("--secret-stdin");
        }
        Running::start(home, &args, secret.map(|s| format!("{s}\n")).as_deref())
    }

    #[test]
    fn a_device_login_completes_for_a_public_and_a_basic_client() {
        let oidc = Oidc::start();
        for (client, auth, secret) in
            [("tok-public", "none", None), ("tok-basic", "basic", Some("tok-basic-secret"))]
        {
            let home = Home::new();
            let mut tok = device_login(&oidc, &home, client, auth, secret);
            // oidc-provider gives the complete URI: the page knows the code already.
            let url = tok.after(PAGE);
            let code = tok.after("and check that it shows the code: ");
            assert!(url.contains("user_code="), "{url}");
            assert!(!code.is_empty());
            let out = oidc.device_browser(&url, None, &[("OIDC_BROWSER_LOGIN", "carol")]);
            assert!(out.status.success(), "{}", stderr_of(&out));
            let (status, stdout, stderr) = tok.finish();
            assert_eq!(status, 0, "{stderr}\nserver log:\n{}", oidc.server_log());
            assert_eq!(stdout, "", "nothing on stdout");
            let token = home.print("dev");
            let intro = http(
                "POST",
                &oidc.endpoint("introspection_endpoint"),
                &[("token", &token)],
                Some(("tok-basic", "tok-basic-secret")),
            )
            .json();
            assert_eq!(intro["active"], true, "{intro}");
            assert_eq!((intro["client_id"].as_str(), intro["sub"].as_str()), (Some(client), Some("carol")));
            // offline_access in a device request brings a refresh token, kept for refresh.
            let status = home.tok().args(["status", "dev"]).output().unwrap();
            let shown = String::from_utf8_lossy(&status.stdout);
            assert!(shown.lines().any(|l| l.contains("refresh token") && l.contains("held")), "{shown}");
        }
    }

    #[test]
    fn a_denied_device_login_exits_4() {
        let oidc = Oidc::start();
        let home = Home::new();
        let mut tok = device_login(&oidc, &home, "tok-public", "none", None);
        let url = tok.after(PAGE);
        let out = oidc.device_browser(&url, None, &[("OIDC_BROWSER_DENY", "1")]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        let (status, _, stderr) = tok.finish();
        assert_eq!(status, 4, "{stderr}");
        assert!(stderr.contains("denied") && stderr.contains("access_denied"), "{stderr}");
        let print = home.tok().args(["print", "dev"]).output().unwrap();
        assert_eq!(print.status.code(), Some(3), "no token was kept");
    }
}

mod sandbox {
    use super::*;
    use serde_json::{Value, json};

    const POLL: &str = "POST /as/token";
    const DEVICE: &str = "POST /as/device";

    fn start(script: Value) -> Sandbox {
        let sandbox = Sandbox::start();
        sandbox.settings(json!({ "device": script }));
        sandbox
    }

    /// `tok login dev` with the public device client and `extra` flags.
    fn login(sandbox: &Sandbox, home: &Home, extra: &[&str]) -> Running {
        let issuer = format!("{}/as", sandbox.url);
        let mut args =
            vec!["login", "dev", "--provider", "oauth2", "--issuer", &issuer, "--grant", "device_code"];
        args.extend(["--client-id", "device-public", "--auth", "none"]);
        args.extend(extra);
        Running::start(home, &args, None)
    }

    fn form(value: &Value) -> Vec<(String, String)> {
        url::form_urlencoded::parse(value["body"].as_str().unwrap().as_bytes()).into_owned().collect()
    }

    #[test]
    fn a_public_client_polls_past_authorization_pending_and_sends_the_grant_parameters() {
        let sandbox = start(json!({ "pending": 1 }));
        let home = Home::new();
        let mut tok = login(
            &sandbox,
            &home,
            &["--scope", "read write", "--resource", "https://api.example/", "--param", "prompt=consent"],
        );
        let url = tok.after(PAGE);
        let code = tok.after("and check that it shows the code: ");
        assert_eq!(url, format!("{}/as/activate?user_code={code}", sandbox.url));
        let (status, stdout, stderr) = tok.finish();
        assert_eq!((status, stdout.as_str()), (0, ""), "{stderr}");
        assert_eq!(sandbox.count(DEVICE), 1);
        assert_eq!(sandbox.count(POLL), 2, "one pending, then the token: {stderr}");
        let strs = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert_eq!(
            form(&sandbox.last(DEVICE)),
            strs(&[
                ("scope", "read write"),
                ("resource", "https://api.example/"),
                ("prompt", "consent"),
                ("client_id", "device-public")
            ]),
            "a public client sends its client_id alone"
        );
        let poll = form(&sandbox.last(POLL));
        let names: Vec<&str> = poll.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["grant_type", "device_code", "client_id"]);
        assert_eq!(poll[0].1, "urn:ietf:params:oauth:grant-type:device_code");
        let token = home.print("dev");
        assert_eq!(claims(&token)["sub"], "device-public");
        assert_eq!(sandbox.count(POLL), 2, "print is served from the cache");
        // The reply's refresh token refreshes; a refused one needs a person again.
        let out = home.tok().args(["refresh", "dev"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(form(&sandbox.last(POLL))[0], ("grant_type".to_string(), "refresh_token".to_string()));
        sandbox.settings(json!({ "refuse_refresh": true }));
        let out = home.tok().args(["refresh", "dev"]).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
        assert!(stderr_of(&out).contains("run `tok login dev` again"), "{}", stderr_of(&out));
        assert_eq!(sandbox.count(DEVICE), 1, "never a device login outside `tok login`");
    }

    #[test]
    fn a_confidential_client_authenticates_its_device_request() {
        // Without a complete URI the person types the code in.
        let sandbox = start(json!({ "reply": { "verification_uri_complete": null } }));
        let home = Home::new();
        let issuer = format!("{}/as", sandbox.url);
        let args = [
            "login",
            "dev",
            "--provider",
            "oauth2",
            "--issuer",
            &issuer,
            "--grant",
            "device_code",
            "--client-id",
            "demo-client",
            "--auth",
            "basic",
            "--secret-stdin",
        ];
        // $BROWSER is not for a device login: the person may be on another device.
        let opened = home.path().join("opened");
        let browser = home.path().join("browser.sh");
        std::fs::write(&browser, format!("#!/bin/sh\necho \"$@\" > '{}'\n", opened.display())).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let env = [("BROWSER", browser.to_str().unwrap()), ("PATH", "/usr/bin:/bin")];
        let mut tok = Running::start_with(&home, &args, Some("demo-secret\n"), &env);
        assert_eq!(tok.after(PAGE), format!("{}/as/activate", sandbox.url));
        assert!(tok.after("and enter the code: ").starts_with("SBX-"));
        let (status, _, stderr) = tok.finish();
        assert_eq!(status, 0, "{stderr}");
        let device = sandbox.last(DEVICE);
        assert!(device["headers"]["authorization"].as_str().unwrap().starts_with("Basic "));
        assert!(form(&device).is_empty(), "no client_id in the body with Basic: {device}");
        assert!(!stderr.contains("demo-secret") && !stderr.contains("dc-"), "{stderr}");
        assert_eq!(claims(&home.print("dev"))["sub"], "demo-client");
        assert!(!opened.exists(), "nothing was opened");
    }

    #[test]
    fn expired_and_denied_codes_end_the_login() {
        for (outcome, exit, said) in [("expired_token", 5, "expired"), ("access_denied", 4, "denied")] {
            let sandbox = start(json!({ "outcome": outcome }));
            let home = Home::new();
            let (status, _, stderr) = login(&sandbox, &home, &[]).finish();
            assert_eq!(status, exit, "{outcome}: {stderr}");
            assert!(stderr.contains(said) && stderr.contains(outcome), "{stderr}");
            assert!(stderr.contains("run `tok login dev` again"), "{stderr}");
            assert_eq!(sandbox.count(POLL), 1, "{outcome}: nothing after the answer");
            assert_eq!(home.tok().args(["print", "dev"]).output().unwrap().status.code(), Some(3));
        }
    }

    #[test]
    fn replies_with_an_unsafe_page_or_code_are_refused_before_anything_is_shown() {
        for (reply, said) in [
            (json!({ "verification_uri": "http://evil.example/activate" }), "is not HTTPS"),
            (json!({ "verification_uri_complete": "http://evil.example/a?user_code=X" }), "is not HTTPS"),
            (json!({ "user_code": "SBX\u{1b}]0;owned\u{7}" }), "not a short printable code"),
            (json!({ "interval": "soon" }), "interval is not a whole number"),
        ] {
            let sandbox = start(json!({ "reply": reply }));
            let home = Home::new();
            let (status, _, stderr) = login(&sandbox, &home, &[]).finish();
            assert_eq!(status, 5, "{reply}: {stderr}");
            assert!(stderr.contains(said), "{reply}: {stderr}");
            assert!(!stderr.contains(PAGE) && !stderr.contains('\u{1b}'), "{stderr}");
            assert_eq!(sandbox.count(POLL), 0, "{reply}");
        }
    }

    #[test]
    fn the_login_ends_when_the_code_expires_or_the_login_timeout_runs_out() {
        for (reply, extra, said) in [
            (json!({ "expires_in": 1 }), &[][..], "the user code expired"),
            (json!({}), &["--login-timeout", "1s"][..], "--login-timeout ran out"),
        ] {
            let sandbox = start(json!({ "pending": 1000, "reply": reply }));
            let home = Home::new();
            let started = Instant::now();
            let (status, _, stderr) = login(&sandbox, &home, extra).finish();
            assert_eq!(status, 5, "{stderr}");
            assert!(stderr.contains(said), "{stderr}");
            assert!(stderr.contains("waiting for the sign-in (up to 1s"), "{stderr}");
            assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
        }
    }

    #[test]
    fn the_device_code_never_shows_even_when_the_server_echoes_it() {
        let sandbox = start(json!({}));
        let echo = r#"{"error":"invalid_request","error_description":"bad: {{echo}}"}"#;
        sandbox.fault(json!({ "path": "/as/token", "status": 400, "body": echo, "times": 1 }));
        let home = Home::new();
        let mut args = vec!["-v"];
        let issuer = format!("{}/as", sandbox.url);
        args.extend(["login", "dev", "--provider", "oauth2", "--issuer", &issuer, "--grant", "device_code"]);
        args.extend(["--client-id", "device-public", "--auth", "none"]);
        let (status, _, stderr) = Running::start(&home, &args, None).finish();
        assert_eq!(status, 4, "{stderr}");
        let poll = form(&sandbox.last(POLL));
        let code = &poll.iter().find(|(k, _)| k == "device_code").unwrap().1;
        assert!(code.starts_with("dc-"));
        assert!(stderr.contains("bad: grant_type="), "the echo is shown: {stderr}");
        assert!(!stderr.contains(code.as_str()), "{stderr}");
        assert!(stderr.contains("(redacted)"), "{stderr}");
    }

    /// slow_down raises the interval by 5 s (RFC 8628 §3.5): after it, the 1 s interval's
    /// next poll does not come; and Ctrl-C cuts that long wait short at once.
    #[cfg(unix)]
    #[test]
    fn slow_down_adds_five_seconds_and_ctrl_c_stops_the_wait_at_once() {
        let sandbox = start(json!({ "slow_down": true, "pending": 1000 }));
        let home = Home::new();
        let mut tok = login(&sandbox, &home, &["-v"]);
        tok.after("slow_down: polling every 6 s from now on");
        assert_eq!(sandbox.count(POLL), 1);
        // Longer than the old interval (1 s), far shorter than the new one.
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(sandbox.count(POLL), 1, "no poll at the old interval");
        // SAFETY: a signal to the child this test started.
        unsafe { libc::kill(tok.child.id() as i32, libc::SIGINT) };
        let stopped = Instant::now();
        let (status, _, stderr) = tok.finish();
        assert!(stopped.elapsed() < Duration::from_secs(2), "stopped at once: {:?}", stopped.elapsed());
        assert_eq!(status, 130, "{stderr}");
        assert!(stderr.contains("stopped (Ctrl-C)"), "{stderr}");
        assert!(!stderr.contains("dc-"), "no device code in -v lines: {stderr}");
        assert_eq!(sandbox.count(POLL), 1);
        assert_eq!(home.tok().args(["print", "dev"]).output().unwrap().status.code(), Some(3));
    }
}

mod failing_polls {
    use super::*;
    use serde_json::json;

    fn login(sandbox: &Sandbox, home: &Home) -> Running {
        let issuer = format!("{}/as", sandbox.url);
        let args = [
            "-v",
            "login",
            "dev",
            "--provider",
            "oauth2",
            "--issuer",
            &issuer,
            "--grant",
            "device_code",
            "--client-id",
            "device-public",
            "--auth",
            "none",
        ];
        Running::start(home, &args, None)
    }

    /// A poll the server fails is not retried at once (that would poll faster than the
    /// interval): the next poll comes at the interval, and three failures end the login.
    #[test]
    fn a_failed_poll_waits_for_the_interval_and_three_end_the_login() {
        let sandbox = Sandbox::start();
        sandbox.fault(json!({ "path": "/as/token", "status": 503, "times": 1 }));
        let home = Home::new();
        let (status, _, stderr) = login(&sandbox, &home).finish();
        assert_eq!(status, 0, "{stderr}");
        assert!(stderr.contains("503") && stderr.contains("polling again"), "{stderr}");
        assert!(!stderr.contains("retrying in"), "no retry inside a poll: {stderr}");
        assert_eq!(sandbox.count("POST /as/token"), 2);

        let sandbox = Sandbox::start();
        sandbox.fault(json!({ "path": "/as/token", "status": 503, "times": 3 }));
        let home = Home::new();
        let (status, _, stderr) = login(&sandbox, &home).finish();
        assert_eq!(status, 5, "{stderr}");
        assert_eq!(sandbox.count("POST /as/token"), 3, "{stderr}");
    }
}
