//! Sender-constrained tokens against the real oidc-provider over HTTPS (`Oidc::tls`:
//! `server.mjs --tls`, tests/oidc/README.md): mutual TLS (RFC 8705: `tls_client_auth`,
//! `self_signed_tls_client_auth`, certificate-bound tokens, `mtls_endpoint_aliases`) and
//! DPoP (RFC 9449, with and without server nonces). The provider itself checks every
//! binding: at its token endpoint, its introspection (`cnf`) and its userinfo endpoint,
//! which takes a bound token only with the certificate or a valid proof.
//!
//! The test CA, the server's and the clients' certificates are made per test with the
//! openssl CLI (`Pki`); tok trusts the CA through `SSL_CERT_FILE`, node through
//! `NODE_EXTRA_CA_CERTS`, curl through `--cacert`.

use crate::oidc::{Oidc, Reply, browser_code, random_state};
use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

const API: &str = "https://api.tok.test/";
const BASIC: (&str, &str) = ("tok-basic", "tok-basic-secret");

/// The subject DN tok-tls is registered with (server.mjs's `TLS_CLIENT_DN`).
const TLS_CLIENT_SUBJECT: &str = "/O=tok tests/CN=tok-tls-client";

/// A test CA and what it signed, in one directory, made with the openssl CLI (which is on
/// the machine image and `.ci/run` installs): `ca.pem`, `server.pem` (127.0.0.1 and
/// localhost), `client.pem` (issued by the CA to tok-tls's subject), `self-signed.pem`
/// (for self_signed_tls_client_auth), each key in `NAME-key.pem` (PKCS#8, 0600).
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn make(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("the mTLS tests need the openssl CLI on PATH (apt-get install openssl)");
            assert!(out.status.success(), "openssl {args:?}: {}", stderr_of(&out));
        };
        for name in ["ca", "server", "client", "self-signed"] {
            let key = format!("{name}-key.pem");
            openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &key]);
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join(&key), std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let self_signed = |name: &str, subject: &str, ext: &[&str]| {
            let key = format!("{name}-key.pem");
            let out = format!("{name}.pem");
            let mut args =
                vec!["req", "-x509", "-new", "-key", &key, "-subj", subject, "-days", "2", "-out", &out];
            args.extend(ext.iter().flat_map(|e| ["-addext", e]));
            openssl(&args);
        };
        self_signed(
            "ca",
            "/O=tok tests/CN=tok test CA",
            &["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"],
        );
        self_signed("self-signed", "/CN=tok-self-signed", &[]);
        for (name, subject, ext, serial) in [
            (
                "server",
                "/CN=127.0.0.1",
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
                "2",
            ),
            ("client", TLS_CLIENT_SUBJECT, "extendedKeyUsage=clientAuth\n", "3"),
        ] {
            std::fs::write(dir.join(format!("{name}.ext")), format!("basicConstraints=CA:FALSE\n{ext}"))
                .unwrap();
            let (key, csr) = (format!("{name}-key.pem"), format!("{name}.csr"));
            openssl(&["req", "-new", "-key", &key, "-subj", subject, "-out", &csr]);
            openssl(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-set_serial",
                serial,
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ]);
        }
        Pki { dir: dir.to_path_buf() }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// `NAME.pem` and `NAME-key.pem` ("client", "self-signed").
    pub fn pair(&self, name: &str) -> (PathBuf, PathBuf) {
        (self.dir.join(format!("{name}.pem")), self.dir.join(format!("{name}-key.pem")))
    }
}

/// An HTTPS request with curl, trusting the test CA, presenting the certificate pair
/// `cert` ("client", "self-signed") when given; `headers` are whole header lines.
pub fn https(
    pki: &Pki,
    cert: Option<&str>,
    method: &str,
    url: &str,
    headers: &[&str],
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Reply {
    require_curl();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-i", "--max-time", "20", "-X", method, "-H", "Accept: application/json", "--cacert"])
        .arg(pki.ca());
    if let Some(name) = cert {
        let (cert, key) = pki.pair(name);
        cmd.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    for line in headers {
        cmd.args(["-H", line]);
    }
    for (k, v) in form {
        cmd.arg("--data-urlencode").arg(format!("{k}={v}"));
    }
    if let Some((id, secret)) = basic {
        cmd.arg("-u").arg(format!("{id}:{secret}"));
    }
    let out = cmd.arg(url).output().unwrap();
    assert!(out.status.success(), "curl {url}: {}", stderr_of(&out));
    let reply = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    Reply { status, head: head.to_string(), body: body.to_string() }
}

impl Reply {
    /// A header's value (the first of that name).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

fn sha256_b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, data))
}

