//! Against a real Secret Service. Ignored by a plain `cargo test` (it needs a session
//! bus and an unlocked keyring); `.ci/run` runs these under `dbus-run-session` with
//! gnome-keyring: `cargo test -- --ignored keyring`.

use crate::support::*;

fn with_keyring(home: &Home) -> assert_cmd::Command {
    let mut cmd = home.tok();
    cmd.env("TOK_STORE", "keyring");
    for var in ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"] {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    cmd
}

/// `tok login <profile>` for nexterpay against the sandbox, password on stdin.
fn login_command(home: &Home, profile: &str, sb: &Sandbox) -> assert_cmd::Command {
    let mut cmd = with_keyring(home);
    cmd.args([
        "login",
        profile,
        "--provider",
        "nexterpay",
        "--username",
        USER,
        "--base-url",
        &sb.url,
        "--secret-stdin",
    ])
    .write_stdin(format!("{PASSWORD}\n"));
    cmd
}

fn login(home: &Home, profile: &str, sb: &Sandbox) {
    login_command(home, profile, sb).assert().success();
}

#[test]
#[ignore = "needs a Secret Service: run by .ci/run under dbus-run-session"]
fn keyring_secret_service_round_trip() {
    let sb = Sandbox::start();
    let home = Home::new();
    // A profile name of its own, so a developer's real entries are never touched.
    let profile = format!("tok-it-{}", std::process::id());
    login(&home, &profile, &sb);
    assert!(!home.store_file(&profile).exists(), "nothing in files");
    let print = || with_keyring(&home).args(["print", &profile]).output().unwrap();
    let first = print();
    assert!(first.status.success(), "{}", stderr_of(&first));
    assert_eq!(print().stdout, first.stdout);
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the token came from the keyring");

    // The password came back from the keyring too.
    with_keyring(&home).args(["refresh", &profile]).assert().success();
    assert_eq!(sb.count(CREATE_TOKEN), 2);

    with_keyring(&home).args(["logout", &profile]).assert().success();
    with_keyring(&home).args(["print", &profile]).assert().code(3);

    // Last, since a script cannot unlock it again: a locked collection is exit 6, at once,
    // with the way out named. (With a desktop session an unlock prompt would appear
    // instead; TOK_KEYRING_TIMEOUT bounds the wait for it.)
    login(&home, &profile, &sb);
    dbus_send(&[
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service.Lock",
        "array:objpath:/org/freedesktop/secrets/collection/login",
    ]);
    let out =
        with_keyring(&home).env("TOK_KEYRING_TIMEOUT", "5s").args(["print", &profile]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("TOK_STORE=file"), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(sb.count(CREATE_TOKEN), 3, "no request when the keyring is locked");

    // With no collection at all, a login fails before sending anything, and nothing is
    // written to files instead.
    dbus_send(&["/org/freedesktop/secrets/collection/login", "org.freedesktop.Secret.Collection.Delete"]);
    let out = login_command(&home, "other", &sb).env("TOK_KEYRING_TIMEOUT", "5s").output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("TOK_STORE=file"), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 3);
    assert!(!home.store_file("other").exists(), "no silent fallback to files");
}

/// A Secret Service call made the way a user would, with dbus-send.
fn dbus_send(args: &[&str]) {
    let out = std::process::Command::new("dbus-send")
        .args(["--session", "--print-reply", "--dest=org.freedesktop.secrets"])
        .args(args)
        .output()
        .expect("dbus-send runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
}

/// Whether the keyring holds `<profile>:<item>` for tok, asked with secret-tool.
fn keyring_has(profile: &str, item: &str) -> bool {
    let out = std::process::Command::new("secret-tool")
        .args(["lookup", "service", "tok", "username", &format!("{profile}:{item}")])
        .output()
        .expect("secret-tool runs");
    out.status.success() && !out.stdout.is_empty()
}

#[test]
#[ignore = "needs a Secret Service: run by .ci/run under dbus-run-session"]
fn keyring_logins_and_logout_leave_no_old_secret_behind() {
    let sb = Sandbox::start();
    let home = Home::new();
    let profile = format!("tok-it-modes-{}", std::process::id());
    let merchant = |extra: &[&str], secret: &str| {
        with_keyring(&home)
            .args(["login", &profile, "--provider", "merchant-v2", "--base-url", &sb.url])
            .args(extra)
            .arg("--secret-stdin")
            .write_stdin(format!("{secret}\n"))
            .assert()
            .success();
    };
    merchant(
        &["--email", "owner@acme.example", "--merchant-id", "b34555b7-dca4-5ec1-ade3-64a3ad545310"],
        PASSWORD,
    );
    assert!(keyring_has(&profile, "password") && keyring_has(&profile, "token"));
    // Switching to an API key drops the password and the token of the old mode.
    merchant(&["--api-key"], "demo-api-key-7f3c9a12");
    assert!(keyring_has(&profile, "api_key"));
    assert!(!keyring_has(&profile, "password"), "the old mode's password is gone");
    assert!(!keyring_has(&profile, "token"));
    with_keyring(&home).args(["logout", &profile]).assert().success();
    for item in ["api_key", "password", "client_secret", "token"] {
        assert!(!keyring_has(&profile, item), "{item} left after logout");
    }
}
