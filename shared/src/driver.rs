//! What the driver's phone holds for the day: the driver's routes, stops in order, and at each stop
//! what is needed at the door. The server answers `GET /api/v1/driver/manifest` with it; the driver
//! app keeps it for working offline.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dispatch::RouteStatus;
use crate::preferences::{Preferences, Proof, ShipmentFlags};
use crate::shipment::{Address, GeoPoint};
use crate::status::ShipmentStatus;
use crate::tracking_number::TrackingNumber;

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
