//! The gateway's own address: how `--listen` reads, and which `Host` and `Origin` values
//! name the gateway.
//!
//! A web page can make a browser send requests to 127.0.0.1 through a DNS name it controls
//! (DNS rebinding: `evil.example` first resolves to the attacker, then to 127.0.0.1). The
//! browser then sends `Host: evil.example`, so the gateway answers only requests whose
//! `Host` names it: `localhost` or the IP it listens on, with its port. An IP literal cannot
//! be rebound, so on an unspecified address (`0.0.0.0`, with `--allow-remote`) any IP
//! literal with the port is the gateway.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// `--listen`: `8700` (127.0.0.1), `localhost:8700`, `127.0.0.1:8700`, `[::1]:8700`.
pub fn listen_address(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Some((name, port)) = text.rsplit_once(':')
        && name.eq_ignore_ascii_case("localhost")
    {
        let port = port.parse::<u16>().map_err(|_| format!("'{port}' is not a port number (0 to 65535)"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        "expected a port (8700), or an address and port (127.0.0.1:8700, localhost:8700, [::1]:8700)"
            .to_string()
    })
}

/// Whether a `Host` header value (`name[:port]`) names the gateway listening on `listen`.
pub fn names_gateway(host: &str, listen: SocketAddr) -> bool {
    let (name, port) = match host.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((inside, "")) => (inside, None),
            Some((inside, rest)) => match rest.strip_prefix(':') {
                Some(port) => (inside, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    // Digits only: `u16::from_str` would take a leading `+`.
    let port_matches = match port {
        Some(port) => {
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().ok() == Some(listen.port())
        }
        None => listen.port() == 80,
    };
    if !port_matches {
        return false;
    }
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bracketed = host.starts_with('[');
    let ip = match name.parse::<IpAddr>() {
        Ok(ip @ IpAddr::V6(_)) if bracketed => ip,
        Ok(ip @ IpAddr::V4(_)) if !bracketed => ip,
        _ => return false,
    };
    ip == listen.ip() || listen.ip().is_unspecified()
}

/// Whether an `Origin` header value is the gateway's own: `http://` and a `Host` that names
/// it. `null` (sandboxed frames, `file:` pages) is no origin of the gateway's.
pub fn is_own_origin(origin: &str, listen: SocketAddr) -> bool {
    origin.strip_prefix("http://").is_some_and(|host| names_gateway(host, listen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_table() {
        let table = [
            ("8700", Ok("127.0.0.1:8700")),
            ("0", Ok("127.0.0.1:0")),
            ("localhost:8700", Ok("127.0.0.1:8700")),
            ("LocalHost:8700", Ok("127.0.0.1:8700")),
            ("127.0.0.1:8700", Ok("127.0.0.1:8700")),
            ("[::1]:8700", Ok("[::1]:8700")),
            ("0.0.0.0:0", Ok("0.0.0.0:0")),
            ("localhost:x", Err("'x' is not a port number")),
            ("localhost:70000", Err("'70000' is not a port number")),
            ("70000", Err("expected a port")),
            ("localhost", Err("expected a port")),
            ("example.com:80", Err("expected a port")),
            ("", Err("expected a port")),
        ];
        for (text, want) in table {
            match (listen_address(text), want) {
                (Ok(got), Ok(want)) => assert_eq!(got.to_string(), want, "{text}"),
                (Err(got), Err(want)) => assert!(got.starts_with(want), "{text}: {got}"),
                (got, want) => panic!("{text}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn host_table() {
        let v4: SocketAddr = "127.0.0.1:8700".parse().unwrap();
        let v6: SocketAddr = "[::1]:8700".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8700".parse().unwrap();
        let on80: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let table = [
            ("127.0.0.1:8700", v4, true),
            ("localhost:8700", v4, true),
            ("LOCALHOST:8700", v4, true),
            ("localhost:8700", v6, true),
            ("[::1]:8700", v6, true),
            ("[::1]:8700", v4, false),
            ("127.0.0.1:8700", v6, false),
            ("127.0.0.1:8701", v4, false),
            ("127.0.0.1", v4, false),
            ("127.0.0.1:", v4, false),
            ("127.0.0.1:+8700", v4, false),
            ("127.0.0.2:8700", v4, false),
            ("evil.example:8700", v4, false),
            ("localhost.:8700", v4, false),
            ("localhost.evil.example:8700", v4, false),
            ("127.0.0.1.nip.io:8700", v4, false),
            ("", v4, false),
            ("[::1]", v6, false),
            ("[::1]x", v6, false),
            ("::1:8700", v6, false),
            ("[127.0.0.1]:8700", v4, false),
            ("127.0.0.1", on80, true),
            ("localhost", on80, true),
            ("192.168.1.5:8700", any, true),
            ("[fe80::1]:8700", any, true),
            ("localhost:8700", any, true),
            ("myhost.lan:8700", any, false),
        ];
        for (host, listen, want) in table {
            assert_eq!(names_gateway(host, listen), want, "Host: {host} listening on {listen}");
        }
    }

    #[test]
    fn origin_table() {
        let v4: SocketAddr = "127.0.0.1:8700".parse().unwrap();
        let table = [
            ("http://127.0.0.1:8700", true),
            ("http://localhost:8700", true),
            ("https://127.0.0.1:8700", false),
            ("http://127.0.0.1:3000", false),
            ("http://evil.example", false),
            ("null", false),
            ("", false),
        ];
        for (origin, want) in table {
            assert_eq!(is_own_origin(origin, v4), want, "Origin: {origin}");
        }
    }
}
