//! `tok curl` survives a token revoked before its expiry: one refresh, one more try, when
//! the request can be sent again (issue: beyond the usual tools, item 2).

use crate::support::*;
use serde_json::json;

const COUNTRIES: &str = "POST /Catalog/GetCountries";

fn revoke(sb: &Sandbox) {
    // Through the control endpoint, as an operator revoking every session would.
    let out = std::process::Command::new("curl")
        .args(["-s", "-X", "POST", "-d", "{}", &format!("{}/_sandbox/revoke", sb.url)])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"ok\":true"));
}

#[test]
fn a_revoked_token_is_replaced_once_and_the_request_succeeds() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let old = home.print("nexterpay");
    revoke(&sb);
    let out = home
        .tok_with_path()
        .args(["-v", "curl", "nexterpay", "-s", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let body = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(body.contains("France"), "the second answer: {body}");
    assert!(!body.contains("Unauthorized"), "the first 401's body is not printed: {body}");
    assert!(stderr_of(&out).contains("the API answered 401; refreshing the token"), "{}", stderr_of(&out));
    assert_eq!(sb.count(CREATE_TOKEN), 2, "exactly one extra token request");
    assert_eq!(sb.count(COUNTRIES), 2);
    assert_ne!(home.print("nexterpay"), old, "the new token is kept");
}

#[test]
fn requests_that_cannot_be_sent_twice_are_not_retried() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    revoke(&sb);
    // A body from stdin: read once by curl, so the 401 passes through with a hint.
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-s", "-X", "POST", "-d", "@-", "/Catalog/GetCountries"])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert!(out.status.success(), "curl's exit code: {}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Unauthorized"));
    assert!(
        stderr_of(&out).contains("-d reads stdin") && stderr_of(&out).contains("tok refresh nexterpay"),
        "{}",
        stderr_of(&out)
    );
    // --no-retry: the same.
    let out = home
        .tok_with_path()
        .args(["curl", "--no-retry", "nexterpay", "-s", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Unauthorized"));
    assert_eq!(sb.count(CREATE_TOKEN), 1, "no refresh for either");
    // An API key has nothing to refresh: a 401 is final.
    assert!(home.api_key_login(&sb).status.success());
    sb.fault(json!({ "path": "/v2/customer/create", "status": 401, "body": "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}", "times": 1 }));
    let out = home
        .tok_with_path()
        .args(["curl", "acme-key", "-s", "-X", "POST", "/v2/customer/create"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("UNAUTHORIZED"));
    assert_eq!(sb.count("POST /v2/customer/create"), 1, "sent once");
}

#[test]
fn twenty_curls_on_a_revoked_token_make_one_refresh() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    revoke(&sb);
    let children: Vec<_> = (0..20)
        .map(|_| {
            home.process()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .args(["curl", "nexterpay", "-s", "-X", "POST", "/Catalog/GetCountries"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("France"), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count(CREATE_TOKEN), 2, "the login and one refresh, shared by all twenty");
}

/// With two URLs, `--next` or a glob, the 401 of one request must not send the others
/// again: the first POST here succeeded, and a retry of the command would POST it twice.
#[test]
fn a_command_of_several_requests_is_never_repeated() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    let commands: &[&[&str]] = &[
        &["-s", "-X", "POST", "/Catalog/GetCountries", "/Catalog/Later"],
        &["-s", "-X", "POST", "/Catalog/GetCountries", "--next", "-X", "POST", "/Catalog/Later"],
        &["-s", "-X", "POST", "/Catalog/{GetCountries,Later}"],
    ];
    for (done, args) in commands.iter().enumerate() {
        sb.fault(json!({ "path": "/Catalog/Later", "status": 401, "body": "{\"title\":\"Unauthorized\"}", "times": 1 }));
        let out = home.tok_with_path().args(["-v", "curl", "nexterpay"]).args(*args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains("will not be retried: it makes more than one request")
                || stderr_of(&out).contains("glob"),
            "{args:?}: {}",
            stderr_of(&out)
        );
        assert_eq!(sb.count(COUNTRIES), done as u64 + 1, "{args:?}: each request is sent once");
        assert_eq!(sb.count("POST /Catalog/Later"), done as u64 + 1, "{args:?}");
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1, "no refresh");
}

/// Bodies and headers curl reads from something other than a regular file (stdin, a
/// pipe, a directory) are gone after one reading: such a request is not sent twice.
/// One read from a regular file is.
#[test]
fn bodies_and_headers_from_anything_but_a_regular_file_are_not_sent_twice() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    revoke(&sb);
    let cases: &[(&[&str], &str)] = &[
        (&["--data-binary", "@/dev/stdin"], "not a regular file"),
        (&["-d", "@-"], "-d reads stdin"),
        (&["--json", "@-"], "--json reads stdin"),
        (&["-T", "/dev/stdin"], "not a regular file"),
        (&["-T", "."], "not a regular file"),
        (&["-H", "@-"], "-H reads stdin"),
        (&["-H", "@/dev/stdin"], "not a regular file"),
        (&["-F", "f=@/dev/stdin"], "not a regular file"),
        (&["--data-urlencode", "name@/dev/stdin"], "not a regular file"),
    ];
    for (sent, (args, why)) in cases.iter().enumerate() {
        let out = home
            .tok_with_path()
            .args(["-v", "curl", "nexterpay", "-s", "-X", "POST"])
            .args(*args)
            .arg("/Catalog/GetCountries")
            .write_stdin("Idempotency-Key: 7\n")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Unauthorized"),
            "{args:?}: the 401 passes through"
        );
        assert!(stderr_of(&out).contains(why), "{args:?}: -v says why: {}", stderr_of(&out));
        assert_eq!(sb.count(COUNTRIES), sent as u64 + 1, "{args:?}: sent once");
    }
    assert_eq!(sb.count(CREATE_TOKEN), 1, "no refresh for any");

    // A body from a regular file is read again: the second try sends the same bytes.
    let body = home.path().join("body.json");
    std::fs::write(&body, "{\"from\":\"file\"}").unwrap();
    let before = sb.count(COUNTRIES);
    let out = home
        .tok_with_path()
        .args(["curl", "nexterpay", "-s", "-X", "POST", "-d"])
        .arg(format!("@{}", body.display()))
        .arg("/Catalog/GetCountries")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("France"), "{}", stderr_of(&out));
    assert_eq!(sb.count(COUNTRIES), before + 2, "retried once");
    assert_eq!(sb.last(COUNTRIES)["body"], "{\"from\":\"file\"}");
}

/// tok gives curl its own `-D` pipe and writes the headers to the user's target itself: it
/// never opens what the user named for reading, which for `/dev/stdout`, `/dev/stderr` on
/// a pipe or a FIFO would block for ever. On a retry only the final answer's headers show.
#[test]
fn dump_headers_to_streams_and_fifos_never_read_back_and_only_the_final_try_shows() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    revoke(&sb);
    let quick = std::time::Duration::from_secs(20);
    let out = home
        .tok_with_path()
        .timeout(quick)
        .args(["curl", "nexterpay", "-s", "-D", "/dev/stdout", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.starts_with("HTTP/1.1 200"), "the final try's headers, first: {text}");
    assert!(!text.contains("401") && text.find("France") > text.find("content-type"), "{text}");
    assert_eq!(sb.count(COUNTRIES), 2, "retried");

    let out = home
        .tok_with_path()
        .timeout(quick)
        .args(["curl", "nexterpay", "-s", "-D", "/dev/stderr", "-o", "/dev/null", "-X", "POST"])
        .arg("/Catalog/GetCountries")
        .output()
        .unwrap();
    assert!(out.status.success() && stderr_of(&out).contains("HTTP/1.1 200"), "{}", stderr_of(&out));

    let fifo = home.path().join("headers.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = home
        .tok_with_path()
        .timeout(quick)
        .args(["curl", "nexterpay", "-s", "-o", "/dev/null", "-X", "POST", "-D"])
        .arg(&fifo)
        .arg("/Catalog/GetCountries")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(reader.join().unwrap().starts_with("HTTP/1.1 200"));

    // A file gets the final try's headers alone, as curl would have left it.
    revoke(&sb);
    let dump = home.path().join("headers.txt");
    std::fs::write(&dump, "left over from before\n".repeat(100)).unwrap();
    let out = home
        .tok_with_path()
        .timeout(quick)
        .args(["curl", "nexterpay", "-s", "-o", "/dev/null", "-X", "POST", "-D"])
        .arg(&dump)
        .arg("/Catalog/GetCountries")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let headers = std::fs::read_to_string(&dump).unwrap();
    assert!(headers.starts_with("HTTP/1.1 200") && !headers.contains("401"), "{headers}");
    assert!(!headers.contains("left over"), "truncated: {headers}");
    assert_eq!(sb.count(COUNTRIES), 6, "2 + 1 + 1, and the last one retried too");

    // A target tok cannot write fails as curl's own would: exit 23, a write error.
    let out = home
        .tok_with_path()
        .timeout(quick)
        .args(["curl", "nexterpay", "-s", "-o", "/dev/null", "-X", "POST", "-D"])
        .arg(home.path().join("no-such-dir/headers.txt"))
        .arg("/Catalog/GetCountries")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(23), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("cannot write the response headers to"), "{}", stderr_of(&out));
}

/// `-D -` keeps the retry: tok reads its own pipe and writes the headers to stdout itself,
/// before the body, as curl would.
#[test]
fn dump_headers_to_stdout_keeps_the_retry_and_comes_before_the_body() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    revoke(&sb);
    let out = home
        .tok_with_path()
        .args(["-v", "curl", "nexterpay", "-sD-", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("the API answered 401; refreshing"), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.starts_with("HTTP/1.1 200") && !text.contains("401"), "{text}");
    assert!(text.find("France") > text.find("content-type"), "headers first: {text}");
    assert_eq!(sb.count(COUNTRIES), 2);
    // Without a retry (--no-retry), the same order.
    let out = home
        .tok_with_path()
        .args(["curl", "--no-retry", "nexterpay", "-s", "-D", "-", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.starts_with("HTTP/1.1 200") && text.find("France") > text.find("content-type"), "{text}");
}

/// The first try's 401 body would reach an `-o` that is a pipe or terminal before the
/// second's: such a command is not retried. A regular file (truncated by curl) and
/// /dev/null are.
#[test]
fn output_to_anything_but_a_regular_file_is_not_retried() {
    require_curl();
    let sb = Sandbox::start();
    let home = Home::new();
    home.login(&sb);
    revoke(&sb);
    let out = home
        .tok_with_path()
        .args(["-v", "curl", "nexterpay", "-s", "-o", "/dev/stdout", "-X", "POST", "/Catalog/GetCountries"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("-o writes to /dev/stdout, which is not a regular file"),
        "-v says why: {}",
        stderr_of(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).matches("Unauthorized").count(), 1);
    assert_eq!(sb.count(COUNTRIES), 1, "sent once");
    assert_eq!(sb.count(CREATE_TOKEN), 1, "no refresh");
    for target in [home.path().join("body.json"), "/dev/null".into()] {
        let out = home
            .tok_with_path()
            .args(["curl", "nexterpay", "-s", "-X", "POST", "-o"])
            .arg(&target)
            .arg("/Catalog/GetCountries")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    assert_eq!(sb.count(COUNTRIES), 4, "the file's request retried");
    assert!(std::fs::read_to_string(home.path().join("body.json")).unwrap().contains("France"));
}
