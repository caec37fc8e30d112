//! Shipments from a CSV file, as shops export them: the documented columns, how a line becomes a
//! shipment request, and the per-line report. Reading the file is the server's business; the rules
//! for a line are here so that any client can check a file before sending it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::TrackingNumber;
use crate::preferences::{Choices, Preferences, ShipmentFlags};
use crate::shipment::{
    AddressInput, NewShipment, NewShipmentRequest, ParcelInput, PromiseInput, RecipientInput, WindowInput,
};
use crate::validation::{FieldError, ValidationErrors};

/// The columns, in the order of the documented template; a file may order them as it likes.
pub const COLUMNS: [Column; 21] = [
    Column::required("external_ref"),
    Column::required("recipient_name"),
    Column::required("recipient_email"),
    Column::optional("recipient_phone"),
    Column::optional("language"),
    Column::required("postal_code"),
    Column::optional("region"),
    Column::required("city"),
    Column::required("address_line1"),
    Column::optional("address_line2"),
    Column::required("country"),
    Column::required("lat"),
    Column::required("lon"),
    Column::optional("timezone"),
    Column::required("promised_date"),
    Column::required("window_start"),
    Column::required("window_end"),
    Column::required("parcels"),
    Column::optional("instructions"),
    Column::optional("signature_required"),
    Column::optional("age_check"),
];

/// The widest header read: the documented columns with room for a few mistakes.
pub const MAX_COLUMNS: usize = 64;

/// Beyond [`COLUMNS`]: the declared value, in yen.
const DECLARED_VALUE: &str = "declared_value_jpy";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub required: bool,
}

impl Column {
    const fn required(name: &'static str) -> Column {
        Column { name, required: true }
    }

    const fn optional(name: &'static str) -> Column {
        Column { name, required: false }
    }
}

fn known_columns() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().map(|c| c.name).chain([DECLARED_VALUE])
}

/// A checked header line: where each known column sits in a line.
#[derive(Debug, Clone)]
pub struct Header {
    names: Vec<&'static str>,
}

