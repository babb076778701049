//! Everything tok says to a person goes to stderr, through here.
//!
//! stdout is reserved for the data asked for (a token, a header, JSON), so that
//! `$(tok print x)` captures exactly that. Colour only on a terminal and never with
//! `NO_COLOR`.

use crate::error::Error;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn is_verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// `-v` output. Callers pass only what is safe to show: never a secret or token, and
/// text from outside tok wrapped in `secret::outside`.
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::term::is_verbose() {
            $crate::term::line("", &format!($($arg)*));
        }
    };
}
pub(crate) use verbose;

fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        && std::io::stderr().is_terminal()
}

fn paint(code: &str, text: &str) -> String {
    if colour() { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
}

/// Every line tok writes to stderr: token-like secrets cut out, then control characters
/// escaped, so that text from a server or a config file can neither leak a credential
/// nor move the cursor, recolour or fake a line of its own. Outside text in `message` was
/// scrubbed of every secret where it was embedded (`secret::outside`); the whole line is
/// not, since a password that is one of tok's words would be cut from tok's sentence and
/// so shown. The net (`secret::scrub_tokens`) takes only values no sentence holds.
pub fn line(label: &str, message: &str) {
    let message = crate::secret::scrub_tokens(message);
    // One write per line: stderr is unbuffered, and `writeln!` would make a system call
    // per piece (four per `tok proxy` request) and let lines of two threads interleave.
    let mut line = String::with_capacity(label.len() + message.len() + 8);
    line.push_str("tok: ");
    line.push_str(label);
    push_printable(&mut line, &message);
    line.push('\n');
    // A closed stderr must not turn into a panic or a different exit code.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `text` with control characters (escape sequences, line breaks, NUL...) escaped.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_printable(&mut out, text);
    out
}

fn push_printable(out: &mut String, text: &str) {
    if !text.chars().any(char::is_control) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
}

/// Writes the data asked for to stdout, all of it or an error. A reader that stopped
/// reading (`tok print p | true`, `| head -1`) is [`Error::stdout_closed`]: tok ends
/// quietly with 141, as a program the SIGPIPE ended would, without blaming itself.
pub fn stdout(bytes: &[u8]) -> crate::error::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).map_err(|e| match e.kind() {
        std::io::ErrorKind::BrokenPipe => Error::stdout_closed(),
        _ => Error::other(format!("cannot write to stdout: {e}")),
    })
}

pub fn error(e: &Error) {
    if e.kind() == crate::error::Kind::StdoutClosed {
        return;
    }
    line(&paint("1;31", "error: "), &e.to_string());
    if let Some(hint) = e.hint_text() {
        line(&paint("1;36", "hint: "), hint);
    }
}

pub fn warn(message: &str) {
    line(&paint("1;33", "warning: "), message);
}

pub fn note(message: &str) {
    line("", message);
}

/// In GitHub Actions, announces `value` to the runner with `::add-mask::` on stderr, so the
/// runner hides it in every later log line, before tok writes it anywhere a log can see.
/// stderr, not stdout: the runner reads workflow commands from both streams (in
/// actions/runner, `src/Runner.Worker/Handlers/ScriptHandler.cs` feeds `OutputDataReceived`
/// and `ErrorDataReceived` alike to an `OutputManager` with the `ActionCommandManager`),
/// and stdout must carry only the data asked for. Written raw: the scrubber would cut the
/// very value the runner must learn.
pub fn mask_in_ci(value: &str) {
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
        && !value.is_empty()
        && !value.contains(['\r', '\n'])
    {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "::add-mask::{value}");
        let _ = err.flush();
    }
}
