//! Which key a DER structure holds, told by walking the structure: SPKI, X.509
//! certificates, PKCS#1, PKCS#8 and SEC1. Searching the bytes for an algorithm's object
//! identifier would also "find" a key in any blob that happens to contain one, and miss
//! what the structure says (a certificate's key is not the certificate).

use super::{Curve, Family, Role};
use der::asn1::AnyRef;
use der::{Decode, Reader, SliceReader, Tag, Tagged};

/// A key found in DER, with the bytes jsonwebtoken's `from_*_der` constructors take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerKey {
    pub family: Family,
    pub role: Role,
    pub structure: &'static str,
    /// Public keys and certificates: the subject public key (a PKCS#1 RSAPublicKey, an
    /// EC point, 32 Ed25519 bytes). Private keys: PKCS#1 RSAPrivateKey for RSA, PKCS#8
    /// for EC and Ed25519 (SEC1 keys are wrapped).
    pub material: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Key(DerKey),
    /// A key structure tok cannot use, and why (encrypted, Ed448, DSA...).
    Unusable(String),
    /// No key structure at all.
    NotAKey,
}

// The contents (no tag, no length) of the object identifiers that name key types and curves.
const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const ED448: &[u8] = &[0x2b, 0x65, 0x71];
const X25519: &[u8] = &[0x2b, 0x65, 0x6e];
const X448: &[u8] = &[0x2b, 0x65, 0x6f];
const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];

/// One element at the start of `bytes`, and what follows it.
fn element(bytes: &[u8]) -> Option<(AnyRef<'_>, &[u8])> {
    let mut reader = SliceReader::new(bytes).ok()?;
    let any = AnyRef::decode(&mut reader).ok()?;
    let end = usize::try_from(reader.position()).ok()?;
    Some((any, bytes.get(end..)?))
}

