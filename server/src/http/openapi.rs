//! The OpenAPI document. Each handler declares its own answers (`#[utoipa::path]`); one finishing pass
//! then adds what every operation of a kind answers alike — the extractors' rejections (malformed JSON,
//! wrong media type, unreadable path, bad idempotency key, bad credentials) — and declares every error
//! as `application/problem+json` with the [`Problem`] schema, each status listing its codes.
//! `.ci/contract` holds the result to the server with an independent validator and schemathesis.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response, Schema};
use utoipa::{Modify, OpenApi};

use todoke_shared::{Problem, ProblemCode};

/// A staff member's or driver's access token, from `POST /api/v1/auth/login`.
pub const ACCESS_TOKEN: &str = "accessToken";
/// A merchant system's API key (`tdk_…`), sent as a bearer token.
pub const API_KEY: &str = "apiKey";
/// The customer's link to one shipment: the `k` query parameter of the link in their emails.
pub const CUSTOMER_LINK: &str = "customerLink";

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Todoke",
        description = "Last-mile delivery tracking and proof of delivery.\n\n\
            Every error is `application/problem+json` (RFC 9457) with a stable `code`; each response lists \
            the codes it can carry. Staff and drivers log in for an access token; a merchant's system sends \
            its API key the same way (`Authorization: Bearer tdk_…`); a customer's link carries `k`.",
    ),
    servers((url = "/", description = "This server")),
    tags(
        (name = "shipments", description = "Merchants and staff create shipments and record what happens to them."),
        (name = "tracking", description = "What anyone holding a tracking number sees, and the customer's page."),
        (name = "preferences", description = "How and when the customer wants the parcel; what they choose from."),
        (name = "dispatch", description = "Depots, zones, drivers, receiving and routes (staff)."),
        (name = "driver", description = "A driver's day: the manifest, locations and the stops' proofs."),
        (name = "auth", description = "Logging in and out."),
        (name = "accounts", description = "Staff and driver accounts, merchants' API keys (admin)."),
        (name = "health", description = "Liveness and readiness."),
    ),
    components(schemas(Problem)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut access = Http::new(HttpAuthScheme::Bearer);
        access.bearer_format = Some("JWT".to_string());
        access.description =
            Some("A staff member's or driver's access token from `POST /api/v1/auth/login`.".to_string());
        components.add_security_scheme(ACCESS_TOKEN, SecurityScheme::Http(access));
        let mut key = Http::new(HttpAuthScheme::Bearer);
        key.bearer_format = Some("tdk_…".to_string());
        key.description = Some("A merchant system's API key, made by an admin (`POST /api/v1/api-keys`).".to_string());
        components.add_security_scheme(API_KEY, SecurityScheme::Http(key));
        components.add_security_scheme(
            CUSTOMER_LINK,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "k",
                "The token in the customer's link to their shipment (from the emails).",
            ))),
        );
    }
}

/// Internally tagged enums whose variants refuse unknown fields (`#[serde(tag, deny_unknown_fields)]`),
/// which the derived schema does not say.
const CLOSED_VARIANTS: &[&str] = &["DeliveryMethod"];

/// The finished document: the handlers' declarations, plus what the finishing pass adds.
pub fn finish(mut openapi: Document) -> Document {
    if let Some(components) = openapi.components.as_mut() {
        for name in CLOSED_VARIANTS {
            if let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut(*name) {
                for variant in &mut one_of.items {
                    // serde refuses unknown fields of the variants with fields; beside a bare tag it ignores them.
                    if let RefOr::T(Schema::Object(object)) = variant
                        && object.properties.len() > 1
                    {
                        object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
                    }
                }
            }
        }
    }
    for item in openapi.paths.paths.values_mut() {
        let shared = item.parameters.clone().unwrap_or_default();
        for operation in operations(item) {
            finish_operation(operation, &shared);
        }
    }
    openapi
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head]
        .into_iter()
        .filter_map(Option::as_mut)
}

