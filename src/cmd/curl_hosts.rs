//! Where `tok curl` may send a profile's credential: the profile's API (scheme, host and
//! port of its base URL) and the hosts allowed with `tok login P --allow-host HOST[:PORT]`.
//!
//! curl and tok read URLs with different parsers (curl's own and WHATWG's), and a URL the
//! two read differently (`http://127.0.0.1\@192.0.2.2/`: 127.0.0.1 to WHATWG, 192.0.2.2 to
//! curl) would pass tok's check and reach another host. So the authority must be in the
//! one plain form both read alike: `scheme://host[:port]`, the host ASCII letters, digits,
//! dots and dashes (or a bracketed IPv6 address), written as tok would write it back;
//! anything else (userinfo, `\`, `%`, spaces, another scheme, no scheme) is refused.

use super::curl_args::Scan;
use crate::error::{Error, Result};
use crate::profile::Profile;
use reqwest::Url;

/// Scheme, host and port: what a credential is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: &'static str,
    /// Lower case; an IPv6 address in brackets.
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

impl Origin {
    pub fn is_loopback(&self) -> bool {
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        self.host == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// The origin of a base URL tok already checked (`http::base_url`).
    pub fn of_base(url: &Url) -> Option<Origin> {
        let scheme = match url.scheme() {
            "https" => "https",
            "http" => "http",
            _ => return None,
        };
        Some(Origin {
            scheme,
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }
}

/// A host allowed with `--allow-host`: any port the scheme defaults to, or the one given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    pub host: String,
    pub port: Option<u16>,
}

impl std::fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

impl AllowedHost {
    fn admits(&self, origin: &Origin) -> bool {
        let default = if origin.scheme == "https" { 443 } else { 80 };
        self.host == origin.host && self.port.unwrap_or(default) == origin.port
    }
}

/// The `allow_host` setting: `HOST` or `HOST:PORT` entries, separated by commas or spaces.
pub fn parse_allowed(text: &str) -> Result<Vec<AllowedHost>, String> {
    text.split([',', ' ']).filter(|e| !e.is_empty()).map(parse_allowed_host).collect()
}

fn parse_allowed_host(entry: &str) -> Result<AllowedHost, String> {
    if entry.contains(['/', '?', '#']) {
        return Err(format!(
            "--allow-host takes HOST or HOST:PORT, not a URL: '{}'",
            crate::term::printable(entry)
        ));
    }
    let (host, port) =
        authority(entry).map_err(|why| format!("--allow-host '{}': {why}", crate::term::printable(entry)))?;
    Ok(AllowedHost { host, port })
}

/// Who may get the credential: the API's origin and the allowed hosts.
pub struct Destinations {
    pub api: Option<Origin>,
    pub allowed: Vec<AllowedHost>,
}

impl Destinations {
    pub fn admits(&self, origin: &Origin) -> bool {
        self.api.as_ref() == Some(origin) || self.allowed.iter().any(|a| a.admits(origin))
    }

    /// The rule, for a refusal: where the credential goes, and how to allow another host.
    pub fn rule(&self, profile: &str, provider: &str) -> String {
        let mut places = Vec::new();
        if let Some(api) = &self.api {
            places.push(format!("its API, {api}"));
        }
        if !self.allowed.is_empty() {
            let hosts: Vec<String> = self.allowed.iter().map(ToString::to_string).collect();
            places.push(format!("the hosts allowed for it ({})", hosts.join(", ")));
        }
        let allow = format!("`tok login {profile} --allow-host HOST[:PORT]`");
        if places.is_empty() {
            return format!(
                "{provider} documents no API host, and none is set for profile '{profile}': name it with `tok login \
                 {profile} --upstream URL`, or allow a host with {allow}"
            );
        }
        format!(
            "profile '{profile}' sends its credential only to {}; allow another host with {allow}",
            places.join(" and ")
        )
    }
}

/// A URL's origin, if its scheme and authority are ones curl and tok read alike and tok
/// sends credentials to (https; http to loopback only).
pub fn origin_of(url: &str) -> Result<Origin, String> {
    if let Some(c) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("the URL holds {}: curl and tok would read it differently", describe(c)));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("the URL has no scheme://: curl would guess one; write https://…".into());
    };
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "https" => "https",
        "http" => "http",
        _ => {
            return Err(format!(
                "the scheme '{}' is not one tok curl sends credentials with (https, or http to loopback)",
                crate::term::printable(scheme)
            ));
        }
    };
    let written = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (host, port) = authority(written)?;
    let origin = Origin { scheme, host, port: port.unwrap_or(if scheme == "https" { 443 } else { 80 }) };
    if scheme == "http" && !origin.is_loopback() {
        return Err(format!(
            "{origin} is plain HTTP; tok only sends credentials over HTTPS (or to loopback)"
        ));
    }
    Ok(origin)
}

