//! The onboarding checklist: steps complete by themselves when the user does the thing, or by hand.
//!
//! Each step is a mark holding when it was completed, set once: concurrent completions each set
//! their own mark, so none is ever lost, and a step's time never moves. `completed_at` is derived (the last step's
//! time once all are done), so it cannot disagree with the steps. Dismissal is set once, for good.

use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store_error::StoreError;
use crate::{clock::Clock, error::Error, ids::UserId};

/// A checklist step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Created an API key.
    CreatedApiKey,
    /// A key of theirs was verified successfully.
    VerifiedFirstRequest,
    /// Set an expiry on a key.
    SetKeyExpiration,
    /// Rotated a key.
    RotatedApiKey,
    /// Changed a notification preference.
    ConfiguredNotifications,
}

impl Step {
    /// Every step, in checklist order.
    pub const ALL: [Step; 5] = [
        Step::CreatedApiKey,
        Step::VerifiedFirstRequest,
        Step::SetKeyExpiration,
        Step::RotatedApiKey,
        Step::ConfiguredNotifications,
    ];

    /// The step's id.
    pub fn id(self) -> &'static str {
        match self {
            Step::CreatedApiKey => "created_api_key",
            Step::VerifiedFirstRequest => "verified_first_request",
            Step::SetKeyExpiration => "set_key_expiration",
            Step::RotatedApiKey => "rotated_api_key",
            Step::ConfiguredNotifications => "configured_notifications",
        }
    }

    /// What the step asks of the user.
    pub fn title(self) -> &'static str {
        match self {
            Step::CreatedApiKey => "Create your first API key",
            Step::VerifiedFirstRequest => "Verify your first request",
            Step::SetKeyExpiration => "Set an expiration on a key",
            Step::RotatedApiKey => "Rotate a key",
            Step::ConfiguredNotifications => "Choose your notifications",
        }
    }

    /// The step whose id is `raw`.
    pub fn parse(raw: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.id() == raw)
    }
}

/// One step of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProgress {
    /// The step's id.
    pub id: &'static str,
    /// What it asks of the user.
    pub title: &'static str,
    /// Whether it is done.
    pub completed: bool,
    /// When it was done.
    pub completed_at: Option<DateTime<Utc>>,
}

/// A user's checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingProgress {
    /// Every step, in order.
    pub steps: Vec<StepProgress>,
    /// Steps done.
    pub completed_steps: usize,
    /// Steps in all.
    pub total_steps: usize,
    /// Percent done, rounded down.
    pub completion_percentage: u32,
    /// When the last step was done, once all are.
    pub completed_at: Option<DateTime<Utc>>,
    /// Whether the user dismissed the checklist.
    pub dismissed: bool,
    /// When.
    pub dismissed_at: Option<DateTime<Utc>>,
}

/// The storage port of the checklist: when each mark (a step's id, or `dismissed_at`) was set.
#[async_trait]
pub trait OnboardingStore: Send + Sync {
    /// Sets `mark` of `user` to `at` unless it is set already (its first time never moves).
    async fn set_once(
        &self,
        user: &UserId,
        mark: &'static str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Every mark of `user` that is set, with its time.
    async fn marks(&self, user: &UserId) -> Result<HashMap<String, DateTime<Utc>>, StoreError>;
}

/// The mark that records a dismissal.
const DISMISSED: &str = "dismissed_at";

/// The checklist of every user.
pub struct Onboarding {
    store: Arc<dyn OnboardingStore>,
    clock: Arc<dyn Clock>,
    /// Steps this container already recorded, so repeated actions write once (a bounded memo:
    /// a step forgotten is written again, and the store keeps its first time).
    recorded: moka::sync::Cache<(UserId, Step), ()>,
}

impl Onboarding {
    /// The checklist kept in `store`.
    pub fn new(store: Arc<dyn OnboardingStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            recorded: moka::sync::Cache::new(100_000),
        }
    }

