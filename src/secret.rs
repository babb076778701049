//! A string that must not leak.
//!
//! Passwords, client secrets, API keys and tokens all travel in `Secret`. Its `Debug`
//! prints `(redacted)`, it has no `Display`, and getting at the text takes an explicit
//! `expose()`, which is easy to grep for. The bytes are overwritten when it is dropped.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: zero bytes are valid UTF-8, so the string stays well formed until freed.
        for byte in unsafe { self.0.as_bytes_mut() } {
            // A volatile write so the optimiser cannot drop a store to memory about to be freed.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "(redacted)");
        assert_eq!(format!("{:?}", Some(&s)), "Some((redacted))");
    }

    #[test]
    fn serde_is_transparent() {
        let s: Secret = serde_json::from_str("\"x y\"").unwrap();
        assert_eq!(s.expose(), "x y");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"x y\"");
    }
}
