//! The storage interface for proof of delivery: stop actions' idempotency keys, arrivals, and proofs
//! with their files.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use todoke_shared::ReasonCode;
use todoke_shared::dispatch::RouteStatus;
use todoke_shared::pod::{CaptureLocation, Feedback, ProofOutcome};
use todoke_shared::preferences::DeliveryMethod;
use uuid::Uuid;

use super::StoreError;
use super::dispatch::Transition;

/// A route stop with whose it is, for checking a driver's action on it.
#[derive(Debug, Clone, PartialEq)]
pub struct StopOwner {
    pub stop_id: Uuid,
    pub route_id: Uuid,
    pub route_status: RouteStatus,
    pub driver_id: Uuid,
    pub shipment_id: Uuid,
}

/// What taking an idempotency key found.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyClaim {
    /// The key is new (or was abandoned): this request goes ahead and must complete or release it.
    Taken,
    /// A request with this key and fingerprint was answered: these are its status and bytes.
    Answered { status: u16, body: Vec<u8> },
    /// The key was used for a different request.
    Mismatch,
    /// A request with this key is being handled right now.
    InProgress,
}

/// A request taking an idempotency key.
#[derive(Debug, Clone, Copy)]
pub struct KeyClaimRequest<'a> {
    pub driver_id: Uuid,
    pub key: &'a str,
    pub fingerprint: &'a str,
    /// The server instance handling the request.
    pub holder: Uuid,
    pub now: DateTime<Utc>,
    pub abandoned_before: DateTime<Utc>,
}

/// The answer to keep with a key, written in the same transaction as the action's change; only the
/// server still holding the key may write it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyAnswer {
    pub driver_id: Uuid,
    pub key: String,
    pub holder: Uuid,
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalRecord {
    pub stop_id: Uuid,
    pub driver_id: Uuid,
    pub arrived_at: DateTime<Utc>,
    pub location: CaptureLocation,
    pub recorded_at: DateTime<Utc>,
}

/// A stored file of a proof: its role and content-addressed name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFile {
    pub role: FileRole,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    Display,
    Thumbnail,
    Original,
    Signature,
}

impl FileRole {
    pub fn as_str(self) -> &'static str {
        match self {
            FileRole::Display => "display",
            FileRole::Thumbnail => "thumbnail",
            FileRole::Original => "original",
            FileRole::Signature => "signature",
        }
    }

    pub fn parse(value: &str) -> Option<FileRole> {
        [FileRole::Display, FileRole::Thumbnail, FileRole::Original, FileRole::Signature]
            .into_iter()
            .find(|role| role.as_str() == value)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProofRecord {
    pub id: Uuid,
    pub shipment_id: Uuid,
    pub stop_id: Uuid,
    pub driver_id: Uuid,
    pub outcome: ProofOutcome,
    pub captured_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub location: CaptureLocation,
    pub distance_m: f64,
    pub flagged: bool,
    /// JSON of what the driver reported beside the files, as hashed.
    pub details: String,
    /// In order: the signature first, then each photo's display, thumbnail (and original).
    pub files: Vec<ProofFile>,
    pub sha256: String,
}

/// What a proof records beside its files, as stored and hashed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProofDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<DeliveryMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_name: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub age_checked: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scanned: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[async_trait]
pub trait PodStore: Send + Sync + 'static {
    async fn stop_owner(&self, stop_id: Uuid) -> Result<Option<StopOwner>, StoreError>;

    /// Takes `key` for a request with `fingerprint`, handled by the server `holder`. A key never
    /// answered whose holder's lease has run out, or that was taken before `abandoned_before`, belonged
    /// to a request that died with its server: it is taken over.
    async fn take_key(&self, claim: &KeyClaimRequest<'_>) -> Result<KeyClaim, StoreError>;

    /// Lets a key go after its request failed, so that a corrected retry may use it.
    async fn release_key(&self, driver_id: Uuid, key: &str) -> Result<(), StoreError>;

    /// Records (or moves) the driver's arrival at a stop, with the answer for the key.
    async fn record_arrival(&self, arrival: &ArrivalRecord, answer: &KeyAnswer) -> Result<(), StoreError>;

    /// Stores a proof with its files, the shipment's transition (event and notices) and the answer for
    /// the key, in one transaction. [`StoreError::Stale`] when the shipment's status moved meanwhile.
    async fn record_proof(
        &self,
        proof: &ProofRecord,
        transition: &Transition,
        answer: &KeyAnswer,
    ) -> Result<(), StoreError>;

    /// A shipment's proofs, newest first.
    async fn proofs(&self, shipment_id: Uuid) -> Result<Vec<ProofRecord>, StoreError>;

    /// Whether any stored proof refers to the file.
    async fn file_in_use(&self, name: &str) -> Result<bool, StoreError>;

    /// Keeps the customer's feedback on a delivery, replacing any earlier.
    async fn save_feedback(&self, shipment_id: Uuid, feedback: &Feedback, at: DateTime<Utc>) -> Result<(), StoreError>;

    async fn feedback(&self, shipment_id: Uuid) -> Result<Option<Feedback>, StoreError>;
}
