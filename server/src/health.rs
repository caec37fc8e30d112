//! Liveness and readiness for load balancers and orchestrators.

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::store::Store;
use todoke_shared::ProblemCode;

/// What readiness needs: the database.
#[derive(Clone)]
pub struct Health {
    pub store: Arc<dyn Store>,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Health: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String, example = "ok")))]
async fn healthz() -> &'static str {
    "ok"
}

/// The server can reach its database.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses(
        (status = 200, description = "`ready`", content_type = "text/plain", body = String, example = "ready"),
        (status = 503, description = "- `database_unavailable`: the database cannot be reached"),
    ))]
async fn readyz(State(health): State<Health>) -> Result<&'static str, ApiError> {
    health.store.ping().await.map_err(|error| {
        tracing::warn!(%error, "readiness check failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::DatabaseUnavailable,
            "The database cannot be reached.",
        )
    })?;
    Ok("ready")
}
