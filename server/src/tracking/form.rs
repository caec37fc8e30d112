//! The preferences form on the tracking page: plain HTML that works without JavaScript, posted with an
//! anti-forgery token, answered by a redirect back to the page (post/redirect/get).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use todoke_shared::preferences::{
    ACCESS_CODE_MASK, DeliveryMethod, PickupPoint, Preferences, SafePlace, Slot, WindowChoice,
};
use todoke_shared::{Catalogue, DateStyle, Language};

use super::post::{PageForm, PostError, post_form};
use super::{TrackParams, TrackingService};
use crate::auth::Caller;
use crate::auth::policy::may_change_preferences;
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::openapi::{RATE_LIMITED, TRACKING_NUMBER};
use crate::preferences::{Change, apply_change, changeable};
use crate::store::ShipmentRecord;

/// An option of a radio group or a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// What the form shows: the current choice, and what else may be chosen.
pub struct FormView {
    pub action: String,
    pub token: String,
    /// `false` after dispatch: method and window are then shown, not offered.
    pub method_open: bool,
    pub current_method: String,
    pub methods: Vec<Choice>,
    pub places: Vec<Choice>,
    pub place_description: String,
    pub neighbour_name: String,
    pub neighbour_door: String,
    pub points: Vec<Choice>,
    pub windows: Vec<Choice>,
    pub instructions: String,
    pub access_code: String,
    pub email_notices: bool,
    pub languages: Vec<Choice>,
}

pub struct FormParts<'a> {
    pub shipment: &'a ShipmentRecord,
    pub reschedule_days: i64,
    pub lang: Language,
    pub slots: &'a [Slot],
    pub points: &'a [PickupPoint],
    pub token: String,
    pub action: String,
}

/// The form for a shipment whose preferences may still change; `None` once nothing can.
pub fn form_view(parts: FormParts<'_>) -> Option<FormView> {
    let FormParts { shipment, reschedule_days, lang, slots, points, token, action } = parts;
    // Whether the driver has arrived changes only the instructions, which the form keeps as sent back
    // (unchanged, they are no change); an edit after arrival is refused and said on the page.
    let open = changeable(shipment.status, false);
    if open.is_empty() {
        return None;
    }
    let current = &shipment.content.preferences;
    let kind = match &current.method {
        DeliveryMethod::HandToRecipient => "hand_to_recipient",
        DeliveryMethod::SafePlace { .. } => "safe_place",
        DeliveryMethod::Neighbour { .. } => "neighbour",
        DeliveryMethod::PickupPoint { .. } => "pickup_point",
    };
    let choice =
        |value: &str, label: &str, selected: bool| Choice { value: value.into(), label: label.into(), selected };
    let methods = [
        ("hand_to_recipient", "page-hand_over"),
        ("safe_place", "page-safe_place"),
        ("neighbour", "page-neighbour"),
        ("pickup_point", "page-pickup_point"),
    ]
    .into_iter()
    .map(|(value, key)| choice(value, Catalogue::text(lang, key), value == kind))
    .collect::<Vec<_>>();
    let (place, description) = match &current.method {
        DeliveryMethod::SafePlace { place, description } => (Some(*place), description.clone().unwrap_or_default()),
        _ => (None, String::new()),
    };
    let (neighbour_name, neighbour_door) = match &current.method {
        DeliveryMethod::Neighbour { name, door } => (name.clone(), door.clone()),
        _ => (String::new(), String::new()),
    };
    let point_id = match &current.method {
        DeliveryMethod::PickupPoint { point_id } => Some(point_id.as_str()),
        _ => None,
    };
    let promised = shipment.content.promised.date;
    let mut windows = vec![choice("", Catalogue::text(lang, "page-promised_window"), current.window.is_none())];
    for day in 0..=reschedule_days {
        let date = promised + chrono::Duration::days(day);
        for slot in slots {
            let selected =
                current.window.as_ref().is_some_and(|w| w.date == date && w.start == slot.start && w.end == slot.end);
            let label = Catalogue::window(lang, DateStyle::Numeric, date, &slot.start, &slot.end);
            windows.push(choice(&format!("{date}|{}|{}", slot.start, slot.end), &label, selected));
        }
    }
    // The current window is always offered, even if staff no longer offer its slot.
    if let Some(window) = &current.window
        && !windows.iter().any(|w| w.selected)
    {
        let label = Catalogue::window(lang, DateStyle::Numeric, window.date, &window.start, &window.end);
        windows.push(choice(&format!("{}|{}|{}", window.date, window.start, window.end), &label, true));
    }
    let current_method = methods.iter().find(|m| m.selected).map(|m| m.label.clone()).unwrap_or_default();
    Some(FormView {
        action,
        token,
        method_open: open.contains(&"method"),
        current_method,
        methods,
        places: SafePlace::ALL
            .into_iter()
            .map(|p| Choice { value: to_code(p), label: p.label(lang).into(), selected: Some(p) == place })
            .collect(),
        place_description: description,
        neighbour_name,
        neighbour_door,
        points: points
            .iter()
            .map(|p| Choice {
                value: p.id.clone(),
                label: format!("{} ({})", p.name, p.opening_hours),
                selected: Some(p.id.as_str()) == point_id,
            })
            .collect(),
        windows,
        instructions: current.instructions.clone().unwrap_or_default(),
        access_code: current.access_code.as_ref().map(|_| ACCESS_CODE_MASK.to_string()).unwrap_or_default(),
        email_notices: current.email_notices,
        languages: Language::ALL
            .into_iter()
            .map(|l| Choice {
                value: l.code().into(),
                label: Catalogue::text(l, "language-name").into(),
                selected: current.language.unwrap_or(shipment.content.recipient.language) == l,
            })
            .collect(),
    })
}

fn to_code(place: SafePlace) -> String {
    serde_json::to_value(place).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

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
