//! ISO-8601 dates and datetimes written as text: recognising them (for
//! inference) and converting them exactly (for readers that leave them as
//! text, such as NDJSON's). One grammar serves both, so a value inference
//! accepted always converts.

use polars::prelude::*;

/// A date or an instant parsed from ISO-8601 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsoValue {
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00; `zoned` when the text named an
    /// offset (then the instant is in UTC).
    Datetime { micros: i64, zoned: bool },
}

impl IsoValue {
    /// The dtype a column of such values reads as.
    pub fn dtype(self) -> DataType {
        match self {
            IsoValue::Date(_) => DataType::Date,
            IsoValue::Datetime { zoned: false, .. } => {
                DataType::Datetime(TimeUnit::Microseconds, None)
            }
            // An instant: read in UTC, as polars and DuckDB read offsets.
            IsoValue::Datetime { zoned: true, .. } => {
                DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
            }
        }
    }
}

/// `2014-05-13` (a date); `2014-05-13T23:58`, `2014-05-13 23:58:30.457`
/// (datetimes, `T` or a space, seconds and up to nine fraction digits
/// optional), each optionally followed by a zone: `Z`, `+02:00`, `-0530`
/// or `+02`. Anything else, or a day that does not exist, is `None`.
pub fn parse_iso(value: &str) -> Option<IsoValue> {
    let b = value.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        d.iter().all(u8::is_ascii_digit).then(|| {
            d.iter()
                .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'))
        })
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if b.len() == 10 {
        return Some(IsoValue::Date(days as i32));
    }
    if !matches!(b[10], b'T' | b' ') || b.get(13) != Some(&b':') {
        return None;
    }
    let (hour, minute) = (num(11..13)?, num(14..16)?);
    if hour > 23 || minute > 59 {
        return None;
    }
    let mut micros = (days * 86_400 + hour * 3_600 + minute * 60) * 1_000_000;
    let mut rest = &b[16..];
    if let [b':', ..] = rest {
        let second = num(17..19)?;
        if second > 60 {
            return None;
        }
        micros += second * 1_000_000;
        rest = &b[19..];
        if let [b'.', tail @ ..] = rest {
            let digits = tail.iter().take_while(|d| d.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            // Microseconds: the first six digits, the rest truncated.
            let mut frac = 0i64;
            for i in 0..6 {
                frac = frac * 10
                    + tail
                        .get(i)
                        .filter(|_| i < digits)
                        .map_or(0, |c| i64::from(c - b'0'));
            }
            micros += frac;
            rest = &tail[digits..];
        }
    }
    let offset_minutes = time_zone(rest)?;
    Some(IsoValue::Datetime {
        micros: micros - offset_minutes.unwrap_or(0) * 60_000_000,
        zoned: offset_minutes.is_some(),
    })
}

/// The dtype an ISO-8601 value reads as (see [`parse_iso`]).
pub fn iso_dtype(value: &str) -> Option<DataType> {
    parse_iso(value).map(IsoValue::dtype)
}

/// Convert ISO-8601 text to `target` (a date or microsecond datetime).
/// `Err(row)`: the first non-null value that is not such a value.
pub fn convert_iso(text: &StringChunked, target: &DataType) -> Result<Series, usize> {
    let name = text.name().clone();
    match target {
        DataType::Date => {
            let mut out = Vec::with_capacity(text.len());
            for (row, v) in text.iter().enumerate() {
                out.push(match v.map(parse_iso) {
                    None => None,
                    Some(Some(IsoValue::Date(d))) => Some(d),
                    Some(_) => return Err(row),
                });
            }
            let days: Int32Chunked = out.into_iter().collect();
            Ok(days.with_name(name).into_date().into_series())
        }
        DataType::Datetime(TimeUnit::Microseconds, zone) => {
            let mut out = Vec::with_capacity(text.len());
            for (row, v) in text.iter().enumerate() {
                out.push(match v.map(parse_iso) {
                    None => None,
                    Some(Some(IsoValue::Datetime { micros, zoned })) if zoned == zone.is_some() => {
                        Some(micros)
                    }
                    Some(_) => return Err(row),
                });
            }
            let micros: Int64Chunked = out.into_iter().collect();
            Ok(micros
                .with_name(name)
                .into_datetime(TimeUnit::Microseconds, zone.clone())
                .into_series())
        }
        _ => Err(0),
    }
}

/// Minutes east of UTC named after the clock (`Some(None)`: no zone;
/// `None`: not a zone).
fn time_zone(rest: &[u8]) -> Option<Option<i64>> {
    let two = |d: &[u8]| -> Option<i64> {
        (d.len() == 2 && d.iter().all(u8::is_ascii_digit))
            .then(|| i64::from(d[0] - b'0') * 10 + i64::from(d[1] - b'0'))
    };
    let (sign, tail) = match rest {
        [] => return Some(None),
        [b'Z'] => return Some(Some(0)),
        [b'+', tail @ ..] => (1, tail),
        [b'-', tail @ ..] => (-1, tail),
        _ => return None,
    };
    let (hours, minutes) = match tail {
        [h1, h2] => (two(&[*h1, *h2])?, 0),
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (two(&[*h1, *h2])?, two(&[*m1, *m2])?),
        _ => return None,
    };
    (hours <= 23 && minutes <= 59).then_some(Some(sign * (hours * 60 + minutes)))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_values_convert_to_the_instant_they_name() {
        assert_eq!(parse_iso("1970-01-01"), Some(IsoValue::Date(0)));
        assert_eq!(parse_iso("2000-03-01"), Some(IsoValue::Date(11_017)));
        assert_eq!(parse_iso("1969-12-31"), Some(IsoValue::Date(-1)));
        let dt = |micros, zoned| Some(IsoValue::Datetime { micros, zoned });
        assert_eq!(parse_iso("1970-01-01T00:00:01.5"), dt(1_500_000, false));
        assert_eq!(parse_iso("1970-01-01 01:00+01:00"), dt(0, true));
        assert_eq!(parse_iso("1970-01-01T00:00:00Z"), dt(0, true));
        assert_eq!(parse_iso("1970-01-01T00:00:00.000001999-0000"), dt(1, true));
        for bad in [
            "2014-02-30",
            "2014-13-01",
            "2014-05-13T24:00",
            "2014-05-13T23:58:30+2",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }
}
