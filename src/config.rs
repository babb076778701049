//! Where tok keeps things, and `config.toml`: the non-secret settings of each profile.
//!
//! Secrets never go here; they live in the store. The file is still written 0600 and
//! atomically, since user names and client ids are nobody else's business either.

use crate::error::{Error, Result};
use crate::fsutil;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod section;
mod values;

#[derive(Debug, Clone)]
pub struct Paths {
    pub config_file: PathBuf,
    /// The file store's directory (one JSON file per profile).
    pub store_dir: PathBuf,
    /// Per-profile lock files for single-flight refreshes.
    pub lock_dir: PathBuf,
}

impl Paths {
    /// `TOK_HOME` holds everything; otherwise the platform's config and data directories.
    pub fn discover() -> Result<Paths> {
        if let Some(home) = std::env::var_os("TOK_HOME").filter(|h| !h.is_empty()) {
            return Ok(Paths::under(Path::new(&home)));
        }
        let dirs = directories::ProjectDirs::from("", "", "tok").ok_or_else(|| {
            Error::other("cannot find a home directory for tok's files").hint("set TOK_HOME to a directory")
        })?;
        // Secrets and locks stay on this machine: the local, not the roaming, data
        // folder on Windows (elsewhere the two are the same).
        Ok(Paths {
            config_file: dirs.config_dir().join("config.toml"),
            store_dir: dirs.data_local_dir().join("store"),
            lock_dir: dirs.data_local_dir().join("locks"),
        })
    }

    pub fn under(home: &Path) -> Paths {
        Paths {
            config_file: home.join("config.toml"),
            store_dir: home.join("store"),
            lock_dir: home.join("locks"),
        }
    }
}

/// A profile's saved settings: `provider` plus the provider's own fields.
pub type Settings = BTreeMap<String, String>;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ConfigFile {
    #[serde(default, deserialize_with = "values::profiles")]
    pub profiles: BTreeMap<String, Settings>,
}

/// What `ConfigFile::load_one` read.
pub enum Loaded {
    /// The profile's settings alone: its table was all the file held of it.
    One(Settings),
    /// The whole file, parsed and checked as `load` does.
    All(ConfigFile),
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile> {
        match read(path)? {
            Some(bytes) => ConfigFile::parse(path, bytes),
            None => Ok(ConfigFile::default()),
        }
    }

    /// One profile's settings, parsing only its table where `section` can find it (the
    /// file as `save` writes it), else the whole file as `load` does.
    pub fn load_one(path: &Path, profile: &str) -> Result<Loaded> {
        let Some(bytes) = read(path)? else { return Ok(Loaded::All(ConfigFile::default())) };
        if let Some(table) = section::find(&bytes, profile) {
            let table = std::str::from_utf8(table).map_err(|_| not_utf8(path))?;
            return toml::from_str(table)
                .map(|values::Table(s)| Loaded::One(s))
                .map_err(|e| invalid(path, &e));
        }
        ConfigFile::parse(path, bytes).map(Loaded::All)
    }

    fn parse(path: &Path, bytes: Vec<u8>) -> Result<ConfigFile> {
        let text = String::from_utf8(bytes).map_err(|_| not_utf8(path))?;
        let config: ConfigFile = toml::from_str(&text).map_err(|e| invalid(path, &e))?;
        if let Some(bad) = config.profiles.keys().find(|name| crate::naming::validate_name(name).is_err()) {
            return Err(Error::other(format!(
                "{} names a profile '{}', which is not a valid name",
                path.display(),
                crate::secret::outside(bad)
            ))
            .hint("profile names are lower-case letters, digits, '.', '_' and '-'; fix or delete the file"));
        }
        Ok(config)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string(self).map_err(|e| Error::other(format!("cannot encode config: {e}")))?;
        let header = "# tok's profiles: non-secret settings only. Secrets and tokens live in the store.\n";
        let (dir, name) = split(path)?;
        fsutil::Dir::open(dir, true)
            .and_then(|dir| match dir {
                Some(dir) => dir.write_atomic(name, format!("{header}{text}").as_bytes()),
                None => Err(std::io::ErrorKind::NotFound.into()),
            })
            .map_err(|e| Error::other(format!("cannot save settings: {e}")))
    }
}

/// The file's bytes, `None` when there is none.
fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    // The file decides where passwords are sent: only if nobody else could write it.
    let refuse = |e: std::io::Error| Error::other(format!("refusing to read settings: {e}"));
    let (dir, name) = split(path)?;
    let bytes = match fsutil::Dir::open(dir, false).map_err(refuse)? {
        Some(dir) => dir.read(name, fsutil::Holds::Settings).map_err(refuse)?,
        None => None,
    };
    Ok(bytes)
}

fn not_utf8(path: &Path) -> Error {
    Error::other(format!("{} is not valid: it is not UTF-8", path.display()))
}

fn invalid(path: &Path, e: &toml::de::Error) -> Error {
    Error::other(format!("{} is not valid: {}", path.display(), crate::secret::outside(e.message())))
        .hint("fix or delete the file; `tok login` writes it again")
}

/// A file's directory and name.
fn split(path: &Path) -> Result<(&Path, &str)> {
    match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        (Some(dir), Some(name)) => Ok((dir, name)),
        _ => Err(Error::other(format!("{} is not a file in a directory", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("tok-config-{}", std::process::id()));
        let path = dir.join("config.toml");
        assert!(ConfigFile::load(&path).unwrap().profiles.is_empty());
        let mut cfg = ConfigFile::default();
        cfg.profiles.insert("nexterpay".into(), Settings::from([("provider".into(), "nexterpay".into())]));
        cfg.save(&path).unwrap();
        let back = ConfigFile::load(&path).unwrap();
        assert_eq!(back.profiles["nexterpay"]["provider"], "nexterpay");
        std::fs::write(&path, "profiles = 3").unwrap();
        let err = ConfigFile::load(&path).unwrap_err();
        assert!(err.to_string().contains("config.toml is not valid"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
