//! The one parser for every datetime and date a client sends (query or body), and the one
//! formatter for every timestamp Latchkey writes and returns.
//!
//! Accepted, as the contract's Conventions list them: RFC 3339 and the ISO 8601 forms clients
//! really send. A date `YYYY-MM-DD`; optionally a time `HH:MM[:SS[.fraction]]` after `T`, `t` or a
//! space, with 0 to 9 fractional digits; optionally an offset `Z`, `+HH:MM`, `+HHMM` or `+HH`
//! (no offset means UTC). A `+` that arrived unencoded in a query string reads as a space and is
//! repaired. Years outside 1970..=9999 (after conversion to UTC) are refused, so every date
//! computation on a parsed value stays far from chrono's limits.
//!
//! Written out: RFC 3339 in UTC with milliseconds (`2026-11-22T10:00:00.123Z`), so two writes in
//! one second still order. Values stored at whole seconds before that still read, since both are
//! RFC 3339.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// The earliest year a client may name.
pub const MIN_YEAR: i32 = 1970;
/// The latest year a client may name.
pub const MAX_YEAR: i32 = 9999;

/// Why a client's timestamp was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not a date or datetime in any accepted form.
    #[error(
        "must be a date (YYYY-MM-DD) or an ISO 8601 / RFC 3339 timestamp, e.g. 2026-12-31T00:00:00Z"
    )]
    Malformed,
    /// A well-formed value outside the years Latchkey accepts.
    #[error("must fall within the years 1970 to 9999")]
    OutOfRange,
}

/// Formats `at` the contract's way: RFC 3339, UTC, milliseconds, `Z`.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Every form in which `at` may be stored: [`format`]'s, and the whole-second form written
/// before timestamps had milliseconds (the same string when `at` has a fraction). Conditions
/// that compare a stored timestamp with a value match either.
pub fn stored_forms(at: DateTime<Utc>) -> [String; 2] {
    let legacy = if at.timestamp_subsec_nanos() == 0 {
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    } else {
        format(at)
    };
    [format(at), legacy]
}

/// Formats a day as `YYYY-MM-DD`.
pub fn format_date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// A datetime; a bare date means its UTC midnight.
pub fn parse_datetime(raw: &str) -> Result<DateTime<Utc>, TimestampError> {
    let parsed = Parsed::read(raw.trim())?;
    let at = match parsed.time {
        Some(time) => {
            let local = NaiveDateTime::new(parsed.date, time);
            let offset =
                FixedOffset::east_opt(parsed.offset_seconds).ok_or(TimestampError::Malformed)?;
            offset
                .from_local_datetime(&local)
                .single()
                .ok_or(TimestampError::Malformed)?
                .with_timezone(&Utc)
        }
        None => parsed.date.and_time(NaiveTime::MIN).and_utc(),
    };
    in_years(at.year())?;
    Ok(at)
}

/// A date; a datetime means its UTC date.
pub fn parse_date(raw: &str) -> Result<NaiveDate, TimestampError> {
    parse_datetime(raw).map(|at| at.date_naive())
}

/// Whether a date names only a day (no time part), so a range's end can take the whole day.
pub fn is_date_only(raw: &str) -> bool {
    Parsed::read(raw.trim()).is_ok_and(|p| p.time.is_none())
}

fn in_years(year: i32) -> Result<(), TimestampError> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(TimestampError::OutOfRange)
    }
}

/// The fields of an accepted value, before it is placed in time.
struct Parsed {
    date: NaiveDate,
    time: Option<NaiveTime>,
    offset_seconds: i32,
}

/// A cursor over the bytes of a candidate value.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        self.at += usize::from(hit);
        hit
    }

    fn expect(&mut self, byte: u8) -> Result<(), TimestampError> {
        self.eat(byte)
            .then_some(())
            .ok_or(TimestampError::Malformed)
    }

    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Result<u32, TimestampError> {
        let end = self.at + n;
        let run = self
            .bytes
            .get(self.at..end)
            .ok_or(TimestampError::Malformed)?;
        if !run.iter().all(u8::is_ascii_digit) {
            return Err(TimestampError::Malformed);
        }
        self.at = end;
        Ok(run.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    }
}

