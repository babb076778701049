//! tok-sandbox: a local stand-in for the providers tok speaks to, as a library (the tests
//! start one per test, in process) and a binary (the tour, the benchmarks, by hand).
//!
//! No provider is reachable from a test machine, so the integration tests and the
//! README tour talk to this. It follows the providers' documents, quirks included
//! (NexterPay's quoted-string reply, ...), and adds what tests need: a request counter,
//! the last request seen per route, runtime settings, and injected faults.
//!
//! Control endpoints (never counted):
//!   GET  /_sandbox/stats     {"requests": {"POST /path": n}, "last": {"POST /path": {headers, body}},
//!                             "hold_timeouts": n}
//!   POST /_sandbox/fault     {"path", "status", "body", "headers", "delay_ms", "size", "chunked", "times",
//!                             "trickle_ms", "pass"}; "{{echo}}" / "{{echo_raw}}" in the body quote the
//!                             request ("{{echo_json_ascii}}", "{{echo_html}}", "{{echo_pct}}",
//!                             "{{echo_pyrepr}}", "{{echo_hex}}": in other escapes); "utf16le": true
//!                             sends the body as UTF-16LE; "pass": true only delays, then answers as usual, and with
//!                             "hold": true waits for /_sandbox/release instead of delay_ms
//!   POST /_sandbox/settings  {"nexterpay_lifetime": secs, "nexterpay_exp": bool, "clock_offset": secs,
//!                             "oauth2_lifetime": secs, "oauth2_expires_in": number,
//!                             "oauth2_exp": number, "oauth2_omit_expires_in": bool,
//!                             "merchant_access_lifetime": secs,
//!                             "merchant_refresh_lifetime": secs, "merchant_refresh_expired": bool,
//!                             "v1_lifetime": secs, "issuer_mismatch": bool,
//!                             "refuse_refresh": bool, "device": {"slow_down", "pending",
//!                             "outcome", "reply"} (see `device`),
//!                             "exchange_omit_issued_token_type": bool}
//!   POST /_sandbox/revoke    {"token": "..."} or {}: refuse that token, or every one issued so far
//!   POST /_sandbox/release   lets a held `GET /bytes?hold=1` or a "hold" fault go on
//!   POST /_sandbox/reset
//!
//! A generic API that takes any credential the sandbox issued: see `api`. DPoP: see `dpop`.
//! A generic API that takes any credential the sandbox issued: see `api`. With
//! `Options::tls` (`--tls`), an HTTPS listener with mutual TLS too: see `mtls`.

mod api;
mod device;
mod dpop;
mod issuer;
mod jwt;
mod merchant_v2;
pub mod mtls;
mod nelnet;
mod netdirector_v1;
mod nexterpay;
mod oauth2;
mod pki;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const USAGE: &str =
    "usage: tok-sandbox [--port N] [--nexterpay-lifetime SECS] [--nexterpay-no-exp] [--tls | --tls-dir DIR] [--quiet]

Starts local stand-ins for tok's providers on 127.0.0.1 and prints the base URL as the
first line on stdout. Demo credentials:
  nexterpay   user demo, password demo-password   (user suspended: 403)
  n3xt, netdirector, oauth2 (generic)
              client id demo-client, secret demo-secret; or client id
              'demo client:ü', secret 's3cr3t/+?&=:%ü é'
  merchant-v2 e-mail owner@acme.example, password demo-password,
              merchant id b34555b7-dca4-5ec1-ade3-64a3ad545310, API key demo-api-key-7f3c9a12
  nelnet      API Key ID 42f0c9d1-5b6e-4c1a-9d3e-7a8b9c0d1e2f, API key nps-demo-api-key-0f9e8d7c6b5a
  netdirector-v1  transaction 5d081471-0c12-5183-a611-a1ed1d9bbacb-EU01";

/// A request as the handlers see it.
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    /// The first MiB of the body.
    pub body: Vec<u8>,
    /// The whole body's length.
    pub body_bytes: u64,
    /// The connection it came on.
    pub peer: Peer,
}

