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

#[test]
#[ignore = "needs a Secret Service: run by .ci/run under dbus-run-session"]
fn keyring_secret_service_round_trip() {
    let sb = Sandbox::start();
    let home = Home::new();
    // A profile name of its own, so a developer's real entries are never touched.
    let profile = format!("tok-it-{}", std::process::id());
    with_keyring(&home)
        .args([
            "login",
            &profile,
            "--provider",
            "nexterpay",
            "--username",
            USER,
            "--base-url",
            &sb.url,
            "--secret-stdin",
        ])
        .write_stdin(format!("{PASSWORD}\n"))
        .assert()
        .success();
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
}
