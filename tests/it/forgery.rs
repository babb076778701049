//! `tok inspect --verify` tells a genuine token from a forged one: the key decides the
//! algorithm family, never the token's header (issue: trust, item 1), and bytes never
//! decide HMAC: only `--alg HS*` does (issue 18, item 1).

use crate::support::*;
use base64::Engine;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

struct Family {
    alg: &'static str,
    private: PathBuf,
    public: PathBuf,
    /// Families that share a key: RS and PS both use RSA keys.
    key: &'static str,
}

fn families(home: &Home) -> Vec<Family> {
    let hmac = home.path().join("hmac.key");
    std::fs::write(&hmac, b"a shared secret of sixty-four bytes, as HS512 wants it: 0123456789ab").unwrap();
    let f = |alg, private: &str, public: &str, key| Family {
        alg,
        private: fixture(private),
        public: fixture(public),
        key,
    };
    vec![
        Family { alg: "HS256", private: hmac.clone(), public: hmac, key: "hmac" },
        f("RS256", "rsa-private.pem", "rsa-public.pem", "rsa"),
        f("PS256", "rsa-private.pem", "rsa-public.pem", "rsa"),
        f("ES256", "ec-private.pem", "ec-public.pem", "p256"),
        f("ES384", "ec384-private.pem", "ec384-public.pem", "p384"),
        f("EdDSA", "ed25519-private.pem", "ed25519-public.pem", "ed"),
    ]
}

fn sign(home: &Home, alg: &str, key: &Path) -> String {
    let out = home
        .tok()
        .args(["sign", "--alg", alg, "--sub", "alice", "--ttl", "5m", "--key-file"])
        .arg(key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{alg}: {}", stderr_of(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn verify(home: &Home, token: &str, key: &Path, pin: Option<&str>) -> std::process::Output {
    let mut cmd = home.tok();
    cmd.args(["inspect", "-", "--verify", "--key-file"]).arg(key);
    if let Some(pin) = pin {
        cmd.args(["--alg", pin]);
    }
    cmd.write_stdin(token.to_string()).output().unwrap()
}

#[test]
fn every_family_pair_verifies_only_with_its_own_key() {
    let home = Home::new();
    let families = families(&home);
    for signer in &families {
        let token = sign(&home, signer.alg, &signer.private);
        for keyholder in &families {
            // HMAC is checked only when asked for; the pin is the user saying so.
            let pin = (signer.key == "hmac").then_some(signer.alg);
            let out = verify(&home, &token, &keyholder.public, pin);
            let err = stderr_of(&out);
            if signer.key == keyholder.key {
                assert!(out.status.success(), "{} with {}: {err}", signer.alg, keyholder.alg);
                assert!(err.contains(&format!("signature verified ({})", signer.alg)), "{err}");
            } else {
                assert_eq!(out.status.code(), Some(4), "{} token, {} key: {err}", signer.alg, keyholder.alg);
                assert!(err.contains(&format!("alg {}", signer.alg)), "names the token's alg: {err}");
                assert!(err.contains("key is "), "names what the key is: {err}");
                assert!(!err.contains("signature verified"), "{err}");
            }
        }
    }
}

/// The attack itself: an HS256 token whose HMAC key is the bytes of a public key that
/// anybody can have. Forged here with jsonwebtoken directly, since `tok sign` refuses.
#[test]
fn hmac_tokens_keyed_with_public_key_bytes_never_verify() {
    let home = Home::new();
    let claims = serde_json::json!({ "sub": "attacker", "exp": 4_000_000_000u64 });
    for file in ["rsa-public.pem", "ec-public.pem", "ed25519-public.pem", "rsa-private.pem", "rsa-cert.pem"] {
        let key = fixture(file);
        let bytes = std::fs::read(&key).unwrap();
        for alg in [jsonwebtoken::Algorithm::HS256, jsonwebtoken::Algorithm::HS512] {
            let forged = jsonwebtoken::encode(
                &jsonwebtoken::Header::new(alg),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(&bytes),
            )
            .unwrap();
            let out = verify(&home, &forged, &key, None);
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(4), "{file} {alg:?}: {err}");
            assert!(err.contains("never used as an HMAC secret"), "{err}");
            assert!(!err.contains("signature verified"), "{err}");
            // The token's own key format in DER (a binary key file) is refused as well.
            if file.ends_with("public.pem") {
                let der = home.path().join(format!("{file}.der"));
                let body: String =
                    String::from_utf8_lossy(&bytes).lines().filter(|l| !l.starts_with("-----")).collect();
                std::fs::write(&der, base64::engine::general_purpose::STANDARD.decode(body).unwrap())
                    .unwrap();
                let out = verify(&home, &forged, &der, None);
                assert_eq!(out.status.code(), Some(4), "{file} as DER: {}", stderr_of(&out));
                assert!(stderr_of(&out).contains("(DER SPKI)"), "{}", stderr_of(&out));
            }
        }
    }
}

