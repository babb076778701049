//! DPoP (RFC 9449) end to end against tok-sandbox's DPoP token endpoint and resource
//! server (`sandbox/src/dpop.rs`), which checks every proof as §4.3 and §7 say; the
//! proofs crafted here show that each of its checks can fail.

use crate::support::*;
use base64::Engine;
use serde_json::{Value, json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub const TOKEN: &str = "POST /dpop/token";

/// `tok login pay --dpop` against `/dpop/<path>`, with the demo secret on stdin.
pub fn dpop_login(home: &Home, sb: &Sandbox, path: &str, extra: &[&str]) -> std::process::Output {
    home.tok()
        .args(["login", "pay", "--provider", "oauth2", "--token-url", &format!("{}{path}", sb.url)])
        .args(["--client-id", "demo-client", "--upstream", &format!("{}/dpop", sb.url), "--dpop"])
        .args(extra)
        .arg("--secret-stdin")
        .write_stdin("demo-secret\n")
        .output()
        .unwrap()
}

pub fn stored(home: &Home, profile: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(home.store_file(profile)).unwrap()).unwrap()
}

fn part(jwt: &str, n: usize) -> Value {
    serde_json::from_slice(&B64.decode(jwt.split('.').nth(n).unwrap()).unwrap()).unwrap()
}

