//! Getting a usable token: from the store when it is fresh enough, otherwise from the
//! provider, once, however many tok processes ask at the same moment.
//!
//! The cached path is one store read and no lock: writes replace whole records
//! atomically, so a lock-free read sees an old record or a new one. Only when a refresh
//! is due does tok take the profile's lock, read again (another process may have
//! refreshed meanwhile), and then, if still needed, talk to the provider.

use crate::config::Paths;
use crate::duration;
use crate::error::{Error, Kind, Result};
use crate::http::Http;
use crate::input::Secrets;
use crate::lock;
use crate::profile::Profile;
use crate::provider;
use crate::secret::Secret;
use crate::store::{Store, StoreKind, shared};
use crate::term::{self, verbose};
use crate::token::{self, TokenRecord};

/// The validated settings every command runs with.
pub struct App {
    pub paths: Paths,
    /// `--store` / `TOK_STORE` as given, checked only by commands that use a store (so a
    /// bad value cannot break `tok completions`).
    pub explicit_store: Option<String>,
    pub http: Http,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want<'a> {
    /// A token with more than `min_ttl` seconds (and 10 % of its life) left.
    Fresh { min_ttl: i64 },
    /// A new token, whatever the stored one's state.
    New,
    /// The API refused `rejected` before its expiry: a token other than that one (another
    /// tok may have replaced it already, under the same lock), fresh as `Fresh`.
    Replacing { rejected: &'a str, min_ttl: i64 },
}

impl App {
    /// The store given explicitly (`--store`, `TOK_STORE`), if any.
    pub fn explicit_store(&self) -> Result<Option<StoreKind>> {
        self.explicit_store
            .as_deref()
            .map(|text| {
                StoreKind::from_name(text).ok_or_else(|| {
                    crate::error::Error::usage(format!(
                        "unknown store (from --store or TOK_STORE): keyring or file{}",
                        crate::secret::near_miss(text, &["keyring", "file"])
                    ))
                })
            })
            .transpose()
    }

    /// Where this profile's secrets and tokens live: the store given explicitly, else the
    /// one it was logged in with, else the keyring.
    pub fn store_kind(&self, profile: &Profile) -> Result<StoreKind> {
        Ok(self.explicit_store()?.or(profile.store).unwrap_or(StoreKind::Keyring))
    }

    pub fn store_for(&self, profile: &Profile) -> Result<Store> {
        self.open(self.store_kind(profile)?)
    }

    pub fn open(&self, kind: StoreKind) -> Result<Store> {
        let keyring_timeout = match kind {
            StoreKind::Keyring => crate::store::KeyringStore::timeout_from_env()?,
            StoreKind::File => std::time::Duration::ZERO,
        };
        Ok(Store::open(kind, &self.paths, keyring_timeout))
    }

