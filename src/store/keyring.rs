//! The OS keyring, through keyring-core and the platform's store crate: Keychain on
//! macOS, Credential Manager on Windows, Secret Service (pure-Rust zbus) elsewhere.
//!
//! Entries use the service `tok` and the user `<profile>:<item>`, where the item is
//! `token` (the token record as JSON) or a secret's field name (`password`, ...).
//! Secrets and tokens are separate entries so each stays under Windows' 2,560-byte limit.
//!
//! Every call runs on a helper thread and is given up after a deadline: a locked
//! collection can pop up an unlock prompt nobody sees, and a script must not hang on it.

use crate::duration;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::term::verbose;
use crate::token::TokenRecord;
use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

const SERVICE: &str = "tok";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Windows Credential Manager's limit on a credential blob.
const WINDOWS_MAX_ENTRY: usize = 2_560;

/// The outcome of connecting, kept for the process: the error as message and hint.
type Connected = Result<Arc<CredentialStore>, (String, Option<String>)>;

pub struct KeyringStore {
    store: OnceLock<Connected>,
    timeout: Duration,
    max_entry: Option<usize>,
}

impl KeyringStore {
    /// `TOK_KEYRING_TIMEOUT`, checked up front: a typo is a usage error, not a silent default.
    pub fn timeout_from_env() -> Result<Duration> {
        match std::env::var("TOK_KEYRING_TIMEOUT") {
            Err(_) => Ok(DEFAULT_TIMEOUT),
            Ok(text) if text.is_empty() => Ok(DEFAULT_TIMEOUT),
            Ok(text) => {
                duration::parse_timeout(&text).map_err(|e| Error::usage(format!("TOK_KEYRING_TIMEOUT: {e}")))
            }
        }
    }

    pub fn native(timeout: Duration) -> KeyringStore {
        KeyringStore {
            store: OnceLock::new(),
            timeout,
            max_entry: cfg!(windows).then_some(WINDOWS_MAX_ENTRY),
        }
    }

    /// A store over any keyring-core store, e.g. its mock store in unit tests.
    #[cfg(test)]
    pub fn with_store(store: Arc<CredentialStore>, max_entry: Option<usize>) -> KeyringStore {
        let cell = OnceLock::new();
        let _ = cell.set(Ok(store));
        KeyringStore { store: cell, timeout: DEFAULT_TIMEOUT, max_entry }
    }

    fn store(&self) -> Result<Arc<CredentialStore>> {
        let result = self.store.get_or_init(|| {
            let started = std::time::Instant::now();
            let result = bounded(self.timeout, "connecting to the keyring", native_store)
                .and_then(|r| r.map_err(connect_error));
            verbose!("keyring: connected in {} ms", started.elapsed().as_millis());
            result.map_err(|e| (e.to_string(), e.hint_text().map(str::to_string)))
        });
        match result {
            Ok(store) => Ok(store.clone()),
            Err((message, hint)) => {
                let err = Error::store(message.clone());
                Err(match hint {
                    Some(h) => err.hint(h.clone()),
                    None => err,
                })
            }
        }
    }

