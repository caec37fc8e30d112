//! Proof of delivery over HTTP: the driver's stop actions (arrive, deliver, fail) and the proof as
//! staff, the merchant and the customer see it, with its files.

pub mod closing;
mod error;
pub mod files;
pub mod geofence;
pub mod idempotency;
pub mod integrity;
mod parts;
pub mod photo;
pub mod service;
pub mod signature;
mod upload;
pub mod view;

use axum::extract::{FromRef, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use todoke_shared::pod::{ArrivalReport, AttemptReport, DeliveryReport, PodView, StopReceipt};
use tracing::Instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::policy::{may_read_proof, sees_proof_integrity};
use crate::auth::{Authenticator, Caller, Driver};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::openapi::{FORBIDDEN, SHIPMENT_NOT_FOUND};
use crate::shipments::ShipmentError;
use crate::store::pod::FileRole;
use crate::store::{ShipmentKey, ShipmentRecord};
use closing::Closing;
pub use error::PodError;
use idempotency::IdempotencyKey;
pub use parts::Pod;
pub use service::ProofService;
use service::{Acting, Answer};
use todoke_shared::ProblemCode;
use upload::{AttemptUpload, DeliveryUpload, FilePart, Upload};

/// Why a stop action may conflict with what the stop is now.
const STOP_CONFLICTS: &str = "- `stop_reassigned`: the stop is on another driver's route now\n\
     - `route_not_dispatched`: the route is not out yet\n\
     - `stop_closed`: the stop is closed already (`allowed` says what may follow)\n\
     - `request_in_progress`: the same key is being answered; retry after `Retry-After` seconds\n\
     - `concurrent_change`: the stop changed meanwhile; retry";

/// Why a delivery or attempt may be refused as it is.
const PROOF_REFUSED: &str = "- `validation_failed`: fields of the report to fix, each named in `errors`\n\
     - `invalid_field`: the report's JSON has a wrong type or unknown field\n\
     - `idempotency_key_reused`: the key was used for a different request\n\
     - `proof_incomplete`: the proof lacks what this delivery needs (listed in `errors`)\n\
     - `method_not_allowed`: the customer did not allow this way of delivering\n\
     - `required`: the `report` part is missing\n\
     - `unknown_part`, `repeated_part`, `too_many_photos`: the parts are not as documented\n\
     - `photo_unreadable` and other photo or signature codes: a file cannot be used (named in `errors`)";

/// What is too large in an upload.
const TOO_LARGE: &str = "- `payload_too_large`: the upload is larger than 64 MiB in all\n\
     - `photo_too_large`, `part_too_large`: one part is larger than its limit";

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    ProofService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(arrive))
        .routes(routes!(deliver))
        .routes(routes!(fail))
        .routes(routes!(proof_of_delivery))
        .routes(routes!(proof_file))
}

/// The driver reached the stop (drivers, their own stops). Repeats with the same `Idempotency-Key`
/// answer the same bytes.
#[utoipa::path(post, path = "/api/v1/driver/stops/{stop_id}/arrive", tag = "driver",
    security(("accessToken" = [])),
    request_body = ArrivalReport,
    params(("stop_id" = Uuid, Path, description = "The stop's id, from the manifest"),
           ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "Made when the action was taken (a UUID); the same on every retry")),
    responses(
        (status = 200, description = "Recorded (or the same answer again for a retry)", body = StopReceipt),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `stop_not_found`: no stop has this id"),
        (status = 409, description = STOP_CONFLICTS),
        (status = 422, description = "- `validation_failed`: fields of the report to fix\n\
                                      - `idempotency_key_reused`: the key was used for a different request"),
    ))]
async fn arrive(
    State(service): State<ProofService>,
    driver: Driver,
    key: IdempotencyKey,
    ApiPath(stop_id): ApiPath<Uuid>,
    ApiJson(report): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let acting = acting(driver, key, stop_id);
    run(service, move |service| async move { service.arrive(&acting, report.to_string().as_bytes()).await }).await
}

