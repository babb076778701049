//! `tok curl <PROFILE> [CURL ARGS...]`: the system curl with the profile's header.
//!
//! The header never appears on a command line: it is written to a pipe and curl reads
//! it with `-H @/dev/fd/N`, so `ps` and `/proc/*/cmdline` show only the fd. stdin,
//! stdout and stderr are curl's own, and so is the exit code.

use super::curl_args;
use super::curl_dump::{self, Target};
use super::curl_hosts::{self, Destinations};
use crate::cli::CurlArgs;
use crate::error::{Error, Result};
use crate::flow::{self, App, Want};
use crate::provider;
use crate::term::{self, verbose};
use reqwest::Url;
use std::process::ExitCode;

/// tok holds back curl's output of a first attempt, in case it is a 401 to retry, up to
/// this much; a longer body is passed on as it comes, and that request is not retried.
const HOLD_BACK: usize = curl_dump::LIMIT;

pub fn curl(app: &App, args: &CurlArgs) -> Result<ExitCode> {
    let profile = super::existing_profile(app, &args.profile)?;
    let scan = curl_args::scan(&args.curl_args);
    if let Some(option) = &scan.unknown {
        return Err(unknown_option(option, &profile.name));
    }
    let touches = provider::curl_touches(&profile)?;
    let identity = provider::identity(&profile)?;
    let curl_args = resolve_urls(&args.curl_args, &scan, touches.api_base.as_ref(), profile.provider.name())?;
    let urls = scan.urls(&curl_args);
    let destinations = Destinations::of(&profile, touches.api_base.as_ref())?;
    let origins = curl_hosts::check(&scan, &urls, identity.api_key, &destinations, &profile)?;
    let dpop = super::curl_dpop::prepare(app, &profile, &scan, &urls)?;
    let client_cert = crate::client_cert::of_profile(app, &profile)?;
    if client_cert.is_some() {
        super::curl_tls::check_certificate_options(&curl_args, &scan, &profile.name)?;
    }
    let trust = super::curl_tls::trust(&curl_args, &scan);
    let curl = find_curl()?;
    let min_ttl = i64::try_from(args.min_ttl.as_secs()).unwrap_or(i64::MAX);
    // curl's stdin is the user's: a secret can only come from the environment or store.
    let record = flow::token(app, &profile, Want::Fresh { min_ttl }, false)?;

    // Response headers tell tok whether the credential worked and, for NetDirector V1,
    // carry newer tokens. Only from the profile's own API host, and only when curl made
    // no request elsewhere: with -L the last response may come from any host.
    let from_api_host = scan.follows.is_none()
        && !origins.is_empty()
        && origins.iter().all(|o| destinations.api.as_ref() == Some(o));
    if touches.watch_header.is_some() && !from_api_host {
        verbose!(
            "{}: not watching for a newer token: curl may reach hosts other than the API's",
            profile.name
        );
    }
    // A token revoked before its expiry gets one refresh and one more try, when the
    // command is one request that can be sent again unchanged: tok does not buffer
    // request bodies (curl reads its files again); an API key has nothing to refresh.
    let not_replayable =
        scan.why_not_replayable(&urls, |path| std::fs::metadata(path).is_ok_and(|m| m.is_file()), overwrites);
    let retry_applies = !args.no_retry && !identity.api_key && from_api_host;
    if retry_applies && let Some(why) = &not_replayable {
        verbose!("{}: a 401 will not be retried: {why}", profile.name);
    }
    let may_retry = retry_applies && not_replayable.is_none();
    // curl writes the headers to tok's pipe, in place of the user's -D, and tok passes the
    // final attempt's on. With --next each set of requests has its own -D: those stay
    // curl's, and tok reads none (no retry applies to several requests anyway).
    let user_dump = scan.dump_header.as_deref().map(Target::of);
    let dump_at = if user_dump.is_some() && scan.nexts > 0 {
        verbose!("{}: not reading the response headers: -D with --next is curl's alone", profile.name);
        None
    } else {
        Some(scan.dump_header_at.clone())
    };
    let dump_to_stdout = dump_at.is_some() && user_dump == Some(Target::Stdout);
    let no_proxy = curl_hosts::no_proxy_list(&origins);
    let attempt = |record: &crate::token::TokenRecord,
                   hold_back: bool,
                   nonce: Option<&str>|
     -> Result<(Run, Vec<u8>)> {
        // curl's own -v and -i can print the header into the job's log.
        term::mask_in_ci(record.token.expose());
        let mut headers = format!("{}\n", record.header_line());
        if let Some(dpop) = &dpop {
            headers.push_str(&dpop.header_line(record, nonce)?);
        }
        if touches.trace_uuid && !scan.sets_header("nps-trace-uuid") {
            headers.push_str(&format!("nps-trace-uuid: {}\n", crate::random::uuid_v4()?));
        }
        let options = Options {
            dump_at: dump_at.clone(),
            no_location: identity.api_key,
            hold_back,
            dump_to_stdout,
            no_proxy: no_proxy.clone(),
            trust: trust.clone(),
            client_cert: client_cert.clone(),
        };
        let run = spawn(&curl, &curl_args, &headers, options)?;
        let dumped = run.dumped.clone();
        Ok((run, dumped))
    };
    let (mut run, mut dumped) = attempt(&record, may_retry, None)?;
    let asked = dpop.as_ref().and_then(|_| {
        let header = |name| last_header(&dumped, name);
        super::curl_dpop::nonce_asked(last_status(&dumped), header("www-authenticate"), header("dpop-nonce"))
    });
    // A retried attempt's output, held back, is dropped whole: its body, and its headers
    // (which reach the user's -D target only from the final attempt).
    if let Some(nonce) = asked.as_deref().filter(|_| may_retry && run.held.is_some()) {
        verbose!("{}: the API asks for a DPoP nonce; sending the request once more with it", profile.name);
        (run, dumped) = attempt(&record, false, Some(nonce))?;
    } else if may_retry && last_status(&dumped) == Some(401) && run.held.is_some() {
        verbose!(
            "{}: the API answered 401; refreshing the token and sending the request once more",
            profile.name
        );
        let rejected = record.token.expose().to_string();
        let fresh = flow::token(app, &profile, Want::Replacing { rejected: &rejected, min_ttl }, false)?;
        (run, dumped) = attempt(&fresh, false, None)?;
    } else {
        if last_status(&dumped) == Some(401) && from_api_host && !identity.api_key {
            let why = if args.no_retry {
                "--no-retry".to_string()
            } else if let Some(why) = not_replayable {
                why
            } else {
                "its answer was too long to hold back".to_string()
            };
            term::note(&format!(
                "the API answered 401 and tok did not retry ({why}); `tok refresh {}` gets a new token",
                profile.name
            ));
        }
    }
    if let Some(held) = run.held.take() {
        if dump_to_stdout && !run.dump_live {
            write_stdout(&dumped)?;
        }
        write_stdout(&held)?;
    }
    let mut code = match run.status.code() {
        Some(code) => code,
        None => {
            #[cfg(unix)]
            if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&run.status) {
                return Ok(ExitCode::from((128 + signal).clamp(0, 255) as u8));
            }
            1
        }
    };
    if let Some(target) = user_dump.as_ref().filter(|t| dump_at.is_some() && **t != Target::Stdout)
        && let Err(e) = target.write(&dumped)
    {
        let shown = match target {
            Target::File(path) => term::printable(path),
            _ => "stderr".to_string(),
        };
        term::warn(&format!("tok curl: cannot write the response headers to {shown}: {e}"));
        // curl's own code for a header dump it cannot write.
        if code == 0 {
            code = 23;
        }
    }
    if from_api_host {
        if let Some(name) = touches.watch_header
            && let Some(value) = last_header(&dumped, name)
        {
            flow::adopt(app, &profile, &value)?;
        }
        // A key tok could not check at login is proven by the API accepting it.
        if identity.unchecked_login
            && profile.verified.is_none()
            && last_status(&dumped).is_some_and(|s| (200..300).contains(&s))
        {
            // curl has run: its exit code stands, whatever keeps this from being saved.
            if let Err(e) = super::mark_verified(app, &profile) {
                crate::term::warn(&format!("cannot mark {} as verified: {e}", profile.name));
            }
        }
    }
    Ok(exit_code(code))
}

