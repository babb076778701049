//! `tok exec PROFILE[,PROFILE...] -- CMD [ARGS...]`: CMD runs with a fresh token of each
//! profile in its environment, as `aws-vault exec` does, so no shell `eval` is needed.
//!
//! The environment is a snapshot: a command that outlives its tokens needs `tok curl`,
//! `tok print` per call, or a longer `--min-ttl`. tok's own secret variables
//! (`TOK_*_PASSWORD`, `_CLIENT_SECRET`, `_API_KEY`) never reach the command. On Unix tok
//! replaces itself with the command, so signals and the exit code are the command's and
//! no tok process stays behind; elsewhere tok waits and passes the exit code through.
//! With `--proxy` the command gets proxies instead of tokens (`exec_proxy`).

use crate::cli::ExecArgs;
use crate::error::{Error, Result};
use crate::flow::{self, App, Want};
use crate::output;
use crate::profile::env_name;
use crate::provider::Provider;
use crate::term::verbose;
use std::process::ExitCode;

pub fn exec(app: &App, args: &ExecArgs) -> Result<ExitCode> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::usage("tok exec needs a command after --: tok exec PROFILE -- CMD [ARGS...]"));
    };
    if args.var.is_some() && args.profiles.len() > 1 {
        return Err(Error::usage(
            "--var names one profile's variables; with several, each gets TOK_<PROFILE>_TOKEN",
        ));
    }
    if args.var.is_some() && args.profiles.is_empty() {
        return Err(Error::usage("--var names a token's variable; a --proxy profile's is TOK_<PROFILE>_URL"));
    }
    if let Some(var) = &args.var {
        output::render_check_var(var)?;
    }
    let every: Vec<&str> = args.profiles.iter().chain(&args.proxy).map(String::as_str).collect();
    for (i, name) in every.iter().enumerate() {
        if every[..i].contains(name) && args.proxy.iter().any(|p| p == name) {
            return Err(Error::usage(format!(
                "profile '{name}' is named twice: --proxy {name} gives the command a proxy and no token"
            )));
        }
        if let Some(twin) = crate::profile::variable_twin(name, every[..i].iter().copied()) {
            return Err(crate::profile::twin_error(name, twin, "their variables would overwrite each other"));
        }
    }
    let min_ttl = i64::try_from(args.min_ttl.as_secs()).unwrap_or(i64::MAX);
    // A DPoP-bound token in the environment is of no use: each request needs a proof.
    for name in &args.profiles {
        let profile = super::existing_profile(app, name)?;
        if crate::dpop::enabled(&profile) {
            return Err(crate::dpop::refuse_bare_token(
                name,
                "tok exec would give the child the token alone",
                &format!(
                    "give the child a gateway that makes a proof per request: `tok exec --proxy {name} -- CMD`"
                ),
            ));
        }
    }
    // Every token first: a failure runs nothing.
    let mut vars = Vec::new();
    for name in &args.profiles {
        let profile = super::existing_profile(app, name)?;
        let record = flow::token(app, &profile, Want::Fresh { min_ttl }, false)?;
        crate::term::mask_in_ci(record.token.expose());
        if let Some(warning) = crate::client_cert::bound_warning(&profile) {
            crate::term::warn(&warning);
        }
        let (token_var, header_var) = match &args.var {
            Some(var) => (var.clone(), format!("{var}_HEADER")),
            None => (env_name(name, "token"), env_name(name, "header")),
        };
        verbose!("exec: {token_var} and {header_var} for {name}, {}", flow::expiry_text(&record));
        vars.push((token_var, record.token.expose().to_string()));
        vars.push((header_var, record.header_line()));
    }
    let mut command = std::process::Command::new(program);
    command.args(rest);
    for (name, value) in std::env::vars_os() {
        if name.to_str().is_some_and(is_secret_variable) || cache_url_with_password(&name, &value) {
            command.env_remove(&name);
        }
    }
    command.envs(vars);
    if args.proxy.is_empty() {
        run(command, program)
    } else {
        super::exec_proxy::run(app, args, command, program)
    }
}

/// `TOK_<PROFILE>_<FIELD>` where the field is a secret of any provider. In any case:
/// Windows' environment ignores it, so `tok_x_password` is the same variable there.
fn is_secret_variable(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    name.starts_with("TOK_")
        && Provider::every_secret_field()
            .iter()
            .any(|field| name.ends_with(&format!("_{}", field.to_ascii_uppercase())))
}

#[cfg(unix)]
fn run(mut command: std::process::Command, program: &std::ffi::OsStr) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    // Only returns when the command could not be started.
    let e = command.exec();
    Err(not_started(program, e))
}

#[cfg(not(unix))]
fn run(mut command: std::process::Command, program: &std::ffi::OsStr) -> Result<ExitCode> {
    let status = command.status().map_err(|e| not_started(program, e))?;
    Ok(match status.code().map(u8::try_from) {
        Some(Ok(code)) => ExitCode::from(code),
        _ => ExitCode::from(1),
    })
}

pub(super) fn not_started(program: &std::ffi::OsStr, e: std::io::Error) -> Error {
    let error = Error::other(format!("cannot run {}: {e}", program.to_string_lossy()));
    if e.kind() == std::io::ErrorKind::NotFound { Error::usage(error.to_string()) } else { error }
}

/// `TOK_SHARED_CACHE` (or a profile's `TOK_<P>_SHARED_CACHE`) with a password in its URL.
fn cache_url_with_password(name: &std::ffi::OsStr, value: &std::ffi::OsStr) -> bool {
    let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else { return false };
    let name = name.to_ascii_uppercase();
    name.starts_with("TOK_")
        && name.ends_with("SHARED_CACHE")
        && url::Url::parse(value).is_ok_and(|url| url.password().is_some())
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_variables() {
        for secret in ["TOK_NEXTERPAY_PASSWORD", "TOK_N3XT_CLIENT_SECRET", "TOK_ACME_KEY_API_KEY"] {
            assert!(super::is_secret_variable(secret), "{secret}");
        }
        assert!(super::is_secret_variable("tok_nexterpay_password"));
        assert!(super::is_secret_variable("TOK_SHARED_CACHE_PASSWORD"));
        assert!(super::is_secret_variable("TOK_ACME_SHARED_CACHE_PASSWORD"));
        for kept in ["TOK_HOME", "TOK_STORE", "TOK_NEXTERPAY_USERNAME", "TOK_N3XT_CLIENT_ID", "PASSWORD"] {
            assert!(!super::is_secret_variable(kept), "{kept}");
        }
    }

    #[test]
    fn cache_urls_with_a_password() {
        let table = [
            ("TOK_SHARED_CACHE", "redis://tok:pw@cache:6379/0", true),
            ("tok_acme_shared_cache", "rediss://:pw@cache/0", true),
            ("TOK_SHARED_CACHE", "redis://tok@cache:6379/0", false),
            ("TOK_SHARED_CACHE", "unix:///run/redis.sock?user=tok", false),
            ("TOK_SHARED_CACHE_CA", "redis://tok:pw@cache", false),
            ("OTHER_SHARED_CACHE", "redis://tok:pw@cache", false),
        ];
        for (name, value, want) in table {
            assert_eq!(super::cache_url_with_password(name.as_ref(), value.as_ref()), want, "{name}={value}");
        }
    }
}
