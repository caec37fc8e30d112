//! Delivery preferences after checkout: the customer (with their link) or support staff read and change
//! them; anyone may read the slots and pickup points to choose from; staff keep the pickup points.

mod error;
mod patch;
mod service;

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use todoke_shared::TrackingNumber;
use todoke_shared::ValidationErrors;
use todoke_shared::preferences::{
    Choices, Context, DeliveryMethod, PickupPoint, Preferences, PreferencesView, Slot, pod_requirements,
};
use todoke_shared::validation::text;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use service::{Locked, changeable, closes_at_arrival, judge};

use crate::auth::policy::{Action, authorize, may_change_preferences, sees_access_code};
use crate::auth::{Authenticated, Authenticator, Caller};
use crate::clock::Clock;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, parse_json};
use crate::http::openapi::{FORBIDDEN, TRACKING_NUMBER};
use crate::notify::Mail;
use crate::shipments::{ShipmentError, choices};
use crate::store::{PlaceStore, ShipmentKey, ShipmentRecord, Store, StoreError};
use todoke_shared::ProblemCode;

const PREFERENCES_FORBIDDEN: &str = "- `forbidden`: your role may not (a dispatcher, the merchant's key)\n\
                                     - `link_expired`: the customer link has expired";
const PREFERENCES_NOT_FOUND: &str =
    "- `tracking_number_unknown`: no shipment has this tracking number, or not this link's";
const PREFERENCES_LOCKED: &str = "- `preferences_locked`: past the cut-off for a field changed (`changeable` says what may)\n\
                                  - `concurrent_change`: the shipment changed meanwhile; retry";

/// What reading and changing preferences, and keeping the slots and pickup points, need.
#[derive(Clone)]
pub struct PreferenceService {
    /// The delivery slots and pickup points customers choose from.
    pub places: Arc<dyn PlaceStore>,
    pub store: Arc<dyn Store>,
    /// For the confirmation of a change.
    pub mail: Arc<Mail>,
    /// How long a customer's link may change their preferences.
    pub customer_link: chrono::Duration,
    /// How many days after the promised date a customer may move the delivery.
    pub reschedule_days: i64,
    pub clock: Arc<dyn Clock>,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    PreferenceService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(read_preferences, change_preferences, patch_preferences))
        .routes(routes!(delivery_slots, configure_delivery_slots))
        .routes(routes!(pickup_points, add_pickup_point))
}

/// The delivery slots a customer may choose.
#[utoipa::path(get, path = "/api/v1/delivery-slots", tag = "preferences", security(()),
    responses((status = 200, description = "The slots, in order", body = Vec<Slot>)))]
async fn delivery_slots(State(service): State<PreferenceService>) -> Result<Json<Vec<Slot>>, ApiError> {
    Ok(Json(service.places.delivery_slots().await?))
}

/// Set the delivery slots customers may choose (admin, dispatcher). Windows already chosen stay.
#[utoipa::path(put, path = "/api/v1/delivery-slots", tag = "preferences", security(("accessToken" = [])),
    request_body = Vec<Slot>,
    responses(
        (status = 200, description = "The slots as they are now", body = Vec<Slot>),
        (status = 403, description = FORBIDDEN),
        (status = 422, description = "- `validation_failed`: 1 to 24 slots, each with its own id and a window (named in `errors`)"),
    ))]
async fn configure_delivery_slots(
    State(service): State<PreferenceService>,
    Authenticated(caller): Authenticated,
    ApiJson(slots): ApiJson<Vec<Slot>>,
) -> Result<Json<Vec<Slot>>, ApiError> {
    authorize(&caller, Action::ManagePickupPoints)?;
    let mut errors = ValidationErrors::new();
    if slots.is_empty() || slots.len() > 24 {
        errors.add("slots", "invalid_length", "give 1 to 24 slots");
    }
    for (i, slot) in slots.iter().enumerate() {
        let id_ok = !slot.id.is_empty()
            && slot.id.len() <= 16
            && slot.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok || slots[..i].iter().any(|other| other.id == slot.id) {
            errors.add(format!("[{i}].id"), "invalid_id", "give each slot its own short id, like 14-16");
        }
        let time = |t: &str| chrono::NaiveTime::parse_from_str(t, "%H:%M").ok().filter(|_| t.len() == 5);
        match (time(&slot.start), time(&slot.end)) {
            (Some(start), Some(end)) if start < end => {}
            _ => errors.add(format!("[{i}]"), "invalid_window", "give start and end as HH:MM, the end after the start"),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    service.places.replace_delivery_slots(&slots).await?;
    Ok(Json(service.places.delivery_slots().await?))
}

/// The pickup points and lockers a customer may choose.
#[utoipa::path(get, path = "/api/v1/pickup-points", tag = "preferences", security(()),
    responses((status = 200, description = "The pickup points and lockers", body = Vec<PickupPoint>)))]
