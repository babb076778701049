use crate::cli::StatusArgs;
use crate::config::ConfigFile;
use crate::duration;
use crate::error::{Error, Result};
use crate::flow::App;
use crate::output::rfc3339;
use crate::token::{self, TokenRecord};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::Write;

struct Row {
    profile: String,
    provider: String,
    state: &'static str,
    record: Option<TokenRecord>,
    error: Option<String>,
}

/// Lists profiles and their tokens from `config.toml` and the store. No network.
pub fn status(app: &App, args: &StatusArgs) -> Result<()> {
    let config = ConfigFile::load(&app.paths.config_file)?;
    let store = app.store();
    let names: BTreeSet<String> = config.profiles.keys().cloned().chain(store.profiles()).collect();
    let now = token::now();
    let mut failed = None;
    let rows: Vec<Row> = names
        .into_iter()
        .map(|name| {
            let provider = config
                .profiles
                .get(&name)
                .and_then(|s| s.get("provider"))
                .cloned()
                .unwrap_or_else(|| "?".into());
            let saved = config.profiles.get(&name);
            let api_key = saved.and_then(|s| s.get("mode")).is_some_and(|m| m == "api-key");
            // An API key is a secret of its own; there is no token record to look at.
            let token = if api_key { Ok(None) } else { store.token(&name) };
            let (state, record, error) = match token {
                Ok(None) if api_key => ("API key", None, None),
                Ok(Some(r)) if r.expires_at.is_some_and(|e| e <= now) => ("expired", Some(r), None),
                Ok(Some(r)) => ("valid", Some(r), None),
                Ok(None) => ("no token", None, None),
                Err(e) => {
                    let text = e.to_string();
                    failed.get_or_insert(e);
                    ("store error", None, Some(text))
                }
            };
            Row { profile: name, provider, state, record, error }
        })
        .collect();

    let text = if args.json { json_text(&rows, now) } else { table(&rows, now) };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(|e| Error::other(format!("cannot write to stdout: {e}")))?;
    if rows.is_empty() && !args.json {
        crate::term::note("no profiles yet: run `tok login <provider>`");
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
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
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            let detail = match (&r.record, &r.error) {
                (Some(rec), _) => expires(rec, now),
                (None, Some(e)) => e.clone(),
                (None, None) if r.state == "API key" => "never".into(),
                (None, None) => "-".into(),
            };
            // config.toml is text anybody may have edited: nothing from it moves the cursor.
            [
                r.profile.clone(),
                crate::term::printable(&r.provider),
                r.state.to_string(),
                crate::term::printable(&detail),
            ]
        })
        .collect();
    let header = ["PROFILE", "PROVIDER", "TOKEN", "EXPIRES"].map(String::from);
    let widths: Vec<usize> =
        (0..3).map(|i| cells.iter().chain([&header]).map(|c| c[i].len()).max().unwrap_or(0)).collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&cells) {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
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
