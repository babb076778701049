//! A generic API behind every provider, for `tok proxy` and anything else that needs
//! "a request with the credential": it accepts any token the sandbox issued (and not
//! revoked or expired), the merchant-v2 demo API key, or a valid NPS JWT.
//!
//!   ANY /echo/...          200 {"method", "path", "query", "headers", "body", "body_bytes"}
//!   GET /bytes?n=N         N bytes of 'x', streamed; with &hold=1, the first 64 KiB, then
//!                          the rest once `POST /_sandbox/release` is called (or after 10 s,
//!                          counted in stats as `hold_timeouts`)
//!
//! Anything else under these paths without a valid credential: 401.

use crate::{Reply, Req, State, merchant_v2, nelnet};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const HOLD_AT: u64 = 64 * 1024;
const HOLD_LONGEST: Duration = Duration::from_secs(10);

pub fn handles(path: &str) -> bool {
    path.starts_with("/echo/") || path == "/echo" || path == "/bytes"
}

fn authorized(state: &Mutex<State>, req: &Req) -> bool {
    if req.header("api-key") == Some(merchant_v2::API_KEY) {
        return true;
    }
    let issued = {
        let s = state.lock().unwrap();
        req.bearer().and_then(|t| s.issued.get(t)).is_some_and(|exp| *exp > s.now())
    };
    issued || nelnet::valid(state, req)
}

pub fn handle(state: &Mutex<State>, req: &Req) -> Option<Reply> {
    if !handles(&req.path) || req.path == "/bytes" {
        return None;
    }
    if !authorized(state, req) {
        return Some(Reply::json(401, &json!({ "error": "unauthorized" })));
    }
    let headers: BTreeMap<String, Value> = req.headers.iter().fold(BTreeMap::new(), |mut m, (k, v)| {
        let key = k.to_ascii_lowercase();
        match m.get_mut(&key) {
            Some(Value::String(first)) => *first = format!("{first}, {v}"),
            _ => {
                m.insert(key, Value::String(v.clone()));
            }
        }
        m
    });
    let mut reply = Reply::json(
        200,
        &json!({
            "method": req.method, "path": req.path, "query": req.query, "headers": headers,
            "body": String::from_utf8_lossy(&req.body[..req.body.len().min(4096)]),
            "body_bytes": req.body_bytes,
        }),
    );
    // A redirect within the API, for clients behind the gateway to follow.
    if let Some((_, to)) = url::form_urlencoded::parse(req.query.as_bytes()).find(|(k, _)| k == "redirect") {
        reply.status = 302;
        reply.headers.push(("Location".into(), to.into_owned()));
    }
    Some(reply)
}

/// `GET /bytes`: `Err` is a reply to send instead (401, 400).
pub fn bytes(state: &Arc<Mutex<State>>, req: &Req) -> Result<(u64, Body), Reply> {
    if !authorized(state, req) {
        return Err(Reply::json(401, &json!({ "error": "unauthorized" })));
    }
    let query: BTreeMap<&str, &str> = req.query.split('&').filter_map(|p| p.split_once('=')).collect();
    let n: u64 = query
        .get("n")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Reply::json(400, &json!({ "error": "n (a byte count) is required" })))?;
    let hold = query.get("hold") == Some(&"1");
    state.lock().unwrap().released = false;
    Ok((n, Body { left: n, sent: 0, hold, state: Arc::clone(state) }))
}

pub struct Body {
    left: u64,
    sent: u64,
    hold: bool,
    state: Arc<Mutex<State>>,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.hold && self.sent == HOLD_AT {
            let started = Instant::now();
            while !self.state.lock().unwrap().released && started.elapsed() < HOLD_LONGEST {
                std::thread::sleep(Duration::from_millis(5));
            }
            let mut s = self.state.lock().unwrap();
            if !s.released {
                s.hold_timeouts += 1;
            }
            self.hold = false;
        }
        let mut n = (buf.len() as u64).min(self.left);
        if self.hold {
            n = n.min(HOLD_AT - self.sent);
        }
        buf[..n as usize].fill(b'x');
        self.left -= n;
        self.sent += n;
        Ok(n as usize)
    }
}
