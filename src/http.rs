//! Every request tok makes goes through `Http::send`.
//!
//! The client is built on the first request only: building it loads the OS certificate
//! store (~10 ms on Linux), and the cached `tok print` path must not pay for that.
//! Token endpoints are never redirected (a redirect would carry credentials to a host
//! nobody configured), replies are capped at 1 MiB, plain HTTP is refused except on
//! loopback, and retries happen only where repeating the request is harmless.
//!
//! `--timeout` is a deadline for each exchange end to end (connect, headers, body), not a
//! limit per read: a server trickling one byte a second is cut off on time. All the
//! exchanges and retries of one command share a budget of three times that (`BUDGET`),
//! and so does waiting for another tok's refresh, so a command's network time is bounded
//! whatever the server does.
//!
//! Proxies are deliberate: only HTTPS requests to non-loopback hosts go through one
//! (`HTTPS_PROXY`, then `ALL_PROXY`, as curl reads them; `NO_PROXY` honoured), where TLS
//! runs end to end through a CONNECT tunnel. Plain HTTP, which tok sends only to
//! loopback, never goes through a proxy: `http_proxy` would carry it in clear text to
//! another host. The system's own proxy settings are not read.

use crate::error::{Error, Result};
use crate::term::verbose;
use crate::token::now_f64;
use reqwest::Url;
use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::cell::OnceCell;
use std::io::Read;
use std::time::{Duration, Instant};

pub const MAX_REPLY: u64 = 1024 * 1024;
const ATTEMPTS: u32 = 3;
/// One command's network budget, in timeouts: every exchange, retry and backoff, and
/// waiting for another tok's refresh, fit in `BUDGET × --timeout`.
pub const BUDGET: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(200);
/// Longer waits than this are not worth blocking a script for: report the rate limit.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Whether a request may be sent again after an uncertain outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Asking again is harmless (a login, a client-credentials grant): retry on connection
    /// errors, timeouts, 429 and 5xx.
    Safe,
    /// The request spends something (a rotating refresh token): retry only when it surely
    /// was not processed (connection refused, 429).
    Once,
}

pub struct Request {
    /// The provider's name, for messages.
    pub provider: &'static str,
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(&'static str, String, bool)>,
    pub body: Option<(&'static str, Vec<u8>)>,
    pub retry: Retry,
    /// The TLS client certificate to present (RFC 8705), when the profile has one.
    pub identity: Option<std::sync::Arc<crate::client_cert::ClientCert>>,
}

impl Request {
    pub fn new(provider: &'static str, method: reqwest::Method, url: Url) -> Request {
        Request { provider, method, url, headers: Vec::new(), body: None, retry: Retry::Safe, identity: None }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into(), false));
        self
    }

    /// A header holding a credential: marked sensitive so it never shows in debug output.
    pub fn secret_header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into(), true));
        self
    }

    pub fn json(mut self, body: &serde_json::Value) -> Request {
        self.body = Some(("application/json", body.to_string().into_bytes()));
        self
    }
}

/// Bodies and headers built with secrets in them are overwritten once sent.
impl Drop for Request {
    fn drop(&mut self) {
        for (_, value, _) in &mut self.headers {
            // SAFETY: zero bytes are valid UTF-8.
            zero(unsafe { value.as_bytes_mut() });
        }
        if let Some((_, body)) = &mut self.body {
            zero(body);
        }
    }
}

pub fn zero(bytes: &mut [u8]) {
    for byte in bytes {
        // Volatile, so the optimiser cannot drop stores to memory about to be freed.
        unsafe { std::ptr::write_volatile(byte, 0) };
    }
}

#[derive(Debug)]
pub struct Reply {
    pub provider: &'static str,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// When the request that got this reply was sent (Unix seconds, local clock).
    pub sent_at: f64,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A short, sanitized excerpt of the body for error messages.
    pub fn excerpt(&self) -> String {
        excerpt(&self.body)
    }

    /// The error for a reply the provider module does not expect: 5xx, 429 and anything
    /// else are network/server failures (exit 5), named by provider and status.
    pub fn unexpected(&self) -> Error {
        let status = status_text(self.status);
        let mut message = match self.status {
            300..=399 => format!(
                "{} answered {status} and tok does not follow redirects from token endpoints",
                self.provider
            ),
            429 => format!("{} is rate limiting requests ({status})", self.provider),
            _ => format!("{} answered {status}", self.provider),
        };
        if self.status == 429
            && let Some(after) = self.header("retry-after")
        {
            message.push_str(&format!("; it asks to retry after {}s", crate::secret::outside(after.trim())));
        }
        let excerpt = self.excerpt();
        if !excerpt.is_empty() {
            message.push_str(&format!(": {excerpt}"));
        }
        Error::network(message)
    }
}

