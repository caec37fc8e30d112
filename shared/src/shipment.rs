//! Shipments on the wire: what a merchant sends to create one, the validated form the server stores,
//! and the views that staff and customers read.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::preferences::{Choices, Context, Preferences, Proof, ShipmentFlags};
use crate::status::StatusChangeError;
use crate::validation::{Check, ValidationErrors, optional_text, text};
use crate::width;
use crate::{Language, ReasonCode, ShipmentStatus, StatusChange, TrackingNumber};

/// The time zone that promised windows are read in when the address names none.
pub const DEFAULT_TIME_ZONE: chrono_tz::Tz = chrono_tz::Asia::Tokyo;
pub const MAX_PARCELS: usize = 50;
pub const MAX_ADDRESS_LINES: usize = 4;

// ---- Input, as a merchant sends it ---------------------------------------------------------------

/// `POST /api/v1/shipments`. Unknown fields are refused so that a misspelt optional field is an error
/// the integrator sees, not a preference silently lost.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewShipmentRequest {
    /// The merchant's order id. Creating again with the same value and body returns the same shipment.
    pub external_ref: String,
    pub recipient: RecipientInput,
    pub address: AddressInput,
    pub promised: PromiseInput,
    pub parcels: Vec<ParcelInput>,
    /// How the customer chose to receive; hand-over on the promised window when absent.
    #[serde(default)]
    pub preferences: Option<Preferences>,
    #[serde(default)]
    pub flags: Option<ShipmentFlags>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// `ja` (default) or `en`.
    #[serde(default)]
    pub language: Option<Language>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    pub lines: Vec<String>,
    pub postal_code: String,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, such as `JP`.
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    /// IANA time zone of the address; promised times are local to it. Defaults to `Asia/Tokyo`.
    #[serde(default)]
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PromiseInput {
    /// `YYYY-MM-DD`, local to the address.
    pub date: String,
    pub window: WindowInput,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    /// `HH:MM`, local to the address.
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ParcelInput {
    pub barcode: String,
    pub weight_g: u32,
}

// ---- Validated form --------------------------------------------------------------------------------

/// A shipment request that passed every check; the only form the server stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewShipment {
    pub external_ref: String,
    pub recipient: Recipient,
    pub address: Address,
    pub promised: Promise,
    pub parcels: Vec<Parcel>,
    pub preferences: Preferences,
    pub flags: ShipmentFlags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recipient {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub language: Language,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    pub lines: Vec<String>,
    pub postal_code: String,
    pub city: String,
    pub region: Option<String>,
    pub country: String,
    pub lat: f64,
    pub lon: f64,
    pub timezone: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Promise {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2026-11-24"))]
    pub date: NaiveDate,
    pub window: TimeWindow,
}

/// A delivery window on one day, local to the address; `start` is before `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeWindow {
    #[serde(with = "hh_mm")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "14:00"))]
    pub start: NaiveTime,
    #[serde(with = "hh_mm")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "16:00"))]
    pub end: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Parcel {
    pub barcode: String,
    pub weight_g: u32,
}

impl Address {
    /// The address's time zone; promised windows and timestamps shown to people are local to it.
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(DEFAULT_TIME_ZONE)
    }

    /// A moment, as the clock on the wall at this address shows it.
    pub fn local_time(&self, at: DateTime<chrono::Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.time_zone()).fixed_offset()
    }
}

impl Promise {
    /// The promised window as two moments at the address. Where a daylight-saving change makes a
    /// wall-clock time ambiguous the earlier moment counts; where it skips a time, the hour after.
    pub fn window_at(&self, tz: chrono_tz::Tz) -> (DateTime<FixedOffset>, DateTime<FixedOffset>) {
        let moment = |time: NaiveTime| {
            let local = self.date.and_time(time);
            let resolved = tz
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| tz.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest());
            resolved.map(|t| t.fixed_offset()).unwrap_or_else(|| local.and_utc().fixed_offset())
        };
        (moment(self.window.start), moment(self.window.end))
    }
}

