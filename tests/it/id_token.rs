//! OpenID Connect ID tokens from the sandbox's `/as` issuer (scope `openid` adds one):
//! `tok print --id-token`, `tok inspect --profile P --id-token`, and the refresh rule
//! (a refresh reply without an ID token keeps the one held, handed out only while fresh).

use crate::support::*;
use serde_json::{Value, json};

const ID: &str = "demo-client";
const SECRET: &str = "demo-secret";
const AS_TOKEN: &str = "POST /as/token";

fn login(home: &Home, sb: &Sandbox, scope: &str) -> std::process::Output {
    let issuer = format!("{}/as", sb.url);
    home.tok()
        .args(["login", "api", "--provider", "oauth2", "--issuer", &issuer, "--client-id", ID])
        .args(["--scope", scope, "--secret-stdin"])
        .write_stdin(format!("{SECRET}\n"))
        .output()
        .unwrap()
}

fn id_token(home: &Home) -> std::process::Output {
    home.tok().args(["print", "api", "--id-token"]).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

#[test]
fn print_and_inspect_show_the_id_token_and_a_refresh_keeps_it() {
    let sb = Sandbox::start();
    let home = Home::new();
    assert!(login(&home, &sb, "openid read").status.success());
    let out = id_token(&home);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let id = text(&out.stdout);
    assert_ne!(id, home.print("api"), "the ID token, not the access token");
    assert_eq!((claims(&id)["sub"].as_str(), claims(&id)["aud"].as_str()), (Some(ID), Some(ID)));

    let out = home.tok().args(["inspect", "--profile", "api", "--id-token", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["payload"], claims(&id));
    assert_eq!(shown["kind"], "jwt");
    validate(&schema("inspect.json"), &shown).unwrap();
    let access: Value = serde_json::from_slice(
        &home.tok().args(["inspect", "--profile", "api", "--json"]).output().unwrap().stdout,
    )
    .unwrap();
    assert_ne!(access["payload"], shown["payload"], "without --id-token: the access token");

    // status says what the profile is and holds, never a token's value.
    let out = home.tok().args(["status", "api"]).output().unwrap();
    let shown = text(&out.stdout);
    for line in [
        "grant          client_credentials (the default)",
        "auth           basic (the default)",
        "refresh token  held",
        "ID token       held, in ",
    ] {
        assert!(shown.contains(line), "{line}:\n{shown}");
    }
    assert!(shown.contains(&format!("issuer         {}/as", sb.url)), "{shown}");
    assert!(shown.contains("token          in "), "{shown}");
    assert!(!shown.contains(&id) && !shown.contains(&home.print("api")), "{shown}");
    let json: Value =
        serde_json::from_slice(&home.tok().args(["status", "api", "--json"]).output().unwrap().stdout)
            .unwrap();
    validate(&schema("status-profile.json"), &json).unwrap();
    assert_eq!(
        (json["id_token_held"].as_bool(), json["refresh_token_held"].as_bool()),
        (Some(true), Some(true))
    );

    // The sandbox's refresh replies carry no ID token (no scope is sent): the held one stays.
    home.tok().args(["refresh", "api"]).assert().success();
    assert_eq!(field_of_last(&sb, "grant_type").as_deref(), Some("refresh_token"));
    let out = id_token(&home);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(text(&out.stdout), id);
}

#[test]
fn a_profile_without_an_id_token_exits_3_for_print_and_inspect() {
    let sb = Sandbox::start();
    let home = Home::new();
    assert!(login(&home, &sb, "read").status.success());
    let out = id_token(&home);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("holds no ID token"), "{}", stderr_of(&out));
    let out = home.tok().args(["inspect", "--profile", "api", "--id-token"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("holds no ID token"), "{}", stderr_of(&out));
    for args in [&["inspect", "--id-token", "x.y.z"][..], &["inspect", "--id-token"][..]] {
        let out = home.tok().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "--id-token needs --profile: {}", stderr_of(&out));
    }
}

#[test]
fn an_expired_id_token_is_never_printed() {
    let sb = Sandbox::start();
    let home = Home::new();
    // The ID token lives 20 s: within print's 30 s margin from the start.
    sb.settings(json!({ "oauth2_lifetime": 20 }));
    assert!(login(&home, &sb, "openid").status.success());
    let old = home_id_token_in_store(&home);
    sb.settings(json!({ "oauth2_lifetime": 3600 }));
    // A refresh renews the access token; its reply has no ID token, so the stale one stays.
    home.tok().args(["refresh", "api"]).assert().success();
    let before = sb.count(AS_TOKEN);
    home.print("api");
    assert_eq!(sb.count(AS_TOKEN), before, "the access token alone is fresh: no request");

    let out = id_token(&home);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("ID token of 'api' has expired"), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(sb.count(AS_TOKEN), before + 1, "one refresh was tried for a new ID token");

    // When the grant runs again (the refresh token refused), a new ID token comes.
    sb.settings(json!({ "oauth2_lifetime": 3600, "refuse_refresh": true }));
    let out = id_token(&home);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let new = text(&out.stdout);
    assert_ne!(new, old);
    assert!(claims(&new)["exp"].as_i64().unwrap() > claims(&home.print("api"))["iat"].as_i64().unwrap() + 60);
}

fn field_of_last(sb: &Sandbox, name: &str) -> Option<String> {
    let last = sb.last(AS_TOKEN);
    let body = last["body"].as_str().unwrap_or_default().to_string();
    url::form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn home_id_token_in_store(home: &Home) -> String {
    let store: Value =
        serde_json::from_str(&std::fs::read_to_string(home.store_file("api")).unwrap()).unwrap();
    find_id_token(&store).expect("the store file holds the ID token")
}

fn find_id_token(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map
            .get("id_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| map.values().find_map(find_id_token)),
        Value::Array(items) => items.iter().find_map(find_id_token),
        _ => None,
    }
}
