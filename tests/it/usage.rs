//! Usage errors: they never repeat a value typed in the wrong place (it may be a secret),
//! they point the right way, and no closed pipe turns one, or any output, into a panic
//! (issue 18, items 2 and 11, and "the first hour, second pass").

use crate::support::*;

/// Exit 2, and the value nowhere in what tok wrote.
fn refused_without_echo(home: &Home, args: &[&str], secret: &str) -> String {
    let out = home.tok().args(args).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), stderr_of(&out));
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stdout.contains(secret) && !stderr.contains(secret), "{args:?} repeated {secret:?}: {stderr}");
    assert!(stdout.is_empty(), "{args:?}: {stdout}");
    assert!(stderr.contains("tok: error: "), "{args:?}: {stderr}");
    stderr
}

#[test]
fn no_usage_error_repeats_a_value_typed_in_the_wrong_place() {
    let home = Home::new();
    let cases: &[(&[&str], &str, &str)] = &[
        // (command line, the value, what the error must name instead)
        (
            &["login", "nexterpay", "--username", "demo", "--secret-stdin", PASSWORD],
            PASSWORD,
            "`--secret-stdin` takes no value",
        ),
        (
            &["login", "nexterpay", "--username", "demo", "--secret-stdin=demo-password"],
            PASSWORD,
            "`--secret-stdin` takes no value",
        ),
        (
            &["login", "n3xt", "--client-id", "X", "n3xt-client-secret"],
            "n3xt-client-secret",
            "after `--client-id` and its value",
        ),
        (
            &["login", "acme", "--provider", "merchant-v2", "--api-key", API_KEY],
            API_KEY,
            "`--api-key` takes no value",
        ),
        (
            &["login", "acme", "--provider", "merchant-v2", "--api-key=demo-api-key-7f3c9a12"],
            API_KEY,
            "`--api-key` takes no value",
        ),
        (&["sign", "--key-env", "c2VjcmV0a2V5+/=="], "c2VjcmV0a2V5", "`--key-env`"),
        (&["sign", "--ttl", "5m", "--key-env", "deadbeef0123456789"], "deadbeef0123456789", "--key-env"),
        (&["inspect", "x.y.z", "--verify", "--key-env", "hmac key!"], "hmac key!", "`--key-env`"),
        (&["print", "nexterpay", "extra-s3cret"], "extra-s3cret", "in position 3 of `tok print`"),
        (&["print", "Hunter2 pw"], "Hunter2", "`<PROFILE>`"),
        (&["Hunter2pw"], "Hunter2pw", "no such command"),
        (&["print", "nexterpay", "--min-ttl", "Hunter2pw"], "Hunter2pw", "`--min-ttl`"),
        (&["--timeout", "Hunter2pw", "status"], "Hunter2pw", "`--timeout`"),
        (&["print", "nexterpay", "--format", "Hunter2pw"], "Hunter2pw", "`--format`"),
        (&["login", "x", "--provider", "Hunter2pw"], "Hunter2pw", "`--provider`"),
        (&["logout", "--all=Hunter2pw"], "Hunter2pw", "`--all` takes no value"),
        (&["print", "nexterpay", "-pHunter2pw"], "Hunter2pw", "unexpected option"),
        (&["print", "nexterpay", "-xunter2pw"], "xunter2pw", "unexpected option"),
        (&["print", "nexterpay", "--Hunter2pw"], "Hunter2pw", "unexpected option"),
        (&["print", "nexterpay", "--sk_live_51H8x"], "sk_live_51H8x", "unexpected option"),
        (&["sign", "--key-file", "k", "--key-env", "Hunter2pw"], "Hunter2pw", "cannot be used with"),
        (
            &["print", "nexterpay", "--format", "env", "--var", "eyJhbGciOi.x-y"],
            "eyJhbGciOi",
            "variable name",
        ),
    ];
    for (args, secret, named) in cases {
        let stderr = refused_without_echo(&home, args, secret);
        assert!(stderr.contains(named), "{args:?} should say {named:?}: {stderr}");
    }
}

