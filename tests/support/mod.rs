//! Starts the real server for one test, on its own database, and speaks to it over HTTP.
//!
//! The backend comes from `TODOKE_TEST_DATABASE_URL`: unset means a fresh SQLite file in a temporary
//! folder; a `postgres://` URL names a server on which each test creates (and afterwards drops) its
//! own database.

pub mod browser;
pub mod processes;
pub mod simulation;
pub mod smtp;
pub mod warehouse;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use todoke_server::app::AppState;
use todoke_server::clock::{Clock, ManualClock, SystemClock};
use todoke_server::store::{Backend, Store};
use todoke_server::{Application, Settings};
use tokio::sync::oneshot;

pub const ADMIN_EMAIL: &str = "admin@example.jp";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    /// The first administrator's access token, sent by the plain request helpers.
    pub admin_token: String,
    /// The server's own storage, for the few checks that HTTP cannot make.
    pub store: Arc<dyn Store>,
    /// The server's state, to drive its background work from a test without waiting.
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    database: Arc<TestDatabase>,
    adjust: Arc<Adjust>,
}

type Adjust = dyn Fn(&mut Settings) + Send + Sync;

struct TestDatabase {
    url: String,
    dir: tempfile::TempDir,
    /// For PostgreSQL: the server to drop the database on, and its name.
    postgres: Option<(String, String)>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Starts with settings adjusted by `adjust`.
    pub async fn spawn_with(adjust: impl Fn(&mut Settings) + Send + Sync + 'static) -> TestApp {
        let database = TestDatabase::fresh().await;
        TestApp::start(Arc::new(database), Arc::new(adjust), Arc::new(SystemClock))
            .await
            .expect("the application starts")
    }

    /// Starts with the server's time read from `clock`, which the test sets and moves on: a day replayed
    /// at the date it chooses, weeks passed in an instant.
    pub async fn spawn_at(clock: Arc<ManualClock>, adjust: impl Fn(&mut Settings) + Send + Sync + 'static) -> TestApp {
        let database = TestDatabase::fresh().await;
        TestApp::start(Arc::new(database), Arc::new(adjust), clock).await.expect("the application starts")
    }

    /// Starts on a database that `prepare`, given its URL, has filled first: one an older server left, say.
    pub async fn spawn_on(prepare: impl AsyncFnOnce(&str)) -> TestApp {
        let database = TestDatabase::fresh().await;
        prepare(&database.url).await;
        TestApp::start(Arc::new(database), Arc::new(|_: &mut Settings| {}), Arc::new(SystemClock))
            .await
            .expect("the application starts")
    }

    /// Another server instance on the same database, as behind a load balancer.
    pub async fn sibling(&self) -> anyhow::Result<TestApp> {
        TestApp::start(self.database.clone(), self.adjust.clone(), self.state.clock.clone()).await
    }

