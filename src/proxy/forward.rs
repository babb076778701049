//! One request, from the client to the API and back.
//!
//! Bodies stream both ways: the answer is passed on as it arrives, never held whole, so
//! a 100 MB download costs the gateway a few buffers. The one exception is a request
//! body of up to `REPLAY_LIMIT`, held so that a 401 (a token revoked before its expiry)
//! can be answered by refreshing once and sending the same request again, as `tok curl`
//! does. A longer body is streamed, and its 401 passes through.

use super::gate::{self, Route, Unwelcome};
use super::headers;
use super::keeper::{Credential, Keeper};
use super::upstream::{Failure, Outgoing, Paced, Upstream};
use crate::http;
use crate::term;
use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body as _, Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use reqwest::Url;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Request bodies up to this size are held, so that the request can be sent again after a
/// 401; longer ones stream and are sent once.
pub const REPLAY_LIMIT: usize = 1024 * 1024;

pub type Body = Either<Full<Bytes>, Paced>;

pub struct Gateway {
    pub keeper: Arc<Keeper>,
    pub client: Upstream,
    pub upstream: Url,
    pub capability: String,
    /// The base URL clients use, for `Location` rewriting.
    pub public: String,
    /// Where it listens: the `Host` and `Origin` it answers (`address`).
    pub listen: SocketAddr,
    /// `listen` as text, as a `Host` header names it.
    pub listen_text: String,
    pub profile: String,
    pub trace_uuid: bool,
    /// The response header that carries newer tokens (NetDirector V1).
    pub watch_header: Option<&'static str>,
    pub retry: bool,
    pub timeout: Duration,
    /// The cookies the API set, which alone go back to it.
    pub cookies: headers::Cookies,
    /// A DPoP profile's proofs and nonces.
    pub dpop: Option<super::dpop::Prover>,
}

/// What the log line says of a request.
struct Outcome {
    status: StatusCode,
    /// Why tok answered itself, or what it did besides forwarding.
    note: Option<String>,
}

