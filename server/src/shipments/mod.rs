//! Shipments over HTTP: create, read, list, and record status changes.

mod encoding;
mod import;
mod service;
mod views;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use todoke_shared::ShipmentStatus;
use todoke_shared::import::ImportReport;
use todoke_shared::preferences::{Choices, PickupPoint, Slot};
use todoke_shared::shipment::{NewEventRequest, NewShipmentRequest, ShipmentDetail, ShipmentPage};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::{AppState, now};
use crate::auth::policy::{Action, Scope, authorize, list_scope, sees_access_code};
use crate::auth::{Authenticated, Caller};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, CsvBody};
use crate::store::{ShipmentKey, ShipmentQuery};
pub use import::ImportError;
pub use service::{Created, ShipmentError, barcode_taken};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_shipment, list_shipments))
        .routes(routes!(import_shipments))
        .routes(routes!(get_shipment))
        .routes(routes!(record_event))
}

/// Create a shipment. Sending the same `external_ref` with the same body again answers 200 with the
/// shipment created the first time; with a different body, 409.
#[utoipa::path(post, path = "/api/v1/shipments", tag = "shipments", request_body = NewShipmentRequest,
    responses(
        (status = 201, description = "Created", body = ShipmentDetail),
        (status = 200, description = "Already created with the same details", body = ShipmentDetail),
        (status = 409, description = "The external_ref is taken by different details, or a parcel barcode by another shipment", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    ))]
async fn create_shipment(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewShipmentRequest>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::CreateShipment)?;
    let (slots, points) = (state.store.delivery_slots().await?, state.store.pickup_points().await?);
    let content = request.validate(&choices(&slots, &points, state.reschedule_days)).map_err(ApiError::validation)?;
    let (created, record) = service::create(&*state.store, content, merchant(&caller), &caller.actor(), now()).await?;
    let events = state.store.events(record.id).await?;
    let changes = state.store.preference_changes(record.id).await?;
    let status = match created {
        Created::New => StatusCode::CREATED,
        Created::Existing => StatusCode::OK,
    };
    let location = format!("/api/v1/shipments/{}", record.id);
    let body = views::shipment_detail(&record, &events, &changes, &state.links, sees_access_code(&caller));
    Ok((status, [(header::LOCATION, location)], Json(body)).into_response())
}

/// Create shipments from a CSV file (docs/IMPORT.md has the columns). Each line is created on its own:
/// the report says, line by line, what was created, what was already there, and what is wrong with
/// which column. Good lines are kept even when others fail; sending a file again is harmless.
#[utoipa::path(post, path = "/api/v1/shipments/import", tag = "shipments",
    request_body(content = String, content_type = "text/csv", description = "UTF-8 (with or without a BOM) or Shift_JIS (CP932), as declared by charset= or detected"),
    responses(
        (status = 200, description = "Every line's outcome", body = ImportReport),
        (status = 413, description = "Larger than 8 MiB; the lines before the limit were taken", body = Problem),
        (status = 415, description = "Not CSV, or in an encoding that is not read (unsupported_encoding); nothing was taken", body = Problem),
        (status = 422, description = "The header is not as documented; nothing was taken", body = Problem),
    ))]
async fn import_shipments(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    CsvBody { file, charset }: CsvBody,
) -> Result<Json<ImportReport>, ApiError> {
    authorize(&caller, Action::CreateShipment)?;
    let (slots, points) = (state.store.delivery_slots().await?, state.store.pickup_points().await?);
    let importer = import::Importer {
        store: &*state.store,
        choices: choices(&slots, &points, state.reschedule_days),
        merchant: merchant(&caller),
        actor: &caller.actor(),
        now: now(),
    };
    Ok(Json(importer.import(file, charset.as_deref()).await?))
}

