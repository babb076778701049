use crate::cli::SignArgs;
use crate::error::{Error, Result};
use crate::flow::{self, App, Want};
use crate::keys::{self, KeySource};
use crate::term;
use crate::token;
use serde_json::{Map, Value};
use std::io::Read;

pub fn sign(app: &App, args: &SignArgs) -> Result<()> {
    let jwt = match &args.profile {
        Some(name) => profile_token(app, name, args)?,
        None => own_token(args)?,
    };
    // A signed JWT is a credential like any token tok hands out.
    term::mask_in_ci(&jwt);
    write_line(&jwt)
}

/// `tok sign nelnet`: a fresh NPS token, whatever is cached.
fn profile_token(app: &App, name: &str, args: &SignArgs) -> Result<String> {
    let profile = super::existing_profile(app, name)?;
    if profile.provider.name() != "nelnet" {
        return Err(Error::usage(format!(
            "tok sign <PROFILE> signs nelnet tokens; {name} is a {} profile",
            profile.provider.name()
        )));
    }
    let own = args.alg.is_some()
        || args.key_file.is_some()
        || args.key_env.is_some()
        || args.key_stdin
        || args.ttl.is_some()
        || args.exp.is_some()
        || !args.claims.is_empty()
        || args.claims_json.is_some();
    if own {
        return Err(Error::usage(
            "with a nelnet profile, the key, algorithm and claims come from the profile",
        ));
    }
    let record = flow::token(app, &profile, Want::New, args.secret_stdin)?;
    Ok(record.token.expose().to_string())
}

fn own_token(args: &SignArgs) -> Result<String> {
    // No default algorithm: the key decides, and HMAC only when asked for (keys.rs).
    let alg = args.alg.as_deref().map(keys::algorithm).transpose()?;
    let source = match (&args.key_file, &args.key_env, args.key_stdin) {
        (Some(path), _, _) => KeySource::File(path.clone()),
        (_, Some(var), _) => KeySource::Env(var.clone()),
        (_, _, true) => KeySource::Stdin,
        _ => return Err(Error::usage("tok sign needs a key: --key-file FILE, --key-env VAR or --key-stdin")),
    };
    if args.key_stdin && args.claims_json.as_deref() == Some("-") {
        return Err(Error::usage("--key-stdin and --claims-json - cannot both read stdin"));
    }

    let mut claims = match &args.claims_json {
        Some(source) => claims_from(source)?,
        None => Map::new(),
    };
    for pair in &args.claims {
        let (key, value) = pair
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| Error::usage("--claim takes KEY=VALUE (one given has no KEY=)"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        claims.insert(key.to_string(), value);
    }
    for (name, value) in [("sub", &args.sub), ("iss", &args.iss), ("aud", &args.aud)] {
        if let Some(v) = value {
            claims.insert(name.to_string(), Value::String(v.clone()));
        }
    }
    let now = token::now();
    if !args.no_iat {
        claims.entry("iat").or_insert(Value::from(now));
    }
    if let Some(ttl) = args.ttl {
        claims.insert(
            "exp".into(),
            Value::from(now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))),
        );
    } else if let Some(exp) = &args.exp {
        let at = parse_time(exp)?;
        if at <= now {
            term::warn(&format!("--exp {exp} is not in the future: the token is born expired"));
        }
        claims.insert("exp".into(), Value::from(at));
    }

    // The key first: a refused key is the one message, not a warning about a token that
    // will not be made.
    let bytes = source.read()?;
    let (alg, key) = keys::encoding_key(alg, &bytes, &source)?;
    if !claims.contains_key("exp") {
        term::warn("the token has no exp and never expires; give --ttl or --exp unless that is the intent");
    }
    keys::sign(alg, args.kid.as_deref(), &Value::Object(claims), &key)
}

fn claims_from(source: &str) -> Result<Map<String, Value>> {
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .take(16 * 1024 * 1024)
            .read_to_string(&mut text)
            .map_err(|e| Error::other(format!("cannot read claims from stdin: {e}")))?;
        text
    } else {
        std::fs::read_to_string(source).map_err(|e| Error::other(format!("cannot read {source}: {e}")))?
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::usage(format!("--claims-json {source}: not a JSON object"))),
        Err(e) => Err(Error::usage(format!(
            "--claims-json {source}: not valid JSON: {}",
            crate::secret::outside(e)
        ))),
    }
}

/// `--exp`: Unix seconds, or an RFC 3339 time.
fn parse_time(text: &str) -> Result<i64> {
    if let Ok(secs) = text.trim().parse::<i64>() {
        return Ok(secs);
    }
    crate::civil::parse_rfc3339(text.trim())
        .ok_or_else(|| Error::usage("--exp takes an RFC 3339 time (2026-01-31T12:00:00Z) or Unix seconds"))
}

fn write_line(text: &str) -> Result<()> {
    crate::term::stdout(format!("{text}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_time("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
        assert_eq!(parse_time("2023-11-14T23:13:20+01:00").unwrap(), 1_700_000_000);
        assert_eq!(parse_time("tomorrow").unwrap_err().exit_code(), 2);
    }
}
