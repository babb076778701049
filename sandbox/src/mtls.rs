//! Mutual TLS (RFC 8705) on an HTTPS listener of its own (`Options::tls`), with a test
//! CA the sandbox makes when it starts (`Pki`: rcgen, so tests need no openssl).
//!
//! The listener asks every client for a certificate and takes any, or none: which one
//! counts is the route's business, as with a real authorization server.
//!
//! - `GET /mtls/.well-known/openid-configuration` (issuer `https://<host>/mtls`): the
//!   token endpoint `/mtls/token`, and `mtls_endpoint_aliases.token_endpoint`
//!   `/mtls/bound/token` (RFC 8705 §5).
//! - `POST /mtls/device` and its alias `POST /mtls/bound/device`: RFC 8628 device
//!   authorization (the `device` setting scripts the polls, as at `/as`), authenticated
//!   like the token endpoints; a device code is polled for at `/mtls/bound/token`.
//! - `POST /mtls/token`: client_credentials with the `/as` client authentication
//!   (Basic, `private_key_jwt`...); it ignores certificates, so its tokens are unbound
//!   and it refuses the certificate methods (they belong at the alias).
//! - `POST /mtls/bound/token`: the same, plus `tls_client_auth` for client
//!   `mtls-client` (a certificate from the sandbox CA whose subject DN is
//!   `CN=mtls-client`) and `self_signed_tls_client_auth` for `self-signed-client` (the
//!   registered `Pki::self_signed` certificate). Whenever a certificate was presented,
//!   the token's `cnf` carries its `x5t#S256` (RFC 8705 §3.1).
//! - `ANY /mtls/resource[/...]`: a resource server that takes the sandbox's tokens and,
//!   for a bound one, requires the connection's certificate to have the `cnf`
//!   thumbprint (RFC 8705 §3): another certificate, or none, gets 401 `invalid_token`.
//!   200 answers `{"ok", "path", "method", "x5t#S256"}`.
//!
//! These routes answer only on the HTTPS listener.

use crate::{Reply, Req, State, issuer, oauth2};
use base64::Engine;
use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

pub const TLS_CLIENT: &str = "mtls-client";
pub const TLS_CLIENT_DN: &str = "CN=mtls-client";
pub const SELF_SIGNED_CLIENT: &str = "self-signed-client";

/// A certificate and its key, as PEM files hold them.
#[derive(Clone)]
pub struct Pair {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl Pair {
    /// `x5t#S256`, RFC 8705 §3.1.
    pub fn thumbprint(&self) -> String {
        thumbprint(&self.der)
    }
}

/// The sandbox's test CA and the certificates it made.
pub struct Pki {
    /// The CA certificate: what a client trusts (`SSL_CERT_FILE`).
    pub ca_pem: String,
    ca_der: Vec<u8>,
    server: Pair,
    /// From the CA, subject `CN=mtls-client`: client `mtls-client`'s certificate.
    pub client: Pair,
    /// From the CA, subject `CN=other-client`: a valid certificate of nobody registered.
    pub other: Pair,
    /// Self-signed, registered for `self-signed-client`.
    pub self_signed: Pair,
}

impl Pki {
    pub fn generate() -> Result<Pki, rcgen::Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name = name("tok-sandbox test CA");
        ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca = Issuer::new(ca_params, ca_key);
        let issued =
            |cn: &str, names: Vec<String>, usage: ExtendedKeyUsagePurpose| -> Result<Pair, rcgen::Error> {
                let key = KeyPair::generate()?;
                let mut params = CertificateParams::new(names)?;
                params.distinguished_name = name(cn);
                params.extended_key_usages = vec![usage];
                let cert = params.signed_by(&key, &ca)?;
                Ok(pair(cert.der(), &key))
            };
        let server = issued(
            "tok-sandbox",
            vec!["127.0.0.1".into(), "localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let client = issued("mtls-client", Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)?;
        let other = issued("other-client", Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = name(SELF_SIGNED_CLIENT);
        let cert = params.self_signed(&key)?;
        let self_signed = pair(cert.der(), &key);
        Ok(Pki {
            ca_pem: pem("CERTIFICATE", ca_cert.der()),
            ca_der: ca_cert.der().to_vec(),
            server,
            client,
            other,
            self_signed,
        })
    }

    /// `ca.pem`, and `client`, `other` and `self` `.pem` / `.key` (keys 0600), for by hand.
    pub fn write_to(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("ca.pem"), &self.ca_pem)?;
        for (name, pair) in [("client", &self.client), ("other", &self.other), ("self", &self.self_signed)] {
            std::fs::write(dir.join(format!("{name}.pem")), &pair.cert_pem)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            std::io::Write::write_all(
                &mut options.open(dir.join(format!("{name}.key")))?,
                pair.key_pem.as_bytes(),
            )?;
        }
        Ok(())
    }

    /// The server side: the sandbox's certificate, and every client certificate asked
    /// for and taken (or none).
    pub fn server_config(&self) -> Result<rustls::ServerConfig, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::try_from(pem_der(&self.server.key_pem))
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(Arc::new(AnyCertificate(provider)))
            .with_single_cert(vec![CertificateDer::from(self.server.der.clone())], key)
    }

