//! What can be done to shipments, independent of HTTP: create (idempotently by the merchant's order
//! id) and move through the lifecycle, recording each change in the timeline.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use todoke_shared::shipment::{NewEvent, NewShipment};
use todoke_shared::{ShipmentStatus, TrackingNumber, TransitionError};
use uuid::Uuid;

use crate::clock::Clock;
use crate::links::Links;
use crate::notify::Mail;
use crate::store::dispatch::{Happening, Transition};
use crate::store::{BarcodeTaken, EventRecord, PlaceStore, ShipmentKey, ShipmentRecord, Store, StoreError};

/// What the shipments' endpoints need.
#[derive(Clone)]
pub struct ShipmentService {
    /// The delivery slots and pickup points customers choose from.
    pub places: Arc<dyn PlaceStore>,
    pub store: Arc<dyn Store>,
    pub mail: Arc<Mail>,
    pub links: Arc<Links>,
    /// How many days after the promised date a customer may move the delivery.
    pub reschedule_days: i64,
    pub clock: Arc<dyn Clock>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShipmentError {
    #[error("there is no shipment with that id")]
    NotFound,
    #[error("no shipment has this tracking number; please check it again")]
    UnknownTrackingNumber,
    #[error("order '{0}' already has a shipment with different details; use a new external_ref for a new shipment")]
    ExternalRefTaken(String),
    /// Parcel barcodes are unique per merchant: a depot scan must find one parcel.
    #[error("{}", barcodes_taken(.0))]
    BarcodesTaken(Vec<BarcodeTaken>),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn barcodes_taken(taken: &[BarcodeTaken]) -> String {
    taken.iter().map(BarcodeTaken::to_string).collect::<Vec<_>>().join("; ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    /// The same order was sent before with the same details.
    Existing,
}

/// How often a write is retried when it collides with another (a taken tracking number, or a status
/// changed by another server in between).
const ATTEMPTS: usize = 3;

#[tracing::instrument(skip_all, fields(merchant = merchant, shipment_id = tracing::field::Empty))]
pub async fn create(
    store: &dyn Store,
    content: NewShipment,
    merchant: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(Created, ShipmentRecord), ShipmentError> {
    let created = create_once(store, content, merchant, actor, now).await;
    if let Ok((_, record)) = &created {
        tracing::Span::current().record("shipment_id", tracing::field::display(record.id));
    }
    created
}

/// Creates the shipment, or finds the same order made before.
async fn create_once(
    store: &dyn Store,
    content: NewShipment,
    merchant: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(Created, ShipmentRecord), ShipmentError> {
    let digest = request_digest(&content);
    let order = ShipmentKey::ExternalRef { merchant, external_ref: &content.external_ref };
    if let Some(existing) = store.find_shipment(order).await? {
        return same_order(existing, &digest, &content.external_ref);
    }
    for _ in 0..ATTEMPTS {
        let record = ShipmentRecord {
            id: Uuid::now_v7(),
            tracking_number: TrackingNumber::from_random_bits(rand::random()),
            merchant: merchant.map(str::to_string),
            request_digest: digest.clone(),
            status: ShipmentStatus::InfoReceived,
            content: content.clone(),
            created_at: now,
            updated_at: now,
        };
        let first_event = EventRecord {
            status: ShipmentStatus::InfoReceived,
            occurred_at: now,
            recorded_at: now,
            actor: actor.to_string(),
            location: None,
            reason: None,
            note: None,
        };
        match store.insert_shipment(&record, &first_event).await {
            Ok(()) => return Ok((Created::New, record)),
            // The same order arrived at the same moment, or (rarely) the tracking number is taken.
            Err(StoreError::Duplicate(_)) => {
                let order = ShipmentKey::ExternalRef { merchant, external_ref: &content.external_ref };
                if let Some(existing) = store.find_shipment(order).await? {
                    return same_order(existing, &digest, &content.external_ref);
                }
            }
            Err(StoreError::BarcodesTaken(taken)) => return Err(ShipmentError::BarcodesTaken(taken)),
            Err(error) => return Err(error.into()),
        }
    }
    Err(StoreError::Stale.into())
}

/// A retry of an order matches what was first sent, not what the shipment became: comparing with the
/// current content would answer 409 once the customer changed anything, and would let the merchant test
/// guesses of the customer's new access code.
fn same_order(
    existing: ShipmentRecord,
    digest: &str,
    external_ref: &str,
) -> Result<(Created, ShipmentRecord), ShipmentError> {
    if existing.request_digest == digest {
        Ok((Created::Existing, existing))
    } else {
        Err(ShipmentError::ExternalRefTaken(external_ref.to_string()))
    }
}

fn request_digest(content: &NewShipment) -> String {
    crate::auth::tokens::digest(&serde_json::to_string(content).unwrap_or_default())
}

pub async fn find(store: &dyn Store, key: ShipmentKey<'_>) -> Result<ShipmentRecord, ShipmentError> {
    store.find_shipment(key).await?.ok_or(ShipmentError::NotFound)
}

/// Applies a status change through the lifecycle rules and appends it to the timeline.
#[tracing::instrument(skip_all, fields(shipment_id = %id))]
pub async fn record_event(
    store: &dyn Store,
    mail: &Mail,
    id: Uuid,
    event: NewEvent,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ShipmentRecord, ShipmentError> {
    for _ in 0..ATTEMPTS {
        let mut shipment = find(store, ShipmentKey::Id(id)).await?;
        let happening = Happening {
            occurred_at: event.occurred_at.map_or(now, |t| t.with_timezone(&Utc)),
            recorded_at: now,
            actor: actor.to_string(),
            location: event.location,
            note: event.note.clone(),
        };
        let transition = Transition::judged(&shipment, event.change, happening, |next| {
            mail.for_transition(&shipment, next, event.change.reason())
        })?;
        let next = transition.event.status;
        match store.append_transition(id, transition.from, &transition.event, &transition.notices).await {
            Ok(()) => {
                shipment.status = next;
                shipment.updated_at = now;
                return Ok(shipment);
            }
            // Another change won the race; read the new status and judge again.
            Err(StoreError::Stale) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(StoreError::Stale.into())
}
