//! Email notices through a transactional outbox: which notices a change causes (written in its
//! transaction), how they read, how they travel, and the worker that sends them.

mod render;
pub mod transport;
pub mod worker;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use todoke_shared::{ReasonCode, ShipmentStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Authenticated;
use crate::auth::policy::{Action, authorize};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::ApiPath;
use crate::shipments::ShipmentError;
use crate::store::{NewNotice, NoticeRecord, ShipmentKey, ShipmentRecord};
use transport::Transport;

/// How notices are sent, and from whom.
pub struct Mail {
    pub from: lettre::message::Mailbox,
    /// The domain of every `Message-ID`.
    pub domain: String,
    pub transport: Arc<dyn Transport>,
    /// A notice not sent within this time is given up as expired.
    pub max_age: chrono::Duration,
}

impl Mail {
    /// The notices a status change causes for the customer: none, or one, recorded as suppressed when
    /// the customer opted out of email.
    pub fn for_transition(
        &self,
        shipment: &ShipmentRecord,
        next: ShipmentStatus,
        reason: Option<ReasonCode>,
    ) -> Vec<NewNotice> {
        let kind = match next {
            ShipmentStatus::OutForDelivery => "dispatched",
            ShipmentStatus::AttemptFailed => "attempt_failed",
            _ => return Vec::new(),
        };
        let payload = serde_json::json!({"reason": reason}).to_string();
        vec![self.notice(shipment, kind, payload)]
    }

    /// The confirmation of a change of preferences.
    pub fn for_preferences(&self, shipment: &ShipmentRecord) -> Vec<NewNotice> {
        vec![self.notice(shipment, "preferences_changed", "{}".to_string())]
    }

    fn notice(&self, shipment: &ShipmentRecord, kind: &str, payload: String) -> NewNotice {
        let content = &shipment.content;
        NewNotice {
            kind: kind.to_string(),
            recipient: content.recipient.email.clone(),
            language: content.preferences.language.unwrap_or(content.recipient.language).code().to_string(),
            suppressed: !content.preferences.email_notices,
            payload,
            domain: self.domain.clone(),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(shipment_notifications))
}

/// One notice, as staff and the shipment's merchant see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    pub id: Uuid,
    /// `dispatched`, `attempt_failed`, `preferences_changed`, …
    pub kind: String,
    pub recipient: String,
    pub language: String,
    /// `pending`, `sending`, `sent`, `failed`, `expired`, or `suppressed` (the customer opted out).
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub message_id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<NoticeRecord> for NoticeView {
    fn from(n: NoticeRecord) -> NoticeView {
        NoticeView {
            id: n.id,
            kind: n.kind,
            recipient: n.recipient,
            language: n.language,
            status: n.status,
            attempts: n.attempts,
            last_error: n.last_error,
            message_id: n.message_id,
            created_at: n.created_at,
            sent_at: n.sent_at,
        }
    }
}

/// The email notices of a shipment, with what became of each.
#[utoipa::path(get, path = "/api/v1/shipments/{id}/notifications", tag = "shipments",
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses((status = 200, body = Vec<NoticeView>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn shipment_notifications(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<NoticeView>>, ApiError> {
    let id = Uuid::try_parse(&id).map_err(|_| ShipmentError::NotFound)?;
    let shipment = state.store.find_shipment(ShipmentKey::Id(id)).await?.ok_or(ShipmentError::NotFound)?;
    authorize(&caller, Action::ReadShipment(&shipment))?;
    let notices = state.store.notices(id).await?;
    Ok(Json(notices.into_iter().map(NoticeView::from).collect()))
}
