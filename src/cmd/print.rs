use crate::cli::{Format, PrintArgs, RefreshArgs, Shell};
use crate::error::{Error, Result};
use crate::flow::{self, App, Want};
use crate::output;
use crate::term;
use std::io::Write;
use std::path::PathBuf;

pub fn print(app: &App, args: &PrintArgs) -> Result<()> {
    let profile = super::existing_profile(app, &args.profile)?;
    let min_ttl = i64::try_from(args.min_ttl.as_secs()).unwrap_or(i64::MAX);
    // Every usage error before any network call.
    if args.shell.is_some() && args.format != Format::Env {
        return Err(Error::usage(
            "--shell picks the syntax of --format env; with another format it would do nothing",
        ));
    }
    if let Some(var) = &args.var {
        if args.format != Format::Env || args.github_env.is_some() {
            return Err(Error::usage(
                "--var names the variable of --format env; with another format (or --github-env) it would do nothing",
            ));
        }
        output::render_check_var(var)?;
    }
    if args.id_token && (args.format != Format::Token || args.github_env.is_some()) {
        return Err(Error::usage(
            "--id-token prints the bare ID token: it takes no --format or --github-env",
        ));
    }
    let github = args.github_env.as_deref().map(|name| github_env_target(name, args.format)).transpose()?;
    let for_request = super::print_dpop::check(app, &profile, args)?;
    let mut record = flow::token(app, &profile, Want::Fresh { min_ttl }, args.secret_stdin)?;
    let now = crate::token::now();
    // A refresh reply may keep the old ID token (`id_token`): it is handed out only while
    // it has --min-ttl left, else after one more refresh, which may bring a new one.
    if args.id_token && record.id_token.as_ref().is_some_and(|t| !crate::id_token::fresh(t, now, min_ttl)) {
        let rejected = record.token.expose().to_string();
        record =
            flow::token(app, &profile, Want::Replacing { rejected: &rejected, min_ttl }, args.secret_stdin)?;
    }
    term::mask_in_ci(record.token.expose());
    if !args.id_token
        && let Some(warning) = crate::client_cert::bound_warning(&profile)
    {
        term::warn(&warning);
    }
    if args.id_token {
        let Some(id_token) = &record.id_token else {
            return Err(Error::not_logged_in(format!("profile '{}' holds no ID token", profile.name))
                .hint("the provider sent none: ID tokens come with OpenID Connect logins (scope openid)"));
        };
        if !crate::id_token::fresh(id_token, crate::token::now(), min_ttl) {
            return Err(Error::not_logged_in(format!(
                "the ID token of '{}' has expired and a refresh brought no new one",
                profile.name
            ))
            .hint(format!("run `tok login {}` again for a new ID token", profile.name)));
        }
        term::mask_in_ci(id_token.expose());
        return crate::term::stdout(format!("{}\n", id_token.expose()).as_bytes());
    }
    if let Some(request) = for_request {
        return crate::term::stdout(request.lines(&record)?.as_bytes());
    }
    let text = output::render(
        &record,
        args.format,
        &profile.name,
        args.var.as_deref(),
        args.shell.unwrap_or(Shell::Posix),
    )?;
    let stdout = match github {
        Some((name, path)) => {
            append_line(&path, &format!("{name}={}", text.trim_end()))?;
            // GitHub hides the token in every later log line of the job.
            format!("::add-mask::{}\n", record.token.expose())
        }
        None => text,
    };
    crate::term::stdout(stdout.as_bytes())
}

/// `--github-env NAME`: the variable name and the `$GITHUB_ENV` file, checked up front.
fn github_env_target(name: &str, format: Format) -> Result<(String, PathBuf)> {
    output::render_check_var(name)?;
    if format == Format::Env {
        return Err(Error::usage(
            "--github-env writes NAME=<value>; use --format token, header or json with it",
        ));
    }
    let path = std::env::var_os("GITHUB_ENV").filter(|p| !p.is_empty()).ok_or_else(|| {
        Error::usage("GITHUB_ENV is not set: --github-env works inside a GitHub Actions step")
    })?;
    Ok((name.to_string(), PathBuf::from(path)))
}

fn append_line(path: &std::path::Path, line: &str) -> Result<()> {
    // The runner creates $GITHUB_ENV; one tok creates is private, never world-readable.
    let mut file = crate::fsutil::open_private(path, std::fs::OpenOptions::new().append(true).create(true))
        .map_err(|e| Error::other(format!("cannot open $GITHUB_ENV ({}): {e}", path.display())))?;
    writeln!(file, "{line}")
        .map_err(|e| Error::other(format!("cannot write $GITHUB_ENV ({}): {e}", path.display())))
}

pub fn refresh(app: &App, args: &RefreshArgs) -> Result<()> {
    let profile = super::existing_profile(app, &args.profile)?;
    if crate::provider::identity(&profile)?.api_key {
        term::note(&format!("{}: an API key does not expire; nothing to refresh", profile.name));
        return Ok(());
    }
    let record = flow::token(app, &profile, Want::New, args.secret_stdin)?;
    term::note(&format!("{}: new token, {}", profile.name, flow::expiry_text(&record)));
    Ok(())
}
