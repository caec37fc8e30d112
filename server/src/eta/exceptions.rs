//! What staff watch during a depot's day: stops expected after their window, failed attempts, and
//! proofs flagged for review. The same facts the customers' delay notices come from.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, State};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Serialize;
use todoke_shared::dispatch::{RouteDriver, RouteQuery};
use todoke_shared::pod::ProofOutcome;
use todoke_shared::{ReasonCode, ShipmentStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::policy::{Action, authorize};
use crate::auth::{Authenticated, Authenticator};
use crate::dispatch::DispatchError;
use crate::eta::model::StopEta;
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::openapi::FORBIDDEN;
use crate::schedule::{DepotDay, due};
use crate::store::dispatch::{PlacedShipment, RouteRecord};
use crate::store::eta::RouteEtaRecord;
use crate::store::pod::ProofDetails;
use crate::store::{DepotStore, EtaStore, RouteStore};

/// What the exceptions list needs: the depot's routes and shipments, and the estimates, announcements
/// and proofs of its day.
#[derive(Clone)]
pub struct ExceptionService {
    pub depots: Arc<dyn DepotStore>,
    pub routes: Arc<dyn RouteStore>,
    pub estimates: Arc<dyn EtaStore>,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    ExceptionService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(exceptions))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Exceptions {
    pub depot_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// Open stops expected after their window closes, latest first.
    pub late_stops: Vec<LateStop>,
    /// In the order they were captured.
    pub failed_attempts: Vec<FailedAttempt>,
    /// Proofs captured farther from the address than the geofence allows.
    pub flagged_proofs: Vec<FlaggedProof>,
}

/// Times are on the depot's clock.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LateStop {
    pub route_id: Uuid,
    pub driver: RouteDriver,
    pub stop_id: Uuid,
    #[schema(value_type = String)]
    pub tracking_number: todoke_shared::TrackingNumber,
    pub window_start: DateTime<FixedOffset>,
    pub window_end: DateTime<FixedOffset>,
    pub expected_arrival: DateTime<FixedOffset>,
    pub minutes_late: i64,
    /// From the driver's news (`as_of`) or, before any, the plan.
    pub estimated_from: Option<DateTime<FixedOffset>>,
    /// The window the customer's last delay notice named, if one was sent.
    pub told_start: Option<DateTime<FixedOffset>>,
    pub told_end: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FailedAttempt {
    pub route_id: Uuid,
    pub stop_id: Uuid,
    pub proof_id: Uuid,
    #[schema(value_type = String)]
    pub tracking_number: todoke_shared::TrackingNumber,
    pub reason: Option<ReasonCode>,
    pub captured_at: DateTime<FixedOffset>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlaggedProof {
    pub route_id: Uuid,
    pub stop_id: Uuid,
    pub proof_id: Uuid,
    #[schema(value_type = String)]
    pub tracking_number: todoke_shared::TrackingNumber,
    pub outcome: ProofOutcome,
    /// From where the proof was captured to where the parcel was due.
    pub distance_m: f64,
    pub captured_at: DateTime<FixedOffset>,
}

/// A depot's exceptions of a day (staff): late stops, failed attempts, flagged proofs.
#[utoipa::path(get, path = "/api/v1/exceptions", tag = "dispatch", security(("accessToken" = [])), params(RouteQuery),
    responses(
        (status = 200, description = "Late stops, failed attempts and flagged proofs of the day", body = Exceptions),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `depot_not_found`: no depot has this id"),
    ))]
async fn exceptions(
    State(exceptions): State<ExceptionService>,
    Authenticated(caller): Authenticated,
    // Read after the caller is known to be allowed: who may never look learns no more than that.
    query: Result<ApiQuery<RouteQuery>, ApiError>,
) -> Result<Json<Exceptions>, ApiError> {
    authorize(&caller, Action::ViewDispatch)?;
    let ApiQuery(query) = query?;
    Ok(Json(exceptions.day(query.depot, query.date).await?))
}

