//! What passes between a client and the API, header by header.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are dropped both
//! ways, with any header a `Connection` header names. Towards the API the client's own
//! credential headers go too, and `Host` becomes the upstream's. Towards the client the
//! provider's token header (NetDirector V1 hands out newer tokens in responses) is kept
//! back: the point of the gateway is that clients never hold the credential. A
//! `Location` into the API is rewritten to the gateway, so that a client following it
//! stays authenticated instead of going around.
//!
//! A browser may be a client too, so nothing that would let other pages in passes:
//! `Referer` (which carries the capability) and `Origin` stay behind, every answer says
//! `Referrer-Policy: no-referrer` (the upstream's own policy goes), and the upstream's CORS
//! permissions (`Access-Control-*`) go. An upstream's cookies are scoped to the capability's
//! path with no `Domain`: browsers send a cookie for 127.0.0.1 to every port of it, so a
//! cookie left at `Path=/` would reach every other local program.
//!
//! The same holds the other way: a browser sends the gateway every cookie any local
//! program set for 127.0.0.1 with `Path=/`. So a client's `Cookie` header reaches the API
//! with only the cookies whose names the API set through this gateway since it started
//! (`Cookies`); without any such, it reaches the API not at all.

use hyper::HeaderMap;
use hyper::header::{self, HeaderName, HeaderValue};
use reqwest::Url;
use std::collections::HashSet;
use std::sync::Mutex;

/// Names kept at most: an API that sets a new cookie name per answer does not grow the
/// gateway without end (later names are then not passed on).
const COOKIE_NAMES: usize = 512;

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

