//! A merchant creates shipments, staff move them through their lifecycle, and nothing illegal sticks.

use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::{TestApp, expect_json, expect_problem, shipment_request, tracking_number};
use todoke_server::store::{Backend, EventRecord, ShipmentKey, StoreError};
use todoke_shared::{ShipmentStatus, TrackingNumber};

#[tokio::test]
async fn a_merchant_creates_a_shipment_with_the_documented_body() {
    let app = TestApp::spawn().await;
    let body = shipment_request();
    let response = app.post_json("/api/v1/shipments", &body).await;
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let shipment = expect_json(response, StatusCode::CREATED).await;

    let id = shipment["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/shipments/{id}"));
    assert_eq!(shipment["status"], "info_received");
    assert_eq!(shipment["external_ref"], body["external_ref"]);
    assert_eq!(shipment["recipient"]["name"], "山田 花子");
    assert_eq!(shipment["address"]["timezone"], "Asia/Tokyo");
    assert_eq!(shipment["promised"], body["promised"]);
    assert_eq!(shipment["parcels"], body["parcels"]);
    let number = TrackingNumber::parse(tracking_number(&shipment)).expect("a valid tracking number");
    let link = shipment["tracking_url"].as_str().unwrap();
    assert!(link.starts_with(&format!("{}/t/{}?k=", app.base, number)), "the customer's own link: {link}");
    // Timestamps are local to the address, with the offset.
    assert!(shipment["created_at"].as_str().unwrap().ends_with("+09:00"), "{shipment}");
    assert_eq!(shipment["events"][0]["status"], "info_received");

    let fetched = expect_json(app.get(&location).await, StatusCode::OK).await;
    assert_eq!(fetched, shipment);
}

#[tokio::test]
async fn creating_the_same_order_again_returns_the_same_shipment() {
    let app = TestApp::spawn().await;
    let body = shipment_request();
    let first = app.create_shipment(&body).await;

    let again = expect_json(app.post_json("/api/v1/shipments", &body).await, StatusCode::OK).await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["tracking_number"], first["tracking_number"]);

    let mut changed = body.clone();
    changed["promised"]["window"]["start"] = json!("12:00");
    let problem =
        expect_problem(app.post_json("/api/v1/shipments", &changed).await, StatusCode::CONFLICT, "external_ref_taken")
            .await;
    assert_eq!(problem["errors"][0]["field"], "external_ref");

    let list = expect_json(app.get("/api/v1/shipments").await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "only one shipment exists");
}

#[tokio::test]
async fn simultaneous_retries_of_one_order_create_one_shipment() {
    let app = TestApp::spawn().await;
    let body = shipment_request();
    let attempts = (0..6).map(|_| app.post_json("/api/v1/shipments", &body));
    let responses = futures::future::join_all(attempts).await;
    let mut ids = Vec::new();
    let mut created = 0;
    for response in responses {
        let status = response.status();
        assert!(status == StatusCode::CREATED || status == StatusCode::OK, "{status}");
        created += usize::from(status == StatusCode::CREATED);
        ids.push(response.json::<Value>().await.unwrap()["id"].clone());
    }
    assert_eq!(created, 1);
    assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "{ids:?}");
}

#[tokio::test]
async fn a_barcode_already_on_another_order_of_the_shop_is_refused_naming_that_order() {
    let app = TestApp::spawn().await;
    let shop = app.api_key("shop-barcodes").await;
    let create = |body: Value| {
        let (app, shop) = (&app, shop.clone());
        async move { app.post_json_as("/api/v1/shipments", &body, Some(&shop)).await }
    };
    let first = shipment_request();
    let barcode = first["parcels"][0]["barcode"].as_str().unwrap().to_string();
    expect_json(create(first.clone()).await, StatusCode::CREATED).await;
    // The same order sent again is still the same shipment, not a clash with itself.
    expect_json(create(first.clone()).await, StatusCode::OK).await;

    // Another order whose second parcel carries that barcode: refused, naming the barcode and the order that has it.
    let mut second = shipment_request();
    second["parcels"] = json!([{"barcode": "JP-NEW-1", "weight_g": 500}, {"barcode": barcode, "weight_g": 700}]);
    let problem = expect_problem(create(second.clone()).await, StatusCode::CONFLICT, "barcode_in_use").await;
    assert_eq!(problem["errors"][0]["field"], "parcels[1].barcode", "{problem}");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(&barcode) && message.contains(first["external_ref"].as_str().unwrap()), "{message}");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "JP-NEW-1 is free: {problem}");

    // Nothing of the refused order was kept: with its own barcode it goes through, JP-NEW-1 included.
    second["parcels"][1]["barcode"] = json!("JP-NEW-2");
    expect_json(create(second).await, StatusCode::CREATED).await;
    let mine = expect_json(app.get_as("/api/v1/shipments", Some(&shop)).await, StatusCode::OK).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);

    // Barcodes are the shop's own: another shop, or staff, may print the same one.
    let other_shop = app.api_key("shop-elsewhere").await;
    let mut elsewhere = shipment_request();
    elsewhere["parcels"][0]["barcode"] = json!(barcode);
    let response = app.post_json_as("/api/v1/shipments", &elsewhere, Some(&other_shop)).await;
    expect_json(response, StatusCode::CREATED).await;

    // Orders racing for one new barcode: exactly one wins, the others hear which order has it.
    let contested = format!("JP-RACE-{}", first["external_ref"].as_str().unwrap());
    let attempts = (0..6).map(|_| {
        let mut body = shipment_request();
        body["parcels"][0]["barcode"] = json!(contested);
        create(body)
    });
    let mut statuses = Vec::new();
    for response in futures::future::join_all(attempts).await {
        let status = response.status();
        if status == StatusCode::CONFLICT {
            expect_problem(response, status, "barcode_in_use").await;
        }
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 5, "{statuses:?}");
}

