//! OAuth2: the generic `oauth2` kind and its two client-credentials presets, `n3xt`
//! (JSON body, credentials in the body) and `netdirector` (HTTP Basic, form body, a
//! default scope). This file holds the three `Spec`s and `Params`, read from a profile;
//! each concern has its own file:
//!
//! - `client_auth`: how the client authenticates at the token endpoint;
//! - `token_request`: building and sending one token request, reading its reply;
//! - `discovery`: the issuer's metadata, read once at login into the profile's settings;
//! - `grants`: `GrantKind` and one function per grant, and the refresh they share;
//! - `authcode` and `callback`: authorization code with PKCE (and PAR), the loopback
//!   redirect listener;
//! - `device`: the device authorization grant (RFC 8628);
//! - `interrupt`: Ctrl-C during either interactive login (exit 130);
//! - `exchange`: token exchange (RFC 8693), the subject token from another profile.
//! - `dpop`: DPoP proofs on token requests, the nonce retry (RFC 9449; the key and
//!   proofs themselves are `crate::dpop`'s).
//!
//! Written by hand rather than on oauth2-rs or openidconnect: what those crates would
//! give (building a URL, a PKCE pair, a form) is a few lines, while what tok must hold
//! is its own: every request through tok's `Http` (one deadline per exchange, no
//! redirects, size caps, scrubbed errors), secrets in `Secret`, assertions signed by
//! tok's key reader (the key decides the algorithm), and the providers' quirks.

mod authcode;
mod callback;
mod client_auth;
mod device;
pub mod discovery;
mod dpop;
mod exchange;
mod grants;
mod interrupt;
mod token_request;

pub use token_request::{parse_error, parse_grant};

use crate::error::{Error, Result};
use crate::http::{self, Http};
use crate::input::Secrets;
use crate::keys::KeySource;
use crate::profile::Profile;
use crate::secret::Secret;
use crate::token::TokenRecord;
pub use client_auth::Auth;
pub use grants::GrantKind;
use reqwest::Url;
use token_request::Encoding;

use super::spec::{CurlTouches, Environment, Identity, Need, Ops, SecretField, Setting, Spec, Variant};

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
    variants: &[],
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
    variants: &[],
    ops: OPS,
};

/// A setting that only tok writes (from discovery); no flag sets it.
const fn discovered(field: &'static str, help: &'static str) -> Setting {
    Setting { field, flag: "", help, need: Need::Optional, prompt: None, placeholder: "" }
}

const fn optional(
    field: &'static str,
    flag: &'static str,
    help: &'static str,
    placeholder: &'static str,
) -> Setting {
    Setting { field, flag, help, need: Need::Optional, prompt: None, placeholder }
}

