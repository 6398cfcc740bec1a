//! The leak response over memory: a signed report's labels and the messages it sends, the
//! worker's handling by policy (once, however often it comes), the public endpoint's silence and
//! budget, and who may set the policy.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::{
    encoding::AsDer,
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair},
};
use base64ct::{Base64, Encoding};
use serde_json::json;

use super::*;
use crate::{
    audit::store::AuditQuery,
    clock::ManualClock,
    config::Config,
    error::Error,
    ids::{UserId, WorkspaceId},
    keys::{
        caller::{Caller, Credential},
        spec::NewKeySpec,
    },
    lifecycle::Applied,
    queue::{MemoryQueue, WorkMessage, WorkQueue},
    role::Role,
    store::{MemoryStorage, Storage},
    wiring::Wiring,
};

/// GitHub, played by a key pair made for the test.
struct Github {
    pair: EcdsaKeyPair,
}

impl Github {
    fn new() -> Self {
        Self {
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap(),
        }
    }

    fn sign(&self, body: &str) -> String {
        let signature = self
            .pair
            .sign(&SystemRandom::new(), body.as_bytes())
            .unwrap();
        Base64::encode_string(signature.as_ref())
    }

    fn published(&self) -> PublishedKey {
        let der = self.pair.public_key().as_der().unwrap();
        PublishedKey {
            key_identifier: "test-key".into(),
            key: pem::encode(&pem::Pem::new("PUBLIC KEY", der.as_ref().to_vec())),
        }
    }
}

#[async_trait]
impl KeyList for Github {
    async fn fetch(&self) -> Result<Vec<PublishedKey>, KeyListError> {
        Ok(vec![self.published()])
    }
}

struct World {
    wiring: Wiring,
    storage: Arc<MemoryStorage>,
    queue: Arc<MemoryQueue>,
    clock: Arc<ManualClock>,
    github: Arc<Github>,
    intake: LeakIntake,
    owner: Caller,
}

fn caller(workspace: &str, user: &str, credential: Credential) -> Caller {
    Caller {
        user_id: UserId::parse(user).unwrap(),
        workspace_id: WorkspaceId::parse(workspace).unwrap(),
        credential,
        origin: Default::default(),
    }
}

fn world() -> World {
    let config = Config::from_lookup(|name| {
        Some(match name {
            "LATCHKEY_TABLE" => "t".to_owned(),
            _ => return None,
        })
    })
    .unwrap();
    let storage = Arc::new(MemoryStorage::default());
    let queue = Arc::new(MemoryQueue::default());
    let clock = ManualClock::now();
    let github = Arc::new(Github::new());
    let wiring = Wiring::over(
        config,
        storage.clone(),
        storage.clone(),
        Some(queue.clone() as Arc<dyn WorkQueue>),
        clock.clone(),
    );
    let intake = LeakIntake::new(
        storage.keys(),
        crate::keys::secret::KeyPrefix::default(),
        queue.clone(),
        storage.address_gate(),
        Arc::new(ScanningKeys::new(github.clone(), clock.clone())),
        clock.clone(),
    );
    World {
        wiring,
        storage,
        queue,
        clock,
        github,
        intake,
        owner: caller(
            "ws-leak",
            "owner-1",
            Credential::Session { role: Role::Owner },
        ),
    }
}

impl World {
    async fn key(&self, name: &str) -> (crate::ids::KeyId, String) {
        let issued = self
            .wiring
            .keys()
            .create(&self.owner, NewKeySpec::named(name))
            .await
            .unwrap();
        (issued.key.id, issued.plain.expose().to_owned())
    }

