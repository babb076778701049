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
//!
//! A 401 is judged by the token it refused, never by the clock. A token that worked (got
//! any answer but 401) and is then refused was revoked: it is replaced, however often that
//! happens. A token obtained to replace a refused one and refused before it ever worked
//! tells that the request, not the token, is the problem (the account lacks a permission):
//! the 401 passes through and nothing is fetched. Such a request (method and path) is
//! remembered, and its later 401s pass through too, even once the token has worked
//! elsewhere: a client alternating it with requests that work costs no token request each.
//! Every refused token is remembered by a fingerprint (a SHA-256 prefix, not the token),
//! and a token so remembered is never taken from the store again: another tok, or an old
//! copy, may have left it there.

use crate::config::Paths;
use crate::flow::{self, App, Want};
use crate::http::Http;
use crate::profile::Profile;
use crate::term::{self, verbose};
use crate::token::{self, TokenRecord};
use hyper::header::{HeaderName, HeaderValue};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// After a failed refresh, the next attempt waits this long (while the token works).
const RETRY_PAUSE: Duration = Duration::from_secs(5);
/// Refused tokens (and forbidden requests) remembered; the oldest goes first (a token
/// has long expired by then, as a rule).
const REFUSED_KEPT: usize = 64;

type Fingerprint = [u8; 16];

fn fingerprint(token: &str) -> Fingerprint {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest.as_ref()[..16]);
    out
}

pub struct Credential {
    pub name: HeaderName,
    pub value: HeaderValue,
    record: TokenRecord,
    /// The API answered a request made with it with something other than 401.
    worked: AtomicBool,
    /// Obtained because the token before it was refused.
    replacement: bool,
}

impl Credential {
    fn new(record: TokenRecord, replacement: bool) -> Result<Credential, String> {
        let name = HeaderName::from_bytes(record.header.to_ascii_lowercase().as_bytes())
            .map_err(|_| format!("the header name '{}' is not valid HTTP", record.header))?;
        let mut value = HeaderValue::from_str(&record.header_value())
            .map_err(|_| "the token holds characters HTTP headers do not allow".to_string())?;
        value.set_sensitive(true);
        Ok(Credential { name, value, record, worked: AtomicBool::new(false), replacement })
    }

    /// Obtained for a refused token and not yet accepted by the API.
    pub fn untried_replacement(&self) -> bool {
        self.replacement && !self.worked.load(Ordering::Relaxed)
    }

    /// The API accepted it (answered other than 401).
    pub fn worked(&self) {
        self.worked.store(true, Ordering::Relaxed);
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
}

fn locked(prints: &std::sync::Mutex<Prints>) -> std::sync::MutexGuard<'_, Prints> {
    match prints.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// What is known when the API refuses a token.
struct Refusal {
    /// No other request replaced it meanwhile.
    still_current: bool,
    /// It was obtained to replace a refused token.
    replacement: bool,
    /// It got an answer other than 401 before.
    worked: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Another request replaced it: send again with that one (once, as always).
    UseCurrent,
    /// Revoked (it worked), or never tried after a refusal: get another.
    Replace,
    /// A replacement refused before it ever worked: the request is the problem.
    PassThrough,
}

fn judge(seen: &Refusal) -> Verdict {
    match seen {
        Refusal { still_current: false, .. } => Verdict::UseCurrent,
        Refusal { replacement: true, worked: false, .. } => Verdict::PassThrough,
        _ => Verdict::Replace,
    }
}

/// Fingerprints of what the API refused, newest last.
#[derive(Default, Clone)]
struct Prints(VecDeque<Fingerprint>);

impl Prints {
    fn add(&mut self, token: &str) {
        let print = fingerprint(token);
        if self.0.contains(&print) {
            return;
        }
        if self.0.len() == REFUSED_KEPT {
            self.0.pop_front();
        }
        self.0.push_back(print);
    }

    fn has(&self, token: &str) -> bool {
        self.0.contains(&fingerprint(token))
    }
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
    /// Apart from `refresh`: a 401 is noted without waiting for a refresh under way.
    refused: std::sync::Mutex<Prints>,
    /// Requests (method and path) refused with a token just obtained for them.
    forbidden: std::sync::Mutex<Prints>,
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
        let credential = Credential::new(first, false).map_err(crate::error::Error::other)?;
        Ok(Keeper {
            profile: setup.profile,
            paths: setup.paths,
            explicit_store: setup.explicit_store,
            timeout: setup.timeout,
            min_ttl: setup.min_ttl,
            api_key: setup.api_key,
            unverified: AtomicBool::new(setup.unverified),
            current: RwLock::new(Arc::new(credential)),
            refresh: tokio::sync::Mutex::new(Refresh { failed: None }),
            refused: std::sync::Mutex::new(Prints::default()),
            forbidden: std::sync::Mutex::new(Prints::default()),
        })
    }

