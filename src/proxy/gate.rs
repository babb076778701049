//! Who may use the gateway, decided from the request line alone, before anything else.
//!
//! Listening on loopback keeps other machines out, not other users of this one: any
//! local process can connect to 127.0.0.1. So the base URL carries a capability, 192
//! random bits in the first path segment, and a request without it never reaches the
//! upstream. It is compared in constant time, so response timing says nothing about
//! how much of a guess was right.
//!
//! The gateway forwards to one API only: absolute-form targets (`GET http://other/`)
//! and CONNECT, which would make it an open proxy to any host, are refused.

use hyper::{Method, Uri};

#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// The path after the capability, always starting with `/`.
    Forward(String),
    /// No capability, or the wrong one: 404, saying nothing more.
    Unknown,
    /// An absolute-form or authority-form target: the client takes this for a forward proxy.
    NotOrigin,
    Connect,
}

pub fn route(method: &Method, uri: &Uri, capability: &str) -> Route {
    if method == Method::CONNECT {
        return Route::Connect;
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
    Route::Forward(rest.to_string())
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
            ("CONNECT", "api.example.com:443", Route::Connect),
        ];
        for (method, target, want) in table {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let uri: Uri = target.parse().unwrap();
            assert_eq!(route(&method, &uri, cap), want, "{method} {target}");
        }
    }

    #[test]
    fn equality() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(same(b"", b""));
    }
}
