//! Property tests over every request parser: whatever body or query a client sends, the answer
//! is a value or a 4xx error, never a panic. Bodies are JSON objects whose keys are mostly the
//! request's own field names (so the parsers' checks are reached, not just serde's), holding any
//! JSON value: far-out numbers, odd strings, nulls, lists and nested objects.

use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::api::{
    account::input::{
        IssueReportRequest, ListQuery, MarkStepRequest, MetricsQuery, UpdateProfileRequest,
    },
    api_keys::input::{
        CreateKeyRequest, ExpirationQuery, ExpiringQuery, RevokeRequest, RotateQuery,
        UpdateKeyRequest, VerifyRequest,
    },
    privacy::input::ErasureRequest,
};
use crate::{error::Status, extract::parse_json};
use latchkey_core::{
    Error,
    keys::secret::{KeyPrefix, PresentedKey},
};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[0-9+-]{0,8}-[0-9]{1,3}-[0-9]{1,3}(T[0-9:.]{0,15}[Z+-]?[0-9:]{0,5})?",
        "(10|192\\.168|::1|2001:db8::)[0-9./:]{0,12}",
        "#[0-9A-Fa-f]{0,8}",
        "https?://[a-z.]{0,10}/?\\PC{0,10}",
        Just("+262142-12-31".to_owned()),
        Just("9999-12-31T23:59:59.999999999+23:59".to_owned()),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object with keys from `fields` (and now and then another), serialized.
fn body(fields: &'static [&'static str]) -> impl Strategy<Value = String> {
    let key = prop_oneof![
        9 => prop::sample::select(fields).prop_map(str::to_owned),
        1 => "[a-z_]{1,10}",
    ];
    prop::collection::vec((key, json()), 0..8)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>()).to_string())
}

/// A query string with parameters from `fields`.
fn query(fields: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(fields), text()), 0..4).prop_map(|pairs| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    })
}

fn from_query<T: DeserializeOwned>(raw: &str) -> Result<T, Error> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| Error::invalid_field("query", e.to_string()))
}

/// A refusal must be a client error.
fn client_error<T>(result: Result<T, Error>) -> Result<(), TestCaseError> {
    if let Err(err) = result {
        prop_assert!(err.status().is_client_error(), "{err:?}");
    }
    Ok(())
}

fn now() -> DateTime<Utc> {
    "2026-11-23T12:00:00Z".parse().expect("a time")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn create_key(raw in body(&["name", "permissions", "read_only", "description", "expires_at", "rate_limit_per_hour", "rate_limit", "allowed_ips"])) {
        client_error(parse_json::<CreateKeyRequest>(raw.as_bytes()).and_then(|b| b.parse(now())))?;
    }

    #[test]
    fn update_key(raw in body(&["name", "permissions", "is_active", "rate_limit_per_hour", "rate_limit", "read_only", "description", "allowed_ips"])) {
        client_error(parse_json::<UpdateKeyRequest>(raw.as_bytes()).and_then(UpdateKeyRequest::parse))?;
    }

    #[test]
    fn revoke_and_verify(raw in body(&["reason", "key", "permissions", "device_id", "tags", "ip"])) {
        client_error(parse_json::<RevokeRequest>(raw.as_bytes()).and_then(RevokeRequest::parse))?;
        client_error(parse_json::<VerifyRequest>(raw.as_bytes()).and_then(VerifyRequest::parse))?;
    }

    #[test]
    fn profile(raw in body(&["name", "bio", "avatar_url", "phone_number", "timezone", "date_format", "time_format", "email_notifications", "default_api_version", "default_map_style", "default_geofence_color", "has_completed_workflow_tour"])) {
        client_error(parse_json::<UpdateProfileRequest>(raw.as_bytes()).and_then(UpdateProfileRequest::parse))?;
    }

    #[test]
    fn erasure(raw in body(&["scope", "device_ids", "from_date", "to_date", "tags", "dry_run"])) {
        client_error(parse_json::<ErasureRequest>(raw.as_bytes()).and_then(ErasureRequest::parse))?;
    }

    #[test]
    fn issue_report_and_onboarding(raw in body(&["description", "area", "title", "steps", "expected", "include_page", "diagnostics", "browser", "page_url", "app_version", "step"])) {
        client_error(parse_json::<IssueReportRequest>(raw.as_bytes()).and_then(IssueReportRequest::parse))?;
        client_error(parse_json::<MarkStepRequest>(raw.as_bytes()).and_then(MarkStepRequest::parse))?;
    }

    #[test]
    fn queries(raw in query(&["days", "grace_period_days", "expires_at", "unread_only", "limit", "cursor", "time_range", "start_date", "end_date"])) {
        client_error(from_query::<ExpiringQuery>(&raw).and_then(ExpiringQuery::parse))?;
        client_error(from_query::<RotateQuery>(&raw).and_then(RotateQuery::parse))?;
        client_error(from_query::<ExpirationQuery>(&raw).and_then(|q| q.parse(now())))?;
        client_error(from_query::<ListQuery>(&raw).and_then(ListQuery::parse))?;
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("a day");
        client_error(from_query::<MetricsQuery>(&raw).and_then(|q| q.parse(today)))?;
    }

    #[test]
    fn presented_keys(raw in "\\PC{0,100}|sk_[0-9A-Za-z]{60,80}") {
        let _ = PresentedKey::parse(&KeyPrefix::default(), &raw);
    }

    #[test]
    fn any_bytes_as_a_body(raw in prop::collection::vec(any::<u8>(), 0..64)) {
        client_error(parse_json::<CreateKeyRequest>(&raw))?;
    }
}