async fn pickup_points(State(service): State<PreferenceService>) -> Result<Json<Vec<PickupPoint>>, ApiError> {
    Ok(Json(service.places.pickup_points().await?))
}

/// Add a pickup point (admin, dispatcher).
#[utoipa::path(post, path = "/api/v1/pickup-points", tag = "preferences", security(("accessToken" = [])),
    request_body = PickupPoint,
    responses(
        (status = 201, description = "The pickup point", body = PickupPoint),
        (status = 403, description = FORBIDDEN),
        (status = 409, description = "- `pickup_point_exists`: a pickup point has this id"),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`"),
    ))]
async fn add_pickup_point(
    State(service): State<PreferenceService>,
    Authenticated(caller): Authenticated,
    ApiJson(point): ApiJson<PickupPoint>,
) -> Result<(StatusCode, Json<PickupPoint>), ApiError> {
    authorize(&caller, Action::ManagePickupPoints)?;
    let mut errors = ValidationErrors::new();
    let id = errors.check("id", text(&point.id, 64));
    if id.as_deref().is_some_and(|id| !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')) {
        errors.add("id", "invalid_id", "use letters, digits, - and _ only, like lawson-marunouchi");
    }
    let name = errors.check("name", text(&point.name, 100));
    let address = errors.check("address", text(&point.address, 200));
    let opening_hours = errors.check("opening_hours", text(&point.opening_hours, 100));
    if !(point.lat.is_finite() && (-90.0..=90.0).contains(&point.lat)) {
        errors.add("lat", "out_of_range", "must be a number from -90 to 90");
    }
    if !(point.lon.is_finite() && (-180.0..=180.0).contains(&point.lon)) {
        errors.add("lon", "out_of_range", "must be a number from -180 to 180");
    }
    let (Some(id), Some(name), Some(address), Some(opening_hours)) = (id, name, address, opening_hours) else {
        return Err(ApiError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let point = PickupPoint { id, name, address, lat: point.lat, lon: point.lon, opening_hours };
    match service.places.insert_pickup_point(&point).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(point))),
        Err(StoreError::Duplicate(_)) => Err(ApiError::field(
            StatusCode::CONFLICT,
            ProblemCode::PickupPointExists,
            "id",
            "a pickup point with this id exists",
        )),
        Err(error) => Err(error.into()),
    }
}

async fn shipment_for(service: &PreferenceService, caller: &Caller, number: &str) -> Result<ShipmentRecord, ApiError> {
    let number = TrackingNumber::parse(number)?;
    let shipment = service
        .store
        .find_shipment(ShipmentKey::TrackingNumber(&number))
        .await?
        .ok_or(ShipmentError::UnknownTrackingNumber)?;
    may_change_preferences(caller, &shipment, service.clock.now(), service.customer_link)?;
    Ok(shipment)
}

async fn view(
    service: &PreferenceService,
    shipment: &ShipmentRecord,
    caller: &Caller,
) -> Result<PreferencesView, ApiError> {
    let preferences = &shipment.content.preferences;
    let arrived = service.store.arrived_at(shipment.id).await?.is_some();
    Ok(PreferencesView {
        preferences: if sees_access_code(caller) { preferences.clone() } else { preferences.masked() },
        pod_requirements: pod_requirements(&preferences.method, &shipment.content.flags).unwrap_or_default(),
        changeable: changeable(shipment.status, arrived).into_iter().map(str::to_string).collect(),
    })
}

/// The customer's delivery preferences (with the customer's link, or as support staff).
#[utoipa::path(get, path = "/api/v1/track/{tracking_number}/preferences", tag = "preferences",
    security(("customerLink" = []), ("accessToken" = [])),
    params(("tracking_number" = String, Path, description = TRACKING_NUMBER)),
    responses(
        (status = 200, description = "The preferences (the access code masked for the customer), what the proof \
                                      needs, and what may still change", body = PreferencesView),
        (status = 403, description = PREFERENCES_FORBIDDEN),
        (status = 404, description = PREFERENCES_NOT_FOUND),
    ))]
async fn read_preferences(
    State(service): State<PreferenceService>,
    Authenticated(caller): Authenticated,
    ApiPath(number): ApiPath<String>,
) -> Result<Json<PreferencesView>, ApiError> {
    let shipment = shipment_for(&service, &caller, &number).await?;
    Ok(Json(view(&service, &shipment, &caller).await?))
}

/// Replace the delivery preferences with the object sent: a field left out is reset (no window, no
/// instructions, …), and that counts as a change. A field sent as it is never counts as one, so the
/// whole object may be sent back with one field changed. Method and window can change until the route
/// is dispatched, the instructions until the driver arrives, the rest until delivery (409
/// `preferences_locked` says what still can). Send the access code back as `••••` to keep it.
#[utoipa::path(put, path = "/api/v1/track/{tracking_number}/preferences", tag = "preferences",
    security(("customerLink" = []), ("accessToken" = [])),
    request_body = Preferences,
    params(("tracking_number" = String, Path, description = TRACKING_NUMBER)),
    responses(
        (status = 200, description = "The preferences as they are now", body = PreferencesView),
        (status = 403, description = PREFERENCES_FORBIDDEN),
        (status = 404, description = PREFERENCES_NOT_FOUND),
        (status = 409, description = PREFERENCES_LOCKED),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`"),
    ))]
