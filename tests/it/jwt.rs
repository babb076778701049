//! `tok sign`, `tok inspect` and the nelnet provider.

use crate::support::*;
use base64::Engine;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// RFC 7515 Appendix A.1: an HS256 JWS and its key.
const RFC7515_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC7515_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const NPS_KEY_ID: &str = "42f0c9d1-5b6e-4c1a-9d3e-7a8b9c0d1e2f";
const NPS_API_KEY: &str = "nps-demo-api-key-0f9e8d7c6b5a";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn rfc_key_file(home: &Home) -> PathBuf {
    let path = home.path().join("rfc7515.key");
    std::fs::write(&path, base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(RFC7515_KEY).unwrap())
        .unwrap();
    path
}

fn run(home: &Home, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut cmd = home.tok();
    cmd.args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_string());
    }
    cmd.output().unwrap()
}

#[test]
fn rfc7515_example_decodes_dates_and_verifies() {
    let home = Home::new();
    let key = rfc_key_file(&home);
    let out = run(
        &home,
        &["inspect", "-", "--verify", "--alg", "HS256", "--key-file", key.to_str().unwrap()],
        Some(&format!("  {RFC7515_TOKEN}\n")),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        text.contains("\"iss\": \"joe\"") && text.contains("\"http://example.com/is_root\": true"),
        "{text}"
    );
    assert!(text.contains("exp  2011-03-22T18:43:00Z  (expired "), "{text}");
    assert!(stderr_of(&out).contains("signature verified (HS256)"));

    let out = run(&home, &["inspect", RFC7515_TOKEN, "--json"], None);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["header"]["alg"], "HS256");
    assert_eq!(json["payload"]["exp"], 1300819380);
    assert_eq!(json["times"]["exp"]["utc"], "2011-03-22T18:43:00Z");
    assert_eq!(json["expired"], true);

    // Expiry does not change the exit code; a wrong key does.
    std::fs::write(&key, b"not the key").unwrap();
    let verify =
        ["inspect", RFC7515_TOKEN, "--verify", "--alg", "HS256", "--key-file", key.to_str().unwrap()];
    let out = run(&home, &verify, None);
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr_of(&out).contains("does not match"), "{}", stderr_of(&out));
}

#[test]
fn sign_inspect_verify_round_trips_for_every_algorithm() {
    let home = Home::new();
    let hmac = home.path().join("hmac.key");
    std::fs::write(&hmac, [7u8; 64]).unwrap();
    let cases = [
        ("HS256", hmac.clone(), hmac.clone()),
        ("HS384", hmac.clone(), hmac.clone()),
        ("HS512", hmac.clone(), hmac.clone()),
        ("RS256", fixture("rsa-private.pem"), fixture("rsa-public.pem")),
        ("PS256", fixture("rsa-private.pem"), fixture("rsa-public.pem")),
        ("ES256", fixture("ec-private.pem"), fixture("ec-public.pem")),
        ("EdDSA", fixture("ed25519-private.pem"), fixture("ed25519-public.pem")),
    ];
    for (alg, private, public) in cases {
        let out = run(
            &home,
            &[
                "sign",
                "--alg",
                alg,
                "--key-file",
                private.to_str().unwrap(),
                "--sub",
                "alice",
                "--ttl",
                "15m",
                "--claim",
                "role=admin",
                "--claim",
                "n=42",
                "--kid",
                "k1",
            ],
            None,
        );
        assert!(out.status.success(), "{alg}: {}", stderr_of(&out));
        let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let mut verify = vec!["inspect", "-", "--json", "--verify", "--key-file", public.to_str().unwrap()];
        // HMAC only when asked for; the other algorithms verify by the key alone.
        if alg.starts_with("HS") {
            verify.extend(["--alg", alg]);
        }
        let out = run(&home, &verify, Some(&token));
        assert!(out.status.success(), "{alg}: {}", stderr_of(&out));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["header"]["alg"], alg);
        assert_eq!(
            (json["header"]["typ"].as_str(), json["header"]["kid"].as_str()),
            (Some("JWT"), Some("k1"))
        );
        let p = &json["payload"];
        assert_eq!(
            (p["sub"].as_str(), p["role"].as_str(), p["n"].as_i64()),
            (Some("alice"), Some("admin"), Some(42))
        );
        assert_eq!(p["exp"].as_i64().unwrap() - p["iat"].as_i64().unwrap(), 900);
        assert_eq!((json["verified"].as_bool(), json["expired"].as_bool()), (Some(true), Some(false)));
    }
}