pub const OAUTH2_SPEC: Spec = Spec {
    name: "oauth2",
    title: "any OAuth2 API",
    summary: "RFC 6749 grants (client credentials, authorization code with PKCE, device code, refresh token, token exchange) with discovery and five kinds of client authentication",
    settings: &[
        Setting {
            field: "token_url",
            flag: "--token-url",
            help: "the token endpoint (discovered with --issuer)",
            need: Need::Always,
            prompt: None,
            placeholder: "https://auth.example.com/oauth2/token",
        },
        CLIENT_ID,
        optional(
            "issuer",
            "--issuer",
            "the issuer whose metadata (/.well-known/openid-configuration, else RFC 8414) names the endpoints; read once at login",
            "https://auth.example.com",
        ),
        optional(
            "grant",
            "--grant",
            "client_credentials (default), refresh_token, authorization_code, device_code or token_exchange",
            "refresh_token",
        ),
        optional(
            "auth",
            "--auth",
            "basic (default: HTTP Basic, RFC 6749 §2.3.1), body (credentials in the body), none (a public client), client_secret_jwt (an HS256 assertion made with the secret), private_key_jwt (an assertion signed with --key-file's key), tls (tls_client_auth, RFC 8705: --client-cert from a CA) or self-signed-tls (self_signed_tls_client_auth: a registered --client-cert)",
            "private_key_jwt",
        ),
        optional("key_id", "--key-id", "the kid of the private_key_jwt key", "key-1"),
        optional(
            "client_cert",
            "--client-cert",
            "the TLS client certificate chain (its PEM text, kept here; RFC 8705): presented on every token request and API call, so tokens are certificate-bound",
            "client.pem",
        ),
        optional("body", "--body", "form (default) or json", "json"),
        SCOPE,
        optional(
            "audience",
            "--audience",
            "the audience to ask for (repeatable; kept space-separated)",
            "https://api.example.com",
        ),
        optional(
            "resource",
            "--resource",
            "a resource to ask for, RFC 8707 (repeatable; kept space-separated)",
            "https://api.example.com/",
        ),
        optional(
            "param",
            "--param",
            "NAME=VALUE added to the request that starts the grant (repeatable; kept one per line); never a secret",
            "prompt=consent",
        ),
        Setting {
            need: Need::When("grant", "authorization_code"),
            ..optional(
                "authorize_url",
                "--authorize-url",
                "the authorization endpoint (authorization_code; discovered with --issuer)",
                "https://auth.example.com/authorize",
            )
        },
        Setting {
            need: Need::When("grant", "device_code"),
            ..optional(
                "device_url",
                "--device-url",
                "the device authorization endpoint (device_code; discovered with --issuer)",
                "https://auth.example.com/device",
            )
        },
        optional(
            "redirect_uri",
            "--redirect-uri",
            "a fixed loopback redirect URI (authorization_code)",
            "http://127.0.0.1:8765/callback",
        ),
        optional(
            "no_browser",
            "--no-browser",
            "only print the authorization URL (authorization_code)",
            "true",
        ),
        optional("login_timeout", "--login-timeout", "bound on an interactive login (default 5m)", "10m"),
        optional("par", "--par", "push the authorization request, RFC 9126 (authorization_code)", "true"),
        optional(
            "dpop",
            "--dpop",
            "DPoP-bound tokens, RFC 9449: a fresh proof with every token request and API request (any grant)",
            "true",
        ),
        Setting {
            need: Need::When("grant", "token_exchange"),
            ..optional(
                "subject_profile",
                "--subject-profile",
                "the profile whose token is exchanged (token_exchange)",
                "workload",
            )
        },
        optional(
            "subject_token_type",
            "--subject-token-type",
            "the subject token's type (token_exchange)",
            "urn:ietf:params:oauth:token-type:access_token",
        ),
        optional(
            "requested_token_type",
            "--requested-token-type",
            "the token type to ask for (token_exchange)",
            "urn:ietf:params:oauth:token-type:access_token",
        ),
        discovered("par_url", "the pushed authorization request endpoint (discovered)"),
        discovered("require_par", "whether the server requires pushed authorization requests (discovered)"),
        discovered("sends_iss", "whether the server puts iss on every login answer (RFC 9207, discovered)"),
        discovered("auth_methods", "the token endpoint's client authentication methods (discovered)"),
        discovered(
            "mtls_token_url",
            "the token endpoint for clients with a certificate (RFC 8705 §5, discovered)",
        ),
        discovered(
            "mtls_par_url",
            "the PAR endpoint for clients with a certificate (RFC 8705 §5, discovered)",
        ),
        discovered(
            "mtls_device_url",
            "the device authorization endpoint for clients with a certificate (RFC 8705 §5, discovered)",
        ),
        UPSTREAM,
    ],
    secrets: &[
        SecretField {
            field: "client_secret",
            label: "client secret",
            need: Need::UnlessAny("auth", &["none", "private_key_jwt", "tls", "self-signed-tls"]),
        },
        SecretField {
            field: "private_key",
            label: "private key (--key-file)",
            need: Need::When("auth", "private_key_jwt"),
        },
        // Needed exactly when `client_cert` is set: `tok login` checks that itself.
        SecretField { field: "client_key", label: crate::client_cert::KEY_LABEL, need: Need::Optional },
        SecretField {
            field: crate::dpop::KEY_FIELD,
            label: "DPoP key (made at login, or --dpop-key-file)",
            need: Need::When("dpop", "true"),
        },
        SecretField {
            field: "refresh_token",
            label: "refresh token",
            need: Need::When("grant", "refresh_token"),
        },
    ],
    environments: &[],
    api_host: API_HOST,
    example: "tok login billing --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --auth private_key_jwt --key-file client.key --scope \"read write\"",
    variants: OAUTH2_VARIANTS,
    ops: OPS,
};

