//! Private files, written so that a crash leaves either the old file or the new one,
//! and read only when nobody else could have written them.
//!
//! The trust rule is ssh's StrictModes: a directory or file tok reads must be owned by
//! the current user (or root) and not writable by group or others, and a file holding
//! secrets must not be readable by them either. Otherwise another local user could plant
//! a `config.toml` that sends the password to their host, or a store file whose "token"
//! tok would print. The directories above TOK_HOME may be shared only when sticky (`/tmp`):
//! whoever can rename entries there could swap TOK_HOME for a directory of their own.
//! tok never loosens or repairs the mode of a directory it did not create (a shared,
//! sticky `/tmp`-like TOK_HOME stays as it is, and is refused).
//!
//! On Unix a checked directory is held open ([`Dir`]) and every file is opened relative
//! to that descriptor without following links, so what was checked is what is used: a
//! rename between the check and the open cannot substitute another directory.

#[cfg(not(unix))]
mod portable;
#[cfg(unix)]
mod unix;

#[cfg(not(unix))]
pub use portable::Dir;
#[cfg(unix)]
pub use unix::Dir;

use std::fs::{File, OpenOptions};
use std::path::Path;

/// What a path holds, which decides how private it must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// A directory above the one tok keeps its files in: nobody else may write it,
    /// unless it is sticky (then nobody else can rename what is ours in it).
    #[cfg_attr(not(unix), allow(dead_code))]
    Ancestor,
    /// Directories and `config.toml`: nobody else may write them.
    Settings,
    /// Store files: nobody else may read or write them.
    Secrets,
}

/// Why an owner and mode are not trusted for `holds`, with the fix; `me` is this user.
/// `path` only names the thing in the message.
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) fn verdict(path: &Path, uid: u32, mode: u32, me: u32, holds: Holds) -> Result<(), String> {
    if uid != me && uid != 0 {
        return Err(format!(
            "{} is owned by uid {uid}, not by you (uid {me}): another user could have written it",
            path.display()
        ));
    }
    let mode = mode & 0o7777;
    let sticky = mode & 0o1000 != 0;
    let (bad, fix) = match holds {
        Holds::Ancestor if sticky => (0, ""),
        Holds::Ancestor | Holds::Settings => (mode & 0o022, "chmod go-w"),
        Holds::Secrets => (mode & 0o077, "chmod 600"),
    };
    if bad == 0 {
        return Ok(());
    }
    let who = if holds == Holds::Secrets { "readable or writable" } else { "writable" };
    let (what, choose) = match holds {
        Holds::Ancestor => ("a directory above tok's files", "keep TOK_HOME elsewhere"),
        _ => ("", "choose another TOK_HOME"),
    };
    let what = if what.is_empty() { String::new() } else { format!(" ({what}, not sticky)") };
    Err(format!(
        "{}{what} is {who} by group or others (mode {mode:04o}); fix it with `{fix} {}` or {choose}",
        path.display(),
        path.display()
    ))
}

/// Creates `dir` (and parents) readable by the owner only; an existing one is checked,
/// never changed.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    Dir::open(dir, true).map(drop)
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

/// The name of the temporary file a writer with process id `pid` uses for `name`.
fn temporary(name: &str, pid: u32) -> String {
    format!(".{name}.{pid}.tmp")
}

/// `name` of a temporary file (`.<name>.<pid>.tmp`), if `file` is one.
pub fn temporary_of(file: &str) -> Option<&str> {
    let (name, pid) = file.strip_prefix('.')?.strip_suffix(".tmp")?.rsplit_once('.')?;
    (!name.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_table() {
        let p = Path::new("/x");
        let me = 1000;
        let table = [
            (me, 0o700, Holds::Settings, true),
            (0, 0o755, Holds::Settings, true),
            (me, 0o770, Holds::Settings, false),
            (me, 0o1777, Holds::Settings, false),
            (me, 0o600, Holds::Secrets, true),
            (me, 0o640, Holds::Secrets, false),
            (me, 0o604, Holds::Secrets, false),
            (0, 0o1777, Holds::Ancestor, true),
            (me, 0o1770, Holds::Ancestor, true),
            (0, 0o755, Holds::Ancestor, true),
            (0, 0o777, Holds::Ancestor, false),
            (me, 0o775, Holds::Ancestor, false),
            (1001, 0o755, Holds::Ancestor, false),
            (1001, 0o1777, Holds::Ancestor, false),
            (1001, 0o600, Holds::Secrets, false),
        ];
        for (uid, mode, holds, ok) in table {
            assert_eq!(verdict(p, uid, mode, me, holds).is_ok(), ok, "{uid} {mode:o} {holds:?}");
        }
        let why = verdict(p, me, 0o1777, me, Holds::Settings).unwrap_err();
        assert!(
            why.contains("writable by group or others (mode 1777)") && why.contains("chmod go-w"),
            "{why}"
        );
        let why = verdict(p, me, 0o775, me, Holds::Ancestor).unwrap_err();
        assert!(why.contains("not sticky") && why.contains("keep TOK_HOME elsewhere"), "{why}");
    }

    #[test]
    fn temporaries_table() {
        assert_eq!(temporary("p.json", 42), ".p.json.42.tmp");
        let table = [
            (".p.json.42.tmp", Some("p.json")),
            (".a.b-c.json.7.tmp", Some("a.b-c.json")),
            (".config.toml.1.tmp", Some("config.toml")),
            ("p.json", None),
            (".p.json.x.tmp", None),
            (".p.json..tmp", None),
            ("..1.tmp", None),
            (".tmp", None),
        ];
        for (file, want) in table {
            assert_eq!(temporary_of(file), want, "{file}");
        }
    }
}
