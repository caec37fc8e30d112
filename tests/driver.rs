//! A driver starts the day: the phone fetches the manifest of the driver's own routes, with what is
//! needed at each door, and fetches it again for nothing while nothing changed.

use std::sync::Arc;

use chrono::{Duration, SubsecRound, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::warehouse::{DAY, depot_with_zone, driver, parcel, parcel_with_preferences, receive};
use todoke_e2e::{ADMIN_PASSWORD, TestApp, expect_json, expect_problem, login, tracking_number};
use todoke_server::clock::{Clock, ManualClock};

async fn token(app: &TestApp, driver: &Value) -> String {
    let email = driver["email"].as_str().unwrap();
    login(&app.client, &app.base, email, ADMIN_PASSWORD).await["access_token"].as_str().unwrap().to_string()
}

async fn manifest(app: &TestApp, token: &str, etag: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(&format!("/api/v1/driver/manifest?date={DAY}"))).bearer_auth(token);
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_driver_gets_the_day_in_stop_order_and_only_their_own() {
    let app = TestApp::spawn_with(|settings| settings.planner_millis = 300).await;
    let (depot, _zone) = depot_with_zone(&app).await;
    let (sato, suzuki) = (driver(&app, &depot, 20).await, driver(&app, &depot, 20).await);
    let (evening, evening_code) = parcel(&app, 35.6581, 139.7414, ("18:00", "20:00")).await;
    // The morning customer gave a door code and instructions at checkout.
    let preferences = json!({"method": {"kind": "hand_to_recipient"}, "access_code": "2580#",
                             "instructions": "インターホンは101"});
    let (morning, morning_code) =
        parcel_with_preferences(&app, 35.6940, 139.7536, ("08:00", "12:00"), Some(preferences)).await;
    receive(&app, &depot, &[&evening_code, &morning_code]).await;
    let body = json!({"depot_id": depot["id"], "date": DAY, "drivers": [sato["user_id"]]});
    let built = expect_json(app.post_json("/api/v1/routes/build", &body).await, StatusCode::CREATED).await;
    let route_id = built["routes"][0]["id"].as_str().unwrap().to_string();
    expect_json(app.post_json(&format!("/api/v1/routes/{route_id}/dispatch"), &json!({})).await, StatusCode::OK).await;

    let sato_token = token(&app, &sato).await;
    let response = manifest(&app, &sato_token, None).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let day = expect_json(response, StatusCode::OK).await;
    assert_eq!(day["date"], DAY);
    let routes = day["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0]["status"], "dispatched");
    let stops = routes[0]["stops"].as_array().unwrap();
    let order: Vec<&str> = stops.iter().map(|s| s["tracking_number"].as_str().unwrap()).collect();
    assert_eq!(order, vec![tracking_number(&morning), tracking_number(&evening)]);
    let first = &stops[0];
    assert_eq!(first["position"], 1);
    assert_eq!(first["status"], "out_for_delivery");
    assert_eq!(first["recipient_name"], "山田 花子");
    assert_eq!(first["recipient_phone"], "+81 90-1234-5678");
    assert_eq!(first["address"]["lines"][0], "丸の内1-9-1");
    assert_eq!(first["parcels"], json!([morning_code]));
    // The door code, which merchants and customers only see masked, is the driver's to use.
    assert_eq!(first["preferences"]["access_code"], "2580#");
    assert_eq!(first["preferences"]["instructions"], "インターホンは101");
    assert_eq!(first["pod_requirements"], json!(["signature", "recipient_name"]));
    assert!(first["planned_arrival"].as_str().unwrap().starts_with(DAY), "{first}");
    assert!(first["planned_arrival"].as_str().unwrap() < stops[1]["planned_arrival"].as_str().unwrap());
    // Nothing beyond the door: no email address, no other customer's details.
    assert!(first.get("recipient_email").is_none() && !first.to_string().contains("hanako@example.jp"), "{first}");

    // Asking again with the ETag costs nothing while the day is unchanged, weakened by a proxy or not.
    let again = manifest(&app, &sato_token, Some(&etag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.text().await.unwrap().is_empty());
    let weak = manifest(&app, &sato_token, Some(&format!("W/{etag}"))).await;
    assert_eq!(weak.status(), StatusCode::NOT_MODIFIED);

    // Dispatch takes a stop off the route: the manifest changes, and so does its ETag.
    let stop = stops[1]["id"].as_str().unwrap();
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/routes/{route_id}/stops/{stop}")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    expect_json(response, StatusCode::OK).await;
    let changed = manifest(&app, &sato_token, Some(&etag)).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    let changed = changed.json::<Value>().await.unwrap();
    assert_eq!(changed["routes"][0]["stops"].as_array().unwrap().len(), 1);

    // Another driver of the same depot sees none of it; staff are not drivers.
    let other = expect_json(manifest(&app, &token(&app, &suzuki).await, None).await, StatusCode::OK).await;
    assert_eq!(other["routes"], json!([]));
    expect_problem(manifest(&app, &app.admin_token, None).await, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn the_phone_sends_its_points_in_batches_and_old_ones_are_let_go() {
    let app = TestApp::spawn_with(|settings| settings.location_retention_days = 7).await;
    let (depot, _zone) = depot_with_zone(&app).await;
    let profile = driver(&app, &depot, 20).await;
    let sato = token(&app, &profile).await;
    let send = |points: Value| {
        let request = app.client.post(app.url("/api/v1/driver/locations")).bearer_auth(&sato);
        request.json(&json!({"points": points})).send()
    };
    let at = |minutes_ago: i64| (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339();

    // Back in coverage after a tunnel: three points at once, not in order; and one from last month.
    let batch = json!([
        {"at": at(2), "lat": 35.6812, "lon": 139.7671, "accuracy_m": 8.0, "speed_mps": 4.2, "heading_deg": 90.0},
        {"at": at(1), "lat": 35.6815, "lon": 139.7690, "accuracy_m": 6.5},
        {"at": at(3), "lat": 35.6810, "lon": 139.7650},
        {"at": at(60 * 24 * 30), "lat": 35.60, "lon": 139.70},
    ]);
    let receipt = expect_json(send(batch.clone()).await.unwrap(), StatusCode::OK).await;
    // The month-old point is past the retention of 7 days: not kept.
    assert_eq!(receipt["accepted"], 3);
    let newest = receipt["latest"].as_str().unwrap().to_string();
    assert_eq!(app.stored_points().await, 3);
    // The answer was lost and the phone sends the batch again: nothing is stored twice.
    expect_json(send(batch).await.unwrap(), StatusCode::OK).await;
    assert_eq!(app.stored_points().await, 3);

    // A late, older batch does not move the driver's position back.
    let older =
        expect_json(send(json!([{"at": at(10), "lat": 35.67, "lon": 139.76}])).await.unwrap(), StatusCode::OK).await;
    assert_eq!(older["latest"].as_str().unwrap(), newest);
    let position = app
        .state
        .driver_service
        .locations
        .driver_position(profile["user_id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((position.lat, position.lon, position.accuracy_m), (35.6815, 139.7690, Some(6.5)));

    // Bad points are named, and nothing of the batch is stored.
    let problem = expect_problem(
        send(json!([{"at": at(1), "lat": 35.6, "lon": 139.7}, {"at": at(-60), "lat": 95.0, "lon": 139.7, "speed_mps": -1.0}]))
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["points[1].lat", "points[1].speed_mps", "points[1].at"]);
    assert_eq!(app.stored_points().await, 4);
    expect_problem(send(json!([])).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn points_past_the_retention_are_let_go_as_new_ones_arrive() {
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let app = TestApp::spawn_at(clock.clone(), |settings| settings.location_retention_days = 7).await;
    let (depot, _zone) = depot_with_zone(&app).await;
    let profile = driver(&app, &depot, 20).await;
    let send = |token: String, minutes_ago: i64| {
        let at = (clock.now() - Duration::minutes(minutes_ago)).to_rfc3339();
        let request = app.client.post(app.url("/api/v1/driver/locations")).bearer_auth(token);
        request.json(&json!({"points": [{"at": at, "lat": 35.68, "lon": 139.76}]})).send()
    };
    let monday = token(&app, &profile).await;
    expect_json(send(monday.clone(), 2).await.unwrap(), StatusCode::OK).await;
    expect_json(send(monday, 1).await.unwrap(), StatusCode::OK).await;
    assert_eq!(app.stored_points().await, 2);

    // A week and a day later the phone sends again: Monday's points are past the retention and go.
    clock.advance(Duration::days(8));
    let tuesday = token(&app, &profile).await;
    expect_json(send(tuesday, 1).await.unwrap(), StatusCode::OK).await;
    assert_eq!(app.stored_points().await, 1);
}

#[tokio::test]
async fn phones_sending_at_the_same_time_each_keep_their_points_and_position() {
    let app = TestApp::spawn().await;
    let (depot, _zone) = depot_with_zone(&app).await;
    let mut phones = Vec::new();
    for _ in 0..4 {
        let profile = driver(&app, &depot, 20).await;
        phones.push((profile["user_id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap(), token(&app, &profile).await));
    }
    let start = Utc::now().trunc_subsecs(3) - Duration::hours(1);
    let batch = |number: i64| -> Value {
        let points: Vec<Value> = (0..10)
            .map(|i| json!({"at": (start + Duration::seconds(number * 10 + i)).to_rfc3339(), "lat": 35.68, "lon": 139.76 + number as f64 * 1e-3}))
            .collect();
        json!({"points": points})
    };
    // Every phone sends five batches at once, and its third one twice (the first answer was lost).
    let sends = phones.iter().flat_map(|(_, token)| {
        [0, 1, 2, 2, 3, 4].map(|number| {
            let request = app.client.post(app.url("/api/v1/driver/locations")).bearer_auth(token);
            request.json(&batch(number)).send()
        })
    });
    for response in futures::future::join_all(sends).await {
        assert_eq!(expect_json(response.unwrap(), StatusCode::OK).await["accepted"], 10);
    }
    assert_eq!(app.stored_points().await, 4 * 5 * 10);
    for (id, _) in &phones {
        let position = app.state.driver_service.locations.driver_position(*id).await.unwrap().unwrap();
        assert_eq!(position.recorded_at, start + Duration::seconds(49), "the newest point of the last batch");
        assert_eq!(position.lon, 139.76 + 4.0 * 1e-3);
    }
}
