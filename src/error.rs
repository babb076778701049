//! One error type whose kind *is* the exit code.
//!
//! Scripts branch on tok's exit status (`cli.md` documents each code), so the kind of a
//! failure is decided where it happens, not guessed from a message at the top.

use std::fmt;

/// What went wrong, as far as a script is concerned. The discriminant is the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anything else.
    Other = 1,
    /// Bad flags or arguments.
    Usage = 2,
    /// Not logged in, or credentials missing.
    NotLoggedIn = 3,
    /// The provider rejected the credentials or the token.
    Rejected = 4,
    /// Network or server failure, or a reply tok cannot understand.
    Network = 5,
    /// The secret store is unavailable or failed.
    Store = 6,
    /// Whoever read stdout went away (EPIPE): 128 + SIGPIPE, what a shell reports for a
    /// program the signal ended, since tok ignores the signal to end quietly instead.
    StdoutClosed = 141,
    /// Ctrl-C ended an interactive login: 128 + SIGINT, what a shell reports for a program
    /// the signal ended, since tok catches the signal to close its listener first.
    Interrupted = 130,
}

#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), hint: None }
    }
    pub fn other(message: impl Into<String>) -> Error {
        Error::new(Kind::Other, message)
    }
    pub fn usage(message: impl Into<String>) -> Error {
        Error::new(Kind::Usage, message)
    }
    pub fn not_logged_in(message: impl Into<String>) -> Error {
        Error::new(Kind::NotLoggedIn, message)
    }
    pub fn rejected(message: impl Into<String>) -> Error {
        Error::new(Kind::Rejected, message)
    }
    pub fn network(message: impl Into<String>) -> Error {
        Error::new(Kind::Network, message)
    }
    pub fn store(message: impl Into<String>) -> Error {
        Error::new(Kind::Store, message)
    }
    pub fn interrupted(message: impl Into<String>) -> Error {
        Error::new(Kind::Interrupted, message)
    }
    pub fn stdout_closed() -> Error {
        Error::new(Kind::StdoutClosed, "stdout was closed")
    }

    /// A second line telling the user what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// The same error, said of `what` (a profile's setting, a file): `what: message`.
    pub fn within(mut self, what: impl fmt::Display) -> Error {
        self.message = format!("{what}: {}", self.message);
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    pub fn exit_code(&self) -> u8 {
        self.kind as u8
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