#[test]
fn a_secret_flag_gets_the_ways_tok_takes_secrets() {
    let home = Home::new();
    for flag in [
        "--password",
        "--password=hunter2",
        "--client-secret",
        "--client-secret=hunter2",
        "--api-key=hunter2",
        "--refresh-token=hunter2",
        "--secret",
        "--token=hunter2",
    ] {
        for command in [&["login", "nexterpay"][..], &["print", "nexterpay"], &["sign"]] {
            let args: Vec<&str> = command.iter().copied().chain([flag, "hunter2"]).collect();
            let stderr = refused_without_echo(&home, &args, "hunter2");
            let first = stderr.lines().next().unwrap();
            // One line: tok never takes secrets as flags, and the three ways it does.
            if !flag.starts_with("--api-key") || command[0] != "login" {
                assert!(first.contains("tok never takes secrets as flags"), "{args:?}: {stderr}");
            }
            let ways: &[&str] = match command[0] {
                "sign" => &["--key-file", "--key-env", "--key-stdin"],
                _ => &["--secret-stdin", "TOK_<PROFILE>_<FIELD>", "prompt"],
            };
            for way in ways {
                assert!(first.contains(way), "{args:?} should name {way}: {stderr}");
            }
        }
    }
}

#[test]
fn usage_errors_point_the_right_way() {
    let home = Home::new();
    let cases: &[(&[&str], &str)] = &[
        (&["curl", "-s", "nexterpay", "/x"], "curl's own options go after the profile"),
        (&["curl", "-sS", "nexterpay", "/x"], "curl's own options go after the profile"),
        (&["curl", "--data", "x", "nexterpay", "/x"], "curl's own options go after the profile"),
        (&["print", "nexterpay", "--json"], "did you mean `--format json`?"),
        (&["print", "nexterpay", "--header"], "did you mean `--format header`?"),
        (&["print", "nexterpay", "--format", "JSON"], "did you mean `json`?"),
        (&["print", "nexterpay", "--format", "env", "--shell", "PowerShell"], "did you mean `powershell`?"),
        (&["prnt", "nexterpay"], "did you mean `print`?"),
        (&["exec", "nexterpay"], "<CMD>"),
    ];
    for (args, says) in cases {
        let out = home.tok().args(*args).output().unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} should say {says:?}: {stderr}");
    }
}

/// `tok exec P CMD ARGS` runs CMD, with or without `--`, as `aws-vault exec` does; what
/// follows CMD is CMD's, even when it looks like one of tok's options.
#[cfg(unix)]
#[test]
fn exec_takes_the_command_without_a_double_dash() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    for args in [
        &["exec", "nexterpay", "sh", "-c", "echo $TOK_NEXTERPAY_TOKEN $0", "--min-ttl"][..],
        &[
            "exec",
            "nexterpay",
            "--min-ttl",
            "1s",
            "--",
            "sh",
            "-c",
            "echo $TOK_NEXTERPAY_TOKEN $0",
            "--min-ttl",
        ],
    ] {
        let out = home.tok().env("PATH", std::env::var_os("PATH").unwrap()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{token} --min-ttl\n"), "{args:?}");
    }
}

