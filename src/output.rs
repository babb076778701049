//! What `print` writes to stdout, and nothing else does.

use crate::cli::{Format, Shell};
use crate::error::{Error, Result};
use crate::profile::env_name;
use crate::token::{self, TokenRecord};
use serde_json::json;

/// The `version` of every JSON output (`schemas/`): raised when a key changes meaning or
/// goes away; new keys do not raise it.
pub const JSON_VERSION: u32 = 1;

pub fn render(
    record: &TokenRecord,
    format: Format,
    profile: &str,
    var: Option<&str>,
    shell: Shell,
) -> Result<String> {
    Ok(match format {
        Format::Token => format!("{}\n", record.token.expose()),
        Format::Header => format!("{}\n", record.header_line()),
        Format::Json => {
            let now = token::now();
            let value = json!({
                "version": JSON_VERSION,
                "token": record.token.expose(),
                "header": record.header_line(),
                "expires_at": record.expires_at.and_then(rfc3339),
                "expires_in": record.expires_in(now).map(|s| s.max(0)),
            });
            format!("{value}\n")
        }
        Format::Env => {
            let name = match var {
                Some(v) => valid_var(v)?.to_string(),
                None => env_name(profile, "token"),
            };
            let token = record.token.expose();
            match shell {
                Shell::Posix => format!("export {name}={}\n", shell_quote(token)),
                Shell::Powershell => format!("$env:{name} = '{}'\n", token.replace('\'', "''")),
                Shell::Cmd => {
                    // Inside set "..." cmd still expands %VAR% and reads a quote as the end.
                    if token.contains(['%', '"', '^', '!']) {
                        return Err(Error::network(
                            "the token holds characters cmd cannot take safely in set \"NAME=...\"; use --shell powershell",
                        ));
                    }
                    format!("set \"{name}={token}\"\n")
                }
            }
        }
    })
}

pub fn rfc3339(secs: i64) -> Option<String> {
    crate::civil::rfc3339(secs, 0)
}

/// Checks a `--var` name up front, so a typo costs no network call.
pub fn render_check_var(name: &str) -> Result<&str> {
    valid_var(name)
}

fn valid_var(name: &str) -> Result<&str> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    // Not repeated: a token pasted where the name goes must not reach a log.
    let why = "the variable name given is not one a shell takes (letters, digits and _, not first a digit)";
    if ok { Ok(name) } else { Err(Error::usage(why)) }
}

/// Tokens are printable ASCII but may hold `$`, `'` or `;`: single-quote them for `eval`.
fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~+/=:@%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_table() {
        use crate::policy::Lifetime;
        let record = |t: &str| {
            TokenRecord::bearer(
                crate::secret::Secret::new(t),
                &Lifetime { sent_at: 0.0, default: Some(60.0), ..Default::default() },
                "b".into(),
            )
        };
        let table = [
            (Shell::Posix, "eyJ.a", "export TOK_P_TOKEN=eyJ.a\n"),
            (Shell::Posix, "a$b", "export TOK_P_TOKEN='a$b'\n"),
            (Shell::Powershell, "eyJ.a", "$env:TOK_P_TOKEN = 'eyJ.a'\n"),
            (Shell::Powershell, "it's", "$env:TOK_P_TOKEN = 'it''s'\n"),
            (Shell::Cmd, "eyJ.a-b_c", "set \"TOK_P_TOKEN=eyJ.a-b_c\"\n"),
        ];
        for (shell, token, want) in table {
            assert_eq!(
                render(&record(token), Format::Env, "p", None, shell).unwrap(),
                want,
                "{shell:?} {token}"
            );
        }
        assert!(render(&record("a%PATH%"), Format::Env, "p", None, Shell::Cmd).is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("eyJ.a-b_c+/="), "eyJ.a-b_c+/=");
        assert_eq!(shell_quote("a$b"), "'a$b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert!(valid_var("N3XT_AUTH").is_ok());
        assert!(valid_var("3x").is_err());
        assert!(valid_var("a-b").is_err());
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
    }
}
