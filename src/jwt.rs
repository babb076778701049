//! Reading JWTs (RFC 7519) without trusting them.
//!
//! tok decodes a token to learn when it expires; it never needs the signature for that.
//! Every way a token can be malformed is an error value with a message a person can act
//! on ("payload is not valid base64url"), never a panic, whatever the input.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};
use std::fmt;

/// base64url as JWTs use it: no padding, but tolerate padding from sloppy issuers.
pub const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone)]
pub struct Jwt {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    /// `header.payload` as sent: what the signature covers.
    pub signing_input: String,
    /// The third segment, still base64url.
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    Segments(usize),
    Base64(&'static str),
    Json(&'static str, String),
    NotObject(&'static str),
    NoAlg,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => write!(f, "the token is empty"),
            DecodeError::Segments(5) => {
                write!(f, "the token has 5 segments: an encrypted JWT (JWE), which tok cannot read")
            }
            DecodeError::Segments(n) => {
                write!(f, "a JWT has 3 dot-separated segments (header.payload.signature); this one has {n}")
            }
            DecodeError::Base64(part) => write!(f, "the {part} is not valid base64url"),
            DecodeError::Json(part, err) => write!(f, "the {part} is not valid JSON: {err}"),
            DecodeError::NotObject(part) => write!(f, "the {part} is not a JSON object"),
            DecodeError::NoAlg => write!(f, "the header has no \"alg\" string"),
        }
    }
}

impl std::error::Error for DecodeError {}

pub fn decode(token: &str) -> Result<Jwt, DecodeError> {
    if token.is_empty() {
        return Err(DecodeError::Empty);
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(DecodeError::Segments(parts.len()));
    }
    let header = object(parts[0], "header")?;
    if !matches!(header.get("alg"), Some(Value::String(_))) {
        return Err(DecodeError::NoAlg);
    }
    let payload = object(parts[1], "payload")?;
    B64URL.decode(parts[2]).map_err(|_| DecodeError::Base64("signature"))?;
    Ok(Jwt {
        header,
        payload,
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature: parts[2].to_string(),
    })
}

fn object(segment: &str, part: &'static str) -> Result<Map<String, Value>, DecodeError> {
    let bytes = B64URL.decode(segment).map_err(|_| DecodeError::Base64(part))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(DecodeError::NotObject(part)),
        Err(err) => Err(DecodeError::Json(part, err.to_string())),
    }
}

