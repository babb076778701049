//! What Rust's runtime does before `main`, for the glibc build, which starts from C's
//! `main` (see `main.rs`): descriptors 0-2 that are not open are opened on `/dev/null`
//! (so that a file tok opens never becomes its stdout), and SIGPIPE is ignored (a closed
//! stdout is an error tok reports as 141, not a signal). Left out: the main thread's
//! stack-overflow guard, which costs a read of /proc/self/maps at every start; without it
//! a stack overflow ends tok with SIGSEGV, as it would anyway, only without the runtime's
//! one-line message.

/// Before anything else in `main`.
pub fn init() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: poll, fcntl, open and signal take plain values and a local array; nothing
    // else runs yet.
    unsafe {
        open_standard_fds();
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe fn open_standard_fds() {
    let mut fds: [libc::pollfd; 3] =
        std::array::from_fn(|fd| libc::pollfd { fd: fd as libc::c_int, events: 0, revents: 0 });
    let closed: [bool; 3] = loop {
        // SAFETY: three pollfd entries, owned here.
        if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } != -1 {
            break std::array::from_fn(|i| fds[i].revents & libc::POLLNVAL != 0);
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            // poll cannot be used (a sandbox may forbid it): ask each descriptor.
            // SAFETY: F_GETFD on a descriptor number reads its flags only.
            _ => {
                break std::array::from_fn(
                    |fd| unsafe { libc::fcntl(fd as libc::c_int, libc::F_GETFD) } == -1,
                );
            }
        }
    };
    for (fd, closed) in closed.into_iter().enumerate() {
        // The lowest free descriptor is the closed one, as they are opened in order.
        // SAFETY: a constant, NUL-terminated path.
        if closed && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0) } != fd as libc::c_int {
            std::process::abort();
        }
    }
}