/// Every grant and every client authentication, each with a complete login: what
/// `tok providers oauth2` lists (a test checks that each is a valid command line).
const OAUTH2_VARIANTS: &[Variant] = &[
    Variant {
        kind: "grant",
        name: "client_credentials",
        summary: "the default: the client's own credentials buy a token (RFC 6749 §4.4)",
        example: "tok login billing --provider oauth2 --token-url https://auth.example.com/oauth2/token --client-id \"$CLIENT_ID\" --scope \"read write\"",
    },
    Variant {
        kind: "grant",
        name: "authorization_code",
        summary: "a person signs in in the browser; PKCE, a loopback redirect, refreshed by its refresh token",
        example: "tok login shop --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --auth none --grant authorization_code --scope \"openid offline_access\"",
    },
    Variant {
        kind: "grant",
        name: "device_code",
        summary: "a person enters a code on another device (RFC 8628); refreshed by its refresh token",
        example: "tok login tv --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --auth none --grant device_code --scope \"openid offline_access\"",
    },
    Variant {
        kind: "grant",
        name: "refresh_token",
        summary: "a refresh token handed out beforehand (a secret: stdin, TOK_<P>_REFRESH_TOKEN or a prompt)",
        example: "tok login merchant --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --grant refresh_token",
    },
    Variant {
        kind: "grant",
        name: "token_exchange",
        summary: "another profile's token buys one for this API (RFC 8693); profiles chain",
        example: "tok login ledger --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --grant token_exchange --subject-profile workload --audience https://ledger.example.com",
    },
    Variant {
        kind: "auth",
        name: "basic",
        summary: "the default: client id and secret in HTTP Basic (RFC 6749 §2.3.1)",
        example: "tok login billing --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --auth basic",
    },
    Variant {
        kind: "auth",
        name: "body",
        summary: "client id and secret in the request body (client_secret_post)",
        example: "tok login billing --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --auth body",
    },
    Variant {
        kind: "auth",
        name: "none",
        summary: "a public client: only the client id (authorization_code or device_code)",
        example: "tok login shop --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --auth none --grant authorization_code",
    },
    Variant {
        kind: "auth",
        name: "client_secret_jwt",
        summary: "an HS256 assertion made with the client secret (RFC 7523)",
        example: "tok login billing --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --auth client_secret_jwt",
    },
    Variant {
        kind: "auth",
        name: "private_key_jwt",
        summary: "an assertion signed with the client's key (RS256, PS256, ES256 or EdDSA); the key is stored once",
        example: "tok login billing --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --auth private_key_jwt --key-file client.key --key-id key-1",
    },
    Variant {
        kind: "auth",
        name: "tls",
        summary: "tls_client_auth (RFC 8705): a client certificate from a CA the server trusts; tokens bound to it",
        example: "tok login payments --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --auth tls --client-cert client.pem --client-key-file client.key",
    },
    Variant {
        kind: "auth",
        name: "self-signed-tls",
        summary: "self_signed_tls_client_auth (RFC 8705): a self-signed certificate registered with the server",
        example: "tok login payments --provider oauth2 --issuer https://auth.example.com --client-id \"$CLIENT_ID\" --auth self-signed-tls --client-cert client.pem --client-key-file client.key",
    },
];

/// `tok login`'s discovery: the settings `--issuer`'s metadata gives, or none without
/// one. Exit 5 on metadata that fails its checks, before any other request.
pub fn discover(profile: &Profile, http: &Http) -> Result<discovery::Found> {
    match profile.get("issuer") {
        Some(issuer) if profile.provider.name() == "oauth2" => {
            discovery::discover(issuer, &profile.require_url("issuer")?, http)
        }
        _ => Ok(Vec::new()),
    }
}

/// `--key-file FILE` (`-`: stdin) at login: a private key tok can sign with, as the
/// secret to keep. Never a flag value: the flag names where the key is.
pub fn read_private_key(file: &str) -> Result<Secret> {
    let source = if file == "-" { KeySource::Stdin } else { KeySource::File(file.into()) };
    let bytes = source.read()?;
    client_auth::check_private_key(&bytes, &source)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::usage(
            "--key-file takes a PEM (or JWK) key; convert DER with openssl pkey -in KEY -out key.pem",
        )
    })?;
    Ok(Secret::new(text))
}

