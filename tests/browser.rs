//! A customer opens their tracking link on a phone, in a real browser with JavaScript off.

use serde_json::json;
use todoke_e2e::browser::Browser;
use todoke_e2e::{TestApp, shipment_request};

#[tokio::test]
async fn a_customer_opens_the_tracking_link_on_a_phone() {
    let Some(browser) = Browser::phone().await else { return };
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;

    browser.open(shipment["tracking_url"].as_str().unwrap()).await;
    assert_eq!(browser.attribute("html", "lang").await.as_deref(), Some("ja"));
    assert_eq!(browser.text("#status").await, "配達中です");
    assert_eq!(browser.text("#promised").await, "2026年11月24日(火) 14:00–16:00");
    assert_eq!(browser.text("#area").await, "千代田区");
    assert!(browser.text("#timeline li").await.contains("配達中です"), "the newest event comes first");

    // Nothing is wider than the phone's screen.
    let width = browser.window_width().await;
    for css in ["header", "main", "#timeline"] {
        let (x, element_width) = browser.rect(css).await;
        assert!(x >= 0.0 && x + element_width <= width + 0.5, "{css} overflows: {x}+{element_width} > {width}");
    }

    browser.follow("a[hreflang=en]").await;
    assert_eq!(browser.attribute("html", "lang").await.as_deref(), Some("en"));
    assert_eq!(browser.text("#status").await, "Out for delivery");
    assert_eq!(browser.text("#promised").await, "Tue 24 Nov 2026 14:00–16:00");
}

#[tokio::test]
async fn a_customer_switches_to_the_delivery_box_on_the_tracking_page() {
    let Some(browser) = Browser::phone_with_scripts().await else { return };
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;

    browser.open(shipment["tracking_url"].as_str().unwrap()).await;
    assert!(browser.is_selected("input[name=method][value=hand_to_recipient]").await);
    browser.click("input[name=method][value=safe_place]").await;
    browser.click("#place option[value=delivery_box]").await;
    browser.click("#window option[value='2026-11-24|18:00|20:00']").await;
    browser.click("#save").await;

    browser.wait_for("#notice").await;
    assert_eq!(browser.text("#notice").await, "変更を保存しました。");
    assert!(browser.is_selected("input[name=method][value=safe_place]").await);
    assert!(browser.is_selected("#place option[value=delivery_box]").await);
    assert!(browser.is_selected("#window option[value='2026-11-24|18:00|20:00']").await);
    // And the change is real: staff see it, with the customer as its author.
    let staff = app.get(&format!("/api/v1/shipments/{}", shipment["id"].as_str().unwrap())).await;
    let staff: serde_json::Value = staff.json().await.unwrap();
    assert_eq!(staff["preferences"]["method"], json!({"kind": "safe_place", "place": "delivery_box"}));
    assert_eq!(staff["preference_changes"][0]["actor"], "customer");
}
