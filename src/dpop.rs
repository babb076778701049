//! DPoP (RFC 9449): the key a profile's tokens are bound to, and the proofs made with it.
//!
//! The key is made at `tok login --dpop` (EC P-256, so proofs are ES256), or read once
//! from `--dpop-key-file` (EC P-256 or Ed25519: the key decides the algorithm, ES256 or
//! EdDSA), and kept in the store as the secret `dpop_key` (PKCS#8 PEM). The server binds
//! the token to the key's RFC 7638 thumbprint (`cnf.jkt`); every request then carries a
//! proof: a JWT of `typ` `dpop+jwt` whose header holds the public key, signed for one
//! method and URL, at one time, with a `jti` never used before (§4.2). ring signs: it is
//! in the tree for TLS already, and gives both curves and the public key of each.
//!
//! A proof is made per request and never kept: it is not a secret (it holds only the
//! public key), but it is a credential for that one request for as long as the server's
//! `iat` window lasts, so it goes where the token goes, never on a command line.

use crate::error::{Error, Result};
use crate::jwt::B64URL;
use crate::keys::{self, Family, KeySource};
use crate::secret::Secret;
use base64::Engine;
use reqwest::Url;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde_json::{Map, Value, json};

/// The secret field the key is kept in, and its label for people.
pub const KEY_FIELD: &str = "dpop_key";
pub const KEY_LABEL: &str = "DPoP key";
/// The profile setting `--dpop` writes.
pub const SETTING: &str = "dpop";
/// The proof's JWT type (RFC 9449 §4.2).
pub const TYP: &str = "dpop+jwt";

enum Signer {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

/// A DPoP key, ready to sign proofs.
pub struct Key {
    signer: Signer,
    rng: SystemRandom,
    jwk: Value,
    thumbprint: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DPoP key {} ({})", self.thumbprint, self.alg())
    }
}

/// A new P-256 key, as the PKCS#8 PEM the store keeps.
pub fn generate() -> Result<Secret> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| Error::other("cannot make a DPoP key: the random source failed"))?;
    Ok(Secret::new(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()))))
}

/// `--dpop-key-file FILE` (`-`: stdin) at login: an EC P-256 or Ed25519 private key, as
/// the secret to keep. Never a flag value: the flag names where the key is.
pub fn read_key_file(file: &str) -> Result<Secret> {
    let source = if file == "-" { KeySource::Stdin } else { KeySource::File(file.into()) };
    let bytes = source.read()?;
    let (family, der) = keys::dpop_private_key(&bytes, &source)?;
    // Checked now, so a key ring cannot use fails at login, not at the first request.
    Key::from_der(family, &der).map_err(|why| {
        Error::usage(format!("--dpop-key-file: the key from {} cannot sign: {why}", source_name(&source)))
    })?;
    let label = "PRIVATE KEY";
    Ok(Secret::new(pem::encode(&pem::Pem::new(label, der))))
}

fn source_name(source: &KeySource) -> String {
    match source {
        KeySource::File(path) => path.display().to_string(),
        KeySource::Env(var) => format!("${var}"),
        KeySource::Stdin => "stdin".into(),
    }
}

impl Key {
    /// The stored key (`dpop_key`).
    pub fn from_secret(pem: &Secret) -> Result<Key> {
        let source = KeySource::File("the stored DPoP key".into());
        let (family, der) = keys::dpop_private_key(pem.expose().as_bytes(), &source)?;
        Key::from_der(family, &der)
            .map_err(|why| Error::usage(format!("the stored DPoP key cannot sign: {why}")))
            .map_err(|e| e.hint("run `tok login PROFILE --dpop` again to make a new key"))
    }

