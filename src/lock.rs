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
use std::time::{Duration, Instant};

pub struct Lock {
    _file: File,
}

/// Waits until this process holds `<dir>/<name>.lock`, or until `deadline`: the holder
/// is another tok refreshing the same profile, whose own network time is bounded by the
/// same budget, so a waiter that outlives it gives up with exit 5 rather than hang.
pub fn acquire(dir: &Path, name: &str, deadline: Instant) -> Result<Lock> {
    let fail = |e: std::io::Error| Error::other(format!("cannot lock {}: {e}", dir.join(name).display()));
    fsutil::private_dir(dir).map_err(fail)?;
    let path = dir.join(format!("{name}.lock"));
    let file = fsutil::open_private(&path, OpenOptions::new().create(true).truncate(false).write(true))
        .map_err(fail)?;
    let started = Instant::now();
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
        }
        if !said {
            verbose!("waiting for another tok working on {name}");
            said = true;
        }
        if Instant::now() >= deadline {
            return Err(Error::network(format!(
                "another tok is refreshing {name} and has not finished; gave up waiting after {}",
                crate::duration::show(started.elapsed())
            ))
            .hint("try again; if it recurs, see what the other tok waits for with -v"));
        }
        std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// How often a waiter looks again: short next to any refresh, long next to a syscall.
const POLL: Duration = Duration::from_millis(20);
