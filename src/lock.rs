//! Per-profile lock files, so that concurrent `tok` processes refresh a token once.
//!
//! The lock is an OS file lock (`flock` on Unix, `LockFileEx` on Windows): it is released
//! when the process exits, however it exits, so a killed refresh never wedges the next.
//! Lock files are never deleted; deleting one while another process waits on it would
//! let two processes hold "the" lock at once.

use crate::error::{Error, Result};
use crate::fsutil;
use crate::term::verbose;
use std::fs::{File, OpenOptions};
use std::path::Path;

pub struct Lock {
    _file: File,
}

/// Blocks until this process holds `<dir>/<name>.lock`. Holders never wait on the
/// network or the keyring without a deadline, so the wait is bounded too.
pub fn acquire(dir: &Path, name: &str) -> Result<Lock> {
    let fail = |e: std::io::Error| Error::other(format!("cannot lock {}: {e}", dir.join(name).display()));
    fsutil::private_dir(dir).map_err(fail)?;
    let path = dir.join(format!("{name}.lock"));
    let file = fsutil::open_private(&path, OpenOptions::new().create(true).truncate(false).write(true))
        .map_err(fail)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            verbose!("waiting for another tok working on {name}");
            file.lock().map_err(fail)?;
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
    }
    Ok(Lock { _file: file })
}
