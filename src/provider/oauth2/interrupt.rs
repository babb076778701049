//! Ctrl-C during an interactive login: caught, so the login stops cleanly (exit 130)
//! where it is waiting instead of the process dying mid-way.
//!
//! `CtrlC::catch()` installs the handler and `CtrlC::wait` sleeps in short steps,
//! returning early once Ctrl-C was pressed; a request under way finishes first (it is
//! bounded by `--timeout`). On Unix the handler only sets a flag (all a signal handler may
//! safely do) and the previous disposition comes back when the `CtrlC` is dropped. On
//! Windows a thread waits for the console's Ctrl-C through tokio and sets the same flag;
//! it stays for the life of the process, which ends soon after the login.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static PRESSED: AtomicBool = AtomicBool::new(false);

/// How often a wait looks at the flag: short enough to feel immediate.
const STEP: Duration = Duration::from_millis(50);

pub struct CtrlC {
    #[cfg(unix)]
    previous: libc::sigaction,
}

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    PRESSED.store(true, Ordering::SeqCst);
}

impl CtrlC {
    /// Starts catching Ctrl-C until dropped. Failing to install leaves Ctrl-C as it was
    /// (it still ends tok, only less tidily).
    pub fn catch() -> CtrlC {
        PRESSED.store(false, Ordering::SeqCst);
        #[cfg(unix)]
        {
            // SAFETY: plain sigaction calls on zeroed structs; the handler touches only an
            // atomic, which is async-signal-safe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGINT, &action, &mut previous) != 0 {
                    previous.sa_sigaction = libc::SIG_DFL;
                }
                CtrlC { previous }
            }
        }
        #[cfg(not(unix))]
        {
            windows_watch();
            CtrlC {}
        }
    }

    pub fn pressed(&self) -> bool {
        PRESSED.load(Ordering::SeqCst)
    }

    /// Sleeps until `until`; `false` when Ctrl-C cut the wait short.
    pub fn wait(&self, until: Instant) -> bool {
        loop {
            if self.pressed() {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(STEP));
        }
    }
}

#[cfg(unix)]
impl Drop for CtrlC {
    fn drop(&mut self) {
        // SAFETY: restores the disposition saved by `catch`.
        unsafe {
            libc::sigaction(libc::SIGINT, &self.previous, std::ptr::null_mut());
        }
    }
}

/// One watcher thread for the process, registered before `catch` returns, so a Ctrl-C
/// right after the prompt is already caught.
#[cfg(not(unix))]
fn windows_watch() {
    static STARTED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    STARTED.get_or_init(|| {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        let Ok(mut ctrl_c) = runtime.block_on(async { tokio::signal::windows::ctrl_c() }) else {
            return;
        };
        std::thread::spawn(move || {
            runtime.block_on(async {
                while ctrl_c.recv().await.is_some() {
                    PRESSED.store(true, Ordering::SeqCst);
                }
            })
        });
    });
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_wait_runs_out_or_stops_at_ctrl_c() {
        let ctrl_c = CtrlC::catch();
        let started = Instant::now();
        assert!(ctrl_c.wait(started + Duration::from_millis(20)));
        assert!(started.elapsed() >= Duration::from_millis(20));
        // SAFETY: raising a signal whose handler only sets a flag.
        unsafe { libc::raise(libc::SIGINT) };
        let started = Instant::now();
        assert!(!ctrl_c.wait(started + Duration::from_secs(30)));
        assert!(started.elapsed() < Duration::from_secs(1));
        drop(ctrl_c);
    }
}