    pub fn lock(&self, profile: &str) -> Result<lock::Lock> {
        lock::acquire(&self.paths.lock_dir, profile, self.http.deadline())
    }
}

pub fn token(app: &App, profile: &Profile, want: Want<'_>, secret_stdin: bool) -> Result<TokenRecord> {
    let provider::Identity { binding, api_key, .. } = provider::identity(profile)?;
    let store = app.store_for(profile)?;
    if api_key {
        // The key is the token: read it where secrets are read, no lock, no network.
        let mut secrets = Secrets::new(&profile.name, Some(&store), secret_stdin);
        return provider::obtain(profile, &app.http, &mut secrets, None);
    }
    let usable = |r: &TokenRecord| {
        r.binding == binding
            && match want {
                Want::Fresh { min_ttl } => !r.needs_refresh(token::now(), min_ttl),
                Want::New => false,
                Want::Replacing { rejected, min_ttl } => {
                    r.token.expose() != rejected && !r.needs_refresh(token::now(), min_ttl)
                }
            }
    };
    let seen = match store.token(&profile.name) {
        Ok(Some(record)) if usable(&record) => {
            verbose!("{}: cached token, {}", profile.name, expiry_text(&record));
            return Ok(record);
        }
        Ok(record) => record,
        Err(e) if e.kind() == Kind::Store => {
            return uncached(app, profile, e, secret_stdin, &binding, &usable);
        }
        Err(e) => return Err(e),
    };
    // The local copy is due: the fleet's may not be (the shared tier, see store::shared).
    let fleet = fleet(app, profile, &binding, Some(&store), secret_stdin)?;
    let fleet_seen = fleet.as_ref().map(|f| f.token()).transpose()?.flatten();
    if let Some(record) = fleet_seen.as_ref().filter(|r| usable(r)) {
        verbose!("{}: the fleet's token, {}", profile.name, expiry_text(record));
        // Under the local lock: the file store's write is a read-modify-write.
        if let Ok(_lock) = app.lock(&profile.name) {
            keep_local(&store, profile, record);
        }
        return Ok(record.clone());
    }

    // Before this profile's lock: no lock is held while the subject's is waited for.
    let subject = subject_token(app, profile)?;
    // A lock directory that cannot be used (a read-only TOK_HOME) is a store that cannot
    // be used: with the credentials in the environment, a token can still be printed.
    let _lock = match app.lock(&profile.name) {
        Ok(lock) => lock,
        Err(e) if e.kind() == Kind::Other => {
            return uncached(app, profile, e, secret_stdin, &binding, &usable);
        }
        Err(e) => return Err(e),
    };
    let current = store.token(&profile.name)?;
    if let Some(record) = current.as_ref().filter(|r| usable(r)) {
        verbose!("{}: another tok refreshed the token meanwhile", profile.name);
        return Ok(record.clone());
    }
    let (_lease, current, seen) = match fleet.as_ref().map(|f| (f, f.lock(&usable))) {
        Some((_, Ok(shared::Locked::Found(record)))) => {
            keep_local(&store, profile, &record);
            return Ok(record);
        }
        Some((f, Ok(shared::Locked::Held(lease)))) => {
            // Read again under the lock: the entry seen while waiting may be old. In a
            // fleet the shared entry is the one whose refresh token is current; a local
            // copy of an older one may have been spent by another machine.
            match f.token()? {
                Some(record) if usable(&record) => {
                    keep_local(&store, profile, &record);
                    return Ok(record);
                }
                Some(shared) => (Some(lease), Some(shared), fleet_seen),
                None => (Some(lease), current, seen),
            }
        }
        Some((_, Err(e))) => return Err(e),
        Some((_, Ok(shared::Locked::Off))) | None => (None, current, seen),
    };
    if let Some(record) = current.as_ref().filter(|r| replaced_meanwhile(r, seen.as_ref(), &binding, want)) {
        verbose!("{}: another tok got a new token meanwhile; a newer one would be no fresher", profile.name);
        warn_if_short(record, want);
        return Ok(record.clone());
    }
    let current = current.filter(|r| r.binding == binding);
    match &current {
        Some(r) => verbose!("{}: refreshing; the stored token {}", profile.name, expiry_text(r)),
        None => verbose!("{}: no stored token for these settings; getting one", profile.name),
    }
    let mut current = current;
    if let Some(fleet) = &fleet {
        before_mint(fleet, profile, &mut current)?;
    }
    let mut secrets = Secrets::new(&profile.name, Some(&store), secret_stdin);
    secrets.set_subject(subject);
    let record = provider::obtain(profile, &app.http, &mut secrets, current.as_ref())?;
    if let Err(e) = store.put_token(&profile.name, &record) {
        term::warn(&format!("the new token was not saved: {e}"));
    }
    if let Some(fleet) = &fleet {
        fleet.put_token(&record)?;
    }
    warn_if_short(&record, want);
    Ok(record)
}

/// The profile's shared tier, when it has one and can use it. Reads no secret unless a
/// cache is set, and then none from a prompt or stdin: the entry is sealed with secrets
/// already at hand.
pub fn fleet(
    app: &App,
    profile: &Profile,
    binding: &str,
    store: Option<&Store>,
    secret_stdin: bool,
) -> Result<Option<shared::Fleet>> {
    let get = |field: &str| profile.get(field).map(str::to_string);
    let Some(config) = shared::Config::of(&profile.name, &get)? else { return Ok(None) };
    let provider::Identity { api_key, .. } = provider::identity(profile)?;
    if let Some(why) = shared::unsuitable(profile.provider.name(), api_key) {
        verbose!("{}: not using the shared cache: {why}", profile.name);
        return Ok(None);
    }
    let mut secrets = Vec::new();
    for field in profile.provider.secrets() {
        let value = std::env::var(crate::naming::env_name(&profile.name, field))
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret::new)
            .or_else(|| store.and_then(|s| s.secret(&profile.name, field).ok().flatten()));
        if let Some(value) = value {
            secrets.push((field, value));
        }
    }
    if secrets.is_empty() {
        let why = if secret_stdin {
            "its secret comes on stdin, read only when a request needs it"
        } else {
            "it has no secret at hand to seal the entry with"
        };
        if config.required {
            return Err(Error::store(format!("{}: cannot use the shared cache: {why}", profile.name))
                .hint("keep the secret in the store or its TOK_<PROFILE>_<FIELD> variable"));
        }
        verbose!("{}: not using the shared cache: {why}", profile.name);
        return Ok(None);
    }
    let stored_password =
        || store.and_then(|s| s.secret(&profile.name, shared::PASSWORD_FIELD).ok().flatten());
    shared::Fleet::new(&profile.name, config, binding, &secrets, stored_password, &app.http).map(Some)
}

