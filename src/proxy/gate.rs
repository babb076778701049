//! Who may use the gateway, decided from the request line alone, before anything else.
//!
//! Listening on loopback keeps other machines out, not other users of this one: any
//! local process can connect to 127.0.0.1. So the base URL carries a capability, 192
//! random bits in the first path segment, and a request without it never reaches the
//! upstream. It is compared in constant time, so response timing says nothing about
//! how much of a guess was right.
//!
//! The gateway forwards to one API only: absolute-form targets (`GET http://other/`)
//! and CONNECT, which would make it an open proxy to any host, are refused. So are TRACE
//! and TRACK: an API that echoes them would hand the client the request as sent, Bearer
//! token included. Each in any case of its letters. Nor may a path climb out of the
//! upstream's base path with dot-segments (`dots`): the credential is for that API, not
//! for every path of its host. A request with two `Host` headers is refused as malformed.
//!
//! It serves the programs of the user who started it, not web pages: a browser visiting
//! any site can send requests to 127.0.0.1. `admit` refuses a `Host` that does not name
//! the gateway (DNS rebinding, see `address`) and requests a browser marks as coming from
//! another page: an `Origin` not the gateway's own, or `Sec-Fetch-Site` other than
//! `same-origin` or `none` (typed into the address bar). `same-site` is refused too: every
//! port of 127.0.0.1 is the same site, so a page served by any local program is it. With
//! no CORS permission in any answer, a preflight (OPTIONS with `Origin`) from another page
//! meets the same refusal, and the browser sends nothing after it.

use super::address;
use hyper::header::{self, HeaderMap, HeaderName};
use hyper::{Method, Uri};
use std::net::SocketAddr;

#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// The path after the capability, always starting with `/`.
    Forward(String),
    /// No capability, or the wrong one: 404, saying nothing more.
    Unknown,
    /// An absolute-form or authority-form target: the client takes this for a forward proxy.
    NotOrigin,
    /// CONNECT, TRACE, TRACK, in any case: 405.
    Refused,
    /// A path whose dot-segments would leave the upstream's base path, as some server may
    /// read it: 400.
    Climbs,
}

/// Why a request with a well-formed target is not served.
#[derive(Debug, PartialEq, Eq)]
pub enum Unwelcome {
    /// 421: the `Host` does not name the gateway.
    Host,
    /// 400: more than one `Host` (RFC 9112 §3.2): intermediaries that take another one
    /// than tok would disagree about where the request goes.
    Hosts,
    /// 403: a browser says another page sent it; the header that says so.
    CrossSite(&'static str),
}

pub fn route(method: &Method, uri: &Uri, capability: &str) -> Route {
    // Methods are case-sensitive, but servers that upper-case them would echo a `trace`.
    if ["CONNECT", "TRACE", "TRACK"].iter().any(|m| method.as_str().eq_ignore_ascii_case(m)) {
        return Route::Refused;
    }
    if uri.scheme().is_some() || uri.authority().is_some() {
        return Route::NotOrigin;
    }
    let Some(after) = uri.path().strip_prefix('/') else { return Route::Unknown };
    let (first, rest) = match after.find('/') {
        Some(at) => after.split_at(at),
        None => (after, "/"),
    };
    if !same(first.as_bytes(), capability.as_bytes()) {
        return Route::Unknown;
    }
    if super::dots::climbs(rest) {
        return Route::Climbs;
    }
    Route::Forward(rest.to_string())
}

static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Whether the gateway listening on `listen` serves a request with these headers.
/// `listen_text` is `listen` as a `Host` names it (`127.0.0.1:8700`), or empty: the `Host`
/// nearly every client sends, taken without parsing it (`listen_text` makes it so).
pub fn admit(headers: &HeaderMap, listen: SocketAddr, listen_text: &str) -> Result<(), Unwelcome> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().ok(),
        (Some(_), Some(_)) => return Err(Unwelcome::Hosts),
        _ => None,
    };
    if !host.is_some_and(|h| (!h.is_empty() && h == listen_text) || address::names_gateway(h, listen)) {
        return Err(Unwelcome::Host);
    }
    for origin in headers.get_all(header::ORIGIN) {
        if !origin.to_str().is_ok_and(|o| address::is_own_origin(o, listen)) {
            return Err(Unwelcome::CrossSite("Origin"));
        }
    }
    for site in headers.get_all(&SEC_FETCH_SITE) {
        let site = site.to_str().unwrap_or("").trim();
        if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
            return Err(Unwelcome::CrossSite("Sec-Fetch-Site"));
        }
    }
    Ok(())
}

/// The text of `listen` that [`admit`] may take as it is: empty where `names_gateway` would
/// not take it (an IPv6 address with a zone), so the shortcut never admits more.
pub fn listen_text(listen: SocketAddr) -> String {
    let text = listen.to_string();
    if address::names_gateway(&text, listen) { text } else { String::new() }
}