impl Header {
    /// Checks the header: every required column present, none unknown or repeated. A UTF-8 byte
    /// order mark before the first name (as spreadsheet programs write) is ignored.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Header, ValidationErrors> {
        let names: Vec<&str> = names.into_iter().take(MAX_COLUMNS + 1).collect();
        if names.len() > MAX_COLUMNS {
            // One error, not one per column: a hostile header of a million columns gets a short answer.
            return Err(ValidationErrors::single(
                "header",
                "too_many_columns",
                format!("the header has more than {MAX_COLUMNS} columns; use the documented ones: {}", column_list()),
            ));
        }
        let mut errors = ValidationErrors::new();
        let mut found: Vec<&'static str> = Vec::new();
        for (index, raw) in names.into_iter().enumerate() {
            let name = raw.trim_start_matches('\u{feff}').trim();
            match known_columns().find(|known| *known == name) {
                Some(known) if found.contains(&known) => {
                    errors.add(known, "duplicate_column", format!("column {} repeats '{known}'; keep one", index + 1));
                }
                Some(known) => found.push(known),
                None => {
                    errors.add(
                        "header",
                        "unknown_column",
                        format!("column {} is '{name}', which is not one of: {}", index + 1, column_list()),
                    );
                    found.push("");
                }
            }
        }
        for column in COLUMNS.iter().filter(|c| c.required && !found.contains(&c.name)) {
            errors.add(column.name, "missing_column", format!("the header needs a '{}' column", column.name));
        }
        if errors.is_empty() { Ok(Header { names: found }) } else { Err(errors) }
    }

    /// How many fields each line must have.
    pub fn width(&self) -> usize {
        self.names.len()
    }

    /// The column at `index` of a line, as the header names it.
    pub fn column(&self, index: usize) -> &'static str {
        self.names.get(index).copied().unwrap_or("line")
    }

    /// The text of `column` in a line, if the line has it.
    pub fn field<'f>(&self, fields: &[&'f str], column: &str) -> Option<&'f str> {
        let index = self.names.iter().position(|name| *name == column)?;
        fields.get(index).map(|field| field.trim()).filter(|field| !field.is_empty())
    }

    /// The shipment a line describes, checked by the same rules as the API, or everything wrong with
    /// it, by column in the documented order. `fields` are the line's fields in header order.
    pub fn shipment(&self, fields: &[&str], choices: &Choices<'_>) -> Result<NewShipment, Vec<LineError>> {
        let (request, unreadable) = self.request(fields).map_err(|error| vec![in_columns(error)])?;
        let mut errors: Vec<LineError> = unreadable.into_errors().into_iter().map(in_columns).collect();
        let unreadable_columns: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
        match request.validate(choices) {
            Ok(shipment) if errors.is_empty() => return Ok(shipment),
            Ok(_) => {}
            // A column that could not be read has a placeholder, whose own complaint would only confuse.
            Err(invalid) => errors.extend(
                invalid.into_errors().into_iter().map(in_columns).filter(|e| !unreadable_columns.contains(&e.field)),
            ),
        }
        errors.sort_by_key(|e| known_columns().position(|c| c == e.field).unwrap_or(usize::MAX));
        Err(errors)
    }

    /// The request a line asks for, with placeholders where a column could not be read, and why.
    fn request(&self, fields: &[&str]) -> Result<(NewShipmentRequest, ValidationErrors), FieldError> {
        if fields.len() != self.width() {
            return Err(FieldError {
                field: "line".into(),
                code: "wrong_field_count",
                message: format!(
                    "the line has {} fields where the header has {}; check for a stray comma or quote",
                    fields.len(),
                    self.width()
                ),
            });
        }
        // A spreadsheet cell may hold line breaks (Alt+Enter); no field of a shipment keeps them.
        let cells: Vec<String> =
            fields.iter().map(|f| f.trim().replace("\r\n", " ").replace(['\r', '\n'], " ")).collect();
        let value = |column: &str| {
            self.names.iter().position(|name| *name == column).map(|i| cells[i].as_str()).filter(|v| !v.is_empty())
        };
        let text = |column: &str| value(column).unwrap_or_default().to_string();
        let optional = |column: &str| value(column).map(str::to_string);
        let mut errors = ValidationErrors::new();
        let coordinate = |column: &'static str, errors: &mut ValidationErrors| match value(column) {
            None => {
                errors.add(column, "required", "give the coordinate in decimal degrees, like 35.6812");
                0.0
            }
            Some(text) => text.parse::<f64>().unwrap_or_else(|_| {
                errors.add(
                    column,
                    "not_a_number",
                    format!("'{text}' is not a number; give decimal degrees, like 35.6812"),
                );
                0.0
            }),
        };
        let (lat, lon) = (coordinate("lat", &mut errors), coordinate("lon", &mut errors));
        let parcels = parcels(value("parcels").unwrap_or_default(), &mut errors);
        let language = value("language").and_then(|text| {
            serde_json::from_value(serde_json::Value::String(text.to_string()))
                .map_err(|_| errors.add("language", "invalid_language", "give ja or en"))
                .ok()
        });
        let flags = ShipmentFlags {
            signature_required: yes_no("signature_required", value("signature_required"), &mut errors),
            age_check: yes_no("age_check", value("age_check"), &mut errors),
            declared_value_jpy: value(DECLARED_VALUE).and_then(|text| {
                text.replace(',', "")
                    .parse()
                    .map_err(|_| errors.add(DECLARED_VALUE, "not_a_number", "give whole yen, like 35000"))
                    .ok()
            }),
        };
        let request = NewShipmentRequest {
            external_ref: text("external_ref"),
            recipient: RecipientInput {
                name: text("recipient_name"),
                email: text("recipient_email"),
                phone: optional("recipient_phone"),
                language,
            },
            address: AddressInput {
                lines: [value("address_line1").unwrap_or_default()]
                    .into_iter()
                    .chain(value("address_line2"))
                    .map(str::to_string)
                    .collect(),
                postal_code: text("postal_code"),
                city: text("city"),
                region: optional("region"),
                country: text("country"),
                lat,
                lon,
                timezone: optional("timezone"),
            },
            promised: PromiseInput {
                date: text("promised_date"),
                window: WindowInput { start: text("window_start"), end: text("window_end") },
            },
            parcels,
            preferences: Some(Preferences { instructions: optional("instructions"), ..Preferences::default() }),
            flags: Some(flags),
        };
        Ok((request, errors))
    }
}

