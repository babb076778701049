//! The device authorization grant (RFC 8628) of the `/as` issuer:
//!
//! - `POST /as/device` (also `/as8414/device`): any `/as` client authentication, or the
//!   public client `device-public` with its `client_id` alone (which also refreshes so). The reply has a
//!   `verification_uri_complete`, `interval: 1` and `expires_in: 600`; the setting
//!   `device.reply` (an object) is merged over it, a `null` removing a field.
//! - `POST /as/token` with `grant_type=urn:ietf:params:oauth:grant-type:device_code`:
//!   polls are answered by the setting `device` as it stood when the code was issued:
//!   `slow_down` (the first poll gets `slow_down`), then `pending` polls get
//!   `authorization_pending`, then `outcome`: tokens when absent, else that error
//!   (`expired_token`, `access_denied`). A device code gives tokens once, to its client.

use crate::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const PUBLIC_CLIENT: &str = "device-public";

/// How the next device codes' polls are answered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Script {
    pub slow_down: bool,
    pub pending: u32,
    pub outcome: Option<String>,
    pub reply: Option<Value>,
}

/// A device code issued and not yet spent.
#[derive(Debug, Clone)]
pub struct Code {
    client: String,
    script: Script,
    polls: u32,
}

pub type Codes = BTreeMap<String, Code>;

/// The device authorization reply for `client`, already authenticated (or public).
pub fn authorize(s: &mut State, client: &str, issuer: &str) -> (u16, Value) {
    s.serial += 1;
    let device_code = format!("dc-{}-{}", s.serial, s.now());
    let user_code = format!("SBX-{:04}", s.serial % 10_000);
    let script = s.settings.device.clone();
    let mut reply = json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": format!("{issuer}/activate"),
        "verification_uri_complete": format!("{issuer}/activate?user_code={user_code}"),
        "interval": 1,
        "expires_in": 600,
    });
    if let Some(Value::Object(changes)) = &script.reply {
        for (k, v) in changes {
            match v {
                Value::Null => {
                    reply.as_object_mut().map(|o| o.remove(k));
                }
                v => reply[k] = v.clone(),
            }
        }
    }
    s.device_codes.insert(device_code, Code { client: client.to_string(), script, polls: 0 });
    (200, reply)
}

/// One poll: `Ok` when tokens are due, else the error to answer with.
pub fn poll(s: &mut State, device_code: Option<&str>, client: &str) -> Result<(), (u16, &'static str)> {
    let Some(code) = device_code.and_then(|c| s.device_codes.get_mut(c)) else {
        return Err((400, "invalid_grant"));
    };
    if code.client != client {
        return Err((400, "invalid_grant"));
    }
    code.polls += 1;
    let mut step = code.polls;
    if code.script.slow_down {
        if step == 1 {
            return Err((400, "slow_down"));
        }
        step -= 1;
    }
    if step <= code.script.pending {
        return Err((400, "authorization_pending"));
    }
    match code.script.outcome.as_deref() {
        None => {
            let spent = device_code.unwrap_or_default().to_string();
            s.device_codes.remove(&spent);
            Ok(())
        }
        Some("access_denied") => Err((400, "access_denied")),
        Some("expired_token") => Err((400, "expired_token")),
        Some(_) => Err((400, "invalid_grant")),
    }
}
