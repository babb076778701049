//! Files: no secret left behind, and nothing read that another user could have written
//! (issue: trust, items 5 and 6).

use crate::support::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// What a writer killed between write and rename leaves: a temporary store record.
fn plant_temporary(home: &Home, profile: &str, pid: u32) -> std::path::PathBuf {
    let path = home.path().join("store").join(format!(".{profile}.json.{pid}.tmp"));
    fs::write(&path, format!("{{\"secrets\":{{\"password\":\"{PASSWORD}\"}}}}")).unwrap();
    chmod(&path, 0o600);
    path
}

#[test]
fn stale_temporary_files_go_on_the_next_write_and_on_logout() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let stale = plant_temporary(&home, "nexterpay", 4_000_001);
    let other = plant_temporary(&home, "nexterpay-prod", 4_000_002);
    home.tok().args(["refresh", "nexterpay"]).assert().success();
    assert!(!stale.exists(), "the next write removes it");
    assert!(other.exists(), "another profile's file is not this write's business");

    let stale = plant_temporary(&home, "nexterpay", 4_000_003);
    home.tok().args(["logout", "nexterpay"]).assert().success();
    assert!(!stale.exists() && !home.store_file("nexterpay").exists(), "logout removes everything");
}

/// A real SIGKILL in the middle of a refresh leaves the old record whole and nothing
/// that the next command does not clean up.
#[test]
fn a_killed_refresh_leaves_nothing_behind_after_the_next_write() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    sb.fault(
        serde_json::json!({ "path": "/security/createToken", "status": 200, "delay_ms": 5_000, "times": 1 }),
    );
    let mut child = home.process().args(["refresh", "nexterpay"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(home.print("nexterpay"), token, "the old token is intact");
    plant_temporary(&home, "nexterpay", child.id());
    home.tok().args(["refresh", "nexterpay"]).assert().success();
    let left: Vec<_> =
        fs::read_dir(home.path().join("store")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("nexterpay.json")], "{left:?}");
}

#[test]
fn github_env_is_created_private() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let env_file = home.path().join("github_env");
    home.tok()
        .env("GITHUB_ENV", &env_file)
        .args(["print", "nexterpay", "--github-env", "AUTH"])
        .assert()
        .success();
    assert_eq!(mode(&env_file), 0o600);
    assert!(fs::read_to_string(&env_file).unwrap().starts_with("AUTH=eyJ"));
}

#[test]
fn a_shared_tok_home_is_refused_and_left_as_it_is() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    // A sticky, world-writable TOK_HOME, like /tmp: anybody could have planted config.toml.
    chmod(home.path(), 0o1777);
    let out = home.tok().args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("writable by group or others (mode 1777)") && err.contains("chmod go-w"), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(mode(home.path()), 0o1777, "tok never changes a directory it did not create");
    let out = home
        .tok()
        .args(["login", "nexterpay", "--username", USER, "--secret-stdin"])
        .write_stdin("x\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(mode(home.path()), 0o1777);
    chmod(home.path(), 0o700);
    home.print("nexterpay");
}

#[test]
fn planted_or_loose_files_are_refused() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let config = home.path().join("config.toml");
    let store = home.store_file("nexterpay");

    chmod(&config, 0o666);
    let out = home.tok().args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a writable config.toml: {}", stderr_of(&out));
    assert!(stderr_of(&out).contains("config.toml is writable by group or others"), "{}", stderr_of(&out));
    chmod(&config, 0o600);

    for loose in [0o666, 0o644, 0o640] {
        chmod(&store, loose);
        let out = home.tok().args(["print", "nexterpay"]).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "store file {loose:o}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("chmod 600"), "{}", stderr_of(&out));
        assert!(out.stdout.is_empty(), "a planted token is never printed");
    }
    chmod(&store, 0o600);
    chmod(&home.path().join("store"), 0o777);
    let out = home.tok().args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    chmod(&home.path().join("store"), 0o700);
    home.print("nexterpay");

    // Owned by another user: only root can arrange that here.
    if is_root() {
        for (path, code) in [(&config, 1), (&store, 6)] {
            std::os::unix::fs::chown(path, Some(65534), None).unwrap();
            let out = home.tok().args(["print", "nexterpay"]).output().unwrap();
            assert_eq!(out.status.code(), Some(code), "{}: {}", path.display(), stderr_of(&out));
            assert!(stderr_of(&out).contains("owned by uid 65534, not by you"), "{}", stderr_of(&out));
            std::os::unix::fs::chown(path, Some(0), None).unwrap();
        }
        assert_eq!(fs::metadata(&config).unwrap().uid(), 0);
        home.print("nexterpay");
    }
}