/// A token from the fleet, copied to this machine's store.
fn keep_local(store: &Store, profile: &Profile, record: &TokenRecord) {
    if let Err(e) = store.put_token(&profile.name, record) {
        term::warn(&format!("the fleet's token was not saved here: {e}"));
    }
}

/// The fleet's checks before a token request (see `shared::Fleet::before_mint`): a
/// refresh token that a holder whose lease ran out may have spent is not sent again.
fn before_mint(fleet: &shared::Fleet, profile: &Profile, current: &mut Option<TokenRecord>) -> Result<()> {
    let redeeming = current.as_ref().is_some_and(|r| r.refresh_token.is_some());
    if fleet.before_mint(redeeming)? {
        return Ok(());
    }
    if profile.get("grant") == Some("refresh_token") {
        return Err(Error::not_logged_in(format!(
            "profile '{}' needs a new login: a tok whose lease ran out may have spent its refresh token",
            profile.name
        ))
        .hint(format!("run `tok login {}` again", profile.name)));
    }
    // The provider's own login (a password, the client's credentials), or exit 3 where
    // it has none.
    if let Some(r) = current.as_mut() {
        r.refresh_token = None;
    }
    Ok(())
}

/// A token that another tok got while this one waited for the lock (it replaced the one
/// seen before), still short of `--min-ttl`: `--min-ttl` asks more than a token lives, and
/// a new request would bring one no fresher. So twenty concurrent prints with `--min-ttl
/// 100d` make one request, not twenty.
fn replaced_meanwhile(r: &TokenRecord, seen: Option<&TokenRecord>, binding: &str, want: Want) -> bool {
    let rejected = match want {
        Want::New => return false,
        Want::Fresh { .. } => None,
        Want::Replacing { rejected, .. } => Some(rejected),
    };
    r.binding == binding
        && seen.is_none_or(|s| s.token.expose() != r.token.expose())
        && rejected.is_none_or(|t| t != r.token.expose())
        && !r.needs_refresh(token::now(), 0)
}

/// One line when the token handed out has less life left than `--min-ttl` asks.
fn warn_if_short(record: &TokenRecord, want: Want) {
    let (Want::Fresh { min_ttl } | Want::Replacing { min_ttl, .. }) = want else { return };
    if !record.needs_refresh(token::now(), min_ttl) {
        return;
    }
    match record.lifetime() {
        Some(life) if life <= min_ttl => term::warn(&format!(
            "--min-ttl {} exceeds the token's whole lifetime ({}): no token can satisfy it; this one {}",
            duration::human(min_ttl),
            duration::human(life),
            expiry_text(record)
        )),
        _ => term::warn(&format!(
            "the new token {}, within --min-ttl or 10 % of its life",
            expiry_text(record)
        )),
    }
}

/// The store cannot be used. With every credential in the environment (the CI case) a
/// token can still be fetched and printed; it just cannot be kept.
/// The fleet's cache still serves where this machine's store does not (a CI runner
/// without a keyring): its token, its lock, and the new token written back to it.
fn uncached(
    app: &App,
    profile: &Profile,
    store_error: crate::error::Error,
    secret_stdin: bool,
    binding: &str,
    usable: &dyn Fn(&TokenRecord) -> bool,
) -> Result<TokenRecord> {
    verbose!("{}: the store is unusable ({store_error}); trying the environment", profile.name);
    // Before the fleet's lock, as before the local one.
    let subject = subject_token(app, profile)?;
    let fleet = fleet(app, profile, binding, None, secret_stdin)?;
    let mut current = None;
    let mut _lease = None;
    if let Some(f) = &fleet {
        if let Some(record) = f.token()?.filter(|r| usable(r)) {
            verbose!("{}: the fleet's token, {}", profile.name, expiry_text(&record));
            return Ok(record);
        }
        match f.lock(usable)? {
            shared::Locked::Found(record) => return Ok(record),
            shared::Locked::Held(lease) => {
                current = f.token()?;
                if let Some(record) = current.take_if(|r| usable(r)) {
                    return Ok(record);
                }
                _lease = Some(lease);
            }
            shared::Locked::Off => {}
        }
        before_mint(f, profile, &mut current)?;
    }
    let mut secrets = Secrets::new(&profile.name, None, secret_stdin);
    secrets.set_subject(subject);
    match provider::obtain(profile, &app.http, &mut secrets, current.as_ref()) {
        Ok(record) => {
            if let Some(f) = &fleet {
                f.put_token(&record)?;
            }
            let hint = store_error.hint_text().map(|h| format!("; {h}")).unwrap_or_default();
            term::warn(&format!("nothing was cached: {store_error}{hint}"));
            Ok(record)
        }
        Err(e) if e.kind() == Kind::NotLoggedIn => Err(store_error),
        Err(e) => Err(e),
    }
}

