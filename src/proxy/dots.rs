//! Whether a path after the capability could leave the upstream's base path.
//!
//! The path is forwarded with its encodings as sent, and servers do not agree on how to
//! read it: some decode `%2e` to a dot before removing dot-segments (RFC 3986 §5.2.4),
//! some take `\` or a decoded `%2f`/`%5c` for a separator, some merge `//`, some (Tomcat)
//! drop `;params` first, so `..;x` is `..`. A path is refused when any of these readings
//! has it climb above where it started, even for a moment (`/../a` stays at the root
//! after §5.2.4, but it named a place above the base). `/a/../b` is fine: it stays under.

/// Whether `rest` (starting with `/`) climbs above its start in some server's reading.
pub fn climbs(rest: &str) -> bool {
    // Every reading needs a `..` segment, and only `.` and `%2e` make dots: most paths
    // have neither, and skip the readings' copies (half the gateway's own work per request).
    if !rest.bytes().any(|b| b == b'.' || b == b'%') {
        return false;
    }
    let dotted = decode_dots(rest);
    [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .any(|(backslash, encoded)| above_start(&dotted, backslash, encoded))
}

/// `%2e` (any case) as `.`; nothing else decoded.
fn decode_dots(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if after.len() >= 3 && after.as_bytes()[1..3].eq_ignore_ascii_case(b"2e") {
            out.push('.');
            rest = &after[3..];
        } else {
            out.push('%');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

/// One reading: `backslash` takes `\` for `/`, `encoded` takes `%2f` and `%5c` for
/// separators too. Empty segments are merged and `;params` dropped in every reading:
/// either only lowers the depth, so the reading that does it is the one to check.
fn above_start(path: &str, backslash: bool, encoded: bool) -> bool {
    let mut path = path.to_string();
    if encoded {
        for code in ["%2f", "%2F", "%5c", "%5C"] {
            path = path.replace(code, "/");
        }
    }
    if backslash {
        path = path.replace('\\', "/");
    }
    let mut depth = 0usize;
    for segment in path.split('/') {
        let segment = segment.split(';').next().unwrap_or("");
        match segment {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climbs_table() {
        let table = [
            ("/", false),
            ("/a/b", false),
            ("/a/../b", false),
            ("/a/./b", false),
            ("/a/b/../../c", false),
            ("/..a/b..", false),
            ("/a%2e/b", false),
            ("/%252e%252e/x", false),
            ("/...", false),
            ("/..", true),
            ("/../", true),
            ("/../../_sandbox/stats", true),
            ("/a/../../x", true),
            ("/../a", true),
            ("/%2e%2e/x", true),
            ("/%2E%2E/x", true),
            ("/%2E./x", true),
            ("/.%2e/x", true),
            ("/%2e%2E", true),
            ("/a/%2e/../../x", true),
            ("/..\\x", true),
            ("/a\\..\\..\\x", true),
            ("/%2e%2e%5cx", true),
            ("/%2e%2e%5Cx", true),
            ("/x%2f..%2f..", true),
            ("/x%2F../..", true),
            ("/a\\b/../..", true),
            ("/a//../..", true),
            ("/..;x/y", true),
            ("/a/..;/..;/x", true),
        ];
        for (rest, want) in table {
            assert_eq!(climbs(rest), want, "{rest}");
        }
    }
}
