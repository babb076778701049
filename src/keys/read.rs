//! From the bytes of a key file or variable to the keys they hold, in the encodings keys
//! really arrive in: PEM (also as UTF-16 from PowerShell's `>`, with a BOM, with odd
//! whitespace in its labels, with `\n` escapes from a JSON or .env file), DER (also with a
//! trailing newline), bare base64 of the DER (as Keycloak and cloud consoles show public
//! keys), X.509 certificates, JWKs and JWK sets.
//!
//! Reading is how tok knows a key is a key: whatever reads as one here is never used as
//! an HMAC secret, and only what reads as none of these can be one.

use super::asn1::{self, Found};
use super::{Curve, Family, Role};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use serde_json::Value;
use std::fmt;

/// One key, whatever it was read from.
#[derive(Debug, Clone)]
pub struct Key {
    pub family: Family,
    pub role: Role,
    /// How it was written: "PEM SPKI", "base64 DER PKCS#1", "JWK"...
    pub format: String,
    /// A JWK's `kid` and `alg`.
    pub kid: Option<String>,
    pub alg: Option<String>,
    pub material: Material,
}

#[derive(Debug, Clone)]
pub enum Material {
    /// What `asn1::DerKey::material` says.
    Der(Vec<u8>),
    Jwk(Box<Jwk>),
}

#[derive(Debug, Clone)]
pub enum Read {
    /// The keys found; `set` when they came from a JWK set (even a set of one).
    Keys { keys: Vec<Key>, set: bool, skipped: Vec<String> },
    /// Written as a key, but not one tok can use: why, and the fix where there is one.
    Unusable(String),
    /// No key format at all: what it looks like.
    NotAKey(&'static str),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = match self.family {
            Family::Hmac => "HMAC",
            Family::Rsa => "RSA",
            Family::Ec(Curve::P256) => "EC P-256",
            Family::Ec(Curve::P384) => "EC P-384",
            Family::Ec(Curve::Other) => "EC (unsupported curve)",
            Family::Ed => "Ed25519",
        };
        let role = match self.role {
            Role::Public => "public key",
            Role::Private => "private key",
            Role::Certificate => "certificate",
            Role::Secret => "secret key",
        };
        write!(f, "an {family} {role} ({})", self.format)?;
        if let Some(kid) = &self.kid {
            write!(f, " with kid \"{}\"", crate::term::printable(kid))?;
        }
        Ok(())
    }
}

/// base64 in either alphabet, padded or not: consoles and JWKs differ.
const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub fn read(bytes: &[u8]) -> Read {
    if let Some(found) = json_list(bytes) {
        return found;
    }
    // Binary DER first: its bytes are no text, and a BOM never starts one.
    if bytes.first() == Some(&0x30) {
        match der(bytes, "DER") {
            Read::NotAKey(_) if der_shaped(bytes) || der_shaped(bytes.trim_ascii_end()) => {
                return Read::Unusable(
                    "binary data shaped as DER (a SEQUENCE) that tok cannot read as a key".into(),
                );
            }
            Read::NotAKey(_) => {}
            found => return found,
        }
    }
    let Some(text) = text(bytes) else {
        // A PEM file with a stray byte that is not UTF-8 is still a PEM file.
        let lossy = String::from_utf8_lossy(bytes);
        if let Some(pem) = armour(&lossy) {
            return pem_text(&pem);
        }
        return Read::NotAKey("binary data in no key format");
    };
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '\0');
    if text.starts_with('{') {
        return json(text);
    }
    if let Some(pem) = armour(&unescape_newlines(text)) {
        return pem_text(&pem);
    }
    if text.contains("-----BEGIN") {
        return pem_text(text);
    }
    if ["ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"].iter().any(|p| text.starts_with(p)) {
        return Read::Unusable(
            "an OpenSSH public key; convert it to PEM: ssh-keygen -e -m PKCS8 -f KEY.pub".into(),
        );
    }
    let compact: String = unescape_newlines(text).split_whitespace().collect();
    if let Some(der_bytes) = hex(&compact) {
        match der(&der_bytes, "hex DER") {
            Read::NotAKey(_) => {}
            found => return found,
        }
    }
    let decoded = STANDARD.decode(&compact).or_else(|_| URL_SAFE.decode(&compact));
    if let Ok(der_bytes) = &decoded {
        match der(der_bytes, "base64 DER") {
            Read::NotAKey(_) => {}
            found => return found,
        }
    }
    match looks_like_a_key(text, &compact, decoded.ok().as_deref()) {
        Some(why) => Read::Unusable(why.into()),
        None => Read::NotAKey("text in no key format"),
    }
}

