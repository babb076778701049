//! How the client proves who it is at the token endpoint (RFC 6749 §2.3).
//!
//! Basic authentication follows RFC 6749 §2.3.1: the client id and secret are each
//! form-urlencoded, then `id:secret` is base64-encoded, with no trailing newline. (The
//! NetDirector document's `echo "id:secret" | base64` example encodes a newline; for
//! alphanumeric credentials the two agree otherwise.)

use crate::secret::Secret;
use base64::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Basic,
    Body,
}

/// `Basic base64(urlencode(id):urlencode(secret))`, RFC 6749 §2.3.1.
pub fn basic_auth(client_id: &str, secret: &str) -> Secret {
    let pair = Secret::new(format!("{}:{}", form_encode(client_id), form_encode(secret)));
    let encoded = Secret::new(base64::engine::general_purpose::STANDARD.encode(pair.expose()));
    Secret::new(format!("Basic {}", encoded.expose()))
}

pub(super) fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_table() {
        let decode = |header: &str| {
            let b64 = header.strip_prefix("Basic ").unwrap();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap()
        };
        // The document's example, minus its trailing newline.
        assert_eq!(
            basic_auth("myClientId", "myClientSecret").expose(),
            "Basic bXlDbGllbnRJZDpteUNsaWVudFNlY3JldA=="
        );
        let table = [
            ("id", "secret", "id:secret"),
            ("my client", "p@ss:w/rd", "my+client:p%40ss%3Aw%2Frd"),
            ("ü", "€&=+%", "%C3%BC:%E2%82%AC%26%3D%2B%25"),
            ("a:b", "", "a%3Ab:"),
        ];
        for (id, secret, pair) in table {
            let header = basic_auth(id, secret).expose().to_string();
            assert_eq!(decode(&header), pair, "{id} / {secret}");
            assert!(!header.ends_with('\n') && !decode(&header).ends_with('\n'));
        }
    }
}
