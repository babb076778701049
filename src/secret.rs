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

mod canon;

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

/// Replaced tokens remembered at most. Everything else is kept for the life of the
/// process: a password, a client secret, an API key, a refresh token or `tok proxy`'s
/// capability is as dangerous in a log after a week as in the first minute. Only tokens
/// the process itself replaced (see [`retire`]) may be forgotten, oldest first, so the
/// stream of tokens a long-running proxy sees costs bounded memory.
const MAX_RETIRED: usize = 256;

/// The whole-line net in `term::line` catches only values this long...
const NET_MIN: usize = 16;

/// A remembered secret, and what to look for once a scrub has needed it.
struct Known {
    value: String,
    needles: Option<Needles>,
}

/// A secret's raw forms (itself, base64) for the text as it is, and the same forms
/// decoded as [`canon`] decodes text, for the text decoded.
struct Needles {
    raw: Vec<Vec<u8>>,
    decoded: Vec<Vec<u8>>,
    token_like: bool,
}

impl Needles {
    fn of(value: &str) -> Needles {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        let mut raw: Vec<Vec<u8>> = vec![
            value.as_bytes().to_vec(),
            STANDARD.encode(value).into_bytes(),
            STANDARD_NO_PAD.encode(value).into_bytes(),
            URL_SAFE_NO_PAD.encode(value).into_bytes(),
        ];
        raw.retain(|n| n.len() >= MIN_SCRUBBED);
        raw.dedup();
        let mut decoded: Vec<Vec<u8>> = raw.iter().map(|n| canon::canon(n).bytes).collect();
        decoded.retain(|n| n.len() >= MIN_SCRUBBED);
        decoded.sort_unstable();
        decoded.dedup();
        Needles { raw, decoded, token_like: token_like(value) }
    }
}

/// Long, unbroken, letters and digits mixed: a token, a key or a capability, which no
/// message of tok's own contains, so cutting it from a whole line cannot cut tok's words
/// (and so tell the reader a password that happens to be one of them).
fn token_like(value: &str) -> bool {
    value.len() >= NET_MIN
        && !value.chars().any(char::is_whitespace)
        && value.bytes().any(|b| b.is_ascii_digit())
        && value.bytes().any(|b| b.is_ascii_alphabetic())
}

/// The secrets a process has seen: those it keeps (`lasting`) and tokens it replaced.
struct Registry {
    lasting: Vec<Known>,
    retired: VecDeque<Known>,
}

impl Registry {
    const fn new() -> Registry {
        Registry { lasting: Vec::new(), retired: VecDeque::new() }
    }

    fn register(&mut self, value: &str) {
        if value.len() < MIN_SCRUBBED || self.lasting.iter().any(|k| k.value == value) {
            return;
        }
        // A replaced token seen again is in use again.
        let known = match self.retired.iter().position(|k| k.value == value) {
            Some(at) => self.retired.remove(at).unwrap_or(Known { value: value.to_string(), needles: None }),
            None => Known { value: value.to_string(), needles: None },
        };
        self.lasting.push(known);
    }

    fn retire(&mut self, value: &str) {
        let Some(at) = self.lasting.iter().position(|k| k.value == value) else { return };
        self.retired.push_back(self.lasting.swap_remove(at));
        if self.retired.len() > MAX_RETIRED {
            self.retired.pop_front();
        }
    }

    /// `text` with every known secret (or, for the net, every token-like one) cut out,
    /// found in the text as it is and in the text decoded.
    fn scrub(&mut self, text: &str, net: bool) -> String {
        if self.lasting.is_empty() && self.retired.is_empty() {
            return text.to_string();
        }
        let decoded = canon::has_escapes(text.as_bytes()).then(|| canon::canon(text.as_bytes()));
        let mut cuts = Vec::new();
        for known in self.lasting.iter_mut().chain(self.retired.iter_mut()) {
            let needles = known.needles.get_or_insert_with(|| Needles::of(&known.value));
            if net && !needles.token_like {
                continue;
            }
            for needle in &needles.raw {
                find_all(text.as_bytes(), needle, |start, end| cuts.push((start, end)));
            }
            // Without escapes the text is its own decoded form.
            let (bytes, spans) = match &decoded {
                Some(d) => (&d.bytes[..], Some(&d.spans)),
                None => (text.as_bytes(), None),
            };
            for needle in &needles.decoded {
                find_all(bytes, needle, |start, end| {
                    cuts.push(spans.map_or((start, end), |s| (s[start].0, s[end - 1].1)))
                });
            }
        }
        cut(text, cuts)
    }
}

