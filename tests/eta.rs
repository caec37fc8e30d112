//! A day on the road, replayed through the real API: 30 customers in Tokyo, the driver's phone sending
//! its points, arrivals and proofs as they happen. When a jam makes some customers late, each of them
//! hears it once, before their window ends, with a new window that holds; nobody else hears anything,
//! and a day that only wobbles sends nothing at all.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use todoke_e2e::simulation::{JAM_STOP, SimDay, tokyo_day, tokyo_time};
use todoke_e2e::warehouse::{DAY, depot_with_zone, driver, receive};
use todoke_e2e::{ADMIN_PASSWORD, TestApp, expect_json, login, order_ref, shipment_request, tracking_number};
use todoke_server::Settings;
use todoke_server::clock::ManualClock;
use todoke_server::eta::worker::recompute_pending;
use todoke_server::store::Backend;
use uuid::Uuid;

/// The route of the simulated day, dispatched, with what the test needs to drive it.
struct Road {
    depot: Value,
    shipments: Vec<Value>,
    stops: Vec<String>,
    token: String,
}

/// What the customers were told while the day was replayed.
#[derive(Debug, Default)]
struct Told {
    /// Per stop (0-based): each delay notice's window, with the simulated moment it was first queued.
    delays: HashMap<usize, Vec<(DateTime<Utc>, Value)>>,
}

