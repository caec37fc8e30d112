//! How a customer wants to receive a parcel, and the proof of delivery that follows from it. The rules
//! are one pure function, [`pod_requirements`], so the driver app applies them offline and the server
//! applies them again.

use serde::{Deserialize, Serialize};

use crate::Language;
use crate::catalogue::Catalogue;
use crate::validation::{Check, ValidationErrors, optional_text, text};

/// Declared values from this many yen count as high value: such parcels are handed over only.
pub const HIGH_VALUE_JPY: u64 = 30_000;
/// The largest declared value taken, in yen: far above any parcel, and within every client's integers.
pub const MAX_DECLARED_VALUE_JPY: u64 = 1_000_000_000_000;
pub const MAX_INSTRUCTIONS: usize = 200;
pub const MAX_ACCESS_CODE: usize = 32;

/// Where a parcel may be left when nobody needs to be there (置き配).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SafePlace {
    FrontDoor,
    DeliveryBox,
    MeterBox,
    Garage,
    BicycleBasket,
    StorageShed,
    BuildingReception,
    Other,
}

impl SafePlace {
    pub const ALL: [SafePlace; 8] = [
        SafePlace::FrontDoor,
        SafePlace::DeliveryBox,
        SafePlace::MeterBox,
        SafePlace::Garage,
        SafePlace::BicycleBasket,
        SafePlace::StorageShed,
        SafePlace::BuildingReception,
        SafePlace::Other,
    ];

    pub fn label(self, lang: Language) -> &'static str {
        use SafePlace::*;
        let key = match self {
            FrontDoor => "place-front_door",
            DeliveryBox => "place-delivery_box",
            MeterBox => "place-meter_box",
            Garage => "place-garage",
            BicycleBasket => "place-bicycle_basket",
            StorageShed => "place-storage_shed",
            BuildingReception => "place-building_reception",
            Other => "place-other",
        };
        Catalogue::text(lang, key)
    }
}

/// How the parcel changes hands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeliveryMethod {
    /// 対面: into the recipient's hands.
    HandToRecipient,
    /// 置き配: left at a safe place; `description` says where when the place is `other`.
    SafePlace {
        place: SafePlace,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// Handed to a neighbour.
    Neighbour { name: String, door: String },
    /// Collected at a pickup point or locker.
    PickupPoint { point_id: String },
}

impl DeliveryMethod {
    /// Trims and checks the method's own text, reporting problems under `prefix`. A pickup point is
    /// checked against `pickup_points` when they are given, else only as text.
    pub fn tidy(
        self,
        errors: &mut ValidationErrors,
        prefix: &str,
        pickup_points: Option<&[PickupPoint]>,
    ) -> Option<DeliveryMethod> {
        let field = |name: &str| format!("{prefix}{name}");
        match self {
            DeliveryMethod::SafePlace { place, description } => {
                let description = if place == SafePlace::Other {
                    errors
                        .check(&field("method.description"), text(description.as_deref().unwrap_or(""), 100))
                        .map(Some)
                } else {
                    errors.check(&field("method.description"), optional_text(description.as_deref(), 100))
                };
                description.map(|description| DeliveryMethod::SafePlace { place, description })
            }
            DeliveryMethod::Neighbour { name, door } => {
                let name = errors.check(&field("method.name"), text(&name, 100));
                let door = errors.check(&field("method.door"), text(&door, 50));
                name.zip(door).map(|(name, door)| DeliveryMethod::Neighbour { name, door })
            }
            DeliveryMethod::PickupPoint { point_id } => {
                let Some(pickup_points) = pickup_points else {
                    let point_id = errors.check(&field("method.point_id"), text(&point_id, 64))?;
                    return Some(DeliveryMethod::PickupPoint { point_id });
                };
                if pickup_points.iter().any(|point| point.id == point_id.trim()) {
                    Some(DeliveryMethod::PickupPoint { point_id: point_id.trim().to_string() })
                } else {
                    errors.add(
                        field("method.point_id"),
                        "unknown_pickup_point",
                        "choose a pickup point from GET /api/v1/pickup-points",
                    );
                    None
                }
            }
            method => Some(method),
        }
    }

