//! Warehouse staff turn a day's parcels into routes: a depot with its zone, drivers, parcels scanned in,
//! routes built and sequenced, dispatched with the customers' notices, and changed afterwards.

use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::warehouse::{DAY, depot_with_zone, driver, parcel, receive};
use todoke_e2e::{TestApp, expect_json, expect_problem, tracking_number};

async fn spawn() -> TestApp {
    TestApp::spawn_with(|settings| settings.planner_millis = 300).await
}

async fn status(app: &TestApp, shipment: &Value) -> String {
    let path = format!("/api/v1/shipments/{}", shipment["id"].as_str().unwrap());
    let detail = expect_json(app.get(&path).await, StatusCode::OK).await;
    detail["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn parcels_are_received_routed_in_window_order_dispatched_and_changed() {
    let app = spawn().await;
    let (depot, zone) = depot_with_zone(&app).await;
    let driver = driver(&app, &depot, 20).await;
    // Evening in Minato, morning in Chiyoda, afternoon in Chuo; and one in Yokohama, outside the zone.
    let (evening, evening_code) = parcel(&app, 35.6581, 139.7414, ("18:00", "20:00")).await;
    let (morning, morning_code) = parcel(&app, 35.6940, 139.7536, ("08:00", "12:00")).await;
    let (afternoon, afternoon_code) = parcel(&app, 35.6717, 139.7650, ("14:00", "16:00")).await;
    let (yokohama, yokohama_code) = parcel(&app, 35.4437, 139.6380, ("08:00", "20:00")).await;

    // Scanning in: each lands in the zone that holds it; repeats and unknown codes are reported.
    let report = receive(
        &app,
        &depot,
        &[&evening_code, &morning_code, &afternoon_code, &yokohama_code, &evening_code, "JP-NO-SUCH-PARCEL"],
    )
    .await;
    assert_eq!(report["received"].as_array().unwrap().len(), 4, "{report}");
    assert_eq!(report["duplicates"], json!([evening_code]));
    assert_eq!(report["unknown"], json!(["JP-NO-SUCH-PARCEL"]));
    let received = |code: &str| report["received"].as_array().unwrap().iter().find(|r| r["barcode"] == code).cloned();
    assert_eq!(received(&morning_code).unwrap()["zone"], zone["name"]);
    assert_eq!(received(&yokohama_code).unwrap()["outside_zones"], json!(true));
    assert_eq!(status(&app, &morning).await, "at_depot");
    // A second scan later is a duplicate, not an error.
    assert_eq!(receive(&app, &depot, &[&morning_code]).await["duplicates"], json!([morning_code]));

    // Build the day: one route, sequenced morning, afternoon, evening; Yokohama flagged, not dropped.
    let built = expect_json(
        app.post_json("/api/v1/routes/build", &json!({"depot_id": depot["id"], "date": DAY})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(built["unplaced"], json!([]));
    assert_eq!(built["outside_zones"], json!([tracking_number(&yokohama)]));
    let route = &built["routes"][0];
    assert_eq!(route["driver"]["id"], driver["user_id"]);
    let order: Vec<&str> =
        route["stops"].as_array().unwrap().iter().map(|s| s["tracking_number"].as_str().unwrap()).collect();
    let position = |shipment: &Value| order.iter().position(|n| *n == tracking_number(shipment)).unwrap();
    assert_eq!(order.len(), 4);
    assert!(position(&morning) < position(&afternoon) && position(&afternoon) < position(&evening), "{order:?}");
    // Planned times rise along the route and keep each window.
    let stops = route["stops"].as_array().unwrap();
    for pair in stops.windows(2) {
        assert!(pair[0]["planned_departure"].as_str() <= pair[1]["planned_arrival"].as_str());
    }
    for stop in stops {
        assert_eq!(stop["late"], json!(false), "{stop}");
        let arrival = chrono::DateTime::parse_from_rfc3339(stop["planned_arrival"].as_str().unwrap()).unwrap();
        let end = chrono::DateTime::parse_from_rfc3339(stop["window_end"].as_str().unwrap()).unwrap();
        assert!(arrival <= end);
    }
    assert!(route["distance_km"].as_f64().unwrap() > 10.0);

    // Listing the day shows the same route.
    let path = format!("/api/v1/routes?depot={}&date={DAY}", depot["id"].as_str().unwrap());
    let listed = expect_json(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(listed[0]["stops"], route["stops"]);

    // Dispatch: all four go out for delivery and each customer's notice is queued with it.
    let route_path = format!("/api/v1/routes/{}", route["id"].as_str().unwrap());
    let dispatched =
        expect_json(app.post_json(&format!("{route_path}/dispatch"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(dispatched["status"], "dispatched");
    for shipment in [&morning, &afternoon, &evening, &yokohama] {
        assert_eq!(status(&app, shipment).await, "out_for_delivery");
        let notices = format!("/api/v1/shipments/{}/notifications", shipment["id"].as_str().unwrap());
        let notices = expect_json(app.get(&notices).await, StatusCode::OK).await;
        assert_eq!(notices.as_array().unwrap().iter().filter(|n| n["kind"] == "dispatched").count(), 1);
    }
    expect_problem(
        app.post_json(&format!("{route_path}/dispatch"), &json!({})).await,
        StatusCode::CONFLICT,
        "route_already_dispatched",
    )
    .await;

    // After dispatch: Yokohama comes off the route (back to the depot), a late addition goes on.
    let yokohama_stop = stops.iter().find(|s| s["tracking_number"] == tracking_number(&yokohama)).unwrap();
    let response = app
        .client
        .delete(app.url(&format!("{route_path}/stops/{}", yokohama_stop["id"].as_str().unwrap())))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    let changed = expect_json(response, StatusCode::OK).await;
    assert_eq!(changed["stops"].as_array().unwrap().len(), 3);
    assert_eq!(status(&app, &yokohama).await, "at_depot");
    let (late_addition, late_code) = parcel(&app, 35.6850, 139.7700, ("14:00", "18:00")).await;
    receive(&app, &depot, &[&late_code]).await;
    let body = json!({"tracking_number": tracking_number(&late_addition), "position": 2});
    let changed = expect_json(app.post_json(&format!("{route_path}/stops"), &body).await, StatusCode::OK).await;
    assert_eq!(changed["stops"][1]["tracking_number"], tracking_number(&late_addition));
    assert_eq!(status(&app, &late_addition).await, "out_for_delivery");
    // Planned times follow the new order, and both changes are recorded.
    let stops = changed["stops"].as_array().unwrap();
    for pair in stops.windows(2) {
        assert!(pair[0]["planned_departure"].as_str() <= pair[1]["planned_arrival"].as_str());
    }
    let changes: Vec<&str> =
        changed["changes"].as_array().unwrap().iter().map(|c| c["change"].as_str().unwrap()).collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(changes[1].starts_with("removed") && changes[2].starts_with("added"), "{changes:?}");
    assert!(changed["version"].as_i64().unwrap() > dispatched["version"].as_i64().unwrap());

    // The driver is told to take the stops the other way round, then the planner sequences them again:
    // the times follow each order, the route stays out for delivery, and both are recorded.
    let mut reversed: Vec<Value> = stops.iter().map(|s| s["id"].clone()).collect();
    reversed.reverse();
    let response = app
        .client
        .put(app.url(&format!("{route_path}/stops")))
        .bearer_auth(&app.admin_token)
        .json(&json!({"stops": reversed}))
        .send()
        .await
        .unwrap();
    let by_hand = expect_json(response, StatusCode::OK).await;
    let order = |route: &Value| route["stops"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect::<Vec<_>>();
    assert_eq!(order(&by_hand), reversed);
    assert_ne!(by_hand["stops"][0]["planned_arrival"], changed["stops"][0]["planned_arrival"]);
    let sequenced =
        expect_json(app.post_json(&format!("{route_path}/sequence"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(sequenced["status"], "dispatched");
    let arrivals: Vec<&str> =
        sequenced["stops"].as_array().unwrap().iter().map(|s| s["planned_arrival"].as_str().unwrap()).collect();
    assert!(arrivals.windows(2).all(|pair| pair[0] < pair[1]), "{arrivals:?}");
    let changes: Vec<&str> =
        sequenced["changes"].as_array().unwrap().iter().map(|c| c["change"].as_str().unwrap()).collect();
    assert_eq!(changes[3..], ["resequenced by hand", "sequenced by the planner"], "{changes:?}");
    for stop in sequenced["stops"].as_array().unwrap() {
        assert_eq!(stop["status"], "out_for_delivery");
    }
}

#[tokio::test]
async fn routes_by_hand_are_sequenced_on_request_and_capacity_is_respected() {
    let app = spawn().await;
    let (depot, _) = depot_with_zone(&app).await;
    let small = driver(&app, &depot, 2).await;
    let (a, a_code) = parcel(&app, 35.6581, 139.7414, ("18:00", "20:00")).await;
    let (b, b_code) = parcel(&app, 35.6940, 139.7536, ("08:00", "12:00")).await;
    let (c, c_code) = parcel(&app, 35.6717, 139.7650, ("08:00", "20:00")).await;
    receive(&app, &depot, &[&a_code, &b_code, &c_code]).await;

    // The automatic build cannot fit three parcels in a van for two: one stays at the depot, reported.
    let built = expect_json(
        app.post_json("/api/v1/routes/build", &json!({"depot_id": depot["id"], "date": DAY})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(built["routes"][0]["stops"].as_array().unwrap().len(), 2);
    assert_eq!(built["unplaced"].as_array().unwrap().len(), 1);
    assert_eq!(built["routes"][0]["driver"]["id"], small["user_id"]);

    // By hand, for a second driver: the evening parcel first, as given, is planned late...
    let other = driver(&app, &depot, 50).await;
    let left = built["unplaced"][0].as_str().unwrap();
    let ship = |tn: &str| [&a, &b, &c].into_iter().find(|s| tracking_number(s) == tn).cloned().unwrap();
    let taken = expect_problem(
        app.post_json(
            "/api/v1/routes",
            &json!({"depot_id": depot["id"], "date": DAY, "driver_id": other["user_id"],
                    "shipments": [tracking_number(&ship(built["routes"][0]["stops"][0]["tracking_number"].as_str().unwrap()))]}),
        )
        .await,
        StatusCode::CONFLICT,
        "already_routed",
    )
    .await;
    assert!(taken["detail"].as_str().unwrap().contains("already on a route"));
    let route = expect_json(
        app.post_json(
            "/api/v1/routes",
            &json!({"depot_id": depot["id"], "date": DAY, "driver_id": other["user_id"], "shipments": [left]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(route["stops"][0]["tracking_number"], left);
    let path = format!("/api/v1/routes/{}", route["id"].as_str().unwrap());
    let sequenced = expect_json(app.post_json(&format!("{path}/sequence"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(sequenced["stops"].as_array().unwrap().len(), 1);
    assert_eq!(sequenced["changes"][0]["change"], "sequenced by the planner");

    // Bad input is named, and nothing is stored.
    let problem = expect_problem(
        app.post_json(
            &format!("/api/v1/depots/{}/zones", depot["id"].as_str().unwrap()),
            &json!({"name": "Bad", "area": {"type": "Point", "coordinates": [139.7, 35.6]}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_value",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "area");
    let zones =
        expect_json(app.get(&format!("/api/v1/depots/{}/zones", depot["id"].as_str().unwrap())).await, StatusCode::OK)
            .await;
    assert_eq!(zones.as_array().unwrap().len(), 1);
}
