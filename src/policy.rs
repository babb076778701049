//! When a token expires, and when to replace it.
//!
//! Two pure functions, kept apart from I/O so that a table of cases pins them down.
//! Clocks disagree: a provider's `exp` is on the provider's clock, tok's decisions on
//! the local one. Taking the earliest of every estimate means a server clock that runs
//! ahead or behind can only make tok refresh early, never hand out an expired token.

/// Everything known about a token's life at the moment it arrives. Times are Unix
/// seconds on the local clock, except `jwt_exp`/`jwt_iat` which are on the issuer's.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Lifetime {
    /// When tok sent the request that produced the token.
    pub sent_at: f64,
    pub jwt_exp: Option<f64>,
    pub jwt_iat: Option<f64>,
    /// A lifetime the reply states, e.g. OAuth2 `expires_in`.
    pub stated: Option<f64>,
    /// The provider's documented lifetime, when the token says nothing.
    pub default: Option<f64>,
}

/// The longest life tok believes a token has: a year. A reply that says `expires_in:
/// 1e300` (or a JWT with `exp: 1e300`) would otherwise be handed out for ever, after it
/// was revoked, rotated or its key retired; a year is longer than any provider documents.
pub const MAX_LIFETIME: f64 = 365.0 * 86_400.0;

/// When a token expires, and whether that was cut down to `MAX_LIFETIME`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expiry {
    pub at: f64,
    /// The seconds of life the token claimed, when more than `MAX_LIFETIME` (then `at` is
    /// `sent_at + MAX_LIFETIME`).
    pub claimed: Option<f64>,
}

/// The earliest of: the JWT's `exp`; send time + (`exp` − `iat`); send time + the stated
/// lifetime; send time + the documented default; never later than send time +
/// `MAX_LIFETIME`, never earlier than send time − `MAX_LIFETIME` (a token that expired
/// long ago is simply expired; the bound keeps the arithmetic in range). `None` only when
/// nothing bounds the token's life (an API key).
pub fn expiry(l: &Lifetime) -> Option<Expiry> {
    let span = match (l.jwt_exp, l.jwt_iat) {
        (Some(exp), Some(iat)) => Some(l.sent_at + (exp - iat)),
        _ => None,
    };
    let at = [l.jwt_exp, span, l.stated.map(|s| l.sent_at + s), l.default.map(|d| l.sent_at + d)]
        .into_iter()
        .flatten()
        // An infinite claim is the longest claim of all, capped below; NaN says nothing.
        .filter(|t| !t.is_nan())
        .reduce(f64::min)?;
    let (latest, earliest) = (l.sent_at + MAX_LIFETIME, l.sent_at - MAX_LIFETIME);
    Some(if at > latest {
        Expiry { at: latest, claimed: Some(at - l.sent_at) }
    } else {
        Expiry { at: at.max(earliest), claimed: None }
    })
}

/// A stored expiry, bounded as `expiry` bounds a new one: a record written by an older tok
/// (or edited by hand) cannot outlive the rule.
pub fn bound_stored(obtained_at: i64, expires_at: i64) -> i64 {
    let max = MAX_LIFETIME as i64;
    expires_at.clamp(obtained_at.saturating_sub(max), obtained_at.saturating_add(max))
}

