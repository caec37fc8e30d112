//! The problem document (RFC 9457) the server answers every failure with, and the closed set of its
//! stable `code`s. The server builds problems only from [`ProblemCode`]; a client reads any code, also
//! one a newer server added ([`Code::Other`]), and decides on the ones it knows.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ShipmentStatus;

/// Declares the codes once: the enum, its wire spelling and the list of all.
macro_rules! problem_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal,)*) => {
        /// Every stable code the server can answer with, as sent in a problem's `code` (and, for a
        /// problem about one field, in that field's `code`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        // `rename_all`, not a `rename` per variant: the schema derive does not read a macro's literal. The
        // tests hold each variant's spelling to its code.
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ProblemCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ProblemCode {
            /// Every code, in the order declared.
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant,)*];

            /// The code as sent, such as `stop_closed`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $code,)*
                }
            }
        }
    };
}

problem_codes! {
    AccountLocked = "account_locked",
    AlreadyRouted = "already_routed",
    ApiKeyNotFound = "api_key_not_found",
    AuthenticationRequired = "authentication_required",
    BarcodeInUse = "barcode_in_use",
    ConcurrentChange = "concurrent_change",
    /// A unique value already in use, with nothing more specific to say.
    Conflict = "conflict",
    DatabaseUnavailable = "database_unavailable",
    DepotNameTaken = "depot_name_taken",
    DepotNotFound = "depot_not_found",
    DriverNotFound = "driver_not_found",
    EmailTaken = "email_taken",
    EmptyFile = "empty_file",
    ExternalRefTaken = "external_ref_taken",
    FileNotFound = "file_not_found",
    FileTooLarge = "file_too_large",
    Forbidden = "forbidden",
    FormTokenInvalid = "form_token_invalid",
    IdempotencyKeyRequired = "idempotency_key_required",
    IdempotencyKeyReused = "idempotency_key_reused",
    InternalError = "internal_error",
    InvalidApiKey = "invalid_api_key",
    InvalidCharacters = "invalid_characters",
    InvalidCredentials = "invalid_credentials",
    InvalidField = "invalid_field",
    InvalidHeader = "invalid_header",
    InvalidIdempotencyKey = "invalid_idempotency_key",
    InvalidLink = "invalid_link",
    InvalidPath = "invalid_path",
    InvalidQuery = "invalid_query",
    InvalidRefreshToken = "invalid_refresh_token",
    InvalidToken = "invalid_token",
    InvalidTransition = "invalid_transition",
    InvalidValue = "invalid_value",
    InvalidWindow = "invalid_window",
    LinkExpired = "link_expired",
    MalformedAuthorization = "malformed_authorization",
    MalformedJson = "malformed_json",
    MethodNotAllowed = "method_not_allowed",
    NotRemovable = "not_removable",
    PartTooLarge = "part_too_large",
    PayloadTooLarge = "payload_too_large",
    PhotoTooLarge = "photo_too_large",
    PhotoTooManyPixels = "photo_too_many_pixels",
    PhotoUnreadable = "photo_unreadable",
    PickupPointExists = "pickup_point_exists",
    PreferencesLocked = "preferences_locked",
    ProofIncomplete = "proof_incomplete",
    RateLimited = "rate_limited",
    RefreshTokenReused = "refresh_token_reused",
    RepeatedPart = "repeated_part",
    RequestInProgress = "request_in_progress",
    Required = "required",
    RouteAlreadyDispatched = "route_already_dispatched",
    RouteNotDispatched = "route_not_dispatched",
    /// No endpoint at this address (not a delivery route).
    RouteNotFound = "route_not_found",
    /// No delivery route has this id.
    RouteUnknown = "route_unknown",
    RoutesChanged = "routes_changed",
    ServiceBusy = "service_busy",
    ShipmentClosed = "shipment_closed",
    ShipmentNotAtDepot = "shipment_not_at_depot",
    ShipmentNotFound = "shipment_not_found",
    SignatureInvalid = "signature_invalid",
    SignatureNotPng = "signature_not_png",
    SignatureTooLarge = "signature_too_large",
    SignatureTooManyPixels = "signature_too_many_pixels",
    SignatureUnreadable = "signature_unreadable",
    StopClosed = "stop_closed",
    StopNotFound = "stop_not_found",
    StopReassigned = "stop_reassigned",
    Timeout = "timeout",
    TokenExpired = "token_expired",
    TooLong = "too_long",
    TooManyLines = "too_many_lines",
    TooManyPhotos = "too_many_photos",
    TrackingNumberCheckFailed = "tracking_number_check_failed",
    TrackingNumberInvalidCharacter = "tracking_number_invalid_character",
    TrackingNumberUnknown = "tracking_number_unknown",
    TrackingNumberWrongLength = "tracking_number_wrong_length",
    UnknownPart = "unknown_part",
    UnreadableBody = "unreadable_body",
    UnsupportedEncoding = "unsupported_encoding",
    UnsupportedMediaType = "unsupported_media_type",
    UnsupportedPhotoFormat = "unsupported_photo_format",
    ValidationFailed = "validation_failed",
    ZoneNameTaken = "zone_name_taken",
}

