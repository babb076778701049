//! `tok curl` for a DPoP profile: one request, so one proof. The proof is made for the
//! method and URL curl will use and goes to curl through the same pipe as the
//! `Authorization` header, never on its command line. A resource server that asks for a
//! nonce (401, `WWW-Authenticate: DPoP error="use_dpop_nonce"`, `DPoP-Nonce`) gets the
//! request once more with a new proof carrying it, under the 401 retry's replay rules.

use super::curl_args::Scan;
use crate::dpop::{self, Key};
use crate::error::{Error, Result};
use crate::flow::App;
use crate::profile::Profile;
use crate::token::TokenRecord;
use reqwest::Url;

pub struct Binding {
    key: Key,
    method: String,
    url: Url,
}

/// The proof's maker for this command, or `None` for a profile without DPoP. A command
/// that would make several requests is refused: curl cannot give each its own proof.
pub fn prepare(app: &App, profile: &Profile, scan: &Scan, urls: &[&str]) -> Result<Option<Binding>> {
    if !dpop::enabled(profile) {
        return Ok(None);
    }
    if let Some(why) = several_requests(scan, urls) {
        return Err(Error::usage(format!(
            "profile '{}' has DPoP-bound tokens and this curl command {why}: each request needs a proof of its own, \
             made for its method and URL, which tok can give curl only for one",
            profile.name
        ))
        .hint(format!("send it through `tok proxy {}`, which makes a proof for every request", profile.name)));
    }
    if scan.sets_header("dpop") {
        return Err(Error::usage("tok curl makes the DPoP proof itself: drop -H 'DPoP: …'"));
    }
    if let Some(option) = &scan.request_target {
        return Err(Error::usage(format!(
            "profile '{}' has DPoP-bound tokens: with {option} curl sends another target than the URL's, and \
             the proof names the URL",
            profile.name
        )));
    }
    let url = Url::parse(urls[0]).map_err(|e| {
        Error::usage(format!("tok curl: the URL does not parse: {e}{}", crate::http::url_hint(e, urls[0])))
    })?;
    plain_path(urls[0], &url).map_err(|plain| {
        Error::usage(format!(
            "tok curl: the URL's path is not in the form a DPoP proof names it ({plain}): curl would send \
             one path and the proof name another"
        ))
        .hint(format!("write the path as {plain}"))
    })?;
    let key = dpop::profile_key(app, profile)?;
    Ok(Some(Binding { key, method: method(scan), url }))
}

/// Why the command makes more than one request (several URLs, `--next`, a glob, a
/// redirect curl follows, several uploads, curl's own retries), if it does.
fn several_requests(scan: &Scan, urls: &[&str]) -> Option<String> {
    if urls.len() != 1 {
        return Some(format!("names {} URLs", urls.len()));
    }
    if scan.nexts > 0 {
        return Some("uses --next".into());
    }
    if let Some(follows) = &scan.follows {
        return Some(format!("follows redirects ({follows})"));
    }
    let globbed = |text: &str| text.contains(['[', '{']);
    let after_authority = urls[0]
        .split_once("://")
        .map_or(urls[0], |(_, rest)| rest.find(['/', '?', '#']).map_or("", |at| &rest[at..]));
    if !scan.globoff && globbed(after_authority) {
        return Some("has a URL glob ([] or {}; -g turns globbing off)".into());
    }
    if scan.uploads.len() > 1 || scan.uploads.iter().any(|u| globbed(u)) {
        return Some("uploads several files (-T)".into());
    }
    // curl sends the same headers again, so the same proof: a replay (RFC 9449 §11.1).
    if let Some(option) = scan.resends() {
        return Some(format!("may send its request again ({option}) with the same proof"));
    }
    None
}

/// The proof's `htu` is the URL as WHATWG writes it back (dot segments resolved, `\`
/// as `/`, `%2e` as `.`, some characters percent-encoded), and curl sends the path as
/// written (it resolves only plain dot segments, and none with `--path-as-is`). So
/// the path must be written the way both read alike, as the authority must
/// (`curl_hosts`); else `Err` holds the path as the proof would name it.
pub(super) fn plain_path(written: &str, url: &Url) -> Result<(), String> {
    let rest = written.split_once("://").map_or(written, |(_, rest)| rest);
    let path = rest.find(['/', '?', '#']).map_or("", |at| &rest[at..]);
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    if path == url.path() || (path.is_empty() && url.path() == "/") {
        return Ok(());
    }
    let plain: String = crate::term::printable(url.path()).chars().take(200).collect();
    Err(format!("'{plain}'"))
}

