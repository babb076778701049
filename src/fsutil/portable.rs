//! Directories by path, where Unix descriptors are not available: Windows keeps its own
//! protection (owner-only DACLs on what tok creates, `winsec`).

use super::{Holds, temporary, temporary_of};
use std::fs;
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

pub struct Dir {
    path: PathBuf,
}

impl Dir {
    /// Opens `path`, creating it (and its parents) when `create`; `None` when missing.
    pub fn open(path: &Path, create: bool) -> io::Result<Option<Dir>> {
        Dir::at(path.to_path_buf(), create)
    }

    fn at(path: PathBuf, create: bool) -> io::Result<Option<Dir>> {
        if path.is_dir() {
            return Ok(Some(Dir { path }));
        }
        if !create {
            return Ok(None);
        }
        fs::DirBuilder::new().recursive(true).create(&path)?;
        // A directory tok creates gets an owner-only DACL, which what is created inside
        // inherits.
        #[cfg(windows)]
        crate::winsec::restrict_to_owner(&path, true)?;
        Ok(Some(Dir { path }))
    }

    pub fn subdir(&self, name: &str, create: bool) -> io::Result<Option<Dir>> {
        Dir::at(self.path.join(name), create)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn read(&self, name: &str, _holds: Holds) -> io::Result<Option<Vec<u8>>> {
        let path = self.path.join(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))),
        }
    }

    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.remove_temporaries(name);
        let path = self.path.join(name);
        let tmp = self.path.join(temporary(name, std::process::id()));
        let result = (|| {
            let mut file =
                super::open_private(&tmp, fs::OpenOptions::new().write(true).create(true).truncate(true))?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            // Windows refuses a rename over a file another process has open for an instant
            // (a lock-free reader): wait for it rather than fail the save.
            #[cfg(windows)]
            return crate::winsec::rename_replacing(&tmp, &path);
            #[cfg(not(windows))]
            fs::rename(&tmp, &path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display())))
    }

    pub fn remove(&self, name: &str) -> io::Result<bool> {
        let path = self.path.join(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io::Error::new(e.kind(), format!("cannot remove {}: {e}", path.display()))),
        }
    }

    pub fn entries(&self) -> io::Result<Vec<String>> {
        Ok(fs::read_dir(&self.path)?
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect())
    }

    pub fn remove_temporaries(&self, name: &str) {
        for file in self.entries().unwrap_or_default() {
            if temporary_of(&file) == Some(name) {
                let _ = self.remove(&file);
            }
        }
    }
}