impl ProblemCode {
    /// The code with this spelling, if it is one of ours.
    pub fn parse(code: &str) -> Option<ProblemCode> {
        ProblemCode::ALL.iter().copied().find(|known| known.as_str() == code)
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem's `code` as read: one this build knows, or another (a newer server's code, or one a client
/// gave an answer that was no problem document). Written back exactly as read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Code {
    Known(ProblemCode),
    Other(String),
}

impl Code {
    pub fn as_str(&self) -> &str {
        match self {
            Code::Known(code) => code.as_str(),
            Code::Other(code) => code,
        }
    }

    /// The code, if this build knows it.
    pub fn known(&self) -> Option<ProblemCode> {
        match self {
            Code::Known(code) => Some(*code),
            Code::Other(_) => None,
        }
    }
}

impl From<ProblemCode> for Code {
    fn from(code: ProblemCode) -> Code {
        Code::Known(code)
    }
}

impl PartialEq<ProblemCode> for Code {
    fn eq(&self, other: &ProblemCode) -> bool {
        self.known() == Some(*other)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The problem document (RFC 9457), sent as `application/problem+json`. `code` is stable; `title` and
/// `detail` are for people.
// Read leniently, as a client must: only `status` and `code` need be there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:todoke:problem:{code}`.
    // The server always sends `type`, `title` and `detail`; the defaults are for reading anybody's.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub title: String,
    pub status: u16,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub detail: String,
    /// Stable machine-readable code, such as `validation_failed` or `invalid_transition`.
    #[cfg_attr(feature = "openapi", schema(value_type = ProblemCode))]
    pub code: Code,
    /// For validation problems: every failing field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// For `invalid_transition`: the statuses the shipment may move to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<ShipmentStatus>>,
    /// For `preferences_locked`: when the cut-off passed, and what may still change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff_at: Option<chrono::DateTime<chrono::Utc>>,
    /// For `preferences_locked`: the fields that may still change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changeable: Option<Vec<String>>,
    /// The same as the `x-request-id` response header: give it to support, it finds the log line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One thing wrong with one field of the input.
// A `FieldError` as a problem carries it, and as a client reads it back (owned strings); the same schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = FieldError))]
pub struct ProblemField {
    /// Where in the input, as a path like `recipient.email` or `parcels[0].barcode`.
    pub field: String,
    /// A stable code, such as `required`, `too_long` or `invalid_format`.
    pub code: String,
    /// What is wrong and how to fix it, in plain words.
    pub message: String,
}

impl From<crate::FieldError> for ProblemField {
    fn from(error: crate::FieldError) -> ProblemField {
        ProblemField { field: error.field, code: error.code.to_string(), message: error.message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_sent_as_spelt_and_read_back() {
        for &code in ProblemCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ProblemCode>(&json).unwrap(), code);
            assert_eq!(serde_json::from_str::<Code>(&json).unwrap(), Code::Known(code));
            assert_eq!(ProblemCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn a_newer_servers_code_is_read_and_written_back_as_it_came() {
        let body = r#"{"status":422,"detail":"x","code":"photo_too_dark"}"#;
        let problem: Problem = serde_json::from_str(body).unwrap();
        assert_eq!(problem.code, Code::Other("photo_too_dark".into()));
        assert_eq!(problem.code.known(), None);
        assert_eq!(serde_json::to_string(&problem).unwrap(), body);
    }

    #[test]
    fn a_problem_reads_with_only_status_and_code() {
        let problem: Problem = serde_json::from_str(r#"{"status":409,"code":"stop_closed"}"#).unwrap();
        assert_eq!(problem.code, ProblemCode::StopClosed);
        assert!(problem.errors.is_empty() && problem.allowed.is_none() && problem.detail.is_empty());
    }
}
