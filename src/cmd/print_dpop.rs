//! `tok print` of a DPoP profile: a bare token is of no use (every request needs a proof
//! of its own), so only `--format header --for 'METHOD URL'` prints, both lines for that
//! one request, and only for a URL the profile may send its credential to (`tok curl`'s
//! rule, `curl_hosts`).

use super::curl_hosts::{self, Destinations};
use crate::cli::{Format, PrintArgs};
use crate::dpop::{self, Key};
use crate::error::{Error, Result};
use crate::flow::App;
use crate::profile::Profile;
use crate::token::TokenRecord;
use reqwest::Url;

pub struct ForRequest {
    key: Key,
    method: String,
    url: Url,
}

/// The request to make a proof for, checked before any token is read; `None` for a
/// profile without DPoP (where `--for` is refused) or `--id-token`.
pub fn check(app: &App, profile: &Profile, args: &PrintArgs) -> Result<Option<ForRequest>> {
    if !dpop::enabled(profile) {
        return match args.for_request {
            Some(_) => Err(Error::usage(format!(
                "--for makes a DPoP proof, and profile '{}' has bearer tokens (no --dpop)",
                profile.name
            ))),
            None => Ok(None),
        };
    }
    if args.id_token && args.for_request.is_none() {
        return Ok(None);
    }
    let instead = format!(
        "print both lines for one request with `tok print {p} --format header --for 'METHOD URL'`, or let tok make \
         a proof per request: `tok curl {p} …` or `tok proxy {p}`",
        p = profile.name
    );
    let Some(text) =
        args.for_request.as_deref().filter(|_| args.format == Format::Header && args.github_env.is_none())
    else {
        let what = if args.for_request.is_some() {
            "--for prints header lines: it takes --format header and no --github-env".to_string()
        } else {
            format!("--format {} would print the token alone", format_name(args.format))
        };
        return Err(dpop::refuse_bare_token(&profile.name, &what, &instead));
    };
    let (method, url) = parse(text).map_err(|why| Error::usage(format!("--for: {why}")))?;
    let origin = curl_hosts::origin_of(url.as_str()).map_err(|why| Error::usage(format!("--for: {why}")))?;
    let touches = crate::provider::curl_touches(profile)?;
    let destinations = Destinations::of(profile, touches.api_base.as_ref())?;
    if !destinations.admits(&origin) {
        return Err(Error::usage(format!("--for: not making a proof for {origin}"))
            .hint(destinations.rule(&profile.name, profile.provider.name())));
    }
    Ok(Some(ForRequest { key: dpop::profile_key(app, profile)?, method, url }))
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Token => "token",
        Format::Header => "header",
        Format::Json => "json",
        Format::Env => "env",
    }
}

/// `METHOD URL`: an HTTP method (a token of letters) and an absolute URL.
fn parse(text: &str) -> Result<(String, Url), String> {
    let (method, url) = text
        .trim()
        .split_once(' ')
        .ok_or("give 'METHOD URL', e.g. 'POST https://api.example.com/v1/payments'")?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err("the method is not an HTTP method (GET, POST, ...)".into());
    }
    let url = url.trim();
    let parsed = Url::parse(url)
        .map_err(|e| format!("the URL is not an absolute URL{}", crate::http::url_hint(e, url)))?;
    // The proof names the URL the caller's client sends: as written.
    super::curl_dpop::plain_path(url, &parsed).map_err(|plain| {
        format!("the URL's path is not in the form a DPoP proof names it; write it as {plain}")
    })?;
    Ok((method.to_ascii_uppercase(), parsed))
}

impl ForRequest {
    /// `Authorization: DPoP <token>` and `DPoP: <proof>`, for `curl -H @-`.
    pub fn lines(&self, record: &TokenRecord) -> Result<String> {
        let proof = self.key.proof(&self.method, &self.url, Some(record.token.expose()), None)?;
        Ok(format!("{}\nDPoP: {proof}\n", record.header_line()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_table() {
        let ok = [
            ("POST https://api.example.com/v1/payments", "POST", "https://api.example.com/v1/payments"),
            ("get https://api.example.com/x?y=1", "GET", "https://api.example.com/x?y=1"),
            ("  DELETE   https://api.example.com/a ", "DELETE", "https://api.example.com/a"),
        ];
        for (text, method, url) in ok {
            let (m, u) = parse(text).unwrap();
            assert_eq!((m.as_str(), u.as_str()), (method, url), "{text}");
        }
        for bad in [
            "https://api.example.com/x",
            "POST",
            "PO/ST https://a/",
            "POST /relative",
            "POST not a url",
            "POST https://api.example.com/a/../payments",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