    /// How the parcel changes (or changed) hands, in words for the customer.
    pub fn label(&self, lang: Language) -> String {
        match self {
            DeliveryMethod::HandToRecipient => Catalogue::text(lang, "method-hand_to_recipient").to_string(),
            DeliveryMethod::SafePlace { place, .. } => {
                Catalogue::format(lang, "method-safe_place", &[("place", place.label(lang).into())])
            }
            DeliveryMethod::Neighbour { name, .. } => {
                Catalogue::format(lang, "method-neighbour", &[("name", name.as_str().into())])
            }
            DeliveryMethod::PickupPoint { point_id } => {
                Catalogue::format(lang, "method-pickup_point", &[("point", point_id.as_str().into())])
            }
        }
    }
}

/// Flags the merchant sets on a shipment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShipmentFlags {
    #[serde(default)]
    pub signature_required: bool,
    /// The recipient's age must be checked (alcohol, some medicines).
    #[serde(default)]
    pub age_check: bool,
    /// The declared value in yen; from 30,000 the parcel is handed over in person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 1_000_000_000_000_u64))]
    pub declared_value_jpy: Option<u64>,
}

impl ShipmentFlags {
    /// Whether the parcel must be handed to a person who is checked: no safe place, no neighbour.
    pub fn needs_hand_over(&self) -> bool {
        self.age_check || self.declared_value_jpy.is_some_and(|v| v >= HIGH_VALUE_JPY)
    }
}

/// What the driver must capture to prove the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    Signature,
    RecipientName,
    /// A photo of the parcel where it was left.
    Photo,
    NeighbourName,
    NeighbourDoor,
    PickupPointId,
    /// The parcel's barcode scanned at the pickup point.
    Scan,
    /// The recipient's age checked against an ID.
    AgeCheck,
}

impl Proof {
    pub const ALL: [Proof; 8] = [
        Proof::Signature,
        Proof::RecipientName,
        Proof::Photo,
        Proof::NeighbourName,
        Proof::NeighbourDoor,
        Proof::PickupPointId,
        Proof::Scan,
        Proof::AgeCheck,
    ];

    /// What the driver must capture, in words for the driver.
    pub fn label(self, lang: Language) -> &'static str {
        use Proof::*;
        let key = match self {
            Signature => "proof-signature",
            RecipientName => "proof-recipient_name",
            Photo => "proof-photo",
            NeighbourName => "proof-neighbour_name",
            NeighbourDoor => "proof-neighbour_door",
            PickupPointId => "proof-pickup_point_id",
            Scan => "proof-scan",
            AgeCheck => "proof-age_check",
        };
        Catalogue::text(lang, key)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MethodNotAllowed {
    #[error("this parcel must be handed over in person (age check or high value): no safe place or neighbour")]
    NeedsHandOver,
}

/// The one rule: from the method and the flags to what proves the delivery.
pub fn pod_requirements(method: &DeliveryMethod, flags: &ShipmentFlags) -> Result<Vec<Proof>, MethodNotAllowed> {
    let mut proofs = match method {
        DeliveryMethod::HandToRecipient => vec![Proof::Signature, Proof::RecipientName],
        DeliveryMethod::SafePlace { .. } | DeliveryMethod::Neighbour { .. } if flags.needs_hand_over() => {
            return Err(MethodNotAllowed::NeedsHandOver);
        }
        DeliveryMethod::SafePlace { .. } => vec![Proof::Photo],
        DeliveryMethod::Neighbour { .. } => vec![Proof::Signature, Proof::NeighbourName, Proof::NeighbourDoor],
        DeliveryMethod::PickupPoint { .. } => vec![Proof::PickupPointId, Proof::Scan],
    };
    if flags.signature_required && !proofs.contains(&Proof::Signature) {
        proofs.push(Proof::Signature);
    }
    if flags.age_check {
        proofs.push(Proof::AgeCheck);
    }
    proofs.sort();
    Ok(proofs)
}

/// A chosen delivery window: a day and a slot's start and end (`HH:MM`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WindowChoice {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2026-11-24"))]
    pub date: chrono::NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "18:00"))]
    pub start: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "20:00"))]
    pub end: String,
}