/// The warehouse sets up the day: one shipment per stop, promised its window, on one route in the
/// simulated order, dispatched.
async fn set_up(app: &TestApp, day: &SimDay) -> Road {
    let (depot, _zone) = depot_with_zone(app).await;
    let sato = driver(app, &depot, 40).await;
    let mut shipments = Vec::new();
    let mut barcodes = Vec::new();
    for stop in &day.stops {
        let mut request = shipment_request();
        let barcode = format!("JP{}", order_ref());
        request["address"]["lat"] = json!(stop.location.lat);
        request["address"]["lon"] = json!(stop.location.lon);
        request["promised"] = json!({"date": day.date, "window": {
            "start": tokyo_time(stop.window_start), "end": tokyo_time(stop.window_end)}});
        request["parcels"] = json!([{"barcode": barcode, "weight_g": 800}]);
        shipments.push(app.create_shipment(&request).await);
        barcodes.push(barcode);
    }
    let codes: Vec<&str> = barcodes.iter().map(String::as_str).collect();
    receive(app, &depot, &codes).await;
    let numbers: Vec<&str> = shipments.iter().map(tracking_number).collect();
    let body = json!({"depot_id": depot["id"], "date": day.date, "driver_id": sato["user_id"], "shipments": numbers});
    let route = expect_json(app.post_json("/api/v1/routes", &body).await, StatusCode::CREATED).await;
    // The server plans the day exactly as the simulation does.
    for (stop, planned) in route["stops"].as_array().unwrap().iter().zip(&day.stops) {
        let at: DateTime<Utc> = stop["planned_arrival"].as_str().unwrap().parse().unwrap();
        assert!((at - planned.planned_arrival).num_seconds().abs() <= 1, "{stop} against {planned:?}");
    }
    let route_id = route["id"].as_str().unwrap();
    expect_json(app.post_json(&format!("/api/v1/routes/{route_id}/dispatch"), &json!({})).await, StatusCode::OK).await;
    let email = sato["email"].as_str().unwrap();
    let token =
        login(&app.client, &app.base, email, ADMIN_PASSWORD).await["access_token"].as_str().unwrap().to_string();
    let stops = route["stops"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
    Road { depot, shipments, stops, token }
}

/// One thing the phone sends, at its moment.
enum Happening {
    Arrive(usize),
    Deliver(usize),
    /// The last customer is not home.
    Fail(usize),
}

/// Replays the day minute by minute: the minute's points, then the minute's stop actions, then the
/// recompute the worker would make (the test plays its timer), then what customers were told.
async fn replay(
    app: &TestApp,
    clock: &ManualClock,
    day: &SimDay,
    road: &Road,
    mut at_minute: impl AsyncFnMut(DateTime<Utc>),
) -> Told {
    let mut happenings: Vec<(DateTime<Utc>, Happening)> = Vec::new();
    for (i, stop) in day.stops.iter().enumerate() {
        happenings.push((stop.arrival, Happening::Arrive(i)));
        let last = i + 1 == day.stops.len();
        happenings.push((stop.departure, if last { Happening::Fail(i) } else { Happening::Deliver(i) }));
    }
    let end = day.stops.last().unwrap().departure + Duration::minutes(1);
    let mut told = Told::default();
    let (mut points, mut happened) = (day.points.iter().peekable(), happenings.iter().peekable());
    let mut minute = day.shift_start;
    while minute <= end {
        clock.set(minute);
        let batch: Vec<Value> = std::iter::from_fn(|| points.next_if(|p| p.at <= minute))
            .map(|p| json!({"at": p.at, "lat": p.location.lat, "lon": p.location.lon, "accuracy_m": 8.0}))
            .collect();
        if !batch.is_empty() {
            let response =
                app.post_json_as("/api/v1/driver/locations", &json!({"points": batch}), Some(&road.token)).await;
            expect_json(response, StatusCode::OK).await;
        }
        while let Some((at, happening)) = happened.next_if(|(at, _)| *at <= minute) {
            act(app, road, day, *at, happening).await;
        }
        recompute_pending(&app.state.estimator).await;
        for (i, shipment) in road.shipments.iter().enumerate() {
            let id = Uuid::parse_str(shipment["id"].as_str().unwrap()).unwrap();
            let delays: Vec<Value> = app
                .state
                .outbox
                .notices
                .notices(id)
                .await
                .unwrap()
                .into_iter()
                .filter(|n| n.kind == "delayed")
                .map(|n| serde_json::from_str(&n.payload).unwrap())
                .collect();
            let seen = told.delays.entry(i).or_default();
            for delay in delays.into_iter().skip(seen.len()) {
                seen.push((minute, delay));
            }
        }
        at_minute(minute).await;
        minute += Duration::minutes(1);
    }
    told
}

async fn act(app: &TestApp, road: &Road, day: &SimDay, at: DateTime<Utc>, happening: &Happening) {
    let (i, verb) = match happening {
        Happening::Arrive(i) => (*i, "arrive"),
        Happening::Deliver(i) => (*i, "deliver"),
        Happening::Fail(i) => (*i, "fail"),
    };
    let door = day.stops[i].location;
    // The fifth customer's parcel is handed over from across the street and then some: flagged.
    let off = if i == 4 && verb == "deliver" { 0.003 } else { 0.00003 };
    let location = json!({"lat": door.lat + off, "lon": door.lon, "accuracy_m": 8.0});
    let request = app
        .client
        .post(app.url(&format!("/api/v1/driver/stops/{}/{verb}", road.stops[i])))
        .bearer_auth(&road.token)
        .header("idempotency-key", format!("{verb}-{i}"));
    let request = match verb {
        "arrive" => request.json(&json!({"captured_at": at, "location": location})),
        "deliver" => {
            let report = json!({"captured_at": at, "location": location, "method": {"kind": "hand_to_recipient"},
                                "recipient_name": "山田 花子"});
            let strokes =
                json!({"width": 600, "height": 200, "strokes": [[[20.0, 150.0], [120.0, 40.0], [220.0, 160.0]]]});
            request.multipart(
                Form::new()
                    .part("report", Part::text(report.to_string()).mime_str("application/json").unwrap())
                    .part("signature", Part::bytes(serde_json::to_vec(&strokes).unwrap()).file_name("signature")),
            )
        }
        _ => {
            let report = json!({"captured_at": at, "location": location, "reason": "recipient_not_home"});
            request.multipart(
                Form::new().part("report", Part::text(report.to_string()).mime_str("application/json").unwrap()),
            )
        }
    };
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{verb} at stop {}: {}", i + 1, response.text().await.unwrap());
}

/// A notice's window on the day, as moments.
fn window(day: &SimDay, delay: &Value) -> (DateTime<Utc>, DateTime<Utc>) {
    let moment = |field: &str| {
        let time = NaiveTime::parse_from_str(delay[field].as_str().unwrap(), "%H:%M").unwrap();
        day.date.and_time(time).and_local_timezone(chrono_tz::Asia::Tokyo).unwrap().with_timezone(&Utc)
    };
    assert_eq!(delay["date"], json!(day.date));
    (moment("start"), moment("end"))
}

/// The day replayed: a Tuesday in Tokyo, whatever the date and hour the test runs at.
fn replayed(jam_minutes: i64) -> SimDay {
    tokyo_day(DAY.parse().expect("a date"), jam_minutes)
}

/// The server on the test's own clock, an hour before the day's shift, when the warehouse sets it up.
async fn spawn_on(day: &SimDay, adjust: impl Fn(&mut Settings) + Send + Sync + 'static) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at(day.shift_start - Duration::hours(1)));
    let app = TestApp::spawn_at(clock.clone(), move |settings| {
        // Logins made in the morning last the whole replayed day.
        settings.access_token_minutes = 24 * 60;
        adjust(settings);
    })
    .await;
    (app, clock)
}

fn spawn_settings(settings: &mut Settings) {
    // The test plays the worker's timer itself, after each simulated minute.
    settings.eta_coalesce_millis = 600_000;
}

#[tokio::test]
async fn a_jam_tells_exactly_the_customers_it_makes_late_in_time_and_nobody_else() {
    let day = replayed(45);
    let (app, clock) = spawn_on(&day, spawn_settings).await;
    let road = set_up(&app, &day).await;
    let late: Vec<usize> = (0..day.stops.len()).filter(|&i| day.stops[i].arrival > day.stops[i].window_end).collect();
    assert!(late.len() >= 5, "the jam makes several customers late: {late:?}");
    assert!(late.iter().all(|&i| i + 1 >= JAM_STOP));

    let mut checked_mid_jam = false;
    let jam_stop = &day.stops[JAM_STOP - 1];
    let mid_jam = jam_stop.arrival - Duration::minutes(10);
    let told = replay(&app, &clock, &day, &road, async |minute| {
        if checked_mid_jam || minute < mid_jam {
            return;
        }
        checked_mid_jam = true;
        the_customers_and_staff_see_the_jam(&app, &day, &road).await;
    })
    .await;
    assert!(checked_mid_jam);

    for (i, stop) in day.stops.iter().enumerate() {
        let delays = told.delays.get(&i).cloned().unwrap_or_default();
        if late.contains(&i) {
            assert_eq!(delays.len(), 1, "stop {} was late and hears it once: {delays:?}", i + 1);
            let (queued, delay) = &delays[0];
            assert!(*queued < stop.window_end, "stop {}: told at {queued}, window ended {}", i + 1, stop.window_end);
            let (start, end) = window(&day, delay);
            assert!(
                start <= stop.arrival && stop.arrival <= end,
                "stop {}: arrived {} outside {delay}",
                i + 1,
                stop.arrival
            );
        } else {
            assert!(delays.is_empty(), "stop {} was on time and hears nothing: {delays:?}", i + 1);
        }
    }

    // At the end of the day nothing is late any more; the failed attempt and the flagged proof remain.
    let exceptions = exceptions(&app, &road, &day).await;
    assert_eq!(exceptions["late_stops"], json!([]));
    let failed = exceptions["failed_attempts"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["tracking_number"], road.shipments[29]["tracking_number"]);
    assert_eq!(failed[0]["reason"], "recipient_not_home");
    let flagged = exceptions["flagged_proofs"].as_array().unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["tracking_number"], road.shipments[4]["tracking_number"]);
}