/// The method curl sends: `-X` wins; then `-I` (HEAD), `-T` (PUT), `-G` (GET, the data
/// going into the query), a body (POST); else GET.
pub fn method(scan: &Scan) -> String {
    if let Some(method) = &scan.request {
        return method.clone();
    }
    let method = if scan.head {
        "HEAD"
    } else if !scan.uploads.is_empty() {
        "PUT"
    } else if scan.get {
        "GET"
    } else if scan.sends_data {
        "POST"
    } else {
        "GET"
    };
    method.to_string()
}

impl Binding {
    /// The `DPoP` header line for one attempt: a fresh proof for the token in `record`.
    pub fn header_line(&self, record: &TokenRecord, nonce: Option<&str>) -> Result<String> {
        let proof = self.key.proof(&self.method, &self.url, Some(record.token.expose()), nonce)?;
        Ok(format!("DPoP: {proof}\n"))
    }
}

/// The nonce the last response asks for, from a header dump.
pub fn nonce_asked(
    status: Option<u16>,
    www_authenticate: Option<String>,
    nonce: Option<String>,
) -> Option<String> {
    dpop::nonce_asked(status?, www_authenticate.as_deref(), b"", nonce.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn methods_table() {
        let table: [(&[&str], &str); 12] = [
            (&["https://a/p"], "GET"),
            (&["-d", "x=1", "https://a/p"], "POST"),
            (&["--json", "{}", "https://a/p"], "POST"),
            (&["-F", "f=@/etc/hosts", "https://a/p"], "POST"),
            (&["--data-urlencode", "q=a b", "https://a/p"], "POST"),
            (&["-G", "-d", "q=1", "https://a/p"], "GET"),
            (&["-I", "https://a/p"], "HEAD"),
            (&["-T", "/etc/hosts", "https://a/p"], "PUT"),
            (&["-X", "DELETE", "https://a/p"], "DELETE"),
            (&["-XPATCH", "-d", "{}", "https://a/p"], "PATCH"),
            (&["-d", "x", "--request=PUT", "https://a/p"], "PUT"),
            (&["-sSId", "x", "https://a/p"], "HEAD"),
        ];
        for (args, want) in table {
            let args = strings(args);
            assert_eq!(method(&super::super::curl_args::scan(&args)), want, "{args:?}");
        }
    }

    #[test]
    fn paths_both_parsers_read_alike_table() {
        let table = [
            ("https://a.example/v1/payments?x=/../y#z", true),
            ("https://a.example", true),
            ("https://a.example?q=1", true),
            ("https://a.example/", true),
            ("https://[::1]:8/a%20b", true),
            ("https://a.example/a/../admin", false),
            ("https://a.example/a/./b", false),
            ("https://a.example/a/%2e%2e/admin", false),
            ("https://a.example/a\\b", false),
            ("https://a.example/a b", false),
            ("https://a.example/{x}", false),
        ];
        for (written, plain) in table {
            let url = Url::parse(written).unwrap();
            assert_eq!(
                plain_path(written, &url).is_ok(),
                plain,
                "{written}: {:?}",
                plain_path(written, &url)
            );
        }
    }

    #[test]
    fn several_requests_table() {
        let table: [(&[&str], bool); 16] = [
            (&["https://a/p"], false),
            (&["--retry", "0", "https://a/p"], false),
            (&["--retry", "3", "--retry", "0", "https://a/p"], false),
            (&["--retry", "3", "https://a/p"], true),
            (&["--retry=1", "--retry-all-errors", "https://a/p"], true),
            (&["--digest", "https://a/p"], true),
            (&["--anyauth", "https://a/p"], true),
            (&["--ntlm", "--no-ntlm", "https://a/p"], false),
            (&["-g", "https://a/p[1-2]"], false),
            (&["https://a/p", "https://a/q"], true),
            (&["https://a/p", "--next", "https://a/q"], true),
            (&["-L", "https://a/p"], true),
            (&["--follow", "https://a/p"], true),
            (&["https://a/p[1-2]"], true),
            (&["https://a/{x,y}"], true),
            (&["-T", "{a,b}", "https://a/p"], true),
        ];
        for (args, want) in table {
            let args = strings(args);
            let scan = super::super::curl_args::scan(&args);
            let urls = scan.urls(&args);
            assert_eq!(several_requests(&scan, &urls).is_some(), want, "{args:?}");
        }
    }
}
