//! `--issuer`: the authorization server's metadata, read once at login (OpenID Connect
//! Discovery 1.0 §4, then RFC 8414 §3), kept as the profile's settings so later commands
//! send nothing but token requests.
//!
//! The metadata is trusted only as far as it is checked: its `issuer` must be the one
//! asked for, exactly (RFC 8414 §3.3, OIDC Discovery §4.3), and every endpoint HTTPS (or
//! loopback). Anything else is exit 5 before any other request is sent.

use crate::error::{Error, Result};
use crate::http::{self, Http, Request};
use reqwest::{Method, Url};
use serde_json::Value;

/// Metadata documents are a few KiB; a bigger reply is not one.
const MAX_METADATA: usize = 64 * 1024;

/// What discovery found, as `(setting, value)` pairs for the profile.
pub type Found = Vec<(&'static str, String)>;

/// The metadata's fields tok keeps, and the settings they become.
const ENDPOINTS: &[(&str, &str)] = &[
    ("token_endpoint", "token_url"),
    ("authorization_endpoint", "authorize_url"),
    ("device_authorization_endpoint", "device_url"),
    ("pushed_authorization_request_endpoint", "par_url"),
];

/// Where the metadata may be, in the order tried: OpenID Connect's
/// `<issuer>/.well-known/openid-configuration`, then RFC 8414 §3.1's, which inserts
/// `/.well-known/oauth-authorization-server` between the host and the issuer's path.
pub fn metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut oidc = issuer.clone();
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    let mut rfc8414 = issuer.clone();
    rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    vec![oidc, rfc8414]
}

/// Reads the metadata of `issuer` (as given, for the comparison with the metadata's own;
/// `url` is it parsed and checked): the settings it gives, or exit 5.
pub fn discover(issuer: &str, url: &Url, http: &Http) -> Result<Found> {
    let issuer = issuer.trim();
    let mut tried = Vec::new();
    for candidate in metadata_urls(url) {
        let request =
            Request::new("oauth2", Method::GET, candidate.clone()).header("accept", "application/json");
        let reply = http.send(&request)?;
        // 404 (and servers that answer 400/405 for unknown paths): try the other place.
        if matches!(reply.status, 400 | 404 | 405) {
            tried.push(http::redact_url(&candidate));
            continue;
        }
        if reply.status != 200 {
            return Err(reply.unexpected());
        }
        return read(issuer, &reply.body).map_err(|why| {
            Error::network(format!("the metadata at {} is refused: {why}", http::redact_url(&candidate)))
                .hint("check --issuer; or name the endpoints with --token-url (and --authorize-url, --device-url)")
        });
    }
    Err(Error::network(format!("{issuer} publishes no metadata (tried {})", tried.join(" and ")))
        .hint("check --issuer, or name the endpoints with --token-url (and --authorize-url, --device-url)"))
}

