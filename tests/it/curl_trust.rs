//! `tok curl` hands the credential only to the profile's hosts, keeps curl's environment
//! free of tok's secrets, and adopts NetDirector V1 tokens only from the API host
//! (issue: trust, items 7 and 8).

use crate::support::*;
use base64::Engine;
use serde_json::json;

/// The same sandbox under another name: another host as far as curl is concerned.
fn other_host(sb: &Sandbox) -> String {
    sb.url.replace("127.0.0.1", "localhost")
}

#[test]
fn a_cross_host_redirect_never_carries_the_credential() {
    require_curl();
    let sb = Sandbox::start();
    let elsewhere = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    assert!(home.api_key_login(&sb).status.success());
    let target = format!("{}/landing", other_host(&elsewhere));
    sb.fault(json!({ "path": "/Catalog/GetCountries", "status": 302, "headers": { "location": target }, "times": 1 }));

    // Bearer: curl follows, and drops Authorization on the way to the other host.
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-sSL", "-X", "GET", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(elsewhere.count("GET /landing"), 1, "the redirect was followed");
    let headers = &elsewhere.last("GET /landing")["headers"];
    assert!(headers.get("authorization").is_none(), "the token crossed hosts: {headers}");

    // Api-key: curl would send the custom header anywhere, so -L is refused up front.
    for follow in [&["-L"][..], &["-sSL"], &["--location"]] {
        let out = home
            .tok_with_path()
            .args(["curl", "acme-key"])
            .args(follow)
            .arg("/v2/customer/create")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{follow:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("Api-key header"), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count("POST /v2/customer/create") + sb.count("GET /v2/customer/create"), 0);
    // Without -L the redirect is just a reply: the other host sees nothing.
    sb.fault(json!({ "path": "/v2/customer/create", "status": 302, "headers": { "location": format!("{}/key-landing", other_host(&elsewhere)) }, "times": 1 }));
    let out = home
        .tok_with_path()
        .args(["curl", "acme-key", "-s", "-o", "/dev/null", "-w", "%{http_code}", "/v2/customer/create"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"302", "{}", stderr_of(&out));
    assert_eq!(elsewhere.count("GET /key-landing"), 0);

    // --location-trusted would send any credential to any host: refused for both kinds.
    for profile in ["nexterpay", "acme-key"] {
        let out = home.tok_with_path().args(["curl", profile, "--location-trusted", "/x"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    }
}

#[test]
fn plain_http_to_another_host_is_refused_before_anything_runs() {
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    for (url, why) in [
        ("http://api.example.com/x", "plain HTTP"),
        ("--url=http://10.0.0.1/x", "plain HTTP"),
        // curl would guess http:// for a URL without a scheme.
        ("api.example.com/x", "no scheme"),
    ] {
        let out = home
            .tok_with_path()
            .env("TOK_NEXTERPAY_ALLOW_HOST", "api.example.com:80,10.0.0.1:80")
            .args(["curl", "nexterpay", "-s", url])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains(why), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1, "only the login's");
}

#[test]
fn curl_gets_no_tok_secret_in_its_environment() {
    let sb = Sandbox::start();
    let home = Home::new();
    // A stand-in curl that records its environment.
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let dump = home.path().join("curl-env");
    let fake = bin.join("curl");
    std::fs::write(&fake, format!("#!/bin/sh\nenv > '{}'\n", dump.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = home
        .tok_from_env(&sb)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("TOK_OTHER_CLIENT_SECRET", "other-secret-5150")
        .env("KEEP_ME", "1")
        .args(["curl", "nexterpay", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let env = std::fs::read_to_string(&dump).unwrap();
    assert!(env.contains("KEEP_ME=1"), "the rest of the environment is curl's: {env}");
    assert!(!env.contains("TOK_") && !env.contains(PASSWORD) && !env.contains("other-secret-5150"), "{env}");
}

fn forged_v1_token(iat: f64, exp: f64) -> String {
    let enc = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        enc(r#"{"alg":"HS256","typ":"JWT"}"#.into()),
        enc(format!(r#"{{"iat":{iat},"exp":{exp:e},"sub":"x"}}"#)),
        enc("sig".into())
    )
}

#[test]
fn netdirector_v1_tokens_are_adopted_only_from_the_api_host_and_only_when_plausible() {
    require_curl();
    let sb = Sandbox::start();
    let elsewhere = Sandbox::start();
    let home = Home::new();
    home.v1_login(&sb);
    let token = home.print("checkout");
    let path = format!("/api/transaction?uuid={TRANSACTION}&expand=customer,ndMeta");

    // Another host, allowed, answers with a newer token of its own: not adopted.
    let out = home
        .tok_with_path()
        .env("TOK_CHECKOUT_ALLOW_HOST", other_host(&elsewhere).trim_start_matches("http://"))
        .args(["curl", "checkout", "-s", "-o", "/dev/null"])
        .arg(format!("{}{path}", other_host(&elsewhere)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(elsewhere.count("GET /api/transaction"), 1);
    assert_eq!(home.print("checkout"), token, "a foreign host's token is never kept");

    // With -L the last response may be any host's: nothing adopted either.
    let out =
        home.tok_with_path().args(["curl", "checkout", "-sL", "-o", "/dev/null", &path]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(home.print("checkout"), token);

    // The API host itself, with absurd times: refused with a warning.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    // (The sandbox writes fractional iats up to a second ahead: +5 s is surely newer.)
    for (iat, exp) in
        [(now + 5.0, 1e300), (now + 86_400.0, now + 90_000.0), (now + 5.0, now + 30.0 * 86_400.0)]
    {
        let forged = forged_v1_token(iat, exp);
        sb.fault(json!({ "path": "/api/transaction", "status": 200, "body": "{}", "headers": { "authentication-token": forged }, "times": 1 }));
        let out =
            home.tok_with_path().args(["curl", "checkout", "-s", "-o", "/dev/null", &path]).output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(stderr_of(&out).contains("not keeping the token"), "{}", stderr_of(&out));
        assert_eq!(home.print("checkout"), token, "iat {iat} exp {exp}");
    }

    // And a plausible newer token from the API host is kept, as before.
    let out =
        home.tok_with_path().args(["curl", "checkout", "-s", "-o", "/dev/null", &path]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_ne!(home.print("checkout"), token, "the sandbox's newer token is adopted");
}

/// Every route's request count: a refused command must leave it as it was.
fn requests(sb: &Sandbox) -> serde_json::Value {
    sb.stats()["requests"].clone()
}

fn port_of(sb: &Sandbox) -> &str {
    sb.url.rsplit(':').next().unwrap()
}

#[test]
fn the_credential_goes_only_to_the_profiles_hosts() {
    require_curl();
    let sb = Sandbox::start();
    let elsewhere = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let before = (requests(&sb), requests(&elsewhere));
    let other = format!("{}/Catalog/GetCountries", elsewhere.url);
    // Every URL counts: alone, after an API URL, as --url, in a --next set.
    for args in [
        vec![other.clone()],
        vec!["/Catalog/GetCountries".into(), other.clone()],
        vec![format!("--url={other}")],
        vec!["/Catalog/GetCountries".into(), "--next".into(), "--url".into(), other.clone()],
    ] {
        let out = home
            .tok_with_path()
            .args(["curl", "nexterpay", "-s", "-X", "POST"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(
            err.contains(&format!("not sending the credential to http://127.0.0.1:{}", port_of(&elsewhere))),
            "{err}"
        );
        assert!(
            err.contains(&format!("its API, {}", sb.url))
                && err.contains("tok login nexterpay --allow-host HOST[:PORT]"),
            "the refusal states the rule: {err}"
        );
    }
    assert_eq!((requests(&sb), requests(&elsewhere)), before, "a refused command sends nothing");

    // Allowed at login (repeatable, kept in the profile, shown by status): the token goes there.
    let allowed = format!("127.0.0.1:{}", port_of(&elsewhere));
    home.nexterpay_login(&sb, PASSWORD)
        .args(["--allow-host", &allowed, "--allow-host", "files.example.com"])
        .assert()
        .success();
    let status = home.tok().args(["status", "nexterpay"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&status.stdout).contains(&format!("{allowed},files.example.com")),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let out = home.tok_with_path().args(["curl", "nexterpay", "-s", "-X", "POST", &other]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(elsewhere.count("POST /Catalog/GetCountries"), 1);
    let token = home.print("nexterpay");
    assert_eq!(
        elsewhere.last("POST /Catalog/GetCountries")["headers"]["authorization"],
        format!("Bearer {token}")
    );
    // Host and port both: the same host on another port is another destination.
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-s", &format!("http://localhost:{}/x", port_of(&elsewhere))])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    // A login with a bad entry is refused; a later login without the flag keeps the list,
    // and `--allow-host ''` clears it.
    let out =
        home.nexterpay_login(&sb, PASSWORD).args(["--allow-host", "https://x.example/"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    home.login(&sb);
    home.tok_with_path().args(["curl", "nexterpay", "-s", "-X", "POST", &other]).assert().success();
    home.nexterpay_login(&sb, PASSWORD).args(["--allow-host", ""]).assert().success();
    let status = home.tok().args(["status", "nexterpay"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&status.stdout).contains("allow host"), "cleared");
    let out = home.tok_with_path().args(["curl", "nexterpay", "-s", "-X", "POST", &other]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert_eq!(elsewhere.count("POST /Catalog/GetCountries"), 2);

    // A provider without a documented API host: absolute URLs need --upstream or --allow-host.
    let out = home
        .tok_with_path()
        .env("TOK_N3XT_CLIENT_ID", "x")
        .env("TOK_N3XT_PROJECT", "project-x")
        .args(["curl", "n3xt", &other])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("tok login n3xt --upstream URL"), "{}", stderr_of(&out));
    assert_eq!(elsewhere.count("GET /Catalog/GetCountries"), 0);
}

/// URLs that curl and tok's parser could read as different hosts, and schemes other
/// than https (and http to loopback), are refused before anything is sent.
#[test]
fn urls_the_two_parsers_could_read_differently_are_refused() {
    require_curl();
    let sb = Sandbox::start();
    let elsewhere = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let api = sb.url.trim_start_matches("http://").to_string();
    let other = elsewhere.url.trim_start_matches("http://").to_string();
    let before = (requests(&sb), requests(&elsewhere));
    for url in [
        format!("http://{api}\\@{other}/Catalog/GetCountries"),
        format!("http://{api}\\\\@{other}/Catalog/GetCountries"),
        format!("http://{api}@{other}/Catalog/GetCountries"),
        format!("http://x@{api}/Catalog/GetCountries"),
        format!("http://127.0.0.1%3a{}/Catalog/GetCountries", port_of(&sb)),
        format!("http://127.1:{}/Catalog/GetCountries", port_of(&sb)),
        format!("http://127.0.0.1 :{}/Catalog/GetCountries", port_of(&sb)),
        format!("rtsp://{api}/Catalog/GetCountries"),
        format!("ws://{api}/Catalog/GetCountries"),
        format!("telnet://{api}/"),
        format!("dict://{api}/"),
        format!("gopher://{api}/"),
        "file:///etc/passwd".into(),
        format!("{api}/Catalog/GetCountries"),
    ] {
        let out =
            home.tok_with_path().args(["curl", "nexterpay", "-s", "-X", "POST", &url]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr_of(&out));
        assert!(!stderr_of(&out).contains("x@"), "{}", stderr_of(&out));
    }
    assert_eq!((requests(&sb), requests(&elsewhere)), before, "a refused command sends nothing");
}

/// `-L` for an API-key profile is refused wherever it is: after `--next`, with
/// `--no-location` before it, as curl 8.16's `--follow`, in a bundle. A config file
/// (`-K`) could hold anything, so it is refused; and no `.curlrc` is read.
#[test]
fn redirects_config_files_and_curlrc_cannot_widen_where_the_credential_goes() {
    require_curl();
    let sb = Sandbox::start();
    let elsewhere = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    assert!(home.api_key_login(&sb).status.success());
    let config = home.path().join("more.conf");
    std::fs::write(&config, format!("url = \"{}/leak\"\n", elsewhere.url)).unwrap();
    let before = requests(&sb);
    for args in [
        &["/v2/customer/create", "--next", "--no-location", "-L", "/v2/customer/create"][..],
        &["--no-location", "/v2/customer/create", "--next", "-sL", "/v2/customer/create"],
        &["--follow", "/v2/customer/create"],
        &["-L", "--no-location", "/v2/customer/create"],
        &["-K", config.to_str().unwrap(), "/v2/customer/create"],
        &["--config", config.to_str().unwrap(), "/v2/customer/create"],
    ] {
        let out = home.tok_with_path().args(["curl", "acme-key"]).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
    }
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-K", config.to_str().unwrap(), "/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "-K for a Bearer profile too: {}", stderr_of(&out));
    assert!(stderr_of(&out).contains("config file"), "{}", stderr_of(&out));
    assert_eq!(requests(&sb), before);

    // A .curlrc that adds a URL (as curl reads $HOME/.curlrc) is not read.
    std::fs::write(home.path().join(".curlrc"), format!("url = \"{}/leak\"\n", elsewhere.url)).unwrap();
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-s", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(elsewhere.stats()["requests"], json!({}), "nothing reached the other host");
}

/// A stand-in proxy that counts connections and closes each at once.
fn counting_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, count)
}

/// tok never proxies plain HTTP or loopback; curl, left alone, would send the Bearer token
/// to `http_proxy` or `ALL_PROXY` in clear text. A `-x` of the user's is refused with a
/// plain-HTTP URL.
#[test]
fn curl_uses_no_proxy_for_what_tok_would_not_proxy() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let (proxy, connections) = counting_proxy();
    let mut cmd = home.tok_with_path();
    for name in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        cmd.env(name, &proxy);
    }
    let out = cmd
        .env("NO_PROXY", "example.com")
        .args(["curl", "nexterpay", "-s", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("France"));
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "curl went through the proxy");
    assert_eq!(sb.count("POST /Catalog/GetCountries"), 1);

    for args in [
        &["-x", proxy.as_str()][..],
        &["--proxy", proxy.as_str()],
        &["--noproxy", "example.com"],
        &["--connect-to", "::127.0.0.1:1"],
        &["--unix-socket", "/tmp/some.sock"],
    ] {
        let out = home
            .tok_with_path()
            .args(["curl", "nexterpay", "-s"])
            .args(args)
            .args(["-X", "POST", "/Catalog/GetCountries"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("plain-HTTP URL"), "{}", stderr_of(&out));
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(sb.count("POST /Catalog/GetCountries"), 1);
}
