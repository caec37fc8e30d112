//! The tracking page: made for a phone, readable without JavaScript, no external assets, in the
//! recipient's language with a switch, and described with schema.org `ParcelDelivery` markup.

use askama::Template;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, FixedOffset};
use todoke_shared::shipment::{GeoPoint, PublicTracking};
use todoke_shared::{Catalogue, DateStyle, Language, Texts, TrackingNumber};

use super::form::{FormParts, FormView, form_view};
use super::{TrackParams, TrackingService, load, load_view};
use crate::auth::Caller;
use crate::auth::policy::sees_full_tracking;
use crate::dispatch::plan::SpeedModel;
use todoke_shared::Problem;

use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::openapi::{RATE_LIMITED, TRACKING_NUMBER};
use crate::pod::view::{FileLinks, proof_view};
use crate::shipments::ShipmentError;
use crate::store::ShipmentRecord;
use todoke_shared::FieldError;
use todoke_shared::ShipmentStatus;
use todoke_shared::pod::ProofOutcome;

struct TimelineEntry {
    iso: String,
    when: String,
    label: String,
    reason: Option<String>,
}

#[derive(Template)]
#[template(path = "tracking.html")]
struct TrackingPage {
    lang: &'static str,
    /// The page's texts, from the catalogue of its language.
    t: Texts,
    languages: Vec<LanguageLink>,
    number: String,
    status: &'static str,
    status_label: String,
    promised: String,
    arrival: Option<ArrivalLines>,
    area: String,
    timeline: Vec<TimelineEntry>,
    json_ld: String,
    details: Option<Details>,
    /// Appended to the language links: the customer's `k`, or nothing.
    keep_link: String,
    notice: Option<&'static str>,
    problems: Vec<String>,
    form: Option<FormView>,
    proof: Option<ProofSection>,
    feedback: Option<FeedbackForm>,
}

/// When the driver is expected, in words.
struct ArrivalLines {
    heading: &'static str,
    window: String,
    stops_before: String,
    driver_near: Option<String>,
    updated: Option<String>,
}

fn arrival_lines(view: &PublicTracking) -> Option<ArrivalLines> {
    let eta = view.eta.as_ref()?;
    let lang = view.language;
    let time = |at: &DateTime<FixedOffset>| at.format("%H:%M").to_string();
    let window = Catalogue::format(
        lang,
        "time-window",
        &[("start", time(&eta.expected_from).into()), ("end", time(&eta.expected_until).into())],
    );
    let stops_before = Catalogue::format(lang, "arrival-stops-before", &[("n", i64::from(eta.stops_before).into())]);
    let home = view.details.as_ref().map(|d| GeoPoint { lat: d.address.lat, lon: d.address.lon });
    let driver_near = eta.driver_near.zip(home).map(|(near, home)| {
        let straight = SpeedModel { detour: 1.0, ..SpeedModel::default() };
        let km = (straight.metres(near, home) / 100.0).round() / 10.0;
        Catalogue::format(lang, "arrival-driver-near", &[("km", format!("{km:.1}").into())])
    });
    let updated = eta.updated_at.map(|at| Catalogue::format(lang, "arrival-updated", &[("time", time(&at).into())]));
    Some(ArrivalLines { heading: Catalogue::text(lang, "arrival-heading"), window, stops_before, driver_near, updated })
}

/// The language switch: every language in its own name.
struct LanguageLink {
    code: &'static str,
    name: &'static str,
}

fn language_links() -> Vec<LanguageLink> {
    Language::ALL
        .into_iter()
        .map(|lang| LanguageLink { code: lang.code(), name: Catalogue::text(lang, "language-name") })
        .collect()
}

/// The form for the customer's word on a delivery, with what they said before.
struct FeedbackForm {
    action: String,
    token: String,
    rating: u8,
    comment: String,
}

/// The newest proof, as the customer's own link shows it: the delivery slip, or the attempt.
struct ProofSection {
    delivered: bool,
    when: String,
    how: Option<String>,
    received_by: Option<String>,
    reason: Option<String>,
    /// Thumbnail and full size.
    photos: Vec<(String, String)>,
    signature: Option<String>,
}

