//! Delivery routes: built automatically for a depot's day or by hand, sequenced, dispatched, and changed
//! afterwards with planned times kept true and every change recorded.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use todoke_shared::dispatch::{
    AddStopRequest, BuildRoutesRequest, NewRouteRequest, ReorderRequest, RoutePlanReport, RouteQuery, RouteStatus,
    RouteView,
};
use todoke_shared::preferences::PickupPoint;
use todoke_shared::{ShipmentStatus, StatusChange, TrackingNumber};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::DispatchError;
use super::depots::depot;
use super::plan::PlanningInput;
use super::service::{self, Planner, new_route, replan, route_input, route_view, vehicle, visit};
use super::solver::{Assignment, plan};
use crate::app::AppState;
use crate::auth::policy::{Action, authorize};
use crate::auth::{Authenticated, Caller};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::openapi::FORBIDDEN;
use crate::schedule::{DepotDay, due};
use crate::shipments::ShipmentError;
use crate::store::dispatch::{DepotRecord, DriverRecord, PlacedShipment, RouteChangeRecord, RouteRecord, Transition};
use crate::store::{ShipmentKey, StoreError};
use todoke_shared::ProblemCode;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_routes, create_route))
        .routes(routes!(build_routes))
        .routes(routes!(read_route))
        .routes(routes!(dispatch_route))
        .routes(routes!(add_stop, reorder_stops))
        .routes(routes!(remove_stop))
        .routes(routes!(sequence_route))
}

/// What a route's views and changes need besides the route.
struct Context {
    depot: DepotRecord,
    driver: DriverRecord,
    shipments: HashMap<Uuid, PlacedShipment>,
    pickup_points: Vec<PickupPoint>,
}

async fn context(state: &AppState, route: &RouteRecord) -> Result<Context, DispatchError> {
    let depot = state.dispatch.depot(route.depot_id).await?.ok_or(DispatchError::DepotNotFound)?;
    let driver = state.dispatch.driver(route.driver_id).await?.ok_or(DispatchError::NotADriver)?;
    let ids: Vec<Uuid> = route.stops.iter().map(|s| s.shipment_id).collect();
    let shipments = state.dispatch.placed_shipments(&ids).await?.into_iter().map(|p| (p.shipment.id, p)).collect();
    Ok(Context { depot, driver, shipments, pickup_points: state.store.pickup_points().await? })
}

async fn view(state: &AppState, route: &RouteRecord) -> Result<RouteView, DispatchError> {
    let context = context(state, route).await?;
    let changes = state.dispatch.route_changes(route.id).await?;
    Ok(route_view(
        route,
        &context.driver.name,
        &context.shipments,
        &changes,
        &context.depot,
        &context.pickup_points,
        &state.planner,
    ))
}

async fn find_route(state: &AppState, id: &str) -> Result<RouteRecord, DispatchError> {
    let id = Uuid::try_parse(id).map_err(|_| DispatchError::RouteNotFound)?;
    state.dispatch.route(id).await?.ok_or(DispatchError::RouteNotFound)
}

fn with_times(mut route: RouteRecord, context: &Context, planner: &Planner) -> RouteRecord {
    let input =
        route_input(&route, &context.depot, &context.driver, &context.shipments, &context.pickup_points, planner);
    let day = DepotDay::new(&context.depot, route.date);
    replan(&mut route, &input, &day, day.time_of_day(context.driver.shift_start), planner);
    route
}

/// Runs the solver off the async runtime: it is CPU work for seconds.
async fn solve_off_runtime(input: PlanningInput, planner: Planner) -> Result<Assignment, DispatchError> {
    let solved = tokio::task::spawn_blocking(move || plan(&input, &planner.travel(), planner.effort))
        .await
        .map_err(|e| super::solver::SolverError(e.to_string()))?;
    Ok(solved?)
}

/// The routes of a depot's day, stops in order with planned times (staff).
#[utoipa::path(get, path = "/api/v1/routes", tag = "dispatch", security(("accessToken" = [])), params(RouteQuery),
    responses(
        (status = 200, description = "The routes of the day, stops in order", body = Vec<RouteView>),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `depot_not_found`: no depot has this id"),
    ))]
