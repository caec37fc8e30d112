//! Records as staff and merchants see them: times local to the address, links made absolute.

use todoke_shared::preferences::{PreferenceChangeView, pod_requirements};
use todoke_shared::shipment::{EventView, ShipmentDetail, ShipmentView};

use crate::links::Links;
use crate::store::{EventRecord, PreferenceChange, ShipmentRecord};

/// `access_code`: whether the caller may read the customer's access code; otherwise it is masked.
pub fn shipment_view(record: &ShipmentRecord, links: &Links, access_code: bool) -> ShipmentView {
    let address = &record.content.address;
    ShipmentView {
        id: record.id,
        tracking_number: record.tracking_number,
        external_ref: record.content.external_ref.clone(),
        status: record.status,
        recipient: record.content.recipient.clone(),
        address: address.clone(),
        promised: record.content.promised,
        parcels: record.content.parcels.clone(),
        tracking_url: links.customer_tracking_page(&record.tracking_number, record.id),
        preferences: if access_code { record.content.preferences.clone() } else { record.content.preferences.masked() },
        flags: record.content.flags,
        // Stored preferences passed these rules when they were chosen.
        pod_requirements: pod_requirements(&record.content.preferences.method, &record.content.flags)
            .unwrap_or_default(),
        created_at: address.local_time(record.created_at),
        updated_at: address.local_time(record.updated_at),
    }
}

pub fn shipment_detail(
    record: &ShipmentRecord,
    events: &[EventRecord],
    changes: &[PreferenceChange],
    links: &Links,
    access_code: bool,
) -> ShipmentDetail {
    let address = &record.content.address;
    let events = events
        .iter()
        .map(|event| EventView {
            status: event.status,
            occurred_at: address.local_time(event.occurred_at),
            actor: event.actor.clone(),
            location: event.location,
            reason: event.reason,
            note: event.note.clone(),
        })
        .collect();
    let preference_changes = changes
        .iter()
        .map(|change| PreferenceChangeView {
            changed_at: address.local_time(change.changed_at),
            actor: change.actor.clone(),
            field: change.field.clone(),
            old_value: change.old_value.clone(),
            new_value: change.new_value.clone(),
        })
        .collect();
    ShipmentDetail { shipment: shipment_view(record, links, access_code), events, preference_changes }
}