/// What a completion script gets back from `tok` for `words`, the last one being completed.
fn complete(home: &Home, words: &[&str]) -> Vec<String> {
    let out = home
        .tok()
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .arg("--")
        .args(words)
        .output()
        .unwrap();
    assert!(out.status.success(), "{words:?}: {}", stderr_of(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .split(['\x0b', '\n'])
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn login_completes_each_provider_once() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let candidates = complete(&home, &["tok", "login", ""]);
    for provider in ["nexterpay", "merchant-v2", "n3xt", "oauth2"] {
        assert_eq!(candidates.iter().filter(|c| *c == provider).count(), 1, "{provider}: {candidates:?}");
    }
}

#[test]
fn after_curls_profile_the_shell_completes_curls_options() {
    let home = Home::new();
    for words in [
        &["tok", "curl", "nexterpay", "--"][..],
        &["tok", "curl", "nexterpay", "-s", "--"],
        &["tok", "--store", "file", "curl", "--min-ttl", "5m", "nexterpay", "--"],
    ] {
        let candidates = complete(&home, words);
        // Value-taking, boolean and plain options alike: curl's whole table.
        for curl in ["--data", "--header", "--output", "--cookie", "--silent", "--location", "--http1.1"] {
            assert!(candidates.iter().any(|c| c == curl), "{words:?}: {curl} in {candidates:?}");
        }
        for tok in ["--min-ttl", "--no-retry", "--store", "--timeout"] {
            assert!(!candidates.iter().any(|c| c == tok), "{words:?}: {tok} in {candidates:?}");
        }
    }
    let data = complete(&home, &["tok", "curl", "nexterpay", "--data-b"]);
    assert_eq!(data, ["--data-binary"]);
    // Before the profile, tok's own options still complete.
    assert!(complete(&home, &["tok", "curl", "--"]).iter().any(|c| c == "--min-ttl"));
}

/// tok run with stdout or stderr on a pipe nobody reads any more.
#[cfg(unix)]
fn with_closed(mut cmd: std::process::Command, stream: &str) -> std::process::Output {
    use std::process::Stdio;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    match stream {
        "stdout" => cmd.stdout(writer).stderr(Stdio::piped()),
        _ => cmd.stderr(writer).stdout(Stdio::piped()),
    };
    cmd.stdin(Stdio::null()).output().unwrap()
}

/// A closed stdout ends tok quietly with 141 (what a shell reports for a program SIGPIPE
/// ended); a closed stderr loses tok's words but not its exit code. Never a panic.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_tok_quietly() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let run = |args: &[&str], stream: &str| {
        let mut cmd = home.process();
        cmd.args(args);
        with_closed(cmd, stream)
    };
    for args in [
        &["--help"][..],
        &["print", "--help"],
        &["--version"],
        &["print", "nexterpay"],
        &["print", "nexterpay", "--format", "json"],
        &["man"],
        &["completions", "bash"],
        &["status"],
        &["status", "nexterpay"],
        &["providers"],
    ] {
        let out = run(args, "stdout");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", stderr_of(&out));
        assert_eq!(stderr_of(&out), "", "{args:?}");
    }
    for (args, code) in [
        (&["nosuch"][..], 2),
        (&["print", "nexterpay", "--bogus"], 2),
        (&["print", "nexterpay", "extra"], 2),
        (&[], 2),
        (&["print", "nosuch"], 3),
        (&["print", "nexterpay"], 0),
    ] {
        let out = run(args, "stderr");
        assert_eq!(out.status.code(), Some(code), "{args:?}");
    }
}

/// A descriptor closed before tok starts (`tok login p 2>&-`) is opened on /dev/null
/// before anything else (the glibc build starts without Rust's runtime, which does it
/// elsewhere): otherwise the first file tok opens would take its number, and the lines
/// meant for stderr (or the token meant for stdout) would land in it.
#[cfg(unix)]
#[test]
fn descriptors_closed_before_start_read_as_dev_null() {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let sb = Sandbox::start();
    for closed in [&[2][..], &[1], &[1, 2]] {
        let home = Home::new();
        let mut cmd = home.process();
        cmd.args(["login", "nexterpay", "--username", "demo", "--base-url", &sb.url, "--secret-stdin"]);
        cmd.stdin(std::process::Stdio::piped());
        let fds = closed.to_vec();
        // SAFETY: close() only, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                for fd in &fds {
                    libc::close(*fd);
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(b"demo-password\n").unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{closed:?} closed");
        let mut dirs = vec![home.path().to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                    assert!(
                        !text.contains("tok: "),
                        "{closed:?} closed: a line went into {}",
                        path.display()
                    );
                }
            }
        }
        home.tok().args(["print", "nexterpay"]).assert().success();
    }
}

