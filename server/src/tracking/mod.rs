//! Public tracking: what anyone holding a tracking number may see, as JSON and as a page for a phone.
//! Only the city and country of the address are shown: no name, street, email or phone.

mod feedback;
mod form;
mod page;
mod post;
mod preferences_form;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, FromRef, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use todoke_shared::shipment::{CustomerDetails, EmailNotice, PublicEta, PublicEvent, PublicPromise, PublicTracking};
use todoke_shared::{Language, TrackingNumber};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::policy::sees_full_tracking;
use crate::auth::tokens::Keys;
use crate::auth::{Authenticator, Caller};
use crate::clock::Clock;
use crate::eta::delay::window_from;
use crate::eta::service::{Arrival, Estimator, arrival};
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::openapi::{RATE_LIMITED, TRACKING_NUMBER};
use crate::http::rate_limit::RateLimit;
use crate::links::Links;
use crate::preferences::PreferenceService;
use crate::shipments::ShipmentError;
use crate::store::{
    EventRecord, NoticeRecord, NoticeStore, PlaceStore, PodStore, ShipmentKey, ShipmentRecord, Store, StoreError,
};

/// How wide the expected window on the tracking page is: narrow enough to plan by, wide enough to hold.
const SHOWN_WINDOW: chrono::Duration = chrono::Duration::minutes(30);

/// What the tracking API and page, and the page's forms, need.
#[derive(Clone)]
pub struct TrackingService {
    /// The delivery slots and pickup points customers choose from.
    pub places: Arc<dyn PlaceStore>,
    pub store: Arc<dyn Store>,
    /// The emails the customer's own view lists.
    pub notices: Arc<dyn NoticeStore>,
    /// The proof the customer's own page shows, and their feedback on it.
    pub proofs: Arc<dyn PodStore>,
    /// The customer's link and the forms' anti-forgery tokens.
    pub keys: Arc<Keys>,
    pub links: Arc<Links>,
    /// Views and posts per address: tracking numbers must not be guessed at speed.
    pub limit: Arc<RateLimit>,
    /// How long a customer's link opens the full view.
    pub customer_link: chrono::Duration,
    /// When the driver is expected.
    pub estimator: Estimator,
    /// The page's preferences form changes them as the API does, and offers what it accepts.
    pub preferences: PreferenceService,
    pub clock: Arc<dyn Clock>,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    TrackingService: FromRef<S>,
    Authenticator: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(track))
        .routes(routes!(page::tracking_page))
        .routes(routes!(preferences_form::submit_preferences))
        .routes(routes!(feedback::submit_feedback))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TrackParams {
    /// Language of the labels, `ja` or `en`; anything else shows the customer's chosen language.
    lang: Option<String>,
    /// Set (to `1`) after the page's form was saved, to say so.
    saved: Option<String>,
}

/// The tracking API's query: a language it does not know is refused, where the page shows its default.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TrackQuery {
    /// Language of the labels. Defaults to the customer's chosen language.
    lang: Option<Language>,
}

impl TrackParams {
    fn language(&self) -> Option<Language> {
        self.lang.as_deref().and_then(Language::from_code)
    }
}