fn pem_der(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let body: String =
        text.lines().take_while(|l| !l.starts_with("-----END")).filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

/// RFC 8705 §3.1: base64url(SHA-256(the certificate's DER)).
fn cert_thumbprint(path: &Path) -> String {
    sha256_b64url(&pem_der(path))
}

/// An ES256 DPoP key of the test's own (a PKCS#8 P-256 PEM): it signs proofs by hand,
/// and its RFC 7638 thumbprint is what a token bound to it carries as `cnf.jkt`.
struct DpopKey {
    pair: ring::signature::EcdsaKeyPair,
}

impl DpopKey {
    fn from_pem(path: &Path) -> DpopKey {
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &pem_der(path),
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        DpopKey { pair }
    }

    fn jwk(&self) -> Value {
        use ring::signature::KeyPair;
        let point = self.pair.public_key().as_ref();
        let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..]));
        json!({"crv": "P-256", "kty": "EC", "x": x, "y": y})
    }

    fn thumbprint(&self) -> String {
        // The members in lexical order, no spaces (RFC 7638 §3): serde_json's map is sorted.
        sha256_b64url(self.jwk().to_string().as_bytes())
    }

    /// A proof for one request (RFC 9449 §4.2), `ath` for a token, `nonce` when given.
    fn proof(&self, htm: &str, htu: &str, token: Option<&str>, nonce: Option<&str>) -> String {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()});
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let mut claims = json!({"jti": random_state(), "htm": htm, "htu": htu, "iat": now});
        if let Some(token) = token {
            claims["ath"] = json!(sha256_b64url(token.as_bytes()));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.pair.sign(&ring::rand::SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/keys")
}

fn ec_key() -> PathBuf {
    keys_dir().join("test-only-client-ec-p256.pem")
}

/// The discovery document's mTLS alias for `name`, checked to be another listener than
/// the issuer's (which never asks for a certificate).
fn alias(oidc: &Oidc, name: &str) -> String {
    let url = oidc.metadata()["mtls_endpoint_aliases"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no mtls alias for {name}"))
        .to_string();
    assert!(!url.starts_with(&format!("{}/", oidc.issuer)), "{url} is the issuer's own listener");
    url
}

fn introspect(oidc: &Oidc, token: &str) -> Value {
    let url = oidc.endpoint("introspection_endpoint");
    https(oidc.pki.as_ref().unwrap(), None, "POST", &url, &[], &[("token", token)], Some(BASIC)).json()
}

/// A private_key_jwt assertion for `client` with tok's EC test key.
fn assertion(client: &str, aud: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_ec_pem(&std::fs::read(ec_key()).unwrap()).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims =
        json!({"iss": client, "sub": client, "aud": aud, "jti": random_state(), "iat": now, "exp": now + 60});
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("test-ec".into());
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

/// The harness by hand (curl, and proofs signed here), so tok's tests below stand on a
/// provider known to check each binding: certificates count only through the aliases,
/// tokens carry `cnf`, and userinfo refuses a bound token without its binding.
#[test]
fn the_https_harness_checks_certificates_at_the_aliases_and_binds_tokens_to_them() {
    let oidc = Oidc::tls(&[]);
    let pki = oidc.pki.as_ref().unwrap();
    let meta = oidc.metadata();
    assert_eq!(meta["tls_client_certificate_bound_access_tokens"], true, "{meta}");
    let methods = meta["token_endpoint_auth_methods_supported"].to_string();
    assert!(methods.contains("\"tls_client_auth\"") && methods.contains("self_signed_tls_client_auth"));
    let token_alias = alias(&oidc, "token_endpoint");
    let issuer_token = oidc.endpoint("token_endpoint");
    let cc = |url: &str, cert: Option<&str>, client: &str, extra: &[(&str, &str)]| {
        let form =
            [&[("grant_type", "client_credentials"), ("client_id", client), ("resource", API)][..], extra]
                .concat();
        https(pki, cert, "POST", url, &[], &form, None)
    };
    let jwt_auth = |url: &str| {
        [
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", Box::leak(assertion("tok-bound-jwt", url).into_boxed_str()) as &str),
        ]
    };
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 3] = [
        ("tok-tls", "client", vec![], "self-signed"),
        ("tok-self-signed", "self-signed", vec![], "client"),
        ("tok-bound-jwt", "client", jwt_auth(&token_alias).to_vec(), "client"),
    ];
    for (client, cert, extra, wrong) in cases {
        let reply = cc(&token_alias, Some(cert), client, &extra);
        assert_eq!(reply.status, 200, "{client}: {}\n{}", reply.body, oidc.server_log());
        let token = reply.json()["access_token"].as_str().unwrap().to_string();
        let (cert_file, _) = pki.pair(cert);
        assert_eq!(claims(&token)["cnf"]["x5t#S256"], cert_thumbprint(&cert_file), "{client}");
        if client != "tok-bound-jwt" {
            // The issuer's listener asks for no certificate; the wrong one is refused.
            let at_issuer = cc(&issuer_token, Some(cert), client, &extra);
            assert_eq!(at_issuer.json()["error"], "invalid_client", "{client}");
            assert_eq!(cc(&token_alias, Some(wrong), client, &extra).json()["error"], "invalid_client");
        } else {
            // Bound tokens need a certificate even where it does not authenticate.
            let none = cc(&issuer_token, None, client, &jwt_auth(&issuer_token));
            assert_eq!(none.json()["error"], "invalid_grant", "{}", none.body);
        }
    }
    assert_eq!(oidc.count("POST /token mtls 200"), 3);

    // A user token of tok-tls at userinfo: with its certificate only, at the alias.
    let (code, redirect) = browser_code(&oidc, "tok-tls", "openid");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("client_id", "tok-tls"),
        ("code_verifier", crate::oidc::PKCE_VERIFIER),
    ];
    let reply = https(pki, Some("client"), "POST", &token_alias, &[], &form, None);
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, oidc.server_log());
    let token = reply.json()["access_token"].as_str().unwrap().to_string();
    let intro = introspect(&oidc, &token);
    assert_eq!(intro["cnf"]["x5t#S256"], cert_thumbprint(&pki.pair("client").0), "{intro}");
    let bearer = format!("Authorization: Bearer {token}");
    let me = alias(&oidc, "userinfo_endpoint");
    let ok = https(pki, Some("client"), "GET", &me, &[&bearer], &[], None);
    assert_eq!((ok.status, ok.json()["sub"].as_str()), (200, Some("alice")), "{}", ok.body);
    for (url, cert) in
        [(&me, None), (&me, Some("self-signed")), (&oidc.endpoint("userinfo_endpoint"), Some("client"))]
    {
        let refused = https(pki, cert, "GET", url, &[&bearer], &[], None);
        assert_eq!(refused.status, 401, "{url} {cert:?}: {}", refused.body);
        assert!(refused.header("www-authenticate").unwrap().contains("invalid_token"), "{}", refused.head);
    }
}

