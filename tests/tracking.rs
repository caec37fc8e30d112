//! A customer tracks a parcel by its number: the API and the page, in their language, with nothing
//! personal shown to whoever holds the number.

use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::{TestApp, expect_json, expect_problem, shipment_request, tracking_number};
use todoke_shared::TrackingNumber;

#[tokio::test]
async fn a_customer_tracks_a_parcel_in_their_language() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    app.record(&shipment, json!({"status": "at_depot"})).await;
    let number = tracking_number(&shipment);

    let view = expect_json(app.public_get(&format!("/api/v1/track/{number}")).await, StatusCode::OK).await;
    assert_eq!(view["tracking_number"], number);
    assert_eq!(view["status"], "at_depot");
    assert_eq!(view["status_label"], "配達営業所に到着しました");
    assert_eq!(view["language"], "ja");
    assert_eq!(view["city"], "千代田区");
    assert_eq!(view["promised"]["window"], json!({"start": "14:00", "end": "16:00"}));
    assert_eq!(view["promised"]["window_starts_at"], "2026-11-24T14:00:00+09:00");
    assert_eq!(view["promised"]["window_ends_at"], "2026-11-24T16:00:00+09:00");
    let labels: Vec<&str> =
        view["events"].as_array().unwrap().iter().map(|e| e["status_label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["お荷物の情報を受け付けました", "配達営業所に到着しました"]);

    let english = expect_json(app.public_get(&format!("/api/v1/track/{number}?lang=en")).await, StatusCode::OK).await;
    assert_eq!(english["status_label"], "At the delivery depot");

    // What people type: lower case, spaces instead of hyphens.
    let typed = number.replace('-', " ").to_lowercase();
    let view = expect_json(app.public_get(&format!("/api/v1/track/{typed}")).await, StatusCode::OK).await;
    assert_eq!(view["tracking_number"], number);
}

#[tokio::test]
async fn a_tracking_number_typed_in_full_width_finds_the_parcel_on_the_api_and_the_page() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let number = tracking_number(&shipment);
    // As a Japanese input method writes it: ＢＪＧＰ－ＶＭＧＢ－…, with whatever dash or space was at hand.
    let full_width =
        |dash: &str| -> String {
            number
                .chars()
                .map(|c| {
                    if c == '-' { dash.to_string() } else { char::from_u32(u32::from(c) + 0xFEE0).unwrap().to_string() }
                })
                .collect()
        };
    for typed in [
        full_width("－"),
        full_width("ー"),
        full_width("−"),
        full_width("‐"),
        full_width("　"),
        full_width("").to_lowercase(),
    ] {
        let view = expect_json(app.public_get(&format!("/api/v1/track/{typed}")).await, StatusCode::OK).await;
        assert_eq!(view["tracking_number"], number, "{typed}");
        let page = app.public_get(&format!("/t/{typed}")).await;
        assert_eq!(page.status(), StatusCode::OK, "{typed}");
        assert!(page.text().await.unwrap().contains(number), "{typed}");
    }

    // A character that is not in any tracking number is named as it was typed.
    let mut typo: Vec<char> = full_width("－").chars().collect();
    typo[0] = '＃';
    let typo: String = typo.into_iter().collect();
    let problem = expect_problem(
        app.public_get(&format!("/api/v1/track/{typo}")).await,
        StatusCode::BAD_REQUEST,
        "tracking_number_invalid_character",
    )
    .await;
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("'＃'"), "{problem}");
}

#[tokio::test]
async fn a_mistyped_tracking_number_is_caught_before_looking_it_up() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let number = tracking_number(&shipment);

    let typo = mistype(number);
    let problem = expect_problem(
        app.public_get(&format!("/api/v1/track/{typo}")).await,
        StatusCode::BAD_REQUEST,
        "tracking_number_check_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "tracking_number");
    expect_problem(
        app.public_get("/api/v1/track/K7QM-2XD9").await,
        StatusCode::BAD_REQUEST,
        "tracking_number_wrong_length",
    )
    .await;
    expect_problem(
        app.public_get("/api/v1/track/K7QM-2XD9-HFAR-4TW%3C").await,
        StatusCode::BAD_REQUEST,
        "tracking_number_invalid_character",
    )
    .await;

    // Well formed, but nobody's parcel.
    let unknown = TrackingNumber::from_random_bits(42);
    expect_problem(
        app.public_get(&format!("/api/v1/track/{unknown}")).await,
        StatusCode::NOT_FOUND,
        "tracking_number_unknown",
    )
    .await;

    // The page says the same, as a page.
    let page = app.public_get(&format!("/t/{typo}")).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("お問い合わせ番号に誤りがあるようです"));
    let page = app.public_get(&format!("/t/{unknown}?lang=en")).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.text().await.unwrap().contains("Parcel not found"));
}

/// Changes one symbol, as a slip of the finger would.
fn mistype(number: &str) -> String {
    let mut symbols: Vec<char> = number.chars().collect();
    symbols[5] = if symbols[5] == 'X' { 'Y' } else { 'X' };
    symbols.into_iter().collect()
}

