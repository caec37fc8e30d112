//! What the driver's phone holds for the day: the driver's routes, stops in order, and at each stop
//! what is needed at the door. The server answers `GET /api/v1/driver/manifest` with it; the driver
//! app keeps it for working offline.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dispatch::RouteStatus;
use crate::preferences::{Preferences, Proof, ShipmentFlags};
use crate::shipment::{Address, GeoPoint, coordinate};
use crate::status::ShipmentStatus;
use crate::tracking_number::TrackingNumber;
use crate::validation::ValidationErrors;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Manifest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    /// The driver's routes that day, earliest first; empty on a day without work.
    pub routes: Vec<ManifestRoute>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestRoute {
    pub id: Uuid,
    pub depot_id: Uuid,
    /// `planned` routes may still change before dispatch.
    pub status: RouteStatus,
    /// Changes with every change of the route.
    pub version: i64,
    pub distance_km: f64,
    pub planned_start: DateTime<FixedOffset>,
    pub planned_end: DateTime<FixedOffset>,
    pub stops: Vec<ManifestStop>,
}

/// One door: when, where, who, and what proof the delivery needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestStop {
    pub id: Uuid,
    /// 1-based, in driving order.
    pub position: usize,
    pub planned_arrival: DateTime<FixedOffset>,
    pub planned_departure: DateTime<FixedOffset>,
    /// The customer's window.
    pub window_start: DateTime<FixedOffset>,
    pub window_end: DateTime<FixedOffset>,
    /// Where to go: the address, or the chosen pickup point.
    pub location: GeoPoint,
    pub shipment_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tracking_number: TrackingNumber,
    pub status: ShipmentStatus,
    pub recipient_name: String,
    pub recipient_phone: Option<String>,
    pub address: Address,
    /// The customer's choice, instructions and door code included.
    pub preferences: Preferences,
    pub flags: ShipmentFlags,
    /// What the driver must capture, from the shared rules.
    pub pod_requirements: Vec<Proof>,
    /// The barcodes to scan, one per parcel.
    pub parcels: Vec<String>,
}

/// The most points in one batch: an hour of a point every few seconds.
pub const MAX_POINTS: usize = 1000;

/// Points as the phone collected them, sent together (after a stretch offline, all at once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LocationBatch {
    /// 1 to 1,000 points.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub points: Vec<LocationPoint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LocationPoint {
    /// When the phone measured it.
    pub at: DateTime<FixedOffset>,
    #[cfg_attr(feature = "openapi", schema(minimum = -90, maximum = 90))]
    pub lat: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = -180, maximum = 180))]
    pub lon: f64,
    /// Metres.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100_000))]
    pub accuracy_m: Option<f64>,
    /// Metres a second.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub speed_mps: Option<f64>,
    /// Degrees clockwise from north.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 360))]
    pub heading_deg: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationReceipt {
    pub accepted: usize,
    /// The newest point the server holds for this driver now.
    pub latest: Option<DateTime<FixedOffset>>,
}

impl LocationBatch {
    /// Checks every point; `now` bounds the times, which may not lie in the future.
    pub fn validate(&self, now: DateTime<chrono::Utc>) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.points.is_empty() || self.points.len() > MAX_POINTS {
            errors.add("points", "invalid_length", format!("send 1 to {MAX_POINTS} points; split longer batches"));
        }
        for (i, point) in self.points.iter().enumerate() {
            let field = |name: &str| format!("points[{i}].{name}");
            errors.check(&field("lat"), coordinate(point.lat, 90.0));
            errors.check(&field("lon"), coordinate(point.lon, 180.0));
            let ranges = [
                ("accuracy_m", point.accuracy_m, 100_000.0),
                ("speed_mps", point.speed_mps, 100.0),
                ("heading_deg", point.heading_deg, 360.0),
            ];
            for (name, value, max) in ranges {
                if value.is_some_and(|v| !(0.0..=max).contains(&v)) {
                    errors.add(field(name), "out_of_range", format!("give a number from 0 to {max}, or leave it out"));
                }
            }
            if point.at > now + chrono::Duration::minutes(5) {
                errors.add(field("at"), "in_future", "must not lie in the future; check the phone's clock");
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}