#[test]
fn sign_refuses_a_pem_key_as_an_hmac_secret() {
    let home = Home::new();
    for file in ["rsa-public.pem", "rsa-private.pem", "ec-private.pem", "ed25519-public.pem", "rsa-cert.pem"]
    {
        for alg in ["HS256", "HS384", "HS512"] {
            let out = home
                .tok()
                .args(["sign", "--alg", alg, "--sub", "x", "--key-file"])
                .arg(fixture(file))
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{file} {alg}");
            assert!(out.stdout.is_empty());
            assert!(stderr_of(&out).contains("never used as an HMAC secret"), "{}", stderr_of(&out));
            // The refusal is the one message: no warning about the token not made.
            assert!(!stderr_of(&out).contains("never expires"), "{}", stderr_of(&out));
        }
    }
    // Every other form of a key, readable or broken, is refused as a secret too.
    let mut forms: Vec<(String, Vec<u8>)> = public_key_forms("rsa-public.pem");
    forms.extend(broken_key_forms().into_iter().map(|(f, b)| (f.to_string(), b)));
    for (form, bytes) in forms {
        let key = home.path().join("key");
        std::fs::write(&key, &bytes).unwrap();
        let out = home
            .tok()
            .args(["sign", "--alg", "HS256", "--sub", "x", "--key-file"])
            .arg(&key)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{form}: {}", stderr_of(&out));
        assert!(out.stdout.is_empty(), "{form}");
        assert!(stderr_of(&out).contains("never used as an HMAC secret"), "{form}: {}", stderr_of(&out));
    }
    // There is no default algorithm: without --alg a private key signs with its own
    // (never HMAC), and bytes that are no key are refused, since HMAC must be asked for.
    for (file, alg) in [
        ("rsa-private.pem", "RS256"),
        ("ec-sec1-private.pem", "ES256"),
        ("ec384-private.pem", "ES384"),
        ("ed25519-private.pem", "EdDSA"),
    ] {
        let out = home
            .tok()
            .args(["sign", "--sub", "x", "--ttl", "1m", "--key-file"])
            .arg(fixture(file))
            .output()
            .unwrap();
        assert!(out.status.success(), "{file}: {}", stderr_of(&out));
        let token = String::from_utf8(out.stdout).unwrap();
        assert_eq!(header_of(token.trim())["alg"], alg, "{file}");
    }
    let secret = home.path().join("secret.key");
    std::fs::write(&secret, b"a shared secret that is long enough for HS256 anyway").unwrap();
    let out =
        home.tok().args(["sign", "--sub", "x", "--ttl", "1m", "--key-file"]).arg(&secret).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr_of(&out).contains("only when told: --alg HS256"), "{}", stderr_of(&out));
    // An asymmetric algorithm with the wrong family, a public key, or raw bytes: refused.
    let raw = home.path().join("raw.key");
    std::fs::write(&raw, b"just some bytes").unwrap();
    for (alg, key) in [
        ("RS256", fixture("ec-private.pem")),
        ("ES256", fixture("ec384-private.pem")),
        ("ES384", fixture("ec-private.pem")),
        ("EdDSA", fixture("rsa-private.pem")),
        ("RS256", fixture("rsa-public.pem")),
        ("ES256", raw),
    ] {
        let out =
            home.tok().args(["sign", "--alg", alg, "--sub", "x", "--key-file"]).arg(&key).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{alg} {}", key.display());
        assert!(stderr_of(&out).contains(&format!("cannot sign {alg}")), "{}", stderr_of(&out));
    }
}