/// The subject profile of a token-exchange profile: the caller (`flow`) gets its token
/// before taking this profile's lock and hands it in through `Secrets::set_subject`.
pub fn subject_profile(profile: &Profile) -> Option<&str> {
    let exchanges = profile.provider.name() == "oauth2" && profile.get("grant") == Some("token_exchange");
    exchanges.then(|| profile.get("subject_profile")).flatten()
}

/// The settings `tok status` shows even at their defaults: the grant and the client
/// authentication (the issuer shows as a setting when there is one).
pub fn describe(profile: &Profile) -> Vec<(&'static str, String)> {
    match params(profile) {
        Ok(p) if p.provider == "oauth2" => {
            vec![("grant", p.grant.name().to_string()), ("auth", p.auth.name().to_string())]
        }
        _ => Vec::new(),
    }
}

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
    profile.url("upstream")?;
    Ok(Identity::checked(params.binding()))
}

fn obtain_for(
    profile: &Profile,
    http: &Http,
    secrets: &mut Secrets,
    current: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    grants::obtain(&params(profile)?, http, secrets, current)
}

/// N3XT and NetDirector V2 document token endpoints only, not their API hosts.
fn curl(profile: &Profile) -> Result<CurlTouches> {
    params(profile)?;
    match profile.url("upstream")? {
        Some(url) => Ok(CurlTouches::base(&url)),
        None => Ok(CurlTouches::none()),
    }
}

/// When a reply states no lifetime and the token is no JWT: short, never "forever".
const UNSTATED_LIFETIME: f64 = 300.0;
/// N3XT documents its tokens as lasting one hour.
const N3XT_LIFETIME: f64 = 3600.0;
const NETDIRECTOR_SCOPE: &str = "nop2/read nop2/write";

/// A profile's settings, read and checked once: what every grant and client
/// authentication works from.
#[derive(Debug)]
pub struct Params {
    pub provider: &'static str,
    pub grant: GrantKind,
    pub token_url: Url,
    pub client_id: String,
    pub auth: Auth,
    /// The `kid` of a private_key_jwt assertion.
    pub key_id: Option<String>,
    pub encoding: Encoding,
    pub scope: Option<String>,
    pub audiences: Vec<String>,
    pub resources: Vec<String>,
    /// `--param NAME=VALUE`: for the request that starts the grant.
    pub extra: Vec<(String, String)>,
    /// The issuer the endpoints were discovered from: the login answer's `iss` must be it
    /// (RFC 9207). ID tokens are kept as the server sends them; tok checks only their nonce.
    pub issuer: Option<String>,
    /// The metadata says every authorization response carries `iss` (RFC 9207).
    pub sends_iss: bool,
    pub authorize_url: Option<Url>,
    pub device_url: Option<Url>,
    pub par_url: Option<Url>,
    /// `--par`, or the metadata's `require_pushed_authorization_requests`.
    pub par: bool,
    pub redirect_uri: Option<String>,
    pub no_browser: bool,
    pub login_timeout: std::time::Duration,
    pub subject_profile: Option<String>,
    pub subject_token_type: String,
    pub requested_token_type: Option<String>,
    pub default_lifetime: f64,
    /// `--dpop`: every token request carries a proof, and the token must be DPoP-bound.
    pub dpop: bool,
    /// The TLS client certificate chain (PEM) presented with every request, RFC 8705.
    pub client_cert: Option<String>,
}

/// RFC 8693 §3: the default subject token type.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const LOGIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

impl Params {
    /// What every grant starts from: client credentials at `token_url`, Basic, form.
    pub(super) fn base(provider: &'static str, token_url: Url, client_id: String) -> Params {
        Params {
            provider,
            grant: GrantKind::ClientCredentials,
            token_url,
            client_id,
            auth: Auth::Basic,
            key_id: None,
            encoding: Encoding::Form,
            scope: None,
            audiences: Vec::new(),
            resources: Vec::new(),
            extra: Vec::new(),
            issuer: None,
            sends_iss: false,
            authorize_url: None,
            device_url: None,
            par_url: None,
            par: false,
            redirect_uri: None,
            no_browser: false,
            login_timeout: LOGIN_TIMEOUT,
            subject_profile: None,
            subject_token_type: ACCESS_TOKEN_TYPE.to_string(),
            requested_token_type: None,
            default_lifetime: UNSTATED_LIFETIME,
            dpop: false,
            client_cert: None,
        }
    }

