//! Text as servers write it, decoded, with a map back to where each byte came from.
//!
//! A server that echoes a secret escapes it its own way: JSON `\u0061` for a plain `a`,
//! HTML `&amp;` or `&#x26;`, `%2f` or a raw `/`, `+` for a space. Listing every encoded
//! form of a secret misses the next server's choice; decoding the text once, the same way
//! for the text and for the secret, and matching there does not. The map lets the scrubber
//! cut the original bytes, escapes included.

/// Decoded bytes, and for each the range `[start, end)` of the original it came from.
pub struct Canon {
    pub bytes: Vec<u8>,
    pub spans: Vec<(usize, usize)>,
}

/// Enough for a secret form-encoded inside JSON inside HTML; more layers are no echo.
const PASSES: usize = 6;

/// Whether `text` holds anything [`canon`] would change; when not, it is its own canon.
pub fn has_escapes(text: &[u8]) -> bool {
    text.iter().any(|b| matches!(b, b'\\' | b'%' | b'&' | b'+'))
}

/// `text` decoded (JSON string escapes, HTML character references, percent-encoding, `+`
/// as a space) until nothing changes.
pub fn canon(text: &[u8]) -> Canon {
    let mut bytes = text.to_vec();
    let mut spans: Vec<(usize, usize)> = (0..text.len()).map(|i| (i, i + 1)).collect();
    for _ in 0..PASSES {
        let Some(next) = pass(&bytes) else { break };
        spans = next.spans.iter().map(|&(start, end)| (spans[start].0, spans[end - 1].1)).collect();
        bytes = next.bytes;
    }
    Canon { bytes, spans }
}

/// One layer decoded, each output byte's span a range of `input`; `None` if nothing was.
fn pass(input: &[u8]) -> Option<Canon> {
    let mut out = Vec::with_capacity(input.len());
    let mut spans = Vec::with_capacity(input.len());
    let mut changed = false;
    let mut i = 0;
    while i < input.len() {
        let (decoded, used) = match input[i] {
            b'\\' => json_escape(&input[i..]),
            b'%' => percent(&input[i..]),
            b'&' => entity(&input[i..]),
            b'+' => (Some(Decoded::Byte(b' ')), 1),
            _ => (None, 1),
        };
        match decoded {
            Some(decoded) => {
                changed = true;
                let mut buf = [0u8; 4];
                let bytes: &[u8] = match decoded {
                    Decoded::Byte(b) => {
                        buf[0] = b;
                        &buf[..1]
                    }
                    Decoded::Char(c) => c.encode_utf8(&mut buf).as_bytes(),
                };
                for &b in bytes {
                    out.push(b);
                    spans.push((i, i + used));
                }
                i += used;
            }
            None => {
                out.push(input[i]);
                spans.push((i, i + 1));
                i += 1;
            }
        }
    }
    changed.then_some(Canon { bytes: out, spans })
}

enum Decoded {
    Byte(u8),
    Char(char),
}

fn hex(digits: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(digits).ok()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

/// `\uXXXX` (a surrogate pair as one character), `\/`, `\"`, `\n` and the rest.
fn json_escape(s: &[u8]) -> (Option<Decoded>, usize) {
    let simple = match s.get(1) {
        Some(b'"') => b'"',
        Some(b'\\') => b'\\',
        Some(b'/') => b'/',
        Some(b'b') => 0x08,
        Some(b'f') => 0x0c,
        Some(b'n') => b'\n',
        Some(b'r') => b'\r',
        Some(b't') => b'\t',
        Some(b'u') => return unicode_escape(s),
        // Python's repr of bytes and C: `\xc3\xbc` is a byte each (UTF-8 in a row).
        Some(b'x') => {
            return match s.get(2..4).and_then(hex) {
                Some(byte) => (Some(Decoded::Byte(byte as u8)), 4),
                None => (None, 1),
            };
        }
        // Octal as C, PHP and Python write it: always three digits there.
        Some(b'0'..=b'3') => {
            return match s.get(1..4).filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b))) {
                Some(d) => (Some(Decoded::Byte(d.iter().fold(0u8, |acc, b| acc << 3 | (b - b'0')))), 4),
                None => (None, 1),
            };
        }
        _ => return (None, 1),
    };
    (Some(Decoded::Byte(simple)), 2)
}