/// Checks a metadata document and picks out the settings. Every text from it that an
/// error quotes goes through `outside`.
pub fn read(issuer: &str, body: &[u8]) -> std::result::Result<Found, String> {
    if body.len() > MAX_METADATA {
        return Err(format!("it is {} bytes (the limit is {MAX_METADATA})", body.len()));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| format!("it is not JSON; it starts: {}", http::excerpt(body)))?;
    let object = value.as_object().ok_or("it is not a JSON object")?;
    match object.get("issuer").and_then(Value::as_str) {
        Some(named) if named == issuer => {}
        Some(named) => {
            return Err(format!(
                "it names the issuer '{}', not '{}' (RFC 8414 §3.3)",
                crate::secret::outside(http::clean(named, 200)),
                crate::secret::outside(issuer)
            ));
        }
        None => return Err("it names no issuer".into()),
    }
    let mut found = Found::new();
    for (name, setting) in ENDPOINTS {
        match object.get(*name) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => {
                let url = Url::parse(text).map_err(|e| {
                    format!(
                        "its {name} is not a URL: '{}'{}",
                        crate::secret::outside(http::clean(text, 200)),
                        http::url_hint(e, text)
                    )
                })?;
                http::check_url(&url)
                    .map_err(|why| format!("its {name}: {}", crate::secret::outside(why)))?;
                found.push((*setting, url.to_string()));
            }
            Some(_) => return Err(format!("its {name} is not a string")),
        }
    }
    // RFC 8705 §5: where a client with a certificate goes instead. Kept beside the
    // usual endpoints; a profile with --client-cert uses them (`Params::generic`).
    match object.get("mtls_endpoint_aliases") {
        None | Some(Value::Null) => {}
        Some(Value::Object(aliases)) => {
            for (name, setting) in ENDPOINTS {
                let Some(value) = aliases.get(*name) else { continue };
                let text = value
                    .as_str()
                    .ok_or_else(|| format!("its mtls_endpoint_aliases.{name} is not a string"))?;
                let url = Url::parse(text).map_err(|e| {
                    format!(
                        "its mtls_endpoint_aliases.{name} is not a URL: '{}'{}",
                        crate::secret::outside(http::clean(text, 200)),
                        http::url_hint(e, text)
                    )
                })?;
                http::check_url(&url).map_err(|why| {
                    format!("its mtls_endpoint_aliases.{name}: {}", crate::secret::outside(why))
                })?;
                // The authorization endpoint is the browser's: RFC 8705 aliases none.
                if *setting != "authorize_url" {
                    found.push((mtls_setting(setting), url.to_string()));
                }
            }
        }
        Some(_) => return Err("its mtls_endpoint_aliases is not an object".into()),
    }
    if !found.iter().any(|(s, _)| *s == "token_url") {
        return Err("it names no token_endpoint".into());
    }
    if object.get("require_pushed_authorization_requests").and_then(Value::as_bool) == Some(true) {
        found.push(("require_par", "true".into()));
    }
    // RFC 9207 §3: then an answer without `iss` did not come from this server.
    if object.get("authorization_response_iss_parameter_supported").and_then(Value::as_bool) == Some(true) {
        found.push(("sends_iss", "true".into()));
    }
    if let Some(Value::Array(methods)) = object.get("token_endpoint_auth_methods_supported") {
        let names: Vec<String> = methods
            .iter()
            .filter_map(Value::as_str)
            .filter(|m| m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .map(str::to_string)
            .collect();
        if !names.is_empty() {
            found.push(("auth_methods", names.join(" ")));
        }
    }
    Ok(found)
}

