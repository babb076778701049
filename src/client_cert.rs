//! The TLS client certificate of a profile (RFC 8705): `--client-cert FILE`, a PEM chain
//! kept in the profile's settings (`client_cert`: the certificates are not secret, and
//! keeping their text means moving the file breaks nothing), and its private key, the
//! secret field `client_key`, read once at login from `--client-key-file FILE` (or `-`,
//! stdin) into the store.
//!
//! One `ClientCert` is presented by every HTTP client that speaks for the profile: tok's
//! token requests (`Http`), `tok proxy`'s upstream client and the curl `tok curl` runs.
//! Both halves are checked when they come in (at login), so a later failure is the
//! server's refusal, not a file tok could have told was wrong.

use crate::error::{Error, Result};
use crate::secret::Secret;
use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The setting that holds the PEM chain, and the secret field that holds the key.
pub const SETTING: &str = "client_cert";
pub const SECRET: &str = "client_key";
pub const KEY_LABEL: &str = "client certificate's private key (--client-key-file)";

/// A certificate chain and the private key of its first certificate.
pub struct ClientCert {
    chain: String,
    key: Secret,
}

impl ClientCert {
    /// Both halves, checked to belong together.
    pub fn new(chain: &str, key: Secret) -> Result<ClientCert> {
        check_pair(chain, &key)?;
        Ok(ClientCert { chain: chain.to_string(), key })
    }

    /// The PEM chain (public).
    pub fn chain(&self) -> &str {
        &self.chain
    }

    /// The PEM private key.
    pub fn key(&self) -> &Secret {
        &self.key
    }

    /// reqwest's identity: the key and the chain in one PEM buffer, as it reads them.
    /// `Identity::from_pem` comes with the `rustls-no-provider` feature tok already uses
    /// (no new reqwest feature); the handshake signs with the ring provider tok installs.
    pub fn identity(&self) -> Result<reqwest::Identity> {
        let pem = Secret::new(format!("{}\n{}\n", self.key.expose().trim_end(), self.chain.trim_end()));
        reqwest::Identity::from_pem(pem.expose().as_bytes())
            // Never the library's text: it may quote the buffer.
            .map_err(|_| {
                Error::usage(format!("the stored {KEY_LABEL} and certificate cannot be used for TLS"))
            })
    }

    /// The chain and key as rustls takes them (`tok proxy`'s own upstream client).
    pub fn rustls_parts(&self) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
        let unusable =
            || Error::usage(format!("the stored {KEY_LABEL} and certificate cannot be used for TLS"));
        let chain = CertificateDer::pem_slice_iter(self.chain.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| unusable())?;
        let key = PrivateKeyDer::from_pem_slice(self.key.expose().as_bytes()).map_err(|_| unusable())?;
        Ok((chain, key))
    }

    /// RFC 8705 §3.1's `x5t#S256`: the base64url SHA-256 of the first certificate's DER,
    /// which a bound token's `cnf` carries. It also names the certificate in a token's
    /// binding and in tok's messages (a thumbprint is public).
    pub fn thumbprint(&self) -> String {
        thumbprint(&self.chain).unwrap_or_default()
    }
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientCert({})", self.thumbprint())
    }
}

/// `x5t#S256` of a PEM chain's first certificate.
pub fn thumbprint(chain: &str) -> Option<String> {
    let first = CertificateDer::pem_slice_iter(chain.as_bytes()).next()?.ok()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, first.as_ref());
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// `--client-cert FILE` at login: the chain's text, once it is known to hold PEM
/// certificates and nothing secret.
pub fn read_chain(file: &str) -> Result<String> {
    let bytes = crate::keys::read_small_file(std::path::Path::new(file)).map_err(|e| {
        Error::usage(format!("cannot read the --client-cert file {}: {e}", crate::term::printable(file)))
    })?;
    check_chain(&bytes).map_err(|why| {
        Error::usage(format!("--client-cert {}: {why}", crate::term::printable(file)))
            .hint("give the client certificate (and any intermediates) as PEM: -----BEGIN CERTIFICATE-----")
    })
}

/// A chain as the setting keeps it: PEM certificates only. A private key in the same
/// file is refused, since settings are not secret (config.toml is readable).
pub fn check_chain(bytes: &[u8]) -> std::result::Result<String, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| "it is not PEM text (DER? convert with openssl x509)")?;
    if text.contains("PRIVATE KEY-----") {
        return Err(
            "it holds a private key; give the key with --client-key-file, which keeps it in the store".into(),
        );
    }
    let mut certificates = Vec::new();
    for item in CertificateDer::pem_slice_iter(bytes) {
        let der = item.map_err(|_| "a PEM block in it cannot be read")?;
        certificates.push(der);
    }
    if certificates.is_empty() {
        return Err("it holds no PEM certificate".into());
    }
    for der in &certificates {
        // rustls' own check that each is an X.509 certificate it can present.
        webpki_shape(der)?;
    }
    // Each certificate as PEM, one after another: the form every client reads.
    Ok(certificates.iter().map(|der| pem_certificate(der)).collect::<Vec<_>>().join(""))
}

/// A DER certificate: a SEQUENCE of a SEQUENCE (tbsCertificate), an algorithm and a
/// signature, its length as stated.
fn webpki_shape(der: &[u8]) -> std::result::Result<(), String> {
    use der::{Decode, Tagged};
    let not_der = |_| "a certificate in it is not DER";
    let any = der::asn1::AnyRef::from_der(der).map_err(not_der)?;
    if any.tag() != der::Tag::Sequence {
        return Err("a block in it is not an X.509 certificate".into());
    }
    let mut reader = der::SliceReader::new(any.value()).map_err(not_der)?;
    let mut parts = 0;
    while !der::Reader::is_finished(&reader) {
        der::asn1::AnyRef::decode(&mut reader).map_err(not_der)?;
        parts += 1;
    }
    if parts != 3 {
        return Err("a block in it is not an X.509 certificate".into());
    }
    Ok(())
}