/// What a connection tells about the client: whether it is TLS, and the certificate
/// chain the client presented (DER, the client's own first; empty for none).
#[derive(Clone, Default)]
pub struct Peer {
    pub tls: bool,
    pub certs: Arc<Vec<Vec<u8>>>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token)
    }
}

/// A reply from a handler.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
            body: value.to_string().into_bytes(),
        }
    }

    pub fn problem(status: u16, title: &str, section: &str) -> Reply {
        let body = json!({ "type": format!("https://tools.ietf.org/html/rfc9110#section-{section}"), "title": title, "status": status });
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/problem+json; charset=utf-8".into())],
            body: body.to_string().into_bytes(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub nexterpay_lifetime: i64,
    pub nexterpay_exp: bool,
    /// Seconds added to the sandbox's clock in the tokens it issues (a skewed server).
    pub clock_offset: i64,
    /// `expires_in` (and JWT lifetime) of the OAuth2 stand-ins.
    pub oauth2_lifetime: i64,
    /// An `expires_in` the OAuth2 stand-ins state instead of the true one (`1e300`: a
    /// server that says "for ever"); the sandbox still honours the token `oauth2_lifetime`.
    pub oauth2_expires_in: Option<f64>,
    /// An `exp` claim the OAuth2 stand-ins write instead of the true one.
    pub oauth2_exp: Option<f64>,
    /// Leave `expires_in` out of OAuth2 replies (the token's `exp` alone tells its life).
    pub oauth2_omit_expires_in: bool,
    pub merchant_access_lifetime: i64,
    pub merchant_refresh_lifetime: i64,
    /// Refuse every refresh token with REFRESH_TOKEN_EXPIRED.
    pub merchant_refresh_expired: bool,
    /// Lifetime of NetDirector V1 session tokens (the document's example: a week).
    pub v1_lifetime: i64,
    /// `/as` metadata names another issuer.
    pub issuer_mismatch: bool,
    /// `/as/token` refuses every refresh token (`invalid_grant`).
    pub refuse_refresh: bool,
    /// How `/as/authorize` misbehaves: `wrong_iss` (the redirect names another issuer),
    /// `no_iss` (the redirect has no `iss`, though the metadata says it sends one),
    /// `wrong_nonce` (the ID token carries another nonce), `error` (an `error=` redirect
    /// whose description echoes the client's secret).
    pub authorize_quirk: Option<String>,
    /// How `/as`'s device codes are answered (see `device`).
    pub device: device::Script,
    /// `/as/token`'s token exchange replies leave out `issued_token_type`.
    pub exchange_omit_issued_token_type: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            nexterpay_lifetime: 600 * 60,
            nexterpay_exp: true,
            clock_offset: 0,
            oauth2_lifetime: 3600,
            oauth2_expires_in: None,
            oauth2_exp: None,
            oauth2_omit_expires_in: false,
            merchant_access_lifetime: 30 * 60,
            merchant_refresh_lifetime: 2 * 24 * 3600,
            merchant_refresh_expired: false,
            v1_lifetime: 7 * 24 * 3600,
            issuer_mismatch: false,
            refuse_refresh: false,
            authorize_quirk: None,
            device: device::Script::default(),
            exchange_omit_issued_token_type: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Fault {
    path: String,
    #[serde(default = "default_status")]
    status: u16,
    #[serde(default)]
    body: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    delay_ms: u64,
    /// Repeat the body (or 'x') up to this many bytes.
    #[serde(default)]
    size: Option<u64>,
    /// Send without Content-Length.
    #[serde(default)]
    chunked: bool,
    /// How many requests it applies to; absent: all.
    #[serde(default)]
    times: Option<u32>,
    /// Send the body one byte at a time, this many milliseconds apart (after the headers).
    #[serde(default)]
    trickle_ms: u64,
    /// Send the body (after its echo) as UTF-16LE without a BOM, as a .NET service does.
    #[serde(default)]
    utf16le: bool,
    /// Only the delay: then answer as if there were no fault (a slow provider).
    #[serde(default)]
    pass: bool,
    /// With `pass`: wait for `POST /_sandbox/release` (at most a minute) instead of
    /// `delay_ms`, so a test decides when the answer comes.
    #[serde(default)]
    hold: bool,
}

/// The request as an echoing server quotes it back: the body, then the credential
/// headers, then the rest (an excerpt shows only the start).
fn echo_text(req: &Req) -> String {
    let mut headers: Vec<&(String, String)> = req.headers.iter().collect();
    headers.sort_by_key(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
    let headers: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let body = String::from_utf8_lossy(&req.body);
    format!("{body} {} {} {}?{}", headers.join("; "), req.method, req.path, req.query)
}

/// `{{echo}}` in a fault's body becomes the request (escaped for a JSON string),
/// `{{echo_raw}}` the request as it came: many real servers quote requests in errors.
/// Servers escape their own ways, and so can the echo: `{{echo_json_ascii}}` writes every
/// character as a JSON `\u` escape (`\u0061` for `a`), `{{echo_html}}` as HTML character
/// references (`&amp;`, `&#47;`, `&#xfc;`), `{{echo_pct}}` percent-encoded in lower-case
/// hex with `/` and `:` left raw. All three are safe inside a JSON string.
/// `{{echo_pyrepr}}` is Python's `repr()` of the request's bytes (ASCII as it is, `\\`
/// doubled, every other byte `\xNN`), `{{echo_hex}}` every byte as `\xNN`.
fn with_echo(body: &str, req: &Req) -> String {
    if !body.contains("{{echo") {
        return body.to_string();
    }
    let raw = echo_text(req);
    let json = serde_json::to_string(&raw).unwrap_or_default();
    let json_ascii: String = raw.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
    let html: String = raw
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            c if c.is_ascii_alphanumeric() || c == ' ' => c.to_string(),
            c if c.is_ascii() => format!("&#{};", c as u32),
            c => format!("&#x{:x};", c as u32),
        })
        .collect();
    let pct: String = raw
        .bytes()
        .map(|b| match b {
            b if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) => (b as char).to_string(),
            b => format!("%{b:02x}"),
        })
        .collect();
    let pyrepr: String = raw
        .bytes()
        .map(|b| match b {
            b'\\' => "\\\\".to_string(),
            b' '..=b'~' => (b as char).to_string(),
            b => format!("\\x{b:02x}"),
        })
        .collect();
    let hex: String = raw.bytes().map(|b| format!("\\x{b:02x}")).collect();
    body.replace("{{echo}}", json.trim_matches('"'))
        .replace("{{echo_pyrepr}}", &pyrepr)
        .replace("{{echo_hex}}", &hex)
        .replace("{{echo_raw}}", &raw)
        .replace("{{echo_json_ascii}}", &json_ascii)
        .replace("{{echo_html}}", &html)
        .replace("{{echo_pct}}", &pct)
}