/// PEM armour as editors, mail and hand-typing leave it: labels in any case, 3 to 6
/// dashes, spaces inside the dashes. Each marker rewritten as `-----BEGIN LABEL-----`;
/// `None` when the text has none.
fn armour(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut found = false;
    while let Some(start) = rest.find("---") {
        let run = rest[start..].bytes().take_while(|b| *b == b'-').count();
        let after = &rest[start + run..];
        let Some(close) = after.find("---") else { break };
        let words: Vec<&str> = after[..close].split_whitespace().collect();
        let marker = words.len() >= 2
            && (words[0].eq_ignore_ascii_case("begin") || words[0].eq_ignore_ascii_case("end"));
        if !marker {
            out.push_str(&rest[..start + run]);
            rest = after;
            continue;
        }
        let close_run = after[close..].bytes().take_while(|b| *b == b'-').count();
        out.push_str(&rest[..start]);
        out.push_str("-----");
        out.push_str(&words.join(" ").to_ascii_uppercase());
        out.push_str("-----");
        found = true;
        rest = &after[close + close_run..];
    }
    out.push_str(rest);
    found.then_some(out)
}

/// Hex as `xxd -p`, `openssl ... -hex` or a console shows bytes: either case, pairs
/// optionally split by colons (whitespace is already gone).
fn hex(compact: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = compact.bytes().filter(|b| *b != b':').collect();
    if digits.len() < 2 || !digits.len().is_multiple_of(2) || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let value = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
    Some(digits.chunks(2).map(|p| value(p[0]) << 4 | value(p[1])).collect())
}

/// Bytes that start as DER does: a SEQUENCE whose length is exactly the rest. A random
/// secret is shaped so about once in 65536; a key that lost a byte inside still is.
fn der_shaped(bytes: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = bytes else { return false };
    let (len, body) = match *first {
        n @ 0..=0x7f => (usize::from(n), rest),
        n @ 0x81..=0x84 => {
            let n = usize::from(n - 0x80);
            let Some(digits) = rest.get(..n) else { return false };
            (digits.iter().fold(0usize, |acc, d| acc << 8 | usize::from(*d)), &rest[n..])
        }
        _ => return false,
    };
    len > 0 && len == body.len()
}

/// Text that reads as no key but is written like one (a broken PEM, a mangled DER in
/// base64 or hex, JSON naming a `kty`): never an HMAC secret, whatever is wrong with it.
fn looks_like_a_key(text: &str, compact: &str, base64: Option<&[u8]>) -> Option<&'static str> {
    let lower = compact.to_ascii_lowercase();
    if ["--begin", "--end", "begin--", "-----"].iter().any(|m| lower.contains(m)) {
        return Some("text written as PEM (BEGIN/END armour) that tok cannot read as a key");
    }
    if hex(compact).is_some_and(|b| der_shaped(&b)) {
        return Some("hex of DER (a SEQUENCE) that tok cannot read as a key");
    }
    if base64.is_some_and(der_shaped) {
        return Some("base64 of DER (a SEQUENCE) that tok cannot read as a key");
    }
    if text.contains('{') && lower.contains("kty") {
        return Some("JSON naming a \"kty\", like a JWK tok cannot read");
    }
    None
}

