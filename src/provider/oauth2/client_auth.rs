//! How the client proves who it is at the token endpoint (RFC 6749 §2.3): `basic`,
//! `body`, `none`, `client_secret_jwt` and `private_key_jwt` (RFC 7523 §2.2, OIDC Core
//! §9), and the certificate methods `tls` and `self-signed-tls` (RFC 8705 §2, in
//! `mtls`). `apply` is the one entry: every grant's token request (and a PAR request, for
//! the authorization-code engineer) goes through it.
//!
//! Basic authentication follows RFC 6749 §2.3.1: the client id and secret are each
//! form-urlencoded, then `id:secret` is base64-encoded, with no trailing newline. (The
//! NetDirector document's `echo "id:secret" | base64` example encodes a newline; for
//! alphanumeric credentials the two agree otherwise.)

use super::Params;
use crate::error::{Error, Result};
use crate::http::Request;
use crate::input::Secrets;
use crate::keys::{self, KeySource};
use crate::secret::Secret;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::Url;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// HTTP Basic, RFC 6749 §2.3.1.
    Basic,
    /// `client_id` and `client_secret` in the body, RFC 6749 §2.3.1.
    Body,
    /// A public client: only `client_id` (PKCE carries the proof for authorization code).
    None,
    /// An HS256 assertion keyed with the client secret (RFC 7523 §2.2, OIDC Core §9).
    ClientSecretJwt,
    /// An assertion signed with the client's private key, its algorithm the key's.
    PrivateKeyJwt,
    /// `tls_client_auth` (RFC 8705 §2.1): a certificate from a CA, matched by its subject.
    Tls,
    /// `self_signed_tls_client_auth` (RFC 8705 §2.2): a certificate registered with the server.
    SelfSignedTls,
}

pub const AUTH_NAMES: &[&str] =
    &["basic", "body", "none", "client_secret_jwt", "private_key_jwt", "tls", "self-signed-tls"];

impl Auth {
    pub fn from_name(name: &str) -> Result<Auth> {
        Ok(match name {
            "basic" => Auth::Basic,
            "body" => Auth::Body,
            "none" => Auth::None,
            "client_secret_jwt" => Auth::ClientSecretJwt,
            "private_key_jwt" => Auth::PrivateKeyJwt,
            "tls" => Auth::Tls,
            "self-signed-tls" => Auth::SelfSignedTls,
            other => {
                return Err(Error::usage(format!(
                    "--auth takes {}{}",
                    AUTH_NAMES.join(", "),
                    crate::secret::near_miss(other, AUTH_NAMES)
                )));
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Auth::Basic => "basic",
            Auth::Body => "body",
            Auth::None => "none",
            Auth::ClientSecretJwt => "client_secret_jwt",
            Auth::PrivateKeyJwt => "private_key_jwt",
            Auth::Tls => "tls",
            Auth::SelfSignedTls => "self-signed-tls",
        }
    }
}

/// RFC 7523 §2.2's `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long an assertion is good for: RFC 7523 §3 wants a short `exp`.
const ASSERTION_LIFETIME: i64 = 300;

/// Authenticates `request` as `p`'s client: a header (Basic) or fields in `fields`.
/// `audience` is the endpoint the request goes to (the assertion's `aud`).
pub fn apply(
    p: &Params,
    secrets: &mut Secrets,
    audience: &Url,
    mut request: Request,
    fields: &mut Vec<(String, String)>,
) -> Result<Request> {
    // The certificate goes on the connection whatever the method: with `tls` it is the
    // client's proof, with any other it binds the token to it (RFC 8705 §3).
    if let Some(chain) = &p.client_cert {
        let key = secrets.get(crate::client_cert::SECRET, crate::client_cert::KEY_LABEL)?;
        request.identity = Some(std::sync::Arc::new(crate::client_cert::ClientCert::new(chain, key)?));
    }
    let mut field = |k: &str, v: String| fields.push((k.to_string(), v));
    match p.auth {
        Auth::Basic => {
            let secret = secrets.get("client_secret", "client secret")?;
            request =
                request.secret_header("authorization", basic_auth(&p.client_id, secret.expose()).expose());
        }
        Auth::Body => {
            let secret = secrets.get("client_secret", "client secret")?;
            field("client_id", p.client_id.clone());
            field("client_secret", secret.expose().to_string());
        }
        // RFC 8705 §2: the certificate proves the client; the body names it.
        Auth::None | Auth::Tls | Auth::SelfSignedTls => field("client_id", p.client_id.clone()),
        Auth::ClientSecretJwt | Auth::PrivateKeyJwt => {
            let claims =
                assertion_claims(&p.client_id, audience.as_str(), crate::token::now(), &random_jti()?);
            let assertion = sign_assertion(p, secrets, &claims)?;
            field("client_id", p.client_id.clone());
            field("client_assertion_type", JWT_BEARER.to_string());
            field("client_assertion", assertion.expose().to_string());
        }
    }
    Ok(request)
}

/// RFC 7523 §3 / OIDC Core §9: `iss` = `sub` = the client id, `aud` the endpoint, a
/// fresh `jti`, and an `exp` at most five minutes on.
pub fn assertion_claims(client_id: &str, audience: &str, now: i64, jti: &str) -> Value {
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    })
}

/// 128 random bits from the OS generator: the assertion cannot be replayed (RFC 7523 §3).
fn random_jti() -> Result<String> {
    crate::random::uuid_v4()
}