impl Gateway {
    pub async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let method = request.method().clone();
        let (response, shown) = match gate::route(&method, request.uri(), &self.capability) {
            Route::Refused => (
                problem(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!("tok proxy is no forward proxy and echoes nothing: {method} is refused"),
                ),
                format!("({method})"),
            ),
            Route::NotOrigin => (
                problem(
                    StatusCode::BAD_REQUEST,
                    "tok proxy is a gateway to one API, not a forward proxy: send paths, not URLs",
                ),
                "(a URL)".to_string(),
            ),
            route => match gate::admit(request.headers(), self.listen, &self.listen_text) {
                Err(Unwelcome::Host) => (
                    problem(
                        StatusCode::MISDIRECTED_REQUEST,
                        &format!("tok proxy answers requests to {} or localhost only (Host)", self.listen),
                    ),
                    "(another Host)".to_string(),
                ),
                Err(Unwelcome::Hosts) => (
                    problem(StatusCode::BAD_REQUEST, "tok proxy: a request has one Host header, not more"),
                    "(two Hosts)".to_string(),
                ),
                Err(Unwelcome::CrossSite(header)) => (
                    problem(
                        StatusCode::FORBIDDEN,
                        &format!("tok proxy serves programs, not other web pages ({header})"),
                    ),
                    "(from another page)".to_string(),
                ),
                // Nothing of the path is shown: it may be a near miss of the capability.
                Ok(()) => match route {
                    Route::Forward(rest) => {
                        let shown = shown_path(&rest);
                        (self.forward(request, rest).await, shown)
                    }
                    Route::Climbs => (
                        problem(
                            StatusCode::BAD_REQUEST,
                            "tok proxy: the path leaves the upstream's base path (a `..` segment, maybe encoded)",
                        ),
                        "(a path out of the upstream)".into(),
                    ),
                    _ => {
                        (problem(StatusCode::NOT_FOUND, "tok proxy: no such path"), "(no capability)".into())
                    }
                },
            },
        };
        let (mut response, outcome) = response;
        headers::add_own(response.headers_mut());
        let ms = started.elapsed().as_millis();
        // The client's method and path are outside text, scrubbed as one: one pass, not two.
        let mut line = crate::secret::scrub(&format!("{method} {shown}"));
        let _ = write!(line, " -> {} ({ms} ms)", outcome.status.as_u16());
        if let Some(note) = outcome.note {
            line.push_str(": ");
            line.push_str(&note);
        }
        term::line("proxy: ", &line);
        response
    }

    async fn forward(&self, request: Request<Incoming>, rest: String) -> (Response<Body>, Outcome) {
        let Some(to) = self.destination(&rest, request.uri().query()) else {
            return problem(
                StatusCode::BAD_REQUEST,
                "tok proxy: the path does not make a URL on the upstream",
            );
        };
        let (mut parts, body) = request.into_parts();
        let credential = match self.keeper.credential().await {
            Ok(c) => c,
            Err(why) => {
                return problem(
                    StatusCode::BAD_GATEWAY,
                    &format!("tok proxy: no token for profile '{}': {why}", self.profile),
                );
            }
        };
        let broke = Arc::new(AtomicBool::new(false));
        // Held only where a 401 or a DPoP nonce may send it again.
        let resendable = self.retry && !self.keeper.api_key;
        let held = if resendable && body.is_end_stream() {
            // No body (most GETs): nothing to wait for, so no timer to arm.
            Held::Whole(Bytes::new())
        } else if resendable {
            // A client that sends its body slower than --timeout holds a connection no longer.
            match tokio::time::timeout(self.timeout, hold(body, Arc::clone(&broke))).await {
                Ok(Ok(held)) => held,
                Ok(Err(())) => {
                    return problem(StatusCode::BAD_REQUEST, "tok proxy: the request body broke off");
                }
                Err(_) => {
                    return problem(
                        StatusCode::REQUEST_TIMEOUT,
                        &format!(
                            "tok proxy: the request body did not come within {} (--timeout)",
                            crate::duration::show(self.timeout)
                        ),
                    );
                }
            }
        } else {
            Held::Streaming(Streamed::new(Vec::new(), body, Arc::clone(&broke)))
        };
        let cookies = self.cookies.pass(&parts.headers);
        let mut headers = headers::to_upstream(std::mem::take(&mut parts.headers), &credential.name);
        if let Some(cookies) = cookies {
            headers.insert(header::COOKIE, cookies);
        }
        let (body, replay) = match held {
            Held::Whole(bytes) => (Either::Left(Full::new(bytes.clone())), Some(bytes)),
            Held::Streaming(body) => (Either::Right(body), None),
        };
        let mut answer = self.send(&parts.method, &to, &headers, &credential, body).await;
        let mut note = None;
        // A nonce challenge (RFC 9449 §9): once more with the nonce `send` just learnt. A
        // second challenge passes through: a new token would not answer it.
        if let (Some(dpop), Some(url), Ok(first), Some(bytes), true) =
            (&self.dpop, &to.url, &answer, &replay, self.retry)
            && dpop.learn(url, first.status().as_u16(), first.headers())
        {
            note = Some("401 asking for a DPoP nonce; sent again with it".to_string());
            answer = self
                .send(&parts.method, &to, &headers, &credential, Either::Left(Full::new(bytes.clone())))
                .await;
        }
        // Unanswered (--no-retry, a streamed body, a second challenge): the 401 goes to the
        // client, the nonce `send` learnt goes with the next request, and the token stays.
        let challenged = self.dpop.is_some()
            && answer
                .as_ref()
                .is_ok_and(|a| super::dpop::Prover::about_the_proof(a.status().as_u16(), a.headers()));
        if challenged && note.is_none() {
            note = Some("401 asking for a DPoP nonce: passed through, the next request carries it".into());
        }
        let mut used = credential;
        let method = parts.method.as_str();
        if let Ok(first) = &answer
            && first.status() == StatusCode::UNAUTHORIZED
            && !self.keeper.api_key
            && !challenged
        {
            match (replay, self.retry) {
                _ if self.keeper.is_forbidden(method, &rest) => {
                    note = Some("401, as with a token just obtained before: passed through".into());
                }
                (Some(bytes), true) => match self.keeper.replace(&used).await {
                    Ok(Some(fresh)) => {
                        note = Some("401; new token, sent again".to_string());
                        answer = self
                            .send(&parts.method, &to, &headers, &fresh, Either::Left(Full::new(bytes)))
                            .await;
                        if answer.as_ref().is_ok_and(|a| a.status() == StatusCode::UNAUTHORIZED)
                            && fresh.untried_replacement()
                        {
                            self.keeper.forbid(method, &rest);
                        }
                        used = fresh;
                    }
                    Ok(None) => {
                        note = Some("401 with a token just obtained: passed through (a permission?)".into());
                    }
                    Err(why) => note = Some(format!("401, and no new token: {why}")),
                },
                (None, true) => {
                    note = Some(format!(
                        "401 passed through: the body was over {} to send twice",
                        size(REPLAY_LIMIT)
                    ));
                    // The next request gets a new token, whatever happens to this one.
                    let keeper = Arc::clone(&self.keeper);
                    let refused = Arc::clone(&used);
                    tokio::spawn(async move {
                        let _ = keeper.replace(&refused).await;
                    });
                }
                (_, false) => note = Some("401 passed through (--no-retry)".into()),
            }
        }
        match answer {
            Ok(answer) => {
                if answer.status() == StatusCode::UNAUTHORIZED && !challenged {
                    self.keeper.refused(&used);
                } else {
                    used.worked();
                }
                let response = self.respond(answer).await;
                let status = response.status();
                (response, Outcome { status, note })
            }
            Err(_) if broke.load(Ordering::Relaxed) => {
                problem(StatusCode::BAD_REQUEST, "tok proxy: the request body broke off")
            }
            Err(e) => self.failure(e),
        }
    }

    async fn send(
        &self,
        method: &Method,
        to: &Destination,
        headers: &HeaderMap,
        credential: &Credential,
        body: Outgoing,
    ) -> Result<Response<Paced>, Failure> {
        let mut headers = headers.clone();
        headers.insert(credential.name.clone(), credential.value.clone());
        if let (Some(dpop), Some(url)) = (&self.dpop, &to.url) {
            dpop.add(&mut headers, method.as_str(), url, credential.token());
        }
        if self.trace_uuid
            && !headers.contains_key("nps-trace-uuid")
            && let Ok(id) = crate::random::uuid_v4()
            && let Ok(value) = HeaderValue::from_str(&id)
        {
            headers.insert("nps-trace-uuid", value);
        }
        let mut request = Request::new(body);
        *request.method_mut() = method.clone();
        *request.uri_mut() = to.uri.clone();
        *request.headers_mut() = headers;
        let answer = self.client.send(request).await;
        if let (Some(dpop), Some(url), Ok(answer)) = (&self.dpop, &to.url, &answer) {
            dpop.learn(url, answer.status().as_u16(), answer.headers());
        }
        answer
    }

    /// Where a request for `rest` goes: `target`'s URL, built as text when `origin_form`
    /// can tell it is the same (parsing and re-serialising the URL was a twentieth of the
    /// gateway's instructions per request), and whole only when a DPoP proof must name it.
    fn destination(&self, rest: &str, query: Option<&str>) -> Option<Destination> {
        if self.dpop.is_none()
            && let Some(path) = origin_form(&self.upstream, rest, query)
        {
            // The text's own buffer becomes the URI's: no copy.
            let uri = hyper::Uri::from_maybe_shared(Bytes::from(path)).ok()?;
            return Some(Destination { uri, url: None });
        }
        let url = target(&self.upstream, rest, query)?;
        // Origin form: the connection is the upstream's, and `Host` is set by `Upstream`.
        let uri = url[url::Position::BeforePath..url::Position::AfterQuery].parse().ok()?;
        Some(Destination { uri, url: self.dpop.is_some().then_some(url) })
    }

    async fn respond(&self, answer: Response<Paced>) -> Response<Body> {
        if let Some(name) = self.watch_header
            && let Some(value) = answer.headers().get(name)
        {
            self.keeper.adopt(value).await;
        }
        if answer.status().is_success() {
            self.keeper.proven();
        }
        let (mut parts, body) = answer.into_parts();
        self.cookies.learn(&parts.headers);
        let kept = std::mem::take(&mut parts.headers);
        parts.headers = headers::to_client(kept, self.watch_header, &self.upstream, &self.public);
        Response::from_parts(parts, Either::Right(body))
    }

    fn failure(&self, e: Failure) -> (Response<Body>, Outcome) {
        let host = self.upstream.host_str().unwrap_or("the upstream");
        let why = match e {
            Failure::Timeout => {
                let limit = crate::duration::show(self.timeout);
                return problem(
                    StatusCode::GATEWAY_TIMEOUT,
                    &format!("tok proxy: no answer from {host} within {limit} (--timeout)"),
                );
            }
            Failure::Connect(why) => why,
            Failure::Broken(e) => http::error_chain(&e),
        };
        problem(StatusCode::BAD_GATEWAY, &format!("tok proxy: cannot reach {host}: {why}"))
    }
}

