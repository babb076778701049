//! `tok proxy` for a DPoP profile: a fresh proof for every request it forwards (the
//! upstream request's method and URL, the token's hash, the upstream's latest nonce),
//! and each upstream's latest nonce, learnt from any answer's `DPoP-Nonce` (RFC 9449
//! §8.2: also on success) and from a `use_dpop_nonce` challenge, which the gateway
//! answers by sending the request once more when it can (`forward`'s replay rules).

use crate::dpop::{self, Key};
use hyper::header::{HeaderMap, HeaderValue};
use reqwest::Url;
use std::collections::HashMap;
use std::sync::Mutex;

pub struct Prover {
    key: Key,
    /// The latest nonce per upstream origin.
    nonces: Mutex<HashMap<String, String>>,
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl Prover {
    pub fn new(key: Key) -> Prover {
        Prover { key, nonces: Mutex::new(HashMap::new()) }
    }

    fn nonce(&self, url: &Url) -> Option<String> {
        self.nonces.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&origin(url)).cloned()
    }

    /// Adds the proof for this request. A proof that cannot be made leaves none: the
    /// upstream then refuses the request, which says more than a gateway error.
    pub fn add(&self, headers: &mut HeaderMap, method: &str, url: &Url, token: &str) {
        let nonce = self.nonce(url);
        match self.key.proof(method, url, Some(token), nonce.as_deref()) {
            Ok(proof) => {
                if let Ok(value) = HeaderValue::from_str(&proof) {
                    headers.insert("dpop", value);
                }
            }
            Err(e) => crate::term::warn(&format!("proxy: no DPoP proof for this request: {e}")),
        }
    }

    /// Keeps the nonce an answer gives; true when it is a challenge to answer (a 401
    /// asking for a nonce, with one).
    pub fn learn(&self, url: &Url, status: u16, headers: &HeaderMap) -> bool {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let Some(nonce) = text("dpop-nonce").map(str::trim).filter(|n| dpop::valid_nonce(n)) else {
            return false;
        };
        self.nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(origin(url), nonce.to_string());
        dpop::nonce_asked(status, text("www-authenticate"), b"", Some(nonce)).is_some()
    }

    /// A 401 challenging with `use_dpop_nonce`, answerable or not: it is about the proof,
    /// never the token, so it neither marks the token refused nor fetches a new one.
    pub fn about_the_proof(status: u16, headers: &HeaderMap) -> bool {
        status == 401
            && headers.get_all("www-authenticate").iter().filter_map(|v| v.to_str().ok()).any(|h| {
                let h = h.to_ascii_lowercase();
                h.trim_start().starts_with("dpop") && h.contains("use_dpop_nonce")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_401_nonce_challenge_is_about_the_proof() {
        let table: [(u16, &[&str], bool); 6] = [
            (401, &["DPoP error=\"use_dpop_nonce\""], true),
            (401, &["dpop algs=\"ES256\", error=\"USE_DPOP_NONCE\""], true),
            (401, &["Bearer realm=\"x\"", "DPoP error=\"use_dpop_nonce\""], true),
            (401, &["DPoP error=\"invalid_token\""], false),
            (401, &[], false),
            (403, &["DPoP error=\"use_dpop_nonce\""], false),
        ];
        for (status, challenges, want) in table {
            let mut headers = HeaderMap::new();
            for c in challenges {
                headers.append("www-authenticate", HeaderValue::from_str(c).unwrap());
            }
            assert_eq!(Prover::about_the_proof(status, &headers), want, "{status} {challenges:?}");
        }
    }
}
