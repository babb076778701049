//! `tok proxy PROFILE`: a local gateway that keeps any HTTP client authenticated.
//!
//! A token in an environment variable goes stale inside a long-running program, and many
//! clients (Postman, a browser, a test suite in another language) cannot run a command
//! per request. The gateway forwards `<base URL>/path?q` to `<upstream>/path?q` with the
//! profile's credential, kept fresh by the usual policy and shared with every other tok
//! through the store and the profile's lock.
//!
//! `gate` decides who may use it (the capability in the URL, no forward proxying, no
//! other web pages; `address` names the gateway), `headers` what passes between client and API, `keeper` holds the credential, and
//! `forward` carries one request. This file checks the settings, gets the first token,
//! serves, and stops on SIGINT or SIGTERM: in-flight requests finish, for up to
//! `--timeout`.
//!
//! Connections cost nothing to open and need no capability, so silent ones must not
//! keep others out: a request's head has `HEAD_WITHIN` to arrive (so does the next one on
//! a kept-alive connection), and when every slot is taken a new connection takes the slot
//! of the oldest one that has no request under way.

mod address;
mod dots;
mod dpop;
mod forward;
mod gate;
mod headers;
mod keeper;
mod upstream;

use crate::cli::ProxyArgs;
use crate::error::{Error, Result};
use crate::flow::{self, App, Want};
use crate::http;
use crate::profile::Profile;
use crate::provider;
use crate::term;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use reqwest::Url;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

pub use address::listen_address;

/// Connections served at once. Each may hold a request body of up to
/// `forward::REPLAY_LIMIT`, so this also bounds the memory bodies take.
pub(crate) const MAX_CONNECTIONS: usize = 256;
/// The time a request's line and headers have to arrive, from the connection's start or
/// the end of the answer before: whatever `--timeout` is, a client that says nothing
/// holds a slot this long at most.
const HEAD_WITHIN: Duration = Duration::from_secs(5);

pub fn proxy(app: &App, args: &ProxyArgs) -> Result<()> {
    let ready = prepare(app, args)?;
    let runtime = runtime()?;
    term::stdout(format!("{}\n", ready.gateway.public).as_bytes())?;
    term::note(&format!("proxy: {}; Ctrl-C stops it", ready.describe()));
    let served =
        runtime.block_on(serve(ready.listener, ready.gateway, ready.grace, stop_signal(), stop_signal))?;
    term::note(&format!("proxy: stopped after {served} connection{}", if served == 1 { "" } else { "s" }));
    Ok(())
}

/// A gateway serving on a thread of its own (`tok exec --proxy`), until `stop` or drop.
pub struct Background {
    /// The base URL clients use, capability included.
    pub url: String,
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<u64>>>,
}

/// Binds, gets the first token and serves in the background: when it returns, the
/// address takes connections. Nothing goes to stdout (it is the caller's).
pub fn start(app: &App, args: &ProxyArgs) -> Result<Background> {
    let ready = prepare(app, args)?;
    let runtime = runtime()?;
    let (url, address) = (ready.gateway.public.clone(), ready.gateway.listen);
    term::verbose!("proxy: {}", ready.describe());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("proxy {}", ready.gateway.profile))
        .spawn(move || {
            // A dropped sender stops it too.
            let stop = async move {
                let _ = stopped.await;
            };
            runtime.block_on(serve(ready.listener, ready.gateway, ready.grace, stop, std::future::pending))
        })
        .map_err(|e| Error::other(format!("cannot start the proxy's thread: {e}")))?;
    Ok(Background { url, address, stop: Some(stop), thread: Some(thread) })
}

impl Background {
    /// Stops taking connections, lets requests under way finish (for up to `--timeout`)
    /// and returns how many connections were served.
    pub fn stop(mut self) -> Result<u64> {
        self.halt()
    }

    fn halt(&mut self) -> Result<u64> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(served)) => served,
            Some(Err(_)) => Err(Error::other("the proxy's thread failed")),
            None => Ok(0),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// A gateway bound and holding its first token, not serving yet.
struct Ready {
    listener: std::net::TcpListener,
    gateway: Arc<forward::Gateway>,
    grace: Duration,
}

impl Ready {
    fn describe(&self) -> String {
        let g = &self.gateway;
        format!("{} -> {} on {}", g.profile, http::redact_url(&g.upstream), g.listen)
    }
}

