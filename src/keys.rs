//! Signing and verifying JWTs with jsonwebtoken: algorithm names, and keys from a
//! file, a variable or stdin — never from argv.
//!
//! The key decides the algorithm family, never the token. A token's header is written
//! by whoever made the token, so trusting its `alg` lets a forger pick HS256 and use the
//! bytes of a public key (which everybody has) as the HMAC secret. So every key is
//! classified first, from its bytes alone: anything that looks like a key format (PEM of
//! any label, DER holding a key, a JWK) is asymmetric or unusable, and never an HMAC
//! secret; only bytes that are none of these are. A token (or a `--alg` pin) whose
//! algorithm is not of the key's family is refused before any signature check.

use crate::error::{Error, Result};
use crate::jwt::Jwt;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::Value;
use std::fmt;
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
                // Not named: what was given as a name may be the key itself.
                _ => Err(Error::usage("the variable --key-env names is not set, or empty")),
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

/// The families a key can belong to. EC keys carry their curve: ES256 is P-256 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Hmac,
    Rsa,
    Ec(Curve),
    Ed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    Other,
}

impl Family {
    fn of(alg: Algorithm) -> Family {
        match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Family::Hmac,
            Algorithm::ES256 => Family::Ec(Curve::P256),
            Algorithm::ES384 => Family::Ec(Curve::P384),
            Algorithm::EdDSA => Family::Ed,
            _ => Family::Rsa,
        }
    }

    fn needs(self) -> &'static str {
        match self {
            Family::Hmac => "an HMAC secret (raw bytes)",
            Family::Rsa => "an RSA key",
            Family::Ec(Curve::P256) => "an EC P-256 key",
            Family::Ec(Curve::P384) => "an EC P-384 key",
            Family::Ec(Curve::Other) => "an EC key",
            Family::Ed => "an Ed25519 key",
        }
    }
}

/// What the bytes of a key turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyShape {
    /// Not any key format: usable only as an HMAC secret.
    Secret,
    /// A PEM or DER key of a known family.
    Asymmetric { family: Family, role: Role, format: &'static str },
    /// Looks like a key, but tok cannot use it (encrypted, OpenSSH, JWK, unknown curve...).
    Unusable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Public,
    Private,
    Certificate,
}

impl fmt::Display for KeyShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyShape::Secret => f.write_str("raw bytes (an HMAC secret)"),
            KeyShape::Asymmetric { family, role, format } => {
                let family = match family {
                    Family::Hmac => "HMAC",
                    Family::Rsa => "RSA",
                    Family::Ec(Curve::P256) => "EC P-256",
                    Family::Ec(Curve::P384) => "EC P-384",
                    Family::Ec(Curve::Other) => "EC (unsupported curve)",
                    Family::Ed => "Ed25519",
                };
                let role = match role {
                    Role::Public => "public key",
                    Role::Private => "private key",
                    Role::Certificate => "certificate",
                };
                write!(f, "an {family} {role} ({format})")
            }
            KeyShape::Unusable(what) => f.write_str(what),
        }
    }
}