/// What a customer chose. Every field but `method` may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    pub method: DeliveryMethod,
    /// A slot on the promised date or a later one; absent means the promised window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Gate or door code: shown only to staff and the assigned driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    #[serde(default = "yes")]
    pub email_notices: bool,
}

fn yes() -> bool {
    true
}

impl Default for Preferences {
    fn default() -> Preferences {
        Preferences {
            method: DeliveryMethod::HandToRecipient,
            window: None,
            instructions: None,
            access_code: None,
            language: None,
            email_notices: true,
        }
    }
}

/// A customer's preferences as they may read them, and what they may still change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreferencesView {
    pub preferences: Preferences,
    pub pod_requirements: Vec<Proof>,
    /// The fields that may change now: `method` and `window` until the route is dispatched, the rest
    /// until the parcel is delivered.
    pub changeable: Vec<String>,
}

/// One entry of the preference timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreferenceChangeView {
    pub changed_at: chrono::DateTime<chrono::FixedOffset>,
    pub actor: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// The fields of [`Preferences`], as named in `changeable` and in the preference timeline.
pub const FIELDS: [&str; 6] = ["method", "window", "instructions", "access_code", "language", "email_notices"];
/// The fields that stay changeable after dispatch, until delivery.
pub const LATE_FIELDS: [&str; 4] = ["instructions", "access_code", "language", "email_notices"];
/// Stands for a set access code wherever it may not be shown; sent back unchanged, it keeps the code.
pub const ACCESS_CODE_MASK: &str = "••••";

impl Preferences {
    /// Each field's value as people read it (access code masked), by field name.
    pub fn describe(&self) -> [(&'static str, Option<String>); 6] {
        let method = match &self.method {
            DeliveryMethod::HandToRecipient => "hand_to_recipient".to_string(),
            DeliveryMethod::SafePlace { place, description } => match description {
                Some(description) => format!("safe_place: {} ({description})", place.label(Language::En)),
                None => format!("safe_place: {}", place.label(Language::En)),
            },
            DeliveryMethod::Neighbour { name, door } => format!("neighbour: {name}, {door}"),
            DeliveryMethod::PickupPoint { point_id } => format!("pickup_point: {point_id}"),
        };
        [
            ("method", Some(method)),
            ("window", self.window.as_ref().map(|w| format!("{} {}–{}", w.date, w.start, w.end))),
            ("instructions", self.instructions.clone()),
            ("access_code", self.access_code.as_ref().map(|_| ACCESS_CODE_MASK.to_string())),
            ("language", self.language.map(|l| l.code().to_string())),
            ("email_notices", Some(self.email_notices.to_string())),
        ]
    }

    /// The same preferences with the access code masked.
    pub fn masked(&self) -> Preferences {
        Preferences { access_code: self.access_code.as_ref().map(|_| ACCESS_CODE_MASK.to_string()), ..self.clone() }
    }
}

/// A pickup point or locker that staff keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PickupPoint {
    /// Chosen by staff, such as `lawson-marunouchi`.
    pub id: String,
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lon: f64,
    /// As people read it, such as `24時間` or `10:00–21:00`.
    pub opening_hours: String,
}

/// A delivery slot that staff offer, such as 14:00–16:00 (`id` "14-16").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Slot {
    pub id: String,
    pub start: String,
    pub end: String,
}

/// The common Japanese delivery slots: morning, 14–16, 16–18, 18–20, 19–21.
pub fn default_slots() -> Vec<Slot> {
    [
        ("08-12", "08:00", "12:00"),
        ("14-16", "14:00", "16:00"),
        ("16-18", "16:00", "18:00"),
        ("18-20", "18:00", "20:00"),
        ("19-21", "19:00", "21:00"),
    ]
    .into_iter()
    .map(|(id, start, end)| Slot { id: id.into(), start: start.into(), end: end.into() })
    .collect()
}

/// What a customer may choose from: staff's slots and pickup points, and how far ahead.
pub struct Choices<'a> {
    pub slots: &'a [Slot],
    /// How many days after the promised date a window may be chosen.
    pub max_days_later: i64,
    /// The pickup points that take parcels.
    pub pickup_points: &'a [PickupPoint],
}