impl Parsed {
    fn read(text: &str) -> Result<Self, TimestampError> {
        let mut c = Cursor {
            bytes: text.as_bytes(),
            at: 0,
        };
        let year = c.digits(4)?;
        c.expect(b'-')?;
        let month = c.digits(2)?;
        c.expect(b'-')?;
        let day = c.digits(2)?;
        in_years(year as i32)?;
        let date =
            NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(TimestampError::Malformed)?;
        if c.done() {
            return Ok(Self {
                date,
                time: None,
                offset_seconds: 0,
            });
        }
        if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
            return Err(TimestampError::Malformed);
        }
        let time = Self::time(&mut c)?;
        let offset_seconds = Self::offset(&mut c)?;
        if !c.done() {
            return Err(TimestampError::Malformed);
        }
        Ok(Self {
            date,
            time: Some(time),
            offset_seconds,
        })
    }

    fn time(c: &mut Cursor<'_>) -> Result<NaiveTime, TimestampError> {
        let hour = c.digits(2)?;
        c.expect(b':')?;
        let minute = c.digits(2)?;
        let mut second = 0;
        let mut nano = 0;
        if c.eat(b':') {
            second = c.digits(2)?;
            if c.eat(b'.') || c.eat(b',') {
                let start = c.at;
                while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                    c.at += 1;
                }
                let fraction = &c.bytes[start..c.at];
                if fraction.is_empty() || fraction.len() > 9 {
                    return Err(TimestampError::Malformed);
                }
                let scale = 10u32.pow(9 - fraction.len() as u32);
                nano = fraction
                    .iter()
                    .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
                    * scale;
            }
        }
        // A leap second (`:60`) is chrono's 59 s plus a second of nanoseconds.
        let (second, nano) = if second == 60 {
            (59, nano + 1_000_000_000)
        } else {
            (second, nano)
        };
        NaiveTime::from_hms_nano_opt(hour, minute, second, nano).ok_or(TimestampError::Malformed)
    }

    fn offset(c: &mut Cursor<'_>) -> Result<i32, TimestampError> {
        if c.done() {
            return Ok(0);
        }
        if c.eat(b'Z') || c.eat(b'z') {
            return Ok(0);
        }
        // A space stands where a `+` was before a query string decoded it.
        let sign = if c.eat(b'+') || c.eat(b' ') {
            1
        } else if c.eat(b'-') {
            -1
        } else {
            return Err(TimestampError::Malformed);
        };
        let hours = c.digits(2)?;
        let minutes = if c.done() {
            0
        } else {
            c.eat(b':');
            c.digits(2)?
        };
        if hours > 23 || minutes > 59 {
            return Err(TimestampError::Malformed);
        }
        Ok(sign * (hours * 3600 + minutes * 60) as i32)
    }
}

