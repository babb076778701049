//! The sandbox's test PKI for its HTTPS listener (see `mtls`): a CA made at start with
//! rcgen, the server's certificate for 127.0.0.1 and localhost, and client certificates
//! (from the CA, and one self-signed); the rustls server side that takes any client
//! certificate; and reading a certificate's subject for `tls_client_auth`.

use base64::Engine;
use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use std::sync::Arc;

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
        params.distinguished_name = name(crate::mtls::SELF_SIGNED_CLIENT);
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
    pub(crate) fn issued_by_ca(&self, chain: &[Vec<u8>]) -> Result<(), String> {
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
