//! `tok curl <PROFILE> [CURL ARGS...]`: the system curl with the profile's header.
//!
//! The header never appears on a command line: it is written to a pipe and curl reads
//! it with `-H @/dev/fd/N`, so `ps` and `/proc/*/cmdline` show only the fd. stdin,
//! stdout and stderr are curl's own, and so is the exit code.

use crate::cli::CurlArgs;
use crate::error::{Error, Result};
use crate::flow::{self, App, Want};
use crate::provider;
use crate::term::{self, verbose};
use reqwest::Url;
use std::io::{Read, Write};
use std::process::ExitCode;

/// curl options that take a value: the argument after one of these is that value, never
/// the URL. (`--url` is handled apart: its value *is* a URL.)
const VALUE_OPTIONS: &[&str] = &[
    "-A",
    "-b",
    "-c",
    "-C",
    "-d",
    "-D",
    "-e",
    "-E",
    "-F",
    "-H",
    "-K",
    "-m",
    "-o",
    "-r",
    "-t",
    "-T",
    "-u",
    "-U",
    "-w",
    "-x",
    "-X",
    "-y",
    "-Y",
    "-z",
    "-Q",
    "--abstract-unix-socket",
    "--cacert",
    "--capath",
    "--cert",
    "--cert-type",
    "--ciphers",
    "--config",
    "--connect-timeout",
    "--connect-to",
    "--cookie",
    "--cookie-jar",
    "--data",
    "--data-ascii",
    "--data-binary",
    "--data-raw",
    "--data-urlencode",
    "--dns-servers",
    "--dump-header",
    "--expect100-timeout",
    "--form",
    "--form-string",
    "--header",
    "--interface",
    "--json",
    "--keepalive-time",
    "--key",
    "--key-type",
    "--limit-rate",
    "--local-port",
    "--max-filesize",
    "--max-redirs",
    "--max-time",
    "--noproxy",
    "--oauth2-bearer",
    "--output",
    "--output-dir",
    "--pass",
    "--proxy",
    "--proxy-header",
    "--proxy-user",
    "--quote",
    "--range",
    "--referer",
    "--request",
    "--resolve",
    "--retry",
    "--retry-delay",
    "--retry-max-time",
    "--speed-limit",
    "--speed-time",
    "--time-cond",
    "--trace",
    "--trace-ascii",
    "--unix-socket",
    "--upload-file",
    "--user",
    "--user-agent",
    "--variable",
    "--write-out",
];

pub fn curl(app: &App, args: &CurlArgs) -> Result<ExitCode> {
    let profile = super::existing_profile(app, &args.profile)?;
    let touches = provider::curl_touches(&profile)?;
    let curl_args = resolve_urls(&args.curl_args, touches.api_base.as_ref(), profile.provider.name())?;
    let curl = find_curl()?;
    let min_ttl = i64::try_from(args.min_ttl.as_secs()).unwrap_or(i64::MAX);
    // curl's stdin is the user's: a secret can only come from the environment or store.
    let record = flow::token(app, &profile, Want::Fresh { min_ttl }, false)?;

    let mut headers = format!("{}\n", record.header_line());
    if touches.trace_uuid && !user_sets_header(&curl_args, "nps-trace-uuid") {
        headers.push_str(&format!("nps-trace-uuid: {}\n", uuid_v4()?));
    }
    // A dump-header file of the user's is read afterwards; otherwise tok adds its own.
    let user_dump = dump_header_file(&curl_args);
    let watch = touches.watch_header.map(|name| (name, user_dump.clone()));

    let run = spawn(&curl, &curl_args, &headers, watch.as_ref().is_some_and(|(_, file)| file.is_none()))?;
    let code = match run.status.code() {
        Some(code) => code,
        None => {
            #[cfg(unix)]
            if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&run.status) {
                return Ok(ExitCode::from((128 + signal).clamp(0, 255) as u8));
            }
            1
        }
    };
    if let Some((name, file)) = watch {
        let dumped = match file {
            Some(path) if path != "-" => std::fs::read(&path).unwrap_or_default(),
            _ => run.dumped,
        };
        if let Some(value) = last_header(&dumped, name) {
            keep_if_newer(app, &profile, &value)?;
        }
    }
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// Arguments starting with `/` that are URLs (not an option's value) are joined to the
/// profile's API base.
fn resolve_urls(args: &[String], base: Option<&Url>, provider: &str) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(args.len());
    let mut value_of: Option<&str> = None;
    for arg in args {
        let is_url = match value_of.take() {
            Some("--url") => true,
            Some(_) => false,
            None if arg == "--url" || VALUE_OPTIONS.contains(&arg.as_str()) => {
                value_of = Some(arg);
                false
            }
            None => !arg.starts_with('-') || arg == "-",
        };
        if is_url && arg.starts_with('/') {
            let Some(base) = base else {
                return Err(Error::usage(format!(
                    "{provider} documents no API host for relative URLs like '{arg}': give an absolute URL"
                )));
            };
            out.push(format!("{}{arg}", base.as_str().trim_end_matches('/')));
        } else {
            out.push(arg.clone());
        }
    }
    Ok(out)
}

fn user_sets_header(args: &[String], name: &str) -> bool {
    args.windows(2).any(|pair| {
        matches!(pair[0].as_str(), "-H" | "--header")
            && pair[1].split_once(':').is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
    })
}

fn dump_header_file(args: &[String]) -> Option<String> {
    args.windows(2)
        .rfind(|pair| matches!(pair[0].as_str(), "-D" | "--dump-header"))
        .map(|pair| pair[1].clone())
}