    async fn report(&self, tokens: &[&str]) -> Result<Vec<TokenLabel>, Error> {
        let body = serde_json::to_string(
            &tokens
                .iter()
                .map(|t| json!({"token": t, "type": "latchkey_api_key", "url": "https://github.com/o/r/blob/main/.env", "source": "content"}))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let signature = self.github.sign(&body);
        self.intake
            .github_report(Some("test-key"), Some(&signature), body.as_bytes())
            .await
    }

    /// The leaks sent to the worker since the last call.
    fn leaks(&self) -> Vec<LeakedKey> {
        self.queue
            .take()
            .into_iter()
            .flat_map(|(message, _)| match message {
                WorkMessage::KeysLeaked { leaks } => leaks,
                _ => vec![],
            })
            .collect()
    }

    async fn stored(&self, id: crate::ids::KeyId) -> crate::keys::model::ApiKey {
        self.storage.keys().get(id).await.unwrap().unwrap()
    }

    async fn leaked_events(&self) -> Vec<crate::audit::AuditEvent> {
        let query = AuditQuery {
            action: Some("key.leaked".into()),
            limit: 100,
            ..AuditQuery::default()
        };
        self.storage
            .audit()
            .newest_first(&self.owner.workspace_id, &query)
            .await
            .unwrap()
            .0
    }
}

#[tokio::test]
async fn a_signed_report_labels_each_token_and_sends_only_live_keys_on() {
    let w = world();
    let (live, live_key) = w.key("live").await;
    let (revoked, revoked_key) = w.key("revoked").await;
    w.wiring
        .keys()
        .revoke(&w.owner, revoked, "done with it".into())
        .await
        .unwrap();
    let mut mistyped = live_key.clone();
    mistyped.replace_range(10..11, if &mistyped[10..11] == "A" { "B" } else { "A" });
    let other_secret =
        crate::keys::secret::PlainKey::generate(&crate::keys::secret::KeyPrefix::default(), live);
    let labels = w
        .report(&[
            &live_key,
            &revoked_key,
            "some_token",
            &mistyped,
            other_secret.expose(),
        ])
        .await
        .unwrap();
    let got: Vec<Label> = labels.iter().map(|l| l.label).collect();
    assert_eq!(
        got,
        [
            Label::TruePositive,
            Label::TruePositive,
            Label::FalsePositive,
            Label::FalsePositive,
            Label::FalsePositive,
        ],
        "a key with the right id and the wrong secret is no key of this deployment"
    );
    assert_eq!(
        labels[0].token_hash,
        crate::sessions::model::digest(&live_key)
    );
    assert_eq!(labels[0].token_type, "latchkey_api_key");
    let leaks = w.leaks();
    assert_eq!(leaks.len(), 1, "the revoked key needs nothing");
    assert_eq!(leaks[0].key_id, live);
    assert_eq!(
        leaks[0].url.as_deref(),
        Some("https://github.com/o/r/blob/main/.env")
    );
    assert_eq!(leaks[0].reporter, Reporter::Github);
}

#[tokio::test]
async fn a_report_with_a_wrong_signature_does_nothing() {
    let w = world();
    let (_, key) = w.key("k").await;
    let body = json!([{"token": key, "type": "t", "url": "", "source": "content"}]).to_string();
    let signature = w.github.sign(&body.replace("content", "commit"));
    let err = w
        .intake
        .github_report(Some("test-key"), Some(&signature), body.as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)));
    assert!(w.leaks().is_empty());
}

#[tokio::test]
async fn the_worker_revokes_by_default_once_however_often_the_leak_comes() {
    let w = world();
    let (id, key) = w.key("orders").await;
    w.report(&[&key]).await.unwrap();
    let leak = w.leaks().remove(0);
    let response = w.wiring.leak_response();
    assert_eq!(response.handle(&leak).await.unwrap(), Applied::Done);
    assert_eq!(response.handle(&leak).await.unwrap(), Applied::Skipped);
    let stored = w.stored(id).await;
    assert_eq!(stored.revocation_reason.as_deref(), Some(REASON));
    assert_eq!(stored.revoked_at, Some(leak.reported_at));
    assert_eq!(stored.leaked_at, Some(leak.reported_at));
    let events = w.leaked_events().await;
    assert_eq!(events.len(), 1, "one event, however often it came");
    let event = &events[0];
    assert_eq!(event.actor.id, "secret-scanning");
    assert_eq!(event.context.family, "secret-scanning");
    assert_eq!(
        event.changes["url"].to,
        json!("https://github.com/o/r/blob/main/.env")
    );
    assert_eq!(event.changes["response"].to, json!("revoke"));
    assert_eq!(event.changes["revocation_reason"].to, json!(REASON));
    assert!(
        !serde_json::to_string(&event.changes)
            .unwrap()
            .contains(&key)
    );
    // What the webhooks send of it: where it was found and what was done, never the key.
    let (kind, body) = crate::webhooks::events::payload_of(event).expect("a webhook event");
    assert_eq!(kind, "key.leaked");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["data"]["id"], json!(id.to_string()));
    assert_eq!(
        body["data"]["url"],
        json!("https://github.com/o/r/blob/main/.env")
    );
    assert_eq!(body["data"]["source"], json!("content"));
    assert_eq!(body["data"]["response"], json!("revoke"));
    assert!(!body.to_string().contains(&key));
    let inbox = w
        .wiring
        .notifications()
        .list(
            &w.owner.user_id,
            &crate::notifications::Page {
                unread_only: false,
                limit: 50,
                after: None,
            },
        )
        .await
        .unwrap();
    let leaked: Vec<_> = inbox
        .notifications
        .iter()
        .filter(|n| n.kind == notifications_kind())
        .collect();
    assert_eq!(leaked.len(), 1, "told once");
    assert!(leaked[0].message.contains("revoked"));
    // Reported again later: nothing more is sent.
    w.clock.advance(chrono::Duration::minutes(5));
    let labels = w.report(&[&key]).await.unwrap();
    assert_eq!(
        labels[0].label,
        Label::TruePositive,
        "still a key this deployment stores"
    );
    assert!(w.leaks().is_empty());
}

fn notifications_kind() -> &'static str {
    crate::notifications::kinds::API_KEY_LEAKED
}