/// A URL setting tok cannot use is named with its profile, never repeated (it may hold a
/// key), and says how to write a host outside ASCII.
#[test]
fn a_bad_url_setting_names_its_profile_and_setting() {
    let home = Home::new();
    let config = home.path().join("config.toml");
    let table = [
        ("[profiles.shop]\nprovider = \"merchant-v2\"\nbase_url = \"Hunter2-key\"\n", "shop", "base_url"),
        (
            "[profiles.np]\nprovider = \"nexterpay\"\nbase_url = \"https://bücher.example\"\n",
            "np",
            "base_url",
        ),
        (
            "[profiles.o]\nprovider = \"oauth2\"\nclient_id = \"c\"\ntoken_url = \"https://a.example/t\"\nupstream = \"https://Hunter2.example/?k=Hunter2\"\n",
            "o",
            "upstream",
        ),
        (
            "[profiles.o2]\nprovider = \"oauth2\"\nclient_id = \"c\"\ntoken_url = \"Hunter2\"\n",
            "o2",
            "token_url",
        ),
    ];
    for (text, profile, setting) in table {
        fs::write(&config, text).unwrap();
        chmod(&config, 0o600);
        let out = home.tok().env("TOK_STORE", "file").args(["print", profile]).output().unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{profile}: {err}");
        let flag = setting.replace('_', "-");
        assert!(err.contains(&format!("profile '{profile}': {setting} (--{flag}): ")), "{profile}: {err}");
        assert!(!err.contains("Hunter2"), "{profile}: the value is repeated: {err}");
        if text.contains('ü') {
            assert!(err.contains("punycode"), "{err}");
        }
    }
    // The issuer, read at login for discovery, is a URL setting like the others.
    let out = home
        .tok()
        .env("TOK_STORE", "file")
        .args([
            "login",
            "x",
            "--provider",
            "oauth2",
            "--issuer",
            "Hunter2",
            "--client-id",
            "c",
            "--secret-stdin",
        ])
        .write_stdin("s\n")
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("profile 'x': issuer (--issuer): ") && !err.contains("Hunter2"), "{err}");
}

