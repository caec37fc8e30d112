//! The tracking page: made for a phone, readable without JavaScript, no external assets, in the
//! recipient's language with a switch, and described with schema.org `ParcelDelivery` markup.

use askama::Template;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Datelike, FixedOffset};
use todoke_shared::shipment::{GeoPoint, PublicTracking};
use todoke_shared::{Language, TrackingNumber};

use super::form::{FormParts, FormView, form_view};
use super::{TrackParams, load, load_view};
use crate::app::{AppState, now};
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
use todoke_shared::ShipmentStatus;
use todoke_shared::pod::ProofOutcome;

/// The words of the page, in one language.
pub(super) struct Words {
    pub(super) title: &'static str,
    pub(super) tracking_number: &'static str,
    pub(super) expected: &'static str,
    pub(super) delivered_to_area: &'static str,
    pub(super) history: &'static str,
    pub(super) not_found: &'static str,
    pub(super) typo: &'static str,
    pub(super) check_number: &'static str,
    pub(super) recipient: &'static str,
    pub(super) how: &'static str,
    pub(super) hand_over: &'static str,
    pub(super) safe_place: &'static str,
    pub(super) neighbour: &'static str,
    pub(super) neighbour_name: &'static str,
    pub(super) neighbour_door: &'static str,
    pub(super) pickup_point: &'static str,
    pub(super) place_description: &'static str,
    pub(super) window: &'static str,
    pub(super) promised_window: &'static str,
    pub(super) instructions: &'static str,
    pub(super) access_code: &'static str,
    pub(super) access_code_hint: &'static str,
    pub(super) language: &'static str,
    pub(super) email_notices: &'static str,
    pub(super) save: &'static str,
    pub(super) saved: &'static str,
    pub(super) locked_method: &'static str,
    pub(super) not_saved: &'static str,
    pub(super) proof: &'static str,
    pub(super) attempt: &'static str,
    pub(super) received_by: &'static str,
    pub(super) signature: &'static str,
    pub(super) photo: &'static str,
    pub(super) feedback: &'static str,
    pub(super) comment: &'static str,
    pub(super) send_feedback: &'static str,
}

