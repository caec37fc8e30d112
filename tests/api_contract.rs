//! The API's promises to integrators: clear problems for bad input with nothing half-stored, stable
//! pagination, health endpoints, and an OpenAPI document in step with the routes.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::{TestApp, expect_json, expect_problem, shipment_request};
use todoke_shared::ProblemCode;

async fn shipment_count(app: &TestApp) -> usize {
    let list = expect_json(app.get("/api/v1/shipments?limit=200").await, StatusCode::OK).await;
    list["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn bad_input_gets_a_problem_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let create = app.url("/api/v1/shipments");

    let admin = app.admin_token.clone();
    let malformed = app
        .client
        .post(&create)
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"external_ref\": ")
        .send();
    expect_problem(malformed.await.unwrap(), StatusCode::BAD_REQUEST, "malformed_json").await;

    let wrong_type = app
        .client
        .post(&create)
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body(shipment_request().to_string());
    expect_problem(wrong_type.send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        .await;

    let huge = json!({"external_ref": "x".repeat(2 * 1024 * 1024)});
    expect_problem(app.post_json("/api/v1/shipments", &huge).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        .await;

    let mut wrong_shape = shipment_request();
    wrong_shape["parcels"][0]["weight_g"] = json!("heavy");
    let problem = expect_problem(
        app.post_json("/api/v1/shipments", &wrong_shape).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "parcels[0].weight_g");

    let mut invalid = shipment_request();
    invalid["recipient"]["email"] = json!("hanako-at-example");
    invalid["recipient"]["language"] = json!("en");
    invalid["promised"]["date"] = json!("24/11/2026");
    invalid["address"]["lon"] = json!(200.0);
    let problem = expect_problem(
        app.post_json("/api/v1/shipments", &invalid).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: BTreeSet<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, BTreeSet::from(["recipient.email", "promised.date", "address.lon"]));
    for error in problem["errors"].as_array().unwrap() {
        assert!(error["message"].as_str().unwrap().len() > 10, "each error says how to fix it: {error}");
    }

    let mut unknown_field = shipment_request();
    unknown_field["recipient"]["langauge"] = json!("en");
    let problem = expect_problem(
        app.post_json("/api/v1/shipments", &unknown_field).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "recipient.langauge");

    for non_object in [json!(null), json!([]), json!(42)] {
        let response = app.post_json("/api/v1/shipments", &non_object).await;
        expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    }

    assert_eq!(shipment_count(&app).await, 0, "nothing was stored");
}

#[tokio::test]
async fn a_body_with_several_wrong_types_has_each_of_them_named() {
    let app = TestApp::spawn().await;
    let mut body = shipment_request();
    body["parcels"][0]["weight_g"] = json!("heavy");
    body["address"]["lat"] = json!("35.68 north");
    body["recipient"]["phone"] = json!(819012345678_u64);
    let problem = expect_problem(
        app.post_json("/api/v1/shipments", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    let errors: BTreeSet<(&str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        BTreeSet::from([
            ("recipient.phone", "invalid type: integer `819012345678`, expected a string"),
            ("address.lat", "invalid type: string \"35.68 north\", expected f64"),
            ("parcels[0].weight_g", "invalid type: string \"heavy\", expected u32"),
        ])
    );
    assert_eq!(shipment_count(&app).await, 0, "nothing was stored");
}

#[tokio::test]
async fn every_problem_carries_the_request_id_of_its_response() {
    let app = TestApp::spawn().await;
    let post = |path: &str, content_type: &str, body: String| {
        app.client.post(app.url(path)).bearer_auth(&app.admin_token).header("content-type", content_type).body(body)
    };
    let requests = [
        ("route_not_found", app.client.get(app.url("/api/v1/nothing-here"))),
        ("method_not_allowed", app.client.delete(app.url("/api/v1/shipments")).bearer_auth(&app.admin_token)),
        ("unsupported_media_type", post("/api/v1/shipments", "text/plain", "{}".into())),
        ("malformed_json", post("/api/v1/shipments", "application/json", "{\"external_ref\": ".into())),
        ("payload_too_large", post("/api/v1/shipments", "application/json", "x".repeat(2 * 1024 * 1024))),
        ("invalid_field", post("/api/v1/shipments", "application/json", "{}".into())),
        ("authentication_required", app.client.get(app.url("/api/v1/shipments"))),
        ("invalid_query", app.client.get(app.url("/api/v1/routes")).bearer_auth(&app.admin_token)),
        ("tracking_number_check_failed", app.client.get(app.url("/api/v1/track/0000-0000-0000-0001"))),
    ];
    let mut seen = BTreeSet::new();
    for (code, request) in requests {
        let response = request.send().await.unwrap();
        let header = response.headers()["x-request-id"].to_str().unwrap().to_string();
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], code, "{problem}");
        assert_eq!(problem["request_id"], header, "the body says what the header says: {problem}");
        assert!(seen.insert(header), "one id per request");
    }

    // An id the caller sent is the one both give back.
    let response =
        app.client.get(app.url("/api/v1/nothing-here")).header("x-request-id", "shop-42").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "shop-42");
    assert_eq!(response.json::<Value>().await.unwrap()["request_id"], "shop-42");
}

#[tokio::test]
async fn a_missing_query_parameter_is_named_with_how_to_give_it() {
    let app = TestApp::spawn().await;
    for path in ["/api/v1/exceptions", "/api/v1/routes"] {
        let problem = expect_problem(app.get(path).await, StatusCode::BAD_REQUEST, "invalid_query").await;
        assert_eq!(problem["errors"][0]["field"], "depot", "{problem}");
        assert_eq!(problem["errors"][0]["message"], "depot is required: add depot=… to the query string");
        let problem = expect_problem(
            app.get(&format!("{path}?depot=0190a7e2-0000-7000-8000-000000000001")).await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "date", "{problem}");
    }
}

#[tokio::test]
async fn unknown_things_are_problems_too() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let id = shipment["id"].as_str().unwrap();

    expect_problem(
        app.get("/api/v1/shipments/0190a7e2-0000-7000-8000-000000000000").await,
        StatusCode::NOT_FOUND,
        "shipment_not_found",
    )
    .await;
    expect_problem(app.get("/api/v1/shipments/not-a-uuid").await, StatusCode::NOT_FOUND, "shipment_not_found").await;
    expect_problem(app.get("/api/v1/nothing-here").await, StatusCode::NOT_FOUND, "route_not_found").await;
    // A percent-encoded byte that is not UTF-8 cannot even be read as a path.
    expect_problem(app.get("/api/v1/shipments/%FF").await, StatusCode::BAD_REQUEST, "invalid_path").await;
    expect_problem(app.get("/api/v1/track/%FF%FE").await, StatusCode::BAD_REQUEST, "invalid_path").await;
    let delete = app
        .client
        .delete(app.url(&format!("/api/v1/shipments/{id}")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    expect_problem(delete, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    let events = format!("/api/v1/shipments/{id}/events");
    let problem = expect_problem(
        app.post_json(&events, &json!({"status": "teleported"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "status");
    let problem = expect_problem(
        app.post_json(&events, &json!({"status": "at_depot", "occurred_at": "2099-01-01T00:00:00+09:00"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "occurred_at");

    for (query, field) in [
        ("status=lost_in_space", "status"),
        ("date=tomorrow", "date"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("cursor=zzz", "cursor"),
    ] {
        let problem = expect_problem(
            app.get(&format!("/api/v1/shipments?{query}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }

    let current = expect_json(app.get(&format!("/api/v1/shipments/{id}")).await, StatusCode::OK).await;
    assert_eq!(current, shipment, "refused requests changed nothing");
}

#[tokio::test]
async fn shipments_are_listed_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for i in 0..7 {
        let mut body = shipment_request();
        body["promised"]["date"] = json!(if i % 2 == 0 { "2026-11-24" } else { "2026-11-25" });
        let shipment = app.create_shipment(&body).await;
        if i < 3 {
            app.record(&shipment, json!({"status": "at_depot"})).await;
        }
        created.push(shipment["id"].as_str().unwrap().to_string());
    }

    let mut seen = Vec::new();
    let mut path = "/api/v1/shipments?limit=3".to_string();
    let mut pages = 0;
    loop {
        let page = expect_json(app.get(&path).await, StatusCode::OK).await;
        pages += 1;
        seen.extend(page["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/shipments?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, created, "every shipment once, in creation order");
    assert_eq!(pages, 3);

    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
    };
    let at_depot = expect_json(app.get("/api/v1/shipments?status=at_depot").await, StatusCode::OK).await;
    assert_eq!(ids(&at_depot), created[..3]);
    let on_25th = expect_json(app.get("/api/v1/shipments?date=2026-11-25").await, StatusCode::OK).await;
    assert_eq!(ids(&on_25th), [created[1].clone(), created[3].clone(), created[5].clone()]);
    let both =
        expect_json(app.get("/api/v1/shipments?date=2026-11-24&status=info_received").await, StatusCode::OK).await;
    assert_eq!(ids(&both), [created[4].clone(), created[6].clone()]);
    assert!(both["next_cursor"].is_null());
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
}

/// Every route, as `METHOD path`. Adding a route means adding it here and to docs.
const ROUTES: &[&str] = &[
    "GET /healthz",
    "GET /readyz",
    "GET /api/v1/shipments",
    "POST /api/v1/shipments",
    "POST /api/v1/shipments/import",
    "GET /api/v1/shipments/{id}",
    "GET /api/v1/driver/manifest",
    "POST /api/v1/driver/locations",
    "POST /t/{tracking_number}/feedback",
    "POST /api/v1/driver/stops/{stop_id}/arrive",
    "POST /api/v1/driver/stops/{stop_id}/deliver",
    "POST /api/v1/driver/stops/{stop_id}/fail",
    "GET /api/v1/shipments/{id}/pod",
    "GET /api/v1/shipments/{id}/pod/files/{name}",
    "POST /api/v1/shipments/{id}/events",
    "GET /api/v1/shipments/{id}/notifications",
    "POST /api/v1/shipments/{id}/delays",
    "GET /api/v1/track/{tracking_number}",
    "GET /t/{tracking_number}",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
    "POST /api/v1/users",
    "GET /api/v1/api-keys",
    "POST /api/v1/api-keys",
    "DELETE /api/v1/api-keys/{id}",
    "GET /api/v1/delivery-slots",
    "PUT /api/v1/delivery-slots",
    "GET /api/v1/pickup-points",
    "POST /api/v1/pickup-points",
    "GET /api/v1/track/{tracking_number}/preferences",
    "PUT /api/v1/track/{tracking_number}/preferences",
    "PATCH /api/v1/track/{tracking_number}/preferences",
    "POST /t/{tracking_number}/preferences",
    "GET /api/v1/depots",
    "POST /api/v1/depots",
    "GET /api/v1/depots/{id}/zones",
    "POST /api/v1/depots/{id}/zones",
    "GET /api/v1/depots/{id}/drivers",
    "PUT /api/v1/drivers/{id}",
    "POST /api/v1/depots/{id}/receive",
    "GET /api/v1/routes",
    "GET /api/v1/exceptions",
    "POST /api/v1/routes",
    "POST /api/v1/routes/build",
    "GET /api/v1/routes/{id}",
    "POST /api/v1/routes/{id}/dispatch",
    "POST /api/v1/routes/{id}/stops",
    "PUT /api/v1/routes/{id}/stops",
    "DELETE /api/v1/routes/{id}/stops/{stop_id}",
    "POST /api/v1/routes/{id}/sequence",
];

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = TestApp::spawn().await;
    let spec = expect_json(app.get("/api/v1/openapi.json").await, StatusCode::OK).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));

    let mut documented = BTreeSet::new();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: BTreeSet<String> = ROUTES.iter().map(|r| r.to_string()).collect();
    assert_eq!(documented, expected);

    // Each documented operation is served: the router knows it, whatever the answer.
    let sample = |path: &str| {
        path.replace("{id}", "0190a7e2-0000-7000-8000-000000000000")
            .replace("{tracking_number}", "0000-0000-0000-0000")
            .replace("{stop_id}", "0190a7e2-0000-7000-8000-000000000001")
    };
    for route in ROUTES {
        let (method, path) = route.split_once(' ').unwrap();
        let request = app.client.request(method.parse().unwrap(), app.url(&sample(path))).bearer_auth(&app.admin_token);
        let response = request.header("content-type", "application/json").body("{}").send().await.unwrap();
        let body = response.text().await.unwrap();
        assert!(!body.contains("route_not_found") && !body.contains("method_not_allowed"), "{route} is not served");
    }
}

/// Each operation of the document, as `(METHOD path, operation)`.
fn operations(spec: &Value) -> Vec<(String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((format!("{} {path}", method.to_uppercase()), operation));
        }
    }
    all
}

#[tokio::test]
async fn the_openapi_document_is_exact_enough_for_client_generators() {
    let app = TestApp::spawn().await;
    let spec = expect_json(app.get("/api/v1/openapi.json").await, StatusCode::OK).await;
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["servers"].as_array().is_some_and(|s| !s.is_empty()), "servers are declared");
    let tags: BTreeSet<&str> = spec["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    let schemes = spec["components"]["securitySchemes"].as_object().expect("security schemes");
    assert_eq!(schemes["accessToken"]["scheme"], "bearer");
    assert_eq!(schemes["apiKey"]["scheme"], "bearer");
    assert_eq!((&schemes["customerLink"]["in"], &schemes["customerLink"]["name"]), (&json!("query"), &json!("k")));
    let problem = &spec["components"]["schemas"]["Problem"]["properties"];
    for field in ["type", "title", "status", "detail", "code", "errors", "request_id"] {
        assert!(problem.get(field).is_some(), "the Problem schema has {field}");
    }
    // The codes a client may meet, from the enum the server builds its problems with.
    assert_eq!(problem["code"]["$ref"], "#/components/schemas/ProblemCode");
    let codes: BTreeSet<&str> = spec["components"]["schemas"]["ProblemCode"]["enum"]
        .as_array()
        .expect("the codes are listed")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes, ProblemCode::ALL.iter().map(|c| c.as_str()).collect());

    for (name, operation) in operations(&spec) {
        assert!(operation["security"].is_array(), "{name} says who may call it");
        for tag in operation["tags"].as_array().unwrap() {
            assert!(tags.contains(tag.as_str().unwrap()), "{name}: the tag {tag} is declared");
        }
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let described = parameter["description"].as_str().is_some_and(|d| !d.is_empty());
            assert!(described, "{name}: the parameter {} is described", parameter["name"]);
        }
        for (status, response) in operation["responses"].as_object().unwrap() {
            let description = response["description"].as_str().unwrap_or_default();
            assert!(!description.is_empty(), "{name} {status} has a description");
            if status.starts_with('4') || status.starts_with('5') {
                let content = response["content"].as_object().unwrap_or_else(|| panic!("{name} {status} has a body"));
                assert!(!content.contains_key("application/json"), "{name} {status}: errors are problem+json");
                if let Some(problem) = content.get("application/problem+json") {
                    assert_eq!(problem["schema"]["$ref"], "#/components/schemas/Problem", "{name} {status}");
                    assert!(description.contains("- `"), "{name} {status} lists its problem codes: {description}");
                    for line in description.lines().filter_map(|l| l.strip_prefix("- `")) {
                        let code = line.split('`').next().unwrap_or_default();
                        assert!(ProblemCode::parse(code).is_some(), "{name} {status}: `{code}` is a ProblemCode");
                    }
                } else {
                    assert!(content.contains_key("text/html"), "{name} {status}: a problem, or one of the pages");
                }
            }
        }
        // What every JSON body's extractor answers, whatever the handler.
        if operation["requestBody"]["content"].get("application/json").is_some() {
            for (status, code) in
                [("400", "malformed_json"), ("415", "unsupported_media_type"), ("422", "invalid_field")]
            {
                let description = operation["responses"][status]["description"].as_str().unwrap_or_default();
                assert!(description.contains(code), "{name} declares {status} {code}");
            }
        }
        if operation["parameters"].as_array().into_iter().flatten().any(|p| p["in"] == "path") {
            let description = operation["responses"]["400"]["description"].as_str().unwrap_or_default();
            assert!(description.contains("invalid_path"), "{name} declares 400 invalid_path");
        }
    }

    for path in ["/api/v1/routes", "/api/v1/exceptions"] {
        let parameters = spec["paths"][path]["get"]["parameters"].as_array().unwrap();
        let taken: BTreeSet<(&str, &str)> =
            parameters.iter().map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap())).collect();
        assert_eq!(taken, BTreeSet::from([("depot", "query"), ("date", "query")]), "{path}");
    }
    let list = spec["paths"]["/api/v1/shipments"]["get"]["parameters"].as_array().unwrap();
    let limit = list.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["type"], "integer");
    let status = list.iter().find(|p| p["name"] == "status").unwrap();
    let status_schema = serde_json::to_string(&status["schema"]).unwrap();
    assert!(status_schema.contains("ShipmentStatus"), "status is the shipment statuses: {status_schema}");
    let track = &spec["paths"]["/api/v1/track/{tracking_number}"]["get"]["responses"]["400"]["description"];
    assert!(track.as_str().unwrap().contains("tracking_number_wrong_length"));

    // The proof uploads are documented as their parts, with the files as bytes.
    let deliver = &spec["paths"]["/api/v1/driver/stops/{stop_id}/deliver"]["post"]["requestBody"]["content"];
    let multipart = &deliver["multipart/form-data"];
    assert_eq!(multipart["encoding"]["report"]["contentType"], "application/json");
    let upload = multipart["schema"]["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
    let parts = &spec["components"]["schemas"][upload]["properties"];
    assert!(parts["report"].is_object() && parts["signature"].is_object() && parts["photo"].is_object(), "{parts}");
    let deliver_responses = &spec["paths"]["/api/v1/driver/stops/{stop_id}/deliver"]["post"]["responses"];
    assert!(deliver_responses["400"]["description"].as_str().unwrap().contains("invalid_idempotency_key"));

    // A merge patch of the preferences is declared as one, and as JSON, which the server takes too.
    let patch = &spec["paths"]["/api/v1/track/{tracking_number}/preferences"]["patch"]["requestBody"]["content"];
    assert!(patch["application/merge-patch+json"].is_object() && patch["application/json"].is_object(), "{patch}");

    // The main operations carry examples.
    let login = &spec["paths"]["/api/v1/auth/login"]["post"];
    assert!(login["requestBody"]["content"]["application/json"]["example"]["email"].is_string());
    let create = &spec["paths"]["/api/v1/shipments"]["post"]["requestBody"]["content"]["application/json"];
    assert!(create["example"]["external_ref"].is_string());
    let tracked = &spec["paths"]["/api/v1/track/{tracking_number}"]["get"]["responses"]["200"]["content"];
    assert!(tracked["application/json"]["example"]["tracking_number"].is_string());
}

#[tokio::test]
async fn what_the_document_promises_the_server_answers() {
    let app = TestApp::spawn().await;
    let problem_type =
        |response: &reqwest::Response| response.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_string();
    // An error the document declares as a problem is sent as one.
    let response = app.get("/api/v1/routes?depot=0190a7e2-0000-7000-8000-000000000000&date=2026-11-24").await;
    assert_eq!(problem_type(&response), "application/problem+json");
    expect_problem(response, StatusCode::NOT_FOUND, "depot_not_found").await;
    // Empty filters are not silently taken as absent.
    for query in ["status=", "date=", "limit=", "cursor="] {
        let response = app.get(&format!("/api/v1/shipments?{query}")).await;
        expect_problem(response, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
    // A declared value the schema does not allow is refused.
    let mut body = shipment_request();
    body["flags"] = json!({"declared_value_jpy": 9_223_372_036_854_775_808_u64});
    let problem = expect_problem(
        app.post_json("/api/v1/shipments", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "flags.declared_value_jpy");
    // Every credential sent is checked: a link that is not valid is refused beside a valid token.
    let shipment = app.create_shipment(&shipment_request()).await;
    let number = shipment["tracking_number"].as_str().unwrap();
    let forged = app.get(&format!("/api/v1/track/{number}?k=forged")).await;
    expect_problem(forged, StatusCode::UNAUTHORIZED, "invalid_link").await;
    // The tracking API takes the languages it documents, no other.
    let unknown = app.get(&format!("/api/v1/track/{number}?lang=xx")).await;
    expect_problem(unknown, StatusCode::BAD_REQUEST, "invalid_query").await;
    // A delivery method with a field it does not have is refused, as its schema says.
    let mut body = shipment_request();
    body["preferences"] = json!({"method": {"kind": "neighbour", "name": "佐藤", "door": "302", "floor": 3}});
    expect_problem(app.post_json("/api/v1/shipments", &body).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
        .await;
}

#[tokio::test]
async fn the_api_docs_are_served_from_the_server_itself() {
    let app = TestApp::spawn().await;
    let page = app.public_get("/docs").await;
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers[reqwest::header::CONTENT_TYPE], "text/html; charset=utf-8");
    let policy = headers[reqwest::header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"spec-url="/api/v1/openapi.json""#));
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing is loaded from elsewhere");

    let script = app.public_get("/docs/redoc.standalone.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(script.headers()[reqwest::header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    let bytes = script.bytes().await.unwrap();
    assert!(bytes.len() > 500_000 && bytes.starts_with(b"/*! For license information"), "the Redoc bundle");
}
