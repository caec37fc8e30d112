//! The customer hears from us at the moments that matter, by real email; nothing is lost or sent twice
//! when the mail server is away.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;
use todoke_e2e::smtp::SmtpServer;
use todoke_e2e::{TestApp, expect_json, shipment_request, tracking_number};
use todoke_server::notify::worker::{self, Outbox};
use todoke_server::store::{NewNotice, NoticeOutcome, NoticeRecord, NoticeStore, ShipmentKey, StoreError};
use uuid::Uuid;

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

/// Dispatches `shipments` parcels and queues `extra` preference confirmations for each on top: one
/// notice each to send, with its own Message-ID.
async fn queue_notices(app: &TestApp, shipments: usize, extra: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for _ in 0..shipments {
        let shipment = app.create_shipment(&shipment_request()).await;
        app.record(&shipment, json!({"status": "at_depot"})).await;
        app.record(&shipment, json!({"status": "out_for_delivery"})).await;
        let id: Uuid = shipment["id"].as_str().unwrap().parse().unwrap();
        let record = app.state.outbox.shipments.find_shipment(ShipmentKey::Id(id)).await.unwrap().unwrap();
        let confirmations: Vec<NewNotice> =
            (0..extra).flat_map(|_| app.state.outbox.mail.for_preferences(&record)).collect();
        app.state.outbox.notices.enqueue_notices(id, &confirmations, Utc::now()).await.unwrap();
        ids.push(id);
    }
    ids
}

async fn all_notices(app: &TestApp, shipments: &[Uuid]) -> Vec<NoticeRecord> {
    let mut all = Vec::new();
    for id in shipments {
        all.extend(app.state.outbox.notices.notices(*id).await.unwrap());
    }
    all
}

/// The outbox, counting the worker's trips: how many notices each claim returned and each finish marked.
struct Counting {
    inner: Arc<dyn NoticeStore>,
    claims: Mutex<Vec<usize>>,
    finishes: Mutex<Vec<usize>>,
}

#[async_trait::async_trait]
impl NoticeStore for Counting {
    async fn enqueue_notices(&self, id: Uuid, notices: &[NewNotice], now: DateTime<Utc>) -> Result<(), StoreError> {
        self.inner.enqueue_notices(id, notices, now).await
    }

    async fn claim_notices(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<NoticeRecord>, StoreError> {
        let claimed = self.inner.claim_notices(now, lease_until, limit).await?;
        self.claims.lock().unwrap().push(claimed.len());
        Ok(claimed)
    }

    async fn finish_notices(&self, outcomes: &[(Uuid, NoticeOutcome)]) -> Result<(), StoreError> {
        self.finishes.lock().unwrap().push(outcomes.len());
        self.inner.finish_notices(outcomes).await
    }

    async fn notices(&self, shipment_id: Uuid) -> Result<Vec<NoticeRecord>, StoreError> {
        self.inner.notices(shipment_id).await
    }
}

#[tokio::test]
async fn a_morning_of_notices_goes_out_in_batches_each_exactly_once() {
    let Some(smtp) = SmtpServer::start() else { return };
    let app = app_sending_to(&smtp).await;
    let shipments = queue_notices(&app, 40, 5).await;
    let counting = Arc::new(Counting {
        inner: app.state.outbox.notices.clone(),
        claims: Mutex::default(),
        finishes: Mutex::default(),
    });
    let outbox = Outbox { notices: counting.clone(), ..app.state.outbox.clone() };
    assert_eq!(worker::drain(&outbox, Utc::now()).await.unwrap(), 240);

    let received = smtp.messages();
    let received_ids: BTreeSet<String> = received.iter().map(|m| m.message_id.clone()).collect();
    let notices = all_notices(&app, &shipments).await;
    let queued_ids: BTreeSet<String> = notices.iter().map(|n| n.message_id.clone()).collect();
    assert_eq!(received.len(), 240, "each notice arrived once");
    assert_eq!(received_ids, queued_ids, "every notice arrived, and nothing else");
    assert!(notices.iter().all(|n| n.status == "sent" && n.attempts == 1 && n.sent_at.is_some()));

    // One transaction marks each batch, with as many outcomes as it claimed; the last claim finds none.
    let claims = counting.claims.lock().unwrap().clone();
    let finishes = counting.finishes.lock().unwrap().clone();
    assert_eq!(claims.last(), Some(&0));
    assert_eq!(finishes, claims[..claims.len() - 1], "claims {claims:?}, finishes {finishes:?}");
    assert!(claims.len() <= 240 / 32 + 1, "a trip to the database per batch, not per notice: {claims:?}");
}

#[tokio::test]
async fn a_claimed_batch_is_held_until_its_lease_ends_and_each_notice_keeps_its_own_outcome() {
    let app = TestApp::spawn_with(|settings| settings.notice_worker = false).await;
    let shipments = queue_notices(&app, 2, 2).await;
    let store = &app.state.outbox.notices;
    let now = Utc::now();
    let lease_until = now + chrono::Duration::minutes(2);

    let first = store.claim_notices(now, lease_until, 4).await.unwrap();
    let second = store.claim_notices(now, lease_until, 4).await.unwrap();
    assert_eq!((first.len(), second.len()), (4, 2));
    let ids = |batch: &[NoticeRecord]| batch.iter().map(|n| n.id).collect::<BTreeSet<_>>();
    assert!(ids(&first).is_disjoint(&ids(&second)), "no notice claimed twice within its lease");
    assert!(first.iter().chain(&second).all(|n| n.status == "sending" && n.attempts == 1));
    assert!(store.claim_notices(now, lease_until, 4).await.unwrap().is_empty(), "all are held");

    let retry_at = now + chrono::Duration::minutes(10);
    let outcomes = [
        NoticeOutcome::Sent { at: now },
        NoticeOutcome::Retry { at: retry_at, error: "421 try later".into() },
        NoticeOutcome::Failed { error: "550 no such user".into() },
        NoticeOutcome::Expired { error: "not sent in time".into() },
    ];
    let finished: Vec<(Uuid, NoticeOutcome)> = first.iter().map(|n| n.id).zip(outcomes.clone()).collect();
    store.finish_notices(&finished).await.unwrap();
    let stored = all_notices(&app, &shipments).await;
    let expected = [
        ("sent", None),
        ("pending", Some("421 try later")),
        ("failed", Some("550 no such user")),
        ("expired", Some("not sent in time")),
    ];
    for ((id, outcome), (status, error)) in finished.iter().zip(expected) {
        let notice = stored.iter().find(|n| n.id == *id).unwrap();
        assert_eq!(notice.status, status, "{outcome:?}");
        assert_eq!(notice.last_error.as_deref(), error, "{outcome:?}");
        assert_eq!(notice.sent_at.is_some(), status == "sent", "{outcome:?}");
    }
    let retried = stored.iter().find(|n| n.id == finished[1].0).unwrap();
    assert_eq!(retried.next_attempt_at.timestamp(), retry_at.timestamp());

    // After the retry's time and the second batch's lease: the retried notice and the second batch are
    // due again (their worker may have died); what was sent, failed or expired never is.
    let later = retry_at + chrono::Duration::seconds(1);
    let again = store.claim_notices(later, later + chrono::Duration::minutes(2), 10).await.unwrap();
    let expected: BTreeSet<Uuid> = ids(&second).into_iter().chain([finished[1].0]).collect();
    assert_eq!(ids(&again), expected);
    assert!(again.iter().all(|n| n.attempts == 2));
}