fn words(lang: Language) -> Words {
    match lang {
        Language::Ja => Words {
            title: "お荷物の配達状況",
            tracking_number: "お問い合わせ番号",
            expected: "お届け予定",
            delivered_to_area: "お届け先",
            history: "これまでの状況",
            not_found: "お荷物が見つかりません",
            typo: "お問い合わせ番号に誤りがあるようです",
            check_number: "お問い合わせ番号をもう一度ご確認ください。",
            recipient: "お受取人",
            how: "受け取り方法",
            hand_over: "対面で受け取る",
            safe_place: "置き配（指定の場所に置く）",
            neighbour: "近所の方に預ける",
            neighbour_name: "お名前",
            neighbour_door: "部屋番号・場所",
            pickup_point: "受取場所・ロッカーで受け取る",
            place_description: "置き場所の説明（その他の場合）",
            window: "お届け日時",
            promised_window: "当初のお届け予定のまま",
            instructions: "ドライバーへの伝言",
            access_code: "オートロック・暗証番号",
            access_code_hint: "変更しない場合はそのまま",
            language: "表示言語",
            email_notices: "メールでお知らせを受け取る",
            save: "変更を保存する",
            saved: "変更を保存しました。",
            locked_method: "配達が始まったため、受け取り方法と日時は変更できません。",
            not_saved: "保存できませんでした",
            proof: "配達の記録",
            attempt: "お届けにうかがいました",
            received_by: "お受け取り",
            signature: "サイン",
            photo: "写真",
            feedback: "配達はいかがでしたか",
            comment: "ご感想（任意）",
            send_feedback: "送信する",
        },
        Language::En => Words {
            title: "Parcel tracking",
            tracking_number: "Tracking number",
            expected: "Expected delivery",
            delivered_to_area: "Delivering to",
            history: "History",
            not_found: "Parcel not found",
            typo: "This tracking number has a typo",
            check_number: "Please check the tracking number again.",
            recipient: "Recipient",
            how: "How you receive",
            hand_over: "Hand it to me",
            safe_place: "Leave it at a safe place",
            neighbour: "Give it to a neighbour",
            neighbour_name: "Their name",
            neighbour_door: "Their door",
            pickup_point: "I collect it at a pickup point or locker",
            place_description: "Where exactly (for Other)",
            window: "Delivery time",
            promised_window: "Keep the promised time",
            instructions: "Note for the driver",
            access_code: "Gate or door code",
            access_code_hint: "leave as it is to keep it",
            language: "Language",
            email_notices: "Email me about this parcel",
            save: "Save changes",
            saved: "Your changes are saved.",
            locked_method: "The parcel is on its way: the method and time can no longer change.",
            not_saved: "Not saved",
            proof: "Proof of delivery",
            attempt: "We came by",
            received_by: "Received by",
            signature: "Signature",
            photo: "Photo",
            feedback: "How did the delivery go?",
            comment: "Anything to tell us (optional)",
            send_feedback: "Send",
        },
    }
}

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
    words: Words,
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
    let ja = view.language == Language::Ja;
    let window = format!("{}–{}", eta.expected_from.format("%H:%M"), eta.expected_until.format("%H:%M"));
    let stops_before = match (eta.stops_before, ja) {
        (0, true) => "次があなたのお届け先です".to_string(),
        (0, false) => "Yours is the next stop".to_string(),
        (1, false) => "1 stop before yours".to_string(),
        (n, true) => format!("あなたのお届けまであと{n}件"),
        (n, false) => format!("{n} stops before yours"),
    };
    let home = view.details.as_ref().map(|d| GeoPoint { lat: d.address.lat, lon: d.address.lon });
    let driver_near = eta.driver_near.zip(home).map(|(near, home)| {
        let straight = SpeedModel { detour: 1.0, ..SpeedModel::default() };
        let km = (straight.metres(near, home) / 100.0).round() / 10.0;
        if ja {
            format!("ドライバーは約{km:.1} km先にいます")
        } else {
            format!("Your driver is about {km:.1} km away")
        }
    });
    let updated = eta.updated_at.map(|at| {
        let time = at.format("%H:%M");
        if ja {
            format!("{time}のドライバーの位置から計算")
        } else {
            format!("From the driver's position at {time}")
        }
    });
    Some(ArrivalLines {
        heading: if ja { "到着見込み" } else { "Expected arrival" },
        window,
        stops_before,
        driver_near,
        updated,
    })
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
    pub problems: Vec<String>,
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
    words: Words,
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
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Result<Caller, ApiError>,
    ApiPath(number): ApiPath<String>,
    params: Result<ApiQuery<TrackParams>, ApiError>,
) -> Response {
    if let Err(limited) = state.limits.tracking.check(peer) {
        return limited.into_response();
    }
    // A link that is not valid (or another credential) still shows what the number alone shows.
    let caller = caller.unwrap_or(Caller::Anonymous);
    let params = params.ok().map(|ApiQuery(p)| p);
    let chosen = params.as_ref().and_then(TrackParams::language);
    let saved = params.as_ref().is_some_and(|p| p.saved.is_some());
    let outcome =
        Outcome { status: StatusCode::OK, notice: saved.then_some(()).map(|()| "saved"), problems: Vec::new() };
    render_tracking(&state, caller, &number, chosen, outcome).await
}