#[test]
fn config_names_and_text_are_checked_before_they_reach_the_terminal() {
    let home = Home::new();
    let config = home.path().join("config.toml");
    fs::write(&config, "[profiles.\"Bad/Name\"]\nprovider = \"nexterpay\"\n").unwrap();
    chmod(&config, 0o600);
    let out = home.tok().args(["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("not a valid name"), "{}", stderr_of(&out));

    // Escape sequences in a setting are shown escaped, on stdout and stderr alike.
    fs::write(&config, "[profiles.p]\nprovider = \"nexter\\u001b[2Jpay\"\n").unwrap();
    let out = home.tok().args(["status"]).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr_of(&out));
    assert!(!all.contains('\u{1b}'), "{all:?}");
    let out = home.tok().args(["print", "p"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    // The unknown provider is not repeated at all (a value may be a secret put in the
    // wrong place), so nothing of it reaches the terminal.
    let err = stderr_of(&out);
    assert!(!err.contains('\u{1b}') && err.contains("unknown provider") && !err.contains("[2J"), "{err}");
}

/// The check and the use are one: TOK_HOME is opened once, without following a link, and
/// checked by its descriptor. A link is how a swap between check and open shows up
/// deterministically (a rename of TOK_HOME's parent entry to another directory).
#[test]
fn a_tok_home_that_is_a_link_is_refused() {
    let sb = Sandbox::start();
    let home = Home::new();
    let real = home.path().join("real");
    let link = home.path().join("link");
    home.tok()
        .env("TOK_HOME", &real)
        .args(["login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"])
        .write_stdin(format!("{PASSWORD}\n"))
        .assert()
        .success();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    for args in [&["print", "nexterpay"][..], &["status"], &["logout", "--all"]] {
        let out = home.tok().env("TOK_HOME", &link).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(err.contains("link is a symbolic link") && err.contains("real directory"), "{err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // The store alone (settings from the environment) is refused the same way.
    std::fs::remove_file(real.join("config.toml")).unwrap();
    let out = home.tok_from_env(&sb).env("TOK_HOME", &link).args(["status", "nexterpay"]).output().unwrap();
    assert!(stderr_of(&out).contains("is a symbolic link"), "{}", stderr_of(&out));
    assert!(real.join("store").join("nexterpay.json").exists(), "nothing was removed through the link");
    // A link to the store directory inside TOK_HOME, too.
    let other = home.path().join("other");
    fs::create_dir(&other).unwrap();
    chmod(&other, 0o700);
    std::os::unix::fs::symlink(real.join("store"), other.join("store")).unwrap();
    let out = home.tok_from_env(&sb).env("TOK_HOME", &other).args(["logout", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("store is a symbolic link"), "{}", stderr_of(&out));
    assert!(real.join("store").join("nexterpay.json").exists(), "nothing was removed through the link");
}

/// ssh's StrictModes for the directories above TOK_HOME: whoever can write one could
/// rename TOK_HOME away and put their own in its place, unless it is sticky (`/tmp`).
#[test]
fn directories_above_tok_home_are_checked_and_sticky_ones_are_allowed() {
    let sb = Sandbox::start();
    let home = Home::new();
    let shared = home.path().join("shared");
    let tok_home = shared.join("deeper").join("tok");
    let tok = || {
        let mut cmd = home.tok();
        cmd.env("TOK_HOME", &tok_home);
        cmd
    };
    tok()
        .args(["login", "nexterpay", "--username", USER, "--base-url", &sb.url, "--secret-stdin"])
        .write_stdin(format!("{PASSWORD}\n"))
        .assert()
        .success();
    assert_eq!(mode(&shared), 0o700, "created private");
    for loose in [0o770, 0o777, 0o757] {
        chmod(&shared, loose);
        let out = tok().args(["print", "nexterpay"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{loose:o}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(err.contains(&format!("shared (a directory above tok's files, not sticky) is writable by group or others (mode {loose:04o})")), "{err}");
        assert!(out.stdout.is_empty());
        // Nor is anything written under it.
        let out = tok()
            .args(["login", "nexterpay", "--secret-stdin"])
            .write_stdin(format!("{PASSWORD}\n"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{loose:o}: {}", stderr_of(&out));
    }
    // Sticky, like /tmp: nobody else can rename what is ours in it.
    chmod(&shared, 0o1777);
    let out = tok().args(["print", "nexterpay"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    chmod(&shared, 0o700);
}

/// A first login killed mid-write leaves a temporary file with the password and no
/// profile to log out of: any logout, and `--all`, sweep it.
#[test]
fn temporary_files_of_profiles_never_completed_go_on_any_logout() {
    let home = Home::new();
    let store = home.path().join("store");
    fs::create_dir(&store).unwrap();
    chmod(&store, 0o700);

    let left = plant_temporary(&home, "half-done", 4_000_011);
    let out = home.tok().args(["logout", "unknown"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(!left.exists(), "logout of another name sweeps it");

    let left = plant_temporary(&home, "half-done", 4_000_012);
    let out = home.tok().args(["logout", "--all"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!left.exists(), "logout --all sweeps it");

    let sb = Sandbox::start();
    home.login(&sb);
    let left = plant_temporary(&home, "half-done", 4_000_013);
    let unrelated = store.join("notes.txt");
    fs::write(&unrelated, "kept").unwrap();
    home.tok().args(["logout", "nexterpay"]).assert().success();
    assert!(!left.exists() && !home.store_file("nexterpay").exists());
    assert!(unrelated.exists(), "only tok's temporary files are removed");
}

/// Files in TOK_HOME are opened without following links: a link in place of a store file
/// or `config.toml` is refused even when it points at a private file of yours.
#[test]
fn a_store_file_or_config_that_is_a_link_is_refused() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let elsewhere = home.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    chmod(&elsewhere, 0o700);
    for (file, code) in [(home.store_file("nexterpay"), 6), (home.path().join("config.toml"), 1)] {
        let moved = elsewhere.join(file.file_name().unwrap());
        fs::rename(&file, &moved).unwrap();
        std::os::unix::fs::symlink(&moved, &file).unwrap();
        let out = home.tok().args(["print", "nexterpay"]).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{}: {}", file.display(), stderr_of(&out));
        assert!(stderr_of(&out).contains("is a symbolic link"), "{}", stderr_of(&out));
        assert!(out.stdout.is_empty());
        fs::remove_file(&file).unwrap();
        fs::rename(&moved, &file).unwrap();
    }
    home.print("nexterpay");
}

/// A cached print reads only its profile's table of `config.toml` (issue: cost does not
/// grow with the work not asked for): a syntax error in another profile's table is that
/// profile's, reported by its own commands, by `status` and by every command that writes
/// the file; one in the profile's own table stops it; a file in another shape than tok
/// writes is parsed whole, with the same settings.
#[test]
fn a_broken_table_of_another_profile_stops_only_that_one() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let token = home.print("nexterpay");
    let config = home.path().join("config.toml");
    let saved = fs::read_to_string(&config).unwrap();
    fs::write(&config, format!("{saved}\n[profiles.broken]\nprovider = = \"nexterpay\"\n")).unwrap();
    assert_eq!(home.print("nexterpay"), token);
    // A command that writes the file back stops before it changes anything.
    for args in [&["print", "broken"][..], &["status"], &["logout", "nexterpay"]] {
        let out = home.tok().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("config.toml is not valid"), "{args:?}: {}", stderr_of(&out));
    }
    assert_eq!(home.print("nexterpay"), token, "logout removed nothing");
    // Its own table broken: it stops.
    let own = saved.replace("[profiles.nexterpay]\n", "[profiles.nexterpay]\nusername = \n");
    assert_ne!(own, saved, "{saved}");
    fs::write(&config, &own).unwrap();
    let out = home.tok().args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("config.toml is not valid"), "{}", stderr_of(&out));
    // The same settings as dotted keys: the whole file is parsed, and they are the same.
    let mut dotted = String::new();
    for line in saved.lines().filter(|l| l.contains(" = ")) {
        dotted.push_str(&format!("profiles.nexterpay.{line}\n"));
    }
    fs::write(&config, dotted).unwrap();
    assert_eq!(home.print("nexterpay"), token);
    assert_eq!(sb.count(CREATE_TOKEN), 1, "the same settings: the stored token still serves");
}