/// The last migration before parcel barcodes were unique per merchant.
const BEFORE_UNIQUE_BARCODES: i64 = 20261124000009;

/// Fills a database as a server from before unique barcodes left it: two orders of staff whose parcels
/// share the barcode `JP-TWICE`, `OLD-1` first.
macro_rules! seed_a_barcode_twice {
    ($pool:expr, $backend:literal) => {{
        let pool = $pool;
        let migrations = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/", $backend);
        let migrator = sqlx::migrate::Migrator::new(std::path::Path::new(migrations)).await.unwrap();
        migrator.run_to(BEFORE_UNIQUE_BARCODES, &pool).await.expect("the schema before unique barcodes");
        let preferences = serde_json::to_string(&todoke_shared::preferences::Preferences::default()).unwrap();
        let flags = serde_json::to_string(&todoke_shared::preferences::ShipmentFlags::default()).unwrap();
        for (n, external_ref) in [(1u128, "OLD-1"), (2, "OLD-2")] {
            let id = uuid::Uuid::now_v7();
            sqlx::query(
                "INSERT INTO shipments (id, tracking_number, merchant, external_ref, request_digest, status, \
                 recipient_name, recipient_email, language, address_lines, postal_code, city, country, lat, lon, \
                 timezone, promised_date, window_start, window_end, preferences, flags, created_at, updated_at) \
                 VALUES ($1, $2, '', $3, 'old', 'info_received', '山田 花子', 'hanako@example.jp', 'ja', \
                 '[\"丸の内1-9-1\"]', '100-0005', '千代田区', 'JP', 35.68, 139.76, 'Asia/Tokyo', $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(id)
            .bind(TrackingNumber::from_random_bits(n).to_string())
            .bind(external_ref)
            .bind(chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap())
            .bind(chrono::NaiveTime::from_hms_opt(14, 0, 0).unwrap())
            .bind(chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap())
            .bind(preferences.as_str())
            .bind(flags.as_str())
            .bind(chrono::Utc::now())
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query("INSERT INTO parcels (shipment_id, position, barcode, weight_g) VALUES ($1, 0, 'JP-TWICE', 100)")
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
        }
    }};
}

#[tokio::test]
async fn a_database_already_holding_a_barcode_twice_migrates_and_takes_no_third() {
    let app = TestApp::spawn_on(async |url: &str| match Backend::from_url(url) {
        Some(Backend::Postgres) => seed_a_barcode_twice!(sqlx::PgPool::connect(url).await.unwrap(), "postgres"),
        _ => {
            let options = url.parse::<sqlx::sqlite::SqliteConnectOptions>().unwrap().create_if_missing(true);
            seed_a_barcode_twice!(sqlx::SqlitePool::connect_with(options).await.unwrap(), "sqlite")
        }
    })
    .await;

    // Both old orders are kept as they were; the first one holds the barcode from now on.
    for external_ref in ["OLD-1", "OLD-2"] {
        let key = ShipmentKey::ExternalRef { merchant: None, external_ref };
        let old = app.store.find_shipment(key).await.unwrap().expect("kept");
        assert_eq!(old.content.parcels[0].barcode, "JP-TWICE");
    }
    let mut third = shipment_request();
    third["parcels"][0]["barcode"] = json!("JP-TWICE");
    let problem =
        expect_problem(app.post_json("/api/v1/shipments", &third).await, StatusCode::CONFLICT, "barcode_in_use").await;
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("'OLD-1'"), "{problem}");
    app.create_shipment(&shipment_request()).await;
}