/// A problem the server may answer, by status, with its code and what it means.
type Problems = BTreeMap<u16, Vec<(ProblemCode, &'static str)>>;

fn finish_operation(operation: &mut Operation, shared: &[RefOr<Parameter>]) {
    declare(operation, shared_problems(operation, shared));
}

/// What the operation answers because of what it takes, whatever its handler does: the rejections of the
/// extractors (`ApiJson`, `CsvBody`, `Upload`, `ApiPath`, `ApiQuery`, `IdempotencyKey`) and of the caller's
/// credentials (`Caller`, `Authenticated`).
fn shared_problems(operation: &Operation, shared: &[RefOr<Parameter>]) -> Problems {
    let mut problems = Problems::new();
    let mut add = |status: u16, code: ProblemCode, meaning: &'static str| {
        problems.entry(status).or_default().push((code, meaning));
    };

    let body_types: Vec<String> = match &operation.request_body {
        Some(RefOr::T(body)) => body.content.keys().cloned().collect(),
        _ => Vec::new(),
    };
    if body_types.iter().any(|t| t == "application/json" || t == "application/merge-patch+json") {
        add(400, ProblemCode::MalformedJson, "the body is not valid JSON");
        add(413, ProblemCode::PayloadTooLarge, "the body is larger than the server takes");
        add(415, ProblemCode::UnsupportedMediaType, "the body is not sent as `Content-Type: application/json`");
        add(422, ProblemCode::InvalidField, "a field has the wrong type, is missing or is unknown (named in `errors`)");
    }
    if body_types.iter().any(|t| t == "text/csv") {
        add(400, ProblemCode::UnreadableBody, "the file could not be read");
        add(415, ProblemCode::UnsupportedMediaType, "the file is not sent as `Content-Type: text/csv`");
    }
    if body_types.iter().any(|t| t == "multipart/form-data") {
        add(400, ProblemCode::UnreadableBody, "the multipart body could not be read");
        add(413, ProblemCode::PayloadTooLarge, "a part, or the whole body, is larger than its limit");
        add(415, ProblemCode::UnsupportedMediaType, "the body is not `multipart/form-data` with a boundary");
    }

    let parameters: Vec<Parameter> = shared
        .iter()
        .chain(operation.parameters.iter().flatten())
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p.clone()),
            RefOr::Ref(_) => None,
        })
        .collect();
    if parameters.iter().any(|p| p.parameter_in == ParameterIn::Path) {
        add(
            400,
            ProblemCode::InvalidPath,
            "the address cannot be read (such as a percent-encoded byte that is not UTF-8)",
        );
    }
    if parameters.iter().any(|p| p.parameter_in == ParameterIn::Path && p.name == "tracking_number") {
        add(400, ProblemCode::TrackingNumberWrongLength, "the tracking number has too few or too many characters");
        add(400, ProblemCode::TrackingNumberInvalidCharacter, "the tracking number has a character it never contains");
        add(400, ProblemCode::TrackingNumberCheckFailed, "the tracking number has a typo (its check character fails)");
    }
    if parameters.iter().any(|p| p.parameter_in == ParameterIn::Query) {
        add(400, ProblemCode::InvalidQuery, "a query parameter is not valid (named in `errors`)");
    }
    if parameters.iter().any(|p| p.parameter_in == ParameterIn::Header && p.name == "Idempotency-Key") {
        add(400, ProblemCode::IdempotencyKeyRequired, "the `Idempotency-Key` header is missing");
        add(400, ProblemCode::InvalidIdempotencyKey, "the `Idempotency-Key` is not 1 to 255 visible ASCII characters");
    }

    let schemes = security_schemes(operation);
    let anonymous = schemes.iter().any(Vec::is_empty);
    let named = |name: &str| schemes.iter().flatten().any(|s| s == name);
    if named(ACCESS_TOKEN) || named(API_KEY) {
        add(401, ProblemCode::MalformedAuthorization, "the `Authorization` header is not `Bearer <token>`");
        if named(ACCESS_TOKEN) {
            add(401, ProblemCode::InvalidToken, "the access token is not valid");
            add(401, ProblemCode::TokenExpired, "the access token has expired: refresh it");
        }
        if named(API_KEY) {
            add(401, ProblemCode::InvalidApiKey, "the API key is unknown or revoked");
        }
        if named(CUSTOMER_LINK) {
            add(401, ProblemCode::InvalidLink, "the customer link's `k` is not valid");
        }
        if !anonymous {
            add(401, ProblemCode::AuthenticationRequired, "no credentials were sent");
        }
    }

    problems
}