fn pem_certificate(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

/// `--client-key-file FILE` (`-`: stdin) at login: the key as the secret to keep.
pub fn read_key(file: &str) -> Result<Secret> {
    let source =
        if file == "-" { crate::keys::KeySource::Stdin } else { crate::keys::KeySource::File(file.into()) };
    let bytes = source.read().map_err(|e| {
        // KeySource's messages speak of "the key file": say which flag it was.
        Error::usage(format!("--client-key-file: {e}"))
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::usage("--client-key-file takes a PEM private key (convert DER with openssl pkey)")
    })?;
    let key = Secret::new(text);
    private_key(&key)?;
    Ok(key)
}

/// The key as rustls reads it: PKCS#8, PKCS#1 (RSA) or SEC1 (EC) PEM.
fn private_key(key: &Secret) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(key.expose().as_bytes()).map_err(|_| {
        Error::usage(format!(
            "the {KEY_LABEL} is not a PEM private key (PKCS#8, RSA or EC); never shown, so check the file"
        ))
    })
}

/// The key is the one the chain's first certificate names: else every TLS handshake
/// would fail, later and less clearly.
pub fn check_pair(chain: &str, key: &Secret) -> Result<()> {
    let der = private_key(key)?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&der)
        .map_err(|_| Error::usage(format!("the {KEY_LABEL} is of a kind TLS cannot sign with here")))?;
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(chain.as_bytes()).filter_map(|c| c.ok()).collect();
    if certificates.is_empty() {
        return Err(Error::usage(
            "the client certificate setting holds no certificate; log in again with --client-cert",
        ));
    }
    let certified = rustls::sign::CertifiedKey::new(certificates, signer);
    match certified.keys_match() {
        Ok(()) => Ok(()),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(Error::usage(format!(
                "the {KEY_LABEL} does not belong to the --client-cert certificate (its public key differs)"
            )))
        }
        // A key whose public half rustls cannot tell: the server's handshake will judge.
        Err(_) => Ok(()),
    }
}

/// The profile's certificate and key, from its settings and its store (or
/// `TOK_<P>_CLIENT_KEY`), for the clients that speak for it; `None` when it has none.
pub fn for_profile(
    profile: &crate::profile::Profile,
    secrets: &mut crate::input::Secrets,
) -> Result<Option<Arc<ClientCert>>> {
    let Some(chain) = profile.get(SETTING) else { return Ok(None) };
    let key = secrets.get(SECRET, KEY_LABEL)?;
    ClientCert::new(chain, key).map(|c| Some(Arc::new(c)))
}

/// `for_profile` for the commands that hand the profile's credential to another client
/// (`tok curl`, `tok proxy`): the key from the profile's store, else from the environment.
pub fn of_profile(
    app: &crate::flow::App,
    profile: &crate::profile::Profile,
) -> Result<Option<Arc<ClientCert>>> {
    if profile.get(SETTING).is_none() {
        return Ok(None);
    }
    let store = app.store_for(profile).ok();
    let mut secrets = crate::input::Secrets::new(&profile.name, store.as_ref(), false);
    for_profile(profile, &mut secrets)
}

/// The warning `tok print` and `tok exec` give for a certificate-bound profile: the
/// token they hand out is refused without the certificate (RFC 8705 §3).
pub fn bound_warning(profile: &crate::profile::Profile) -> Option<String> {
    let chain = profile.get(SETTING)?;
    Some(format!(
        "{}'s token is bound to its TLS client certificate (x5t#S256 {}): an API that checks the binding refuses it without that certificate; tok curl and tok proxy present it",
        profile.name,
        thumbprint(chain).unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_checked() {
        let refused: [(&[u8], &str); 5] = [
            (b"", "no PEM certificate"),
            (b"\xff\xfe", "not PEM text"),
            (b"-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n", "private key"),
            (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not DER"),
            (b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n", "not an X.509"),
        ];
        for (bytes, want) in refused {
            let why = check_chain(bytes).unwrap_err();
            assert!(why.contains(want), "{bytes:?}: {why}");
        }
    }

    #[test]
    fn keys_are_matched_to_their_certificates() {
        let pki = tok_sandbox::mtls::Pki::generate().unwrap();
        let chain = check_chain(pki.client.cert_pem.as_bytes()).unwrap();
        assert_eq!(thumbprint(&chain), Some(pki.client.thumbprint()));
        let table =
            [(&pki.client.key_pem, true), (&pki.other.key_pem, false), (&pki.self_signed.key_pem, false)];
        for (key, matches) in table {
            let result = ClientCert::new(&chain, Secret::new(key.as_str()));
            assert_eq!(result.is_ok(), matches);
            if let Err(e) = result {
                assert!(e.to_string().contains("does not belong"), "{e}");
                assert!(!e.to_string().contains(key.lines().nth(1).unwrap()), "{e}");
            }
        }
        let cert = ClientCert::new(&chain, Secret::new(pki.client.key_pem.as_str())).unwrap();
        assert!(cert.identity().is_ok());
        assert!(!format!("{cert:?}").contains("PRIVATE"));
        // A chain of two keeps both, in order.
        let two = format!("{}{}", pki.client.cert_pem, pki.ca_pem);
        let kept = check_chain(two.as_bytes()).unwrap();
        assert_eq!(kept.matches("BEGIN CERTIFICATE").count(), 2);
        assert_eq!(thumbprint(&kept), Some(pki.client.thumbprint()));
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused_without_being_shown() {
        let key = Secret::new("hunter2-not-a-key");
        let e = check_pair("", &key).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