/// The upstream URL for a path after the capability, or `None` when it would leave the
/// upstream's origin (it cannot, as paths go; this keeps it so).
/// The upstream's own URL with the path and query replaced, not a new one parsed from
/// text: parsing its host again (IDNA included) was a sixth of the gateway's own work per
/// request. The result is the same URL (`target_is_the_parsed_url`).
pub fn target(upstream: &Url, rest: &str, query: Option<&str>) -> Option<Url> {
    // hyper's paths and queries hold no `#` (nor paths a `?`): the others are parsed whole.
    let whole = rest.contains(['?', '#']) || query.is_some_and(|q| q.contains('#'));
    if whole || !takes_a_path(upstream) {
        return parsed_target(upstream, rest, query);
    }
    let base = upstream.path().trim_end_matches('/');
    let mut url = upstream.clone();
    url.set_path(&format!("{base}{rest}"));
    url.set_query(query);
    http::same_origin(&url, upstream).then_some(url)
}

/// A request's target upstream, in origin form (path and query), and for a DPoP profile
/// the whole URL its proofs name.
struct Destination {
    uri: hyper::Uri,
    url: Option<Url>,
}

/// An upstream whose path `set_path` replaces as it is: no query or fragment of its own
/// to keep after the new path, and a path to replace.
fn takes_a_path(upstream: &Url) -> bool {
    upstream.query().is_none() && upstream.fragment().is_none() && !upstream.cannot_be_a_base()
}

