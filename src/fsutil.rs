//! Private files, written so that a crash leaves either the old file or the new one,
//! and read only when nobody else could have written them.
//!
//! The trust rule is ssh's StrictModes: a directory or file tok reads must be owned by
//! the current user (or root) and not writable by group or others, and a file holding
//! secrets must not be readable by them either. Otherwise another local user could plant
//! a `config.toml` that sends the password to their host, or a store file whose "token"
//! tok would print. tok never loosens or repairs the mode of a directory it did not
//! create (a shared, sticky `/tmp`-like TOK_HOME stays as it is, and is refused).

use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Creates `dir` (and parents) readable by the owner only; an existing one is checked,
/// never changed.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(windows)]
    let existed = dir.exists();
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    // Windows has no modes: a directory tok creates gets an owner-only DACL, which what
    // is created inside inherits.
    #[cfg(windows)]
    if !existed {
        crate::winsec::restrict_to_owner(dir, true)?;
    }
    trusted(dir, Holds::Settings).map_err(std::io::Error::other)
}

/// What a path holds, which decides how private it must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// Directories and `config.toml`: nobody else may write them.
    Settings,
    /// Store files: nobody else may read or write them.
    Secrets,
}

/// Ok when `path` is missing, or owned by this user (or root) with no write bits for
/// group or others (no bits at all for secrets). Otherwise the reason, with the fix.
pub fn trusted(path: &Path, holds: Holds) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("cannot check {}: {e}", path.display())),
        };
        // A symlink is followed only when it, too, is ours.
        let meta = if meta.file_type().is_symlink() {
            if meta.uid() != euid() && meta.uid() != 0 {
                return Err(format!(
                    "{} is a link owned by someone else (uid {})",
                    path.display(),
                    meta.uid()
                ));
            }
            fs::metadata(path).map_err(|e| format!("cannot check {}: {e}", path.display()))?
        } else {
            meta
        };
        let me = euid();
        if meta.uid() != me && meta.uid() != 0 {
            return Err(format!(
                "{} is owned by uid {}, not by you (uid {me}): another user could have written it",
                path.display(),
                meta.uid()
            ));
        }
        let mode = meta.mode() & 0o7777;
        let (bad, fix) = match holds {
            Holds::Settings => (mode & 0o022, "chmod go-w"),
            Holds::Secrets => (mode & 0o077, "chmod 600"),
        };
        if bad != 0 {
            let who = if holds == Holds::Secrets { "readable or writable" } else { "writable" };
            return Err(format!(
                "{} is {who} by group or others (mode {mode:04o}); fix it with `{fix} {}` or choose \
                 another TOK_HOME",
                path.display(),
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, holds);
    Ok(())
}

#[cfg(unix)]
fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Removes the temporary files a killed writer may have left beside `path`
/// (`.<name>.<pid>.tmp`): they can hold a whole store record. Callers hold the
/// profile's lock, so no live writer owns one.
pub fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        if file.starts_with(&prefix) && file.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Opens (creating if needed) a file only the owner can read or write.
pub fn open_private(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    let file = options.open(path)?;
    #[cfg(windows)]
    crate::winsec::restrict_to_owner(path, false)?;
    Ok(file)
}

/// Writes `bytes` to `path` through a 0600 temporary file in the same directory, synced
/// and renamed over the target: readers see the old content or the new, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |e: std::io::Error| Error::store(format!("cannot write {}: {e}", path.display()));
    let dir =
        path.parent().ok_or_else(|| Error::other(format!("{} has no parent directory", path.display())))?;
    private_dir(dir).map_err(fail)?;
    remove_stale_temporaries(path);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = open_private(&tmp, OpenOptions::new().write(true).create(true).truncate(true))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        #[cfg(windows)]
        crate::winsec::rename_replacing(&tmp, path)?;
        #[cfg(not(windows))]
        fs::rename(&tmp, path)?;
        // The rename is durable only once the directory entry is.
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_is_private_and_replaces() {
        let dir = std::env::temp_dir().join(format!("tok-fsutil-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("f.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
