//! Warehouse dispatch on the wire: depots, zones, drivers' working days, receiving by scan, and routes
//! with their stops in order. The driver app reads routes through the same types.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::shipment::{GeoPoint, TimeWindow};
use crate::status::ShipmentStatus;
use crate::tracking_number::TrackingNumber;
use crate::validation::{ValidationErrors, text};

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDepotRequest {
    pub name: String,
    pub address: String,
    pub location: GeoPoint,
    /// IANA time zone; routes are planned on this clock. Default `Asia/Tokyo`.
    pub timezone: Option<String>,
}

/// A depot as validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDepot {
    pub name: String,
    pub address: String,
    pub location: GeoPoint,
    pub timezone: String,
}

impl NewDepotRequest {
    pub fn validate(self) -> Result<NewDepot, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = errors.check("name", text(&self.name, 100));
        let address = errors.check("address", text(&self.address, 300));
        let lat = errors.check("location.lat", crate::shipment::coordinate(self.location.lat, 90.0));
        let lon = errors.check("location.lon", crate::shipment::coordinate(self.location.lon, 180.0));
        let timezone = errors.check("timezone", crate::shipment::timezone(self.timezone.as_deref()));
        match (name, address, lat, lon, timezone) {
            (Some(name), Some(address), Some(lat), Some(lon), Some(timezone)) if errors.is_empty() => {
                Ok(NewDepot { name, address, location: GeoPoint { lat, lon }, timezone })
            }
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepotView {
    pub id: Uuid,
    pub name: String,
    pub address: String,
    pub location: GeoPoint,
    pub timezone: String,
}

/// A delivery zone drawn for a depot.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewZoneRequest {
    pub name: String,
    /// A GeoJSON `Polygon` or `MultiPolygon` geometry (or a `Feature` holding one), in longitude,
    /// latitude order as GeoJSON has it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub area: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZoneView {
    pub id: Uuid,
    pub depot_id: Uuid,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub area: serde_json::Value,
}

/// A driver's working setup: where they start, what they carry, when they work, where they go.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DriverProfileRequest {
    pub depot_id: Uuid,
    /// Parcels the vehicle carries.
    pub capacity: u32,
    /// Start and end of the shift, on the depot's clock.
    pub shift: TimeWindow,
    /// The zones this driver covers; empty or absent means any zone of the depot.
    #[serde(default)]
    pub zones: Vec<Uuid>,
}

impl DriverProfileRequest {
    /// Checks what needs no lookup (the depot and zones are checked against storage by the server).
    pub fn check(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.capacity == 0 || self.capacity > 10_000 {
            errors.add("capacity", "out_of_range", "give the parcels the vehicle carries, from 1 to 10000");
        }
        if self.shift.start >= self.shift.end {
            errors.add("shift", "invalid_window", "the shift must end after it starts, like 08:00 to 18:00");
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriverView {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub depot_id: Uuid,
    pub capacity: u32,
    pub shift: TimeWindow,
    pub zones: Vec<Uuid>,
}

/// Barcodes scanned at the depot door.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReceiveRequest {
    /// 1 to 1,000 scanned barcodes.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub barcodes: Vec<String>,
}

/// What became of each scanned barcode. Nothing here is fatal: the scanning goes on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiveReport {
    pub received: Vec<Received>,
    /// Barcodes of shipments already received here (a second scan), or scanned twice in this batch.
    pub duplicates: Vec<String>,
    /// Barcodes no shipment has.
    pub unknown: Vec<String>,
    /// Shipments that cannot be received in their state (delivered, cancelled, out for delivery...).
    pub refused: Vec<Refused>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Received {
    pub barcode: String,
    pub shipment_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tracking_number: TrackingNumber,
    /// The delivery zone the address lies in; absent when it lies in none of this depot's zones.
    pub zone: Option<String>,
    /// Flagged for staff: no zone of this depot covers the address.
    pub outside_zones: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refused {
    pub barcode: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tracking_number: TrackingNumber,
    pub status: ShipmentStatus,
}

/// Build the day's routes automatically.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BuildRoutesRequest {
    pub depot_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    /// Only these drivers (default: every driver of the depot without a route that day).
    pub drivers: Option<Vec<Uuid>>,
}

/// A route made by hand: these shipments, in this order, for this driver.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRouteRequest {
    pub depot_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    pub driver_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub shipments: Vec<String>,
}

/// Add a shipment to a route, at a position (1-based; default last).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddStopRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tracking_number: String,
    pub position: Option<u32>,
}

/// Put a route's stops in this order, by hand: every stop id, once.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReorderRequest {
    pub stops: Vec<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RouteStatus {
    /// Being built; the parcels are still at the depot.
    Planned,
    /// Out for delivery.
    Dispatched,
}

impl RouteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteStatus::Planned => "planned",
            RouteStatus::Dispatched => "dispatched",
        }
    }

    pub fn parse(text: &str) -> Option<RouteStatus> {
        match text {
            "planned" => Some(RouteStatus::Planned),
            "dispatched" => Some(RouteStatus::Dispatched),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteView {
    pub id: Uuid,
    pub depot_id: Uuid,
    pub driver: RouteDriver,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    pub status: RouteStatus,
    /// Bumped by every change.
    pub version: i64,
    /// Planned driving distance, back to the depot included.
    pub distance_km: f64,
    pub planned_start: DateTime<FixedOffset>,
    /// Back at the depot.
    pub planned_end: DateTime<FixedOffset>,
    /// Stops planned after the customer's window.
    pub late_stops: usize,
    pub stops: Vec<StopView>,
    /// Changes made after dispatch, oldest first.
    pub changes: Vec<RouteChangeView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteDriver {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StopView {
    pub id: Uuid,
    /// 1-based.
    pub position: usize,
    pub shipment_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tracking_number: TrackingNumber,
    pub status: ShipmentStatus,
    pub location: GeoPoint,
    pub parcels: u32,
    /// The customer's window on the route's day.
    pub window_start: DateTime<FixedOffset>,
    pub window_end: DateTime<FixedOffset>,
    pub planned_arrival: DateTime<FixedOffset>,
    pub planned_departure: DateTime<FixedOffset>,
    /// Planned after the window: the customer's choice could not be kept.
    pub late: bool,
    /// No zone of the depot covers the address.
    pub outside_zones: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteChangeView {
    pub changed_at: DateTime<FixedOffset>,
    pub actor: String,
    pub change: String,
}

/// The result of building a day's routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoutePlanReport {
    pub routes: Vec<RouteView>,
    /// Shipments left at the depot: no driver had room, or none covers their zone.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub unplaced: Vec<TrackingNumber>,
    /// Shipments placed, but planned after their window.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub late: Vec<TrackingNumber>,
    /// Shipments whose address no zone of the depot covers (routed all the same).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub outside_zones: Vec<TrackingNumber>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RouteQuery {
    /// The depot's id.
    pub depot: Uuid,
    /// The day, `YYYY-MM-DD`.
    #[cfg_attr(feature = "openapi", param(value_type = String, format = Date, example = "2026-11-24"))]
    pub date: NaiveDate,
}