    /// RFC 8705 §2.1.2: the chain leads to the CA.
    fn issued_by_ca(&self, chain: &[Vec<u8>]) -> Result<(), String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(self.ca_der.clone())).map_err(|e| e.to_string())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| e.to_string())?;
        let (first, rest) = chain.split_first().ok_or("no certificate")?;
        let intermediates: Vec<CertificateDer> =
            rest.iter().map(|d| CertificateDer::from(d.clone())).collect();
        verifier
            .verify_client_cert(&CertificateDer::from(first.clone()), &intermediates, UnixTime::now())
            .map(|_| ())
            .map_err(|e| format!("the certificate is not from the CA: {e}"))
    }
}

fn pair(der: &[u8], key: &KeyPair) -> Pair {
    Pair {
        cert_pem: pem("CERTIFICATE", der),
        key_pem: pem("PRIVATE KEY", &key.serialize_der()),
        der: der.to_vec(),
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).unwrap_or_default()
}

pub fn thumbprint(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(der))
}

/// Takes any client certificate whose holder proves its key in the handshake; the
/// routes decide what the certificate is worth (RFC 8705 §2 leaves it to the server).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::server::danger::ClientCertVerifier for AnyCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Serves `listener` over TLS until the runtime stops; each connection's client
/// certificates go with its requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    state: Arc<Mutex<State>>,
    quiet: bool,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else { return };
            let certs: Vec<Vec<u8>> =
                tls.get_ref().1.peer_certificates().unwrap_or_default().iter().map(|c| c.to_vec()).collect();
            let peer = crate::Peer { tls: true, certs: Arc::new(certs) };
            let service = hyper::service::service_fn(move |request| {
                let state = Arc::clone(&state);
                let peer = peer.clone();
                async move { Ok::<_, std::convert::Infallible>(crate::handle(state, request, quiet, peer).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}

pub fn handle(state: &Mutex<State>, req: &Req) -> Option<Reply> {
    if !req.path.starts_with("/mtls/") {
        return None;
    }
    if !req.peer.tls {
        return Some(error(404, "not_found", "the mTLS routes are on the sandbox's HTTPS listener"));
    }
    let host = req.header("host").unwrap_or("127.0.0.1");
    let here = |path: &str| format!("https://{host}{path}");
    Some(match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/mtls/.well-known/openid-configuration") => Reply::json(
            200,
            &json!({
                "issuer": here("/mtls"),
                "token_endpoint": here("/mtls/token"),
                "device_authorization_endpoint": here("/mtls/device"),
                "token_endpoint_auth_methods_supported":
                    ["client_secret_basic", "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"],
                "tls_client_certificate_bound_access_tokens": true,
                "mtls_endpoint_aliases": {
                    "token_endpoint": here("/mtls/bound/token"),
                    "device_authorization_endpoint": here("/mtls/bound/device"),
                },
            }),
        ),
        ("POST", "/mtls/token") => token(state, req, &here("/mtls"), &here(&req.path), false),
        ("POST", "/mtls/bound/token") => token(state, req, &here("/mtls"), &here(&req.path), true),
        ("POST", path @ ("/mtls/device" | "/mtls/bound/device")) => {
            let form = issuer::parse_form(req);
            match client_of(state, req, &form, &here(path), path.starts_with("/mtls/bound/")) {
                Ok(client) => {
                    let (status, body) =
                        crate::device::authorize(&mut state.lock().unwrap(), &client, &here("/mtls"));
                    Reply::json(status, &body)
                }
                Err(reply) => reply,
            }
        }
        (_, path) if path == "/mtls/resource" || path.starts_with("/mtls/resource/") => resource(state, req),
        _ => error(404, "not_found", "no such mTLS route"),
    })
}

fn error(status: u16, error: &str, description: &str) -> Reply {
    Reply::json(status, &json!({ "error": error, "error_description": description }))
}

fn token(state: &Mutex<State>, req: &Req, issuer_url: &str, endpoint: &str, bound: bool) -> Reply {
    let form = issuer::parse_form(req);
    let one = |k: &str| issuer::first(&form, k);
    let client = match client_of(state, req, &form, endpoint, bound) {
        Ok(client) => client,
        Err(reply) => return reply,
    };
    match one("grant_type") {
        Some("client_credentials") => {}
        Some(crate::device::GRANT_TYPE) if bound => {
            if let Err((status, code)) =
                crate::device::poll(&mut state.lock().unwrap(), one("device_code"), &client)
            {
                return error(status, code, "see RFC 8628 §3.5");
            }
        }
        _ => {
            return error(
                400,
                "unsupported_grant_type",
                "this endpoint serves client_credentials (and device codes at the alias)",
            );
        }
    }
    let presented = req.peer.certs.first().filter(|_| bound).map(|der| thumbprint(der));
    let extra = match &presented {
        Some(x5t) => json!({ "cnf": { "x5t#S256": x5t } }),
        None => json!({}),
    };
    let (token, expires_in) = oauth2::issue(state, issuer_url, &client, extra);
    Reply::json(200, &json!({ "access_token": token, "token_type": "Bearer", "expires_in": expires_in }))
}

/// The client a request to `endpoint` authenticates as: by its certificate at an mTLS
/// alias (`bound`), else as at `/as`.
fn client_of(
    state: &Mutex<State>,
    req: &Req,
    form: &std::collections::BTreeMap<String, Vec<String>>,
    endpoint: &str,
    bound: bool,
) -> Result<String, Reply> {
    let one = |k: &str| issuer::first(form, k);
    let by_certificate = matches!(one("client_id"), Some(TLS_CLIENT | SELF_SIGNED_CLIENT))
        && req.header("authorization").is_none()
        && one("client_secret").is_none()
        && one("client_assertion").is_none();
    if by_certificate && !bound {
        return Err(error(
            401,
            "invalid_client",
            "certificate authentication is at the mtls_endpoint_aliases endpoints",
        ));
    }
    let client = if by_certificate {
        certificate_client(state, req, one("client_id").unwrap_or_default())
    } else {
        issuer::authenticate(state, req, form, endpoint)
    };
    client.map_err(|why| error(401, "invalid_client", &why))
}

/// RFC 8705 §2: the client is who its certificate says.
fn certificate_client(state: &Mutex<State>, req: &Req, client_id: &str) -> Result<String, String> {
    let chain = req.peer.certs.as_slice();
    let first = chain.first().ok_or("no client certificate was presented")?;
    let pki = state.lock().unwrap().pki.clone().ok_or("no PKI")?;
    match client_id {
        TLS_CLIENT => {
            pki.issued_by_ca(chain)?;
            let dn = subject_dn(first).ok_or("the certificate's subject cannot be read")?;
            if dn != TLS_CLIENT_DN {
                return Err(format!(
                    "the certificate's subject {dn} is not the one registered for {client_id}"
                ));
            }
        }
        _ => {
            if thumbprint(first) != pki.self_signed.thumbprint() {
                return Err(format!("the certificate is not the one registered for {client_id}"));
            }
        }
    }
    Ok(client_id.to_string())
}

/// RFC 8705 §3: a bound token is taken only with the certificate it is bound to.
fn resource(state: &Mutex<State>, req: &Req) -> Reply {
    let refuse = |why: &str| {
        let mut reply = error(401, "invalid_token", why);
        reply.headers.push((
            "WWW-Authenticate".into(),
            format!("Bearer error=\"invalid_token\", error_description=\"{why}\""),
        ));
        reply
    };
    let Some(token) = req.bearer() else { return refuse("no bearer token") };
    let live = {
        let s = state.lock().unwrap();
        s.issued.get(token).is_some_and(|exp| *exp > s.now())
    };
    if !live {
        return refuse("the token is not a live token of this sandbox");
    }
    let claims = claims(token);
    let presented = req.peer.certs.first().map(|der| thumbprint(der));
    if let Some(bound) = claims["cnf"]["x5t#S256"].as_str() {
        match &presented {
            None => return refuse("the token is certificate-bound and no certificate was presented"),
            Some(x5t) if x5t != bound => return refuse("the certificate presented is not the token's"),
            Some(_) => {}
        }
    }
    Reply::json(200, &json!({ "ok": true, "method": req.method, "path": req.path, "x5t#S256": presented }))
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// One DER element: its tag, its contents and what follows it.
fn element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count].iter().fold(0usize, |n, b| (n << 8) | *b as usize);
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// A certificate's subject as `CN=...,O=...` (the attributes tests use), in its order.
pub fn subject_dn(der: &[u8]) -> Option<String> {
    let (_, certificate, _) = element(der)?;
    let (_, tbs, _) = element(certificate)?;
    let mut rest = tbs;
    // An explicit version ([0]) comes first when present.
    if rest.first() == Some(&0xa0) {
        rest = element(rest)?.2;
    }
    // serialNumber, signature, issuer, validity, then subject.
    for _ in 0..4 {
        rest = element(rest)?.2;
    }
    let (_, mut rdns, _) = element(rest)?;
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let (_, set, next) = element(rdns)?;
        rdns = next;
        let (_, attribute, _) = element(set)?;
        let (_, oid, value) = element(attribute)?;
        let (_, text, _) = element(value)?;
        let label = match oid {
            [0x55, 0x04, 0x03] => "CN",
            [0x55, 0x04, 0x0a] => "O",
            [0x55, 0x04, 0x0b] => "OU",
            [0x55, 0x04, 0x06] => "C",
            _ => "?",
        };
        parts.push(format!("{label}={}", String::from_utf8_lossy(text)));
    }
    Some(parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_read_from_certificates() {
        let pki = Pki::generate().unwrap();
        assert_eq!(subject_dn(&pki.client.der).as_deref(), Some("CN=mtls-client"));
        assert_eq!(subject_dn(&pki.other.der).as_deref(), Some("CN=other-client"));
        assert_eq!(subject_dn(b"\x30\x01"), None);
        assert!(pki.issued_by_ca(std::slice::from_ref(&pki.client.der)).is_ok());
        assert!(pki.issued_by_ca(std::slice::from_ref(&pki.self_signed.der)).is_err());
    }
}
