//! Where secrets and tokens live: the OS keyring (default) or private files.
//!
//! One enum, two variants, the same few operations. tok never falls back from the
//! keyring to files on its own: a user who wants files says `TOK_STORE=file`.

mod file;
mod keyring;
pub mod shared;

pub use self::keyring::KeyringStore;
pub use file::FileStore;

use crate::config::Paths;
use crate::error::Result;
use crate::secret::Secret;
use crate::token::TokenRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// macOS Keychain, Windows Credential Manager, Secret Service on Linux
    Keyring,
    /// One 0600 JSON file per profile in a 0700 directory
    File,
}

impl StoreKind {
    pub const ALL: [StoreKind; 2] = [StoreKind::Keyring, StoreKind::File];

    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Keyring => "keyring",
            StoreKind::File => "file",
        }
    }

    pub fn from_name(name: &str) -> Option<StoreKind> {
        StoreKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

pub enum Store {
    File(FileStore),
    Keyring(KeyringStore),
}

impl Store {
    /// Opening does no I/O: the keyring is only contacted when an entry is read or written.
    pub fn open(kind: StoreKind, paths: &Paths, keyring_timeout: std::time::Duration) -> Store {
        match kind {
            StoreKind::File => Store::File(FileStore::new(paths.store_dir.clone())),
            StoreKind::Keyring => Store::Keyring(KeyringStore::native(keyring_timeout)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Store::File(f) => format!("file store in {}", f.dir().display()),
            Store::Keyring(_) => "keyring".into(),
        }
    }

    /// Fails (exit 6) when the store cannot be written, before anything is sent anywhere.
    pub fn check(&self, profile: &str) -> Result<()> {
        match self {
            Store::File(f) => f.check(),
            Store::Keyring(k) => k.probe(profile),
        }
    }

    pub fn token(&self, profile: &str) -> Result<Option<TokenRecord>> {
        let record = match self {
            Store::File(f) => f.token(profile),
            Store::Keyring(k) => k.token(profile),
        };
        Ok(record?.map(TokenRecord::bounded))
    }

    pub fn put_token(&self, profile: &str, record: &TokenRecord) -> Result<()> {
        match self {
            Store::File(f) => f.put_token(profile, record),
            Store::Keyring(k) => k.put_token(profile, record),
        }
    }

    pub fn secret(&self, profile: &str, field: &str) -> Result<Option<Secret>> {
        match self {
            Store::File(f) => f.secret(profile, field),
            Store::Keyring(k) => k.secret(profile, field),
        }
    }

    /// A login's result: its secrets and first token (none for an API key). The file
    /// store replaces the profile's file whole, which is also how a corrupt one gets
    /// repaired. `every_field`: every secret field any provider keeps (the caller knows
    /// the providers; the store does not import them).
    pub fn put_login(
        &self,
        profile: &str,
        secrets: &[(&'static str, Secret)],
        record: Option<&TokenRecord>,
        every_field: &[&str],
    ) -> Result<()> {
        match self {
            Store::File(f) => f.replace(profile, secrets, record),
            Store::Keyring(k) => {
                for (field, secret) in secrets {
                    k.put_secret(profile, field, secret)?;
                }
                // Secrets of an earlier mode or provider (a merchant-v2 password after a
                // switch to --api-key) must not outlive the login that replaced them.
                let stale: Vec<&str> = every_field
                    .iter()
                    .copied()
                    .filter(|f| !secrets.iter().any(|(kept, _)| kept == f))
                    .collect();
                k.forget_secrets(profile, &stale)?;
                match record {
                    Some(record) => k.put_token(profile, record),
                    None => k.forget(profile, &[]).map(drop),
                }
            }
        }
    }

    /// Removes the profile's token and the given secrets. True when something was there.
    pub fn forget(&self, profile: &str, fields: &[&str]) -> Result<bool> {
        match self {
            Store::File(f) => f.forget(profile),
            Store::Keyring(k) => k.forget(profile, fields),
        }
    }

    /// Profiles that have something in the store, where the store can list them.
    pub fn profiles(&self) -> Vec<String> {
        match self {
            Store::File(f) => f.profiles(),
            Store::Keyring(_) => Vec::new(),
        }
    }
}
