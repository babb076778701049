//! The token record: what tok keeps about one token, and the check every token passes
//! before it is stored or printed.

use crate::duration;
use crate::policy::{self, Lifetime};
use crate::secret::Secret;
use crate::term::verbose;
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Longer than any header a server accepts, short enough to notice garbage.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token: Secret,
    /// The header that carries it: `Authorization`, or `Api-key` for merchant-v2 keys.
    pub header: String,
    /// `Bearer`, or none when the header value is the bare token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Unix seconds, local clock: when the request that produced it was sent.
    pub obtained_at: i64,
    /// Unix seconds, local clock. `None`: it does not expire (an API key).
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// The OpenID Connect ID token that came with the access token (`tok print --id-token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_at: Option<i64>,
    /// The provider's clock minus this machine's when the token came (seconds), from the
    /// reply's `Date`: shown by `tok status PROFILE`, never used to decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew: Option<i64>,
    /// The settings the token was obtained with (provider, URL, user...). A token is only
    /// reused for the same settings, so changing `TOK_*_USERNAME` never hands out the old
    /// user's token.
    pub binding: String,
}

impl TokenRecord {
    /// A bearer token whose expiry follows from what is known about it.
    pub fn bearer(token: Secret, life: &Lifetime, binding: String) -> TokenRecord {
        let obtained_at = life.sent_at.floor() as i64;
        let expires_at = believed_expiry(life, "the token");
        TokenRecord {
            token,
            header: "Authorization".into(),
            scheme: Some("Bearer".into()),
            obtained_at,
            expires_at,
            refresh_token: None,
            id_token: None,
            refresh_expires_at: None,
            clock_skew: None,
            binding,
        }
    }

    /// The header value: `Bearer <token>`, or the bare token.
    pub fn header_value(&self) -> String {
        match &self.scheme {
            Some(scheme) => format!("{scheme} {}", self.token.expose()),
            None => self.token.expose().to_string(),
        }
    }

    pub fn header_line(&self) -> String {
        format!("{}: {}", self.header, self.header_value())
    }

    /// Seconds from `obtained_at` to `expires_at`, for the 10 % rule.
    pub fn lifetime(&self) -> Option<i64> {
        self.expires_at.map(|e| e.saturating_sub(self.obtained_at))
    }

    pub fn expires_in(&self, now: i64) -> Option<i64> {
        self.expires_at.map(|e| e.saturating_sub(now))
    }

    /// The record with its expiries bounded by `policy::MAX_LIFETIME`, for a record read
    /// from a store (an older tok kept `expires_in: 1e300` tokens for ever).
    pub fn bounded(mut self) -> TokenRecord {
        let obtained_at = self.obtained_at;
        self.expires_at = self.expires_at.map(|e| policy::bound_stored(obtained_at, e));
        self.refresh_expires_at = self.refresh_expires_at.map(|e| policy::bound_stored(obtained_at, e));
        self
    }

    pub fn needs_refresh(&self, now: i64, min_ttl: i64) -> bool {
        policy::needs_refresh(now, self.expires_at, self.lifetime(), min_ttl)
    }
}

/// `policy::expiry` in whole seconds; with `-v`, says when a claimed life was cut to the
/// bound, so that a token refreshed after a year while its server said "never" is no
/// surprise. `what` names the token in that line ("the token", "the refresh token").
pub fn believed_expiry(life: &Lifetime, what: &str) -> Option<i64> {
    let expiry = policy::expiry(life)?;
    if let Some(claimed) = expiry.claimed {
        let claimed = if claimed < 1e12 { duration::human(claimed as i64) } else { format!("{claimed:e}s") };
        verbose!(
            "{what} claims to last {claimed}; tok believes at most {} and refreshes it by then",
            duration::human(policy::MAX_LIFETIME as i64)
        );
    }
    Some(expiry.at.floor() as i64)
}

/// Every token passes this before tok stores or prints it: printable ASCII without
/// whitespace, of a sane length. A token with a space or newline would break headers and
/// shell scripts in ways far from the cause.
pub fn validate(token: &str) -> Result<(), String> {
    if token.is_empty() {
        return Err("the token is empty".into());
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(format!("the token is {} bytes long (the limit is {MAX_TOKEN_LEN})", token.len()));
    }
    if let Some(c) = token.chars().find(|c| !c.is_ascii_graphic()) {
        let what = match c {
            ' ' | '\t' => "a space or tab",
            '\r' | '\n' => "a line break",
            c if c.is_ascii_control() => "a control character",
            _ => "a non-ASCII character",
        };
        return Err(format!("the token contains {what}"));
    }
    Ok(())
}

pub fn now() -> i64 {
    now_f64().floor() as i64
}

pub fn now_f64() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_table() {
        assert!(validate("eyJhbGciOi.eyJzdWIi.sig-_~+/=").is_ok());
        assert!(validate("1|abc$def").is_ok());
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        let bad = [
            ("", "empty"),
            ("abc def", "space"),
            ("abc\tdef", "space or tab"),
            ("abc\n", "line break"),
            ("abc\r\ndef", "line break"),
            ("abc\u{0}", "control"),
            ("abc\u{7f}", "control"),
            ("tökén", "non-ASCII"),
            (long.as_str(), "limit"),
        ];
        for (token, want) in bad {
            let err = validate(token).unwrap_err();
            assert!(err.contains(want), "{token:?}: {err}");
        }
    }

    #[test]
    fn bearer_record_from_lifetime() {
        let life = Lifetime { sent_at: 1000.7, default: Some(600.0), ..Default::default() };
        let r = TokenRecord::bearer(Secret::new("t"), &life, "b".into());
        assert_eq!(r.obtained_at, 1000);
        assert_eq!(r.expires_at, Some(1600));
        assert_eq!(r.lifetime(), Some(600));
        assert_eq!(r.header_line(), "Authorization: Bearer t");
        assert_eq!(r.expires_in(1500), Some(100));
        assert!(!r.needs_refresh(1500, 30));
        assert!(r.needs_refresh(1541, 30));
        // A record read from a store cannot outlive the bound either.
        let forever =
            TokenRecord { expires_at: Some(i64::MAX), refresh_expires_at: Some(i64::MAX), ..r.clone() };
        let bounded = forever.bounded();
        assert_eq!(bounded.lifetime(), Some(policy::MAX_LIFETIME as i64));
        assert_eq!(bounded.refresh_expires_at, Some(1000 + policy::MAX_LIFETIME as i64));
        let ancient = TokenRecord { expires_at: Some(i64::MIN), obtained_at: i64::MAX, ..r.clone() };
        assert!(ancient.lifetime().is_some() && ancient.expires_in(i64::MAX).is_some(), "no overflow");
        // The token never appears in Debug output.
        assert!(!format!("{r:?}").contains("\"t\""));
    }
}
