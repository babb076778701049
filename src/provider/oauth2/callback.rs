//! The loopback redirect of an authorization-code login (RFC 8252 §7.3): the redirect
//! URI, and the one-shot listener that waits for the browser to bring the code back.
//!
//! The listener binds loopback only and takes exactly one request: a `GET` on the
//! redirect path whose `state` is this login's. Anything else (another path, a wrong or
//! missing state, a favicon, a malformed query) gets a short error page and the wait goes
//! on, so a page or a process on the same host cannot end the login or inject a code.
//! The wait ends at the login's deadline, or at once on Ctrl-C (`interrupt::CtrlC`, as
//! for a device login: caught only while the listener is open, so tok can close it and
//! exit 130). One thread reads every connection without blocking, each with 5 s for its
//! head and at most 256 kept: neither a browser's idle preconnection nor a flood of silent
//! connections holds up the request that carries the code or takes a thread.

use crate::error::{Error, Result};
use crate::secret::Secret;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Where the browser is sent back to: loopback, plain HTTP (RFC 8252 §7.3, §8.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Port 0: any free one, chosen when the listener binds.
    pub addr: SocketAddr,
    pub path: String,
}

impl Redirect {
    /// `--redirect-uri`, or `http://127.0.0.1:<free port>/callback` without one.
    pub fn parse(given: Option<&str>) -> Result<Redirect> {
        let Some(text) = given else {
            return Ok(Redirect {
                addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                path: "/callback".to_string(),
            });
        };
        let refuse = |why: &str| {
            Error::usage(format!("--redirect-uri {why}"))
                .hint("use a loopback redirect such as http://127.0.0.1:8765/callback (RFC 8252 §7.3)")
        };
        let url = reqwest::Url::parse(text)
            .map_err(|e| refuse(&format!("is not a URL{}", crate::http::url_hint(e, text))))?;
        if url.scheme() != "http" {
            return Err(refuse("is not http: the callback is served on this machine, without TLS"));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => IpAddr::V6(ip),
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
                return Err(refuse(
                    "names localhost: use 127.0.0.1, which no resolver or firewall can redirect (RFC 8252 §8.3)",
                ));
            }
            _ => return Err(refuse("is not loopback: tok listens on 127.0.0.1 or [::1] only")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("carries credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refuse("has a query or a fragment"));
        }
        // An explicit port: a fixed redirect URI is registered with one.
        let port = match url.port() {
            Some(port) if port != 0 && text.contains(&format!(":{port}")) => port,
            _ => return Err(refuse("names no port (http://127.0.0.1:PORT/PATH)")),
        };
        Ok(Redirect { addr: SocketAddr::new(ip, port), path: url.path().to_string() })
    }

    /// The URI sent to the server, with the port the listener got.
    pub fn uri(&self, port: u16) -> String {
        match self.addr.ip() {
            IpAddr::V4(ip) => format!("http://{ip}:{port}{}", self.path),
            IpAddr::V6(ip) => format!("http://[{ip}]:{port}{}", self.path),
        }
    }
}

/// What one request to the listener was.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Not this login's answer: an error page, and the wait goes on.
    Ignore(&'static str),
    Answer(Answer),
}

/// This login's answer: what the wait returns.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// The authorization response (RFC 6749 §4.1.2), with RFC 9207's `iss` when sent.
    Code { code: Secret, iss: Option<String> },
    /// The server's error response (§4.1.2.1), with this login's state.
    Refused { error: String, description: Option<String>, iss: Option<String> },
}

