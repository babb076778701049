//! `tok status [PROFILE]`: the profiles and their tokens, or one profile in detail, as
//! `gh auth status` gives it. No network; never a secret.

use crate::cli::StatusArgs;
use crate::config::ConfigFile;
use crate::duration;
use crate::error::{Kind, Result};
use crate::flow::App;
use crate::output::rfc3339;
use crate::profile::{self, Profile, env_name, env_value};
use crate::provider;
use crate::store::Store;
use crate::term::printable;
use crate::token::{self, TokenRecord};
use serde_json::{Value, json};

struct Row {
    profile: String,
    provider: String,
    store: String,
    state: &'static str,
    record: Option<TokenRecord>,
    error: Option<String>,
}

pub fn status(app: &App, args: &StatusArgs) -> Result<()> {
    if let Some(name) = &args.profile {
        return detail(app, name, args.json);
    }
    let config = ConfigFile::load(&app.paths.config_file)?;
    let names = super::known_profiles(&app.paths, &config);
    let now = token::now();
    let mut failed = None;
    let rows: Vec<Row> = names
        .into_iter()
        .map(|name| {
            let saved = config.profiles.get(&name);
            let resolved = profile::resolve(&name, None, &[], saved);
            let provider = match &resolved {
                Ok(p) => p.provider.name().to_string(),
                Err(_) => saved.and_then(|s| s.get("provider")).cloned().unwrap_or_else(|| "?".into()),
            };
            let (state, record, error, store) = match resolved.and_then(|p| row_state(app, &p, now)) {
                Ok((state, record, store)) => (state, record, None, store),
                Err(e) => {
                    let text = e.to_string();
                    let store = if e.kind() == Kind::Store { "?".to_string() } else { "-".to_string() };
                    failed.get_or_insert(e);
                    ("error", None, Some(text), store)
                }
            };
            Row { profile: name, provider, store, state, record, error }
        })
        .collect();

    let text = if args.json { json_text(&rows, now) } else { table(&rows, now) };
    write(&text)?;
    if rows.is_empty() && !args.json {
        crate::term::note("no profiles yet: run `tok login <provider>` (`tok providers` lists them)");
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn row_state(app: &App, profile: &Profile, now: i64) -> Result<(&'static str, Option<TokenRecord>, String)> {
    let kind = app.store_kind(profile)?;
    let identity = provider::identity(profile)?;
    let unverified = identity.unchecked_login && profile.verified.is_none();
    if identity.api_key {
        // An API key is a secret of its own; there is no token record to look at.
        return Ok((if unverified { "API key, unverified" } else { "API key" }, None, kind.name().into()));
    }
    let record = app.open(kind)?.token(&profile.name)?;
    let state = match &record {
        None => "no token",
        Some(r) if r.expires_at.is_some_and(|e| e <= now) => "expired",
        Some(_) if unverified => "unverified",
        Some(_) => "valid",
    };
    Ok((state, record, kind.name().into()))
}

fn write(text: &str) -> Result<()> {
    crate::term::stdout(text.as_bytes())
}

fn expires(record: &TokenRecord, now: i64) -> String {
    let mut text = match record.expires_at {
        Some(at) => format!("{} ({})", duration::relative(at - now), rfc3339(at).unwrap_or_default()),
        None => "never".into(),
    };
    if let Some(at) = record.refresh_expires_at {
        let left = at - now;
        let when = if left > 0 { format!("in {}", duration::human(left)) } else { "expired".into() };
        text.push_str(&format!("; refresh token {when}"));
    }
    text
}

fn table(rows: &[Row], now: i64) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let detail = match (&r.record, &r.error) {
                (Some(rec), _) => expires(rec, now),
                (None, Some(e)) => e.clone(),
                (None, None) if r.state.starts_with("API key") => "never".into(),
                (None, None) => "-".into(),
            };
            // config.toml is text anybody may have edited: nothing from it moves the cursor.
            [
                r.profile.clone(),
                printable(&r.provider),
                r.store.clone(),
                r.state.to_string(),
                printable(&detail),
            ]
        })
        .collect();
    let header = ["PROFILE", "PROVIDER", "STORE", "TOKEN", "EXPIRES"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|i| cells.iter().chain([&header]).map(|c| c[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i < 4 {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn json_text(rows: &[Row], now: i64) -> String {
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            let rec = r.record.as_ref();
            json!({
                "profile": r.profile,
                "provider": r.provider,
                "store": r.store,
                "state": r.state,
                "expires_at": rec.and_then(|x| x.expires_at).and_then(rfc3339),
                "expires_in": rec.and_then(|x| x.expires_in(now)),
                "obtained_at": rec.and_then(|x| rfc3339(x.obtained_at)),
                "refresh_expires_at": rec.and_then(|x| x.refresh_expires_at).and_then(rfc3339),
                "error": r.error,
            })
        })
        .collect();
    format!("{}\n", Value::Array(list))
}

/// One profile in detail: provider, environment, account, hosts, store and where each
/// secret lives, token and refresh-token expiry.
fn detail(app: &App, name: &str, as_json: bool) -> Result<()> {
    let profile = super::existing_profile(app, name)?;
    let spec = profile.provider.spec();
    let identity = provider::identity(&profile)?;
    let kind = app.store_kind(&profile)?;
    let store = app.open(kind)?;
    let now = token::now();
    let environment = profile
        .get("env")
        .map(str::to_string)
        .or_else(|| spec.environments.iter().find(|e| e.default).map(|e| e.name.to_string()));
    let mut hosts: Vec<String> = Vec::new();
    match (profile.get("base_url"), &environment) {
        (Some(url), _) => hosts.push(url.to_string()),
        (None, Some(env)) => {
            hosts.extend(spec.environments.iter().filter(|e| e.name == *env).map(|e| e.host.to_string()))
        }
        (None, None) => {}
    }
    if let Some(url) = profile.get("token_url") {
        hosts.push(url.to_string());
    }
    let settings: Vec<(String, String)> = spec
        .settings
        .iter()
        .chain(provider::COMMON_SETTINGS)
        .filter(|s| !matches!(s.field, "env" | "base_url" | "token_url"))
        .filter_map(|s| profile.get(s.field).map(|v| (s.field.replace('_', " "), printable(v))))
        .collect();
    let secrets: Vec<(String, String)> = profile
        .provider
        .needed_secrets(&profile)
        .iter()
        .map(|s| (s.label.to_string(), secret_place(&profile, s.field, &store, kind.name())))
        .collect();
    let record = if identity.api_key { None } else { store.token(name)? };
    let verified = match (identity.unchecked_login, profile.verified) {
        (false, _) => "by the login (the provider issued a token)".to_string(),
        (true, Some(at)) => format!("a request succeeded with it ({})", rfc3339(at).unwrap_or_default()),
        (true, None) => "not yet: checked on first use".to_string(),
    };
    let store_text = store.describe();
    if as_json {
        let value = json!({
            "profile": name,
            "provider": spec.name,
            "environment": environment,
            "settings": settings.iter().map(|(k, v)| (k.replace(' ', "_"), Value::from(v.clone()))).collect::<serde_json::Map<_, _>>(),
            "hosts": hosts,
            "store": kind.name(),
            "secrets": secrets.iter().map(|(k, v)| json!({ "secret": k, "where": v })).collect::<Vec<_>>(),
            "api_key": identity.api_key,
            "verified": profile.verified.and_then(rfc3339),
            "expires_at": record.as_ref().and_then(|r| r.expires_at).and_then(rfc3339),
            "refresh_expires_at": record.as_ref().and_then(|r| r.refresh_expires_at).and_then(rfc3339),
            "clock_skew": record.as_ref().and_then(|r| r.clock_skew),
        });
        return write(&format!("{value}\n"));
    }
    let mut lines = vec![(name.to_string(), String::new())];
    let mut add = |k: &str, v: String| lines.push((format!("  {k}"), v));
    add("provider", format!("{} ({})", spec.name, spec.title));
    if let Some(env) = &environment {
        add("environment", env.clone());
    }
    for (k, v) in &settings {
        add(k, v.clone());
    }
    add("hosts", if hosts.is_empty() { "-".into() } else { hosts.join(", ") });
    add("store", store_text);
    for (k, v) in &secrets {
        add(k, v.clone());
    }
    match (&record, identity.api_key) {
        (_, true) => add("token", "the API key itself; it does not expire".into()),
        (Some(r), _) => add("token", expires(r, now)),
        (None, _) => add("token", "none stored".into()),
    }
    add("verified", verified);
    if let Some(skew) = record.as_ref().and_then(|r| r.clock_skew).filter(|s| s.abs() > 60) {
        add(
            "clock",
            format!(
                "{} (at the last token); tok decides on this machine's",
                crate::http::skew_text(spec.name, skew)
            ),
        );
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let text: String = lines
        .iter()
        .map(|(k, v)| if v.is_empty() { format!("{k}\n") } else { format!("{k:width$}  {v}\n") })
        .collect();
    write(&text)
}

/// Where a secret comes from for the next request, without reading it out.
fn secret_place(profile: &Profile, field: &str, store: &Store, kind: &str) -> String {
    if env_value(&profile.name, field).is_some() {
        return format!("from {}", env_name(&profile.name, field));
    }
    match store.secret(&profile.name, field) {
        Ok(Some(_)) if kind == "keyring" => "in the keyring".into(),
        Ok(Some(_)) => format!("in the {kind} store"),
        Ok(None) => "not stored".into(),
        Err(e) => format!("unknown ({e})"),
    }
}
