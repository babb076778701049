//! What `tok curl` tells curl about TLS: the CA bundle tok trusts, and the profile's TLS
//! client certificate (RFC 8705).
//!
//! Trust: tok's own clients read `SSL_CERT_FILE` / `SSL_CERT_DIR` when set (else the
//! system's store). Not every curl does (Schannel's curl.exe, a curl built with another
//! default), so tok passes them on as `--cacert` / `--capath`, unless the command gives
//! its own: one CA setting means the same servers are trusted by tok and by its curl.
//!
//! The certificate's key never touches curl's command line or a file: on Unix each of
//! the chain and the key goes through a pipe of its own that curl opens as `/dev/fd/N`
//! (OpenSSL reads a key file once per connection, and `ps` shows only the fd). A pipe
//! is read once, so a command that opens a second connection to another host (`-L`
//! across hosts) finds it empty there: `tok proxy` serves such clients. A private
//! temporary file would outlive a tok that is killed; a pipe cannot. On Windows
//! curl.exe (Schannel) reads client keys only from files or the certificate store, so
//! `tok curl` refuses certificate profiles there and names `tok proxy`.

use super::curl_args::{Role, Scan};
use crate::error::{Error, Result};

/// Whether the command gives one of the long options `names` (or `short`, e.g. `-E`).
pub fn gives(args: &[String], scan: &Scan, names: &[&str], short: Option<char>) -> bool {
    args.iter().zip(&scan.roles).any(|(arg, role)| {
        if *role != Role::Option {
            return false;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let name = long.split_once('=').map_or(long, |(n, _)| n);
            return names.contains(&name);
        }
        // A bundle of short flags (`-sE`): flags until the first one that takes a value.
        let Some(short) = short else { return false };
        for flag in arg.trim_start_matches('-').chars() {
            if flag == short {
                return true;
            }
            let long = super::curl_options::SHORT.iter().find(|(c, _)| *c == flag).map(|(_, l)| *l);
            if long.is_none_or(|l| super::curl_options::LONG.contains(&l)) {
                return false;
            }
        }
        false
    })
}

/// `--cacert` / `--capath` from `SSL_CERT_FILE` / `SSL_CERT_DIR`, unless the command
/// sets its own CA.
pub fn trust(args: &[String], scan: &Scan) -> Vec<String> {
    if gives(args, scan, &["cacert", "capath", "ca-native"], None) {
        return Vec::new();
    }
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let mut extra = Vec::new();
    if let Some(file) = var("SSL_CERT_FILE") {
        extra.push("--cacert".to_string());
        extra.push(file.to_string_lossy().into_owned());
    }
    if let Some(dir) = var("SSL_CERT_DIR") {
        extra.push("--capath".to_string());
        extra.push(dir.to_string_lossy().into_owned());
    }
    extra
}

/// A certificate profile's command may not pick another certificate: the token is
/// bound to the profile's, and curl would present the other.
pub fn check_certificate_options(args: &[String], scan: &Scan, profile: &str) -> Result<()> {
    if gives(args, scan, &["cert", "key", "cert-type", "key-type", "pass"], Some('E')) {
        return Err(Error::usage(format!(
            "{profile} presents its own TLS client certificate (its tokens are bound to it): tok curl gives curl the certificate and key, so --cert, -E and --key are not needed"
        )));
    }
    if cfg!(windows) {
        return Err(Error::usage(format!(
            "on Windows tok curl cannot hand curl.exe the client certificate's key without writing it to a file; use `tok proxy {profile}` and point curl at it"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_found_as_curl_reads_them() {
        let table: [(&[&str], bool); 8] = [
            (&["--cert", "x.pem", "https://a"], true),
            (&["--cert=x.pem", "https://a"], true),
            (&["-E", "x.pem", "https://a"], true),
            (&["-sE", "x.pem", "https://a"], true),
            (&["-oE", "https://a"], false),
            (&["-H", "--cert: x", "https://a"], false),
            (&["--key", "k", "https://a"], true),
            (&["https://a/--cert"], false),
        ];
        for (args, want) in table {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let scan = super::super::curl_args::scan(&args);
            assert_eq!(gives(&args, &scan, &["cert", "key"], Some('E')), want, "{args:?}");
        }
    }
}
