use crate::cli::InspectArgs;
use crate::duration;
use crate::error::{Error, Result};
use crate::flow::App;
use crate::jwt::{self, Jwt};
use crate::keys::{self, KeySource};
use crate::output::rfc3339;
use crate::term;
use crate::token::{self, TokenRecord};
use serde_json::{Map, Value, json};
use std::io::Read;

const TIME_CLAIMS: [&str; 3] = ["iat", "nbf", "exp"];

pub fn inspect(app: &App, args: &InspectArgs) -> Result<()> {
    let (text, stored) = match (&args.token, &args.profile) {
        (Some(dash), _) if dash == "-" => (token_of(&read_stdin()?), None),
        (Some(token), _) => (token_of(token), None),
        (None, Some(name)) => {
            let profile = super::existing_profile(app, name)?;
            if args.id_token {
                return inspect_id_token(app, args, &profile);
            }
            if crate::provider::identity(&profile)?.api_key {
                // The key is a secret of its own, not a token record: nothing to decode,
                // and no reason to read it out of the store just to say so.
                if args.verify {
                    return Err(Error::usage(format!(
                        "{name} holds an API key: there is no signature to verify"
                    )));
                }
                return write(&if args.json {
                    format!(
                        "{}\n",
                        serde_json::to_string_pretty(&json_record(
                            "api_key",
                            None,
                            None,
                            Map::new(),
                            None,
                            None,
                            None
                        ))
                        .unwrap_or_default()
                    )
                } else {
                    format!(
                        "{name} holds an API key: opaque, sent as the Api-key header; it does not expire.\n"
                    )
                });
            }
            let record = app.store_for(&profile)?.token(name)?.ok_or_else(|| {
                Error::not_logged_in(format!("no token is stored for '{name}'"))
                    .hint(format!("run `tok login {name}`"))
            })?;
            (record.token.expose().to_string(), Some(record))
        }
        (None, None) => {
            return Err(Error::usage("give a token, - to read it from stdin, or --profile PROFILE"));
        }
    };
    decode_and_show(args, &text, stored.as_ref())
}

/// `--profile P --id-token`: the stored ID token (no refresh: inspect shows what is held).
fn inspect_id_token(app: &App, args: &InspectArgs, profile: &crate::profile::Profile) -> Result<()> {
    let name = &profile.name;
    let held = match crate::provider::identity(profile)?.api_key {
        true => None,
        false => app.store_for(profile)?.token(name)?.and_then(|record| record.id_token),
    };
    let Some(id_token) = held else {
        return Err(Error::not_logged_in(format!("profile '{name}' holds no ID token"))
            .hint("ID tokens come with OpenID Connect logins (scope openid)"));
    };
    decode_and_show(args, id_token.expose(), None)
}

fn decode_and_show(args: &InspectArgs, text: &str, stored: Option<&TokenRecord>) -> Result<()> {
    let now = token::now_f64();
    let decoded = match (jwt::decode(text), stored) {
        (Ok(jwt), _) => jwt,
        (Err(_), Some(record)) if !args.verify => return write(&opaque(record, args.json, now)),
        (Err(e), _) => return Err(Error::other(format!("not a JWT: {e}"))),
    };
    let verified = match args.verify {
        false => None,
        true => {
            let source = match (&args.key_file, &args.key_env) {
                (Some(path), _) => KeySource::File(path.clone()),
                (_, Some(var)) => KeySource::Env(var.clone()),
                _ => return Err(Error::usage("--verify needs --key-file FILE or --key-env VAR")),
            };
            let pin = args.alg.as_deref().map(keys::algorithm).transpose()?;
            Some(keys::verify(&decoded, &source, pin)?)
        }
    };
    write(&if args.json { json_text(&decoded, now, verified) } else { human(&decoded, now) })?;
    match verified {
        Some(true) => term::note(&format!("signature verified ({})", decoded.alg())),
        Some(false) => {
            return Err(Error::rejected(format!("the {} signature does not match the key", decoded.alg())));
        }
        None => {}
    }
    Ok(())
}

fn read_stdin() -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(16 * 1024 * 1024)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::other(format!("cannot read stdin: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::other("not a JWT: stdin is not text"))?;
    Ok(text.trim().to_string())
}

/// The token in what `tok print` writes, so its output pipes straight in: a bare token,
/// a header line (`Authorization: Bearer <jwt>`, `--format header`), or the JSON of
/// `--format json` (its `token`; an OAuth2 token response's `access_token` too).
fn token_of(text: &str) -> String {
    let text = text.trim().trim_start_matches('\u{feff}').trim();
    if text.starts_with('{') {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
            let field = ["token", "access_token"].iter().find_map(|f| map.get(*f).and_then(Value::as_str));
            if let Some(token) = field {
                return token.trim().to_string();
            }
        }
        return text.to_string();
    }
    // A header's name is a token of RFC 9110 characters, and no JWT holds a colon.
    let value = match text.split_once(':') {
        Some((name, value))
            if !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) =>
        {
            value.trim()
        }
        _ => text,
    };
    match value.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim().to_string(),
        _ => value.to_string(),
    }
}

fn write(text: &str) -> Result<()> {
    crate::term::stdout(text.as_bytes())
}

