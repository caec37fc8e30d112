//! At the door: the driver arrives, delivers with a signature and a photo, or fails with a photo of
//! the door; a lost answer is retried safely; staff, the merchant and the customer see the proof, and
//! nobody gets the GPS a phone writes into its photos.

use std::path::PathBuf;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use todoke_e2e::processes::ServerProcess;
use todoke_e2e::warehouse::{self, DAY};
use todoke_e2e::{ADMIN_PASSWORD, TestApp, count, expect_json, expect_problem, login, tracking_number};

const SERVER: &str = env!("CARGO_BIN_EXE_e2e-server");

fn fixture(name: &str) -> Vec<u8> {
    todoke_e2e::fixture(&format!("photos/{name}"))
}

/// A driver's dispatched day of the given parcels (preferences each), and the driver's token and stops
/// in order of the parcels given.
struct Day {
    shipments: Vec<Value>,
    barcodes: Vec<String>,
    token: String,
    stops: Vec<String>,
}

async fn dispatched_day(app: &TestApp, preferences: &[Value]) -> Day {
    let (sato, shipments, barcodes) = warehouse::dispatched_day(app, preferences).await;
    let email = sato["email"].as_str().unwrap();
    let token =
        login(&app.client, &app.base, email, ADMIN_PASSWORD).await["access_token"].as_str().unwrap().to_string();
    let manifest = app.get_as(&format!("/api/v1/driver/manifest?date={DAY}"), Some(&token)).await;
    let manifest = expect_json(manifest, StatusCode::OK).await;
    let listed = manifest["routes"][0]["stops"].as_array().unwrap().clone();
    let stops = shipments
        .iter()
        .map(|s| {
            let stop = listed.iter().find(|stop| stop["shipment_id"] == s["id"]).expect("every parcel has a stop");
            stop["id"].as_str().unwrap().to_string()
        })
        .collect();
    Day { shipments, barcodes, token, stops }
}

fn hand_over() -> Value {
    json!({"method": {"kind": "hand_to_recipient"}})
}

fn delivery_box() -> Value {
    json!({"method": {"kind": "safe_place", "place": "delivery_box"}})
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

/// At the door of the shipment (a few metres off, as a phone's fix is).
fn at_door(shipment: &Value) -> Value {
    let lat = shipment["address"]["lat"].as_f64().unwrap() + 0.00003;
    json!({"lat": lat, "lon": shipment["address"]["lon"], "accuracy_m": 8.0})
}

fn strokes() -> Value {
    json!({"width": 600, "height": 200, "strokes": [[[20.0, 150.0], [120.0, 40.0], [220.0, 160.0], [320.0, 50.0]],
                                                       [[380.0, 100.0], [560.0, 110.0]]]})
}

struct Action<'a> {
    report: Value,
    signature: Option<Vec<u8>>,
    photos: Vec<(&'a str, Vec<u8>)>,
}

impl Action<'_> {
    fn form(&self) -> Form {
        let mut form =
            Form::new().part("report", Part::text(self.report.to_string()).mime_str("application/json").unwrap());
        if let Some(signature) = &self.signature {
            form = form.part("signature", Part::bytes(signature.clone()).file_name("signature"));
        }
        for (name, bytes) in &self.photos {
            form = form.part("photo", Part::bytes(bytes.clone()).file_name(name.to_string()));
        }
        form
    }
}

async fn act(app: &TestApp, day: &Day, stop: &str, verb: &str, key: &str, action: &Action<'_>) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/driver/stops/{stop}/{verb}")))
        .bearer_auth(&day.token)
        .header("idempotency-key", key)
        .multipart(action.form())
        .send()
        .await
        .unwrap()
}

async fn bytes(app: &TestApp, url: &str, token: Option<&str>) -> (StatusCode, Vec<u8>) {
    let mut request = app.client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.bytes().await.unwrap().to_vec())
}

fn longest_side(image: &[u8]) -> u32 {
    let reader = image::ImageReader::new(std::io::Cursor::new(image)).with_guessed_format().unwrap();
    let (w, h) = reader.into_dimensions().unwrap();
    w.max(h)
}