    pub fn generic(profile: &Profile) -> Result<Params> {
        // RFC 8705 §5: a client with a certificate uses the metadata's mTLS aliases.
        let with_cert = profile.get(crate::client_cert::SETTING).is_some();
        let url = |field: &str| {
            let alias = format!("mtls_{field}");
            if with_cert && profile.get(&alias).is_some() { profile.url(&alias) } else { profile.url(field) }
        };
        let token_url = match url("token_url")? {
            Some(url) => url,
            None => profile.require_url("token_url")?,
        };
        let auth = Auth::from_name(profile.get("auth").unwrap_or("basic"))?;
        let encoding = match profile.get("body").unwrap_or("form") {
            "form" => Encoding::Form,
            "json" => Encoding::Json,
            other => {
                return Err(Error::usage(format!(
                    "--body takes form or json{}",
                    crate::secret::near_miss(other, &["form", "json"])
                )));
            }
        };
        let client_cert = profile.get(crate::client_cert::SETTING).map(str::to_string);
        let flag = |field: &str| profile.get(field).is_some_and(|v| v == "true");
        let words = |field: &str| -> Vec<String> {
            profile.get(field).map(|v| v.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
        };
        let login_timeout = match profile.get("login_timeout") {
            Some(text) => crate::duration::parse(text).map_err(Error::usage)?,
            None => LOGIN_TIMEOUT,
        };
        let p = Params {
            grant: GrantKind::from_name(profile.get("grant").unwrap_or("client_credentials"))?,
            auth,
            key_id: profile.get("key_id").map(str::to_string),
            encoding,
            scope: profile.get("scope").map(str::to_string),
            audiences: words("audience"),
            resources: words("resource"),
            extra: request_params(profile.get("param").unwrap_or(""))?,
            // Trimmed as discovery trims it, so the iss checks compare the same text.
            issuer: profile.get("issuer").map(|i| i.trim().to_string()),
            sends_iss: flag("sends_iss"),
            authorize_url: url("authorize_url")?,
            device_url: url("device_url")?,
            par_url: url("par_url")?,
            par: flag("par") || flag("require_par"),
            redirect_uri: profile.get("redirect_uri").map(str::to_string),
            no_browser: flag("no_browser"),
            login_timeout,
            subject_profile: profile.get("subject_profile").map(str::to_string),
            subject_token_type: profile.get("subject_token_type").unwrap_or(ACCESS_TOKEN_TYPE).to_string(),
            requested_token_type: profile.get("requested_token_type").map(str::to_string),
            dpop: flag(crate::dpop::SETTING),
            client_cert,
            ..Params::base("oauth2", token_url, profile.require("client_id")?.to_string())
        };
        if matches!(p.auth, Auth::Tls | Auth::SelfSignedTls) && p.client_cert.is_none() {
            return Err(Error::usage(format!(
                "--auth {} authenticates with a TLS client certificate: give --client-cert FILE and --client-key-file FILE",
                p.auth.name()
            )));
        }
        for resource in &p.resources {
            // RFC 8707 §2: an absolute URI without a fragment.
            match Url::parse(resource) {
                Ok(u) if u.fragment().is_none() => {}
                Ok(_) => {
                    return Err(Error::usage(
                        "--resource takes an absolute URI without a fragment (one given has one)",
                    ));
                }
                Err(e) => {
                    return Err(Error::usage(format!(
                        "--resource takes an absolute URI without a fragment (one given is not a URI{})",
                        http::url_hint(e, resource)
                    )));
                }
            }
        }
        if p.grant == GrantKind::AuthorizationCode {
            callback::Redirect::parse(p.redirect_uri.as_deref())?;
        }
        grants::check(&p)?;
        Ok(p)
    }

    pub fn n3xt(profile: &Profile) -> Result<Params> {
        let project = profile.require("project")?;
        if project.is_empty()
            || !project.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::usage("--project is not an N3XT project id (like project-live-84ff27dd-…)"));
        }
        let host = match profile.get("env").unwrap_or("production") {
            "production" => "https://authn.n3xt.io".to_string(),
            env @ ("alpha" | "beta" | "omega") => format!("https://authn.{env}.n3xt.io"),
            other => {
                return Err(Error::usage(format!(
                    "unknown N3XT environment: production, alpha, beta or omega{}",
                    crate::secret::near_miss(other, &["production", "alpha", "beta", "omega"])
                )));
            }
        };
        let base = override_host(profile, &host)?;
        Ok(Params {
            auth: Auth::Body,
            encoding: Encoding::Json,
            default_lifetime: N3XT_LIFETIME,
            ..Params::base(
                "n3xt",
                http::join(&base, &format!("/v1/public/{project}/oauth2/token")),
                profile.require("client_id")?.to_string(),
            )
        })
    }

    pub fn netdirector(profile: &Profile) -> Result<Params> {
        let host = match profile.get("env").unwrap_or("production") {
            "production" => "https://nop2.api.netdirector.auto",
            "staging" => "https://nop2.api.staging.netdirector.auto",
            other => {
                return Err(Error::usage(format!(
                    "unknown NetDirector environment: staging or production{}",
                    crate::secret::near_miss(other, &["staging", "production"])
                )));
            }
        };
        let base = override_host(profile, host)?;
        Ok(Params {
            scope: Some(profile.get("scope").unwrap_or(NETDIRECTOR_SCOPE).to_string()),
            ..Params::base(
                "netdirector",
                http::join(&base, "/oauth2/token"),
                profile.require("client_id")?.to_string(),
            )
        })
    }

    /// What a token was obtained with. Client-credentials profiles keep the binding they
    /// had before the other grants came, so their stored tokens stay usable.
    pub fn binding(&self) -> String {
        let audience = (!self.audiences.is_empty()).then(|| self.audiences.join(" "));
        let mut binding = format!(
            "{} {} {} {:?} {:?} {:?} {:?}",
            self.provider, self.token_url, self.client_id, self.auth, self.encoding, self.scope, audience
        );
        if self.grant != GrantKind::ClientCredentials
            || !self.resources.is_empty()
            || !self.extra.is_empty()
            || self.issuer.is_some()
        {
            binding.push_str(&format!(
                " {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                self.grant,
                self.issuer,
                self.resources,
                self.extra,
                self.authorize_url.as_ref().map(Url::as_str),
                self.device_url.as_ref().map(Url::as_str),
                self.par_url.as_ref().map(Url::as_str),
                self.par,
                self.redirect_uri,
                self.no_browser,
                self.login_timeout,
                self.subject_profile,
                self.subject_token_type,
                self.requested_token_type
            ));
        }
        // A bearer token is no DPoP one: switching either way gets a new token.
        if self.dpop {
            binding.push_str(" dpop");
        }
        // A token bound to one certificate is no use with another (RFC 8705 §3).
        if let Some(chain) = &self.client_cert {
            binding.push_str(&format!(
                " x5t#S256={}",
                crate::client_cert::thumbprint(chain).unwrap_or_default()
            ));
        }
        binding
    }
}

