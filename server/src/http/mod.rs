//! Assembles every feature's routes into one application with the layers they all share:
//! request ids, tracing, body limits, panics caught, and problem+json for unknown routes.

pub mod docs;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod rate_limit;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use error::ApiError;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route and its OpenAPI description, built from the same registrations so they cannot drift.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(crate::health::router())
        .merge(crate::auth::router())
        .merge(crate::shipments::router())
        .merge(crate::tracking::router())
        .merge(crate::preferences::router())
        .merge(crate::notify::router())
        .merge(crate::dispatch::router())
        .merge(crate::driver::router())
        .merge(crate::pod::router())
        .merge(crate::eta::exceptions::router())
}

pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let (router, openapi) = routes().split_for_parts();
    let openapi_json = openapi::finish(openapi).to_json().expect("the OpenAPI document serialises");
    router
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || async move { ([(header::CONTENT_TYPE, "application/json")], openapi_json) }),
        )
        .merge(docs::router())
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal().into_response()))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
            let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::from_fn(time_limit))
}

/// How long a request may hold the server; the caller gets a problem saying so.
const REQUEST_TIME_LIMIT: Duration = Duration::from_secs(30);
/// For requests that stream a large body for as long as it lasts.
pub const LONG_REQUEST: Duration = Duration::from_secs(120);

/// A CSV import, and a driver's photos coming up over a phone's connection.
fn takes_long(path: &str) -> bool {
    path == "/api/v1/shipments/import" || path.starts_with("/api/v1/driver/stops/")
}

async fn time_limit(request: Request<Body>, next: Next) -> Response {
    let limit = if takes_long(request.uri().path()) { LONG_REQUEST } else { REQUEST_TIME_LIMIT };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "The server took too long to answer. Please try again in a moment.",
        )
        .into_response(),
    }
}

async fn route_not_found() -> Response {
    ApiError::not_found("route_not_found", "There is no such endpoint. See /api/v1/openapi.json for the API.")
        .into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This endpoint does not take that method. See /api/v1/openapi.json for the API.",
    )
    .into_response()
}