#[test]
fn sign_takes_claims_from_json_env_keys_and_absolute_times() {
    let home = Home::new();
    let claims_file = home.path().join("claims.json");
    std::fs::write(&claims_file, r#"{"scope":["a","b"],"sub":"from-file"}"#).unwrap();
    let out = home
        .tok()
        .env("SIGNING_KEY", "a-short-key")
        .args([
            "sign",
            "--alg",
            "HS256",
            "--key-env",
            "SIGNING_KEY",
            "--claims-json",
            claims_file.to_str().unwrap(),
        ])
        .args(["--sub", "alice", "--exp", "2030-01-01T00:00:00Z", "--no-iat"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("keys shorter than the hash output"), "{}", stderr_of(&out));
    let token = String::from_utf8(out.stdout).unwrap();
    let c = claims(token.trim());
    assert_eq!(c["scope"], serde_json::json!(["a", "b"]));
    assert_eq!(c["sub"], "alice", "flags win over the file");
    assert_eq!(c["exp"], 1893456000);
    assert!(c.get("iat").is_none());

    let bad: [(&[&str], &str); 4] = [
        (&["sign", "--sub", "x"], "needs a key"),
        (&["sign", "--key-env", "NOPE"], "is not set"),
        (&["sign", "--key-env", "K", "--claim", "novalue"], "KEY=VALUE"),
        (&["sign", "--key-env", "K", "--alg", "none"], "invalid value for `--alg`"),
    ];
    for (args, message) in bad {
        let out = home.tok().env("K", "k").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr_of(&out).contains(message), "{args:?}: {}", stderr_of(&out));
        assert!(out.stdout.is_empty());
    }
    let out = home
        .tok()
        .args(["sign", "--alg", "RS256", "--key-file", claims_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("RS256 needs an RSA key in PEM"), "{}", stderr_of(&out));
}

#[test]
fn bad_tokens_exit_1_with_a_reason_and_nothing_on_stdout() {
    let home = Home::new();
    let seg = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    let cases: Vec<(String, &str)> = vec![
        ("abc".into(), "3 dot-separated segments"),
        ("a.b".into(), "this one has 2"),
        ("a.b.c.d.e".into(), "encrypted JWT"),
        ("!!!.e30.sig".into(), "header is not valid base64url"),
        (format!("{}.e30.x", seg("{nope")), "header is not valid JSON"),
        (format!("{}.{}.", seg(r#"{"typ":"JWT"}"#), seg("{}")), "no \"alg\""),
        (format!("{}.{}.", seg(r#"{"alg":"HS256"}"#), seg("[]")), "payload is not a JSON object"),
    ];
    for (token, message) in cases {
        let out = run(&home, &["inspect", "-"], Some(&token));
        assert_eq!(out.status.code(), Some(1), "{token}");
        assert!(stderr_of(&out).contains(message), "{token}: {}", stderr_of(&out));
        assert!(out.stdout.is_empty());
    }
    // Binary and very large input fail the same way, without a panic.
    let out = home.tok().args(["inspect", "-"]).write_stdin(vec![0xffu8, 0, 0x80, 0x41]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = home.tok().args(["inspect", "-"]).write_stdin("x.".repeat(2_000_000)).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr_of(&out).contains("panicked"));

    let unsigned = format!("{}.{}.", seg(r#"{"alg":"none"}"#), seg(r#"{"sub":"x"}"#));
    let key = rfc_key_file(&home);
    let out = run(&home, &["inspect", &unsigned, "--verify", "--key-file", key.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(4), "alg none never verifies");
    assert!(stderr_of(&out).contains("unsigned"), "{}", stderr_of(&out));
}

#[test]
fn inspect_a_profiles_stored_token() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let out = run(&home, &["inspect", "--profile", "nexterpay", "--json"], None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["payload"]["sub"], USER);
    assert!(
        json["times"]["exp"]["relative"].as_str().unwrap().starts_with("in 9h")
            || json["times"]["exp"]["relative"] == "in 10h"
    );

    // An opaque OAuth2 token is reported with what tok stored about it.
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
    let out = run(&home, &["inspect", "--profile", "api"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("opaque token") && (text.contains("(in 9m") || text.contains("(in 10m")), "{text}");
    assert_eq!(run(&home, &["inspect", "--profile", "nobody"], None).status.code(), Some(3));
}

fn nelnet_login(home: &Home, sb: &Sandbox, extra: &[&str]) -> std::process::Output {
    home.tok()
        .args(["login", "nelnet", "--key-id", NPS_KEY_ID, "--base-url", &sb.url, "--secret-stdin"])
        .args(extra)
        .write_stdin(format!("{NPS_API_KEY}\n"))
        .output()
        .unwrap()
}

#[test]
fn nelnet_signs_an_nps_token_the_stand_in_accepts() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = nelnet_login(&home, &sb, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(sb.stats()["requests"].as_object().unwrap().is_empty(), "signing needs no network");
    let token = home.print("nelnet");
    let json: Value =
        serde_json::from_slice(&run(&home, &["inspect", &token, "--json"], None).stdout).unwrap();
    assert_eq!(
        (json["header"]["alg"].as_str(), json["header"]["typ"].as_str()),
        (Some("HS512"), Some("JWT"))
    );
    let p = &json["payload"];
    assert_eq!(p["sub"], NPS_KEY_ID);
    assert_eq!(p["exp"].as_i64().unwrap() - p["iat"].as_i64().unwrap(), 300);
    assert_eq!(home.print("nelnet"), token, "cached within its life");
    assert_eq!(sb.api("POST", "/tokenization/session", &format!("Authorization: Bearer {token}")), 200);

    // A token signed with another key is refused by the stand-in.
    let forged = home
        .tok()
        .env("K", "wrong-key")
        .args(["sign", "--alg", "HS512", "--key-env", "K", "--sub", NPS_KEY_ID, "--ttl", "5m"])
        .output()
        .unwrap();
    let forged = String::from_utf8(forged.stdout).unwrap();
    assert_eq!(
        sb.api("POST", "/tokenization/session", &format!("Authorization: Bearer {}", forged.trim())),
        401
    );
}

#[test]
fn tok_sign_nelnet_always_signs_a_fresh_token() {
    let sb = Sandbox::start();
    let home = Home::new();
    assert!(nelnet_login(&home, &sb, &[]).status.success());
    // Replace the cached token with a marker: print serves the cache, sign never does.
    let mut stored: Value =
        serde_json::from_str(&std::fs::read_to_string(home.store_file("nelnet")).unwrap()).unwrap();
    stored["token"]["token"] = Value::from("cached-marker-token");
    std::fs::write(home.store_file("nelnet"), stored.to_string()).unwrap();
    assert_eq!(home.print("nelnet"), "cached-marker-token");
    let out = run(&home, &["sign", "nelnet"], None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let fresh = String::from_utf8(out.stdout).unwrap();
    assert_eq!(claims(fresh.trim())["sub"], NPS_KEY_ID);
    assert_eq!(
        sb.api("POST", "/tokenization/session", &format!("Authorization: Bearer {}", fresh.trim())),
        200
    );

    let out = run(&home, &["sign", "nelnet", "--alg", "HS256"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn nelnet_warns_about_long_lifetimes_and_the_stand_in_enforces_limits() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = nelnet_login(&home, &sb, &["--ttl", "2h"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("outlives the 1-5 minutes Nelnet advises"), "{}", stderr_of(&out));
    let token = home.print("nelnet");
    let c = claims(&token);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 7200);
    assert_eq!(
        sb.api("POST", "/tokenization/session", &format!("Authorization: Bearer {token}")),
        401,
        "beyond the key's limit"
    );
}

/// `--alg` in any case, for sign and inspect: `hs256` is HS256, `eddsa` EdDSA.
#[test]
fn alg_is_accepted_in_any_case() {
    let home = Home::new();
    let key = rfc_key_file(&home);
    let key = key.to_str().unwrap();
    let out =
        run(&home, &["inspect", "-", "--verify", "--alg", "hs256", "--key-file", key], Some(RFC7515_TOKEN));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("signature verified (HS256)"), "{}", stderr_of(&out));
    for (typed, alg, key) in [
        ("hs512", "HS512", key.to_string()),
        ("eddsa", "EdDSA", fixture("ed25519-private.pem").display().to_string()),
    ] {
        let out = run(&home, &["sign", "--alg", typed, "--ttl", "1m", "--key-file", &key], None);
        assert!(out.status.success(), "{typed}: {}", stderr_of(&out));
        let token = String::from_utf8(out.stdout).unwrap();
        let header = token.split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap())
                .unwrap();
        assert_eq!(header["alg"], alg, "{typed}");
    }
    let out = run(&home, &["sign", "--alg", "hs999", "--key-file", key], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("HS256"), "lists the names: {}", stderr_of(&out));
}

/// `tok print`'s output pipes into `tok inspect -` in each format that carries the
/// token on its own: the token, the header line, the JSON.
#[test]
fn inspect_reads_what_print_writes() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    for format in ["token", "header", "json"] {
        let printed = home.tok().args(["print", "nexterpay", "--format", format]).output().unwrap();
        assert!(printed.status.success(), "{}", stderr_of(&printed));
        let out = home.tok().args(["inspect", "-", "--json"]).write_stdin(printed.stdout).output().unwrap();
        assert!(out.status.success(), "{format}: {}", stderr_of(&out));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["payload"]["sub"], USER, "{format}");
    }
}

/// In GitHub Actions a JWT `tok sign` prints is masked first, like every token tok hands
/// out: the runner hides it in later log lines; stdout stays the token alone.
#[test]
fn github_actions_masks_signed_tokens() {
    let sb = Sandbox::start();
    let home = Home::new();
    assert!(nelnet_login(&home, &sb, &[]).status.success());
    let own = ["sign", "--alg", "RS256", "--ttl", "1m", "--key-file"];
    let private = fixture("rsa-private.pem");
    for args in [vec!["sign", "nelnet"], own.iter().copied().chain([private.to_str().unwrap()]).collect()] {
        let out = home.tok().env("GITHUB_ACTIONS", "true").args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        let token = String::from_utf8(out.stdout.clone()).unwrap();
        assert_eq!(token.lines().count(), 1, "stdout is the token alone");
        assert!(
            stderr_of(&out).starts_with(&format!("::add-mask::{}\n", token.trim())),
            "{args:?}: {}",
            stderr_of(&out)
        );
        let out = home.tok().env("GITHUB_ACTIONS", "false").args(&args).output().unwrap();
        assert!(!stderr_of(&out).contains("::add-mask::"), "{}", stderr_of(&out));
    }
}
