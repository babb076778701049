//! The store's shared tier: a Redis (or Valkey, KeyDB...) that a fleet of machines
//! shares, so that they use one token and refresh it once, with the local store below it.
//!
//! The local store still answers first: a fresh local token is printed without any
//! network. Only when it is due does tok ask the fleet's entry, and only when that is due
//! too does one process of the fleet take the fleet's lock (`SET NX PX`, renewed every
//! third of its lease) and refresh. Everything in Redis is sealed with the profile's own
//! credential (`seal`). A cache that fails is warned about once and then left alone for
//! the rest of the command: tok goes on with the local path, or exits 6 when the cache
//! is required.

mod conn;
mod resp;
mod seal;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::term::{self, verbose};
use crate::token::TokenRecord;
use conn::{Conn, ConnError, Target};
use resp::Value;
use std::cell::{Cell, RefCell};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The global flags, set once by `run` (so that every `App`, the proxy's included, sees
/// them without carrying them).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--shared-cache`, from argv: a password in it is refused.
    pub url: Option<String>,
    pub required: bool,
}

static FLAGS: OnceLock<Flags> = OnceLock::new();

pub fn set_flags(flags: Flags) {
    let _ = FLAGS.set(flags);
}

fn flags() -> Flags {
    FLAGS.get().cloned().unwrap_or_default()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn truthy(text: &str) -> bool {
    matches!(text.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// The store's field for the cache's password (`tok login` keeps TOK_SHARED_CACHE_PASSWORD
/// there for a profile with a cache).
pub const PASSWORD_FIELD: &str = "shared_cache_password";

/// Profile settings the shared tier reads (beside the provider's own), and their
/// `TOK_<P>_*` variables.
pub const SETTINGS: [&str; 3] = ["shared_cache", "shared_cache_required", "max_mints_per_day"];

/// Why a profile does not use the shared cache, or `None` when it can.
pub fn unsuitable(provider: &str, api_key: bool) -> Option<&'static str> {
    if api_key {
        return Some("an API key is the credential itself: there is nothing to share");
    }
    match provider {
        "nelnet" => Some("its JWT is signed locally: there is nothing to share"),
        "netdirector-v1" => Some("it has no credential to seal the shared entry with"),
        _ => None,
    }
}

/// The cache a profile is set up to use, checked (exit 2 for a bad URL or a password on
/// argv), without any I/O. `None`: no shared cache.
pub struct Config {
    target: Target,
    url_password: Option<Secret>,
    pub required: bool,
    pub max_mints_per_day: Option<u64>,
}

impl Config {
    /// `get`: the profile's settings (`shared_cache`, ...), from its variables or config.
    pub fn of(profile: &str, get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Config>> {
        let flags = flags();
        let required = flags.required
            || env("TOK_SHARED_CACHE_REQUIRED").is_some_and(|v| truthy(&v))
            || get("shared_cache_required").is_some_and(|v| truthy(&v));
        let (text, from_argv) = match (&flags.url, env("TOK_SHARED_CACHE"), get("shared_cache")) {
            (Some(url), _, _) => (url.clone(), true),
            (None, Some(url), _) => (url, false),
            (None, None, Some(url)) => (url, false),
            (None, None, None) if required => {
                return Err(Error::usage("--shared-cache-required, but no shared cache is set")
                    .hint("set TOK_SHARED_CACHE or --shared-cache to a redis://, rediss:// or unix:// URL"));
            }
            (None, None, None) => return Ok(None),
        };
        let where_ = if from_argv { "--shared-cache" } else { "the shared cache URL" };
        let (target, url_password) =
            Target::parse(text.trim()).map_err(|e| Error::usage(format!("{where_}: {e}")))?;
        if from_argv && url_password.is_some() {
            return Err(Error::usage(
                "--shared-cache has a password in it, and every user of this machine can read argv",
            )
            .hint("give the URL without it and set TOK_SHARED_CACHE_PASSWORD"));
        }
        let max_mints_per_day = match get("max_mints_per_day") {
            None => None,
            Some(text) => Some(text.trim().parse::<u64>().map_err(|_| {
                Error::usage(format!(
                    "max_mints_per_day of '{}' must be a whole number ({})",
                    profile,
                    crate::naming::env_name(profile, "max_mints_per_day")
                ))
            })?),
        };
        Ok(Some(Config { target, url_password, required, max_mints_per_day }))
    }

    pub fn describe(&self) -> String {
        self.target.describe()
    }
}

/// How long a lock is held before the fleet takes it over: `--timeout`.
fn lease(timeout: Duration) -> Duration {
    timeout.max(Duration::from_millis(300))
}

/// How often a waiter looks at the entry again.
const POLL: Duration = Duration::from_millis(50);
/// The longest a shared entry is kept: a refresh token that claims more is kept 30 days.
const MAX_KEEP: i64 = 30 * 24 * 3600;
/// The day counters outlive their day, so that `tok status` just after midnight still
/// finds yesterday's by name if it looks.
const COUNTER_KEEP: &[u8] = b"172800";

const CAS: &str = "local cur = redis.call('GET', KEYS[1]) \
    local v = 0 \
    if cur then v = tonumber(string.match(cur, '^v1%.(%d+)%.')) or -1 end \
    if v ~= tonumber(ARGV[1]) then return 0 end \
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) \
    return 1";
const RELEASE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/// The shared tier of one profile's store, for one command.
pub struct Fleet {
    profile: String,
    config: Config,
    password: Option<Secret>,
    ca: Option<Vec<u8>>,
    seal: seal::Seal,
    timeout: Duration,
    deadline: Instant,
    conn: RefCell<Option<Conn>>,
    /// A fault was met: the rest of the command does without the cache.
    broken: Cell<bool>,
    /// The version of the entry last read (0: none; -1: one that is not Redis-tok's).
    version: Cell<i64>,
    unreadable_told: Cell<bool>,
}

/// What waiting for the fleet's lock ended with.
pub enum Locked<'f> {
    /// Another machine refreshed meanwhile.
    Found(TokenRecord),
    Held(Lease<'f>),
    /// The cache failed (warned): go on with the local lock alone.
    Off,
}

impl Fleet {
    /// `secrets`: the profile's secret values (field, value) to seal with; `None` when it
    /// has none at hand, and then the cache is not used (said with -v, or exit 6 when
    /// required). `password`: the cache's, from the store, when the environment has none.
    pub fn new(
        profile: &str,
        config: Config,
        binding: &str,
        secrets: &[(&str, Secret)],
        stored_password: impl FnOnce() -> Option<Secret>,
        http: &crate::http::Http,
    ) -> Result<Fleet> {
        let password = env("TOK_SHARED_CACHE_PASSWORD")
            .map(Secret::new)
            .or_else(|| config.url_password.clone())
            .or_else(stored_password);
        let ca = match env("TOK_SHARED_CACHE_CA") {
            None => None,
            Some(path) => Some(std::fs::read(&path).map_err(|e| {
                Error::usage(format!(
                    "TOK_SHARED_CACHE_CA: cannot read {path}: {}",
                    crate::secret::outside(e)
                ))
            })?),
        };
        let plain: Vec<(&str, &str)> = secrets.iter().map(|(f, s)| (*f, s.expose())).collect();
        Ok(Fleet {
            profile: profile.to_string(),
            seal: seal::Seal::new(binding, &plain),
            config,
            password,
            ca,
            timeout: http.timeout(),
            deadline: http.deadline(),
            conn: RefCell::new(None),
            broken: Cell::new(false),
            version: Cell::new(0),
            unreadable_told: Cell::new(false),
        })
    }

    /// Runs `op` on the connection (opened on first use). A fault is warned about once
    /// and turns the cache off for the command (`Ok(None)`), or is exit 6 when required.
    fn with<T>(&self, what: &str, op: impl FnOnce(&mut Conn) -> Result<T, ConnError>) -> Result<Option<T>> {
        if self.broken.get() {
            return Ok(None);
        }
        let mut slot = self.conn.borrow_mut();
        let result = match &mut *slot {
            Some(conn) => op(conn),
            None => Conn::open(
                &self.config.target,
                self.password.as_ref(),
                self.ca.as_deref(),
                self.deadline,
                self.timeout,
            )
            .and_then(|mut conn| {
                let r = op(&mut conn);
                *slot = Some(conn);
                r
            }),
        };
        match result {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                *slot = None;
                self.broken.set(true);
                let message = format!("the shared cache {} failed while {what}: {e}", self.config.describe());
                if self.config.required {
                    return Err(Error::store(message).hint(
                        "the cache is required (--shared-cache-required): fix it, or drop the requirement to fall back",
                    ));
                }
                term::warn(&format!("{message}; going on without it"));
                Ok(None)
            }
        }
    }

    fn eval(conn: &mut Conn, script: &str, keys: &[&str], args: &[&[u8]]) -> Result<Value, ConnError> {
        let count = keys.len().to_string();
        let mut all: Vec<&[u8]> = vec![b"EVAL", script.as_bytes(), count.as_bytes()];
        all.extend(keys.iter().map(|k| k.as_bytes()));
        all.extend_from_slice(args);
        conn.call(&all)
    }

    /// The fleet's token, if it has one this credential sealed. A value that is not is
    /// counted (`tok status` shows it) and left to be replaced.
    pub fn token(&self) -> Result<Option<TokenRecord>> {
        let key = self.seal.key("entry");
        let Some(value) = self.with("reading the token", |c| c.call(&[b"GET", key.as_bytes()]))? else {
            return Ok(None);
        };
        let record = match value {
            Value::Bulk(None) => {
                self.version.set(0);
                None
            }
            Value::Bulk(Some(bytes)) => match self.seal.open(&bytes) {
                Ok((version, plain)) => match serde_json::from_slice::<TokenRecord>(&plain) {
                    Ok(record) => {
                        self.version.set(version as i64);
                        Some(record.bounded())
                    }
                    Err(_) => self.unreadable(version as i64)?,
                },
                Err(version) => self.unreadable(version)?,
            },
            _ => {
                self.with("reading the token", |_| {
                    Err::<(), _>(ConnError::Fault(resp::Fault::Garbage("GET answered no string".into())))
                })?;
                None
            }
        };
        Ok(record)
    }

    fn unreadable(&self, version: i64) -> Result<Option<TokenRecord>> {
        self.version.set(version);
        // Read again under the lock, it is the same value: said and counted once.
        if self.unreadable_told.replace(true) {
            return Ok(None);
        }
        term::warn(&format!(
            "{}: the shared cache holds a value this profile's credential did not seal; ignoring it (it will be replaced)",
            self.profile
        ));
        let key = self.seal.key("unreadable");
        self.with("counting an unreadable value", |c| {
            c.call(&[b"INCR", key.as_bytes()])?;
            c.call(&[b"EXPIRE", key.as_bytes(), b"2592000"])
        })?;
        Ok(None)
    }

    /// Takes the fleet's lock, or finds the token another machine got while waiting
    /// (`usable` judges it), until the command's deadline.
    pub fn lock(&self, usable: &dyn Fn(&TokenRecord) -> bool) -> Result<Locked<'_>> {
        let key = self.seal.key("lock");
        let owner = format!("{} {} {}", hostname(), std::process::id(), random_hex());
        let lease_ms = lease(self.timeout).as_millis().to_string();
        let started = Instant::now();
        let mut said = false;
        loop {
            let Some(taken) = self.with("taking the lock", |c| {
                c.call(&[b"SET", key.as_bytes(), owner.as_bytes(), b"NX", b"PX", lease_ms.as_bytes()])
            })?
            else {
                return Ok(Locked::Off);
            };
            if matches!(taken, Value::Simple(_)) {
                verbose!("{}: holding the fleet's lock", self.profile);
                return Ok(Locked::Held(Lease::start(self, key, owner)));
            }
            if let Some(record) = self.token()?.filter(|r| usable(r)) {
                verbose!("{}: another machine refreshed the token meanwhile", self.profile);
                return Ok(Locked::Found(record));
            }
            if self.broken.get() {
                return Ok(Locked::Off);
            }
            if !said {
                verbose!("{}: waiting for another machine refreshing the token", self.profile);
                said = true;
            }
            if Instant::now() + POLL >= self.deadline {
                return Err(Error::network(format!(
                    "another machine is refreshing {} and has not finished; gave up waiting after {}",
                    self.profile,
                    crate::duration::show(started.elapsed())
                ))
                .hint("try again; `tok status` shows the lock's holder"));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Before a token request: refuses past `max_mints_per_day` when required (warns
    /// otherwise), and marks the refresh token of the version read as being redeemed.
    /// Returns false when that refresh token may already have been redeemed by a holder
    /// whose lease ran out: the caller must not send it again.
    pub fn before_mint(&self, redeeming: bool) -> Result<bool> {
        if let Some(max) = self.config.max_mints_per_day {
            let key = self.seal.key(&format!("mints:{}", utc_day()));
            let count = match self.with("reading the mint counter", |c| c.call(&[b"GET", key.as_bytes()]))? {
                Some(Value::Bulk(Some(b))) => {
                    std::str::from_utf8(&b).ok().and_then(|t| t.parse().ok()).unwrap_or(0)
                }
                _ => 0u64,
            };
            if count >= max {
                let message = format!(
                    "{}: the fleet has minted {count} tokens today (UTC), max_mints_per_day is {max}",
                    self.profile
                );
                if self.config.required {
                    return Err(
                        Error::store(message).hint("wait for tomorrow (UTC), or raise max_mints_per_day")
                    );
                }
                term::warn(&format!("{message}; minting anyway"));
            }
        }
        let version = self.version.get();
        if !redeeming || version <= 0 {
            return Ok(true);
        }
        let mark = self.seal.key("redeeming");
        let Some(seen) = self.with("reading the redeeming mark", |c| c.call(&[b"GET", mark.as_bytes()]))?
        else {
            return Ok(true);
        };
        if matches!(&seen, Value::Bulk(Some(v)) if v == version.to_string().as_bytes()) {
            verbose!(
                "{}: a tok whose lease ran out was redeeming this refresh token; it is not sent again",
                self.profile
            );
            return Ok(false);
        }
        let ttl = (MAX_KEEP * 1000).to_string();
        self.with("marking the refresh token", |c| {
            c.call(&[b"SET", mark.as_bytes(), version.to_string().as_bytes(), b"PX", ttl.as_bytes()])
        })?;
        Ok(true)
    }

    /// Writes the new token for the fleet, if nobody wrote since it was read, and counts
    /// the mint.
    pub fn put_token(&self, record: &TokenRecord) -> Result<()> {
        let plain = serde_json::to_vec(record).map_err(|e| Error::other(e.to_string()))?;
        let read = self.version.get();
        let sealed = self.seal.seal(read.max(0) as u64 + 1, &plain);
        let now = crate::token::now();
        let until = match (record.refresh_token.is_some(), record.refresh_expires_at, record.expires_at) {
            (true, Some(at), _) => at.min(now + MAX_KEEP),
            (true, None, _) => now + MAX_KEEP,
            (false, _, Some(at)) => at.min(now + MAX_KEEP),
            (false, _, None) => now + MAX_KEEP,
        };
        let ttl = ((until - now).max(1) * 1000).to_string();
        let entry = self.seal.key("entry");
        let day = self.seal.key(&format!("mints:{}", utc_day()));
        let written = self.with("writing the token", |c| {
            let written =
                Self::eval(c, CAS, &[&entry], &[read.to_string().as_bytes(), &sealed, ttl.as_bytes()])?;
            c.call(&[b"INCR", day.as_bytes()])?;
            c.call(&[b"EXPIRE", day.as_bytes(), COUNTER_KEEP])?;
            Ok(written)
        })?;
        if let Some(Value::Int(0)) = written {
            term::warn(&format!(
                "{}: another machine wrote the fleet's token while this one refreshed (its lease ran out); keeping theirs",
                self.profile
            ));
        }
        Ok(())
    }

    /// Deletes the fleet's entry (`tok logout --shared`). True when there was one.
    pub fn forget(&self) -> Result<Option<bool>> {
        let keys = [self.seal.key("entry"), self.seal.key("redeeming"), self.seal.key("unreadable")];
        let deleted = self.with("deleting the entry", |c| {
            c.call(&[b"DEL", keys[0].as_bytes(), keys[1].as_bytes(), keys[2].as_bytes()])
        })?;
        Ok(deleted.map(|d| matches!(d, Value::Int(n) if n > 0)))
    }

    /// For `tok status`: mints today, the lock's holder ("host pid"), unreadable values.
    pub fn report(&self) -> Result<Option<Report>> {
        let day = self.seal.key(&format!("mints:{}", utc_day()));
        let lock = self.seal.key("lock");
        let bad = self.seal.key("unreadable");
        let Some(values) = self.with("reading the counters", |c| {
            Ok([
                c.call(&[b"GET", day.as_bytes()])?,
                c.call(&[b"GET", lock.as_bytes()])?,
                c.call(&[b"GET", bad.as_bytes()])?,
            ])
        })?
        else {
            return Ok(None);
        };
        let text = |v: &Value| match v {
            Value::Bulk(Some(b)) => String::from_utf8(b.clone()).ok(),
            _ => None,
        };
        let number = |v: &Value| text(v).and_then(|t| t.parse().ok()).unwrap_or(0);
        let holder = text(&values[1]).map(|owner| {
            let mut words = owner.split(' ');
            let host: String =
                words.next().unwrap_or("").chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
            let pid: String =
                words.next().unwrap_or("").chars().filter(char::is_ascii_digit).take(10).collect();
            format!("{host} pid {pid}")
        });
        let entry = self.token()?.map(|r| crate::flow::expiry_text(&r));
        Ok(Some(Report { mints_today: number(&values[0]), holder, unreadable: number(&values[2]), entry }))
    }
}

pub struct Report {
    pub mints_today: u64,
    pub holder: Option<String>,
    pub unreadable: u64,
    /// The fleet's token's state ("expires in 9m"), when it has one.
    pub entry: Option<String>,
}

/// The fleet's lock, renewed every third of its lease on a thread of its own (with its
/// own connection) while the exchange runs; released on drop, only if still owned.
pub struct Lease<'f> {
    fleet: &'f Fleet,
    key: String,
    owner: String,
    stop: Option<std::sync::mpsc::Sender<()>>,
}

impl<'f> Lease<'f> {
    fn start(fleet: &'f Fleet, key: String, owner: String) -> Lease<'f> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let lease = lease(fleet.timeout);
        let (target, password, ca) = (fleet.config.target.clone(), fleet.password.clone(), fleet.ca.clone());
        let (k, o, deadline) = (key.clone(), owner.clone(), fleet.deadline);
        std::thread::spawn(move || {
            let ms = lease.as_millis().to_string();
            let mut conn = None;
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(lease / 3) {
                if conn.is_none() {
                    conn = Conn::open(&target, password.as_ref(), ca.as_deref(), deadline, lease / 3).ok();
                }
                let Some(c) = conn.as_mut() else { continue };
                if Fleet::eval(c, RENEW, &[&k], &[o.as_bytes(), ms.as_bytes()]).is_err() {
                    conn = None;
                }
            }
        });
        Lease { fleet, key, owner, stop: Some(stop) }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        drop(self.stop.take());
        let _ = self
            .fleet
            .with("releasing the lock", |c| Fleet::eval(c, RELEASE, &[&self.key], &[self.owner.as_bytes()]));
    }
}

fn utc_day() -> String {
    crate::civil::utc_day(crate::token::now())
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it
        // or truncates, and we stop at the first NUL or the end.
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).replace(' ', "_");
        }
    }
    std::env::var("COMPUTERNAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "?".into())
        .replace(' ', "_")
}