    async fn start(database: Arc<TestDatabase>, adjust: Arc<Adjust>, clock: Arc<dyn Clock>) -> anyhow::Result<TestApp> {
        let mut settings = Settings::for_database(&database.url, database.dir.path(), (ADMIN_EMAIL, ADMIN_PASSWORD));
        // Tests log in many times from one address; the limit itself has a test of its own.
        settings.login_rate_per_minute = 10_000;
        adjust(&mut settings);
        let app = Application::build_with_clock(&settings, clock).await?;
        let base = format!("http://{}", app.local_addr());
        let store = app.state().outbox.shipments.clone();
        let state = app.state().clone();
        let (shutdown, stopped) = oneshot::channel();
        let serving = tokio::spawn(app.run(async move {
            let _ = stopped.await;
        }));
        let client = http_client().build().expect("an HTTP client");
        let admin_token = login(&client, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"]
            .as_str()
            .expect("the administrator logs in")
            .to_string();
        Ok(TestApp {
            base,
            client,
            admin_token,
            store,
            state,
            shutdown: Some(shutdown),
            serving: Some(serving),
            database,
            adjust,
        })
    }

    /// Stops this server and lets go of its storage, keeping the database and data folder for a server
    /// program started on them (SQLite admits one server process at a time).
    pub async fn stop(mut self) -> StoppedApp {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(serving) = self.serving.take() {
            let _ = serving.await;
        }
        StoppedApp { admin_token: self.admin_token.clone(), database: self.database.clone() }
    }

    /// The server's data folder (SQLite file, `.eml` outbox).
    pub fn data_dir(&self) -> &std::path::Path {
        self.database.dir.path()
    }

    /// The database the server uses, for the few checks that only its tables can show.
    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// How many location points the database holds: the one check no endpoint answers.
    pub async fn stored_points(&self) -> i64 {
        count(self.database_url(), "SELECT COUNT(*) FROM driver_locations").await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET as the administrator.
    pub async fn get(&self, path: &str) -> Response {
        self.get_as(path, Some(&self.admin_token)).await
    }

    /// GET with no credentials at all, as anyone on the internet.
    pub async fn public_get(&self, path: &str) -> Response {
        self.get_as(path, None).await
    }

    pub async fn get_as(&self, path: &str, token: Option<&str>) -> Response {
        let request = self.client.get(self.url(path));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request.send().await.expect("the server answers")
    }

    /// POST JSON as the administrator.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.post_json_as(path, body, Some(&self.admin_token)).await
    }

    pub async fn post_json_as(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        let request = self.client.post(self.url(path)).json(body);
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request.send().await.expect("the server answers")
    }

    /// Creates an account (as the administrator) and logs in with it; returns its access token.
    pub async fn user_token(&self, role: &str) -> String {
        let email = format!("{role}-{}@example.jp", order_ref().to_lowercase());
        let body = json!({"email": email, "password": ADMIN_PASSWORD, "role": role, "name": role});
        expect_json(self.post_json("/api/v1/users", &body).await, StatusCode::CREATED).await;
        login(&self.client, &self.base, &email, ADMIN_PASSWORD).await["access_token"].as_str().unwrap().to_string()
    }

    /// Creates an API key for `merchant` (as the administrator).
    pub async fn api_key(&self, merchant: &str) -> String {
        let body = json!({"merchant": merchant, "name": "web shop"});
        let created = expect_json(self.post_json("/api/v1/api-keys", &body).await, StatusCode::CREATED).await;
        created["key"].as_str().unwrap().to_string()
    }

    /// Creates a shipment and returns the server's answer, which must be 201.
    pub async fn create_shipment(&self, body: &Value) -> Value {
        let response = self.post_json("/api/v1/shipments", body).await;
        expect_json(response, StatusCode::CREATED).await
    }

    /// Records a status change, which must succeed.
    pub async fn record(&self, shipment: &Value, event: Value) -> Value {
        let path = format!("/api/v1/shipments/{}/events", shipment["id"].as_str().expect("an id"));
        expect_json(self.post_json(&path, &event).await, StatusCode::OK).await
    }
}

/// A test's database and data folder after its in-process server stopped, with the administrator's
/// token (still good: the signing secret is kept in the database).
pub struct StoppedApp {
    pub admin_token: String,
    database: Arc<TestDatabase>,
}

impl StoppedApp {
    pub fn data_dir(&self) -> &std::path::Path {
        self.database.dir.path()
    }