fn column_list() -> String {
    known_columns().collect::<Vec<_>>().join(", ")
}

/// `BARCODE:GRAMS` items separated by `;`, like `JP1234:1200; JP1235:800`.
fn parcels(text: &str, errors: &mut ValidationErrors) -> Vec<ParcelInput> {
    let mut parcels = Vec::new();
    for (index, item) in text.split(';').map(str::trim).filter(|item| !item.is_empty()).enumerate() {
        let parsed = item.rsplit_once(':').and_then(|(barcode, grams)| {
            Some(ParcelInput { barcode: barcode.trim().to_string(), weight_g: grams.trim().parse().ok()? })
        });
        match parsed {
            Some(parcel) => parcels.push(parcel),
            None => errors.add(
                "parcels",
                "invalid_format",
                format!("parcel {} is '{item}'; write each parcel as BARCODE:GRAMS, separated by ';'", index + 1),
            ),
        }
    }
    parcels
}

fn yes_no(column: &'static str, value: Option<&str>, errors: &mut ValidationErrors) -> bool {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "no" | "0") => false,
        Some("true" | "yes" | "1") => true,
        Some(other) => {
            errors.add(column, "invalid_flag", format!("'{other}' is not a yes or no; give true or false"));
            false
        }
    }
}

/// The column a validation error of the request belongs to, so a report names what the file calls it.
fn in_columns(error: FieldError) -> LineError {
    let path = error.field.as_str();
    let (column, message) = if let Some(rest) = path.strip_prefix("parcels[") {
        let number = rest.split(']').next().and_then(|n| n.parse::<usize>().ok()).map_or(0, |n| n + 1);
        ("parcels", format!("parcel {number}: {}", error.message))
    } else {
        let column = match path {
            "recipient.name" => "recipient_name",
            "recipient.email" => "recipient_email",
            "recipient.phone" => "recipient_phone",
            "address.lines" | "address.lines[0]" => "address_line1",
            "address.lines[1]" => "address_line2",
            "promised.date" => "promised_date",
            "promised.window.start" | "promised.window" => "window_start",
            "promised.window.end" => "window_end",
            "preferences.instructions" => "instructions",
            "flags.declared_value_jpy" => DECLARED_VALUE,
            other => other.rsplit('.').next().unwrap_or(other),
        };
        (column, error.message)
    };
    LineError { field: column.to_string(), code: error.code.to_string(), message }
}