    fn current(&self) -> Arc<Credential> {
        match self.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn install(&self, record: TokenRecord, replacement: bool) -> Result<Arc<Credential>, String> {
        let credential = Arc::new(Credential::new(record, replacement)?);
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

    /// The API refused `rejected` before its expiry: the credential to send the request
    /// with again, or `None` to pass the 401 through (see the module's note).
    pub async fn replace(self: &Arc<Self>, rejected: &Credential) -> Result<Option<Arc<Credential>>, String> {
        if self.api_key {
            return Ok(None);
        }
        self.refused(rejected);
        let _refresh = self.refresh.lock().await;
        let current = self.current();
        let seen = Refusal {
            still_current: current.token() == rejected.token(),
            replacement: rejected.replacement,
            worked: rejected.worked.load(Ordering::Relaxed),
        };
        match judge(&seen) {
            Verdict::UseCurrent => Ok(Some(current)),
            Verdict::PassThrough => Ok(None),
            Verdict::Replace => self.fetch(Some(rejected.token().to_string())).await.map(Some),
        }
    }

    /// The API refused `credential` (it may stay in use: the 401 passed through).
    pub fn refused(&self, credential: &Credential) {
        locked(&self.refused).add(credential.token());
    }

    fn refused_list(&self) -> Prints {
        locked(&self.refused).clone()
    }

    /// The API refused this request with a token just obtained for it: its 401s are the
    /// request's, not the token's.
    pub fn forbid(&self, method: &str, path: &str) {
        locked(&self.forbidden).add(&format!("{method} {path}"));
    }

    pub fn is_forbidden(&self, method: &str, path: &str) -> bool {
        locked(&self.forbidden).has(&format!("{method} {path}"))
    }

    /// A new token from `flow::token` (store, lock, provider), off the async threads: it
    /// blocks on files and on the provider. One the API refused before is not taken from
    /// the store: a new one is fetched instead.
    async fn fetch(self: &Arc<Self>, rejected: Option<String>) -> Result<Arc<Credential>, String> {
        let keeper = Arc::clone(self);
        let refused = self.refused_list();
        let replacement = rejected.is_some();
        let record = tokio::task::spawn_blocking(move || {
            let app = keeper.app();
            let want = match &rejected {
                Some(rejected) => Want::Replacing { rejected, min_ttl: keeper.min_ttl },
                None => Want::Fresh { min_ttl: keeper.min_ttl },
            };
            let record = flow::token(&app, &keeper.profile, want, false)?;
            if refused.has(record.token.expose()) {
                verbose!("{}: the stored token was refused before; getting a new one", keeper.profile.name);
                return flow::token(&app, &keeper.profile, Want::New, false);
            }
            Ok(record)
        })
        .await
        .map_err(|_| "the token refresh stopped unexpectedly".to_string())?
        .map_err(|e| e.to_string())?;
        term::note(&format!("proxy: {}: new token, {}", self.profile.name, flow::expiry_text(&record)));
        self.install(record, replacement)
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

    /// NetDirector V1 hands out a newer token in a response header: kept when it is newer
    /// and plausible (`flow::adopt`). Awaited before the answer goes on, so that the
    /// client's next request already has it.
    pub async fn adopt(self: &Arc<Self>, value: &HeaderValue) {
        let Ok(text) = value.to_str() else { return };
        if text == self.current().token() {
            return;
        }
        let _refresh = self.refresh.lock().await;
        if text == self.current().token() {
            return;
        }
        let adopter = Arc::clone(self);
        let text = text.to_string();
        let adopted =
            tokio::task::spawn_blocking(move || flow::adopt(&adopter.app(), &adopter.profile, &text)).await;
        match adopted {
            Ok(Ok(Some(record))) => {
                if let Err(why) = self.install(record, false) {
                    term::warn(&format!("proxy: not using the token from the response: {why}"));
                }
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => term::warn(&format!("proxy: the token from the response was not kept: {e}")),
            Err(_) => {}
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_table() {
        let r = |still_current, replacement, worked| Refusal { still_current, replacement, worked };
        let table = [
            // A token that worked and is refused: revoked, however recent its predecessor.
            (r(true, false, true), Verdict::Replace),
            (r(true, true, true), Verdict::Replace),
            // The first token, never tried before (it may have been revoked while tok slept).
            (r(true, false, false), Verdict::Replace),
            // A replacement refused at once: a permission, not the token.
            (r(true, true, false), Verdict::PassThrough),
            // Replaced meanwhile by another request.
            (r(false, false, true), Verdict::UseCurrent),
            (r(false, true, false), Verdict::UseCurrent),
        ];
        for (seen, want) in table {
            let shown = (seen.still_current, seen.replacement, seen.worked);
            assert_eq!(judge(&seen), want, "{shown:?}");
        }
    }

    #[test]
    fn refused_tokens_are_remembered_by_fingerprint_and_bounded() {
        let mut refused = Prints::default();
        for n in 0..REFUSED_KEPT + 1 {
            refused.add(&format!("token-{n}"));
        }
        refused.add("token-64");
        assert_eq!(refused.0.len(), REFUSED_KEPT);
        assert!(!refused.has("token-0"), "the oldest went first");
        assert!(refused.has("token-1") && refused.has(&format!("token-{REFUSED_KEPT}")));
        assert!(!refused.has("token-x"));
    }
}