impl Jwt {
    /// A NumericDate claim. Integers and fractions both occur in the wild (NetDirector
    /// V1 sends `1682427186.3834850788116455`); anything else counts as absent.
    pub fn time(&self, claim: &str) -> Option<f64> {
        self.payload.get(claim).and_then(Value::as_f64).filter(|t| t.is_finite())
    }

    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// RFC 7515 §4.1.11: header parameters named in `crit` must be understood by the
    /// verifier, or the token is invalid. tok understands no extension (`b64` of RFC 7797
    /// would change what the signature covers), so any `crit` fails verification, and so
    /// does a malformed one.
    pub fn critical(&self) -> Result<(), String> {
        let Some(crit) = self.header.get("crit") else { return Ok(()) };
        let names: Option<Vec<&str>> = crit.as_array().and_then(|a| a.iter().map(Value::as_str).collect());
        match names {
            Some(names) if !names.is_empty() => {
                let names: Vec<String> =
                    names.iter().map(|n| format!("\"{}\"", crate::term::printable(n))).collect();
                Err(format!(
                    "the token's header marks {} as critical (crit), and tok understands no header \
                     extension: a verifier must then refuse the token (RFC 7515 §4.1.11)",
                    names.join(", ")
                ))
            }
            _ => Err("the token's crit header is not a list of parameter names (RFC 7515 §4.1.11)".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgen::XorShift;

    fn enc(json: &str) -> String {
        B64URL.encode(json)
    }

    #[test]
    fn decodes_integer_and_fractional_times() {
        let t = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"HS256","typ":"JWT"}"#),
            enc(r#"{"iat":1682427186.3834850788116455,"exp":1683031986,"sub":"x"}"#),
            enc("sig")
        );
        let jwt = decode(&t).unwrap();
        assert_eq!(jwt.time("exp"), Some(1683031986.0));
        assert!((jwt.time("iat").unwrap() - 1682427186.383485).abs() < 1e-3);
        assert_eq!(jwt.time("nbf"), None);
    }

    #[test]
    fn bad_input_table() {
        let h = enc(r#"{"alg":"none"}"#);
        let p = enc(r#"{"exp":1}"#);
        let cases: Vec<(String, DecodeError)> = vec![
            (String::new(), DecodeError::Empty),
            ("abc".into(), DecodeError::Segments(1)),
            ("a.b".into(), DecodeError::Segments(2)),
            ("a.b.c.d.e".into(), DecodeError::Segments(5)),
            (format!("!!.{p}."), DecodeError::Base64("header")),
            (format!("{h}.%%.x"), DecodeError::Base64("payload")),
            (format!("{h}.{p}.*"), DecodeError::Base64("signature")),
            (format!("{}.{p}.", enc("[1]")), DecodeError::NotObject("header")),
            (format!("{}.{p}.", enc(r#"{"typ":"JWT"}"#)), DecodeError::NoAlg),
            (format!("{h}.{}.", enc("3")), DecodeError::NotObject("payload")),
        ];
        for (token, want) in cases {
            assert_eq!(decode(&token).unwrap_err(), want, "{token}");
        }
        let err = decode(&format!("{h}.{}.", enc("{nope"))).unwrap_err();
        assert!(matches!(err, DecodeError::Json("payload", _)), "{err:?}");
        assert!(err.to_string().starts_with("the payload is not valid JSON"));
    }

    /// The decoder's properties over many generated inputs: it never panics, and what it
    /// accepts really is three segments whose header names an algorithm.
    fn check(input: &str) {
        if let Ok(jwt) = decode(input) {
            assert!(jwt.header.get("alg").is_some_and(Value::is_string), "{input:?}");
            assert_eq!(format!("{}.{}", jwt.signing_input, jwt.signature), input);
        }
    }

    #[test]
    fn property_no_input_panics() {
        let mut rng = XorShift(0x5eed_1234_abcd_ef01);
        let valid = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"HS256","typ":"JWT"}"#),
            enc(r#"{"sub":"1234567890","iat":1516239022.5,"exp":1e300,"nested":{"a":[1,2,{"b":null}]}}"#),
            enc("signature-bytes")
        );
        let pieces = [
            "{",
            "}",
            "\"alg\"",
            ":",
            "\"HS256\"",
            ",",
            "[",
            "]",
            "1e999",
            "-0",
            "\"\\u0000\"",
            "null",
            "\"\\ud800\"",
        ];
        for _ in 0..20_000 {
            // Raw bytes, as text however broken.
            check(&String::from_utf8_lossy(&rng.bytes(64)));
            // A valid token, mutated: flipped, dropped or inserted characters.
            check(&String::from_utf8_lossy(&rng.mutate(valid.as_bytes())));
            // Well-encoded segments around JSON-ish fragments.
            let json: String = (0..rng.below(12)).map(|_| rng.pick(&pieces)).collect();
            let segments = 1 + rng.below(4);
            let token: Vec<String> = (0..segments)
                .map(|i| if i < 2 { enc(&json) } else { enc(&rng.bytes(8).escape_ascii().to_string()) })
                .collect();
            check(&token.join("."));
        }
        // Large and deeply nested inputs fail cleanly too.
        check(&"a".repeat(5_000_000));
        check(&format!("{}.{}.", enc(r#"{"alg":"x"}"#), enc(&"[".repeat(100_000))));
    }

    #[test]
    fn crit_table() {
        let cases: [(&str, Option<&str>); 6] = [
            (r#"{"alg":"RS256"}"#, None),
            (r#"{"alg":"RS256","crit":["exp"],"exp":1}"#, Some("\"exp\" as critical")),
            (r#"{"alg":"RS256","crit":["b64"],"b64":false}"#, Some("\"b64\" as critical")),
            (r#"{"alg":"RS256","crit":[]}"#, Some("not a list")),
            (r#"{"alg":"RS256","crit":"b64"}"#, Some("not a list")),
            (r#"{"alg":"RS256","crit":[1]}"#, Some("not a list")),
        ];
        for (header, want) in cases {
            let jwt = decode(&format!("{}.{}.", enc(header), enc("{}"))).unwrap();
            match (jwt.critical(), want) {
                (Ok(()), None) => {}
                (Err(e), Some(piece)) => assert!(e.contains(piece) && e.contains("7515"), "{header}: {e}"),
                (got, _) => panic!("{header}: {got:?}"),
            }
        }
    }

    #[test]
    fn non_numeric_times_are_absent() {
        let t = format!("{}.{}.", enc(r#"{"alg":"none"}"#), enc(r#"{"exp":"soon","iat":null}"#));
        let jwt = decode(&t).unwrap();
        assert_eq!(jwt.time("exp"), None);
        assert_eq!(jwt.time("iat"), None);
    }
}
