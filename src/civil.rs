//! UTC calendar times as tok shows and reads them: RFC 3339 (`2026-01-31T12:00:00Z`) for
//! people and `--exp`, and HTTP's `Date` header (IMF-fixdate, RFC 9110 §5.6.7) for the
//! clock-skew note.
//!
//! tok needs no time zones and no calendar arithmetic beyond days since 1970, which is a
//! few lines (Howard Hinnant's `days_from_civil` and its inverse, exact over the
//! proleptic Gregorian calendar). A date library for this was 80 KB of a binary that has
//! a size goal (BENCHMARKS.md). Years are 0000-9999, as four digits write them.

const SECS_PER_DAY: i64 = 86_400;
/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const FIRST: i64 = -62_167_219_200;
const LAST: i64 = 253_402_300_799;
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Days since 1970-01-01 of a date (month 1-12, day 1-31).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date (year, month 1-12, day 1-31) of a day since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Seconds since 1970 of a UTC date and time, checked; `None` for a date that is not one.
/// A leap second (`:60`, which both formats may write) counts as the second before it, as
/// a Unix clock does.
fn seconds_of(date: (i64, i64, i64), time: (i64, i64, i64)) -> Option<i64> {
    let ((year, month, day), (hour, minute, second)) = (date, time);
    let valid = (0..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=60).contains(&second);
    let second = second.min(59);
    valid.then(|| days_from_civil(year, month, day) * SECS_PER_DAY + hour * 3600 + minute * 60 + second)
}

