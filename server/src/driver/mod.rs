//! The driver's side of the day, over HTTP: the manifest of the calling driver's routes, and the
//! points the phone collects on the way.

pub mod ingest;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use todoke_shared::driver::{LocationBatch, LocationReceipt, Manifest, ManifestRoute, ManifestStop};
use todoke_shared::preferences::pod_requirements;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::tokens::digest;
use crate::auth::{Authenticator, Driver};
use crate::clock::Clock;
use crate::dispatch::DispatchError;
use crate::dispatch::mapping::{Planner, route_view};
use crate::eta::Eta;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::openapi::FORBIDDEN;
use crate::schedule::DepotDay;
use crate::store::dispatch::{DriverPoints, LocationRecord, PlacedShipment};
use crate::store::{DepotStore, LocationStore, PlaceStore, RouteStore, Store};
use ingest::LocationIngest;

/// What the driver's day needs: the routes and the driver's points, the pickup points, the arrival
/// times new points move, the planner that times the stops, how long points are kept, and the time.
#[derive(Clone)]
pub struct DriverService {
    /// The delivery slots and pickup points customers choose from.
    pub places: Arc<dyn PlaceStore>,
    pub depots: Arc<dyn DepotStore>,
    pub routes: Arc<dyn RouteStore>,
    pub locations: Arc<dyn LocationStore>,
    /// Where new points go: batches arriving together are written together.
    pub ingest: Arc<LocationIngest>,
    pub shipments: Arc<dyn Store>,
    pub eta: Arc<Eta>,
    pub planner: Planner,
    /// How long drivers' location points are kept.
    pub location_retention: chrono::Duration,
    pub clock: Arc<dyn Clock>,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DriverService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(manifest)).routes(routes!(record_locations))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ManifestQuery {
    /// The day (YYYY-MM-DD); today at the driver's depot when absent.
    date: Option<NaiveDate>,
}

/// The calling driver's routes for a day, stops in order with planned times and everything needed at
/// each door (drivers only). Answers `ETag`; with a matching `If-None-Match` it is 304 and no body.
#[utoipa::path(get, path = "/api/v1/driver/manifest", tag = "driver",
    security(("accessToken" = [])),
    params(ManifestQuery),
    responses(
        (status = 200, description = "The day's routes", body = Manifest),
        (status = 304, description = "Unchanged since the ETag sent"),
        (status = 403, description = FORBIDDEN),
    ))]
async fn manifest(
    State(service): State<DriverService>,
    // Before the query: who may never look learns no more than that.
    driver: Driver,
    ApiQuery(query): ApiQuery<ManifestQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let manifest = service.manifest(driver.id, query.date).await?;
    let body = serde_json::to_string(&manifest).map_err(|_| ApiError::internal())?;
    let etag = format!("\"{}\"", &digest(&body)[..32]);
    let etag_header = HeaderValue::from_str(&etag).map_err(|_| ApiError::internal())?;
    // The phone revalidates every time; an unchanged day costs a 304.
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if unchanged(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header), cache]).into_response());
    }
    let json = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok((StatusCode::OK, [(header::ETAG, etag_header), cache, json], body).into_response())
}

/// Where the calling driver has been: a batch of points as the phone collected them (drivers only).
/// Stored in one transaction; the newest point becomes the driver's position, from which the open
/// stops' arrival times are recomputed shortly after; points older than `TODOKE_LOCATION_RETENTION_DAYS`
/// are dropped.
#[utoipa::path(post, path = "/api/v1/driver/locations", tag = "driver",
    security(("accessToken" = [])),
    request_body = LocationBatch,
    responses(
        (status = 200, description = "How many points were kept", body = LocationReceipt),
        (status = 403, description = FORBIDDEN),
        (status = 422, description = "- `validation_failed`: points to fix, each named in `errors`"),
    ))]
async fn record_locations(
    State(service): State<DriverService>,
    driver: Driver,
    ApiJson(batch): ApiJson<LocationBatch>,
) -> Result<Json<LocationReceipt>, ApiError> {
    let id = driver.id;
    let now = service.clock.now();
    batch.validate(now).map_err(ApiError::validation)?;
    let keep_from = now - service.location_retention;
    let points = kept(&batch, keep_from);
    let accepted = points.len();
    let batch = DriverPoints { driver_id: id, points, received_at: now };
    service.ingest.record(batch, keep_from).await.map_err(DispatchError::from)?;
    if accepted > 0 {
        service.eta.touch(id);
    }
    let latest = service.locations.driver_position(id).await.map_err(DispatchError::from)?;
    Ok(Json(LocationReceipt { accepted, latest: latest.map(|p| p.recorded_at.fixed_offset()) }))
}