/// How the last action went, for the page to say.
pub(super) struct Outcome {
    pub status: StatusCode,
    pub notice: Option<&'static str>,
    pub problems: Vec<Said>,
}

/// What went wrong with a form, said in the page's language once the page knows it.
pub(super) enum Said {
    /// A message of the catalogue.
    Form(&'static str),
    /// One field of the input: its name (`field-<path>`) and what is wrong (`invalid-<code>`).
    Field(FieldError),
    /// A problem by its code (`problem-<code>`); its detail where the catalogue has no words for it.
    Api { code: &'static str, detail: String },
}

impl Said {
    fn say(&self, lang: Language) -> String {
        match self {
            Said::Form(key) => Catalogue::text(lang, key).to_string(),
            Said::Field(error) => {
                let field_key = format!("field-{}", error.field.replace('.', "-"));
                let field =
                    if Catalogue::has(lang, &field_key) { Catalogue::text(lang, &field_key) } else { &error.field };
                let problem_key = format!("invalid-{}", error.code);
                let problem = if Catalogue::has(lang, &problem_key) {
                    // The one number of a message is its limit, such as `too_long`'s maximum length.
                    let max: String = error.message.chars().filter(char::is_ascii_digit).collect();
                    Catalogue::format(lang, &problem_key, &[("max", max.into())])
                } else {
                    error.message.clone()
                };
                Catalogue::format(lang, "form-field-problem", &[("field", field.into()), ("problem", problem.into())])
            }
            Said::Api { code, detail } => {
                let key = format!("problem-{code}");
                if Catalogue::has(lang, &key) { Catalogue::text(lang, &key).to_string() } else { detail.clone() }
            }
        }
    }
}

/// What only the customer's own link shows.
struct Details {
    name: String,
    address: String,
}

#[derive(Template)]
#[template(path = "tracking_problem.html")]
struct ProblemPage {
    lang: &'static str,
    t: Texts,
    languages: Vec<LanguageLink>,
    heading: &'static str,
    keep_link: String,
}

/// The tracking page for a phone.
#[utoipa::path(get, path = "/t/{tracking_number}", tag = "tracking", security((), ("customerLink" = [])),
    params(("tracking_number" = String, Path, description = TRACKING_NUMBER, example = "KR51-ME91-HQ7G-0E6T"), TrackParams),
    responses(
        (status = 200, description = "The tracking page (with the customer's link, the full page and its forms; \
                                      a link that is not valid shows the public page)", content((String = "text/html"))),
        (status = 400, description = "A page saying the tracking number has a typo; a problem when the address cannot be read",
         content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 404, description = "A page saying no parcel has this number", content((String = "text/html"))),
        (status = 429, description = RATE_LIMITED, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn tracking_page(
    State(service): State<TrackingService>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Result<Caller, ApiError>,
    ApiPath(number): ApiPath<String>,
    params: Result<ApiQuery<TrackParams>, ApiError>,
) -> Response {
    if let Err(limited) = service.limit.check(peer) {
        return limited.into_response();
    }
    // A link that is not valid (or another credential) still shows what the number alone shows.
    let caller = caller.unwrap_or(Caller::Anonymous);
    let params = params.ok().map(|ApiQuery(p)| p);
    let chosen = params.as_ref().and_then(TrackParams::language);
    let saved = params.as_ref().is_some_and(|p| p.saved.is_some());
    let outcome =
        Outcome { status: StatusCode::OK, notice: saved.then_some(()).map(|()| "saved"), problems: Vec::new() };
    render_tracking(&service, caller, &number, chosen, outcome).await
}

/// The page for `number` as `caller` may see it, saying how the last action went.
pub(super) async fn render_tracking(
    service: &TrackingService,
    caller: Caller,
    number: &str,
    chosen: Option<Language>,
    outcome: Outcome,
) -> Response {
    let number = match TrackingNumber::parse(number) {
        Ok(number) => number,
        Err(_) => return problem_page(StatusCode::BAD_REQUEST, chosen.unwrap_or_default()),
    };
    let (record, events) = match load(&*service.store, &number).await {
        Ok(loaded) => loaded,
        Err(ShipmentError::UnknownTrackingNumber) => {
            return problem_page(StatusCode::NOT_FOUND, chosen.unwrap_or_default());
        }
        Err(error) => return ApiError::from(error).into_response(),
    };
    let full = sees_full_tracking(&caller, &record, service.clock.now(), service.customer_link);
    let view = match load_view(service, &record, &events, chosen, full).await {
        Ok(view) => view,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let lang = view.language;
    let link = match &caller {
        Caller::Customer { shipment_id } if full && *shipment_id == record.id => {
            Some(service.keys.customer_link(*shipment_id))
        }
        _ => None,
    };
    // The language switch and the form keep the customer's link working.
    let keep_link = link.as_ref().map(|k| format!("&k={k}")).unwrap_or_default();
    let form = match &link {
        Some(k) => {
            let (slots, points) = match (service.places.delivery_slots().await, service.places.pickup_points().await) {
                (Ok(slots), Ok(points)) => (slots, points),
                (Err(error), _) | (_, Err(error)) => return ApiError::from(error).into_response(),
            };
            form_view(FormParts {
                shipment: &record,
                reschedule_days: service.preferences.reschedule_days,
                lang,
                slots: &slots,
                points: &points,
                token: service.keys.form_token(record.id),
                action: format!("/t/{number}/preferences?k={k}&lang={}", lang.code()),
            })
        }
        None => None,
    };
    let proof = match &link {
        Some(_) => match latest_proof(service, &caller, &record, lang).await {
            Ok(proof) => proof,
            Err(error) => return error.into_response(),
        },
        None => None,
    };
    let feedback = match &link {
        Some(k) if record.status == ShipmentStatus::Delivered => {
            let earlier = match service.proofs.feedback(record.id).await {
                Ok(earlier) => earlier,
                Err(error) => return ApiError::from(error).into_response(),
            };
            Some(FeedbackForm {
                action: format!("/t/{number}/feedback?k={k}&lang={}", lang.code()),
                token: service.keys.form_token(record.id),
                rating: earlier.as_ref().map_or(0, |f| f.rating),
                comment: earlier.and_then(|f| f.comment).unwrap_or_default(),
            })
        }
        _ => None,
    };
    let notice = outcome.notice.map(|_| Catalogue::text(lang, "page-saved"));
    let tracking_url = service.links.tracking_page(&number);
    let mut page = tracking(&view, &tracking_url, keep_link);
    page.notice = notice;
    page.problems = outcome.problems.iter().map(|said| said.say(lang)).collect();
    page.form = form;
    page.proof = proof;
    page.feedback = feedback;
    let mut response = render(outcome.status, page);
    if full {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn tracking(view: &PublicTracking, tracking_url: &str, keep_link: String) -> TrackingPage {
    let lang = view.language;
    let (from, until) = (view.promised.window_starts_at, view.promised.window_ends_at);
    TrackingPage {
        lang: lang.code(),
        t: Texts(lang),
        languages: language_links(),
        number: view.tracking_number.to_string(),
        status: view.status.as_str(),
        status_label: view.status_label.clone(),
        promised: Catalogue::window(
            lang,
            DateStyle::Long,
            from.date_naive(),
            &from.format("%H:%M").to_string(),
            &until.format("%H:%M").to_string(),
        ),
        arrival: arrival_lines(view),
        area: view.city.clone(),
        timeline: view
            .events
            .iter()
            .rev()
            .map(|event| TimelineEntry {
                iso: event.occurred_at.to_rfc3339(),
                when: short_date_time(event.occurred_at, lang),
                label: event.status_label.clone(),
                reason: event.reason_label.clone(),
            })
            .collect(),
        json_ld: json_ld(view, tracking_url),
        details: view.details.as_ref().map(|details| Details {
            name: details.recipient.name.clone(),
            address: format!("〒{} {}", details.address.postal_code, details.address.lines.join(" ")),
        }),
        keep_link,
        notice: None,
        problems: Vec::new(),
        form: None,
        proof: None,
        feedback: None,
    }
}

async fn latest_proof(
    service: &TrackingService,
    caller: &Caller,
    shipment: &ShipmentRecord,
    lang: Language,
) -> Result<Option<ProofSection>, ApiError> {
    let proofs = service.proofs.proofs(shipment.id).await?;
    let Some(proof) = proofs.first() else { return Ok(None) };
    let links = FileLinks::new(&service.links, caller, shipment.id);
    let view = proof_view(shipment, proof, &links, None)?;
    Ok(Some(ProofSection {
        delivered: view.outcome == ProofOutcome::Delivered,
        when: short_date_time(view.captured_at, lang),
        how: view.method.as_ref().map(|method| method.label(lang)),
        received_by: view.recipient_name,
        reason: view.reason.map(|reason| reason.label(lang).to_string()),
        photos: view.photos.into_iter().map(|p| (p.thumbnail_url, p.display_url)).collect(),
        signature: view.signature_url,
    }))
}

fn problem_page(status: StatusCode, lang: Language) -> Response {
    let heading = Catalogue::text(lang, if status == StatusCode::BAD_REQUEST { "page-typo" } else { "page-not_found" });
    render(
        status,
        ProblemPage {
            lang: lang.code(),
            t: Texts(lang),
            languages: language_links(),
            heading,
            keep_link: String::new(),
        },
    )
}

fn render(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            // Customers' links may carry a token: never let it leak to another site.
            response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'",
                ),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "rendering the tracking page failed");
            ApiError::internal().into_response()
        }
    }
}

fn short_date_time(date: DateTime<FixedOffset>, lang: Language) -> String {
    Catalogue::date_time(lang, DateStyle::Short, date.naive_local())
}

/// schema.org `ParcelDelivery` as JSON-LD, escaped so that no text can close the script element.
fn json_ld(view: &PublicTracking, tracking_url: &str) -> String {
    let latest = view.events.last();
    let value = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "ParcelDelivery",
        "trackingNumber": view.tracking_number,
        "trackingUrl": tracking_url,
        "provider": {"@type": "Organization", "name": "Todoke"},
        "deliveryAddress": {"@type": "PostalAddress", "addressLocality": view.city, "addressCountry": view.country},
        "expectedArrivalFrom": view.promised.window_starts_at.to_rfc3339(),
        "expectedArrivalUntil": view.promised.window_ends_at.to_rfc3339(),
        "deliveryStatus": {
            "@type": "DeliveryEvent",
            "name": view.status_label,
            "identifier": view.status,
            "startDate": latest.map(|e| e.occurred_at.to_rfc3339()),
        },
    });
    value.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The templates ask the catalogue by key; every key they name is in every language.
    #[test]
    fn every_text_the_templates_ask_for_is_in_every_catalogue() {
        let templates =
            [include_str!("../../templates/tracking.html"), include_str!("../../templates/tracking_problem.html")];
        let keys: Vec<&str> = templates
            .iter()
            .flat_map(|template| {
                template.split("t.get(\"").skip(1).map(|rest| rest.split('"').next().unwrap_or_default())
            })
            .collect();
        assert!(keys.len() > 30, "{keys:?}");
        for lang in Language::ALL {
            for key in &keys {
                assert!(Catalogue::has(lang, key), "{key} is not in {}.ftl", lang.code());
            }
        }
    }

    #[test]
    fn a_field_problem_is_said_in_the_pages_language() {
        let empty = FieldError { field: "method.name".into(), code: "required", message: "must not be empty".into() };
        assert_eq!(Said::Field(empty.clone()).say(Language::Ja), "お名前: 入力してください");
        assert_eq!(Said::Field(empty).say(Language::En), "Their name: must not be empty");
        let long = FieldError {
            field: "instructions".into(),
            code: "too_long",
            message: "must be at most 200 characters".into(),
        };
        assert_eq!(Said::Field(long).say(Language::Ja), "ドライバーへの伝言: 200文字以内で入力してください");
        let unknown = Said::Api { code: "no_words_for_this", detail: "As the API says it.".into() };
        assert_eq!(unknown.say(Language::Ja), "As the API says it.");
    }
}