/// Names of parameters that carry secrets, or that tok itself sets: never `--param`.
const RESERVED_PARAMS: &[&str] = &[
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "assertion",
    "code",
    "code_verifier",
    "refresh_token",
    "password",
    "subject_token",
    "actor_token",
    "device_code",
    "grant_type",
    "client_id",
    "state",
    "nonce",
    "request",
    "request_uri",
    // What tok sets itself for a grant: a second copy would win on servers that take the
    // last (a redirect_uri sending the code elsewhere, response_type=token, a PKCE
    // downgrade to plain), or undo a flag tok checks.
    "redirect_uri",
    "response_type",
    "response_mode",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "audience",
    "resource",
    "subject_token_type",
    "requested_token_type",
    "actor_token_type",
    // Tokens are secrets too.
    "access_token",
    "id_token",
    "token",
];

/// `--param NAME=VALUE` lines, as stored (one per line). A name that carries a secret (or
/// one tok sets itself) is refused: argv and config.toml are readable.
fn request_params(text: &str) -> Result<Vec<(String, String)>> {
    let mut params = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((name, value)) = line.split_once('=') else {
            // Not the line itself: it may be a secret typed in the wrong place.
            return Err(Error::usage("--param takes NAME=VALUE (a line without '=' was given)"));
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(Error::usage(
                "--param's name is not a parameter name (letters, digits, '_', '-' and '.')",
            ));
        }
        if RESERVED_PARAMS.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(Error::usage(format!(
                "--param {name} is refused: tok sets {name} itself (--scope, --audience, --resource and --redirect-uri \
                 are flags of their own), or it carries a secret, which never goes on a command line"
            )));
        }
        params.push((name.to_string(), value.to_string()));
    }
    Ok(params)
}

