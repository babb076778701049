//! The file store: private, atomic, and clear about corruption.

use crate::support::*;

#[cfg(unix)]
#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home.store_file("nexterpay")), 0o600);
    assert_eq!(mode(&home.path().join("store")), 0o700);
    assert_eq!(mode(&home.path().join("config.toml")), 0o600);
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(!config.contains(PASSWORD), "no secret in config.toml");
}

#[test]
fn a_corrupt_store_file_is_named_and_login_repairs_it() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    std::fs::write(home.store_file("nexterpay"), "{\"token\": tru").unwrap();
    let out = home.tok().args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let err = stderr_of(&out);
    assert!(err.contains("nexterpay.json is corrupt") && err.contains("tok login nexterpay"), "{err}");
    assert!(out.stdout.is_empty());
    home.login(&sb);
    home.print("nexterpay");
}

#[test]
fn a_corrupt_config_is_named() {
    let home = Home::new();
    std::fs::write(home.path().join("config.toml"), "[profiles.x\n").unwrap();
    let out = home.tok().args(["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("config.toml is not valid"), "{}", stderr_of(&out));
}
