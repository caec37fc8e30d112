//! A customer chooses at checkout how to receive; the merchant passes it on; staff and the driver's
//! rules follow from it.

use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::{TestApp, expect_json, expect_problem, shipment_request};

fn documented_preferences() -> Value {
    json!({"method": {"kind": "safe_place", "place": "delivery_box"},
           "window": {"date": "2026-11-24", "start": "18:00", "end": "20:00"},
           "instructions": "宅配ボックスは1階エントランス左", "access_code": "2580#",
           "language": "ja", "email_notices": true})
}

#[tokio::test]
async fn preferences_chosen_at_checkout_travel_with_the_shipment() {
    let app = TestApp::spawn().await;
    let key = app.api_key("shop-a").await;
    let mut body = shipment_request();
    body["preferences"] = documented_preferences();
    body["flags"] = json!({"signature_required": true});
    let created =
        expect_json(app.post_json_as("/api/v1/shipments", &body, Some(&key)).await, StatusCode::CREATED).await;

    // The merchant sees what it sent, but not the customer's door code.
    assert_eq!(created["preferences"]["method"], json!({"kind": "safe_place", "place": "delivery_box"}));
    assert_eq!(created["preferences"]["window"], json!({"date": "2026-11-24", "start": "18:00", "end": "20:00"}));
    assert_eq!(created["preferences"]["access_code"], "••••");
    assert_eq!(created["pod_requirements"], json!(["signature", "photo"]));

    // Staff see everything.
    let staff =
        expect_json(app.get(&format!("/api/v1/shipments/{}", created["id"].as_str().unwrap())).await, StatusCode::OK)
            .await;
    assert_eq!(staff["preferences"], documented_preferences());
    assert_eq!(staff["flags"], json!({"signature_required": true, "age_check": false}));

    // Sending the same order again is the same shipment; without preferences it is hand-over.
    assert_eq!(app.post_json_as("/api/v1/shipments", &body, Some(&key)).await.status(), StatusCode::OK);
    let plain = app.create_shipment(&shipment_request()).await;
    assert_eq!(plain["preferences"]["method"], json!({"kind": "hand_to_recipient"}));
    assert_eq!(plain["pod_requirements"], json!(["signature", "recipient_name"]));
}

#[tokio::test]
async fn impossible_choices_are_named_clearly() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"method": {"kind": "safe_place", "place": "front_door"}}),
            json!({"age_check": true}),
            "preferences.method",
            "method_not_allowed",
        ),
        (
            json!({"method": {"kind": "neighbour", "name": "佐藤", "door": "302"}}),
            json!({"declared_value_jpy": 120000}),
            "preferences.method",
            "method_not_allowed",
        ),
        (
            json!({"method": {"kind": "pickup_point", "point_id": "nowhere"}}),
            json!({}),
            "preferences.method.point_id",
            "unknown_pickup_point",
        ),
        (
            json!({"method": {"kind": "hand_to_recipient"}, "window": {"date": "2026-11-24", "start": "13:00", "end": "15:00"}}),
            json!({}),
            "preferences.window",
            "not_a_slot",
        ),
        (
            json!({"method": {"kind": "hand_to_recipient"}, "window": {"date": "2027-01-24", "start": "14:00", "end": "16:00"}}),
            json!({}),
            "preferences.window",
            "date_out_of_range",
        ),
        (
            json!({"method": {"kind": "hand_to_recipient"}, "instructions": "長".repeat(201)}),
            json!({}),
            "preferences.instructions",
            "too_long",
        ),
    ];
    for (preferences, flags, field, code) in cases {
        let mut body = shipment_request();
        body["preferences"] = preferences;
        body["flags"] = flags;
        let problem = expect_problem(
            app.post_json("/api/v1/shipments", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
    }
    let mut unknown_method = shipment_request();
    unknown_method["preferences"] = json!({"method": {"kind": "drone"}});
    let problem = expect_problem(
        app.post_json("/api/v1/shipments", &unknown_method).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "preferences.method.kind");
    let list = expect_json(app.get("/api/v1/shipments").await, StatusCode::OK).await;
    assert!(list["items"].as_array().unwrap().is_empty(), "nothing stored");
}