/// How much life the subject token of a token exchange keeps: `tok print`'s default.
const SUBJECT_MIN_TTL: i64 = 30;

/// The subject token a token-exchange profile sends (`None` for every other profile),
/// fresh by the usual policy. Callers get it before they take the profile's own lock, so
/// no tok waits for one lock while holding another. A chain of subject profiles that
/// comes back to one already in it is refused: it could never end.
pub fn subject_token(app: &App, profile: &Profile) -> Result<Option<Secret>> {
    let Some(first) = provider::subject_profile(profile) else { return Ok(None) };
    let mut chain = vec![profile.name.clone()];
    let mut subject = None;
    let mut next = Some(first.to_string());
    while let Some(name) = next {
        if name == profile.name && chain.len() == 1 {
            return Err(Error::usage(format!("profile '{name}' cannot be its own --subject-profile"))
                .hint("name the profile whose token it exchanges"));
        }
        if chain.contains(&name) {
            chain.push(name);
            return Err(Error::usage(format!(
                "the subject profiles loop, so no token could ever be got: {}",
                chain.join(" -> ")
            ))
            .hint("give one of them a --subject-profile outside the loop"));
        }
        let found =
            crate::cmd::existing_profile(app, &name).map_err(|e| about_subject(e, &name, &profile.name))?;
        next = provider::subject_profile(&found).map(str::to_string);
        chain.push(name);
        subject.get_or_insert(found);
    }
    let subject = subject.expect("the loop ran once: `first` is some");
    let record = token(app, &subject, Want::Fresh { min_ttl: SUBJECT_MIN_TTL }, false)
        .map_err(|e| about_subject(e, &subject.name, &profile.name))?;
    Ok(Some(record.token))
}

/// The subject's error, naming it: exit 3 when it is not logged in.
fn about_subject(e: Error, subject: &str, profile: &str) -> Error {
    match e.kind() {
        Kind::NotLoggedIn => Error::not_logged_in(format!(
            "the subject profile '{subject}' of '{profile}' is not logged in: {e}"
        ))
        .hint(format!("run `tok login {subject}` first")),
        kind => {
            let named = Error::new(kind, format!("the subject profile '{subject}' of '{profile}': {e}"));
            match e.hint_text() {
                Some(hint) => named.hint(hint.to_string()),
                None => named,
            }
        }
    }
}

/// A token an API handed out in a response header (NetDirector V1), stored when it is
/// newer than the stored one and plausible. Returns it when kept.
pub fn adopt(app: &App, profile: &Profile, value: &str) -> Result<Option<TokenRecord>> {
    let store = app.store_for(profile)?;
    let _lock = app.lock(&profile.name)?;
    let current = store.token(&profile.name)?;
    match provider::adopt(profile, value, current.as_ref())? {
        Some(record) => {
            verbose!("{}: keeping the newer token from the response", profile.name);
            if let Err(e) = store.put_token(&profile.name, &record) {
                term::warn(&format!("the newer token was not saved: {e}"));
            }
            Ok(Some(record))
        }
        None => {
            verbose!("{}: the response's token is not newer; keeping the stored one", profile.name);
            Ok(None)
        }
    }
}

pub fn expiry_text(record: &TokenRecord) -> String {
    match record.expires_in(token::now()) {
        Some(left) if left > 0 => format!("expires in {}", duration::human(left)),
        Some(left) => format!("expired {} ago", duration::human(left)),
        None => "does not expire".into(),
    }
}
