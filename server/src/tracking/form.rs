//! The preferences form on the tracking page, as it shows: plain HTML that works without JavaScript,
//! its choices in the page's language. Its post is `preferences_form`.

use todoke_shared::preferences::{ACCESS_CODE_MASK, DeliveryMethod, PickupPoint, SafePlace, Slot};
use todoke_shared::{Catalogue, DateStyle, Language};

use crate::preferences::changeable;
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
