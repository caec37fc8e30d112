//! A form of the tracking page posted back: the same way for each (the preferences, the feedback).
//! The post is held to the rate limit, read, checked to come from the page (its anti-forgery token)
//! and from someone who may post it, saved, and answered by a redirect back to the page
//! (post/redirect/get) or the page saying what went wrong.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use todoke_shared::{Language, ProblemCode, TrackingNumber};

use super::TrackingService;
use super::page::{Outcome, Said, render_tracking};
use crate::auth::Caller;
use crate::http::error::ApiError;
use crate::store::{ShipmentKey, ShipmentRecord};

/// A form of the page, as posted.
pub(super) trait PageForm: DeserializeOwned + Send {
    /// Where on the page the browser returns after saving (`#feedback`), or nowhere in particular.
    const ANCHOR: &'static str;

    /// The page's anti-forgery token the form carries.
    fn token(&self) -> &str;

    /// Who may post it, given the caller, the shipment, now and the link's lifetime.
    fn may_post(caller: &Caller, shipment: &ShipmentRecord, now: DateTime<Utc>, link: Duration)
    -> Result<(), ApiError>;

    /// Saves what the form asks for the shipment.
    fn save(
        self,
        service: &TrackingService,
        caller: &Caller,
        number: &str,
        shipment: ShipmentRecord,
    ) -> impl Future<Output = Result<(), PostError>> + Send;
}

/// What went wrong with a post, as the page says it.
pub(super) enum PostError {
    /// The catalogue's key for what went wrong.
    Form(&'static str),
    Api(ApiError),
}

impl From<ApiError> for PostError {
    fn from(error: ApiError) -> PostError {
        PostError::Api(error)
    }
}

/// Takes a post of the form `F` from the page of the tracking number `number`.
pub(super) async fn post_form<F: PageForm>(
    service: TrackingService,
    peer: SocketAddr,
    caller: Result<Caller, ApiError>,
    number: String,
    lang: Option<Language>,
    body: Bytes,
) -> Response {
    if let Err(limited) = service.limit.check(peer) {
        return limited.into_response();
    }
    let caller = caller.unwrap_or(Caller::Anonymous);
    let result = save::<F>(&service, &caller, &number, &body).await;
    after_post(&service, caller, &number, lang, F::ANCHOR, result).await
}

async fn save<F: PageForm>(
    service: &TrackingService,
    caller: &Caller,
    number: &str,
    body: &[u8],
) -> Result<(), PostError> {
    let form: F = serde_urlencoded::from_bytes(body).map_err(|_| PostError::Form("form-unreadable"))?;
    let shipment = posted_shipment::<F>(service, caller, number, form.token()).await?;
    form.save(service, caller, number, shipment).await
}

/// The shipment a form of the page is about, once the caller may post it and the form came from the
/// page (its anti-forgery token).
async fn posted_shipment<F: PageForm>(
    service: &TrackingService,
    caller: &Caller,
    number: &str,
    token: &str,
) -> Result<ShipmentRecord, PostError> {
    let tracking_number = TrackingNumber::parse(number).map_err(ApiError::from)?;
    let shipment = service
        .store
        .find_shipment(ShipmentKey::TrackingNumber(&tracking_number))
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::from(crate::shipments::ShipmentError::UnknownTrackingNumber))?;
    F::may_post(caller, &shipment, service.clock.now(), service.customer_link)?;
    if !service.keys.verify_form_token(shipment.id, token) {
        return Err(PostError::Api(ApiError::new(
            StatusCode::FORBIDDEN,
            ProblemCode::FormTokenInvalid,
            "This form did not come from your tracking page. Please open the page again.",
        )));
    }
    Ok(shipment)
}

/// Finishes a form's post: back to the page (at `anchor`) when it was saved, else the page saying what
/// went wrong.
async fn after_post(
    service: &TrackingService,
    caller: Caller,
    number: &str,
    lang: Option<Language>,
    anchor: &str,
    result: Result<(), PostError>,
) -> Response {
    let failed = |status: StatusCode, problems: Vec<Said>| Outcome { status, notice: None, problems };
    let outcome = match result {
        Ok(()) => {
            let mut location = format!("/t/{number}?saved=1");
            if let Caller::Customer { shipment_id } = &caller {
                location.push_str(&format!("&k={}", service.keys.customer_link(*shipment_id)));
            }
            if let Some(lang) = lang {
                location.push_str(&format!("&lang={}", lang.code()));
            }
            location.push_str(anchor);
            return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
        }
        Err(PostError::Form(key)) => failed(StatusCode::UNPROCESSABLE_ENTITY, vec![Said::Form(key)]),
        Err(PostError::Api(error)) => {
            let mut problems: Vec<Said> = error.field_errors().iter().cloned().map(Said::Field).collect();
            if problems.is_empty() {
                problems.push(Said::Api { code: error.code().as_str(), detail: error.detail().to_string() });
            }
            failed(error.status(), problems)
        }
    };
    render_tracking(service, caller, number, lang, outcome).await
}