    fn from_der(family: Family, der: &[u8]) -> Result<Key, String> {
        let rng = SystemRandom::new();
        let signer = match family {
            Family::Ed => Signer::EdDsa(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| format!("Ed25519: {e}"))?,
            ),
            _ => Signer::Es256(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                    .map_err(|e| format!("EC P-256: {e} (a PKCS#8 key with its public key is needed)"))?,
            ),
        };
        let jwk = match &signer {
            Signer::Es256(pair) => {
                // An uncompressed point: 0x04, then x and y, 32 bytes each.
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err("the public point is not an uncompressed P-256 point".into());
                }
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": B64URL.encode(&point[1..33]),
                    "y": B64URL.encode(&point[33..]),
                })
            }
            Signer::EdDsa(pair) => {
                json!({ "kty": "OKP", "crv": "Ed25519", "x": B64URL.encode(pair.public_key().as_ref()) })
            }
        };
        let thumbprint = thumbprint(&jwk).ok_or("its public key makes no JWK thumbprint")?;
        Ok(Key { signer, rng, jwk, thumbprint })
    }

    /// The proof's `alg`: the key's.
    pub fn alg(&self) -> &'static str {
        match self.signer {
            Signer::Es256(_) => "ES256",
            Signer::EdDsa(_) => "EdDSA",
        }
    }

    /// The public key, as the proof's header carries it.
    #[cfg(test)]
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// RFC 7638: what the server binds the token to (`cnf.jkt`, `dpop_jkt`).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A fresh proof for one request: `method` and `url` as sent, the access token it
    /// goes with (`ath`), and the server's latest nonce.
    pub fn proof(&self, method: &str, url: &Url, token: Option<&str>, nonce: Option<&str>) -> Result<String> {
        let claims = claims(method, url, token, nonce, crate::token::now(), &jti()?);
        self.sign(&claims)
    }

    fn sign(&self, claims: &Value) -> Result<String> {
        let header = json!({ "typ": TYP, "alg": self.alg(), "jwk": self.jwk });
        let input = format!("{}.{}", B64URL.encode(header.to_string()), B64URL.encode(claims.to_string()));
        let signature = match &self.signer {
            Signer::Es256(pair) => pair
                .sign(&self.rng, input.as_bytes())
                .map_err(|_| Error::other("cannot sign a DPoP proof"))?
                .as_ref()
                .to_vec(),
            Signer::EdDsa(pair) => pair.sign(input.as_bytes()).as_ref().to_vec(),
        };
        Ok(format!("{input}.{}", B64URL.encode(signature)))
    }
}

/// 128 random bits (RFC 9449 §11.1 asks for enough that a `jti` never repeats).
fn jti() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::other(format!("cannot get random bytes: {e}")))?;
    Ok(B64URL.encode(bytes))
}

/// A proof's claims (RFC 9449 §4.2).
fn claims(method: &str, url: &Url, token: Option<&str>, nonce: Option<&str>, iat: i64, jti: &str) -> Value {
    let mut c = Map::new();
    c.insert("jti".into(), json!(jti));
    c.insert("htm".into(), json!(method));
    c.insert("htu".into(), json!(htu(url)));
    c.insert("iat".into(), json!(iat));
    if let Some(token) = token {
        c.insert("ath".into(), json!(ath(token)));
    }
    if let Some(nonce) = nonce {
        c.insert("nonce".into(), json!(nonce));
    }
    Value::Object(c)
}

/// `htu`: the request's URL without query and fragment (§4.2), and without user info,
/// which no request line carries. `Url` has normalised scheme, host and default port.
pub fn htu(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

/// `ath`: base64url(SHA-256(access token)), §4.2.
pub fn ath(token: &str) -> String {
    B64URL.encode(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()))
}

/// RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for m in members {
        canonical.insert((*m).to_string(), json!(jwk.get(*m)?.as_str()?));
    }
    // serde_json's map is ordered by key (no preserve_order feature), as RFC 7638 wants.
    let text = Value::Object(canonical).to_string();
    Some(B64URL.encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes())))
}

/// The nonce a server asks for (§8, §9): a `use_dpop_nonce` error (in the body of a
/// token endpoint's 400, or in a resource server's `WWW-Authenticate: DPoP` on a 401)
/// together with a `DPoP-Nonce` header. `None` when either is missing.
pub fn nonce_asked(
    status: u16,
    www_authenticate: Option<&str>,
    body: &[u8],
    nonce: Option<&str>,
) -> Option<String> {
    let nonce = nonce.map(str::trim).filter(|n| valid_nonce(n))?;
    let in_header = www_authenticate.is_some_and(|h| {
        let h = h.to_ascii_lowercase();
        h.trim_start().starts_with("dpop") && h.contains("use_dpop_nonce")
    });
    let in_body = || {
        serde_json::from_slice::<Value>(body)
            .ok()
            .is_some_and(|v| v.get("error").and_then(Value::as_str) == Some("use_dpop_nonce"))
    };
    let asked = match status {
        401 => in_header || in_body(),
        400 => in_body() || in_header,
        _ => false,
    };
    asked.then(|| nonce.to_string())
}