/// What became of each line of an imported file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub created: usize,
    /// Lines whose order was already imported with the same details (a file sent again is harmless).
    pub duplicates: usize,
    pub failed: usize,
    pub lines: Vec<ImportLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportLine {
    /// The line in the file where the record starts; the header is line 1.
    pub line: u64,
    pub result: ImportResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub tracking_number: Option<TrackingNumber>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<LineError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportResult {
    Created,
    Duplicate,
    Error,
}

/// One thing wrong with one line, by the column's name in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineError {
    pub field: String,
    pub code: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "external_ref,recipient_name,recipient_email,postal_code,city,address_line1,country,lat,lon,promised_date,window_start,window_end,parcels";

    fn header() -> Header {
        Header::parse(HEADER.split(',')).unwrap()
    }

    fn line(text: &str) -> Vec<&str> {
        text.split(',').collect()
    }

    #[test]
    fn a_line_becomes_the_same_request_as_the_api_takes() {
        let request = header()
            .request(&line("A-1, 山田 花子 ,hanako@example.jp,135-0061,江東区,豊洲3-3-3,JP,35.6544,139.7964,2026-11-24,14:00,16:00,JP1:1200; JP2:800"))
            .unwrap()
            .0;
        assert_eq!(request.recipient.name, "山田 花子");
        assert_eq!(request.address.lines, vec!["豊洲3-3-3"]);
        assert_eq!(request.parcels.len(), 2);
        assert_eq!(request.parcels[1].barcode, "JP2");
        assert_eq!(request.parcels[1].weight_g, 800);
    }

    #[test]
    fn a_line_typed_in_full_width_is_normalised_as_in_the_api() {
        let header = Header::parse(format!("{HEADER},recipient_phone").split(',')).unwrap();
        let choices = Choices { slots: &[], max_days_later: 7, pickup_points: &[] };
        let shipment = header
            .shipment(
                &line("A-1,山田 花子,hanako@example.jp,〒１３５ー００６１,江東区,豊洲3-3-3,JP,35.6544,139.7964,2026-11-24,14:00,16:00,JP1:1200,０９０－１２３４－５６７８"),
                &choices,
            )
            .unwrap();
        assert_eq!(shipment.address.postal_code, "135-0061");
        assert_eq!(shipment.recipient.phone.as_deref(), Some("090-1234-5678"));
        let errors = header
            .shipment(
                &line("A-1,山田 花子,hanako@example.jp,135＿0061,江東区,豊洲3-3-3,JP,35.6544,139.7964,2026-11-24,14:00,16:00,JP1:1200,"),
                &choices,
            )
            .unwrap_err();
        assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("postal_code", "invalid_postal_code"));
        assert!(errors[0].message.contains("'＿'"), "{:?}", errors[0]);
    }

    #[test]
    fn a_byte_order_mark_before_the_header_is_ignored() {
        let with_bom = format!("\u{feff}{HEADER}");
        assert_eq!(Header::parse(with_bom.split(',')).unwrap().width(), 13);
    }

    #[test]
    fn a_header_names_what_is_missing_unknown_or_repeated() {
        let errors = Header::parse(["external_ref", "colour", "external_ref"]).unwrap_err().into_errors();
        let codes: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert!(codes.contains(&("header", "unknown_column")), "{codes:?}");
        assert!(codes.contains(&("external_ref", "duplicate_column")), "{codes:?}");
        assert!(codes.contains(&("recipient_email", "missing_column")), "{codes:?}");
        let wide = Header::parse(std::iter::repeat_n("", 1_000_000)).unwrap_err().into_errors();
        assert_eq!((wide.len(), wide[0].code), (1, "too_many_columns"));
    }

    #[test]
    fn a_bad_line_names_its_columns() {
        let choices = Choices { slots: &[], max_days_later: 7, pickup_points: &[] };
        // Unreadable (lat, parcels) and invalid (email) alike, in the documented order.
        let errors = header()
            .shipment(
                &line("A-1,山田,hanako@,135-0061,江東区,豊洲,JP,north,139.79,2026-11-24,14:00,16:00,JP1"),
                &choices,
            )
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["recipient_email", "lat", "parcels"]);
        // Each bad parcel is named, not only the first.
        let errors = header()
            .shipment(
                &line("A-1,山田,h@example.jp,135-0061,江東区,豊洲,JP,35.65,139.79,2026-11-24,14:00,16:00,JP1:0;JP2:0"),
                &choices,
            )
            .unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("parcel 1") && messages[1].starts_with("parcel 2"), "{messages:?}");
        let short = header().shipment(&["A-1", "山田"], &choices).unwrap_err();
        assert_eq!(short[0].code, "wrong_field_count");
    }

    #[test]
    fn validation_paths_are_reported_as_columns() {
        let error =
            |field: &str| FieldError { field: field.into(), code: "required", message: "must not be empty".into() };
        assert_eq!(in_columns(error("recipient.email")).field, "recipient_email");
        assert_eq!(in_columns(error("address.postal_code")).field, "postal_code");
        let parcel = in_columns(error("parcels[1].barcode"));
        assert_eq!((parcel.field.as_str(), parcel.message.as_str()), ("parcels", "parcel 2: must not be empty"));
    }
}
