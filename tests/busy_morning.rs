//! A busy morning on one server: eight drivers deliver with real photos while their phones post
//! positions, the shop keeps sending orders and customers change how they want to receive. Nobody
//! gets a server error, and everything the server said it kept is there afterwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use todoke_e2e::warehouse::{self, DAY};
use todoke_e2e::{ADMIN_PASSWORD, TestApp, expect_json, login, shipment_request, tracking_number};
use tokio::sync::Mutex;

const DRIVERS: usize = 8;
const STOPS_PER_DRIVER: usize = 10;
const MORNING: Duration = Duration::from_secs(20);
/// Phone photos of several sizes and orientations, as drivers take them.
const PHOTOS: [&str; 4] = ["iphone_hdr_NO.jpg", "jolla.jpg", "Portrait_6.jpg", "DSCN0010.jpg"];

/// What the server acknowledged, to look for afterwards, and every answer that was not a success.
#[derive(Default)]
struct Ledger {
    delivered: Vec<String>,
    created: Vec<Value>,
    /// The instructions each shipment was last told it has.
    instructions: HashMap<String, String>,
    points: u64,
    unexpected: Vec<String>,
    answers: HashMap<&'static str, u64>,
}

impl Ledger {
    /// Counts the answer; an unexpected status is kept with its body.
    async fn check(
        ledger: &Mutex<Ledger>,
        kind: &'static str,
        response: Response,
        expected: StatusCode,
    ) -> Option<Value> {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let mut ledger = ledger.lock().await;
        *ledger.answers.entry(kind).or_default() += 1;
        if status != expected {
            ledger.unexpected.push(format!("{kind}: {status} {text}"));
            return None;
        }
        serde_json::from_str(&text).ok()
    }
}

struct DriverDay {
    token: String,
    /// Each stop with its shipment, in route order.
    stops: Vec<(String, Value)>,
}