impl NewShipmentRequest {
    /// Checks every field and reports all problems at once, or gives the validated shipment.
    pub fn validate(self, choices: &Choices<'_>) -> Result<NewShipment, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let external_ref = errors.check("external_ref", text(&self.external_ref, 100));
        let recipient = self.recipient.validate(&mut errors);
        let address = self.address.validate(&mut errors);
        let promised = self.promised.validate(&mut errors);
        let parcels = validate_parcels(self.parcels, &mut errors);
        let flags = self.flags.unwrap_or_default();
        if flags.declared_value_jpy.is_some_and(|v| v > crate::preferences::MAX_DECLARED_VALUE_JPY) {
            errors.add("flags.declared_value_jpy", "out_of_range", "give the value in yen, at most 1,000,000,000,000");
        }
        let preferences = promised.and_then(|promised| {
            let context = Context { flags: &flags, promised_date: promised.date, choices };
            match self.preferences.unwrap_or_default().validate(&context, "preferences.") {
                Ok(preferences) => Some(preferences),
                Err(more) => {
                    errors.extend(more);
                    None
                }
            }
        });
        match (external_ref, recipient, address, promised, parcels, preferences) {
            (Some(external_ref), Some(recipient), Some(address), Some(promised), Some(parcels), Some(preferences))
                if errors.is_empty() =>
            {
                Ok(NewShipment { external_ref, recipient, address, promised, parcels, preferences, flags })
            }
            _ => Err(errors),
        }
    }
}

impl RecipientInput {
    fn validate(self, errors: &mut ValidationErrors) -> Option<Recipient> {
        let name = errors.check("recipient.name", text(&self.name, 200));
        let email = errors.check("recipient.email", email(&self.email));
        let phone = errors.check("recipient.phone", phone(self.phone.as_deref()));
        Some(Recipient { name: name?, email: email?, phone: phone?, language: self.language.unwrap_or_default() })
    }
}

impl AddressInput {
    fn validate(self, errors: &mut ValidationErrors) -> Option<Address> {
        if self.lines.is_empty() || self.lines.len() > MAX_ADDRESS_LINES {
            errors.add("address.lines", "invalid_length", format!("give 1 to {MAX_ADDRESS_LINES} address lines"));
        }
        let lines: Vec<Option<String>> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| errors.check(&format!("address.lines[{i}]"), text(line, 200)))
            .collect();
        let country = errors.check("address.country", country(&self.country));
        let postal_code = errors.check("address.postal_code", postal_code(&self.postal_code, country.as_deref()));
        let city = errors.check("address.city", text(&self.city, 100));
        let region = errors.check("address.region", optional_text(self.region.as_deref(), 100));
        let lat = errors.check("address.lat", coordinate(self.lat, 90.0));
        let lon = errors.check("address.lon", coordinate(self.lon, 180.0));
        let timezone = errors.check("address.timezone", timezone(self.timezone.as_deref()));
        Some(Address {
            lines: lines.into_iter().collect::<Option<Vec<_>>>()?,
            postal_code: postal_code?,
            city: city?,
            region: region?,
            country: country?,
            lat: lat?,
            lon: lon?,
            timezone: timezone?,
        })
    }
}

impl PromiseInput {
    fn validate(self, errors: &mut ValidationErrors) -> Option<Promise> {
        let date = errors.check("promised.date", date(&self.date));
        let start = errors.check("promised.window.start", time_of_day(&self.window.start));
        let end = errors.check("promised.window.end", time_of_day(&self.window.end));
        let (start, end) = (start?, end?);
        if start >= end {
            errors.add("promised.window", "invalid_window", "the window must end after it starts, like 14:00 to 16:00");
            return None;
        }
        Some(Promise { date: date?, window: TimeWindow { start, end } })
    }
}