/// The parcel was delivered: `multipart/form-data` with a `report` part ([`DeliveryReport`] JSON), a
/// `signature` part (strokes JSON or a PNG) where the proof needs one, and `photo` parts (JPEG, PNG or
/// WebP). Missing proof is 422 listing exactly what is missing. A 201 means everything is stored.
#[utoipa::path(post, path = "/api/v1/driver/stops/{stop_id}/deliver", tag = "driver", security(("accessToken" = [])),
    request_body(description = "Parts: `report` (JSON), `signature` (JSON strokes or PNG), `photo` (repeated)",
        content((DeliveryUpload = "multipart/form-data", encoding(
            ("report" = (content_type = "application/json")),
            ("signature" = (content_type = "application/json, image/png")),
            ("photo" = (content_type = "image/jpeg, image/png, image/webp")))))),
    params(("stop_id" = Uuid, Path, description = "The stop's id, from the manifest"),
           ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "Made when the action was taken (a UUID); the same on every retry")),
    responses(
        (status = 201, description = "Delivered, with every file stored (or the same answer again for a retry)", body = StopReceipt),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `stop_not_found`: no stop has this id"),
        (status = 409, description = STOP_CONFLICTS),
        (status = 413, description = TOO_LARGE),
        (status = 415, description = "- `unsupported_media_type`: not multipart/form-data"),
        (status = 422, description = PROOF_REFUSED),
    ))]
async fn deliver(
    State(service): State<ProofService>,
    driver: Driver,
    key: IdempotencyKey,
    ApiPath(stop_id): ApiPath<Uuid>,
    upload: Upload,
) -> Result<Response, ApiError> {
    close::<DeliveryReport>(service, driver, key, stop_id, upload).await
}

/// The delivery could not be made: `multipart/form-data` with a `report` part ([`AttemptReport`]
/// JSON, a reason code) and optional `photo` parts as proof of the attempt.
#[utoipa::path(post, path = "/api/v1/driver/stops/{stop_id}/fail", tag = "driver", security(("accessToken" = [])),
    request_body(description = "Parts: `report` (JSON), `photo` (repeated, optional)",
        content((AttemptUpload = "multipart/form-data", encoding(
            ("report" = (content_type = "application/json")),
            ("photo" = (content_type = "image/jpeg, image/png, image/webp")))))),
    params(("stop_id" = Uuid, Path, description = "The stop's id, from the manifest"),
           ("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "Made when the action was taken (a UUID); the same on every retry")),
    responses(
        (status = 201, description = "The attempt is recorded (or the same answer again for a retry)", body = StopReceipt),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = "- `stop_not_found`: no stop has this id"),
        (status = 409, description = STOP_CONFLICTS),
        (status = 413, description = TOO_LARGE),
        (status = 415, description = "- `unsupported_media_type`: not multipart/form-data"),
        (status = 422, description = PROOF_REFUSED),
    ))]
async fn fail(
    State(service): State<ProofService>,
    driver: Driver,
    key: IdempotencyKey,
    ApiPath(stop_id): ApiPath<Uuid>,
    upload: Upload,
) -> Result<Response, ApiError> {
    close::<AttemptReport>(service, driver, key, stop_id, upload).await
}

/// Closes one of the driver's stops with a delivery or a failed attempt (`R` is its report). The
/// driver is checked before the body is read: nobody else can make the server take in an upload.
async fn close<R: Closing>(
    service: ProofService,
    driver: Driver,
    key: IdempotencyKey,
    stop_id: Uuid,
    upload: Upload,
) -> Result<Response, ApiError> {
    let acting = acting(driver, key, stop_id);
    run(service, move |service| async move { service.close::<R>(&acting, upload).await }).await
}

/// What a driver acts on: one of their stops, under a key.
fn acting(driver: Driver, key: IdempotencyKey, stop_id: Uuid) -> Acting {
    Acting { driver_id: driver.id, actor: driver.actor, key: key.0, stop_id }
}

