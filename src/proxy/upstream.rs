//! The gateway's client: HTTP/1.1 connections to its one upstream, kept alive and reused.
//!
//! Not reqwest, which tok's own token requests use: a gateway talks to one origin, so a
//! client that resolves, pools and layers per request for any URL did work no request
//! needed. Counted with callgrind under wrk, reqwest's share was about 50,000 of the
//! 116,000 instructions a proxied request cost; hyper's connection API alone, with a
//! plain stack of idle connections, does the same job (BENCHMARKS.md).
//!
//! The rules stay those of every request tok sends: the origin the profile names and no
//! other (no redirects are followed: they pass back to the client), HTTPS checked as tok
//! checks it (the platform's trust, `SSL_CERT_FILE` / `SSL_CERT_DIR`), the profile's TLS
//! client certificate to the API only (never to a proxy), the environment's proxy for
//! HTTPS only and as a tunnel, and `--timeout` for connecting, for the answer's head and
//! for every pause in its body.

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use reqwest::Url;
use rustls::pki_types::ServerName;
use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};

/// What goes upstream: a body held whole (small enough to send twice), or one streaming in
/// from the client.
pub type Outgoing = Either<Full<Bytes>, super::forward::Streamed>;

/// An idle connection older than this is not used again: the upstream has likely closed
/// it (reqwest's default, which the gateway kept before).
const IDLE_FOR: Duration = Duration::from_secs(90);
/// Idle connections kept at most: as many as clients the gateway serves at once.
const IDLE_KEPT: usize = super::MAX_CONNECTIONS;
/// A proxy's answer to CONNECT, up to its blank line, is read up to this size.
const TUNNEL_HEAD_LIMIT: usize = 16 * 1024;

type Idle = Arc<Mutex<VecDeque<(SendRequest<Outgoing>, Instant)>>>;

pub struct Upstream {
    target: Endpoint,
    /// `host[:port]`, the port left out when it is the scheme's own (as browsers send it).
    host: HeaderValue,
    /// The API's TLS (its name, and the client certificate when the profile has one).
    tls: Option<Tls>,
    tunnel: Option<Tunnel>,
    timeout: Duration,
    idle: Idle,
}

#[derive(Clone)]
struct Endpoint {
    host: url::Host<String>,
    port: u16,
}

struct Tls {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

/// `HTTPS_PROXY`: a CONNECT tunnel through it, TLS to the API inside.
struct Tunnel {
    proxy: Endpoint,
    /// An `https://` proxy: TLS to it first, with no client certificate.
    tls: Option<Tls>,
    /// Basic credentials from the proxy URL's user part.
    authorization: Option<HeaderValue>,
    /// `host:port` of the API, as CONNECT names it.
    authority: String,
}

/// Why a request got no answer.
#[derive(Debug)]
pub enum Failure {
    /// `--timeout` passed: connecting, or waiting for the answer's head.
    Timeout,
    /// No connection: the text says why (refused, no such host, TLS, the proxy).
    Connect(String),
    /// The connection broke while the request or the answer's head was under way.
    Broken(hyper::Error),
}

impl Upstream {
    pub fn new(
        upstream: &Url,
        timeout: Duration,
        identity: Option<&crate::client_cert::ClientCert>,
    ) -> Result<Upstream> {
        let target = endpoint(upstream)?;
        let host = match upstream.port() {
            Some(port) => format!("{}:{port}", upstream.host_str().unwrap_or_default()),
            None => upstream.host_str().unwrap_or_default().to_string(),
        };
        let host = HeaderValue::from_str(&host).map_err(|_| {
            Error::usage(format!("{} has no host tok can send", crate::http::redact_url(upstream)))
        })?;
        let tls = match upstream.scheme() {
            "https" => Some(Tls { config: tls_config(identity)?, name: server_name(&target)? }),
            _ => None,
        };
        let tunnel = match crate::http::proxy_for(upstream)? {
            Some(proxy) => Some(Tunnel {
                tls: match proxy.scheme() {
                    "https" => {
                        Some(Tls { config: tls_config(None)?, name: server_name(&endpoint(&proxy)?)? })
                    }
                    _ => None,
                },
                authorization: basic_authorization(&proxy),
                authority: format!("{}:{}", upstream.host_str().unwrap_or_default(), target.port),
                proxy: endpoint(&proxy)?,
            }),
            None => None,
        };
        Ok(Upstream { target, host, tls, tunnel, timeout, idle: Arc::default() })
    }