/// Judges the request-target of one `GET` on the listener.
pub fn judge(target: &str, path: &str, state: &str) -> Verdict {
    let (got_path, query) = target.split_once('?').unwrap_or((target, ""));
    if got_path != path {
        return Verdict::Ignore("not the redirect path");
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        // RFC 6749 §3.1: a parameter may not be sent twice; such a reply is not trusted.
        if pairs.iter().any(|(seen, _)| *seen == k) {
            return Verdict::Ignore("a parameter is repeated");
        }
        pairs.push((k.into_owned(), v.into_owned()));
    }
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    match get("state") {
        Some(got) if same(&got, state) => {}
        Some(_) => return Verdict::Ignore("the state is not this login's"),
        None => return Verdict::Ignore("there is no state"),
    }
    let iss = get("iss");
    if let Some(error) = get("error") {
        return Verdict::Answer(Answer::Refused { error, description: get("error_description"), iss });
    }
    match get("code") {
        Some(code) if !code.is_empty() => Verdict::Answer(Answer::Code { code: Secret::new(code), iss }),
        _ => Verdict::Ignore("there is no code"),
    }
}

/// Compares without stopping at the first difference: the state is a secret of sorts.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The request-target of a `GET` request head, or why it is not one.
pub fn request_target(head: &[u8]) -> std::result::Result<&str, &'static str> {
    let line_end = head.windows(2).position(|w| w == b"\r\n").ok_or("no request line")?;
    let line = std::str::from_utf8(&head[..line_end]).map_err(|_| "the request line is not UTF-8")?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    if parts.next().is_some() || !version.is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err("not an HTTP/1 request line");
    }
    if method != Some("GET") {
        return Err("not a GET");
    }
    target.filter(|t| t.starts_with('/')).ok_or("no origin-form target")
}

/// A listener bound to the redirect's address; `port()` is the one the URI must name.
pub struct Listener {
    inner: TcpListener,
    /// Ctrl-C from the bind on (the URL is printed before the wait starts).
    interrupt: super::interrupt::CtrlC,
}

impl Listener {
    pub fn bind(redirect: &Redirect) -> Result<Listener> {
        let inner = TcpListener::bind(redirect.addr).map_err(|e| {
            Error::other(format!("cannot listen on {} for the login's redirect: {e}", redirect.addr))
                .hint("free that port, or give another --redirect-uri (one the client is registered with)")
        })?;
        inner
            .set_nonblocking(true)
            .map_err(|e| Error::other(format!("cannot set up the redirect listener: {e}")))?;
        Ok(Listener { inner, interrupt: super::interrupt::CtrlC::catch() })
    }