    async fn set_once(&self, user: &UserId, mark: &'static str) -> Result<(), Error> {
        Ok(self.store.set_once(user, mark, self.clock.now()).await?)
    }

    /// Completes `step` for `user` (no-op if done).
    pub async fn complete(&self, user: &UserId, step: Step) -> Result<(), Error> {
        let key = (user.clone(), step);
        if self.recorded.contains_key(&key) {
            return Ok(());
        }
        self.set_once(user, step.id()).await?;
        self.recorded.insert(key, ());
        Ok(())
    }

    /// Completes `step` as a side effect of another action: a failure is logged, not returned.
    pub async fn record(&self, user: &UserId, step: Step) {
        if let Err(err) = self.complete(user, step).await {
            tracing::warn!(error = %err, step = step.id(), "onboarding step not recorded");
        }
    }

    /// Dismisses the checklist for good.
    pub async fn dismiss(&self, user: &UserId) -> Result<(), Error> {
        self.set_once(user, DISMISSED).await
    }

    /// The checklist of `user`.
    pub async fn progress(&self, user: &UserId) -> Result<OnboardingProgress, Error> {
        let marks = self.store.marks(user).await?;
        let time = |name: &str| marks.get(name).copied();
        let steps: Vec<StepProgress> = Step::ALL
            .iter()
            .map(|step| {
                let completed_at = time(step.id());
                StepProgress {
                    id: step.id(),
                    title: step.title(),
                    completed: completed_at.is_some(),
                    completed_at,
                }
            })
            .collect();
        let completed_steps = steps.iter().filter(|s| s.completed).count();
        let total_steps = steps.len();
        let completed_at = (completed_steps == total_steps)
            .then(|| steps.iter().filter_map(|s| s.completed_at).max())
            .flatten();
        let dismissed_at = time(DISMISSED);
        Ok(OnboardingProgress {
            completion_percentage: (completed_steps * 100 / total_steps) as u32,
            steps,
            completed_steps,
            total_steps,
            completed_at,
            dismissed: dismissed_at.is_some(),
            dismissed_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_by_id() {
        for step in Step::ALL {
            assert_eq!(Step::parse(step.id()), Some(step));
        }
        assert_eq!(Step::parse("made_coffee"), None);
    }

    use crate::{clock::ManualClock, store::memory::MemoryOnboardingStore};

    #[tokio::test]
    async fn steps_complete_once_and_the_checklist_completes_with_the_last() {
        let store = Arc::new(MemoryOnboardingStore::default());
        let clock = ManualClock::now();
        let onboarding = Onboarding::new(store.clone(), clock.clone());
        let user = UserId::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
        let started = clock.now();
        onboarding.record(&user, Step::CreatedApiKey).await;
        clock.advance(chrono::Duration::minutes(1));
        onboarding.record(&user, Step::CreatedApiKey).await;
        assert_eq!(store.writes(), 1, "a recorded step is not written again");
        let progress = onboarding.progress(&user).await.unwrap();
        assert_eq!(
            (progress.completed_steps, progress.completion_percentage),
            (1, 20)
        );
        assert_eq!(progress.steps[0].completed_at, Some(started));
        assert_eq!(progress.completed_at, None);
        for step in Step::ALL {
            onboarding.complete(&user, step).await.unwrap();
        }
        let done = onboarding.progress(&user).await.unwrap();
        assert_eq!(done.completion_percentage, 100);
        assert_eq!(done.completed_at, Some(clock.now()), "the last step's time");
        assert!(!done.dismissed);
        onboarding.dismiss(&user).await.unwrap();
        clock.advance(chrono::Duration::minutes(1));
        onboarding.dismiss(&user).await.unwrap();
        let dismissed = onboarding.progress(&user).await.unwrap();
        assert!(dismissed.dismissed);
        assert_eq!(
            dismissed.dismissed_at, done.completed_at,
            "dismissal time never moves"
        );
    }
}
