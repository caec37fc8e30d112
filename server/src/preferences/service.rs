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

/// The fields that may change while the shipment is in `status`.
pub fn changeable(status: ShipmentStatus) -> Vec<&'static str> {
    match status {
        ShipmentStatus::InfoReceived | ShipmentStatus::AtDepot => FIELDS.to_vec(),
        status if status.is_final() => Vec::new(),
        _ => LATE_FIELDS.to_vec(),
    }
}

/// Judges a change of `shipment`'s preferences to `wanted`: the preferences to store and one record per
/// changed field, or why it is too late. A masked access code sent back means "keep it".
pub fn judge(
    shipment: &ShipmentRecord,
    events: &[EventRecord],
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
    let allowed = changeable(shipment.status);
    if changed.iter().any(|field| !allowed.contains(field)) {
        // The cut-off passed with the first step beyond the depot: dispatch, or an exception before it.
        let cutoff_at = events
            .iter()
            .find(|e| !matches!(e.status, ShipmentStatus::InfoReceived | ShipmentStatus::AtDepot))
            .map(|e| e.occurred_at);
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