fn prepare(app: &App, args: &ProxyArgs) -> Result<Ready> {
    let profile = crate::cmd::existing_profile(app, &args.profile)?;
    let identity = provider::identity(&profile)?;
    let touches = provider::curl_touches(&profile)?;
    let upstream = upstream(&profile, args.upstream.as_deref(), touches.api_base.as_ref())?;
    check_listen(args.listen, args.allow_remote)?;
    let min_ttl = i64::try_from(args.min_ttl.as_secs()).unwrap_or(i64::MAX);
    // A port in use fails before any network call.
    let listener = std::net::TcpListener::bind(args.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| Error::other(format!("cannot listen on {}: {e}", args.listen)))?;
    let address = listener.local_addr().map_err(|e| Error::other(format!("cannot listen: {e}")))?;
    // The first token before anything is served: wrong credentials fail now, with the
    // usual exit code, not as a 502 on the first request.
    let first = flow::token(app, &profile, Want::Fresh { min_ttl }, false)?;
    let capability = crate::random::capability()?;
    // It grants the credential's use: cut out of every line on stderr, like a secret.
    crate::secret::register(&capability);
    term::mask_in_ci(&capability);
    let timeout = app.http.timeout();
    // RFC 8705: a certificate-bound token is presented with its certificate, upstream.
    let client_cert = crate::client_cert::of_profile(app, &profile)?;
    let client = upstream::Upstream::new(&upstream, timeout, client_cert.as_deref())?;
    let public = format!("http://{address}/{capability}");
    let keeper = keeper::Keeper::new(
        keeper::Setup {
            profile: profile.clone(),
            paths: app.paths.clone(),
            explicit_store: app.explicit_store.clone(),
            timeout,
            min_ttl,
            api_key: identity.api_key,
            unverified: identity.unchecked_login && profile.verified.is_none(),
        },
        first,
    )?;
    let gateway = Arc::new(forward::Gateway {
        keeper: Arc::new(keeper),
        client,
        upstream,
        capability,
        public,
        listen: address,
        listen_text: gate::listen_text(address),
        profile: profile.name.clone(),
        trace_uuid: touches.trace_uuid,
        watch_header: touches.watch_header,
        retry: !args.no_retry,
        timeout,
        cookies: headers::Cookies::default(),
        dpop: crate::dpop::enabled(&profile)
            .then(|| crate::dpop::profile_key(app, &profile).map(dpop::Prover::new))
            .transpose()?,
    });
    Ok(Ready { listener, gateway, grace: timeout })
}

/// One thread serves everything (token refreshes block on threads of their own): on the
/// 2-core machine it was measured on, it took a third less CPU per request than two
/// workers at the same throughput, since nothing crosses threads (BENCHMARKS.md).
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::other(format!("cannot start the proxy's runtime: {e}")))
}

/// Where requests go: `--upstream`, else the profile's `upstream` setting or its
/// provider's API host. Where the provider documents the API host, `--upstream` may
/// only change the path (the credential goes to the hosts the profile names).
fn upstream(profile: &Profile, flag: Option<&str>, api_base: Option<&Url>) -> Result<Url> {
    let documented = !profile.provider.has_field("upstream");
    let Some(text) = flag else {
        return api_base.cloned().ok_or_else(|| {
            Error::usage(format!(
                "{} documents no API host: tok proxy needs --upstream URL",
                profile.provider.name()
            ))
            .hint(format!(
                "tok proxy {} --upstream https://api.example.com, or keep it with `tok login {} --upstream URL`",
                profile.name, profile.name
            ))
        });
    };
    let url = http::base_url(text)?;
    if documented
        && let Some(base) = api_base
        && !http::same_origin(&url, base)
    {
        return Err(Error::usage(format!(
            "--upstream {} is not on the API host of profile '{}' ({})",
            http::redact_url(&url),
            profile.name,
            http::redact_url(base)
        ))
        .hint(
            "tok sends a profile's credential only to the hosts it names; change the profile's --base-url",
        ));
    }
    Ok(url)
}

fn check_listen(address: SocketAddr, allow_remote: bool) -> Result<()> {
    if address.ip().is_loopback() {
        return Ok(());
    }
    if !allow_remote {
        return Err(Error::usage(format!(
            "--listen {address} is not a loopback address: anyone who reaches it could use the credential"
        ))
        .hint("listen on 127.0.0.1 (the default), or add --allow-remote if you mean it"));
    }
    term::warn(&format!(
        "proxy: listening on {address}, beyond this machine: whoever reaches it and learns the URL (sent in \
         clear text, over plain HTTP) uses the credential"
    ));
    Ok(())
}

/// A connection being served: how many of its requests are under way, and how to end it.
struct Open {
    busy: Arc<AtomicUsize>,
    abort: tokio::task::AbortHandle,
}