/// Beyond this difference between the local clock and a server's, tok says so.
const NOTABLE_SKEW: i64 = 60;

pub struct Http {
    /// The server's clock minus this machine's, in seconds, from the last reply's `Date`.
    skew: std::cell::Cell<Option<i64>>,
    skew_told: std::cell::Cell<bool>,
    timeout: Duration,
    /// When this command's network budget runs out.
    deadline: Instant,
    /// Built on the first request, with the proxy it was set up for.
    client: OnceCell<(Client, Option<EnvProxy>)>,
    /// A client per TLS client certificate (by thumbprint): a token-exchange chain may
    /// speak for two profiles, each with its own.
    with_identity: std::cell::RefCell<Vec<(String, Client)>>,
}

impl Http {
    pub fn new(timeout: Duration) -> Http {
        Http {
            skew: std::cell::Cell::new(None),
            skew_told: std::cell::Cell::new(false),
            timeout,
            deadline: Instant::now() + timeout * BUDGET,
            client: OnceCell::new(),
            with_identity: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// The server's clock minus this machine's (seconds) at the last reply with a `Date`.
    pub fn clock_skew(&self) -> Option<i64> {
        self.skew.get()
    }

    /// Reads a reply's `Date` and, once per command, says when the clocks differ by more
    /// than a minute. Decisions stay on the local clock (see `policy`); this is so that a
    /// person can tell why tokens look short or expired elsewhere.
    fn note_clock(&self, provider: &str, reply: &Reply) {
        let Some(date) = reply.header("date") else { return };
        // Date has whole seconds, cut off: compare it with whole local seconds.
        let now = now_f64().floor() as i64;
        let Some(server) = crate::civil::parse_http_date(date, now) else { return };
        let skew = server - now;
        self.skew.set(Some(skew));
        if skew.abs() > NOTABLE_SKEW && !self.skew_told.replace(true) {
            crate::term::warn(&format!("{}; tok decides on this machine's clock", skew_text(provider, skew)));
        }
    }

    /// When this command gives up on the network, waiting for another tok included.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// `--timeout`: the deadline for one exchange.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn budget(&self) -> Duration {
        self.timeout * BUDGET
    }

    fn client(&self) -> Result<&(Client, Option<EnvProxy>)> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let proxy = EnvProxy::from_env()?;
        let client = self.build(proxy.as_ref(), None)?;
        Ok(self.client.get_or_init(|| (client, proxy)))
    }

    /// The client that presents `identity`, built once per certificate.
    fn client_with(&self, identity: &crate::client_cert::ClientCert) -> Result<(Client, Option<EnvProxy>)> {
        let proxy = EnvProxy::from_env()?;
        let thumbprint = identity.thumbprint();
        if let Some((_, client)) = self.with_identity.borrow().iter().find(|(t, _)| *t == thumbprint) {
            return Ok((client.clone(), proxy));
        }
        let client = self.build(proxy.as_ref(), Some(identity))?;
        self.with_identity.borrow_mut().push((thumbprint, client.clone()));
        Ok((client, proxy))
    }

    fn build(
        &self,
        proxy: Option<&EnvProxy>,
        identity: Option<&crate::client_cert::ClientCert>,
    ) -> Result<Client> {
        let started = Instant::now();
        install_crypto();
        let mut builder = Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tok/", env!("CARGO_PKG_VERSION")))
            .no_proxy();
        if let Some(proxy) = proxy {
            builder = builder.proxy(proxy.to_reqwest());
        }
        if let Some(identity) = identity {
            builder = builder.identity(identity.identity()?);
            verbose!("http: presenting the TLS client certificate x5t#S256 {}", identity.thumbprint());
        }
        let client =
            builder.build().map_err(|e| Error::other(format!("cannot set up HTTPS: {}", error_chain(&e))))?;
        verbose!("http: client ready in {} ms", started.elapsed().as_millis());
        Ok(client)
    }

