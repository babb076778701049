//! Durations as people type them (`90s`, `5m`, `1h30m`, `300ms`, a bare number of
//! seconds) and as tok shows them (`9h59m`, `54m`, `30s`).

use std::time::Duration;

/// Parses `1h30m`, `90s`, `5m`, `2d`, `250ms` or a bare number of seconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = text.parse::<u64>() {
        if u128::from(secs) * 1000 > MAX_MILLIS {
            return Err("too large (at most 100 years)".to_string());
        }
        return Ok(Duration::from_secs(secs));
    }
    let bad = || "not a duration (examples: 90s, 5m, 1h30m)".to_string();
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let number: u128 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let millis_per_unit: u128 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(millis_per_unit)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(|| "too large (at most 100 years)".to_string())?;
    }
    if total > MAX_MILLIS {
        return Err("too large (at most 100 years)".to_string());
    }
    Ok(Duration::from_millis(total as u64))
}

/// Longer than anything tok waits for or signs; keeps clock arithmetic from overflowing.
const MAX_MILLIS: u128 = 100 * 365 * 86_400_000;

/// A limit on waiting (`--timeout`, `TOK_KEYRING_TIMEOUT`): more than zero, at most an hour.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d = parse(text)?;
    if d.is_zero() {
        return Err("no time at all; give a limit such as 30s".to_string());
    }
    if d > Duration::from_secs(3_600) {
        return Err("over an hour; a limit that long is no limit".to_string());
    }
    Ok(d)
}

/// A token lifetime (`--ttl`): at least a second.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let d = parse(text)?;
    if d < Duration::from_secs(1) {
        return Err("a token that short is born expired; give at least 1s".to_string());
    }
    Ok(d)
}

/// A duration for messages: in milliseconds below a second or with a fraction under a
/// minute (`250ms`, `1500ms`), else as `human`.
pub fn show(d: Duration) -> String {
    if d < Duration::from_secs(1) || (d < Duration::from_secs(60) && d.subsec_millis() != 0) {
        format!("{}ms", d.as_millis())
    } else {
        human(d.as_secs() as i64)
    }
}

/// Whole seconds as the two largest units: `2d3h`, `9h59m`, `54m`, `1m30s`, `30s`.
pub fn human(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, name) in units {
        if rest >= size {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            // Keep the units adjacent: `1h` then `0m` is dropped, never `1h5s`.
            break;
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() { "0s".into() } else { parts.concat() }
}

/// "in 9m", "expired 2h ago", "expires now".
pub fn relative(remaining: i64) -> String {
    match remaining {
        0 => "expires now".into(),
        r if r > 0 => format!("in {}", human(r)),
        r => format!("expired {} ago", human(r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let ok = [
            ("90", 90_000),
            ("90s", 90_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("2d", 172_800_000),
            ("250ms", 250),
            ("1m30s", 90_000),
            (" 30s ", 30_000),
            ("0", 0),
        ];
        for (text, millis) in ok {
            assert_eq!(parse(text), Ok(Duration::from_millis(millis)), "{text}");
        }
        for bad in [
            "",
            "s",
            "5x",
            "-5s",
            "1.5h",
            "h1",
            "5 m",
            "99999999999999999999999d",
            "18446744073709551615",
            "36501d",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(parse_timeout("0").is_err() && parse_timeout("2h").is_err() && parse_timeout("1ms").is_ok());
        assert!(parse_ttl("0").is_err() && parse_ttl("999ms").is_err() && parse_ttl("1s").is_ok());
        assert_eq!(show(Duration::from_millis(250)), "250ms");
        assert_eq!(show(Duration::from_millis(90_500)), "1m30s");
    }

    #[test]
    fn human_table() {
        let table = [
            (0, "0s"),
            (30, "30s"),
            (90, "1m30s"),
            (3_240, "54m"),
            (3_600, "1h"),
            (3_605, "1h"),
            (35_940, "9h59m"),
            (36_000, "10h"),
            (183_600, "2d3h"),
            (-7_200, "2h"),
        ];
        for (secs, text) in table {
            assert_eq!(human(secs), text, "{secs}");
        }
        assert_eq!(relative(540), "in 9m");
        assert_eq!(relative(-7_200), "expired 2h ago");
    }
}
