//! Every route, with every kind of caller, against the documented matrix (docs/AUTHORIZATION.md).
//! A route without a row fails this test.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::{TestApp, expect_json, order_ref, shipment_request, tracking_number};

const CALLERS: [&str; 10] =
    ["none", "admin", "dispatcher", "support", "driver A", "driver B", "key A", "key B", "link X", "link Y"];

/// Expected status per caller, in the order of `CALLERS`. `200+` is 200 with the customer's details.
/// Shipment paths name X, created with key A; link X is X's customer link, link Y another shipment's.
const MATRIX: &[(&str, [&str; 10])] = &[
    ("GET /healthz", ["200", "200", "200", "200", "200", "200", "200", "200", "200", "200"]),
    ("GET /readyz", ["200", "200", "200", "200", "200", "200", "200", "200", "200", "200"]),
    // Logging in is open to all; the sample credentials are wrong.
    ("POST /api/v1/auth/login", ["401", "401", "401", "401", "401", "401", "401", "401", "401", "401"]),
    ("POST /api/v1/auth/refresh", ["401", "401", "401", "401", "401", "401", "401", "401", "401", "401"]),
    ("POST /api/v1/auth/logout", ["204", "204", "204", "204", "204", "204", "204", "204", "204", "204"]),
    ("POST /api/v1/users", ["401", "201", "403", "403", "403", "403", "403", "403", "403", "403"]),
    ("GET /api/v1/api-keys", ["401", "200", "403", "403", "403", "403", "403", "403", "403", "403"]),
    ("POST /api/v1/api-keys", ["401", "201", "403", "403", "403", "403", "403", "403", "403", "403"]),
    // The sample key id does not exist: only the admin gets as far as finding that out.
    ("DELETE /api/v1/api-keys/{id}", ["401", "404", "403", "403", "403", "403", "403", "403", "403", "403"]),
    ("GET /api/v1/shipments", ["401", "200", "200", "200", "403", "403", "200", "200", "403", "403"]),
    ("POST /api/v1/shipments", ["401", "201", "201", "403", "403", "403", "201", "201", "403", "403"]),
    // The sample file has a header only: allowed callers get an empty report.
    ("POST /api/v1/shipments/import", ["401", "200", "200", "403", "403", "403", "200", "200", "403", "403"]),
    // A driver's own day (empty for drivers without routes); nobody else has one.
    ("GET /api/v1/driver/manifest", ["401", "403", "403", "403", "200", "200", "403", "403", "403", "403"]),
    ("POST /api/v1/driver/locations", ["401", "403", "403", "403", "200", "200", "403", "403", "403", "403"]),
    // Stop actions are drivers' only; the sample stop is on nobody's route.
    (
        "POST /api/v1/driver/stops/{stop_id}/arrive",
        ["401", "403", "403", "403", "404", "404", "403", "403", "403", "403"],
    ),
    (
        "POST /api/v1/driver/stops/{stop_id}/deliver",
        ["401", "403", "403", "403", "404", "404", "403", "403", "403", "403"],
    ),
    (
        "POST /api/v1/driver/stops/{stop_id}/fail",
        ["401", "403", "403", "403", "404", "404", "403", "403", "403", "403"],
    ),
    // The proof: staff, the merchant's key and the customer's link (X has no proof yet: an empty list).
    ("GET /api/v1/shipments/{id}/pod", ["401", "200", "200", "200", "404", "404", "200", "404", "200", "404"]),
    // The sample file name belongs to no proof: those who may look learn that it is not there.
    (
        "GET /api/v1/shipments/{id}/pod/files/{name}",
        ["401", "404", "404", "404", "404", "404", "404", "404", "404", "404"],
    ),
    (
        "GET /api/v1/shipments/{id}/notifications",
        ["401", "200", "200", "200", "404", "404", "200", "404", "403", "404"],
    ),
    ("POST /api/v1/shipments/{id}/delays", ["401", "202", "202", "403", "404", "404", "403", "404", "403", "404"]),
    ("GET /api/v1/shipments/{id}", ["401", "200", "200", "200", "404", "404", "200", "404", "403", "404"]),
    // The sample change is refused by the lifecycle (422) once a caller may make changes at all.
    ("POST /api/v1/shipments/{id}/events", ["401", "422", "422", "403", "404", "404", "403", "404", "403", "404"]),
    (
        "GET /api/v1/track/{tracking_number}",
        ["200", "200+", "200+", "200+", "200", "200", "200+", "200", "200+", "200"],
    ),
    ("GET /t/{tracking_number}", ["200", "200+", "200+", "200+", "200", "200", "200+", "200", "200+", "200"]),
    // The page's form; the sample's anti-forgery token is wrong, so even the allowed get 403.
    ("POST /t/{tracking_number}/preferences", ["401", "403", "403", "403", "404", "404", "403", "404", "403", "404"]),
    // Feedback is the customer's alone; the sample's token is forged too.
    ("POST /t/{tracking_number}/feedback", ["401", "403", "403", "403", "404", "404", "403", "404", "403", "404"]),
    ("GET /api/v1/delivery-slots", ["200", "200", "200", "200", "200", "200", "200", "200", "200", "200"]),
    ("PUT /api/v1/delivery-slots", ["401", "200", "200", "403", "403", "403", "403", "403", "403", "403"]),
    ("GET /api/v1/pickup-points", ["200", "200", "200", "200", "200", "200", "200", "200", "200", "200"]),
    ("POST /api/v1/pickup-points", ["401", "201", "201", "403", "403", "403", "403", "403", "403", "403"]),
    // The customer's (with the link) and support's to read and change.
    (
        "GET /api/v1/track/{tracking_number}/preferences",
        ["401", "200", "403", "200", "404", "404", "403", "404", "200", "404"],
    ),
    (
        "PUT /api/v1/track/{tracking_number}/preferences",
        ["401", "200", "403", "200", "404", "404", "403", "404", "200", "404"],
    ),
    (
        "PATCH /api/v1/track/{tracking_number}/preferences",
        ["401", "200", "403", "200", "404", "404", "403", "404", "200", "404"],
    ),
    // Dispatch is staff work: support reads, admins and dispatchers act. The sample ids name no depot or route.
    ("GET /api/v1/depots", ["401", "200", "200", "200", "403", "403", "403", "403", "403", "403"]),
    ("POST /api/v1/depots", ["401", "201", "201", "403", "403", "403", "403", "403", "403", "403"]),
    ("GET /api/v1/depots/{id}/zones", ["401", "404", "404", "404", "403", "403", "403", "403", "403", "403"]),
    ("POST /api/v1/depots/{id}/zones", ["401", "404", "404", "403", "403", "403", "403", "403", "403", "403"]),
    ("GET /api/v1/depots/{id}/drivers", ["401", "404", "404", "404", "403", "403", "403", "403", "403", "403"]),
    ("PUT /api/v1/drivers/{id}", ["401", "404", "404", "403", "403", "403", "403", "403", "403", "403"]),
    ("POST /api/v1/depots/{id}/receive", ["401", "404", "404", "403", "403", "403", "403", "403", "403", "403"]),
    ("GET /api/v1/routes", ["401", "404", "404", "404", "403", "403", "403", "403", "403", "403"]),
    ("GET /api/v1/exceptions", ["401", "404", "404", "404", "403", "403", "403", "403", "403", "403"]),
    ("POST /api/v1/routes", ["401", "404", "404", "403", "403", "403", "403", "403", "403", "403"]),
    ("POST /api/v1/routes/build", ["401", "404", "404", "403", "403", "403", "403", "403", "403", "403"]),
    ("GET /api/v1/routes/{id}", ["401", "404", "404", "404", "403", "403", "403", "403", "403", "403"]),
    ("POST /api/v1/routes/{id}/dispatch", ["401", "404", "404", "403", "403", "403", "403", "403", "403", "403"]),
    ("POST /api/v1/routes/{id}/stops", ["401", "404", "404", "403", "403", "403", "403", "403", "403", "403"]),
    ("PUT /api/v1/routes/{id}/stops", ["401", "404", "404", "403", "403", "403", "403", "403", "403", "403"]),
    (
        "DELETE /api/v1/routes/{id}/stops/{stop_id}",
        ["401", "404", "404", "403", "403", "403", "403", "403", "403", "403"],
    ),
    ("POST /api/v1/routes/{id}/sequence", ["401", "404", "404", "403", "403", "403", "403", "403", "403", "403"]),
];

