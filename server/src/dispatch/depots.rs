//! Depots, the zones drawn for them, and the drivers who start there (staff).

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use todoke_shared::dispatch::{DepotView, DriverProfileRequest, DriverView, NewDepotRequest, NewZoneRequest, ZoneView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::DispatchError;
use super::zones::parse_area;
use crate::auth::policy::{Action, authorize};
use crate::auth::{Authenticated, Authenticator};
use crate::clock::Clock;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::openapi::FORBIDDEN;
use crate::store::dispatch::{DepotRecord, DriverRecord, ZoneRecord};
use crate::store::{AccountStore, DepotStore, StoreError};
use todoke_shared::ProblemCode;

/// What the depots', zones' and drivers' endpoints need: the depots, and the accounts a driver's
/// profile is given to.
#[derive(Clone)]
pub struct DepotService {
    pub depots: Arc<dyn DepotStore>,
    pub accounts: Arc<dyn AccountStore>,
    pub clock: Arc<dyn Clock>,
}

pub(super) fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DepotService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list_depots, create_depot))
        .routes(routes!(list_zones, create_zone))
        .routes(routes!(list_drivers))
        .routes(routes!(save_driver))
}

fn view(depot: DepotRecord) -> DepotView {
    DepotView {
        id: depot.id,
        name: depot.name,
        address: depot.address,
        location: depot.location,
        timezone: depot.timezone,
    }
}

fn zone_view(zone: ZoneRecord) -> ZoneView {
    ZoneView {
        id: zone.id,
        depot_id: zone.depot_id,
        name: zone.name,
        area: serde_json::from_str(&zone.area).unwrap_or(serde_json::Value::Null),
    }
}

fn driver_view(driver: DriverRecord) -> DriverView {
    DriverView {
        user_id: driver.user_id,
        name: driver.name,
        email: driver.email,
        depot_id: driver.depot_id,
        capacity: driver.capacity,
        shift: todoke_shared::shipment::TimeWindow { start: driver.shift_start, end: driver.shift_end },
        zones: driver.zones,
    }
}

/// The depot named in a path, or 404.
pub(super) async fn depot(depots: &dyn DepotStore, id: &str) -> Result<DepotRecord, DispatchError> {
    let id = Uuid::try_parse(id).map_err(|_| DispatchError::DepotNotFound)?;
    find_depot(depots, id).await
}

/// The depot of this id, or 404.
pub(super) async fn find_depot(depots: &dyn DepotStore, id: Uuid) -> Result<DepotRecord, DispatchError> {
    depots.depot(id).await?.ok_or(DispatchError::DepotNotFound)
}

/// The depots (staff).
#[utoipa::path(get, path = "/api/v1/depots", tag = "dispatch", security(("accessToken" = [])),
    responses(
        (status = 200, description = "Every depot", body = Vec<DepotView>),
        (status = 403, description = FORBIDDEN),
    ))]