/// §8.1: a nonce is `1*NQCHAR` (printable ASCII but `"` and `\`); tok also bounds it.
pub fn valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce.len() <= 512
        && nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

/// The profile's key, where secrets are read (its variable, then the store).
pub fn profile_key(app: &crate::flow::App, profile: &crate::profile::Profile) -> Result<Key> {
    let store = app.store_for(profile)?;
    let mut secrets = crate::input::Secrets::new(&profile.name, Some(&store), false);
    Key::from_secret(&secrets.get(KEY_FIELD, KEY_LABEL)?)
}

/// Whether a profile's tokens are DPoP-bound (`tok login --dpop`).
pub fn enabled(profile: &crate::profile::Profile) -> bool {
    profile.get(SETTING) == Some("true")
}

/// For `tok print` and `tok exec`: a DPoP-bound token alone is of no use, every request
/// needs a proof of its own.
pub fn refuse_bare_token(profile: &str, what: &str, instead: &str) -> Error {
    Error::usage(format!(
        "profile '{profile}' has DPoP-bound tokens: {what}, but every request needs a fresh proof of its own \
         (RFC 9449), which a bare token cannot carry"
    ))
    .hint(instead.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::from_secret(&generate().unwrap()).unwrap()
    }

    #[test]
    fn htu_table() {
        let table = [
            ("https://api.example.com/v1/payments?x=1#frag", "https://api.example.com/v1/payments"),
            ("HTTPS://API.Example.COM:443/a/b", "https://api.example.com/a/b"),
            ("https://api.example.com", "https://api.example.com/"),
            ("https://api.example.com:8443/p?", "https://api.example.com:8443/p"),
            ("http://127.0.0.1:8080/echo/x?y=%20", "http://127.0.0.1:8080/echo/x"),
            ("http://user:pw@127.0.0.1:80/p", "http://127.0.0.1/p"),
            ("https://[::1]:9/a%20b", "https://[::1]:9/a%20b"),
        ];
        for (url, want) in table {
            assert_eq!(htu(&Url::parse(url).unwrap()), want, "{url}");
        }
    }

    #[test]
    fn thumbprint_of_rfc_7638s_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        // Members beyond the required ones change nothing; a missing one or another kty
        // gives none.
        let table = [
            (json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "kid": "k"}), true),
            (json!({"kty": "EC", "crv": "P-256", "x": "a"}), false),
            (json!({"kty": "oct", "k": "a"}), false),
            (json!({"kty": "OKP", "crv": "Ed25519", "x": "a"}), true),
        ];
        for (jwk, some) in table {
            assert_eq!(thumbprint(&jwk).is_some(), some, "{jwk}");
        }
    }

    #[test]
    fn ath_is_sha256_of_the_token() {
        // RFC 9449 §7.1's example token and its ath.
        assert_eq!(
            ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&B64URL.decode(part).unwrap()).unwrap()
    }

    /// Verifies a proof with the public key in its own header, as a server does.
    fn verify(proof: &str) -> Value {
        let parts: Vec<&str> = proof.split('.').collect();
        let header = decode(parts[0]);
        assert_eq!(header["typ"], TYP);
        let jwk = &header["jwk"];
        let signed = format!("{}.{}", parts[0], parts[1]);
        let sig = B64URL.decode(parts[2]).unwrap();
        let (alg, public): (&dyn signature::VerificationAlgorithm, Vec<u8>) = match header["alg"].as_str() {
            Some("ES256") => {
                let mut point = vec![4u8];
                point.extend(B64URL.decode(jwk["x"].as_str().unwrap()).unwrap());
                point.extend(B64URL.decode(jwk["y"].as_str().unwrap()).unwrap());
                (&signature::ECDSA_P256_SHA256_FIXED, point)
            }
            Some("EdDSA") => (&signature::ED25519, B64URL.decode(jwk["x"].as_str().unwrap()).unwrap()),
            other => panic!("alg {other:?}"),
        };
        signature::UnparsedPublicKey::new(alg, public).verify(signed.as_bytes(), &sig).expect("signature");
        assert!(jwk.get("d").is_none(), "no private part in the header");
        decode(parts[1])
    }

    #[test]
    fn proofs_verify_with_their_public_key() {
        let url = Url::parse("https://api.example.com/v1/payments?id=7#x").unwrap();
        let ed = {
            let pair = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
            let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pair.as_ref().to_vec()));
            Key::from_secret(&Secret::new(pem)).unwrap()
        };
        for (key, alg) in [(key(), "ES256"), (ed, "EdDSA")] {
            assert_eq!(key.alg(), alg);
            let table: [(Option<&str>, Option<&str>); 3] =
                [(None, None), (Some("tok-en"), None), (Some("tok-en"), Some("n-1"))];
            let mut jtis = Vec::new();
            for (token, nonce) in table {
                let proof = key.proof("POST", &url, token, nonce).unwrap();
                let claims = verify(&proof);
                assert_eq!(claims["htm"], "POST");
                assert_eq!(claims["htu"], "https://api.example.com/v1/payments");
                assert!((claims["iat"].as_i64().unwrap() - crate::token::now()).abs() <= 2);
                assert_eq!(claims.get("ath").and_then(Value::as_str), token.map(ath).as_deref());
                assert_eq!(claims.get("nonce").and_then(Value::as_str), nonce);
                let jti = claims["jti"].as_str().unwrap().to_string();
                assert_eq!(B64URL.decode(&jti).unwrap().len(), 16, "128 bits");
                assert!(!jtis.contains(&jti), "a jti is never reused");
                jtis.push(jti);
            }
            assert_eq!(thumbprint(key.jwk()).as_deref(), Some(key.thumbprint()));
        }
    }

    #[test]
    fn nonce_challenges_table() {
        let body = br#"{"error":"use_dpop_nonce","error_description":"x"}"#;
        let header = Some(
            r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#,
        );
        /// Status, WWW-Authenticate, body, DPoP-Nonce; the nonce to retry with.
        type Case<'a> = (u16, Option<&'a str>, &'a [u8], Option<&'a str>, Option<&'a str>);
        let table: [Case; 9] = [
            (400, None, body, Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"), Some("eyJ7S_zG.eyJH0-Z.HX4w-7v")),
            (401, header, b"", Some(" n1 "), Some("n1")),
            (401, Some("dpop error=\"use_dpop_nonce\""), b"", Some("n1"), Some("n1")),
            // No nonce given, or one that is no NQCHAR string: nothing to retry with.
            (400, None, body, None, None),
            (401, header, b"", Some("a\"b"), None),
            // Another error, another scheme, another status.
            (400, None, br#"{"error":"invalid_dpop_proof"}"#, Some("n1"), None),
            (401, Some("Bearer error=\"use_dpop_nonce\""), b"", Some("n1"), None),
            (200, header, body, Some("n1"), None),
            (403, header, body, Some("n1"), None),
        ];
        for (status, www, body, nonce, want) in table {
            assert_eq!(nonce_asked(status, www, body, nonce).as_deref(), want, "{status} {www:?} {nonce:?}");
        }
    }

    #[test]
    fn key_files_decide_the_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.to_string_lossy().into_owned()
        };
        let ec = write("ec.pem", generate().unwrap().expose());
        let key = Key::from_secret(&read_key_file(&ec).unwrap()).unwrap();
        assert_eq!(key.alg(), "ES256");
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let fixture = |name: &str| fixtures.join(name).to_string_lossy().into_owned();
        let table = [
            ("ec-sec1-private.pem", Ok("ES256")),
            ("ed25519-private.pem", Ok("EdDSA")),
            ("rsa-pkcs1-private.pem", Err("EC P-256 or Ed25519")),
            ("ec384-private.pem", Err("EC P-256 or Ed25519")),
            ("ec-sec1-public.pem", Err("private key")),
        ];
        for (name, want) in table {
            match (read_key_file(&fixture(name)), want) {
                (Ok(secret), Ok(alg)) => assert_eq!(Key::from_secret(&secret).unwrap().alg(), alg, "{name}"),
                (Err(e), Err(why)) => {
                    assert_eq!(e.exit_code(), 2, "{name}");
                    assert!(e.to_string().contains(why), "{name}: {e}");
                }
                (got, _) => panic!("{name}: {:?}", got.map(|_| "a key")),
            }
        }
        let junk = write("junk.txt", "not a key");
        assert_eq!(read_key_file(&junk).unwrap_err().exit_code(), 2);
    }
}
