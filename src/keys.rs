//! Signing and verifying JWTs with jsonwebtoken: algorithm names, and keys from a
//! file, a variable or stdin — never from argv.
//!
//! HMAC keys are raw bytes (a key file is used byte for byte); the others are PEM:
//! private keys to sign, public keys to verify.

use crate::error::{Error, Result};
use crate::jwt::Jwt;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header};
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;

pub const ALGORITHMS: &[&str] = &[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
    "EdDSA",
];

pub fn algorithm(name: &str) -> Result<Algorithm> {
    if !ALGORITHMS.contains(&name) {
        return Err(Error::usage(format!(
            "unsupported algorithm '{name}' (supported: {})",
            ALGORITHMS.join(", ")
        )));
    }
    name.parse().map_err(|_| Error::usage(format!("unsupported algorithm '{name}'")))
}

/// Where a key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    File(PathBuf),
    Env(String),
    Stdin,
}

impl KeySource {
    pub fn read(&self) -> Result<Vec<u8>> {
        match self {
            KeySource::File(path) => std::fs::read(path)
                .map_err(|e| Error::other(format!("cannot read the key file {}: {e}", path.display()))),
            KeySource::Env(var) => match std::env::var_os(var) {
                Some(value) if !value.is_empty() => Ok(value.into_encoded_bytes()),
                _ => Err(Error::usage(format!("the variable {var} holding the key is not set"))),
            },
            KeySource::Stdin => {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .lock()
                    .take(1024 * 1024)
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::other(format!("cannot read the key from stdin: {e}")))?;
                // `echo key | tok ...` adds a newline that is not part of the key.
                if bytes.ends_with(b"\n") {
                    bytes.pop();
                    if bytes.ends_with(b"\r") {
                        bytes.pop();
                    }
                }
                if bytes.is_empty() {
                    return Err(Error::usage("no key on stdin"));
                }
                Ok(bytes)
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            KeySource::File(path) => path.display().to_string(),
            KeySource::Env(var) => format!("${var}"),
            KeySource::Stdin => "stdin".into(),
        }
    }
}

fn bad_key(alg: Algorithm, source: &KeySource, e: jsonwebtoken::errors::Error) -> Error {
    let want = match alg.family() {
        AlgorithmFamily::Rsa => "an RSA key in PEM",
        AlgorithmFamily::Ec => "an EC key in PEM (PKCS#8)",
        AlgorithmFamily::Ed => "an Ed25519 key in PEM",
        AlgorithmFamily::Hmac => "raw bytes",
    };
    Error::other(format!("the key from {} is not {want} for {alg:?}: {e}", source.describe()))
}

pub fn encoding_key(alg: Algorithm, bytes: &[u8], source: &KeySource) -> Result<EncodingKey> {
    let key = match alg.family() {
        AlgorithmFamily::Hmac => return Ok(EncodingKey::from_secret(bytes)),
        AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(bytes),
        AlgorithmFamily::Ec => EncodingKey::from_ec_pem(bytes),
        AlgorithmFamily::Ed => EncodingKey::from_ed_pem(bytes),
    };
    key.map_err(|e| bad_key(alg, source, e))
}

fn decoding_key(alg: Algorithm, bytes: &[u8], source: &KeySource) -> Result<DecodingKey> {
    let key = match alg.family() {
        AlgorithmFamily::Hmac => return Ok(DecodingKey::from_secret(bytes)),
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(bytes),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(bytes),
        AlgorithmFamily::Ed => DecodingKey::from_ed_pem(bytes),
    };
    key.map_err(|e| bad_key(alg, source, e))
}

/// The hash output size: shorter HMAC keys weaken the MAC (RFC 7518 §3.2).
pub fn hmac_min_len(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::HS256 => Some(32),
        Algorithm::HS384 => Some(48),
        Algorithm::HS512 => Some(64),
        _ => None,
    }
}

/// Signs `claims` with the standard header `{typ, alg}` (plus `kid` when given).
pub fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> Result<String> {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).map_err(|e| Error::other(format!("cannot sign: {e}")))
}

/// Checks the signature of a decoded token with the key from `source`. `alg: none` and
/// unknown algorithms never verify.
pub fn verify(token: &Jwt, source: &KeySource) -> Result<bool> {
    let name = token.alg();
    if name.eq_ignore_ascii_case("none") {
        return Err(Error::rejected("the token is unsigned (alg: none): nothing to verify"));
    }
    let alg = algorithm(name).map_err(|_| Error::rejected(format!("cannot verify alg '{name}'")))?;
    let bytes = source.read()?;
    let key = decoding_key(alg, &bytes, source)?;
    Ok(jsonwebtoken::crypto::verify(&token.signature, token.signing_input.as_bytes(), &key, alg)
        .unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt;

    #[test]
    fn hmac_round_trip_and_tampering() {
        let alg = algorithm("HS512").unwrap();
        let key = EncodingKey::from_secret(b"k");
        let token = sign(alg, Some("key-1"), &serde_json::json!({ "sub": "x" }), &key).unwrap();
        let decoded = jwt::decode(&token).unwrap();
        assert_eq!(decoded.header["typ"], "JWT");
        assert_eq!(decoded.header["kid"], "key-1");
        let path = std::env::temp_dir().join(format!("tok-keys-{}", std::process::id()));
        std::fs::write(&path, b"k").unwrap();
        assert!(verify(&decoded, &KeySource::File(path.clone())).unwrap());
        std::fs::write(&path, b"other").unwrap();
        assert!(!verify(&decoded, &KeySource::File(path.clone())).unwrap());
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn algorithm_names() {
        assert!(algorithm("HS256").is_ok());
        assert!(algorithm("EdDSA").is_ok());
        assert_eq!(algorithm("none").unwrap_err().exit_code(), 2);
        assert_eq!(algorithm("hs256").unwrap_err().exit_code(), 2);
    }
}
