//! curl's header dump (`-D`) under `tok curl`: curl always writes it to tok's own pipe,
//! and tok passes it on to the target the user named.
//!
//! tok never reads a file the user named back: `/dev/stdout` or `/dev/stderr` on a pipe
//! would open the read end of tok's own output (and block for ever), a FIFO blocks, and a
//! file in a shared directory can be rewritten between curl's write and tok's read by
//! whoever else can write it, choosing the status tok sees and the token it adopts.

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// How much of a dump (and of a held-back body) tok keeps in memory.
pub const LIMIT: usize = 16 * 1024 * 1024;

/// Where the user asked curl to put the response headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `-D -` (or a name of fd 1, such as `/dev/stdout`): before the body, on the same stdout.
    Stdout,
    /// `-D %` (curl 8.10 and later).
    Stderr,
    /// Any other value: a path opened for writing, created or truncated, as curl opens it.
    File(String),
}

impl Target {
    pub fn of(value: &str) -> Target {
        match value {
            // curl would write these names of stdout before the body: so does tok.
            "-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Target::Stdout,
            "%" => Target::Stderr,
            path => Target::File(path.to_string()),
        }
    }

    /// Writes a final attempt's dump where the user asked for it (stdout's is written by
    /// the caller, in its place before the body).
    pub fn write(&self, dump: &[u8]) -> std::io::Result<()> {
        match self {
            Target::Stdout => crate::term::stdout(dump).map_err(|e| std::io::Error::other(e.to_string())),
            Target::Stderr => {
                let mut err = std::io::stderr().lock();
                err.write_all(dump).and_then(|()| err.flush())
            }
            // `/dev/stderr` and `/dev/stdout` opened for writing are the user's own streams.
            Target::File(path) => std::fs::File::create(path)?.write_all(dump),
        }
    }
}

/// The command line curl gets: each of the user's `-D` values (at `at`, see
/// `Scan::dump_header_at`) replaced by tok's pipe, or, without one, tok's `-D` first.
pub fn args_with_dump(args: &[String], at: &[(usize, usize)], pipe: &str) -> Vec<String> {
    if at.is_empty() {
        return ["-D".to_string(), pipe.to_string()].into_iter().chain(args.iter().cloned()).collect();
    }
    let mut out = args.to_vec();
    for &(index, start) in at {
        if let Some(arg) = out.get_mut(index) {
            arg.truncate(start);
            arg.push_str(pipe);
        }
    }
    out
}

/// The dump as read so far, shared by the thread reading tok's pipe and the one holding
/// curl's stdout back (for `-D -`, whose headers must come before the body).
#[derive(Default)]
pub struct Dump {
    pub bytes: Vec<u8>,
    /// curl closed the pipe.
    ended: bool,
    /// The body is being passed on as it comes: so is every later header.
    pub live: bool,
}

pub type Shared = Arc<(Mutex<Dump>, Condvar)>;

/// Reads tok's pipe while curl runs, so that a long dump never blocks curl on a full pipe.
pub fn read(mut from: impl Read + Send + 'static, shared: Shared) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let n = from.read(&mut buffer).unwrap_or(0);
            let (lock, changed) = &*shared;
            let mut dump = lock.lock().unwrap_or_else(PoisonError::into_inner);
            if n == 0 {
                dump.ended = true;
                changed.notify_all();
                return;
            }
            if dump.live {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&buffer[..n]).and_then(|()| out.flush());
            }
            if dump.bytes.len() + n <= LIMIT {
                dump.bytes.extend_from_slice(&buffer[..n]);
            }
            changed.notify_all();
        }
    })
}

/// For `-D -` when the body is passed on as it comes: the headers read so far go first.
/// curl writes (and flushes) a response's whole header block before its body, so tok waits
/// for the end of a block to reach it; the wait is bounded, so nothing can hang on it.
pub fn go_live(shared: &Shared) {
    let (lock, changed) = &**shared;
    let dump = lock.lock().unwrap_or_else(PoisonError::into_inner);
    let (mut dump, _) = changed
        .wait_timeout_while(dump, Duration::from_secs(2), |d| !d.ended && !ends_a_block(&d.bytes))
        .unwrap_or_else(PoisonError::into_inner);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&dump.bytes).and_then(|()| out.flush());
    dump.live = true;
}

fn ends_a_block(bytes: &[u8]) -> bool {
    bytes.ends_with(b"\n\r\n") || bytes.ends_with(b"\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_users_dump_values_become_toks_pipe() {
        type Row<'a> = (&'a [&'a str], &'a [(usize, usize)], &'a [&'a str]);
        let table: [Row; 5] = [
            (&["-s", "/p"], &[], &["-D", "/dev/fd/9", "-s", "/p"]),
            (&["-D", "/dev/stdout", "/p"], &[(1, 0)], &["-D", "/dev/fd/9", "/p"]),
            (&["--dump-header=h", "/p"], &[(0, 14)], &["--dump-header=/dev/fd/9", "/p"]),
            (&["-sD-", "/p"], &[(0, 3)], &["-sD/dev/fd/9", "/p"]),
            (&["-D", "a", "-Db", "/p"], &[(1, 0), (2, 2)], &["-D", "/dev/fd/9", "-D/dev/fd/9", "/p"]),
        ];
        for (args, at, want) in table {
            assert_eq!(args_with_dump(&strings(args), at, "/dev/fd/9"), strings(want), "{args:?}");
        }
    }

    #[test]
    fn targets_as_curl_reads_them() {
        assert_eq!(Target::of("-"), Target::Stdout);
        assert_eq!(Target::of("%"), Target::Stderr);
        assert_eq!(Target::of("/dev/stdout"), Target::Stdout);
        assert_eq!(Target::of("/dev/stderr"), Target::File("/dev/stderr".into()));
        assert!(ends_a_block(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n") && !ends_a_block(b"HTTP/1.1 200 OK\r\n"));
    }
}