fn default_status() -> u16 {
    500
}

#[derive(Default)]
pub struct State {
    pub settings: Settings,
    counts: BTreeMap<String, u64>,
    last: BTreeMap<String, Value>,
    faults: Vec<Fault>,
    /// Tokens issued, with their expiry on the sandbox's clock.
    pub issued: BTreeMap<String, i64>,
    /// merchant-v2 refresh tokens not yet spent, with their expiry.
    pub refresh_tokens: BTreeMap<String, i64>,
    /// NPS trace ids seen: each may be used once.
    pub traces: std::collections::BTreeSet<String>,
    pub serial: u64,
    /// `/as` refresh tokens not yet spent, with their client.
    pub as_refresh: BTreeMap<String, String>,
    pub as_out_of_band_spent: bool,
    /// Assertion `jti`s seen: each may be used once.
    pub as_jtis: std::collections::BTreeSet<String>,
    /// `/as` authorization codes not yet redeemed: what the authorization request said.
    pub as_codes: BTreeMap<String, Value>,
    /// `/as` device codes not yet spent.
    pub device_codes: device::Codes,
    /// `POST /_sandbox/release` was called since the last `GET /bytes`.
    pub released: bool,
    /// Held `/bytes` replies that went on without a release.
    pub hold_timeouts: u64,
    /// DPoP tokens, refresh tokens, proofs seen and nonces (`dpop`).
    pub dpop: dpop::Ledger,
    /// The test CA and certificates of the HTTPS listener, when there is one.
    pub pki: Option<Arc<mtls::Pki>>,
}