/// The bytes as text: UTF-8 (a BOM dropped), or UTF-16 with a BOM as Windows PowerShell's
/// `>` writes, or UTF-16 without one when every other byte is NUL and the rest is ASCII.
pub fn text(bytes: &[u8]) -> Option<String> {
    let utf16 = |rest: &[u8], little: bool| {
        let units = rest.chunks(2).map(|c| {
            let pair = [c[0], *c.get(1).unwrap_or(&0)];
            if little { u16::from_le_bytes(pair) } else { u16::from_be_bytes(pair) }
        });
        char::decode_utf16(units).collect::<Result<String, _>>().ok()
    };
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8(rest.to_vec()).ok();
    }
    if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xfe\xff") {
        return utf16(rest, false);
    }
    let ascii_at = |start: usize, zero: usize| {
        bytes.len() >= 8
            && bytes.len().is_multiple_of(2)
            && bytes.iter().skip(zero).step_by(2).all(|b| *b == 0)
            && bytes.iter().skip(start).step_by(2).all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    };
    if ascii_at(0, 1) {
        return utf16(bytes, true);
    }
    if ascii_at(1, 0) {
        return utf16(bytes, false);
    }
    String::from_utf8(bytes.to_vec()).ok()
}

/// `\n` written as two characters, as a PEM key pasted into JSON or a .env file has it.
fn unescape_newlines(text: &str) -> String {
    text.replace("\\r", "").replace("\\n", "\n")
}

fn der(bytes: &[u8], encoding: &str) -> Read {
    match asn1::find(bytes) {
        Found::Key(k) => Read::Keys {
            keys: vec![Key {
                family: k.family,
                role: k.role,
                format: format!("{encoding} {}", k.structure),
                kid: None,
                alg: None,
                material: Material::Der(k.material),
            }],
            set: false,
            skipped: Vec::new(),
        },
        Found::Unusable(why) => Read::Unusable(why),
        Found::NotAKey => Read::NotAKey("no key format"),
    }
}

/// PEM, rewritten first into the form the `pem` crate reads: markers on lines of their
/// own with single spaces in the label, the base64 body without whitespace.
fn pem_text(text: &str) -> Read {
    let text = unescape_newlines(text);
    let mut canonical = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("-----BEGIN") {
        let after = &rest[start + "-----BEGIN".len()..];
        let Some(label_end) = after.find("-----") else {
            return Read::Unusable("a PEM file tok cannot read (its BEGIN line does not end)".into());
        };
        let label: Vec<&str> = after[..label_end].split_whitespace().collect();
        let body_and_rest = &after[label_end + 5..];
        let Some(end) = body_and_rest.find("-----END") else {
            return Read::Unusable("a PEM file tok cannot read (it has no END line)".into());
        };
        let body = &body_and_rest[..end];
        if body.contains("Proc-Type:") {
            return Read::Unusable(
                "an encrypted PEM key; decrypt it first: openssl pkey -in KEY -out key.pem".into(),
            );
        }
        let tail = &body_and_rest[end + "-----END".len()..];
        let Some(tail_end) = tail.find("-----") else {
            return Read::Unusable("a PEM file tok cannot read (its END line does not end)".into());
        };
        let label = label.join(" ");
        let body: String = body.split_whitespace().collect();
        canonical.push_str(&format!("-----BEGIN {label}-----\n"));
        for line in body.as_bytes().chunks(64) {
            canonical.push_str(&String::from_utf8_lossy(line));
            canonical.push('\n');
        }
        canonical.push_str(&format!("-----END {label}-----\n"));
        rest = &tail[tail_end + 5..];
    }
    let blocks = match pem::parse_many(canonical.as_bytes()) {
        Ok(blocks) => blocks,
        Err(e) => return Read::Unusable(format!("a PEM file tok cannot read ({e})")),
    };
    // `openssl ecparam -genkey` writes an EC PARAMETERS block before the key; a bundle
    // or a chain starts with the key or the leaf certificate.
    let Some(block) = blocks.into_iter().find(|b| b.tag() != "EC PARAMETERS") else {
        return Read::Unusable("a PEM file with EC parameters but no key".into());
    };
    match block.tag() {
        "OPENSSH PRIVATE KEY" => {
            return Read::Unusable(
                "an OpenSSH private key; convert it: ssh-keygen -p -m PKCS8 -f KEY (on a copy)".into(),
            );
        }
        "ENCRYPTED PRIVATE KEY" => {
            return Read::Unusable(
                "an encrypted private key; decrypt it first: openssl pkey -in KEY -out key.pem".into(),
            );
        }
        _ => {}
    }
    match der(block.contents(), "PEM") {
        Read::NotAKey(_) => Read::Unusable(format!(
            "a PEM '{}', which is no key tok can use",
            crate::term::printable(block.tag())
        )),
        found => found,
    }
}

