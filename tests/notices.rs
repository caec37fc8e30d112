//! The customer hears from us at the moments that matter, by real email; nothing is lost or sent twice
//! when the mail server is away.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;
use todoke_e2e::smtp::SmtpServer;
use todoke_e2e::{TestApp, expect_json, shipment_request, tracking_number};
use todoke_server::notify::worker;

async fn app_sending_to(smtp: &SmtpServer) -> TestApp {
    let url = smtp.url();
    TestApp::spawn_with(move |settings| {
        settings.smtp_url = Some(url.parse().unwrap());
        settings.mail_from = "Todoke <notices@todoke.example>".into();
        // The test drives the outbox itself.
        settings.notice_worker = false;
    })
    .await
}

#[tokio::test]
async fn the_customer_hears_when_the_parcel_leaves_the_depot() {
    let Some(smtp) = SmtpServer::start() else { return };
    let app = app_sending_to(&smtp).await;
    let shipment = app.create_shipment(&shipment_request()).await;
    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    assert_eq!(worker::drain(&app.state.outbox, Utc::now()).await.unwrap(), 1);

    let received = smtp.messages();
    assert_eq!(received.len(), 1, "{received:?}");
    let mail = &received[0];
    let number = tracking_number(&shipment);
    assert_eq!(mail.subject, format!("本日お荷物をお届けします（{number}）"));
    assert_eq!(mail.from, "Todoke <notices@todoke.example>");
    assert!(mail.to.contains("hanako@example.jp"), "{}", mail.to);
    assert_eq!(mail.content_type, "multipart/alternative");
    let link = shipment["tracking_url"].as_str().unwrap();
    assert!(mail.text.contains(link), "the customer's own link: {}", mail.text);
    assert!(mail.text.contains("2026年11月24日 14:00〜16:00"), "{}", mail.text);
    assert!(mail.html.contains("<a href=") && mail.html.contains("配達状況の確認"), "{}", mail.html);
    assert!(!mail.html.contains("<img"), "no remote images");
    assert_eq!(mail.list_unsubscribe.as_deref(), Some(format!("<{link}>").as_str()));

    let notices = expect_json(
        app.get(&format!("/api/v1/shipments/{}/notifications", shipment["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(notices[0]["kind"], "dispatched");
    assert_eq!(notices[0]["status"], "sent");
    assert_eq!(notices[0]["message_id"], mail.message_id);
}

#[tokio::test]
async fn a_customer_who_opted_out_gets_no_email_and_the_record_says_so() {
    let Some(smtp) = SmtpServer::start() else { return };
    let app = app_sending_to(&smtp).await;
    let mut body = shipment_request();
    body["recipient"]["language"] = json!("en");
    body["preferences"] = json!({"method": {"kind": "hand_to_recipient"}, "email_notices": false});
    let shipment = app.create_shipment(&body).await;
    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    worker::drain(&app.state.outbox, Utc::now()).await.unwrap();
    assert!(smtp.messages().is_empty());
    let notices = expect_json(
        app.get(&format!("/api/v1/shipments/{}/notifications", shipment["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(notices[0]["status"], "suppressed");
}

#[tokio::test]
async fn notices_wait_out_an_outage_and_each_arrives_once() {
    let Some(mut smtp) = SmtpServer::start() else { return };
    let app = app_sending_to(&smtp).await;
    smtp.stop();
    let mut shipments = Vec::new();
    for _ in 0..100 {
        let shipment = app.create_shipment(&shipment_request()).await;
        app.record(&shipment, json!({"status": "at_depot"})).await;
        app.record(&shipment, json!({"status": "out_for_delivery"})).await;
        shipments.push(shipment);
    }
    // Every attempt fails, temporarily; the notices wait, and the server keeps answering.
    assert_eq!(worker::drain(&app.state.outbox, Utc::now()).await.unwrap(), 100);
    let waiting = expect_json(
        app.get(&format!("/api/v1/shipments/{}/notifications", shipments[0]["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(waiting[0]["status"], "pending");
    assert_eq!(waiting[0]["attempts"], 1);
    assert!(waiting[0]["last_error"].is_string());
    assert_eq!(app.public_get("/readyz").await.status(), StatusCode::OK);

    smtp.resume();
    // Past the backoff, everything goes out once.
    let later = Utc::now() + chrono::Duration::hours(2);
    assert_eq!(worker::drain(&app.state.outbox, later).await.unwrap(), 100);
    let received = smtp.messages();
    let ids: std::collections::BTreeSet<_> = received.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!((received.len(), ids.len()), (100, 100));
    assert_eq!(worker::drain(&app.state.outbox, later).await.unwrap(), 0, "nothing left");
}

#[tokio::test]
async fn delays_failed_attempts_and_deliveries_are_told_in_the_customers_language() {
    let Some(smtp) = SmtpServer::start() else { return };
    let app = app_sending_to(&smtp).await;
    let mut body = shipment_request();
    body["recipient"]["language"] = json!("en");
    let shipment = app.create_shipment(&body).await;
    let id = shipment["id"].as_str().unwrap();
    let number = tracking_number(&shipment);
    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    let delay = json!({"date": "2026-11-24", "start": "18:00", "end": "20:00"});
    assert_eq!(app.post_json(&format!("/api/v1/shipments/{id}/delays"), &delay).await.status(), StatusCode::ACCEPTED);
    assert_eq!(worker::drain(&app.state.outbox, Utc::now()).await.unwrap(), 2);
    app.record(&shipment, json!({"status": "attempt_failed", "reason": "recipient_not_home"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    // A second delay still waiting when the parcel is delivered is news from the past: never sent.
    assert_eq!(app.post_json(&format!("/api/v1/shipments/{id}/delays"), &delay).await.status(), StatusCode::ACCEPTED);
    app.record(&shipment, json!({"status": "delivered"})).await;
    assert_eq!(worker::drain(&app.state.outbox, Utc::now()).await.unwrap(), 4);
    let late_ones = smtp.messages().into_iter().filter(|m| m.subject.contains("running late")).count();
    assert_eq!(late_ones, 1);

    let subjects: std::collections::BTreeSet<String> = smtp.messages().into_iter().map(|m| m.subject).collect();
    let expected: std::collections::BTreeSet<String> = [
        format!("Your parcel is out for delivery today ({number})"),
        format!("Your parcel is running late ({number})"),
        format!("We could not deliver your parcel ({number})"),
        format!("Your parcel was delivered ({number})"),
    ]
    .into_iter()
    .collect();
    assert_eq!(subjects, expected, "two dispatch notices share a subject, each with its own Message-ID");
    let late = smtp.messages().into_iter().find(|m| m.subject.contains("running late")).unwrap();
    assert!(late.text.contains("New expected time: 24 Nov 2026 18:00–20:00"), "{}", late.text);
    let failed = smtp.messages().into_iter().find(|m| m.subject.contains("could not deliver")).unwrap();
    assert!(failed.text.contains("Nobody was home"), "{}", failed.text);

    // The customer's own view lists the emails.
    let k = shipment["tracking_url"].as_str().unwrap().split("?k=").nth(1).unwrap();
    let view = expect_json(app.public_get(&format!("/api/v1/track/{number}?k={k}")).await, StatusCode::OK).await;
    let kinds: Vec<&str> =
        view["details"]["emails"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["dispatched", "delayed", "attempt_failed", "dispatched", "delayed", "delivered"]);
    let statuses: Vec<&str> =
        view["details"]["emails"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["sent", "sent", "sent", "sent", "expired", "sent"]);
}

#[tokio::test]
async fn without_a_mail_server_notices_are_written_as_eml_files() {
    let app = TestApp::spawn_with(|settings| settings.notice_worker = false).await;
    let shipment = app.create_shipment(&shipment_request()).await;
    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    assert_eq!(worker::drain(&app.state.outbox, Utc::now()).await.unwrap(), 1);
    // Sent again (as after a crash), it is the same file.
    let files: Vec<_> = std::fs::read_dir(app.data_dir().join("outbox")).unwrap().filter_map(Result::ok).collect();
    assert_eq!(files.len(), 1);
    let bytes = std::fs::read(files[0].path()).unwrap();
    let mail = mailparse::parse_mail(&bytes).unwrap();
    use mailparse::MailHeaderMap;
    assert_eq!(
        mail.headers.get_first_value("Subject").unwrap(),
        format!("本日お荷物をお届けします（{}）", tracking_number(&shipment))
    );
    let notices = expect_json(
        app.get(&format!("/api/v1/shipments/{}/notifications", shipment["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    let id = notices[0]["message_id"].as_str().unwrap().trim_matches(['<', '>']);
    assert_eq!(files[0].file_name().to_string_lossy(), format!("{id}.eml"));
}

#[tokio::test]
async fn a_refused_address_fails_for_good_and_staff_see_why() {
    let Some(smtp) = SmtpServer::refusing() else { return };
    let app = app_sending_to(&smtp).await;
    let shipment = app.create_shipment(&shipment_request()).await;
    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    assert_eq!(worker::drain(&app.state.outbox, Utc::now()).await.unwrap(), 1);
    let later = Utc::now() + chrono::Duration::hours(2);
    assert_eq!(worker::drain(&app.state.outbox, later).await.unwrap(), 0, "no retry after a permanent refusal");
    let notices = expect_json(
        app.get(&format!("/api/v1/shipments/{}/notifications", shipment["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(notices[0]["status"], "failed");
    assert_eq!(notices[0]["attempts"], 1);
    assert!(notices[0]["last_error"].as_str().unwrap().contains("No such user"), "{}", notices[0]);
}

#[tokio::test]
async fn a_notice_that_cannot_go_out_in_time_expires() {
    let Some(mut smtp) = SmtpServer::start() else { return };
    let app = app_sending_to(&smtp).await;
    smtp.stop();
    let shipment = app.create_shipment(&shipment_request()).await;
    app.record(&shipment, json!({"status": "at_depot"})).await;
    app.record(&shipment, json!({"status": "out_for_delivery"})).await;
    worker::drain(&app.state.outbox, Utc::now()).await.unwrap();
    // A day later (the default limit), still undelivered: given up, not retried forever.
    worker::drain(&app.state.outbox, Utc::now() + chrono::Duration::hours(25)).await.unwrap();
    let notices = expect_json(
        app.get(&format!("/api/v1/shipments/{}/notifications", shipment["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(notices[0]["status"], "expired");
    assert!(notices[0]["last_error"].is_string());
}