#[tokio::test]
async fn postal_codes_and_phone_numbers_typed_in_full_width_are_stored_as_ascii() {
    let app = TestApp::spawn().await;
    let mut body = shipment_request();
    body["address"]["postal_code"] = json!("〒１００ー０００５");
    body["recipient"]["phone"] = json!("＋８１　９０－１２３４－５６７８");
    let shipment = app.create_shipment(&body).await;
    assert_eq!(shipment["address"]["postal_code"], "100-0005", "{shipment}");
    assert_eq!(shipment["recipient"]["phone"], "+81 90-1234-5678", "{shipment}");

    // What is still not a postal code or a phone number is refused, naming the character.
    let mut body = shipment_request();
    body["address"]["postal_code"] = json!("１００＿０００５");
    body["recipient"]["phone"] = json!("090-1234-5678 内線2");
    let problem = expect_problem(
        app.post_json("/api/v1/shipments", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let errors: Vec<(&str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(errors.len(), 2, "{problem}");
    assert_eq!(errors[0].0, "recipient.phone");
    assert!(errors[0].1.contains("'内'"), "{problem}");
    assert_eq!(errors[1].0, "address.postal_code");
    assert!(errors[1].1.contains("'＿'"), "{problem}");
}

#[tokio::test]
async fn a_parcel_travels_from_the_depot_to_the_doorstep() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;

    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    let failed = app
        .record(
            &shipment,
            json!({"status": "attempt_failed", "reason": "recipient_not_home", "note": "card left in mailbox",
                   "location": {"lat": 35.6813, "lon": 139.7670}}),
        )
        .await;
    assert_eq!(failed["status"], "attempt_failed");
    let attempt = &failed["events"][3];
    assert_eq!(attempt["reason"], "recipient_not_home");
    assert_eq!(attempt["note"], "card left in mailbox");
    assert_eq!(attempt["location"], json!({"lat": 35.6813, "lon": 139.7670}));
    assert_eq!(attempt["actor"], "admin:admin@example.jp", "who did it");

    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    let delivered = app.record(&shipment, json!({"status": "delivered"})).await;
    let statuses: Vec<&str> =
        delivered["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["info_received", "at_depot", "out_for_delivery", "attempt_failed", "out_for_delivery", "delivered"]
    );

    // Delivered is final.
    let path = format!("/api/v1/shipments/{}/events", shipment["id"].as_str().unwrap());
    let problem = expect_problem(
        app.post_json(&path, &json!({"status": "at_depot"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert_eq!(problem["allowed"], json!([]));
}

/// Statuses the lifecycle can reach, each with a path from `info_received`.
fn path_to(status: ShipmentStatus) -> Vec<Value> {
    use ShipmentStatus::*;
    let step = |status: &str| match status {
        "attempt_failed" | "exception" => json!({"status": status, "reason": "other"}),
        _ => json!({"status": status}),
    };
    let names: &[&str] = match status {
        InfoReceived => &[],
        AtDepot => &["at_depot"],
        OutForDelivery => &["at_depot", "out_for_delivery"],
        Delivered => &["at_depot", "out_for_delivery", "delivered"],
        AttemptFailed => &["at_depot", "out_for_delivery", "attempt_failed"],
        AvailableForPickup => &["at_depot", "available_for_pickup"],
        ReturnedToSender => &["at_depot", "returned_to_sender"],
        Cancelled => &["cancelled"],
        Exception => &["exception"],
    };
    names.iter().map(|name| step(name)).collect()
}

#[tokio::test]
async fn every_legal_transition_is_accepted_and_every_illegal_one_refused() {
    let app = TestApp::spawn().await;
    for from in ShipmentStatus::ALL {
        for to in ShipmentStatus::ALL {
            let shipment = app.create_shipment(&shipment_request()).await;
            for step in path_to(from) {
                app.record(&shipment, step).await;
            }
            let change = match to {
                ShipmentStatus::AttemptFailed | ShipmentStatus::Exception => {
                    json!({"status": to, "reason": "address_not_found"})
                }
                _ => json!({"status": to}),
            };
            let path = format!("/api/v1/shipments/{}/events", shipment["id"].as_str().unwrap());
            let response = app.post_json(&path, &change).await;
            if to == ShipmentStatus::InfoReceived {
                let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
                assert_eq!(problem["errors"][0]["code"], "invalid_status");
                assert_eq!(problem["errors"][0]["field"], "status");
            } else if from.allowed_next().contains(&to) {
                let moved = expect_json(response, StatusCode::OK).await;
                assert_eq!(moved["status"], json!(to), "{from:?} -> {to:?}");
            } else {
                let problem = expect_problem(response, StatusCode::CONFLICT, "invalid_transition").await;
                assert_eq!(problem["allowed"], json!(from.allowed_next()), "{from:?} -> {to:?}");
                let current = expect_json(
                    app.get(&format!("/api/v1/shipments/{}", shipment["id"].as_str().unwrap())).await,
                    StatusCode::OK,
                )
                .await;
                assert_eq!(current["status"], json!(from), "a refused change leaves the status alone");
                assert_eq!(
                    current["events"].as_array().unwrap().len(),
                    path_to(from).len() + 1,
                    "and the timeline too"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_failed_attempt_needs_a_reason_code() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    for step in path_to(ShipmentStatus::OutForDelivery) {
        app.record(&shipment, step).await;
    }
    let path = format!("/api/v1/shipments/{}/events", shipment["id"].as_str().unwrap());
    let problem = expect_problem(
        app.post_json(&path, &json!({"status": "attempt_failed", "note": "nobody home"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "reason");

    let problem = expect_problem(
        app.post_json(&path, &json!({"status": "attempt_failed", "reason": "gone_fishing"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "reason");
}

#[tokio::test]
async fn servers_sharing_postgresql_agree_and_never_both_win_a_race() {
    let first = TestApp::spawn().await;
    if first.backend() != Backend::Postgres {
        return;
    }
    let second = first.sibling().await.unwrap();
    let shipment = first.create_shipment(&shipment_request()).await;
    let id = shipment["id"].as_str().unwrap();
    let track = format!("/api/v1/track/{}", tracking_number(&shipment));

    // The first server has the parcel in memory; the second changes it; the first must tell the truth.
    assert_eq!(expect_json(first.get(&track).await, StatusCode::OK).await["status"], "info_received");
    second.record(&shipment, json!({"status": "at_depot"})).await;
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = expect_json(first.get(&track).await, StatusCode::OK).await["status"].clone();
        if seen == "at_depot" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, "at_depot", "the other server's change reaches this server's readers");
    assert_eq!(
        expect_json(first.get(&format!("/api/v1/shipments/{id}")).await, StatusCode::OK).await["status"],
        "at_depot"
    );

    for _ in 0..5 {
        let shipment = first.create_shipment(&shipment_request()).await;
        first.record(&shipment, json!({"status": "at_depot"})).await;
        let path = format!("/api/v1/shipments/{}/events", shipment["id"].as_str().unwrap());
        // From at_depot either change is legal, but after either one the other is not.
        let (dispatch, cancel) = (json!({"status": "out_for_delivery"}), json!({"status": "cancelled"}));
        let (dispatch, cancel) = tokio::join!(first.post_json(&path, &dispatch), second.post_json(&path, &cancel));
        let statuses = [dispatch.status(), cancel.status()];
        assert!(statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT), "{statuses:?}");
        let current = expect_json(
            first.get(&format!("/api/v1/shipments/{}", shipment["id"].as_str().unwrap())).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(current["events"].as_array().unwrap().len(), 3, "exactly one change recorded: {current}");
    }
}

#[tokio::test]
async fn a_sqlite_database_serves_one_server_process() {
    let first = TestApp::spawn().await;
    if first.backend() != Backend::Sqlite {
        return;
    }
    let refused = first.sibling().await.err().expect("a second server on the same SQLite file is refused");
    assert!(format!("{refused:#}").contains("serves one server process"), "{refused:#}");
}

#[tokio::test]
async fn what_a_server_writes_its_readers_see_at_once() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let track = format!("/api/v1/track/{}", tracking_number(&shipment));
    for step in ["at_depot", "out_for_delivery", "delivered"] {
        app.record(&shipment, json!({"status": step})).await;
        let view = expect_json(app.get(&track).await, StatusCode::OK).await;
        assert_eq!(view["status"], step);
        assert_eq!(view["events"].as_array().unwrap().last().unwrap()["status"], step);
    }
}

#[tokio::test]
async fn a_change_judged_on_a_stale_status_is_refused_by_the_store() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let id = shipment["id"].as_str().unwrap().parse().unwrap();
    let event = |status| EventRecord {
        status,
        occurred_at: chrono::Utc::now(),
        recorded_at: chrono::Utc::now(),
        actor: "test".into(),
        location: None,
        reason: None,
        note: None,
    };
    // Two servers both read `info_received` and decide on different changes.
    app.store.append_transition(id, ShipmentStatus::InfoReceived, &event(ShipmentStatus::AtDepot), &[]).await.unwrap();
    let late =
        app.store.append_transition(id, ShipmentStatus::InfoReceived, &event(ShipmentStatus::Cancelled), &[]).await;
    assert!(matches!(late, Err(StoreError::Stale)), "{late:?}");
    let events = app.store.events(id).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.status).collect::<Vec<_>>(),
        [ShipmentStatus::InfoReceived, ShipmentStatus::AtDepot]
    );
}
