//! The customer's word on a delivery: the form on their page, where the delivery slip's link leads.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use todoke_shared::ShipmentStatus;
use todoke_shared::pod::Feedback;

use super::post::{PageForm, PostError, post_form};
use super::{TrackParams, TrackingService};
use crate::auth::Caller;
use crate::auth::policy::may_leave_feedback;
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::openapi::{RATE_LIMITED, TRACKING_NUMBER};
use crate::store::ShipmentRecord;

/// The feedback form as the page posts it.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct FeedbackForm {
    /// The page's anti-forgery token (a hidden field).
    token: String,
    /// 1 (poor) to 5 (very good).
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    rating: Option<String>,
    /// In the customer's words, at most 1,000 characters.
    comment: Option<String>,
}

/// Saves the customer's feedback on a delivered parcel, then sends the browser back to the page.
#[utoipa::path(post, path = "/t/{tracking_number}/feedback", tag = "tracking", security(("customerLink" = [])),
    params(("tracking_number" = String, Path, description = TRACKING_NUMBER), TrackParams),
    request_body(content = FeedbackForm, content_type = "application/x-www-form-urlencoded",
        description = "The page's feedback form"),
    responses(
        (status = 303, description = "Saved; back to the page", headers(("Location" = String, description = "The page"))),
        (status = 400, description = "The page, saying the tracking number has a typo; a problem when the address or \
                                      query cannot be read", content((String = "text/html"), (todoke_shared::Problem = "application/problem+json"))),
        (status = 401, description = "The page, asking to open it from the link in the email", content((String = "text/html"))),
        (status = 403, description = "The page: not the customer's own link, an expired link, or a forged form", content((String = "text/html"))),
        (status = 404, description = "The page: no parcel has this number, or not this link's", content((String = "text/html"))),
        (status = 422, description = "The page, saying there is no rating or the parcel is not delivered yet",
         content((String = "text/html"))),
        (status = 429, description = RATE_LIMITED, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn submit_feedback(
    State(service): State<TrackingService>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Result<Caller, ApiError>,
    ApiPath(number): ApiPath<String>,
    ApiQuery(params): ApiQuery<TrackParams>,
    body: Bytes,
) -> Response {
    post_form::<FeedbackForm>(service, peer, caller, number, params.language(), body).await
}

impl PageForm for FeedbackForm {
    const ANCHOR: &'static str = "#feedback";

    fn token(&self) -> &str {
        &self.token
    }

    fn may_post(
        caller: &Caller,
        shipment: &ShipmentRecord,
        now: DateTime<Utc>,
        link: Duration,
    ) -> Result<(), ApiError> {
        may_leave_feedback(caller, shipment, now, link)
    }

    #[tracing::instrument(skip_all, fields(shipment_id = %shipment.id))]
    async fn save(
        self,
        service: &TrackingService,
        _caller: &Caller,
        _number: &str,
        shipment: ShipmentRecord,
    ) -> Result<(), PostError> {
        if shipment.status != ShipmentStatus::Delivered {
            return Err(PostError::Form("form-feedback-not-delivered"));
        }
        // A textarea's line breaks are kept as spaces: one line, as every text the page shows.
        let comment = self.comment.as_deref().map(|c| c.lines().map(str::trim).collect::<Vec<_>>().join(" "));
        let feedback = Feedback::parse(self.rating.as_deref(), comment.as_deref()).map_err(ApiError::validation)?;
        service.proofs.save_feedback(shipment.id, &feedback, service.clock.now()).await.map_err(ApiError::from)?;
        Ok(())
    }
}
