//! Issue reports: what a user tells their workspace went wrong. Stored privately in the
//! workspace, with anything that looks like a credential scrubbed out before it is stored, and
//! announced to the workspace's owners and admins.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;
use regex::Regex;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::StoreError;
use crate::{
    auth::{Caller, Role},
    clock::Clock,
    error::{Error, FieldError},
    ids::{UserId, WorkspaceId},
    keys::secret::KeyPrefix,
    notifications::{NewNotification, Notifications, kinds},
    profiles::ProfileStore,
    timestamp, validate,
};

/// The largest `diagnostics` or `browser` object, serialized.
pub const MAX_OBJECT_BYTES: usize = 16 * 1024;

/// Body of `POST /api/v1/account/issue-reports`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct IssueReportRequest {
    /// What went wrong.
    #[schema(required = true, min_length = 1, max_length = 4000, pattern = r"\S")]
    description: Option<String>,
    /// The part of the product.
    #[schema(max_length = 80, default = "Other")]
    area: Option<String>,
    /// A one-line summary.
    #[schema(max_length = 160)]
    title: Option<String>,
    /// How to make it happen.
    #[schema(max_length = 4000)]
    steps: Option<String>,
    /// What should have happened.
    #[schema(max_length = 4000)]
    expected: Option<String>,
    /// Keep `diagnostics` (default true).
    include_diagnostics: Option<bool>,
    /// Keep `page_url` (default true).
    include_page: Option<bool>,
    /// Keep `browser` (default true).
    include_browser: Option<bool>,
    /// Keep `app_version` (default true).
    include_version: Option<bool>,
    /// Free-form diagnostics, at most 16 KB serialized.
    #[schema(value_type = Option<Object>)]
    diagnostics: Option<serde_json::Map<String, serde_json::Value>>,
    /// Browser details, at most 16 KB serialized.
    #[schema(value_type = Option<Object>)]
    browser: Option<serde_json::Map<String, serde_json::Value>>,
    /// The page the user was on.
    #[schema(max_length = 2000)]
    page_url: Option<String>,
    /// The client's version.
    #[schema(max_length = 80)]
    app_version: Option<String>,
}

/// A validated report, not yet scrubbed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewIssueReport {
    area: String,
    title: Option<String>,
    description: String,
    steps: Option<String>,
    expected: Option<String>,
    diagnostics: Option<String>,
    browser: Option<String>,
    page_url: Option<String>,
    app_version: Option<String>,
}

fn object(
    field: &str,
    value: Option<serde_json::Map<String, serde_json::Value>>,
    keep: Option<bool>,
) -> Result<Option<String>, FieldError> {
    let Some(value) = value.filter(|_| keep.unwrap_or(true)) else {
        return Ok(None);
    };
    let text = serde_json::Value::Object(value).to_string();
    if text.len() > MAX_OBJECT_BYTES {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_OBJECT_BYTES} bytes serialized"),
        ));
    }
    Ok(Some(text))
}

impl IssueReportRequest {
    /// Validates every field; `include_*: false` drops what it names.
    pub fn parse(self) -> Result<NewIssueReport, Error> {
        let mut errors = Vec::new();
        let mut keep =
            |r: Result<Option<String>, FieldError>| r.map_err(|e| errors.push(e)).ok().flatten();
        let text = |field: &str, raw: Option<String>, max| {
            raw.map_or(Ok(None), |raw| validate::optional_text(field, &raw, max))
        };
        let description = keep(match self.description {
            Some(raw) => validate::required_text("description", &raw, 4000).map(Some),
            None => Err(FieldError::new("description", "is required")),
        });
        let area = keep(text("area", self.area, 80));
        let title = keep(text("title", self.title, 160));
        let steps = keep(text("steps", self.steps, 4000));
        let expected = keep(text("expected", self.expected, 4000));
        let page_url = keep(text("page_url", self.page_url, 2000));
        let app_version = keep(text("app_version", self.app_version, 80));
        let diagnostics = keep(object(
            "diagnostics",
            self.diagnostics,
            self.include_diagnostics,
        ));
        let browser = keep(object("browser", self.browser, self.include_browser));
        if !errors.is_empty() {
            return Err(Error::invalid_fields(errors));
        }
        Ok(NewIssueReport {
            area: area.unwrap_or_else(|| "Other".into()),
            title,
            description: description.unwrap_or_default(),
            steps,
            expected,
            diagnostics,
            browser,
            page_url: page_url.filter(|_| self.include_page.unwrap_or(true)),
            app_version: app_version.filter(|_| self.include_version.unwrap_or(true)),
        })
    }
}