/// `secs` since 1970, and `micros` into that second, as RFC 3339 UTC: the fraction only
/// when there is one, without trailing zeros. `None` outside the years 0000-9999.
pub fn rfc3339(secs: i64, micros: u32) -> Option<String> {
    if !(FIRST..=LAST).contains(&secs) || micros >= 1_000_000 {
        return None;
    }
    let (year, month, day) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    let in_day = secs.rem_euclid(SECS_PER_DAY);
    let (hour, minute, second) = (in_day / 3600, in_day % 3600 / 60, in_day % 60);
    let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if micros > 0 {
        let fraction = format!("{micros:06}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    Some(text)
}

/// Today's date in UTC, `2026-01-31`.
pub fn utc_day(secs: i64) -> String {
    let (year, month, day) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
    format!("{year:04}-{month:02}-{day:02}")
}

/// Digits only, exactly `text`'s length: no sign, no spaces.
fn number(text: &str) -> Option<i64> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

/// An RFC 3339 date-time (§5.6: `2026-01-31T12:00:00Z`, `T` or a space, an optional
/// fraction, `Z` or an offset) as seconds since 1970, the fraction cut off. As ISO 8601
/// allows, and as tok read them before, the seconds may be left out (`12:00Z`) and an
/// offset written `+01` or `+0100`.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    // ASCII only, so every slice below is on a character boundary.
    if !text.is_ascii() || text.len() < 17 {
        return None;
    }
    let (date, rest) = text.split_at(10);
    if &date[4..5] != "-" || &date[7..8] != "-" || !matches!(rest.as_bytes()[0], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (number(&date[..4])?, number(&date[5..7])?, number(&date[8..10])?);
    let rest = &rest[1..];
    if &rest[2..3] != ":" {
        return None;
    }
    let (hour, minute) = (number(&rest[..2])?, number(&rest[3..5])?);
    let mut zone = &rest[5..];
    let mut second = 0;
    if let Some(after) = zone.strip_prefix(':') {
        second = number(after.get(..2)?)?;
        zone = &after[2..];
        if let Some(fraction) = zone.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            zone = &fraction[digits..];
        }
    }
    let offset = match zone.as_bytes().first()? {
        b'Z' | b'z' if zone.len() == 1 => 0,
        sign @ (b'+' | b'-') => {
            let (hours, minutes) = match zone.len() {
                3 => (&zone[1..3], "00"),
                5 => (&zone[1..3], &zone[3..5]),
                6 if &zone[3..4] == ":" => (&zone[1..3], &zone[4..6]),
                _ => return None,
            };
            let (hours, minutes) = (number(hours)?, number(minutes)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            (hours * 3600 + minutes * 60) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    // An offset may not carry the time out of the years 0000-9999 either.
    let utc = seconds_of((year, month, day), (hour, minute, second))? - offset;
    (FIRST..=LAST).contains(&utc).then_some(utc)
}

/// An HTTP date (RFC 9110 §5.6.7) as seconds since 1970, in each of the three forms a
/// recipient must read: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, also without its
/// day's name), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6
/// 08:49:37 1994`). Read generously, as a skew note can afford: names in any case, a
/// one-digit day, any of the zones that name UTC (`GMT`, `UTC`, `UT`, `Z`, `+0000`). An
/// RFC 850 two-digit year more than 50 years after `now`'s is in the century before.
pub fn parse_http_date(text: &str, now: i64) -> Option<i64> {
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    let utc =
        |zone: &str| ["GMT", "UTC", "UT", "Z", "+0000", "-0000"].iter().any(|z| zone.eq_ignore_ascii_case(z));
    let alphabetic = |word: &str| !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphabetic());
    let named = |word: &str| word.strip_suffix(',').is_some_and(alphabetic);
    let (day, month, year, time) = match words.as_slice() {
        [name, day, month, year, time, zone] if named(name) && utc(zone) && year.len() == 4 => {
            (*day, *month, number(year)?, *time)
        }
        [day, month, year, time, zone] if utc(zone) && year.len() == 4 => {
            (*day, *month, number(year)?, *time)
        }
        [name, date, time, zone] if named(name) && utc(zone) => {
            let mut parts = date.split('-');
            let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            let year = match year.len() {
                2 => {
                    let this = civil_from_days(now.div_euclid(SECS_PER_DAY)).0;
                    let year = this - this.rem_euclid(100) + number(year)?;
                    if year > this + 50 { year - 100 } else { year }
                }
                4 => number(year)?,
                _ => return None,
            };
            (day, month, year, *time)
        }
        [name, month, day, time, year] if alphabetic(name) && year.len() == 4 => {
            (*day, *month, number(year)?, *time)
        }
        _ => return None,
    };
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as i64 + 1;
    if !(1..=2).contains(&day.len()) {
        return None;
    }
    let mut clock = time.split(':');
    let (hour, minute, second) = (clock.next()?, clock.next()?, clock.next()?);
    if clock.next().is_some() || [hour, minute, second].iter().any(|part| part.len() != 2) {
        return None;
    }
    seconds_of((year, month, number(day)?), (number(hour)?, number(minute)?, number(second)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        // Every day from 0000-01-01 to 9999-12-31 maps to its date and back, one after another.
        let (first, last) = (days_from_civil(0, 1, 1), days_from_civil(9999, 12, 31));
        let mut expect = (0, 1, 1);
        for days in first..=last {
            let date = civil_from_days(days);
            assert_eq!(date, expect, "{days}");
            assert_eq!(days_from_civil(date.0, date.1, date.2), days);
            expect = if date.2 < days_in_month(date.0, date.1) {
                (date.0, date.1, date.2 + 1)
            } else if date.1 < 12 {
                (date.0, date.1 + 1, 1)
            } else {
                (date.0 + 1, 1, 1)
            };
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn rfc3339_table() {
        let table = [
            (0, 0, Some("1970-01-01T00:00:00Z")),
            (1_700_000_000, 0, Some("2023-11-14T22:13:20Z")),
            (1_682_427_186, 383_485, Some("2023-04-25T12:53:06.383485Z")),
            (1_682_427_186, 500_000, Some("2023-04-25T12:53:06.5Z")),
            (951_782_400, 0, Some("2000-02-29T00:00:00Z")),
            (-1, 0, Some("1969-12-31T23:59:59Z")),
            (-62_167_219_200, 0, Some("0000-01-01T00:00:00Z")),
            (-62_167_219_201, 0, None),
            (253_402_300_799, 999_999, Some("9999-12-31T23:59:59.999999Z")),
            (253_402_300_800, 0, None),
            (0, 1_000_000, None),
        ];
        for (secs, micros, want) in table {
            assert_eq!(rfc3339(secs, micros).as_deref(), want, "{secs} {micros}");
        }
        assert_eq!(utc_day(1_700_000_000), "2023-11-14");
        assert_eq!(utc_day(-1), "1969-12-31");
    }

    #[test]
    fn parse_rfc3339_table() {
        let table = [
            ("2023-11-14T22:13:20Z", Some(1_700_000_000)),
            ("2023-11-14t22:13:20z", Some(1_700_000_000)),
            ("2023-11-14 22:13:20Z", Some(1_700_000_000)),
            ("2023-11-14T23:13:20+01:00", Some(1_700_000_000)),
            ("2023-11-14T17:43:20-04:30", Some(1_700_000_000)),
            ("2023-11-14T22:13:20.999Z", Some(1_700_000_000)),
            ("2016-12-31T23:59:60Z", Some(1_483_228_799)),
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2000-02-29T00:00:00Z", Some(951_782_400)),
            ("1900-02-29T00:00:00Z", None),
            ("2023-02-30T00:00:00Z", None),
            ("2023-13-01T00:00:00Z", None),
            ("2023-11-14T24:00:00Z", None),
            ("2023-11-14T22:60:00Z", None),
            ("2023-11-14T22:13:61Z", None),
            ("2023-11-14T22:13:20", None),
            ("2023-11-14T22:13:20.Z", None),
            ("2023-11-14T23:13:20+01", Some(1_700_000_000)),
            ("2023-11-14T23:13:20+0100", Some(1_700_000_000)),
            ("2023-11-14T22:13Z", Some(1_699_999_980)),
            ("2023-11-14T23:13+01:00", Some(1_699_999_980)),
            ("2023-11-14T22:13:20+24:00", None),
            ("9999-12-31T23:59:59-00:01", None),
            ("0000-01-01T00:00:00+00:01", None),
            ("9999-12-31T23:59:59+00:01", Some(LAST - 60)),
            ("2023-11-14T22:13:20+1:00", None),
            ("2023-11-14T22:13:20+01:0", None),
            ("2023-11-14T22:13:20+01:000", None),
            ("2023-11-14T22:13:20Zz", None),
            ("2023-11-14T22:13.5Z", None),
            ("2023-11-14T22:13:2Z", None),
            ("2023-11-14T2:13:20Z", None),
            ("2023-11-14T22-13-20Z", None),
            ("2023-11-14", None),
            ("+2023-11-14T22:13:20Z", None),
            ("2023-1-14T22:13:20Z", None),
            ("２023-11-14T22:13:20Z", None),
            ("2023-11-14T22:13:20Z ", None),
            ("tomorrow", None),
            ("", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_rfc3339(text), want, "{text}");
        }
    }

    #[test]
    fn reads_what_it_read_before_and_never_panics() {
        // jiff, tok's reader of --exp before this module (a dev-dependency now), as the
        // oracle: every text this reads, jiff read the same; and every mutation of a few
        // valid ones (cut short, a byte changed) is read alike or refused, without a panic.
        let seeds = [
            "2023-11-14T22:13:20.123+01:00",
            "2023-11-14 22:13Z",
            "1999-12-31t23:59:59-0530",
            "2000-02-29T00:00:00+05",
        ];
        let bytes = b"0123456789-+:.TtZz ,xWe\xff";
        let mut texts: Vec<String> = Vec::new();
        for seed in seeds {
            for cut in 0..=seed.len() {
                texts.push(seed[..cut].to_string());
            }
            for at in 0..seed.len() {
                for b in bytes {
                    let mut text = seed.as_bytes().to_vec();
                    text[at] = *b;
                    texts.push(String::from_utf8_lossy(&text).into_owned());
                }
            }
        }
        let mut read = 0;
        for text in &texts {
            let Some(ours) = parse_rfc3339(text) else { continue };
            let theirs = text.parse::<jiff::Timestamp>().map(|t| t.as_second());
            // The one difference, on purpose: before 1970 a fraction is cut to the second
            // it is written in, where jiff cut it towards 1970.
            let ours = if ours < 0 && text.contains('.') { ours + 1 } else { ours };
            assert_eq!(Ok(ours), theirs.map_err(|_| ()), "{text:?}");
            read += 1;
        }
        assert!(read > 100, "{read}");
        for seed in seeds {
            assert_eq!(
                parse_rfc3339(seed),
                seed.parse::<jiff::Timestamp>().ok().map(|t| t.as_second()),
                "{seed}"
            );
        }
    }

    #[test]
    fn parse_http_date_table() {
        let now = 1_700_000_000; // in 2023
        let table = [
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            ("06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            (" Tue, 14 Nov 2023 22:13:20 GMT ", Some(1_700_000_000)),
            ("Sunday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("Sunday, 06-Nov-1994 08:49:37 GMT", Some(784_111_777)),
            ("Sun Nov  6 08:49:37 1994", Some(784_111_777)),
            ("Sun Nov 06 08:49:37 1994", Some(784_111_777)),
            ("sun, 06 nov 1994 08:49:37 gmt", Some(784_111_777)),
            ("Sun, 6 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            ("Sun, 06 Nov 1994 08:49:37 +0000", Some(784_111_777)),
            ("Sun, 06 Nov 1994 08:49:37 UT", Some(784_111_777)),
            ("Sun, 06 Nov 1994 08:49:37 UTC", Some(784_111_777)),
            ("Sat, 31 Dec 2016 23:59:60 GMT", Some(1_483_228_799)),
            // Two-digit years: more than 50 years ahead of 2023 is the century before.
            ("Tuesday, 14-Nov-73 22:13:20 GMT", Some(3_277_923_200)),
            ("Thursday, 14-Nov-74 22:13:20 GMT", Some(153_699_200)),
            ("Sun, 06 Nov 1994 08:49:37 EST", None),
            ("Sun, 06 Nov 94 08:49:37 GMT", None),
            ("Sun, 31 Nov 1994 08:49:37 GMT", None),
            ("Sun, 06 Nov 1994 08:49 GMT", None),
            ("Sun, 06 Nov 1994 8:49:37 GMT", None),
            ("Sun, 06 Xyz 1994 08:49:37 GMT", None),
            ("Sun, 006 Nov 1994 08:49:37 GMT", None),
            ("Sunday, 06-Nov-994 08:49:37 GMT", None),
            ("Sunday, 06-Nov-94-1 08:49:37 GMT", None),
            ("Sun Nov  6 08:49:37 94", None),
            ("Sun, 99 Nov 9999 99:99:99 GMT", None),
            ("Sün, 06 Nov 1994 08:49:37 GMT", None),
            ("Sun, 06 Nov 1994 08:49:37 GMT extra", None),
            ("", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_http_date(text, now), want, "{text:?}");
        }
    }
}
