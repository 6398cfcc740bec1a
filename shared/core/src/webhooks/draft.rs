//! What a client sent to make or change an endpoint, checked by the domain's rules: every
//! problem reported on its field, for the API's 400 and the console's form alike.

use super::{
    events,
    url::{EndpointUrl, UrlPolicy},
};
use crate::error::{Error, FieldError};

/// The longest description.
pub const MAX_DESCRIPTION: usize = 256;

/// An endpoint's fields as sent (every one optional; a creation needs `url`).
#[derive(Clone, Debug, Default)]
pub struct EndpointDraft {
    /// Where deliveries go.
    pub url: Option<String>,
    /// What its owners call it.
    pub description: Option<String>,
    /// Event types, or `["*"]`.
    pub events: Option<Vec<String>>,
    /// Whether deliveries are made.
    pub enabled: Option<bool>,
}

/// An endpoint's checked fields: each one given, or `None` to keep it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointChanges {
    /// Where deliveries go.
    pub url: Option<EndpointUrl>,
    /// What its owners call it.
    pub description: Option<String>,
    /// Event types (deduplicated, in the order given), or `["*"]`.
    pub events: Option<Vec<String>>,
    /// Whether deliveries are made.
    pub enabled: Option<bool>,
}

impl EndpointChanges {
    /// The changes `draft` asks for under `policy`, or every problem on its field. A creation
    /// (`creating`) must name a URL.
    pub fn from_draft(
        draft: EndpointDraft,
        policy: UrlPolicy,
        creating: bool,
    ) -> Result<Self, Error> {
        let mut errors = Vec::new();
        let url = match draft.url {
            Some(raw) => EndpointUrl::parse(&raw, policy)
                .map_err(|why| errors.push(FieldError::new("url", format!("url {why}"))))
                .ok(),
            None if creating => {
                errors.push(FieldError::new("url", "url is required"));
                None
            }
            None => None,
        };
        let description = draft.description.map(|d| d.trim().to_owned());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION || d.chars().any(char::is_control))
        {
            errors.push(FieldError::new(
                "description",
                format!(
                    "description must be at most {MAX_DESCRIPTION} characters, without control characters"
                ),
            ));
        }
        let events = draft.events.map(|list| {
            let mut kept: Vec<String> = Vec::new();
            if list.is_empty() {
                errors.push(FieldError::new(
                    "events",
                    "events must name at least one event type, or \"*\"",
                ));
            }
            for (i, kind) in list.into_iter().enumerate() {
                if kind != events::ALL && !events::TYPES.contains(&kind.as_str()) {
                    errors.push(FieldError::new(
                        format!("events[{i}]"),
                        format!(
                            "unknown event type; expected \"*\" or one of {}",
                            events::TYPES.join(", ")
                        ),
                    ));
                } else if !kept.contains(&kind) {
                    kept.push(kind);
                }
            }
            if kept.iter().any(|k| k == events::ALL) {
                kept = vec![events::ALL.to_owned()];
            }
            kept
        });
        if !errors.is_empty() {
            return Err(Error::invalid_fields(errors));
        }
        Ok(Self {
            url,
            description,
            events,
            enabled: draft.enabled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fields(draft: EndpointDraft, creating: bool) -> Vec<String> {
        match EndpointChanges::from_draft(draft, UrlPolicy::PublicHttps, creating) {
            Err(Error::Validation { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_problem_is_named_on_its_field() {
        assert_eq!(fields(EndpointDraft::default(), true), ["url"]);
        assert_eq!(
            fields(
                EndpointDraft {
                    url: Some("http://10.0.0.1/".into()),
                    description: Some("x".repeat(300)),
                    events: Some(vec!["key.created".into(), "key.exploded".into()]),
                    enabled: None,
                },
                true
            ),
            ["url", "description", "events[1]"]
        );
        assert_eq!(
            fields(
                EndpointDraft {
                    events: Some(vec![]),
                    ..Default::default()
                },
                false
            ),
            ["events"]
        );
    }

    #[test]
    fn events_are_deduplicated_and_a_star_stands_alone() {
        let changes = EndpointChanges::from_draft(
            EndpointDraft {
                events: Some(vec!["key.created".into(), "*".into(), "key.created".into()]),
                ..Default::default()
            },
            UrlPolicy::PublicHttps,
            false,
        )
        .unwrap();
        assert_eq!(changes.events, Some(vec!["*".to_owned()]));
    }

    proptest! {
        #[test]
        fn any_draft_is_changes_or_field_errors(
            url in proptest::option::of(".{0,80}"),
            description in proptest::option::of(".{0,300}"),
            events in proptest::option::of(proptest::collection::vec(".{0,20}", 0..5)),
            creating in any::<bool>(),
        ) {
            let draft = EndpointDraft { url, description, events, enabled: None };
            match EndpointChanges::from_draft(draft, UrlPolicy::PublicHttps, creating) {
                Ok(_) | Err(Error::Validation { .. }) => {}
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