/// Equality whose time depends on the length only (which is no secret: every capability
/// has the same one).
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut difference = 0u8;
    for (x, y) in a.iter().zip(b) {
        // black_box: no early exit may be derived from the accumulator.
        difference = std::hint::black_box(difference | (x ^ y));
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_table() {
        let cap = "Abc_-123";
        let forward = |p: &str| Route::Forward(p.into());
        let table = [
            ("GET", "/Abc_-123/Catalog/GetCountries?x=1", forward("/Catalog/GetCountries")),
            ("GET", "/Abc_-123", forward("/")),
            ("GET", "/Abc_-123/", forward("/")),
            ("POST", "/Abc_-123//double", forward("//double")),
            ("GET", "/Abc_-124/x", Route::Unknown),
            ("GET", "/Abc_-12/x", Route::Unknown),
            ("GET", "/Abc_-1234/x", Route::Unknown),
            ("GET", "/abc_-123/x", Route::Unknown),
            ("GET", "/", Route::Unknown),
            ("GET", "/x/Abc_-123/y", Route::Unknown),
            ("OPTIONS", "*", Route::Unknown),
            ("GET", "http://api.example.com/Abc_-123/x", Route::NotOrigin),
            ("GET", "http://127.0.0.1:1/", Route::NotOrigin),
            ("CONNECT", "api.example.com:443", Route::Refused),
            ("TRACE", "/Abc_-123/x", Route::Refused),
            ("TRACK", "/Abc_-123/x", Route::Refused),
            ("track", "/Abc_-123/x", Route::Refused),
            ("trace", "/Abc_-123/x", Route::Refused),
            ("Trace", "/Abc_-123/x", Route::Refused),
            ("connect", "/Abc_-123/x", Route::Refused),
            ("GET", "/Abc_-123/../x", Route::Climbs),
            ("GET", "/Abc_-123/a/%2e%2E/%2e./x", Route::Climbs),
            ("GET", "/Abc_-123/a/../b", forward("/a/../b")),
            // The capability is checked first: a climb without it says nothing.
            ("GET", "/Abc_-124/../x", Route::Unknown),
        ];
        for (method, target, want) in table {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let uri: Uri = target.parse().unwrap();
            assert_eq!(route(&method, &uri, cap), want, "{method} {target}");
        }
    }

    #[test]
    fn admit_table() {
        use hyper::header::HeaderValue;
        let listen: SocketAddr = "127.0.0.1:8700".parse().unwrap();
        let host = ("host", "127.0.0.1:8700");
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let table: &[(Headers, Result<(), Unwelcome>)] = &[
            (&[host], Ok(())),
            (&[("host", "localhost:8700")], Ok(())),
            (&[host, ("origin", "http://127.0.0.1:8700"), ("sec-fetch-site", "same-origin")], Ok(())),
            (&[host, ("origin", "http://localhost:8700")], Ok(())),
            (&[host, ("sec-fetch-site", "none")], Ok(())),
            (&[], Err(Unwelcome::Host)),
            (&[("host", "evil.example:8700")], Err(Unwelcome::Host)),
            (&[("host", "127.0.0.1:8701")], Err(Unwelcome::Host)),
            (&[("host", "")], Err(Unwelcome::Host)),
            (&[host, ("host", "evil.example:8700")], Err(Unwelcome::Hosts)),
            (&[("host", "evil.example:8700"), host], Err(Unwelcome::Hosts)),
            (&[host, host], Err(Unwelcome::Hosts)),
            (&[host, ("origin", "http://evil.example")], Err(Unwelcome::CrossSite("Origin"))),
            (&[host, ("origin", "http://127.0.0.1:3000")], Err(Unwelcome::CrossSite("Origin"))),
            (&[host, ("origin", "null")], Err(Unwelcome::CrossSite("Origin"))),
            (
                &[host, ("origin", "http://127.0.0.1:8700"), ("origin", "http://evil.example")],
                Err(Unwelcome::CrossSite("Origin")),
            ),
            (&[host, ("sec-fetch-site", "cross-site")], Err(Unwelcome::CrossSite("Sec-Fetch-Site"))),
            (&[host, ("sec-fetch-site", "same-site")], Err(Unwelcome::CrossSite("Sec-Fetch-Site"))),
            (&[host, ("sec-fetch-site", "")], Err(Unwelcome::CrossSite("Sec-Fetch-Site"))),
        ];
        for (pairs, want) in table {
            let mut headers = HeaderMap::new();
            for (k, v) in *pairs {
                headers
                    .append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
            }
            assert_eq!(&admit(&headers, listen, &listen_text(listen)), want, "{pairs:?}");
            // The text is a shortcut, not a rule of its own.
            assert_eq!(&admit(&headers, listen, ""), want, "{pairs:?}");
        }
    }

    #[test]
    fn the_listen_text_is_a_host_names_gateway_takes() {
        let table = [
            ("127.0.0.1:8700", "127.0.0.1:8700"),
            ("[::1]:8700", "[::1]:8700"),
            ("0.0.0.0:80", "0.0.0.0:80"),
            ("[fe80::1%2]:8700", ""),
        ];
        for (listen, want) in table {
            let listen: SocketAddr = listen.parse().unwrap();
            let text = listen_text(listen);
            assert_eq!(text, want, "{listen}");
            assert!(text.is_empty() || address::names_gateway(&text, listen), "{listen}");
        }
        assert_eq!(listen_text("[fe80::1%2]:8700".parse().unwrap()), "");
        assert_eq!(listen_text("[::1]:8700".parse().unwrap()), "[::1]:8700");
    }

    #[test]
    fn equality() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(same(b"", b""));
    }
}
