//! Tokens the sandbox hands out: real JWT structure (header and claims as base64url
//! JSON) so tok's decoding is exercised, with a signature that only looks the part.
//! The sandbox recognises its tokens by keeping the ones it issued.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::hash::{BuildHasher, Hasher};

pub fn mint(alg: &str, claims: &Value, serial: u64) -> String {
    let header = serde_json::json!({ "alg": alg, "typ": "JWT" });
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut sig = Vec::with_capacity(64);
    let state = std::collections::hash_map::RandomState::new();
    for i in 0..8u64 {
        let mut h = state.build_hasher();
        h.write(body.as_bytes());
        h.write_u64(serial ^ i);
        sig.extend_from_slice(&h.finish().to_le_bytes());
    }
    format!("{head}.{body}.{}", URL_SAFE_NO_PAD.encode(sig))
}
