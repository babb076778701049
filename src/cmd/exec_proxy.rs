//! `tok exec --proxy P -- CMD`: CMD runs with a `tok proxy` for each such profile, its base
//! URL in `TOK_<P>_URL`, and no token: the proxy keeps the credential fresh however long
//! CMD runs, and adds what a bound token needs (certificate, proof) to every request.
//!
//! So tok cannot replace itself with CMD: it stays as CMD's parent, serving the proxies
//! on threads of its own, and stops them when CMD ends. To look like plain `tok exec`
//! from outside, it exits with CMD's code, and when a signal ended CMD it ends itself
//! with the same signal. SIGINT and SIGQUIT come from the terminal to the whole process
//! group, CMD included: tok ignores them (CMD decides whether to end). SIGTERM, SIGHUP,
//! SIGUSR1 and SIGUSR2 are sent to one process, tok's: they are passed on to CMD.
//!
//! The URL carries the proxy's capability, the one thing a local process needs to use
//! the credential (`proxy::gate`); only the user's own processes can read CMD's
//! environment. It is valid while CMD runs.

use crate::cli::{ExecArgs, ProxyArgs};
use crate::error::{Error, Result};
use crate::flow::App;
use crate::profile::env_name;
use crate::term::{self, verbose};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, ExitCode, ExitStatus};

pub fn run(app: &App, args: &ExecArgs, mut command: Command, program: &std::ffi::OsStr) -> Result<ExitCode> {
    // Every proxy with its first token before CMD starts: a failure runs nothing (and the
    // proxies started so far stop when dropped).
    let mut proxies = Vec::new();
    for name in &args.proxy {
        let proxy = crate::proxy::start(
            app,
            &ProxyArgs {
                profile: name.clone(),
                // Port 0: the system picks a free port while binding, so nothing can take
                // it between a choice and its use.
                listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                allow_remote: false,
                upstream: None,
                min_ttl: args.min_ttl,
                no_retry: false,
                // Already in `app`: the command line's are merged there.
                globals: Default::default(),
            },
        )?;
        let var = env_name(name, "url");
        verbose!("exec: {var} for {name}, a proxy on {}", proxy.address);
        command.env(var, &proxy.url);
        proxies.push(proxy);
    }
    let status = supervise(command, program)?;
    for proxy in proxies {
        if let Err(e) = proxy.stop() {
            term::warn(&format!("exec: {e}"));
        }
    }
    Ok(exit_as(status))
}

/// Runs the command to its end, passing signals on as the module says.
fn supervise(mut command: Command, program: &std::ffi::OsStr) -> Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::other(format!("cannot wait for the command: {e}")))?;
    runtime.block_on(async {
        // Before the command starts, so no signal falls between; handlers do not survive
        // exec, so the command starts with the usual dispositions.
        let mut signals = Signals::new()?;
        let mut child = command.spawn().map_err(|e| super::exec::not_started(program, e))?;
        let pid = child.id();
        let (done, ended) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = done.send(child.wait());
        });
        tokio::pin!(ended);
        loop {
            tokio::select! {
                // First: once the command is reaped, its process id may be another's.
                biased;
                status = &mut ended => {
                    return match status {
                        Ok(Ok(status)) => Ok(status),
                        Ok(Err(e)) => Err(Error::other(format!("cannot wait for the command: {e}"))),
                        Err(_) => Err(Error::other("cannot wait for the command")),
                    };
                }
                signal = signals.next() => signal.pass_to(pid),
            }
        }
    })
}

#[cfg(unix)]
struct Signals {
    passed: Vec<(i32, tokio::signal::unix::Signal)>,
    ignored: Vec<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
struct Received(Option<i32>);

#[cfg(unix)]
impl Signals {
    fn new() -> Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |raw: i32| {
            signal(SignalKind::from_raw(raw)).map_err(|e| Error::other(format!("cannot handle signals: {e}")))
        };
        let mut passed = Vec::new();
        for raw in [libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2] {
            passed.push((raw, listen(raw)?));
        }
        let ignored = vec![listen(libc::SIGINT)?, listen(libc::SIGQUIT)?];
        Ok(Signals { passed, ignored })
    }

    async fn next(&mut self) -> Received {
        let Signals { passed, ignored } = self;
        let (passed, ignored) = (passed.as_mut_slice(), ignored.as_mut_slice());
        std::future::poll_fn(|cx| {
            for (raw, signal) in passed.iter_mut() {
                if signal.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(Received(Some(*raw)));
                }
            }
            for signal in ignored.iter_mut() {
                if signal.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(Received(None));
                }
            }
            std::task::Poll::Pending
        })
        .await
    }
}

#[cfg(unix)]
impl Received {
    fn pass_to(self, pid: u32) {
        if let (Some(raw), Ok(pid)) = (self.0, libc::pid_t::try_from(pid)) {
            verbose!("exec: passing signal {raw} on to the command");
            // SAFETY: kill takes plain integers and touches no memory of ours.
            unsafe {
                libc::kill(pid, raw);
            }
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
struct Received;

#[cfg(not(unix))]
impl Signals {
    fn new() -> Result<Signals> {
        Ok(Signals)
    }

    /// Ctrl-C reaches every process of the console, the command too: tok waits for it.
    async fn next(&mut self) -> Received {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        Received
    }
}

#[cfg(not(unix))]
impl Received {
    fn pass_to(self, _pid: u32) {}
}

/// The command's exit code; for a command a signal ended, that signal, as a shell sees
/// it after plain `tok exec`.
fn exit_as(status: ExitStatus) -> ExitCode {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(raw) = status.signal() {
            // Those that end a process without a core dump: tok's core is of no use.
            if [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGKILL, libc::SIGPIPE, libc::SIGALRM]
                .into_iter()
                .chain([libc::SIGUSR1, libc::SIGUSR2])
                .any(|s| s == raw)
            {
                // SAFETY: plain integers; the default action ends the process here.
                unsafe {
                    libc::signal(raw, libc::SIG_DFL);
                    libc::raise(raw);
                }
            }
            return ExitCode::from(u8::try_from(128 + raw).unwrap_or(1));
        }
    }
    match status.code().map(u8::try_from) {
        Some(Ok(code)) => ExitCode::from(code),
        _ => ExitCode::from(1),
    }
}
