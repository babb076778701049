//! OpenID Connect ID tokens kept with the access token (`tok print --id-token`,
//! `tok inspect --profile P --id-token`).
//!
//! The refresh rule: OIDC Core §12.2 lets a refresh reply leave the ID token out, so a
//! refresh without one keeps the one held (a reply with one replaces it). A kept ID token
//! may outlive its `exp`, so `--id-token` hands it out only while it has `min_ttl` left;
//! otherwise the caller gets a new token first, and when that brings no newer ID token
//! either, there is none to give (exit 3).

use crate::jwt;
use crate::secret::Secret;
use crate::token::TokenRecord;

/// After a refresh (RFC 6749 §6): a reply without an ID token keeps the old record's.
pub fn keep_on_refresh(refreshed: &mut TokenRecord, before: Option<&TokenRecord>) {
    if refreshed.id_token.is_none() {
        refreshed.id_token = before.and_then(|r| r.id_token.clone());
    }
}

/// Whether the ID token has more than `min_ttl` seconds left by its `exp` (local clock).
/// One without a readable `exp` (OIDC Core §2 requires it) is handed out as it is: tok
/// cannot tell its age, and the relying party checks it anyway.
pub fn fresh(id_token: &Secret, now: i64, min_ttl: i64) -> bool {
    match jwt::decode(id_token.expose()).ok().and_then(|claims| claims.time("exp")) {
        Some(exp) => exp > (now.saturating_add(min_ttl)) as f64,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn id_token(exp: Option<i64>) -> Secret {
        let b64 =
            |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let claims = match exp {
            Some(exp) => serde_json::json!({ "sub": "alice", "exp": exp }),
            None => serde_json::json!({ "sub": "alice" }),
        };
        Secret::new(format!("{}.{}.c2ln", b64(serde_json::json!({ "alg": "RS256" })), b64(claims)))
    }

    fn record(id: Option<&Secret>) -> TokenRecord {
        let life = crate::policy::Lifetime { sent_at: 1000.0, stated: Some(600.0), ..Default::default() };
        let mut r = TokenRecord::bearer(Secret::new("at".to_string()), &life, "b".into());
        r.id_token = id.cloned();
        r
    }

    #[test]
    fn a_refresh_without_an_id_token_keeps_the_old_one() {
        let (old, new) = (id_token(Some(5)), id_token(Some(9)));
        // (the refresh reply's ID token, the record before, the ID token kept)
        let cases = [
            (None, Some(&old), Some(&old)),
            (Some(&new), Some(&old), Some(&new)),
            (Some(&new), None, Some(&new)),
            (None, None, None),
        ];
        for (reply, before, want) in cases {
            let mut refreshed = record(reply);
            keep_on_refresh(&mut refreshed, Some(&record(before)));
            assert_eq!(
                refreshed.id_token.as_ref().map(Secret::expose),
                want.map(Secret::expose),
                "reply {:?}",
                reply.map(Secret::expose)
            );
        }
        let mut first = record(None);
        keep_on_refresh(&mut first, None);
        assert!(first.id_token.is_none());
    }

    #[test]
    fn fresh_by_exp_and_min_ttl() {
        let cases = [
            (Some(1100), 1000, 30, true),
            (Some(1030), 1000, 30, false),
            (Some(1031), 1000, 30, true),
            (Some(999), 1000, 0, false),
            (None, 1000, 30, true),
        ];
        for (exp, now, min_ttl, want) in cases {
            assert_eq!(fresh(&id_token(exp), now, min_ttl), want, "{exp:?} {now} {min_ttl}");
        }
        assert!(fresh(&Secret::new("opaque".to_string()), 1000, 30), "no exp to judge by");
    }
}