    /// Sends `request`, retrying as its `Retry` allows. Any reply with a status comes
    /// back as `Ok`; the provider decides what a status means.
    pub fn send(&self, request: &Request) -> Result<Reply> {
        check_url(&request.url).map_err(Error::usage)?;
        let chosen;
        let (client, proxy) = match &request.identity {
            Some(identity) => {
                chosen = self.client_with(identity)?;
                (&chosen.0, &chosen.1)
            }
            None => {
                let (client, proxy) = self.client()?;
                (client, proxy)
            }
        };
        if let Some(proxy) = proxy.as_ref().and_then(|p| p.for_url(&request.url)) {
            verbose!(
                "{}: through the proxy {} (a CONNECT tunnel; TLS end to end)",
                request.provider,
                redact_url(&proxy)
            );
        }
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let left = self.deadline.saturating_duration_since(started);
            if left.is_zero() {
                return Err(self.out_of_budget(request));
            }
            let sent_at = now_f64();
            let outcome = self.send_once(client, request, sent_at, left.min(self.timeout));
            let elapsed = started.elapsed().as_millis();
            let wait = match &outcome {
                Ok(reply) => {
                    self.note_clock(request.provider, reply);
                    verbose!(
                        "{} {} -> {} ({elapsed} ms)",
                        request.method,
                        redact_url(&request.url),
                        status_text(reply.status)
                    );
                    retry_wait(reply, request.retry, attempt)
                }
                Err((e, retryable)) => {
                    verbose!(
                        "{} {} -> failed after {elapsed} ms: {e}",
                        request.method,
                        redact_url(&request.url)
                    );
                    (*retryable && attempt < ATTEMPTS).then(|| backoff(attempt))
                }
            };
            // A wait that would run past the budget is not worth starting.
            let wait = wait.filter(|w| Instant::now() + *w < self.deadline);
            match wait {
                Some(wait) => {
                    verbose!("retrying in {} ms (attempt {} of {ATTEMPTS})", wait.as_millis(), attempt + 1);
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                None => return outcome.map_err(|(e, _)| e),
            }
        }
    }

    fn out_of_budget(&self, request: &Request) -> Error {
        Error::network(format!(
            "gave up on {}: this command's network time ({} = {BUDGET} × --timeout) is used up",
            request.provider,
            crate::duration::show(self.budget())
        ))
    }

    /// One exchange, over within `limit` (connect to last body byte). On failure, also
    /// says whether retrying is safe.
    fn send_once(
        &self,
        client: &Client,
        request: &Request,
        sent_at: f64,
        limit: Duration,
    ) -> Result<Reply, (Error, bool)> {
        let mut builder = client.request(request.method.clone(), request.url.clone()).timeout(limit);
        for (name, value, sensitive) in &request.headers {
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                (Error::usage(format!("the {name} header would hold characters HTTP does not allow")), false)
            })?;
            value.set_sensitive(*sensitive);
            builder = builder.header(HeaderName::from_static(name), value);
        }
        if let Some((content_type, body)) = &request.body {
            builder = builder.header("content-type", *content_type).body(body.clone());
        }
        let host = request.url.host_str().unwrap_or("?").to_string();
        let timed_out = || {
            let within = if limit < self.timeout {
                format!(
                    "before this command's network time ({} = {BUDGET} × --timeout) ran out",
                    crate::duration::show(self.budget())
                )
            } else {
                format!("within {} (--timeout)", crate::duration::show(limit))
            };
            Error::network(format!("no complete answer from {} ({host}) {within}", request.provider))
        };
        let response = builder.send().map_err(|e| {
            // The URL's query may carry identifiers: errors never show it.
            let e = e.without_url();
            let chain = error_chain(&e);
            // A certificate that does not verify will not verify on a second try either.
            if let Some(problem) = certificate_problem(&chain) {
                let message = format!("the TLS certificate of {host} is not trusted ({problem})");
                return (Error::network(message), false);
            }
            // A refused connection surely did not reach the server; a timeout may have.
            let retryable = e.is_connect() || (request.retry == Retry::Safe && e.is_timeout());
            let what = if e.is_timeout() {
                timed_out()
            } else {
                Error::network(format!("cannot reach {} ({host}): {chain}", request.provider))
            };
            (what, retryable)
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let too_big = || {
            Error::network(format!(
                "{}'s reply ({}) is larger than 1 MiB; refused",
                request.provider,
                status_text(status)
            ))
        };
        if response.content_length().is_some_and(|len| len > MAX_REPLY) {
            return Err((too_big(), false));
        }
        let mut body = Vec::new();
        response.take(MAX_REPLY + 1).read_to_end(&mut body).map_err(|e| {
            let timeout = std::error::Error::source(&e)
                .and_then(|s| s.downcast_ref::<reqwest::Error>())
                .is_some_and(reqwest::Error::is_timeout)
                || e.kind() == std::io::ErrorKind::TimedOut;
            let error = if timeout {
                timed_out()
            } else {
                Error::network(format!("{}'s reply broke off: {}", request.provider, error_chain(&e)))
            };
            (error, request.retry == Retry::Safe)
        })?;
        if body.len() as u64 > MAX_REPLY {
            return Err((too_big(), false));
        }
        Ok(Reply { provider: request.provider, status, headers, body, sent_at })
    }
}