/// `host[:port]` in its plain form: the host lower-cased, the port if one is written.
fn authority(text: &str) -> Result<(String, Option<u16>), String> {
    if let Some(c) =
        text.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
    {
        if c == '@' {
            // Not quoted: what is before the `@` may be a password.
            return Err("the host part holds a user name or password (@), which tok never sends and parsers split differently".into());
        }
        let why = match c {
            '\\' => "a backslash, which curl and tok read differently",
            '%' => "percent-encoding",
            _ => "a character other than letters, digits, '.', '-' and an IPv6 address's brackets",
        };
        return Err(format!("the host part '{}' holds {why}", crate::term::printable(text)));
    }
    let (host, port) = match text.strip_prefix('[') {
        Some(v6) => {
            let (address, after) = v6.split_once(']').ok_or("an IPv6 address without its closing ']'")?;
            if address.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(format!("'[{address}]' is no IPv6 address"));
            }
            match after {
                "" => (&text[..address.len() + 2], None),
                _ => (
                    &text[..address.len() + 2],
                    Some(after.strip_prefix(':').ok_or("text after the IPv6 address")?),
                ),
            }
        }
        None => match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
    };
    let bracketed = text.starts_with('[');
    if host.is_empty() || (!bracketed && host.contains(['[', ']'])) {
        return Err(format!("'{text}' has no plain host name"));
    }
    let port = port
        .map(|p| match p.parse::<u16>() {
            Ok(n) if n > 0 && p == n.to_string() => Ok(n),
            _ => Err(format!("'{p}' is not a port (1-65535, written without leading zeros)")),
        })
        .transpose()?;
    // Numbers, octal and hex forms of IPv4 (`127.1`, `0x7f.0.0.1`) and long IPv6 forms
    // mean the same host to both parsers only when written as WHATWG writes them back.
    let host = host.to_ascii_lowercase();
    let parsed =
        Url::parse(&format!("https://{host}/")).map_err(|e| format!("'{host}' is not a host name: {e}"))?;
    match parsed.host_str() {
        Some(plain) if plain == host => Ok((host, port)),
        Some(plain) => Err(format!("the host '{host}' is not in its plain form: write '{plain}'")),
        None => Err(format!("'{host}' is not a host name")),
    }
}

fn describe(c: char) -> String {
    if c == ' ' { "a space".into() } else { format!("the control character U+{:04X}", c as u32) }
}

impl Destinations {
    /// The profile's: its API's origin and its allowed hosts.
    pub fn of(profile: &Profile, api_base: Option<&Url>) -> Result<Destinations> {
        let allowed = match profile.get("allow_host") {
            Some(text) => parse_allowed(text)
                .map_err(|why| Error::usage(format!("profile '{}': {why}", profile.name)))?,
            None => Vec::new(),
        };
        Ok(Destinations { api: api_base.and_then(Origin::of_base), allowed })
    }
}

/// The credential goes only where the profile points: every URL of the command (several
/// URLs, `--url`, `--next` sets) must be one curl and tok read alike, on a host the
/// profile names. Redirects: curl drops `Authorization` when one changes host, port or
/// scheme, but sends any other header (`Api-key`) wherever it leads;
/// `--location-trusted` sends everything everywhere. Returns the URLs' origins.
pub fn check(
    scan: &Scan,
    urls: &[&str],
    api_key: bool,
    destinations: &Destinations,
    profile: &Profile,
) -> Result<Vec<Origin>> {
    if let Some(config) = &scan.config {
        return Err(Error::usage(format!(
            "tok curl does not pass {config}: a config file can hold URLs, redirects and proxies tok cannot check"
        ))
        .hint("give those options on the command line"));
    }
    if scan.location_trusted {
        return Err(Error::usage(
            "tok curl does not pass --location-trusted: it would send the credential to any host a redirect names",
        ));
    }
    if api_key && let Some(follow) = &scan.follows {
        return Err(Error::usage(format!(
            "tok curl does not follow redirects ({follow}) for API-key profiles: curl would send the Api-key header \
             to whatever host a redirect names"
        ))
        .hint("request the final URL directly"));
    }
    let mut origins = Vec::with_capacity(urls.len());
    for url in urls {
        let origin =
            origin_of(url).map_err(|why| Error::usage(format!("tok curl: {}: {why}", shown_url(url))))?;
        if !destinations.admits(&origin) {
            return Err(Error::usage(format!("tok curl: not sending the credential to {origin}"))
                .hint(destinations.rule(&profile.name, profile.provider.name())));
        }
        origins.push(origin);
    }
    if let Some(option) = scan.routing.first()
        && origins.iter().any(|o| o.scheme == "http")
    {
        return Err(Error::usage(format!(
            "tok curl does not pass {option} with a plain-HTTP URL: a proxy or another address would get the \
             credential in clear text"
        ))
        .hint("with https:// URLs a proxy of your choosing sees only a tunnel"));
    }
    Ok(origins)
}

