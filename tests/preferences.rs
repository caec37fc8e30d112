//! A customer chooses at checkout how to receive; the merchant passes it on; staff and the driver's
//! rules follow from it.

use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::{TestApp, expect_json, expect_problem, shipment_request, tracking_number};

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

fn link_of(shipment: &Value) -> String {
    shipment["tracking_url"].as_str().unwrap().split("?k=").nth(1).unwrap().to_string()
}

async fn put_preferences(app: &TestApp, shipment: &Value, preferences: &Value, k: Option<&str>) -> reqwest::Response {
    let number = shipment["tracking_number"].as_str().unwrap();
    let url = match k {
        Some(k) => app.url(&format!("/api/v1/track/{number}/preferences?k={k}")),
        None => app.url(&format!("/api/v1/track/{number}/preferences")),
    };
    let request = app.client.put(url).json(preferences);
    let request = if k.is_none() { request.bearer_auth(&app.admin_token) } else { request };
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_customer_changes_their_mind_until_the_cut_off() {
    let app = TestApp::spawn().await;
    let mut body = shipment_request();
    body["preferences"] = json!({"method": {"kind": "hand_to_recipient"}, "access_code": "2580#"});
    let shipment = app.create_shipment(&body).await;
    let k = link_of(&shipment);
    let number = shipment["tracking_number"].as_str().unwrap();

    // The customer reads their choice, with the door code masked, and what they may change.
    let current =
        expect_json(app.public_get(&format!("/api/v1/track/{number}/preferences?k={k}")).await, StatusCode::OK).await;
    assert_eq!(current["preferences"]["access_code"], "••••");
    assert_eq!(current["changeable"].as_array().unwrap().len(), 6);

    // Switch to the delivery box in the evening slot, keeping the door code by sending the mask back.
    let wanted = json!({"method": {"kind": "safe_place", "place": "delivery_box"},
                        "window": {"date": "2026-11-25", "start": "18:00", "end": "20:00"},
                        "instructions": "1階エントランス左", "access_code": "••••"});
    let changed = expect_json(put_preferences(&app, &shipment, &wanted, Some(&k)).await, StatusCode::OK).await;
    assert_eq!(changed["pod_requirements"], json!(["photo"]));
    let staff =
        expect_json(app.get(&format!("/api/v1/shipments/{}", shipment["id"].as_str().unwrap())).await, StatusCode::OK)
            .await;
    assert_eq!(staff["preferences"]["access_code"], "2580#", "the code was kept");
    assert_eq!(staff["pod_requirements"], json!(["photo"]));
    let fields: Vec<&str> =
        staff["preference_changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["method", "window", "instructions"]);
    let method = &staff["preference_changes"][0];
    assert_eq!(method["actor"], "customer");
    assert_eq!(method["old_value"], "hand_to_recipient");
    assert_eq!(method["new_value"], "safe_place: Delivery box");

    // A new door code is recorded masked.
    let recode = json!({"method": {"kind": "safe_place", "place": "delivery_box"},
                        "window": {"date": "2026-11-25", "start": "18:00", "end": "20:00"},
                        "instructions": "1階エントランス左", "access_code": "1111"});
    expect_json(put_preferences(&app, &shipment, &recode, Some(&k)).await, StatusCode::OK).await;
    let staff =
        expect_json(app.get(&format!("/api/v1/shipments/{}", shipment["id"].as_str().unwrap())).await, StatusCode::OK)
            .await;
    let code = staff["preference_changes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (code["field"].as_str(), code["old_value"].as_str(), code["new_value"].as_str()),
        (Some("access_code"), Some("••••"), Some("••••"))
    );
    assert!(
        !staff["preference_changes"].to_string().contains("1111")
            && !staff["preference_changes"].to_string().contains("2580")
    );

    // Once dispatched, the method and window are fixed; instructions may still change.
    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    let late = json!({"method": {"kind": "hand_to_recipient"}, "window": {"date": "2026-11-25", "start": "18:00", "end": "20:00"},
                      "instructions": "1階エントランス左", "access_code": "••••"});
    let problem = expect_problem(
        put_preferences(&app, &shipment, &late, Some(&k)).await,
        StatusCode::CONFLICT,
        "preferences_locked",
    )
    .await;
    assert_eq!(problem["changeable"], json!(["instructions", "access_code", "language", "email_notices"]));
    assert!(problem["cutoff_at"].is_string(), "{problem}");
    let mut instructions = recode.clone();
    instructions["instructions"] = json!("インターホンは鳴らさないでください");
    instructions["access_code"] = json!("••••");
    expect_json(put_preferences(&app, &shipment, &instructions, Some(&k)).await, StatusCode::OK).await;

    // After delivery nothing changes.
    app.record(&shipment, json!({"status": "delivered"})).await;
    instructions["instructions"] = json!("too late");
    let problem = expect_problem(
        put_preferences(&app, &shipment, &instructions, Some(&k)).await,
        StatusCode::CONFLICT,
        "preferences_locked",
    )
    .await;
    assert_eq!(problem["changeable"], json!([]));
}

#[tokio::test]
async fn support_changes_preferences_on_the_customers_behalf_and_staff_keep_pickup_points() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let pickup = json!({"method": {"kind": "pickup_point", "point_id": "lawson-marunouchi"}});
    let problem = expect_problem(
        put_preferences(&app, &shipment, &pickup, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["code"], "unknown_pickup_point");

    let point = json!({"id": "lawson-marunouchi", "name": "ローソン 丸の内店", "address": "東京都千代田区丸の内1-1",
                       "lat": 35.681, "lon": 139.766, "opening_hours": "24時間"});
    expect_json(app.post_json("/api/v1/pickup-points", &point).await, StatusCode::CREATED).await;
    expect_problem(app.post_json("/api/v1/pickup-points", &point).await, StatusCode::CONFLICT, "pickup_point_exists")
        .await;
    let points = expect_json(app.public_get("/api/v1/pickup-points").await, StatusCode::OK).await;
    assert_eq!(points[0]["name"], "ローソン 丸の内店");
    let slots = expect_json(app.public_get("/api/v1/delivery-slots").await, StatusCode::OK).await;
    assert_eq!(slots.as_array().unwrap().len(), 5, "the common Japanese slots by default");
    // Staff offer an extra late slot; a customer may then choose it, and a nonsense slot is refused.
    let mut more = slots.as_array().unwrap().clone();
    more.push(json!({"id": "20-22", "start": "20:00", "end": "22:00"}));
    let response = app
        .client
        .put(app.url("/api/v1/delivery-slots"))
        .bearer_auth(&app.admin_token)
        .json(&more)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(response, StatusCode::OK).await.as_array().unwrap().len(), 6);
    let backwards = json!([{"id": "x", "start": "22:00", "end": "20:00"}]);
    let response = app
        .client
        .put(app.url("/api/v1/delivery-slots"))
        .bearer_auth(&app.admin_token)
        .json(&backwards)
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let late = json!({"method": {"kind": "hand_to_recipient"}, "window": {"date": "2026-11-24", "start": "20:00", "end": "22:00"}});
    expect_json(put_preferences(&app, &shipment, &late, None).await, StatusCode::OK).await;

    let support = app.user_token("support").await;
    let number = shipment["tracking_number"].as_str().unwrap();
    let response = app
        .client
        .put(app.url(&format!("/api/v1/track/{number}/preferences")))
        .bearer_auth(&support)
        .json(&pickup)
        .send()
        .await
        .unwrap();
    let changed = expect_json(response, StatusCode::OK).await;
    assert_eq!(changed["pod_requirements"], json!(["pickup_point_id", "scan"]));
    let staff =
        expect_json(app.get(&format!("/api/v1/shipments/{}", shipment["id"].as_str().unwrap())).await, StatusCode::OK)
            .await;
    let latest = staff["preference_changes"].as_array().unwrap().last().unwrap().clone();
    assert!(latest["actor"].as_str().unwrap().starts_with("support:"), "{latest}");
}

/// The page's anti-forgery token, as a browser would find it in the form.
fn form_token(html: &str) -> String {
    let marker = r#"name="token" value=""#;
    let from = html.find(marker).expect("the form has a token") + marker.len();
    html[from..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_page_form_saves_only_what_came_from_the_customers_page() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let link = shipment["tracking_url"].as_str().unwrap().to_string();
    let number = shipment["tracking_number"].as_str().unwrap();
    let k = link_of(&shipment);
    let html = app.client.get(&link).send().await.unwrap().text().await.unwrap();
    let token = form_token(&html);
    let no_redirects = todoke_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let post = |body: String| {
        no_redirects
            .post(app.url(&format!("/t/{number}/preferences?k={k}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };

    // What went wrong is said in the page's language: English when asked for, else the customer's.
    let post_en = |body: String| {
        no_redirects
            .post(app.url(&format!("/t/{number}/preferences?k={k}&lang=en")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let forged =
        post_en("token=AAAAAAAAAAAAAAAAAAAAAA&method=hand_to_recipient&email_notices=yes".into()).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.text().await.unwrap().contains("did not come from your tracking page"));
    let forged = post("token=AAAAAAAAAAAAAAAAAAAAAA&method=hand_to_recipient&email_notices=yes".into()).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.text().await.unwrap().contains("このフォームはお荷物のページから送られたものではありません"));

    let saved = post(format!(
        "token={token}&method=neighbour&neighbour_name=%E4%BD%90%E8%97%A4&neighbour_door=302&window=&email_notices=yes"
    ))
    .await
    .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let back = saved.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with(&format!("/t/{number}?saved=1&k=")), "{back}");
    let page = app.client.get(app.url(&back)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("変更を保存しました。"));
    assert!(page.contains(r#"value="佐藤""#));

    // A bad choice is explained on the page, in plain words, and nothing changes.
    let bad = post_en(format!("token={token}&method=neighbour&neighbour_name=&neighbour_door=302&email_notices=yes"))
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("must not be empty"));
    let bad = post(format!("token={token}&method=neighbour&neighbour_name=&neighbour_door=302&email_notices=yes"))
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("お名前: 入力してください"));

    // After dispatch the page shows the method instead of offering it.
    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    let page = app.client.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("受け取り方法と日時は変更できません"));
    assert!(!page.contains(r#"name="method""#));
    let late = post(format!("token={token}&instructions=%E9%96%80%E3%81%AE%E5%89%8D&email_notices=yes")).await.unwrap();
    assert_eq!(late.status(), StatusCode::SEE_OTHER, "instructions may still change");
}

#[tokio::test]
async fn what_the_customer_changed_stays_theirs() {
    let app = TestApp::spawn().await;
    let key = app.api_key("shop-a").await;
    let mut body = shipment_request();
    body["preferences"] = documented_preferences();
    let shipment =
        expect_json(app.post_json_as("/api/v1/shipments", &body, Some(&key)).await, StatusCode::CREATED).await;
    let k = link_of(&shipment);

    // The customer picks a new door code; the merchant's retry of the order is still the same order,
    // and learns nothing about the new code.
    let mut mine = documented_preferences();
    mine["access_code"] = json!("9999");
    expect_json(put_preferences(&app, &shipment, &mine, Some(&k)).await, StatusCode::OK).await;
    let retry = expect_json(app.post_json_as("/api/v1/shipments", &body, Some(&key)).await, StatusCode::OK).await;
    assert_eq!(retry["id"], shipment["id"]);
    assert_eq!(retry["preferences"]["access_code"], "••••");

    // Staff stop offering the chosen slot: the customer can still change their note, and keeps the slot.
    let fewer = json!([{"id": "08-12", "start": "08:00", "end": "12:00"}]);
    let response = app
        .client
        .put(app.url("/api/v1/delivery-slots"))
        .bearer_auth(&app.admin_token)
        .json(&fewer)
        .send()
        .await
        .unwrap();
    expect_json(response, StatusCode::OK).await;
    let mut note = mine.clone();
    note["access_code"] = json!("••••");
    note["instructions"] = json!("ボックスの暗証番号は別途");
    let changed = expect_json(put_preferences(&app, &shipment, &note, Some(&k)).await, StatusCode::OK).await;
    assert_eq!(changed["preferences"]["window"]["start"], "18:00");
    let staff =
        expect_json(app.get(&format!("/api/v1/shipments/{}", shipment["id"].as_str().unwrap())).await, StatusCode::OK)
            .await;
    let fields: Vec<&str> =
        staff["preference_changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["access_code", "instructions"], "only what changed is recorded");
}

#[tokio::test]
async fn a_change_judged_on_preferences_that_changed_meanwhile_is_refused_by_the_store() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let id = shipment["id"].as_str().unwrap().parse().unwrap();
    let stale: todoke_shared::preferences::Preferences =
        serde_json::from_value(json!({"method": {"kind": "neighbour", "name": "佐藤", "door": "302"}})).unwrap();
    let wanted = todoke_shared::preferences::Preferences::default();
    let change = todoke_server::store::PreferenceChange {
        changed_at: chrono::Utc::now(),
        actor: "test".into(),
        field: "method".into(),
        old_value: None,
        new_value: None,
    };
    let result = app
        .store
        .update_preferences(id, todoke_shared::ShipmentStatus::InfoReceived, &stale, &wanted, &[change], &[], false)
        .await;
    assert!(matches!(result, Err(todoke_server::store::StoreError::Stale)), "{result:?}");
}

async fn patch_preferences(app: &TestApp, shipment: &Value, patch: &Value, k: &str, media: &str) -> reqwest::Response {
    let number = shipment["tracking_number"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/track/{number}/preferences?k={k}"));
    app.client.patch(url).header("content-type", media).body(patch.to_string()).send().await.unwrap()
}

#[tokio::test]
async fn after_dispatch_a_customer_changes_only_the_note_with_a_patch_and_the_rest_stays() {
    let app = TestApp::spawn().await;
    let mut body = shipment_request();
    body["preferences"] = documented_preferences();
    let shipment = app.create_shipment(&body).await;
    let k = link_of(&shipment);
    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;

    // The whole object without the window it had is a change of the window: too late for that.
    let note_only = json!({"method": {"kind": "safe_place", "place": "delivery_box"}, "instructions": "裏口へ"});
    let problem = expect_problem(
        put_preferences(&app, &shipment, &note_only, Some(&k)).await,
        StatusCode::CONFLICT,
        "preferences_locked",
    )
    .await;
    assert_eq!(problem["changeable"], json!(["instructions", "access_code", "language", "email_notices"]));

    // The object as read, sent back whole with a new note: the locked fields it repeats are no change.
    let number = tracking_number(&shipment);
    let read =
        expect_json(app.public_get(&format!("/api/v1/track/{number}/preferences?k={k}")).await, StatusCode::OK).await;
    let mut whole = read["preferences"].clone();
    whole["instructions"] = json!("置き配は不可です");
    let replaced = expect_json(put_preferences(&app, &shipment, &whole, Some(&k)).await, StatusCode::OK).await;
    assert_eq!(replaced["preferences"], whole);

    // A merge patch names only the note; the window, the method and the door code stay.
    let patched = expect_json(
        patch_preferences(&app, &shipment, &json!({"instructions": "裏口へ"}), &k, "application/merge-patch+json")
            .await,
        StatusCode::OK,
    )
    .await;
    let mut expected = documented_preferences();
    expected["instructions"] = json!("裏口へ");
    expected["access_code"] = json!("••••");
    assert_eq!(patched["preferences"], expected);

    // Plain JSON is taken too; null removes the note; sending what is already there is no change.
    let cleared = expect_json(
        patch_preferences(
            &app,
            &shipment,
            &json!({"instructions": null, "window": documented_preferences()["window"]}),
            &k,
            "application/json",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(cleared["preferences"].get("instructions").is_none(), "{cleared}");
    assert_eq!(cleared["preferences"]["window"], documented_preferences()["window"]);

    // A locked field the patch does change is refused, and what may still change is said.
    let problem = expect_problem(
        patch_preferences(&app, &shipment, &json!({"window": null}), &k, "application/merge-patch+json").await,
        StatusCode::CONFLICT,
        "preferences_locked",
    )
    .await;
    assert_eq!(problem["changeable"], json!(["instructions", "access_code", "language", "email_notices"]));

    let staff =
        expect_json(app.get(&format!("/api/v1/shipments/{}", shipment["id"].as_str().unwrap())).await, StatusCode::OK)
            .await;
    let fields: Vec<&str> =
        staff["preference_changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["instructions", "instructions", "instructions"], "one record per real change");
    assert_eq!(staff["preferences"]["access_code"], "2580#");
}

#[tokio::test]
async fn a_patch_is_checked_like_a_full_change() {
    let app = TestApp::spawn().await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let k = link_of(&shipment);
    let patch = |body: Value| {
        let (app, shipment, k) = (&app, &shipment, &k);
        async move { patch_preferences(app, shipment, &body, k, "application/merge-patch+json").await }
    };

    // A method of another kind starts afresh: the delivery box needs no fields of the hand-over.
    let boxed = expect_json(
        patch(json!({"method": {"kind": "safe_place", "place": "delivery_box"}, "language": "en"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(boxed["preferences"]["method"], json!({"kind": "safe_place", "place": "delivery_box"}));
    assert_eq!(boxed["preferences"]["language"], "en");
    assert_eq!(boxed["pod_requirements"], json!(["photo"]));

    let problem =
        expect_problem(patch(json!({"method": null})).await, StatusCode::UNPROCESSABLE_ENTITY, "not_removable").await;
    assert_eq!(problem["errors"][0]["field"], "method");
    let problem = expect_problem(
        patch(json!({"window": {"date": "2026-11-25"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "window.start", "{problem}");
    let problem = expect_problem(
        patch(json!({"window": {"date": "2026-11-25", "start": "13:00", "end": "15:00"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "window");
    let wrong_media = app
        .client
        .patch(app.url(&format!("/api/v1/track/{}/preferences?k={k}", tracking_number(&shipment))))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    expect_problem(wrong_media, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
}

#[tokio::test]
async fn the_instructions_close_when_the_driver_arrives_and_the_rest_stays_open() {
    let app = TestApp::spawn().await;
    let (sato, shipments, _) =
        todoke_e2e::warehouse::dispatched_day(&app, &[json!({"method": {"kind": "hand_to_recipient"}})]).await;
    let shipment = &shipments[0];
    let k = link_of(shipment);
    let note = |text: &str| json!({"instructions": text});

    // On the way, the note may still change.
    expect_json(
        patch_preferences(&app, shipment, &note("2階です"), &k, "application/merge-patch+json").await,
        StatusCode::OK,
    )
    .await;

    // The driver arrives at the door.
    let token = todoke_e2e::login(&app.client, &app.base, sato["email"].as_str().unwrap(), todoke_e2e::ADMIN_PASSWORD)
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let day = format!("/api/v1/driver/manifest?date={}", todoke_e2e::warehouse::DAY);
    let manifest = expect_json(app.get_as(&day, Some(&token)).await, StatusCode::OK).await;
    let stop = manifest["routes"][0]["stops"][0]["id"].as_str().unwrap().to_string();
    let arrived_at = chrono::Utc::now().to_rfc3339();
    let arrival = app
        .client
        .post(app.url(&format!("/api/v1/driver/stops/{stop}/arrive")))
        .bearer_auth(&token)
        .header("idempotency-key", "arrive-1")
        .json(&json!({"captured_at": arrived_at,
                      "location": {"lat": shipment["address"]["lat"], "lon": shipment["address"]["lon"]}}))
        .send()
        .await
        .unwrap();
    assert!(arrival.status().is_success(), "{}", arrival.text().await.unwrap());

    let number = tracking_number(shipment);
    let current =
        expect_json(app.public_get(&format!("/api/v1/track/{number}/preferences?k={k}")).await, StatusCode::OK).await;
    assert_eq!(current["changeable"], json!(["access_code", "language", "email_notices"]));
    let problem = expect_problem(
        patch_preferences(&app, shipment, &note("やっぱり1階"), &k, "application/merge-patch+json").await,
        StatusCode::CONFLICT,
        "preferences_locked",
    )
    .await;
    assert_eq!(problem["changeable"], json!(["access_code", "language", "email_notices"]));
    let cutoff: chrono::DateTime<chrono::Utc> = problem["cutoff_at"].as_str().unwrap().parse().unwrap();
    let arrived: chrono::DateTime<chrono::Utc> = arrived_at.parse().unwrap();
    assert!((cutoff - arrived).num_seconds().abs() <= 1, "the cut-off is the arrival: {cutoff} against {arrived}");

    // A change of the note judged before the arrival cannot land after it: the store refuses it.
    let id = shipment["id"].as_str().unwrap().parse().unwrap();
    let stored = app.store.find_shipment(todoke_server::store::ShipmentKey::Id(id)).await.unwrap().unwrap();
    let mut wanted = stored.content.preferences.clone();
    wanted.instructions = Some("judged before the arrival".into());
    let change = todoke_server::store::PreferenceChange {
        changed_at: chrono::Utc::now(),
        actor: "test".into(),
        field: "instructions".into(),
        old_value: None,
        new_value: None,
    };
    let previous = &stored.content.preferences;
    let result = app.store.update_preferences(id, stored.status, previous, &wanted, &[change], &[], true).await;
    assert!(matches!(result, Err(todoke_server::store::StoreError::Stale)), "{result:?}");

    // Sent back as it is, the note is no change; email notices may still be turned off.
    let quiet = expect_json(
        patch_preferences(
            &app,
            shipment,
            &json!({"instructions": "2階です", "email_notices": false}),
            &k,
            "application/json",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(quiet["preferences"]["instructions"], "2階です");
    assert_eq!(quiet["preferences"]["email_notices"], false);
}
