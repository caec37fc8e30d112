//! Delivery routes over HTTP: built automatically for a depot's day or by hand, sequenced, dispatched,
//! and changed afterwards (the work is [`DispatchService`]'s, in `planning` and `changes`).

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use todoke_shared::dispatch::{
    AddStopRequest, BuildRoutesRequest, NewRouteRequest, ReorderRequest, RoutePlanReport, RouteQuery, RouteView,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::DispatchService;
use crate::auth::policy::{Action, authorize};
use crate::auth::{Authenticated, Authenticator};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::openapi::FORBIDDEN;

pub(super) fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    DispatchService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list_routes, create_route))
        .routes(routes!(build_routes))
        .routes(routes!(read_route))
        .routes(routes!(dispatch_route))
        .routes(routes!(add_stop, reorder_stops))
        .routes(routes!(remove_stop))
        .routes(routes!(sequence_route))
}

/// The routes of a depot's day, stops in order with planned times (staff).
#[utoipa::path(get, path = "/api/v1/routes", tag = "dispatch", security(("accessToken" = [])), params(RouteQuery),
    responses(
        (status = 200, description = "The routes of the day, stops in order", body = Vec<RouteView>),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `depot_not_found`: no depot has this id"),
    ))]
async fn list_routes(
    State(dispatch): State<DispatchService>,
    Authenticated(caller): Authenticated,
    // Read after the caller is known to be allowed: who may never look learns no more than that.
    query: Result<ApiQuery<RouteQuery>, ApiError>,
) -> Result<Json<Vec<RouteView>>, ApiError> {
    authorize(&caller, Action::ViewDispatch)?;
    let ApiQuery(query) = query?;
    Ok(Json(dispatch.day(query.depot, query.date).await?))
}

/// One route, stops in order with planned times, and the changes made to it (staff).
#[utoipa::path(get, path = "/api/v1/routes/{id}", tag = "dispatch", security(("accessToken" = [])),
    params(("id" = Uuid, Path, description = "Route id")),
    responses(
        (status = 200, description = "The route, stops in order with planned times", body = RouteView),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `route_unknown`: no route has this id"),
    ))]
async fn read_route(
    State(dispatch): State<DispatchService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::ViewDispatch)?;
    Ok(Json(dispatch.route(&id).await?))
}

/// Build the day's routes automatically (admin, dispatcher): every shipment waiting at the depot for
/// that day, split across the available drivers by zone and capacity, each route sequenced to keep
/// the customers' windows where it can. The report names what was left at the depot, what is
/// planned late, and what lies outside every zone.
#[utoipa::path(post, path = "/api/v1/routes/build", tag = "dispatch",
    security(("accessToken" = [])),
    request_body = BuildRoutesRequest,
    responses(
        (status = 201, description = "The routes built, and what was left", body = RoutePlanReport),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `depot_not_found`: no depot has this id\n\
                                      - `driver_not_found`: a driver named is not a driver of the depot"),
        (status = 409, description = "- `route_already_dispatched`: the route is out already\n\
                                      - `shipment_not_at_depot`: a shipment has not been received at the depot\n\
                                      - `already_routed`: a shipment is on another route that day\n\
                                      - `concurrent_change`: the route changed meanwhile; read it again and retry"),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`\n\
                                      - `invalid_value`: a value is out of range (named in `errors`)"),
    ))]
async fn build_routes(
    State(dispatch): State<DispatchService>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<BuildRoutesRequest>,
) -> Result<(StatusCode, Json<RoutePlanReport>), ApiError> {
    authorize(&caller, Action::Dispatch)?;
    Ok((StatusCode::CREATED, Json(dispatch.build(&request).await?)))
}

/// Make a route by hand (admin, dispatcher): these shipments, in this order, for this driver. Sequence
/// it afterwards with `POST /api/v1/routes/{id}/sequence`, or keep the order given.
#[utoipa::path(post, path = "/api/v1/routes", tag = "dispatch",
    security(("accessToken" = [])),
    request_body = NewRouteRequest,
    responses(
        (status = 201, description = "The route", body = RouteView),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `depot_not_found`: no depot has this id\n\
                                      - `driver_not_found`: no driver has this id\n\
                                      - `shipment_not_found`: a shipment named does not exist"),
        (status = 409, description = "- `route_already_dispatched`: the route is out already\n\
                                      - `shipment_not_at_depot`: a shipment has not been received at the depot\n\
                                      - `already_routed`: a shipment is on another route that day\n\
                                      - `concurrent_change`: the route changed meanwhile; read it again and retry"),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`\n\
                                      - `invalid_value`: a value is out of range (named in `errors`)"),
    ))]
async fn create_route(
    State(dispatch): State<DispatchService>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewRouteRequest>,
) -> Result<(StatusCode, Json<RouteView>), ApiError> {
    authorize(&caller, Action::Dispatch)?;
    Ok((StatusCode::CREATED, Json(dispatch.create(&request).await?)))
}