/// Whether the phone already has this version of the day: its `If-None-Match` names the tag, or any.
fn unchanged(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        // A proxy that compresses may weaken the tag; the body it stands for is the same.
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// The batch's points to keep: one older than the retention would be let go at once; it is not kept,
/// nor taken as the position.
fn kept(batch: &LocationBatch, keep_from: DateTime<Utc>) -> Vec<LocationRecord> {
    batch
        .points
        .iter()
        .filter(|p| p.at.with_timezone(&Utc) >= keep_from)
        .map(|p| LocationRecord {
            recorded_at: p.at.with_timezone(&Utc),
            lat: p.lat,
            lon: p.lon,
            accuracy_m: p.accuracy_m,
            speed_mps: p.speed_mps,
            heading_deg: p.heading_deg,
        })
        .collect()
}

impl DriverService {
    /// The driver's routes on `date` (today at their depot when `None`), in the order they start.
    async fn manifest(&self, driver: Uuid, date: Option<NaiveDate>) -> Result<Manifest, DispatchError> {
        // A driver without a depot yet has no routes: an empty day, not an error, for the app's first start.
        let Some(profile) = self.depots.driver(driver).await? else {
            return Ok(Manifest { date: date.unwrap_or_else(|| self.clock.now().date_naive()), routes: Vec::new() });
        };
        let depot = self.depots.depot(profile.depot_id).await?.ok_or(DispatchError::DepotNotFound)?;
        let date = date.unwrap_or_else(|| DepotDay::today(&depot, self.clock.now()));
        let pickup_points = self.places.pickup_points().await?;
        let mut routes = Vec::new();
        for route in self.routes.routes(depot.id, date).await?.into_iter().filter(|r| r.driver_id == driver) {
            let ids: Vec<Uuid> = route.stops.iter().map(|s| s.shipment_id).collect();
            let shipments: HashMap<Uuid, PlacedShipment> =
                self.routes.placed_shipments(&ids).await?.into_iter().map(|p| (p.shipment.id, p)).collect();
            let view = route_view(&route, &profile.name, &shipments, &[], &depot, &pickup_points, &self.planner);
            let stops = view
                .stops
                .into_iter()
                .filter_map(|stop| {
                    let shipment = &shipments.get(&stop.shipment_id)?.shipment;
                    let content = &shipment.content;
                    Some(ManifestStop {
                        id: stop.id,
                        position: stop.position,
                        planned_arrival: stop.planned_arrival,
                        planned_departure: stop.planned_departure,
                        window_start: stop.window_start,
                        window_end: stop.window_end,
                        location: stop.location,
                        shipment_id: shipment.id,
                        tracking_number: shipment.tracking_number,
                        status: shipment.status,
                        recipient_name: content.recipient.name.clone(),
                        recipient_phone: content.recipient.phone.clone(),
                        address: content.address.clone(),
                        preferences: content.preferences.clone(),
                        flags: content.flags,
                        // Stored preferences passed these rules when they were chosen.
                        pod_requirements: pod_requirements(&content.preferences.method, &content.flags)
                            .unwrap_or_default(),
                        parcels: content.parcels.iter().map(|p| p.barcode.clone()).collect(),
                    })
                })
                .collect();
            routes.push(ManifestRoute {
                id: view.id,
                depot_id: view.depot_id,
                status: view.status,
                version: view.version,
                distance_km: view.distance_km,
                planned_start: view.planned_start,
                planned_end: view.planned_end,
                stops,
            });
        }
        routes.sort_by_key(|r| r.planned_start);
        Ok(Manifest { date, routes })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use todoke_shared::driver::LocationPoint;

    use super::*;

    fn asking(if_none_match: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in if_none_match {
            headers.append(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn a_phone_that_has_the_day_already_is_told_it_is_unchanged() {
        let etag = "\"0123abcd\"";
        assert!(unchanged(&asking(&[etag]), etag));
        assert!(unchanged(&asking(&["W/\"0123abcd\""]), etag), "weakened by a proxy");
        assert!(unchanged(&asking(&["\"old\", \"0123abcd\""]), etag), "one of a list");
        assert!(unchanged(&asking(&["\"old\"", etag]), etag), "one of several headers");
        assert!(unchanged(&asking(&["*"]), etag));
    }

    #[test]
    fn a_phone_with_another_version_or_none_gets_the_day() {
        let etag = "\"0123abcd\"";
        assert!(!unchanged(&asking(&[]), etag));
        assert!(!unchanged(&asking(&["\"old\""]), etag));
        assert!(!unchanged(&asking(&["0123abcd"]), etag), "a tag is quoted");
    }

    #[test]
    fn points_older_than_the_retention_are_not_kept() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).unwrap();
        let point = |days_ago: i64| LocationPoint {
            at: (now - chrono::Duration::days(days_ago)).fixed_offset(),
            lat: 35.68,
            lon: 139.76,
            accuracy_m: Some(8.0),
            speed_mps: None,
            heading_deg: None,
        };
        let batch = LocationBatch { points: vec![point(31), point(30), point(0)] };
        let kept = kept(&batch, now - chrono::Duration::days(30));
        let kept_at: Vec<DateTime<Utc>> = kept.iter().map(|p| p.recorded_at).collect();
        assert_eq!(kept_at, [now - chrono::Duration::days(30), now]);
        assert_eq!(kept[1].accuracy_m, Some(8.0));
    }
}
