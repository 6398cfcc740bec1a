//! Small parsers shared by every request type: bounded text, ranges, timestamps, IP networks.
//!
//! Each returns the field's domain value or a [`FieldError`] naming the field, so request types
//! can collect every problem of a body at once.

use chrono::{DateTime, Utc};
use ipnet::IpNet;

use crate::error::{Error, FieldError};

/// Text of 1..=`max` characters that is not only whitespace; surrounding whitespace is trimmed
/// (after the length is checked: the documented `maxLength` holds for what was sent).
pub fn required_text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    optional_text(field, raw, max)?.ok_or_else(|| FieldError::new(field, "must not be empty"))
}

/// Text of at most `max` characters; an empty or blank value becomes `None`. The documented
/// `maxLength` holds for what was sent, before trimming: the contract fuzzing sent 300 carriage
/// returns, and then a `0` followed by 255 of them, as a 255-character `search`.
pub fn optional_text(field: &str, raw: &str, max: usize) -> Result<Option<String>, FieldError> {
    if raw.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

/// An integer within `min..=max`.
pub fn in_range(field: &str, value: i64, min: i64, max: i64) -> Result<i64, FieldError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("must be between {min} and {max}"),
        ))
    }
}

/// A client's timestamp (any form [`crate::timestamp`] reads) as a field value.
pub fn timestamp(field: &str, raw: &str) -> Result<DateTime<Utc>, FieldError> {
    crate::timestamp::parse_datetime(raw)
        .map(|at| chrono::SubsecRound::trunc_subsecs(at, 3))
        .map_err(|e| FieldError::new(field, e.to_string()))
}

/// A client's date (a datetime means its UTC date) as a field value.
pub fn date(field: &str, raw: &str) -> Result<chrono::NaiveDate, FieldError> {
    crate::timestamp::parse_date(raw).map_err(|e| FieldError::new(field, e.to_string()))
}

/// A timestamp strictly after `now`, truncated to whole milliseconds as every stored one is.
pub fn future_timestamp(
    field: &str,
    raw: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, FieldError> {
    let at = timestamp(field, raw)?;
    if at <= now {
        return Err(FieldError::new(field, "must be in the future"));
    }
    Ok(at)
}

/// The most entries an `allowed_ips` list may hold.
pub const MAX_ALLOWED_IPS: usize = 100;

/// A list of IPv4/IPv6 addresses or CIDR networks; a bare address becomes a host network.
/// Host bits of a CIDR are cleared (`10.1.2.3/8` is `10.0.0.0/8`); duplicates are dropped.
pub fn ip_networks(field: &str, raw: &[String]) -> Result<Vec<IpNet>, Vec<FieldError>> {
    if raw.len() > MAX_ALLOWED_IPS {
        return Err(vec![FieldError::new(
            field,
            format!("must hold at most {MAX_ALLOWED_IPS} entries"),
        )]);
    }
    let mut nets = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let entry = entry.trim();
        let parsed = entry
            .parse::<IpNet>()
            .map(|net| net.trunc())
            .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) if !nets.contains(&net) => nets.push(net),
            Ok(_) => {}
            Err(_) => errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("{entry:?} is not an IP address or CIDR network"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(nets)
    } else {
        Err(errors)
    }
}

/// Formats a network the way a client wrote it: a bare address for a host network.
pub fn format_network(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

/// Collects field errors while a request is parsed, so one response names them all.
#[derive(Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    /// Records an error.
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// The value, or records its error.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    /// The value, or records its errors.
    pub fn take_many<T>(&mut self, result: Result<T, Vec<FieldError>>) -> Option<T> {
        result.map_err(|e| self.0.extend(e)).ok()
    }

    /// `value()` when nothing was recorded, else a 400 naming every field at fault.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Error> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(Error::invalid_fields(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_bounds_count_characters_not_bytes() {
        assert!(required_text("name", &"é".repeat(100), 100).is_ok());
        assert!(required_text("name", &"é".repeat(101), 100).is_err());
        assert!(required_text("name", "   ", 100).is_err());
        assert_eq!(required_text("name", "  a ", 100).unwrap(), "a");
        assert_eq!(optional_text("d", " ", 5).unwrap(), None);
        assert_eq!(optional_text("d", "\r\r\r\r\r", 5).unwrap(), None);
        assert!(
            optional_text("d", &"\r".repeat(6), 5).is_err(),
            "a blank value longer than the limit"
        );
        assert!(required_text("name", "a\u{0}b", 100).is_err());
        let padded = format!("0{}", "\r".repeat(5));
        assert!(optional_text("search", &padded, 5).is_err(), "{padded:?}");
        assert!(required_text("name", &format!(" {}", "a".repeat(5)), 5).is_err());
    }

    proptest::proptest! {
        /// Whatever is sent, text longer than the limit is refused, and what is accepted is
        /// trimmed and within it.
        #[test]
        fn the_limit_holds_for_what_was_sent(raw in "[a \\r\\t\\n\u{e9}]{0,12}", max in 0usize..10) {
            let sent = raw.chars().count();
            let accepted = [
                optional_text("f", &raw, max).map(|v| v.unwrap_or_default()),
                required_text("f", &raw, max),
            ];
            for value in accepted.into_iter().flatten() {
                proptest::prop_assert!(sent <= max);
                proptest::prop_assert_eq!(value.as_str(), value.trim());
            }
            if sent > max {
                proptest::prop_assert!(optional_text("f", &raw, max).is_err());
            }
        }
    }

    #[test]
    fn networks_parse_and_normalise() {
        let nets = ip_networks(
            "allowed_ips",
            &[
                "10.1.2.3/8".into(),
                "192.168.0.1".into(),
                "::1".into(),
                "10.0.0.0/8".into(),
            ],
        )
        .unwrap();
        let shown: Vec<String> = nets.iter().map(format_network).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.168.0.1", "::1"]);
        let errors = ip_networks(
            "allowed_ips",
            &["1.2.3.4".into(), "nope".into(), "1.2.3.4/33".into()],
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["allowed_ips[1]", "allowed_ips[2]"]);
    }

    #[test]
    fn timestamps_must_be_future_rfc3339() {
        let now = Utc::now();
        assert!(future_timestamp("expires_at", "2999-01-01T00:00:00Z", now).is_ok());
        assert!(future_timestamp("expires_at", "2000-01-01T00:00:00Z", now).is_err());
        assert!(future_timestamp("expires_at", "tomorrow", now).is_err());
    }
}