async fn exceptions(app: &TestApp, road: &Road, day: &SimDay) -> Value {
    let path = format!("/api/v1/exceptions?depot={}&date={}", road.depot["id"].as_str().unwrap(), day.date);
    expect_json(app.get(&path).await, StatusCode::OK).await
}

/// Ten minutes before the jam lets go: what the customers' pages and the staff's exceptions show.
async fn the_customers_and_staff_see_the_jam(app: &TestApp, day: &SimDay, road: &Road) {
    let next = JAM_STOP - 1;
    let later = JAM_STOP + 4;
    // Anyone with the number sees the window and the stops before; nobody sees the driver or the address.
    let public = expect_json(
        app.public_get(&format!("/api/v1/track/{}", tracking_number(&road.shipments[later]))).await,
        StatusCode::OK,
    )
    .await;
    let eta = &public["eta"];
    assert_eq!(eta["stops_before"], later - next, "{public}");
    assert!(eta.get("driver_near").is_none() && public.get("details").is_none(), "{public}");
    let from: DateTime<Utc> = eta["expected_from"].as_str().unwrap().parse().unwrap();
    let until: DateTime<Utc> = eta["expected_until"].as_str().unwrap().parse().unwrap();
    let truth = day.stops[later].arrival;
    assert!(from > day.stops[later].planned_arrival + Duration::minutes(20), "the page moved with the jam: {eta}");
    assert!(until - from == Duration::minutes(30) && from <= truth + Duration::minutes(15), "{eta} against {truth}");

    // The next customer, on their own link, sees roughly where the driver is; the one after does not.
    let link = |i: usize| {
        let id = Uuid::parse_str(road.shipments[i]["id"].as_str().unwrap()).unwrap();
        format!(
            "/api/v1/track/{}?k={}",
            tracking_number(&road.shipments[i]),
            app.state.authenticator.keys.customer_link(id)
        )
    };
    let own = expect_json(app.public_get(&link(next)).await, StatusCode::OK).await;
    assert_eq!(own["eta"]["stops_before"], 0);
    let near = &own["eta"]["driver_near"];
    let stuck = day.points.iter().rev().find(|p| p.at <= day.stops[next].arrival - Duration::minutes(10)).unwrap();
    assert!((near["lat"].as_f64().unwrap() - stuck.location.lat).abs() < 0.005, "{near}");
    assert!((near["lon"].as_f64().unwrap() - stuck.location.lon).abs() < 0.006, "{near}");
    let after = expect_json(app.public_get(&link(next + 1)).await, StatusCode::OK).await;
    assert!(after["eta"].get("driver_near").is_none(), "{after}");

    // The page says it in the customer's language.
    let page = app.public_get(&format!("/t/{}", tracking_number(&road.shipments[later]))).await.text().await.unwrap();
    assert!(page.contains(&format!("あなたのお届けまであと{}件", later - next)), "{page}");

    // Staff see the same late stops the customers are told about.
    let exceptions = exceptions(app, road, day).await;
    let late: Vec<&Value> = exceptions["late_stops"].as_array().unwrap().iter().collect();
    assert!(!late.is_empty(), "{exceptions}");
    for stop in &late {
        let i = road.shipments.iter().position(|s| s["tracking_number"] == stop["tracking_number"]).unwrap();
        assert!(i + 1 >= JAM_STOP && day.stops[i].arrival > day.stops[i].window_end, "{stop}");
        assert!(stop["told_end"].is_string(), "a late customer has been told: {stop}");
    }
}