/// Serves until `stop` (SIGINT or SIGTERM for `tok proxy`), then lets requests under way
/// finish for up to `grace`, or until `again` (a second signal). Returns how many
/// connections were served.
async fn serve<Again: Future<Output = ()>>(
    listener: std::net::TcpListener,
    gateway: Arc<forward::Gateway>,
    grace: Duration,
    stop: impl Future<Output = ()>,
    again: impl FnOnce() -> Again,
) -> Result<u64> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| Error::other(format!("cannot listen: {e}")))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Told when a connection has no request under way any more.
    let idle = Arc::new(tokio::sync::Notify::new());
    // In the order they were accepted, so the oldest idle one goes first.
    let mut open: BTreeMap<u64, Open> = BTreeMap::new();
    let mut connections = tokio::task::JoinSet::new();
    let mut served = 0u64;
    tokio::pin!(stop);
    'serve: loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors, say: wait a little rather than spin.
                Err(e) => {
                    term::warn(&format!("proxy: cannot accept a connection: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(ended) = connections.join_next_with_id() => {
                forget(&mut open, ended);
                continue;
            }
            () = &mut stop => break,
        };
        while open.len() >= MAX_CONNECTIONS {
            let oldest_idle = open.iter().find(|(_, c)| c.busy.load(Ordering::Acquire) == 0).map(|(k, _)| *k);
            if let Some(key) = oldest_idle {
                // One thread runs every connection, so it cannot start a request meanwhile.
                if let Some(evicted) = open.remove(&key) {
                    evicted.abort.abort();
                }
                break;
            }
            tokio::select! {
                Some(ended) = connections.join_next_with_id() => forget(&mut open, ended),
                () = idle.notified() => {}
                () = &mut stop => break 'serve,
            }
        }
        served += 1;
        let _ = stream.set_nodelay(true);
        let busy = Arc::new(AtomicUsize::new(0));
        let tracker = Tracker { busy: Arc::clone(&busy), idle: Arc::clone(&idle) };
        let gateway = Arc::clone(&gateway);
        let stop = stop_rx.clone();
        let abort = connections.spawn(connection(stream, gateway, tracker, stop));
        open.insert(served, Open { busy, abort });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while connections.try_join_next().is_some() {}
    if !connections.is_empty() {
        term::note(&format!(
            "proxy: stopping; waiting up to {} for requests under way",
            crate::duration::show(grace)
        ));
    }
    let drained = tokio::time::timeout(grace, async { while connections.join_next().await.is_some() {} });
    tokio::select! {
        finished = drained => if finished.is_err() {
            term::warn("proxy: stopped with requests still under way after --timeout");
        },
        () = again() => term::warn("proxy: stopped at once"),
    }
    Ok(served)
}

/// A connection task ended (or was ended): its slot is free.
fn forget(
    open: &mut BTreeMap<u64, Open>,
    ended: std::result::Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    let id = match ended {
        Ok((id, ())) => id,
        Err(e) => e.id(),
    };
    open.retain(|_, c| c.abort.id() != id);
}

/// Counts a connection's requests under way, from the head read to the answer's last byte.
#[derive(Clone)]
struct Tracker {
    busy: Arc<AtomicUsize>,
    idle: Arc<tokio::sync::Notify>,
}

struct UnderWay(Tracker);

impl Tracker {
    fn start(&self) -> UnderWay {
        self.busy.fetch_add(1, Ordering::AcqRel);
        UnderWay(self.clone())
    }
}

impl Drop for UnderWay {
    fn drop(&mut self) {
        if self.0.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_one();
        }
    }
}

/// An answer's body that keeps its request counted as under way until hyper drops it.
struct Tracked {
    body: forward::Body,
    _under_way: UnderWay,
}

impl hyper::body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = <forward::Body as hyper::body::Body>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    gateway: Arc<forward::Gateway>,
    tracker: Tracker,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |request| {
        let gateway = Arc::clone(&gateway);
        let under_way = tracker.start();
        async move {
            let response = gateway.handle(request).await;
            Ok::<_, std::convert::Infallible>(response.map(|body| Tracked { body, _under_way: under_way }))
        }
    });
    let mut builder = http1::Builder::new();
    // Also cuts off a client that sends its headers slowly (slowloris). Head and body go
    // out copied into one buffer, not as a `writev` of pieces: 2-6 % more requests per
    // second against nginx's pair of small writes (BENCHMARKS.notes.md).
    builder.timer(TokioTimer::new()).header_read_timeout(HEAD_WITHIN).writev(false);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// SIGINT (Ctrl-C) or SIGTERM; Ctrl-C or Ctrl-Break on Windows.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(windows)]
    {
        match tokio::signal::windows::ctrl_break() {
            Ok(mut ctrl_break) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = ctrl_break.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
