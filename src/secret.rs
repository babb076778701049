//! A string that must not leak.
//!
//! Passwords, client secrets, API keys and tokens all travel in `Secret`. Its `Debug`
//! prints `(redacted)`, it has no `Display`, and getting at the text takes an explicit
//! `expose()`, which is easy to grep for. The bytes are overwritten when it is dropped.
//!
//! Every secret value the process has seen is also remembered (with the forms it takes
//! on the wire: JSON-escaped, form- and percent-encoded, base64) so that [`scrub`] can
//! cut it out of anything shown to a person. Masking "long runs that look like tokens"
//! is not enough: a server that echoes the request puts a short password right into its
//! error body, and from there into tok's error message.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    /// Through `new`, so secrets read back from the store are known to `scrub` too.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// Shorter values would cut ordinary words out of messages; a secret that short is no
/// secret anyway.
const MIN_SCRUBBED: usize = 4;
const REDACTED: &str = "(redacted)";

/// Values remembered at most: a few secrets and tokens per command; a long-running
/// process sees new tokens for ever, and the oldest are the least likely to come back.
const MAX_KNOWN: usize = 256;

/// A remembered secret, and its wire forms once a scrub has needed them.
struct Known {
    value: String,
    forms: Option<Vec<String>>,
}

static KNOWN: Mutex<VecDeque<Known>> = Mutex::new(VecDeque::new());

/// Remembers `value` as text that `scrub` removes, in every form it takes in JSON, forms,
/// URLs and base64. Called for every `Secret` (so for the token a cached `tok print`
/// reads); the forms are worked out only when something is scrubbed, which the cached
/// path never does. Callers add derived credentials (a Basic header's base64) themselves.
pub fn register(value: &str) {
    if value.len() < MIN_SCRUBBED {
        return;
    }
    let Ok(mut known) = KNOWN.lock() else { return };
    if known.iter().any(|k| k.value == value) {
        return;
    }
    if known.len() >= MAX_KNOWN {
        known.pop_front();
    }
    known.push_back(Known { value: value.to_string(), forms: None });
}

/// `value` as it appears raw, JSON-escaped (`\/`, `\uXXXX` in either case), form- and
/// percent-encoded, and base64.
fn wire_forms(value: &str) -> Vec<String> {
    use base64::Engine;
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let ascii = ascii_json(&json, false);
    let upper = ascii_json(&json, true);
    let mut forms = vec![
        value.to_string(),
        json.replace('/', "\\/"),
        ascii.replace('/', "\\/"),
        upper.replace('/', "\\/"),
        ascii,
        upper,
        json,
        form.replace('+', "%20"),
        form,
        base64::engine::general_purpose::STANDARD.encode(value),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value),
    ];
    forms.retain(|f| f.len() >= MIN_SCRUBBED);
    forms.sort_unstable();
    forms.dedup();
    forms
}

/// JSON string content with every non-ASCII character as `\\uXXXX`, as many servers
/// write it (in lower or upper case hex).
fn ascii_json(json: &str, upper: bool) -> String {
    let mut out = String::new();
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&if upper { format!("\\u{unit:04X}") } else { format!("\\u{unit:04x}") });
            }
        }
    }
    out
}

/// `text` with every known secret value (in each of its forms) replaced by `(redacted)`.
pub fn scrub(text: &str) -> String {
    let Ok(mut known) = KNOWN.lock() else { return text.to_string() };
    let mut present: Vec<String> = Vec::new();
    for entry in known.iter_mut() {
        let forms = entry.forms.get_or_insert_with(|| wire_forms(&entry.value));
        present.extend(forms.iter().filter(|f| text.contains(f.as_str())).cloned());
    }
    if present.is_empty() {
        return text.to_string();
    }
    // Longest first, so a secret that contains another is cut whole.
    present.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut out = text.to_string();
    for value in present {
        out = out.replace(value.as_str(), REDACTED);
    }
    out
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: zero bytes are valid UTF-8, so the string stays well formed until freed.
        for byte in unsafe { self.0.as_bytes_mut() } {
            // A volatile write so the optimiser cannot drop a store to memory about to be freed.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "(redacted)");
        assert_eq!(format!("{:?}", Some(&s)), "Some((redacted))");
    }

    #[test]
    fn scrub_table() {
        Secret::new("Hunter2-secret!");
        Secret::new("s3cr3t/+?&=:%ü é");
        register("YWJjOmRlZg==");
        Secret::new("abc");
        let table = [
            (r#"you sent {"password":"Hunter2-secret!"}"#, r#"you sent {"password":"(redacted)"}"#),
            ("password=Hunter2-secret%21&x=1", "password=(redacted)&x=1"),
            (r#"{"client_secret":"s3cr3t\/+?&=:%\u00fc \u00e9"}"#, r#"{"client_secret":"(redacted)"}"#),
            (r#"{"client_secret":"s3cr3t/+?&=:%\u00FC \u00E9"}"#, r#"{"client_secret":"(redacted)"}"#),
            ("client_secret=s3cr3t%2F%2B%3F%26%3D%3A%25%C3%BC+%C3%A9", "client_secret=(redacted)"),
            ("auth: Basic YWJjOmRlZg==", "auth: Basic (redacted)"),
            // Too short to scrub without eating words; no secret that short is one.
            ("abc def", "abc def"),
            ("request_id req-3b7c", "request_id req-3b7c"),
        ];
        for (text, want) in table {
            assert_eq!(scrub(text), want, "{text}");
        }
        let stored: Secret = serde_json::from_str("\"from-the-store-42\"").unwrap();
        assert_eq!(scrub("x from-the-store-42 y"), "x (redacted) y");
        drop(stored);
    }

    #[test]
    fn serde_is_transparent() {
        let s: Secret = serde_json::from_str("\"x y\"").unwrap();
        assert_eq!(s.expose(), "x y");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"x y\"");
    }
}