    fn with_entry<T: Send + 'static>(
        &self,
        profile: &str,
        item: &str,
        what: &str,
        op: impl FnOnce(Entry) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store()?;
        let user = format!("{profile}:{item}");
        bounded(self.timeout, what, move || op(store.build(SERVICE, &user, None)?))?
            .map_err(|e| map_error(e, profile))
    }

    pub fn token(&self, profile: &str) -> Result<Option<TokenRecord>> {
        let bytes =
            self.with_entry(profile, "token", "reading a token", |entry| optional(entry.get_secret()))?;
        let Some(bytes) = bytes else { return Ok(None) };
        serde_json::from_slice(&bytes).map(Some).map_err(|_| {
            Error::store(format!("the keyring entry {profile}:token is corrupt"))
                .hint(format!("run `tok login {profile}` to replace it"))
        })
    }

    pub fn put_token(&self, profile: &str, record: &TokenRecord) -> Result<()> {
        let bytes = serde_json::to_vec(record).map_err(|e| Error::other(e.to_string()))?;
        if let Some(max) = self.max_entry.filter(|max| bytes.len() > *max) {
            return Err(Error::store(format!(
                "the token for {profile} takes {} bytes, more than the {max} bytes a keyring entry holds here",
                bytes.len()
            ))
            .hint("set TOK_STORE=file to keep this profile in a private file instead"));
        }
        self.with_entry(profile, "token", "saving a token", move |entry| entry.set_secret(&bytes))
    }

    pub fn secret(&self, profile: &str, field: &str) -> Result<Option<Secret>> {
        let bytes =
            self.with_entry(profile, field, "reading a secret", |entry| optional(entry.get_secret()))?;
        let Some(bytes) = bytes else { return Ok(None) };
        String::from_utf8(bytes).map(|s| Some(Secret::new(s))).map_err(|_| {
            Error::store(format!("the keyring entry {profile}:{field} is not UTF-8"))
                .hint(format!("run `tok login {profile}` to replace it"))
        })
    }

    pub fn put_secret(&self, profile: &str, field: &str, secret: &Secret) -> Result<()> {
        let bytes = secret.expose().as_bytes().to_vec();
        self.with_entry(profile, field, "saving a secret", move |entry| entry.set_secret(&bytes))
    }

    /// Proves the keyring can be written (a login's check before it sends anything):
    /// reads alone succeed on a keyring with no collection to write to.
    pub fn probe(&self, profile: &str) -> Result<()> {
        self.with_entry(profile, "probe", "checking the keyring can be written", |entry| {
            entry.set_secret(b"probe")?;
            entry.delete_credential()
        })
    }

    pub fn forget(&self, profile: &str, fields: &[&str]) -> Result<bool> {
        let found = self.forget_secrets(profile, &["token"])?;
        Ok(self.forget_secrets(profile, fields)? || found)
    }

    /// Deletes the given entries; true when one existed.
    pub fn forget_secrets(&self, profile: &str, items: &[&str]) -> Result<bool> {
        let mut found = false;
        for item in items.iter().copied() {
            found |= self.with_entry(profile, item, "deleting an entry", |entry| {
                optional(entry.delete_credential()).map(|r| r.is_some())
            })?;
        }
        Ok(found)
    }
}

fn native_store() -> keyring_core::Result<Arc<CredentialStore>> {
    #[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    #[cfg(target_os = "macos")]
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    #[cfg(target_os = "windows")]
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    #[cfg(any(
        all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))),
        target_os = "macos",
        target_os = "windows"
    ))]
    return Ok(store);
    #[allow(unreachable_code)]
    Err(KeyringError::NoDefaultStore)
}

/// `NoEntry` is an answer, not a failure.
fn optional<T>(result: keyring_core::Result<T>) -> keyring_core::Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(KeyringError::NoEntry) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Runs `f` on a helper thread and gives up after `timeout`. The thread is left behind;
/// tok exits soon after anyway.
fn bounded<T: Send + 'static>(
    timeout: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(timeout).map_err(|_| {
        Error::store(format!(
            "the keyring did not answer within {} while {what}",
            duration::human(timeout.as_secs() as i64)
        ))
        .hint("it may be locked behind an unlock prompt: unlock it, or set TOK_STORE=file")
    })
}

const UNUSABLE: &str = "set TOK_STORE=file (or --store file) to keep secrets in a private file instead";

/// What the platform's keyring is, for a person.
const KEYRING: &str = if cfg!(target_os = "macos") {
    "the login Keychain"
} else if cfg!(windows) {
    "Windows Credential Manager"
} else {
    "a Secret Service on the D-Bus session bus"
};

/// No keyring to connect to is the normal state of a CI runner or a container: one plain
/// sentence, said once per call; the platform's own words (a zbus error quoting
/// `DBUS_SESSION_BUS_ADDRESS`, an `os error`) only with `-v`.
fn connect_error(e: KeyringError) -> Error {
    match e {
        KeyringError::PlatformFailure(inner) => {
            verbose!("keyring: cannot connect: {inner}");
            Error::store(format!("no keyring is reachable (tok looked for {KEYRING})")).hint(UNUSABLE)
        }
        other => map_error(other, ""),
    }
}