/// For the presets, `--base-url` replaces scheme and host; the documented path stays.
fn override_host(profile: &Profile, documented: &str) -> Result<Url> {
    match profile.url("base_url")? {
        Some(url) => Ok(url),
        None => http::base_url(documented),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn every_grant_and_client_authentication_has_a_valid_example() {
        let named = |kind: &str| -> Vec<&str> {
            OAUTH2_VARIANTS.iter().filter(|v| v.kind == kind).map(|v| v.name).collect()
        };
        assert_eq!(named("grant"), grants::GRANT_NAMES);
        assert_eq!(named("auth"), client_auth::AUTH_NAMES);
        for v in OAUTH2_VARIANTS {
            // The examples quote only "$CLIENT_ID" and two-word scopes.
            let mut words = Vec::new();
            for (i, part) in v.example.split('"').enumerate() {
                match i % 2 {
                    0 => words.extend(part.split_whitespace().map(str::to_string)),
                    _ => words.push(part.to_string()),
                }
            }
            let cli =
                crate::cli::Cli::try_parse_from(&words).unwrap_or_else(|e| panic!("{}: {e}", v.example));
            let crate::cli::Command::Login(args) = cli.command else { panic!("{}: no login", v.example) };
            let shown = args.settings();
            let chosen = shown.iter().find(|(f, _)| *f == v.kind).map(|(_, value)| value.as_str());
            let default = if v.kind == "grant" { "client_credentials" } else { "basic" };
            assert_eq!(chosen.unwrap_or(default), v.name, "{}", v.example);
        }
    }

    #[test]
    fn request_params_table() {
        let ok: [(&str, &[(&str, &str)]); 4] = [
            ("", &[]),
            ("prompt=consent", &[("prompt", "consent")]),
            (
                "prompt=consent login\n\naccess_type=offline",
                &[("prompt", "consent login"), ("access_type", "offline")],
            ),
            ("x=a=b", &[("x", "a=b")]),
        ];
        for (text, want) in ok {
            let got = request_params(text).unwrap();
            let want: Vec<(String, String)> =
                want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            assert_eq!(got, want, "{text}");
        }
        let refused = [
            ("client_secret=x", "carries a secret"),
            ("CLIENT_SECRET=x", "carries a secret"),
            ("code_verifier=x", "carries a secret"),
            ("refresh_token=x", "carries a secret"),
            ("password=x", "carries a secret"),
            ("assertion=x", "carries a secret"),
            ("client_assertion=x", "carries a secret"),
            ("subject_token=x", "carries a secret"),
            ("grant_type=password", "carries a secret"),
            ("redirect_uri=http://127.0.0.1:1/evil", "sets redirect_uri itself"),
            ("Response_Type=token", "sets Response_Type itself"),
            ("code_challenge_method=plain", "sets code_challenge_method itself"),
            ("scope=openid", "sets scope itself"),
            ("access_token=x", "carries a secret"),
            ("id_token=x", "carries a secret"),
            ("novalue", "NAME=VALUE"),
            ("=x", "not a parameter name"),
            ("a b=x", "not a parameter name"),
        ];
        for (text, want) in refused {
            let e = request_params(text).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{text}");
            assert!(e.to_string().contains(want), "{text}: {e}");
            // The value never shows: it may be the secret the name says it is.
            assert!(!e.to_string().contains("=x"), "{text}: {e}");
        }
    }
}
