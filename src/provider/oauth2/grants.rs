//! The grants, one function each, and the refresh every grant shares.
//!
//! `obtain` is the entry: with a stored refresh token it refreshes (RFC 6749 §6) under
//! the caller's single-flight lock; otherwise, or when a non-interactive grant's refresh
//! token is refused, it runs the profile's grant. An interactive grant never starts
//! outside `tok login`: `print`, `curl`, `exec` and `proxy` exit 3 instead.
//!
//! Each grant returns the `TokenRecord` of `token_request::exchange`, which keeps
//! `refresh_token` and `id_token`; the interactive and exchange grants live in their own
//! files:
//! - `authorization_code` (`authcode.rs`, `callback.rs`): PKCE, `state` and `nonce`, the
//!   loopback listener, PAR through `client_auth::apply` when `p.par`;
//!   `token_request::request_params(p)` goes into the authorization (or pushed) request.
//! - `device_code` (`device.rs`): RFC 8628 against `p.device_url`, then polling at the
//!   server's interval; Ctrl-C through `interrupt.rs`, shared with the listener.
//! - `token_exchange` (`exchange.rs`): RFC 8693 with the subject token that
//!   `flow::subject_token` got from `p.subject_profile` before the lock was taken.

use super::Params;
use super::token_request::{self, Failure};
use crate::error::{Error, Result};
use crate::http::Http;
use crate::input::Secrets;
use crate::secret::Secret;
use crate::token::TokenRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    ClientCredentials,
    AuthorizationCode,
    DeviceCode,
    RefreshToken,
    TokenExchange,
}

pub const GRANT_NAMES: &[&str] =
    &["client_credentials", "authorization_code", "device_code", "refresh_token", "token_exchange"];

