//! RESP2, the Redis wire format, for the few commands tok sends. Replies are read with
//! hard limits (a line, a bulk string, an array), so a server answering garbage or
//! without end costs a bounded read and a clear error, never memory or a hang.

use std::io::BufRead;

/// Larger than any sealed token record (a token is at most 16 KiB).
pub const MAX_BULK: usize = 1 << 20;
const MAX_LINE: usize = 4096;
const MAX_ARRAY: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Simple(String),
    Error(String),
    Int(i64),
    /// `None`: the nil bulk string (a missing key).
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

/// Why a reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The socket failed or timed out.
    Io(String),
    /// Not RESP, or beyond the limits.
    Garbage(String),
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub fn read(r: &mut impl BufRead) -> Result<Value, Fault> {
    read_depth(r, 0)
}

fn read_depth(r: &mut impl BufRead, depth: usize) -> Result<Value, Fault> {
    let line = read_line(r)?;
    let (kind, rest) = line.split_first().ok_or_else(|| garbage("an empty line"))?;
    let text = || String::from_utf8(rest.to_vec()).map_err(|_| garbage("a line that is not UTF-8"));
    match kind {
        b'+' => Ok(Value::Simple(text()?)),
        b'-' => Ok(Value::Error(text()?)),
        b':' => Ok(Value::Int(number(rest)?)),
        b'$' => {
            let len = number(rest)?;
            if len == -1 {
                return Ok(Value::Bulk(None));
            }
            let len = usize::try_from(len).map_err(|_| garbage("a negative length"))?;
            if len > MAX_BULK {
                return Err(garbage("a bulk string over 1 MiB"));
            }
            let mut data = vec![0; len + 2];
            r.read_exact(&mut data).map_err(io)?;
            if !data.ends_with(b"\r\n") {
                return Err(garbage("a bulk string without its CRLF"));
            }
            data.truncate(len);
            Ok(Value::Bulk(Some(data)))
        }
        b'*' => {
            let len = number(rest)?;
            if len == -1 {
                return Ok(Value::Array(None));
            }
            let len = usize::try_from(len).map_err(|_| garbage("a negative length"))?;
            if len > MAX_ARRAY || depth > 2 {
                return Err(garbage("an array larger or deeper than any tok asks for"));
            }
            (0..len)
                .map(|_| read_depth(r, depth + 1))
                .collect::<Result<_, _>>()
                .map(|v| Value::Array(Some(v)))
        }
        _ => Err(garbage("no RESP type byte")),
    }
}

fn read_line(r: &mut impl BufRead) -> Result<Vec<u8>, Fault> {
    let mut line = Vec::new();
    let read = std::io::Read::take(&mut *r, MAX_LINE as u64 + 2).read_until(b'\n', &mut line).map_err(io)?;
    if read == 0 {
        return Err(Fault::Io("the server closed the connection".into()));
    }
    if !line.ends_with(b"\r\n") {
        return Err(garbage(if line.len() > MAX_LINE { "a line over 4 KiB" } else { "a truncated line" }));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn number(text: &[u8]) -> Result<i64, Fault> {
    std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()).ok_or_else(|| garbage("a bad number"))
}

fn garbage(what: &str) -> Fault {
    Fault::Garbage(format!("the server's reply is not Redis protocol ({what})"))
}

fn io(e: std::io::Error) -> Fault {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            Fault::Io("the server did not answer in time".into())
        }
        std::io::ErrorKind::UnexpectedEof => Fault::Io("the server closed the connection mid-reply".into()),
        _ => Fault::Io(e.to_string()),
    }
}