fn unicode_escape(s: &[u8]) -> (Option<Decoded>, usize) {
    // ES6 `\u{48}`, `\u{1F600}`.
    if s.get(2) == Some(&b'{') {
        let Some(close) = s.iter().take(11).position(|&b| b == b'}') else { return (None, 1) };
        return match hex(&s[3..close]).and_then(char::from_u32) {
            Some(c) => (Some(Decoded::Char(c)), close + 1),
            None => (None, 1),
        };
    }
    let unit = |at: usize| s.get(at..at + 6).filter(|u| u.starts_with(b"\\u")).and_then(|u| hex(&u[2..]));
    let Some(first) = unit(0) else { return (None, 1) };
    if (0xD800..0xDC00).contains(&first)
        && let Some(second) = unit(6).filter(|u| (0xDC00..0xE000).contains(u))
    {
        let c = char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
        return (c.map(Decoded::Char), if c.is_some() { 12 } else { 1 });
    }
    // A lone surrogate is no character: left as it is.
    match char::from_u32(first) {
        Some(c) => (Some(Decoded::Char(c)), 6),
        None => (None, 1),
    }
}

/// `%2f` or `%2F`: one byte (UTF-8 sequences are bytes in a row); JavaScript's
/// `escape()` writes `%u00FC`, a UTF-16 unit (a surrogate pair as one character).
fn percent(s: &[u8]) -> (Option<Decoded>, usize) {
    if matches!(s.get(1), Some(b'u' | b'U')) {
        let unit = |at: usize| {
            s.get(at..at + 6)
                .filter(|u| u[0] == b'%' && matches!(u[1], b'u' | b'U'))
                .and_then(|u| hex(&u[2..]))
        };
        if let Some(first) = unit(0) {
            if (0xD800..0xDC00).contains(&first)
                && let Some(second) = unit(6).filter(|u| (0xDC00..0xE000).contains(u))
            {
                let c = char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
                return (c.map(Decoded::Char), if c.is_some() { 12 } else { 1 });
            }
            return match char::from_u32(first) {
                Some(c) => (Some(Decoded::Char(c)), 6),
                None => (None, 1),
            };
        }
    }
    match s.get(1..3).and_then(hex) {
        Some(byte) => (Some(Decoded::Byte(byte as u8)), 3),
        None => (None, 1),
    }
}

/// HTML5's names of every printable ASCII punctuation character (and of the spaces a
/// secret holds); numeric references cover the rest. `&hyphen;` and `&dash;` name U+2010,
/// but a server that writes them for `-` means `-`.
const ENTITIES: &[(&str, char)] = &[
    ("excl", '!'),
    ("quot", '"'),
    ("QUOT", '"'),
    ("num", '#'),
    ("dollar", '$'),
    ("percnt", '%'),
    ("amp", '&'),
    ("AMP", '&'),
    ("apos", '\''),
    ("lpar", '('),
    ("rpar", ')'),
    ("ast", '*'),
    ("midast", '*'),
    ("plus", '+'),
    ("comma", ','),
    ("hyphen", '-'),
    ("dash", '-'),
    ("minus", '-'),
    ("period", '.'),
    ("sol", '/'),
    ("colon", ':'),
    ("semi", ';'),
    ("lt", '<'),
    ("LT", '<'),
    ("equals", '='),
    ("gt", '>'),
    ("GT", '>'),
    ("quest", '?'),
    ("commat", '@'),
    ("lsqb", '['),
    ("lbrack", '['),
    ("bsol", '\\'),
    ("rsqb", ']'),
    ("rbrack", ']'),
    ("Hat", '^'),
    ("lowbar", '_'),
    ("UnderBar", '_'),
    ("grave", '`'),
    ("DiacriticalGrave", '`'),
    ("lcub", '{'),
    ("lbrace", '{'),
    ("verbar", '|'),
    ("vert", '|'),
    ("VerticalLine", '|'),
    ("rcub", '}'),
    ("rbrace", '}'),
    ("tilde", '~'),
    ("DiacriticalTilde", '~'),
    ("nbsp", '\u{a0}'),
    ("NonBreakingSpace", '\u{a0}'),
    ("Tab", '\t'),
    ("NewLine", '\n'),
];

/// The longest name above, with `&` and `;`.
const ENTITY_MAX: usize = 20;