/// Calls `found` with the range of every occurrence of `needle` in `hay`.
fn find_all(hay: &[u8], needle: &[u8], mut found: impl FnMut(usize, usize)) {
    let Some(&first) = needle.first() else { return };
    if hay.len() < needle.len() {
        return;
    }
    for at in 0..=hay.len() - needle.len() {
        if hay[at] == first && hay[at..].starts_with(needle) {
            found(at, at + needle.len());
        }
    }
}

/// `text` with each range (merged where they overlap) replaced by `(redacted)`.
fn cut(text: &str, mut cuts: Vec<(usize, usize)>) -> String {
    if cuts.is_empty() {
        return text.to_string();
    }
    cuts.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (mut start, mut end) in cuts {
        // Whole characters only (a match always starts and ends on one; this keeps it so).
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if start >= at {
            out.push_str(&text[at..start]);
            out.push_str(REDACTED);
        }
        // An overlapping range extends the cut before it.
        at = at.max(end);
    }
    out.push_str(&text[at..]);
    out
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
    registry().scrub(text, false)
}

/// The net under every line tok writes: only token-like secrets (see `token_like`), which
/// cannot collide with tok's wording, so a forgotten [`outside`] cannot leak a token or a
/// key, and a password that is an ordinary word is never cut from tok's own sentence.
pub fn scrub_tokens(text: &str) -> String {
    registry().scrub(text, true)
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

    /// Encoders for the table: how servers write a secret back.
    fn json_all(s: &str, upper: bool) -> String {
        s.encode_utf16().map(|u| if upper { format!("\\u{u:04X}") } else { format!("\\u{u:04x}") }).collect()
    }
    fn html_named(s: &str) -> String {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    }
    fn html_numeric(s: &str, hex: bool) -> String {
        s.chars()
            .map(|c| if hex { format!("&#x{:x};", c as u32) } else { format!("&#{};", c as u32) })
            .collect()
    }
    fn percent(s: &str, upper: bool, keep: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || keep.as_bytes().contains(&b) {
                    (b as char).to_string()
                } else if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    }

    #[test]
    fn every_encoding_of_a_secret_is_cut() {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let secrets = ["a&b/c<d\"e ü+f=%g;h\\i", "Hunter2-secret!", "pass:wörd/é😀"];
        for secret in secrets {
            let mut r = Registry::new();
            r.register(secret);
            let json = serde_json::to_string(secret).unwrap().trim_matches('"').to_string();
            let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            let forms = [
                ("raw", secret.to_string()),
                ("json", json.clone()),
                ("json \\/", json.replace('/', "\\/")),
                ("json \\u00xx of every char", json_all(secret, false)),
                ("json \\u00XX of every char", json_all(secret, true)),
                ("html named", html_named(secret)),
                ("html decimal", html_numeric(secret, false)),
                ("html hex", html_numeric(secret, true)),
                ("percent upper", percent(secret, true, "")),
                ("percent lower", percent(secret, false, "")),
                ("percent, / and : raw", percent(secret, false, "/:")),
                ("form (+ for space)", form.clone()),
                ("form, %20", form.replace('+', "%20")),
                ("form inside json, escaped", json_all(&form, false)),
                ("json inside html", html_named(&json)),
                ("percent twice", percent(&percent(secret, true, ""), false, "")),
                ("base64", STANDARD.encode(secret)),
                ("base64url", URL_SAFE_NO_PAD.encode(secret)),
            ];
            for (what, form) in forms {
                let text = format!("you sent {{\"p\":\"{form}\"}}; request req-1");
                assert_eq!(
                    r.scrub(&text, false),
                    "you sent {\"p\":\"(redacted)\"}; request req-1",
                    "{what}: {form}"
                );
            }
        }
    }

    #[test]
    fn only_the_secret_is_cut() {
        let mut r = Registry::new();
        r.register("s3cr3t");
        let table = [
            // Escapes around the secret survive as they were.
            ("a &amp; s3cr3t &lt; b", "a &amp; (redacted) &lt; b"),
            (r"x\u0073\u0033cr3t\n", r"x(redacted)\n"),
            ("%41s3cr3t%42", "%41(redacted)%42"),
            ("s3cr3ts3cr3t", "(redacted)(redacted)"),
            ("ü s3cr3t ü", "ü (redacted) ü"),
            ("s3cr3", "s3cr3"),
            ("nothing here", "nothing here"),
        ];
        for (text, want) in table {
            assert_eq!(r.scrub(text, false), want, "{text}");
        }
        // Overlapping finds make one cut.
        let mut r = Registry::new();
        r.register("abcdef");
        r.register("defghi");
        assert_eq!(r.scrub("x abcdefghi y", false), "x (redacted) y");
    }

    /// A password that is a word of tok's own message: the net under every line leaves
    /// tok's wording whole; only outside text is scrubbed in full.
    #[test]
    fn tok_wording_stays_whole() {
        let mut r = Registry::new();
        for word in ["NexterPay", "rejected", "wrong", "body", "credentials"] {
            r.register(word);
        }
        let token = "eyJhbGciOi.J9x-7Qw3rT5yU8iO";
        r.register(token);
        let line = "NexterPay rejected the credentials (wrong body)";
        assert_eq!(r.scrub(line, true), line);
        assert_eq!(r.scrub(&format!("{line}: {token}"), true), format!("{line}: (redacted)"));
        assert_eq!(r.scrub("server said: rejected", false), "server said: (redacted)");
        let table = [
            ("eyJhbGciOi.J9x-7Qw3rT5yU8iO", true),
            ("OnlyLettersAndNoDigits", false),
            ("correct horse battery staple 1", false),
            ("authentication-token", false),
            ("Hunter2-secret!", false),
            ("0123456789abcdef", true),
        ];
        for (value, want) in table {
            assert_eq!(token_like(value), want, "{value}");
        }
    }

    #[test]
    fn long_lived_secrets_are_never_forgotten() {
        let mut r = Registry::new();
        let capability = "Zk3_q9XbT0aLw-2nPr7sVy4uEc1oHd8m";
        r.register(capability);
        r.register("a-password");
        // More secrets than the old registry held, all kept.
        for n in 0..300 {
            r.register(&format!("other-secret-{n}"));
        }
        // And a proxy's stream of tokens, each replaced by the next.
        for n in 0..1000 {
            let token = format!("token-{n:06}-abcdefgh");
            r.register(&token);
            if n > 0 {
                r.retire(&format!("token-{:06}-abcdefgh", n - 1));
            }
        }
        let text = format!("GET /{capability}/x a-password other-secret-0 token-000999-abcdefgh");
        assert_eq!(r.scrub(&text, false), "GET /(redacted)/x (redacted) (redacted) (redacted)");
        assert_eq!(r.scrub(&text, true), "GET /(redacted)/x a-password other-secret-0 (redacted)");
        // Bounded: only replaced tokens are forgotten, the oldest first.
        assert_eq!(r.retired.len(), MAX_RETIRED);
        assert_eq!(r.lasting.len(), 2 + 300 + 1);
        assert_eq!(r.scrub("token-000000-abcdefgh", false), "token-000000-abcdefgh");
        assert_eq!(r.scrub("token-000998-abcdefgh", false), "(redacted)");
        // A replaced token seen again is kept again.
        r.register("token-000998-abcdefgh");
        assert_eq!(r.retired.len(), MAX_RETIRED - 1);
        // Retiring a password by mistake is not possible for one never registered.
        r.retire("never-known");
        assert_eq!(r.lasting.len(), 2 + 300 + 2);
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
