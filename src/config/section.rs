//! One profile's table of `config.toml`, found without parsing the others.
//!
//! A cached `tok print` needs one profile's settings; parsing every profile's table cost
//! it four times the rest of its work at 2,000 profiles (BENCHMARKS.md). So the lines
//! under its `[profiles.NAME]` header, as `save` writes it, are all that is parsed (and
//! checked as UTF-8), found with SIMD substring searches over the file's bytes: a pass
//! line by line cost as much as the parse it replaced, and so did searching for the
//! name alone (every profile of the same provider names it).
//!
//! For any file the full parser takes, the settings are the same. Where the table might
//! not be what the full parser sees, it decides: keys before the first table
//! (`profiles.x.provider =`), a multi-line string before the table's end (its lines
//! could look like a header), the header in another form (`[[...]]`, a comment after
//! it), twice, or not at all.
//!
//! A file the full parser refuses is reported by `tok status`, the commands that write
//! the file, and the commands of a profile whose table holds the error; the commands of
//! another profile read their own table. That includes a second definition of the
//! profile in another form (`[profiles."x"]`, keys under `[profiles]`, subtables).

use memchr::memmem;

const MULTI_LINE: [&[u8]; 2] = [b"\"\"\"", b"'''"];

/// The text of `name`'s table (the lines after its header), or `None` when the full
/// parser must decide.
pub fn find<'t>(text: &'t [u8], name: &str) -> Option<&'t [u8]> {
    if !preamble_is_bare(text) {
        return None;
    }
    let bare = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    // The form `save` writes first: the others cost a search each only when it is absent.
    let headers = [bare.then(|| format!("[profiles.{name}]")), Some(format!("[profiles.\"{name}\"]"))];
    let mut start = None;
    for header in headers.iter().flatten().chain(&[format!("[profiles.'{name}']")]) {
        for at in memmem::find_iter(text, header.as_bytes()) {
            match starts_line(text, at) {
                Some(true) => {}
                Some(false) => return None, // `[[profiles.x]]`
                None => continue,           // `x = "[profiles.x]"`
            }
            let after = at + header.len();
            let line_end = memchr::memchr(b'\n', &text[after..]).map_or(text.len(), |n| after + n + 1);
            if !text[after..line_end].iter().all(u8::is_ascii_whitespace) || start.is_some() {
                return None; // `[profiles.x] # note`, or the table twice
            }
            start = Some(line_end);
        }
        if start.is_some() {
            break;
        }
    }
    let start = start?;
    let end = start + table_end(&text[start..]);
    if MULTI_LINE.iter().any(|quotes| memmem::find(&text[..end], quotes).is_some()) {
        return None;
    }
    Some(&text[start..end])
}

/// Whether the header-like text at `at` starts its line: `Some(true)` after nothing but
/// blanks, `Some(false)` after `[` (an array of tables), `None` after anything else.
fn starts_line(bytes: &[u8], at: usize) -> Option<bool> {
    for &b in bytes[..at].iter().rev() {
        match b {
            b'\n' => return Some(true),
            b' ' | b'\t' => {}
            b'[' => return Some(false),
            _ => return None,
        }
    }
    Some(true)
}

/// Before the first table, nothing but comments and blank lines (the line `save` writes).
fn preamble_is_bare(text: &[u8]) -> bool {
    for line in text.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        if line.starts_with(b"[") {
            return true;
        }
        if !line.is_empty() && !line.starts_with(b"#") {
            return false;
        }
    }
    true
}

