//! A string that must not leak.
//!
//! Passwords, client secrets, API keys and tokens all travel in `Secret`. Its `Debug`
//! prints `(redacted)`, it has no `Display`, and getting at the text takes an explicit
//! `expose()`, which is easy to grep for. The bytes are overwritten when it is dropped.
//!
//! Every secret value the process has seen is also remembered so that [`scrub`] can cut
//! it out of text from outside tok (a server that echoes the request puts a short
//! password right into its error body), in whatever escapes the text uses. Only outside
//! text is scrubbed ([`outside`]): cutting a password that is a word of tok's own
//! sentence would show it. Under every line lies a net for long token-like values.

mod canon;
mod registry;

use registry::Registry;
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
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

static KNOWN: Mutex<Registry> = Mutex::new(Registry::new());

/// The registry, also after a panic elsewhere held the lock: scrubbing must go on.
fn registry() -> std::sync::MutexGuard<'static, Registry> {
    KNOWN.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Remembers `value` as text that `scrub` removes, in every form it takes in JSON, HTML,
/// forms, URLs and base64, for the life of the process. Called for every `Secret` (so for
/// the token a cached `tok print` reads); what to look for is worked out only when
/// something is scrubbed, which the cached path never does. Callers add derived
/// credentials (a Basic header's base64) themselves.
pub fn register(value: &str) {
    registry().register(value);
}

/// `value`, a token the process replaced with a newer one, may be forgotten once
/// `MAX_RETIRED` tokens were replaced after it. Never for passwords, keys or capabilities.
pub fn retire(value: &str) {
    registry().retire(value);
}

/// `text` with every known secret value (in each of its forms) replaced by `(redacted)`.
/// For text from outside tok (see [`outside`]); tok's own words are never passed here.
pub fn scrub(text: &str) -> String {
    registry().scrub(text, false).into_owned()
}

/// The net under every line tok writes: only token-like secrets (see `token_like`), which
/// cannot collide with tok's wording, so a forgotten [`outside`] cannot leak a token or a
/// key, and a password that is an ordinary word is never cut from tok's own sentence.
pub fn scrub_tokens(text: &str) -> Cow<'_, str> {
    registry().scrub(text, true)
}

/// For an error about a value the user typed where tok takes one of `choices` (an
/// environment, a mode, `--auth`): never the value itself, which may be a secret typed in
/// the wrong place, only the choice it is a near miss of, as " (did you mean 'uat'?)".
pub fn near_miss(value: &str, choices: &[&str]) -> String {
    match crate::profile::closest(value, choices.iter().copied()) {
        Some(choice) => format!(" (did you mean '{choice}'?)"),
        None => String::new(),
    }
}

/// Text that came from outside tok (a server's reply or header, a value from the
/// environment or a config file, output tok relays, a path a client sent): shown with
/// known secrets cut out. Every message that embeds such text wraps it, and only it:
/// `format!("{} rejected the credentials: {}", provider, outside(reply))`.
pub struct Outside<T>(T);

pub fn outside<T: fmt::Display>(text: T) -> Outside<T> {
    Outside(text)
}

impl<T: fmt::Display> fmt::Display for Outside<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&scrub(&self.0.to_string()))
    }
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
    fn outside_text_is_scrubbed_and_tok_text_is_not() {
        Secret::new("outside-test-password");
        let message = format!("login failed: {}", outside("server: outside-test-password is wrong"));
        assert_eq!(message, "login failed: server: (redacted) is wrong");
        assert_eq!(scrub_tokens("outside-test-password"), "outside-test-password");
    }

    #[test]
    fn serde_is_transparent() {
        let s: Secret = serde_json::from_str("\"x y\"").unwrap();
        assert_eq!(s.expose(), "x y");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"x y\"");
    }
}
