//! What the scrubber remembers and how it finds it.

use super::canon;
use std::borrow::Cow;
use std::collections::VecDeque;

/// Shorter values would cut ordinary words out of messages; a secret that short is no
/// secret anyway.
const MIN_SCRUBBED: usize = 4;
const REDACTED: &str = "(redacted)";

/// Replaced tokens remembered at most. Everything else is kept for the life of the
/// process: a password, a client secret, an API key, a refresh token or `tok proxy`'s
/// capability is as dangerous in a log after a week as in the first minute. Only tokens
/// the process itself replaced (see `secret::retire`) may be forgotten, oldest first, so
/// the stream of tokens a long-running proxy sees costs bounded memory.
pub(super) const MAX_RETIRED: usize = 256;

/// The whole-line net in `term::line` takes only values at least this long (`token_like`).
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
    /// Matched in any ASCII case: a server that echoes `HUNTER2-QUOKKA` still shows it.
    fold: bool,
}

/// Secrets at least this long are matched in any ASCII case; shorter ones would match
/// too many words that differ from them only in case.
const FOLD_MIN: usize = 8;

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
        Needles { raw, decoded, token_like: token_like(value), fold: value.chars().count() >= FOLD_MIN }
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
pub(super) struct Registry {
    lasting: Vec<Known>,
    retired: VecDeque<Known>,
    /// Built at the first scrub after a change.
    index: Option<Index>,
}

impl Registry {
    pub(super) const fn new() -> Registry {
        Registry { lasting: Vec::new(), retired: VecDeque::new(), index: None }
    }

    pub(super) fn register(&mut self, value: &str) {
        if value.len() < MIN_SCRUBBED || self.lasting.iter().any(|k| k.value == value) {
            return;
        }
        // A replaced token seen again is in use again.
        let known = match self.retired.iter().position(|k| k.value == value) {
            Some(at) => self.retired.remove(at).unwrap_or(Known { value: value.to_string(), needles: None }),
            None => {
                self.index = None;
                Known { value: value.to_string(), needles: None }
            }
        };
        self.lasting.push(known);
    }

    pub(super) fn retire(&mut self, value: &str) {
        let Some(at) = self.lasting.iter().position(|k| k.value == value) else { return };
        self.retired.push_back(self.lasting.swap_remove(at));
        if self.retired.len() > MAX_RETIRED {
            self.retired.pop_front();
            self.index = None;
        }
    }

    /// `text` with every known secret (or, for the net, every token-like one) cut out,
    /// found in the text as it is and in the text decoded.
    pub(super) fn scrub<'t>(&mut self, text: &'t str, net: bool) -> Cow<'t, str> {
        if self.lasting.is_empty() && self.retired.is_empty() {
            return Cow::Borrowed(text);
        }
        let index = self.index.get_or_insert_with(|| {
            let mut index = Index::default();
            for known in self.lasting.iter_mut().chain(self.retired.iter_mut()) {
                let needles = known.needles.get_or_insert_with(|| Needles::of(&known.value));
                for needle in &needles.raw {
                    index.raw.add(needle, needles.token_like, needles.fold);
                }
                for needle in &needles.decoded {
                    index.decoded.add(needle, needles.token_like, needles.fold);
                }
            }
            index
        });
        let mut cuts = Vec::new();
        index.raw.find(text.as_bytes(), net, |start, end| cuts.push((start, end)));
        if canon::has_escapes(text.as_bytes()) {
            let decoded = canon::canon(text.as_bytes());
            let spans = &decoded.spans;
            index
                .decoded
                .find(&decoded.bytes, net, |start, end| cuts.push((spans[start].0, spans[end - 1].1)));
        } else {
            // Without escapes the text is its own decoded form.
            index.decoded.find(text.as_bytes(), net, |start, end| cuts.push((start, end)));
        }
        cut(text, cuts)
    }
}

/// Every needle of every known secret, raw and decoded, by its first two bytes: one pass
/// over a text finds them all, however many secrets a long-running proxy knows.
#[derive(Default)]
struct Index {
    raw: NeedleSet,
    decoded: NeedleSet,
}

#[derive(Default)]
struct NeedleSet {
    /// Each needle, whether it is token-like (for the net), and whether any case matches.
    needles: Vec<(Vec<u8>, bool, bool)>,
    by_start: std::collections::HashMap<[u8; 2], Vec<usize>>,
    /// One bit per two-byte start: most positions of a text are passed over here.
    starts: Vec<u64>,
    /// The shortest needle, and the shortest token-like one: no needle starts closer to
    /// a text's end, and a text shorter (most log lines of `tok proxy`) is not searched.
    shortest: usize,
    shortest_token: usize,
}

impl NeedleSet {
    /// Needles are filed under their first two bytes in lower case, so one lookup per
    /// position serves the exact and the any-case ones alike.
    fn add(&mut self, needle: &[u8], token_like: bool, fold: bool) {
        let [a, b, ..] = needle else { return };
        let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
        if self.starts.is_empty() {
            self.starts = vec![0; 65536 / 64];
            (self.shortest, self.shortest_token) = (usize::MAX, usize::MAX);
        }
        self.shortest = self.shortest.min(needle.len());
        if token_like {
            self.shortest_token = self.shortest_token.min(needle.len());
        }
        let key = usize::from(a) << 8 | usize::from(b);
        self.starts[key / 64] |= 1 << (key % 64);
        self.by_start.entry([a, b]).or_default().push(self.needles.len());
        self.needles.push((needle.to_vec(), token_like, fold));
    }