#[test]
fn alg_pin_is_enforced() {
    let home = Home::new();
    let rs = sign(&home, "RS256", &fixture("rsa-private.pem"));
    let ps = sign(&home, "PS256", &fixture("rsa-private.pem"));
    let public = fixture("rsa-public.pem");
    assert!(verify(&home, &rs, &public, Some("RS256")).status.success());
    // Same key family, other algorithm than pinned: refused, naming both.
    let out = verify(&home, &ps, &public, Some("RS256"));
    assert_eq!(out.status.code(), Some(4));
    let err = stderr_of(&out);
    assert!(err.contains("PS256") && err.contains("RS256"), "{err}");
    // A pin outside the key's family can never match a token verified by that key.
    let out = verify(&home, &rs, &public, Some("HS256"));
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    // A private key is not a verification key: exit 4 with the fix.
    let out = verify(&home, &rs, &fixture("rsa-private.pem"), None);
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr_of(&out).contains("-pubout"), "{}", stderr_of(&out));
}

/// The keys people have: SEC1 EC keys as `openssl ecparam -genkey` writes them (after an
/// EC PARAMETERS block), PKCS#1 RSA keys, PKCS#8 for all; an unusable one is named with
/// the command that fixes it.
#[test]
fn keys_in_the_formats_openssl_writes() {
    let home = Home::new();
    for (alg, private, public) in [
        ("ES256", "ec-sec1-private.pem", "ec-sec1-public.pem"),
        ("RS256", "rsa-pkcs1-private.pem", "rsa-pkcs1-public.pem"),
        ("PS384", "rsa-pkcs1-private.pem", "rsa-pkcs1-public.pem"),
        ("EdDSA", "ed25519-private.pem", "ed25519-public.pem"),
    ] {
        let token = sign(&home, alg, &fixture(private));
        let out = verify(&home, &token, &fixture(public), Some(alg));
        assert!(out.status.success(), "{alg} {private}: {}", stderr_of(&out));
    }
    let out = home
        .tok()
        .args(["sign", "--alg", "ES256", "--ttl", "1m", "--key-file"])
        .arg(fixture("ec-k256-private.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("unsupported curve") && err.contains("openssl genpkey -algorithm EC"), "{err}");
    // No expiry: signed, with a warning.
    let out = home
        .tok()
        .args(["sign", "--alg", "ES256", "--key-file"])
        .arg(fixture("ec-sec1-private.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("no exp and never expires"), "{}", stderr_of(&out));
}

fn header_of(token: &str) -> serde_json::Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The DER inside a PEM fixture (its first block).
fn der_of(file: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).unwrap()
}

/// The subject public key of an SPKI: its BIT STRING, after the unused-bits byte.
fn spki_key(file: &str) -> Vec<u8> {
    use der::{Decode, Reader, SliceReader};
    let der = der_of(file);
    let spki = der::asn1::AnyRef::from_der(&der).unwrap();
    let mut items = SliceReader::new(spki.value()).unwrap();
    let _alg = der::asn1::AnyRef::decode(&mut items).unwrap();
    let bits = der::asn1::AnyRef::decode(&mut items).unwrap();
    assert!(items.is_finished());
    bits.value()[1..].to_vec()
}

/// The public JWKs of the fixtures, written from their DER.
fn jwk(file: &str, kid: &str) -> serde_json::Value {
    use der::{Decode, SliceReader};
    let key = spki_key(file);
    match file {
        "rsa-public.pem" => {
            let seq = der::asn1::AnyRef::from_der(&key).unwrap();
            let mut ints = SliceReader::new(seq.value()).unwrap();
            let n = der::asn1::AnyRef::decode(&mut ints).unwrap();
            let e = der::asn1::AnyRef::decode(&mut ints).unwrap();
            let n = n.value().strip_prefix(&[0]).unwrap_or(n.value());
            serde_json::json!({ "kty": "RSA", "kid": kid, "use": "sig", "n": b64url(n), "e": b64url(e.value()) })
        }
        "ec-public.pem" => {
            serde_json::json!({ "kty": "EC", "kid": kid, "crv": "P-256", "x": b64url(&key[1..33]), "y": b64url(&key[33..65]) })
        }
        "ed25519-public.pem" => {
            serde_json::json!({ "kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64url(&key) })
        }
        other => panic!("no JWK for {other}"),
    }
}

fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xff, 0xfe];
    for unit in text.replace('\n', "\r\n").encode_utf16() {
        out.extend(unit.to_le_bytes());
    }
    out
}

fn hex_of(bytes: &[u8], upper: bool, sep: &str) -> String {
    let pairs: Vec<String> =
        bytes.iter().map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") }).collect();
    pairs.join(sep)
}

/// Bytes written like a public key that no key can be read from (a mangled PEM, a
/// truncated-inside DER in hex or base64, a quoted JWK): refused as secrets all the same.
fn broken_key_forms() -> Vec<(&'static str, Vec<u8>)> {
    let mut der = der_of("rsa-public.pem");
    der[4] ^= 0xff;
    let pem = std::fs::read_to_string(fixture("rsa-public.pem")).unwrap();
    vec![
        ("lower-case PEM with a broken body", pem.to_lowercase().replace('m', "!").into_bytes()),
        ("PEM without its END line", pem.lines().take(3).collect::<Vec<_>>().join("\n").into_bytes()),
        ("hex of a mangled DER", hex_of(&der, false, ":").into_bytes()),
        ("base64 of a mangled DER", base64::engine::general_purpose::STANDARD.encode(&der).into_bytes()),
        ("a mangled DER", der),
        ("a JWK in a JSON string", br#""{\"kty\":\"RSA\",\"n\":\"AQAB\"}""#.to_vec()),
    ]
}

/// Every form of a public key the issue names, as the bytes of a key file.
fn public_key_forms(file: &str) -> Vec<(String, Vec<u8>)> {
    let pem = std::fs::read_to_string(fixture(file)).unwrap();
    let der = der_of(file);
    let base64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let jwk = jwk(file, "k1").to_string();
    let mut forms = vec![
        ("PEM".to_string(), pem.clone().into_bytes()),
        ("UTF-16 PEM (PowerShell >)".into(), utf16le_with_bom(&pem)),
        ("UTF-8 BOM PEM".into(), [&b"\xef\xbb\xbf"[..], pem.as_bytes()].concat()),
        (
            "PEM with a tab in its label".into(),
            pem.replace("-----BEGIN PUBLIC", "-----BEGIN\tPUBLIC").into_bytes(),
        ),
        ("base64 SPKI DER".into(), base64.clone().into_bytes()),
        ("base64 SPKI DER and a newline".into(), format!("{base64}\n").into_bytes()),
        ("DER".into(), der.clone()),
        ("DER and a newline".into(), [&der[..], b"\n"].concat()),
        ("JWK".into(), jwk.clone().into_bytes()),
        ("JWK with a BOM".into(), format!("\u{feff}{jwk}").into_bytes()),
        ("JWK with an escaped kty".into(), jwk.replace("\"kty\"", "\"k\\u0074y\"").into_bytes()),
        ("JWK set".into(), format!("{{\"keys\":[{jwk}]}}").into_bytes()),
        ("hex DER".into(), hex_of(&der, false, "").into_bytes()),
        ("HEX DER with colons".into(), hex_of(&der, true, ":").into_bytes()),
        ("hex DER with spaces and a newline".into(), format!("{}\n", hex_of(&der, false, " ")).into_bytes()),
        (
            "PEM with lower-case labels".into(),
            pem.replace("-----BEGIN PUBLIC KEY-----", "-----begin public key-----")
                .replace("-----END PUBLIC KEY-----", "-----end public key-----")
                .into_bytes(),
        ),
        ("PEM with four dashes".into(), pem.replace("-----", "----").into_bytes()),
        ("PEM with six dashes and spaces".into(), pem.replace("-----", "------ ").into_bytes()),
    ];
    if file == "rsa-public.pem" {
        forms.push((
            "base64 PKCS#1 DER".into(),
            base64::engine::general_purpose::STANDARD.encode(spki_key(file)).into_bytes(),
        ));
        forms.push(("certificate (PEM)".into(), std::fs::read(fixture("rsa-cert.pem")).unwrap()));
        forms.push(("certificate (DER)".into(), der_of("rsa-cert.pem")));
    }
    forms
}

/// The forgery with every encoding of a public key: an HS256/HS512 token whose HMAC key is
/// the very bytes of the key file the verifier is given. Never verified: not by default
/// (HMAC is not asked for) and not with `--alg HS256` either (those bytes are a key).
#[test]
fn hmac_forgeries_keyed_with_any_form_of_a_public_key_never_verify() {
    let home = Home::new();
    let claims = serde_json::json!({ "sub": "attacker", "exp": 4_000_000_000u64 });
    for file in ["rsa-public.pem", "ec-public.pem", "ed25519-public.pem"] {
        for (form, bytes) in public_key_forms(file) {
            let key = home.path().join("key");
            std::fs::write(&key, &bytes).unwrap();
            for alg in [jsonwebtoken::Algorithm::HS256, jsonwebtoken::Algorithm::HS512] {
                let forged = jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(alg),
                    &claims,
                    &jsonwebtoken::EncodingKey::from_secret(&bytes),
                )
                .unwrap();
                for pin in [None, Some(format!("{alg:?}"))] {
                    let out = verify(&home, &forged, &key, pin.as_deref());
                    let err = stderr_of(&out);
                    assert_eq!(out.status.code(), Some(4), "{file} {form} {alg:?} {pin:?}: {err}");
                    assert!(err.contains("never used as an HMAC secret"), "{file} {form} {pin:?}: {err}");
                    assert!(err.contains(&format!("alg {alg:?}")), "{err}");
                    assert!(!err.contains("signature verified"), "{err}");
                    // Never the hint that would make the forgery verify.
                    assert!(!err.contains("pass --alg"), "{file} {form} {pin:?}: {err}");
                    assert!(err.contains("looks forged"), "{file} {form} {pin:?}: {err}");
                }
            }
        }
    }
    for (form, bytes) in broken_key_forms() {
        let key = home.path().join("key");
        std::fs::write(&key, &bytes).unwrap();
        let forged = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&bytes),
        )
        .unwrap();
        for pin in [None, Some("HS256")] {
            let out = verify(&home, &forged, &key, pin);
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(4), "{form} {pin:?}: {err}");
            assert!(err.contains("never used as an HMAC secret"), "{form} {pin:?}: {err}");
            assert!(!err.contains("pass --alg"), "{form} {pin:?}: {err}");
        }
    }
    // The same from a variable, as a Keycloak realm's public key is pasted into one.
    let base64 = base64::engine::general_purpose::STANDARD.encode(der_of("rsa-public.pem"));
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(base64.as_bytes()),
    )
    .unwrap();
    let out = home
        .tok()
        .env("REALM_KEY", &base64)
        .args(["inspect", "-", "--verify", "--key-env", "REALM_KEY", "--alg", "HS256"])
        .write_stdin(forged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("never used as an HMAC secret"), "{}", stderr_of(&out));
}

