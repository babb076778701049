//! How profiles are named, and the `TOK_<PROFILE>_<FIELD>` variables that follow from a
//! name: a leaf module, so that `config`, `input` and `store` need not import `profile`
//! (which imports them).

/// `[a-z0-9][a-z0-9._-]*`, as `cli.md` fixes; the length cap keeps keyring entry names and
/// file names sane.
pub fn validate_name(name: &str) -> Result<String, String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !first_ok || !rest_ok {
        return Err(
            "invalid profile name: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit"
                .to_string(),
        );
    }
    if name.len() > 64 {
        return Err("a profile name has at most 64 characters".into());
    }
    Ok(name.to_string())
}

/// `TOK_<PROFILE>_<FIELD>`: profile upper-cased, `-` and `.` turned into `_`.
pub fn env_name(profile: &str, field: &str) -> String {
    let mut name = String::from("TOK_");
    for c in profile.chars().chain(std::iter::once('_')).chain(field.chars()) {
        name.push(match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        });
    }
    name
}
