//! The preferences form of the tracking page posted back, with its anti-forgery token, and answered by
//! a redirect back to the page (post/redirect/get).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use todoke_shared::Language;
use todoke_shared::preferences::{DeliveryMethod, Preferences, SafePlace, WindowChoice};

use super::post::{PageForm, PostError, post_form};
use super::{TrackParams, TrackingService};
use crate::auth::Caller;
use crate::auth::policy::may_change_preferences;
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::openapi::{RATE_LIMITED, TRACKING_NUMBER};
use crate::preferences::{Change, apply_change};
use crate::store::ShipmentRecord;

/// The methods the form offers, as its `method` field names them.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum FormMethod {
    HandToRecipient,
    SafePlace,
    Neighbour,
    PickupPoint,
}

/// The form as posted. Method and window are absent once they can no longer change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(super) struct PostedForm {
    /// The page's anti-forgery token (a hidden field).
    token: String,
    /// How to receive the parcel.
    #[schema(value_type = Option<FormMethod>)]
    method: Option<String>,
    /// For `safe_place`: where.
    #[schema(value_type = Option<SafePlace>)]
    place: Option<String>,
    /// For a safe place that is `other`: where.
    place_description: Option<String>,
    /// For `neighbour`: their name.
    neighbour_name: Option<String>,
    /// For `neighbour`: their door or room.
    neighbour_door: Option<String>,
    /// For `pickup_point`: its id.
    point_id: Option<String>,
    /// `DATE|HH:MM|HH:MM` from the list of windows, or empty for the promised one.
    window: Option<String>,
    /// A note to the driver.
    instructions: Option<String>,
    /// The gate or door code; `••••` keeps it.
    access_code: Option<String>,
    #[schema(value_type = Option<Language>)]
    language: Option<String>,
    /// Present (any value) when the box is ticked.
    email_notices: Option<String>,
}

impl PostedForm {
    /// The preferences the customer asked for; what the form does not carry stays as it is. An error is
    /// the catalogue's key for what to choose.
    fn wanted(self, current: &Preferences, default_language: Language) -> Result<Preferences, &'static str> {
        let method = match self.method.as_deref() {
            None => current.method.clone(),
            Some("hand_to_recipient") => DeliveryMethod::HandToRecipient,
            Some("safe_place") => {
                let place = self.place.as_deref().unwrap_or_default();
                let place: SafePlace =
                    serde_json::from_value(serde_json::Value::String(place.into())).map_err(|_| "form-choose-place")?;
                let description = self.place_description.filter(|d| !d.trim().is_empty());
                DeliveryMethod::SafePlace { place, description }
            }
            Some("neighbour") => DeliveryMethod::Neighbour {
                name: self.neighbour_name.unwrap_or_default(),
                door: self.neighbour_door.unwrap_or_default(),
            },
            Some("pickup_point") => DeliveryMethod::PickupPoint { point_id: self.point_id.unwrap_or_default() },
            Some(_) => return Err("form-choose-method"),
        };
        let window = match self.window.as_deref() {
            None if self.method.is_none() => current.window.clone(),
            None | Some("") => None,
            Some(value) => {
                let mut parts = value.splitn(3, '|');
                let (date, start, end) = (parts.next(), parts.next(), parts.next());
                let date = date.and_then(|d| d.parse().ok()).ok_or("form-choose-window")?;
                Some(WindowChoice {
                    date,
                    start: start.unwrap_or_default().into(),
                    end: end.unwrap_or_default().into(),
                })
            }
        };
        // The form always shows a language; choosing the one already in use is no choice at all.
        let language = self.language.as_deref().and_then(Language::from_code);
        let language = if current.language.is_none() && language == Some(default_language) { None } else { language };
        Ok(Preferences {
            method,
            window,
            // A text area allows line breaks; the driver's screen reads them as spaces.
            instructions: self.instructions.map(|i| i.replace(['\r', '\n'], " ")).filter(|i| !i.trim().is_empty()),
            access_code: self.access_code.filter(|c| !c.trim().is_empty()),
            language,
            // An unticked box is not sent at all.
            email_notices: self.email_notices.is_some(),
        })
    }
}

/// Saves the preferences form, then sends the browser back to the page.
#[utoipa::path(post, path = "/t/{tracking_number}/preferences", tag = "tracking", security(("customerLink" = [])),
    params(("tracking_number" = String, Path, description = TRACKING_NUMBER), TrackParams),
    request_body(content = PostedForm, content_type = "application/x-www-form-urlencoded",
        description = "The page's preferences form"),
    responses(
        (status = 303, description = "Saved; back to the page", headers(("Location" = String, description = "The page"))),
        (status = 400, description = "The page, saying the tracking number has a typo; a problem when the address or \
                                      query cannot be read", content((String = "text/html"), (todoke_shared::Problem = "application/problem+json"))),
        (status = 401, description = "The page, asking to open it from the link in the email", content((String = "text/html"))),
        (status = 403, description = "The page: not the customer's own link, an expired link, or a forged form", content((String = "text/html"))),
        (status = 404, description = "The page: no parcel has this number, or not this link's", content((String = "text/html"))),
        (status = 409, description = "The page, saying it is too late to change that", content((String = "text/html"))),
        (status = 422, description = "The page, saying which choice is not valid", content((String = "text/html"))),
        (status = 429, description = RATE_LIMITED, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn submit_preferences(
    State(service): State<TrackingService>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Result<Caller, ApiError>,
    ApiPath(number): ApiPath<String>,
    ApiQuery(params): ApiQuery<TrackParams>,
    body: Bytes,
) -> Response {
    post_form::<PostedForm>(service, peer, caller, number, params.language(), body).await
}

impl PageForm for PostedForm {
    const ANCHOR: &'static str = "";

    fn token(&self) -> &str {
        &self.token
    }

    fn may_post(
        caller: &Caller,
        shipment: &ShipmentRecord,
        now: DateTime<Utc>,
        link: Duration,
    ) -> Result<(), ApiError> {
        may_change_preferences(caller, shipment, now, link)
    }

    async fn save(
        self,
        service: &TrackingService,
        caller: &Caller,
        number: &str,
        shipment: ShipmentRecord,
    ) -> Result<(), PostError> {
        let wanted =
            self.wanted(&shipment.content.preferences, shipment.content.recipient.language).map_err(PostError::Form)?;
        apply_change(&service.preferences, caller, number, Change::Replace(wanted)).await?;
        Ok(())
    }
}
