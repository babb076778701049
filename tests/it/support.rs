//! A sandbox per test and a private `TOK_HOME` per test.

use assert_cmd::Command;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;

pub const USER: &str = "demo";
pub const PASSWORD: &str = "demo-password";
pub const CREATE_TOKEN: &str = "POST /security/createToken";
#[cfg(unix)]
pub const TRANSACTION: &str = "5d081471-0c12-5183-a611-a1ed1d9bbacb-EU01";
pub const API_KEY: &str = "demo-api-key-7f3c9a12";

/// curl is on the machine image and `.ci/run` installs it: a missing curl fails loudly
/// rather than letting the tests that need it pass without running.
#[cfg(unix)]
pub fn require_curl() {
    let ok = std::process::Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "these tests need curl on PATH (apt-get install curl)");
}

pub fn tok_path() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("tok")
}

/// A `tok-sandbox` of this test's own, served from this process on a free port; it stops
/// when dropped.
pub struct Sandbox {
    _running: tok_sandbox::Running,
    pub url: String,
    /// With `with_tls`: the HTTPS listener's base URL and its test CA and certificates.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub tls: Option<(String, std::sync::Arc<tok_sandbox::mtls::Pki>)>,
}

impl Sandbox {
    pub fn start() -> Sandbox {
        Sandbox::with_args(&[])
    }

    /// With `tok-sandbox`'s own command-line options.
    pub fn with_args(args: &[&str]) -> Sandbox {
        let mut options = tok_sandbox::parse_args(args.iter().map(|a| a.to_string()))
            .expect("valid sandbox options")
            .expect("not --help");
        options.quiet = true;
        let running = tok_sandbox::start(options).expect("tok-sandbox starts");
        Sandbox { url: running.url.clone(), tls: running.tls.clone(), _running: running }
    }

    /// With the HTTPS listener too, its mutual TLS routes and test CA (`tok_sandbox::mtls`).
    #[cfg(unix)]
    pub fn with_tls() -> Sandbox {
        Sandbox::with_args(&["--tls"])
    }

    pub fn call(&self, method: &str, path: &str, body: &str) -> Value {
        let addr = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        let (_, body) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
        serde_json::from_str(body).expect("a JSON control reply")
    }

    /// Calls a provider API on the sandbox with one extra header line (as `tok print
    /// --format header` prints it); returns the status code.
    pub fn api(&self, method: &str, path: &str, header_line: &str) -> u16 {
        let addr = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).unwrap();
        let body = "{}";
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            header_line.trim_end(),
            body.len()
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line")
    }

    pub fn stats(&self) -> Value {
        self.call("GET", "/_sandbox/stats", "")
    }

    /// How many requests reached `route` ("POST /security/createToken").
    pub fn count(&self, route: &str) -> u64 {
        self.stats()["requests"][route].as_u64().unwrap_or(0)
    }

    /// The last request to `route`: {"query", "headers", "body"}.
    pub fn last(&self, route: &str) -> Value {
        self.stats()["last"][route].clone()
    }

    pub fn fault(&self, fault: Value) {
        assert_eq!(self.call("POST", "/_sandbox/fault", &fault.to_string())["ok"], true);
    }

    pub fn settings(&self, settings: Value) {
        assert_eq!(self.call("POST", "/_sandbox/settings", &settings.to_string())["ok"], true);
    }
}

/// A private `TOK_HOME` with the file store, and a clean environment for `tok`.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store_file(&self, profile: &str) -> PathBuf {
        self.path().join("store").join(format!("{profile}.json"))
    }

    /// `tok` with nothing from the developer's environment: no keyring session, no
    /// `TOK_*` variables, no terminal on stdin.
    pub fn tok(&self) -> Command {
        let mut cmd = Command::new(tok_path());
        cmd.env_clear()
            .env("HOME", self.path())
            .env("TOK_HOME", self.path())
            .env("TOK_STORE", "file")
            .env("NO_COLOR", "1")
            .timeout(std::time::Duration::from_secs(60));
        cmd
    }

    /// `tok login nexterpay` against the sandbox with the demo credentials.
    pub fn login(&self, sandbox: &Sandbox) {
        self.nexterpay_login(sandbox, PASSWORD).assert().success().stdout("");
    }

    /// `tok login nexterpay` against the sandbox with `password` on stdin, not yet run.
    pub fn nexterpay_login(&self, sandbox: &Sandbox, password: &str) -> Command {
        let mut cmd = self.tok();
        cmd.args(["login", "nexterpay", "--username", USER, "--base-url", &sandbox.url, "--secret-stdin"])
            .write_stdin(format!("{password}\n"));
        cmd
    }

    /// `tok` with a NexterPay profile entirely in the environment (the CI case).
    pub fn tok_from_env(&self, sandbox: &Sandbox) -> Command {
        let mut cmd = self.tok();
        cmd.env("TOK_NEXTERPAY_USERNAME", USER)
            .env("TOK_NEXTERPAY_PASSWORD", PASSWORD)
            .env("TOK_NEXTERPAY_BASE_URL", &sandbox.url);
        cmd
    }

    /// `tok` with PATH, so it can find curl.
    #[cfg(unix)]
    pub fn tok_with_path(&self) -> Command {
        let mut cmd = self.tok();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd
    }

    /// A NetDirector V1 profile `checkout` on the sandbox's demo transaction.
    #[cfg(unix)]
    pub fn v1_login(&self, sandbox: &Sandbox) {
        self.tok()
            .args(["login", "checkout", "--provider", "netdirector-v1", "--transaction", TRANSACTION])
            .args(["--base-url", &sandbox.url])
            .assert()
            .success();
    }

    /// A merchant-v2 API-key profile `acme-key` with the sandbox's demo key.
    pub fn api_key_login(&self, sandbox: &Sandbox) -> std::process::Output {
        self.tok()
            .args(["login", "acme-key", "--provider", "merchant-v2", "--base-url", &sandbox.url, "--api-key"])
            .arg("--secret-stdin")
            .write_stdin(format!("{API_KEY}\n"))
            .output()
            .unwrap()
    }

    /// `tok` set to the keyring store on a machine where no Secret Service can be reached
    /// (a CI runner): every keyring call fails at once.
    pub fn tok_without_keyring(&self) -> Command {
        let mut cmd = self.tok();
        cmd.env("TOK_STORE", "keyring").env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
        cmd
    }

    /// `tok` as a plain process (to spawn, kill or watch), with the same clean
    /// environment as `tok()`.
    pub fn process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(tok_path());
        cmd.env_clear().env("HOME", self.path()).env("TOK_HOME", self.path()).env("TOK_STORE", "file");
        cmd
    }

    /// `n` concurrent `tok print <profile>` processes, started together; checks that all
    /// succeed and print the same thing, and returns that output.
    pub fn race_prints(&self, profile: &str, n: usize, env: &[(&str, &str)]) -> String {
        let children: Vec<_> = (0..n)
            .map(|_| {
                let mut cmd = self.process();
                for (k, v) in env {
                    cmd.env(k, v);
                }
                cmd.args(["print", profile]).stdout(Stdio::piped()).stderr(Stdio::piped());
                spawn_patiently(&mut cmd)
            })
            .collect();
        let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
        for out in &outputs {
            assert!(out.status.success(), "{}", stderr_of(out));
            assert_eq!(out.stdout, outputs[0].stdout, "all print the same token");
        }
        String::from_utf8(outputs[0].stdout.clone()).unwrap()
    }

    /// `tok print <profile>`: the token, checked to be the only thing on stdout.
    pub fn print(&self, profile: &str) -> String {
        let out = self.tok().args(["print", profile]).output().unwrap();
        assert!(out.status.success(), "print failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let token = text.strip_suffix('\n').expect("one line");
        assert!(!token.is_empty() && !token.contains(char::is_whitespace), "{text:?}");
        token.to_string()
    }
}

