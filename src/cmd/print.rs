use crate::cli::{PrintArgs, RefreshArgs};
use crate::error::{Error, Result};
use crate::flow::{self, App, Want};
use crate::output;
use crate::term;
use std::io::Write;

pub fn print(app: &App, args: &PrintArgs) -> Result<()> {
    let profile = super::existing_profile(app, &args.profile)?;
    let min_ttl = i64::try_from(args.min_ttl.as_secs()).unwrap_or(i64::MAX);
    // Validate --var before any network call.
    let _ = args.var.as_deref().map(|v| output::render_check_var(v)).transpose()?;
    let record = flow::token(app, &profile, Want::Fresh { min_ttl }, args.secret_stdin)?;
    let text = output::render(&record, args.format, &profile.name, args.var.as_deref())?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::other(format!("cannot write to stdout: {e}")))
}

pub fn refresh(app: &App, args: &RefreshArgs) -> Result<()> {
    let profile = super::existing_profile(app, &args.profile)?;
    if crate::provider::is_api_key(&profile)? {
        term::note(&format!("{}: an API key does not expire; nothing to refresh", profile.name));
        return Ok(());
    }
    let record = flow::token(app, &profile, Want::New, args.secret_stdin)?;
    term::note(&format!("{}: new token, {}", profile.name, flow::expiry_text(&record)));
    Ok(())
}
