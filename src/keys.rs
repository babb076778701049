//! Signing and verifying JWTs with jsonwebtoken: algorithm names, and keys from a
//! file, a variable or stdin — never from argv.
//!
//! The key decides, and bytes never decide HMAC. A token's header is written by whoever
//! made the token, so trusting its `alg` lets a forger pick HS256 and use the bytes of a
//! public key (which everybody has) as the HMAC secret. So HMAC happens only when the
//! user asks for it with `--alg HS256|HS384|HS512`, and even then never with bytes that
//! read as a key in any encoding (`read`). Otherwise the key must read as a public key
//! (or a certificate, a JWK, a JWK set), and the token's `alg` must be of its family,
//! before any signature check. Guessing from bytes is what let new encodings of a public
//! key (base64 DER, UTF-16 PEM...) slip through as "secrets"; asking the user does not.

mod asn1;
mod read;

use crate::error::{Error, Result};
use crate::jwt::Jwt;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use read::{Key, Material, Read};
use serde_json::Value;
use std::io::Read as _;
use std::path::PathBuf;

pub const ALGORITHMS: &[&str] = &[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
    "EdDSA",
];

/// A token's `alg`, by its exact name: RFC 7515 §4.1.1 makes it case-sensitive.
pub fn algorithm(name: &str) -> Result<Algorithm> {
    if !ALGORITHMS.contains(&name) {
        return Err(Error::usage(format!(
            "unsupported algorithm '{}' (supported: {})",
            crate::secret::outside(name),
            ALGORITHMS.join(", ")
        )));
    }
    name.parse()
        .map_err(|_| Error::usage(format!("unsupported algorithm '{}'", crate::secret::outside(name))))
}

/// `--alg` as typed (`hs256`, `eddsa`), as its canonical name: clap matches it without
/// case (`ignore_case`) and hands over the user's spelling.
fn canonical_alg(name: String) -> String {
    ALGORITHMS.iter().find(|a| a.eq_ignore_ascii_case(&name)).map_or(name, |a| a.to_string())
}

/// The parser of `--alg`: the names listed in help and completions, any case accepted.
pub fn alg_parser() -> impl clap::builder::TypedValueParser<Value = String> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(ALGORITHMS).map(canonical_alg)
}

/// No key or certificate chain is near this size; stdin is read up to it too.
pub const FILE_LIMIT: u64 = 1024 * 1024;

/// A key or certificate file, read up to `FILE_LIMIT`: a path to a device or a FIFO
/// (`/dev/zero`, `/dev/urandom`) would otherwise be read until memory runs out.
pub fn read_small_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(FILE_LIMIT + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it is larger than 1 MiB, which no key or certificate is",
        ));
    }
    Ok(bytes)
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
            KeySource::File(path) => read_small_file(path)
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
                    .take(FILE_LIMIT)
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Public,
    Private,
    Certificate,
    /// A symmetric key written as a key (a JWK of kty `oct`).
    Secret,
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

    /// The algorithm `tok sign` uses for a private key when `--alg` is not given.
    fn default_alg(self) -> Option<Algorithm> {
        match self {
            Family::Rsa => Some(Algorithm::RS256),
            Family::Ec(Curve::P256) => Some(Algorithm::ES256),
            Family::Ec(Curve::P384) => Some(Algorithm::ES384),
            Family::Ed => Some(Algorithm::EdDSA),
            Family::Ec(Curve::Other) | Family::Hmac => None,
        }
    }
}

const NEVER_HMAC: &str = "a key in a key format is never used as an HMAC secret";
/// Said instead of "pass --alg": that flag is what would make such a forgery verify.
const LOOKS_FORGED: &str = "an HS token cannot be checked with a public key, and an HS token \
     offered for one looks forged (keyed with the public key's bytes)";
const UNSUPPORTED_CURVE: &str = "ES256 takes P-256 and ES384 P-384 keys; make one with \
     openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem";

/// The HMAC hash output size: shorter keys weaken the MAC (RFC 7518 §3.2).
pub fn hmac_min_len(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::HS256 => Some(32),
        Algorithm::HS384 => Some(48),
        Algorithm::HS512 => Some(64),
        _ => None,
    }
}