#[tokio::test]
async fn a_day_that_only_wobbles_sends_no_delay_notice() {
    let day = replayed(5);
    let (app, clock) = spawn_on(&day, spawn_settings).await;
    let road = set_up(&app, &day).await;
    assert!(day.stops.iter().all(|s| s.arrival <= s.window_end));
    let told = replay(&app, &clock, &day, &road, async |_| {}).await;
    let sent: Vec<_> = told.delays.iter().filter(|(_, d)| !d.is_empty()).collect();
    assert!(sent.is_empty(), "{sent:?}");
}

#[tokio::test]
async fn the_worker_keeps_the_estimate_current_by_itself() {
    let day = replayed(0);
    let (app, clock) = spawn_on(&day, |settings| settings.eta_coalesce_millis = 50).await;
    the_phones_first_points_move_the_customers_estimate(&app, &app, &clock, &day).await;
}

/// Several servers on one PostgreSQL: the estimate one server makes from the phone's points reaches the
/// customers another serves, though that one already had the plan's estimate in memory.
#[tokio::test]
async fn servers_sharing_postgresql_show_the_customer_the_same_estimate() {
    let day = replayed(0);
    let (app, clock) = spawn_on(&day, |settings| settings.eta_coalesce_millis = 50).await;
    if app.backend() != Backend::Postgres {
        return;
    }
    let other = app.sibling().await.unwrap();
    the_phones_first_points_move_the_customers_estimate(&app, &other, &clock, &day).await;
}