#[tokio::test]
async fn policy_notify_leaves_the_key_working_and_tells_once() {
    let w = world();
    let settings = w.wiring.security_settings();
    settings
        .set_leak_response(&w.owner, LeakPolicy::Notify)
        .await
        .unwrap();
    let (id, key) = w.key("billing").await;
    w.report(&[&key]).await.unwrap();
    let leak = w.leaks().remove(0);
    assert_eq!(
        w.wiring.leak_response().handle(&leak).await.unwrap(),
        Applied::Done
    );
    let stored = w.stored(id).await;
    assert!(stored.revoked_at.is_none(), "the key keeps working");
    assert_eq!(stored.leaked_at, Some(leak.reported_at));
    assert_eq!(
        w.leaked_events().await[0].changes["response"].to,
        json!("notify")
    );
    w.report(&[&key]).await.unwrap();
    assert!(
        w.leaks().is_empty(),
        "a key already flagged is not flagged again"
    );
}

#[tokio::test]
async fn the_public_endpoint_says_nothing_and_keeps_each_address_to_its_budget() {
    let w = world();
    let (id, key) = w.key("found").await;
    let foreign = crate::keys::secret::PlainKey::generate(
        &crate::keys::secret::KeyPrefix::default(),
        crate::ids::KeyId(uuid::Uuid::new_v4()),
    );
    let bodies = [
        json!({"credentials": [key]}).to_string(),
        json!({"credentials": [key]}).to_string(),
        json!({"credentials": [foreign.expose()]}).to_string(),
        "not json".to_owned(),
        json!({"credentials": ["sk_nothing"]}).to_string(),
        json!({"credentials": 5}).to_string(),
    ];
    for body in &bodies {
        w.intake
            .presented(Presented {
                address: Some("198.51.100.7"),
                body: body.as_bytes(),
            })
            .await
            .expect("taken, whatever it is");
    }
    let sent: Vec<Vec<LeakedKey>> = w
        .queue
        .take()
        .into_iter()
        .map(|(message, _)| match message {
            WorkMessage::KeysLeaked { leaks } => leaks,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        sent.iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 1, 0],
        "a message for each report with a well-formed key, live or not; none for the rest"
    );
    assert!(
        sent.iter()
            .flatten()
            .all(|l| l.key_id == id && l.reporter == Reporter::Finder)
    );
    for _ in bodies.len()..intake::PRESENTED_PER_WINDOW as usize {
        w.intake
            .presented(Presented {
                address: Some("198.51.100.7"),
                body: b"{}",
            })
            .await
            .unwrap();
    }
    let spent = w
        .intake
        .presented(Presented {
            address: Some("198.51.100.7"),
            body: b"{}",
        })
        .await
        .unwrap_err();
    assert!(matches!(
        spent,
        Error::Throttled {
            retry_after: 1..=60,
            ..
        }
    ));
    w.intake
        .presented(Presented {
            address: Some("198.51.100.8"),
            body: b"{}",
        })
        .await
        .expect("another address has its own budget");
    w.clock.advance(chrono::Duration::seconds(60));
    w.intake
        .presented(Presented {
            address: Some("198.51.100.7"),
            body: b"{}",
        })
        .await
        .expect("a new minute, a new budget");
}

#[tokio::test]
async fn only_owners_and_admins_with_a_session_see_or_set_the_policy() {
    let w = world();
    let settings = w.wiring.security_settings();
    for role in [Role::Member, Role::Viewer] {
        let who = caller("ws-leak", "someone", Credential::Session { role });
        assert!(matches!(settings.get(&who).await, Err(Error::Forbidden(_))));
        assert!(matches!(
            settings.set_leak_response(&who, LeakPolicy::Notify).await,
            Err(Error::Forbidden(_))
        ));
    }
    let admin = caller(
        "ws-leak",
        "admin-1",
        Credential::Session { role: Role::Admin },
    );
    assert_eq!(
        settings.get(&admin).await.unwrap().leak_response,
        LeakPolicy::Revoke
    );
    settings
        .set_leak_response(&admin, LeakPolicy::Notify)
        .await
        .unwrap();
    settings
        .set_leak_response(&admin, LeakPolicy::Notify)
        .await
        .unwrap();
    let other = caller(
        "ws-other",
        "owner-2",
        Credential::Session { role: Role::Owner },
    );
    assert_eq!(
        settings.get(&other).await.unwrap().leak_response,
        LeakPolicy::Revoke,
        "another workspace keeps its own"
    );
    let query = AuditQuery {
        action: Some("workspace.settings_updated".into()),
        limit: 10,
        ..AuditQuery::default()
    };
    let (events, _) = w
        .storage
        .audit()
        .newest_first(&admin.workspace_id, &query)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "an unchanged policy records nothing");
    assert_eq!(events[0].changes["leak_response"].from, json!("revoke"));
    assert_eq!(events[0].changes["leak_response"].to, json!("notify"));
}
