//! The credential a running gateway adds, kept in memory between requests.
//!
//! While the token is fresh, a request costs a read lock and a clock read: no store
//! read, no file lock. When it is due (the usual policy: `--min-ttl` or 10 % of its life),
//! the first request to notice takes the refresh mutex and gets a new one through
//! `flow::token`, which shares the store and the profile's lock with every other tok
//! process; the requests behind it wait on the mutex and then find the new token. So
//! fifty requests arriving with an expiring token make one token request.
//!
//! A refresh that fails while the token still works is not fatal: the old token is used
//! until it expires, and a new attempt waits `RETRY_PAUSE`, so an outage at the provider
//! does not put every request behind a timeout.

use crate::config::Paths;
use crate::flow::{self, App, Want};
use crate::http::Http;
use crate::profile::Profile;
use crate::term;
use crate::token::{self, TokenRecord};
use hyper::header::{HeaderName, HeaderValue};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// After a failed refresh, the next attempt waits this long (while the token works).
const RETRY_PAUSE: Duration = Duration::from_secs(5);
/// A token replaced after a 401 that is refused again this soon is not the problem (the
/// account may lack a permission): it is not replaced again, and the 401 passes through.
const REPLACE_PAUSE: Duration = Duration::from_secs(10);

pub struct Credential {
    pub name: HeaderName,
    pub value: HeaderValue,
    record: TokenRecord,
}

impl Credential {
    fn new(record: TokenRecord) -> Result<Credential, String> {
        let name = HeaderName::from_bytes(record.header.to_ascii_lowercase().as_bytes())
            .map_err(|_| format!("the header name '{}' is not valid HTTP", record.header))?;
        let mut value = HeaderValue::from_str(&record.header_value())
            .map_err(|_| "the token holds characters HTTP headers do not allow".to_string())?;
        value.set_sensitive(true);
        Ok(Credential { name, value, record })
    }

    pub fn token(&self) -> &str {
        self.record.token.expose()
    }

    /// Whether it still works at all (it may be within `--min-ttl`).
    fn alive(&self) -> bool {
        self.record.expires_in(token::now()).is_none_or(|left| left > 0)
    }
}

struct Refresh {
    failed: Option<(Instant, String)>,
    /// When a 401 last made tok replace the token, and the token it got.
    replaced: Option<(Instant, String)>,
}

pub struct Keeper {
    profile: Profile,
    paths: Paths,
    explicit_store: Option<String>,
    timeout: Duration,
    min_ttl: i64,
    /// The "token" is an API key: nothing to refresh or replace.
    pub api_key: bool,
    /// The credential is not yet proven by a successful request (see `proven`).
    unverified: AtomicBool,
    current: RwLock<Arc<Credential>>,
    refresh: tokio::sync::Mutex<Refresh>,
}

pub struct Setup {
    pub profile: Profile,
    pub paths: Paths,
    pub explicit_store: Option<String>,
    pub timeout: Duration,
    pub min_ttl: i64,
    pub api_key: bool,
    pub unverified: bool,
}

/// A gateway runs for days and sees a new token every few minutes: the ones it replaced
/// may be forgotten by the scrubber, oldest first (`secret::retire`), so memory stays
/// bounded. A value the new record still holds (an unchanged refresh token) is kept.
fn retire_replaced(old: &TokenRecord, new: &TokenRecord) {
    let kept = [Some(&new.token), new.refresh_token.as_ref()];
    for value in [Some(&old.token), old.refresh_token.as_ref()].into_iter().flatten() {
        if !kept.contains(&Some(value)) {
            crate::secret::retire(value.expose());
        }
    }
}

impl Keeper {
    pub fn new(setup: Setup, first: TokenRecord) -> crate::error::Result<Keeper> {
        let credential = Credential::new(first).map_err(crate::error::Error::other)?;
        Ok(Keeper {
            profile: setup.profile,
            paths: setup.paths,
            explicit_store: setup.explicit_store,
            timeout: setup.timeout,
            min_ttl: setup.min_ttl,
            api_key: setup.api_key,
            unverified: AtomicBool::new(setup.unverified),
            current: RwLock::new(Arc::new(credential)),
            refresh: tokio::sync::Mutex::new(Refresh { failed: None, replaced: None }),
        })
    }