/// The proxy a request to `url` goes through, from the environment as every request of
/// tok's reads it (HTTPS only, never loopback, never `NO_PROXY`): `tok proxy`'s own client.
pub fn proxy_for(url: &Url) -> Result<Option<Url>> {
    Ok(EnvProxy::from_env()?.and_then(|proxy| proxy.for_url(url)))
}

/// ring, not aws-lc: a third of the build time and a smaller binary.
fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// "n3xt's clock is 5m ahead of this machine's".
pub fn skew_text(provider: &str, skew: i64) -> String {
    let side = if skew > 0 { "ahead of" } else { "behind" };
    format!("{provider}'s clock is {} {side} this machine's", crate::duration::human(skew))
}

/// What rustls said about a certificate, found in an error chain's text (the typed
/// error sits behind an `io::Error`, whose `source` skips it).
fn certificate_problem(chain: &str) -> Option<&str> {
    let at = chain.find("invalid peer certificate")?;
    Some(chain[at..].split(':').nth(1).map(str::trim).filter(|s| !s.is_empty()).unwrap_or("invalid"))
}

/// The proxy for HTTPS requests, from the environment, as curl reads it.
#[derive(Clone)]
struct EnvProxy {
    url: Url,
    no_proxy: Vec<String>,
}

impl EnvProxy {
    fn from_env() -> Result<Option<EnvProxy>> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let Some((name, value)) = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
            .iter()
            .find_map(|name| var(name).map(|v| (*name, v)))
        else {
            return Ok(None);
        };
        // A bare host:port means an HTTP proxy, as curl takes it.
        let text = if value.contains("://") { value.clone() } else { format!("http://{value}") };
        let shown = match Url::parse(text.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
            Ok(u) => Err(redact_url(&u)),
            Err(e) => Err(format!("(unparsable{})", url_hint(e, &text))),
        };
        let url = shown.map_err(|shown| {
            Error::usage(format!("{name} is not an http:// or https:// proxy URL tok can use: {shown}"))
        })?;
        let no_proxy = var("NO_PROXY")
            .or_else(|| var("no_proxy"))
            .map(|list| {
                list.split(',').map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase()).collect()
            })
            .unwrap_or_default();
        Ok(Some(EnvProxy { url, no_proxy }))
    }

    /// This policy as reqwest's proxy setting, for both clients.
    fn to_reqwest(&self) -> reqwest::Proxy {
        let chosen = self.clone();
        reqwest::Proxy::custom(move |url| chosen.for_url(url))
    }

    /// The proxy for `url`, if it gets one: HTTPS only, never loopback, never NO_PROXY.
    fn for_url(&self, url: &Url) -> Option<Url> {
        if url.scheme() != "https" || is_loopback(url) {
            return None;
        }
        let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let exempt = self.no_proxy.iter().any(|entry| {
            entry == "*" || host == *entry || host.ends_with(&format!(".{entry}")) || in_cidr(&host, entry)
        });
        (!exempt).then(|| self.url.clone())
    }
}