/// Refresh when the remaining life is at most the larger of `min_ttl` and 10 % of the
/// token's lifetime. A token with no expiry never needs it.
pub fn needs_refresh(now: i64, expires_at: Option<i64>, lifetime: Option<i64>, min_ttl: i64) -> bool {
    let Some(expires_at) = expires_at else {
        return false;
    };
    let tenth = lifetime.unwrap_or(0).max(0) / 10;
    expires_at.saturating_sub(now) <= min_ttl.max(tenth)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: f64 = 1_700_000_000.0;

    #[test]
    fn expiry_table() {
        let none = Lifetime { sent_at: T, ..Default::default() };
        let cases = [
            ("nothing known", none, None),
            ("default only", Lifetime { default: Some(36_000.0), ..none }, Some(T + 36_000.0)),
            (
                "stated beats longer default",
                Lifetime { stated: Some(3_600.0), default: Some(36_000.0), ..none },
                Some(T + 3_600.0),
            ),
            ("exp alone", Lifetime { jwt_exp: Some(T + 1_800.0), ..none }, Some(T + 1_800.0)),
            ("fractional exp", Lifetime { jwt_exp: Some(T + 0.5), ..none }, Some(T + 0.5)),
            // Server clock 1 h ahead: exp looks 2 h away, but the token lives 1 h.
            (
                "server ahead",
                Lifetime { jwt_exp: Some(T + 7_200.0), jwt_iat: Some(T + 3_600.0), ..none },
                Some(T + 3_600.0),
            ),
            // Server clock 1 h behind: exp is already near; trust the earlier one.
            (
                "server behind",
                Lifetime { jwt_exp: Some(T - 1_800.0), jwt_iat: Some(T - 3_600.0), ..none },
                Some(T - 1_800.0),
            ),
            (
                "exp shorter than stated",
                Lifetime { jwt_exp: Some(T + 60.0), stated: Some(3_600.0), ..none },
                Some(T + 60.0),
            ),
            (
                "stated shorter than exp",
                Lifetime { jwt_exp: Some(T + 3_600.0), stated: Some(60.0), ..none },
                Some(T + 60.0),
            ),
            (
                "NaN ignored",
                Lifetime { jwt_exp: Some(f64::NAN), default: Some(10.0), ..none },
                Some(T + 10.0),
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(expiry(&input).map(|e| e.at), want, "{name}");
        }
    }

    #[test]
    fn lifetime_cap_table() {
        let none = Lifetime { sent_at: T, ..Default::default() };
        let year = MAX_LIFETIME;
        // (name, lifetime, expiry, claimed life when capped)
        let cases = [
            ("stated 1e300", Lifetime { stated: Some(1e300), ..none }, Some(T + year), Some(1e300)),
            ("exp 1e300", Lifetime { jwt_exp: Some(1e300), ..none }, Some(T + year), Some(1e300 - T)),
            (
                "exp and iat 1e300 apart",
                Lifetime { jwt_exp: Some(1e300), jwt_iat: Some(T), ..none },
                Some(T + year),
                Some(1e300 - T),
            ),
            ("stated f64::MAX", Lifetime { stated: Some(f64::MAX), ..none }, Some(T + year), Some(f64::MAX)),
            (
                "stated infinite",
                Lifetime { stated: Some(f64::INFINITY), ..none },
                Some(T + year),
                Some(f64::INFINITY),
            ),
            ("exp -infinite", Lifetime { jwt_exp: Some(f64::NEG_INFINITY), ..none }, Some(T - year), None),
            (
                "infinite exp, default bounds",
                Lifetime { jwt_exp: Some(f64::INFINITY), default: Some(600.0), ..none },
                Some(T + 600.0),
                None,
            ),
            ("exactly a year", Lifetime { stated: Some(year), ..none }, Some(T + year), None),
            (
                "a year and a second",
                Lifetime { stated: Some(year + 1.0), ..none },
                Some(T + year),
                Some(year + 1.0),
            ),
            (
                "a short exp beats a huge stated",
                Lifetime { jwt_exp: Some(T + 60.0), stated: Some(1e300), ..none },
                Some(T + 60.0),
                None,
            ),
            ("exp zero: long expired", Lifetime { jwt_exp: Some(0.0), ..none }, Some(T - year), None),
            ("exp -1e300", Lifetime { jwt_exp: Some(-1e300), ..none }, Some(T - year), None),
            ("stated zero", Lifetime { stated: Some(0.0), ..none }, Some(T), None),
            ("stated negative", Lifetime { stated: Some(-5.0), ..none }, Some(T - 5.0), None),
        ];
        for (name, input, at, claimed) in cases {
            let got = expiry(&input);
            assert_eq!(got.map(|e| e.at), at, "{name}");
            assert_eq!(got.and_then(|e| e.claimed), claimed, "{name}");
        }
    }

    #[test]
    fn stored_expiry_table() {
        let year = MAX_LIFETIME as i64;
        let t = T as i64;
        let cases = [
            ("ordinary", t, t + 3_600, t + 3_600),
            ("forever", t, i64::MAX, t + year),
            ("long ago", t, i64::MIN, t - year),
            ("obtained at i64::MAX", i64::MAX, i64::MAX, i64::MAX),
            ("obtained at i64::MIN", i64::MIN, 0, i64::MIN + year),
        ];
        for (name, obtained, expires, want) in cases {
            assert_eq!(bound_stored(obtained, expires), want, "{name}");
        }
    }

    #[test]
    fn refresh_table() {
        let now = 1_000_000;
        // (name, expires_in, lifetime, min_ttl, refresh?)
        let cases = [
            ("no expiry", None, None, 30, false),
            ("plenty left", Some(3_000), Some(3_600), 30, false),
            ("just above 10 %", Some(361), Some(3_600), 30, false),
            ("exactly 10 %", Some(360), Some(3_600), 30, true),
            ("below 10 %", Some(359), Some(3_600), 30, true),
            ("nexterpay sandbox at 540 min", Some(3_600), Some(36_000), 30, true),
            ("nexterpay sandbox at 539 min", Some(3_660), Some(36_000), 30, false),
            ("min-ttl dominates short tokens", Some(31), Some(300), 30, false),
            ("at min-ttl", Some(30), Some(300), 30, true),
            ("larger min-ttl", Some(500), Some(3_600), 600, true),
            ("expired", Some(-5), Some(3_600), 30, true),
            ("unknown lifetime uses min-ttl", Some(31), None, 30, false),
            ("zero min-ttl, tiny token", Some(1), Some(5), 0, false),
            ("zero min-ttl, expired now", Some(0), Some(5), 0, true),
        ];
        for (name, expires_in, lifetime, min_ttl, want) in cases {
            let got = needs_refresh(now, expires_in.map(|e: i64| now + e), lifetime, min_ttl);
            assert_eq!(got, want, "{name}");
        }
    }
}