#[tokio::test]
async fn the_public_view_shows_nothing_personal() {
    let app = TestApp::spawn().await;
    let mut body = shipment_request();
    body["recipient"] = json!({"name": "Secretname Person", "email": "private.person@example.jp",
                               "phone": "+81 90-9876-5432", "language": "en"});
    body["address"]["lines"] = json!(["7-7-7 Hiddenstreet", "Room 4242"]);
    body["address"]["postal_code"] = json!("150-0042");
    body["address"]["lat"] = json!(35.123456);
    body["address"]["lon"] = json!(139.654321);
    let shipment = app.create_shipment(&body).await;
    app.record(
        &shipment,
        json!({"status": "exception", "reason": "damaged",
                                 "note": "Staffnote: box crushed", "location": {"lat": 35.777777, "lon": 139.888888}}),
    )
    .await;
    let number = tracking_number(&shipment);

    let api = app.public_get(&format!("/api/v1/track/{number}")).await.text().await.unwrap();
    let page = app.public_get(&format!("/t/{number}")).await.text().await.unwrap();
    let secrets = [
        "Secretname",
        "private.person",
        "9876",
        "Hiddenstreet",
        "4242",
        "150-0042",
        "35.12",
        "139.65",
        "Staffnote",
        "35.77",
        "139.88",
        "admin@",
        shipment["id"].as_str().unwrap(),
        shipment["external_ref"].as_str().unwrap(),
    ];
    for secret in secrets {
        assert!(!api.contains(secret), "the tracking API shows {secret:?}: {api}");
        assert!(!page.contains(secret), "the tracking page shows {secret:?}");
    }
    // What the customer does see: the status, why, and the city.
    let view: Value = serde_json::from_str(&api).unwrap();
    assert_eq!(view["status_label"], "Delivery exception");
    assert_eq!(view["events"][1]["reason_label"], "The parcel is damaged");
    assert!(page.contains("The parcel is damaged") && page.contains("千代田区"));
}

#[tokio::test]
async fn the_tracking_page_is_made_for_a_phone() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    app.record(&shipment, json!({"status": "at_depot"})).await;
    let number = tracking_number(&shipment);

    let response = app.public_get(&format!("/t/{number}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<html lang="ja">"#));
    assert!(html.contains(r#"name="viewport""#));
    assert!(html.contains("配達営業所に到着しました"));
    assert!(html.contains("2026年11月24日(火) 14:00–16:00"), "the promised window, in Japanese");
    assert!(html.contains(r#"href="?lang=en""#), "a switch to English");
    // Nothing to load from elsewhere, and no script to run.
    for external in ["src=", "<link", "@import", "url("] {
        assert!(!html.contains(external), "the page loads something: {external}");
    }
    assert_eq!(html.matches("<script").count(), 1, "only the JSON-LD block");

    let json_ld = between(&html, r#"<script type="application/ld+json">"#, "</script>");
    let json_ld: Value = serde_json::from_str(json_ld).expect("valid JSON-LD");
    assert_eq!(json_ld["@type"], "ParcelDelivery");
    assert_eq!(json_ld["trackingNumber"], number);
    assert_eq!(
        json_ld["trackingUrl"],
        format!("{}/t/{number}", app.base),
        "the public link, without the customer's key"
    );
    assert_eq!(json_ld["expectedArrivalFrom"], "2026-11-24T14:00:00+09:00");
    assert_eq!(json_ld["deliveryAddress"]["addressLocality"], "千代田区");

    let english = app.public_get(&format!("/t/{number}?lang=en")).await.text().await.unwrap();
    assert!(english.contains(r#"<html lang="en">"#));
    assert!(english.contains("At the delivery depot"));
    assert!(english.contains("Tue 24 Nov 2026 14:00–16:00"));
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).expect("start marker") + start.len();
    let to = text[from..].find(end).expect("end marker") + from;
    &text[from..to]
}

#[tokio::test]
async fn hostile_text_cannot_break_out_of_the_page() {
    let app = TestApp::spawn().await;
    let mut body = shipment_request();
    let city = r#"</script><script>alert("x")</script><b onmouseover=alert(1)>&amp;"#;
    body["address"]["city"] = json!(city);
    let shipment = app.create_shipment(&body).await;

    let html = app.public_get(&format!("/t/{}", tracking_number(&shipment))).await.text().await.unwrap();
    assert!(!html.contains("<script>alert"), "script injected");
    assert!(!html.contains("<b onmouseover"), "markup injected");
    assert_eq!(html.matches("<script").count(), 1, "only the JSON-LD block");
    let json_ld = between(&html, r#"<script type="application/ld+json">"#, "</script>");
    let json_ld: Value = serde_json::from_str(json_ld).expect("JSON-LD still parses");
    assert_eq!(json_ld["deliveryAddress"]["addressLocality"], city, "and says exactly what was stored");
}

#[tokio::test]
async fn tracking_from_one_address_is_rate_limited() {
    let app = TestApp::spawn_with(|settings| settings.track_rate_per_minute = 30).await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let path = format!("/api/v1/track/{}", tracking_number(&shipment));
    let mut limited = None;
    for _ in 0..40 {
        let response = app.public_get(&path).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = limited.expect("the limit kicks in");
    let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // The page is limited too.
    assert_eq!(
        app.public_get(&format!("/t/{}", tracking_number(&shipment))).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}