/// The page for `number` as `caller` may see it, saying how the last action went.
pub(super) async fn render_tracking(
    state: &AppState,
    caller: Caller,
    number: &str,
    chosen: Option<Language>,
    outcome: Outcome,
) -> Response {
    let number = match TrackingNumber::parse(number) {
        Ok(number) => number,
        Err(_) => return problem_page(StatusCode::BAD_REQUEST, chosen.unwrap_or_default()),
    };
    let (record, events) = match load(&*state.store, &number).await {
        Ok(loaded) => loaded,
        Err(ShipmentError::UnknownTrackingNumber) => {
            return problem_page(StatusCode::NOT_FOUND, chosen.unwrap_or_default());
        }
        Err(error) => return ApiError::from(error).into_response(),
    };
    let full = sees_full_tracking(&caller, &record, now(), state.lifetimes.customer_link);
    let view = match load_view(state, &record, &events, chosen, full).await {
        Ok(view) => view,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let lang = view.language;
    let link = match &caller {
        Caller::Customer { shipment_id } if full && *shipment_id == record.id => {
            Some(state.keys.customer_link(*shipment_id))
        }
        _ => None,
    };
    // The language switch and the form keep the customer's link working.
    let keep_link = link.as_ref().map(|k| format!("&k={k}")).unwrap_or_default();
    let form = match &link {
        Some(k) => {
            let (slots, points) = match (state.store.delivery_slots().await, state.store.pickup_points().await) {
                (Ok(slots), Ok(points)) => (slots, points),
                (Err(error), _) | (_, Err(error)) => return ApiError::from(error).into_response(),
            };
            let words = words(lang);
            form_view(FormParts {
                shipment: &record,
                reschedule_days: state.reschedule_days,
                words: &words,
                lang,
                slots: &slots,
                points: &points,
                token: state.keys.form_token(record.id),
                action: format!("/t/{number}/preferences?k={k}&lang={}", lang.code()),
            })
        }
        None => None,
    };
    let proof = match &link {
        Some(_) => match latest_proof(state, &caller, &record, lang).await {
            Ok(proof) => proof,
            Err(error) => return error.into_response(),
        },
        None => None,
    };
    let feedback = match &link {
        Some(k) if record.status == ShipmentStatus::Delivered => {
            let earlier = match state.pod.store.feedback(record.id).await {
                Ok(earlier) => earlier,
                Err(error) => return ApiError::from(error).into_response(),
            };
            Some(FeedbackForm {
                action: format!("/t/{number}/feedback?k={k}&lang={}", lang.code()),
                token: state.keys.form_token(record.id),
                rating: earlier.as_ref().map_or(0, |f| f.rating),
                comment: earlier.and_then(|f| f.comment).unwrap_or_default(),
            })
        }
        _ => None,
    };
    let words = words(lang);
    let notice = outcome.notice.map(|_| words.saved);
    let tracking_url = state.links.tracking_page(&number);
    let mut page = tracking(&view, &tracking_url, keep_link);
    page.notice = notice;
    page.problems = outcome.problems;
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
        words: words(lang),
        number: view.tracking_number.to_string(),
        status: view.status.as_str(),
        status_label: view.status_label.clone(),
        promised: format!("{} {}–{}", long_date(from, lang), from.format("%H:%M"), until.format("%H:%M")),
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
    state: &AppState,
    caller: &Caller,
    shipment: &ShipmentRecord,
    lang: Language,
) -> Result<Option<ProofSection>, ApiError> {
    let proofs = state.pod.store.proofs(shipment.id).await?;
    let Some(proof) = proofs.first() else { return Ok(None) };
    let links = FileLinks::new(state, caller, shipment.id);
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
    let words = words(lang);
    let heading = if status == StatusCode::BAD_REQUEST { words.typo } else { words.not_found };
    render(status, ProblemPage { lang: lang.code(), words, heading, keep_link: String::new() })
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

fn weekday(date: DateTime<FixedOffset>, lang: Language) -> &'static str {
    let i = date.weekday().num_days_from_monday() as usize;
    match lang {
        Language::Ja => ["月", "火", "水", "木", "金", "土", "日"][i],
        Language::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][i],
    }
}

fn long_date(date: DateTime<FixedOffset>, lang: Language) -> String {
    match lang {
        Language::Ja => format!("{}年{}月{}日({})", date.year(), date.month(), date.day(), weekday(date, lang)),
        Language::En => format!("{} {}", weekday(date, lang), date.format("%-d %b %Y")),
    }
}

fn short_date_time(date: DateTime<FixedOffset>, lang: Language) -> String {
    match lang {
        Language::Ja => format!("{}月{}日 {}", date.month(), date.day(), date.format("%H:%M")),
        Language::En => date.format("%-d %b %H:%M").to_string(),
    }
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