/// The other side of the rule: a genuine token verifies with its public key in each of
/// those forms, so normalising is what lets them be read, not only refused.
#[test]
fn genuine_tokens_verify_with_every_form_of_the_public_key() {
    let home = Home::new();
    for (alg, private, public) in [
        ("RS256", "rsa-private.pem", "rsa-public.pem"),
        ("ES256", "ec-private.pem", "ec-public.pem"),
        ("EdDSA", "ed25519-private.pem", "ed25519-public.pem"),
    ] {
        let token = sign(&home, alg, &fixture(private));
        for (form, bytes) in public_key_forms(public) {
            let key = home.path().join("key");
            std::fs::write(&key, &bytes).unwrap();
            let out = verify(&home, &token, &key, None);
            assert!(out.status.success(), "{alg} {form}: {}", stderr_of(&out));
            assert!(stderr_of(&out).contains(&format!("signature verified ({alg})")), "{}", stderr_of(&out));
        }
    }
}

fn sign_with_kid(home: &Home, alg: &str, key: &Path, kid: Option<&str>) -> String {
    let mut cmd = home.tok();
    cmd.args(["sign", "--alg", alg, "--sub", "alice", "--ttl", "5m", "--key-file"]).arg(key);
    if let Some(kid) = kid {
        cmd.args(["--kid", kid]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{alg}: {}", stderr_of(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A JWK set as an issuer publishes it: the token's kid picks the key. Without a kid, tok
/// tries the keys whose family fits the token's alg (no other key could verify it).
#[test]
fn jwks_picks_the_key_by_kid() {
    let home = Home::new();
    let set = serde_json::json!({ "keys": [
        jwk("ec-public.pem", "ec-1"),
        jwk("rsa-public.pem", "rsa-1"),
        // A key tok cannot use does not spoil the set.
        { "kty": "AKP", "kid": "pq-1", "alg": "ML-DSA-44", "pub": "AAAA" },
        jwk("ed25519-public.pem", "ed-1"),
    ]});
    let jwks = home.path().join("jwks.json");
    std::fs::write(&jwks, set.to_string()).unwrap();
    for (alg, private, kid) in [
        ("RS256", "rsa-private.pem", "rsa-1"),
        ("PS256", "rsa-private.pem", "rsa-1"),
        ("ES256", "ec-private.pem", "ec-1"),
        ("EdDSA", "ed25519-private.pem", "ed-1"),
    ] {
        let token = sign_with_kid(&home, alg, &fixture(private), Some(kid));
        let out = verify(&home, &token, &jwks, None);
        assert!(out.status.success(), "{alg} {kid}: {}", stderr_of(&out));
        let token = sign_with_kid(&home, alg, &fixture(private), None);
        assert!(verify(&home, &token, &jwks, None).status.success(), "{alg} without a kid");
    }
    // A kid that names a key of another family, or no key: refused, naming both.
    let token = sign_with_kid(&home, "RS256", &fixture("rsa-private.pem"), Some("ec-1"));
    let out = verify(&home, &token, &jwks, None);
    assert_eq!(out.status.code(), Some(4));
    let err = stderr_of(&out);
    assert!(
        err.contains("alg RS256") && err.contains("EC P-256 public key (JWK) with kid \"ec-1\""),
        "{err}"
    );
    let token = sign_with_kid(&home, "RS256", &fixture("rsa-private.pem"), Some("gone"));
    let out = verify(&home, &token, &jwks, None);
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr_of(&out).contains("kid \"gone\" names no key"), "{}", stderr_of(&out));
    // The right kid with a key that did not sign: a mismatch, exit 4.
    let other = serde_json::json!({ "keys": [jwk("rsa-public.pem", "rsa-1")] });
    let rsa_only = home.path().join("rsa.json");
    std::fs::write(&rsa_only, other.to_string()).unwrap();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("rsa-1".into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256)
        },
        &serde_json::json!({ "sub": "attacker" }),
        &jsonwebtoken::EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa-pkcs1-private.pem")).unwrap())
            .unwrap(),
    )
    .unwrap();
    let out = verify(&home, &forged, &rsa_only, None);
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("does not match"), "{}", stderr_of(&out));
}

