//! Receiving at the depot: staff scan parcel barcodes; each shipment moves to `at_depot` and is placed in
//! the depot's zone that holds its address. Unknown and repeated barcodes are reported, never fatal.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{FromRef, State};
use todoke_shared::StatusChange;
use todoke_shared::dispatch::{ReceiveReport, ReceiveRequest, Received, Refused};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::depots::depot;
use super::mapping::transition;
use super::planning::waits_at;
use super::zones::{Area, parse_area, zone_of};
use super::{DispatchError, DispatchService};
use crate::auth::policy::{Action, authorize};
use crate::auth::{Authenticated, Authenticator};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::openapi::FORBIDDEN;
use crate::schedule::destination;
use crate::store::StoreError;

/// Scans per request: a trolley's worth.
const MAX_BARCODES: usize = 1000;

pub(super) fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DispatchService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(receive))
}

/// Receive scanned parcels at a depot (admin, dispatcher). Each barcode's shipment moves to `at_depot`;
/// the report tells what happened to every barcode.
#[utoipa::path(post, path = "/api/v1/depots/{id}/receive", tag = "dispatch",
    security(("accessToken" = [])),
    request_body = ReceiveRequest,
    params(("id" = Uuid, Path, description = "Depot id")),
    responses(
        (status = 200, description = "What happened to each barcode", body = ReceiveReport),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `depot_not_found`: no depot has this id"),
        (status = 422, description = "- `invalid_value`: 1 to 1,000 barcodes"),
    ))]
async fn receive(
    State(dispatch): State<DispatchService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ReceiveRequest>,
) -> Result<Json<ReceiveReport>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    Ok(Json(dispatch.receive(&caller.actor(), &id, &request.barcodes).await?))
}

impl DispatchService {
    /// Receives scanned parcels at a depot: each barcode's shipment moves to `at_depot` in the zone
    /// that holds its address; unknown, repeated and refused barcodes are reported.
    #[tracing::instrument(skip_all, fields(depot_id = %id))]
    pub async fn receive(&self, actor: &str, id: &str, barcodes: &[String]) -> Result<ReceiveReport, DispatchError> {
        let depot = depot(&*self.depots, id).await?;
        if barcodes.is_empty() || barcodes.len() > MAX_BARCODES {
            return Err(DispatchError::Invalid("barcodes", format!("give 1 to {MAX_BARCODES} barcodes")));
        }
        let zones = self.depots.zones(depot.id).await?;
        let areas: Vec<Area> = zones
            .iter()
            .filter_map(|z| Some(Area::new(z.id, parse_area(&serde_json::from_str(&z.area).ok()?).ok()?)))
            .collect();
        let pickup_points = self.places.pickup_points().await?;

        let mut report = ReceiveReport::default();
        let mut seen = HashSet::new();
        let mut received_shipments = HashSet::new();
        for raw in barcodes {
            let barcode = raw.trim().to_string();
            if !seen.insert(barcode.clone()) {
                report.duplicates.push(barcode);
                continue;
            }
            let found = self.routes.shipments_by_barcode(std::slice::from_ref(&barcode)).await?;
            let Some((_, placed)) = found.into_iter().next() else {
                report.unknown.push(barcode);
                continue;
            };
            let shipment = &placed.shipment;
            // Another parcel of a shipment already received in this batch, or a second scan of one
            // received here before.
            if received_shipments.contains(&shipment.id) || waits_at(shipment.status, placed.depot_id, depot.id) {
                report.duplicates.push(barcode);
                continue;
            }
            let note = format!("received at {}", depot.name);
            let at = self.clock.now();
            let Ok(transition) = transition(
                &self.mail,
                actor.to_string(),
                shipment,
                StatusChange::AtDepot,
                Some(depot.location),
                note,
                at,
            ) else {
                report.refused.push(Refused {
                    barcode,
                    tracking_number: shipment.tracking_number,
                    status: shipment.status,
                });
                continue;
            };
            let zone = zone_of(destination(shipment, &pickup_points), &areas);
            let result = self.routes.receive(&transition, depot.id, zone).await;
            match result {
                // Someone else changed it a moment ago: report it as it now stands.
                Err(StoreError::Stale) => report.refused.push(Refused {
                    barcode,
                    tracking_number: shipment.tracking_number,
                    status: shipment.status,
                }),
                Err(error) => return Err(error.into()),
                Ok(()) => {
                    received_shipments.insert(shipment.id);
                    report.received.push(Received {
                        barcode,
                        shipment_id: shipment.id,
                        tracking_number: shipment.tracking_number,
                        zone: zone.and_then(|id| zones.iter().find(|z| z.id == id)).map(|z| z.name.clone()),
                        outside_zones: zone.is_none(),
                    });
                }
            }
        }
        Ok(report)
    }
}