/// Replaces whatever looks like a credential with a marker: Latchkey keys (this deployment's
/// prefix, or any prefix with a key-length body), bearer tokens, JWTs, and `X-API-KEY` values.
#[derive(Debug, Clone)]
pub struct Scrubber {
    own_keys: Regex,
}

static ANY_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[a-z0-9]{1,16}_[0-9A-Za-z]{40,}").expect("valid"));
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+").expect("valid"));
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*").expect("valid")
});
static API_KEY_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(x-api-key\\?"?\s*[:=]\s*\\?"?)[^\s"\\,;}]+"#).expect("valid")
});

impl Scrubber {
    /// A scrubber for keys with `prefix`.
    pub fn new(prefix: &KeyPrefix) -> Self {
        let own = format!(r"\b{}_[0-9A-Za-z]{{12,}}", regex::escape(prefix.as_str()));
        Self {
            own_keys: Regex::new(&own).expect("an escaped prefix is a valid pattern"),
        }
    }

    /// `text` with every credential-like run replaced.
    pub fn scrub(&self, text: &str) -> String {
        let text = self.own_keys.replace_all(text, "[redacted key]");
        let text = ANY_KEY.replace_all(&text, "[redacted key]");
        let text = JWT.replace_all(&text, "[redacted token]");
        let text = BEARER.replace_all(&text, "$1 [redacted]");
        API_KEY_HEADER
            .replace_all(&text, "${1}[redacted]")
            .into_owned()
    }

