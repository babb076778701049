//! OAuth2: the generic `oauth2` kind and its two client-credentials presets, `n3xt`
//! (JSON body, credentials in the body) and `netdirector` (HTTP Basic, form body, a
//! default scope). This file holds the three `Spec`s and `Params`, read from a profile;
//! each concern has its own file:
//!
//! - `client_auth`: how the client authenticates at the token endpoint;
//! - `token_request`: building and sending one token request, reading its reply;
//! - `grants`: one function per grant.

mod client_auth;
mod grants;
mod token_request;

pub use token_request::{parse_error, parse_grant};

use crate::error::{Error, Result};
use crate::http::{self, Http};
use crate::input::Secrets;
use crate::profile::Profile;
use crate::token::TokenRecord;
use client_auth::Auth;
use reqwest::Url;
use token_request::Encoding;

use super::spec::{CurlTouches, Environment, Identity, Need, Ops, SecretField, Setting, Spec};

const CLIENT_ID: Setting = Setting {
    field: "client_id",
    flag: "--client-id",
    help: "the OAuth2 client id (the secret is asked for separately)",
    need: Need::Always,
    prompt: Some("Client id"),
    placeholder: "\"$CLIENT_ID\"",
};
const CLIENT_SECRET: &[SecretField] =
    &[SecretField { field: "client_secret", label: "client secret", need: Need::Always }];
const BASE_URL: Setting = Setting {
    field: "base_url",
    flag: "--base-url",
    help: "replace the documented scheme and host; the documented path stays",
    need: Need::Optional,
    prompt: None,
    placeholder: "https://authn.example.com",
};
const SCOPE: Setting = Setting {
    field: "scope",
    flag: "--scope",
    help: "space-separated scopes",
    need: Need::Optional,
    prompt: None,
    placeholder: "\"read write\"",
};
/// N3XT, NetDirector V2 and generic OAuth2 document token endpoints only: where the API
/// is, the user says once, for `tok curl`'s relative URLs and `tok proxy`.
const UPSTREAM: Setting = Setting {
    field: "upstream",
    flag: "--upstream",
    help: "the API's base URL, for tok curl's relative URLs and tok proxy",
    need: Need::Optional,
    prompt: None,
    placeholder: "https://api.example.com",
};
const API_HOST: &str =
    "none documented (only the token endpoint): set one with --upstream, or give absolute URLs";
const OPS: Ops = Ops { identity, obtain: obtain_for, curl, check: None };

pub const N3XT_SPEC: Spec = Spec {
    name: "n3xt",
    title: "N3XT",
    summary: "OAuth2 client credentials with a JSON body; tokens last an hour",
    settings: &[
        Setting {
            field: "project",
            flag: "--project",
            help: "the N3XT project id",
            need: Need::Always,
            prompt: Some("N3XT project id"),
            placeholder: "project-live-84ff27dd-…",
        },
        Setting {
            field: "env",
            flag: "--env",
            help: "production (default), alpha, beta or omega",
            need: Need::Optional,
            prompt: None,
            placeholder: "beta",
        },
        CLIENT_ID,
        BASE_URL,
        UPSTREAM,
    ],
    secrets: CLIENT_SECRET,
    environments: &[
        Environment { name: "production", host: "https://authn.n3xt.io", default: true },
        Environment { name: "alpha", host: "https://authn.alpha.n3xt.io", default: false },
        Environment { name: "beta", host: "https://authn.beta.n3xt.io", default: false },
        Environment { name: "omega", host: "https://authn.omega.n3xt.io", default: false },
    ],
    api_host: API_HOST,
    example: "tok login n3xt --project project-live-84ff27dd-0cbe-423d-964c-d89b01324c61 --client-id \"$N3XT_CLIENT_ID\"",
    ops: OPS,
};

pub const NETDIRECTOR_SPEC: Spec = Spec {
    name: "netdirector",
    title: "NetDirector V2",
    summary: "OAuth2 client credentials with HTTP Basic and a form body (Cognito)",
    settings: &[
        Setting {
            field: "env",
            flag: "--env",
            help: "production (default) or staging",
            need: Need::Optional,
            prompt: None,
            placeholder: "staging",
        },
        CLIENT_ID,
        Setting { help: "space-separated scopes (default \"nop2/read nop2/write\")", ..SCOPE },
        BASE_URL,
        UPSTREAM,
    ],
    secrets: CLIENT_SECRET,
    environments: &[
        Environment { name: "production", host: "https://nop2.api.netdirector.auto", default: true },
        Environment { name: "staging", host: "https://nop2.api.staging.netdirector.auto", default: false },
    ],
    api_host: API_HOST,
    example: "tok login netdirector --env production --client-id \"$ND_CLIENT_ID\"",
    ops: OPS,
};

pub const OAUTH2_SPEC: Spec = Spec {
    name: "oauth2",
    title: "any OAuth2 client-credentials API",
    summary: "RFC 6749 client credentials against the token endpoint you name",
    settings: &[
        Setting {
            field: "token_url",
            flag: "--token-url",
            help: "the token endpoint",
            need: Need::Always,
            prompt: None,
            placeholder: "https://auth.example.com/oauth2/token",
        },
        CLIENT_ID,
        Setting {
            field: "auth",
            flag: "--auth",
            help: "basic (default: HTTP Basic, RFC 6749 §2.3.1) or body (credentials in the body)",
            need: Need::Optional,
            prompt: None,
            placeholder: "body",
        },
        Setting {
            field: "body",
            flag: "--body",
            help: "form (default) or json",
            need: Need::Optional,
            prompt: None,
            placeholder: "json",
        },
        SCOPE,
        Setting {
            field: "audience",
            flag: "--audience",
            help: "the audience to ask for",
            need: Need::Optional,
            prompt: None,
            placeholder: "https://api.example.com",
        },
        UPSTREAM,
    ],
    secrets: CLIENT_SECRET,
    environments: &[],
    api_host: API_HOST,
    example: "tok login billing --provider oauth2 --token-url https://auth.example.com/oauth2/token --client-id \"$CLIENT_ID\" --auth body --scope \"read write\"",
    ops: OPS,
};