/// The algorithm and key for `tok sign`. `alg` is the user's `--alg`; without it the key
/// decides (RS256, ES256/ES384 or EdDSA for a private key of that family), and HMAC is
/// never chosen for the user. Wrong keys are usage errors (exit 2): the command line
/// named a key that cannot do what it asks.
pub fn encoding_key(
    alg: Option<Algorithm>,
    bytes: &[u8],
    source: &KeySource,
) -> Result<(Algorithm, EncodingKey)> {
    let named = alg.map(|a| format!(" {a:?}")).unwrap_or_default();
    let refuse = |why: String| {
        Error::usage(format!("cannot sign{named} with the key from {}: {why}", source.describe()))
    };
    let found = read::read(bytes);
    if let Some(alg) = alg.filter(|a| Family::of(*a) == Family::Hmac) {
        let secret = match found {
            Read::NotAKey(_) => bytes.to_vec(),
            Read::Keys { keys, set: false, .. } if keys[0].family == Family::Hmac => {
                oct_secret(&keys[0]).map_err(refuse)?
            }
            Read::Keys { keys, set, .. } => {
                let what = if set { "a JWK set".to_string() } else { keys[0].to_string() };
                return Err(refuse(format!(
                    "it is {what}, and {NEVER_HMAC}; sign with the key's own algorithm (RS256, ES256, EdDSA...)"
                )));
            }
            Read::Unusable(why) => return Err(refuse(format!("it is {why}, and {NEVER_HMAC}"))),
        };
        if let Some(min) = hmac_min_len(alg).filter(|min| secret.len() < *min) {
            crate::term::warn(&format!(
                "the {alg:?} key is {} bytes; keys shorter than the hash output ({min} bytes) are weak",
                secret.len()
            ));
        }
        return Ok((alg, EncodingKey::from_secret(&secret)));
    }
    let key = match found {
        Read::NotAKey(what) => {
            return Err(refuse(match alg {
                Some(alg) => {
                    format!("{alg:?} needs {} in PEM or DER, and this is {what}", Family::of(alg).needs())
                }
                None => format!(
                    "it is {what}, not a private key; tok signs with a shared secret only when told: \
                     --alg HS256 (or HS384, HS512)"
                ),
            }));
        }
        Read::Unusable(why) => return Err(refuse(why)),
        Read::Keys { set: true, .. } => {
            return Err(refuse("it is a JWK set; sign with one private key in PEM or DER".into()));
        }
        Read::Keys { mut keys, .. } => keys.remove(0),
    };
    if key.family == Family::Hmac {
        return Err(refuse(format!("it is {key}; give --alg HS256 (or HS384, HS512) to sign with it")));
    }
    let Material::Der(der) = &key.material else {
        return Err(refuse(format!("it is {key}; tok signs with private keys in PEM or DER")));
    };
    if key.family == Family::Ec(Curve::Other) {
        return Err(refuse(format!("{key}: {UNSUPPORTED_CURVE}")));
    }
    let alg = match alg.or(key.family.default_alg()) {
        Some(alg) => alg,
        None => return Err(refuse(format!("it is {key}, which no algorithm tok knows signs with"))),
    };
    let want = Family::of(alg);
    if key.family != want {
        let alg = format!("{alg:?}");
        return Err(refuse(format!("{alg} needs {}, and this is {key}", want.needs())));
    }
    if key.role != Role::Private {
        return Err(refuse(format!("this is {key}; signing needs the private key")));
    }
    let encoding = match want {
        Family::Rsa => EncodingKey::from_rsa_der(der),
        Family::Ec(_) => EncodingKey::from_ec_der(der),
        _ => EncodingKey::from_ed_der(der),
    };
    Ok((alg, encoding))
}

/// A DPoP key (`tok login --dpop-key-file`): an EC P-256 or Ed25519 private key in PEM
/// or DER, as its family and PKCS#8 DER. Anything else is a usage error naming the source.
pub fn dpop_private_key(bytes: &[u8], source: &KeySource) -> Result<(Family, Vec<u8>)> {
    let refuse = |why: String| {
        Error::usage(format!("cannot use the key from {} for DPoP: {why}", source.describe()))
            .hint("DPoP takes an EC P-256 or Ed25519 private key (PEM or DER): openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256")
    };
    let key = match read::read(bytes) {
        Read::Keys { set: false, mut keys, .. } => keys.remove(0),
        Read::Keys { set: true, .. } => return Err(refuse("it is a JWK set, not one private key".into())),
        Read::Unusable(why) => return Err(refuse(why)),
        Read::NotAKey(what) => return Err(refuse(format!("it is {what}, not a private key"))),
    };
    if !matches!(key.family, Family::Ec(Curve::P256) | Family::Ed) {
        return Err(refuse(format!(
            "it is {key}, and DPoP proofs here are EC P-256 or Ed25519 (ES256, EdDSA)"
        )));
    }
    if key.role != Role::Private {
        return Err(refuse(format!("it is {key}; proofs need the private key")));
    }
    match key.material {
        Material::Der(der) => Ok((key.family, der)),
        Material::Jwk(_) => Err(refuse(format!("it is {key}; give the key in PEM or DER"))),
    }
}

