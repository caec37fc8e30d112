//! A driver's day with the driver app, the server a process of its own: the route is fetched, then the
//! server goes down and the driver keeps working; the app is killed in the middle of pushing; at the
//! end every delivery and failed attempt is on the server exactly once, with its photos, the customer
//! sees the proof, and each receipt went out once.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::processes::{DriverApp, Network, ServerProcess};
use todoke_e2e::smtp::SmtpServer;
use todoke_e2e::warehouse::{DAY, dispatched_day};
use todoke_e2e::{ADMIN_PASSWORD, TestApp, expect_json, fixture, have_fixtures, tracking_number};

const SERVER: &str = env!("CARGO_BIN_EXE_e2e-server");
const DRIVER_APP: &str = env!("CARGO_BIN_EXE_e2e-driver");

/// The warehouse's side: a dispatched route of the given parcels for one driver.
async fn dispatched(app: &TestApp, preferences: &[Value]) -> (Value, Vec<Value>) {
    let (driver, shipments, _) = dispatched_day(app, preferences).await;
    (driver, shipments)
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
    let second = shipments[1]["id"].as_str().unwrap();
    let pod = staff.get(format!("{}/api/v1/shipments/{second}/pod", server.base())).bearer_auth(&app.admin_token);
    let pod = expect_json(pod.send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(pod["proofs"].as_array().unwrap().len(), 1, "the second action was committed before the cut: {pod}");

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

#[tokio::test]
async fn what_changed_while_offline_is_told_plainly_and_an_expired_login_keeps_the_queue() {
    let app = TestApp::spawn_with(|settings| settings.planner_millis = 300).await;
    let (sato, shipments) = dispatched(&app, &[hand_over(), hand_over(), hand_over(), hand_over()]).await;
    let numbers: Vec<&str> = shipments.iter().map(tracking_number).collect();
    let network = Network::start(app.base.trim_start_matches("http://127.0.0.1:").parse().unwrap()).await;
    let phone = DriverApp::new(DRIVER_APP);
    let email = sato["email"].as_str().unwrap();
    assert_eq!(phone.login(&network.base(), email, ADMIN_PASSWORD).await.0, 0);
    assert_eq!(phone.json(&["sync", "--date", DAY]).await.0, 0);
    let (_, route) = phone.json(&["route"]).await;
    let stop_of = |number: &str| {
        route["stops"].as_array().unwrap().iter().find(|s| s["tracking_number"] == number).unwrap().clone()
    };

    // The phone loses the network. Meanwhile the sender cancels the first parcel, the second is taken
    // off this route, and the third's customer will collect it at a pickup point.
    network.cut();
    let first = &shipments[0];
    app.record(first, json!({"status": "exception", "reason": "sender_request"})).await;
    app.record(first, json!({"status": "cancelled"})).await;
    let second = stop_of(numbers[1]);
    let path = format!(
        "/api/v1/routes/{}/stops/{}",
        second["route_id"].as_str().unwrap(),
        second["stop_id"].as_str().unwrap()
    );
    let taken_off = app.client.delete(app.url(&path)).bearer_auth(&app.admin_token).send().await.unwrap();
    assert_eq!(taken_off.status(), StatusCode::OK);
    app.record(&shipments[2], json!({"status": "available_for_pickup"})).await;

    // The driver, unaware, hands over all four; every one is saved on the phone.
    let signature = phone.dir.with_file_name("signature.json");
    std::fs::write(&signature, r#"{"width": 300, "height": 100, "strokes": [[[10, 50], [290, 60]]]}"#).unwrap();
    for (number, shipment) in numbers.iter().zip(&shipments) {
        let args =
            ["deliver", number, "--signature", signature.to_str().unwrap(), "--name", "山田", "--at", &door(shipment)];
        let (code, queued) = phone.json(&args).await;
        assert_eq!(code, 3, "{queued}");
    }

    // The login expires before the network is back (as overnight): the refresh token no longer works.
    let session: Value = serde_json::from_slice(&std::fs::read(phone.file("session.json")).unwrap()).unwrap();
    let revoke = json!({"refresh_token": session["refresh_token"]});
    assert_eq!(app.post_json_as("/api/v1/auth/logout", &revoke, None).await.status(), StatusCode::NO_CONTENT);
    let mut stale = session.clone();
    stale["access_expires_at"] = json!("2026-01-01T00:00:00Z");
    std::fs::write(phone.file("session.json"), serde_json::to_vec(&stale).unwrap()).unwrap();
    network.heal();
    let (code, synced) = phone.json(&["sync"]).await;
    assert_eq!((code, &synced["stopped"], &synced["waiting"]), (4, &json!("login_expired"), &json!(4)), "{synced}");
    let (_, _, said) = phone.run(&["sync"]).await;
    assert!(said.contains("the login has expired: log in again") && said.contains("queued work is kept"), "{said}");

    // Logging in again keeps the queue; the push applies what still stands and says plainly what not.
    let (code, login) = phone.login(&network.base(), email, ADMIN_PASSWORD).await;
    assert_eq!((code, &login["queued"]), (0, &json!(4)), "{login}");
    let (code, synced) = phone.json(&["sync", "--date", DAY]).await;
    assert_eq!(code, 0, "{synced}");
    let applied: Vec<&Value> = synced["applied"].as_array().unwrap().iter().map(|a| &a["tracking_number"]).collect();
    assert_eq!(applied, [numbers[3]]);
    let refused: Vec<(&Value, &Value)> =
        synced["rejected"].as_array().unwrap().iter().map(|r| (&r["tracking_number"], &r["problem"]["code"])).collect();
    assert_eq!(
        refused,
        [
            (&json!(numbers[0]), &json!("stop_closed")),
            (&json!(numbers[1]), &json!("stop_not_found")),
            (&json!(numbers[2]), &json!("stop_closed"))
        ]
    );
    let (_, said, _) = phone.run(&["status"]).await;
    for (number, plainly) in [
        (numbers[0], "was cancelled while you were offline: bring the parcel back to the depot"),
        (numbers[1], "was taken off your route while you were offline"),
        (numbers[2], "was redirected to a pickup point while you were offline"),
    ] {
        let line = said.lines().find(|l| l.contains(number)).unwrap_or_default();
        assert!(line.contains(plainly), "{number}: {said}");
    }
    // The same in Japanese for a driver whose phone speaks it.
    let (_, said, _) = phone.run(&["status", "--lang", "ja"]).await;
    assert!(said.contains("オフラインの間にキャンセルされました"), "{said}");
    let id = shipments[3]["id"].as_str().unwrap();
    let pod = expect_json(app.get(&format!("/api/v1/shipments/{id}/pod")).await, StatusCode::OK).await;
    assert_eq!((&pod["status"], pod["proofs"].as_array().unwrap().len()), (&json!("delivered"), 1));
}

#[tokio::test]
async fn a_replayed_drive_is_sent_and_places_the_arrival() {
    let app = TestApp::spawn_with(|settings| settings.planner_millis = 300).await;
    let (sato, shipments) = dispatched(&app, &[hand_over()]).await;
    let phone = DriverApp::new(DRIVER_APP);
    assert_eq!(phone.login(&app.base, sato["email"].as_str().unwrap(), ADMIN_PASSWORD).await.0, 0);
    assert_eq!(phone.json(&["sync", "--date", DAY]).await.0, 0);

    // A GPS receiver's log of the last stretch to the door (RMC with GGA for accuracy).
    let log = phone.dir.with_file_name("drive.nmea");
    std::fs::write(
        &log,
        "$GPGGA,092750.000,3540.8720,N,13946.0260,E,1,8,1.03,61.7,M,55.2,M,,*6F\n\
         $GPRMC,092750.000,A,3540.8720,N,13946.0260,E,0.02,31.66,241126,,,A*57\n\
         $GPRMC,092755.000,A,3540.8722,N,13946.0261,E,0.02,31.66,241126,,,A*51\n",
    )
    .unwrap();
    let (code, located) = phone.json(&["locate", "--replay", log.to_str().unwrap(), "--to-now"]).await;
    assert_eq!((code, &located["recorded"], &located["sent"]), (0, &json!(2), &json!(2)), "{located}");
    assert!(located["server_latest"].is_string(), "the server holds them: {located}");

    // Arriving without --at takes the newest position.
    let (code, arrived) = phone.json(&["arrive", tracking_number(&shipments[0])]).await;
    assert_eq!(code, 0, "{arrived}");
    assert_eq!(arrived["action"]["state"], "done", "{arrived}");
    let report: Value = serde_json::from_str(arrived["action"]["report"].as_str().unwrap()).unwrap();
    assert!((report["location"]["lat"].as_f64().unwrap() - 35.681_203).abs() < 1e-5, "{report}");
}

#[tokio::test]
async fn the_queue_drains_by_itself_when_the_network_returns() {
    let app = TestApp::spawn_with(|settings| settings.planner_millis = 300).await;
    let (sato, shipments) = dispatched(&app, &[hand_over()]).await;
    let network = Network::start(app.base.trim_start_matches("http://127.0.0.1:").parse().unwrap()).await;
    let phone = DriverApp::new(DRIVER_APP);
    assert_eq!(phone.login(&network.base(), sato["email"].as_str().unwrap(), ADMIN_PASSWORD).await.0, 0);
    assert_eq!(phone.json(&["sync", "--date", DAY]).await.0, 0);

    network.cut();
    let mut watching =
        phone.command(&["sync", "--watch", "--every", "1"]).stdout(std::process::Stdio::null()).spawn().unwrap();
    let (code, _) = phone.json(&["arrive", tracking_number(&shipments[0]), "--at", &door(&shipments[0])]).await;
    assert_eq!(code, 3, "saved while offline");
    // Logging out now would strand the arrival: refused.
    let (code, refused) = phone.json(&["logout"]).await;
    assert_eq!((code, &refused["code"]), (2, &json!("queue_not_sent")), "{refused}");
    network.heal();
    let mut queued = json!(1);
    for _ in 0..300 {
        queued = phone.json(&["status"]).await.1["queued"].clone();
        if queued == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    watching.kill().await.unwrap();
    assert_eq!(queued, 0, "the watcher sent it once the network was back");

    // With everything sent, logging out also forgets the customers' details kept for the day.
    assert_eq!(phone.json(&["logout"]).await.0, 0);
    let (code, route) = phone.json(&["route"]).await;
    assert_eq!((code, &route["code"]), (2, &json!("no_manifest")), "{route}");
}