/// RFC 7515 §4.1.11: a `crit` extension the verifier does not understand makes the token
/// invalid, however good its signature.
#[test]
fn crit_header_parameters_fail_verification() {
    let home = Home::new();
    let private =
        jsonwebtoken::EncodingKey::from_rsa_pem(&std::fs::read(fixture("rsa-private.pem")).unwrap()).unwrap();
    for header in [
        r#"{"alg":"RS256","crit":["exp"],"exp":4000000000}"#,
        r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#,
        r#"{"alg":"RS256","crit":[]}"#,
    ] {
        let input = format!("{}.{}", b64url(header.as_bytes()), b64url(br#"{"sub":"alice"}"#));
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &private, jsonwebtoken::Algorithm::RS256).unwrap();
        let token = format!("{input}.{signature}");
        let out = verify(&home, &token, &fixture("rsa-public.pem"), None);
        assert_eq!(out.status.code(), Some(4), "{header}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("RFC 7515 §4.1.11"), "{}", stderr_of(&out));
        // Reading it is still fine.
        assert!(home.tok().args(["inspect", "-"]).write_stdin(token).output().unwrap().status.success());
    }
}

/// A key that reads as no key is exit 4 saying so, never an HMAC secret in disguise.
#[test]
fn a_key_that_cannot_be_read_is_refused_saying_so() {
    let home = Home::new();
    let token = sign(&home, "RS256", &fixture("rsa-private.pem"));
    for (name, bytes) in [
        ("text", b"not a key at all".to_vec()),
        ("binary", vec![0x8f, 0x00, 0x13, 0x37, 0xff]),
        (
            "truncated base64 SPKI",
            base64::engine::general_purpose::STANDARD.encode(&der_of("rsa-public.pem")[..100]).into_bytes(),
        ),
    ] {
        let key = home.path().join("key");
        std::fs::write(&key, &bytes).unwrap();
        let out = verify(&home, &token, &key, None);
        assert_eq!(out.status.code(), Some(4), "{name}");
        let err = stderr_of(&out);
        assert!(
            err.contains("the key is not one tok can read") && err.contains("alg RS256"),
            "{name}: {err}"
        );
    }
}

/// A JWK set written as a bare list (`jq .keys`) and a JWK wrapped as `{"jwk": ...}` are
/// keys: a genuine token verifies with them, and an HS token keyed with their bytes is
/// refused even under `--alg HS256` (review 1b).
#[test]
fn jwk_lists_and_wrapped_jwks_are_keys_never_hmac_secrets() {
    let home = Home::new();
    let rsa = jwk("rsa-public.pem", "r1");
    let genuine = sign_with_kid(&home, "RS256", &fixture("rsa-private.pem"), Some("r1"));
    let claims = serde_json::json!({ "sub": "attacker", "exp": 4_000_000_000u64 });
    for (name, text) in [
        ("list", serde_json::json!([rsa]).to_string()),
        ("wrapped", serde_json::json!({ "jwk": rsa }).to_string()),
    ] {
        let file = home.path().join(format!("{name}.json"));
        std::fs::write(&file, &text).unwrap();
        let out = verify(&home, &genuine, &file, None);
        assert!(out.status.success(), "{name}: {}", stderr_of(&out));
        let forged = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(text.as_bytes()),
        )
        .unwrap();
        for pin in [None, Some("HS256")] {
            let out = verify(&home, &forged, &file, pin);
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(4), "{name} {pin:?}: {err}");
            assert!(err.contains("never used as an HMAC secret") && !err.contains("pass --alg"), "{err}");
        }
    }
}

