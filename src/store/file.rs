//! The file store: `<dir>/<profile>.json`, mode 0600, in a 0700 directory, replaced
//! atomically. Chosen explicitly (`TOK_STORE=file`) for CI runners and headless boxes.

use crate::error::{Error, Result};
use crate::fsutil;
use crate::secret::Secret;
use crate::token::TokenRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct FileStore {
    dir: PathBuf,
    /// The directory, opened and checked once for many reads (`holding`).
    held: Option<fsutil::Dir>,
}

#[derive(Default, Serialize, Deserialize)]
struct Contents {
    #[serde(default)]
    secrets: BTreeMap<String, Secret>,
    #[serde(default)]
    token: Option<TokenRecord>,
}

impl FileStore {
    pub fn new(dir: PathBuf) -> FileStore {
        FileStore { dir, held: None }
    }

    /// For reading many profiles at once (`tok status`): the directory is opened and
    /// checked once, not for every profile (at 2,000 profiles, that walk from `/` was most
    /// of the time). Where it cannot be, each read opens it and says why, as before.
    pub fn holding(self) -> FileStore {
        let held = self.open(false).ok().flatten();
        FileStore { held, ..self }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(profile: &str) -> String {
        format!("{profile}.json")
    }

    /// The store's directory, checked and held open (see `fsutil::Dir`): TOK_HOME (or the
    /// data directory) first, then `store` in it, so both are checked by descriptor.
    fn open(&self, create: bool) -> Result<Option<fsutil::Dir>> {
        let refuse = |e: std::io::Error| Error::store(format!("refusing to use the file store: {e}"));
        let (Some(parent), Some(name)) = (self.dir.parent(), self.dir.file_name().and_then(|n| n.to_str()))
        else {
            return fsutil::Dir::open(&self.dir, create).map_err(refuse);
        };
        match fsutil::Dir::open(parent, create).map_err(refuse)? {
            Some(home) => home.subdir(name, create).map_err(refuse),
            None => Ok(None),
        }
    }

    pub fn check(&self) -> Result<()> {
        self.open(true).map(drop)
    }

    fn read(&self, profile: &str) -> Result<Option<Contents>> {
        // A token is printed and secrets are sent as read: only from files nobody else
        // could have planted or read.
        let opened;
        let dir = match &self.held {
            Some(dir) => dir,
            None => match self.open(false)? {
                Some(dir) => {
                    opened = dir;
                    &opened
                }
                None => return Ok(None),
            },
        };
        let bytes = match dir.read(&Self::file(profile), fsutil::Holds::Secrets) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(None),
            Err(e) => return Err(Error::store(format!("refusing to use the file store: {e}"))),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::store(format!(
                "{} is corrupt ({})",
                dir.path().join(Self::file(profile)).display(),
                crate::secret::outside(e)
            ))
            .hint(format!("run `tok login {profile}` to replace it"))
        })
    }

    fn write(&self, profile: &str, contents: &Contents) -> Result<()> {
        let json = serde_json::to_vec_pretty(contents).map_err(|e| Error::other(e.to_string()))?;
        let dir = self.open(true)?.ok_or_else(|| Error::store("the file store has no directory"))?;
        dir.write_atomic(&Self::file(profile), &json).map_err(|e| Error::store(e.to_string()))
    }

    pub fn token(&self, profile: &str) -> Result<Option<TokenRecord>> {
        Ok(self.read(profile)?.and_then(|c| c.token))
    }

    pub fn secret(&self, profile: &str, field: &str) -> Result<Option<Secret>> {
        Ok(self.read(profile)?.and_then(|mut c| c.secrets.remove(field)))
    }

    pub fn put_token(&self, profile: &str, record: &TokenRecord) -> Result<()> {
        let mut contents = self.read(profile)?.unwrap_or_default();
        contents.token = Some(record.clone());
        self.write(profile, &contents)
    }

    pub fn replace(
        &self,
        profile: &str,
        secrets: &[(&'static str, Secret)],
        record: Option<&TokenRecord>,
    ) -> Result<()> {
        let contents = Contents {
            secrets: secrets.iter().map(|(f, s)| (f.to_string(), s.clone())).collect(),
            token: record.cloned(),
        };
        self.write(profile, &contents)
    }

    pub fn forget(&self, profile: &str) -> Result<bool> {
        let Some(dir) = self.open(false)? else { return Ok(false) };
        dir.remove_temporaries(&Self::file(profile));
        dir.remove(&Self::file(profile)).map_err(|e| Error::store(e.to_string()))
    }

    /// Profiles with something in the store: a record, or only a temporary file that a
    /// killed writer left (a first login never completed), which `logout` sweeps.
    fn names(&self, temporaries: bool) -> Vec<String> {
        let Ok(Some(dir)) = self.open(false) else { return Vec::new() };
        let mut names: Vec<String> = dir
            .entries()
            .unwrap_or_default()
            .iter()
            .filter_map(|file| match fsutil::temporary_of(file) {
                Some(name) if temporaries => name.strip_suffix(".json"),
                Some(_) => None,
                None if temporaries => None,
                None => file.strip_suffix(".json"),
            })
            .filter(|name| crate::naming::validate_name(name).is_ok())
            .map(str::to_string)
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn profiles(&self) -> Vec<String> {
        self.names(false)
    }

    /// Profiles that have temporary files left in the store.
    pub fn with_temporaries(&self) -> Vec<String> {
        self.names(true)
    }

    /// Removes `profile`'s temporary files; the caller holds the profile's lock.
    pub fn remove_temporaries(&self, profile: &str) -> Result<()> {
        if let Some(dir) = self.open(false)? {
            dir.remove_temporaries(&Self::file(profile));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Lifetime;

    fn record(token: &str) -> TokenRecord {
        TokenRecord::bearer(
            Secret::new(token),
            &Lifetime { sent_at: 1.0, default: Some(60.0), ..Default::default() },
            "b".into(),
        )
    }

    #[test]
    fn keeps_secrets_when_the_token_changes() {
        let root = std::env::temp_dir().join(format!("tok-filestore-{}", std::process::id()));
        let dir = root.join("store");
        let store = FileStore::new(dir.clone());
        assert!(store.token("p").unwrap().is_none());
        store.replace("p", &[("password", Secret::new("pw"))], Some(&record("one"))).unwrap();
        store.put_token("p", &record("two")).unwrap();
        assert_eq!(store.token("p").unwrap().unwrap().token.expose(), "two");
        assert_eq!(store.secret("p", "password").unwrap().unwrap().expose(), "pw");
        assert_eq!(store.profiles(), vec!["p".to_string()]);

        std::fs::write(dir.join("p.json"), "{garbage").unwrap();
        let err = store.token("p").unwrap_err();
        assert_eq!(err.exit_code(), 6);
        assert!(err.to_string().contains("p.json is corrupt"), "{err}");
        // A login replaces a corrupt file.
        store.replace("p", &[], Some(&record("three"))).unwrap();
        assert_eq!(store.token("p").unwrap().unwrap().token.expose(), "three");
        assert!(store.forget("p").unwrap());
        assert!(!store.forget("p").unwrap());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
