//! The rule for every successful token reply, of every provider: each token it holds is
//! registered with the scrubber before any check may refuse the reply, since a refusal
//! quotes the start of the body. A refused reply's refresh token (or second token) is as
//! secret as the one of a reply tok keeps.

use serde_json::Value;

/// Registers every token `body` holds: a body that is one JSON string (NexterPay's), and
/// at any depth every string under a key naming a token (`access_token`, `refreshToken`,
/// `id_token`, `data.accessToken`, ...). `token_type`-like keys name a kind, not a token.
pub fn register(body: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        walk(&value, !value.is_object());
    }
}

/// `tokenish`: under a key naming a token, where every string is one, however nested.
fn walk(value: &Value, tokenish: bool) {
    match value {
        Value::String(text) if tokenish => crate::secret::register(text),
        Value::Array(items) => items.iter().for_each(|item| walk(item, tokenish)),
        Value::Object(object) => object.iter().for_each(|(key, item)| walk(item, inherits(tokenish, key))),
        _ => {}
    }
}

fn inherits(tokenish: bool, key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    !key.ends_with("type") && (tokenish || key.contains("token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_fields_at_any_depth_are_registered_and_kinds_are_not() {
        // (body, registered, not registered)
        let table: [(&str, &[&str], &[&str]); 6] = [
            (
                r#"{"access_token":"at-1111","refresh_token":"rt-1111","id_token":"it-1111","token_type":"Bearer","expires_in":"soon"}"#,
                &["at-1111", "rt-1111", "it-1111"],
                &["Bearer", "soon"],
            ),
            (
                r#"{"data":{"accessToken":"at-2222","expiresIn":5,"refreshToken":"rt-2222"}}"#,
                &["at-2222", "rt-2222"],
                &[],
            ),
            (
                r#"{"access_token":"at-3333","issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}"#,
                &["at-3333"],
                &["urn:ietf:params:oauth:token-type:access_token"],
            ),
            (r#""np-4444.jwt""#, &["np-4444.jwt"], &[]),
            (r#"{"tokens":[{"value":"nested-5555"}],"scope":"read-5555"}"#, &["nested-5555"], &["read-5555"]),
            ("not json rt-6666", &[], &["rt-6666"]),
        ];
        for (body, registered, plain) in table {
            register(body.as_bytes());
            for secret in registered {
                let shown = crate::secret::scrub(&format!("[{secret}]"));
                assert!(!shown.contains(secret), "{body}: {secret} was not registered: {shown}");
            }
            for word in plain {
                assert!(crate::secret::scrub(word).contains(word), "{body}: {word} was registered");
            }
        }
    }
}