/// The secret of a JWK of kty `oct`.
fn oct_secret(key: &Key) -> Result<Vec<u8>, String> {
    use base64::Engine;
    match &key.material {
        Material::Jwk(jwk) => match &jwk.algorithm {
            jsonwebtoken::jwk::AlgorithmParameters::OctetKey(p) => {
                crate::jwt::B64URL.decode(&p.value).map_err(|_| format!("{key} whose k is not base64url"))
            }
            _ => Err(format!("{key} is no oct JWK")),
        },
        Material::Der(_) => Err(format!("{key} is no oct JWK")),
    }
}

/// Signs `claims` with the standard header `{typ, alg}` (plus `kid` when given).
pub fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> Result<String> {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).map_err(|e| {
        Error::usage(format!(
            "cannot sign: {e}; if the key is valid, rewrite it as PKCS#8: openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem"
        ))
    })
}

/// Checks a decoded token's signature with the key from `source`. `Ok(false)` is a
/// signature that does not match; every refusal before the check (unsigned, unknown
/// algorithm, `crit` extensions, an HMAC token without an HMAC `--alg`, a key that does
/// not read as a key or is not of the token's family, a pin the token does not match)
/// is an `Err` with exit 4, naming what the token said and what the key is.
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
    token.critical().map_err(Error::rejected)?;
    let bytes = source.read()?;
    let refuse = |why: String| {
        Error::rejected(format!("refusing to verify {alg:?} with the key from {}: {why}", source.describe()))
    };
    let want = Family::of(alg);
    let hmac = want == Family::Hmac;
    let (keys, set, skipped) = match read::read(&bytes) {
        Read::NotAKey(_) if hmac && pin.is_some() => {
            return check(token, alg, &DecodingKey::from_secret(&bytes)).map_err(refuse);
        }
        Read::NotAKey(what) if hmac => {
            return Err(refuse(format!(
                "the token's alg {alg:?} is HMAC, which tok verifies only when told: pass --alg {alg:?} \
                 with the shared secret as the key (the key is {what})"
            )));
        }
        Read::NotAKey(what) => {
            return Err(refuse(format!(
                "the token's alg {alg:?} needs {}, and the key is not one tok can read: it is {what}. \
                 tok verifies with public keys (PEM, DER or base64 DER; SPKI or PKCS#1), X.509 \
                 certificates, JWKs and JWK sets; with a shared secret only under --alg HS256, HS384 or HS512",
                want.needs()
            )));
        }
        Read::Unusable(why) if hmac => {
            return Err(refuse(format!(
                "the token's alg {alg:?} is HMAC, and the key is {why}: {NEVER_HMAC}; {LOOKS_FORGED}"
            )));
        }
        Read::Unusable(why) => return Err(refuse(why)),
        Read::Keys { keys, set, skipped } => (keys, set, skipped),
    };
    let (keys, skipped) = for_verifying(keys, set, skipped).map_err(refuse)?;
    let candidates = select(&keys, set, &skipped, token.kid(), alg, pin.is_some()).map_err(refuse)?;
    let mut unusable = None;
    for key in &candidates {
        match decoding(key).and_then(|k| check(token, alg, &k)) {
            Ok(true) => {
                crate::term::verbose!("verified with {key}");
                return Ok(true);
            }
            Ok(false) => {}
            Err(e) => unusable = Some(format!("the key is {key} that cannot be used: {e}")),
        }
    }
    // One key that cannot be used says why; of several, it is enough that none matched.
    match unusable {
        Some(why) if candidates.len() == 1 => Err(refuse(why)),
        _ => Ok(false),
    }
}