/// `NO_PROXY` entries like `10.0.0.0/8`.
fn in_cidr(host: &str, entry: &str) -> bool {
    let Some((net, bits)) = entry.split_once('/') else { return false };
    let (Ok(ip), Ok(net), Ok(bits)) =
        (host.parse::<std::net::IpAddr>(), net.parse::<std::net::IpAddr>(), bits.parse::<u32>())
    else {
        return false;
    };
    match (ip, net) {
        (std::net::IpAddr::V4(ip), std::net::IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (std::net::IpAddr::V6(ip), std::net::IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

fn backoff(attempt: u32) -> Duration {
    BACKOFF * 2u32.pow(attempt - 1)
}

/// How long to wait before trying again, if at all.
fn retry_wait(reply: &Reply, retry: Retry, attempt: u32) -> Option<Duration> {
    if attempt >= ATTEMPTS {
        return None;
    }
    match reply.status {
        429 => match reply.header("retry-after").map(str::trim) {
            // Seconds; an HTTP date or garbage falls back to the usual backoff.
            Some(after) => match after.parse::<u64>() {
                Ok(secs) => Some(Duration::from_secs(secs)).filter(|d| *d <= MAX_RETRY_AFTER),
                Err(_) => Some(backoff(attempt)),
            },
            None => Some(backoff(attempt)),
        },
        500 | 502 | 503 | 504 if retry == Retry::Safe => Some(backoff(attempt)),
        _ => None,
    }
}

/// HTTPS, or plain HTTP to a loopback address (the sandbox, a local proxy). No user
/// name or password inside the URL, where they would end up in logs.
pub fn check_url(url: &Url) -> Result<(), String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{} holds credentials; tok takes them from the store, not the URL",
            redact_url(url)
        ));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "{} is plain HTTP; tok only sends credentials over HTTPS (or to loopback)",
            redact_url(url)
        )),
        other => Err(format!("unsupported URL scheme '{other}' in {}", redact_url(url))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Same scheme, host and port: where a credential for `b` may also go.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host() == b.host() && a.port_or_known_default() == b.port_or_known_default()
}

/// What to add to "not a URL" (`text`, never shown) for the one parse error whose fix is
/// not plain from url's words, "invalid international domain name": for a host outside
/// ASCII, how to write it (tok links no Unicode tables for IDNA: Cargo.toml pins
/// `idna_adapter`'s stub, so such a host is taken only in punycode, as `tok curl` takes
/// it); for an ASCII one, that it holds a character no host may have (a space, say).
pub fn url_hint(e: url::ParseError, text: &str) -> &'static str {
    match e {
        url::ParseError::IdnaError if !host_part(text).is_ascii() => {
            ": its host has letters outside ASCII; write it in punycode (xn--...)"
        }
        url::ParseError::IdnaError => ": its host has a character no host name may have (a space, say)",
        _ => "",
    }
}

/// The host (and port) of a URL's text as written, for [`url_hint`]: after `scheme://`
/// and any `user@`, up to the path, query or fragment.
fn host_part(text: &str) -> &str {
    let after = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = after.split(['/', '?', '#']).next().unwrap_or(after);
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}

/// Parses and checks a base URL from the user; drops a trailing slash so paths join cleanly.
pub fn base_url(text: &str) -> Result<Url> {
    let url = Url::parse(text.trim())
        // Never the text itself: a URL may carry a key in its query or user part, or be a
        // secret typed in the wrong place.
        .map_err(|e| Error::usage(format!("not a valid URL ({e}){}", url_hint(e, text))))?;
    check_url(&url).map_err(Error::usage)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::usage(
            "a base URL has no query or fragment (tok does not repeat it: a query may hold a key)",
        ));
    }
    Ok(url)
}

/// `base` plus a documented path, keeping any path prefix the base has.
pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}/{}", base.path().trim_end_matches('/'), path.trim_start_matches('/'));
    url.set_path(&joined);
    url
}

/// The URL without its query string, which may carry identifiers.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        let _ = shown.set_username("(redacted)");
    }
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        shown.set_query(Some("…"));
    }
    shown.to_string()
}

pub fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()) {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// A library's error and its causes, scrubbed: their text quotes what they were given.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    crate::secret::scrub(&text)
}

/// At most ~160 characters of a body, printable ASCII only, whitespace collapsed, and
/// anything that looks like a token (a long run of token characters) cut to a prefix:
/// an error message must not become the place a secret leaks.
pub fn excerpt(body: &[u8]) -> String {
    const LIMIT: usize = 160;
    // Known secrets go first, from the whole body: an excerpt cut mid-secret would
    // otherwise keep the part before the cut.
    let scrubbed = crate::secret::scrub(&body_text(body));
    let end = scrubbed.char_indices().nth(4 * LIMIT).map_or(scrubbed.len(), |(i, _)| i);
    let text = &scrubbed[..end];
    let mut words = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        let clean: String = word.chars().map(|c| if c.is_ascii_graphic() { c } else { '?' }).collect();
        words.push(mask_long_runs(&clean));
    }
    let mut out = words.join(" ");
    if out.chars().count() > LIMIT {
        out = out.chars().take(LIMIT).collect::<String>() + "…";
    } else if end < scrubbed.len() {
        out.push('…');
    }
    out
}