/// A NumericDate as RFC 3339 UTC, fractions kept to the microsecond (an f64 holds no more).
fn utc(t: f64) -> Option<String> {
    let micros = (t * 1e6).round();
    if !(-1e25..1e25).contains(&micros) {
        return None;
    }
    let micros = micros as i128;
    let secs = i64::try_from(micros.div_euclid(1_000_000)).ok()?;
    crate::civil::rfc3339(secs, micros.rem_euclid(1_000_000) as u32)
}

/// "in 9m" / "expired 2h ago" for exp; "54m ago" / "in 5m" for the others.
fn relative(claim: &str, t: f64, now: f64) -> String {
    let delta = (t - now).round() as i64;
    match (claim, delta) {
        ("exp", _) => duration::relative(delta),
        (_, d) if d > 0 => format!("in {}", duration::human(d)),
        (_, 0) => "now".into(),
        (_, d) => format!("{} ago", duration::human(d)),
    }
}

fn pretty(map: &serde_json::Map<String, Value>) -> String {
    serde_json::to_string_pretty(map).unwrap_or_else(|_| "{}".into())
}

fn human(jwt: &Jwt, now: f64) -> String {
    let mut text = format!("Header:\n{}\nClaims:\n{}\n", pretty(&jwt.header), pretty(&jwt.payload));
    let times: Vec<String> = TIME_CLAIMS
        .iter()
        .filter_map(|claim| {
            let t = jwt.time(claim)?;
            let date = utc(t).unwrap_or_else(|| "out of range".into());
            Some(format!("  {claim}  {date}  ({})\n", relative(claim, t, now)))
        })
        .collect();
    if !times.is_empty() {
        text.push_str("Times (UTC):\n");
        text.push_str(&times.concat());
    }
    text
}

fn json_text(jwt: &Jwt, now: f64, verified: Option<bool>) -> String {
    let mut times = serde_json::Map::new();
    for claim in TIME_CLAIMS {
        if let Some(t) = jwt.time(claim) {
            times.insert(
                claim.into(),
                json!({ "unix": t, "utc": utc(t), "relative": relative(claim, t, now) }),
            );
        }
    }
    let exp = jwt.time("exp");
    let value = json_record(
        "jwt",
        Some(Value::Object(jwt.header.clone())),
        Some(Value::Object(jwt.payload.clone())),
        times,
        exp.and_then(utc),
        exp.map(|t| t - now).filter(|d| d.abs() < 1e15).map(|d| d.ceil() as i64),
        verified,
    );
    format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default())
}

/// Every `inspect --json` output has these keys (`schemas/inspect.json`), whatever `kind`
/// of token it describes (a token without expiry is not expired).
fn json_record(
    kind: &str,
    header: Option<Value>,
    payload: Option<Value>,
    times: serde_json::Map<String, Value>,
    expires_at: Option<String>,
    expires_in: Option<i64>,
    verified: Option<bool>,
) -> Value {
    json!({
        "version": crate::output::JSON_VERSION,
        "kind": kind,
        "header": header,
        "payload": payload,
        "times": times,
        "expires_at": expires_at,
        "expires_in": expires_in,
        "expired": expires_in.is_some_and(|left| left <= 0),
        "verified": verified,
    })
}

/// A stored token that is no JWT (an opaque OAuth2 token): what tok knows of it.
fn opaque(record: &TokenRecord, as_json: bool, now: f64) -> String {
    let now = now.floor() as i64;
    if as_json {
        let expires_at = record.expires_at.and_then(rfc3339);
        let value = json_record("opaque", None, None, Map::new(), expires_at, record.expires_in(now), None);
        return format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default());
    }
    match record.expires_at {
        Some(at) => format!(
            "An opaque token (not a JWT).\nStored expiry: {} ({})\n",
            rfc3339(at).unwrap_or_default(),
            duration::relative(at - now)
        ),
        None => "An opaque token (not a JWT) that does not expire.\n".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_of_what_print_writes() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.e30.c2ln";
        let cases = [
            jwt.to_string(),
            format!("  {jwt}\n"),
            format!("Authorization: Bearer {jwt}\n"),
            format!("authorization:bearer  {jwt}"),
            format!("Authorization: bearer {jwt}\r\n"),
            format!("authentication-token: {jwt}"),
            format!("Bearer {jwt}"),
            format!(
                "{}\n",
                json!({ "token": jwt, "header": format!("Authorization: Bearer {jwt}"), "expires_in": 5 })
            ),
            json!({ "access_token": jwt, "token_type": "Bearer" }).to_string(),
            format!("\u{feff}{jwt}"),
        ];
        for input in cases {
            assert_eq!(token_of(&input), jwt, "{input:?}");
        }
        // What is none of these stays as it is, for the decoder to explain.
        for input in ["{\"tok\": 1}", "a.b", "{nope"] {
            assert_eq!(token_of(input), input);
        }
    }

    #[test]
    fn relative_wording() {
        assert_eq!(relative("exp", 1540.0, 1000.0), "in 9m");
        assert_eq!(relative("exp", 1000.0, 8200.0), "expired 2h ago");
        assert_eq!(relative("iat", 1000.0, 4240.0), "54m ago");
        assert_eq!(relative("nbf", 1300.0, 1000.0), "in 5m");
        // NetDirector V1's iat, as the document prints it.
        let iat: f64 = "1682427186.3834850788116455".parse().unwrap();
        assert_eq!(utc(iat).unwrap(), "2023-04-25T12:53:06.383485Z");
        assert_eq!(utc(1300819380.0).unwrap(), "2011-03-22T18:43:00Z");
        assert!(utc(1e300).is_none());
    }
}
