//! A query of the audit log as a client sent it, before any rule: what the API's query string
//! and the console's filter form both hold, checked here once, every problem on its field.

use chrono::{DateTime, Utc};

use super::store::AuditQuery;
use crate::{
    cursor,
    error::{Error, FieldError},
    validate::{self, Problems},
};

/// The page size when none is asked for.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page.
pub const MAX_LIMIT: i64 = 200;
/// The longest filter value.
const MAX_FILTER: usize = 128;

/// The filters of a page of the log, as sent. `None` is a filter not sent.
#[derive(Clone, Debug, Default)]
pub struct AuditQueryDraft {
    /// An action, or a prefix of actions ending in `.`.
    pub action: Option<String>,
    /// An actor's id.
    pub actor_id: Option<String>,
    /// A target's id.
    pub target_id: Option<String>,
    /// A time (RFC 3339, or a date meaning its midnight UTC): events at or after it.
    pub since: Option<String>,
    /// A time, as `since`: events before it.
    pub until: Option<String>,
    /// The page size, 1 to [`MAX_LIMIT`].
    pub limit: Option<i64>,
    /// The cursor of the previous page.
    pub cursor: Option<String>,
}

/// A time range: from `since` (inclusive) to `until` (exclusive), either open.
pub type TimeRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A filter value: 1 to 128 visible characters.
fn filter(field: &str, raw: Option<String>) -> Result<Option<String>, FieldError> {
    raw.map(|raw| validate::required_text(field, &raw, MAX_FILTER))
        .transpose()
}

/// `since` and `until` as times, `since` before `until`; each problem noted on its field.
pub fn time_range(p: &mut Problems, since: Option<String>, until: Option<String>) -> TimeRange {
    let since = since.and_then(|raw| p.take(validate::timestamp("since", &raw)));
    let until = until.and_then(|raw| p.take(validate::timestamp("until", &raw)));
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        p.push(FieldError::new("since", "must be before until"));
    }
    (since, until)
}

/// The range of an integrity check, as sent.
pub fn checked_range(since: Option<String>, until: Option<String>) -> Result<TimeRange, Error> {
    let mut p = Problems::default();
    let range = time_range(&mut p, since, until);
    p.finish(|| range)
}

impl AuditQuery {
    /// The query `draft` asks for, every field checked; every problem is reported, each on its
    /// field.
    pub fn from_draft(draft: AuditQueryDraft) -> Result<Self, Error> {
        let mut p = Problems::default();
        let action = p.take(filter("action", draft.action)).flatten();
        let actor_id = p.take(filter("actor_id", draft.actor_id)).flatten();
        let target_id = p.take(filter("target_id", draft.target_id)).flatten();
        let (since, until) = time_range(&mut p, draft.since, draft.until);
        let limit = p.take(validate::in_range(
            "limit",
            draft.limit.unwrap_or(DEFAULT_LIMIT),
            1,
            MAX_LIMIT,
        ));
        let after = match draft.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(raw) => {
                let after = cursor::decode(raw);
                if after.is_none() {
                    p.push(FieldError::new(
                        "cursor",
                        "is not a cursor from a previous page",
                    ));
                }
                after
            }
            None => None,
        };
        p.finish(|| AuditQuery {
            action,
            actor_id,
            target_id,
            concerning: None,
            since,
            until,
            limit: limit.unwrap_or(DEFAULT_LIMIT) as usize,
            after,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn every_problem_is_named_by_its_field() {
        let draft = AuditQueryDraft {
            action: Some(String::new()),
            actor_id: Some("x".repeat(129)),
            since: Some("2026-12-07".into()),
            until: Some("2026-12-01".into()),
            limit: Some(0),
            cursor: Some("not a cursor".into()),
            ..AuditQueryDraft::default()
        };
        let Err(Error::Validation { errors, .. }) = AuditQuery::from_draft(draft) else {
            panic!("refused");
        };
        let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(fields, ["action", "actor_id", "cursor", "limit", "since"]);
    }

    #[test]
    fn a_date_is_its_midnight_and_defaults_fill_the_rest() {
        let query = AuditQuery::from_draft(AuditQueryDraft {
            action: Some("key.".into()),
            since: Some("2026-12-01".into()),
            ..AuditQueryDraft::default()
        })
        .unwrap();
        assert_eq!(query.limit, 50);
        assert_eq!(query.action.as_deref(), Some("key."));
        assert_eq!(
            query.since.unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        let id = uuid::Uuid::now_v7();
        let query = AuditQuery::from_draft(AuditQueryDraft {
            cursor: Some(cursor::encode(id)),
            ..AuditQueryDraft::default()
        })
        .unwrap();
        assert_eq!(query.after, Some(id));
    }

    proptest! {
        /// Whatever is sent, the draft is a query or field errors, never a panic.
        #[test]
        fn any_draft_is_a_query_or_field_errors(
            action in proptest::option::of(".{0,140}"),
            since in proptest::option::of(".{0,40}"),
            until in proptest::option::of(".{0,40}"),
            limit in proptest::option::of(any::<i64>()),
            cursor in proptest::option::of(".{0,40}"),
        ) {
            let draft = AuditQueryDraft { action, since, until, limit, cursor, ..AuditQueryDraft::default() };
            match AuditQuery::from_draft(draft) {
                Ok(query) => prop_assert!((1..=200).contains(&query.limit)),
                Err(Error::Validation { errors, .. }) => prop_assert!(!errors.is_empty()),
                Err(other) => prop_assert!(false, "not a validation error: {other:?}"),
            }
        }
    }
}