// DER encodings of the object identifiers that name key types and curves.
const OID_RSA: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_PSS: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x71];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The key family named inside DER (SPKI, PKCS#8, a certificate's SPKI, SEC1).
fn der_family(der: &[u8]) -> Option<Family> {
    if contains(der, OID_EC) || contains(der, OID_P256) || contains(der, OID_P384) {
        let curve = if contains(der, OID_P256) {
            Curve::P256
        } else if contains(der, OID_P384) {
            Curve::P384
        } else {
            Curve::Other
        };
        return Some(Family::Ec(curve));
    }
    if contains(der, OID_ED25519) {
        return Some(Family::Ed);
    }
    if contains(der, OID_RSA) || contains(der, OID_RSA_PSS) {
        return Some(Family::Rsa);
    }
    None
}

/// A DER SEQUENCE whose length covers exactly the input: how a binary key file starts.
fn is_der_sequence(bytes: &[u8]) -> bool {
    if bytes.len() < 2 || bytes[0] != 0x30 {
        return false;
    }
    let (len, header) = match bytes[1] {
        n if n < 0x80 => (n as usize, 2),
        0x81 if bytes.len() > 2 => (bytes[2] as usize, 3),
        0x82 if bytes.len() > 3 => (((bytes[2] as usize) << 8) | bytes[3] as usize, 4),
        _ => return false,
    };
    header + len == bytes.len()
}

/// Classifies a key from its bytes alone.
pub fn classify(bytes: &[u8]) -> KeyShape {
    if contains(bytes, b"-----BEGIN ") {
        return classify_pem(bytes);
    }
    if is_der_sequence(bytes) && (der_family(bytes).is_some() || contains(bytes, OID_ED448)) {
        return KeyShape::Unusable(
            "a binary (DER) key; convert it to PEM: openssl pkey -inform DER -in KEY -out key.pem".into(),
        );
    }
    let trimmed = String::from_utf8_lossy(bytes);
    let trimmed = trimmed.trim_start();
    if trimmed.starts_with('{') && trimmed.contains("\"kty\"") {
        return KeyShape::Unusable("a JSON Web Key, which tok does not read; use a PEM key".into());
    }
    if trimmed.starts_with("ssh-") || trimmed.starts_with("ecdsa-sha2-") {
        return KeyShape::Unusable(
            "an OpenSSH public key; convert it to PEM: ssh-keygen -e -m PKCS8 -f KEY.pub".into(),
        );
    }
    KeyShape::Secret
}

/// The key block of a PEM file: `openssl ecparam -genkey` writes an `EC PARAMETERS`
/// block before the key, and a bundle may hold more than one block.
fn key_block(bytes: &[u8]) -> Result<pem::Pem, String> {
    let blocks = pem::parse_many(bytes).map_err(|e| format!("a PEM file tok cannot read ({e})"))?;
    blocks
        .into_iter()
        .find(|b| b.tag() != "EC PARAMETERS")
        .ok_or_else(|| "a PEM file with EC parameters but no key".to_string())
}

fn classify_pem(bytes: &[u8]) -> KeyShape {
    let pem = match key_block(bytes) {
        Ok(pem) => pem,
        Err(why) => return KeyShape::Unusable(why),
    };
    let der = pem.contents();
    let asymmetric = |role, format| match der_family(der) {
        Some(family) => KeyShape::Asymmetric { family, role, format },
        None => KeyShape::Unusable(format!("a PEM {} of a key type tok does not support", pem.tag())),
    };
    match pem.tag() {
        "RSA PRIVATE KEY" => {
            KeyShape::Asymmetric { family: Family::Rsa, role: Role::Private, format: "PKCS#1" }
        }
        "RSA PUBLIC KEY" => {
            KeyShape::Asymmetric { family: Family::Rsa, role: Role::Public, format: "PKCS#1" }
        }
        "EC PRIVATE KEY" => {
            let curve = match der_family(der) {
                Some(Family::Ec(curve)) => curve,
                _ => Curve::Other,
            };
            KeyShape::Asymmetric { family: Family::Ec(curve), role: Role::Private, format: "SEC1" }
        }
        "EC PUBLIC KEY" => asymmetric(Role::Public, "SEC1"),
        "PRIVATE KEY" => asymmetric(Role::Private, "PKCS#8"),
        "PUBLIC KEY" => asymmetric(Role::Public, "SPKI"),
        "CERTIFICATE" => asymmetric(Role::Certificate, "X.509"),
        "ENCRYPTED PRIVATE KEY" => KeyShape::Unusable(
            "an encrypted private key; decrypt it first: openssl pkey -in KEY -out key.pem".into(),
        ),
        "OPENSSH PRIVATE KEY" => KeyShape::Unusable(
            "an OpenSSH private key; convert it: ssh-keygen -p -m PKCS8 -f KEY (on a copy)".into(),
        ),
        other => KeyShape::Unusable(format!(
            "a PEM '{}', which is no key tok can use",
            crate::secret::outside(other)
        )),
    }
}

/// The key for signing with `alg`. Wrong keys are usage errors (exit 2): the command
/// line named a key that cannot do what it asks.
pub fn encoding_key(alg: Algorithm, bytes: &[u8], source: &KeySource) -> Result<EncodingKey> {
    let want = Family::of(alg);
    let shape = classify(bytes);
    let refuse = |why: String| {
        Error::usage(format!("cannot sign {alg:?} with the key from {}: {why}", source.describe()))
    };
    match (&shape, want) {
        (KeyShape::Secret, Family::Hmac) => return Ok(EncodingKey::from_secret(bytes)),
        (KeyShape::Secret, _) => {
            return Err(refuse(format!("{alg:?} needs {} in PEM, and this is {shape}", want.needs())));
        }
        (_, Family::Hmac) => {
            return Err(refuse(format!(
                "it is {shape}, and a key in a key format is never used as an HMAC secret; \
                 sign with the key's own algorithm (RS256, ES256, EdDSA...)"
            )));
        }
        (KeyShape::Unusable(why), _) => return Err(refuse(why.clone())),
        (KeyShape::Asymmetric { family, role, .. }, _) => {
            if *family == Family::Ec(Curve::Other) && matches!(want, Family::Ec(_)) {
                return Err(refuse(format!(
                    "{shape}: ES256 takes P-256 and ES384 P-384 keys; make one with \
                     openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem"
                )));
            }
            if *family != want {
                return Err(refuse(format!("{alg:?} needs {}, and this is {shape}", want.needs())));
            }
            if *role != Role::Private {
                return Err(refuse(format!("this is {shape}; signing needs the private key")));
            }
        }
    }
    let key = match (&shape, want) {
        // SEC1 (`openssl ecparam -genkey`) is PKCS#8 without the wrapper jsonwebtoken wants.
        (KeyShape::Asymmetric { format: "SEC1", .. }, Family::Ec(curve)) => {
            let sec1 = key_block(bytes).map_err(refuse)?.into_contents();
            Ok(EncodingKey::from_ec_der(&sec1_to_pkcs8(&sec1, curve)))
        }
        (_, Family::Rsa) => EncodingKey::from_rsa_pem(bytes),
        (_, Family::Ec(_)) => EncodingKey::from_ec_pem(bytes),
        (_, Family::Ed) => EncodingKey::from_ed_pem(bytes),
        (_, Family::Hmac) => unreachable!("HMAC keys returned above"),
    };
    key.map_err(|e| {
        refuse(format!(
            "{shape} that cannot be loaded ({e}); rewrite it as PKCS#8: openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem"
        ))
    })
}

/// Wraps a SEC1 `ECPrivateKey` in PKCS#8 (RFC 5208): version 0, the algorithm
/// (id-ecPublicKey with the curve), and the SEC1 key as an OCTET STRING.
fn sec1_to_pkcs8(sec1: &[u8], curve: Curve) -> Vec<u8> {
    let curve_oid = if curve == Curve::P384 { OID_P384 } else { OID_P256 };
    let algorithm = der(0x30, &[OID_EC, curve_oid].concat());
    der(0x30, &[&[0x02, 0x01, 0x00][..], &algorithm, &der(0x04, sec1)].concat())
}

/// One DER element: tag, definite length, content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend([0x81, len as u8]),
        _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// The HMAC hash output size: shorter keys weaken the MAC (RFC 7518 §3.2).
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

/// Checks a decoded token's signature with the key from `source`. `Ok(false)` is a
/// signature that does not match; every refusal before the check (unsigned, unknown
/// algorithm, an algorithm not of the key's family or not the pinned one, an unusable
/// key) is an `Err` with exit 4, naming what the token said and what the key is.
pub fn verify(token: &Jwt, source: &KeySource, pin: Option<Algorithm>) -> Result<bool> {
    let name = token.alg();
    if name.eq_ignore_ascii_case("none") {
        return Err(Error::rejected("the token is unsigned (alg: none): nothing to verify"));
    }
    let alg = algorithm(name)
        .map_err(|_| Error::rejected(format!("cannot verify alg '{}'", crate::secret::outside(name))))?;
    if let Some(pin) = pin
        && pin != alg
    {
        return Err(Error::rejected(format!("the token says alg {alg:?}, but --alg pins {pin:?}")));
    }
    let bytes = source.read()?;
    let key = decoding_key(alg, &bytes, source)?;
    Ok(jsonwebtoken::crypto::verify(&token.signature, token.signing_input.as_bytes(), &key, alg)
        .unwrap_or(false))
}

fn decoding_key(alg: Algorithm, bytes: &[u8], source: &KeySource) -> Result<DecodingKey> {
    let want = Family::of(alg);
    let shape = classify(bytes);
    let refuse = |why: String| {
        Error::rejected(format!("refusing to verify {alg:?} with the key from {}: {why}", source.describe()))
    };
    match (&shape, want) {
        (KeyShape::Secret, Family::Hmac) => return Ok(DecodingKey::from_secret(bytes)),
        (KeyShape::Secret, _) => {
            return Err(refuse(format!(
                "the token's alg {alg:?} needs {}, and the key is {shape}",
                want.needs()
            )));
        }
        (KeyShape::Unusable(why), _) => return Err(refuse(why.clone())),
        (KeyShape::Asymmetric { family, role, .. }, _) => {
            if want == Family::Hmac {
                return Err(refuse(format!(
                    "the token's alg {alg:?} is HMAC, and the key is {shape}: a key in a key \
                     format is never used as an HMAC secret (this is how tokens are forged)"
                )));
            }
            if *family != want {
                return Err(refuse(format!(
                    "the token's alg {alg:?} needs {}, and the key is {shape}",
                    want.needs()
                )));
            }
            match role {
                Role::Private => {
                    return Err(refuse(format!(
                        "the key is {shape}; verify with the public key: openssl pkey -in KEY -pubout"
                    )));
                }
                Role::Certificate => {
                    return Err(refuse(format!(
                        "the key is {shape}; verify with its public key: openssl x509 -in CERT -pubkey -noout"
                    )));
                }
                Role::Public => {}
            }
        }
    }
    let key = match want {
        Family::Rsa => DecodingKey::from_rsa_pem(bytes),
        Family::Ec(_) => DecodingKey::from_ec_pem(bytes),
        Family::Ed | Family::Hmac => DecodingKey::from_ed_pem(bytes),
    };
    key.map_err(|e| refuse(format!("{shape} that jsonwebtoken cannot load: {e}")))
}

/// jsonwebtoken's family for a family tok classified, for the tests below.
#[cfg(test)]
fn jwt_family(f: Family) -> jsonwebtoken::AlgorithmFamily {
    use jsonwebtoken::AlgorithmFamily;
    match f {
        Family::Hmac => AlgorithmFamily::Hmac,
        Family::Rsa => AlgorithmFamily::Rsa,
        Family::Ec(_) => AlgorithmFamily::Ec,
        Family::Ed => AlgorithmFamily::Ed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

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
        assert!(verify(&decoded, &KeySource::File(path.clone()), None).unwrap());
        std::fs::write(&path, b"other").unwrap();
        assert!(!verify(&decoded, &KeySource::File(path.clone()), None).unwrap());
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn algorithm_names() {
        assert!(algorithm("HS256").is_ok());
        assert!(algorithm("EdDSA").is_ok());
        assert_eq!(algorithm("none").unwrap_err().exit_code(), 2);
        assert_eq!(algorithm("hs256").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn classification_table() {
        use jsonwebtoken::AlgorithmFamily;
        let table: [(&str, Option<(AlgorithmFamily, Role)>); 6] = [
            ("rsa-private.pem", Some((AlgorithmFamily::Rsa, Role::Private))),
            ("rsa-public.pem", Some((AlgorithmFamily::Rsa, Role::Public))),
            ("ec-private.pem", Some((AlgorithmFamily::Ec, Role::Private))),
            ("ec-public.pem", Some((AlgorithmFamily::Ec, Role::Public))),
            ("ed25519-private.pem", Some((AlgorithmFamily::Ed, Role::Private))),
            ("ed25519-public.pem", Some((AlgorithmFamily::Ed, Role::Public))),
        ];
        for (file, want) in table {
            let got = match classify(&fixture(file)) {
                KeyShape::Asymmetric { family, role, .. } => Some((jwt_family(family), role)),
                other => panic!("{file}: {other:?}"),
            };
            assert_eq!(got, want, "{file}");
        }
        let raw: [&[u8]; 4] = [b"k", b"a long shared secret with spaces", b"\x30\x03abc", b"{\"k\":1}"];
        for bytes in raw {
            assert_eq!(classify(bytes), KeyShape::Secret, "{bytes:?}");
        }
        let unusable: [&[u8]; 4] = [
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            b"-----BEGIN garbage",
            b"{\"kty\":\"oct\",\"k\":\"AAAA\"}",
            b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI user@host",
        ];
        for bytes in unusable {
            assert!(matches!(classify(bytes), KeyShape::Unusable(_)), "{bytes:?}");
        }
        // The DER inside a PEM public key is still a key, never a secret.
        let der = pem::parse(fixture("rsa-public.pem")).unwrap().into_contents();
        assert!(matches!(classify(&der), KeyShape::Unusable(why) if why.contains("DER")));
    }
}