async fn list_routes(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    // Read after the caller is known to be allowed: who may never look learns no more than that.
    query: Result<ApiQuery<RouteQuery>, ApiError>,
) -> Result<Json<Vec<RouteView>>, ApiError> {
    authorize(&caller, Action::ViewDispatch)?;
    let ApiQuery(query) = query?;
    let depot = depot(&state, &query.depot.to_string()).await?;
    let mut views = Vec::new();
    for route in state.dispatch.routes(depot.id, query.date).await? {
        views.push(view(&state, &route).await?);
    }
    Ok(Json(views))
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
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::ViewDispatch)?;
    let route = find_route(&state, &id).await?;
    Ok(Json(view(&state, &route).await?))
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
#[tracing::instrument(skip_all, fields(depot_id = %request.depot_id, date = %request.date))]
async fn build_routes(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<BuildRoutesRequest>,
) -> Result<(StatusCode, Json<RoutePlanReport>), ApiError> {
    authorize(&caller, Action::Dispatch)?;
    let depot = depot(&state, &request.depot_id.to_string()).await?;
    let date = request.date;
    let busy: HashSet<Uuid> = state.dispatch.routes(depot.id, date).await?.iter().map(|r| r.driver_id).collect();
    let mut drivers: Vec<DriverRecord> = state.dispatch.drivers(depot.id).await?;
    if let Some(chosen) = &request.drivers {
        if let Some(stray) = chosen.iter().find(|id| !drivers.iter().any(|d| d.user_id == **id)) {
            return Err(DispatchError::Invalid("drivers", format!("{stray} is not a driver of this depot")).into());
        }
        drivers.retain(|d| chosen.contains(&d.user_id));
    }
    drivers.retain(|d| !busy.contains(&d.user_id));
    let waiting: Vec<PlacedShipment> = state
        .dispatch
        .unrouted_at_depot(depot.id, date)
        .await?
        .into_iter()
        .filter(|p| due(&p.shipment).0 == date)
        .collect();
    let pickup_points = state.store.pickup_points().await?;
    let day = DepotDay::new(&depot, date);
    let input = PlanningInput {
        depot: depot.location,
        visits: waiting.iter().map(|p| visit(p, &day, &state.planner.speed, &pickup_points)).collect(),
        vehicles: drivers.iter().map(|d| vehicle(d, &day)).collect(),
    };
    let assignment = solve_off_runtime(input, state.planner).await?;

    let at = state.clock.now();
    let context_of = |driver: &DriverRecord, order: &[usize]| Context {
        depot: depot.clone(),
        driver: driver.clone(),
        shipments: order.iter().map(|&i| (waiting[i].shipment.id, waiting[i].clone())).collect(),
        pickup_points: pickup_points.clone(),
    };
    let mut routes = Vec::new();
    for (driver, order) in drivers.iter().zip(&assignment.routes).filter(|(_, order)| !order.is_empty()) {
        let ids: Vec<Uuid> = order.iter().map(|&i| waiting[i].shipment.id).collect();
        let route = new_route(depot.id, date, driver.user_id, &ids, at);
        let context = context_of(driver, order);
        routes.push((with_times(route, &context, &state.planner), context));
    }
    let records: Vec<RouteRecord> = routes.iter().map(|(r, _)| r.clone()).collect();
    match state.dispatch.insert_routes(&records).await {
        Err(StoreError::Duplicate(_)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ProblemCode::RoutesChanged,
                "Some of these shipments were routed by someone else meanwhile. Build again.",
            ));
        }
        result => result?,
    }
    let tracking = |i: &usize| waiting[*i].shipment.tracking_number;
    let late = routes
        .iter()
        .flat_map(|(route, context)| {
            route.stops.iter().filter(|s| s.late).map(|s| context.shipments[&s.shipment_id].shipment.tracking_number)
        })
        .collect();
    let report = RoutePlanReport {
        routes: routes
            .iter()
            .map(|(route, c)| {
                route_view(route, &c.driver.name, &c.shipments, &[], &c.depot, &c.pickup_points, &state.planner)
            })
            .collect(),
        unplaced: assignment.unplaced.iter().map(tracking).collect(),
        late,
        outside_zones: waiting.iter().filter(|p| p.zone_id.is_none()).map(|p| p.shipment.tracking_number).collect(),
    };
    Ok((StatusCode::CREATED, Json(report)))
}

