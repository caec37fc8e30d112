//! Shipments over HTTP: create, read, list, and record status changes.

mod encoding;
mod error;
mod import;
mod service;
mod views;

use axum::Json;
use axum::extract::{FromRef, State};
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

use crate::auth::policy::{Action, Scope, authorize, list_scope, sees_access_code};
use crate::auth::{Authenticated, Authenticator, Caller};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, CsvBody};
use crate::http::openapi::{FORBIDDEN, SHIPMENT_NOT_FOUND};
use crate::store::{ShipmentKey, ShipmentQuery};
pub use import::ImportError;
pub use service::{Created, ShipmentError, ShipmentService};
use todoke_shared::ProblemCode;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    ShipmentService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(create_shipment, list_shipments))
        .routes(routes!(import_shipments))
        .routes(routes!(get_shipment))
        .routes(routes!(record_event))
}

/// Create a shipment. Sending the same `external_ref` with the same body again answers 200 with the
/// shipment created the first time; with a different body, 409.
#[utoipa::path(post, path = "/api/v1/shipments", tag = "shipments",
    security(("accessToken" = []), ("apiKey" = [])),
    request_body(content = NewShipmentRequest, example = json!({
        "external_ref": "ORDER-2026-000123",
        "recipient": {"name": "山田 花子", "email": "hanako@example.jp", "phone": "+81 90-1234-5678", "language": "ja"},
        "address": {"lines": ["丸の内1-9-1", "グラントウキョウ 12F"], "postal_code": "100-0005", "city": "千代田区",
                    "region": "東京都", "country": "JP", "lat": 35.6812, "lon": 139.7671},
        "promised": {"date": "2026-11-24", "window": {"start": "14:00", "end": "16:00"}},
        "parcels": [{"barcode": "4901234567894", "weight_g": 1200}]
    })),
    responses(
        (status = 201, description = "Created: the shipment, its tracking number and the customer's link", body = ShipmentDetail,
         headers(("Location" = String, description = "The shipment's address in the API"))),
        (status = 200, description = "Already created with the same details: the shipment created the first time",
         body = ShipmentDetail, headers(("Location" = String, description = "The shipment's address in the API"))),
        (status = 403, description = FORBIDDEN),
        (status = 409, description = "- `external_ref_taken`: another shipment has this `external_ref` with different details\n\
                                      - `barcode_in_use`: a parcel barcode is another shipment's of this merchant (named in `errors`)\n\
                                      - `conflict`: a value that must be unique is already in use"),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`"),
    ))]
async fn create_shipment(
    State(shipments): State<ShipmentService>,
    Authenticated(caller): Authenticated,
    ApiJson(request): ApiJson<NewShipmentRequest>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::CreateShipment)?;
    let (slots, points) = (shipments.places.delivery_slots().await?, shipments.places.pickup_points().await?);
    let content =
        request.validate(&choices(&slots, &points, shipments.reschedule_days)).map_err(ApiError::validation)?;
    let (created, record) =
        service::create(&*shipments.store, content, merchant(&caller), &caller.actor(), shipments.clock.now()).await?;
    let events = shipments.store.events(record.id).await?;
    let changes = shipments.store.preference_changes(record.id).await?;
    let status = match created {
        Created::New => StatusCode::CREATED,
        Created::Existing => StatusCode::OK,
    };
    let location = format!("/api/v1/shipments/{}", record.id);
    let body = views::shipment_detail(&record, &events, &changes, &shipments.links, sees_access_code(&caller));
    Ok((status, [(header::LOCATION, location)], Json(body)).into_response())
}

/// Create shipments from a CSV file (docs/IMPORT.md has the columns). Each line is created on its own:
/// the report says, line by line, what was created, what was already there, and what is wrong with
/// which column. Good lines are kept even when others fail; sending a file again is harmless.
#[utoipa::path(post, path = "/api/v1/shipments/import", tag = "shipments",
    security(("accessToken" = []), ("apiKey" = [])),
    request_body(content = String, content_type = "text/csv",
        description = "UTF-8 (with or without a BOM) or Shift_JIS (CP932), as declared by `charset=` or detected"),
    responses(
        (status = 200, description = "Every line's outcome", body = ImportReport),
        (status = 403, description = FORBIDDEN),
        (status = 413, description = "Larger than 8 MiB or too many lines; the lines before the limit were taken\n\
                                      - `file_too_large`: the file is larger than 8 MiB\n\
                                      - `too_many_lines`: the file has more lines than one import takes"),
        (status = 415, description = "Nothing was taken\n\
                                      - `unsupported_encoding`: the file is in an encoding that is not read"),
        (status = 422, description = "The header is not as documented; nothing was taken\n\
                                      - `empty_file`: the file is empty\n\
                                      - `invalid_header`: the header line lacks or misnames columns"),
    ))]
async fn import_shipments(
    State(shipments): State<ShipmentService>,
    Authenticated(caller): Authenticated,
    CsvBody { file, charset }: CsvBody,
) -> Result<Json<ImportReport>, ApiError> {
    authorize(&caller, Action::CreateShipment)?;
    let (slots, points) = (shipments.places.delivery_slots().await?, shipments.places.pickup_points().await?);
    let importer = import::Importer {
        store: &*shipments.store,
        choices: choices(&slots, &points, shipments.reschedule_days),
        merchant: merchant(&caller),
        actor: &caller.actor(),
        now: shipments.clock.now(),
    };
    Ok(Json(importer.import(file, charset.as_deref()).await?))
}

#[utoipa::path(get, path = "/api/v1/shipments/{id}", tag = "shipments",
    security(("accessToken" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses(
        (status = 200, description = "The shipment with its timeline", body = ShipmentDetail),
        (status = 404, description = SHIPMENT_NOT_FOUND),
    ))]
async fn get_shipment(
    State(shipments): State<ShipmentService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ShipmentDetail>, ApiError> {
    let id = parse_id(&id)?;
    let record = service::find(&*shipments.store, ShipmentKey::Id(id)).await?;
    authorize(&caller, Action::ReadShipment(&record))?;
    let (events, changes) = (shipments.store.events(id).await?, shipments.store.preference_changes(id).await?);
    Ok(Json(views::shipment_detail(&record, &events, &changes, &shipments.links, sees_access_code(&caller))))
}

// Read as text, to name the parameter at fault in words; documented as what they take.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only shipments in this status.
    #[param(value_type = Option<ShipmentStatus>)]
    status: Option<String>,
    /// Only shipments promised for this date (YYYY-MM-DD).
    #[param(value_type = Option<String>, format = Date)]
    date: Option<String>,
    /// Page size, 1 to 200. Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `next_cursor` from the previous page.
    #[param(value_type = Option<Uuid>)]
    cursor: Option<String>,
}

/// List shipments in creation order, a page at a time.
#[utoipa::path(get, path = "/api/v1/shipments", tag = "shipments", params(ListParams),
    security(("accessToken" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "A page of shipments, oldest first; a merchant's key sees its own", body = ShipmentPage),
        (status = 403, description = FORBIDDEN),
    ))]
async fn list_shipments(
    State(shipments): State<ShipmentService>,
    Authenticated(caller): Authenticated,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ShipmentPage>, ApiError> {
    authorize(&caller, Action::ListShipments)?;
    let mut query = params.parse()?;
    if let Scope::Merchant(merchant) = list_scope(&caller) {
        query.merchant = Some(merchant);
    }
    let records = shipments.store.list_shipments(&query).await?;
    let next_cursor = match records.last() {
        Some(last) if records.len() == query.limit as usize => Some(last.id.simple().to_string()),
        _ => None,
    };
    let items = records
        .iter()
        .map(|record| views::shipment_view(record, &shipments.links, sees_access_code(&caller)))
        .collect();
    Ok(Json(ShipmentPage { items, next_cursor }))
}

impl ListParams {
    fn parse(self) -> Result<ShipmentQuery, ApiError> {
        let bad = |field: &str, message: &str| {
            ApiError::field(StatusCode::BAD_REQUEST, ProblemCode::InvalidQuery, field, message)
        };
        let status = match self.status.as_deref() {
            None => None,
            Some(text) => Some(ShipmentStatus::parse(text).ok_or_else(|| {
                bad("status", "give a status such as info_received, at_depot, out_for_delivery or delivered")
            })?),
        };
        let promised_date = match self.date.as_deref() {
            None => None,
            Some(text) => Some(
                NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad("date", "give a date as YYYY-MM-DD"))?,
            ),
        };
        let limit = match self.limit.as_deref() {
            None => DEFAULT_PAGE,
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| bad("limit", "give a page size from 1 to 200"))?,
        };
        let after = match self.cursor.as_deref() {
            None => None,
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
    security(("accessToken" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses(
        (status = 200, description = "Recorded; the shipment as it is now", body = ShipmentDetail),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = SHIPMENT_NOT_FOUND),
        (status = 409, description = "- `invalid_transition`: not allowed from the current status (`allowed` lists what is)\n\
                                      - `concurrent_change`: the shipment changed meanwhile; read it again and retry"),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`"),
    ))]
async fn record_event(
    State(shipments): State<ShipmentService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<NewEventRequest>,
) -> Result<Json<ShipmentDetail>, ApiError> {
    let id = parse_id(&id)?;
    let shipment = service::find(&*shipments.store, ShipmentKey::Id(id)).await?;
    authorize(&caller, Action::RecordEvent(&shipment))?;
    let now = shipments.clock.now();
    let event = request.validate(now).map_err(ApiError::validation)?;
    let record = service::record_event(&*shipments.store, &shipments.mail, id, event, &caller.actor(), now).await?;
    let (events, changes) = (shipments.store.events(id).await?, shipments.store.preference_changes(id).await?);
    Ok(Json(views::shipment_detail(&record, &events, &changes, &shipments.links, sees_access_code(&caller))))
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