/// What the checks need to know beyond the preferences themselves.
pub struct Context<'a> {
    pub flags: &'a ShipmentFlags,
    pub promised_date: chrono::NaiveDate,
    pub choices: &'a Choices<'a>,
}

impl Preferences {
    /// Checks and tidies the preferences (trimmed text), reporting every problem with its field under
    /// `prefix` (such as `preferences.`).
    pub fn validate(self, context: &Context<'_>, prefix: &str) -> Result<Preferences, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let field = |name: &str| format!("{prefix}{name}");
        let method = self.method.tidy(&mut errors, prefix, Some(context.choices.pickup_points));
        if let Some(method) = &method
            && let Err(not_allowed) = pod_requirements(method, context.flags)
        {
            errors.add(field("method"), "method_not_allowed", not_allowed.to_string());
        }
        let window = match self.window {
            None => None,
            Some(window) => errors.check(&field("window"), check_window(window, context)),
        };
        let instructions =
            errors.check(&field("instructions"), optional_text(self.instructions.as_deref(), MAX_INSTRUCTIONS));
        let access_code =
            errors.check(&field("access_code"), optional_text(self.access_code.as_deref(), MAX_ACCESS_CODE));
        match (method, instructions, access_code) {
            (Some(method), Some(instructions), Some(access_code)) if errors.is_empty() => Ok(Preferences {
                method,
                window,
                instructions,
                access_code,
                language: self.language,
                email_notices: self.email_notices,
            }),
            _ => Err(errors),
        }
    }
}

