//! A driver's day with the driver app, the server a process of its own: the route is fetched, then the
//! server goes down and the driver keeps working; the app is killed in the middle of pushing; at the
//! end every delivery and failed attempt is on the server exactly once, with its photos, the customer
//! sees the proof, and each receipt went out once.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::processes::{DriverApp, Network, ServerProcess};
use todoke_e2e::smtp::SmtpServer;
use todoke_e2e::warehouse::{DAY, depot_with_zone, driver, parcel_with_preferences, receive};
use todoke_e2e::{ADMIN_PASSWORD, TestApp, expect_json, fixture, have_fixtures, tracking_number};

const SERVER: &str = env!("CARGO_BIN_EXE_e2e-server");
const DRIVER_APP: &str = env!("CARGO_BIN_EXE_e2e-driver");

/// The warehouse's side: a dispatched route of the given parcels for one driver.
async fn dispatched(app: &TestApp, preferences: &[Value]) -> (Value, Vec<Value>) {
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
    receive(app, &depot, &barcodes.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let body = json!({"depot_id": depot["id"], "date": DAY, "drivers": [sato["user_id"]]});
    let built = expect_json(app.post_json("/api/v1/routes/build", &body).await, StatusCode::CREATED).await;
    let route_id = built["routes"][0]["id"].as_str().unwrap();
    expect_json(app.post_json(&format!("/api/v1/routes/{route_id}/dispatch"), &json!({})).await, StatusCode::OK).await;
    (sato, shipments)
}

fn hand_over() -> Value {
    json!({"method": {"kind": "hand_to_recipient"}})
}

fn delivery_box() -> Value {
    json!({"method": {"kind": "safe_place", "place": "delivery_box"}})
}

/// `--at` for a shipment's door, a few metres off as a phone's fix is.
fn door(shipment: &Value) -> String {
    let lat = shipment["address"]["lat"].as_f64().unwrap() + 0.00003;
    format!("{lat},{},8", shipment["address"]["lon"])
}

#[tokio::test]
async fn a_day_worked_offline_reaches_the_server_exactly_once() {
    if !have_fixtures() {
        return;
    }
    let Some(smtp) = SmtpServer::start() else { return };
    // The warehouse prepares the day on the test's own server, which then hands the database over to
    // the server program, which serves the rest of the day and sends the mail.
    let app = TestApp::spawn_with(|settings| {
        settings.planner_millis = 300;
        settings.notice_worker = false;
    })
    .await;
    let (sato, shipments) = dispatched(&app, &[hand_over(), delivery_box(), hand_over(), hand_over()]).await;
    let numbers: Vec<&str> = shipments.iter().map(tracking_number).collect();
    let app = app.stop().await;
    let mut server = ServerProcess::start(SERVER, &app, &[("TODOKE_SMTP_URL", &smtp.url())]).await;
    let staff = todoke_e2e::http_client().build().unwrap();
    let network = Network::start(server.port).await;

    // Morning: log in and fetch the day. The login is readable by the driver only.
    let phone = DriverApp::new(DRIVER_APP);
    let (code, login) = phone.login(&network.base(), sato["email"].as_str().unwrap(), ADMIN_PASSWORD).await;
    assert_eq!(code, 0, "{login}");
    assert_eq!(DriverApp::mode(&phone.file("session.json")), 0o600);
    assert_eq!(DriverApp::mode(&phone.dir), 0o700);
    let (code, synced) = phone.json(&["sync", "--date", DAY]).await;
    assert_eq!((code, &synced["date"]), (0, &json!(DAY)), "{synced}");
    let (_, route) = phone.json(&["route"]).await;
    let stops = route["stops"].as_array().unwrap();
    assert_eq!(stops.len(), 4);
    let box_stop = stops.iter().find(|s| s["tracking_number"] == numbers[1]).unwrap();
    assert_eq!(box_stop["pod_requirements"], json!(["photo"]));
    assert_eq!(box_stop["status"], "out_for_delivery");
    let (_, text, _) = phone.run(&["show", numbers[0]]).await;
    assert!(text.contains("Name: 山田 花子") && text.contains("Proof needed: signature, recipient's name"), "{text}");

    // The server goes down; the driver works on. Photos come from the phone's camera folder.
    server.kill().await;
    let camera = tempfile::tempdir().unwrap();
    let photo = |name: &str| {
        let path = camera.path().join(name);
        std::fs::write(&path, fixture(&format!("photos/{name}"))).unwrap();
        path.display().to_string()
    };
    let (box_photo, door_photo, parcel_photo) =
        (photo("DSCN0010.jpg"), photo("Portrait_6.jpg"), photo("Landscape_3.jpg"));
    let signature = camera.path().join("signature.json");
    std::fs::write(&signature, r#"{"width": 600, "height": 200, "strokes": [[[20, 150], [120, 40], [220, 160]]]}"#)
        .unwrap();
    let signature = signature.display().to_string();

    // The rules hold at the door: the box delivery without its photo is refused there, and nothing is kept.
    let (code, refused) = phone.json(&["deliver", numbers[1], "--at", &door(&shipments[1])]).await;
    assert_eq!((code, &refused["code"]), (2, &json!("proof_incomplete")), "{refused}");
    assert!(refused["messages"][0].as_str().unwrap().contains("photo"), "{refused}");

    let deliveries = [
        vec!["deliver", numbers[0], "--signature", &signature, "--name", "山田 花子", "--at"],
        vec!["deliver", numbers[1], "--photo", &box_photo, "--at"],
        vec!["deliver", numbers[2], "--signature", &signature, "--name", "山田 太郎", "--photo", &parcel_photo, "--at"],
        vec!["fail", numbers[3], "--reason", "recipient_not_home", "--photo", &door_photo, "--at"],
    ];
    for (args, shipment) in deliveries.iter().zip(&shipments) {
        let place = door(shipment);
        let (code, queued) = phone.json(&[args.as_slice(), &[place.as_str()]].concat()).await;
        assert_eq!(code, 3, "saved, not sent: {queued}");
        assert_eq!(queued["action"]["state"], "queued", "{queued}");
    }
    let (_, status) = phone.json(&["status"]).await;
    assert_eq!(status["queued"], 4, "{status}");
    let (_, route) = phone.json(&["route"]).await;
    let shown: Vec<&Value> = numbers
        .iter()
        .map(|n| &route["stops"].as_array().unwrap().iter().find(|s| s["tracking_number"] == *n).unwrap()["status"])
        .collect();
    assert_eq!(shown, ["delivered", "delivered", "delivered", "attempt_failed"], "the phone shows the day as worked");
    // The camera folder is cleared: the app kept its own copies.
    drop(camera);

    // The server is back. The push is cut off: the second action is committed on the server, its
    // answer never reaches the app, and the app is killed while it waits.
    server.resume().await;
    network.hold_answer_to_stop_action(2);
    let mut pushing = phone.command(&["sync"]).stdout(std::process::Stdio::null()).spawn().unwrap();
    tokio::time::timeout(Duration::from_secs(60), network.held.notified()).await.expect("the second action went out");
    pushing.kill().await.unwrap();
    network.heal();
    let (_, status) = phone.json(&["status"]).await;
    assert_eq!(status["queued"], 3, "only the first answer arrived: {status}");

    // The next push sends the rest with the keys they were queued with.
    let (code, synced) = phone.json(&["sync"]).await;
    assert_eq!(code, 0, "{synced}");
    assert_eq!(synced["applied"].as_array().unwrap().len(), 3, "{synced}");
    assert_eq!(synced["waiting"], 0);
    let (_, status) = phone.json(&["status"]).await;
    let actions = status["actions"].as_array().unwrap();
    assert!(actions.iter().all(|a| a["state"] == "done"), "{status}");
    assert_eq!(std::fs::read_dir(phone.file("files")).unwrap().count(), 0, "copies go once the server has them");

    // On the server: one proof each, with its photos.
    let photos = [0, 1, 1, 1];
    let statuses = ["delivered", "delivered", "delivered", "attempt_failed"];
    for ((shipment, photos), status) in shipments.iter().zip(photos).zip(statuses) {
        let id = shipment["id"].as_str().unwrap();
        let pod = staff.get(format!("{}/api/v1/shipments/{id}/pod", server.base())).bearer_auth(&app.admin_token);
        let pod = expect_json(pod.send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(pod["status"], status, "{pod}");
        assert_eq!(pod["proofs"].as_array().unwrap().len(), 1, "exactly once: {pod}");
        assert_eq!(pod["proofs"][0]["photos"].as_array().unwrap().len(), photos, "{pod}");
        assert_eq!(pod["proofs"][0]["integrity"]["intact"], true);
    }

    // The customer's link shows the delivery with its proof.
    let k = shipments[0]["tracking_url"].as_str().unwrap().split("?k=").nth(1).unwrap();
    let page = staff.get(format!("{}/t/{}?k={k}&lang=en", server.base(), numbers[0])).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains(r#"id="proof""#) && page.contains("Received by: 山田 花子"), "{page}");

    // One receipt each by email: three delivery slips and one failed-attempt notice.
    let wanted = |subject: &str| {
        numbers[..3].iter().any(|n| subject == format!("お荷物をお届けしました（{n}）"))
            || subject == format!("お荷物をお届けできませんでした（{}）", numbers[3])
    };
    let receipts = || smtp.messages().into_iter().map(|m| m.subject).filter(|s| wanted(s)).collect::<Vec<_>>();
    for _ in 0..300 {
        if receipts().len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A little longer, for any second copy to show.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut received = receipts();
    received.sort();
    received.dedup();
    assert_eq!((receipts().len(), received.len()), (4, 4), "one each: {received:?}");
}
