//! Location ingest throughput: a driver's phone sending batches of 50 points, several phones at once,
//! against the real server on SQLite (or `TODOKE_TEST_DATABASE_URL`), in this process.
//!
//! `cargo run --release -p todoke-e2e --example ingest_locations -- [BATCHES] [CONCURRENT]`

use std::time::Instant;

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::json;
use todoke_e2e::{ADMIN_PASSWORD, TestApp, expect_json, login, order_ref};

const POINTS_PER_BATCH: usize = 50;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("a number"));
    let batches = args.next().unwrap_or(2000);
    let concurrent = args.next().unwrap_or(8);
    let app = TestApp::spawn().await;
    // One driver per concurrent phone: points of one driver are unique by time.
    let mut tokens = Vec::new();
    for _ in 0..concurrent {
        let email = format!("driver-{}@example.jp", order_ref().to_lowercase());
        let body = json!({"email": email, "password": ADMIN_PASSWORD, "role": "driver", "name": "Bench"});
        expect_json(app.post_json("/api/v1/users", &body).await, StatusCode::CREATED).await;
        tokens.push(
            login(&app.client, &app.base, &email, ADMIN_PASSWORD).await["access_token"].as_str().unwrap().to_string(),
        );
    }
    let start = Utc::now() - Duration::days(1);
    let began = Instant::now();
    let phones = tokens.into_iter().enumerate().map(|(phone, token)| {
        let (client, url) = (app.client.clone(), app.url("/api/v1/driver/locations"));
        tokio::spawn(async move {
            for batch in (phone..batches).step_by(concurrent) {
                let points: Vec<_> = (0..POINTS_PER_BATCH)
                    .map(|i| {
                        let at = start + Duration::milliseconds(((batch * POINTS_PER_BATCH + i) * 100) as i64);
                        json!({"at": at.to_rfc3339(), "lat": 35.68 + i as f64 * 1e-5, "lon": 139.76,
                               "accuracy_m": 5.0, "speed_mps": 8.0, "heading_deg": 90.0})
                    })
                    .collect();
                let response =
                    client.post(&url).bearer_auth(&token).json(&json!({"points": points})).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
            }
        })
    });
    for phone in phones.collect::<Vec<_>>() {
        phone.await.unwrap();
    }
    let seconds = began.elapsed().as_secs_f64();
    let points = batches * POINTS_PER_BATCH;
    println!(
        "{} on {}: {points} points in {batches} batches of {POINTS_PER_BATCH}, {concurrent} phones at once: {seconds:.2} s, {:.0} points/s",
        app.backend().name(),
        std::env::consts::ARCH,
        points as f64 / seconds
    );
}