impl State {
    pub fn now(&self) -> i64 {
        now() + self.settings.clock_offset
    }
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// How the sandbox runs: from the command line of `tok-sandbox`, or a test's.
pub struct Options {
    pub port: u16,
    pub settings: Settings,
    pub quiet: bool,
    /// Also an HTTPS listener with mutual TLS (see `mtls`), on a port of its own.
    pub tls: bool,
    /// `--tls-dir DIR` (the binary): where to write the test CA and client certificates.
    pub tls_dir: Option<std::path::PathBuf>,
}

/// `tok-sandbox`'s arguments; `Ok(None)` for `--help`.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Options>, String> {
    let mut options =
        Options { port: 0, settings: Settings::default(), quiet: false, tls: false, tls_dir: None };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => options.port = value("--port")?.parse().map_err(|_| "--port takes a number")?,
            "--nexterpay-lifetime" => {
                options.settings.nexterpay_lifetime = value("--nexterpay-lifetime")?
                    .parse()
                    .map_err(|_| "--nexterpay-lifetime takes seconds")?
            }
            "--nexterpay-no-exp" => options.settings.nexterpay_exp = false,
            "--quiet" | "-q" => options.quiet = true,
            "--tls" => options.tls = true,
            "--tls-dir" => {
                options.tls = true;
                options.tls_dir = Some(value("--tls-dir")?.into());
            }
            "--help" | "-h" => return Ok(None),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(Some(options))
}

/// A running sandbox: it stops serving when dropped.
pub struct Running {
    pub url: String,
    /// The HTTPS listener's base URL and its certificates, with `Options::tls`.
    pub tls: Option<(String, Arc<mtls::Pki>)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Serves until the process ends.
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The body of a sandbox reply: whole, or streamed from a thread (faults that trickle,
/// `/bytes`).
pub type Body = Either<Full<Bytes>, Streamed>;

/// Starts serving on 127.0.0.1, on threads of its own.
pub fn start(options: Options) -> std::io::Result<Running> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let pki = match options.tls {
        true => Some(Arc::new(mtls::Pki::generate().map_err(std::io::Error::other)?)),
        false => None,
    };
    let tls_listener = match &pki {
        Some(pki) => {
            let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
            listener.set_nonblocking(true)?;
            let config = Arc::new(pki.server_config().map_err(std::io::Error::other)?);
            Some((listener, config))
        }
        None => None,
    };
    let tls = match (&tls_listener, &pki) {
        (Some((listener, _)), Some(pki)) => {
            Some((format!("https://127.0.0.1:{}", listener.local_addr()?.port()), Arc::clone(pki)))
        }
        _ => None,
    };
    let state = Arc::new(Mutex::new(State { settings: options.settings, pki, ..State::default() }));
    let quiet = options.quiet;
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
            if let Some((listener, config)) = tls_listener
                && let Ok(listener) = tokio::net::TcpListener::from_std(listener)
            {
                tokio::spawn(mtls::serve(listener, config, Arc::clone(&state), quiet));
            }
            loop {
                let (stream, _) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(_) => continue,
                    },
                    _ = &mut stopped => return,
                };
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move {
                            Ok::<_, std::convert::Infallible>(
                                handle(state, request, quiet, Peer::default()).await,
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        runtime.shutdown_background();
    });
    Ok(Running { url: format!("http://127.0.0.1:{port}"), tls, stop: Some(stop), thread: Some(thread) })
}