    fn report(&self, new: NewIssueReport) -> NewIssueReport {
        let scrub = |t: String| self.scrub(&t);
        NewIssueReport {
            area: scrub(new.area),
            title: new.title.map(scrub),
            description: scrub(new.description),
            steps: new.steps.map(scrub),
            expected: new.expected.map(scrub),
            diagnostics: new.diagnostics.map(scrub),
            browser: new.browser.map(scrub),
            page_url: new.page_url.map(scrub),
            app_version: new.app_version.map(scrub),
        }
    }
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueReport {
    /// Id.
    pub id: Uuid,
    /// Short and quotable, e.g. `LK-7F3K9Q`.
    pub reference_id: String,
    /// `received`.
    pub status: String,
    /// Creation time.
    #[serde(with = "crate::timestamp::serde_rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// The storage port of issue reports.
#[async_trait]
pub trait IssueReportStore: Send + Sync {
    /// Stores `report`, made by `reported_by` of `workspace`, with its scrubbed `details`.
    async fn insert(
        &self,
        workspace: &WorkspaceId,
        reported_by: &UserId,
        report: &IssueReport,
        details: &NewIssueReport,
    ) -> Result<(), StoreError>;
}

/// Crockford's base32: no I, L, O or U, so a reference read aloud is not misheard.
const REFERENCE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn reference_id() -> String {
    let mut rng = rand::thread_rng();
    let code: String = (0..6)
        .map(|_| REFERENCE_ALPHABET[rng.gen_range(0..REFERENCE_ALPHABET.len())] as char)
        .collect();
    format!("LK-{code}")
}

/// Records issue reports and tells the workspace's owners and admins.
pub struct IssueReports {
    store: Arc<dyn IssueReportStore>,
    scrubber: Scrubber,
    notifications: Arc<Notifications>,
    profiles: Arc<dyn ProfileStore>,
    clock: Arc<dyn Clock>,
}

impl IssueReports {
    /// Reports over `table`.
    pub fn new(
        store: Arc<dyn IssueReportStore>,
        scrubber: Scrubber,
        notifications: Arc<Notifications>,
        profiles: Arc<dyn ProfileStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            scrubber,
            notifications,
            profiles,
            clock,
        }
    }

    /// Scrubs and stores `new`, then notifies the workspace's owners and admins.
    pub async fn create(&self, caller: &Caller, new: NewIssueReport) -> Result<IssueReport, Error> {
        let new = self.scrubber.report(new);
        let report = IssueReport {
            id: Uuid::now_v7(),
            reference_id: reference_id(),
            status: "received".into(),
            created_at: self.clock.now(),
        };
        self.store
            .insert(&caller.workspace_id, &caller.user_id, &report, &new)
            .await?;
        self.announce(caller, &report, &new).await;
        Ok(report)
    }

    /// Tells the workspace's owners and admins; a report is stored whether or not they hear of it.
    async fn announce(&self, caller: &Caller, report: &IssueReport, new: &NewIssueReport) {
        let members = match self.profiles.members(&caller.workspace_id).await {
            Ok(members) => members,
            Err(err) => {
                tracing::warn!(error = %err, "issue report announced to no one");
                return;
            }
        };
        let summary: String = new
            .title
            .as_deref()
            .unwrap_or(&new.description)
            .chars()
            .take(120)
            .collect();
        for member in members
            .iter()
            .filter(|m| matches!(m.role, Role::Owner | Role::Admin))
        {
            let notice = NewNotification {
                kind: kinds::ISSUE_REPORTED,
                title: format!("Issue reported: {}", report.reference_id),
                message: format!("An issue was reported in {}: {summary}", new.area),
                data: serde_json::json!({
                    "issue_report_id": report.id,
                    "reference_id": report.reference_id,
                    "area": new.area,
                    "reported_by": caller.user_id,
                    "created_at": timestamp::format(report.created_at),
                }),
            };
            self.notifications
                .notify_quietly(&member.user_id, notice)
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(body: serde_json::Value) -> Result<NewIssueReport, Error> {
        serde_json::from_value::<IssueReportRequest>(body)
            .unwrap()
            .parse()
    }

    fn fields(body: serde_json::Value) -> Vec<String> {
        match parse(body) {
            Err(Error::Validation { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fields_are_validated_and_defaults_applied() {
        assert_eq!(fields(json!({})), ["description"]);
        assert_eq!(fields(json!({"description": "  "})), ["description"]);
        assert_eq!(
            fields(json!({"description": "d".repeat(4001), "area": "a".repeat(81)})),
            ["description", "area"]
        );
        let big = json!({"blob": "x".repeat(MAX_OBJECT_BYTES)});
        assert_eq!(
            fields(json!({"description": "d", "diagnostics": big})),
            ["diagnostics"]
        );
        let ok = parse(json!({"description": "it broke", "page_url": "https://x.test/p", "include_page": false, "diagnostics": {"a": 1}})).unwrap();
        assert_eq!(ok.area, "Other");
        assert_eq!(ok.page_url, None, "include_page: false drops it");
        assert_eq!(ok.diagnostics.as_deref(), Some(r#"{"a":1}"#));
    }

    #[test]
    fn credentials_are_scrubbed() {
        let scrubber = Scrubber::new(&KeyPrefix::parse("sk").unwrap());
        let key = format!("sk_{}", "A1b2".repeat(18));
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";
        let text = format!(
            "key {key} then Authorization: Bearer abc.def-123 and {jwt}, \"X-API-KEY\": \"{key}\", other pk_{}",
            "Z".repeat(48)
        );
        let clean = scrubber.scrub(&text);
        assert!(!clean.contains(&key), "{clean}");
        assert!(!clean.contains("abc.def-123"), "{clean}");
        assert!(!clean.contains(jwt), "{clean}");
        assert!(!clean.contains(&"Z".repeat(48)), "{clean}");
        assert!(
            clean.contains("Authorization: Bearer [redacted]"),
            "{clean}"
        );
        assert_eq!(scrubber.scrub("nothing secret here"), "nothing secret here");
        let json = serde_json::json!({"headers": {"X-API-KEY": key, "authorization": format!("Bearer {jwt}")}}).to_string();
        let cleaned: serde_json::Value = serde_json::from_str(&scrubber.scrub(&json)).unwrap();
        assert!(!cleaned.to_string().contains(&key));
    }

    #[test]
    fn references_are_quotable() {
        let r = reference_id();
        assert_eq!(r.len(), 9);
        assert!(r.starts_with("LK-"));
        assert!(r[3..].bytes().all(|b| REFERENCE_ALPHABET.contains(&b)));
    }

    proptest! {
        #[test]
        fn any_text_scrubs_without_panic_and_stays_valid_json(raw in "\\PC{0,200}") {
            let scrubber = Scrubber::new(&KeyPrefix::parse("sk").unwrap());
            let json = serde_json::json!({"v": raw}).to_string();
            let scrubbed = scrubber.scrub(&json);
            prop_assert!(serde_json::from_str::<serde_json::Value>(&scrubbed).is_ok());
        }
    }

    #[tokio::test]
    async fn a_report_is_stored_scrubbed_and_only_owners_and_admins_hear_of_it() {
        use crate::{
            auth::Credential,
            clock::ManualClock,
            ids::UserId,
            profiles::{NewProfile, ProfileStore},
            store::memory::{MemoryIssueReportStore, MemoryNotificationStore, MemoryProfileStore},
        };
        let clock = ManualClock::now();
        let store = Arc::new(MemoryIssueReportStore::default());
        let inbox = Arc::new(MemoryNotificationStore::default());
        let profiles = Arc::new(MemoryProfileStore::default());
        let workspace = WorkspaceId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
        let mut members = Vec::new();
        for role in [Role::Owner, Role::Admin, Role::Member, Role::Viewer] {
            let id = UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
            let profile = NewProfile {
                id: id.clone(),
                email: String::new(),
                name: String::new(),
                workspace_id: workspace.clone(),
                role,
            };
            profiles.ensure(&profile, clock.now()).await.unwrap();
            members.push(id);
        }
        let reports = IssueReports::new(
            store.clone(),
            Scrubber::new(&KeyPrefix::default()),
            Arc::new(Notifications::new(inbox.clone(), clock.clone())),
            profiles,
            clock.clone(),
        );
        let caller = Caller {
            user_id: members[2].clone(),
            workspace_id: workspace.clone(),
            credential: Credential::Session { role: Role::Member },
        };
        let leaked = crate::keys::secret::PlainKey::generate(
            &KeyPrefix::default(),
            crate::ids::KeyId::new(),
        );
        let request: IssueReportRequest = serde_json::from_value(serde_json::json!({
            "description": format!("my key {} stopped working", leaked.expose()),
        }))
        .unwrap();
        let report = reports
            .create(&caller, request.parse().unwrap())
            .await
            .unwrap();
        assert!(report.reference_id.starts_with("LK-"));
        let stored = store.all();
        assert_eq!(stored.len(), 1);
        assert_eq!(
            (&stored[0].workspace, &stored[0].reported_by),
            (&workspace, &members[2])
        );
        assert!(
            !stored[0].details.description.contains(leaked.expose()),
            "{:?}",
            stored[0].details
        );
        let told: Vec<usize> = members.iter().map(|m| inbox.of(m).len()).collect();
        assert_eq!(told, [1, 1, 0, 0]);
    }
}
