//! Records as staff and merchants see them: times local to the address, links made absolute.

use todoke_shared::shipment::{EventView, ShipmentDetail, ShipmentView};

use crate::app::Links;
use crate::store::{EventRecord, ShipmentRecord};

pub fn shipment_view(record: &ShipmentRecord, links: &Links) -> ShipmentView {
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
        created_at: address.local_time(record.created_at),
        updated_at: address.local_time(record.updated_at),
    }
}

pub fn shipment_detail(record: &ShipmentRecord, events: &[EventRecord], links: &Links) -> ShipmentDetail {
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
    ShipmentDetail { shipment: shipment_view(record, links), events }
}