/// The keys whose JWK `key_ops` (RFC 7517 §4.3), when given, include `verify`; in a set
/// the others are skipped and named, a single one is refused.
fn for_verifying(
    keys: Vec<Key>,
    set: bool,
    mut skipped: Vec<String>,
) -> Result<(Vec<Key>, Vec<String>), String> {
    let mut kept = Vec::with_capacity(keys.len());
    for key in keys {
        let ops = match &key.material {
            Material::Jwk(jwk) => jwk.common.key_operations.as_deref(),
            Material::Der(_) => None,
        };
        match ops {
            Some(ops) if !ops.contains(&jsonwebtoken::jwk::KeyOperations::Verify) => {
                let why = format!("{key} whose key_ops do not include \"verify\"");
                if !set {
                    return Err(format!("the key is {why}"));
                }
                skipped.push(why);
            }
            _ => kept.push(key),
        }
    }
    Ok((kept, skipped))
}

fn check(token: &Jwt, alg: Algorithm, key: &DecodingKey) -> Result<bool, String> {
    jsonwebtoken::crypto::verify(&token.signature, token.signing_input.as_bytes(), key, alg)
        .map_err(|e| e.to_string())
}

fn decoding(key: &Key) -> Result<DecodingKey, String> {
    match &key.material {
        Material::Jwk(jwk) => DecodingKey::from_jwk(jwk).map_err(|e| e.to_string()),
        Material::Der(der) => Ok(match key.family {
            Family::Rsa => DecodingKey::from_rsa_der(der),
            Family::Ec(_) => DecodingKey::from_ec_der(der),
            Family::Ed => DecodingKey::from_ed_der(der),
            Family::Hmac => return Err("no DER holds an HMAC key".into()),
        }),
    }
}

