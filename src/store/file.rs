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
        FileStore { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, profile: &str) -> PathBuf {
        self.dir.join(format!("{profile}.json"))
    }

    pub fn check(&self) -> Result<()> {
        fsutil::private_dir(&self.dir)
            .map_err(|e| Error::store(format!("cannot use {}: {e}", self.dir.display())))
    }

    fn read(&self, profile: &str) -> Result<Option<Contents>> {
        let path = self.path(profile);
        // A token is printed and secrets are sent as read: only from files nobody else
        // could have planted or read.
        let dirs = self.dir.parent().into_iter().chain([self.dir.as_path()]);
        for (checked, holds) in
            dirs.map(|d| (d, fsutil::Holds::Settings)).chain([(path.as_path(), fsutil::Holds::Secrets)])
        {
            fsutil::trusted(checked, holds)
                .map_err(|why| Error::store(format!("refusing to use the file store: {why}")))?;
        }
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::store(format!("cannot read {}: {e}", path.display()))),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::store(format!("{} is corrupt ({})", path.display(), crate::secret::outside(e)))
                .hint(format!("run `tok login {profile}` to replace it"))
        })
    }

    fn write(&self, profile: &str, contents: &Contents) -> Result<()> {
        let json = serde_json::to_vec_pretty(contents).map_err(|e| Error::other(e.to_string()))?;
        fsutil::write_atomic(&self.path(profile), &json)
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
        fsutil::remove_stale_temporaries(&self.path(profile));
        match std::fs::remove_file(self.path(profile)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::store(format!("cannot remove {}: {e}", self.path(profile).display()))),
        }
    }

    pub fn profiles(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
            .filter(|name| crate::profile::validate_name(name).is_ok())
            .collect();
        names.sort();
        names
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
