//! One function per grant (RFC 6749 §4.4 client credentials today).

use super::Params;
use super::token_request;
use crate::error::Result;
use crate::http::Http;
use crate::input::Secrets;
use crate::token::TokenRecord;

/// RFC 6749 §4.4: the client's own credentials buy a token.
pub fn client_credentials(p: &Params, http: &Http, secrets: &mut Secrets) -> Result<TokenRecord> {
    token_request::obtain(p, http, secrets)
}