impl GrantKind {
    pub fn from_name(name: &str) -> Result<GrantKind> {
        Ok(match name {
            "client_credentials" => GrantKind::ClientCredentials,
            "authorization_code" => GrantKind::AuthorizationCode,
            "device_code" => GrantKind::DeviceCode,
            "refresh_token" => GrantKind::RefreshToken,
            "token_exchange" => GrantKind::TokenExchange,
            other => {
                return Err(Error::usage(format!(
                    "--grant takes {}{}",
                    GRANT_NAMES.join(", "),
                    crate::secret::near_miss(other, GRANT_NAMES)
                )));
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            GrantKind::ClientCredentials => "client_credentials",
            GrantKind::AuthorizationCode => "authorization_code",
            GrantKind::DeviceCode => "device_code",
            GrantKind::RefreshToken => "refresh_token",
            GrantKind::TokenExchange => "token_exchange",
        }
    }

    /// Needs a person (a browser, a device): only `tok login` may start it.
    pub fn interactive(self) -> bool {
        matches!(self, GrantKind::AuthorizationCode | GrantKind::DeviceCode)
    }
}

/// Combinations no server accepts, refused before anything is sent.
pub fn check(p: &Params) -> Result<()> {
    use super::Auth;
    if p.auth == Auth::None && p.grant == GrantKind::ClientCredentials {
        return Err(Error::usage(
            "client_credentials needs a client that authenticates (RFC 6749 §4.4): --auth none has nothing to prove",
        )
        .hint("use --auth basic, body, client_secret_jwt or private_key_jwt"));
    }
    if p.auth == Auth::None && p.grant == GrantKind::TokenExchange {
        return Err(Error::usage(
            "token_exchange needs a client that authenticates: --auth none has nothing to prove",
        ));
    }
    Ok(())
}

/// A token for `p`: refreshed with the stored record's refresh token when it has one,
/// else by the profile's grant.
pub fn obtain(
    p: &Params,
    http: &Http,
    secrets: &mut Secrets,
    current: Option<&TokenRecord>,
) -> Result<TokenRecord> {
    if let Some(stored) = current.and_then(|r| r.refresh_token.as_ref()) {
        match refresh(p, http, secrets, stored) {
            Ok(mut record) => {
                crate::id_token::keep_on_refresh(&mut record, current);
                return Ok(record);
            }
            Err(Failure { code: Some(code), error }) if code == "invalid_grant" => {
                if p.grant.interactive() || p.grant == GrantKind::RefreshToken {
                    return Err(login_again(secrets.profile(), "its refresh token was refused"));
                }
                crate::term::verbose!(
                    "{}: the refresh token was refused ({error}); using the grant",
                    p.provider
                );
            }
            Err(failure) => return Err(failure.error),
        }
    }
    if p.grant.interactive() && !secrets.is_login() {
        return Err(login_again(secrets.profile(), "its token expired and it holds no refresh token"));
    }
    match p.grant {
        GrantKind::ClientCredentials => client_credentials(p, http, secrets),
        GrantKind::RefreshToken => refresh_token(p, http, secrets),
        GrantKind::AuthorizationCode => authorization_code(p, http, secrets),
        GrantKind::DeviceCode => device_code(p, http, secrets),
        GrantKind::TokenExchange => token_exchange(p, http, secrets),
    }
}

/// Exit 3: only a new `tok login` (a person) can get this profile a token.
fn login_again(profile: &str, why: &str) -> Error {
    Error::not_logged_in(format!("profile '{profile}' needs a new login: {why}"))
        .hint(format!("run `tok login {profile}` again"))
}

/// RFC 6749 §4.4: the client's own credentials buy a token.
pub fn client_credentials(p: &Params, http: &Http, secrets: &mut Secrets) -> Result<TokenRecord> {
    let mut fields = vec![("grant_type".to_string(), "client_credentials".to_string())];
    fields.extend(token_request::request_params(p));
    Ok(token_request::exchange(p, http, secrets, fields)?)
}

/// `--grant refresh_token`: a refresh token handed out of band (the secret
/// `refresh_token`) buys the first token; the refresh tokens that come back are kept in
/// the record and used from then on.
pub fn refresh_token(p: &Params, http: &Http, secrets: &mut Secrets) -> Result<TokenRecord> {
    let given = secrets.get("refresh_token", "refresh token")?;
    refresh(p, http, secrets, &given).map_err(|failure| match failure.code.as_deref() {
        Some("invalid_grant") => Error::not_logged_in(format!(
            "{} refused the refresh token of '{}' (invalid_grant)",
            p.provider,
            secrets.profile()
        ))
        .hint(format!("give a new one: `tok login {} --secret-stdin`", secrets.profile())),
        _ => failure.error,
    })
}

/// RFC 6749 §6. A reply without a new refresh token keeps the old one; a rotated one
/// replaces it in the same record, written atomically by the caller.
fn refresh(p: &Params, http: &Http, secrets: &mut Secrets, refresh: &Secret) -> Result<TokenRecord, Failure> {
    let mut fields = vec![
        ("grant_type".to_string(), "refresh_token".to_string()),
        ("refresh_token".to_string(), refresh.expose().to_string()),
    ];
    // The request that started a refresh_token profile is this one: its parameters go
    // with every refresh. Other grants sent theirs when they started.
    if p.grant == GrantKind::RefreshToken {
        fields.extend(token_request::request_params(p));
    }
    let mut record = token_request::exchange(p, http, secrets, fields)?;
    if record.refresh_token.is_none() {
        record.refresh_token = Some(refresh.clone());
    }
    Ok(record)
}

/// Authorization code with PKCE, the loopback redirect and PAR (`authcode`); runs only
/// at `tok login` (`obtain` guarantees it).
pub fn authorization_code(p: &Params, http: &Http, secrets: &mut Secrets) -> Result<TokenRecord> {
    super::authcode::run(p, http, secrets)
}

/// The device authorization grant (RFC 8628, `device.rs`). Runs only at `tok login`.
pub fn device_code(p: &Params, http: &Http, secrets: &mut Secrets) -> Result<TokenRecord> {
    super::device::login(p, http, secrets)
}

/// RFC 8693, re-run (with a fresh subject token) whenever the token is due and no
/// refresh token works: `exchange.rs`.
pub fn token_exchange(p: &Params, http: &Http, secrets: &mut Secrets) -> Result<TokenRecord> {
    super::exchange::token_exchange(p, http, secrets)
}
