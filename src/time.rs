//! Calendar dates and UTC timestamps without a date-time dependency.
//!
//! SpotDraft speaks `YYYY-MM-DD` for dates and ISO 8601 UTC for datetimes (often with microseconds);
//! CRMs add epoch milliseconds (HubSpot). Everything is normalised to microseconds since the Unix epoch
//! so activity timestamps compare exactly, which the monotonic status sync relies on.

/// Microseconds since 1970-01-01T00:00:00Z.
pub type EpochMicros = i64;

/// A valid proleptic Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let valid =
            (1..=9999).contains(&year) && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 {
            return None;
        }
        Date::from_bytes(bytes)
    }

    /// `YYYY-MM-DD` at the start of `bytes`.
    fn from_bytes(bytes: &[u8]) -> Option<Date> {
        if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return None;
        }
        let year = i32::try_from(number(bytes, 0, 4)?).ok()?;
        Date::new(year, number(bytes, 5, 7)?, number(bytes, 8, 10)?)
    }

    pub fn from_epoch_days(days: i64) -> Option<Date> {
        // Howard Hinnant's civil_from_days, valid for the whole i64 range we accept.
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(i32::try_from(year).ok()?, month, day)
    }

    pub fn epoch_days(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let month = i64::from(self.month);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The number the ASCII digits `bytes[from..to]` spell (fields of at most 6 digits here).
fn number(bytes: &[u8], from: usize, to: usize) -> Option<u32> {
    crate::decimal::parse_digits(bytes.get(from..to)?).and_then(|value| u32::try_from(value).ok())
}

/// Parses an RFC 3339 / ISO 8601 timestamp with a time zone (`Z` or `±HH:MM`), any number of
/// fractional digits (kept to microseconds), into UTC microseconds.
pub fn parse_timestamp(text: &str) -> Option<EpochMicros> {
    let bytes = text.as_bytes();
    let date = Date::from_bytes(bytes)?;
    // `T` (or `t`, or a space) and `HH:MM:SS`.
    if !matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        || bytes.get(13) != Some(&b':')
        || bytes.get(16) != Some(&b':')
    {
        return None;
    }
    let hour = number(bytes, 11, 13)?;
    let minute = number(bytes, 14, 16)?;
    let second = number(bytes, 17, 19)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut at = 19;
    let mut micros: i64 = 0;
    if bytes.get(at) == Some(&b'.') {
        let len = bytes.get(at + 1..)?.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        // Kept to microseconds: the first six digits at most.
        let kept = len.min(6);
        micros = i64::from(number(bytes, at + 1, at + 1 + kept)?) * 10_i64.pow(6 - kept as u32);
        at += 1 + len;
    }
    let offset_seconds: i64 = match bytes.get(at..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let oh = i64::from(number(bytes, at + 1, at + 3)?);
            let om = i64::from(number(bytes, at + 4, at + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let sign = if *sign == b'+' { 1 } else { -1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let seconds =
        date.epoch_days() * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second.min(59))
            - offset_seconds;
    Some(seconds * 1_000_000 + micros)
}

/// Formats UTC microseconds as `YYYY-MM-DDTHH:MM:SS(.ffffff)Z`; fractions only when non-zero.
pub fn format_timestamp(micros: EpochMicros) -> Option<String> {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let date = Date::from_epoch_days(seconds.div_euclid(86_400))?;
    let of_day = seconds.rem_euclid(86_400);
    let clock = format!("{:02}:{:02}:{:02}", of_day / 3600, of_day % 3600 / 60, of_day % 60);
    Some(if fraction == 0 { format!("{date}T{clock}Z") } else { format!("{date}T{clock}.{fraction:06}Z") })
}

/// The UTC calendar date of a timestamp.
pub fn date_of(micros: EpochMicros) -> Option<Date> {
    Date::from_epoch_days(micros.div_euclid(86_400_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(Date::parse("2026-03-28"), Date::new(2026, 3, 28));
        assert_eq!(Date::parse("2024-02-29").map(|d| d.to_string()), Some("2024-02-29".into()));
        for bad in [
            "2025-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "2026-01-01T",
            "",
            "２０２６-01-01",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn epoch_days_round_trip() {
        for days in [-719_162_i64, -1, 0, 1, 19_000, 20_540, 2_932_896] {
            let date = Date::from_epoch_days(days).unwrap();
            assert_eq!(date.epoch_days(), days);
        }
        assert_eq!(Date::from_epoch_days(0).unwrap().to_string(), "1970-01-01");
    }

    #[test]
    fn timestamps_normalise_to_utc_micros() {
        let plain = parse_timestamp("2021-08-22T03:53:52Z").unwrap();
        assert_eq!(parse_timestamp("2021-08-22T03:53:52.201442Z").unwrap() - plain, 201_442);
        assert_eq!(parse_timestamp("2021-08-22T05:53:52+02:00").unwrap(), plain);
        assert_eq!(parse_timestamp("2021-08-22T03:53:52.5Z").unwrap() - plain, 500_000);
        assert_eq!(parse_timestamp("2021-08-22T03:53:52.123456789Z").unwrap() - plain, 123_456);
        assert_eq!(parse_timestamp("2021-08-22t03:53:52z"), Some(plain));
        assert_eq!(parse_timestamp("2021-08-22 02:23:52-01:30"), Some(plain));
        assert_eq!(parse_timestamp("2021-08-22T03:53:52.0000001234567890123Z"), Some(plain));
        assert_eq!(parse_timestamp("2021-08-22T03:53:60Z").unwrap() - plain, 7_000_000);
        assert_eq!(format_timestamp(plain).unwrap(), "2021-08-22T03:53:52Z");
        assert_eq!(format_timestamp(plain + 201_442).unwrap(), "2021-08-22T03:53:52.201442Z");
        for bad in [
            "2021-08-22",
            "2021-08-22T03:53Z",
            "2021-08-22T25:00:00Z",
            "2021-08-22T03:53:52",
            "2021-08-22T03:53:52.Z",
            "2021-08-22T03:53:52+0200",
            "2021-08-22T03:53:52+02:00Z",
            "2021-08-22T03:53:52+2:000",
            "2021-08-22T03:53:52+24:00",
            "2021-08-22T03:5３:52Z",
            "2021-08-22T03:53:52.1٢Z",
            "2021-08-22X03:53:52Z",
            "2021-08-22T03:53:52Zjunk",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
