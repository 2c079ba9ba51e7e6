//! Wall-clock timestamps as microseconds since the Unix epoch, formatted the way SpotDraft does
//! (RFC 3339, UTC, microseconds, `Z`), plus parsing for filters and `date` template fields.

use std::time::{SystemTime, UNIX_EPOCH};

pub const MICROS_PER_SECOND: i64 = 1_000_000;

pub fn now_micros() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// `2026-05-20T04:52:04.370635Z`
pub fn format_rfc3339(micros: i64) -> String {
    let seconds = micros.div_euclid(MICROS_PER_SECOND);
    let fraction = micros.rem_euclid(MICROS_PER_SECOND);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:06}Z",
        second_of_day / 3600,
        (second_of_day / 60) % 60,
        second_of_day % 60
    )
}

fn parse_digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses a strict `YYYY-MM-DD` calendar date into days since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let year = parse_digits(text.get(0..4)?)?;
    let month = parse_digits(text.get(5..7)?)?;
    let day = parse_digits(text.get(8..10)?)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Parses an ISO 8601 date-time (`YYYY-MM-DDTHH:MM[:SS[.ffffff]]` with `Z` or `±HH:MM`, or a
/// bare date meaning midnight UTC) into microseconds since the epoch.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.len() == 10 {
        return parse_date(text).map(|days| days * 86_400 * MICROS_PER_SECOND);
    }
    let days = parse_date(text.get(0..10)?)?;
    let separator = text.as_bytes().get(10)?;
    if *separator != b'T' && *separator != b't' && *separator != b' ' {
        return None;
    }
    let rest = text.get(11..)?;
    let (clock, offset_seconds) = if let Some(stripped) = rest.strip_suffix(['Z', 'z']) {
        (stripped, 0)
    } else if rest.len() > 6 && matches!(rest.as_bytes().get(rest.len() - 6), Some(b'+' | b'-')) {
        let (clock, offset) = rest.split_at(rest.len() - 6);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let hours = parse_digits(offset.get(1..3)?)?;
        let minutes = parse_digits(offset.get(4..6)?)?;
        (clock, sign * (hours * 3600 + minutes * 60))
    } else {
        (rest, 0)
    };
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (clock, None),
    };
    let mut parts = hms.split(':');
    let hour = parse_digits(parts.next()?)?;
    let minute = parse_digits(parts.next()?)?;
    let second = match parts.next() {
        Some(part) => parse_digits(part)?,
        None => 0,
    };
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let micros_fraction = match fraction {
        Some(digits) => {
            let digits: String = digits.chars().take(6).collect();
            let value = parse_digits(&digits)?;
            value * 10_i64.pow(6 - u32::try_from(digits.len()).ok()?)
        }
        None => 0,
    };
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * MICROS_PER_SECOND + micros_fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_timestamps() {
        let micros = parse_datetime("2021-08-22T03:48:52.370635Z").unwrap();
        assert_eq!(format_rfc3339(micros), "2021-08-22T03:48:52.370635Z");
        assert_eq!(parse_datetime("2021-08-22T05:48:52.370635+02:00"), Some(micros));
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(parse_date("2026-02-29").is_none());
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("2026-13-01").is_none());
        assert!(parse_date("26-01-01").is_none());
        assert!(parse_datetime("yesterday").is_none());
    }
}
