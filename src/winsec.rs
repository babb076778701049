//! Windows: what Unix modes give tok elsewhere, built from security descriptors.
//!
//! Files and directories holding secrets get a protected DACL that grants the current
//! user alone full control (no inherited entries, so not Administrators' or anyone's
//! else). `tok curl` hands curl the header through a named pipe with the same owner-only
//! DACL, a random 128-bit name, one instance and remote clients rejected: curl opens it
//! like a file (`-H @\\.\pipe\tok-…`), and no other user can open it, nor can anyone see
//! the header on a command line.

use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_PIPE_CONNECTED, GENERIC_READ, GENERIC_WRITE, GetLastError, HANDLE,
    INVALID_HANDLE_VALUE, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
    SE_FILE_OBJECT, SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{
    DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl, GetTokenInformation,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES, TOKEN_QUERY, TOKEN_USER,
    TokenUser,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_FIRST_PIPE_INSTANCE, FlushFileBuffers, OPEN_EXISTING, PIPE_ACCESS_INBOUND,
    PIPE_ACCESS_OUTBOUND, ReadFile, WriteFile,
};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_BYTE, PIPE_WAIT,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

fn wide(text: &OsStr) -> Vec<u16> {
    text.encode_wide().chain(Some(0)).collect()
}

/// The current user's SID as text (`S-1-5-21-…`).
fn user_sid() -> io::Result<String> {
    // SAFETY: plain Win32 calls with out-parameters sized as the API asks; every handle
    // and allocation is released before returning.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buffer = vec![0u8; 256];
        let mut needed = 0u32;
        let ok = GetTokenInformation(
            token,
            TokenUser,
            buffer.as_mut_ptr().cast(),
            buffer.len() as u32,
            &mut needed,
        );
        CloseHandle(token);
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        let user = &*(buffer.as_ptr() as *const TOKEN_USER);
        let mut text: *mut u16 = std::ptr::null_mut();
        if ConvertSidToStringSidW(user.User.Sid, &mut text) == 0 {
            return Err(io::Error::last_os_error());
        }
        let len = (0..).take_while(|&i| *text.add(i) != 0).count();
        let sid = String::from_utf16_lossy(std::slice::from_raw_parts(text, len));
        LocalFree(text.cast());
        Ok(sid)
    }
}

/// A self-relative security descriptor granting the current user alone `rights`
/// (SDDL rights: `FA` file all, `GA` generic all), with a protected DACL.
struct OwnerOnly(PSECURITY_DESCRIPTOR);

impl OwnerOnly {
    fn new(rights: &str, inherit: bool) -> io::Result<OwnerOnly> {
        let flags = if inherit { "OICI" } else { "" };
        let sddl = format!("D:P(A;{flags};{rights};;;{})", user_sid()?);
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: a NUL-terminated SDDL string in, a LocalAlloc'd descriptor out.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide(OsStr::new(&sddl)).as_ptr(),
                SDDL_REVISION_1,
                &mut descriptor,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnerOnly(descriptor))
    }
}

impl Drop for OwnerOnly {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
        unsafe { LocalFree(self.0) };
    }
}

/// Replaces the DACL of `path` with one granting the current user alone full control;
/// a directory's entry is inherited by what is created inside it.
pub fn restrict_to_owner(path: &Path, directory: bool) -> io::Result<()> {
    let descriptor = OwnerOnly::new("FA", directory)?;
    // SAFETY: the descriptor outlives the calls; the DACL pointer points into it.
    unsafe {
        let (mut present, mut defaulted) = (0, 0);
        let mut dacl = std::ptr::null_mut();
        if GetSecurityDescriptorDacl(descriptor.0, &mut present, &mut dacl, &mut defaulted) == 0 {
            return Err(io::Error::last_os_error());
        }
        let status = SetNamedSecurityInfoW(
            wide(path.as_os_str()).as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            dacl,
            std::ptr::null(),
        );
        if status != 0 {
            return Err(io::Error::from_raw_os_error(status as i32));
        }
    }
    Ok(())
}

/// The server end of a named pipe only the current user can open.
pub struct Pipe {
    handle: HANDLE,
    /// `\\.\pipe\tok-<32 hex digits>`, for curl's command line.
    pub name: String,
}

// SAFETY: a pipe handle may be used from any thread; each Pipe is used by one at a time.
unsafe impl Send for Pipe {}