async fn change_preferences(
    State(service): State<PreferenceService>,
    Authenticated(caller): Authenticated,
    ApiPath(number): ApiPath<String>,
    ApiJson(wanted): ApiJson<Preferences>,
) -> Result<Json<PreferencesView>, ApiError> {
    let shipment = apply_change(&service, &caller, &number, Change::Replace(wanted)).await?;
    Ok(Json(view(&service, &shipment, &caller).await?))
}

/// Change some of the delivery preferences: a JSON merge patch (RFC 7396, `application/merge-patch+json`
/// or `application/json`). A field left out stays as it is; `null` removes `window`, `instructions`,
/// `access_code` or `language`; a `method` of another `kind` replaces the method whole. Judged on what
/// actually changes, with the same cut-offs as `PUT`.
#[utoipa::path(patch, path = "/api/v1/track/{tracking_number}/preferences", tag = "preferences",
    security(("customerLink" = []), ("accessToken" = [])),
    request_body(description = "Only the fields to change; every field may be left out",
        content((PreferencesPatch = "application/merge-patch+json"), (PreferencesPatch = "application/json"))),
    params(("tracking_number" = String, Path, description = TRACKING_NUMBER)),
    responses(
        (status = 200, description = "The preferences as they are now", body = PreferencesView),
        (status = 403, description = PREFERENCES_FORBIDDEN),
        (status = 404, description = PREFERENCES_NOT_FOUND),
        (status = 409, description = PREFERENCES_LOCKED),
        (status = 422, description = "- `validation_failed`: fields to fix, each named in `errors`"),
    ))]
async fn patch_preferences(
    State(service): State<PreferenceService>,
    Authenticated(caller): Authenticated,
    ApiPath(number): ApiPath<String>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> Result<Json<PreferencesView>, ApiError> {
    let shipment = apply_change(&service, &caller, &number, Change::Patch(patch)).await?;
    Ok(Json(view(&service, &shipment, &caller).await?))
}

/// A merge patch of the preferences (RFC 7396), for the API's description: every field may be left out,
/// `null` removes one.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PreferencesPatch {
    /// Merged into the current method; a method of another `kind` replaces it whole.
    #[schema(value_type = Object, nullable = false)]
    method: Option<serde_json::Value>,
    window: Option<todoke_shared::preferences::WindowChoice>,
    instructions: Option<String>,
    access_code: Option<String>,
    language: Option<todoke_shared::Language>,
    #[schema(nullable = false)]
    email_notices: Option<bool>,
}