/// The public view of a shipment: status, promised window, timeline, and the city only. With the
/// customer's link (`?k=`), also the recipient, address and parcels.
#[utoipa::path(get, path = "/api/v1/track/{tracking_number}", tag = "tracking",
    security((), ("customerLink" = []), ("accessToken" = []), ("apiKey" = [])),
    params(("tracking_number" = String, Path, description = TRACKING_NUMBER, example = "KR51-ME91-HQ7G-0E6T"), TrackQuery),
    responses(
        (status = 200, description = "The public view; with the customer's link, staff's token or the merchant's key, \
                                      the full view (`details`)", body = PublicTracking,
         headers(("Cache-Control" = String, description = "`no-store` for the full view, else `no-cache`")),
         example = json!({
            "tracking_number": "KR51-ME91-HQ7G-0E6T", "status": "out_for_delivery", "status_label": "配達中",
            "language": "ja", "city": "千代田区", "country": "JP",
            "promised": {"date": "2026-11-24", "window": {"start": "14:00", "end": "16:00"},
                         "window_starts_at": "2026-11-24T14:00:00+09:00", "window_ends_at": "2026-11-24T16:00:00+09:00"},
            "events": [
                {"status": "info_received", "status_label": "お荷物情報を受け付けました", "occurred_at": "2026-11-22T10:03:11+09:00"},
                {"status": "at_depot", "status_label": "営業所に到着しました", "occurred_at": "2026-11-24T06:40:00+09:00"},
                {"status": "out_for_delivery", "status_label": "配達中", "occurred_at": "2026-11-24T08:15:00+09:00"}
            ],
            "eta": {"expected_from": "2026-11-24T14:20:00+09:00", "expected_until": "2026-11-24T14:50:00+09:00",
                    "stops_before": 3, "updated_at": "2026-11-24T13:05:00+09:00", "driver_near": false}
         })),
        (status = 404, description = "- `tracking_number_unknown`: no shipment has this tracking number"),
        (status = 429, description = RATE_LIMITED, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn track(
    State(service): State<TrackingService>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Caller,
    ApiPath(number): ApiPath<String>,
    ApiQuery(params): ApiQuery<TrackQuery>,
) -> Result<impl IntoResponse, ApiError> {
    service.limit.check(peer)?;
    let number = TrackingNumber::parse(&number)?;
    let (record, events) = load(&*service.store, &number).await?;
    let full = sees_full_tracking(&caller, &record, service.clock.now(), service.customer_link);
    let view = Json(load_view(&service, &record, &events, params.lang, full).await?);
    // Personal details must not linger in shared caches.
    let cache = if full { "no-store" } else { "no-cache" };
    Ok(([(header::CACHE_CONTROL, cache)], view))
}

async fn load(store: &dyn Store, number: &TrackingNumber) -> Result<(ShipmentRecord, Vec<EventRecord>), ShipmentError> {
    let record =
        store.find_shipment(ShipmentKey::TrackingNumber(number)).await?.ok_or(ShipmentError::UnknownTrackingNumber)?;
    let events = store.events(record.id).await?;
    Ok((record, events))
}

/// The tracking view with what it shows beside the shipment: its emails (with `full`) and when the
/// driver is expected.
async fn load_view(
    service: &TrackingService,
    record: &ShipmentRecord,
    events: &[EventRecord],
    lang: Option<Language>,
    full: bool,
) -> Result<PublicTracking, StoreError> {
    let notices = if full { service.notices.notices(record.id).await? } else { Vec::new() };
    let arrival = arrival(&service.estimator, record, full).await?;
    Ok(tracking_view(record, events, &notices, arrival.as_ref(), lang, full))
}

/// The tracking view; with `full`, the customer's details too.
fn tracking_view(
    record: &ShipmentRecord,
    events: &[EventRecord],
    notices: &[NoticeRecord],
    arrival: Option<&Arrival>,
    lang: Option<Language>,
    full: bool,
) -> PublicTracking {
    let content = &record.content;
    let lang = lang.or(content.preferences.language).unwrap_or(content.recipient.language);
    let address = &content.address;
    let (window_starts_at, window_ends_at) = content.promised.window_at(address.time_zone());
    PublicTracking {
        tracking_number: record.tracking_number,
        status: record.status,
        status_label: record.status.label(lang).to_string(),
        language: lang,
        city: address.city.clone(),
        country: address.country.clone(),
        promised: PublicPromise {
            date: content.promised.date,
            window: content.promised.window,
            window_starts_at,
            window_ends_at,
        },
        events: events
            .iter()
            .map(|event| PublicEvent {
                status: event.status,
                status_label: event.status.label(lang).to_string(),
                occurred_at: address.local_time(event.occurred_at),
                reason: event.reason,
                reason_label: event.reason.map(|reason| reason.label(lang).to_string()),
            })
            .collect(),
        eta: arrival.map(|arrival| {
            let shown = window_from(arrival.expected, SHOWN_WINDOW);
            PublicEta {
                expected_from: address.local_time(shown.start),
                expected_until: address.local_time(shown.end),
                stops_before: arrival.stops_before,
                updated_at: arrival.as_of.map(|at| address.local_time(at)),
                driver_near: arrival.driver_near,
            }
        }),
        details: full.then(|| CustomerDetails {
            recipient: content.recipient.clone(),
            address: content.address.clone(),
            parcels: content.parcels.clone(),
            emails: notices
                .iter()
                .map(|n| EmailNotice {
                    kind: n.kind.clone(),
                    status: n.status.clone(),
                    queued_at: address.local_time(n.created_at),
                    sent_at: n.sent_at.map(|at| address.local_time(at)),
                })
                .collect(),
        }),
    }
}