/// `&amp;`, `&#38;`, `&#x26;`, and numeric references without the `;`, which browsers
/// decode too (`&#72&#117`). A name matches in any case when no name matches exactly.
fn entity(s: &[u8]) -> (Option<Decoded>, usize) {
    if s.get(1) == Some(&b'#') {
        let hexadecimal = matches!(s.get(2), Some(b'x' | b'X'));
        let from = if hexadecimal { 3 } else { 2 };
        let digits = s[from..]
            .iter()
            .take(8)
            .take_while(|b| if hexadecimal { b.is_ascii_hexdigit() } else { b.is_ascii_digit() })
            .count();
        let number = &s[from..from + digits];
        let value = if hexadecimal {
            hex(number)
        } else {
            std::str::from_utf8(number).ok().filter(|n| !n.is_empty()).and_then(|n| n.parse().ok())
        };
        let used = from + digits + usize::from(s.get(from + digits) == Some(&b';'));
        return match value.and_then(char::from_u32) {
            Some(c) => (Some(Decoded::Char(c)), used),
            None => (None, 1),
        };
    }
    let Some(end) = s.iter().take(ENTITY_MAX).position(|&b| b == b';') else { return (None, 1) };
    let name = &s[1..end];
    let c = ENTITIES
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .or_else(|| ENTITIES.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name)))
        .map(|(_, c)| *c);
    match c {
        Some(c) => (Some(Decoded::Char(c)), end + 1),
        None => (None, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_maps_back() {
        let table: [(&str, &str); 18] = [
            ("plain", "plain"),
            (r"a\u0061\u00fc\/", "aaü/"),
            (r"\ud83d\ude00!", "😀!"),
            (r"lone \ud83d.", r"lone \ud83d."),
            ("&amp;&#38;&#x26;&#X26;&lt;&quot;&sol;", "&&&&<\"/"),
            ("&nosuch; & &amp", "&nosuch; & &amp"),
            (r"\x48\x75\xc3\xbc\xZZ", r"Huü\xZZ"),
            (r"\110\165\303\274\8\19", r"Huü\8\19"),
            (r"\u{48}\u{1F600}\u{}\u{110000}", r"H😀\u{}\u{110000}"),
            ("%u0048%U00fc%uD83D%uDE00%u12", "Hü😀%u12"),
            ("&#72&#117&#x6e;&#X74x", "Huntx"),
            ("&hyphen;&dash;&HYPHEN;&period;&DiacriticalGrave;&Hat;", "---.`^"),
            ("%2f%2F%c3%BC+x", "//ü x"),
            ("100% %zz", "100% %zz"),
            // Layers: percent inside HTML inside JSON.
            (r"\u0026amp;%2521", "&!"),
            ("&#x25;41", "A"),
            (r"\n\t\\", "\n\t\\"),
            ("", ""),
        ];
        for (text, want) in table {
            let c = canon(text.as_bytes());
            assert_eq!(String::from_utf8_lossy(&c.bytes), want, "{text}");
            assert_eq!(c.bytes.len(), c.spans.len(), "{text}");
            // Spans tile the original in order: each starts where the last ended, or
            // repeats it (one escape, several bytes).
            let mut last = (0, 0);
            for &span in &c.spans {
                assert!(span == last || (span.0 == last.1 && span.1 > span.0), "{text}: {span:?}");
                last = span;
            }
            assert_eq!(last.1, text.len(), "{text}");
        }
        // Escape-like garbage: never a panic, and the spans still tile the text.
        let alphabet: Vec<char> = "\\u%&#x;+0189abcdfADF{}U\"/ü😀".chars().collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(seed % 40) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                text.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            let c = canon(text.as_bytes());
            assert_eq!(c.bytes.len(), c.spans.len(), "{text}");
            assert_eq!(c.spans.last().map_or(0, |s| s.1), text.len(), "{text}");
        }
        // Every printable ASCII punctuation character has an HTML5 name here.
        for c in (b'!'..=b'~').filter(u8::is_ascii_punctuation) {
            assert!(ENTITIES.iter().any(|(_, e)| *e == c as char), "no name for {}", c as char);
        }
        // One decoded byte from an escape maps back to all of it.
        let c = canon(b"x%26amp;y");
        assert_eq!(c.bytes, b"x&y");
        assert_eq!(c.spans[1], (1, 8));
    }
}
