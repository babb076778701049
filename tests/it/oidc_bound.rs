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
    const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    let (at_alias, at_issuer) =
        (assertion("tok-bound-jwt", &token_alias), assertion("tok-bound-jwt", &issuer_token));
    let jwt_auth = |assertion| [("client_assertion_type", JWT_BEARER), ("client_assertion", assertion)];
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 3] = [
        ("tok-tls", "client", vec![], "self-signed"),
        ("tok-self-signed", "self-signed", vec![], "client"),
        ("tok-bound-jwt", "client", jwt_auth(at_alias.as_str()).to_vec(), "client"),
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
            let none = cc(&issuer_token, None, client, &jwt_auth(at_issuer.as_str()));
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

// ---- tok itself: `--auth tls|self-signed-tls`, `--client-cert`, `--dpop` ----

/// `tok` trusting the test CA the way a user behind a company CA would, with PATH (curl).
fn tok(home: &Home, pki: &Pki) -> assert_cmd::Command {
    let mut cmd = home.tok_with_path();
    cmd.env("SSL_CERT_FILE", pki.ca());
    cmd
}

/// A running `tok proxy` (its stderr in a file); killed when dropped.
struct Proxy {
    child: std::process::Child,
    base: String,
    log: PathBuf,
}

impl Proxy {
    fn start(home: &Home, pki: &Pki, profile: &str) -> Proxy {
        use std::io::BufRead;
        let log = home.path().join("proxy.log");
        let mut cmd = home.process();
        cmd.env("SSL_CERT_FILE", pki.ca()).args(["proxy", profile]);
        cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped());
        cmd.stderr(std::fs::File::create(&log).unwrap());
        let mut child = spawn_patiently(&mut cmd);
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let proxy = Proxy { child, base: line.trim_end().to_string(), log };
        assert!(proxy.base.starts_with("http://127.0.0.1:"), "tok proxy did not start: {}", proxy.stderr());
        proxy
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `path` through the proxy (plain HTTP on loopback).
    fn get(&self, path: &str) -> Reply {
        crate::oidc::http("GET", &format!("{}{path}", self.base), &[], None)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tok login api --provider oauth2 --issuer ISSUER --client-id CLIENT EXTRA...`, checked.
fn login(oidc: &Oidc, home: &Home, client: &str, extra: &[&str]) -> std::process::Output {
    let pki = oidc.pki.as_ref().unwrap();
    let out = tok(home, pki)
        .env("BROWSER", oidc.browser(&[]))
        .args(["-v", "login", "api", "--provider", "oauth2", "--issuer", &oidc.issuer, "--client-id", client])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{client} {extra:?}: {}\nbrowser:\n{}\nserver:\n{}",
        stderr_of(&out),
        oidc.browser_log(),
        oidc.server_log()
    );
    out
}

/// The first line of a PEM key's body: what must never show.
fn key_line(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().lines().nth(1).unwrap().to_string()
}

#[test]
fn each_client_certificate_method_logs_in_through_the_mtls_alias_and_gets_a_bound_token() {
    let oidc = Oidc::tls(&[]);
    let pki = oidc.pki.as_ref().unwrap();
    let ec = ec_key();
    let ec = ec.to_str().unwrap();
    type Case<'a> = (&'a str, Vec<&'a str>, &'a str);
    let cases: [Case; 3] = [
        ("tok-tls", vec!["--auth", "tls"], "client"),
        ("tok-self-signed", vec!["--auth", "self-signed-tls"], "self-signed"),
        (
            "tok-bound-jwt",
            vec!["--auth", "private_key_jwt", "--key-file", ec, "--key-id", "test-ec"],
            "client",
        ),
    ];
    for (n, (client, auth, pair)) in cases.into_iter().enumerate() {
        let home = Home::new();
        let (cert, key) = pki.pair(pair);
        let (cert_arg, key_arg) = (cert.to_str().unwrap(), key.to_str().unwrap());
        let mut extra = auth.clone();
        extra.extend(["--client-cert", cert_arg, "--client-key-file", key_arg, "--resource", API]);
        let out = login(&oidc, &home, client, &extra);
        assert!(!stderr_of(&out).contains(&key_line(&key)), "{client}: the key shows");
        // Through the alias only: the issuer's listener never saw a token request.
        assert_eq!(oidc.count("POST /token mtls 200"), 2 * n as u64 + 1, "{client}: {}", oidc.server_log());

        let printed = tok(&home, pki).args(["print", "api"]).output().unwrap();
        assert!(printed.status.success(), "{}", stderr_of(&printed));
        let token = String::from_utf8_lossy(&printed.stdout).trim().to_string();
        let thumbprint = cert_thumbprint(&cert);
        assert_eq!(claims(&token)["cnf"]["x5t#S256"], thumbprint, "{client}: {}", claims(&token));
        // print warns that the token works only with the certificate.
        assert!(stderr_of(&printed).contains(&thumbprint), "{client}: {}", stderr_of(&printed));

        // A refresh authenticates again with the certificate from the store, at the alias.
        let again = tok(&home, pki).args(["refresh", "api"]).output().unwrap();
        assert!(again.status.success(), "{client}: {}\n{}", stderr_of(&again), oidc.server_log());
        let renewed = home.print("api");
        assert_ne!(renewed, token);
        assert_eq!(claims(&renewed)["cnf"]["x5t#S256"], thumbprint);
    }
    assert_eq!(oidc.count("POST /token mtls 200"), 6);
    for status in [200, 400, 401] {
        assert_eq!(oidc.count(&format!("POST /token issuer {status}")), 0, "{}", oidc.server_log());
    }
}

#[test]
fn a_certificate_bound_user_token_works_at_userinfo_through_tok_curl_and_tok_proxy_only() {
    let oidc = Oidc::tls(&[]);
    let pki = oidc.pki.as_ref().unwrap();
    let me = alias(&oidc, "userinfo_endpoint");
    let upstream = url::Url::parse(&me).unwrap().origin().ascii_serialization();
    let home = Home::new();
    let (cert, key) = pki.pair("client");
    login(
        &oidc,
        &home,
        "tok-tls",
        &[
            "--auth",
            "tls",
            "--grant",
            "authorization_code",
            "--scope",
            "openid offline_access",
            "--param",
            "prompt=consent",
            "--client-cert",
            cert.to_str().unwrap(),
            "--client-key-file",
            key.to_str().unwrap(),
            "--upstream",
            &upstream,
        ],
    );
    let token = home.print("api");
    assert_eq!(introspect(&oidc, &token)["cnf"]["x5t#S256"], cert_thumbprint(&cert));

    // tok curl: curl presents the certificate (and trusts the CA through SSL_CERT_FILE).
    let out = tok(&home, pki).args(["curl", "api", "-sS", "/me"]).output().unwrap();
    assert!(out.status.success(), "{}\n{}", stderr_of(&out), oidc.server_log());
    let body: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{out:?}"));
    assert_eq!(body["sub"], "alice", "{body}");
    assert_eq!(oidc.count("GET /me mtls 200"), 1);

    // tok proxy: the certificate on every upstream connection.
    let proxy = Proxy::start(&home, pki, "api");
    for _ in 0..2 {
        let reply = proxy.get("/me");
        assert_eq!((reply.status, reply.json()["sub"].as_str()), (200, Some("alice")), "{}", proxy.stderr());
    }
    assert_eq!(oidc.count("GET /me mtls 200"), 3);

    // The same token without its certificate (or with another) is refused: the binding is
    // what made the calls above work.
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(https(pki, Some("client"), "GET", &me, &[&bearer], &[], None).status, 200);
    for cert in [None, Some("self-signed")] {
        let refused = https(pki, cert, "GET", &me, &[&bearer], &[], None);
        assert_eq!(refused.status, 401, "{cert:?}: {}", refused.body);
        assert!(refused.header("www-authenticate").unwrap().contains("invalid_token"));
    }

    // The refresh token is bound too: tok refreshes through the alias with the certificate.
    let again = tok(&home, pki).args(["refresh", "api"]).output().unwrap();
    assert!(again.status.success(), "{}\n{}", stderr_of(&again), oidc.server_log());
    let renewed = home.print("api");
    assert_ne!(renewed, token);
    assert_eq!(introspect(&oidc, &renewed)["cnf"]["x5t#S256"], cert_thumbprint(&cert));
    assert_eq!(oidc.count("POST /token mtls 200"), 2);
    assert_eq!(oidc.count("POST /token issuer 200"), 0);
}

#[test]
fn dpop_tokens_from_oidc_provider_work_at_userinfo_through_curl_proxy_and_print_for() {
    let oidc = Oidc::tls(&[]);
    let pki = oidc.pki.as_ref().unwrap();
    let me = oidc.endpoint("userinfo_endpoint");
    let key = DpopKey::from_pem(&ec_key());
    let home = Home::new();
    let out = login(
        &oidc,
        &home,
        "tok-dpop-public",
        &[
            "--auth",
            "none",
            "--grant",
            "authorization_code",
            "--scope",
            "openid offline_access",
            "--param",
            "prompt=consent",
            "--dpop",
            "--dpop-key-file",
            ec_key().to_str().unwrap(),
            "--upstream",
            &oidc.issuer,
        ],
    );
    assert!(!stderr_of(&out).contains(&key_line(&ec_key())), "the DPoP key shows");
    assert_eq!(oidc.count("POST /token issuer 200"), 1, "one token request: no nonce asked");
    assert_eq!(oidc.count("POST /token issuer 400"), 0);
    let token = String::from_utf8(
        tok(&home, pki)
            .args(["print", "api", "--format", "header", "--for", &format!("GET {me}")])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let lines: Vec<&str> = token.lines().collect();
    assert_eq!(lines.len(), 2, "{token}");
    let access = lines[0].strip_prefix("Authorization: DPoP ").unwrap_or_else(|| panic!("{token}"));
    assert_eq!(introspect(&oidc, access)["cnf"]["jkt"], key.thumbprint(), "bound to --dpop-key-file's key");

    // print --for: both lines work once with plain curl; the same proof again is a replay.
    let ok = https(pki, None, "GET", &me, &lines, &[], None);
    assert_eq!((ok.status, ok.json()["sub"].as_str()), (200, Some("alice")), "{}", ok.body);
    let replayed = https(pki, None, "GET", &me, &lines, &[], None);
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    // The token alone, as a bearer token, is refused; plain print refuses a DPoP profile.
    let bearer = format!("Authorization: Bearer {access}");
    assert_eq!(https(pki, None, "GET", &me, &[&bearer], &[], None).status, 401);
    assert_eq!(tok(&home, pki).args(["print", "api"]).output().unwrap().status.code(), Some(2));

    // tok curl and tok proxy: a fresh proof per request.
    for _ in 0..2 {
        let out = tok(&home, pki).args(["curl", "api", "-sS", "/me"]).output().unwrap();
        assert!(out.status.success(), "{}\n{}", stderr_of(&out), oidc.server_log());
        let body: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{out:?}"));
        assert_eq!(body["sub"], "alice", "{body}\n{}", oidc.server_log());
    }
    let proxy = Proxy::start(&home, pki, "api");
    for _ in 0..3 {
        let reply = proxy.get("/me");
        assert_eq!((reply.status, reply.json()["sub"].as_str()), (200, Some("alice")), "{}", proxy.stderr());
    }
    assert_eq!(oidc.count("GET /me issuer 200"), 6);
    assert_eq!(oidc.count("GET /me issuer 401"), 2, "only the replay and the bearer use were refused");

    // The public client's refresh token is bound to the key too (RFC 9449 §5): tok
    // refreshes with a proof, and the new token has the same binding.
    let again = tok(&home, pki).args(["refresh", "api"]).output().unwrap();
    assert!(again.status.success(), "{}\n{}", stderr_of(&again), oidc.server_log());
    let header = tok(&home, pki)
        .args(["print", "api", "--format", "header", "--for", &format!("GET {me}")])
        .output()
        .unwrap();
    let header = String::from_utf8_lossy(&header.stdout).into_owned();
    let renewed = header.lines().next().and_then(|l| l.strip_prefix("Authorization: DPoP ")).unwrap();
    assert_ne!(renewed, access);
    assert_eq!(introspect(&oidc, renewed)["cnf"]["jkt"], key.thumbprint());

    // A DPoP-bound confidential client, with a key tok makes: a DPoP token too.
    let home = Home::new();
    let out = tok(&home, pki)
        .args(["login", "cc", "--provider", "oauth2", "--issuer", &oidc.issuer, "--client-id", "tok-dpop"])
        .args(["--auth", "basic", "--secret-stdin", "--dpop", "--upstream", &oidc.issuer])
        .write_stdin("tok-dpop-secret\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stderr_of(&out), oidc.server_log());
    let line = tok(&home, pki)
        .args(["print", "cc", "--format", "header", "--for", &format!("GET {me}")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&line.stdout);
    let access = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("Authorization: DPoP "))
        .unwrap_or_else(|| panic!("{text}: {}", stderr_of(&line)));
    let jkt = introspect(&oidc, access)["cnf"]["jkt"].clone();
    assert!(jkt.is_string() && jkt != key.thumbprint(), "{jkt}");
}

#[test]
fn with_server_nonces_tok_retries_once_at_the_token_endpoint_and_at_userinfo() {
    let oidc = Oidc::tls(&["--dpop-nonce"]);
    let pki = oidc.pki.as_ref().unwrap();
    let home = Home::new();
    login(
        &oidc,
        &home,
        "tok-dpop-public",
        &[
            "--auth",
            "none",
            "--grant",
            "authorization_code",
            "--scope",
            "openid offline_access",
            "--param",
            "prompt=consent",
            "--dpop",
            "--upstream",
            &oidc.issuer,
        ],
    );
    // The first proof had no nonce: use_dpop_nonce, then one retry with the server's.
    assert_eq!(
        (oidc.count("POST /token issuer 400"), oidc.count("POST /token issuer 200")),
        (1, 1),
        "{}",
        oidc.server_log()
    );

    // tok curl: a new process knows no nonce of the resource server: 401, then one retry.
    let out = tok(&home, pki).args(["curl", "api", "-sS", "/me"]).output().unwrap();
    assert!(out.status.success(), "{}\n{}", stderr_of(&out), oidc.server_log());
    let body: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{out:?}"));
    assert_eq!(body["sub"], "alice", "{body}");
    assert_eq!((oidc.count("GET /me issuer 401"), oidc.count("GET /me issuer 200")), (1, 1));

    // tok proxy: one challenge, then the nonce is remembered for the next requests.
    let proxy = Proxy::start(&home, pki, "api");
    for _ in 0..3 {
        let reply = proxy.get("/me");
        assert_eq!((reply.status, reply.json()["sub"].as_str()), (200, Some("alice")), "{}", proxy.stderr());
    }
    assert_eq!((oidc.count("GET /me issuer 401"), oidc.count("GET /me issuer 200")), (2, 4));

    // A refresh in a new process: one more nonce challenge at the token endpoint, one retry.
    let again = tok(&home, pki).args(["refresh", "api"]).output().unwrap();
    assert!(again.status.success(), "{}\n{}", stderr_of(&again), oidc.server_log());
    assert_eq!((oidc.count("POST /token issuer 400"), oidc.count("POST /token issuer 200")), (2, 2));
}

/// The other aliased endpoints: a pushed authorization request and a device authorization
/// request authenticate with the certificate too, so they go to their aliases.
#[test]
fn par_and_device_requests_of_a_certificate_client_go_to_their_aliases() {
    use std::io::BufRead;
    let oidc = Oidc::tls(&[]);
    let pki = oidc.pki.as_ref().unwrap();
    let (cert, key) = pki.pair("self-signed");
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let tls =
        ["--auth", "self-signed-tls", "--client-cert", cert, "--client-key-file", key, "--scope", "openid"];

    let home = Home::new();
    login(&oidc, &home, "tok-self-signed", &[&tls[..], &["--grant", "authorization_code", "--par"]].concat());
    assert_eq!(oidc.count("POST /request mtls 201"), 1, "{}", oidc.server_log());
    assert_eq!(oidc.count("POST /token mtls 200"), 1);

    let home = Home::new();
    let mut cmd = home.process();
    cmd.env("SSL_CERT_FILE", pki.ca())
        .args([
            "login",
            "api",
            "--provider",
            "oauth2",
            "--issuer",
            &oidc.issuer,
            "--client-id",
            "tok-self-signed",
        ])
        .args(tls)
        .args(["--grant", "device_code"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = spawn_patiently(&mut cmd);
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let page = "open this page on any device: ";
    let mut seen = Vec::new();
    let url = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            panic!("no device page; stderr:\n{}\n{}", seen.join("\n"), oidc.server_log());
        };
        if let Some((_, url)) = line.split_once(page) {
            break url.trim().to_string();
        }
        seen.push(line);
    };
    let out = oidc.device_browser(&url, None, &[]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "{}\n{}", rest.join("\n"), oidc.server_log());
    assert_eq!(oidc.count("POST /device/auth mtls 200"), 1, "{}", oidc.server_log());
    assert_eq!(oidc.count("POST /device/auth issuer 200") + oidc.count("POST /device/auth issuer 401"), 0);
    let token = home.print("api");
    assert_eq!(introspect(&oidc, &token)["cnf"]["x5t#S256"], cert_thumbprint(Path::new(cert)));
}

/// FAPI 2.0's pairing of mTLS client authentication with DPoP-bound tokens: the token
/// request goes to the mTLS alias with the certificate and a proof whose `htu` is that
/// alias; the token is bound to the DPoP key (oidc-provider allows one binding per token).
#[test]
fn tls_client_auth_with_dpop_authenticates_at_the_alias_and_binds_to_the_key() {
    let oidc = Oidc::tls(&[]);
    let pki = oidc.pki.as_ref().unwrap();
    let me = oidc.endpoint("userinfo_endpoint");
    let (cert, key) = pki.pair("client");
    let home = Home::new();
    login(
        &oidc,
        &home,
        "tok-tls-dpop",
        &[
            "--auth",
            "tls",
            "--client-cert",
            cert.to_str().unwrap(),
            "--client-key-file",
            key.to_str().unwrap(),
            "--grant",
            "authorization_code",
            "--scope",
            "openid",
            "--dpop",
            "--dpop-key-file",
            ec_key().to_str().unwrap(),
            "--upstream",
            &oidc.issuer,
        ],
    );
    assert_eq!(oidc.count("POST /token mtls 200"), 1, "{}", oidc.server_log());
    let out = tok(&home, pki)
        .args(["print", "api", "--format", "header", "--for", &format!("GET {me}")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let access = lines
        .first()
        .and_then(|l| l.strip_prefix("Authorization: DPoP "))
        .unwrap_or_else(|| panic!("{lines:?} {}", stderr_of(&out)));
    let cnf = introspect(&oidc, access)["cnf"].clone();
    assert_eq!(cnf, json!({"jkt": DpopKey::from_pem(&ec_key()).thumbprint()}));
    let ok = https(pki, None, "GET", &me, &lines, &[], None);
    assert_eq!((ok.status, ok.json()["sub"].as_str()), (200, Some("alice")), "{}", ok.body);
    let out = tok(&home, pki).args(["curl", "api", "-sS", "/me"]).output().unwrap();
    let body: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stderr_of(&out)));
    assert_eq!(body["sub"], "alice", "{body}");
}