/// The keys worth trying for a token with `alg` (and `kid`). In a JWK set the token's
/// `kid` picks the keys; a token without one is tried against every key of the set
/// whose family (and JWK `alg`, when the key names one) fits, as no key of another
/// family can verify it. Private keys are not verification keys.
fn select<'k>(
    keys: &'k [Key],
    set: bool,
    skipped: &[String],
    kid: Option<&str>,
    alg: Algorithm,
    hmac_asked: bool,
) -> Result<Vec<&'k Key>, String> {
    let also =
        if skipped.is_empty() { String::new() } else { format!(" (tok skipped: {})", skipped.join("; ")) };
    let pool: Vec<&Key> = match kid {
        Some(kid) if set => {
            let named: Vec<&Key> = keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).collect();
            if named.is_empty() {
                let kids: Vec<String> = keys
                    .iter()
                    .filter_map(|k| k.kid.as_deref())
                    .map(|k| format!("\"{}\"", crate::secret::outside(k)))
                    .collect();
                return Err(format!(
                    "the token's kid \"{}\" names no key of the JWK set (its kids: {}){also}",
                    crate::secret::outside(kid),
                    if kids.is_empty() { "none".into() } else { kids.join(", ") }
                ));
            }
            named
        }
        _ => keys.iter().collect(),
    };
    if pool.is_empty() {
        return Err(format!("the JWK set holds no key tok can use{also}"));
    }
    let want = Family::of(alg);
    let name = format!("{alg:?}");
    let fitting: Vec<&Key> = pool
        .iter()
        .copied()
        .filter(|k| k.family == want && k.alg.as_deref().is_none_or(|a| a == name))
        .collect();
    if fitting.is_empty() {
        let what = match pool.as_slice() {
            [one] => format!("the key is {one}"),
            many => {
                format!("the keys are {}", many.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(", "))
            }
        };
        if want == Family::Hmac {
            return Err(format!("the token's alg {name} is HMAC, and {what}: {NEVER_HMAC}; {LOOKS_FORGED}"));
        }
        if let [one] = pool.as_slice()
            && one.family == want
            && let Some(other) = &one.alg
        {
            return Err(format!(
                "the token says alg {name}, and {what} for alg {} only",
                crate::term::printable(other)
            ));
        }
        if pool.iter().any(|k| k.family == Family::Ec(Curve::Other)) && matches!(want, Family::Ec(_)) {
            return Err(format!(
                "the token's alg {name} needs {}, and {what}: {UNSUPPORTED_CURVE}",
                want.needs()
            ));
        }
        return Err(format!("the token's alg {name} needs {}, and {what}", want.needs()));
    }
    if want == Family::Hmac && !hmac_asked {
        return Err(format!(
            "the token's alg {name} is HMAC, which tok verifies only when told: pass --alg {name}"
        ));
    }
    let public: Vec<&Key> = fitting.iter().copied().filter(|k| k.role != Role::Private).collect();
    if public.is_empty() {
        let fix = match fitting[0].material {
            Material::Jwk(_) => "verify with the public JWK (without d, p, q, dp, dq, qi)",
            Material::Der(_) => "verify with the public key: openssl pkey -in KEY -pubout",
        };
        return Err(format!("the key is {}; {fix}", fitting[0]));
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn temp_key(bytes: &[u8]) -> (KeySource, PathBuf) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("tok-keys-{}-{n}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        (KeySource::File(path.clone()), path)
    }

    #[test]
    fn hmac_verifies_only_when_asked() {
        let alg = algorithm("HS512").unwrap();
        let key = EncodingKey::from_secret(b"k");
        let token = sign(alg, Some("key-1"), &serde_json::json!({ "sub": "x" }), &key).unwrap();
        let decoded = jwt::decode(&token).unwrap();
        assert_eq!(decoded.header["typ"], "JWT");
        assert_eq!(decoded.header["kid"], "key-1");
        let (source, path) = temp_key(b"k");
        assert!(verify(&decoded, &source, Some(alg)).unwrap());
        let err = verify(&decoded, &source, None).unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert!(err.to_string().contains("only when told: pass --alg HS512"), "{err}");
        std::fs::write(&path, b"other").unwrap();
        assert!(!verify(&decoded, &source, Some(alg)).unwrap());
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn algorithm_names() {
        assert!(algorithm("HS256").is_ok());
        assert!(algorithm("EdDSA").is_ok());
        assert_eq!(algorithm("none").unwrap_err().exit_code(), 2);
        // A token's alg is case-sensitive; the user's --alg is made canonical first.
        assert_eq!(algorithm("hs256").unwrap_err().exit_code(), 2);
        for (typed, canonical) in
            [("hs256", "HS256"), ("Hs512", "HS512"), ("eddsa", "EdDSA"), ("ES384", "ES384")]
        {
            assert_eq!(canonical_alg(typed.into()), canonical);
        }
        assert_eq!(canonical_alg("nope".into()), "nope");
    }

    fn key(family: Family, role: Role, kid: Option<&str>, alg: Option<&str>) -> Key {
        Key {
            family,
            role,
            format: "JWK".into(),
            kid: kid.map(str::to_string),
            alg: alg.map(str::to_string),
            material: Material::Der(Vec::new()),
        }
    }

    #[test]
    fn selection_table() {
        use Family::*;
        let p256 = Ec(Curve::P256);
        let set = [
            key(Rsa, Role::Public, Some("r1"), Some("RS256")),
            key(Rsa, Role::Public, Some("r2"), None),
            key(p256, Role::Public, Some("e1"), None),
            key(Hmac, Role::Secret, Some("h1"), None),
        ];
        // (kid, alg, HMAC asked, Ok(kids tried) or a piece of the refusal)
        type Row = (Option<&'static str>, Algorithm, bool, Result<&'static [&'static str], &'static str>);
        let table: [Row; 10] = [
            (Some("r1"), Algorithm::RS256, false, Ok(&["r1"])),
            (Some("r2"), Algorithm::PS256, false, Ok(&["r2"])),
            (Some("r1"), Algorithm::PS256, false, Err("for alg RS256")),
            (Some("e1"), Algorithm::RS256, false, Err("needs an RSA key, and the key is an EC P-256")),
            (Some("zz"), Algorithm::RS256, false, Err("kid \"zz\" names no key")),
            (None, Algorithm::RS256, false, Ok(&["r1", "r2"])),
            (None, Algorithm::ES256, false, Ok(&["e1"])),
            (None, Algorithm::ES384, false, Err("needs an EC P-384 key, and the keys are")),
            (None, Algorithm::HS256, false, Err("only when told")),
            (Some("r1"), Algorithm::HS256, true, Err("never used as an HMAC secret")),
        ];
        for (kid, alg, asked, want) in table {
            let got = select(&set, true, &[], kid, alg, asked)
                .map(|keys| keys.iter().map(|k| k.kid.clone().unwrap()).collect::<Vec<_>>());
            match (got, want) {
                (Ok(kids), Ok(want)) => assert_eq!(kids, want, "{kid:?} {alg:?}"),
                (Err(e), Err(piece)) => assert!(e.contains(piece), "{kid:?} {alg:?}: {e}"),
                (got, want) => panic!("{kid:?} {alg:?}: {got:?}, want {want:?}"),
            }
        }
        assert!(select(&set, true, &[], None, Algorithm::HS256, true).is_ok());
        // One key (not a set): the token's kid does not pick; the family still decides.
        let one = [key(Ed, Role::Public, Some("other"), None)];
        assert!(select(&one, false, &[], Some("mine"), Algorithm::EdDSA, false).is_ok());
        let private = [key(Rsa, Role::Private, None, None)];
        let err = select(&private, false, &[], None, Algorithm::RS256, false).unwrap_err();
        assert!(err.contains("-pubout"), "{err}");
    }

    /// Reading and using key bytes never panics, however they are broken: mutated PEM,
    /// DER, base64 and JWKs, each read key then used to verify with every algorithm of
    /// its family (jsonwebtoken slices Ed25519 keys, so a short one would panic there).
    #[test]
    fn property_no_key_bytes_panic() {
        use crate::testgen::XorShift;
        let hs =
            sign(Algorithm::HS256, None, &serde_json::json!({}), &EncodingKey::from_secret(b"k")).unwrap();
        let token = jwt::decode(&hs).unwrap();
        let mut seeds: Vec<Vec<u8>> = Vec::new();
        for file in
            ["rsa-public.pem", "rsa-cert.pem", "ec-public.pem", "ec-sec1-private.pem", "ed25519-public.pem"]
        {
            let pem = fixture(file);
            let block = pem::parse_many(&pem).unwrap().pop().unwrap();
            use base64::Engine;
            seeds.push(base64::engine::general_purpose::STANDARD.encode(block.contents()).into_bytes());
            seeds.push(block.into_contents());
            seeds.push(pem);
        }
        seeds.push(br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#.to_vec());
        let algs = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA];
        let mut rng = XorShift(0x6b65_7973_5eed_0018);
        let source = KeySource::Env("UNUSED".into());
        for _ in 0..4_000 {
            let seed = &seeds[rng.below(seeds.len())];
            let input = rng.mutate(seed);
            if let Read::Keys { keys, .. } = read::read(&input) {
                for key in &keys {
                    if let Ok(decoding) = decoding(key) {
                        for alg in algs.into_iter().filter(|a| Family::of(*a) == key.family) {
                            let _ = check(&token, alg, &decoding);
                        }
                    }
                }
            }
            let _ = encoding_key(None, &input, &source);
        }
        for _ in 0..4_000 {
            let _ = read::read(&rng.bytes(200));
        }
    }

    #[test]
    fn sign_key_decides_the_algorithm_and_hmac_needs_asking() {
        let cases: [(&str, Option<Algorithm>, Result<Algorithm, &str>); 7] = [
            ("rsa-private.pem", None, Ok(Algorithm::RS256)),
            ("ec-private.pem", None, Ok(Algorithm::ES256)),
            ("ec384-private.pem", None, Ok(Algorithm::ES384)),
            ("ed25519-private.pem", None, Ok(Algorithm::EdDSA)),
            ("rsa-public.pem", None, Err("signing needs the private key")),
            ("rsa-private.pem", Some(Algorithm::HS256), Err("never used as an HMAC secret")),
            ("ec-k256-private.pem", None, Err("unsupported curve")),
        ];
        for (file, alg, want) in cases {
            let (source, path) = temp_key(&fixture(file));
            let got = encoding_key(alg, &fixture(file), &source).map(|(alg, _)| alg);
            std::fs::remove_file(path).unwrap();
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{file}"),
                (Err(e), Err(piece)) => {
                    assert_eq!(e.exit_code(), 2);
                    assert!(e.to_string().contains(piece), "{file}: {e}")
                }
                (got, want) => panic!("{file}: {:?}, want {want:?}", got.map_err(|e| e.to_string())),
            }
        }
        let source = KeySource::Env("UNUSED".into());
        let err = encoding_key(None, b"a shared secret", &source).unwrap_err();
        assert!(err.to_string().contains("only when told: --alg HS256"), "{err}");
        assert_eq!(
            encoding_key(Some(Algorithm::HS384), b"a shared secret", &source).unwrap().0,
            Algorithm::HS384
        );
        let oct = br#"{"kty":"oct","k":"c2VjcmV0"}"#;
        assert!(encoding_key(Some(Algorithm::HS256), oct, &source).is_ok());
        assert!(encoding_key(None, oct, &source).is_err());
    }
}
