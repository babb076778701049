//! `tok inspect --verify` tells a genuine token from a forged one: the key decides the
//! algorithm family, never the token's header (issue: trust, item 1).

use crate::support::*;
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
            let out = verify(&home, &token, &keyholder.public, None);
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
                use base64::Engine;
                std::fs::write(&der, base64::engine::general_purpose::STANDARD.decode(body).unwrap())
                    .unwrap();
                let out = verify(&home, &forged, &der, None);
                assert_eq!(out.status.code(), Some(4), "{file} as DER: {}", stderr_of(&out));
                assert!(stderr_of(&out).contains("DER"), "{}", stderr_of(&out));
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
        }
    }
    // The default algorithm is HS256, so a PEM key without --alg is refused too.
    let out = home
        .tok()
        .args(["sign", "--sub", "x", "--key-file"])
        .arg(fixture("rsa-private.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
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
    // A private key or a certificate is not a verification key: exit 4 with the fix.
    for (file, fix) in [("rsa-private.pem", "-pubout"), ("rsa-cert.pem", "x509")] {
        let out = verify(&home, &rs, &fixture(file), None);
        assert_eq!(out.status.code(), Some(4), "{file}");
        assert!(stderr_of(&out).contains(fix), "{}", stderr_of(&out));
    }
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