/// Adds the problems' codes to each status's description (declaring the status where the handler did
/// not), and declares every error as problem+json, but for the pages' own HTML answers.
fn declare(operation: &mut Operation, problems: Problems) {
    for (status, codes) in problems {
        let key = status.to_string();
        let response = operation.responses.responses.entry(key).or_insert_with(|| RefOr::T(Response::new("")));
        if let RefOr::T(response) = response {
            let lines: Vec<String> = codes.iter().map(|(code, meaning)| format!("- `{code}`: {meaning}")).collect();
            response.description = match response.description.trim() {
                "" => lines.join("\n"),
                own => format!("{own}\n{}", lines.join("\n")),
            };
        }
    }

    for (status, response) in &mut operation.responses.responses {
        let RefOr::T(response) = response else { continue };
        response.headers.entry("x-request-id".to_string()).or_insert_with(request_id_header);
        let status: u16 = status.parse().unwrap_or(0);
        if status >= 400 && !response.content.contains_key("text/html") {
            response.content.shift_remove("application/json");
            response.content.insert(PROBLEM_JSON.to_string(), RefOr::T(problem_content(status, &response.description)));
        }
        if response.description.trim().is_empty() {
            response.description = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("The answer")
                .to_string();
        }
    }
}

/// Every answer carries the request's id (the caller's own `x-request-id`, or one made for it).
fn request_id_header() -> RefOr<Header> {
    let mut header = Header::new(ObjectBuilder::new().schema_type(Type::String));
    header.description = Some("The request's id, as in the server's log: the caller's own, or one made for it".into());
    RefOr::T(header)
}

/// The Problem schema, with an example of the first code the description names.
fn problem_content(status: u16, description: &str) -> Content {
    let mut content = Content::new(Some(Ref::from_schema_name("Problem")));
    let code = description.split('`').nth(1).filter(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'));
    if let Some(code) = code {
        let title = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
        content.example = Some(json!({
            "type": format!("urn:todoke:problem:{code}"),
            "title": title,
            "status": status,
            "detail": "What went wrong, for people to read.",
            "code": code,
            "request_id": "0192f7a4-6c1e-7c3a-9a57-3f1c2d4e5b6a",
        }));
    }
    content
}

/// The names in each of the operation's security requirements; an empty one lets anybody in.
fn security_schemes(operation: &Operation) -> Vec<Vec<String>> {
    let Some(requirements) = &operation.security else { return Vec::new() };
    requirements
        .iter()
        .map(|requirement| match serde_json::to_value(requirement) {
            Ok(Value::Object(names)) => names.keys().cloned().collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// The 403 of a caller whose role never may.
pub const FORBIDDEN: &str = "- `forbidden`: your role does not allow this";

/// The 404 of a shipment nobody may see: another tenant's answers the same.
pub const SHIPMENT_NOT_FOUND: &str = "- `shipment_not_found`: no shipment has this id, or it is not yours to see";

/// The tracking number as a path parameter.
pub const TRACKING_NUMBER: &str =
    "As printed, such as `KR51-ME91-HQ7G-0E6T`; lowercase, without hyphens or with spaces is read the same";

/// The 429 of a rate-limited endpoint.
pub const RATE_LIMITED: &str = "- `rate_limited`: too many requests from this address; wait `Retry-After` seconds";