fn params(profile: &Profile) -> Result<Params> {
    match profile.provider.name() {
        "n3xt" => Params::n3xt(profile),
        "netdirector" => Params::netdirector(profile),
        _ => Params::generic(profile),
    }
}

fn identity(profile: &Profile) -> Result<Identity> {
    let params = params(profile)?;
    // Checked at login too, though no token depends on it.
    if let Some(upstream) = profile.get("upstream") {
        http::base_url(upstream)?;
    }
    Ok(Identity::checked(params.binding()))
}

fn obtain_for(
    profile: &Profile,
    http: &Http,
    secrets: &mut Secrets,
    _: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    grants::client_credentials(&params(profile)?, http, secrets)
}

/// N3XT and NetDirector V2 document token endpoints only, not their API hosts.
fn curl(profile: &Profile) -> Result<CurlTouches> {
    params(profile)?;
    match profile.get("upstream") {
        Some(url) => Ok(CurlTouches::base(&http::base_url(url)?)),
        None => Ok(CurlTouches::none()),
    }
}

/// When a reply states no lifetime and the token is no JWT: short, never "forever".
const UNSTATED_LIFETIME: f64 = 300.0;
/// N3XT documents its tokens as lasting one hour.
const N3XT_LIFETIME: f64 = 3600.0;
const NETDIRECTOR_SCOPE: &str = "nop2/read nop2/write";

#[derive(Debug)]
pub struct Params {
    pub provider: &'static str,
    pub token_url: Url,
    pub client_id: String,
    pub auth: Auth,
    pub encoding: Encoding,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub default_lifetime: f64,
}

impl Params {
    pub fn generic(profile: &Profile) -> Result<Params> {
        let token_url = http::base_url(profile.require("token_url")?)?;
        let auth = match profile.get("auth").unwrap_or("basic") {
            "basic" => Auth::Basic,
            "body" => Auth::Body,
            other => {
                return Err(Error::usage(format!(
                    "--auth takes basic or body, not '{}'",
                    crate::secret::outside(other)
                )));
            }
        };
        let encoding = match profile.get("body").unwrap_or("form") {
            "form" => Encoding::Form,
            "json" => Encoding::Json,
            other => {
                return Err(Error::usage(format!(
                    "--body takes form or json, not '{}'",
                    crate::secret::outside(other)
                )));
            }
        };
        Ok(Params {
            provider: "oauth2",
            token_url,
            client_id: profile.require("client_id")?.to_string(),
            auth,
            encoding,
            scope: profile.get("scope").map(str::to_string),
            audience: profile.get("audience").map(str::to_string),
            default_lifetime: UNSTATED_LIFETIME,
        })
    }

    pub fn n3xt(profile: &Profile) -> Result<Params> {
        let project = profile.require("project")?;
        if project.is_empty()
            || !project.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::usage(format!(
                "'{}' is not an N3XT project id (like project-live-84ff27dd-…)",
                crate::secret::outside(project)
            )));
        }
        let host = match profile.get("env").unwrap_or("production") {
            "production" => "https://authn.n3xt.io".to_string(),
            env @ ("alpha" | "beta" | "omega") => format!("https://authn.{env}.n3xt.io"),
            other => {
                return Err(Error::usage(format!(
                    "unknown N3XT environment '{}' (production, alpha, beta, omega)",
                    crate::secret::outside(other)
                )));
            }
        };
        let base = override_host(profile, &host)?;
        Ok(Params {
            provider: "n3xt",
            token_url: http::join(&base, &format!("/v1/public/{project}/oauth2/token")),
            client_id: profile.require("client_id")?.to_string(),
            auth: Auth::Body,
            encoding: Encoding::Json,
            scope: None,
            audience: None,
            default_lifetime: N3XT_LIFETIME,
        })
    }

    pub fn netdirector(profile: &Profile) -> Result<Params> {
        let host = match profile.get("env").unwrap_or("production") {
            "production" => "https://nop2.api.netdirector.auto",
            "staging" => "https://nop2.api.staging.netdirector.auto",
            other => {
                return Err(Error::usage(format!(
                    "unknown NetDirector environment '{}' (staging or production)",
                    crate::secret::outside(other)
                )));
            }
        };
        let base = override_host(profile, host)?;
        Ok(Params {
            provider: "netdirector",
            token_url: http::join(&base, "/oauth2/token"),
            client_id: profile.require("client_id")?.to_string(),
            auth: Auth::Basic,
            encoding: Encoding::Form,
            scope: Some(profile.get("scope").unwrap_or(NETDIRECTOR_SCOPE).to_string()),
            audience: None,
            default_lifetime: UNSTATED_LIFETIME,
        })
    }

    pub fn binding(&self) -> String {
        format!(
            "{} {} {} {:?} {:?} {:?} {:?}",
            self.provider,
            self.token_url,
            self.client_id,
            self.auth,
            self.encoding,
            self.scope,
            self.audience
        )
    }
}

/// For the presets, `--base-url` replaces scheme and host; the documented path stays.
fn override_host(profile: &Profile, documented: &str) -> Result<Url> {
    http::base_url(profile.get("base_url").unwrap_or(documented))
}
