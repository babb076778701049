//! One connection to Redis: TCP, TLS (`rediss://`) or a unix socket, authenticated and on
//! its database, every read and write bounded by the command's deadline (the socket's
//! timeout is set from what is left before each operation), so a silent or trickling
//! server costs at most the budget, never a hang.

use super::resp::{self, Fault, Value};
use crate::secret::Secret;
use std::io::{BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Tcp { host: String, port: u16, tls: bool },
    Unix(std::path::PathBuf),
}

/// Where the cache is and who tok is there; the password is not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub place: Place,
    pub user: Option<String>,
    pub db: u32,
}

impl Target {
    /// Parses a cache URL. `Ok((target, password))`: the URL's password, if it has one,
    /// for the caller to refuse or use; the error text never quotes the URL.
    pub fn parse(text: &str) -> Result<(Target, Option<Secret>), String> {
        let url = url::Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
        let password = url.password().map(|p| Secret::new(pct_decode(p)));
        let user = Some(pct_decode(url.username())).filter(|u| !u.is_empty());
        let db_of =
            |s: &str| s.parse::<u32>().map_err(|_| "the database must be a number, e.g. /0".to_string());
        match url.scheme() {
            "redis" | "rediss" => {
                let host = url.host_str().filter(|h| !h.is_empty()).ok_or("the URL names no host")?;
                let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
                let tls = url.scheme() == "rediss";
                let port = url.port().unwrap_or(6379);
                let path = url.path().trim_start_matches('/');
                let db = if path.is_empty() { 0 } else { db_of(path)? };
                if url.query().is_some() {
                    return Err("the URL has a query; tok takes none for redis://".into());
                }
                Ok((Target { place: Place::Tcp { host, port, tls }, user, db }, password))
            }
            "unix" => {
                if url.path().is_empty() || url.path() == "/" {
                    return Err("a unix:// URL names the socket's path: unix:///run/redis.sock".into());
                }
                let (mut db, mut user) = (0, user);
                for (k, v) in url.query_pairs() {
                    match &*k {
                        "db" => db = db_of(&v)?,
                        "user" => user = Some(v.into_owned()).filter(|u| !u.is_empty()),
                        _ => return Err("a unix:// URL takes only ?db=N&user=NAME".into()),
                    }
                }
                Ok((Target { place: Place::Unix(url.path().into()), user, db }, password))
            }
            _ => Err("the cache URL must start redis://, rediss:// or unix://".into()),
        }
    }

    /// For messages: where, never who or with what.
    pub fn describe(&self) -> String {
        match &self.place {
            Place::Tcp { host, port, tls } => {
                format!("{}://{host}:{port}/{}", if *tls { "rediss" } else { "redis" }, self.db)
            }
            Place::Unix(path) => format!("unix://{}", path.display()),
        }
    }
}

fn pct_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

enum Stream {
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
}

impl Stream {
    fn set_timeout(&self, t: Duration) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(Some(t)).and(s.set_write_timeout(Some(t))),
            Stream::Tls(s) => s.sock.set_read_timeout(Some(t)).and(s.sock.set_write_timeout(Some(t))),
            #[cfg(unix)]
            Stream::Unix(s) => s.set_read_timeout(Some(t)).and(s.set_write_timeout(Some(t))),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            #[cfg(unix)]
            Stream::Unix(s) => s.flush(),
        }
    }
}

pub struct Conn {
    stream: BufReader<Stream>,
    deadline: Instant,
    /// Each operation's own bound (`--timeout`), within the deadline.
    each: Duration,
}

/// A connection failed, or the server said no.
#[derive(Debug)]
pub enum ConnError {
    Fault(Fault),
    /// An error reply, explained (see `resp::explain`).
    Refused(String),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Fault(Fault::Io(e) | Fault::Garbage(e)) => f.write_str(e),
            ConnError::Refused(e) => f.write_str(e),
        }
    }
}

impl From<Fault> for ConnError {
    fn from(f: Fault) -> ConnError {
        ConnError::Fault(f)
    }
}

fn io(e: std::io::Error) -> ConnError {
    ConnError::Fault(Fault::Io(e.to_string()))
}