    /// Sends `request` (its URI in origin form: path and query) on an idle connection, or
    /// a new one. A request a closed idle connection could not take goes on the next.
    pub async fn send(&self, mut request: Request<Outgoing>) -> Result<Response<Paced>, Failure> {
        request.headers_mut().insert(header::HOST, self.host.clone());
        loop {
            let (mut sender, fresh) = match self.take_idle() {
                Some(sender) => (sender, false),
                None => (self.connect().await?, true),
            };
            let sent = sender.try_send_request(request);
            match tokio::time::timeout(self.timeout, sent).await {
                Err(_) => return Err(Failure::Timeout),
                Ok(Ok(response)) => {
                    let idle = Arc::clone(&self.idle);
                    return Ok(response.map(|body| Paced::new(body, self.timeout, sender, idle)));
                }
                Ok(Err(mut failed)) => match failed.take_message() {
                    // Never written: an idle connection the upstream had closed. The next
                    // one takes it; a new one that fails so is the upstream's answer.
                    Some(again) if !fresh => request = again,
                    _ => return Err(Failure::Broken(failed.into_error())),
                },
            }
        }
    }

    /// The most recently used idle connection still open: the one least likely to have
    /// been closed by the upstream meanwhile.
    fn take_idle(&self) -> Option<SendRequest<Outgoing>> {
        let mut idle = match self.idle.lock() {
            Ok(idle) => idle,
            Err(poisoned) => poisoned.into_inner(),
        };
        while let Some((sender, since)) = idle.pop_back() {
            if since.elapsed() < IDLE_FOR && sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    async fn connect(&self) -> Result<SendRequest<Outgoing>, Failure> {
        let io = match tokio::time::timeout(self.timeout, self.open()).await {
            Err(_) => return Err(Failure::Timeout),
            Ok(io) => io.map_err(Failure::Connect)?,
        };
        // One buffer per write, as on the server side (mod.rs): measured faster here.
        let (sender, connection) =
            http1::Builder::new().writev(false).handshake(TokioIo::new(io)).await.map_err(Failure::Broken)?;
        // The connection's reads and writes; it ends when the sender is dropped or the
        // upstream closes it.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// A connection to the API, TLS done: straight, or through the proxy's tunnel.
    async fn open(&self) -> Result<Stream, String> {
        let stream: Stream = match &self.tunnel {
            None => Box::new(tcp(&self.target).await?),
            Some(tunnel) => {
                let tcp = tcp(&tunnel.proxy).await.map_err(|e| format!("the proxy: {e}"))?;
                let mut to_proxy: Stream = match &tunnel.tls {
                    Some(tls) => Box::new(handshake(tls, tcp).await.map_err(|e| format!("the proxy: {e}"))?),
                    None => Box::new(tcp),
                };
                connect_tunnel(&mut to_proxy, tunnel).await?;
                to_proxy
            }
        };
        match &self.tls {
            Some(tls) => Ok(Box::new(handshake(tls, stream).await?)),
            None => Ok(stream),
        }
    }
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}
type Stream = Box<dyn Io>;

async fn tcp(to: &Endpoint) -> Result<tokio::net::TcpStream, String> {
    let connected = match &to.host {
        url::Host::Domain(name) => tokio::net::TcpStream::connect((name.as_str(), to.port)).await,
        url::Host::Ipv4(ip) => tokio::net::TcpStream::connect((*ip, to.port)).await,
        url::Host::Ipv6(ip) => tokio::net::TcpStream::connect((*ip, to.port)).await,
    };
    let stream = connected.map_err(|e| format!("tcp connect error: {e}"))?;
    // A request's head and a small body go in one write each: no waiting for an ACK.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

async fn handshake<S: Io + 'static>(
    tls: &Tls,
    stream: S,
) -> Result<tokio_rustls::client::TlsStream<S>, String> {
    tokio_rustls::TlsConnector::from(Arc::clone(&tls.config))
        .connect(tls.name.clone(), stream)
        .await
        // rustls's error is the io::Error's inner one: "invalid peer certificate: …".
        .map_err(|e| match e.get_ref() {
            Some(inner) => format!("TLS: {inner}"),
            None => format!("TLS: {e}"),
        })
}

/// `CONNECT host:port` and the proxy's `200`; nothing of the API's traffic is read.
async fn connect_tunnel(stream: &mut Stream, tunnel: &Tunnel) -> Result<(), String> {
    let mut head = format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n", tunnel.authority).into_bytes();
    if let Some(authorization) = &tunnel.authorization {
        head.extend_from_slice(b"Proxy-Authorization: ");
        head.extend_from_slice(authorization.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    stream.write_all(&head).await.map_err(|e| format!("the proxy: {e}"))?;
    // Byte by byte: what follows the blank line is the API's TLS, not the proxy's.
    let mut answer = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() >= TUNNEL_HEAD_LIMIT {
            return Err("the proxy's answer to CONNECT is too long".into());
        }
        match stream.read(&mut byte).await {
            Ok(0) => return Err("the proxy closed the connection before answering CONNECT".into()),
            Ok(_) => answer.push(byte[0]),
            Err(e) => return Err(format!("the proxy: {e}")),
        }
    }
    let status = tunnel_status(&answer);
    match status {
        Some(200..=299) => Ok(()),
        Some(407) => Err("the proxy asks for credentials (407): give them in HTTPS_PROXY's URL".into()),
        Some(code) => Err(format!("the proxy refused the tunnel ({})", crate::http::status_text(code))),
        None => Err("the proxy's answer to CONNECT is not HTTP".into()),
    }
}

/// The status of an HTTP/1 answer's first line.
fn tunnel_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_ascii_whitespace();
    words.next().filter(|v| v.starts_with("HTTP/1."))?;
    words.next()?.parse().ok().filter(|code| (100..600).contains(code))
}

fn basic_authorization(proxy: &Url) -> Option<HeaderValue> {
    use base64::Engine;
    if proxy.username().is_empty() && proxy.password().is_none() {
        return None;
    }
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let pair = crate::secret::Secret::new(format!(
        "{}:{}",
        decode(proxy.username()),
        decode(proxy.password().unwrap_or_default())
    ));
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair.expose());
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

fn endpoint(url: &Url) -> Result<Endpoint> {
    let host = url.host().map(|h| h.to_owned());
    match (host, url.port_or_known_default()) {
        (Some(host), Some(port)) => Ok(Endpoint { host, port }),
        _ => Err(Error::usage(format!("{} names no host and port", crate::http::redact_url(url)))),
    }
}

fn server_name(to: &Endpoint) -> Result<ServerName<'static>> {
    let name = match &to.host {
        url::Host::Domain(name) => ServerName::try_from(name.clone()).ok(),
        url::Host::Ipv4(ip) => Some(ServerName::IpAddress(std::net::IpAddr::V4(*ip).into())),
        url::Host::Ipv6(ip) => Some(ServerName::IpAddress(std::net::IpAddr::V6(*ip).into())),
    };
    name.ok_or_else(|| Error::usage(format!("{} is not a name TLS can check", to.host)))
}

/// The trust every HTTPS request of tok's has (the platform's, `SSL_CERT_FILE`), ring's
/// algorithms, HTTP/1.1 only, and the profile's client certificate when it has one.
fn tls_config(identity: Option<&crate::client_cert::ClientCert>) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let setup = |e: &dyn std::fmt::Display| Error::other(format!("cannot set up HTTPS: {e}"));
    let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(|e| setup(&e))?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(&e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match identity {
        Some(identity) => {
            let (chain, key) = identity.rustls_parts()?;
            builder.with_client_auth_cert(chain, key).map_err(|_| {
                Error::usage(format!(
                    "the stored {} and certificate cannot be used for TLS",
                    crate::client_cert::KEY_LABEL
                ))
            })?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// An answer's body from the upstream: every pause in it is bounded by `--timeout`, and
/// once it has been read to its end its connection goes back to the idle ones.
pub struct Paced {
    body: Incoming,
    timeout: Duration,
    /// Armed while the body waits for the upstream.
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
    waiting: bool,
    ended: bool,
    sender: Option<SendRequest<Outgoing>>,
    idle: Idle,
}

impl Paced {
    fn new(body: Incoming, timeout: Duration, sender: SendRequest<Outgoing>, idle: Idle) -> Paced {
        Paced { body, timeout, pause: None, waiting: false, ended: false, sender: Some(sender), idle }
    }
}

/// The upstream stopped sending an answer's body for `--timeout`.
#[derive(Debug)]
pub struct Stalled;

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the upstream's answer stalled for --timeout")
    }
}

impl std::error::Error for Stalled {}

impl Body for Paced {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting = false;
                if frame.is_none() {
                    this.ended = true;
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let deadline = tokio::time::Instant::now() + this.timeout;
                if !this.waiting {
                    this.waiting = true;
                    match &mut this.pause {
                        Some(pause) => pause.as_mut().reset(deadline),
                        None => this.pause = Some(Box::pin(tokio::time::sleep_until(deadline))),
                    }
                }
                match this.pause.as_mut().map(|p| p.as_mut().poll(cx)) {
                    Some(Poll::Ready(())) => Poll::Ready(Some(Err(Box::new(Stalled)))),
                    _ => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Paced {
    /// A connection whose answer was read to its end takes the next request; one left
    /// mid-answer (the client went away) is closed with its sender.
    fn drop(&mut self) {
        let Some(sender) = self.sender.take() else { return };
        if !(self.ended || self.body.is_end_stream()) {
            return;
        }
        let idle = Arc::clone(&self.idle);
        if sender.is_ready() {
            keep(&idle, sender);
        } else if !sender.is_closed() {
            // Its request body may still be going up: it is idle once hyper says so.
            let mut sender = sender;
            tokio::spawn(async move {
                if sender.ready().await.is_ok() {
                    keep(&idle, sender);
                }
            });
        }
    }
}

fn keep(idle: &Idle, sender: SendRequest<Outgoing>) {
    let mut idle = match idle.lock() {
        Ok(idle) => idle,
        Err(poisoned) => poisoned.into_inner(),
    };
    if idle.len() >= IDLE_KEPT {
        idle.pop_front();
    }
    idle.push_back((sender, Instant::now()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_status_table() {
        let table: [(&[u8], Option<u16>); 7] = [
            (b"HTTP/1.1 200 Connection established\r\n\r\n", Some(200)),
            (b"HTTP/1.0 200\r\n\r\n", Some(200)),
            (b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n", Some(407)),
            (b"HTTP/2 200\r\n\r\n", None),
            (b"SSH-2.0-OpenSSH\r\n\r\n", None),
            (b"HTTP/1.1 99999 x\r\n\r\n", None),
            (b"\xff\xfe\r\n\r\n", None),
        ];
        for (head, want) in table {
            assert_eq!(tunnel_status(head), want, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn the_host_header_leaves_out_the_schemes_own_port() {
        let table = [
            ("https://api.example.com/v1", "api.example.com"),
            ("https://api.example.com:443/v1", "api.example.com"),
            ("https://api.example.com:8443", "api.example.com:8443"),
            ("http://127.0.0.1:8080/x", "127.0.0.1:8080"),
            ("http://[::1]:9000", "[::1]:9000"),
        ];
        for (url, want) in table {
            let upstream = Upstream::new(&Url::parse(url).unwrap(), Duration::from_secs(1), None).unwrap();
            assert_eq!(upstream.host, want, "{url}");
        }
    }

    #[test]
    fn proxy_credentials_are_decoded_basic() {
        let url = Url::parse("http://us%40er:p%3Ass@proxy.example:3128").unwrap();
        let value = basic_authorization(&url).unwrap();
        // base64("us@er:p:ss")
        assert_eq!(value, "Basic dXNAZXI6cDpzcw==");
        assert!(value.is_sensitive());
        assert_eq!(basic_authorization(&Url::parse("http://proxy.example:3128").unwrap()), None);
    }
}