/// The value of the last `name:` header in a dump (the final response's, after redirects).
fn last_header(dump: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(dump)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .rfind(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

fn keep_if_newer(app: &App, profile: &crate::profile::Profile, value: &str) -> Result<()> {
    let store = app.store();
    let _lock = app.lock(&profile.name)?;
    let current = store.token(&profile.name)?;
    match provider::adopt(profile, value, current.as_ref())? {
        Some(record) => {
            verbose!("{}: keeping the newer token from the response", profile.name);
            if let Err(e) = store.put_token(&profile.name, &record) {
                term::warn(&format!("the newer token was not saved: {e}"));
            }
        }
        None => verbose!("{}: the response's token is not newer; keeping the stored one", profile.name),
    }
    Ok(())
}

fn find_curl() -> Result<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join("curl")).find(|candidate| candidate.is_file()).ok_or_else(
        || Error::other("curl was not found on PATH").hint("install curl (e.g. apt-get install curl)"),
    )
}

/// A random (version 4) UUID from the OS's generator.
fn uuid_v4() -> Result<String> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| Error::other(format!("cannot read random bytes: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

struct Run {
    status: std::process::ExitStatus,
    /// The response headers when tok asked curl for them (`-D`).
    dumped: Vec<u8>,
}

#[cfg(unix)]
fn spawn(curl: &std::path::Path, args: &[String], headers: &str, dump: bool) -> Result<Run> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let fail = |e: std::io::Error| Error::other(format!("cannot run curl: {e}"));
    let (header_read, mut header_write) = std::io::pipe().map_err(fail)?;
    // Headers are far smaller than a pipe's buffer: write them all before curl starts.
    header_write.write_all(headers.as_bytes()).map_err(fail)?;
    drop(header_write);
    let (dump_read, dump_write) = if dump {
        let (r, w) = std::io::pipe().map_err(fail)?;
        (Some(r), Some(w))
    } else {
        (None, None)
    };
    let mut inherited = vec![header_read.as_raw_fd()];
    let mut command = std::process::Command::new(curl);
    command.arg("-H").arg(format!("@/dev/fd/{}", header_read.as_raw_fd()));
    if let Some(w) = &dump_write {
        inherited.push(w.as_raw_fd());
        command.arg("-D").arg(format!("/dev/fd/{}", w.as_raw_fd()));
    }
    command.args(args);
    // SAFETY: only fcntl, which is async-signal-safe, runs between fork and exec; it
    // lets curl inherit the two pipe ends that Rust opened close-on-exec.
    unsafe {
        command.pre_exec(move || {
            for &fd in &inherited {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    verbose!("curl: running {} with the header on fd {}", curl.display(), header_read.as_raw_fd());
    let mut child = command.spawn().map_err(fail)?;
    drop(header_read);
    drop(dump_write);
    // Read the dump while curl runs, so a long one never blocks it on a full pipe.
    let reader = dump_read.map(|mut r| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = r.by_ref().take(1024 * 1024).read_to_end(&mut bytes);
            let _ = std::io::copy(&mut r, &mut std::io::sink());
            bytes
        })
    });
    let status = child.wait().map_err(fail)?;
    let dumped = reader.and_then(|t| t.join().ok()).unwrap_or_default();
    Ok(Run { status, dumped })
}

#[cfg(not(unix))]
fn spawn(_: &std::path::Path, _: &[String], _: &str, _: bool) -> Result<Run> {
    Err(Error::other("tok curl passes the header through a file descriptor, which needs a Unix system"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn relative_urls_table() {
        let base = Url::parse("https://api.example.com/").unwrap();
        let table: [(&[&str], &[&str]); 6] = [
            (
                &["-X", "POST", "/Catalog/GetCountries"],
                &["-X", "POST", "https://api.example.com/Catalog/GetCountries"],
            ),
            (&["/a?x=1&y=2", "-o", "/tmp/out"], &["https://api.example.com/a?x=1&y=2", "-o", "/tmp/out"]),
            (&["-d", "@/tmp/body.json", "/p"], &["-d", "@/tmp/body.json", "https://api.example.com/p"]),
            (&["--url", "/u", "-D", "/tmp/h"], &["--url", "https://api.example.com/u", "-D", "/tmp/h"]),
            (&["-sS", "https://other.example/x"], &["-sS", "https://other.example/x"]),
            (&["-H", "/not-a-url: header", "/p"], &["-H", "/not-a-url: header", "https://api.example.com/p"]),
        ];
        for (input, want) in table {
            assert_eq!(resolve_urls(&strings(input), Some(&base), "p").unwrap(), strings(want), "{input:?}");
        }
        let err = resolve_urls(&strings(&["/p"]), None, "n3xt").unwrap_err();
        assert!(err.to_string().contains("n3xt documents no API host"), "{err}");
        assert_eq!(
            resolve_urls(&strings(&["-o", "/tmp/x", "https://a.example"]), None, "n3xt").unwrap().len(),
            3
        );
    }

    #[test]
    fn headers_in_args_and_dumps() {
        assert!(user_sets_header(&strings(&["-H", "NPS-Trace-UUID: 1"]), "nps-trace-uuid"));
        assert!(!user_sets_header(&strings(&["-d", "nps-trace-uuid: 1"]), "nps-trace-uuid"));
        assert_eq!(dump_header_file(&strings(&["-D", "a", "--dump-header", "b"])), Some("b".into()));
        let dump = b"HTTP/1.1 302 Found\r\nAuthentication-Token: old\r\n\r\nHTTP/1.1 200 OK\r\nauthentication-token: new\r\n\r\n";
        assert_eq!(last_header(dump, "authentication-token"), Some("new".into()));
        let id = uuid_v4().unwrap();
        assert_eq!((id.len(), &id[14..15]), (36, "4"));
    }
}