/// The elements of a SEQUENCE (one level only: no recursion, whatever the input).
fn children(any: AnyRef<'_>) -> Option<Vec<AnyRef<'_>>> {
    if any.tag() != Tag::Sequence {
        return None;
    }
    let mut reader = SliceReader::new(any.value()).ok()?;
    let mut items = Vec::new();
    while !reader.is_finished() {
        items.push(AnyRef::decode(&mut reader).ok()?);
    }
    Some(items)
}

fn is_context(any: &AnyRef<'_>, n: u8) -> bool {
    matches!(any.tag(), Tag::ContextSpecific { constructed: true, number } if number.value() == n)
}

/// The key in `der`: one DER element, optionally followed by whitespace (a binary key
/// file that went through an editor or `echo` keeps a trailing newline).
pub fn find(der: &[u8]) -> Found {
    let Some((top, rest)) = element(der) else { return Found::NotAKey };
    if !rest.iter().all(u8::is_ascii_whitespace) {
        return Found::NotAKey;
    }
    let whole = &der[..der.len() - rest.len()];
    let Some(items) = children(top) else { return Found::NotAKey };
    let tags: Vec<Tag> = items.iter().map(Tagged::tag).collect();
    let version = items.first().filter(|i| i.tag() == Tag::Integer).map(|i| i.value());
    match tags.as_slice() {
        [Tag::Sequence, Tag::BitString] => spki(items[0], items[1], Role::Public, "SPKI"),
        [Tag::Sequence, Tag::Sequence, Tag::BitString] => certificate(items[0]),
        [Tag::Integer, Tag::Integer] => key(Family::Rsa, Role::Public, "PKCS#1", whole),
        [Tag::Integer, Tag::Sequence, Tag::OctetString, ..] if matches!(version, Some([0] | [1])) => {
            pkcs8(&items, whole)
        }
        [Tag::Integer, Tag::OctetString, ..] if version == Some(&[1]) => sec1(&items, whole),
        // RSAPrivateKey (RFC 8017 §A.1.2): version, n, e, d, p, q, dP, dQ, qInv.
        _ if tags.len() >= 9
            && tags[..9].iter().all(|t| *t == Tag::Integer)
            && matches!(version, Some([0] | [1])) =>
        {
            key(Family::Rsa, Role::Private, "PKCS#1", whole)
        }
        [Tag::Sequence, Tag::OctetString] => Found::Unusable(
            "an encrypted private key; decrypt it first: openssl pkey -in KEY -out key.pem".into(),
        ),
        _ => Found::NotAKey,
    }
}

fn key(family: Family, role: Role, structure: &'static str, material: &[u8]) -> Found {
    Found::Key(DerKey { family, role, structure, material: material.to_vec() })
}

/// An AlgorithmIdentifier's key family; the EC curve from its parameters.
fn algorithm(alg: AnyRef<'_>) -> Result<Family, Found> {
    let items = children(alg).ok_or(Found::NotAKey)?;
    let (oid, params) = match items.as_slice() {
        [oid, rest @ ..] if oid.tag() == Tag::ObjectIdentifier => (oid.value(), rest.first()),
        _ => return Err(Found::NotAKey),
    };
    let unusable = |what: &str| Err(Found::Unusable(what.to_string()));
    match oid {
        RSA | RSA_PSS => Ok(Family::Rsa),
        EC => Ok(Family::Ec(curve(params.filter(|p| p.tag() == Tag::ObjectIdentifier).map(|p| p.value())))),
        ED25519 => Ok(Family::Ed),
        ED448 => unusable("an Ed448 key; tok's EdDSA is Ed25519"),
        X25519 | X448 => unusable("an X25519/X448 key, which is for key agreement, not signatures"),
        DSA => unusable("a DSA key, which JWTs do not use"),
        _ => unusable("a key of a type tok does not know"),
    }
}

fn curve(oid: Option<&[u8]>) -> Curve {
    match oid {
        Some(P256) => Curve::P256,
        Some(P384) => Curve::P384,
        _ => Curve::Other,
    }
}

/// SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): the algorithm and the key as a BIT STRING.
fn spki(alg: AnyRef<'_>, bits: AnyRef<'_>, role: Role, structure: &'static str) -> Found {
    let family = match algorithm(alg) {
        Ok(family) => family,
        Err(found) => return found,
    };
    // The first content byte of a BIT STRING counts the unused bits: a key has none.
    let Some((0, public)) = bits.value().split_first() else { return Found::NotAKey };
    if family == Family::Ed && public.len() != 32 {
        return Found::Unusable("an Ed25519 key whose public key is not 32 bytes".into());
    }
    key(family, role, structure, public)
}

/// A certificate's key: the tbsCertificate's subjectPublicKeyInfo, after the optional
/// `[0]` version and the serial, signature, issuer, validity and subject (RFC 5280 §4.1).
fn certificate(tbs: AnyRef<'_>) -> Found {
    let Some(tbs) = children(tbs) else { return Found::NotAKey };
    let start = usize::from(tbs.first().is_some_and(|v| is_context(v, 0)));
    let Some(fields) = tbs.get(start..) else { return Found::NotAKey };
    match fields {
        [serial, _, _, _, _, info, ..] if serial.tag() == Tag::Integer => match children(*info).as_deref() {
            Some([alg, bits]) if alg.tag() == Tag::Sequence && bits.tag() == Tag::BitString => {
                spki(*alg, *bits, Role::Certificate, "X.509 certificate")
            }
            _ => Found::NotAKey,
        },
        _ => Found::NotAKey,
    }
}

/// PKCS#8 PrivateKeyInfo (RFC 5208, 5958): version, algorithm, the key in an OCTET STRING.
fn pkcs8(items: &[AnyRef<'_>], whole: &[u8]) -> Found {
    let family = match algorithm(items[1]) {
        Ok(family) => family,
        Err(found) => return found,
    };
    match family {
        // jsonwebtoken signs RSA with the PKCS#1 key the wrapper holds.
        Family::Rsa => key(family, Role::Private, "PKCS#8", items[2].value()),
        _ => key(family, Role::Private, "PKCS#8", whole),
    }
}

/// SEC1 ECPrivateKey (RFC 5915): version 1, the key, `[0]` the curve, `[1]` the public key.
fn sec1(items: &[AnyRef<'_>], whole: &[u8]) -> Found {
    let named = items
        .iter()
        .find(|i| is_context(i, 0))
        .and_then(|p| element(p.value()))
        .filter(|(oid, _)| oid.tag() == Tag::ObjectIdentifier)
        .map(|(oid, _)| oid.value());
    let curve = curve(named);
    let material = match curve {
        Curve::Other => whole.to_vec(),
        _ => sec1_to_pkcs8(whole, curve),
    };
    Found::Key(DerKey { family: Family::Ec(curve), role: Role::Private, structure: "SEC1", material })
}

/// Wraps a SEC1 `ECPrivateKey` in PKCS#8 (RFC 5208), which jsonwebtoken reads: version 0,
/// the algorithm (id-ecPublicKey with the curve), and the SEC1 key as an OCTET STRING.
fn sec1_to_pkcs8(sec1: &[u8], curve: Curve) -> Vec<u8> {
    let curve_oid = if curve == Curve::P384 { P384 } else { P256 };
    let algorithm = tlv(0x30, &[tlv(0x06, EC), tlv(0x06, curve_oid)].concat());
    tlv(0x30, &[&[0x02, 0x01, 0x00][..], &algorithm, &tlv(0x04, sec1)].concat())
}

/// One DER element: tag, definite length, content.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_der(name: &str) -> Vec<u8> {
        let text = std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        pem::parse_many(text)
            .unwrap()
            .into_iter()
            .find(|b| b.tag() != "EC PARAMETERS")
            .unwrap()
            .into_contents()
    }

    #[test]
    fn structures_table() {
        let table: [(&str, Family, Role, &str); 12] = [
            ("rsa-public.pem", Family::Rsa, Role::Public, "SPKI"),
            ("rsa-pkcs1-public.pem", Family::Rsa, Role::Public, "PKCS#1"),
            ("rsa-private.pem", Family::Rsa, Role::Private, "PKCS#8"),
            ("rsa-pkcs1-private.pem", Family::Rsa, Role::Private, "PKCS#1"),
            ("rsa-cert.pem", Family::Rsa, Role::Certificate, "X.509 certificate"),
            ("ec-public.pem", Family::Ec(Curve::P256), Role::Public, "SPKI"),
            ("ec-private.pem", Family::Ec(Curve::P256), Role::Private, "PKCS#8"),
            ("ec-sec1-private.pem", Family::Ec(Curve::P256), Role::Private, "SEC1"),
            ("ec384-public.pem", Family::Ec(Curve::P384), Role::Public, "SPKI"),
            ("ec-k256-private.pem", Family::Ec(Curve::Other), Role::Private, "SEC1"),
            ("ed25519-public.pem", Family::Ed, Role::Public, "SPKI"),
            ("ed25519-private.pem", Family::Ed, Role::Private, "PKCS#8"),
        ];
        for (file, family, role, structure) in table {
            match find(&fixture_der(file)) {
                Found::Key(k) => {
                    assert_eq!((k.family, k.role, k.structure), (family, role, structure), "{file}")
                }
                other => panic!("{file}: {other:?}"),
            }
        }
        // A certificate's key is the same key as the public key it certifies.
        let Found::Key(cert) = find(&fixture_der("rsa-cert.pem")) else { panic!() };
        let Found::Key(public) = find(&fixture_der("rsa-public.pem")) else { panic!() };
        assert_eq!(cert.material, public.material);
    }

    #[test]
    fn trailing_bytes_and_non_keys() {
        let der = fixture_der("ec-public.pem");
        for tail in [&b"\n"[..], b"\r\n", b"  \n"] {
            assert!(matches!(find(&[&der[..], tail].concat()), Found::Key(_)), "{tail:?}");
        }
        let not_keys: [&[u8]; 7] = [
            b"",
            b"\x30",
            b"\x30\x03abc",
            &[&der[..], b"x"].concat(),
            &der[..der.len() - 1],
            b"\x30\x00",
            // A SEQUENCE of an OID alone, like a key that lost its BIT STRING.
            &tlv(0x30, &tlv(0x06, RSA)),
        ];
        for bytes in not_keys {
            assert_eq!(find(bytes), Found::NotAKey, "{bytes:?}");
        }
        let ed448 = tlv(0x30, &[tlv(0x30, &tlv(0x06, ED448)), tlv(0x03, &[0; 58])].concat());
        assert!(matches!(find(&ed448), Found::Unusable(why) if why.contains("Ed448")));
        let short_ed = tlv(0x30, &[tlv(0x30, &tlv(0x06, ED25519)), tlv(0x03, &[0; 5])].concat());
        assert!(matches!(find(&short_ed), Found::Unusable(_)));
        let encrypted = tlv(0x30, &[tlv(0x30, &tlv(0x06, RSA)), tlv(0x04, b"ciphertext")].concat());
        assert!(matches!(find(&encrypted), Found::Unusable(why) if why.contains("encrypted")));
    }

    #[test]
    fn sec1_is_wrapped_as_pkcs8_for_jsonwebtoken() {
        let Found::Key(sec1) = find(&fixture_der("ec-sec1-private.pem")) else { panic!() };
        match find(&sec1.material) {
            Found::Key(k) => assert_eq!((k.family, k.structure), (Family::Ec(Curve::P256), "PKCS#8")),
            other => panic!("{other:?}"),
        }
    }
}