/// Runs a stop action to its end in a task of its own: a phone that hangs up, or the time limit, does
/// not cut it off halfway, so its key is answered or let go and its files kept or taken back, and the
/// retry finds out which.
async fn run<F, A>(service: ProofService, action: A) -> Result<Response, ApiError>
where
    A: FnOnce(ProofService) -> F,
    F: Future<Output = Result<Answer, PodError>> + Send + 'static,
{
    // The task carries the request's span, so its log lines say which request they belong to.
    let answer = tokio::spawn(action(service).instrument(tracing::Span::current())).await.map_err(|error| {
        tracing::error!(%error, "a stop action failed");
        ApiError::internal()
    })??;
    Ok((answer.status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], answer.body)
        .into_response())
}

/// A shipment's proof of delivery, newest first: when, how, who, how far from the address, links to
/// the photos and signature (staff, the merchant's key, the customer's link `?k=`). Staff also see
/// whether the tamper-evident hash still holds.
#[utoipa::path(get, path = "/api/v1/shipments/{id}/pod", tag = "shipments",
    security(("accessToken" = []), ("apiKey" = []), ("customerLink" = [])),
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses(
        (status = 200, description = "The proofs of the shipment, newest last", body = PodView),
        (status = 403, description = "- `link_expired`: the customer link has expired"),
        (status = 404, description = SHIPMENT_NOT_FOUND),
    ))]
async fn proof_of_delivery(
    State(service): State<ProofService>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let shipment = readable_shipment(&service, &caller, id).await?;
    let proofs = service.pod.store.proofs(id).await?;
    let staff = sees_proof_integrity(&caller);
    let links = view::FileLinks::new(&service.links, &caller, id);
    let mut views = Vec::with_capacity(proofs.len());
    for proof in &proofs {
        let integrity = if staff { Some(view::integrity(&service.pod.files, proof).await) } else { None };
        views.push(view::proof_view(&shipment, proof, &links, integrity)?);
    }
    let feedback = service.pod.store.feedback(id).await?;
    let body = PodView { shipment_id: id, status: shipment.status, proofs: views, feedback };
    Ok(([(header::CACHE_CONTROL, "private, no-store")], axum::Json(body)).into_response())
}

/// One file of a shipment's proof, as linked from its proof (the same callers). Files never change:
/// their name is their hash.
#[utoipa::path(get, path = "/api/v1/shipments/{id}/pod/files/{name}", tag = "shipments",
    security(("accessToken" = []), ("apiKey" = []), ("customerLink" = [])),
    params(("id" = Uuid, Path, description = "Shipment id"),
           ("name" = String, Path, description = "The file's name, as linked from the proof (its hash)")),
    responses(
        (status = 200, description = "The photo or signature image", content((FilePart = "image/jpeg"), (FilePart = "image/png"), (FilePart = "image/webp"))),
        (status = 403, description = "- `link_expired`: the customer link has expired"),
        (status = 404, description = "- `shipment_not_found`: no shipment has this id, or it is not yours to see\n\
                                      - `file_not_found`: the shipment's proofs have no such file"),
    ))]
async fn proof_file(
    State(service): State<ProofService>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(Uuid, String)>,
) -> Result<Response, ApiError> {
    readable_shipment(&service, &caller, id).await?;
    let proofs = service.pod.store.proofs(id).await?;
    let staff = sees_proof_integrity(&caller);
    let listed = proofs
        .iter()
        .flat_map(|p| &p.files)
        .any(|file| file.name == name && (staff || file.role != FileRole::Original));
    let not_found = || ApiError::not_found(ProblemCode::FileNotFound, "This proof has no such file.");
    if !listed {
        return Err(not_found());
    }
    let bytes = service.pod.files.read(&name).await.map_err(|error| {
        tracing::error!(%error, name, "a proof file is missing");
        not_found()
    })?;
    let content_type = match name.rsplit('.').next() {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "image/jpeg",
    };
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "private, max-age=31536000, immutable"),
        (header::CONTENT_DISPOSITION, "inline"),
    ];
    Ok((StatusCode::OK, headers, bytes).into_response())
}

async fn readable_shipment(service: &ProofService, caller: &Caller, id: Uuid) -> Result<ShipmentRecord, ApiError> {
    let shipment = service.shipments.find_shipment(ShipmentKey::Id(id)).await?.ok_or(ShipmentError::NotFound)?;
    may_read_proof(caller, &shipment, service.clock.now(), service.customer_link)?;
    Ok(shipment)
}
