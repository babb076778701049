//! Mutual TLS (RFC 8705) against the sandbox's HTTPS listener (`tok_sandbox::mtls`):
//! both certificate client authentications, certificate-bound tokens with other
//! client authentications, the mTLS endpoint aliases of discovery, `tok curl` and `tok
//! proxy` presenting the certificate to a resource server that checks the binding (and
//! refuses without it), the trust of a test CA through `SSL_CERT_FILE`, and the key
//! kept off argv, `-v`, errors and config.toml.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;

const BOUND_TOKEN: &str = "POST /mtls/bound/token";
const PLAIN_TOKEN: &str = "POST /mtls/token";
const RESOURCE: &str = "GET /mtls/resource";

/// A sandbox with its HTTPS listener, and the test CA and certificates as files.
struct Tls {
    sb: Sandbox,
    https: String,
    pki: std::sync::Arc<tok_sandbox::mtls::Pki>,
    dir: tempfile::TempDir,
}

impl Tls {
    fn start() -> Tls {
        let sb = Sandbox::with_tls();
        let (https, pki) = sb.tls.clone().expect("the HTTPS listener");
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", &pki.ca_pem);
        for (name, pair) in [("client", &pki.client), ("other", &pki.other), ("self", &pki.self_signed)] {
            write(&format!("{name}.pem"), &pair.cert_pem);
            write(&format!("{name}.key"), &pair.key_pem);
        }
        Tls { sb, https, pki, dir }
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn issuer(&self) -> String {
        format!("{}/mtls", self.https)
    }

    /// `tok` trusting the test CA, with PATH for curl.
    fn tok(&self, home: &Home) -> assert_cmd::Command {
        let mut cmd = home.tok_with_path();
        cmd.env("SSL_CERT_FILE", self.file("ca.pem"));
        cmd
    }

    /// `tok login pay` at the issuer, with `args` added.
    fn login(&self, home: &Home, args: &[&str]) -> std::process::Output {
        self.tok(home)
            .args([
                "login",
                "pay",
                "--provider",
                "oauth2",
                "--issuer",
                &self.issuer(),
                "--upstream",
                &self.https,
            ])
            .args(args)
            .output()
            .unwrap()
    }

    /// The body of every key file, for "never shown" checks.
    fn key_bodies(&self) -> Vec<String> {
        [&self.pki.client, &self.pki.other, &self.pki.self_signed]
            .iter()
            .map(|pair| pair.key_pem.lines().nth(1).unwrap().to_string())
            .collect()
    }
}

/// A plain HTTP GET to the proxy (reqwest, as tok is built: rustls on ring).
fn get(url: String) -> reqwest::Result<reqwest::blocking::Response> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::new().get(url).send()
}

fn cnf(token: &str) -> Option<String> {
    claims(token)["cnf"]["x5t#S256"].as_str().map(str::to_string)
}

fn assert_no_key(tls: &Tls, text: &str) {
    for body in tls.key_bodies() {
        assert!(!text.contains(&body), "a private key shows: {text}");
    }
    assert!(!text.contains("PRIVATE KEY"), "a private key shows: {text}");
}

