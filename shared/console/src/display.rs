//! How a user sees times: their time zone, date format and 12- or 24-hour clock, from their
//! profile's preferences, applied on every page.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use latchkey_core::profiles::Profile;

/// Date formats the preferences page offers (any other a profile holds still displays).
pub const DATE_FORMATS: [&str; 5] = [
    "YYYY-MM-DD",
    "DD/MM/YYYY",
    "MM/DD/YYYY",
    "DD.MM.YYYY",
    "D MMM YYYY",
];

/// A user's display preferences.
#[derive(Clone, Debug)]
pub struct Display {
    zone: Tz,
    date: String,
    time: &'static str,
}

impl Default for Display {
    fn default() -> Self {
        Self {
            zone: Tz::UTC,
            date: strftime("YYYY-MM-DD"),
            time: "%H:%M",
        }
    }
}

impl Display {
    /// The preferences of `profile`; a zone the profile holds that no longer parses shows UTC.
    pub fn of(profile: &Profile) -> Self {
        Self {
            zone: profile.timezone.parse().unwrap_or(Tz::UTC),
            date: strftime(&profile.date_format),
            time: if profile.time_format == "12h" {
                "%-I:%M %p"
            } else {
                "%H:%M"
            },
        }
    }

    /// The zone's name.
    pub fn zone(&self) -> &str {
        self.zone.name()
    }

    /// A moment, in the user's zone: date, time and the zone's abbreviation.
    pub fn at(&self, t: &DateTime<Utc>) -> String {
        let local = t.with_timezone(&self.zone);
        format!(
            "{} {} {}",
            local.format(&self.date),
            local.format(self.time),
            local.format("%Z")
        )
    }

    /// An optional moment, or `absent` where there is none.
    pub fn maybe(&self, t: &Option<DateTime<Utc>>, absent: &str) -> String {
        t.as_ref().map_or_else(|| absent.to_owned(), |t| self.at(t))
    }

    /// A calendar day.
    pub fn day(&self, d: &NaiveDate) -> String {
        d.format(&self.date).to_string()
    }

    /// The day of `t` in the user's zone, as an `<input type="date">` value.
    pub fn date_input(&self, t: &Option<DateTime<Utc>>) -> String {
        t.as_ref()
            .map(|t| t.with_timezone(&self.zone).format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }

    /// The start of `day` in the user's zone, as RFC 3339 (what the API's expiry parser takes).
    pub fn start_of(&self, day: &NaiveDate) -> Option<String> {
        let midnight = day.and_hms_opt(0, 0, 0)?;
        let local = midnight.and_local_timezone(self.zone).earliest()?;
        Some(local.to_rfc3339())
    }
}

/// The chrono pattern of a date format written with `YYYY`, `YY`, `MMMM`, `MMM`, `MM`, `M`, `DD`
/// and `D`; every other character stands for itself (a `%` too).
pub fn strftime(format: &str) -> String {
    const TOKENS: [(&str, &str); 8] = [
        ("YYYY", "%Y"),
        ("YY", "%y"),
        ("MMMM", "%B"),
        ("MMM", "%b"),
        ("MM", "%m"),
        ("M", "%-m"),
        ("DD", "%d"),
        ("D", "%-d"),
    ];
    let mut out = String::new();
    let mut rest = format;
    'outer: while let Some(c) = rest.chars().next() {
        for (token, pattern) in TOKENS {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str(pattern);
                rest = after;
                continue 'outer;
            }
        }
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn display(zone: &str, date: &str, time: &str) -> Display {
        let mut profile: Profile = serde_json::from_value(serde_json::json!({
            "id": "user-1", "role": "owner", "workspace_id": "ws-1",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        }))
        .unwrap();
        profile.timezone = zone.into();
        profile.date_format = date.into();
        profile.time_format = time.into();
        Display::of(&profile)
    }

    #[test]
    fn times_show_in_the_users_zone_format_and_clock() {
        let t = at("2026-11-24T13:05:00Z");
        assert_eq!(
            display("UTC", "YYYY-MM-DD", "24h").at(&t),
            "2026-11-24 13:05 UTC"
        );
        assert_eq!(
            display("Europe/Berlin", "DD.MM.YYYY", "12h").at(&t),
            "24.11.2026 2:05 PM CET"
        );
        assert_eq!(
            display("America/New_York", "MM/DD/YYYY", "12h").at(&t),
            "11/24/2026 8:05 AM EST"
        );
        assert_eq!(
            display("UTC", "D MMM YYYY", "24h").day(&t.date_naive()),
            "24 Nov 2026"
        );
    }

    #[test]
    fn a_day_starts_in_the_users_zone() {
        let berlin = display("Europe/Berlin", "YYYY-MM-DD", "24h");
        let day = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert_eq!(berlin.start_of(&day).unwrap(), "2027-01-01T00:00:00+01:00");
        assert_eq!(
            berlin.date_input(&Some(at("2026-12-31T23:30:00Z"))),
            "2027-01-01"
        );
    }

    #[test]
    fn other_characters_stand_for_themselves() {
        assert_eq!(strftime("YYYY-MM-DD"), "%Y-%m-%d");
        assert_eq!(strftime("100% DD"), "100%% %d");
        assert_eq!(strftime("día D"), "día %-d");
    }

    proptest! {
        #[test]
        fn any_format_a_profile_may_hold_displays_without_panicking(format in "\\PC{0,20}") {
            let d = display("UTC", &format, "24h");
            let _ = d.at(&at("2026-11-24T13:05:00Z"));
            let _ = d.day(&NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        }
    }
}