impl Conn {
    pub fn open(
        target: &Target,
        password: Option<&Secret>,
        ca: Option<&[u8]>,
        deadline: Instant,
        each: Duration,
    ) -> Result<Conn, ConnError> {
        let left = left(deadline, each)?;
        let stream = match &target.place {
            Place::Tcp { host, port, tls } => {
                let tcp = connect(host, *port, left)?;
                let _ = tcp.set_nodelay(true);
                if *tls {
                    let config = tls_config(ca).map_err(|e| ConnError::Fault(Fault::Io(e)))?;
                    let name = rustls::pki_types::ServerName::try_from(host.clone())
                        .map_err(|_| ConnError::Fault(Fault::Io("the host is no TLS server name".into())))?;
                    let conn = rustls::ClientConnection::new(Arc::new(config), name)
                        .map_err(|e| ConnError::Fault(Fault::Io(format!("TLS: {e}"))))?;
                    Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)))
                } else {
                    Stream::Tcp(tcp)
                }
            }
            #[cfg(unix)]
            Place::Unix(path) => Stream::Unix(std::os::unix::net::UnixStream::connect(path).map_err(io)?),
            #[cfg(not(unix))]
            Place::Unix(_) => {
                return Err(ConnError::Fault(Fault::Io("unix sockets need a Unix system".into())));
            }
        };
        let mut conn = Conn { stream: BufReader::new(stream), deadline, each };
        if let Some(password) = password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &target.user {
                args.push(user.as_bytes());
            }
            args.push(password.expose().as_bytes());
            conn.ok(&args)?;
        }
        if target.db != 0 {
            conn.ok(&[b"SELECT", target.db.to_string().as_bytes()])?;
        }
        Ok(conn)
    }

    /// One command and its reply; an error reply is `Refused`.
    pub fn call(&mut self, args: &[&[u8]]) -> Result<Value, ConnError> {
        let left = left(self.deadline, self.each)?;
        self.stream.get_ref().set_timeout(left).map_err(io)?;
        let stream = self.stream.get_mut();
        stream.write_all(&resp::encode(args)).and_then(|()| stream.flush()).map_err(|e| {
            ConnError::Fault(match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    Fault::Io("the server did not take the command in time".into())
                }
                _ => Fault::Io(e.to_string()),
            })
        })?;
        match resp::read(&mut self.stream)? {
            Value::Error(e) => Err(ConnError::Refused(resp::explain(&e))),
            v => Ok(v),
        }
    }

    fn ok(&mut self, args: &[&[u8]]) -> Result<(), ConnError> {
        match self.call(args)? {
            Value::Simple(_) => Ok(()),
            _ => Err(ConnError::Fault(Fault::Garbage("an unexpected reply".into()))),
        }
    }
}

fn left(deadline: Instant, each: Duration) -> Result<Duration, ConnError> {
    let left = deadline.saturating_duration_since(Instant::now()).min(each);
    if left < Duration::from_millis(1) {
        return Err(ConnError::Fault(Fault::Io("no time was left for the cache".into())));
    }
    Ok(left)
}

fn connect(host: &str, port: u16, left: Duration) -> Result<TcpStream, ConnError> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| ConnError::Fault(Fault::Io(format!("cannot resolve the host: {e}"))))?;
    let mut last = ConnError::Fault(Fault::Io("the host has no address".into()));
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = io(e),
        }
    }
    Err(last)
}

/// The system's roots (the platform verifier, as for HTTPS), or only the CA file given
/// in `TOK_SHARED_CACHE_CA`.
fn tls_config(ca: Option<&[u8]>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    match ca {
        Some(pem_bytes) => {
            let mut roots = rustls::RootCertStore::empty();
            let blocks =
                pem::parse_many(pem_bytes).map_err(|_| "TOK_SHARED_CACHE_CA is not PEM".to_string())?;
            for block in blocks.iter().filter(|b| b.tag() == "CERTIFICATE") {
                roots
                    .add(rustls::pki_types::CertificateDer::from(block.contents().to_vec()))
                    .map_err(|e| format!("TOK_SHARED_CACHE_CA: {e}"))?;
            }
            if roots.is_empty() {
                return Err("TOK_SHARED_CACHE_CA holds no certificate".into());
            }
            Ok(builder.with_root_certificates(roots).with_no_client_auth())
        }
        None => {
            let verifier =
                rustls_platform_verifier::Verifier::new(provider).map_err(|e| format!("TLS: {e}"))?;
            Ok(builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let tcp = |host: &str, port, tls| Place::Tcp { host: host.into(), port, tls };
        // The place, the user, the database, whether the URL had a password; or a refusal.
        type Parsed<'a> = Result<(Place, Option<&'a str>, u32, bool), ()>;
        let table: Vec<(&str, Parsed)> = vec![
            ("redis://cache:6380/2", Ok((tcp("cache", 6380, false), None, 2, false))),
            ("redis://cache", Ok((tcp("cache", 6379, false), None, 0, false))),
            (
                "rediss://tok@cache.internal:6380/0",
                Ok((tcp("cache.internal", 6380, true), Some("tok"), 0, false)),
            ),
            ("redis://u:p%40ss@h/1", Ok((tcp("h", 6379, false), Some("u"), 1, true))),
            ("redis://[::1]:7000", Ok((tcp("::1", 7000, false), None, 0, false))),
            ("unix:///run/redis.sock", Ok((Place::Unix("/run/redis.sock".into()), None, 0, false))),
            ("unix:///run/redis.sock?db=3", Ok((Place::Unix("/run/redis.sock".into()), None, 3, false))),
            ("http://cache", Err(())),
            ("redis://cache/x", Err(())),
            ("redis://cache/0?password=x", Err(())),
            ("unix://", Err(())),
            (
                "unix:///run/redis.sock?db=1&user=tok",
                Ok((Place::Unix("/run/redis.sock".into()), Some("tok"), 1, false)),
            ),
            ("unix:///s?pass=x", Err(())),
            ("cache:6379", Err(())),
        ];
        for (text, want) in table {
            let got = Target::parse(text);
            match want {
                Ok((place, user, db, has_password)) => {
                    let (target, password) = got.unwrap_or_else(|e| panic!("{text}: {e}"));
                    assert_eq!(target.place, place, "{text}");
                    assert_eq!(target.user.as_deref(), user, "{text}");
                    assert_eq!(target.db, db, "{text}");
                    assert_eq!(password.is_some(), has_password, "{text}");
                }
                Err(()) => assert!(got.is_err(), "{text}"),
            }
        }
        let (_, password) = Target::parse("redis://u:p%40ss@h/1").unwrap();
        assert_eq!(password.unwrap().expose(), "p@ss");
    }
}
