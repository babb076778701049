//! A new user's first hour: remembered stores, errors that say everything at once, honest
//! logins, editing without re-typing, and a status that explains a profile (issue: the
//! first hour).

use crate::support::*;
use serde_json::Value;

#[cfg(unix)]
const NPS_KEY_ID: &str = "42f0c9d1-5b6e-4c1a-9d3e-7a8b9c0d1e2f";
#[cfg(unix)]
const NPS_API_KEY: &str = "nps-demo-api-key-0f9e8d7c6b5a";

/// `tok` as a user runs it: no TOK_STORE, and no keyring on this machine.
#[cfg(unix)]
fn plain_tok(home: &Home) -> assert_cmd::Command {
    let mut cmd = home.tok_without_keyring();
    cmd.env_remove("TOK_STORE");
    cmd
}

#[cfg(unix)]
#[test]
fn a_profile_remembers_its_store() {
    let sb = Sandbox::start();
    let home = Home::new();
    plain_tok(&home)
        .args([
            "--store",
            "file",
            "login",
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
    // No --store, no TOK_STORE, no keyring: the profile's own store is used.
    let out = plain_tok(&home).args(["print", "nexterpay"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 1, "served from the remembered file store");
    let out = plain_tok(&home).args(["status"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("STORE") && table.lines().nth(1).unwrap().contains(" file "), "{table}");
    // An explicit store still wins.
    let out = plain_tok(&home).env("TOK_STORE", "keyring").args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    // Typed beats the environment, before the command's name or after it; after beats before.
    for args in [&["--store", "file", "print", "nexterpay"][..], &["print", "nexterpay", "--store", "file"]] {
        let out = plain_tok(&home).env("TOK_STORE", "keyring").args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    }
    let out = plain_tok(&home)
        .args(["--store", "file", "print", "nexterpay", "--store", "keyring"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr_of(&out));
    // A bad store name breaks only the commands that use a store.
    plain_tok(&home).env("TOK_STORE", "bogus").args(["completions", "bash"]).assert().success();
    plain_tok(&home)
        .env("TOK_STORE", "bogus")
        .args(["sign", "--alg", "HS256", "--key-env", "HOME", "--ttl", "1m"])
        .assert()
        .success();
    let out = plain_tok(&home).env("TOK_STORE", "bogus").args(["print", "nexterpay"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("unknown store") && !err.contains("bogus"), "{err}");
    // A near miss is named by the choice it misses, not by what was typed.
    let out = plain_tok(&home).env("TOK_STORE", "filr").args(["print", "nexterpay"]).output().unwrap();
    assert!(stderr_of(&out).contains("did you mean 'file'?"), "{}", stderr_of(&out));
}

#[test]
fn missing_settings_are_listed_at_once_with_an_example() {
    let home = Home::new();
    let out = home
        .tok()
        .args(["login", "acme", "--provider", "merchant-v2", "--secret-stdin"])
        .write_stdin("x\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("needs settings: base url (--base-url or TOK_ACME_BASE_URL), email (--email or TOK_ACME_EMAIL), merchant id (--merchant-id or TOK_ACME_MERCHANT_ID)"),
        "{err}"
    );
    assert!(err.contains("hint: for example: tok login acme --provider merchant-v2 --base-url https://api.acme.example --email owner@acme.example --merchant-id"), "{err}");
    // At print time a missing login is still "not logged in".
    let out = home.tok().args(["print", "n3xt"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("not logged in to 'n3xt'"), "{err}");
    assert!(
        err.contains("run `tok login n3xt --project project-live-84ff27dd-… --client-id \"$CLIENT_ID\"`"),
        "{err}"
    );
    assert!(err.contains("or set TOK_N3XT_PROJECT TOK_N3XT_CLIENT_ID TOK_N3XT_CLIENT_SECRET"), "{err}");
}

#[test]
fn flags_that_would_do_nothing_are_usage_errors() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let cases: [(&[&str], &str); 4] = [
        (&["print", "nexterpay", "--var", "X"], "--var"),
        (
            &["login", "checkout", "--provider", "netdirector-v1", "--transaction", "t-1", "--secret-stdin"],
            "no secret",
        ),
        (&["login", "nexterpay", "--username", USER, "--check", "--secret-stdin"], "--check does nothing"),
        (&["print", "nexterpay", "--github-env", "A", "--var", "B"], "--var"),
    ];
    for (args, message) in cases {
        let out = home.tok().args(args).write_stdin("x\n").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains(message), "{args:?}: {}", stderr_of(&out));
    }
}

#[test]
fn close_names_get_a_did_you_mean() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let out = home.tok().args(["print", "nexterpy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).contains("did you mean 'nexterpay'?"), "{}", stderr_of(&out));
    let out = home.tok().args(["login", "x", "--provider", "netdirectr"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("netdirector"), "{}", stderr_of(&out));
    // A misspelt variable of a known profile gets a warning naming the right one.
    let out = home
        .tok()
        .env("TOK_NEXTERPAY_BASEURL", "https://x.example")
        .args(["print", "nexterpay"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stderr_of(&out).contains(
            "TOK_NEXTERPAY_BASEURL is not a nexterpay setting; did you mean TOK_NEXTERPAY_BASE_URL?"
        ),
        "{}",
        stderr_of(&out)
    );
}

#[cfg(unix)]
#[test]
fn logins_say_what_they_checked_and_status_shows_unverified_keys() {
    let sb = Sandbox::start();
    let home = Home::new();
    let nelnet = |extra: &[&str]| {
        home.tok()
            .args(["login", "nelnet", "--key-id", NPS_KEY_ID, "--base-url", &sb.url, "--secret-stdin"])
            .args(extra)
            .write_stdin(format!("{NPS_API_KEY}\n"))
            .output()
            .unwrap()
    };
    let out = nelnet(&[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("signed locally") && stderr_of(&out).contains("checked on first use"),
        "{}",
        stderr_of(&out)
    );
    assert!(!stderr_of(&out).contains("valid"), "{}", stderr_of(&out));
    assert_eq!(sb.count("POST /tokenization/session"), 0, "nothing was sent");
    let status = |home: &Home| -> Value {
        let json: Value =
            serde_json::from_slice(&home.tok().args(["status", "--json"]).output().unwrap().stdout).unwrap();
        json["profiles"].clone()
    };
    assert_eq!(
        (status(&home)[0]["state"].as_str(), status(&home)[0]["verified"].as_bool()),
        (Some("valid"), Some(false))
    );
    assert!(
        String::from_utf8(home.tok().arg("status").output().unwrap().stdout)
            .unwrap()
            .contains(" unverified ")
    );

    // --check proves it with the one documented call, at the cost of one session.
    let out = nelnet(&["--check"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count("POST /tokenization/session"), 1);
    assert_eq!(
        (status(&home)[0]["state"].as_str(), status(&home)[0]["verified"].as_bool()),
        (Some("valid"), Some(true))
    );
    let out = home
        .tok()
        .args(["login", "nelnet", "--key-id", NPS_KEY_ID, "--base-url", &sb.url, "--secret-stdin", "--check"])
        .write_stdin("wrong-key\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));

    // An API key: stored, not checked; a request through tok curl that succeeds checks it.
    let out = home.api_key_login(&sb);
    assert!(stderr_of(&out).contains("not checked"), "{}", stderr_of(&out));
    let state = |home: &Home| {
        let record =
            status(home).as_array().unwrap().iter().find(|r| r["profile"] == "acme-key").unwrap().clone();
        (record["state"].clone(), record["verified"].clone())
    };
    assert_eq!(state(&home), ("api_key".into(), false.into()));
    let out = home
        .tok()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .args([
            "curl",
            "acme-key",
            "-s",
            "-o",
            "/dev/null",
            "-X",
            "POST",
            "/v2/customer/create",
            "--json",
            "{}",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(state(&home), ("api_key".into(), true.into()));
    // And inspect knows it holds an API key.
    let out = home.tok().args(["inspect", "--profile", "acme-key"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("API key"));
}

#[test]
fn editing_a_profile_keeps_its_stored_secret() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    // A new base URL, no secret given: the stored password is used and kept.
    let out = home
        .tok()
        .args(["login", "nexterpay", "--base-url", &sb.url.replace("127.0.0.1", "localhost")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(sb.last(CREATE_TOKEN)["body"].as_str().unwrap().contains(PASSWORD));
    home.tok().args(["refresh", "nexterpay"]).assert().success();
    // A new secret given replaces it.
    let out =
        home.tok().args(["login", "nexterpay", "--secret-stdin"]).write_stdin("wrong\n").output().unwrap();
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn status_of_one_profile_explains_it_without_secrets() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let out = home
        .tok()
        .env("TOK_NEXTERPAY_PASSWORD", "from-env-123")
        .args(["status", "nexterpay"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    // Labels and values, whatever the column width.
    let text = String::from_utf8(out.stdout)
        .unwrap()
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    for want in [
        "provider nexterpay (NexterPay)",
        "environment sandbox",
        "username demo",
        &format!("hosts {}", sb.url),
        "store file store in",
        "NexterPay password from TOK_NEXTERPAY_PASSWORD",
        "token in ",
        "verified the provider issued the stored token for these settings",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
    assert!(!text.contains(PASSWORD) && !text.contains("from-env-123"));
    let json: Value =
        serde_json::from_slice(&home.tok().args(["status", "nexterpay", "--json"]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(json["secrets"][0]["source"], "store");
    assert_eq!(json["settings"]["username"], serde_json::json!({ "value": "demo", "source": "config" }));
    // Profiles known from the store alone still show their provider.
    let out = home.tok().args(["logout", "--all"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!home.store_file("nexterpay").exists());
    let out = home.tok().args(["status", "--json"]).output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json, serde_json::json!({ "version": 1, "profiles": [] }));
}

#[test]
fn providers_are_discoverable_and_agree_with_the_readme() {
    let home = Home::new();
    let out = home.tok().args(["providers", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> =
        json["providers"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    // The README's provider sections name the same providers, in the same order.
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("\n## Providers\n").nth(1).unwrap().split("\n## ").next().unwrap();
    let documented: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .filter_map(|l| l.rsplit_once("(`").and_then(|(_, n)| n.strip_suffix("`)")))
        .collect();
    assert_eq!(documented, names, "README providers vs tok providers");
    // One provider in detail: what it needs, where from, and an example.
    let out = home.tok().args(["providers", "n3xt"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "--project",
        "TOK_N3XT_PROJECT",
        "TOK_N3XT_CLIENT_SECRET",
        "https://authn.beta.n3xt.io",
        "tok login n3xt --project",
    ] {
        assert!(text.contains(want), "{want} in:\n{text}");
    }
    let out = home.tok().args(["providers", "nexterpy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // The man page and every completion script install from the binary alone.
    let out = home.tok().args(["man"]).output().unwrap();
    let man = String::from_utf8(out.stdout).unwrap();
    assert!(
        man.contains(".SH \"EXIT STATUS\"")
            && man.contains("tok login")
            && man.contains("TOK_KEYRING_TIMEOUT")
    );
    let dir = home.path().join("share");
    home.tok().args(["completions", "--dir"]).arg(&dir).assert().success();
    for file in ["tok.bash", "_tok", "tok.fish", "_tok.ps1", "tok.elv", "tok.1"] {
        assert!(dir.join(file).metadata().unwrap().len() > 100, "{file}");
    }
}

/// clap's errors read like tok's: one `tok: error:` prefix, and a usage line that does
/// not list the options set from the environment as if they had been typed.
#[test]
fn command_line_errors_have_one_style() {
    let home = Home::new();
    let out = home.tok().env("TOK_TIMEOUT", "5s").args(["print", "--formt", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.starts_with("tok: error: `tok print` has no option `--formt`"), "{err}");
    assert!(err.contains("tip: did you mean `--format`?"), "{err}");
    assert!(err.contains("Usage: tok print [OPTIONS] <PROFILE>"), "{err}");
    assert!(!err.contains("--store <STORE>") && !err.contains("--timeout <DUR>"), "{err}");
    assert!(out.stdout.is_empty());
    // Help is still help, on stdout, exit 0; global options under their own heading.
    let out = home.tok().args(["--help"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Global options:"));
}

/// `np.eu`, `np-eu` and `np_eu` all read `TOK_NP_EU_*`: a second such profile would get
/// the first one's credentials from the environment, and exec would give both one token.
#[test]
fn profiles_that_read_the_same_variables_are_refused() {
    let sb = Sandbox::start();
    let home = Home::new();
    let login = |name: &str| {
        home.tok()
            .args(["login", name, "--provider", "nexterpay", "--username", USER, "--base-url", &sb.url])
            .arg("--secret-stdin")
            .write_stdin(format!("{PASSWORD}\n"))
            .output()
            .unwrap()
    };
    let out = login("np.eu");
    assert!(out.status.success(), "{}", stderr_of(&out));
    for twin in ["np-eu", "np_eu"] {
        let out = login(twin);
        assert_eq!(out.status.code(), Some(2), "{twin}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(err.contains("'np.eu'") && err.contains("TOK_NP_EU_"), "{err}");
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1, "nothing was sent for the refused logins");
    // Logging in again under the same name is still an edit, not a twin.
    assert!(login("np.eu").status.success());

    let out = home.tok().args(["exec", "np.eu,np-eu", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("'np.eu' and 'np-eu'"), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 2, "no token was fetched for the refused exec");
}

/// The validator the schema test relies on catches each kind of mismatch, so a schema test
/// that passes means something.
#[test]
fn the_schema_validator_catches_each_kind_of_mismatch() {
    use serde_json::json;
    let schema = json!({
        "type": "object",
        "properties": {
            "n": { "type": ["integer", "null"] },
            "at": { "type": "string", "format": "date-time" },
            "e": { "type": "string", "enum": ["a", "b"] },
            "list": { "type": "array", "items": { "type": "boolean" } },
            "map": { "type": "object", "properties": {}, "required": [], "additionalProperties": { "type": "string" } }
        },
        "required": ["n", "at"],
        "additionalProperties": false
    });
    let good =
        json!({ "n": null, "at": "2026-01-02T03:04:05Z", "e": "a", "list": [true], "map": { "x": "y" } });
    assert_eq!(validate(&schema, &good), Ok(()));
    let table = [
        (json!({ "n": 1.5, "at": "2026-01-02T03:04:05Z" }), "$.n"),
        (json!({ "n": 1, "at": "yesterday" }), "RFC 3339"),
        (json!({ "n": 1 }), "\"at\" is missing"),
        (json!({ "n": 1, "at": "2026-01-02T03:04:05Z", "e": "c" }), "not one of"),
        (json!({ "n": 1, "at": "2026-01-02T03:04:05Z", "list": [1] }), "$.list[0]"),
        (json!({ "n": 1, "at": "2026-01-02T03:04:05Z", "map": { "x": 2 } }), "$.map.x"),
        (json!({ "n": 1, "at": "2026-01-02T03:04:05Z", "extra": 0 }), "\"extra\" is not in the schema"),
    ];
    for (value, want) in table {
        let err = validate(&schema, &value).unwrap_err();
        assert!(err.contains(want), "{value}: {err}");
    }
    assert!(validate(&json!({ "minimum": 0 }), &json!(1)).unwrap_err().contains("not supported"));
}

/// Each command's `--json` output against its schema in `schemas/`, for every kind of
/// profile and token; and a profile's record has every key alone that it has in the list.
#[test]
fn every_json_output_follows_its_schema() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    assert!(home.api_key_login(&sb).status.success());
    sb.fault(serde_json::json!({ "path": "/oauth2/generic/token", "status": 200, "times": 1,
        "body": r#"{"access_token":"opaque-token-0123456789","expires_in":600}"# }));
    home.tok()
        .args([
            "login",
            "api",
            "--provider",
            "oauth2",
            "--client-id",
            "demo-client",
            "--secret-stdin",
            "--token-url",
        ])
        .arg(format!("{}/oauth2/generic/token", sb.url))
        .write_stdin("demo-secret\n")
        .assert()
        .success();
    // A profile whose settings are unusable: state error, in the same shape.
    let config = home.path().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[profiles.broken]\nprovider = \"nosuch\"\n");
    std::fs::write(&config, text).unwrap();

    let json = |args: &[&str]| -> Value {
        let out = home.tok().args(args).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stderr_of(&out)))
    };
    let check = |file: &str, value: &Value| {
        validate(&schema(file), value).unwrap_or_else(|e| panic!("{file}:\n{e}\n{value:#}"));
    };
    let list = json(&["status", "--json"]);
    check("status.json", &list);
    let states: Vec<&str> =
        list["profiles"].as_array().unwrap().iter().map(|r| r["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["api_key", "valid", "error", "valid"], "acme-key, api, broken, nexterpay");
    for record in list["profiles"].as_array().unwrap().iter().filter(|r| r["state"] != "error") {
        let name = record["profile"].as_str().unwrap();
        let alone = json(&["status", name, "--json"]);
        check("status-profile.json", &alone);
        for (key, value) in record.as_object().unwrap() {
            if key != "expires_in" {
                assert_eq!(alone.get(key), Some(value), "{name}: {key}");
            }
        }
        check("inspect.json", &json(&["inspect", "--profile", name, "--json"]));
        check("print.json", &json(&["print", name, "--format", "json"]));
    }
    assert_eq!(json(&["status", "nexterpay", "--json"])["verified"], true, "the login checked it");
    assert_eq!(json(&["inspect", "--profile", "api", "--json"])["kind"], "opaque");
    let providers = json(&["providers", "--json"]);
    check("providers.json", &providers);
    for p in providers["providers"].as_array().unwrap() {
        check("provider.json", &json(&["providers", p["name"].as_str().unwrap(), "--json"]));
    }
    // The schemas themselves: the detail view may add keys to the list's, never drop one.
    let item = &schema("status.json")["properties"]["profiles"]["items"];
    let detail = schema("status-profile.json");
    for (key, sub) in item["properties"].as_object().unwrap() {
        assert_eq!(&detail["properties"][key], sub, "status-profile.json: {key}");
        assert!(detail["required"].as_array().unwrap().contains(&key.as_str().into()), "{key}");
    }
}

/// Where each value came from, per setting: the environment wins over config.toml, and a
/// stored token obtained with other settings is shown as not used.
#[test]
fn status_says_where_each_setting_comes_from_and_which_token_is_used() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let words = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stdout)
            .split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let out = home.tok().args(["status", "nexterpay"]).output().unwrap();
    let text = words(&out);
    for want in [
        "username demo (from config.toml)",
        &format!("hosts {} (from config.toml)", sb.url),
        "environment sandbox (the default)",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }

    let other = |cmd: &mut assert_cmd::Command| {
        cmd.env("TOK_NEXTERPAY_USERNAME", "someone-else");
    };
    let mut cmd = home.tok();
    other(&mut cmd);
    let out = cmd.args(["status", "nexterpay"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = words(&out);
    assert!(text.contains("username someone-else (from TOK_NEXTERPAY_USERNAME)"), "{text}");
    assert!(text.contains("token not used: obtained with other settings"), "{text}");
    let mut cmd = home.tok();
    other(&mut cmd);
    let json: Value =
        serde_json::from_slice(&cmd.args(["status", "nexterpay", "--json"]).output().unwrap().stdout)
            .unwrap();
    validate(&schema("status-profile.json"), &json).unwrap();
    assert_eq!(json["state"], "not_used");
    assert_eq!(
        json["settings"]["username"],
        serde_json::json!({ "value": "someone-else", "source": "environment" })
    );
    assert_eq!(json["settings"]["base_url"]["source"], "config");
    assert_eq!(json["provider_source"], "config");
    assert_eq!(json["environment_source"], "default");
    let mut cmd = home.tok();
    other(&mut cmd);
    let table = String::from_utf8(cmd.arg("status").output().unwrap().stdout).unwrap();
    assert!(table.lines().nth(1).unwrap().contains(" not used "), "{table}");
    // The same settings again: the stored token is the one used.
    let json: Value =
        serde_json::from_slice(&home.tok().args(["status", "nexterpay", "--json"]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(json["state"], "valid");
}

/// The CI case: settings and secret in the environment only, no config.toml, no keyring.
/// `tok print` works there, and so does `tok status PROFILE`.
#[cfg(unix)]
#[test]
fn status_of_a_profile_works_where_print_does_in_ci() {
    let sb = Sandbox::start();
    let home = Home::new();
    let ci = || {
        let mut cmd = plain_tok(&home);
        cmd.env("TOK_NEXTERPAY_USERNAME", USER)
            .env("TOK_NEXTERPAY_PASSWORD", PASSWORD)
            .env("TOK_NEXTERPAY_BASE_URL", &sb.url);
        cmd
    };
    let out = ci().args(["print", "nexterpay"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = ci().args(["status", "nexterpay"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in
        ["from TOK_NEXTERPAY_USERNAME", "from TOK_NEXTERPAY_PASSWORD", "named like the profile", "unknown"]
    {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
    let out = ci().args(["status", "nexterpay", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    validate(&schema("status-profile.json"), &json).unwrap();
    assert_eq!((json["state"].as_str(), json["store"].as_str()), (Some("unknown"), Some("keyring")));
    assert_eq!(json["secrets"][0]["source"], "environment");
    assert_eq!(json["provider_source"], "default");
    // No login ever checked this password, and the stored token cannot be read: nothing
    // is verified (a wrong password in the environment would say the same).
    assert_eq!(json["verified"], false, "{json:#}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(PASSWORD));
    // The list shows the profile the environment alone defines, as `status P` does.
    let out = ci().args(["status", "--json"]).output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    validate(&schema("status.json"), &json).unwrap();
    let names: Vec<&str> =
        json["profiles"].as_array().unwrap().iter().filter_map(|p| p["profile"].as_str()).collect();
    assert_eq!(names, ["nexterpay"], "{json:#}");
    assert_eq!(json["profiles"][0]["verified"], false);
}

/// `verified` speaks of the credential of the current settings: a token issued for other
/// settings (another user in the environment) proves nothing about these.
#[test]
fn verified_is_about_the_settings_in_force() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let status = |user: Option<&str>| -> Value {
        let mut cmd = home.tok();
        if let Some(user) = user {
            cmd.env("TOK_NEXTERPAY_USERNAME", user);
        }
        let out = cmd.args(["status", "nexterpay", "--json"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let mine = status(None);
    assert_eq!((mine["state"].as_str(), mine["verified"].as_bool()), (Some("valid"), Some(true)), "{mine:#}");
    let other = status(Some("someone-else"));
    assert_eq!(
        (other["state"].as_str(), other["verified"].as_bool()),
        (Some("not_used"), Some(false)),
        "{other:#}"
    );
}

/// A malformed secret from the environment is the user's to fix: exit 2 naming the
/// variable (never its value), not "the server sent an unusable token" (exit 5) or a
/// rejection by a server that got a key with a stray `\r` (exit 4). So is a variable
/// that is not UTF-8, which tok once skipped silently.
#[cfg(unix)]
#[test]
fn malformed_secrets_from_the_environment_are_usage_errors_naming_the_variable() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let sb = Sandbox::start();
    let merchant = |key: OsString| {
        Home::new()
            .tok()
            .env("TOK_CI_KEY_PROVIDER", "merchant-v2")
            .env("TOK_CI_KEY_MODE", "api-key")
            .env("TOK_CI_KEY_BASE_URL", &sb.url)
            .env("TOK_CI_KEY_API_KEY", key)
            .args(["print", "ci-key"])
            .output()
            .unwrap()
    };
    let nelnet = |key: OsString| {
        Home::new()
            .tok()
            .env("TOK_NPS_PROVIDER", "nelnet")
            .env("TOK_NPS_KEY_ID", NPS_KEY_ID)
            .env("TOK_NPS_BASE_URL", &sb.url)
            .env("TOK_NPS_API_KEY", key)
            .args(["print", "nps"])
            .output()
            .unwrap()
    };
    let nexterpay = |password: OsString| {
        Home::new()
            .tok()
            .env("TOK_NP_PROVIDER", "nexterpay")
            .env("TOK_NP_USERNAME", USER)
            .env("TOK_NP_BASE_URL", &sb.url)
            .env("TOK_NP_PASSWORD", password)
            .args(["print", "np"])
            .output()
            .unwrap()
    };
    let text = |s: &str| OsString::from(s);
    let bytes = |b: &[u8]| OsString::from_vec(b.to_vec());
    let cases: Vec<(&str, std::process::Output, &str, &str)> = vec![
        ("merchant key, CRLF", merchant(text(&format!("{API_KEY}\r"))), "TOK_CI_KEY_API_KEY", "line break"),
        ("merchant key, space", merchant(text(&format!("{API_KEY} "))), "TOK_CI_KEY_API_KEY", "space"),
        (
            "merchant key, escape",
            merchant(text(&format!("\x1b[2J{API_KEY}"))),
            "TOK_CI_KEY_API_KEY",
            "control",
        ),
        (
            "merchant key, not UTF-8",
            merchant(bytes(b"demo-\xff-key")),
            "TOK_CI_KEY_API_KEY",
            "not valid UTF-8",
        ),
        ("nelnet key, newline", nelnet(text(&format!("{NPS_API_KEY}\n"))), "TOK_NPS_API_KEY", "line break"),
        ("nelnet key, tab", nelnet(text(&format!("{NPS_API_KEY}\t"))), "TOK_NPS_API_KEY", "control"),
        ("nelnet key, not UTF-8", nelnet(bytes(b"nps-\xc3\x28")), "TOK_NPS_API_KEY", "not valid UTF-8"),
        ("password, not UTF-8", nexterpay(bytes(b"demo-pass\xffword")), "TOK_NP_PASSWORD", "not valid UTF-8"),
        ("password, line break", nexterpay(text("demo-password\nx")), "TOK_NP_PASSWORD", "line break"),
    ];
    for (name, out, var, why) in cases {
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(var) && err.contains(why), "{name}: {err}");
        assert!(!err.contains("demo-") && !err.contains("nps-"), "{name}: the value is never shown: {err}");
        assert!(out.stdout.is_empty(), "{name}");
    }
    assert_eq!(sb.stats()["requests"], serde_json::json!({}), "nothing was sent");

    // The same secrets, well formed, work.
    for out in [merchant(text(API_KEY)), nelnet(text(NPS_API_KEY)), nexterpay(text(PASSWORD))] {
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
}