async fn drivers_out_for_delivery(app: &TestApp) -> Vec<DriverDay> {
    let (depot, _zone) = warehouse::depot_with_zone(app).await;
    let mut drivers = Vec::new();
    for _ in 0..DRIVERS {
        drivers.push(warehouse::driver(app, &depot, STOPS_PER_DRIVER as u32).await);
    }
    let mut shipments = HashMap::new();
    let mut barcodes = Vec::new();
    for i in 0..DRIVERS * STOPS_PER_DRIVER {
        let (lat, lon) = (35.66 + 0.0025 * (i % 12) as f64, 139.74 + 0.004 * (i / 12) as f64);
        let (shipment, barcode) = warehouse::parcel(app, lat, lon, ("08:00", "20:00")).await;
        shipments.insert(shipment["id"].as_str().unwrap().to_string(), shipment);
        barcodes.push(barcode);
    }
    let codes: Vec<&str> = barcodes.iter().map(String::as_str).collect();
    warehouse::receive(app, &depot, &codes).await;
    let ids: Vec<&Value> = drivers.iter().map(|d| &d["user_id"]).collect();
    let body = json!({"depot_id": depot["id"], "date": DAY, "drivers": ids});
    let built = expect_json(app.post_json("/api/v1/routes/build", &body).await, StatusCode::CREATED).await;
    for route in built["routes"].as_array().unwrap() {
        let path = format!("/api/v1/routes/{}/dispatch", route["id"].as_str().unwrap());
        expect_json(app.post_json(&path, &json!({})).await, StatusCode::OK).await;
    }
    let mut days = Vec::new();
    for driver in &drivers {
        let token =
            login(&app.client, &app.base, driver["email"].as_str().unwrap(), ADMIN_PASSWORD).await["access_token"]
                .as_str()
                .unwrap()
                .to_string();
        let manifest = app.get_as(&format!("/api/v1/driver/manifest?date={DAY}"), Some(&token)).await;
        let manifest = expect_json(manifest, StatusCode::OK).await;
        let stops = manifest["routes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|route| route["stops"].as_array().unwrap().clone())
            .map(|stop| {
                let shipment = shipments[stop["shipment_id"].as_str().unwrap()].clone();
                (stop["id"].as_str().unwrap().to_string(), shipment)
            })
            .collect();
        days.push(DriverDay { token, stops });
    }
    days
}

fn at_door(shipment: &Value) -> Value {
    json!({"lat": shipment["address"]["lat"], "lon": shipment["address"]["lon"], "accuracy_m": 8.0})
}

/// Arrives at each stop and hands the parcel over with a signature and a photo, until the morning
/// ends or the route does.
async fn deliver_route(app: Arc<TestApp>, day: DriverDay, ledger: Arc<Mutex<Ledger>>, photos: Arc<Vec<Vec<u8>>>) {
    let started = Instant::now();
    let signature = json!({"width": 600, "height": 200, "strokes": [[[20.0, 150.0], [120.0, 40.0], [220.0, 160.0]]]});
    for (i, (stop, shipment)) in day.stops.iter().enumerate() {
        if started.elapsed() > MORNING {
            break;
        }
        let now = chrono::Utc::now().to_rfc3339();
        let arrival = app
            .client
            .post(app.url(&format!("/api/v1/driver/stops/{stop}/arrive")))
            .bearer_auth(&day.token)
            .header("idempotency-key", format!("arrive-{stop}"))
            .json(&json!({"captured_at": now, "location": at_door(shipment)}))
            .send()
            .await
            .unwrap();
        Ledger::check(&ledger, "arrive", arrival, StatusCode::OK).await;
        let report = json!({"captured_at": now, "location": at_door(shipment), "method": {"kind": "hand_to_recipient"},
                            "recipient_name": "山田 花子", "scanned": [shipment["parcels"][0]["barcode"]]});
        let form = Form::new()
            .part("report", Part::text(report.to_string()).mime_str("application/json").unwrap())
            .part("signature", Part::bytes(serde_json::to_vec(&signature).unwrap()).file_name("signature"))
            .part("photo", Part::bytes(photos[i % photos.len()].clone()).file_name("door.jpg"));
        let delivery = app
            .client
            .post(app.url(&format!("/api/v1/driver/stops/{stop}/deliver")))
            .bearer_auth(&day.token)
            .header("idempotency-key", format!("deliver-{stop}"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        if Ledger::check(&ledger, "deliver", delivery, StatusCode::CREATED).await.is_some() {
            ledger.lock().await.delivered.push(shipment["id"].as_str().unwrap().to_string());
        }
    }
}

/// The phone's positions, a batch of ten every half second, all morning.
async fn post_positions(app: Arc<TestApp>, token: String, ledger: Arc<Mutex<Ledger>>) {
    let started = Instant::now();
    // Each point at a time of its own: the server keeps one point per driver and instant.
    let first_fix = chrono::Utc::now() - chrono::Duration::seconds(30);
    let mut n = 0;
    while started.elapsed() < MORNING {
        let points: Vec<Value> = (0..10)
            .map(|_| {
                n += 1;
                let at = first_fix + chrono::Duration::milliseconds(10 * n);
                json!({"at": at, "lat": 35.67 + 0.00005 * n as f64, "lon": 139.76, "accuracy_m": 10.0})
            })
            .collect();
        let response = app.post_json_as("/api/v1/driver/locations", &json!({"points": points}), Some(&token)).await;
        if Ledger::check(&ledger, "locations", response, StatusCode::OK).await.is_some() {
            ledger.lock().await.points += 10;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The shop's orders keep coming; each new customer changes their mind about the note twice.
async fn shop_and_customers(app: Arc<TestApp>, key: String, ledger: Arc<Mutex<Ledger>>) {
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < MORNING {
        let response = app.post_json_as("/api/v1/shipments", &shipment_request(), Some(&key)).await;
        let Some(created) = Ledger::check(&ledger, "create", response, StatusCode::CREATED).await else { continue };
        ledger.lock().await.created.push(created.clone());
        let link = created["tracking_url"].as_str().unwrap();
        let k = link.split("?k=").nth(1).unwrap();
        let path = format!("/api/v1/track/{}/preferences?k={k}", tracking_number(&created));
        for note in ["置き配不可", "インターホンを押してください"] {
            n += 1;
            let instructions = format!("{note} ({n})");
            let body = json!({"method": {"kind": "hand_to_recipient"}, "instructions": instructions});
            let response = app.client.put(app.url(&path)).json(&body).send().await.unwrap();
            if Ledger::check(&ledger, "preferences", response, StatusCode::OK).await.is_some() {
                ledger.lock().await.instructions.insert(created["id"].as_str().unwrap().to_string(), instructions);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_busy_morning_answers_everyone_and_keeps_everything() {
    if !todoke_e2e::have_fixtures() {
        return;
    }
    let app = Arc::new(
        TestApp::spawn_with(|settings| {
            settings.track_rate_per_minute = 100_000;
            settings.planner_millis = 500;
        })
        .await,
    );
    let days = drivers_out_for_delivery(&app).await;
    let photos = Arc::new(PHOTOS.iter().map(|name| todoke_e2e::fixture(&format!("photos/{name}"))).collect::<Vec<_>>());
    let key = app.api_key("busy-shop").await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    let mut morning = tokio::task::JoinSet::new();
    for day in days {
        morning.spawn(post_positions(app.clone(), day.token.clone(), ledger.clone()));
        morning.spawn(deliver_route(app.clone(), day, ledger.clone(), photos.clone()));
    }
    for _ in 0..2 {
        morning.spawn(shop_and_customers(app.clone(), key.clone(), ledger.clone()));
    }
    morning.join_all().await;

    let ledger = ledger.lock().await;
    eprintln!("answers: {:?}; {} delivered", ledger.answers, ledger.delivered.len());
    assert!(ledger.unexpected.is_empty(), "{} unexpected answers: {:#?}", ledger.unexpected.len(), ledger.unexpected);
    assert!(!ledger.delivered.is_empty() && !ledger.created.is_empty() && !ledger.instructions.is_empty());

    // Everything acknowledged is there.
    for id in &ledger.delivered {
        let shipment = expect_json(app.get(&format!("/api/v1/shipments/{id}")).await, StatusCode::OK).await;
        assert_eq!(shipment["status"], "delivered", "{shipment}");
    }
    for created in &ledger.created {
        let found = app.public_get(&format!("/api/v1/track/{}", tracking_number(created))).await;
        expect_json(found, StatusCode::OK).await;
    }
    for (id, instructions) in &ledger.instructions {
        let shipment = expect_json(app.get(&format!("/api/v1/shipments/{id}")).await, StatusCode::OK).await;
        assert_eq!(&shipment["preferences"]["instructions"], instructions, "{shipment}");
    }
    let stored = app.stored_points().await;
    assert!(stored as u64 >= ledger.points, "{stored} points stored of {} acknowledged", ledger.points);
}