/// Routes that read a query, asked without it: whoever may never use the route is told so (403) before
/// the query is read; only those who may are told what the query lacks (400).
const WITHOUT_QUERY: &[(&str, [&str; 10])] = &[
    ("GET /api/v1/routes", ["401", "400", "400", "400", "403", "403", "403", "403", "403", "403"]),
    ("GET /api/v1/exceptions", ["401", "400", "400", "400", "403", "403", "403", "403", "403", "403"]),
    (
        "GET /api/v1/driver/manifest?date=someday",
        ["401", "403", "403", "403", "400", "400", "403", "403", "403", "403"],
    ),
];

/// An id that names nothing.
const NOWHERE: &str = "0190a7e2-0000-7000-8000-000000000001";

struct Credential {
    bearer: Option<String>,
    link: Option<String>,
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_as_documented() {
    let app = TestApp::spawn().await;
    let (key_a, key_b) = (app.api_key("shop-a").await, app.api_key("shop-b").await);
    let x = expect_json(
        app.post_json_as("/api/v1/shipments", &shipment_request(), Some(&key_a)).await,
        StatusCode::CREATED,
    )
    .await;
    let y = expect_json(
        app.post_json_as("/api/v1/shipments", &shipment_request(), Some(&key_b)).await,
        StatusCode::CREATED,
    )
    .await;
    let link = |shipment: &Value| shipment["tracking_url"].as_str().unwrap().split("?k=").nth(1).unwrap().to_string();
    let bearer = |token: String| Credential { bearer: Some(token), link: None };
    let credentials = [
        Credential { bearer: None, link: None },
        bearer(app.admin_token.clone()),
        bearer(app.user_token("dispatcher").await),
        bearer(app.user_token("support").await),
        bearer(app.user_token("driver").await),
        bearer(app.user_token("driver").await),
        bearer(key_a),
        bearer(key_b),
        Credential { bearer: None, link: Some(link(&x)) },
        Credential { bearer: None, link: Some(link(&y)) },
    ];

    let spec = expect_json(app.public_get("/api/v1/openapi.json").await, StatusCode::OK).await;
    let mut documented = BTreeSet::new();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let covered: BTreeSet<String> = MATRIX.iter().map(|(route, _)| route.to_string()).collect();
    assert_eq!(documented, covered, "every route needs a row here and in docs/AUTHORIZATION.md");

    let mut mismatches = Vec::new();
    for (route, expected) in MATRIX {
        let (method, template) = route.split_once(' ').unwrap();
        for ((caller, credential), expected) in CALLERS.iter().zip(&credentials).zip(expected) {
            let path = template
                .replace(
                    "{id}",
                    if template.contains("api-keys") {
                        "0190a7e2-0000-7000-8000-000000000000"
                    } else {
                        x["id"].as_str().unwrap()
                    },
                )
                .replace("{tracking_number}", tracking_number(&x));
            let path = match *route {
                "GET /api/v1/routes" | "GET /api/v1/exceptions" => format!("{path}?depot={NOWHERE}&date=2026-11-24"),
                _ => path.replace("{stop_id}", NOWHERE).replace("{name}", &format!("{}.jpg", "0".repeat(64))),
            };
            let url = match &credential.link {
                Some(k) => format!("{}{path}{}k={k}", app.base, if path.contains('?') { '&' } else { '?' }),
                None => app.url(&path),
            };
            let mut request = app.client.request(method.parse().unwrap(), url);
            if let Some(token) = &credential.bearer {
                request = request.bearer_auth(token);
            }
            if *route == "POST /t/{tracking_number}/feedback" {
                request =
                    request.header("content-type", "application/x-www-form-urlencoded").body("token=forged&rating=5");
            } else if *route == "POST /t/{tracking_number}/preferences" {
                request = request
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("token=forged&method=hand_to_recipient");
            } else if route.ends_with("/deliver") || route.ends_with("/fail") {
                let report = stop_report(route);
                let form = reqwest::multipart::Form::new().text("report", report.to_string());
                request = request.header("idempotency-key", "matrix").multipart(form);
            } else if *route == "POST /api/v1/shipments/import" {
                request = request.header("content-type", "text/csv").body(IMPORT_HEADER);
            } else if let Some(body) = sample_body(route) {
                request = request.json(&body);
            }
            if route.contains("{stop_id}") {
                request = request.header("idempotency-key", "matrix");
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            let actual =
                if status == StatusCode::OK && (text.contains("\"details\"") || text.contains("id=\"recipient\"")) {
                    "200+".to_string()
                } else {
                    status.as_u16().to_string()
                };
            if actual != *expected {
                mismatches.push(format!("{route} as {caller}: expected {expected}, got {actual}"));
            }
        }
    }
    for (route, expected) in WITHOUT_QUERY {
        let (method, path) = route.split_once(' ').unwrap();
        for ((caller, credential), expected) in CALLERS.iter().zip(&credentials).zip(expected) {
            let url = match &credential.link {
                Some(k) => format!("{}{path}{}k={k}", app.base, if path.contains('?') { '&' } else { '?' }),
                None => app.url(path),
            };
            let mut request = app.client.request(method.parse().unwrap(), url);
            if let Some(token) = &credential.bearer {
                request = request.bearer_auth(token);
            }
            let actual = request.send().await.unwrap().status().as_u16().to_string();
            if actual != *expected {
                mismatches.push(format!("{route} as {caller}: expected {expected}, got {actual}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

const IMPORT_HEADER: &str = "external_ref,recipient_name,recipient_email,postal_code,city,address_line1,country,lat,lon,\
                             promised_date,window_start,window_end,parcels\n";

/// A well-formed report, so that drivers get as far as finding the stop.
fn stop_report(route: &str) -> Value {
    let at = json!({"captured_at": "2026-11-23T09:00:00+09:00", "location": {"lat": 35.68, "lon": 139.76}});
    let mut report = at.clone();
    if route.ends_with("/deliver") {
        report["method"] = json!({"kind": "hand_to_recipient"});
    } else {
        report["reason"] = json!("recipient_not_home");
    }
    report
}

fn sample_body(route: &str) -> Option<Value> {
    Some(match route {
        // A fresh email each time: five failures in a row would lock one.
        "POST /api/v1/auth/login" => {
            json!({"email": format!("{}@example.jp", order_ref().to_lowercase()), "password": "wrong password"})
        }
        "POST /api/v1/auth/refresh" | "POST /api/v1/auth/logout" => json!({"refresh_token": "tdr_unknown"}),
        "POST /api/v1/users" => json!({"email": format!("{}@example.jp", order_ref().to_lowercase()),
                                       "password": "a long enough password", "role": "support", "name": "S"}),
        "POST /api/v1/api-keys" => json!({"merchant": "shop-c", "name": "test"}),
        "POST /api/v1/shipments" => shipment_request(),
        "POST /api/v1/depots" => json!({"name": format!("Depot {}", order_ref()), "address": "東京都江東区",
                                        "location": {"lat": 35.65, "lon": 139.79}}),
        "POST /api/v1/depots/{id}/zones" => json!({"name": "Koto", "area": {"type": "Polygon",
            "coordinates": [[[139.7, 35.6], [139.8, 35.6], [139.8, 35.7], [139.7, 35.6]]]}}),
        "PUT /api/v1/drivers/{id}" => json!({"depot_id": NOWHERE, "capacity": 80,
                                             "shift": {"start": "08:00", "end": "18:00"}}),
        "POST /api/v1/depots/{id}/receive" => json!({"barcodes": ["JP0000000001"]}),
        "POST /api/v1/routes/build" => json!({"depot_id": NOWHERE, "date": "2026-11-24"}),
        "POST /api/v1/routes" => json!({"depot_id": NOWHERE, "date": "2026-11-24", "driver_id": NOWHERE,
                                        "shipments": ["0000-0000-0000-0000"]}),
        "POST /api/v1/routes/{id}/stops" => json!({"tracking_number": "0000-0000-0000-0000"}),
        "PUT /api/v1/routes/{id}/stops" => json!({"stops": []}),
        "POST /api/v1/shipments/{id}/events" => json!({"status": "info_received"}),
        "POST /api/v1/driver/locations" => {
            json!({"points": [{"at": "2026-11-23T09:00:00+09:00", "lat": 35.68, "lon": 139.76}]})
        }
        "POST /api/v1/driver/stops/{stop_id}/arrive" => {
            json!({"captured_at": "2026-11-23T09:00:00+09:00", "location": {"lat": 35.68, "lon": 139.76}})
        }
        "POST /api/v1/shipments/{id}/delays" => json!({"date": "2026-11-24", "start": "18:00", "end": "20:00"}),
        "POST /api/v1/pickup-points" => {
            json!({"id": order_ref().to_lowercase(), "name": "ローソン", "address": "丸の内1-1",
                                               "lat": 35.68, "lon": 139.76, "opening_hours": "24時間"})
        }
        "PUT /api/v1/track/{tracking_number}/preferences" => json!({"method": {"kind": "hand_to_recipient"}}),
        "PATCH /api/v1/track/{tracking_number}/preferences" => json!({"instructions": "インターホンを押してください"}),
        "PUT /api/v1/delivery-slots" => serde_json::to_value(todoke_shared::preferences::default_slots()).unwrap(),
        _ => return None,
    })
}
