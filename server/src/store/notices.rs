//! The outbox's records: notices to send, as written with the change that causes them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A notice to write in the same transaction as its cause.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotice {
    pub kind: String,
    pub recipient: String,
    pub language: String,
    /// The customer opted out of email: recorded, never sent.
    pub suppressed: bool,
    /// JSON: what the notice says beyond the shipment (a reason, a new window).
    pub payload: String,
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