fn map_error(e: KeyringError, profile: &str) -> Error {
    let unusable = UNUSABLE;
    match e {
        KeyringError::NoDefaultStore => Error::store("no keyring is available on this system").hint(unusable),
        KeyringError::NoStorageAccess(inner) => Error::store(format!(
            "the keyring is locked or refused access: {}",
            crate::secret::outside(inner)
        ))
        .hint(unusable),
        KeyringError::PlatformFailure(inner) => {
            Error::store(format!("the keyring is unavailable: {}", crate::secret::outside(inner)))
                .hint(unusable)
        }
        KeyringError::TooLong(what, limit) => {
            Error::store(format!("the keyring refused an entry: its {what} is longer than {limit}"))
                .hint(unusable)
        }
        // These carry the stored bytes: never show them.
        KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(..) => {
            Error::store(format!("a keyring entry of {profile} cannot be read"))
                .hint(format!("run `tok login {profile}` to replace it"))
        }
        other => Error::store(format!("keyring error: {}", crate::secret::outside(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Lifetime;

    fn record(token: &str) -> TokenRecord {
        let life = Lifetime { sent_at: 1.0, default: Some(60.0), ..Default::default() };
        TokenRecord::bearer(Secret::new(token), &life, "b".into())
    }

    fn mock(max_entry: Option<usize>) -> KeyringStore {
        KeyringStore::with_store(keyring_core::mock::Store::new().unwrap(), max_entry)
    }

    #[test]
    fn round_trip_on_the_mock_store() {
        let k = mock(None);
        assert!(k.token("p").unwrap().is_none());
        assert!(k.secret("p", "password").unwrap().is_none());
        k.put_secret("p", "password", &Secret::new("pw ü")).unwrap();
        k.put_token("p", &record("tok-1")).unwrap();
        assert_eq!(k.token("p").unwrap().unwrap().token.expose(), "tok-1");
        assert_eq!(k.secret("p", "password").unwrap().unwrap().expose(), "pw ü");
        assert!(k.forget("p", &["password"]).unwrap());
        assert!(k.token("p").unwrap().is_none());
        assert!(!k.forget("p", &["password"]).unwrap());
        k.probe("p").unwrap();
        assert!(!k.forget("p", &[]).unwrap(), "the probe leaves nothing behind");
    }

    #[test]
    fn oversized_entries_fail_clearly() {
        let k = mock(Some(WINDOWS_MAX_ENTRY));
        let err = k.put_token("p", &record(&"a".repeat(3_000))).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        assert!(err.to_string().contains("more than the 2560 bytes"), "{err}");
        assert!(err.hint_text().unwrap().contains("TOK_STORE=file"));
        k.put_token("p", &record(&"a".repeat(1_500))).unwrap();
    }

    #[test]
    fn unusable_keyrings_exit_6_and_name_the_file_store() {
        let cases = [
            KeyringError::NoDefaultStore,
            KeyringError::NoStorageAccess("locked".into()),
            KeyringError::PlatformFailure("no session bus".into()),
        ];
        for e in cases {
            let err = map_error(e, "p");
            assert_eq!(err.exit_code(), 6);
            assert!(err.hint_text().unwrap().contains("TOK_STORE=file"), "{err}");
        }
        let err = map_error(KeyringError::BadEncoding(b"s3cret".to_vec()), "p");
        assert!(!err.to_string().contains("s3cret"));
    }

    #[test]
    fn a_hanging_keyring_call_is_given_up() {
        let started = std::time::Instant::now();
        let err = bounded(Duration::from_millis(50), "reading a token", || {
            std::thread::sleep(Duration::from_secs(5));
        })
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(err.exit_code(), 6);
        assert!(err.to_string().contains("did not answer"), "{err}");
    }
}