/// tok's own checks of a setting's value never repeat it either: a password typed as
/// `--env`, `--store`, `--base-url`, `--auth`, a provider name or a profile name, from the
/// command line or the environment, is named by where it came from, never shown.
#[test]
fn a_settings_value_is_never_repeated_in_its_error() {
    let home = Home::new();
    let typed = "Hunter2-typed-here";
    let user = ("TOK_NEXTERPAY_USERNAME", "demo".to_string());
    let password = ("TOK_NEXTERPAY_PASSWORD", "demo-password".to_string());
    // The words, and the environment they run in.
    type Case<'a> = (Vec<String>, Vec<(&'a str, String)>);
    let cases: Vec<Case> = vec![
        (words(&["login", "nexterpay", "--username", "demo", "--secret-stdin", "--env", typed]), vec![]),
        (
            words(&[
                "login",
                "x",
                "--provider",
                "oauth2",
                "--client-id",
                "c",
                "--secret-stdin",
                "--token-url",
                "https://a.example/t",
                "--auth",
                typed,
            ]),
            vec![],
        ),
        (
            words(&[
                "login",
                "x",
                "--provider",
                "oauth2",
                "--client-id",
                "c",
                "--secret-stdin",
                "--token-url",
                "https://a.example/t",
                "--grant",
                typed,
            ]),
            vec![],
        ),
        (
            words(&[
                "login",
                "nexterpay",
                "--username",
                "demo",
                "--secret-stdin",
                "--base-url",
                &format!("https://api.example/?key={typed}"),
            ]),
            vec![],
        ),
        (
            words(&[
                "login",
                "nexterpay",
                "--username",
                "demo",
                "--secret-stdin",
                "--base-url",
                &format!("{typed}:x"),
            ]),
            vec![],
        ),
        (
            words(&["print", "nexterpay"]),
            vec![("TOK_STORE", typed.to_string()), user.clone(), password.clone()],
        ),
        (words(&["print", "nexterpay"]), vec![("TOK_NEXTERPAY_ENV", typed.to_string()), user, password]),
        (words(&["print", "ci"]), vec![("TOK_CI_PROVIDER", typed.to_string())]),
        (words(&["providers", typed]), vec![]),
        (words(&["sign", "--alg", "HS256", "--key-env", "HOME", "--claim", typed]), vec![]),
        (words(&["sign", "--alg", "HS256", "--key-env", "HOME", "--exp", typed]), vec![]),
        (
            words(&["login", "n3xt", "--client-id", "c", "--secret-stdin", "--project", "Hunter2 typed"]),
            vec![],
        ),
        (
            words(&["login", "x", "--provider", "oauth2", "--client-id", "c", "--secret-stdin"])
                .into_iter()
                .chain(words(&["--token-url", "https://a.example/t", "--resource", typed]))
                .collect(),
            vec![],
        ),
        (
            words(&[
                "login",
                "x",
                "--provider",
                "oauth2",
                "--client-id",
                "c",
                "--grant",
                "authorization_code",
            ])
            .into_iter()
            .chain(words(&["--authorize-url", "https://a.example/a", "--token-url", "https://a.example/t"]))
            .chain(words(&["--auth", "none", "--redirect-uri", "http://Hunter2.example/cb"]))
            .collect(),
            vec![],
        ),
    ];
    for (args, env) in cases {
        let mut cmd = home.tok();
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.args(&args).write_stdin("demo-password\n").output().unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr_of(&out));
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {all}");
        assert!(!all.contains("Hunter2"), "{args:?} {env:?}: the value is repeated: {all}");
    }
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
