//! The warehouse's setup for stories that need routes: a depot with a zone, drivers, parcels for the
//! day, scanned in.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{ADMIN_PASSWORD, TestApp, expect_json, order_ref, shipment_request};

/// The day the stories plan.
pub const DAY: &str = "2026-11-24";

/// A depot in Koto with one zone over central Tokyo (Chiyoda, Chuo, Minato).
pub async fn depot_with_zone(app: &TestApp) -> (Value, Value) {
    let depot = expect_json(
        app.post_json(
            "/api/v1/depots",
            &json!({"name": format!("Koto {}", order_ref()), "address": "東京都江東区新砂3-4-31",
                    "location": {"lat": 35.6717, "lon": 139.8333}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let zone = json!({"name": "Central", "area": {"type": "Polygon", "coordinates": [[
        [139.73, 35.64], [139.80, 35.64], [139.80, 35.70], [139.73, 35.70], [139.73, 35.64]]]}});
    let path = format!("/api/v1/depots/{}/zones", depot["id"].as_str().unwrap());
    let zone = expect_json(app.post_json(&path, &zone).await, StatusCode::CREATED).await;
    (depot, zone)
}

pub async fn driver(app: &TestApp, depot: &Value, capacity: u32) -> Value {
    let email = format!("driver-{}@example.jp", order_ref().to_lowercase());
    let body = json!({"email": email, "password": ADMIN_PASSWORD, "role": "driver", "name": "佐藤 ドライバー"});
    let user = expect_json(app.post_json("/api/v1/users", &body).await, StatusCode::CREATED).await;
    let profile = json!({"depot_id": depot["id"], "capacity": capacity, "shift": {"start": "08:00", "end": "20:00"}});
    let path = format!("/api/v1/drivers/{}", user["id"].as_str().unwrap());
    let response = app.client.put(app.url(&path)).bearer_auth(&app.admin_token).json(&profile).send().await.unwrap();
    expect_json(response, StatusCode::OK).await
}

/// A shipment for the day near (lat, lon), wanting `window`, with its own barcode.
pub async fn parcel(app: &TestApp, lat: f64, lon: f64, window: (&str, &str)) -> (Value, String) {
    parcel_with_preferences(app, lat, lon, window, None).await
}

/// [`parcel`], with the customer's preferences from checkout.
pub async fn parcel_with_preferences(
    app: &TestApp,
    lat: f64,
    lon: f64,
    window: (&str, &str),
    preferences: Option<Value>,
) -> (Value, String) {
    let mut request = shipment_request();
    let barcode = format!("JP{}", order_ref());
    request["address"]["lat"] = json!(lat);
    request["address"]["lon"] = json!(lon);
    request["promised"] = json!({"date": DAY, "window": {"start": window.0, "end": window.1}});
    request["parcels"] = json!([{"barcode": barcode, "weight_g": 800}]);
    if let Some(preferences) = preferences {
        request["preferences"] = preferences;
    }
    (app.create_shipment(&request).await, barcode)
}

pub async fn receive(app: &TestApp, depot: &Value, barcodes: &[&str]) -> Value {
    let path = format!("/api/v1/depots/{}/receive", depot["id"].as_str().unwrap());
    expect_json(app.post_json(&path, &json!({"barcodes": barcodes})).await, StatusCode::OK).await
}

/// A driver's dispatched route of one parcel per preferences given (all day windows, a few hundred
/// metres apart near Tokyo Station): the driver, and the shipments with their barcodes in that order.
pub async fn dispatched_day(app: &TestApp, preferences: &[Value]) -> (Value, Vec<Value>, Vec<String>) {
    let (depot, _zone) = depot_with_zone(app).await;
    let sato = driver(app, &depot, 20).await;
    let mut shipments = Vec::new();
    let mut barcodes = Vec::new();
    for (i, choice) in preferences.iter().enumerate() {
        let lat = 35.6812 + 0.004 * i as f64;
        let (shipment, barcode) =
            parcel_with_preferences(app, lat, 139.7671, ("08:00", "20:00"), Some(choice.clone())).await;
        shipments.push(shipment);
        barcodes.push(barcode);
    }
    let codes: Vec<&str> = barcodes.iter().map(String::as_str).collect();
    receive(app, &depot, &codes).await;
    let body = json!({"depot_id": depot["id"], "date": DAY, "drivers": [sato["user_id"]]});
    let built = expect_json(app.post_json("/api/v1/routes/build", &body).await, StatusCode::CREATED).await;
    let route_id = built["routes"][0]["id"].as_str().unwrap();
    expect_json(app.post_json(&format!("/api/v1/routes/{route_id}/dispatch"), &json!({})).await, StatusCode::OK).await;
    (sato, shipments, barcodes)
}