/// Serde helpers for contract timestamps.
pub mod serde_rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    /// Serializes a timestamp in the contract's format.
    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*at))
    }

    /// Reads a stored RFC 3339 timestamp (whole seconds or milliseconds).
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        <DateTime<Utc> as serde::Deserialize>::deserialize(d)
    }

    /// Serializes an optional timestamp in the contract's format.
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::Serializer;

        /// Reads an optional RFC 3339 timestamp.
        pub fn deserialize<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            <Option<DateTime<Utc>> as serde::Deserialize>::deserialize(d)
        }

        /// Serializes `None` as `null`.
        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => s.serialize_str(&super::super::format(*at)),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(raw: &str) -> String {
        format(parse_datetime(raw).unwrap())
    }

    #[test]
    fn every_listed_form_reads() {
        let cases = [
            ("2026-11-26T19:24:43Z", "2026-11-26T19:24:43.000Z"),
            (
                "2026-11-26T19:24:43.815670+0000",
                "2026-11-26T19:24:43.815Z",
            ),
            (
                "2026-11-26T19:24:43.000000+0000",
                "2026-11-26T19:24:43.000Z",
            ),
            ("2026-11-26T19:24:43.815670", "2026-11-26T19:24:43.815Z"),
            ("2026-11-26T19:24:43", "2026-11-26T19:24:43.000Z"),
            ("2026-11-26T21:24:43+02:00", "2026-11-26T19:24:43.000Z"),
            ("2026-11-26T21:24:43+02", "2026-11-26T19:24:43.000Z"),
            ("2026-11-26T21:24:43 02:00", "2026-11-26T19:24:43.000Z"),
            ("2026-11-26T17:24:43-0200", "2026-11-26T19:24:43.000Z"),
            ("2026-11-26t19:24:43.123456789z", "2026-11-26T19:24:43.123Z"),
            ("2026-11-26 19:24:43.1Z", "2026-11-26T19:24:43.100Z"),
            ("2026-11-26T19:24Z", "2026-11-26T19:24:00.000Z"),
            ("2026-11-26", "2026-11-26T00:00:00.000Z"),
            (" 2026-11-26T19:24:43Z ", "2026-11-26T19:24:43.000Z"),
        ];
        for (raw, want) in cases {
            assert_eq!(at(raw), want, "{raw}");
        }
        assert_eq!(
            parse_date("2026-11-26T23:30:00-02:00").unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
        );
    }

    #[test]
    fn everything_else_is_refused() {
        for raw in [
            "",
            "tomorrow",
            "+262142-12-31",
            "262142-12-31",
            "2026-13-01",
            "2026-02-30",
            "2026-11-26T25:00:00Z",
            "2026-11-26T19:24:43.Z",
            "2026-11-26T19:24:43.1234567890Z",
            "2026-11-26T19:24:43+24:00",
            "2026-11-26T19:24:43+2",
            "2026-11-26T19:24:43Zjunk",
            "2026-11-26X19:24:43Z",
            "２０２６-11-26",
        ] {
            assert!(parse_datetime(raw).is_err(), "{raw:?}");
        }
        assert_eq!(
            parse_datetime("1969-12-31T23:59:59Z"),
            Err(TimestampError::OutOfRange)
        );
        assert_eq!(
            parse_datetime("1970-01-01T00:30:00+01:00"),
            Err(TimestampError::OutOfRange)
        );
        assert_eq!(parse_date("10000-01-01"), Err(TimestampError::Malformed));
        assert!(parse_datetime("9999-12-31T23:59:59.999Z").is_ok());
    }

    #[test]
    fn whole_second_values_stored_earlier_still_read() {
        let old: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        assert_eq!(parse_datetime("2026-11-22T10:00:00Z").unwrap(), old);
        assert_eq!(format(old), "2026-11-22T10:00:00.000Z");
        assert_eq!(
            stored_forms(old),
            ["2026-11-22T10:00:00.000Z", "2026-11-22T10:00:00Z"]
        );
        let fine = parse_datetime("2026-11-22T10:00:00.250Z").unwrap();
        assert_eq!(
            stored_forms(fine),
            ["2026-11-22T10:00:00.250Z", "2026-11-22T10:00:00.250Z"]
        );
    }

    proptest! {
        #[test]
        fn any_text_is_a_value_or_an_error(raw in "\\PC{0,40}") {
            let _ = parse_datetime(&raw);
            let _ = parse_date(&raw);
        }

        #[test]
        fn near_misses_never_panic(raw in "[0-9+ -]{0,8}-[0-9]{1,3}-[0-9]{1,3}([Tt ][0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3}([.,][0-9]{0,12})?)?([Zz]|[+ -][0-9]{1,4}(:[0-9]{0,3})?)?)?") {
            if let Ok(at) = parse_datetime(&raw) {
                prop_assert!((MIN_YEAR..=MAX_YEAR).contains(&at.year()));
            }
        }

        #[test]
        fn formatted_values_read_back(ms in 0i64..253_402_300_799_999) {
            let at = DateTime::<Utc>::from_timestamp_millis(ms).unwrap();
            prop_assert_eq!(parse_datetime(&format(at)).unwrap(), at);
        }
    }
}
