//! What passes between a client and the API, header by header.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are dropped both
//! ways, with any header a `Connection` header names. Towards the API the client's own
//! credential headers go too, and `Host` becomes the upstream's. Towards the client the
//! provider's token header (NetDirector V1 hands out newer tokens in responses) is kept
//! back: the point of the gateway is that clients never hold the credential. A
//! `Location` into the API is rewritten to the gateway, so that a client following it
//! stays authenticated instead of going around.

use hyper::HeaderMap;
use hyper::header::{self, HeaderName, HeaderValue};
use reqwest::Url;

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers named in `Connection`, which are hop-by-hop too.
fn named_by_connection(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

fn copy(from: &HeaderMap, drop: impl Fn(&HeaderName) -> bool) -> HeaderMap {
    let named = named_by_connection(from);
    let mut out = HeaderMap::with_capacity(from.len());
    for (name, value) in from {
        if HOP_BY_HOP.contains(&name.as_str()) || named.iter().any(|n| n == name.as_str()) || drop(name) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// The client's headers as the API gets them, before tok adds the credential `credential`.
/// `Expect` goes too: the gateway answers `100-continue` itself. So does `Content-Length`:
/// the body's own length decides it, so that a request framed two ways (a length and
/// chunks) reaches the API framed one way, the way the gateway read it.
pub fn to_upstream(from: &HeaderMap, credential: &HeaderName) -> HeaderMap {
    copy(from, |name| {
        name == header::HOST
            || name == header::EXPECT
            || name == header::CONTENT_LENGTH
            || name == header::AUTHORIZATION
            || name == credential
    })
}

/// The API's headers as the client gets them.
pub fn to_client(from: &HeaderMap, kept_back: Option<&str>, upstream: &Url, public: &str) -> HeaderMap {
    let mut out = copy(from, |name| kept_back.is_some_and(|k| name.as_str().eq_ignore_ascii_case(k)));
    if let Some(location) = out.get(header::LOCATION).and_then(|v| v.to_str().ok())
        && let Some(moved) = rewrite_location(location, upstream, public)
        && let Ok(value) = HeaderValue::from_str(&moved)
    {
        out.insert(header::LOCATION, value);
    }
    out
}

/// A `Location` into the upstream, as the same place behind the gateway. `public` is the
/// gateway's base URL (`http://127.0.0.1:PORT/<capability>`).
fn rewrite_location(location: &str, upstream: &Url, public: &str) -> Option<String> {
    let absolute = upstream.as_str().trim_end_matches('/');
    let prefix = upstream.path().trim_end_matches('/');
    let within = |rest: &str| rest.is_empty() || rest.starts_with(['/', '?', '#']);
    if let Some(rest) = location.strip_prefix(absolute).filter(|r| within(r)) {
        return Some(format!("{public}{rest}"));
    }
    // An absolute path (not `//host/...`, which names another host) under the upstream's.
    if location.starts_with('/') && !location.starts_with("//") {
        let rest = location.strip_prefix(prefix).filter(|r| within(r))?;
        let path = public.find("://").and_then(|at| public[at + 3..].find('/').map(|p| at + 3 + p))?;
        return Some(format!("{}{rest}", &public[path..]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        m
    }

    fn names(m: &HeaderMap) -> Vec<String> {
        let mut n: Vec<String> = m.keys().map(|k| k.to_string()).collect();
        n.sort();
        n
    }

    #[test]
    fn request_headers_table() {
        let from = map(&[
            ("host", "127.0.0.1:9"),
            ("authorization", "Bearer client-own"),
            ("api-key", "client-key"),
            ("connection", "keep-alive, X-Trace-Hop"),
            ("x-trace-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic eA=="),
            ("expect", "100-continue"),
            ("content-type", "application/json"),
            ("content-length", "2"),
            ("accept", "a"),
            ("accept", "b"),
            ("nps-trace-uuid", "mine"),
        ]);
        let bearer = to_upstream(&from, &HeaderName::from_static("authorization"));
        assert_eq!(names(&bearer), ["accept", "api-key", "content-type", "nps-trace-uuid"]);
        assert_eq!(bearer.get_all("accept").iter().count(), 2, "repeated headers stay");
        let key = to_upstream(&from, &HeaderName::from_static("api-key"));
        assert!(!key.contains_key("api-key") && !key.contains_key("authorization"));
    }

    #[test]
    fn response_headers_table() {
        let upstream = Url::parse("https://api.example.com/v1").unwrap();
        let public = "http://127.0.0.1:8700/CAP";
        let from = map(&[
            ("content-type", "application/json"),
            ("content-length", "10"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
            ("authentication-token", "eyJ.newer.token"),
            ("set-cookie", "a=1"),
            ("location", "https://api.example.com/v1/orders/7"),
        ]);
        let out = to_client(&from, Some("authentication-token"), &upstream, public);
        assert_eq!(names(&out), ["content-length", "content-type", "location", "set-cookie"]);
        assert_eq!(out["location"], "http://127.0.0.1:8700/CAP/orders/7");
    }

    #[test]
    fn locations_table() {
        let public = "http://127.0.0.1:8700/CAP";
        let table = [
            ("https://api.example.com", "https://api.example.com/x?y", Some("http://127.0.0.1:8700/CAP/x?y")),
            ("https://api.example.com", "/x", Some("/CAP/x")),
            ("https://api.example.com", "https://api.example.com", Some("http://127.0.0.1:8700/CAP")),
            ("https://api.example.com/v1/", "/v1/x", Some("/CAP/x")),
            ("https://api.example.com/v1", "/v2/x", None),
            ("https://api.example.com/v1", "/v1x", None),
            ("https://api.example.com", "https://api.example.com.evil/x", None),
            ("https://api.example.com", "https://other.example/x", None),
            ("https://api.example.com", "//other.example/x", None),
            ("https://api.example.com", "relative/x", None),
        ];
        for (upstream, location, want) in table {
            let upstream = Url::parse(upstream).unwrap();
            assert_eq!(
                rewrite_location(location, &upstream, public).as_deref(),
                want,
                "{upstream} {location}"
            );
        }
    }
}