    /// Calls `found` with the range of every occurrence of a needle in `hay`.
    fn find(&self, hay: &[u8], net: bool, mut found: impl FnMut(usize, usize)) {
        let shortest = if net { self.shortest_token } else { self.shortest };
        if self.needles.is_empty() || hay.len() < shortest {
            return;
        }
        // Every needle is two bytes long at least (MIN_SCRUBBED).
        for at in 0..=hay.len() - shortest {
            let (a, b) = (hay[at].to_ascii_lowercase(), hay[at + 1].to_ascii_lowercase());
            let key = usize::from(a) << 8 | usize::from(b);
            if self.starts[key / 64] & (1 << (key % 64)) == 0 {
                continue;
            }
            for &id in self.by_start.get(&[a, b]).into_iter().flatten() {
                let (needle, token_like, fold) = &self.needles[id];
                let Some(here) = hay.get(at..at + needle.len()) else { continue };
                let hit = if *fold { here.eq_ignore_ascii_case(needle) } else { here == needle.as_slice() };
                if (!net || *token_like) && hit {
                    found(at, at + needle.len());
                }
            }
        }
    }
}

/// `text` with each range (merged where they overlap) replaced by `(redacted)`.
fn cut(text: &str, mut cuts: Vec<(usize, usize)>) -> Cow<'_, str> {
    if cuts.is_empty() {
        return Cow::Borrowed(text);
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
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// HTML5 names for the punctuation in the table's secrets, the rest as it is.
    fn html5_named(s: &str) -> String {
        let names = [
            ('&', "&amp;"),
            ('/', "&sol;"),
            ('<', "&lt;"),
            ('"', "&quot;"),
            ('+', "&plus;"),
            ('=', "&equals;"),
            ('%', "&percnt;"),
            (';', "&semi;"),
            ('\\', "&bsol;"),
            ('-', "&hyphen;"),
            ('!', "&excl;"),
            (':', "&colon;"),
        ];
        s.chars()
            .map(|c| names.iter().find(|(n, _)| *n == c).map_or(c.to_string(), |(_, e)| e.to_string()))
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
                ("\\xNN of every byte", secret.bytes().map(|b| format!("\\x{b:02x}")).collect()),
                (
                    "python repr of bytes",
                    secret
                        .bytes()
                        .map(|b| match b {
                            b'\\' => "\\\\".to_string(),
                            b' '..=b'~' => (b as char).to_string(),
                            _ => format!("\\x{b:02x}"),
                        })
                        .collect(),
                ),
                ("\\NNN octal of every byte", secret.bytes().map(|b| format!("\\{b:03o}")).collect()),
                ("es6 \\u{..}", secret.chars().map(|c| format!("\\u{{{:x}}}", c as u32)).collect()),
                ("%uNNNN", secret.encode_utf16().map(|u| format!("%u{u:04X}")).collect()),
                ("html decimal without ;", secret.chars().map(|c| format!("&#{}", c as u32)).collect()),
                ("html hex without ;", secret.chars().map(|c| format!("&#x{:x}", c as u32)).collect()),
                ("html5 names", html5_named(secret)),
                ("html5 names in upper case", html5_named(secret).replace("&hyphen;", "&HYPHEN;")),
                ("upper case", secret.to_ascii_uppercase()),
                ("lower case", secret.to_ascii_lowercase()),
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
        // Escape-like garbage around secrets: never a panic, never a secret left whole.
        let mut r = Registry::new();
        r.register("ü&;%");
        r.register("x+ü😀");
        let alphabet: Vec<char> = "\\u%&#x;+0cfCF\"ü😀".chars().collect();
        let mut seed: u64 = 7;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(seed % 30) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                text.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            let out = r.scrub(&text, false);
            assert!(!out.contains("ü&;%") && !out.contains("x+ü😀"), "{text} -> {out}");
        }
        // Any case only for secrets of FOLD_MIN characters or more.
        let mut r = Registry::new();
        r.register("Ab3x");
        r.register("Hunter2-Quokka");
        assert_eq!(r.scrub("AB3X ab3x Ab3x", false), "AB3X ab3x (redacted)");
        assert_eq!(r.scrub("HUNTER2-QUOKKA hunter2-quokka", false), "(redacted) (redacted)");
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

    /// The search stops where the shortest needle no longer fits: a secret that ends the
    /// text, or is the whole text, is still found; a text one byte short of it is not searched.
    #[test]
    fn a_secret_at_the_end_of_a_text_is_cut() {
        let mut r = Registry::new();
        r.register("Hunter2-secret");
        r.register("tok-capability-0123456789");
        let table = [
            ("Hunter2-secret", false, "(redacted)"),
            ("x Hunter2-secret", false, "x (redacted)"),
            ("Hunter2-secre", false, "Hunter2-secre"),
            ("tok-capability-0123456789", true, "(redacted)"),
            ("GET /tok-capability-0123456789", true, "GET /(redacted)"),
            ("x Hunter2-secret", true, "x Hunter2-secret"),
            ("a", false, "a"),
            ("", true, ""),
        ];
        for (text, net, want) in table {
            assert_eq!(r.scrub(text, net), want, "{text:?} {net}");
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
}