/// Reads the request (its first MiB kept, the rest counted), then answers on a blocking
/// thread: handlers take locks and faults sleep.
async fn handle(
    state: Arc<Mutex<State>>,
    request: hyper::Request<Incoming>,
    quiet: bool,
    peer: Peer,
) -> hyper::Response<Body> {
    let (parts, mut incoming) = request.into_parts();
    let mut body = Vec::new();
    let mut body_bytes = 0u64;
    while let Some(frame) = incoming.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            body_bytes += data.len() as u64;
            let room = (1024 * 1024usize).saturating_sub(body.len());
            body.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    let req = Req {
        method: parts.method.as_str().to_uppercase(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body,
        body_bytes,
        peer,
    };
    tokio::task::spawn_blocking(move || serve(&state, req, quiet))
        .await
        .unwrap_or_else(|_| whole(500, Vec::new(), b"{\"error\":\"sandbox handler failed\"}".to_vec()))
}

fn serve(state: &Arc<Mutex<State>>, req: Req, quiet: bool) -> hyper::Response<Body> {
    let route = format!("{} {}", req.method, req.path);
    let reply = if req.path.starts_with("/_sandbox/") {
        control(state, &req)
    } else {
        let fault = {
            let mut s = state.lock().unwrap();
            *s.counts.entry(route.clone()).or_default() += 1;
            let headers: BTreeMap<_, _> =
                req.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
            let last =
                json!({ "query": req.query, "headers": headers, "body": String::from_utf8_lossy(&req.body) });
            s.last.insert(route.clone(), last);
            take_fault(&mut s, &req.path)
        };
        if let Some(fault) = fault.as_ref().filter(|f| f.pass) {
            if fault.hold {
                let started = std::time::Instant::now();
                while !state.lock().unwrap().released && started.elapsed() < Duration::from_secs(60) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            } else {
                std::thread::sleep(Duration::from_millis(fault.delay_ms));
            }
        } else if let Some(mut fault) = fault {
            fault.body = with_echo(&fault.body, &req);
            if !quiet {
                eprintln!("tok-sandbox: {route} -> fault {}", fault.status);
            }
            return respond_fault(state, &fault);
        }
        if req.method == "GET" && req.path == "/bytes" {
            match api::bytes(state, &req) {
                Ok((length, body)) => return streamed(200, Vec::new(), body, Some(length)),
                Err(reply) => return respond(state, reply),
            }
        }
        let reply = nexterpay::handle(state, &req)
            .or_else(|| oauth2::handle(state, &req))
            .or_else(|| dpop::handle(state, &req))
            .or_else(|| issuer::handle(state, &req))
            .or_else(|| merchant_v2::handle(state, &req))
            .or_else(|| nelnet::handle(state, &req))
            .or_else(|| netdirector_v1::handle(state, &req))
            .or_else(|| api::handle(state, &req))
            .or_else(|| mtls::handle(state, &req))
            .unwrap_or_else(|| Reply::json(404, &json!({ "error": "not_found", "path": req.path })));
        if !quiet {
            eprintln!("tok-sandbox: {route} -> {}", reply.status);
        }
        reply
    };
    respond(state, reply)
}

/// The Date header on the sandbox's clock, `clock_offset` included: a skewed server.
fn date(state: &Mutex<State>) -> Option<(String, String)> {
    let offset = state.lock().map(|s| s.settings.clock_offset).unwrap_or(0);
    let stamp = jiff::Timestamp::from_second(now() + offset).ok()?;
    let date = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&stamp).ok()?;
    Some(("Date".into(), date))
}

fn respond(state: &Mutex<State>, reply: Reply) -> hyper::Response<Body> {
    let mut headers = reply.headers;
    headers.extend(date(state));
    whole(reply.status, headers, reply.body)
}

fn response(status: u16, headers: Vec<(String, String)>, body: Body) -> hyper::Response<Body> {
    let mut response = hyper::Response::new(body);
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
            response.headers_mut().append(k, v);
        }
    }
    response
}

fn whole(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> hyper::Response<Body> {
    response(status, headers, Either::Left(Full::new(Bytes::from(body))))
}

/// A body read from `reader` on a thread of its own, sent on as it comes; with `length`,
/// sent with a Content-Length.
fn streamed(
    status: u16,
    headers: Vec<(String, String)>,
    mut reader: impl Read + Send + 'static,
    length: Option<u64>,
) -> hyper::Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.blocking_send(Bytes::copy_from_slice(&buffer[..n])).is_err() {
                        return;
                    }
                }
            }
        }
    });
    response(status, headers, Either::Right(Streamed { rx, length }))
}

