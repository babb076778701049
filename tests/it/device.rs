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
        let mut cmd = home.process();
        cmd.arg("login").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
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
        let mut args = args.to_vec();
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