/// curl's exit code as tok's. On Windows a process that could not start or crashed ends
/// with an NTSTATUS (0xC0000135 for a missing DLL), which no `u8` holds: clamping it
/// would turn a crash into success, so any code outside 0-255 is reported and becomes 1.
fn exit_code(code: i32) -> ExitCode {
    match u8::try_from(code) {
        Ok(code) => ExitCode::from(code),
        Err(_) => {
            term::warn(&format!(
                "curl ended with status {code:#x}, which is no exit code curl gives: it did not run"
            ));
            ExitCode::from(1)
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    crate::term::stdout(bytes)
}

/// Whether a second answer written to `-o PATH` replaces the first: curl truncates a
/// regular file (or creates it), and nothing is kept of what goes to /dev/null.
fn overwrites(path: &str) -> bool {
    path == "/dev/null"
        || match std::fs::metadata(path) {
            Ok(meta) => meta.is_file(),
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
}

/// Reads curl's stdout while it runs: into memory up to `HOLD_BACK` (`Some` when all of it
/// fit), beyond that on to tok's stdout as it comes (`None`: the attempt is final), after
/// the headers read so far when they go to stdout too (`-D -`).
fn hold_back(
    mut from: impl std::io::Read + Send + 'static,
    dump: Option<curl_dump::Shared>,
) -> std::thread::JoinHandle<Option<Vec<u8>>> {
    std::thread::spawn(move || {
        use std::io::Write;
        let mut held = Vec::new();
        let mut buffer = [0u8; 64 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => return Some(held),
                Ok(n) if held.len() + n <= HOLD_BACK => held.extend_from_slice(&buffer[..n]),
                Ok(n) => {
                    if let Some(dump) = &dump {
                        curl_dump::go_live(dump);
                    }
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&held).and_then(|()| out.write_all(&buffer[..n]));
                    let _ = std::io::copy(&mut from, &mut out);
                    return None;
                }
            }
        }
    })
}

/// The status of the last response in a header dump.
fn last_status(dump: &[u8]) -> Option<u16> {
    String::from_utf8_lossy(dump)
        .lines()
        .rfind(|line| line.starts_with("HTTP/"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
}

/// An option curl does not have: refused as curl would, since tok cannot tell whether
/// the next argument is its value or a URL.
fn unknown_option(option: &str, profile: &str) -> Error {
    let shown: String = term::printable(option).chars().take(40).collect();
    let error = Error::usage(format!("tok curl: curl has no option {shown}"));
    if crate::cli::is_tok_curl_option(option) {
        error.hint(format!("tok's own options go before the profile: tok curl {shown} … {profile} …"))
    } else {
        error.hint("`curl --help all` lists curl's options (tok knows those of curl 8.22)")
    }
}

/// Arguments starting with `/` that are URLs (not an option's value) are joined to the
/// profile's API base.
fn resolve_urls(
    args: &[String],
    scan: &curl_args::Scan,
    base: Option<&Url>,
    provider: &str,
) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(args.len());
    for (arg, role) in args.iter().zip(&scan.roles) {
        let (prefix, url) = match role {
            curl_args::Role::Url => ("", arg.as_str()),
            curl_args::Role::InlineUrl(at) => arg.split_at(*at),
            _ => {
                out.push(arg.clone());
                continue;
            }
        };
        if !url.starts_with('/') {
            out.push(arg.clone());
            continue;
        }
        let Some(base) = base else {
            return Err(Error::usage(format!(
                "{provider} documents no API host for relative URLs like '{}': give an absolute URL",
                crate::secret::outside(url)
            )));
        };
        out.push(format!("{prefix}{}{url}", base.as_str().trim_end_matches('/')));
    }
    Ok(out)
}

/// The value of the last `name:` header in a dump (the final response's, after redirects).
fn last_header(dump: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(dump)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .rfind(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

fn find_curl() -> Result<std::path::PathBuf> {
    // Windows 10 and later ship curl.exe in System32.
    let name = if cfg!(windows) { "curl.exe" } else { "curl" };
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file()).ok_or_else(
        || {
            let hint = if cfg!(windows) {
                "curl.exe comes with Windows 10 and later (C:\\Windows\\System32); put it on PATH"
            } else if cfg!(target_os = "macos") {
                "curl comes with macOS (/usr/bin/curl); put it on PATH"
            } else {
                "install curl (e.g. apt-get install curl, dnf install curl)"
            };
            Error::other(format!("{name} was not found on PATH")).hint(hint)
        },
    )
}

/// What tok adds to curl's command line besides the header.
struct Options {
    /// Dump the response headers to a pipe tok reads (the status, a newer token): in
    /// place of the user's `-D` values at these places, or first when there are none.
    dump_at: Option<Vec<(usize, usize)>>,
    /// Hold curl's stdout back (see `HOLD_BACK`), for a request tok may retry.
    hold_back: bool,
    /// `-D -`: the headers go before the body, so stdout is held back in any case.
    dump_to_stdout: bool,
    /// `--no-location`: a custom credential header must not cross a redirect.
    no_location: bool,
    /// curl's `NO_PROXY` (see `curl_hosts::no_proxy_list`).
    no_proxy: String,
    /// `--cacert` / `--capath` from tok's own trust settings (see `curl_tls`).
    trust: Vec<String>,
    /// The profile's TLS client certificate, handed over through pipes (see `curl_tls`).
    client_cert: Option<std::sync::Arc<crate::client_cert::ClientCert>>,
}

struct Run {
    status: std::process::ExitStatus,
    /// The response headers when tok asked curl for them (`-D`).
    dumped: Vec<u8>,
    /// For `-D -`: the headers were passed on already, with a body too long to hold.
    dump_live: bool,
    /// curl's stdout, when held back and all of it fit.
    held: Option<Vec<u8>>,
}

/// What tok puts first on curl's command line: `-q`, so that no `.curlrc` adds URLs,
/// redirects or proxies tok has not checked (it must be curl's first argument).
const CURL_FIRST: &str = "-q";

/// curl's environment: proxies as tok uses them (never for plain HTTP, which tok sends
/// only to loopback, never for loopback), and none of tok's variables.
fn curl_environment(command: &mut std::process::Command, no_proxy: &str) {
    without_tok_variables(command);
    command.env_remove("http_proxy").env_remove("HTTP_PROXY");
    command.env("NO_PROXY", no_proxy).env("no_proxy", no_proxy);
}

/// curl needs none of tok's settings, and a secret in its environment would be readable
/// by the user's other processes for as long as it runs.
fn without_tok_variables(command: &mut std::process::Command) {
    for (name, _) in std::env::vars_os() {
        // Any case: Windows' environment ignores it.
        if name.to_str().is_some_and(|n| n.to_ascii_uppercase().starts_with("TOK_")) {
            command.env_remove(&name);
        }
    }
}

#[cfg(unix)]
fn spawn(curl: &std::path::Path, args: &[String], headers: &str, options: Options) -> Result<Run> {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let fail = |e: std::io::Error| Error::other(format!("cannot run curl: {e}"));
    let (header_read, mut header_write) = std::io::pipe().map_err(fail)?;
    // Headers are far smaller than a pipe's buffer: write them all before curl starts.
    header_write.write_all(headers.as_bytes()).map_err(fail)?;
    drop(header_write);
    let (dump_read, dump_write) = if options.dump_at.is_some() {
        let (r, w) = std::io::pipe().map_err(fail)?;
        (Some(r), Some(w))
    } else {
        (None, None)
    };
    let mut inherited = vec![header_read.as_raw_fd()];
    let mut command = std::process::Command::new(curl);
    command.arg(CURL_FIRST).arg("-H").arg(format!("@/dev/fd/{}", header_read.as_raw_fd()));
    command.args(&options.trust);
    // The chain and the key, each through a pipe of its own (see `curl_tls`): written by
    // a thread, as curl reads them only when it connects; curl's exit closes the last
    // read end, so a writer curl never read from ends with EPIPE.
    let mut tls_reads = Vec::new();
    let mut tls_writers = Vec::new();
    if let Some(cert) = &options.client_cert {
        let mut pipe = |flag: &str, write: Box<dyn FnOnce(&mut std::io::PipeWriter) + Send>| -> Result<()> {
            let (read, mut writer) = std::io::pipe().map_err(fail)?;
            inherited.push(read.as_raw_fd());
            command.arg(flag).arg(format!("/dev/fd/{}", read.as_raw_fd()));
            verbose!("curl: {flag} through fd {}", read.as_raw_fd());
            tls_reads.push(read);
            tls_writers.push(std::thread::spawn(move || write(&mut writer)));
            Ok(())
        };
        let chain = cert.chain().to_string();
        pipe(
            "--cert",
            Box::new(move |w| {
                let _ = w.write_all(chain.as_bytes());
            }),
        )?;
        // The key stays a `Secret` (overwritten when dropped) until it is in the pipe.
        let key = cert.key().clone();
        pipe(
            "--key",
            Box::new(move |w| {
                let _ = w.write_all(key.expose().as_bytes());
            }),
        )?;
    }
    if options.no_location {
        command.arg("--no-location");
    }
    match (&dump_write, &options.dump_at) {
        (Some(w), Some(at)) => {
            inherited.push(w.as_raw_fd());
            command.args(curl_dump::args_with_dump(args, at, &format!("/dev/fd/{}", w.as_raw_fd())));
        }
        _ => {
            command.args(args);
        }
    }
    curl_environment(&mut command, &options.no_proxy);
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
    if options.hold_back || options.dump_to_stdout {
        command.stdout(std::process::Stdio::piped());
    }
    let mut child = command.spawn().map_err(fail)?;
    drop(header_read);
    drop(dump_write);
    drop(tls_reads);
    let shared = curl_dump::Shared::default();
    let reader = dump_read.map(|r| curl_dump::read(r, shared.clone()));
    let to_stdout = options.dump_to_stdout.then(|| shared.clone());
    let held = child.stdout.take().map(|out| hold_back(out, to_stdout));
    let held = held.and_then(|t| t.join().ok().flatten());
    let status = child.wait().map_err(fail)?;
    if let Some(reader) = reader {
        let _ = reader.join();
    }
    for writer in tls_writers {
        let _ = writer.join();
    }
    Ok(finished(status, held, &shared))
}

/// An attempt's outcome, once curl has exited and its pipes are read.
fn finished(status: std::process::ExitStatus, held: Option<Vec<u8>>, shared: &curl_dump::Shared) -> Run {
    let mut dump = shared.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Run { status, dumped: std::mem::take(&mut dump.bytes), dump_live: dump.live, held }
}

/// Windows: the header goes through a named pipe only this user can open (see
/// `winsec`); curl reads it with `-H @\\.\pipe\tok-…`, so it is on no command line.
#[cfg(windows)]
fn spawn(curl: &std::path::Path, args: &[String], headers: &str, options: Options) -> Result<Run> {
    use crate::winsec::Pipe;
    let fail = |e: std::io::Error| Error::other(format!("cannot run curl: {e}"));
    let header_pipe = Pipe::new(true).map_err(fail)?;
    let header_name = header_pipe.name.clone();
    let mut command = std::process::Command::new(curl);
    command.arg(CURL_FIRST).arg("-H").arg(format!("@{header_name}"));
    // `curl_tls::check_certificate_options` refused certificate profiles before this.
    if options.client_cert.is_some() {
        return Err(Error::other("tok curl cannot hand curl.exe a client certificate"));
    }
    command.args(&options.trust);
    let dump_pipe = if options.dump_at.is_some() { Some(Pipe::new(false).map_err(fail)?) } else { None };
    let dump_name = dump_pipe.as_ref().map(|p| p.name.clone());
    if options.no_location {
        command.arg("--no-location");
    }
    match (&dump_name, &options.dump_at) {
        (Some(name), Some(at)) => {
            command.args(curl_dump::args_with_dump(args, at, name));
        }
        _ => {
            command.args(args);
        }
    }
    curl_environment(&mut command, &options.no_proxy);
    verbose!("curl: running {} with the header on {header_name}", curl.display());
    let headers = headers.to_string();
    let writer = std::thread::spawn(move || header_pipe.serve(headers.as_bytes()));
    let shared = curl_dump::Shared::default();
    let reader = dump_pipe.map(|pipe| {
        let shared = shared.clone();
        std::thread::spawn(move || {
            let bytes = pipe.collect(curl_dump::LIMIT);
            curl_dump::read(std::io::Cursor::new(bytes), shared).join()
        })
    });
    if options.hold_back || options.dump_to_stdout {
        command.stdout(std::process::Stdio::piped());
    }
    let mut child = command.spawn().map_err(fail)?;
    let to_stdout = options.dump_to_stdout.then(|| shared.clone());
    let held = child.stdout.take().map(|out| hold_back(out, to_stdout)).and_then(|t| t.join().ok().flatten());
    let status = child.wait().map_err(fail)?;
    // A curl that exited before opening a pipe leaves its server waiting: release it.
    Pipe::release(&header_name, true);
    if let Some(name) = &dump_name {
        Pipe::release(name, false);
    }
    let _ = writer.join();
    if let Some(reader) = reader {
        let _ = reader.join();
    }
    Ok(finished(status, held, &shared))
}

#[cfg(not(any(unix, windows)))]
fn spawn(_: &std::path::Path, _: &[String], _: &str, _: Options) -> Result<Run> {
    Err(Error::other("tok curl needs a Unix system or Windows"))
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
        let table: [(&[&str], &[&str]); 8] = [
            (
                &["-X", "POST", "/Catalog/GetCountries"],
                &["-X", "POST", "https://api.example.com/Catalog/GetCountries"],
            ),
            (&["/a?x=1&y=2", "-o", "/tmp/out"], &["https://api.example.com/a?x=1&y=2", "-o", "/tmp/out"]),
            (&["-d", "@/tmp/body.json", "/p"], &["-d", "@/tmp/body.json", "https://api.example.com/p"]),
            (&["--url", "/u", "-D", "/tmp/h"], &["--url", "https://api.example.com/u", "-D", "/tmp/h"]),
            (&["--url=/u"], &["--url=https://api.example.com/u"]),
            (&["-sS", "https://other.example/x"], &["-sS", "https://other.example/x"]),
            (&["-H", "/not-a-url: header", "/p"], &["-H", "/not-a-url: header", "https://api.example.com/p"]),
            (
                &["-X", "POST", "-sSo", "/tmp/out.json", "/p"],
                &["-X", "POST", "-sSo", "/tmp/out.json", "https://api.example.com/p"],
            ),
        ];
        for (input, want) in table {
            let input = strings(input);
            let scan = curl_args::scan(&input);
            assert_eq!(resolve_urls(&input, &scan, Some(&base), "p").unwrap(), strings(want), "{input:?}");
        }
        let input = strings(&["/p"]);
        let err = resolve_urls(&input, &curl_args::scan(&input), None, "n3xt").unwrap_err();
        assert!(err.to_string().contains("n3xt documents no API host"), "{err}");
    }

    #[test]
    fn exit_codes_never_turn_a_crash_into_success() {
        assert_eq!(exit_code(0), ExitCode::SUCCESS);
        assert_eq!(exit_code(6), ExitCode::from(6));
        // STATUS_DLL_NOT_FOUND, as Windows reports a curl.exe that could not start.
        assert_eq!(exit_code(0xC000_0135_u32 as i32), ExitCode::from(1));
        assert_eq!(exit_code(256), ExitCode::from(1));
    }

    #[test]
    fn dumps_and_trace_ids() {
        let dump = b"HTTP/1.1 302 Found\r\nAuthentication-Token: old\r\n\r\nHTTP/1.1 200 OK\r\nauthentication-token: new\r\n\r\n";
        assert_eq!(last_header(dump, "authentication-token"), Some("new".into()));
        assert_eq!(last_status(dump), Some(200));
        assert_eq!(last_status(b""), None);
    }
}