/// A JWK or a JWK set, read as JSON (so escapes like `"k\u0074y"` mean what they say).
fn json(text: &str) -> Read {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return Read::Unusable(format!("text that starts like JSON but is not JSON ({e})")),
    };
    let Value::Object(map) = &value else { return Read::NotAKey("JSON that is no JWK or JWK set") };
    if let Some(keys) = map.get("keys") {
        let Value::Array(entries) = keys else {
            return Read::Unusable("a JWK set whose \"keys\" is not a list".into());
        };
        return set_of(entries);
    }
    // As some consoles and libraries wrap the one key.
    if let Some(inner) = map.get("jwk").filter(|_| !map.contains_key("kty")) {
        return match jwk(inner) {
            Ok(key) => Read::Keys { keys: vec![key], set: false, skipped: Vec::new() },
            Err(why) => Read::Unusable(format!("{{\"jwk\": ...}} holding {why}")),
        };
    }
    if !map.contains_key("kty") {
        return Read::NotAKey("a JSON object that is no JWK (no \"kty\") or JWK set (no \"keys\")");
    }
    match jwk(&value) {
        Ok(key) => Read::Keys { keys: vec![key], set: false, skipped: Vec::new() },
        Err(why) => Read::Unusable(why),
    }
}

/// A JSON list of JWKs, as `jq .keys` and some consoles write a JWK set: read as the set.
/// Anything else that starts with `[` (no JSON, or a list of no objects) is left to the
/// other formats.
fn json_list(bytes: &[u8]) -> Option<Read> {
    let text = text(bytes)?;
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '\0');
    if !text.starts_with('[') {
        return None;
    }
    let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(text) else { return None };
    if entries.is_empty() || !entries.iter().all(Value::is_object) {
        return None;
    }
    Some(set_of(&entries))
}

/// The keys of a JWK set; the entries that are no usable JWK are skipped, and named.
fn set_of(entries: &[Value]) -> Read {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        match jwk(entry) {
            Ok(key) => found.push(key),
            Err(why) => skipped.push(format!("key {} ({why})", i + 1)),
        }
    }
    Read::Keys { keys: found, set: true, skipped }
}

