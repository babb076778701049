//! What Redis holds is sealed with the profile's own credential: key names are an HMAC,
//! values AES-256-GCM, both under keys derived (HKDF-SHA256) from the profile's binding
//! and secrets. Whoever reads or writes Redis without the credential sees opaque names
//! and cannot read, alter or plant a value that tok would accept.

use ring::{aead, hkdf, hmac};

pub struct Seal {
    id: String,
    aead: aead::LessSafeKey,
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl Seal {
    /// `secrets`: the profile's secret values in a fixed order (field name, value).
    pub fn new(binding: &str, secrets: &[(&str, &str)]) -> Seal {
        let mut ikm = Vec::new();
        for part in std::iter::once(("binding", binding)).chain(secrets.iter().copied()) {
            for text in [part.0, part.1] {
                ikm.extend_from_slice(&(text.len() as u64).to_be_bytes());
                ikm.extend_from_slice(text.as_bytes());
            }
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"tok shared cache v1").extract(&ikm);
        crate::http::zero(&mut ikm);
        let mut name_key = [0u8; 32];
        let mut value_key = [0u8; 32];
        prk.expand(&[b"key names"], Len(32))
            .and_then(|okm| okm.fill(&mut name_key))
            .expect("32 bytes fit HKDF");
        prk.expand(&[b"values"], Len(32))
            .and_then(|okm| okm.fill(&mut value_key))
            .expect("32 bytes fit HKDF");
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &name_key), b"entry");
        let id: String = tag.as_ref()[..20].iter().map(|b| format!("{b:02x}")).collect();
        let aead = aead::LessSafeKey::new(
            aead::UnboundKey::new(&aead::AES_256_GCM, &value_key).expect("a 32-byte AES key"),
        );
        crate::http::zero(&mut name_key);
        crate::http::zero(&mut value_key);
        Seal { id, aead }
    }

    /// The Redis key of one of the profile's items (`entry`, `lock`, ...).
    pub fn key(&self, item: &str) -> String {
        format!("tok:{}:{item}", self.id)
    }

    /// `v1.<version>.<nonce+ciphertext, base64>`: the version is in clear for the
    /// check-and-set script, and bound into the ciphertext (as is the key name), so it
    /// cannot be changed or the value moved without failing to open.
    pub fn seal(&self, version: u64, plain: &[u8]) -> Vec<u8> {
        use base64::Engine;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the OS random source");
        let mut data = plain.to_vec();
        let aad = self.aad(version);
        self.aead
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(&aad),
                &mut data,
            )
            .expect("AES-GCM seals any short input");
        let mut body = nonce.to_vec();
        body.extend_from_slice(&data);
        format!("v1.{version}.{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(body)).into_bytes()
    }

    /// The version and plain text, or `Err(version)` (the version as far as it can be
    /// read, for replacing it) when the value is not one this credential sealed.
    pub fn open(&self, value: &[u8]) -> Result<(u64, Vec<u8>), i64> {
        use base64::Engine;
        let text = std::str::from_utf8(value).map_err(|_| -1)?;
        let mut parts = text.splitn(3, '.');
        let (Some("v1"), Some(version), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(-1);
        };
        let version: u64 = version.parse().map_err(|_| -1)?;
        let bad = version.try_into().unwrap_or(-1);
        let mut body = base64::engine::general_purpose::STANDARD_NO_PAD.decode(body).map_err(|_| bad)?;
        if body.len() < 12 + aead::AES_256_GCM.tag_len() {
            return Err(bad);
        }
        let mut data = body.split_off(12);
        let nonce = aead::Nonce::try_assume_unique_for_key(&body).map_err(|_| bad)?;
        let aad = self.aad(version);
        let plain = self.aead.open_in_place(nonce, aead::Aad::from(&aad), &mut data).map_err(|_| bad)?;
        Ok((version, plain.to_vec()))
    }

    fn aad(&self, version: u64) -> Vec<u8> {
        format!("{}\n{version}", self.key("entry")).into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_credential_opens() {
        let a = Seal::new("b", &[("client_secret", "s1")]);
        let sealed = a.seal(7, b"record");
        assert_eq!(a.open(&sealed), Ok((7, b"record".to_vec())));
        let other_secret = Seal::new("b", &[("client_secret", "s2")]);
        let other_binding = Seal::new("c", &[("client_secret", "s1")]);
        let shifted = Seal::new("b", &[("client_secre", "ts1")]);
        for other in [&other_secret, &other_binding, &shifted] {
            assert_ne!(other.key("entry"), a.key("entry"));
            assert_eq!(other.open(&sealed), Err(7));
        }
        // The version is bound: changing it in clear does not open.
        let text = String::from_utf8(sealed.clone()).unwrap();
        assert_eq!(a.open(text.replacen("v1.7.", "v1.8.", 1).as_bytes()), Err(8));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(a.open(&flipped), Err(7));
        for garbage in [&b""[..], b"v1", b"v1.x.AAAA", b"v2.1.AAAA", b"v1.1.!!", b"v1.1.AAAA", b"\xff"] {
            assert!(a.open(garbage).is_err(), "{garbage:?}");
        }
        assert_eq!(a.key("entry").len(), "tok:".len() + 40 + ":entry".len());
    }
}