    pub fn port(&self) -> u16 {
        self.inner.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Waits for this login's answer until `deadline`; the listener closes on return.
    pub fn wait(self, path: &str, state: &str, deadline: Instant) -> Result<Answer> {
        // One thread reads every connection without blocking: a flood of silent
        // connections can neither take threads nor hold the browser's request back. At
        // most `MAX_PENDING` are kept (a new one pushes out the oldest), each for
        // `HEAD_TIME` to send its whole head.
        let mut pending: VecDeque<Pending> = VecDeque::new();
        let mut buf = [0u8; 2048];
        loop {
            if self.interrupt.pressed() {
                return Err(Error::interrupted("the login was interrupted; nothing was stored"));
            }
            if Instant::now() >= deadline {
                return Err(Error::network(
                    "no answer came back from the browser within the login timeout; nothing was stored",
                )
                .hint("finish the login in the browser sooner, or give a longer --login-timeout"));
            }
            loop {
                match self.inner.accept() {
                    Ok((stream, _)) => {
                        if stream.set_nonblocking(true).is_err() {
                            continue;
                        }
                        if pending.len() >= MAX_PENDING {
                            pending.pop_front();
                        }
                        pending.push_back(Pending { stream, head: Vec::new(), since: Instant::now() });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => break,
                    Err(e) => return Err(Error::other(format!("the redirect listener failed: {e}"))),
                }
            }
            let mut i = 0;
            while i < pending.len() {
                let outcome = pending[i].read(&mut buf);
                let Some(target) = outcome else {
                    i += 1;
                    continue;
                };
                let Some(mut done) = pending.remove(i) else { continue };
                crate::http::zero(&mut done.head);
                let verdict = match target {
                    Ok(target) => judge(&target, path, state),
                    Err(why) => Verdict::Ignore(why),
                };
                let page = match &verdict {
                    Verdict::Ignore(_) => {
                        ("400 Bad Request", "This is not the answer tok is waiting for; it was ignored.")
                    }
                    Verdict::Answer(Answer::Code { .. }) => {
                        ("200 OK", "Signed in. You can close this page and return to the terminal.")
                    }
                    Verdict::Answer(Answer::Refused { .. }) => {
                        ("200 OK", "The login was refused. Return to the terminal to see why.")
                    }
                };
                let _ = done.stream.set_nonblocking(false);
                answer(&mut done.stream, page);
                match verdict {
                    Verdict::Ignore(why) => {
                        crate::term::verbose!("login redirect: ignored a request ({why})")
                    }
                    Verdict::Answer(answer) => return Ok(answer),
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Connections kept at once, and how long each has for its head: a browser opens a few
/// and sends at once.
const MAX_PENDING: usize = 256;
const HEAD_TIME: Duration = Duration::from_secs(5);

/// A connection whose request head is still coming. The head holds the code: it goes
/// nowhere but `judge`, and is zeroed after.
struct Pending {
    stream: TcpStream,
    head: Vec<u8>,
    since: Instant,
}

impl Pending {
    /// `None` while the head is still coming; then its target, or why it is ignored.
    fn read(&mut self, buf: &mut [u8]) -> Option<std::result::Result<String, &'static str>> {
        if self.since.elapsed() > HEAD_TIME {
            return Some(Err("the request head took too long"));
        }
        match self.stream.read(buf) {
            Ok(0) => return Some(Err("the request ended early")),
            Ok(n) => self.head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return None,
            Err(_) => return Some(Err("the request ended early")),
        }
        if self.head.windows(4).any(|w| w == b"\r\n\r\n") {
            return Some(request_target(&self.head).map(str::to_string));
        }
        if self.head.len() > 16 * 1024 {
            return Some(Err("the request head is too large"));
        }
        None
    }
}

fn answer(stream: &mut TcpStream, (status, text): (&str, &str)) {
    let body = format!("<!doctype html><meta charset=utf-8><title>tok</title><p>{text}</p>\n");
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_table() {
        let ok: [(Option<&str>, &str, u16, &str); 5] = [
            (None, "127.0.0.1", 0, "/callback"),
            (Some("http://127.0.0.1:8765/callback"), "127.0.0.1", 8765, "/callback"),
            (Some("http://127.0.0.1:8765"), "127.0.0.1", 8765, "/"),
            (Some("http://127.1.2.3:9000/cb/x"), "127.1.2.3", 9000, "/cb/x"),
            (Some("http://[::1]:8765/callback"), "::1", 8765, "/callback"),
        ];
        for (given, ip, port, path) in ok {
            let r = Redirect::parse(given).unwrap();
            assert_eq!((r.addr.ip().to_string().as_str(), r.addr.port(), r.path.as_str()), (ip, port, path));
        }
        assert_eq!(Redirect::parse(None).unwrap().uri(4242), "http://127.0.0.1:4242/callback");
        assert_eq!(Redirect::parse(Some("http://[::1]:8765/cb")).unwrap().uri(8765), "http://[::1]:8765/cb");
        let refused = [
            ("https://127.0.0.1:8765/callback", "is not http"),
            ("http://localhost:8765/callback", "names localhost"),
            ("http://example.com:8765/callback", "is not loopback"),
            ("http://10.0.0.1:8765/callback", "is not loopback"),
            ("http://0.0.0.0:8765/callback", "is not loopback"),
            ("http://127.0.0.1/callback", "names no port"),
            ("http://127.0.0.1:80/callback", "names no port"),
            ("http://127.0.0.1:0/callback", "names no port"),
            ("http://127.0.0.1:8765/callback?x=1", "query or a fragment"),
            ("http://127.0.0.1:8765/callback#x", "query or a fragment"),
            ("http://u:p@127.0.0.1:8765/callback", "carries credentials"),
            ("myapp:/callback", "is not http"),
            ("127.0.0.1:8765", "is not"),
            ("not a url", "is not a URL"),
        ];
        for (given, want) in refused {
            let e = Redirect::parse(Some(given)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{given}");
            assert!(e.to_string().contains(want), "{given}: {e}");
        }
    }

    #[test]
    fn callback_request_table() {
        let state = "st-0123456789";
        let code = |c: &str, iss: Option<&str>| {
            Verdict::Answer(Answer::Code { code: Secret::new(c), iss: iss.map(str::to_string) })
        };
        let table: [(&str, Verdict); 16] = [
            ("/callback?code=abc&state=st-0123456789", code("abc", None)),
            (
                "/callback?state=st-0123456789&code=a%2Fb&iss=http%3A%2F%2F127.0.0.1%3A1",
                code("a/b", Some("http://127.0.0.1:1")),
            ),
            (
                "/callback?error=access_denied&error_description=End-User+aborted&state=st-0123456789",
                Verdict::Answer(Answer::Refused {
                    error: "access_denied".into(),
                    description: Some("End-User aborted".into()),
                    iss: None,
                }),
            ),
            (
                "/callback?error=invalid_request&state=st-0123456789&code=x",
                Verdict::Answer(Answer::Refused {
                    error: "invalid_request".into(),
                    description: None,
                    iss: None,
                }),
            ),
            ("/callback?code=abc&state=other", Verdict::Ignore("the state is not this login's")),
            ("/callback?code=abc&state=st-012345678", Verdict::Ignore("the state is not this login's")),
            ("/callback?code=abc", Verdict::Ignore("there is no state")),
            ("/callback?error=access_denied", Verdict::Ignore("there is no state")),
            ("/callback?error=access_denied&state=nope", Verdict::Ignore("the state is not this login's")),
            ("/callback?state=st-0123456789", Verdict::Ignore("there is no code")),
            ("/callback?state=st-0123456789&code=", Verdict::Ignore("there is no code")),
            ("/favicon.ico", Verdict::Ignore("not the redirect path")),
            ("/callback/x?code=abc&state=st-0123456789", Verdict::Ignore("not the redirect path")),
            ("/", Verdict::Ignore("not the redirect path")),
            ("/callback?code=a&code=b&state=st-0123456789", Verdict::Ignore("a parameter is repeated")),
            (
                "/callback?code=a&state=st-0123456789&state=st-0123456789",
                Verdict::Ignore("a parameter is repeated"),
            ),
        ];
        for (target, want) in table {
            assert_eq!(judge(target, "/callback", state), want, "{target}");
        }
        // Malformed escapes decode lossily and match nothing.
        assert!(matches!(judge("/callback?code=%zz&state=%ff", "/callback", state), Verdict::Ignore(_)));
    }

    #[test]
    fn request_line_table() {
        let table: [(&[u8], std::result::Result<&str, &str>); 8] = [
            (b"GET /callback?code=x HTTP/1.1\r\nHost: a\r\n\r\n", Ok("/callback?code=x")),
            (b"GET / HTTP/1.0\r\n\r\n", Ok("/")),
            (b"POST /callback HTTP/1.1\r\n\r\n", Err("not a GET")),
            (b"HEAD /callback HTTP/1.1\r\n\r\n", Err("not a GET")),
            (b"GET http://evil/callback HTTP/1.1\r\n\r\n", Err("no origin-form target")),
            (b"GET /callback HTTP/2\r\n\r\n", Err("not an HTTP/1 request line")),
            (b"GET /a b HTTP/1.1\r\n\r\n", Err("not an HTTP/1 request line")),
            (b"\xff\xfe\r\n\r\n", Err("the request line is not UTF-8")),
        ];
        for (head, want) in table {
            assert_eq!(request_target(head), want, "{}", String::from_utf8_lossy(head));
        }
    }
}
