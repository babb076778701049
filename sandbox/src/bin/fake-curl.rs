//! A stand-in for curl, for the Windows test run under Wine (which has no curl.exe): it
//! reads the header file curl would read (`-H @FILE`, tok's named pipe), writes a header
//! dump where `-D FILE` asks (tok's other pipe), and writes what it got to the file
//! `FAKE_CURL_REPORT` names (stdout, without it), so a test sees what reached "curl"
//! and how. Never installed; the tests copy it in as curl.exe.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out: Box<dyn Write> = match std::env::var_os("FAKE_CURL_REPORT") {
        Some(path) => Box::new(std::fs::File::create(path).expect("the report file can be created")),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-H" if i + 1 < args.len() => {
                i += 1;
                if let Some(path) = args[i].strip_prefix('@') {
                    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("(unreadable: {e})"));
                    for line in text.lines() {
                        let _ = writeln!(out, "header: {line}");
                    }
                    let _ = writeln!(out, "header-from: {path}");
                } else {
                    let _ = writeln!(out, "header: {}", args[i]);
                }
            }
            "-D" if i + 1 < args.len() => {
                i += 1;
                let _ = std::fs::write(&args[i], b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n");
            }
            other => {
                let _ = writeln!(out, "arg: {other}");
            }
        }
        i += 1;
    }
}