/// Send a route out (admin, dispatcher): every shipment on it moves to `out_for_delivery` and each
/// customer's dispatched notice is queued, in one transaction.
#[utoipa::path(post, path = "/api/v1/routes/{id}/dispatch", tag = "dispatch", security(("accessToken" = [])),
    params(("id" = Uuid, Path, description = "Route id")),
    responses(
        (status = 200, description = "Dispatched: the route as it is now", body = RouteView),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `route_unknown`: no route has this id"),
        (status = 409, description = "- `route_already_dispatched`: the route is out already\n\
                                      - `shipment_not_at_depot`: a shipment has not been received at the depot\n\
                                      - `already_routed`: a shipment is on another route that day\n\
                                      - `concurrent_change`: the route changed meanwhile; read it again and retry"),
    ))]
async fn dispatch_route(
    State(dispatch): State<DispatchService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    Ok(Json(dispatch.dispatch(&caller.actor(), &id).await?))
}

/// Add a shipment to a route (admin, dispatcher), at a position or last. On a dispatched route the
/// shipment goes out for delivery too, and its customer is told.
#[utoipa::path(post, path = "/api/v1/routes/{id}/stops", tag = "dispatch",
    security(("accessToken" = [])),
    request_body = AddStopRequest,
    params(("id" = Uuid, Path, description = "Route id")),
    responses(
        (status = 200, description = "The route with the stop", body = RouteView),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `route_unknown`: no route has this id\n\
                                      - `shipment_not_found`: no shipment has this tracking number"),
        (status = 409, description = "- `route_already_dispatched`: the route is out already\n\
                                      - `shipment_not_at_depot`: a shipment has not been received at the depot\n\
                                      - `already_routed`: a shipment is on another route that day\n\
                                      - `concurrent_change`: the route changed meanwhile; read it again and retry"),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`\n\
                                      - `invalid_value`: a value is out of range (named in `errors`)"),
    ))]
async fn add_stop(
    State(dispatch): State<DispatchService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<AddStopRequest>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    Ok(Json(dispatch.add_stop(&caller.actor(), &id, &request).await?))
}

/// Take a stop off a route (admin, dispatcher). On a dispatched route the shipment goes back to
/// waiting at the depot.
#[utoipa::path(delete, path = "/api/v1/routes/{id}/stops/{stop_id}", tag = "dispatch", security(("accessToken" = [])),
    params(("id" = Uuid, Path, description = "Route id"), ("stop_id" = Uuid, Path, description = "Stop id")),
    responses(
        (status = 200, description = "The route without the stop", body = RouteView),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `route_unknown`: no route has this id\n\
                                      - `stop_not_found`: the route has no such stop"),
        (status = 409, description = "- `route_already_dispatched`: the route is out already\n\
                                      - `shipment_not_at_depot`: a shipment has not been received at the depot\n\
                                      - `already_routed`: a shipment is on another route that day\n\
                                      - `concurrent_change`: the route changed meanwhile; read it again and retry"),
    ))]
async fn remove_stop(
    State(dispatch): State<DispatchService>,
    Authenticated(caller): Authenticated,
    ApiPath((id, stop_id)): ApiPath<(String, String)>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    Ok(Json(dispatch.remove_stop(&caller.actor(), &id, &stop_id).await?))
}

/// Put a route's stops in an order given by hand (admin, dispatcher): every stop id, once.
#[utoipa::path(put, path = "/api/v1/routes/{id}/stops", tag = "dispatch",
    security(("accessToken" = [])),
    request_body = ReorderRequest,
    params(("id" = Uuid, Path, description = "Route id")),
    responses(
        (status = 200, description = "The route in its new order", body = RouteView),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `route_unknown`: no route has this id"),
        (status = 409, description = "- `route_already_dispatched`: the route is out already\n\
                                      - `shipment_not_at_depot`: a shipment has not been received at the depot\n\
                                      - `already_routed`: a shipment is on another route that day\n\
                                      - `concurrent_change`: the route changed meanwhile; read it again and retry"),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`\n\
                                      - `invalid_value`: a value is out of range (named in `errors`)"),
    ))]
async fn reorder_stops(
    State(dispatch): State<DispatchService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ReorderRequest>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    Ok(Json(dispatch.reorder(&caller.actor(), &id, &request.stops).await?))
}

/// Sequence a route's stops with the solver (admin, dispatcher), keeping its customers' windows where
/// it can.
#[utoipa::path(post, path = "/api/v1/routes/{id}/sequence", tag = "dispatch", security(("accessToken" = [])),
    params(("id" = Uuid, Path, description = "Route id")),
    responses(
        (status = 200, description = "The route, sequenced", body = RouteView),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `route_unknown`: no route has this id"),
        (status = 409, description = "- `route_already_dispatched`: the route is out already\n\
                                      - `shipment_not_at_depot`: a shipment has not been received at the depot\n\
                                      - `already_routed`: a shipment is on another route that day\n\
                                      - `concurrent_change`: the route changed meanwhile; read it again and retry"),
    ))]
async fn sequence_route(
    State(dispatch): State<DispatchService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    Ok(Json(dispatch.sequence(&caller.actor(), &id).await?))
}