    pub fn database_url(&self) -> &str {
        &self.database.url
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl TestDatabase {
    /// A database of its own: a SQLite file in a temporary folder, or a new PostgreSQL database.
    async fn fresh() -> TestDatabase {
        let dir = tempfile::tempdir().expect("a temporary folder");
        match std::env::var("TODOKE_TEST_DATABASE_URL").ok().filter(|url| !url.is_empty()) {
            Some(admin_url) => {
                assert!(admin_url.starts_with("postgres"), "TODOKE_TEST_DATABASE_URL must be a postgres:// URL");
                let name = format!("todoke_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("connecting to PostgreSQL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("creating the test database");
                TestDatabase { url: with_database(&admin_url, &name), dir, postgres: Some((admin_url, name)) }
            }
            None => {
                let url = format!("sqlite://{}", dir.path().join("todoke.db").display());
                TestDatabase { url, dir, postgres: None }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else { return };
        // Drop may run inside the test's runtime, so the clean-up gets a thread and runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await.ok()
            })
        });
        let _ = cleanup.join();
    }
}

/// An HTTP client builder. The workspace's reqwest brings rustls without a crypto provider (the driver
/// app picks ring, which the server's mail already uses), so one is installed first.
pub fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
}

/// Logs in and returns the token response (whatever its status, as JSON).
pub async fn login(client: &Client, base: &str, email: &str, password: &str) -> Value {
    let body = json!({"email": email, "password": password});
    let response =
        client.post(format!("{base}/api/v1/auth/login")).json(&body).send().await.expect("the server answers");
    response.json().await.expect("JSON")
}

/// Runs a `SELECT COUNT(*) …` on a test's database directly, for what no endpoint shows (and while no
/// server of the test's own runs).
pub async fn count(database_url: &str, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match Backend::from_url(database_url) {
        Some(Backend::Sqlite) => {
            let mut db = sqlx::SqliteConnection::connect(database_url).await.expect("the test database");
            sqlx::query_scalar(sql).fetch_one(&mut db).await.expect("counting")
        }
        _ => {
            let mut db = sqlx::PgConnection::connect(database_url).await.expect("the test database");
            sqlx::query_scalar(sql).fetch_one(&mut db).await.expect("counting")
        }
    }
}

fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let server = match base.rsplit_once('/') {
        Some((server, _)) if server.contains("://") && !server.ends_with('/') => server,
        _ => base.trim_end_matches('/'),
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// Asserts the status and returns the JSON body.
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.expect("a body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Asserts an RFC 9457 problem with the given status and code, and returns it.
pub async fn expect_problem(response: Response, status: StatusCode, code: &str) -> Value {
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap_or_default().to_string());
    let problem = expect_json(response, status).await;
    assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{problem}");
    assert_eq!(problem["code"], code, "{problem}");
    assert_eq!(problem["status"], status.as_u16(), "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{problem}");
    problem
}

static ORDER: AtomicU64 = AtomicU64::new(1);

/// A fresh order number, unique within the test run.
pub fn order_ref() -> String {
    format!("ORDER-{}-{}", std::process::id(), ORDER.fetch_add(1, Ordering::Relaxed))
}

/// The documented example body, with a fresh order number and a fresh barcode (barcodes are unique per
/// merchant).
pub fn shipment_request() -> Value {
    let external_ref = order_ref();
    json!({
        "external_ref": external_ref,
        "recipient": {"name": "山田 花子", "email": "hanako@example.jp", "phone": "+81 90-1234-5678", "language": "ja"},
        "address": {"lines": ["丸の内1-9-1", "グラントウキョウ 12F"], "postal_code": "100-0005",
                    "city": "千代田区", "region": "東京都", "country": "JP", "lat": 35.6812, "lon": 139.7671},
        "promised": {"date": "2026-11-24", "window": {"start": "14:00", "end": "16:00"}},
        "parcels": [{"barcode": format!("JP-{external_ref}"), "weight_g": 1200}]
    })
}

pub fn tracking_number(shipment: &Value) -> &str {
    shipment["tracking_number"].as_str().expect("a tracking number")
}

/// A file of the shared fixtures (real phone photos, a decompression bomb), which live beside the
/// repository: `TODOKE_FIXTURES`, else `../shared/fixtures` from the repository's root.
pub fn fixture(path: &str) -> Vec<u8> {
    let file = fixtures_root().join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("reading the fixture {} (set TODOKE_FIXTURES): {e}", file.display()))
}

fn fixtures_root() -> std::path::PathBuf {
    std::env::var_os("TODOKE_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

/// Whether the shared fixtures are there: a clone without them skips the tests that need real photos
/// and says so, except in CI, where they must be.
pub fn have_fixtures() -> bool {
    let present = fixtures_root().join("photos").is_dir();
    assert!(present || std::env::var_os("CI").is_none(), "CI needs the shared fixtures (TODOKE_FIXTURES)");
    if !present {
        eprintln!("skipped: the shared fixtures are not at {} (set TODOKE_FIXTURES)", fixtures_root().display());
    }
    present
}