fn validate_parcels(parcels: Vec<ParcelInput>, errors: &mut ValidationErrors) -> Option<Vec<Parcel>> {
    if parcels.is_empty() || parcels.len() > MAX_PARCELS {
        errors.add("parcels", "invalid_length", format!("give 1 to {MAX_PARCELS} parcels"));
        return None;
    }
    let mut valid = Vec::with_capacity(parcels.len());
    for (i, parcel) in parcels.into_iter().enumerate() {
        let barcode = errors.check(&format!("parcels[{i}].barcode"), barcode(&parcel.barcode));
        if parcel.weight_g == 0 || parcel.weight_g > 1_000_000 {
            errors.add(format!("parcels[{i}].weight_g"), "out_of_range", "give the weight in grams, from 1 to 1000000");
        }
        if let Some(barcode) = barcode {
            if valid.iter().any(|p: &Parcel| p.barcode == barcode) {
                errors.add(format!("parcels[{i}].barcode"), "duplicate", "each parcel needs its own barcode");
            }
            valid.push(Parcel { barcode, weight_g: parcel.weight_g });
        }
    }
    Some(valid)
}

fn email(value: &str) -> Check<String> {
    let value = text(value, 254)?;
    let well_formed = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !value.chars().any(|c| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';' | '"'))
    });
    if well_formed { Ok(value) } else { Err(("invalid_email", "give an email address like hanako@example.jp".into())) }
}

/// Phone numbers keep their spacing and hyphens; full-width digits, `＋`, hyphens and the dashes typed for
/// them are read as ASCII (`０９０ー１２３４ー５６７８` is `090-1234-5678`).
fn phone(value: Option<&str>) -> Check<Option<String>> {
    let Some(value) = optional_text(value, 30)? else { return Ok(None) };
    let folded = width::fold(&value);
    if let Some(typed) = value.chars().find(|&c| {
        let c = width::to_ascii(c);
        !(c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'))
    }) {
        return Err((
            "invalid_phone",
            format!("'{typed}' cannot be in a phone number; give 6 to 15 digits, like +81 90-1234-5678"),
        ));
    }
    let digits = folded.chars().filter(char::is_ascii_digit).count();
    if (6..=15).contains(&digits) {
        Ok(Some(folded))
    } else {
        Err(("invalid_phone", format!("this phone number has {digits} digits; give 6 to 15, like +81 90-1234-5678")))
    }
}

fn country(value: &str) -> Check<String> {
    let value = value.trim().to_ascii_uppercase();
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(value)
    } else {
        Err(("invalid_country", "give a two-letter ISO 3166 country code, like JP".into()))
    }
}

/// Japanese postal codes are normalised to `NNN-NNNN`, whether typed with full-width digits, a long-vowel
/// mark or minus for the hyphen, or after the postal mark `〒`; others are kept as written.
fn postal_code(value: &str, country: Option<&str>) -> Check<String> {
    let value = text(value, 20)?;
    if country != Some("JP") {
        return Ok(value);
    }
    let code = value.strip_prefix('〒').unwrap_or(&value).trim_start_matches(|c| width::to_ascii(c) == ' ');
    let mut digits = String::with_capacity(7);
    for typed in code.chars() {
        match width::to_ascii(typed) {
            '-' => {}
            digit if digit.is_ascii_digit() => digits.push(digit),
            _ => {
                return Err((
                    "invalid_postal_code",
                    format!("'{typed}' cannot be in a Japanese postal code; give 7 digits, like 100-0005"),
                ));
            }
        }
    }
    if digits.len() == 7 {
        Ok(format!("{}-{}", &digits[..3], &digits[3..]))
    } else {
        Err((
            "invalid_postal_code",
            format!("this postal code has {} digits; a Japanese postal code has 7, like 100-0005", digits.len()),
        ))
    }
}

pub(crate) fn coordinate(value: f64, limit: f64) -> Check<f64> {
    if value.is_finite() && (-limit..=limit).contains(&value) {
        Ok(value)
    } else {
        Err(("out_of_range", format!("must be a number from -{limit} to {limit}")))
    }
}

pub(crate) fn timezone(value: Option<&str>) -> Check<String> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(DEFAULT_TIME_ZONE.name().to_string()),
        Some(name) => name
            .parse::<chrono_tz::Tz>()
            .map(|tz| tz.name().to_string())
            .map_err(|_| ("invalid_timezone", "give an IANA time zone, like Asia/Tokyo".into())),
    }
}