#[test]
fn login_binds_the_token_to_a_key_made_and_stored_at_login() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = dpop_login(&home, &sb, "/dpop/token", &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let store = stored(&home, "pay");
    assert!(store["secrets"]["dpop_key"].as_str().unwrap().contains("BEGIN PRIVATE KEY"));
    assert_eq!(store["token"]["scheme"], "DPoP");
    // The proof the token endpoint got: ES256, its public key, no token hash.
    let proof = sb.last(TOKEN)["headers"]["dpop"].as_str().unwrap().to_string();
    let (header, claims) = (part(&proof, 0), part(&proof, 1));
    assert_eq!((header["typ"].as_str(), header["alg"].as_str()), (Some("dpop+jwt"), Some("ES256")));
    assert!(header["jwk"].get("d").is_none());
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], format!("{}/dpop/token", sb.url));
    assert!(claims.get("ath").is_none());
    let token = store["token"]["token"].as_str().unwrap();
    assert!(crate::support::claims(token)["cnf"]["jkt"].is_string());

    // A second login keeps the key (the token stays bound to the same thumbprint), and a
    // refresh sends a proof made with it: the sandbox refuses a refresh token with another key.
    let jkt = crate::support::claims(token)["cnf"]["jkt"].clone();
    let out = dpop_login(&home, &sb, "/dpop/token", &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let again = stored(&home, "pay");
    assert_eq!(again["secrets"]["dpop_key"], store["secrets"]["dpop_key"]);
    assert_eq!(crate::support::claims(again["token"]["token"].as_str().unwrap())["cnf"]["jkt"], jkt);
    let out = home.tok().args(["refresh", "pay"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count(TOKEN), 3);
    assert!(sb.last(TOKEN)["body"].as_str().unwrap().contains("grant_type=refresh_token"));
    assert_eq!(stored(&home, "pay")["token"]["scheme"], "DPoP");
}

#[test]
fn a_key_file_decides_the_algorithm() {
    let sb = Sandbox::start();
    let home = Home::new();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let key = fixtures.join("ed25519-private.pem");
    let out = dpop_login(&home, &sb, "/dpop/token", &["--dpop-key-file", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let proof = sb.last(TOKEN)["headers"]["dpop"].as_str().unwrap().to_string();
    assert_eq!(part(&proof, 0)["alg"], "EdDSA");
    // The key is read into the store, not remembered as a path.
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(!config.contains("ed25519-private"), "{config}");

    // Keys DPoP cannot use, and the flag without --dpop, are usage errors before any request.
    let rsa = fixtures.join("rsa-pkcs1-private.pem");
    let out = dpop_login(&home, &sb, "/dpop/token", &["--dpop-key-file", rsa.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("EC P-256 or Ed25519"), "{}", stderr_of(&out));
    let out = home
        .tok()
        .args(["login", "plain", "--provider", "oauth2", "--token-url", &format!("{}/dpop/token", sb.url)])
        .args(["--client-id", "demo-client", "--dpop-key-file", key.to_str().unwrap(), "--secret-stdin"])
        .write_stdin("demo-secret\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("needs --dpop"), "{}", stderr_of(&out));
    assert_eq!(sb.count(TOKEN), 1);
}

#[test]
fn a_nonce_the_token_endpoint_asks_for_is_sent_once() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = dpop_login(&home, &sb, "/dpop/nonce/token", &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(sb.count("POST /dpop/nonce/token"), 2, "one use_dpop_nonce, one retry");
    let proof = sb.last("POST /dpop/nonce/token")["headers"]["dpop"].as_str().unwrap().to_string();
    assert!(part(&proof, 1)["nonce"].as_str().unwrap().starts_with("as-nonce-"));

    // A second ask is not answered again: the error is the server's.
    let home = Home::new();
    let ask = json!({ "path": "/dpop/token", "status": 400, "times": 3,
        "body": r#"{"error":"use_dpop_nonce","error_description":"again"}"#,
        "headers": { "DPoP-Nonce": "n-2" } });
    sb.fault(ask);
    let out = dpop_login(&home, &sb, "/dpop/token", &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("use_dpop_nonce"), "{}", stderr_of(&out));
    assert_eq!(sb.count(TOKEN), 2);
}

#[test]
fn a_bearer_token_for_a_dpop_request_is_exit_5_naming_it() {
    let sb = Sandbox::start();
    let home = Home::new();
    let out = dpop_login(&home, &sb, "/dpop/bearer/token", &[]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("token_type 'Bearer'") && err.contains("DPoP"), "{err}");
    // The reply is refused before its refresh token is read, yet the excerpt of it
    // shows none: every token in a token reply is a secret, used or not.
    assert!(err.contains("the body starts"), "{err}");
    assert!(!err.contains("dpop-refresh"), "{err}");
    assert!(!home.store_file("pay").exists());
}

#[test]
fn print_gives_both_lines_for_one_request_and_refuses_a_bare_token() {
    let sb = Sandbox::start();
    let home = Home::new();
    assert!(dpop_login(&home, &sb, "/dpop/token", &[]).status.success());
    let url = format!("{}/dpop/api/payments", sb.url);
    let out = home
        .tok()
        .args(["print", "pay", "--format", "header", "--for", &format!("POST {url}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = String::from_utf8(out.stdout).unwrap();
    let token = stored(&home, "pay")["token"]["token"].as_str().unwrap().to_string();
    let mut shown = lines.lines();
    assert_eq!(shown.next(), Some(format!("Authorization: DPoP {token}").as_str()));
    assert!(shown.next().unwrap().starts_with("DPoP: ey"));
    assert_eq!(shown.next(), None);
    // The lines work once, for that method and URL: a proof is never good twice.
    assert_eq!(sb.api("POST", "/dpop/api/payments", &lines), 200);
    assert_eq!(sb.api("POST", "/dpop/api/payments", &lines), 401);

    let refused: [&[&str]; 5] = [
        &["print", "pay"],
        &["print", "pay", "--format", "header"],
        &["print", "pay", "--format", "json"],
        &["print", "pay", "--format", "env"],
        &["print", "pay", "--format", "json", "--for", "GET https://example.com/"],
    ];
    for args in refused {
        let out = home.tok().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr_of(&out);
        for name in ["--for", "tok curl pay", "tok proxy pay", "DPoP"] {
            assert!(err.contains(name), "{args:?}: {err}");
        }
        assert!(out.stdout.is_empty() && !err.contains(&token));
    }
    // Only for a host the profile sends its credential to (tok curl's rule).
    let out = home
        .tok()
        .args(["print", "pay", "--format", "header", "--for", "GET https://evil.example/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--allow-host"), "{}", stderr_of(&out));
    // tok exec gives no bare DPoP token to a child either.
    let out = home.tok().args(["exec", "pay", "--", "env"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("tok exec --proxy pay"), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
}

/// A P-256 key of the test's own, to craft proofs tok would never make.
struct TestKey {
    pair: ring::signature::EcdsaKeyPair,
    jwk: Value,
}

impl TestKey {
    fn new() -> TestKey {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let jwk = json!({ "kty": "EC", "crv": "P-256", "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..]) });
        TestKey { pair, jwk }
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
        let sig = self.pair.sign(&ring::rand::SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", B64.encode(sig.as_ref()))
    }

    /// A proof as RFC 9449 wants it, after `tweak` has changed what the test breaks.
    fn proof(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        tweak: impl FnOnce(&mut Value, &mut Value),
    ) -> String {
        use sha2_free::ath;
        let mut header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let jti =
            B64.encode(ring::rand::generate::<[u8; 16]>(&ring::rand::SystemRandom::new()).unwrap().expose());
        let mut claims = json!({ "jti": jti, "htm": method, "htu": url, "iat": now });
        if let Some(token) = token {
            claims["ath"] = json!(ath(token));
        }
        tweak(&mut header, &mut claims);
        self.sign(&header, &claims)
    }
}

mod sha2_free {
    pub fn ath(token: &str) -> String {
        use base64::Engine;
        super::B64.encode(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()))
    }
}

fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap()
}

/// Sends one request with these two headers; the status and the sandbox's reason.
fn send(method: &str, url: &str, authorization: &str, proof: &str) -> (u16, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let answer = http()
        .request(method, url)
        .header("authorization", authorization)
        .header("dpop", proof)
        .send()
        .unwrap();
    let status = answer.status().as_u16();
    let body: Value = serde_json::from_str(&answer.text().unwrap()).unwrap_or(Value::Null);
    let why = body["why"].as_str().or(body["error"].as_str()).unwrap_or("").to_string();
    (status, why)
}

#[test]
fn the_resource_server_refuses_every_broken_proof() {
    let sb = Sandbox::start();
    let key = TestKey::new();
    // A token bound to the test's key, from the sandbox's DPoP token endpoint.
    let token_url = format!("{}/dpop/token", sb.url);
    let proof = key.proof("POST", &token_url, None, |_, _| {});
    let answer = http()
        .post(&token_url)
        .basic_auth("demo-client", Some("demo-secret"))
        .header("dpop", proof)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let reply: Value = serde_json::from_str(&answer.text().unwrap()).unwrap();
    assert_eq!(reply["token_type"], "DPoP");
    let token = reply["access_token"].as_str().unwrap().to_string();
    let auth = format!("DPoP {token}");
    let url = format!("{}/dpop/api/orders", sb.url);

    // The proof as it should be passes; the very same proof again is a replay.
    let good = key.proof("GET", &url, Some(&token), |_, _| {});
    assert_eq!(send("GET", &format!("{url}?page=1"), &auth, &good), (200, String::new()));
    assert_eq!(send("GET", &url, &auth, &good).1, "the jti was seen before (a replayed proof)");

    let other = TestKey::new();
    type Tweak = Box<dyn FnOnce(&mut Value, &mut Value)>;
    let table: Vec<(&str, Tweak, &str)> = vec![
        ("wrong htu", Box::new(|_, c| c["htu"] = json!("http://127.0.0.1:1/dpop/api/orders")), "htu is not"),
        ("wrong htm", Box::new(|_, c| c["htm"] = json!("POST")), "htm is not GET"),
        ("missing ath", Box::new(|_, c| drop(c.as_object_mut().unwrap().remove("ath"))), "no ath"),
        ("wrong ath", Box::new(|_, c| c["ath"] = json!(sha2_free::ath("another token"))), "ath is not"),
        ("old iat", Box::new(|_, c| c["iat"] = json!(c["iat"].as_i64().unwrap() - 600)), "iat is not within"),
        ("typ JWT", Box::new(|h, _| h["typ"] = json!("JWT")), "typ is not dpop+jwt"),
        ("alg none", Box::new(|h, _| h["alg"] = json!("none")), "alg none or HMAC"),
        ("alg HS256", Box::new(|h, _| h["alg"] = json!("HS256")), "alg none or HMAC"),
        ("no jwk", Box::new(|h, _| drop(h.as_object_mut().unwrap().remove("jwk"))), "no jwk"),
        ("private jwk", Box::new(|h, _| h["jwk"]["d"] = json!("AAAA")), "private key"),
        // Signed by this key, but claiming another's public key.
        ("another jwk", Box::new(move |h, _| h["jwk"] = other.jwk.clone()), "signature does not verify"),
        ("no jti", Box::new(|_, c| drop(c.as_object_mut().unwrap().remove("jti"))), "no jti"),
    ];
    for (what, tweak, want) in table {
        let proof = key.proof("GET", &url, Some(&token), tweak);
        let (status, why) = send("GET", &url, &auth, &proof);
        assert_eq!(status, 401, "{what}");
        assert!(why.contains(want), "{what}: {why}");
    }
    // A valid proof made with a key the token is not bound to.
    let stranger = TestKey::new();
    let proof = stranger.proof("GET", &url, Some(&token), |_, _| {});
    assert!(send("GET", &url, &auth, &proof).1.contains("cnf.jkt"));
    // The token as a bearer token, or without a proof, is refused too.
    let proof = key.proof("GET", &url, Some(&token), |_, _| {});
    assert!(send("GET", &url, &format!("Bearer {token}"), &proof).1.contains("no DPoP token"));
    let answer = http().get(&url).header("authorization", &auth).send().unwrap();
    assert_eq!(answer.status(), 401);
    assert!(answer.headers()["www-authenticate"].to_str().unwrap().starts_with("DPoP "));

    // Where a nonce is demanded, a proof without it (or with another) gets the challenge.
    let nonce_url = format!("{}/dpop/nonce-api/orders", sb.url);
    for nonce in [None, Some("made-up")] {
        let proof = key.proof("GET", &nonce_url, Some(&token), |_, c| {
            if let Some(n) = nonce {
                c["nonce"] = json!(n);
            }
        });
        let answer =
            http().get(&nonce_url).header("authorization", &auth).header("dpop", proof).send().unwrap();
        assert_eq!(answer.status(), 401, "{nonce:?}");
        let www = answer.headers()["www-authenticate"].to_str().unwrap().to_string();
        assert!(www.contains("use_dpop_nonce") && answer.headers().contains_key("dpop-nonce"), "{www}");
    }
}