/// A byte `Url` leaves as it is in a path: those RFC 3986 allows in a segment (pchar),
/// and `/`.
fn plain_in_path(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')')
        || matches!(b, b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@' | b'%' | b'/')
}

/// The same in a query: `?` as well, and no `'` (special schemes escape it there).
fn plain_in_query(b: u8) -> bool {
    b == b'?' || (b != b'\'' && plain_in_path(b))
}

/// `target`'s path and query, joined as text when nothing in them is one `Url` would
/// change (escape, normalise as a dot segment, read as a separator): `None` sends the
/// request the long way, never a different one (`origin_form_is_the_target`).
fn origin_form(upstream: &Url, rest: &str, query: Option<&str>) -> Option<String> {
    // `.` or `..`, either dot maybe written `%2e`: `Url` removes such a segment.
    let dot = |s: &[u8]| s == b"." || s.eq_ignore_ascii_case(b"%2e");
    let dots = |segment: &str| {
        let s = segment.as_bytes();
        matches!(s.first(), Some(b'.' | b'%'))
            && (dot(s) || (1..s.len()).any(|at| dot(&s[..at]) && dot(&s[at..])))
    };
    if !rest.starts_with('/')
        || !rest.bytes().all(plain_in_path)
        || rest.split('/').any(dots)
        || !query.is_none_or(|q| q.bytes().all(plain_in_query))
        || !takes_a_path(upstream)
    {
        return None;
    }
    let base = upstream.path().trim_end_matches('/');
    let mut path = String::with_capacity(base.len() + rest.len() + query.map_or(0, |q| q.len() + 1));
    path.push_str(base);
    path.push_str(rest);
    if let Some(query) = query {
        path.push('?');
        path.push_str(query);
    }
    Some(path)
}

