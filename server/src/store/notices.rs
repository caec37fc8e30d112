//! The outbox's records: notices to send, as written with the change that causes them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use todoke_shared::ReasonCode;
use uuid::Uuid;

use super::StoreError;

/// What a notice says beyond the shipment: its kind, with what that kind carries. Stored as the
/// `kind` column and a JSON `payload`.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// The parcel is out for delivery.
    Dispatched(Outcome),
    AttemptFailed(Outcome),
    Delivered(Outcome),
    /// The apology for a delay, with the new expected window.
    Delayed(Delay),
    /// The confirmation of a change of preferences.
    PreferencesChanged,
}

/// What the notice of a status change carries: the reason given, and the proof when a driver proved it
/// (the delivery slip reads it when the notice is written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_id: Option<Uuid>,
    #[serde(default)]
    pub reason: Option<ReasonCode>,
}

/// A new expected window, local to the address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    #[schema(value_type = String, format = Date)]
    pub date: chrono::NaiveDate,
    /// `HH:MM`
    pub start: String,
    pub end: String,
}

/// A stored notice that this server cannot read.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("unknown notice kind '{0}'")]
    UnknownKind(String),
    #[error("the payload of a notice of kind '{kind}' cannot be read: {error}")]
    Payload { kind: String, error: serde_json::Error },
}

impl Notice {
    /// The `kind` column, also part of the notice's `Message-ID`.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::Dispatched(_) => "dispatched",
            Notice::AttemptFailed(_) => "attempt_failed",
            Notice::Delivered(_) => "delivered",
            Notice::Delayed(_) => "delayed",
            Notice::PreferencesChanged => "preferences_changed",
        }
    }

    /// The `payload` column: JSON.
    pub fn payload(&self) -> String {
        let json = match self {
            Notice::Dispatched(outcome) | Notice::AttemptFailed(outcome) | Notice::Delivered(outcome) => {
                serde_json::to_string(outcome)
            }
            Notice::Delayed(delay) => serde_json::to_string(delay),
            Notice::PreferencesChanged => Ok("{}".to_string()),
        };
        json.unwrap_or_default()
    }

    /// Reads a notice back from its `kind` and `payload`.
    pub fn read(kind: &str, payload: &str) -> Result<Notice, NoticeError> {
        let unreadable = |error| NoticeError::Payload { kind: kind.to_string(), error };
        let outcome = || serde_json::from_str::<Outcome>(payload).map_err(unreadable);
        Ok(match kind {
            "dispatched" => Notice::Dispatched(outcome()?),
            "attempt_failed" => Notice::AttemptFailed(outcome()?),
            "delivered" => Notice::Delivered(outcome()?),
            "delayed" => Notice::Delayed(serde_json::from_str(payload).map_err(unreadable)?),
            "preferences_changed" => Notice::PreferencesChanged,
            other => return Err(NoticeError::UnknownKind(other.to_string())),
        })
    }

    /// The proof the notice names, if any.
    pub fn proof_id(&self) -> Option<Uuid> {
        match self {
            Notice::Dispatched(outcome) | Notice::AttemptFailed(outcome) | Notice::Delivered(outcome) => {
                outcome.proof_id
            }
            Notice::Delayed(_) | Notice::PreferencesChanged => None,
        }
    }
}

/// A notice to write in the same transaction as its cause.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotice {
    pub notice: Notice,
    pub recipient: String,
    pub language: String,
    /// The customer opted out of email: recorded, never sent.
    pub suppressed: bool,
    /// Domain of the stable `Message-ID`.
    pub domain: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NoticeRecord {
    pub id: Uuid,
    pub shipment_id: Uuid,
    pub kind: String,
    pub sequence: i64,
    pub recipient: String,
    pub language: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl NoticeRecord {
    /// What the notice says, read from its `kind` and `payload`.
    pub fn notice(&self) -> Result<Notice, NoticeError> {
        Notice::read(&self.kind, &self.payload)
    }
}

/// How an attempt to send ended.
#[derive(Debug, Clone, PartialEq)]
pub enum NoticeOutcome {
    Sent {
        at: DateTime<Utc>,
    },
    /// A temporary failure: try again at `at`.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// A permanent failure (a 5xx reply, an invalid address): no more attempts.
    Failed {
        error: String,
    },
    /// Waited too long without success.
    Expired {
        error: String,
    },
}

/// The row an outcome leaves.
pub(crate) struct OutcomeColumns<'a> {
    pub status: &'static str,
    pub sent_at: Option<DateTime<Utc>>,
    /// The next attempt; `None` keeps it.
    pub retry_at: Option<DateTime<Utc>>,
    pub error: Option<&'a str>,
}

impl NoticeOutcome {
    pub(crate) fn columns(&self) -> OutcomeColumns<'_> {
        let (status, sent_at, retry_at, error) = match self {
            NoticeOutcome::Sent { at } => ("sent", Some(*at), None, None),
            NoticeOutcome::Retry { at, error } => ("pending", None, Some(*at), Some(error.as_str())),
            NoticeOutcome::Failed { error } => ("failed", None, None, Some(error.as_str())),
            NoticeOutcome::Expired { error } => ("expired", None, None, Some(error.as_str())),
        };
        OutcomeColumns { status, sent_at, retry_at, error }
    }
}

/// The outbox: notices that no other change causes, and the worker's claims on those due.
#[async_trait::async_trait]
pub trait NoticeStore: Send + Sync + 'static {
    /// Queues notices that no other change causes (a delay announced by the ETA work or by staff).
    async fn enqueue_notices(
        &self,
        shipment_id: Uuid,
        notices: &[NewNotice],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Claims up to `limit` notices that are due (or whose worker's lease ran out) until `lease_until`,
    /// counting an attempt for each. Several servers may claim at once; none gets another's.
    async fn claim_notices(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<NoticeRecord>, StoreError>;

    /// Records how each attempt of a batch ended, in one transaction: one commit for the batch rather
    /// than one per notice, which is what the outbox's rate hangs on.
    async fn finish_notices(&self, outcomes: &[(Uuid, NoticeOutcome)]) -> Result<(), StoreError>;

    /// A shipment's notices, oldest first.
    async fn notices(&self, shipment_id: Uuid) -> Result<Vec<NoticeRecord>, StoreError>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The payloads as they were written before the enum, byte for byte.
    #[test]
    fn notices_are_stored_as_before_and_read_back() {
        let proof_id = Uuid::now_v7();
        let reason = Some(ReasonCode::RecipientNotHome);
        let date = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let delay = Delay { date, start: "14:00".into(), end: "16:00".into() };
        let cases = [
            (Notice::Dispatched(Outcome { proof_id: None, reason: None }), json!({"reason": null}).to_string()),
            (
                Notice::AttemptFailed(Outcome { proof_id: Some(proof_id), reason }),
                json!({"reason": reason, "proof_id": proof_id}).to_string(),
            ),
            (Notice::Delivered(Outcome { proof_id: None, reason }), json!({"reason": reason}).to_string()),
            (Notice::Delayed(delay.clone()), serde_json::to_string(&delay).unwrap()),
            (Notice::PreferencesChanged, "{}".to_string()),
        ];
        for (notice, before) in cases {
            assert_eq!(notice.payload(), before, "{notice:?}");
            assert_eq!(Notice::read(notice.kind(), &notice.payload()).unwrap(), notice);
        }
        assert_eq!(serde_json::to_string(&delay).unwrap(), r#"{"date":"2026-05-01","start":"14:00","end":"16:00"}"#);
        assert!(matches!(Notice::read("postcard", "{}"), Err(NoticeError::UnknownKind(_))));
    }
}