/// Where a table's text ends: at the next line that starts a table.
fn table_end(table: &[u8]) -> usize {
    let mut at = 0;
    for line in table.split_inclusive(|b| *b == b'\n') {
        if line.trim_ascii_start().starts_with(b"[") {
            return at;
        }
        at += line.len();
    }
    table.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_start_table() {
        let table = [
            ("[p]", 0, Some(true)),
            ("x\n[p]", 2, Some(true)),
            ("x\n  \t[p]", 5, Some(true)),
            ("x\n[[p]]", 3, Some(false)),
            ("x = \"[p]\"", 5, None),
        ];
        for (text, at, want) in table {
            assert_eq!(starts_line(text.as_bytes(), at), want, "{text:?}");
        }
    }

    #[test]
    fn find_table() {
        let saved = "# tok's profiles\n[profiles.a]\nprovider = \"nexterpay\"\n\n[profiles.\"b.c\"]\nprovider = \"n3xt\"\nuser = \"x\"\n";
        let table: &[(&str, &str, Option<&str>)] = &[
            (saved, "a", Some("provider = \"nexterpay\"\n\n")),
            (saved, "b.c", Some("provider = \"n3xt\"\nuser = \"x\"\n")),
            // Absent: the full parser says so, with its "did you mean".
            (saved, "d", None),
            ("", "a", None),
            ("[profiles]\n", "a", None),
            ("[profiles.a]\r\nx = \"1\"\r\n[profiles.b]\r\n", "a", Some("x = \"1\"\r\n")),
            ("[profiles.a]\nx = \"1\"", "a", Some("x = \"1\"")),
            ("  [profiles.a]  \nx = \"1\"\n", "a", Some("x = \"1\"\n")),
            ("[profiles.'a.b']\nx = \"1\"\n", "a.b", Some("x = \"1\"\n")),
            ("[profiles.a]\n[profiles.profiles]\nx = \"1\"\n", "profiles", Some("x = \"1\"\n")),
            // Errors in another profile's table are that profile's.
            ("[profiles.a]\nx = \"1\"\n[profiles.b]\nx = = 2\n", "a", Some("x = \"1\"\n")),
            // Text that looks like the header but is not one, and names that start alike.
            ("[profiles.b]\nx = \"[profiles.a]\"\n[profiles.a]\nx = \"2\"\n", "a", Some("x = \"2\"\n")),
            ("[profiles.ab]\nx = \"1\"\n[profiles.a]\nx = \"2\"\n", "a", Some("x = \"2\"\n")),
            // Anything of the profile outside its table, or that could hide a header.
            ("[profiles.a]\nx = \"1\"\n[profiles.a]\ny = \"2\"\n", "a", None),
            ("[[profiles.a]]\nx = \"1\"\n", "a", None),
            ("[profiles.a.b]\nx = \"1\"\n", "a.b", None),
            ("[profiles.a] # mine\nx = \"1\"\n", "a", None),
            ("profiles.a.x = \"1\"\n[profiles.a]\n", "a", None),
            ("top = \"1\"\n[profiles.a]\n", "a", None),
            ("[profiles]\na = { x = \"1\" }\n[profiles.b]\n", "a", None),
            ("[profiles]\na.x = \"1\"\n", "a", None),
            ("[profiles.b]\nx = \"\"\"\n[profiles.a]\nx = \"2\"\n\"\"\"\n", "a", None),
            ("[profiles.b]\nx = '''\n[profiles.a]\n'''\n[profiles.a]\n", "a", None),
            ("[profiles]\n\"a\" = { x = \"1\" }\n[profiles.b]\n", "a", None),
            // A second definition in another form: the full parser refuses the file, and
            // the commands that read it whole say so.
            ("[profiles.a]\nx = \"1\"\n[profiles.\"a\"]\n", "a", Some("x = \"1\"\n")),
            ("[profiles.a.sub]\nx = \"1\"\n[profiles.a]\n", "a", Some("")),
            ("[profiles.b]\n[profiles]\n a .x = \"1\"\n[profiles.a]\n", "a", Some("")),
            // A multi-line string after the table is not the table's.
            ("[profiles.a]\nx = \"1\"\n[profiles.b]\nx = \"\"\"\n[profiles.a]\n\"\"\"\n", "a", None),
            ("[profiles.a]\nx = \"1\"\n[profiles.b]\nx = \"\"\"\nz\n\"\"\"\n", "a", Some("x = \"1\"\n")),
        ];
        for (text, name, want) in table {
            assert_eq!(find(text.as_bytes(), name), want.map(str::as_bytes), "{name} in {text:?}");
        }
    }
}