pub struct Streamed {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    length: Option<u64>,
}

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.length.map(hyper::body::SizeHint::with_exact).unwrap_or_default()
    }
}

fn take_fault(s: &mut State, path: &str) -> Option<Fault> {
    let index = s.faults.iter().position(|f| f.path == path)?;
    let fault = s.faults[index].clone();
    if let Some(times) = &mut s.faults[index].times {
        *times -= 1;
        if *times == 0 {
            s.faults.remove(index);
        }
    }
    Some(fault)
}

fn respond_fault(state: &Mutex<State>, fault: &Fault) -> hyper::Response<Body> {
    std::thread::sleep(Duration::from_millis(fault.delay_ms));
    let mut headers: Vec<(String, String)> = fault.headers.clone().into_iter().collect();
    if !fault.headers.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    headers.extend(date(state));
    let seed =
        if fault.body.is_empty() && fault.size.is_some() { "x".to_string() } else { fault.body.clone() };
    let seed: Vec<u8> = if fault.utf16le {
        seed.encode_utf16().flat_map(u16::to_le_bytes).collect()
    } else {
        seed.into_bytes()
    };
    let length = fault.size.unwrap_or(seed.len() as u64);
    let reader = seed.into_iter().cycle().take(length as usize);
    let reader = IterReader(reader, Duration::from_millis(fault.trickle_ms));
    streamed(fault.status, headers, reader, (!fault.chunked).then_some(length))
}

/// A body from an iterator; with a pause, one byte per read (a trickling server).
struct IterReader<I>(I, Duration);

impl<I: Iterator<Item = u8>> Read for IterReader<I> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.1.is_zero() {
            std::thread::sleep(self.1);
            return match (self.0.next(), buf.first_mut()) {
                (Some(b), Some(slot)) => {
                    *slot = b;
                    Ok(1)
                }
                _ => Ok(0),
            };
        }
        let mut n = 0;
        for slot in buf.iter_mut() {
            match self.0.next() {
                Some(b) => {
                    *slot = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

fn control(state: &Mutex<State>, req: &Req) -> Reply {
    let mut s = state.lock().unwrap();
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/_sandbox/stats") => Reply::json(
            200,
            &json!({ "requests": s.counts, "last": s.last, "hold_timeouts": s.hold_timeouts }),
        ),
        ("POST", "/_sandbox/fault") => match serde_json::from_slice::<Fault>(&req.body) {
            Ok(fault) => {
                if fault.hold {
                    s.released = false;
                }
                s.faults.push(fault);
                Reply::json(200, &json!({ "ok": true }))
            }
            Err(e) => Reply::json(400, &json!({ "error": e.to_string() })),
        },
        ("POST", "/_sandbox/settings") => {
            let mut current = serde_json::to_value(&s.settings).unwrap_or(Value::Null);
            if let (Some(map), Ok(Value::Object(patch))) =
                (current.as_object_mut(), serde_json::from_slice::<Value>(&req.body))
            {
                map.extend(patch);
            }
            match serde_json::from_value::<Settings>(current) {
                Ok(settings) => {
                    s.settings = settings;
                    Reply::json(200, &json!({ "ok": true }))
                }
                Err(e) => Reply::json(400, &json!({ "error": e.to_string() })),
            }
        }
        // A token revoked before its expiry (server restarted, key rotated): every token
        // issued so far, or the one given, is refused from now on.
        ("POST", "/_sandbox/revoke") => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            match body.get("token").and_then(Value::as_str) {
                Some(token) => {
                    s.issued.remove(token);
                }
                None => s.issued.clear(),
            }
            s.dpop.revoke(body.get("token").and_then(Value::as_str));
            Reply::json(200, &json!({ "ok": true }))
        }
        ("POST", "/_sandbox/release") => {
            s.released = true;
            Reply::json(200, &json!({ "ok": true }))
        }
        ("POST", "/_sandbox/reset") => {
            *s = State::default();
            Reply::json(200, &json!({ "ok": true }))
        }
        _ => Reply::json(404, &json!({ "error": "unknown control endpoint" })),
    }
}