#[test]
fn tls_client_auth_logs_in_at_the_mtls_alias_and_gets_a_bound_token() {
    let tls = Tls::start();
    let home = Home::new();
    let cert = tls.dir.path().join("moved.pem");
    std::fs::copy(tls.file("client.pem"), &cert).unwrap();
    let key = tls.file("client.key");
    let out = tls.login(
        &home,
        &["-v", "--client-id", "mtls-client", "--auth", "tls", "--client-cert", cert.to_str().unwrap()]
            .into_iter()
            .chain(["--client-key-file", &key])
            .collect::<Vec<_>>(),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    // RFC 8705 §5: the metadata's alias, not the plain token endpoint.
    assert_eq!((tls.sb.count(BOUND_TOKEN), tls.sb.count(PLAIN_TOKEN)), (1, 0));
    let form = tls.sb.last(BOUND_TOKEN)["body"].as_str().unwrap().to_string();
    assert!(form.contains("client_id=mtls-client"), "{form}");
    assert!(!form.contains("client_secret") && !form.contains("client_assertion"), "{form}");
    let print = tls.tok(&home).args(["print", "pay"]).output().unwrap();
    assert!(print.status.success(), "{}", stderr_of(&print));
    let token = String::from_utf8(print.stdout.clone()).unwrap().trim().to_string();
    assert_eq!(cnf(&token), Some(tls.pki.client.thumbprint()));
    // tok print says the token needs the certificate (on stderr; stdout is the token).
    let warning = stderr_of(&print);
    assert!(warning.contains("bound to its TLS client certificate"), "{warning}");
    assert!(warning.contains(&tls.pki.client.thumbprint()), "{warning}");

    // tok status names the certificate by its thumbprint, not its PEM.
    let status = tls.tok(&home).args(["status", "pay"]).output().unwrap();
    let shown = String::from_utf8(status.stdout).unwrap();
    assert!(shown.contains(&format!("x5t#S256 {}", tls.pki.client.thumbprint())), "{shown}");
    assert!(shown.contains("mtls token url") && !shown.contains("BEGIN CERTIFICATE"), "{shown}");
    // The certificate's text is kept: the file can go. The key is in the store only.
    std::fs::remove_file(&cert).unwrap();
    let config = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(config.contains(tls.pki.client.cert_pem.lines().nth(1).unwrap()), "{config}");
    assert_no_key(&tls, &config);
    let refresh = tls.tok(&home).args(["-v", "refresh", "pay"]).output().unwrap();
    assert!(refresh.status.success(), "{}", stderr_of(&refresh));
    assert_eq!(tls.sb.count(BOUND_TOKEN), 2);
    assert_no_key(&tls, &stderr_of(&out));
    assert_no_key(&tls, &stderr_of(&refresh));
}

#[test]
fn self_signed_tls_client_auth_takes_the_registered_certificate_and_the_key_from_stdin() {
    let tls = Tls::start();
    let home = Home::new();
    let out = tls
        .tok(&home)
        .args(["login", "pay", "--provider", "oauth2", "--issuer", &tls.issuer()])
        .args(["--client-id", "self-signed-client", "--auth", "self-signed-tls"])
        .args(["--client-cert", &tls.file("self.pem"), "--client-key-file", "-"])
        .write_stdin(tls.pki.self_signed.key_pem.clone())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(cnf(&home.print("pay")), Some(tls.pki.self_signed.thumbprint()));

    // Another certificate (valid, from the CA, but not the registered one) is refused
    // by the server, and so is the right subject from the wrong client registration.
    for (client, auth, cert) in [
        ("self-signed-client", "self-signed-tls", "other"),
        ("mtls-client", "tls", "other"),
        ("mtls-client", "tls", "self"),
    ] {
        let home = Home::new();
        let out = tls.login(
            &home,
            &[
                "--client-id",
                client,
                "--auth",
                auth,
                "--client-cert",
                &tls.file(&format!("{cert}.pem")),
                "--client-key-file",
                &tls.file(&format!("{cert}.key")),
            ],
        );
        assert!(!out.status.success(), "{client} with {cert}");
        let err = stderr_of(&out);
        assert!(err.contains("invalid_client"), "{client} with {cert}: {err}");
        assert_no_key(&tls, &err);
    }
}

#[test]
fn the_device_grant_goes_to_the_mtls_device_alias_with_the_certificate() {
    let tls = Tls::start();
    let home = Home::new();
    let (cert, key) = (tls.file("client.pem"), tls.file("client.key"));
    let out = tls.login(
        &home,
        &["--grant", "device_code", "--client-id", "mtls-client", "--auth", "tls"]
            .into_iter()
            .chain(["--client-cert", &cert, "--client-key-file", &key])
            .collect::<Vec<_>>(),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!((tls.sb.count("POST /mtls/bound/device"), tls.sb.count("POST /mtls/device")), (1, 0));
    let polled = tls.sb.last(BOUND_TOKEN)["body"].as_str().unwrap().to_string();
    assert!(polled.contains("device_code") && polled.contains("client_id=mtls-client"), "{polled}");
    assert_eq!(cnf(&home.print("pay")), Some(tls.pki.client.thumbprint()));
}

#[test]
fn private_key_jwt_or_basic_with_a_client_cert_gets_a_certificate_bound_token() {
    let tls = Tls::start();
    let key = format!("{}/tests/fixtures/ec-private.pem", env!("CARGO_MANIFEST_DIR"));
    let cert = ["--client-cert", &tls.file("client.pem"), "--client-key-file", &tls.file("client.key")];
    let jwt = ["--client-id", "jwt-ec", "--auth", "private_key_jwt", "--key-file", &key, "--key-id", "k1"];
    let home = Home::new();
    let out = tls.login(&home, &[&jwt[..], &cert[..]].concat());
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(cnf(&home.print("pay")), Some(tls.pki.client.thumbprint()));
    assert_eq!(tls.sb.count(BOUND_TOKEN), 1);

    // Without --client-cert: the plain endpoint, and a bearer token.
    let home = Home::new();
    let out = tls.login(&home, &jwt);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(cnf(&home.print("pay")), None);
    assert_eq!(tls.sb.count(PLAIN_TOKEN), 1);

    let home = Home::new();
    let out = tls
        .tok(&home)
        .args([
            "login",
            "pay",
            "--provider",
            "oauth2",
            "--issuer",
            &tls.issuer(),
            "--client-id",
            "demo-client",
        ])
        .args(cert)
        .arg("--secret-stdin")
        .write_stdin("demo-secret\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(cnf(&home.print("pay")), Some(tls.pki.client.thumbprint()));
}

#[test]
fn a_key_of_another_certificate_or_a_chain_with_a_key_is_refused_before_anything_is_sent() {
    let tls = Tls::start();
    let home = Home::new();
    let combined = tls.dir.path().join("combined.pem");
    std::fs::write(&combined, format!("{}{}", tls.pki.client.cert_pem, tls.pki.client.key_pem)).unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--client-cert", &tls.file("client.pem"), "--client-key-file", &tls.file("other.key")],
            "does not belong",
        ),
        (
            &["--client-cert", combined.to_str().unwrap(), "--client-key-file", &tls.file("client.key")],
            "holds a private key",
        ),
        (
            &["--client-cert", &tls.file("client.key"), "--client-key-file", &tls.file("client.key")],
            "holds a private key",
        ),
        (&["--client-cert", &tls.file("client.pem")], "--client-key-file"),
    ];
    for (args, want) in cases {
        let out = tls.login(&home, &[&["--client-id", "mtls-client", "--auth", "tls"][..], args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_no_key(&tls, &err);
    }
    // The key file is for a certificate, and stdin is read by one flag only.
    let conflicts: [&[&str]; 2] = [
        &["--client-key-file", "client.key"],
        &["--client-cert", &tls.file("client.pem"), "--client-key-file", "-", "--secret-stdin"],
    ];
    for args in conflicts {
        let out = tls.login(&home, &[&["--client-id", "mtls-client"][..], args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
    }
    // Two keys from one stdin: the second would find it read.
    let cert = tls.file("client.pem");
    let both = ["--client-cert", &cert, "--client-key-file", "-", "--dpop", "--dpop-key-file", "-"];
    let out = tls.login(&home, &[&["--client-id", "mtls-client", "--auth", "tls"][..], &both].concat());
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("can read stdin"), "{}", stderr_of(&out));
    let out = tls.login(&home, &["--client-id", "mtls-client", "--auth", "tls"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--client-cert"), "{}", stderr_of(&out));
    assert_eq!(tls.sb.count(BOUND_TOKEN) + tls.sb.count(PLAIN_TOKEN), 0);
}

#[test]
fn certificate_and_key_files_are_read_only_up_to_a_bound() {
    // A path to a device (/dev/zero) would be read until memory runs out: a file over
    // the bound stands in for one, as --client-cert, --client-key-file and
    // --dpop-key-file.
    let tls = Tls::start();
    let home = Home::new();
    let big = tls.dir.path().join("big.pem");
    std::fs::write(&big, vec![b'A'; 1024 * 1024 + 1]).unwrap();
    let big = big.to_str().unwrap();
    let cases: [&[&str]; 3] = [
        &["--auth", "tls", "--client-cert", big, "--client-key-file", &tls.file("client.key")],
        &["--auth", "tls", "--client-cert", &tls.file("client.pem"), "--client-key-file", big],
        &["--dpop", "--dpop-key-file", big],
    ];
    for args in cases {
        let out = tls.login(&home, &[&["--client-id", "mtls-client"][..], args].concat());
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr_of(&out).contains("larger than 1 MiB"), "{args:?}: {}", stderr_of(&out));
    }
    assert_eq!(tls.sb.count(BOUND_TOKEN) + tls.sb.count(PLAIN_TOKEN), 0);
}

/// `tls`, logged in, with the sandbox's HTTPS listener as its API.
fn bound_profile(tls: &Tls) -> Home {
    let home = Home::new();
    let out = tls.login(
        &home,
        &[
            "--client-id",
            "mtls-client",
            "--auth",
            "tls",
            "--client-cert",
            &tls.file("client.pem"),
            "--client-key-file",
            &tls.file("client.key"),
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    home
}

#[test]
fn tok_exec_warns_that_the_token_needs_the_certificate() {
    let tls = Tls::start();
    let home = bound_profile(&tls);
    let out = tls
        .tok(&home)
        .args(["exec", "pay", "--", "sh", "-c", "test -n \"$TOK_PAY_TOKEN\""])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("bound to its TLS client certificate"), "{err}");
    assert_no_key(&tls, &err);
}

#[test]
fn the_resource_server_refuses_a_bound_token_without_its_certificate() {
    require_curl();
    let tls = Tls::start();
    let home = bound_profile(&tls);
    let token = home.print("pay");
    let header = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(header.path(), format!("Authorization: Bearer {token}\n")).unwrap();
    let status = |cert: Option<&str>| {
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["-q", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", &tls.file("ca.pem")])
            .arg("-H")
            .arg(format!("@{}", header.path().display()));
        if let Some(name) = cert {
            cmd.args([
                "--cert",
                &tls.file(&format!("{name}.pem")),
                "--key",
                &tls.file(&format!("{name}.key")),
            ]);
        }
        let out = cmd.arg(format!("{}/mtls/resource", tls.https)).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(status(None), "401", "no certificate");
    assert_eq!(status(Some("other")), "401", "another certificate");
    assert_eq!(status(Some("self")), "401", "a self-signed one");
    assert_eq!(status(Some("client")), "200", "the token's own certificate");
}

#[test]
fn tok_curl_presents_the_certificate_through_pipes_and_trusts_ssl_cert_file() {
    require_curl();
    let tls = Tls::start();
    let home = bound_profile(&tls);
    let out = tls.tok(&home).args(["-v", "curl", "pay", "-sS", "--fail", "/mtls/resource"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["x5t#S256"], tls.pki.client.thumbprint());
    assert_no_key(&tls, &stderr_of(&out));
    assert_eq!(tls.sb.count(RESOURCE), 1);

    // Without SSL_CERT_FILE, the test CA is trusted neither by tok's curl nor by tok.
    let out = home.tok_with_path().args(["curl", "pay", "-sS", "/mtls/resource"]).output().unwrap();
    assert!(!out.status.success());
    // A certificate of the command's own would not be the token's.
    let out = tls
        .tok(&home)
        .args(["curl", "pay", "-sS", "--cert", &tls.file("other.pem"), "/mtls/resource"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_eq!(tls.sb.count(RESOURCE), 1);
}

#[test]
fn the_key_never_reaches_curls_command_line() {
    let tls = Tls::start();
    let home = bound_profile(&tls);
    // A stand-in curl that keeps its argv and what it reads from the files it is given.
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("argv");
    let script = bin.path().join("curl");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{0}'; done\nprev=\nfor a in \"$@\"; do\n  case \"$prev\" in --cert|--key) cat \"$a\" > '{0}'.\"${{prev#--}}\";; esac\n  prev=$a\ndone\nprintf '{{}}'\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = home
        .tok()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .env("SSL_CERT_FILE", tls.file("ca.pem"))
        .args(["curl", "pay", "-s", "/mtls/resource"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let argv = std::fs::read_to_string(&record).unwrap();
    assert_no_key(&tls, &argv);
    let lines: Vec<&str> = argv.lines().collect();
    let after = |flag: &str| lines.iter().position(|l| *l == flag).map(|i| lines[i + 1].to_string());
    assert!(after("--cert").is_some_and(|v| v.starts_with("/dev/fd/")), "{argv}");
    assert!(after("--key").is_some_and(|v| v.starts_with("/dev/fd/")), "{argv}");
    assert_eq!(after("--cacert"), Some(tls.file("ca.pem")), "{argv}");
    // What curl read through those pipes is the certificate and its key.
    let read = |suffix: &str| {
        std::fs::read_to_string(PathBuf::from(format!("{}.{suffix}", record.display()))).unwrap()
    };
    assert_eq!(read("cert").trim(), tls.pki.client.cert_pem.trim());
    assert_eq!(read("key").trim(), tls.pki.client.key_pem.trim());
}

#[test]
fn tok_proxy_presents_the_certificate_upstream() {
    require_curl();
    let tls = Tls::start();
    let home = bound_profile(&tls);
    let mut child = home
        .process()
        .env("SSL_CERT_FILE", tls.file("ca.pem"))
        .args(["proxy", "pay"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "tok proxy did not start: {base:?}");
    let body = get(format!("{base}/mtls/resource")).unwrap();
    assert_eq!(body.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&body.text().unwrap()).unwrap();
    assert_eq!(body["x5t#S256"], tls.pki.client.thumbprint());
    let again = get(format!("{base}/mtls/resource/2")).unwrap();
    assert_eq!(again.status(), 200);
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_no_key(&tls, &String::from_utf8_lossy(&out.stderr));
}

#[test]
fn ssl_cert_file_is_the_trust_of_the_token_client_and_the_proxy() {
    let tls = Tls::start();
    // A plain bearer client over HTTPS: only the test CA in SSL_CERT_FILE makes it work.
    let login = |home: &Home, trust: bool| {
        let mut cmd = if trust { tls.tok(home) } else { home.tok() };
        cmd.args([
            "login",
            "pay",
            "--provider",
            "oauth2",
            "--token-url",
            &format!("{}/mtls/token", tls.https),
        ])
        .args(["--client-id", "demo-client", "--upstream", &tls.https, "--secret-stdin"])
        .write_stdin("demo-secret\n")
        .output()
        .unwrap()
    };
    let home = Home::new();
    let out = login(&home, false);
    assert_eq!(out.status.code(), Some(5), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("UnknownIssuer"), "{}", stderr_of(&out));
    let out = login(&home, true);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(tls.sb.count(PLAIN_TOKEN), 1);

    let mut child = home
        .process()
        .env("SSL_CERT_FILE", tls.file("ca.pem"))
        .args(["proxy", "pay"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let reply = get(format!("{}/mtls/resource", line.trim())).unwrap();
    assert_eq!(reply.status(), 200, "the proxy trusted the test CA");
    child.kill().unwrap();
    let _ = child.wait();
}

/// Issue 20's end-to-end promise for `tok exec --proxy`: the proxy presents the certificate
/// for every request of the command, which gets neither the token nor the key.
#[test]
fn tok_exec_proxy_presents_the_certificate_and_gives_the_command_no_secret() {
    require_curl();
    let tls = Tls::start();
    let home = bound_profile(&tls);
    let token = home.print("pay");
    let out = home
        .process()
        .env("PATH", "/usr/bin:/bin")
        .env("SSL_CERT_FILE", tls.file("ca.pem"))
        .args(["exec", "--proxy", "pay", "--", "sh", "-c"])
        .arg(
            "curl -sS --fail \"$TOK_PAY_URL/mtls/resource\"; echo; \
             curl -sS --fail \"$TOK_PAY_URL/mtls/resource/2\"; echo; echo ---; env",
        )
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (answers, env) = text.split_once("---\n").unwrap_or_else(|| panic!("{text}"));
    for answer in answers.lines() {
        let body: serde_json::Value = serde_json::from_str(answer).unwrap_or_else(|_| panic!("{answer}"));
        assert_eq!(body["x5t#S256"], tls.pki.client.thumbprint(), "{answer}");
    }
    assert_eq!(answers.lines().count(), 2, "{answers}");
    assert_eq!(tls.sb.count(RESOURCE), 1);
    assert!(env.contains("TOK_PAY_URL=http://127.0.0.1:"), "{env}");
    for absent in [token.as_str(), "TOK_PAY_TOKEN", "TOK_PAY_HEADER", "CLIENT_KEY", "client.key"] {
        assert!(!env.contains(absent), "{absent} in the command's environment: {env}");
    }
    assert!(!stderr.contains(&token), "{stderr}");
    assert_no_key(&tls, env);
    assert_no_key(&tls, &stderr);
}
