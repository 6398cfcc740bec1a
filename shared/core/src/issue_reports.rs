//! Issue reports: what a user tells their workspace went wrong. Stored privately in the
//! workspace, with anything that looks like a credential scrubbed out before it is stored, and
//! announced to the workspace's owners and admins.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store_error::StoreError;
use crate::{
    clock::Clock,
    error::Error,
    ids::{UserId, WorkspaceId},
    keys::caller::Caller,
    notifications::{NewNotification, Notifications, kinds},
    profiles::ProfileStore,
    timestamp,
};

pub use crate::scrub::Scrubber;

/// The largest `diagnostics` or `browser` object, serialized.
pub const MAX_OBJECT_BYTES: usize = 16 * 1024;

/// A validated report, not yet scrubbed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewIssueReport {
    /// The part of the product (default `Other`).
    pub area: String,
    /// A one-line summary.
    pub title: Option<String>,
    /// What went wrong.
    pub description: String,
    /// How to make it happen.
    pub steps: Option<String>,
    /// What should have happened.
    pub expected: Option<String>,
    /// Diagnostics, serialized JSON.
    pub diagnostics: Option<String>,
    /// Browser details, serialized JSON.
    pub browser: Option<String>,
    /// The page the user was on.
    pub page_url: Option<String>,
    /// The client's version.
    pub app_version: Option<String>,
}

/// `new` with every field scrubbed by `scrubber`.
fn scrubbed(scrubber: &Scrubber, new: NewIssueReport) -> NewIssueReport {
    let scrub = |t: String| scrubber.scrub(&t);
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
        let new = scrubbed(&self.scrubber, new);
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
        let summary: String = new
            .title
            .as_deref()
            .unwrap_or(&new.description)
            .chars()
            .take(120)
            .collect();
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
            .tell_admins(self.profiles.as_ref(), &caller.workspace_id, notice)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::secret::KeyPrefix;
    use crate::role::Role;
    use proptest::prelude::*;

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
            clock::ManualClock,
            ids::UserId,
            keys::caller::Credential,
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
            origin: Default::default(),
            user_id: members[2].clone(),
            workspace_id: workspace.clone(),
            credential: Credential::Session { role: Role::Member },
        };
        let leaked = crate::keys::secret::PlainKey::generate(
            &KeyPrefix::default(),
            crate::ids::KeyId::new(),
        );
        let new = NewIssueReport {
            area: "Other".into(),
            title: None,
            description: format!("my key {} stopped working", leaked.expose()),
            steps: None,
            expected: None,
            diagnostics: None,
            browser: None,
            page_url: None,
            app_version: None,
        };
        let report = reports.create(&caller, new).await.unwrap();
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
