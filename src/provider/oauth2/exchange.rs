//! Token exchange (RFC 8693): the token of another tok profile (the subject) buys one
//! for this profile's API. The subject token comes from the caller (`flow::subject_token`,
//! which got it before taking this profile's lock, and refused chains that loop); it is a
//! secret like any other: registered, never logged, never in a message.

use super::token_request::{self, Failure};
use super::{ACCESS_TOKEN_TYPE, Params};
use crate::error::{Error, Result};
use crate::http::{self, Http};
use crate::input::Secrets;
use crate::token::TokenRecord;
use serde_json::{Map, Value};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

pub fn token_exchange(p: &Params, http: &Http, secrets: &mut Secrets) -> Result<TokenRecord> {
    let Some(subject) = secrets.subject().cloned() else {
        // `flow` hands the subject token in for every token_exchange profile.
        return Err(Error::other(format!(
            "profile '{}' exchanges a token but was given no subject token",
            secrets.profile()
        )));
    };
    let mut fields = vec![
        ("grant_type".to_string(), GRANT_TYPE.to_string()),
        ("subject_token".to_string(), subject.expose().to_string()),
        ("subject_token_type".to_string(), p.subject_token_type.clone()),
    ];
    if let Some(requested) = &p.requested_token_type {
        fields.push(("requested_token_type".to_string(), requested.clone()));
    }
    fields.extend(token_request::request_params(p));
    token_request::exchange_checked(p, http, secrets, fields, check_reply)
        .map_err(|Failure { error, .. }| error)
}

/// RFC 8693 §2.2.1: `issued_token_type` is required; `token_type` is `N_A` when the
/// issued token is no access token (then it is handed out as it is, like a bearer token).
fn check_reply(reply: &mut Map<String, Value>) -> Result<(), String> {
    let issued = match reply.get("issued_token_type") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        Some(_) => return Err("issued_token_type is not a string".into()),
        None => return Err("there is no issued_token_type (RFC 8693 §2.2.1 requires it)".into()),
    };
    if reply.get("token_type").and_then(Value::as_str) == Some("N_A") {
        if issued == ACCESS_TOKEN_TYPE {
            return Err("token_type N_A says the issued token is no access token, yet issued_token_type says it is one".into());
        }
        reply.remove("token_type");
    }
    crate::term::verbose!("token exchange issued a {}", http::clean(&issued, 100));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn check_reply_table() {
        let jwt_type = "urn:ietf:params:oauth:token-type:jwt";
        let cases = [
            (json!({"issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "Bearer"}), Ok(Some("Bearer"))),
            (json!({"issued_token_type": jwt_type, "token_type": "N_A"}), Ok(None)),
            (json!({"issued_token_type": jwt_type}), Ok(None)),
            (json!({"token_type": "Bearer"}), Err("there is no issued_token_type")),
            (json!({"issued_token_type": 7}), Err("not a string")),
            (json!({"issued_token_type": ""}), Err("not a string")),
            (json!({"issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "N_A"}), Err("N_A")),
        ];
        for (reply, want) in cases {
            let mut object = reply.as_object().unwrap().clone();
            let got = check_reply(&mut object);
            match want {
                Ok(token_type) => {
                    assert!(got.is_ok(), "{reply}: {got:?}");
                    assert_eq!(object.get("token_type").and_then(Value::as_str), token_type, "{reply}");
                }
                Err(part) => assert!(got.as_ref().is_err_and(|e| e.contains(part)), "{reply}: {got:?}"),
            }
        }
    }
}