/// The customer reads on `reader` while the phone's points reach `receiver`.
async fn the_phones_first_points_move_the_customers_estimate(
    reader: &TestApp,
    receiver: &TestApp,
    clock: &ManualClock,
    day: &SimDay,
) {
    let road = set_up(reader, day).await;
    let number = tracking_number(&road.shipments[2]);
    // Dispatched: the plan stands, and the customer sees where they are in the day.
    let eta = wait_for_eta(reader, number, |eta| eta["stops_before"] == 2).await;
    assert!(eta.get("updated_at").is_none_or(Value::is_null), "{eta}");
    // The phone's first points: the estimate now starts from the driver.
    let points: Vec<Value> =
        day.points[..4].iter().map(|p| json!({"at": p.at, "lat": p.location.lat, "lon": p.location.lon})).collect();
    clock.set(day.points[3].at);
    let response =
        receiver.post_json_as("/api/v1/driver/locations", &json!({"points": points}), Some(&road.token)).await;
    expect_json(response, StatusCode::OK).await;
    let eta = wait_for_eta(reader, number, |eta| eta["updated_at"].is_string()).await;
    let updated: DateTime<Utc> = eta["updated_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(updated, day.points[3].at);
}

async fn wait_for_eta(app: &TestApp, number: &str, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let view = expect_json(app.public_get(&format!("/api/v1/track/{number}")).await, StatusCode::OK).await;
        if ready(&view["eta"]) {
            return view["eta"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the estimate did not come");
}

/// Staff's late list holds open stops only: a stop the driver has closed leaves it at once, before the
/// next estimate is made.
#[tokio::test]
async fn a_stop_that_closed_is_never_listed_as_late() {
    let day = todoke_e2e::warehouse::DAY;
    // The evening of the day, on the server's clock too: routes of long ago are never estimated.
    let evening: DateTime<Utc> = format!("{day}T21:00:00+09:00").parse().unwrap();
    let clock = Arc::new(ManualClock::at(evening));
    let app = TestApp::spawn_at(clock.clone(), |settings| {
        // The driver's login lasts past the half hour the clock moves on.
        settings.access_token_minutes = 24 * 60;
        spawn_settings(settings);
    })
    .await;
    let hand_over = json!({"method": {"kind": "hand_to_recipient"}});
    let (sato, _shipments, _) = todoke_e2e::warehouse::dispatched_day(&app, &[hand_over.clone(), hand_over]).await;
    let token = login(&app.client, &app.base, sato["email"].as_str().unwrap(), ADMIN_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let manifest =
        expect_json(app.get_as(&format!("/api/v1/driver/manifest?date={day}"), Some(&token)).await, StatusCode::OK)
            .await;
    let route = &manifest["routes"][0];
    let exceptions = async || {
        let path = format!("/api/v1/exceptions?depot={}&date={day}", route["depot_id"].as_str().unwrap());
        expect_json(app.get(&path).await, StatusCode::OK).await
    };

    // At nine in the evening the driver is still at the depot: both windows (08:00–20:00) are past.
    let points = json!({"points": [{"at": evening, "lat": 35.6717, "lon": 139.8333, "accuracy_m": 8.0}]});
    expect_json(app.post_json_as("/api/v1/driver/locations", &points, Some(&token)).await, StatusCode::OK).await;
    recompute_pending(&app.state.estimator).await;
    let late = exceptions().await;
    assert_eq!(late["late_stops"].as_array().unwrap().len(), 2, "{late}");

    // The first customer is not home. Nothing is estimated again yet, and the stop is no longer late.
    clock.advance(Duration::minutes(31));
    let stop = route["stops"][0].clone();
    let report = json!({"captured_at": format!("{day}T21:30:00+09:00"), "reason": "recipient_not_home",
                        "location": {"lat": stop["location"]["lat"], "lon": stop["location"]["lon"]}});
    let failed = app
        .client
        .post(app.url(&format!("/api/v1/driver/stops/{}/fail", stop["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .header("idempotency-key", "fail-1")
        .multipart(Form::new().part("report", Part::text(report.to_string()).mime_str("application/json").unwrap()))
        .send()
        .await
        .unwrap();
    assert!(failed.status().is_success(), "{}", failed.text().await.unwrap());
    let after = exceptions().await;
    let late: Vec<&Value> = after["late_stops"].as_array().unwrap().iter().collect();
    assert_eq!(late.len(), 1, "{after}");
    assert_eq!(late[0]["stop_id"], route["stops"][1]["id"]);
    assert_eq!(after["failed_attempts"][0]["stop_id"], stop["id"]);
}