/// The URL as text parsed whole: `target`'s meaning, for URLs `set_path` cannot take.
fn parsed_target(upstream: &Url, rest: &str, query: Option<&str>) -> Option<Url> {
    let base = upstream.as_str().trim_end_matches('/');
    let text = match query {
        Some(query) => format!("{base}{rest}?{query}"),
        None => format!("{base}{rest}"),
    };
    let url = Url::parse(&text).ok()?;
    http::same_origin(&url, upstream).then_some(url)
}

/// The path as the log shows it: no query, printable, not too long.
fn shown_path(rest: &str) -> String {
    // Bytes bound characters: a short path is shown whole without counting them.
    if rest.len() <= 200 {
        return rest.to_string();
    }
    let mut shown: String = rest.chars().take(200).collect();
    if shown.len() < rest.len() {
        shown.push('…');
    }
    shown
}

fn size(bytes: usize) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

/// A short RFC 9457 problem body naming tok, for answers the gateway gives itself.
/// `detail` is tok's wording with outside text already scrubbed where it was embedded;
/// the body goes to the client, not through `term::line`, so it gets the same net.
fn problem(status: StatusCode, detail: &str) -> (Response<Body>, Outcome) {
    let detail = crate::secret::scrub_tokens(detail);
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(body.to_string()))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let note = Some(detail.strip_prefix("tok proxy: ").unwrap_or(&detail).to_string());
    (response, Outcome { status, note })
}

enum Held {
    /// All of it, small enough to send twice.
    Whole(Bytes),
    Streaming(Streamed),
}

/// Reads the request body up to `REPLAY_LIMIT`; beyond that, what was read and the rest
/// go on as a stream. `Err`: the client broke off.
async fn hold(mut body: Incoming, broke: Arc<AtomicBool>) -> Result<Held, ()> {
    let mut chunks = Vec::new();
    let mut size = 0;
    // A declared length over the limit: no point in reading it first.
    if body.size_hint().lower() <= REPLAY_LIMIT as u64 {
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(|_| ())?.into_data() else { continue };
            size += data.len();
            chunks.push(data);
            if size > REPLAY_LIMIT {
                break;
            }
        }
        if size <= REPLAY_LIMIT && body.is_end_stream() {
            let mut whole = bytes::BytesMut::with_capacity(size);
            for chunk in chunks {
                whole.extend_from_slice(&chunk);
            }
            return Ok(Held::Whole(whole.freeze()));
        }
    }
    Ok(Held::Streaming(Streamed::new(chunks, body, broke)))
}

/// A request body on its way: what was read already, then the rest from the client.
pub struct Streamed {
    read: std::collections::VecDeque<Bytes>,
    rest: Incoming,
    /// Set when the client's side fails, so the error is told apart from the upstream's.
    broke: Arc<AtomicBool>,
}

