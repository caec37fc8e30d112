//! Email notices through a transactional outbox: which notices a change causes (written in its
//! transaction), how they read, how they travel, and the worker that sends them.

mod render;
mod slip;
pub mod transport;
pub mod worker;

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, State};
use serde::Serialize;
use todoke_shared::{ReasonCode, ShipmentStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::policy::{Action, authorize, shipment_not_found};
use crate::auth::{Authenticated, Authenticator};
use crate::clock::Clock;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::openapi::{FORBIDDEN, SHIPMENT_NOT_FOUND};
pub use crate::store::Delay;
use crate::store::{NewNotice, Notice, NoticeRecord, NoticeStore, Outcome, ShipmentKey, ShipmentRecord, Store};
use transport::Transport;

/// How notices are sent, and from whom.
pub struct Mail {
    pub from: lettre::message::Mailbox,
    /// The domain of every `Message-ID`.
    pub domain: String,
    pub transport: Arc<dyn Transport>,
    /// A notice not sent within this time is given up as expired.
    pub max_age: chrono::Duration,
    /// How long a worker holds the notices it claimed.
    pub lease: chrono::Duration,
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
        self.for_outcome(shipment, next, Outcome { proof_id: None, reason })
    }

    /// The notice of a delivery or failed attempt the driver proved: the delivery slip or what happens
    /// next, which read the proof (its photo, signature) when they are written.
    pub fn for_proof(
        &self,
        shipment: &ShipmentRecord,
        next: ShipmentStatus,
        reason: Option<ReasonCode>,
        proof_id: Uuid,
    ) -> Vec<NewNotice> {
        self.for_outcome(shipment, next, Outcome { proof_id: Some(proof_id), reason })
    }

    fn for_outcome(&self, shipment: &ShipmentRecord, next: ShipmentStatus, outcome: Outcome) -> Vec<NewNotice> {
        let notice = match next {
            ShipmentStatus::OutForDelivery => Notice::Dispatched(outcome),
            ShipmentStatus::AttemptFailed => Notice::AttemptFailed(outcome),
            ShipmentStatus::Delivered => Notice::Delivered(outcome),
            _ => return Vec::new(),
        };
        vec![self.notice(shipment, notice)]
    }

    /// The apology for a delay, with the new expected window (the ETA work sends these).
    pub fn for_delay(&self, shipment: &ShipmentRecord, delay: &Delay) -> Vec<NewNotice> {
        vec![self.notice(shipment, Notice::Delayed(delay.clone()))]
    }

    /// The confirmation of a change of preferences.
    pub fn for_preferences(&self, shipment: &ShipmentRecord) -> Vec<NewNotice> {
        vec![self.notice(shipment, Notice::PreferencesChanged)]
    }

    fn notice(&self, shipment: &ShipmentRecord, notice: Notice) -> NewNotice {
        let content = &shipment.content;
        NewNotice {
            notice,
            recipient: content.recipient.email.clone(),
            language: content.preferences.language.unwrap_or(content.recipient.language).code().to_string(),
            suppressed: !content.preferences.email_notices,
            domain: self.domain.clone(),
        }
    }
}

/// What staff's endpoints on a shipment's notices need: the shipment, its outbox, and the mail to
/// queue an announced delay.
#[derive(Clone)]
pub struct NoticeService {
    pub shipments: Arc<dyn Store>,
    pub notices: Arc<dyn NoticeStore>,
    pub mail: Arc<Mail>,
    pub clock: Arc<dyn Clock>,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    NoticeService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(shipment_notifications)).routes(routes!(announce_delay))
}

/// Tell the customer their parcel will be late, with the new expected window (dispatcher, admin). The ETA
/// work calls the same on its own; this is for staff who know first.
#[utoipa::path(post, path = "/api/v1/shipments/{id}/delays", tag = "shipments",
    security(("accessToken" = []), ("apiKey" = [])),
    request_body = Delay,
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses(
        (status = 202, description = "The notice is queued"),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = SHIPMENT_NOT_FOUND),
        (status = 409, description = "- `shipment_closed`: the shipment is delivered, returned or cancelled"),
        (status = 422, description = "- `invalid_window`: start and end are not HH:MM with the end after the start"),
    ))]
#[tracing::instrument(skip_all, fields(shipment_id = tracing::field::Empty))]
async fn announce_delay(
    State(service): State<NoticeService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(delay): ApiJson<Delay>,
) -> Result<axum::http::StatusCode, ApiError> {
    let id = Uuid::try_parse(&id).map_err(|_| shipment_not_found())?;
    tracing::Span::current().record("shipment_id", tracing::field::display(id));
    let shipment = service.shipments.find_shipment(ShipmentKey::Id(id)).await?.ok_or_else(shipment_not_found)?;
    authorize(&caller, Action::RecordEvent(&shipment))?;
    let time = |t: &str| chrono::NaiveTime::parse_from_str(t, "%H:%M").ok();
    if !matches!((time(&delay.start), time(&delay.end)), (Some(start), Some(end)) if start < end) {
        return Err(ApiError::field(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            todoke_shared::ProblemCode::InvalidWindow,
            "start",
            "give start and end as HH:MM, the end after the start",
        ));
    }
    if shipment.status.is_final() {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            todoke_shared::ProblemCode::ShipmentClosed,
            "The shipment is delivered, returned or cancelled.",
        ));
    }
    service.notices.enqueue_notices(id, &service.mail.for_delay(&shipment, &delay), service.clock.now()).await?;
    Ok(axum::http::StatusCode::ACCEPTED)
}

/// Where a notice stands, as stored (`notices.status`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum NoticeStatus {
    Pending,
    Sending,
    Sent,
    Failed,
    Expired,
    Suppressed,
}

/// One notice, as staff and the shipment's merchant see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    pub id: Uuid,
    /// `dispatched`, `attempt_failed`, `preferences_changed`, …
    pub kind: String,
    pub recipient: String,
    pub language: String,
    /// What became of it; `suppressed` when the customer opted out.
    #[schema(value_type = NoticeStatus)]
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
    security(("accessToken" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses(
        (status = 200, description = "Every notice, oldest first", body = Vec<NoticeView>),
        (status = 403, description = FORBIDDEN),
        (status = 404, description = SHIPMENT_NOT_FOUND),
    ))]
async fn shipment_notifications(
    State(service): State<NoticeService>,
    Authenticated(caller): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<NoticeView>>, ApiError> {
    let id = Uuid::try_parse(&id).map_err(|_| shipment_not_found())?;
    let shipment = service.shipments.find_shipment(ShipmentKey::Id(id)).await?.ok_or_else(shipment_not_found)?;
    authorize(&caller, Action::ReadShipment(&shipment))?;
    let notices = service.notices.notices(id).await?;
    Ok(Json(notices.into_iter().map(NoticeView::from).collect()))
}