/// A body as text, decoded before anything is scrubbed from it: UTF-16 (a .NET service's
/// `charset=utf-16`) by its BOM or by NULs in every other byte, else UTF-8. NULs left
/// over are dropped, so `H\0u\0n` is matched as `Hun` and not shown as `H u n`.
fn body_text(body: &[u8]) -> String {
    let utf16 = |bytes: &[u8], little: bool| {
        let units = bytes.chunks_exact(2).map(|c| {
            if little { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) }
        });
        char::decode_utf16(units).map(|c| c.unwrap_or('\u{fffd}')).collect::<String>()
    };
    // Mostly NUL at odd (even) offsets and mostly not at the others: UTF-16 LE (BE) text.
    let nul_share = |skip: usize| {
        let total = body.len() / 2;
        let nul = body.iter().skip(skip).step_by(2).take(total).filter(|b| **b == 0).count();
        nul * 4 >= total * 3
    };
    let text = if let Some(rest) = body.strip_prefix(b"\xff\xfe") {
        utf16(rest, true)
    } else if let Some(rest) = body.strip_prefix(b"\xfe\xff") {
        utf16(rest, false)
    } else if body.len() >= 4 && nul_share(1) && !nul_share(0) {
        utf16(body, true)
    } else if body.len() >= 4 && nul_share(0) && !nul_share(1) {
        utf16(body, false)
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    if text.contains('\0') { text.replace('\0', "") } else { text }
}

/// Printable ASCII only, capped, known secrets cut out first: for fields of a reply that
/// are identifiers (an error code, a request id), not prose, so no run masking.
pub fn clean(text: &str, max: usize) -> String {
    let text = if text.contains('\0') { text.replace('\0', "") } else { text.to_string() };
    crate::secret::scrub(&text).chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(max).collect()
}