#[utoipa::path(get, path = "/api/v1/shipments/{id}", tag = "shipments",
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses((status = 200, body = ShipmentDetail), (status = 404, body = Problem)))]
async fn get_shipment(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ShipmentDetail>, ApiError> {
    let id = parse_id(&id)?;
    let record = service::find(&*state.store, ShipmentKey::Id(id)).await?;
    authorize(&caller, Action::ReadShipment(&record))?;
    let (events, changes) = (state.store.events(id).await?, state.store.preference_changes(id).await?);
    Ok(Json(views::shipment_detail(&record, &events, &changes, &state.links, sees_access_code(&caller))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only shipments in this status.
    status: Option<String>,
    /// Only shipments promised for this date (YYYY-MM-DD).
    date: Option<String>,
    /// Page size, 1 to 200. Default 50.
    limit: Option<String>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// List shipments in creation order, a page at a time.
#[utoipa::path(get, path = "/api/v1/shipments", tag = "shipments", params(ListParams),
    responses((status = 200, body = ShipmentPage), (status = 400, body = Problem)))]
async fn list_shipments(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ShipmentPage>, ApiError> {
    authorize(&caller, Action::ListShipments)?;
    let mut query = params.parse()?;
    if let Scope::Merchant(merchant) = list_scope(&caller) {
        query.merchant = Some(merchant);
    }
    let records = state.store.list_shipments(&query).await?;
    let next_cursor = match records.last() {
        Some(last) if records.len() == query.limit as usize => Some(last.id.simple().to_string()),
        _ => None,
    };
    let items =
        records.iter().map(|record| views::shipment_view(record, &state.links, sees_access_code(&caller))).collect();
    Ok(Json(ShipmentPage { items, next_cursor }))
}

impl ListParams {
    fn parse(self) -> Result<ShipmentQuery, ApiError> {
        let bad =
            |field: &str, message: &str| ApiError::field(StatusCode::BAD_REQUEST, "invalid_query", field, message);
        let status = match self.status.as_deref() {
            None | Some("") => None,
            Some(text) => Some(ShipmentStatus::parse(text).ok_or_else(|| {
                bad("status", "give a status such as info_received, at_depot, out_for_delivery or delivered")
            })?),
        };
        let promised_date = match self.date.as_deref() {
            None | Some("") => None,
            Some(text) => Some(
                NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad("date", "give a date as YYYY-MM-DD"))?,
            ),
        };
        let limit = match self.limit.as_deref() {
            None | Some("") => DEFAULT_PAGE,
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| bad("limit", "give a page size from 1 to 200"))?,
        };
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(
                Uuid::try_parse(text).map_err(|_| bad("cursor", "pass next_cursor from the previous page as it is"))?,
            ),
        };
        Ok(ShipmentQuery { merchant: None, status, promised_date, after, limit })
    }
}

/// Record a status change, such as arrival at the depot. Illegal changes are refused with 409 and the
/// statuses that are allowed next.
#[utoipa::path(post, path = "/api/v1/shipments/{id}/events", tag = "shipments", request_body = NewEventRequest,
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses(
        (status = 200, description = "Recorded; the shipment as it is now", body = ShipmentDetail),
        (status = 404, body = Problem),
        (status = 409, description = "Not allowed from the current status", body = Problem),
        (status = 422, body = Problem),
    ))]
async fn record_event(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<NewEventRequest>,
) -> Result<Json<ShipmentDetail>, ApiError> {
    let id = parse_id(&id)?;
    let shipment = service::find(&*state.store, ShipmentKey::Id(id)).await?;
    authorize(&caller, Action::RecordEvent(&shipment))?;
    let now = now();
    let event = request.validate(now).map_err(ApiError::validation)?;
    let record = service::record_event(&*state.store, &state.mail, id, event, &caller.actor(), now).await?;
    let (events, changes) = (state.store.events(id).await?, state.store.preference_changes(id).await?);
    Ok(Json(views::shipment_detail(&record, &events, &changes, &state.links, sees_access_code(&caller))))
}

/// What customers may choose from, for validating preferences.
pub fn choices<'a>(slots: &'a [Slot], points: &'a [PickupPoint], reschedule_days: i64) -> Choices<'a> {
    Choices { slots, max_days_later: reschedule_days, pickup_points: points }
}

/// The merchant whose shipments these become: the API key's, or none for staff.
fn merchant(caller: &Caller) -> Option<&str> {
    match caller {
        Caller::Merchant { merchant, .. } => Some(merchant.as_str()),
        _ => None,
    }
}

/// An id that is not a UUID names no shipment.
fn parse_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(text).map_err(|_| ShipmentError::NotFound.into())
}