/// A change of preferences as asked: the whole object (`PUT`, the page's form), or a merge patch.
pub enum Change {
    Replace(Preferences),
    Patch(serde_json::Value),
}

impl Change {
    /// The preferences wanted, from those stored now.
    fn wanted(&self, current: &Preferences) -> Result<Preferences, ApiError> {
        match self {
            Change::Replace(wanted) => Ok(wanted.clone()),
            Change::Patch(patch) => {
                let mut document = serde_json::to_value(current).map_err(|_| ApiError::internal())?;
                patch::apply(&mut document, patch).map_err(|field| {
                    ApiError::field(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        ProblemCode::NotRemovable,
                        field,
                        format!("{field} can be changed but not removed: send the value wanted instead of null"),
                    )
                })?;
                let bytes = serde_json::to_vec(&document).map_err(|_| ApiError::internal())?;
                parse_json(&bytes).map_err(ApiError::from)
            }
        }
    }
}

/// Validates, judges against the cut-off, and stores a change of preferences; the page's form uses it
/// too. Returns the shipment as it now is.
#[tracing::instrument(skip_all, fields(shipment_id = tracing::field::Empty))]
pub async fn apply_change(
    service: &PreferenceService,
    caller: &Caller,
    number: &str,
    change: Change,
) -> Result<ShipmentRecord, ApiError> {
    let found = shipment_for(service, caller, number).await?;
    tracing::Span::current().record("shipment_id", tracing::field::display(found.id));
    let (slots, points) = (service.places.delivery_slots().await?, service.places.pickup_points().await?);
    let choices = choices(&slots, &points, service.reschedule_days);
    for _ in 0..3 {
        // Judged on the shipment as stored (lookups by id are never answered from the cache).
        let mut shipment =
            service.store.find_shipment(ShipmentKey::Id(found.id)).await?.ok_or(ShipmentError::NotFound)?;
        let previous = shipment.content.preferences.clone();
        let valid = validate_changed(&shipment, change.wanted(&previous)?, &choices)?;
        let events = service.store.events(shipment.id).await?;
        let arrived_at = service.store.arrived_at(shipment.id).await?;
        let (preferences, changes) =
            judge(&shipment, &events, arrived_at, valid, &caller.actor(), service.clock.now())?;
        let changed_fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        let before_arrival = closes_at_arrival(&changed_fields);
        let mut changed = shipment.clone();
        changed.content.preferences = preferences.clone();
        let notices = if changes.is_empty() { Vec::new() } else { service.mail.for_preferences(&changed) };
        match service
            .store
            .update_preferences(
                shipment.id,
                shipment.status,
                &previous,
                &preferences,
                &changes,
                &notices,
                before_arrival,
            )
            .await
        {
            Ok(()) => {
                shipment.content.preferences = preferences;
                return Ok(shipment);
            }
            // Dispatched, arrived at or changed in the meantime: judge again against what is stored now.
            Err(StoreError::Stale) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(StoreError::Stale.into())
}

/// Validates what the customer changes. What stays as it is passes even if it would not be chosen today
/// (a slot staff have since removed, a pickup point closed since), so it never blocks other changes.
fn validate_changed(
    shipment: &ShipmentRecord,
    wanted: Preferences,
    choices: &Choices<'_>,
) -> Result<Preferences, ApiError> {
    let current = &shipment.content.preferences;
    let (keep_method, keep_window) = (wanted.method == current.method, wanted.window == current.window);
    let mut probe = wanted.clone();
    if keep_method {
        probe.method = DeliveryMethod::HandToRecipient;
    }
    if keep_window {
        probe.window = None;
    }
    let context = Context { flags: &shipment.content.flags, promised_date: shipment.content.promised.date, choices };
    // A masked access code passes validation as text and is resolved by `judge`.
    let mut valid = probe.validate(&context, "").map_err(ApiError::validation)?;
    if keep_method {
        valid.method = wanted.method;
    }
    if keep_window {
        valid.window = wanted.window;
    }
    Ok(valid)
}