impl Streamed {
    fn new(read: Vec<Bytes>, rest: Incoming, broke: Arc<AtomicBool>) -> Streamed {
        Streamed { read: read.into(), rest, broke }
    }
}

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some(chunk) = this.read.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        let polled = Pin::new(&mut this.rest).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            this.broke.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.read.is_empty() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        let read: u64 = self.read.iter().map(|c| c.len() as u64).sum();
        let rest = self.rest.size_hint();
        let mut hint = hyper::body::SizeHint::new();
        hint.set_lower(rest.lower() + read);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + read);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_table() {
        let table = [
            (
                "https://api.example.com",
                "/Catalog/GetCountries",
                None,
                Some("https://api.example.com/Catalog/GetCountries"),
            ),
            ("https://api.example.com/", "/", Some("a=1&b=%20"), Some("https://api.example.com/?a=1&b=%20")),
            ("https://api.example.com/v1/", "/orders/7", None, Some("https://api.example.com/v1/orders/7")),
            ("http://127.0.0.1:8080/v1", "/x", Some("q"), Some("http://127.0.0.1:8080/v1/x?q")),
            // Paths stay on the upstream's origin, whatever they hold.
            (
                "https://api.example.com",
                "//evil.example/x",
                None,
                Some("https://api.example.com//evil.example/x"),
            ),
            (
                "https://api.example.com",
                "/@evil.example",
                None,
                Some("https://api.example.com/@evil.example"),
            ),
            ("https://api.example.com/v1", "/../admin", None, Some("https://api.example.com/admin")),
        ];
        for (upstream, rest, query, want) in table {
            let upstream = Url::parse(upstream).unwrap();
            assert_eq!(target(&upstream, rest, query).as_ref().map(Url::as_str), want, "{upstream} {rest}");
        }
    }

    /// Upstreams of every shape `target` and `origin_form` tell apart.
    const UPSTREAMS: [&str; 9] = [
        "https://api.example.com",
        "https://api.example.com/",
        "https://api.example.com/v1",
        "https://api.example.com/v1/",
        "https://api.example.com/v1//",
        "http://127.0.0.1:8080/base/path",
        "https://user:pw@api.example.com:8443/a%20b/",
        "https://api.example.com/v1?key=1",
        "https://api.example.com/v1#top",
    ];

    #[test]
    fn target_is_the_parsed_url() {
        let rests = [
            "/",
            "/x",
            "/a/b/c",
            "//evil.example/x",
            "/@evil.example",
            "/../admin",
            "/a/../../b",
            "/a/./b/.",
            "/%2e%2e/x",
            "/a%20b/%7Euser",
            "/a b/ü/\\x",
            "/a;p=1/b",
            "/\u{7f}x",
            "/x?",
        ];
        let queries = [None, Some(""), Some("a=1&b=%20"), Some("a b=ü&c"), Some("x#y")];
        for upstream in UPSTREAMS {
            let upstream = Url::parse(upstream).unwrap();
            for rest in rests {
                for query in queries {
                    assert_eq!(
                        target(&upstream, rest, query),
                        parsed_target(&upstream, rest, query),
                        "{upstream} {rest} {query:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn origin_form_is_the_target() {
        let rests = [
            "/",
            "/x",
            "//evil.example/x",
            "/@evil.example",
            "/../admin",
            "/a/../../b",
            "/a/./b/.",
            "/.",
            "/x/..",
            "/%2e%2e/x",
            "/%2E./x",
            "/.%2E/x",
            "/x/%2e",
            "/%2e%2e%2e/x",
            "/.hidden/a..b/...",
            "/a%20b/%7Euser/%zz/%",
            "/a b/ü/\\x",
            "/a;p=1/b:c@d!$&'()*+,=",
            "/a|b/[c]/{d}/^e/`f`/\"g\"/<h>",
            "/\u{7f}x",
            "/x?",
            "x",
            "",
        ];
        let queries = [
            None,
            Some(""),
            Some("a=1&b=%20"),
            Some("a=/x?y:z@!$()*+,;"),
            Some("a b=ü&c"),
            Some("it's"),
            Some("x#y"),
            Some("a|b\\c^d{e}`f`\"g\"<h>"),
        ];
        let mut quick = 0;
        for upstream in UPSTREAMS {
            let upstream = Url::parse(upstream).unwrap();
            for rest in rests {
                for query in queries {
                    let Some(text) = origin_form(&upstream, rest, query) else { continue };
                    let url = target(&upstream, rest, query).expect("a target");
                    assert_eq!(
                        text,
                        &url[url::Position::BeforePath..url::Position::AfterQuery],
                        "{upstream} {rest} {query:?}"
                    );
                    quick += 1;
                }
            }
        }
        // The ordinary paths do take the quick way.
        assert!(quick >= 6 * 8 * 3, "{quick}");
        let plain = Url::parse("https://api.example.com/v1/").unwrap();
        assert_eq!(
            origin_form(&plain, "/orders/7", Some("expand=items")).as_deref(),
            Some("/v1/orders/7?expand=items")
        );
        for odd in ["/a b", "/x/%2E%2e/y", "/a\\b", "/<x>"] {
            assert_eq!(origin_form(&plain, odd, None), None, "{odd}");
        }
        assert_eq!(origin_form(&plain, "/x", Some("it's")), None);
    }

    #[test]
    fn log_paths_are_short() {
        assert_eq!(shown_path("/a/b"), "/a/b");
        assert_eq!(shown_path(&"/x".repeat(300)).chars().count(), 201);
    }
}