/// Headers named in `Connection`, which are hop-by-hop too: sorted, so that a client
/// naming thousands costs a search per header, not a pass over them all.
fn named_by_connection(headers: &HeaderMap) -> Vec<String> {
    // Read as bytes: a value with one byte outside ASCII still names the others.
    let mut named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .filter_map(|name| std::str::from_utf8(name.trim_ascii()).ok())
        .filter(|name| !name.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    named.sort_unstable();
    named.dedup();
    named
}

fn copy(from: &HeaderMap, drop: impl Fn(&HeaderName) -> bool) -> HeaderMap {
    let named = named_by_connection(from);
    let mut out = HeaderMap::with_capacity(from.len());
    for (name, value) in from {
        if is_hop_by_hop(name, &named) || drop(name) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// `headers` without the hop-by-hop ones and those `drop` names, changed in place: each
/// header a copy inserts is hashed again, and a request's copies were a twentieth of the
/// gateway's instructions (BENCHMARKS.notes.md).
fn strip(headers: &mut HeaderMap, drop: impl Fn(&HeaderName) -> bool) {
    let named = named_by_connection(headers);
    // Collected in one pass, then removed: searching again after each removal was
    // quadratic in the headers, in an order a client chooses.
    let gone: Vec<HeaderName> =
        headers.keys().filter(|name| is_hop_by_hop(name, &named) || drop(name)).cloned().collect();
    for name in gone {
        headers.remove(&name);
    }
}

/// Hop-by-hop by its name, or named in `Connection` (`named`, sorted).
fn is_hop_by_hop(name: &HeaderName, named: &[String]) -> bool {
    HOP_BY_HOP.contains(&name.as_str()) || named.binary_search_by(|n| n.as_str().cmp(name.as_str())).is_ok()
}

/// The client's headers as the API gets them, before tok adds the credential `credential`.
/// `Expect` goes too: the gateway answers `100-continue` itself. So does `Content-Length`:
/// the body's own length decides it, so that a request framed two ways (a length and
/// chunks) reaches the API framed one way, the way the gateway read it.
pub fn to_upstream(mut from: HeaderMap, credential: &HeaderName) -> HeaderMap {
    strip(&mut from, |name| {
        name == header::HOST
            || name == header::EXPECT
            || name == header::CONTENT_LENGTH
            || name == header::AUTHORIZATION
            || name == header::REFERER
            || name == header::ORIGIN
            || name == header::COOKIE
            || name == credential
    });
    from
}

/// The names of the cookies the API set through this gateway: the only ones a client's
/// `Cookie` header may carry to it.
#[derive(Default)]
pub struct Cookies(Mutex<HashSet<String>>);

impl Cookies {
    /// Remembers the names an answer's `Set-Cookie` headers give.
    pub fn learn(&self, answer: &HeaderMap) {
        let mut names = match self.0.lock() {
            Ok(names) => names,
            Err(poisoned) => poisoned.into_inner(),
        };
        for cookie in answer.get_all(header::SET_COOKIE) {
            let Ok(text) = cookie.to_str() else { continue };
            let Some(name) = cookie_name(text.split(';').next().unwrap_or("")) else { continue };
            if names.len() < COOKIE_NAMES || names.contains(name) {
                names.insert(name.to_string());
            }
        }
    }

    /// The client's cookies the API set, as one `Cookie` value; `None` when there are none.
    pub fn pass(&self, request: &HeaderMap) -> Option<HeaderValue> {
        let names = match self.0.lock() {
            Ok(names) => names,
            Err(poisoned) => poisoned.into_inner(),
        };
        let kept: Vec<&str> = request
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .filter(|pair| cookie_name(pair).is_some_and(|n| names.contains(n)))
            .collect();
        if kept.is_empty() {
            return None;
        }
        HeaderValue::from_str(&kept.join("; ")).ok()
    }
}

/// The name of a `name=value` pair; `None` without `=` or with an empty name.
fn cookie_name(pair: &str) -> Option<&str> {
    let (name, _) = pair.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then_some(name)
}

/// The API's headers as the client gets them.
pub fn to_client(from: HeaderMap, kept_back: Option<&str>, upstream: &Url, public: &str) -> HeaderMap {
    let held = |name: &HeaderName| {
        kept_back.is_some_and(|k| name.as_str().eq_ignore_ascii_case(k))
            || name.as_str().starts_with("access-control-")
            || name == header::REFERRER_POLICY
            || name.as_str() == "set-cookie2"
    };
    // Most answers need nothing dropped or rewritten: they go on as they came.
    let untouched = |name: &HeaderName| {
        !(HOP_BY_HOP.contains(&name.as_str())
            || held(name)
            || name == header::SET_COOKIE
            || name == header::LOCATION)
    };
    if from.keys().all(untouched) {
        return from;
    }
    let mut out = copy(&from, |name| held(name) || name == header::SET_COOKIE);
    let capability_path = public_path(public).unwrap_or("/");
    for cookie in from.get_all(header::SET_COOKIE) {
        if let Ok(text) = cookie.to_str()
            && let Ok(value) = HeaderValue::from_str(&scope_cookie(text, upstream, capability_path))
        {
            out.append(header::SET_COOKIE, value);
        }
    }
    if let Some(location) = out.get(header::LOCATION).and_then(|v| v.to_str().ok())
        && let Some(moved) = rewrite_location(location, upstream, public)
        && let Ok(value) = HeaderValue::from_str(&moved)
    {
        out.insert(header::LOCATION, value);
    }
    out
}

/// What every answer says, the gateway's own included: the capability is in every URL, so
/// no page may pass one on as a `Referer`.
pub fn add_own(headers: &mut HeaderMap) {
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// The path part of the gateway's base URL: `/<capability>`.
fn public_path(public: &str) -> Option<&str> {
    let after = public.find("://")? + 3;
    public[after..].find('/').map(|at| &public[after + at..])
}

/// A `Set-Cookie` value with its `Path` moved under the capability's (`/v1/orders` of an
/// upstream at `/v1` becomes `/<capability>/orders`; a path outside the upstream's, or none,
/// becomes `/<capability>`) and without `Domain`. Other attributes stay as they are.
fn scope_cookie(text: &str, upstream: &Url, capability_path: &str) -> String {
    let mut parts = text.split(';');
    let pair = parts.next().unwrap_or("").trim();
    let prefix = upstream.path().trim_end_matches('/');
    let mut path = None;
    let mut kept = Vec::new();
    for attribute in parts {
        let attribute = attribute.trim();
        let name = attribute.split('=').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("domain") {
            continue;
        }
        if name.eq_ignore_ascii_case("path") {
            // The last `Path` counts (RFC 6265 §5.3 step 7), as in browsers.
            path = attribute.split_once('=').map(|(_, v)| v.trim().to_string());
            continue;
        }
        if !attribute.is_empty() {
            kept.push(attribute);
        }
    }
    let within = path
        .as_deref()
        .filter(|p| p.starts_with('/'))
        .and_then(|p| p.strip_prefix(prefix))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .filter(|rest| *rest != "/")
        .unwrap_or("");
    let mut out = format!("{pair}; Path={capability_path}{within}");
    for attribute in kept {
        out.push_str("; ");
        out.push_str(attribute);
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
        let bearer = to_upstream(from.clone(), &HeaderName::from_static("authorization"));
        assert_eq!(names(&bearer), ["accept", "api-key", "content-type", "nps-trace-uuid"]);
        assert_eq!(bearer.get_all("accept").iter().count(), 2, "repeated headers stay");
        let key = to_upstream(from.clone(), &HeaderName::from_static("api-key"));
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
            ("set-cookie", "b=2; Domain=127.0.0.1; Path=/"),
            ("set-cookie2", "c=3"),
            ("location", "https://api.example.com/v1/orders/7"),
            ("access-control-allow-origin", "*"),
            ("Access-Control-Allow-Credentials", "true"),
            ("access-control-allow-headers", "authorization"),
            ("referrer-policy", "unsafe-url"),
        ]);
        let out = to_client(from, Some("authentication-token"), &upstream, public);
        assert_eq!(names(&out), ["content-length", "content-type", "location", "set-cookie"]);
        assert_eq!(out["location"], "http://127.0.0.1:8700/CAP/orders/7");
        let cookies: Vec<_> = out.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(cookies, ["a=1; Path=/CAP", "b=2; Path=/CAP"]);
    }

    #[test]
    fn an_answer_alone_is_what_the_copy_makes() {
        // The untouched fast path and the copy agree, header by header.
        let upstream = Url::parse("https://api.example.com/v1").unwrap();
        let public = "http://127.0.0.1:8700/CAP";
        let headers = [
            ("content-type", "application/json"),
            ("x-request-id", "7"),
            ("transfer-encoding", "chunked"),
            ("keep-alive", "timeout=5"),
            ("authentication-token", "eyJ.newer.token"),
            ("Authentication-Token", "eyJ.newer.token"),
            ("set-cookie2", "c=3"),
            ("access-control-allow-origin", "*"),
            ("referrer-policy", "unsafe-url"),
            ("upgrade", "h2c"),
            ("connection", "x-request-id"),
        ];
        for (name, value) in headers {
            let one = map(&[("date", "x"), ("x-request-id", "7"), (name, value)]);
            let copied = copy(&one, |n| {
                n.as_str() == "authentication-token"
                    || n.as_str() == "set-cookie2"
                    || n.as_str().starts_with("access-control-")
                    || n == header::REFERRER_POLICY
            });
            let out = to_client(one, Some("authentication-token"), &upstream, public);
            assert_eq!(names(&out), names(&copied), "{name}");
        }
    }

    #[test]
    fn a_connection_header_naming_many_drops_exactly_those() {
        // The order the helper's review found quadratic for a strip that searched again
        // after each removal: headers kept first, then Host, then the ones `Connection` names.
        let mut from = HeaderMap::new();
        for i in 0..50 {
            from.append(
                HeaderName::from_bytes(format!("x-a{i:02}").as_bytes()).unwrap(),
                HeaderValue::from_static("1"),
            );
        }
        from.append(header::HOST, HeaderValue::from_static("127.0.0.1:9"));
        let mut named = "x-zzz, ".repeat(1000);
        for i in 0..48 {
            from.append(
                HeaderName::from_bytes(format!("x-b{i:02}").as_bytes()).unwrap(),
                HeaderValue::from_static("1"),
            );
            named.push_str(&format!("X-B{i:02},"));
        }
        from.append(header::CONNECTION, HeaderValue::from_str(&named).unwrap());
        let out = to_upstream(from, &HeaderName::from_static("authorization"));
        let kept: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        let want: Vec<String> = (0..50).map(|i| format!("x-a{i:02}")).collect();
        assert_eq!(kept, want);
    }

    #[test]
    fn a_connection_value_with_a_byte_outside_ascii_still_names_the_rest() {
        let mut from = map(&[("x-q", "1"), ("x-r", "2")]);
        from.append(header::CONNECTION, HeaderValue::from_bytes(b"x-q, \xff").unwrap());
        let out = to_upstream(from, &HeaderName::from_static("authorization"));
        assert_eq!(out.keys().map(HeaderName::as_str).collect::<Vec<_>>(), ["x-r"]);
    }

    #[test]
    fn referer_and_origin_stay_behind() {
        let from = map(&[("referer", "http://127.0.0.1:8700/CAP/page"), ("origin", "http://127.0.0.1:8700")]);
        assert!(to_upstream(from.clone(), &HeaderName::from_static("authorization")).is_empty());
        let mut own = HeaderMap::new();
        add_own(&mut own);
        assert_eq!(own["referrer-policy"], "no-referrer");
    }

    #[test]
    fn only_the_apis_own_cookies_go_back_to_it() {
        let cookies = Cookies::default();
        let request = map(&[("cookie", "sid=1; dev_session=secret; theme=dark"), ("cookie", "other=2")]);
        assert_eq!(cookies.pass(&request), None, "the API set none yet");
        assert!(
            !to_upstream(request.clone(), &HeaderName::from_static("authorization")).contains_key("cookie")
        );
        cookies.learn(&map(&[
            ("set-cookie", "sid=abc; Path=/; HttpOnly"),
            ("set-cookie", " other = x"),
            ("set-cookie", "=nameless"),
            ("set-cookie", "novalue"),
        ]));
        assert_eq!(cookies.pass(&request).unwrap(), "sid=1; other=2");
        assert_eq!(cookies.pass(&map(&[("cookie", "theme=dark")])), None);
        assert_eq!(cookies.pass(&map(&[("cookie", "=1; novalue; SID=2")])), None, "names are exact");
    }

    #[test]
    fn cookies_table() {
        let table = [
            ("https://api.example.com", "s=1", "s=1; Path=/CAP"),
            ("https://api.example.com", "s=1; Path=/", "s=1; Path=/CAP"),
            ("https://api.example.com", "s=1; path=/orders; HttpOnly", "s=1; Path=/CAP/orders; HttpOnly"),
            ("https://api.example.com/v1/", "s=1; Path=/v1/orders", "s=1; Path=/CAP/orders"),
            ("https://api.example.com/v1", "s=1; Path=/v1", "s=1; Path=/CAP"),
            ("https://api.example.com/v1", "s=1; Path=/v2", "s=1; Path=/CAP"),
            ("https://api.example.com/v1", "s=1; Path=/v1x", "s=1; Path=/CAP"),
            ("https://api.example.com", "s=1; Path=relative", "s=1; Path=/CAP"),
            ("https://api.example.com", "s=1; Path=/a; Path=/", "s=1; Path=/CAP"),
            (
                "https://api.example.com",
                "s=1;Domain=.example.com;Secure; SameSite=Lax; Max-Age=60",
                "s=1; Path=/CAP; Secure; SameSite=Lax; Max-Age=60",
            ),
            ("https://api.example.com", "s=1; DOMAIN=127.0.0.1; PATH=/", "s=1; Path=/CAP"),
            ("https://api.example.com", "s=a;b; Path=/", "s=a; Path=/CAP; b"),
        ];
        for (upstream, cookie, want) in table {
            let upstream = Url::parse(upstream).unwrap();
            assert_eq!(scope_cookie(cookie, &upstream, "/CAP"), want, "{upstream} {cookie}");
        }
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