/// A URL for a message: no query or fragment, and nothing of one that has an `@`
/// (a password may be in it).
fn shown_url(url: &str) -> String {
    let cut = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    if cut.contains('@') {
        return "a URL with '@' in it".into();
    }
    format!("'{}'", crate::term::printable(&cut.chars().take(200).collect::<String>()))
}

/// `NO_PROXY` for curl: the user's list plus every loopback host, which tok never
/// proxies (a proxy would see the Bearer token of a plain-HTTP request in clear text).
pub fn no_proxy_list(origins: &[Origin]) -> String {
    let mut list: Vec<String> = Vec::new();
    for name in ["NO_PROXY", "no_proxy"] {
        if let Ok(value) = std::env::var(name) {
            list.extend(value.split(',').map(|e| e.trim().to_string()).filter(|e| !e.is_empty()));
        }
    }
    // curl reads `*` as "no proxy at all" only when it is the whole list.
    if list.iter().any(|e| e == "*") {
        return "*".into();
    }
    let loopback =
        origins.iter().filter(|o| o.is_loopback()).map(|o| o.host.trim_matches(['[', ']']).to_string());
    for entry in ["localhost".to_string(), "127.0.0.1".into(), "::1".into()].into_iter().chain(loopback) {
        if !list.contains(&entry) {
            list.push(entry);
        }
    }
    list.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_rules_table() {
        let ok = |url: &str, want: &str| {
            assert_eq!(origin_of(url).map(|o| o.to_string()).as_deref(), Ok(want), "{url}");
        };
        ok("https://api.example.com/x", "https://api.example.com:443");
        ok("HTTPS://API.Example.com:8443/x?y=1#z", "https://api.example.com:8443");
        ok("http://127.0.0.1:8080/x", "http://127.0.0.1:8080");
        ok("http://localhost/x", "http://localhost:80");
        ok("http://[::1]:9/x", "http://[::1]:9");
        ok("https://[2001:db8::1]/x", "https://[2001:db8::1]:443");
        ok("https://api.example.com", "https://api.example.com:443");
        // After the authority, anything curl would send as the path.
        ok("https://api.example.com/a\\@evil.example/b", "https://api.example.com:443");
        ok("https://api.example.com/p?filter[uuid]=1", "https://api.example.com:443");
        // Each refusal, and a word its message must hold.
        let table: &[(&str, &str)] = &[
            ("http://127.0.0.1\\@192.0.2.2/x", "backslash"),
            ("https://a.example\\.evil.example/", "backslash"),
            ("https://user@api.example.com/", "user name"),
            ("https://a@b@api.example.com/", "user name"),
            ("https://api.example.com@evil.example/", "user name"),
            ("https://api%2eexample.com/", "percent"),
            ("https://api.example.com%00.evil/", "percent"),
            ("https://api.exa mple.com/", "space"),
            ("https://api.example.com\t/", "control"),
            ("https://api.exam\nple.com/", "control"),
            ("https://bücher.example/", "character"),
            ("https://{a,b}.example.com/", "character"),
            ("https://[1-2].example.com/", "IPv6"),
            ("https://[::1/", "closing"),
            ("https://[::1]x/", "after the IPv6"),
            ("https://[fe80::1%25eth0]/", "percent"),
            ("https://api.example.com:/x", "port"),
            ("https://api.example.com:0443/x", "port"),
            ("https://api.example.com:99999/x", "port"),
            ("https://api.example.com:443:1/x", "port"),
            ("https://:443/x", "plain host"),
            ("https:///x", "plain host"),
            ("https://127.1/x", "plain form"),
            ("https://0x7f.0.0.1/x", "plain form"),
            ("https://2130706433/x", "plain form"),
            ("https://[0:0:0:0:0:0:0:1]/x", "plain form"),
            ("http://api.example.com/x", "plain HTTP"),
            ("http://10.0.0.1/x", "plain HTTP"),
            ("api.example.com/x", "no scheme"),
            ("localhost:8080/x", "no scheme"),
            ("//api.example.com/x", "no scheme"),
            ("@urls.txt", "no scheme"),
            ("file:///etc/passwd", "scheme 'file'"),
            ("rtsp://127.0.0.1/x", "scheme 'rtsp'"),
            ("ws://127.0.0.1/x", "scheme 'ws'"),
            ("wss://api.example.com/x", "scheme 'wss'"),
            ("ftp://api.example.com/x", "scheme 'ftp'"),
            ("http:/\\127.0.0.1/x", "no scheme"),
        ];
        for (url, word) in table {
            let why = origin_of(url).expect_err(url);
            assert!(why.contains(word), "{url}: {why}");
        }
    }

    #[test]
    fn allowed_hosts_table() {
        let api = Origin::of_base(&Url::parse("https://api.example.com/v1").unwrap());
        let dest =
            Destinations { api, allowed: parse_allowed("files.example.com, 127.0.0.1:9000,[::1]").unwrap() };
        let admits = |url: &str| dest.admits(&origin_of(url).unwrap());
        assert!(admits("https://api.example.com/x"));
        assert!(admits("https://API.example.com:443/x"));
        assert!(!admits("https://api.example.com:8443/x"), "another port is another origin");
        assert!(!admits("https://x.api.example.com/x"), "no subdomains");
        assert!(!admits("https://example.com/x"));
        assert!(admits("https://files.example.com/x"));
        assert!(!admits("https://files.example.com:444/x"), "no port given: the scheme's default only");
        assert!(admits("http://127.0.0.1:9000/x") && admits("https://127.0.0.1:9000/x"));
        assert!(!admits("http://127.0.0.1:9001/x"));
        assert!(admits("http://[::1]/x") && !admits("http://[::1]:8080/x"));
        for bad in ["https://x.example", "a.example/p", "a@b", "a.example:0", "127.1", ""] {
            assert!(parse_allowed(bad).map(|v| v.len() == 1).is_err() || bad.is_empty(), "{bad}");
        }
        assert_eq!(parse_allowed("").unwrap(), []);
        let rule = dest.rule("p", "nexterpay");
        assert!(rule.contains("https://api.example.com:443") && rule.contains("files.example.com"), "{rule}");
        let none = Destinations { api: None, allowed: vec![] };
        assert!(none.rule("n3xt", "n3xt").contains("--upstream"));
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn destinations_table() {
        let provider = crate::provider::Provider::from_name("nexterpay");
        let flags = [("base_url", "https://a.example".to_string())];
        let profile = crate::profile::resolve("p", provider, &flags, None).unwrap();
        let api = Url::parse("https://a.example").unwrap();
        let destinations = Destinations {
            api: Origin::of_base(&api),
            allowed: parse_allowed("127.0.0.1:8080,localhost,b.example").unwrap(),
        };
        let check = |args: &[&str], api_key: bool| {
            let args = strings(args);
            let scan = super::super::curl_args::scan(&args);
            check(&scan, &scan.urls(&args), api_key, &destinations, &profile)
                .map(|origins| origins.len())
                .map_err(|e| (e.exit_code(), e.to_string()))
        };
        let refused = |args: &[&str], api_key: bool, word: &str| {
            let (code, text) = check(args, api_key).expect_err(&format!("{args:?}"));
            assert_eq!(code, 2, "{args:?}");
            assert!(text.contains(word), "{args:?}: {text}");
        };
        assert_eq!(check(&["-L", "https://a.example/x"], false), Ok(1));
        assert_eq!(
            check(&["http://127.0.0.1:8080/x", "http://localhost/y", "https://b.example"], false),
            Ok(3)
        );
        assert_eq!(check(&["-x", "http://proxy:3128", "https://a.example/x"], false), Ok(1));
        refused(&["-L", "https://a.example/x"], true, "(-L)");
        refused(&["-sSL", "https://a.example/x"], true, "(-L)");
        refused(
            &["https://a.example/x", "--next", "--no-location", "-L", "https://a.example/y"],
            true,
            "(-L)",
        );
        refused(&["--follow", "https://a.example/x"], true, "(--follow)");
        refused(&["--location-trusted", "https://a.example/x"], false, "--location-trusted");
        refused(&["-K", "more.conf", "https://a.example/x"], false, "config file");
        refused(&["http://a.example/x"], false, "plain HTTP");
        refused(&["a.example/x"], false, "no scheme");
        refused(&["https://c.example/x"], false, "https://c.example:443");
        refused(&["https://a.example:8443/x"], false, "https://a.example:8443");
        refused(&["http://127.0.0.1:8081/x"], false, "127.0.0.1:8081");
        refused(&["https://a.example/x", "--next", "https://c.example/y"], false, "c.example");
        refused(&["--url", "https://c.example/y", "https://a.example/x"], false, "c.example");
        refused(&["http://127.0.0.1:8080\\@c.example/x"], false, "backslash");
        refused(&["https://user:pw@a.example/x"], false, "a URL with '@'");
        refused(&["-x", "http://proxy:3128", "http://localhost/x"], false, "-x");
        refused(&["--connect-to", "localhost:80:c.example:80", "http://localhost/x"], false, "--connect-to");
        let (_, text) = check(&["https://user:secret-pw@a.example/x"], false).unwrap_err();
        assert!(!text.contains("secret-pw"), "{text}");
    }
}