fn sign_assertion(p: &Params, secrets: &mut Secrets, claims: &Value) -> Result<Secret> {
    let (alg, key) = match p.auth {
        Auth::ClientSecretJwt => {
            let secret = secrets.get("client_secret", "client secret")?;
            (Algorithm::HS256, EncodingKey::from_secret(secret.expose().as_bytes()))
        }
        _ => private_key(secrets)?,
    };
    // Signing errors name the key, never its bytes.
    Ok(Secret::new(keys::sign(alg, p.key_id.as_deref(), claims, &key)?))
}

/// The stored private key and the algorithm it decides: RSA → RS256, EC P-256 → ES256,
/// Ed25519 → EdDSA.
fn private_key(secrets: &mut Secrets) -> Result<(Algorithm, EncodingKey)> {
    let pem = secrets.get("private_key", "private key")?;
    let source = KeySource::File("the stored private key".into());
    check_private_key(pem.expose().as_bytes(), &source)
}

/// Reads a private_key_jwt key (at login, from `--key-file`): a private key tok can sign
/// with, or a usage error naming the file.
pub fn check_private_key(bytes: &[u8], source: &KeySource) -> Result<(Algorithm, EncodingKey)> {
    keys::encoding_key(None, bytes, source)
}

/// `Basic base64(urlencode(id):urlencode(secret))`, RFC 6749 §2.3.1.
pub fn basic_auth(client_id: &str, secret: &str) -> Secret {
    let pair = Secret::new(format!("{}:{}", form_encode(client_id), form_encode(secret)));
    let encoded = Secret::new(base64::engine::general_purpose::STANDARD.encode(pair.expose()));
    Secret::new(format!("Basic {}", encoded.expose()))
}

pub(super) fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertion_claims_table() {
        let table = [
            ("client-1", "https://auth.example.com/token", 1_700_000_000, "j1"),
            ("my client ü", "http://127.0.0.1:9/oauth2/token", 0, "j2"),
        ];
        for (client, aud, now, jti) in table {
            let c = assertion_claims(client, aud, now, jti);
            assert_eq!(c["iss"], client);
            assert_eq!(c["sub"], client);
            assert_eq!(c["aud"], aud);
            assert_eq!(c["jti"], jti);
            assert_eq!(c["iat"], now);
            let exp = c["exp"].as_i64().unwrap();
            assert!(exp > now && exp - now <= 300, "{c}");
        }
        let (a, b) = (random_jti().unwrap(), random_jti().unwrap());
        assert_ne!(a, b);
        assert!(a.len() >= 32);
    }

    #[test]
    fn auth_names_round_trip() {
        for name in AUTH_NAMES {
            assert_eq!(Auth::from_name(name).unwrap().name(), *name);
        }
        let e = Auth::from_name("mtls").unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn a_client_certificate_takes_the_mtls_aliases() {
        let provider = crate::provider::Provider::from_name("oauth2");
        let settings = |cert: bool, auth: &str| {
            let mut flags: Vec<(&'static str, String)> = [
                ("token_url", "https://a.example/t"),
                ("client_id", "c"),
                ("auth", auth),
                ("par_url", "https://a.example/par"),
                ("device_url", "https://a.example/dev"),
                ("mtls_token_url", "https://mtls.a.example/t"),
                ("mtls_par_url", "https://mtls.a.example/par"),
                ("mtls_device_url", "https://mtls.a.example/dev"),
            ]
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
            if cert {
                flags.push(("client_cert", "-----BEGIN CERTIFICATE-----".into()));
            }
            let profile = crate::profile::resolve("mtls-unit", provider, &flags, None).unwrap();
            Params::generic(&profile)
        };
        let table = [
            (false, "basic", "a.example"),
            (true, "basic", "mtls.a.example"),
            (true, "tls", "mtls.a.example"),
        ];
        for (cert, auth, host) in table {
            let p = settings(cert, auth).unwrap();
            for url in [Some(&p.token_url), p.par_url.as_ref(), p.device_url.as_ref()] {
                assert_eq!(url.and_then(|u| u.host_str()), Some(host), "{cert} {auth}");
            }
            assert_eq!(p.binding().contains("x5t#S256"), cert);
        }
        for auth in ["tls", "self-signed-tls"] {
            let e = settings(false, auth).unwrap_err();
            assert!(e.to_string().contains("--client-cert"), "{e}");
        }
    }

    #[test]
    fn basic_auth_table() {
        let decode = |header: &str| {
            let b64 = header.strip_prefix("Basic ").unwrap();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap()
        };
        // The document's example, minus its trailing newline.
        assert_eq!(
            basic_auth("myClientId", "myClientSecret").expose(),
            "Basic bXlDbGllbnRJZDpteUNsaWVudFNlY3JldA=="
        );
        let table = [
            ("id", "secret", "id:secret"),
            ("my client", "p@ss:w/rd", "my+client:p%40ss%3Aw%2Frd"),
            ("ü", "€&=+%", "%C3%BC:%E2%82%AC%26%3D%2B%25"),
            ("a:b", "", "a%3Ab:"),
        ];
        for (id, secret, pair) in table {
            let header = basic_auth(id, secret).expose().to_string();
            assert_eq!(decode(&header), pair, "{id} / {secret}");
            assert!(!header.ends_with('\n') && !decode(&header).ends_with('\n'));
        }
    }
}