fn mask_long_runs(word: &str) -> String {
    let is_token_char =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=');
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 24 {
            out.push_str(&run[..4]);
            out.push_str("…(redacted)");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in word.chars() {
        if is_token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        let ok =
            ["https://api.example.com", "http://127.0.0.1:8080", "http://localhost:1/x", "http://[::1]:9/"];
        for u in ok {
            assert!(check_url(&Url::parse(u).unwrap()).is_ok(), "{u}");
        }
        let bad = ["http://api.example.com", "http://10.0.0.1", "ftp://x", "https://user:pw@api.example.com"];
        for u in bad {
            let err = check_url(&Url::parse(u).unwrap()).unwrap_err();
            assert!(!err.contains("pw@"), "{err}");
        }
        assert!(base_url("https://x.example/?a=1").is_err());
        assert!(base_url("not a url").is_err());
        // Not mapped to punycode: named in it, or refused with the way to write it.
        assert_eq!(
            base_url("https://xn--bcher-kva.example").unwrap().host_str(),
            Some("xn--bcher-kva.example")
        );
        assert!(base_url("https://bücher.example").unwrap_err().to_string().contains("xn--"));
        // An ASCII host url calls an invalid international name is no matter of punycode.
        for spaced in ["http://exa mple", "https://exa mple/Hunter2/ü", "http://u:ü@exa mple/?k=ключ"] {
            let err = base_url(spaced).unwrap_err().to_string();
            assert!(err.contains("a character no host name may have") && !err.contains("xn--"), "{err}");
        }
        let err = base_url("https://user@bücher.example/x").unwrap_err().to_string();
        assert!(err.contains("xn--"), "{err}");
        assert!(base_url("https://API.Example.COM").unwrap().host_str() == Some("api.example.com"));
    }

    #[test]
    fn proxy_choice() {
        let proxy = EnvProxy {
            url: Url::parse("http://proxy.corp:3128").unwrap(),
            no_proxy: vec!["internal.example".into(), "10.0.0.0/8".into(), "fd00::/8".into()],
        };
        let table = [
            ("https://api.example.com/x", true),
            ("http://api.example.com/x", false),
            ("https://127.0.0.1:8443/", false),
            ("https://localhost/", false),
            ("https://[::1]/", false),
            ("https://internal.example/", false),
            ("https://a.internal.example/", false),
            ("https://notinternal.example/", true),
            ("https://10.1.2.3/", false),
            ("https://11.1.2.3/", true),
            ("https://[fd00::1]/", false),
        ];
        for (url, proxied) in table {
            assert_eq!(proxy.for_url(&Url::parse(url).unwrap()).is_some(), proxied, "{url}");
        }
        let star = EnvProxy { no_proxy: vec!["*".into()], ..proxy };
        assert!(star.for_url(&Url::parse("https://api.example.com").unwrap()).is_none());
        assert_eq!(
            redact_url(&Url::parse("http://user:pw@proxy:3128").unwrap()),
            "http://(redacted)@proxy:3128/"
        );
        assert_eq!(certificate_problem("x: invalid peer certificate: UnknownIssuer"), Some("UnknownIssuer"));
        assert_eq!(certificate_problem("connection refused"), None);
    }

    #[test]
    fn join_keeps_prefixes() {
        let table = [
            ("https://a.example", "/security/createToken", "https://a.example/security/createToken"),
            ("https://a.example/", "/security/createToken", "https://a.example/security/createToken"),
            ("https://a.example/api/", "v2/auth/login", "https://a.example/api/v2/auth/login"),
        ];
        for (base, path, want) in table {
            assert_eq!(join(&base_url(base).unwrap(), path).as_str(), want);
        }
    }

    #[test]
    fn excerpts_are_short_and_safe() {
        let table: [(&[u8], &str); 5] = [
            (b"", ""),
            (b"<html>\n  <body>Bad   gateway</body>\n</html>", "<html> <body>Bad gateway</body> </html>"),
            (b"{\"error\":\"invalid_client\"}", "{\"error\":\"invalid_client\"}"),
            (b"\"eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.c2ln\"", "\"eyJh…(redacted)\""),
            (b"bin\xff\x00ary", "bin?ary"),
        ];
        for (body, want) in table {
            assert_eq!(excerpt(body), want);
        }
        let long = excerpt(&b"word ".repeat(1000));
        assert!(long.chars().count() <= 161 && long.ends_with('…'), "{long}");
    }

    #[test]
    fn utf16_bodies_are_decoded_before_scrubbing() {
        crate::secret::register("Hunter2-Quokka");
        let text = "you sent Hunter2-Quokka";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let table: [(&str, Vec<u8>); 5] = [
            ("LE with BOM", [&[0xff, 0xfe][..], &le].concat()),
            ("BE with BOM", [&[0xfe, 0xff][..], &be].concat()),
            ("LE without BOM", le.clone()),
            ("BE without BOM", be),
            ("stray NULs", text.bytes().flat_map(|b| [b, 0, 0]).collect()),
        ];
        for (what, body) in table {
            assert_eq!(excerpt(&body), "you sent (redacted)", "{what}");
        }
        assert_eq!(clean("H\0unter2-Quokka x", 40), "(redacted) x");
        // Text with an odd NUL is still UTF-8.
        assert_eq!(excerpt(b"plain\0 text"), "plain text");
    }

    #[test]
    fn retry_waits() {
        let reply = |status: u16, after: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(a) = after {
                headers.insert("retry-after", HeaderValue::from_str(a).unwrap());
            }
            Reply { provider: "p", status, headers, body: Vec::new(), sent_at: 0.0 }
        };
        assert_eq!(retry_wait(&reply(429, Some("0")), Retry::Safe, 1), Some(Duration::ZERO));
        assert_eq!(retry_wait(&reply(429, Some("2")), Retry::Safe, 1), Some(Duration::from_secs(2)));
        assert_eq!(retry_wait(&reply(429, Some("3600")), Retry::Safe, 1), None);
        assert_eq!(retry_wait(&reply(429, None), Retry::Safe, 2), Some(BACKOFF * 2));
        assert_eq!(retry_wait(&reply(503, None), Retry::Safe, 1), Some(BACKOFF));
        assert_eq!(retry_wait(&reply(503, None), Retry::Safe, ATTEMPTS), None);
        assert_eq!(retry_wait(&reply(400, None), Retry::Safe, 1), None);
        // A request that spends something is repeated only when surely unprocessed.
        assert_eq!(retry_wait(&reply(429, Some("0")), Retry::Once, 1), Some(Duration::ZERO));
        assert_eq!(retry_wait(&reply(503, None), Retry::Once, 1), None);
    }
}