/// The shipments named by tracking number, each waiting at `depot` and on no route yet.
async fn waiting_shipments(
    state: &AppState,
    numbers: &[String],
    field: &'static str,
) -> Result<Vec<PlacedShipment>, ApiError> {
    let mut found = Vec::with_capacity(numbers.len());
    for (index, text) in numbers.iter().enumerate() {
        let at = || format!("{field}[{index}]");
        let number = TrackingNumber::parse(text)
            .map_err(|e| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, e.code(), &at(), e.to_string()))?;
        let shipment = state.store.find_shipment(ShipmentKey::TrackingNumber(&number)).await?.ok_or_else(|| {
            ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::TrackingNumberUnknown,
                &at(),
                "no shipment has it",
            )
        })?;
        found.extend(state.dispatch.placed_shipments(&[shipment.id]).await?);
    }
    Ok(found)
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
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewRouteRequest>,
) -> Result<(StatusCode, Json<RouteView>), ApiError> {
    authorize(&caller, Action::Dispatch)?;
    let depot = depot(&state, &request.depot_id.to_string()).await?;
    let driver = state
        .dispatch
        .driver(request.driver_id)
        .await?
        .filter(|d| d.depot_id == depot.id)
        .ok_or(DispatchError::NotADriver)?;
    if request.shipments.is_empty() || request.shipments.len() > 1000 {
        return Err(DispatchError::Invalid("shipments", "give 1 to 1000 tracking numbers".to_string()).into());
    }
    let shipments = waiting_shipments(&state, &request.shipments, "shipments").await?;
    for placed in &shipments {
        ready(placed, &depot)?;
    }
    let ids: Vec<Uuid> = shipments.iter().map(|p| p.shipment.id).collect();
    if ids.iter().collect::<HashSet<_>>().len() != ids.len() {
        return Err(DispatchError::Invalid("shipments", "name each shipment once".to_string()).into());
    }
    let context = Context {
        depot: depot.clone(),
        driver,
        shipments: shipments.into_iter().map(|p| (p.shipment.id, p)).collect(),
        pickup_points: state.store.pickup_points().await?,
    };
    let route = with_times(
        new_route(depot.id, request.date, request.driver_id, &ids, state.clock.now()),
        &context,
        &state.planner,
    );
    match state.dispatch.insert_routes(std::slice::from_ref(&route)).await {
        Err(StoreError::Duplicate(_)) => {
            let taken = context.shipments.values().next().map(|p| p.shipment.tracking_number);
            return Err(match taken {
                Some(number) if ids.len() == 1 => DispatchError::AlreadyRouted(number).into(),
                _ => ApiError::new(
                    StatusCode::CONFLICT,
                    ProblemCode::AlreadyRouted,
                    "Some of these shipments are on a route that day.",
                ),
            });
        }
        result => result?,
    }
    Ok((StatusCode::CREATED, Json(view(&state, &route).await?)))
}

/// A shipment may join a route when it waits at the route's depot.
fn ready(placed: &PlacedShipment, depot: &DepotRecord) -> Result<(), DispatchError> {
    let shipment = &placed.shipment;
    if shipment.status != ShipmentStatus::AtDepot || placed.depot_id != Some(depot.id) {
        return Err(DispatchError::NotAtDepot(shipment.tracking_number, shipment.status));
    }
    Ok(())
}

/// The status change (and the customer's notices) for a shipment joining or leaving a route that is
/// out for delivery.
fn transition(
    state: &AppState,
    caller: &Caller,
    placed: &PlacedShipment,
    change: StatusChange,
    note: &str,
) -> Result<Transition, ApiError> {
    let shipment = &placed.shipment;
    service::transition(&state.mail, caller.actor(), shipment, change, None, note.to_string(), state.clock.now())
        .map_err(|refused| ShipmentError::from(refused).into())
}