/// RFC 7517 §4.2/4.3: a JWK whose `use` is not `sig`, or whose `key_ops` lack `verify`,
/// verifies nothing; in a set such a key is skipped, and named (review 1c).
#[test]
fn jwks_not_for_verifying_verify_nothing() {
    let home = Home::new();
    let genuine = sign_with_kid(&home, "RS256", &fixture("rsa-private.pem"), None);
    let with = |extra: serde_json::Value| {
        let mut key = jwk("rsa-public.pem", "r1");
        key.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        key
    };
    let write = |name: &str, value: &serde_json::Value| {
        let file = home.path().join(name);
        std::fs::write(&file, value.to_string()).unwrap();
        file
    };
    for (extra, says) in [
        (serde_json::json!({ "key_ops": ["encrypt"] }), "key_ops"),
        (serde_json::json!({ "key_ops": ["sign"] }), "key_ops"),
        (serde_json::json!({ "key_ops": [] }), "key_ops"),
        (serde_json::json!({ "use": "enc" }), "\"use\": \"enc\""),
        (serde_json::json!({ "use": "other" }), "\"use\": \"other\""),
    ] {
        let file = write("one.json", &with(extra.clone()));
        let out = verify(&home, &genuine, &file, None);
        assert_eq!(out.status.code(), Some(4), "{extra}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains(says), "{extra}: {}", stderr_of(&out));
    }
    let fine = write("fine.json", &with(serde_json::json!({ "key_ops": ["verify", "encrypt"] })));
    assert!(verify(&home, &genuine, &fine, None).status.success());
    let set = serde_json::json!({ "keys": [with(serde_json::json!({ "key_ops": ["encrypt"] }))] });
    let out = verify(&home, &genuine, &write("set.json", &set), None);
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("skipped") && stderr_of(&out).contains("key_ops"),
        "{}",
        stderr_of(&out)
    );
}