/// An error reply, in words: the first word is Redis's code (`WRONGPASS`, `NOPERM`,
/// `READONLY`, `OOM`, ...), which says what to do; the rest may quote the command, so
/// only the code and a fixed explanation are shown.
pub fn explain(error: &str) -> String {
    let code = error.split_whitespace().next().unwrap_or("ERR");
    let why = match code {
        "WRONGPASS" => "wrong user or password (TOK_SHARED_CACHE_PASSWORD)",
        "NOAUTH" => "the server wants a password: set TOK_SHARED_CACHE_PASSWORD",
        "NOPERM" => "the ACL user may not run a command tok needs (GET, SET, EVAL, INCR, EXPIRE, DEL)",
        "READONLY" => "this is a read-only replica; point tok at the primary",
        "OOM" => "the server is out of memory",
        "LOADING" => "the server is still loading its data",
        "BUSY" | "NOSCRIPT" => "the server is busy with a script",
        "MASTERDOWN" => "the replica lost its primary",
        _ => "the server refused a command",
    };
    let code: String = code.chars().filter(|c| c.is_ascii_uppercase()).take(16).collect();
    format!("{why} ({code})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Value, Fault> {
        read(&mut std::io::BufReader::new(bytes))
    }

    #[test]
    fn replies() {
        let big = format!("${}\r\n{}\r\n", MAX_BULK + 1, "x");
        let long_line = format!("+{}\r\n", "a".repeat(MAX_LINE + 10));
        let deep = "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n";
        let wide = format!("*{}\r\n", MAX_ARRAY + 1);
        let ok = |v: Value| Ok::<Value, Fault>(v);
        let bad = |_: &str| None::<Value>;
        let table: Vec<(&[u8], Option<Value>)> = vec![
            (b"+OK\r\n", ok(Value::Simple("OK".into())).ok()),
            (b":42\r\n", Some(Value::Int(42))),
            (b":-1\r\n", Some(Value::Int(-1))),
            (b"$3\r\nabc\r\n", Some(Value::Bulk(Some(b"abc".to_vec())))),
            (b"$0\r\n\r\n", Some(Value::Bulk(Some(Vec::new())))),
            (b"$-1\r\n", Some(Value::Bulk(None))),
            (b"*-1\r\n", Some(Value::Array(None))),
            (
                b"*2\r\n:1\r\n$1\r\nx\r\n",
                Some(Value::Array(Some(vec![Value::Int(1), Value::Bulk(Some(b"x".to_vec()))]))),
            ),
            (
                b"-WRONGPASS invalid username-password pair\r\n",
                Some(Value::Error("WRONGPASS invalid username-password pair".into())),
            ),
            (
                b"-READONLY You can't write against a read only replica.\r\n",
                Some(Value::Error("READONLY You can't write against a read only replica.".into())),
            ),
            (b"-OOM command not allowed\r\n", Some(Value::Error("OOM command not allowed".into()))),
            (
                b"-NOPERM this user has no permissions\r\n",
                Some(Value::Error("NOPERM this user has no permissions".into())),
            ),
            // garbage
            (b"HTTP/1.1 400 Bad Request\r\n", bad("no type")),
            (b"\r\n", bad("empty")),
            (b":12x\r\n", bad("number")),
            (b"$-2\r\n", bad("negative")),
            (b"$5\r\nab\r\n", bad("short bulk")),
            (b"$2\r\nabcd", bad("no crlf")),
            (b"+OK", bad("truncated line")),
            (b"+OK\n", bad("bare LF")),
            (b"", bad("closed")),
            (b"*2\r\n:1\r\n", bad("truncated array")),
            (big.as_bytes(), bad("huge bulk")),
            (long_line.as_bytes(), bad("huge line")),
            (deep.as_bytes(), bad("deep")),
            (wide.as_bytes(), bad("wide")),
            (b"+\xff\r\n", bad("not utf-8")),
        ];
        for (input, want) in table {
            let got = parse(input);
            match want {
                Some(v) => assert_eq!(got, Ok(v), "{:?}", String::from_utf8_lossy(input)),
                None => assert!(got.is_err(), "{:?} gave {got:?}", String::from_utf8_lossy(input)),
            }
        }
    }

    #[test]
    fn error_codes_are_explained_without_the_servers_text() {
        for (reply, want) in [
            ("WRONGPASS invalid username-password pair or user is disabled.", "WRONGPASS"),
            ("NOPERM User tok has no permissions to run the 'eval' command", "NOPERM"),
            ("READONLY You can't write against a read only replica.", "READONLY"),
            ("OOM command not allowed when used memory > 'maxmemory'.", "OOM"),
            ("ERR secret-looking words", "ERR"),
        ] {
            let text = explain(reply);
            assert!(text.ends_with(&format!("({want})")), "{text}");
            assert!(!text.contains("secret") && !text.contains("'eval'"), "{text}");
        }
    }

    #[test]
    fn encodes_commands() {
        assert_eq!(encode(&[b"GET", b"k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }
}