/// Spawns, saying what to check when it fails: under Wine without its preloader one
/// process in a few hundred could not be created (error 1359, "Internal error"), which
/// `.ci/run` prevents by installing it (see `.ci/windows-tests`).
pub fn spawn_patiently(cmd: &mut std::process::Command) -> std::process::Child {
    cmd.spawn()
        .unwrap_or_else(|e| panic!("cannot start tok: {e} (under Wine: is wine64-preloader installed?)"))
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The claims of a JWT, decoded without checks.
pub fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// libfaketime, which shifts the clock of the process it is preloaded into: `.ci/run`
/// installs it, and a missing one fails loudly.
#[cfg(target_os = "linux")]
pub fn faketime_library() -> &'static str {
    [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("this test needs libfaketime (apt-get install faketime)")
}

/// The JSON Schema file `schemas/<name>`.
pub fn schema(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Checks `value` against `schema`, in the subset of JSON Schema (draft 2020-12) that
/// tok's schemas use: type, properties, required, additionalProperties, items, enum and
/// format date-time. Any other keyword is an error, so a schema cannot promise what
/// this does not check. Returns every mismatch, each with its JSON path.
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    let mut errors = Vec::new();
    check_schema(schema, value, "$", &mut errors);
    if errors.is_empty() { Ok(()) } else { Err(errors.join("\n")) }
}

fn check_schema(schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        if schema != &Value::Bool(true) {
            errors.push(format!("{at}: a schema must be an object"));
        }
        return;
    };
    for (keyword, rule) in schema {
        match keyword.as_str() {
            "$schema" | "title" | "description" => {}
            "type" => {
                let types: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !types.iter().any(|t| has_type(value, t)) {
                    errors.push(format!("{at}: {value} is not of type {rule}"));
                }
            }
            "enum" => {
                if !rule.as_array().is_some_and(|values| values.contains(value)) {
                    errors.push(format!("{at}: {value} is not one of {rule}"));
                }
            }
            "format" => {
                if rule != "date-time" {
                    errors.push(format!("{at}: format {rule} is not supported"));
                } else if let Some(text) = value.as_str()
                    && text.parse::<jiff::Timestamp>().is_err()
                {
                    errors.push(format!("{at}: {text:?} is not an RFC 3339 date-time"));
                }
            }
            "required" => {
                for name in rule.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if value.as_object().is_some_and(|o| !o.contains_key(name)) {
                        errors.push(format!("{at}: the key {name:?} is missing"));
                    }
                }
            }
            "properties" => {
                let (Some(properties), Some(object)) = (rule.as_object(), value.as_object()) else {
                    continue;
                };
                for (name, sub) in properties {
                    if let Some(item) = object.get(name) {
                        check_schema(sub, item, &format!("{at}.{name}"), errors);
                    }
                }
            }
            "additionalProperties" => {
                let Some(object) = value.as_object() else { continue };
                let known = schema.get("properties").and_then(Value::as_object);
                for (name, item) in object {
                    if known.is_some_and(|k| k.contains_key(name)) {
                        continue;
                    }
                    match rule {
                        Value::Bool(false) => {
                            errors.push(format!("{at}: the key {name:?} is not in the schema"))
                        }
                        Value::Bool(true) => {}
                        sub => check_schema(sub, item, &format!("{at}.{name}"), errors),
                    }
                }
            }
            "items" => {
                for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                    check_schema(rule, item, &format!("{at}[{i}]"), errors);
                }
            }
            other => errors.push(format!("{at}: the keyword {other:?} is not supported")),
        }
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}