fn jwk(value: &Value) -> Result<Key, String> {
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
    let kty = text("kty").ok_or("a JWK without a \"kty\" string")?;
    // RFC 7517 §4.2: a key for another use than signatures is not one for tok.
    if let Some(other) = text("use").filter(|u| u != "sig") {
        return Err(format!("a JWK for \"use\": \"{}\", not for signatures", crate::term::printable(&other)));
    }
    let parsed: Jwk =
        serde_json::from_value(value.clone()).map_err(|e| format!("a JWK tok cannot read ({e})"))?;
    let unusable = || format!("a JWK of kty {}, which tok cannot use", crate::term::printable(&kty));
    let family = match &parsed.algorithm {
        AlgorithmParameters::RSA(_) => Family::Rsa,
        AlgorithmParameters::EllipticCurve(p) => Family::Ec(match p.curve {
            EllipticCurve::P256 => Curve::P256,
            EllipticCurve::P384 => Curve::P384,
            _ => Curve::Other,
        }),
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            // jsonwebtoken slices the first 32 bytes of x: anything shorter must stop here.
            if URL_SAFE.decode(&p.x).map(|x| x.len()) != Ok(32) {
                return Err("an Ed25519 JWK whose x is not 32 bytes of base64url".into());
            }
            Family::Ed
        }
        AlgorithmParameters::OctetKey(_) => Family::Hmac,
        _ => return Err(unusable()),
    };
    let role = match family {
        Family::Hmac => Role::Secret,
        _ if value.get("d").is_some() => Role::Private,
        _ => Role::Public,
    };
    Ok(Key {
        family,
        role,
        format: "JWK".into(),
        kid: text("kid"),
        alg: text("alg"),
        material: Material::Jwk(Box::new(parsed)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn utf16(text: &str, little: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if little { [0xff, 0xfe] } else { [0xfe, 0xff] });
        }
        for unit in text.encode_utf16() {
            out.extend(if little { unit.to_le_bytes() } else { unit.to_be_bytes() });
        }
        out
    }

    fn hex_of(bytes: &[u8], upper: bool, sep: &str) -> String {
        let pairs: Vec<String> =
            bytes.iter().map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") }).collect();
        pairs.join(sep)
    }

    /// What `read` makes of bytes: the one key's (family, role, format), or a verdict.
    fn verdict(bytes: &[u8]) -> String {
        match read(bytes) {
            Read::Keys { keys, set: false, .. } if keys.len() == 1 => {
                let k = &keys[0];
                format!("{:?} {:?} {}", k.family, k.role, k.format)
            }
            Read::Keys { keys, set, .. } => format!("{} keys set={set}", keys.len()),
            Read::Unusable(_) => "unusable".into(),
            Read::NotAKey(_) => "not a key".into(),
        }
    }

    #[test]
    fn every_form_of_a_public_key_reads_as_that_key() {
        let pem = String::from_utf8(fixture("rsa-public.pem")).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(&body).unwrap();
        let pkcs1 = String::from_utf8(fixture("rsa-pkcs1-public.pem")).unwrap();
        let pkcs1_body: String = pkcs1.lines().filter(|l| !l.starts_with("-----")).collect();
        let spki = "Rsa Public PEM SPKI";
        let table: Vec<(&str, Vec<u8>, &str)> = vec![
            ("PEM", pem.clone().into_bytes(), spki),
            ("CRLF PEM", pem.replace('\n', "\r\n").into_bytes(), spki),
            ("UTF-8 BOM", [&b"\xef\xbb\xbf"[..], pem.as_bytes()].concat(), spki),
            ("UTF-16 LE BOM", utf16(&pem.replace('\n', "\r\n"), true, true), spki),
            ("UTF-16 BE BOM", utf16(&pem, false, true), spki),
            ("UTF-16 LE no BOM", utf16(&pem, true, false), spki),
            ("tab in label", pem.replace("BEGIN PUBLIC", "BEGIN\tPUBLIC").into_bytes(), spki),
            ("spaces in label", pem.replace("PUBLIC KEY", "PUBLIC   KEY").into_bytes(), spki),
            ("indented and padded", format!("\n\n   {}\n\n", pem.replace('\n', "\n   ")).into_bytes(), spki),
            ("one line", pem.replace('\n', " ").into_bytes(), spki),
            ("escaped newlines", pem.replace('\n', "\\n").into_bytes(), spki),
            ("DER", der.clone(), "Rsa Public DER SPKI"),
            ("DER and newline", [&der[..], b"\n"].concat(), "Rsa Public DER SPKI"),
            ("DER and CRLF", [&der[..], b"\r\n"].concat(), "Rsa Public DER SPKI"),
            ("base64 SPKI", body.clone().into_bytes(), "Rsa Public base64 DER SPKI"),
            ("base64 SPKI and newline", format!("{body}\n").into_bytes(), "Rsa Public base64 DER SPKI"),
            ("base64url SPKI", URL_SAFE.encode(&der).into_bytes(), "Rsa Public base64 DER SPKI"),
            (
                "wrapped base64",
                pem.lines().filter(|l| !l.starts_with("---")).collect::<Vec<_>>().join("\n").into_bytes(),
                "Rsa Public base64 DER SPKI",
            ),
            ("UTF-16 base64", utf16(&body, true, true), "Rsa Public base64 DER SPKI"),
            ("base64 PKCS#1", pkcs1_body.into_bytes(), "Rsa Public base64 DER PKCS#1"),
            ("PKCS#1 PEM", pkcs1.into_bytes(), "Rsa Public PEM PKCS#1"),
            ("certificate", fixture("rsa-cert.pem"), "Rsa Certificate PEM X.509 certificate"),
            ("EC", fixture("ec-public.pem"), "Ec(P256) Public PEM SPKI"),
            ("EC P-384", fixture("ec384-public.pem"), "Ec(P384) Public PEM SPKI"),
            ("Ed25519", fixture("ed25519-public.pem"), "Ed Public PEM SPKI"),
            ("SEC1 after EC PARAMETERS", fixture("ec-sec1-private.pem"), "Ec(P256) Private PEM SEC1"),
            ("hex DER", hex_of(&der, false, "").into_bytes(), "Rsa Public hex DER SPKI"),
            ("HEX DER", hex_of(&der, true, "").into_bytes(), "Rsa Public hex DER SPKI"),
            ("hex with colons", hex_of(&der, false, ":").into_bytes(), "Rsa Public hex DER SPKI"),
            ("hex with spaces", hex_of(&der, true, " ").into_bytes(), "Rsa Public hex DER SPKI"),
            (
                "wrapped hex",
                hex_of(&der, false, "").replace("0", "0\n").into_bytes(),
                "Rsa Public hex DER SPKI",
            ),
            (
                "lower-case labels",
                pem.replace("BEGIN PUBLIC KEY", "begin public key")
                    .replace("END PUBLIC KEY", "end public key")
                    .into_bytes(),
                spki,
            ),
            ("four dashes", pem.replace("-----", "----").into_bytes(), spki),
            ("three dashes", pem.replace("-----", "---").into_bytes(), spki),
            ("six dashes", pem.replace("-----", "------").into_bytes(), spki),
            ("mixed-case label", pem.replace("BEGIN PUBLIC KEY", "Begin Public Key").into_bytes(), spki),
            (
                "spaces inside the dashes",
                pem.replace("-----BEGIN", "----- BEGIN").replace("KEY-----", "KEY -----").into_bytes(),
                spki,
            ),
            (
                "UTF-16 lower-case labels",
                utf16(
                    &pem.replace("BEGIN PUBLIC KEY", "begin public key")
                        .replace("END PUBLIC KEY", "end public key"),
                    true,
                    true,
                ),
                spki,
            ),
        ];
        for (name, bytes, want) in table {
            assert_eq!(verdict(&bytes), want, "{name}");
        }
    }

    #[test]
    fn jwks_and_what_is_no_key() {
        let rsa = r#"{"kty":"RSA","kid":"r1","alg":"RS256","n":"sXch","e":"AQAB"}"#;
        let ec = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        let table: Vec<(&str, String, &str)> = vec![
            ("JWK", rsa.into(), "Rsa Public JWK"),
            ("JWK with BOM", format!("\u{feff}{rsa}"), "Rsa Public JWK"),
            ("escaped kty", rsa.replace("\"kty\"", r#""k\u0074y""#), "Rsa Public JWK"),
            ("EC JWK", ec.into(), "Ec(P256) Public JWK"),
            ("private JWK", rsa.replace('}', r#","d":"AAAA"}"#), "Rsa Private JWK"),
            ("oct JWK", r#"{"kty":"oct","k":"c2VjcmV0"}"#.into(), "Hmac Secret JWK"),
            ("set", format!(r#"{{"keys":[{rsa},{ec}]}}"#), "2 keys set=true"),
            ("escaped keys", format!(r#"{{"k\u0065ys":[{rsa}]}}"#), "1 keys set=true"),
            ("short Ed25519 x", r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#.into(), "unusable"),
            ("encryption key", rsa.replace("RS256\"", "RS256\",\"use\":\"enc\""), "unusable"),
            ("unknown kty", r#"{"kty":"AKP","x":"y"}"#.into(), "unusable"),
            ("broken JSON", "{\"kty\":".into(), "unusable"),
            ("keys not a list", r#"{"keys":{}}"#.into(), "unusable"),
            ("JSON without kty", r#"{"k":1}"#.into(), "not a key"),
            ("OpenSSH", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI user@host".into(), "unusable"),
            ("encrypted PEM", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n".into(), "unusable"),
            ("legacy encrypted PEM", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n".into(), "unusable"),
            ("PEM garbage", "-----BEGIN garbage".into(), "unusable"),
            ("PEM of no key", "-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n".into(), "unusable"),
            ("a secret", "a long shared secret with spaces".into(), "not a key"),
            ("a base64 secret", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0".into(), "not a key"),
            ("one letter", "k".into(), "not a key"),
            ("a hex secret", "00112233445566778899aabbccddeeff".into(), "not a key"),
            ("a secret with dashes", "my-shared--secret".into(), "not a key"),
            // Written as a key, though no key can be read from it: never a secret either.
            ("broken lower-case PEM", "-----begin public key-----\nnot base64!\n-----end public key-----\n".into(), "unusable"),
            ("PEM without END", "----begin public key----\nMIIBIjANBgkq\n".into(), "unusable"),
            ("armour words", "xx--BEGIN yy".into(), "unusable"),
            ("hex of a bare SEQUENCE", "30:03:61:62:63".into(), "unusable"),
            ("base64 of a bare SEQUENCE", "MANhYmM=".into(), "unusable"),
            ("quoted JWK", r#""{\"kty\":\"RSA\"}""#.into(), "unusable"),
        ];
        for (name, text, want) in table {
            assert_eq!(verdict(text.as_bytes()), want, "{name}");
        }
        // Shaped as DER (a SEQUENCE exactly as long as the rest): refused, not a secret.
        assert_eq!(verdict(b"\x30\x03abc"), "unusable");
        assert_eq!(verdict(b"\x30\x05abc"), "not a key");
        assert_eq!(verdict(&[0xff, 0x00, 0x80]), "not a key");
        let Read::Keys { keys, .. } = read(rsa.as_bytes()) else { panic!() };
        assert_eq!((keys[0].kid.as_deref(), keys[0].alg.as_deref()), (Some("r1"), Some("RS256")));
    }

    #[test]
    fn jwk_lists_and_wrapped_jwks_are_keys() {
        let rsa = r#"{"kty":"RSA","kid":"r1","n":"sXch","e":"AQAB"}"#;
        let table: Vec<(&str, String, &str)> = vec![
            ("list of one", format!("[{rsa}]"), "1 keys set=true"),
            ("list of two", format!(" [{rsa}, {rsa}]\n"), "2 keys set=true"),
            ("list with BOM", format!("\u{feff}[{rsa}]"), "1 keys set=true"),
            ("wrapped", format!(r#"{{"jwk":{rsa}}}"#), "Rsa Public JWK"),
            ("wrapped no JWK", r#"{"jwk":{"n":"x"}}"#.into(), "unusable"),
            ("list of one no JWK", r#"[{"n":"x"}]"#.into(), "0 keys set=true"),
            ("empty list", "[]".into(), "not a key"),
            ("list of strings", r#"["a","b"]"#.into(), "not a key"),
            ("use sig", rsa.replace('}', r#","use":"sig"}"#), "Rsa Public JWK"),
            ("use other", rsa.replace('}', r#","use":"wrap"}"#), "unusable"),
            ("a bracketed secret", "[not json] secret".into(), "not a key"),
        ];
        for (name, text, want) in table {
            assert_eq!(verdict(text.as_bytes()), want, "{name}");
        }
        assert_eq!(verdict(&utf16(&format!("[{rsa}]"), true, true)), "1 keys set=true");
    }
}