impl Pipe {
    /// `outbound`: tok writes (the header); otherwise tok reads (a header dump).
    pub fn new(outbound: bool) -> io::Result<Pipe> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
        let name =
            format!("\\\\.\\pipe\\tok-{}", random.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let descriptor = OwnerOnly::new("GA", false)?;
        let attributes = SECURITY_ATTRIBUTES {
            nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: descriptor.0,
            bInheritHandle: 0,
        };
        let access = if outbound { PIPE_ACCESS_OUTBOUND } else { PIPE_ACCESS_INBOUND };
        // SAFETY: a NUL-terminated name and attributes that live across the call.
        let handle = unsafe {
            CreateNamedPipeW(
                wide(OsStr::new(&name)).as_ptr(),
                access | FILE_FLAG_FIRST_PIPE_INSTANCE,
                PIPE_TYPE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                1,
                64 * 1024,
                64 * 1024,
                0,
                &attributes,
            )
        };
        if handle == INVALID_HANDLE_VALUE {
            return Err(io::Error::last_os_error());
        }
        Ok(Pipe { handle, name })
    }

    /// Waits for the client (curl) to open the pipe.
    fn connect(&self) -> io::Result<()> {
        // SAFETY: a valid pipe handle, synchronous mode.
        let ok = unsafe { ConnectNamedPipe(self.handle, std::ptr::null_mut()) };
        if ok == 0 && unsafe { GetLastError() } != ERROR_PIPE_CONNECTED {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits for curl, then writes `bytes` and closes the pipe.
    pub fn serve(self, bytes: &[u8]) -> io::Result<()> {
        self.connect()?;
        let mut written = 0u32;
        // SAFETY: the buffer outlives the synchronous call.
        let ok = unsafe {
            WriteFile(self.handle, bytes.as_ptr(), bytes.len() as u32, &mut written, std::ptr::null_mut())
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        unsafe { FlushFileBuffers(self.handle) };
        Ok(())
    }

    /// Waits for curl, then reads what it writes, up to `limit` bytes, until it closes.
    pub fn collect(self, limit: usize) -> Vec<u8> {
        let mut out = Vec::new();
        if self.connect().is_err() {
            return out;
        }
        let mut buffer = [0u8; 8192];
        loop {
            let mut read = 0u32;
            // SAFETY: the buffer outlives the synchronous call.
            let ok = unsafe {
                ReadFile(
                    self.handle,
                    buffer.as_mut_ptr(),
                    buffer.len() as u32,
                    &mut read,
                    std::ptr::null_mut(),
                )
            };
            if ok == 0 || read == 0 {
                break;
            }
            if out.len() < limit {
                out.extend_from_slice(&buffer[..read as usize]);
            }
        }
        out
    }

    /// Unblocks a `serve` or `collect` still waiting for a curl that exited without
    /// opening the pipe: opening it ourselves lets the wait return.
    /// `outbound` as given to `new`: the client end opens the other way round.
    pub fn release(name: &str, outbound: bool) {
        let access = if outbound { GENERIC_READ } else { GENERIC_WRITE };
        // SAFETY: a NUL-terminated name; the handle, if any, is closed at once.
        unsafe {
            let handle = CreateFileW(
                wide(OsStr::new(name)).as_ptr(),
                access,
                0,
                std::ptr::null(),
                OPEN_EXISTING,
                0,
                std::ptr::null_mut(),
            );
            if handle != INVALID_HANDLE_VALUE {
                CloseHandle(handle);
            }
        }
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // SAFETY: the handle came from CreateNamedPipeW and is closed once.
        unsafe { CloseHandle(self.handle) };
    }
}

/// `fs::rename` of `from` over `to`, waiting out readers of `to`. Windows without POSIX
/// rename semantics (FAT, network shares, Wine) refuses to replace a file that another
/// process has open, even one opened with `FILE_SHARE_DELETE`: `tok print`'s lock-free
/// reads hold the token file for an instant, and a writer that gave up then lost the
/// token it had just obtained ("the new token was not saved"), so the next tok refreshed
/// again. A reader lets go within microseconds; two seconds is far more than enough.
pub fn rename_replacing(from: &Path, to: &Path) -> io::Result<()> {
    const ACCESS_DENIED: i32 = 5;
    const SHARING_VIOLATION: i32 = 32;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match std::fs::rename(from, to) {
            Err(e)
                if matches!(e.raw_os_error(), Some(ACCESS_DENIED | SHARING_VIOLATION))
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under Wine (and on volumes without POSIX renames) the plain rename fails here.
    #[test]
    fn a_rename_over_a_file_being_read_waits_for_the_reader() {
        let dir = tempfile::tempdir().unwrap();
        let (target, new) = (dir.path().join("token.json"), dir.path().join(".token.json.tmp"));
        std::fs::write(&target, b"old").unwrap();
        std::fs::write(&new, b"new").unwrap();
        let reader = std::fs::File::open(&target).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(reader);
        });
        rename_replacing(&new, &target).unwrap();
        release.join().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }
}
