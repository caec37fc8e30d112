//! A real Chromium, driven through ChromeDriver's W3C WebDriver protocol, sized like a phone and with
//! JavaScript off: the tracking page must work for everyone.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    client: Client,
    session: String,
}

impl Browser {
    /// Starts ChromeDriver and a phone-sized headless Chromium, or `None` when they are not installed
    /// (outside CI, where they must be).
    pub async fn phone() -> Option<Browser> {
        Browser::start(false).await
    }

    /// The same phone with scripts allowed: ChromeDriver needs them to wait for a form's navigation
    /// (the pages themselves run none).
    pub async fn phone_with_scripts() -> Option<Browser> {
        Browser::start(true).await
    }

    async fn start(scripts: bool) -> Option<Browser> {
        if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
            assert!(std::env::var_os("CI").is_none(), "CI needs chromium and chromium-driver installed");
            eprintln!("skipping: install chromium and chromium-driver to run the browser tests");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let client = crate::http_client().build().expect("an HTTP client");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if client.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("a profile folder");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         format!("--user-data-dir={}", profile.keep().display())],
                "mobileEmulation": {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0}},
                "prefs": {"profile.managed_default_content_settings.javascript": if scripts { 1 } else { 2 }}
            }
        }}});
        let session: Value = client
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("a session");
        let id = session["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}"));
        Some(Browser { driver, client, session: format!("{base}/session/{id}") })
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let request = self.client.request(method, format!("{}{path}", self.session));
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let answer: Value = request.send().await.expect("chromedriver answers").json().await.expect("JSON");
        assert!(answer["value"]["error"].is_null(), "WebDriver {path}: {answer}");
        answer["value"].clone()
    }

    pub async fn open(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn find(&self, css: &str) -> String {
        let found =
            self.command(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string()
    }

    /// The text a person sees in the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.command(reqwest::Method::GET, &format!("/element/{element}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let element = self.find(css).await;
        self.command(reqwest::Method::GET, &format!("/element/{element}/attribute/{name}"), None)
            .await
            .as_str()
            .map(str::to_string)
    }

    /// Follows a link as a tap would. (ChromeDriver's click waits forever for navigation when page
    /// JavaScript is off, so the browser is sent to the link's resolved address instead.)
    pub async fn follow(&self, css: &str) {
        let element = self.find(css).await;
        let href = self.command(reqwest::Method::GET, &format!("/element/{element}/property/href"), None).await;
        self.open(href.as_str().expect("a link")).await;
    }

    /// Waits (up to 10 s) until an element matching `css` is on the page, as after a form's navigation.
    pub async fn wait_for(&self, css: &str) {
        for _ in 0..100 {
            let found = self
                .command(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css})))
                .await;
            if found.as_array().is_some_and(|elements| !elements.is_empty()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never appeared");
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    pub async fn is_selected(&self, css: &str) -> bool {
        let element = self.find(css).await;
        self.command(reqwest::Method::GET, &format!("/element/{element}/selected"), None)
            .await
            .as_bool()
            .unwrap_or(false)
    }

    /// The size of an element's box as laid out: (x, width).
    pub async fn rect(&self, css: &str) -> (f64, f64) {
        let element = self.find(css).await;
        let rect = self.command(reqwest::Method::GET, &format!("/element/{element}/rect"), None).await;
        (rect["x"].as_f64().unwrap_or_default(), rect["width"].as_f64().unwrap_or_default())
    }

    pub async fn window_width(&self) -> f64 {
        let rect = self.command(reqwest::Method::GET, "/window/rect", None).await;
        rect["width"].as_f64().unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