impl ExceptionService {
    /// A depot's exceptions of a day.
    #[tracing::instrument(skip_all, fields(depot_id = %depot_id, date = %date))]
    pub async fn day(&self, depot_id: Uuid, date: NaiveDate) -> Result<Exceptions, DispatchError> {
        let depot = self.depots.depot(depot_id).await?.ok_or(DispatchError::DepotNotFound)?;
        let day = DepotDay::new(&depot, date);
        let local = |at: DateTime<Utc>| at.with_timezone(&day.tz).fixed_offset();
        let routes = self.routes.routes(depot.id, date).await?;
        let route_ids: Vec<Uuid> = routes.iter().map(|r| r.id).collect();
        let drivers: HashMap<Uuid, String> =
            self.depots.drivers(depot.id).await?.into_iter().map(|d| (d.user_id, d.name)).collect();
        let etas: HashMap<Uuid, RouteEtaRecord> =
            self.estimates.route_etas(&route_ids).await?.into_iter().map(|e| (e.route_id, e)).collect();
        let told: HashMap<Uuid, _> =
            self.estimates.announced(&route_ids).await?.into_iter().map(|a| (a.stop_id, a.told)).collect();
        let mut shipments: HashMap<Uuid, PlacedShipment> = HashMap::new();
        for route in &routes {
            shipments.extend(self.routes.route_shipments(route.id).await?.into_iter().map(|p| (p.shipment.id, p)));
        }

        let proofs = self.estimates.day_proofs(depot.id, date).await?;
        // A stop with a proof, or whose shipment moved on (delivered, failed, back at the depot…), is
        // closed: whatever an estimate made before said, it is no longer late.
        let closed: HashSet<Uuid> = proofs.iter().map(|p| p.stop_id).collect();
        let mut late_stops = Vec::new();
        for route in &routes {
            let driver =
                RouteDriver { id: route.driver_id, name: drivers.get(&route.driver_id).cloned().unwrap_or_default() };
            let (estimated_from, expected) = expected_arrivals(route, etas.get(&route.id), &shipments);
            for StopEta { stop_id, shipment_id, expected_arrival: expected, .. } in expected {
                let Some(placed) = shipments.get(&shipment_id) else { continue };
                if closed.contains(&stop_id) || !is_open(placed.shipment.status) {
                    continue;
                }
                let (_, window_start, window_end) = due(&placed.shipment);
                if expected <= window_end {
                    continue;
                }
                let told = told.get(&stop_id);
                late_stops.push(LateStop {
                    route_id: route.id,
                    driver: driver.clone(),
                    stop_id,
                    tracking_number: placed.shipment.tracking_number,
                    window_start: local(window_start),
                    window_end: local(window_end),
                    expected_arrival: local(expected),
                    minutes_late: (expected - window_end).num_minutes(),
                    estimated_from: estimated_from.map(local),
                    told_start: told.map(|t| local(t.start)),
                    told_end: told.map(|t| local(t.end)),
                });
            }
        }
        late_stops.sort_by_key(|s| std::cmp::Reverse(s.minutes_late));

        let mut failed_attempts = Vec::new();
        let mut flagged_proofs = Vec::new();
        for proof in proofs {
            let Some(placed) = shipments.get(&proof.shipment_id) else { continue };
            let tracking_number = placed.shipment.tracking_number;
            if proof.outcome == ProofOutcome::AttemptFailed {
                let details: Option<ProofDetails> = serde_json::from_str(&proof.details).ok();
                failed_attempts.push(FailedAttempt {
                    route_id: proof.route_id,
                    stop_id: proof.stop_id,
                    proof_id: proof.proof_id,
                    tracking_number,
                    reason: details.and_then(|d| d.reason),
                    captured_at: local(proof.captured_at),
                });
            }
            if proof.flagged {
                flagged_proofs.push(FlaggedProof {
                    route_id: proof.route_id,
                    stop_id: proof.stop_id,
                    proof_id: proof.proof_id,
                    tracking_number,
                    outcome: proof.outcome,
                    distance_m: proof.distance_m,
                    captured_at: local(proof.captured_at),
                });
            }
        }
        Ok(Exceptions { depot_id: depot.id, date, late_stops, failed_attempts, flagged_proofs })
    }
}

/// Each open stop's expected arrival, and the news it is from: the latest estimate of a dispatched
/// route, else the plan.
fn expected_arrivals(
    route: &RouteRecord,
    eta: Option<&RouteEtaRecord>,
    shipments: &HashMap<Uuid, PlacedShipment>,
) -> (Option<DateTime<Utc>>, Vec<StopEta>) {
    match eta {
        Some(eta) => (eta.as_of, eta.stops.clone()),
        None => {
            let open = route
                .stops
                .iter()
                .filter(|s| shipments.get(&s.shipment_id).is_some_and(|p| is_open(p.shipment.status)));
            let planned = open.enumerate().map(|(before, s)| StopEta {
                stop_id: s.id,
                shipment_id: s.shipment_id,
                expected_arrival: s.planned_arrival,
                stops_before: before as u32,
            });
            (None, planned.collect())
        }
    }
}

/// Whether a stop of a shipment in `status` may still be reached: waiting at the depot, or on its way.
fn is_open(status: ShipmentStatus) -> bool {
    matches!(status, ShipmentStatus::AtDepot | ShipmentStatus::OutForDelivery)
}