/// No EXIF block (where phones write GPS and the camera), no XMP.
fn has_metadata(jpeg: &[u8]) -> bool {
    jpeg.windows(6).any(|w| w == b"Exif\0\0") || jpeg.windows(9).any(|w| w == b"http://ns")
}

#[tokio::test]
async fn a_hand_over_is_proved_and_the_customer_sees_the_slip() {
    if !todoke_e2e::have_fixtures() {
        return;
    }
    let app = TestApp::spawn().await;
    let day = dispatched_day(&app, &[hand_over()]).await;
    let (shipment, stop) = (&day.shipments[0], &day.stops[0]);
    let id = shipment["id"].as_str().unwrap();

    // The driver reaches the door; the answer is lost and the phone asks again with the same key.
    let arrival = json!({"captured_at": now(), "location": at_door(shipment)});
    let arrive = |key: &'static str| {
        app.client
            .post(app.url(&format!("/api/v1/driver/stops/{stop}/arrive")))
            .bearer_auth(&day.token)
            .header("idempotency-key", key)
            .json(&arrival)
            .send()
    };
    let first = arrive("arrive-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first = first.bytes().await.unwrap();
    let again = arrive("arrive-1").await.unwrap().bytes().await.unwrap();
    assert_eq!(first, again);
    assert_eq!(serde_json::from_slice::<Value>(&first).unwrap()["status"], "out_for_delivery");

    // Forgetting the signature and the name is told at once, exactly, and nothing is stored.
    let mut report = json!({"captured_at": now(), "location": at_door(shipment),
                            "method": {"kind": "hand_to_recipient"}, "scanned": [day.barcodes[0]]});
    let photo = fixture("iphone_hdr_NO.jpg");
    let bare = Action { report: report.clone(), signature: None, photos: vec![] };
    let problem = expect_problem(
        act(&app, &day, stop, "deliver", "deliver-1", &bare).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "proof_incomplete",
    )
    .await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["signature", "recipient_name"]);

    // With the signature (as a pad draws it), the name and a photo, the same key now goes through.
    report["recipient_name"] = json!("山田 花子");
    let signature = serde_json::to_vec(&strokes()).unwrap();
    let delivery =
        Action { report: report.clone(), signature: Some(signature), photos: vec![("door.jpg", photo.clone())] };
    let response = act(&app, &day, stop, "deliver", "deliver-1", &delivery).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let receipt_bytes = response.bytes().await.unwrap();
    let receipt: Value = serde_json::from_slice(&receipt_bytes).unwrap();
    assert_eq!(receipt["status"], "delivered");
    assert_eq!(receipt["flagged"], false);
    assert!(receipt["distance_m"].as_f64().unwrap() < 10.0, "{receipt}");

    // A lost answer: the retry gets the same bytes, and nothing is delivered twice.
    let retry = act(&app, &day, stop, "deliver", "deliver-1", &delivery).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.bytes().await.unwrap(), receipt_bytes);
    // The same key for something else is a mistake of the app, said plainly.
    let mut other = Action { report: report.clone(), signature: delivery.signature.clone(), photos: vec![] };
    other.report["recipient_name"] = json!("山田 太郎");
    expect_problem(
        act(&app, &day, stop, "deliver", "deliver-1", &other).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    // A new key for the closed stop: it is delivered already.
    expect_problem(act(&app, &day, stop, "deliver", "deliver-2", &delivery).await, StatusCode::CONFLICT, "stop_closed")
        .await;

    // The public tracking view says delivered and no more.
    let public =
        expect_json(app.public_get(&format!("/api/v1/track/{}", tracking_number(shipment))).await, StatusCode::OK)
            .await;
    assert_eq!(public["status"], "delivered");
    assert!(!public.to_string().contains("/pod"), "{public}");
    expect_problem(
        app.public_get(&format!("/api/v1/shipments/{id}/pod")).await,
        StatusCode::UNAUTHORIZED,
        "authentication_required",
    )
    .await;

    // Staff see the proof, its files and that the seal holds.
    let pod = expect_json(app.get(&format!("/api/v1/shipments/{id}/pod")).await, StatusCode::OK).await;
    assert_eq!(pod["status"], "delivered");
    let proof = &pod["proofs"][0];
    assert_eq!(pod["proofs"].as_array().unwrap().len(), 1);
    assert_eq!(proof["outcome"], "delivered");
    assert_eq!(proof["method"]["kind"], "hand_to_recipient");
    assert_eq!(proof["recipient_name"], "山田 花子");
    assert_eq!(proof["scanned"], json!([day.barcodes[0]]));
    assert_eq!(proof["far_from_address"], false);
    assert_eq!(proof["integrity"]["intact"], true);
    assert_eq!(proof["integrity"]["sha256"].as_str().unwrap().len(), 64);
    let display_url = proof["photos"][0]["display_url"].as_str().unwrap();
    let thumbnail_url = proof["photos"][0]["thumbnail_url"].as_str().unwrap();
    let signature_url = proof["signature_url"].as_str().unwrap();
    let (status, display) = bytes(&app, display_url, Some(&app.admin_token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(longest_side(&display), 1600);
    assert!(!has_metadata(&display), "the phone's EXIF (GPS) must not survive");
    let (_, thumbnail) = bytes(&app, thumbnail_url, Some(&app.admin_token)).await;
    assert_eq!(longest_side(&thumbnail), 320);
    let (_, signature) = bytes(&app, signature_url, Some(&app.admin_token)).await;
    assert!(signature.starts_with(b"\x89PNG"));
    // Nobody else gets the files.
    assert_eq!(bytes(&app, display_url, None).await.0, StatusCode::UNAUTHORIZED);

    // The customer's own link shows the same proof, with links that carry the link's key, and no seal.
    let k = shipment["tracking_url"].as_str().unwrap().split("?k=").nth(1).unwrap();
    let mine = expect_json(app.public_get(&format!("/api/v1/shipments/{id}/pod?k={k}")).await, StatusCode::OK).await;
    let my_proof = &mine["proofs"][0];
    assert_eq!(my_proof["recipient_name"], "山田 花子");
    assert!(my_proof.get("integrity").is_none());
    let my_photo = my_proof["photos"][0]["display_url"].as_str().unwrap();
    assert!(my_photo.contains("?k="));
    assert_eq!(bytes(&app, my_photo, None).await, (StatusCode::OK, display.clone()));

    // The page behind the link in the email shows the slip too; the page anyone may open does not.
    let number = tracking_number(shipment);
    let page = app.public_get(&format!("/t/{number}?k={k}&lang=en")).await.text().await.unwrap();
    assert!(page.contains(r#"id="proof""#) && page.contains("Received by: 山田 花子"), "{page}");
    let thumbnail = my_proof["photos"][0]["thumbnail_url"].as_str().unwrap();
    let path = thumbnail.strip_prefix(&app.base).unwrap();
    assert!(page.contains(&format!(r#"src="{}""#, path.replace('&', "&amp;"))) || page.contains(thumbnail), "{page}");
    let public_page = app.public_get(&format!("/t/{number}")).await.text().await.unwrap();
    assert!(!public_page.contains(r#"id="proof""#) && !public_page.contains("/pod/files/"));

    // The slip's feedback link leads to a form on that page: stars and a word for the driver.
    assert!(page.contains(r#"id="feedback""#), "{page}");
    let token = page.split(r#"name="token" value=""#).last().unwrap().split('"').next().unwrap().to_string();
    let post = |body: String| {
        app.client
            .post(app.url(&format!("/t/{number}/feedback?k={k}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let no_stars = post(format!("token={token}&comment=thanks")).await.unwrap();
    assert_eq!(no_stars.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Two lines typed in the box (a browser sends CRLF) become one.
    let saved = post(format!("token={token}&rating=5&comment=%E4%B8%81%E5%AF%A7%0D%0A%E5%AF%A7")).await.unwrap();
    assert!(saved.url().as_str().contains("saved=1"), "{}", saved.url());
    let pod = expect_json(app.get(&format!("/api/v1/shipments/{id}/pod")).await, StatusCode::OK).await;
    assert_eq!(pod["feedback"], json!({"rating": 5, "comment": "丁寧 寧"}));
    assert_eq!(post("token=forged&rating=1".to_string()).await.unwrap().status(), StatusCode::FORBIDDEN);

    // The delivery slip went into the outbox with the change.
    let notices = expect_json(app.get(&format!("/api/v1/shipments/{id}/notifications")).await, StatusCode::OK).await;
    let kinds: Vec<&str> = notices.as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "delivered").count(), 1, "{kinds:?}");

    // A file changed on disk afterwards no longer matches the seal.
    let name = display_url.rsplit('/').next().unwrap();
    let path = app.data_dir().join("proofs").join(&name[..2]).join(name);
    std::fs::write(&path, b"not the photo").unwrap();
    let pod = expect_json(app.get(&format!("/api/v1/shipments/{id}/pod")).await, StatusCode::OK).await;
    assert_eq!(pod["proofs"][0]["integrity"]["intact"], false);
}

#[tokio::test]
async fn a_wrong_parcel_is_refused_and_a_photo_far_from_the_door_is_flagged() {
    if !todoke_e2e::have_fixtures() {
        return;
    }
    let app = TestApp::spawn().await;
    let day = dispatched_day(&app, &[delivery_box(), delivery_box()]).await;
    let (shipment, stop) = (&day.shipments[0], &day.stops[0]);
    let photo = fixture("DSCN0010.jpg");

    // The parcel of the next stop is scanned here: refused, naming it.
    let report = json!({"captured_at": now(), "location": at_door(shipment),
                        "method": {"kind": "safe_place", "place": "delivery_box"}, "scanned": [day.barcodes[1]]});
    let wrong = Action { report, signature: None, photos: vec![("box.jpg", photo.clone())] };
    let problem = expect_problem(
        act(&app, &day, stop, "deliver", "box-1", &wrong).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "proof_incomplete",
    )
    .await;
    assert_eq!(problem["errors"][0]["code"], "wrong_parcel");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains(&day.barcodes[1]));
    // A safe place without a photo proves nothing.
    let report = json!({"captured_at": now(), "location": at_door(shipment),
                        "method": {"kind": "safe_place", "place": "delivery_box"}});
    let no_photo = Action { report: report.clone(), signature: None, photos: vec![] };
    let problem = expect_problem(
        act(&app, &day, stop, "deliver", "box-2", &no_photo).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "proof_incomplete",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "photo");
    // The customer asked for the box, not a neighbour.
    let mut neighbour = no_photo.report.clone();
    neighbour["method"] = json!({"kind": "neighbour", "name": "伊藤", "door": "102"});
    let action = Action { report: neighbour, signature: Some(serde_json::to_vec(&strokes()).unwrap()), photos: vec![] };
    expect_problem(
        act(&app, &day, stop, "deliver", "box-3", &action).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "method_not_allowed",
    )
    .await;

    // Proof captured some 400 m away is taken, and flagged for staff.
    let mut far = report;
    far["location"] =
        json!({"lat": shipment["address"]["lat"].as_f64().unwrap() + 0.0036, "lon": shipment["address"]["lon"]});
    let action = Action { report: far, signature: None, photos: vec![("box.jpg", photo)] };
    let receipt = expect_json(act(&app, &day, stop, "deliver", "box-4", &action).await, StatusCode::CREATED).await;
    assert_eq!(receipt["flagged"], true);
    let distance = receipt["distance_m"].as_f64().unwrap();
    assert!((350.0..450.0).contains(&distance), "{distance}");
    let pod = expect_json(
        app.get(&format!("/api/v1/shipments/{}/pod", shipment["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pod["proofs"][0]["far_from_address"], true);
    assert_eq!(pod["proofs"][0]["method"]["place"], "delivery_box");
}

#[tokio::test]
async fn a_failed_attempt_keeps_a_photo_of_the_door() {
    if !todoke_e2e::have_fixtures() {
        return;
    }
    let app = TestApp::spawn().await;
    let day = dispatched_day(&app, &[hand_over()]).await;
    let (shipment, stop) = (&day.shipments[0], &day.stops[0]);
    let id = shipment["id"].as_str().unwrap();

    let report = json!({"captured_at": now(), "location": at_door(shipment), "reason": "lost"});
    let action = Action { report, signature: None, photos: vec![] };
    let problem = expect_problem(
        act(&app, &day, stop, "fail", "fail-1", &action).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "reason");

    let report = json!({"captured_at": now(), "location": at_door(shipment), "reason": "recipient_not_home",
                        "note": "不在票を投函"});
    let action = Action { report, signature: None, photos: vec![("door.jpg", fixture("Portrait_6.jpg"))] };
    let receipt = expect_json(act(&app, &day, stop, "fail", "fail-2", &action).await, StatusCode::CREATED).await;
    assert_eq!(receipt["status"], "attempt_failed");

    let pod = expect_json(app.get(&format!("/api/v1/shipments/{id}/pod")).await, StatusCode::OK).await;
    let proof = &pod["proofs"][0];
    assert_eq!(proof["outcome"], "attempt_failed");
    assert_eq!(proof["reason"], "recipient_not_home");
    assert_eq!(proof["note"], "不在票を投函");
    let (_, door) = bytes(&app, proof["photos"][0]["display_url"].as_str().unwrap(), Some(&app.admin_token)).await;
    // The portrait photo, stored upright from its EXIF orientation.
    let (w, h) = image::load_from_memory(&door).unwrap().to_rgb8().dimensions();
    assert!(h > w, "{w}x{h}");

    let detail = expect_json(app.get(&format!("/api/v1/shipments/{id}")).await, StatusCode::OK).await;
    let last = detail["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["status"], "attempt_failed");
    assert_eq!(last["reason"], "recipient_not_home");
    assert!(last["location"].is_object(), "{last}");
    let notices = expect_json(app.get(&format!("/api/v1/shipments/{id}/notifications")).await, StatusCode::OK).await;
    assert!(notices.as_array().unwrap().iter().any(|n| n["kind"] == "attempt_failed"));
}

#[tokio::test]
async fn bad_photos_are_refused_and_leave_nothing_behind() {
    if !todoke_e2e::have_fixtures() {
        return;
    }
    let app = TestApp::spawn().await;
    let day = dispatched_day(&app, &[delivery_box()]).await;
    let (shipment, stop) = (&day.shipments[0], &day.stops[0]);
    let report = json!({"captured_at": now(), "location": at_door(shipment),
                        "method": {"kind": "safe_place", "place": "delivery_box"}});
    let cases = [
        ("truncated.jpg", fixture("truncated.jpg"), "photo_unreadable"),
        ("bomb.png", fixture("bomb_20000x20000.png"), "photo_too_many_pixels"),
        ("notes.txt", b"not a photo at all".to_vec(), "unsupported_photo_format"),
    ];
    for (i, (name, bytes, code)) in cases.into_iter().enumerate() {
        // A good photo first, so that a half-stored proof would show.
        let photos = vec![("good.jpg", fixture("DSCN0010.jpg")), (name, bytes)];
        let action = Action { report: report.clone(), signature: None, photos };
        let response = act(&app, &day, stop, "deliver", &format!("bad-{i}"), &action).await;
        let problem = expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
        assert_eq!(problem["errors"][0]["field"], "photo[1]", "{problem}");
    }
    let id = shipment["id"].as_str().unwrap();
    let pod = expect_json(app.get(&format!("/api/v1/shipments/{id}/pod")).await, StatusCode::OK).await;
    assert_eq!(pod["status"], "out_for_delivery");
    assert_eq!(pod["proofs"], json!([]));
    let stored: Vec<_> = walk(&app.data_dir().join("proofs"));
    assert!(stored.is_empty(), "files left behind: {stored:?}");

    // Without a key, or on someone else's stop, nothing happens either.
    let good = Action { report, signature: None, photos: vec![("good.jpg", fixture("DSCN0010.jpg"))] };
    let response = app
        .client
        .post(app.url(&format!("/api/v1/driver/stops/{stop}/deliver")))
        .bearer_auth(&day.token)
        .multipart(good.form())
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::BAD_REQUEST, "idempotency_key_required").await;
    let other = dispatched_day(&app, &[delivery_box()]).await;
    let stop = stop.clone();
    let theirs = Day { token: other.token, ..day };
    expect_problem(act(&app, &theirs, &stop, "deliver", "k", &good).await, StatusCode::CONFLICT, "stop_reassigned")
        .await;
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

#[tokio::test]
async fn the_same_delivery_sent_twice_at_once_is_stored_once() {
    if !todoke_e2e::have_fixtures() {
        return;
    }
    let app = TestApp::spawn().await;
    let day = dispatched_day(&app, &[delivery_box()]).await;
    let (shipment, stop) = (&day.shipments[0], &day.stops[0]);
    let report = json!({"captured_at": now(), "location": at_door(shipment),
                        "method": {"kind": "safe_place", "place": "delivery_box"}});
    let action = Action { report, signature: None, photos: vec![("box.jpg", fixture("jolla.jpg"))] };
    let (a, b) = tokio::join!(
        act(&app, &day, stop, "deliver", "twice", &action),
        act(&app, &day, stop, "deliver", "twice", &action)
    );
    let statuses = [a.status(), b.status()];
    assert!(statuses.contains(&StatusCode::CREATED), "{statuses:?}");
    // The other one either waited for the first answer or was told to retry shortly.
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
    let retry = expect_json(act(&app, &day, stop, "deliver", "twice", &action).await, StatusCode::CREATED).await;
    assert_eq!(retry["status"], "delivered");
    let pod = expect_json(
        app.get(&format!("/api/v1/shipments/{}/pod", shipment["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pod["proofs"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_delivery_slip_arrives_by_email_with_the_photo_and_signature() {
    if !todoke_e2e::have_fixtures() {
        return;
    }
    let Some(smtp) = todoke_e2e::smtp::SmtpServer::start() else { return };
    let url = smtp.url();
    let app = TestApp::spawn_with(move |settings| {
        settings.smtp_url = Some(url.parse().unwrap());
        settings.notice_worker = false;
    })
    .await;
    let day = dispatched_day(&app, &[hand_over()]).await;
    let (shipment, stop) = (&day.shipments[0], &day.stops[0]);
    let report = json!({"captured_at": now(), "location": at_door(shipment), "method": {"kind": "hand_to_recipient"},
                        "recipient_name": "山田 花子"});
    let signature = serde_json::to_vec(&strokes()).unwrap();
    let action = Action { report, signature: Some(signature), photos: vec![("door.jpg", fixture("jolla.jpg"))] };
    expect_json(act(&app, &day, stop, "deliver", "slip", &action).await, StatusCode::CREATED).await;
    todoke_server::notify::worker::drain(&app.state.outbox, chrono::Utc::now()).await.unwrap();

    let received = smtp.messages();
    let slip = received.iter().find(|m| m.subject.starts_with("お荷物をお届けしました")).expect("the delivery slip");
    assert!(slip.text.contains("お受け取り: 山田 花子"), "{}", slip.text);
    assert!(slip.text.contains("対面でお渡し"), "{}", slip.text);
    // The proof travels with the message: no image is fetched from anywhere.
    assert!(slip.html.contains(r#"src="cid:photo@"#) && slip.html.contains(r#"src="cid:signature@"#), "{}", slip.html);
    assert!(!slip.html.contains("src=\"http"));
    let photo = slip.inline.iter().find(|p| p.content_id.starts_with("photo@")).expect("the photo inline");
    assert!(slip.html.contains(&format!("cid:{}", photo.content_id)));
    assert_eq!(photo.mimetype, "image/jpeg");
    assert_eq!(longest_side(&photo.bytes), 320);
    assert!(!has_metadata(&photo.bytes));
    let signature = slip.inline.iter().find(|p| p.content_id.starts_with("signature@")).expect("the signature inline");
    assert_eq!(signature.mimetype, "image/png");
    assert!(signature.bytes.starts_with(b"\x89PNG"));
    // The full proof and feedback are a link away, on the customer's own page.
    let k = shipment["tracking_url"].as_str().unwrap().split("?k=").nth(1).unwrap();
    assert!(slip.text.contains(&format!("?k={k}#feedback")), "{}", slip.text);
}

/// The server dies (kill -9) while it handles a delivery: the driver's retry with the same key, once the
/// server is back, is handled at once — not refused as "in progress" for minutes — and stores one proof.
#[tokio::test]
async fn a_delivery_cut_short_by_a_crash_goes_through_on_retry_after_the_restart() {
    if !todoke_e2e::have_fixtures() {
        return;
    }
    let app = TestApp::spawn().await;
    // A few parcels: the crash must land while a delivery is in the server's hands, which may take tries.
    let day = dispatched_day(&app, &[hand_over(), hand_over(), hand_over(), hand_over()]).await;
    let app = app.stop().await;
    let mut server = ServerProcess::start(SERVER, &app, &[]).await;
    let client = todoke_e2e::http_client().build().unwrap();
    let photo = fixture("olympus_12mp.jpg");
    // The phone keeps what it captured at the door and sends exactly that again.
    let captured_at = now();
    let deliver = |base: String, stop: String, shipment: Value, key: String| {
        let report = json!({"captured_at": captured_at, "location": at_door(&shipment),
                            "method": {"kind": "hand_to_recipient"}, "recipient_name": "山田 花子",
                            "scanned": [shipment["parcels"][0]["barcode"]]});
        let form = Form::new()
            .part("report", Part::text(report.to_string()).mime_str("application/json").unwrap())
            .part("signature", Part::bytes(serde_json::to_vec(&strokes()).unwrap()).file_name("signature"))
            .part("photo", Part::bytes(photo.clone()).file_name("door.jpg"));
        client
            .post(format!("{base}/api/v1/driver/stops/{stop}/deliver"))
            .bearer_auth(&day.token)
            .header("idempotency-key", key)
            .multipart(form)
            .send()
    };

    let mut crashed = None;
    for (stop, shipment) in day.stops.iter().zip(&day.shipments) {
        let key = format!("deliver-{stop}");
        let sending = tokio::spawn(deliver(server.base(), stop.clone(), shipment.clone(), key.clone()));
        let held = format!("SELECT COUNT(*) FROM idempotency_keys WHERE key = '{key}' AND status IS NULL");
        while !sending.is_finished() {
            if count(app.database_url(), &held).await == 1 {
                server.kill().await;
                crashed = Some((stop, shipment, key));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let _ = sending.await;
        if crashed.is_some() {
            break;
        }
    }
    let (stop, shipment, key) = crashed.expect("the server was killed while it handled a delivery");

    server.resume().await;
    let mut retry = deliver(server.base(), stop.clone(), shipment.clone(), key.clone()).await.unwrap();
    // On PostgreSQL another server may still be running the request: its holder's lease has to run out
    // first (seconds, LEASE in the server); on SQLite the restarted server knows at once.
    let mut waits = 0;
    while retry.status() == StatusCode::CONFLICT && app.database_url().starts_with("postgres") && waits < 10 {
        let problem: Value = retry.json().await.unwrap();
        assert_eq!(problem["code"], "request_in_progress", "{problem}");
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        waits += 1;
        retry = deliver(server.base(), stop.clone(), shipment.clone(), key.clone()).await.unwrap();
    }
    let receipt = expect_json(retry, StatusCode::CREATED).await;
    assert_eq!(receipt["status"], "delivered");

    // Exactly one effect: one proof, one "delivered" in the timeline.
    let id = shipment["id"].as_str().unwrap();
    let pod = client.get(format!("{}/api/v1/shipments/{id}/pod", server.base())).bearer_auth(&app.admin_token);
    let pod = expect_json(pod.send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(pod["proofs"].as_array().unwrap().len(), 1, "{pod}");
    let detail = client.get(format!("{}/api/v1/shipments/{id}", server.base())).bearer_auth(&app.admin_token);
    let detail = expect_json(detail.send().await.unwrap(), StatusCode::OK).await;
    let delivered = detail["events"].as_array().unwrap().iter().filter(|e| e["status"] == "delivered").count();
    assert_eq!(delivered, 1, "{detail}");
}
