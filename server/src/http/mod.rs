//! Assembles every feature's routes into one application with the layers they all share:
//! request ids, tracing, body limits, panics caught, and problem+json for unknown routes.

pub mod docs;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod rate_limit;
mod wrong_types;

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

use error::ApiError;
use todoke_shared::ProblemCode;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Where the features' routes start: the document they add their descriptions to.
pub fn routes<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
}

/// The application from the features' routes (each registered with its OpenAPI description, so the two
/// cannot drift) and their state.
pub fn router<S: Clone + Send + Sync + 'static>(routes: OpenApiRouter<S>, state: S, max_body_bytes: usize) -> Router {
    let (router, openapi) = routes.split_for_parts();
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
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
            let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(axum::middleware::from_fn(time_limit))
        // Outside everything that may answer with a problem, the time limit included.
        .layer(axum::middleware::from_fn(request_id_in_problems))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Puts the request id (the `x-request-id` header) into every problem body, however it was made:
/// by a handler, an extractor's rejection, a fallback, the time limit or a caught panic. Problems are
/// small, made here, and rare; other responses pass untouched.
async fn request_id_in_problems(request: Request<Body>, next: Next) -> Response {
    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_string);
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/problem+json"));
    let Some(request_id) = request_id.filter(|_| is_problem) else { return response };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::internal().into_response();
    };
    // Added as the last member, the others kept as they were written.
    let problem = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes);
    let fits = problem.is_ok_and(|problem| !problem.is_empty() && !problem.contains_key("request_id"));
    let body = match bytes.trim_ascii_end().strip_suffix(b"}") {
        Some(members) if fits => {
            let mut body = members.to_vec();
            body.extend_from_slice(b",\"request_id\":");
            body.extend_from_slice(&serde_json::to_vec(&request_id).unwrap_or_else(|_| b"null".to_vec()));
            body.push(b'}');
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(body)
        }
        _ => Body::from(bytes),
    };
    Response::from_parts(parts, body)
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
            ProblemCode::Timeout,
            "The server took too long to answer. Please try again in a moment.",
        )
        .into_response(),
    }
}

async fn route_not_found() -> Response {
    ApiError::not_found(ProblemCode::RouteNotFound, "There is no such endpoint. See /api/v1/openapi.json for the API.")
        .into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ProblemCode::MethodNotAllowed,
        "This endpoint does not take that method. See /api/v1/openapi.json for the API.",
    )
    .into_response()
}