async fn list_depots(
    State(depots): State<DepotService>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Vec<DepotView>>, ApiError> {
    authorize(&caller, Action::ViewDispatch)?;
    Ok(Json(depots.depots.depots().await?.into_iter().map(view).collect()))
}

/// Add a depot (admin, dispatcher).
#[utoipa::path(post, path = "/api/v1/depots", tag = "dispatch",
    security(("accessToken" = [])),
    request_body = NewDepotRequest,
    responses(
        (status = 201, description = "The depot", body = DepotView),
        (status = 403, description = FORBIDDEN),
        (status = 409, description = "- `conflict`: a depot has this name"),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`\n\
                                      - `invalid_value`: a value is out of range (named in `errors`)"),
    ))]
async fn create_depot(
    State(depots): State<DepotService>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewDepotRequest>,
) -> Result<(StatusCode, Json<DepotView>), ApiError> {
    authorize(&caller, Action::Dispatch)?;
    let depot = request.validate().map_err(ApiError::validation)?;
    let record = DepotRecord {
        id: Uuid::now_v7(),
        name: depot.name,
        address: depot.address,
        location: depot.location,
        timezone: depot.timezone,
        created_at: depots.clock.now(),
    };
    match depots.depots.insert_depot(&record).await {
        Err(StoreError::Duplicate(_)) => Err(ApiError::field(
            StatusCode::CONFLICT,
            ProblemCode::DepotNameTaken,
            "name",
            "another depot has this name",
        )),
        result => {
            result?;
            Ok((StatusCode::CREATED, Json(view(record))))
        }
    }
}

/// A depot's delivery zones (staff).
#[utoipa::path(get, path = "/api/v1/depots/{id}/zones", tag = "dispatch", security(("accessToken" = [])),
    params(("id" = Uuid, Path, description = "Depot id")),
    responses(
        (status = 200, description = "The depot's zones", body = Vec<ZoneView>),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `depot_not_found`: no depot has this id"),
    ))]
async fn list_zones(
    State(depots): State<DepotService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<ZoneView>>, ApiError> {
    authorize(&caller, Action::ViewDispatch)?;
    let depot = depot(&*depots.depots, &id).await?;
    Ok(Json(depots.depots.zones(depot.id).await?.into_iter().map(zone_view).collect()))
}

/// Draw a delivery zone for a depot: a GeoJSON polygon (admin, dispatcher).
#[utoipa::path(post, path = "/api/v1/depots/{id}/zones", tag = "dispatch",
    security(("accessToken" = [])),
    request_body = NewZoneRequest,
    params(("id" = Uuid, Path, description = "Depot id")),
    responses(
        (status = 201, description = "The zone", body = ZoneView),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `depot_not_found`: no depot has this id"),
        (status = 409, description = "- `conflict`: the depot has a zone of this name"),
        (status = 422, description = "- `invalid_value`: the name or the polygon (named in `errors`)"),
    ))]
async fn create_zone(
    State(depots): State<DepotService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<NewZoneRequest>,
) -> Result<(StatusCode, Json<ZoneView>), ApiError> {
    authorize(&caller, Action::Dispatch)?;
    let depot = depot(&*depots.depots, &id).await?;
    let name = todoke_shared::validation::text(&request.name, 100).map_err(|(code, message)| {
        // The text check's own codes (`required`, `too_long`, `invalid_characters`) are problem codes too.
        let code = ProblemCode::parse(code).unwrap_or(ProblemCode::InvalidValue);
        ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, code, "name", message)
    })?;
    parse_area(&request.area).map_err(|message| DispatchError::Invalid("area", message))?;
    let record = ZoneRecord {
        id: Uuid::now_v7(),
        depot_id: depot.id,
        name,
        area: request.area.to_string(),
        created_at: depots.clock.now(),
    };
    match depots.depots.insert_zone(&record).await {
        Err(StoreError::Duplicate(_)) => Err(ApiError::field(
            StatusCode::CONFLICT,
            ProblemCode::ZoneNameTaken,
            "name",
            "this depot has a zone of this name",
        )),
        result => {
            result?;
            Ok((StatusCode::CREATED, Json(zone_view(record))))
        }
    }
}

/// The drivers who start at a depot (staff).
#[utoipa::path(get, path = "/api/v1/depots/{id}/drivers", tag = "dispatch", security(("accessToken" = [])),
    params(("id" = Uuid, Path, description = "Depot id")),
    responses(
        (status = 200, description = "The depot's drivers", body = Vec<DriverView>),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `depot_not_found`: no depot has this id"),
    ))]
async fn list_drivers(
    State(depots): State<DepotService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<DriverView>>, ApiError> {
    authorize(&caller, Action::ViewDispatch)?;
    let depot = depot(&*depots.depots, &id).await?;
    Ok(Json(depots.depots.drivers(depot.id).await?.into_iter().map(driver_view).collect()))
}

/// Set a driver's depot, vehicle capacity, shift and zones (admin, dispatcher). The account must have
/// the driver role.
#[utoipa::path(put, path = "/api/v1/drivers/{id}", tag = "dispatch",
    security(("accessToken" = [])),
    request_body = DriverProfileRequest,
    params(("id" = Uuid, Path, description = "The driver's user id")),
    responses(
        (status = 200, description = "The driver's profile", body = DriverView),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `driver_not_found`: no account of role driver has this id\n\
                                      - `depot_not_found`: no depot has the id given"),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`\n\
                                      - `invalid_value`: a value is out of range (named in `errors`)"),
    ))]
async fn save_driver(
    State(depots): State<DepotService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<DriverProfileRequest>,
) -> Result<Json<DriverView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    let user = match Uuid::try_parse(&id) {
        Ok(id) => depots.accounts.user_by_id(id).await?,
        Err(_) => None,
    };
    let user = user.filter(|u| u.role == "driver").ok_or(DispatchError::NotADriver)?;
    request.check().map_err(ApiError::validation)?;
    let depot = find_depot(&*depots.depots, request.depot_id)
        .await
        .map_err(|_| DispatchError::Invalid("depot_id", "no depot has this id".to_string()))?;
    let zones = depots.depots.zones(depot.id).await?;
    if let Some(stray) = request.zones.iter().find(|z| !zones.iter().any(|zone| zone.id == **z)) {
        return Err(DispatchError::Invalid("zones", format!("zone {stray} is not one of this depot's zones")).into());
    }
    let record = DriverRecord {
        user_id: user.id,
        name: user.name,
        email: user.email,
        depot_id: depot.id,
        capacity: request.capacity,
        shift_start: request.shift.start,
        shift_end: request.shift.end,
        zones: request.zones,
        updated_at: depots.clock.now(),
    };
    depots.depots.save_driver(&record).await?;
    Ok(Json(driver_view(record)))
}