/// Applies a change to a route: `edit` rearranges the stops and says what it did; planned times are
/// recomputed, the change recorded, and shipments joining or leaving a dispatched route change status,
/// all at once.
async fn change_route(
    state: &AppState,
    caller: &Caller,
    id: &str,
    edit: impl FnOnce(&mut RouteRecord, &mut Context) -> Result<(String, Vec<Transition>), ApiError>,
) -> Result<Json<RouteView>, ApiError> {
    let mut route = find_route(state, id).await?;
    let mut context = context(state, &route).await?;
    let (change, transitions) = edit(&mut route, &mut context)?;
    route.version += 1;
    let route = with_times(route, &context, &state.planner);
    let record = RouteChangeRecord { changed_at: state.clock.now(), actor: caller.actor(), change };
    let result = state.dispatch.update_route(&route, Some(&record), &transitions).await;
    match result {
        Err(StoreError::Duplicate(_)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ProblemCode::AlreadyRouted,
                "That shipment is on a route that day.",
            ));
        }
        result => result?,
    }
    if route.status == RouteStatus::Dispatched {
        state.eta.touch(route.driver_id);
    }
    Ok(Json(view(state, &route).await?))
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
#[tracing::instrument(skip_all, fields(route_id = %id))]
async fn dispatch_route(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    change_route(&state, &caller, &id, |route, context| {
        if route.status == RouteStatus::Dispatched {
            return Err(DispatchError::AlreadyDispatched.into());
        }
        let mut transitions = Vec::with_capacity(route.stops.len());
        for stop in &route.stops {
            let placed = &context.shipments[&stop.shipment_id];
            ready(placed, &context.depot)?;
            transitions.push(transition(&state, &caller, placed, StatusChange::OutForDelivery, "dispatched")?);
        }
        route.status = RouteStatus::Dispatched;
        route.dispatched_at = Some(state.clock.now());
        Ok((format!("dispatched with {} stops", route.stops.len()), transitions))
    })
    .await
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
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<AddStopRequest>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    find_route(&state, &id).await?;
    let found = waiting_shipments(&state, std::slice::from_ref(&request.tracking_number), "tracking_number").await?;
    let placed = found.into_iter().next().ok_or(DispatchError::RouteNotFound)?;
    change_route(&state, &caller, &id, |route, context| {
        ready(&placed, &context.depot)?;
        if route.stops.iter().any(|s| s.shipment_id == placed.shipment.id) {
            return Err(DispatchError::AlreadyRouted(placed.shipment.tracking_number).into());
        }
        let position = request.position.map_or(route.stops.len(), |p| (p.max(1) as usize - 1).min(route.stops.len()));
        let stop = new_route(route.depot_id, route.date, route.driver_id, &[placed.shipment.id], state.clock.now())
            .stops
            .remove(0);
        route.stops.insert(position, stop);
        let transitions = if route.status == RouteStatus::Dispatched {
            vec![transition(&state, &caller, &placed, StatusChange::OutForDelivery, "added to a dispatched route")?]
        } else {
            Vec::new()
        };
        let change = format!("added {} at stop {}", placed.shipment.tracking_number, position + 1);
        context.shipments.insert(placed.shipment.id, placed.clone());
        Ok((change, transitions))
    })
    .await
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
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath((id, stop_id)): ApiPath<(String, String)>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    change_route(&state, &caller, &id, |route, context| {
        let index = route.stops.iter().position(|s| s.id.to_string() == stop_id).ok_or(DispatchError::StopNotFound)?;
        let stop = route.stops.remove(index);
        let placed = &context.shipments[&stop.shipment_id];
        let transitions = match (route.status, placed.shipment.status) {
            (RouteStatus::Dispatched, ShipmentStatus::OutForDelivery) => {
                vec![transition(&state, &caller, placed, StatusChange::AtDepot, "taken off a dispatched route")?]
            }
            (RouteStatus::Dispatched, status) => {
                return Err(DispatchError::NotAtDepot(placed.shipment.tracking_number, status).into());
            }
            _ => Vec::new(),
        };
        Ok((format!("removed {} (was stop {})", placed.shipment.tracking_number, index + 1), transitions))
    })
    .await
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
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ReorderRequest>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    change_route(&state, &caller, &id, |route, _| {
        let mut old = std::mem::take(&mut route.stops);
        for id in &request.stops {
            let Some(index) = old.iter().position(|s| s.id == *id) else {
                return Err(DispatchError::Invalid("stops", "give every stop of the route once".to_string()).into());
            };
            route.stops.push(old.remove(index));
        }
        if !old.is_empty() {
            return Err(DispatchError::Invalid("stops", "give every stop of the route once".to_string()).into());
        }
        Ok(("resequenced by hand".to_string(), Vec::new()))
    })
    .await
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
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RouteView>, ApiError> {
    authorize(&caller, Action::Dispatch)?;
    let route = find_route(&state, &id).await?;
    let context = context(&state, &route).await?;
    let mut input = route_input(
        &route,
        &context.depot,
        &context.driver,
        &context.shipments,
        &context.pickup_points,
        &state.planner,
    );
    // One vehicle with room for all: only the order is in question.
    input.vehicles[0].capacity = u32::MAX / 2;
    input.vehicles[0].zones.clear();
    let order = solve_off_runtime(input, state.planner).await?.routes.remove(0);
    let planned: Vec<Uuid> = order.iter().map(|&i| route.stops[i].id).collect();
    change_route(&state, &caller, &id, |route, _| {
        if route.stops.len() != planned.len() {
            return Err(StoreError::Stale.into());
        }
        let mut old = std::mem::take(&mut route.stops);
        for id in &planned {
            let index = old.iter().position(|s| s.id == *id).ok_or(StoreError::Stale)?;
            route.stops.push(old.remove(index));
        }
        Ok(("sequenced by the planner".to_string(), Vec::new()))
    })
    .await
}