/// The setting that keeps an endpoint's mTLS alias.
fn mtls_setting(setting: &str) -> &'static str {
    match setting {
        "token_url" => "mtls_token_url",
        "par_url" => "mtls_par_url",
        _ => "mtls_device_url",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_insert_the_path_for_rfc8414() {
        let table = [
            (
                "https://auth.example.com",
                "https://auth.example.com/.well-known/openid-configuration",
                "https://auth.example.com/.well-known/oauth-authorization-server",
            ),
            (
                "https://auth.example.com/",
                "https://auth.example.com/.well-known/openid-configuration",
                "https://auth.example.com/.well-known/oauth-authorization-server",
            ),
            (
                "https://auth.example.com/tenant/one",
                "https://auth.example.com/tenant/one/.well-known/openid-configuration",
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant/one",
            ),
            (
                "http://127.0.0.1:8080/realms/x/",
                "http://127.0.0.1:8080/realms/x/.well-known/openid-configuration",
                "http://127.0.0.1:8080/.well-known/oauth-authorization-server/realms/x",
            ),
        ];
        for (issuer, oidc, rfc8414) in table {
            let urls = metadata_urls(&Url::parse(issuer).unwrap());
            assert_eq!(urls[0].as_str(), oidc, "{issuer}");
            assert_eq!(urls[1].as_str(), rfc8414, "{issuer}");
        }
    }

    #[test]
    fn metadata_table() {
        let issuer = "https://auth.example.com";
        let good = r#"{"issuer":"https://auth.example.com","token_endpoint":"https://auth.example.com/token",
            "authorization_endpoint":"https://auth.example.com/authorize",
            "device_authorization_endpoint":"https://auth.example.com/device",
            "pushed_authorization_request_endpoint":"https://auth.example.com/par",
            "require_pushed_authorization_requests":true,
            "token_endpoint_auth_methods_supported":["client_secret_basic","private_key_jwt","bad method"],
            "mtls_endpoint_aliases":{"token_endpoint":"https://mtls.example.com/token"}}"#;
        let found = read(issuer, good.as_bytes()).unwrap();
        assert_eq!(
            found,
            vec![
                ("token_url", "https://auth.example.com/token".to_string()),
                ("authorize_url", "https://auth.example.com/authorize".to_string()),
                ("device_url", "https://auth.example.com/device".to_string()),
                ("par_url", "https://auth.example.com/par".to_string()),
                ("mtls_token_url", "https://mtls.example.com/token".to_string()),
                ("require_par", "true".to_string()),
                ("auth_methods", "client_secret_basic private_key_jwt".to_string()),
            ]
        );
        let bad = [
            (
                r#"{"issuer":"https://evil.example.com","token_endpoint":"https://auth.example.com/t"}"#,
                "names the issuer",
            ),
            (
                r#"{"issuer":"https://auth.example.com/","token_endpoint":"https://auth.example.com/t"}"#,
                "names the issuer",
            ),
            (r#"{"token_endpoint":"https://auth.example.com/t"}"#, "no issuer"),
            (r#"{"issuer":"https://auth.example.com"}"#, "no token_endpoint"),
            (
                r#"{"issuer":"https://auth.example.com","token_endpoint":"http://auth.example.com/t"}"#,
                "plain HTTP",
            ),
            (
                r#"{"issuer":"https://auth.example.com","token_endpoint":"https://a/t","authorization_endpoint":"http://evil.example/a"}"#,
                "plain HTTP",
            ),
            (r#"{"issuer":"https://auth.example.com","token_endpoint":"not a url"}"#, "not a URL"),
            (r#"{"issuer":"https://auth.example.com","token_endpoint":5}"#, "not a string"),
            // Hosts outside ASCII are not mapped (no IDNA tables): fullwidth letters are
            // not "localhost", and the error says how to write such a host.
            (
                r#"{"issuer":"https://auth.example.com","token_endpoint":"http://ｌｏｃａｌｈｏｓｔ:1/t"}"#,
                "punycode",
            ),
            (
                r#"{"issuer":"https://auth.example.com","token_endpoint":"https://bücher.example/t"}"#,
                "outside ASCII",
            ),
            (
                r#"{"issuer":"https://auth.example.com","token_endpoint":"https://a/t","mtls_endpoint_aliases":{"token_endpoint":"http://evil.example/t"}}"#,
                "plain HTTP",
            ),
            (
                r#"{"issuer":"https://auth.example.com","token_endpoint":"https://a/t","mtls_endpoint_aliases":[]}"#,
                "not an object",
            ),
            ("<html>login</html>", "not JSON"),
            ("[]", "not a JSON object"),
        ];
        for (body, want) in bad {
            let why = read(issuer, body.as_bytes()).unwrap_err();
            assert!(why.contains(want), "{body}: {why}");
        }
        let huge = format!(r#"{{"issuer":"{issuer}","x":"{}"}}"#, "a".repeat(MAX_METADATA));
        assert!(read(issuer, huge.as_bytes()).unwrap_err().contains("limit"));
        // Loopback HTTP is allowed, as everywhere in tok.
        assert!(
            read(
                "http://127.0.0.1:9",
                br#"{"issuer":"http://127.0.0.1:9","token_endpoint":"http://127.0.0.1:9/t"}"#
            )
            .is_ok()
        );
    }
}
