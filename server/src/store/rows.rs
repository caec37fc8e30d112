//! Rows as the database returns them, and their conversion to records. Stored text is parsed again on
//! the way out, so a corrupt row is an error rather than a wrong answer.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use todoke_shared::preferences::PickupPoint;
use todoke_shared::shipment::{Address, GeoPoint, NewShipment, Parcel, Promise, Recipient, TimeWindow};
use todoke_shared::{Language, ReasonCode, ShipmentStatus, TrackingNumber};
use uuid::Uuid;

use super::{EventRecord, ShipmentRecord, StoreError};

#[derive(sqlx::FromRow)]
pub(super) struct ShipmentRow {
    pub id: Uuid,
    pub tracking_number: String,
    pub merchant: String,
    pub external_ref: String,
    pub request_digest: String,
    pub status: String,
    pub recipient_name: String,
    pub recipient_email: String,
    pub recipient_phone: Option<String>,
    pub language: String,
    pub address_lines: String,
    pub postal_code: String,
    pub city: String,
    pub region: Option<String>,
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    pub timezone: String,
    pub promised_date: NaiveDate,
    pub window_start: NaiveTime,
    pub window_end: NaiveTime,
    pub preferences: String,
    pub flags: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(super) struct ParcelRow {
    pub shipment_id: Uuid,
    pub barcode: String,
    pub weight_g: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    pub status: String,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// A stored value that cannot be read. Only its length is told: stored text may be personal.
fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} ({} bytes)", value.len()))
}

pub(super) fn parse_status(text: &str) -> Result<ShipmentStatus, StoreError> {
    ShipmentStatus::parse(text).ok_or_else(|| corrupt("status", text))
}

impl ShipmentRow {
    /// Joins the row with its parcels (in position order) into a record.
    pub fn into_record(self, parcels: Vec<ParcelRow>) -> Result<ShipmentRecord, StoreError> {
        let parcels = parcels
            .into_iter()
            .map(|p| {
                let weight_g = u32::try_from(p.weight_g).map_err(|_| corrupt("weight_g", &p.weight_g.to_string()))?;
                Ok(Parcel { barcode: p.barcode, weight_g })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let lines: Vec<String> =
            serde_json::from_str(&self.address_lines).map_err(|_| corrupt("address_lines", &self.address_lines))?;
        Ok(ShipmentRecord {
            id: self.id,
            tracking_number: TrackingNumber::parse(&self.tracking_number)
                .map_err(|_| corrupt("tracking_number", &self.tracking_number))?,
            merchant: Some(self.merchant).filter(|m| !m.is_empty()),
            request_digest: self.request_digest,
            status: parse_status(&self.status)?,
            content: NewShipment {
                external_ref: self.external_ref,
                recipient: Recipient {
                    name: self.recipient_name,
                    email: self.recipient_email,
                    phone: self.recipient_phone,
                    language: Language::from_code(&self.language).ok_or_else(|| corrupt("language", &self.language))?,
                },
                address: Address {
                    lines,
                    postal_code: self.postal_code,
                    city: self.city,
                    region: self.region,
                    country: self.country,
                    lat: self.lat,
                    lon: self.lon,
                    timezone: self.timezone,
                },
                promised: Promise {
                    date: self.promised_date,
                    window: TimeWindow { start: self.window_start, end: self.window_end },
                },
                parcels,
                preferences: serde_json::from_str(&self.preferences)
                    .map_err(|_| corrupt("preferences", &self.preferences))?,
                flags: serde_json::from_str(&self.flags).map_err(|_| corrupt("flags", &self.flags))?,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl TryFrom<EventRow> for EventRecord {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<EventRecord, StoreError> {
        let reason = match row.reason.as_deref() {
            None => None,
            Some(text) => Some(ReasonCode::parse(text).ok_or_else(|| corrupt("reason", text))?),
        };
        Ok(EventRecord {
            status: parse_status(&row.status)?,
            occurred_at: row.occurred_at,
            recorded_at: row.recorded_at,
            actor: row.actor,
            location: row.lat.zip(row.lon).map(|(lat, lon)| GeoPoint { lat, lon }),
            reason,
            note: row.note,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct PickupPointRow {
    pub id: String,
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    pub opening_hours: String,
}

impl From<PickupPointRow> for PickupPoint {
    fn from(row: PickupPointRow) -> PickupPoint {
        let PickupPointRow { id, name, address, lat, lon, opening_hours } = row;
        PickupPoint { id, name, address, lat, lon, opening_hours }
    }
}
