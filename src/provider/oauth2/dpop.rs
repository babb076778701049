//! DPoP at the authorization server (RFC 9449 §5, §8, §10): a proof on every token
//! request (and on a pushed authorization request), one retry with the server's nonce
//! when it asks for one, and a reply that must say `token_type: DPoP`.

use super::Params;
use crate::dpop::{self, Key};
use crate::error::Result;
use crate::http::{Reply, Request};
use crate::input::Secrets;

/// The profile's DPoP key, when its tokens are DPoP-bound.
pub fn key(p: &Params, secrets: &mut Secrets) -> Result<Option<Key>> {
    if !p.dpop {
        return Ok(None);
    }
    let pem = secrets.get(dpop::KEY_FIELD, dpop::KEY_LABEL)?;
    Key::from_secret(&pem).map(Some)
}

/// `request` with a fresh proof for its method and URL (no `ath`: no token yet).
pub fn attach(request: Request, key: Option<&Key>, nonce: Option<&str>) -> Result<Request> {
    let Some(key) = key else { return Ok(request) };
    let proof = key.proof(request.method.as_str(), &request.url, None, nonce)?;
    Ok(request.header("dpop", proof))
}

/// The nonce an authorization server asks for (§8): a 400 `use_dpop_nonce` with a
/// `DPoP-Nonce` header. A request is sent again with it once; a second ask is an error.
pub fn nonce_asked(reply: &Reply) -> Option<String> {
    dpop::nonce_asked(reply.status, reply.header("www-authenticate"), &reply.body, reply.header("dpop-nonce"))
}
