//! Directories held open by descriptor, and files opened relative to them.

use super::{Holds, temporary, temporary_of, verdict};
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// A directory that passed the trust checks, held open: whatever happens to its path
/// afterwards, files are opened in this directory.
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

/// Linux opens ancestors with O_PATH, which needs no read permission (a `/home` of mode
/// 0711); elsewhere they are opened for reading.
#[cfg(any(target_os = "linux", target_os = "android"))]
const ANCESTOR: libc::c_int = libc::O_PATH;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const ANCESTOR: libc::c_int = libc::O_RDONLY;

fn cstring(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(ErrorKind::InvalidInput, "a file name holds NUL"))
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 { Err(io::Error::last_os_error()) } else { Ok(result) }
}

fn openat(dir: RawFd, name: &CStr, flags: libc::c_int, mode: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated; a non-negative result is a new descriptor we own.
    let fd =
        check(unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC | libc::O_NOFOLLOW, mode) })?;
    // SAFETY: see above.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat fills the buffer when it returns 0.
    check(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: it returned 0.
    Ok(unsafe { st.assume_init() })
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The trust check, on what a descriptor points at.
fn trusted(fd: RawFd, path: &Path, holds: Holds) -> io::Result<libc::stat> {
    let st = fstat(fd).map_err(|e| context("cannot check", path, e))?;
    verdict(path, st.st_uid, st.st_mode as u32, euid(), holds)
        .map_err(|why| io::Error::new(ErrorKind::PermissionDenied, why))?;
    Ok(st)
}

fn context(what: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Opening with O_NOFOLLOW failed with ELOOP or ENOTDIR: say what is there instead.
fn not_followed(path: &Path, e: io::Error) -> io::Error {
    let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    match (link, e.raw_os_error()) {
        (true, _) => io::Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "{} is a symbolic link: tok opens its own directories and files only directly, \
                 so that nobody can swap them (use the real path: point TOK_HOME at the real directory)",
                path.display()
            ),
        ),
        (false, Some(libc::ENOTDIR)) => {
            io::Error::new(ErrorKind::NotADirectory, format!("{} is not a directory", path.display()))
        }
        _ => context("cannot open", path, e),
    }
}

fn refused_link(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR) | Some(libc::EMLINK))
}

/// The absolute directory `path` is in, with links resolved as far as it exists, then the
/// components still missing, then `path`'s own last component (never resolved: a link
/// there is refused).
fn locate(path: &Path) -> io::Result<(Vec<OsString>, OsString)> {
    let absolute = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
    let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) else {
        return Ok((Vec::new(), OsString::new()));
    };
    let mut missing = Vec::new();
    let mut existing = parent;
    let base = loop {
        match std::fs::canonicalize(existing) {
            Ok(base) => break base,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let (Some(up), Some(last)) = (existing.parent(), existing.file_name()) else {
                    return Err(context("cannot find", existing, e));
                };
                missing.push(last.to_os_string());
                existing = up;
            }
            Err(e) => return Err(context("cannot find", existing, e)),
        }
    };
    let mut names: Vec<OsString> = base
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            _ => None,
        })
        .collect();
    names.extend(missing.into_iter().rev());
    Ok((names, name.to_os_string()))
}

impl Dir {
    /// Opens `path`, creating it (0700, with its missing parents) when `create`; `None`
    /// when it is missing and not to be created. Each directory above it must be owned by
    /// root or this user and not writable by others unless sticky; `path` itself must
    /// be nobody else's to write, and not a link.
    pub fn open(path: &Path, create: bool) -> io::Result<Option<Dir>> {
        let (above, name) = locate(path)?;
        let root = PathBuf::from("/");
        let fd = openat(libc::AT_FDCWD, c"/", ANCESTOR | libc::O_DIRECTORY, 0)
            .map_err(|e| context("cannot open", &root, e))?;
        let last = if name.is_empty() { Holds::Settings } else { Holds::Ancestor };
        trusted(fd.as_raw_fd(), &root, last)?;
        let mut dir = Dir { fd, path: root };
        for component in &above {
            match dir.child(component, create, Holds::Ancestor)? {
                Some(child) => dir = child,
                None => return Ok(None),
            }
        }
        if name.is_empty() {
            return Ok(Some(dir));
        }
        let Some(mut dir) = dir.child(&name, create, Holds::Settings)? else { return Ok(None) };
        // Messages name the directory as the user gave it.
        dir.path = path.to_path_buf();
        Ok(Some(dir))
    }

    /// A directory in this one, held to tok's own rule (see `open`).
    pub fn subdir(&self, name: &str, create: bool) -> io::Result<Option<Dir>> {
        self.child(OsStr::new(name), create, Holds::Settings)
    }