fn date(value: &str) -> Check<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&chrono::Datelike::year(d)))
        .ok_or(("invalid_date", "give a date as YYYY-MM-DD, like 2026-11-24".into()))
}

pub(crate) fn time_of_day(value: &str) -> Check<NaiveTime> {
    NaiveTime::parse_from_str(value.trim(), "%H:%M")
        .map_err(|_| ("invalid_time", "give a time as HH:MM from 00:00 to 23:59, like 14:00".into()))
}

fn barcode(value: &str) -> Check<String> {
    let value = value.trim();
    if value.is_empty() || value.len() > 64 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(("invalid_barcode", "give the barcode as 1 to 64 printable ASCII characters".into()));
    }
    Ok(value.to_string())
}

/// Times of day on the wire are `HH:MM`.
mod hh_mm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&time.format("%H:%M"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::time_of_day(&text).map_err(|(_, message)| serde::de::Error::custom(message))
    }
}

// ---- Views -----------------------------------------------------------------------------------------

/// A shipment as staff and its merchant see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentView {
    pub id: Uuid,
    pub tracking_number: TrackingNumber,
    pub external_ref: String,
    pub status: ShipmentStatus,
    pub recipient: Recipient,
    pub address: Address,
    pub promised: Promise,
    pub parcels: Vec<Parcel>,
    /// The customer's link to the tracking page.
    pub tracking_url: String,
    pub preferences: Preferences,
    pub flags: ShipmentFlags,
    /// What the driver must capture, from the preferences and flags.
    pub pod_requirements: Vec<Proof>,
    /// Timestamps are local to the address.
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

/// One shipment with its whole timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentDetail {
    #[serde(flatten)]
    pub shipment: ShipmentView,
    /// Every status change so far, oldest first.
    pub events: Vec<EventView>,
    /// Every change of the delivery preferences, oldest first (access codes masked).
    pub preference_changes: Vec<crate::preferences::PreferenceChangeView>,
}