/// DPoP by hand: a bound token's `cnf.jkt` is the key's thumbprint, its proofs are checked
/// at userinfo (ath, replay), and `--dpop-nonce` makes every endpoint ask for a nonce.
#[test]
fn the_https_harness_binds_dpop_tokens_and_asks_for_nonces_when_told() {
    let key = DpopKey::from_pem(&ec_key());
    for nonces in [false, true] {
        let oidc = Oidc::tls(if nonces { &["--dpop-nonce"] } else { &[] });
        let pki = oidc.pki.as_ref().unwrap();
        let token_url = oidc.endpoint("token_endpoint");
        let me = oidc.endpoint("userinfo_endpoint");
        // Without a proof, a DPoP-bound client gets nothing.
        let form = [("grant_type", "client_credentials")];
        let bare = https(pki, None, "POST", &token_url, &[], &form, Some(("tok-dpop", "tok-dpop-secret")));
        assert_eq!(bare.json()["error"], "invalid_grant", "{}", bare.body);

        let (code, redirect) = browser_code(&oidc, "tok-dpop-public", "openid");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("client_id", "tok-dpop-public"),
            ("code_verifier", crate::oidc::PKCE_VERIFIER),
        ];
        let redeem = |nonce: Option<&str>| {
            let proof = format!("DPoP: {}", key.proof("POST", &token_url, None, nonce));
            https(pki, None, "POST", &token_url, &[&proof], &form, None)
        };
        let mut reply = redeem(None);
        if nonces {
            assert_eq!((reply.status, reply.json()["error"].as_str()), (400, Some("use_dpop_nonce")));
            reply = redeem(reply.header("dpop-nonce").as_deref());
        }
        assert_eq!(reply.status, 200, "{}\n{}", reply.body, oidc.server_log());
        let tokens = reply.json();
        assert_eq!(tokens["token_type"], "DPoP");
        let token = tokens["access_token"].as_str().unwrap();
        assert_eq!(introspect(&oidc, token)["cnf"]["jkt"], key.thumbprint());

        let auth = format!("Authorization: DPoP {token}");
        let call = |proof: &str| https(pki, None, "GET", &me, &[&auth, &format!("DPoP: {proof}")], &[], None);
        let mut nonce = None;
        if nonces {
            let challenged = call(&key.proof("GET", &me, Some(token), None));
            assert_eq!(challenged.status, 401);
            assert!(challenged.header("www-authenticate").unwrap().contains("use_dpop_nonce"));
            nonce = challenged.header("dpop-nonce");
        }
        let proof = key.proof("GET", &me, Some(token), nonce.as_deref());
        let ok = call(&proof);
        assert_eq!((ok.status, ok.json()["sub"].as_str()), (200, Some("alice")), "{}", ok.body);
        // A reused proof, one without ath, and the token as a bearer token are refused.
        let refused = [
            call(&proof),
            call(&key.proof("GET", &me, None, nonce.as_deref())),
            call(&key.proof("GET", &format!("{me}x"), Some(token), nonce.as_deref())),
            https(pki, None, "GET", &me, &[&format!("Authorization: Bearer {token}")], &[], None),
        ];
        for (i, r) in refused.iter().enumerate() {
            assert_eq!(r.status, 401, "case {i} (nonces {nonces}): {}", r.body);
        }
    }
}