fn check_window(window: WindowChoice, context: &Context<'_>) -> Check<WindowChoice> {
    let days_later = (window.date - context.promised_date).num_days();
    let max_days_later = context.choices.max_days_later;
    if !(0..=max_days_later).contains(&days_later) {
        return Err((
            "date_out_of_range",
            format!("choose the promised date {} or up to {max_days_later} days later", context.promised_date),
        ));
    }
    let slots = context.choices.slots;
    if !slots.iter().any(|slot| slot.start == window.start && slot.end == window.end) {
        let offered: Vec<String> = slots.iter().map(|s| format!("{}–{}", s.start, s.end)).collect();
        return Err(("not_a_slot", format!("choose one of the delivery slots: {}", offered.join(", "))));
    }
    Ok(window)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe_place() -> DeliveryMethod {
        DeliveryMethod::SafePlace { place: SafePlace::DeliveryBox, description: None }
    }

    #[test]
    fn proof_follows_the_method() {
        let none = ShipmentFlags::default();
        assert_eq!(
            pod_requirements(&DeliveryMethod::HandToRecipient, &none),
            Ok(vec![Proof::Signature, Proof::RecipientName])
        );
        assert_eq!(pod_requirements(&safe_place(), &none), Ok(vec![Proof::Photo]));
        let neighbour = DeliveryMethod::Neighbour { name: "佐藤".into(), door: "302".into() };
        assert_eq!(
            pod_requirements(&neighbour, &none),
            Ok(vec![Proof::Signature, Proof::NeighbourName, Proof::NeighbourDoor])
        );
        let pickup = DeliveryMethod::PickupPoint { point_id: "lawson-1".into() };
        assert_eq!(pod_requirements(&pickup, &none), Ok(vec![Proof::PickupPointId, Proof::Scan]));
    }

    #[test]
    fn flags_add_proof_and_forbid_leaving_parcels() {
        let signed = ShipmentFlags { signature_required: true, ..ShipmentFlags::default() };
        assert_eq!(pod_requirements(&safe_place(), &signed), Ok(vec![Proof::Signature, Proof::Photo]));
        let age = ShipmentFlags { age_check: true, ..ShipmentFlags::default() };
        assert_eq!(pod_requirements(&safe_place(), &age), Err(MethodNotAllowed::NeedsHandOver));
        assert_eq!(
            pod_requirements(&DeliveryMethod::HandToRecipient, &age),
            Ok(vec![Proof::Signature, Proof::RecipientName, Proof::AgeCheck])
        );
        let valuable = ShipmentFlags { declared_value_jpy: Some(120_000), ..ShipmentFlags::default() };
        let neighbour = DeliveryMethod::Neighbour { name: "佐藤".into(), door: "302".into() };
        assert_eq!(pod_requirements(&neighbour, &valuable), Err(MethodNotAllowed::NeedsHandOver));
        let cheap = ShipmentFlags { declared_value_jpy: Some(2_000), ..ShipmentFlags::default() };
        assert!(pod_requirements(&neighbour, &cheap).is_ok());
    }

    fn choices(slots: &[Slot]) -> Choices<'_> {
        Choices { slots, max_days_later: 7, pickup_points: &POINTS }
    }

    static POINTS: std::sync::LazyLock<Vec<PickupPoint>> = std::sync::LazyLock::new(|| {
        vec![PickupPoint {
            id: "lawson-1".into(),
            name: "ローソン".into(),
            address: "丸の内1-1".into(),
            lat: 35.68,
            lon: 139.76,
            opening_hours: "24時間".into(),
        }]
    });

    fn context<'a>(flags: &'a ShipmentFlags, choices: &'a Choices<'a>) -> Context<'a> {
        Context { flags, promised_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(), choices }
    }

    #[test]
    fn the_documented_example_is_accepted() {
        let value = serde_json::json!({"method": {"kind": "safe_place", "place": "delivery_box"},
            "window": {"date": "2026-11-24", "start": "18:00", "end": "20:00"},
            "instructions": "宅配ボックスは1階エントランス左", "access_code": "2580#",
            "language": "ja", "email_notices": true});
        let preferences: Preferences = serde_json::from_value(value.clone()).unwrap();
        let (flags, slots) = (ShipmentFlags::default(), default_slots());
        let valid = preferences.validate(&context(&flags, &choices(&slots)), "").unwrap();
        assert_eq!(serde_json::to_value(&valid).unwrap(), value);
    }

    #[test]
    fn each_mistake_is_named() {
        let (flags, slots) = (ShipmentFlags { age_check: true, ..ShipmentFlags::default() }, default_slots());
        let chosen = |method, window: WindowChoice, instructions: &str| Preferences {
            method,
            window: Some(window),
            instructions: Some(instructions.to_string()),
            ..Preferences::default()
        };
        let window = |date: &str, start: &str, end: &str| WindowChoice {
            date: date.parse().unwrap(),
            start: start.into(),
            end: end.into(),
        };
        let fields = |p: Preferences| -> Vec<(String, &'static str)> {
            p.validate(&context(&flags, &choices(&slots)), "")
                .unwrap_err()
                .into_errors()
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect()
        };
        assert_eq!(
            fields(chosen(safe_place(), window("2026-11-24", "18:00", "20:00"), "ok")),
            [("method".into(), "method_not_allowed")]
        );
        assert_eq!(
            fields(chosen(
                DeliveryMethod::PickupPoint { point_id: "nowhere".into() },
                window("2026-11-24", "18:00", "20:00"),
                "ok"
            )),
            [("method.point_id".into(), "unknown_pickup_point")]
        );
        assert_eq!(
            fields(chosen(DeliveryMethod::HandToRecipient, window("2026-11-24", "13:00", "15:00"), "ok")),
            [("window".into(), "not_a_slot")]
        );
        assert_eq!(
            fields(chosen(DeliveryMethod::HandToRecipient, window("2026-12-24", "18:00", "20:00"), "ok")),
            [("window".into(), "date_out_of_range")]
        );
        assert_eq!(
            fields(chosen(DeliveryMethod::HandToRecipient, window("2026-11-23", "18:00", "20:00"), "ok")),
            [("window".into(), "date_out_of_range")]
        );
        assert_eq!(
            fields(chosen(DeliveryMethod::HandToRecipient, window("2026-11-25", "18:00", "20:00"), &"長".repeat(201))),
            [("instructions".into(), "too_long")]
        );
        let other = DeliveryMethod::SafePlace { place: SafePlace::Other, description: None };
        let flags_free = ShipmentFlags::default();
        let missing = Preferences { method: other, ..Preferences::default() }
            .validate(&context(&flags_free, &choices(&slots)), "p.");
        assert_eq!(missing.unwrap_err().into_errors()[0].field, "p.method.description");
    }
}
