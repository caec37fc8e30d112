//! Changing preferences after checkout: the cut-off, the access code that stays unless replaced, and a
//! record of each field that changed.

use chrono::{DateTime, Utc};
use todoke_shared::ShipmentStatus;
use todoke_shared::preferences::{ACCESS_CODE_MASK, FIELDS, LATE_FIELDS, Preferences};

use crate::store::{EventRecord, PreferenceChange, ShipmentRecord};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("this can no longer be changed: the parcel is on its way or delivered; still changeable: {changeable:?}")]
pub struct Locked {
    /// When the cut-off passed (dispatch, or the final status).
    pub cutoff_at: Option<DateTime<Utc>>,
    pub changeable: Vec<&'static str>,
}

/// The fields that may change while the shipment is in `status`; `arrived` when the driver is at the
/// door, which closes the instructions: they were for the way there.
pub fn changeable(status: ShipmentStatus, arrived: bool) -> Vec<&'static str> {
    match status {
        ShipmentStatus::InfoReceived | ShipmentStatus::AtDepot => FIELDS.to_vec(),
        status if status.is_final() => Vec::new(),
        _ if arrived => LATE_FIELDS.into_iter().filter(|field| *field != "instructions").collect(),
        _ => LATE_FIELDS.to_vec(),
    }
}

/// Whether a change of these fields must land before the driver arrives.
pub fn closes_at_arrival(fields: &[&str]) -> bool {
    fields.contains(&"instructions")
}

/// Judges a change of `shipment`'s preferences to `wanted`: the preferences to store and one record per
/// changed field, or why it is too late. A field sent as it is counts as no change, so a full
/// replacement that repeats what is locked passes. A masked access code sent back means "keep it".
/// `arrived_at` is when the driver arrived at the shipment's open stop, if they have.
pub fn judge(
    shipment: &ShipmentRecord,
    events: &[EventRecord],
    arrived_at: Option<DateTime<Utc>>,
    mut wanted: Preferences,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(Preferences, Vec<PreferenceChange>), Locked> {
    let current = &shipment.content.preferences;
    if wanted.access_code.as_deref() == Some(ACCESS_CODE_MASK) {
        wanted.access_code = current.access_code.clone();
    }
    // Compared as values; the descriptions below are only what the record shows.
    let differs = [
        current.method != wanted.method,
        current.window != wanted.window,
        current.instructions != wanted.instructions,
        current.access_code != wanted.access_code,
        current.language != wanted.language,
        current.email_notices != wanted.email_notices,
    ];
    let changed: Vec<&'static str> =
        FIELDS.iter().zip(differs).filter(|(_, differs)| *differs).map(|(field, _)| *field).collect();
    let (before, after) = (current.describe(), wanted.describe());
    let allowed = changeable(shipment.status, arrived_at.is_some());
    if let Some(&refused) = changed.iter().find(|field| !allowed.contains(field)) {
        let cutoff_at = match arrived_at {
            // The instructions closed when the driver arrived.
            Some(at) if LATE_FIELDS.contains(&refused) && !shipment.status.is_final() => Some(at),
            // The cut-off passed with the first step beyond the depot: dispatch, or an exception before it.
            _ => events
                .iter()
                .find(|e| !matches!(e.status, ShipmentStatus::InfoReceived | ShipmentStatus::AtDepot))
                .map(|e| e.occurred_at),
        };
        return Err(Locked { cutoff_at, changeable: allowed });
    }
    let changes = changed
        .into_iter()
        .map(|field| {
            let value = |described: &[(&'static str, Option<String>); 6]| {
                described.iter().find(|(name, _)| *name == field).and_then(|(_, v)| v.clone())
            };
            PreferenceChange {
                changed_at: now,
                actor: actor.to_string(),
                field: field.to_string(),
                old_value: value(&before),
                new_value: value(&after),
            }
        })
        .collect();
    Ok((wanted, changes))
}