/// One entry of a shipment's append-only timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventView {
    pub status: ShipmentStatus,
    pub occurred_at: DateTime<FixedOffset>,
    /// Who made the change.
    pub actor: String,
    pub location: Option<GeoPoint>,
    pub reason: Option<ReasonCode>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A page of shipments; pass `next_cursor` as `cursor` to get the next one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentPage {
    pub items: Vec<ShipmentView>,
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/shipments/{id}/events`: a status change made by staff.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewEventRequest {
    pub status: ShipmentStatus,
    /// Required for `attempt_failed` and `exception`; allowed for `returned_to_sender` and `cancelled`.
    #[serde(default)]
    pub reason: Option<ReasonCode>,
    #[serde(default)]
    pub note: Option<String>,
    /// When it happened, if not now.
    #[serde(default)]
    pub occurred_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub location: Option<GeoPoint>,
}

/// A status change that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub change: StatusChange,
    pub occurred_at: Option<DateTime<FixedOffset>>,
    pub location: Option<GeoPoint>,
    pub note: Option<String>,
}

impl NewEventRequest {
    /// Checks the request; `now` bounds `occurred_at`, which may not lie in the future.
    pub fn validate(self, now: DateTime<chrono::Utc>) -> Result<NewEvent, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let change = match StatusChange::new(self.status, self.reason) {
            Ok(change) => Some(change),
            Err(StatusChangeError::NotATarget) => {
                errors.add("status", "invalid_status", StatusChangeError::NotATarget.to_string());
                None
            }
            Err(error) => {
                errors.add("reason", "invalid_reason", error.to_string());
                None
            }
        };
        let note = errors.check("note", optional_text(self.note.as_deref(), 1000));
        if let Some(at) = self.occurred_at
            && at > now + chrono::Duration::minutes(5)
        {
            errors.add("occurred_at", "in_future", "must not lie in the future");
        }
        if let Some(point) = self.location {
            errors.check("location.lat", coordinate(point.lat, 90.0));
            errors.check("location.lon", coordinate(point.lon, 180.0));
        }
        match (change, note) {
            (Some(change), Some(note)) if errors.is_empty() => {
                Ok(NewEvent { change, occurred_at: self.occurred_at, location: self.location, note })
            }
            _ => Err(errors),
        }
    }
}

/// What anyone holding the tracking number may see: no name, street, email or phone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicTracking {
    pub tracking_number: TrackingNumber,
    pub status: ShipmentStatus,
    /// The status in `language`.
    pub status_label: String,
    /// The recipient's language, which labels are given in.
    pub language: Language,
    pub city: String,
    pub country: String,
    pub promised: PublicPromise,
    /// Oldest first.
    pub events: Vec<PublicEvent>,
    /// While out for delivery: when the driver is expected, from their latest news.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<PublicEta>,
    /// Only for the customer's own link (and staff): who and where, and what is coming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<CustomerDetails>,
}

/// Where the parcel stands in the driver's day. No other customer's address or stop is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicEta {
    /// The current expected window of arrival, local to the address.
    pub expected_from: DateTime<FixedOffset>,
    pub expected_until: DateTime<FixedOffset>,
    /// Deliveries the driver makes before this one.
    pub stops_before: u32,
    /// The moment of the driver's latest news the estimate starts from; absent: the plan, before the
    /// driver set out.
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// Only on the customer's own link, only when theirs is the next stop, and rounded to a grid of
    /// several hundred metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_near: Option<GeoPoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerDetails {
    pub recipient: Recipient,
    pub address: Address,
    pub parcels: Vec<Parcel>,
    /// The emails about this parcel, oldest first; `suppressed` ones were not sent because the
    /// customer opted out.
    pub emails: Vec<EmailNotice>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailNotice {
    /// `dispatched`, `delayed`, `delivered`, `attempt_failed`, `preferences_changed`.
    pub kind: String,
    /// `pending`, `sending`, `sent`, `failed`, `expired`, `suppressed`.
    pub status: String,
    pub queued_at: DateTime<FixedOffset>,
    pub sent_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicPromise {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2026-11-24"))]
    pub date: NaiveDate,
    pub window: TimeWindow,
    pub window_starts_at: DateTime<FixedOffset>,
    pub window_ends_at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicEvent {
    pub status: ShipmentStatus,
    pub status_label: String,
    pub occurred_at: DateTime<FixedOffset>,
    pub reason: Option<ReasonCode>,
    pub reason_label: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> serde_json::Value {
        serde_json::json!({
            "external_ref": "ORDER-1001",
            "recipient": {"name": "山田 花子", "email": "hanako@example.jp", "phone": "+81 90-1234-5678", "language": "ja"},
            "address": {"lines": ["丸の内1-9-1", "グラントウキョウ 12F"], "postal_code": "100-0005",
                        "city": "千代田区", "region": "東京都", "country": "JP", "lat": 35.6812, "lon": 139.7671},
            "promised": {"date": "2026-11-24", "window": {"start": "14:00", "end": "16:00"}},
            "parcels": [{"barcode": "4901234567894", "weight_g": 1200}]
        })
    }

    fn validate(value: serde_json::Value) -> Result<NewShipment, ValidationErrors> {
        let slots = crate::preferences::default_slots();
        let choices = Choices { slots: &slots, max_days_later: 7, pickup_points: &[] };
        serde_json::from_value::<NewShipmentRequest>(value).unwrap().validate(&choices)
    }

    fn fields(errors: ValidationErrors) -> Vec<String> {
        errors.into_errors().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn the_documented_example_is_valid() {
        let shipment = validate(request()).unwrap();
        assert_eq!(shipment.address.timezone, "Asia/Tokyo");
        assert_eq!(shipment.recipient.language, Language::Ja);
        assert_eq!(shipment.promised.window.start, NaiveTime::from_hms_opt(14, 0, 0).unwrap());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_field() {
        let mut body = request();
        body["recipient"]["email"] = "not-an-email".into();
        body["address"]["lat"] = 123.0.into();
        body["promised"]["window"] = serde_json::json!({"start": "16:00", "end": "14:00"});
        body["parcels"][0]["barcode"] = "".into();
        let errors = fields(validate(body).unwrap_err());
        assert_eq!(errors, ["recipient.email", "address.lat", "promised.window", "parcels[0].barcode"]);
    }

    #[test]
    fn japanese_postal_codes_are_normalised() {
        let mut body = request();
        body["address"]["postal_code"] = "１０００００５".into();
        assert_eq!(validate(body).unwrap().address.postal_code, "100-0005");
        let mut body = request();
        body["address"]["postal_code"] = "100-00".into();
        assert_eq!(fields(validate(body).unwrap_err()), ["address.postal_code"]);
    }

    #[test]
    fn postal_codes_typed_in_full_width_or_with_any_dash_or_the_postal_mark_are_normalised() {
        for typed in
            ["１００－０００５", "100ー0005", "100−0005", "100‐0005", "〒100-0005", "〒 １００ー０００５", "1000005"]
        {
            let mut body = request();
            body["address"]["postal_code"] = typed.into();
            assert_eq!(validate(body).unwrap().address.postal_code, "100-0005", "{typed}");
        }
        let refused = |typed: &str| {
            let mut body = request();
            body["address"]["postal_code"] = typed.into();
            validate(body).unwrap_err().into_errors().remove(0)
        };
        let error = refused("100_0005");
        assert_eq!((error.field.as_str(), error.code), ("address.postal_code", "invalid_postal_code"));
        assert!(error.message.starts_with("'_' cannot be"), "{}", error.message);
        assert!(refused("１００／０００５").message.starts_with("'／' cannot be"));
        assert!(refused("100-000").message.contains("6 digits"));
        // Abroad, a postal code is kept as written.
        let mut body = request();
        body["address"]["country"] = "GB".into();
        body["address"]["postal_code"] = "SW1A 1AA".into();
        assert_eq!(validate(body).unwrap().address.postal_code, "SW1A 1AA");
    }

    #[test]
    fn phone_numbers_typed_in_full_width_are_normalised() {
        let phone = |typed: &str| {
            let mut body = request();
            body["recipient"]["phone"] = typed.into();
            validate(body).map(|s| s.recipient.phone.unwrap()).map_err(|e| e.into_errors().remove(0))
        };
        assert_eq!(phone("＋８１　９０－１２３４－５６７８").unwrap(), "+81 90-1234-5678");
        assert_eq!(phone("０９０ー１２３４ー５６７８").unwrap(), "090-1234-5678");
        assert_eq!(phone("（０３）１２３４−５６７８").unwrap(), "(03)1234-5678");
        let error = phone("090-1234-5678 内線2").unwrap_err();
        assert_eq!((error.field.as_str(), error.code), ("recipient.phone", "invalid_phone"));
        assert!(error.message.starts_with("'内' cannot be"), "{}", error.message);
        assert!(phone("１２３").unwrap_err().message.contains("3 digits"));
    }

    #[test]
    fn parcels_need_distinct_barcodes_and_sensible_weights() {
        let mut body = request();
        body["parcels"] = serde_json::json!([
            {"barcode": "A1", "weight_g": 10}, {"barcode": "A1", "weight_g": 0}
        ]);
        assert_eq!(fields(validate(body).unwrap_err()), ["parcels[1].weight_g", "parcels[1].barcode"]);
        let mut body = request();
        body["parcels"] = serde_json::json!([]);
        assert_eq!(fields(validate(body).unwrap_err()), ["parcels"]);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut body = request();
        body["external_reff"] = "typo".into();
        assert!(serde_json::from_value::<NewShipmentRequest>(body).is_err());
    }

    #[test]
    fn windows_read_and_write_as_hours_and_minutes() {
        let window: TimeWindow = serde_json::from_str(r#"{"start":"08:00","end":"12:00"}"#).unwrap();
        assert_eq!(serde_json::to_string(&window).unwrap(), r#"{"start":"08:00","end":"12:00"}"#);
    }
}
