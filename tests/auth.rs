//! Staff log in and stay logged in through a long shift; bad credentials of every kind are refused
//! with 401; merchants see only their own shipments; a customer's link opens their parcel only.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use todoke_e2e::{
    ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, expect_json, expect_problem, login, shipment_request, tracking_number,
};
use todoke_server::clock::ManualClock;

const SECRET: &str = "a-test-signing-secret-of-enough-length";

async fn app_with_known_secret() -> TestApp {
    TestApp::spawn_with(|settings| settings.jwt_secret = Some(SECRET.parse().unwrap())).await
}

#[tokio::test]
async fn a_dispatcher_logs_in_refreshes_through_the_shift_and_logs_out() {
    let app = TestApp::spawn().await;
    let session = login(&app.client, &app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["role"], "admin");
    assert!(session["expires_in"].as_i64().unwrap() > 60);
    let refresh_token = session["refresh_token"].as_str().unwrap().to_string();

    // The refresh token works once, and gives a new pair that works.
    let body = json!({"refresh_token": refresh_token});
    let renewed = expect_json(app.post_json_as("/api/v1/auth/refresh", &body, None).await, StatusCode::OK).await;
    let access = renewed["access_token"].as_str().unwrap();
    assert_eq!(app.get_as("/api/v1/shipments", Some(access)).await.status(), StatusCode::OK);

    // Presenting the spent one again means it was copied: the whole login ends, the new one included.
    expect_problem(
        app.post_json_as("/api/v1/auth/refresh", &body, None).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
    let next = json!({"refresh_token": renewed["refresh_token"]});
    expect_problem(
        app.post_json_as("/api/v1/auth/refresh", &next, None).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;

    // Logging out revokes the login's refresh tokens.
    let session = login(&app.client, &app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let body = json!({"refresh_token": session["refresh_token"]});
    assert_eq!(app.post_json_as("/api/v1/auth/logout", &body, None).await.status(), StatusCode::NO_CONTENT);
    expect_problem(
        app.post_json_as("/api/v1/auth/refresh", &body, None).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_then_the_account_locks() {
    let app = TestApp::spawn().await;
    let wrong = json!({"email": ADMIN_EMAIL, "password": "not the password at all"});
    for _ in 0..5 {
        expect_problem(
            app.post_json_as("/api/v1/auth/login", &wrong, None).await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
    let response =
        app.post_json_as("/api/v1/auth/login", &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}), None).await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 60, "locked for a while: {retry_after}");
    expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "account_locked").await;

    // Unknown accounts answer exactly like wrong passwords.
    let nobody = json!({"email": "nobody@example.jp", "password": "whatever it is"});
    expect_problem(
        app.post_json_as("/api/v1/auth/login", &nobody, None).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn logins_from_one_address_are_rate_limited() {
    let app = TestApp::spawn_with(|settings| settings.login_rate_per_minute = 6).await;
    let wrong = json!({"email": "someone@example.jp", "password": "guessing guessing"});
    let mut limited = None;
    for _ in 0..10 {
        let response = app.post_json_as("/api/v1/auth/login", &wrong, None).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("the limit kicks in");
    assert!(response.headers().contains_key("retry-after"));
    expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

/// Signs claims with the server's own secret unless told otherwise.
fn forge(header: Header, claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

#[tokio::test]
async fn every_kind_of_bad_credential_gets_401_problem() {
    let app = app_with_known_secret().await;
    let real = app.admin_token.clone();
    let header = jsonwebtoken::decode_header(&real).unwrap();
    let payload = URL_SAFE_NO_PAD.decode(real.split('.').nth(1).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = claims.clone();
        change(&mut claims);
        claims
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        app.get_as("/api/v1/shipments", Some(&forge(header.clone(), &claims, SECRET))).await.status(),
        StatusCode::OK
    );

    let soon = forge(header.clone(), &with(&|c| c["nbf"] = json!(now + 10)), SECRET);
    assert_eq!(app.get_as("/api/v1/shipments", Some(&soon)).await.status(), StatusCode::OK, "within the leeway");

    let mut typless = header.clone();
    typless.typ = Some("JWT".into());
    let mut hs512 = header.clone();
    hs512.alg = Algorithm::HS512;
    let mut unknown_kid = header.clone();
    unknown_kid.kid = Some("k-unknown".into());
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            forge(
                header.clone(),
                &with(&|c| {
                    c["iat"] = json!(now - 7200);
                    c["exp"] = json!(now - 3600);
                }),
                SECRET,
            ),
            "token_expired",
        ),
        // Not valid before an hour from now: refused, with the same leeway as an expiry.
        ("not yet valid", forge(header.clone(), &with(&|c| c["nbf"] = json!(now + 3600)), SECRET), "invalid_token"),
        ("wrong signature", forge(header.clone(), &claims, "some-other-secret-of-enough-length!!"), "invalid_token"),
        ("alg none", unsigned, "invalid_token"),
        ("another algorithm", forge(hs512, &claims, SECRET), "invalid_token"),
        ("wrong audience", forge(header.clone(), &with(&|c| c["aud"] = json!("another-api")), SECRET), "invalid_token"),
        ("wrong issuer", forge(header.clone(), &with(&|c| c["iss"] = json!("someone")), SECRET), "invalid_token"),
        ("not an access token", forge(typless, &claims, SECRET), "invalid_token"),
        ("unknown key id", forge(unknown_kid, &claims, SECRET), "invalid_token"),
        ("malformed", "not.a.jwt".to_string(), "invalid_token"),
        ("revoked API key", "tdk_revokedOrNeverIssued".to_string(), "invalid_api_key"),
    ];
    for (case, token, code) in cases {
        let response = app.get_as("/api/v1/shipments", Some(&token)).await;
        assert!(response.headers().contains_key("www-authenticate"), "{case}");
        expect_problem(response, StatusCode::UNAUTHORIZED, code).await;
    }
    let basic = app
        .client
        .get(app.url("/api/v1/shipments"))
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .unwrap();
    expect_problem(basic, StatusCode::UNAUTHORIZED, "malformed_authorization").await;
    expect_problem(app.public_get("/api/v1/shipments").await, StatusCode::UNAUTHORIZED, "authentication_required")
        .await;
}

#[tokio::test]
async fn a_merchant_key_sees_only_its_own_shipments_and_can_be_revoked() {
    let app = TestApp::spawn().await;
    let (key_a, key_b) = (app.api_key("shop-a").await, app.api_key("shop-b").await);
    let body = shipment_request();
    let a = expect_json(app.post_json_as("/api/v1/shipments", &body, Some(&key_a)).await, StatusCode::CREATED).await;
    // The same order number at another merchant is another shipment.
    let b = expect_json(app.post_json_as("/api/v1/shipments", &body, Some(&key_b)).await, StatusCode::CREATED).await;
    assert_ne!(a["id"], b["id"]);

    let own = expect_json(app.get_as("/api/v1/shipments", Some(&key_a)).await, StatusCode::OK).await;
    assert_eq!(own["items"].as_array().unwrap().len(), 1);
    assert_eq!(own["items"][0]["id"], a["id"]);
    let others = format!("/api/v1/shipments/{}", b["id"].as_str().unwrap());
    expect_problem(app.get_as(&others, Some(&key_a)).await, StatusCode::NOT_FOUND, "shipment_not_found").await;
    let events = format!("/api/v1/shipments/{}/events", a["id"].as_str().unwrap());
    expect_problem(
        app.post_json_as(&events, &json!({"status": "at_depot"}), Some(&key_a)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Staff see both, and the timeline says who created each.
    let list = expect_json(app.get("/api/v1/shipments").await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let created =
        expect_json(app.get(&format!("/api/v1/shipments/{}", a["id"].as_str().unwrap())).await, StatusCode::OK).await;
    assert!(created["events"][0]["actor"].as_str().unwrap().starts_with("merchant:shop-a"), "{created}");

    let keys = expect_json(app.get("/api/v1/api-keys").await, StatusCode::OK).await;
    let id_a = keys.as_array().unwrap().iter().find(|k| k["merchant"] == "shop-a").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!keys.to_string().contains(&key_a), "keys are never shown again");
    let revoke = app
        .client
        .delete(app.url(&format!("/api/v1/api-keys/{id_a}")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    expect_problem(app.get_as("/api/v1/shipments", Some(&key_a)).await, StatusCode::UNAUTHORIZED, "invalid_api_key")
        .await;
}

#[tokio::test]
async fn the_customer_link_opens_one_parcel_until_a_while_after_delivery() {
    let app = TestApp::spawn().await;
    let x = app.create_shipment(&shipment_request()).await;
    let y = app.create_shipment(&shipment_request()).await;
    let link_x = x["tracking_url"].as_str().unwrap();
    let k_x = link_x.split("?k=").nth(1).unwrap();

    let full =
        expect_json(app.public_get(&format!("/api/v1/track/{}?k={k_x}", tracking_number(&x))).await, StatusCode::OK)
            .await;
    assert_eq!(full["details"]["recipient"]["name"], "山田 花子");
    assert_eq!(full["details"]["address"]["lines"][0], "丸の内1-9-1");
    let page = app.client.get(link_x).send().await.unwrap();
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("山田 花子"), "{html}");
    assert!(html.contains(&format!("k={k_x}\" hreflang=\"en\"")), "the switch keeps the link: {html}");

    // X's link does not open Y, and a bare number or a forged key opens nothing personal.
    let other =
        expect_json(app.public_get(&format!("/api/v1/track/{}?k={k_x}", tracking_number(&y))).await, StatusCode::OK)
            .await;
    assert!(other["details"].is_null());
    let bare =
        expect_json(app.public_get(&format!("/api/v1/track/{}", tracking_number(&x))).await, StatusCode::OK).await;
    assert!(bare["details"].is_null());
    expect_problem(
        app.public_get(&format!("/api/v1/track/{}?k=k1.AAAA", tracking_number(&x))).await,
        StatusCode::UNAUTHORIZED,
        "invalid_link",
    )
    .await;
    // The customer link is no key to the staff API.
    expect_problem(app.public_get(&format!("/api/v1/shipments?k={k_x}")).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
}

#[tokio::test]
async fn a_customer_link_expires_the_configured_time_after_delivery() {
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let app = TestApp::spawn_at(clock.clone(), |_| {}).await;
    let shipment = app.create_shipment(&shipment_request()).await;
    let k = shipment["tracking_url"].as_str().unwrap().split("?k=").nth(1).unwrap().to_string();
    let track = format!("/api/v1/track/{}?k={k}", tracking_number(&shipment));
    assert!(
        !expect_json(app.public_get(&track).await, StatusCode::OK).await["details"].is_null(),
        "open before delivery"
    );
    for step in ["at_depot", "out_for_delivery", "delivered"] {
        app.record(&shipment, json!({"status": step})).await;
    }
    // The default: 30 days after delivery the customer still sees everything, a day later no more.
    clock.advance(Duration::days(30) - Duration::minutes(1));
    let month = expect_json(app.public_get(&track).await, StatusCode::OK).await;
    assert!(!month["details"].is_null(), "open for 30 days after delivery: {month}");
    clock.advance(Duration::days(1));
    let after = expect_json(app.public_get(&track).await, StatusCode::OK).await;
    assert!(after["details"].is_null(), "closed 30 days after delivery: {after}");
    assert_eq!(after["status"], "delivered", "the public view stays");
}

/// Someone starts the server again with a new first administrator in mind, on a database that has
/// accounts: the settings cannot apply, and the server says so, with how to start afresh.
#[tokio::test]
async fn first_administrator_settings_on_a_database_with_accounts_are_ignored_out_loud() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let app = TestApp::spawn().await.stop().await;
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_e2e-server"))
        .env("TODOKE_ADDR", "127.0.0.1:0")
        .env("TODOKE_DATA_DIR", app.data_dir())
        .env("TODOKE_DATABASE_URL", app.database_url())
        .env("TODOKE_LOG", "info")
        .env("TODOKE_BOOTSTRAP_ADMIN_EMAIL", "newboss@example.jp")
        .env("TODOKE_BOOTSTRAP_ADMIN_PASSWORD", "a brand new password")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the server program starts");
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let (mut warning, mut base) = (None, None);
    let read = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("WARN") && line.contains("BOOTSTRAP") {
                warning = Some(line);
            } else if let Some(at) = line.find("listening on ") {
                base = Some(line[at + "listening on ".len()..].trim().to_string());
                break;
            }
        }
    });
    read.await.expect("the server starts within a minute");
    let warning = warning.expect("a warning before the server listens");
    for said in [
        "TODOKE_BOOTSTRAP_ADMIN_EMAIL and TODOKE_BOOTSTRAP_ADMIN_PASSWORD ignored",
        "already has accounts",
        "remove the data folder",
        "todoke-server user add",
    ] {
        assert!(warning.contains(said), "{said:?} in {warning}");
    }

    // As the warning says: the new administrator does not exist; the first one still logs in.
    let (client, base) = (todoke_e2e::http_client().build().unwrap(), base.expect("the server listens"));
    let body = json!({"email": "newboss@example.jp", "password": "a brand new password"});
    let refused = client.post(format!("{base}/api/v1/auth/login")).json(&body).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    login(&client, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    server.kill().await.unwrap();
}