    fn child(&self, name: &OsStr, create: bool, holds: Holds) -> io::Result<Option<Dir>> {
        let path = self.path.join(name);
        let c = cstring(name)?;
        let flags = libc::O_DIRECTORY | if holds == Holds::Ancestor { ANCESTOR } else { libc::O_RDONLY };
        let fd = match openat(self.fd.as_raw_fd(), &c, flags, 0) {
            Ok(fd) => fd,
            Err(e) if e.kind() == ErrorKind::NotFound && create => {
                // SAFETY: `c` is NUL-terminated.
                match check(unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o700) }) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(context("cannot create", &path, e)),
                }
                openat(self.fd.as_raw_fd(), &c, flags, 0).map_err(|e| match refused_link(&e) {
                    true => not_followed(&path, e),
                    false => context("cannot open", &path, e),
                })?
            }
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) if refused_link(&e) => return Err(not_followed(&path, e)),
            Err(e) => return Err(context("cannot open", &path, e)),
        };
        trusted(fd.as_raw_fd(), &path, holds)?;
        Ok(Some(Dir { fd, path }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A regular file in this directory, trusted for `holds`; `None` when missing.
    pub fn read(&self, name: &str, holds: Holds) -> io::Result<Option<Vec<u8>>> {
        let path = self.path.join(name);
        let fd = match openat(
            self.fd.as_raw_fd(),
            &cstring(OsStr::new(name))?,
            libc::O_RDONLY | libc::O_NONBLOCK,
            0,
        ) {
            Ok(fd) => fd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) if refused_link(&e) => return Err(not_followed(&path, e)),
            Err(e) => return Err(context("cannot open", &path, e)),
        };
        let st = trusted(fd.as_raw_fd(), &path, holds)?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("{} is not a regular file", path.display()),
            ));
        }
        let mut bytes = Vec::new();
        File::from(fd).read_to_end(&mut bytes).map_err(|e| context("cannot read", &path, e))?;
        Ok(Some(bytes))
    }

    /// Writes `name` through a 0600 temporary file in this directory, synced and renamed
    /// over it: readers see the old content or the new, never half. The caller holds the
    /// lock that makes it the only writer of `name`.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.remove_temporaries(name);
        let tmp = cstring(OsStr::new(&temporary(name, std::process::id())))?;
        let target = cstring(OsStr::new(name))?;
        let dir = self.fd.as_raw_fd();
        let result = (|| {
            let fd = openat(dir, &tmp, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600)?;
            let mut file = File::from(fd);
            file.write_all(bytes)?;
            file.sync_all()?;
            // SAFETY: both names are NUL-terminated; both are relative to our descriptor.
            check(unsafe { libc::renameat(dir, tmp.as_ptr(), dir, target.as_ptr()) })?;
            // The rename is durable only once the directory entry is.
            // SAFETY: fsync on a descriptor we own.
            check(unsafe { libc::fsync(dir) })?;
            Ok(())
        })();
        if result.is_err() {
            // SAFETY: a NUL-terminated name relative to our descriptor.
            unsafe { libc::unlinkat(dir, tmp.as_ptr(), 0) };
        }
        result.map_err(|e| context("cannot write", &self.path.join(name), e))
    }

    /// Removes `name`; false when it was not there.
    pub fn remove(&self, name: &str) -> io::Result<bool> {
        let c = cstring(OsStr::new(name))?;
        // SAFETY: a NUL-terminated name relative to our descriptor.
        match check(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) }) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(context("cannot remove", &self.path.join(name), e)),
        }
    }

    /// The names in this directory (those that are UTF-8).
    pub fn entries(&self) -> io::Result<Vec<String>> {
        // SAFETY: dup of a descriptor we own; fdopendir takes the copy over.
        let copy = check(unsafe { libc::fcntl(self.fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) })?;
        // SAFETY: `copy` is an open directory descriptor.
        let stream = unsafe { libc::fdopendir(copy) };
        if stream.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: fdopendir failed, so `copy` is still ours to close.
            unsafe { libc::close(copy) };
            return Err(context("cannot list", &self.path, e));
        }
        // fdopendir shares the offset with the descriptor `open` held: start at the top.
        // SAFETY: a valid stream.
        unsafe { libc::rewinddir(stream) };
        let mut names = Vec::new();
        loop {
            // SAFETY: a valid stream; the entry is read before the next call.
            let entry = unsafe { libc::readdir(stream) };
            if entry.is_null() {
                break;
            }
            // SAFETY: d_name is NUL-terminated.
            let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
            if let Ok(name) = name.to_str()
                && name != "."
                && name != ".."
            {
                names.push(name.to_string());
            }
        }
        // SAFETY: closes the stream and `copy` with it.
        unsafe { libc::closedir(stream) };
        Ok(names)
    }

    /// Removes the temporary files a killed writer may have left for `name`: they can
    /// hold a whole store record. Callers hold the lock for `name`, so no live writer
    /// owns one.
    pub fn remove_temporaries(&self, name: &str) {
        for file in self.entries().unwrap_or_default() {
            if temporary_of(&file) == Some(name) {
                let _ = self.remove(&file);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_is_private_replaces_and_survives_a_rename_of_its_path() {
        let root = std::env::temp_dir().join(format!("tok-fsdir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let path = root.join("a").join("home");
        let dir = Dir::open(&path, true).unwrap().unwrap();
        dir.write_atomic("f.json", b"one").unwrap();
        dir.write_atomic("f.json", b"two").unwrap();
        assert_eq!(dir.read("f.json", Holds::Secrets).unwrap().unwrap(), b"two");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path.join("f.json")), 0o600);
        assert_eq!(mode(&path), 0o700);
        assert_eq!(dir.entries().unwrap(), vec!["f.json".to_string()], "no temporary file is left");
        // What was checked is what is used: the open directory follows a rename.
        std::fs::rename(&path, root.join("a").join("moved")).unwrap();
        std::fs::create_dir(&path).unwrap();
        dir.write_atomic("g.json", b"three").unwrap();
        assert!(root.join("a").join("moved").join("g.json").exists() && !path.join("g.json").exists());
        assert!(Dir::open(&root.join("missing"), false).unwrap().is_none());
        assert!(dir.remove("g.json").unwrap() && !dir.remove("g.json").unwrap());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