    fn current(&self) -> Arc<Credential> {
        match self.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn install(&self, record: TokenRecord) -> Result<Arc<Credential>, String> {
        let credential = Arc::new(Credential::new(record)?);
        let old = match self.current.write() {
            Ok(mut current) => std::mem::replace(&mut *current, Arc::clone(&credential)),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), Arc::clone(&credential)),
        };
        retire_replaced(&old.record, &credential.record);
        Ok(credential)
    }

    fn due(&self, credential: &Credential) -> bool {
        credential.record.needs_refresh(token::now(), self.min_ttl)
    }

    /// The credential for the next request: the one in memory while fresh.
    pub async fn credential(self: &Arc<Self>) -> Result<Arc<Credential>, String> {
        let current = self.current();
        if !self.due(&current) {
            return Ok(current);
        }
        let mut refresh = self.refresh.lock().await;
        let current = self.current();
        if !self.due(&current) {
            return Ok(current);
        }
        if let Some((at, why)) = &refresh.failed
            && at.elapsed() < RETRY_PAUSE
        {
            return if current.alive() { Ok(current) } else { Err(why.clone()) };
        }
        match self.fetch(None).await {
            Ok(credential) => {
                refresh.failed = None;
                Ok(credential)
            }
            Err(why) => {
                refresh.failed = Some((Instant::now(), why.clone()));
                if current.alive() {
                    term::warn(&format!(
                        "proxy: {}: the token could not be refreshed ({why}); using it until it expires ({})",
                        self.profile.name,
                        flow::expiry_text(&current.record)
                    ));
                    Ok(current)
                } else {
                    Err(why)
                }
            }
        }
    }

    /// The API refused `rejected` before its expiry: a new credential, unless another
    /// request replaced it already, or it was itself just replaced after a 401 (`None`:
    /// pass the 401 through).
    pub async fn replace(self: &Arc<Self>, rejected: &Credential) -> Result<Option<Arc<Credential>>, String> {
        if self.api_key {
            return Ok(None);
        }
        let mut refresh = self.refresh.lock().await;
        let current = self.current();
        if current.token() != rejected.token() {
            return Ok(Some(current));
        }
        if let Some((at, token)) = &refresh.replaced
            && at.elapsed() < REPLACE_PAUSE
            && token == rejected.token()
        {
            return Ok(None);
        }
        let credential = self.fetch(Some(rejected.token().to_string())).await?;
        refresh.replaced = Some((Instant::now(), credential.token().to_string()));
        Ok(Some(credential))
    }

    /// A new token from `flow::token` (store, lock, provider), off the async threads: it
    /// blocks on files and on the provider.
    async fn fetch(self: &Arc<Self>, rejected: Option<String>) -> Result<Arc<Credential>, String> {
        let keeper = Arc::clone(self);
        let record = tokio::task::spawn_blocking(move || {
            let app = keeper.app();
            let want = match &rejected {
                Some(rejected) => Want::Replacing { rejected, min_ttl: keeper.min_ttl },
                None => Want::Fresh { min_ttl: keeper.min_ttl },
            };
            flow::token(&app, &keeper.profile, want, false)
        })
        .await
        .map_err(|_| "the token refresh stopped unexpectedly".to_string())?
        .map_err(|e| e.to_string())?;
        term::note(&format!("proxy: {}: new token, {}", self.profile.name, flow::expiry_text(&record)));
        self.install(record)
    }

    /// A fresh `App` per refresh: its network budget (3 × `--timeout`) is per command,
    /// and a gateway runs for days.
    fn app(&self) -> App {
        App {
            paths: self.paths.clone(),
            explicit_store: self.explicit_store.clone(),
            http: Http::new(self.timeout),
        }
    }

    /// NetDirector V1 hands out a newer token in a response header: keep it when it is
    /// newer and plausible (`flow::adopt`), in the background.
    pub fn offer(self: &Arc<Self>, value: &HeaderValue) {
        let Ok(text) = value.to_str() else { return };
        if text == self.current().token() {
            return;
        }
        let keeper = Arc::clone(self);
        let text = text.to_string();
        tokio::spawn(async move {
            let _refresh = keeper.refresh.lock().await;
            if text == keeper.current().token() {
                return;
            }
            let adopter = Arc::clone(&keeper);
            let adopted =
                tokio::task::spawn_blocking(move || flow::adopt(&adopter.app(), &adopter.profile, &text))
                    .await;
            match adopted {
                Ok(Ok(Some(record))) => {
                    if let Err(why) = keeper.install(record) {
                        term::warn(&format!("proxy: not using the token from the response: {why}"));
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => term::warn(&format!("proxy: the token from the response was not kept: {e}")),
                Err(_) => {}
            }
        });
    }

    /// A request made with the credential succeeded: a profile whose login could not
    /// check it is marked verified, once.
    pub fn proven(self: &Arc<Self>) {
        if !self.unverified.swap(false, Ordering::Relaxed) {
            return;
        }
        let keeper = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = crate::cmd::mark_verified(&keeper.app(), &keeper.profile) {
                term::warn(&format!("proxy: could not mark {} as verified: {e}", keeper.profile.name));
            }
        });
    }
}
