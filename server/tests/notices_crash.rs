//! Killing the server while it sends loses no notice: after a restart every notice arrives, and any
//! message sent twice carries the same Message-ID.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PYTHON: &str = "/usr/bin/python3";
const NOTICES: usize = 200;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

fn server(dir: &Path, smtp_port: u16, worker: bool) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_todoke-server"));
    command
        .current_dir(dir)
        .env("TODOKE_ADDR", "127.0.0.1:0")
        .env("TODOKE_LOG", "info")
        .env("TODOKE_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
        .env("TODOKE_NOTICE_WORKER", worker.to_string())
        .env("TODOKE_NOTICE_LEASE_SECONDS", "2")
        .env("TODOKE_LOGIN_RATE_PER_MINUTE", "1000")
        .env("TODOKE_BOOTSTRAP_ADMIN_EMAIL", "admin@example.jp")
        .env("TODOKE_BOOTSTRAP_ADMIN_PASSWORD", "correct horse battery")
        .env_remove("TODOKE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("the server starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the server logs").expect("a line");
        if let Some(addr) = line.split("listening on http://").nth(1) {
            break addr.trim().to_string();
        }
    };
    // Keep reading so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn request(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or(serde_json::Value::Null)
}

fn received_ids(maildir: &Path) -> (usize, BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else { return (0, BTreeSet::new()) };
    let mut count = 0;
    let mut ids = BTreeSet::new();
    for entry in entries.filter_map(Result::ok) {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        if let Some(id) = text.lines().find_map(|l| l.strip_prefix("Message-ID: ")) {
            ids.insert(id.trim().to_string());
            count += 1;
        }
    }
    (count, ids)
}

#[test]
fn killing_the_server_mid_send_loses_nothing_and_duplicates_share_their_message_id() {
    if !Command::new(PYTHON).args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success()) {
        assert!(std::env::var_os("CI").is_none(), "CI needs python3-aiosmtpd installed");
        eprintln!("skipping: install python3-aiosmtpd");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let smtp_port = free_port();
    let mut smtp = Command::new(PYTHON)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{smtp_port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while TcpStream::connect(("127.0.0.1", smtp_port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }

    // Queue the notices with a server that does not send.
    let (mut queueing, addr) = server(dir.path(), smtp_port, false);
    let login = request(
        &addr,
        "POST",
        "/api/v1/auth/login",
        None,
        r#"{"email":"admin@example.jp","password":"correct horse battery"}"#,
    );
    let token = login["access_token"].as_str().expect("logged in").to_string();
    let mut message_ids = BTreeSet::new();
    for i in 0..NOTICES {
        let body = serde_json::json!({
            "external_ref": format!("CRASH-{i}"),
            "recipient": {"name": "山田 花子", "email": format!("c{i}@example.jp"), "language": "ja"},
            "address": {"lines": ["丸の内1-9-1"], "postal_code": "100-0005", "city": "千代田区", "country": "JP",
                        "lat": 35.68, "lon": 139.76},
            "promised": {"date": "2026-11-24", "window": {"start": "14:00", "end": "16:00"}},
            "parcels": [{"barcode": format!("49{i:011}"), "weight_g": 1000}]
        });
        let shipment = request(&addr, "POST", "/api/v1/shipments", Some(&token), &body.to_string());
        let id = shipment["id"].as_str().expect("created").to_string();
        for status in ["at_depot", "out_for_delivery"] {
            request(
                &addr,
                "POST",
                &format!("/api/v1/shipments/{id}/events"),
                Some(&token),
                &format!(r#"{{"status":"{status}"}}"#),
            );
        }
        let notices = request(&addr, "GET", &format!("/api/v1/shipments/{id}/notifications"), Some(&token), "");
        message_ids.insert(notices[0]["message_id"].as_str().unwrap().to_string());
    }
    queueing.kill().unwrap();
    queueing.wait().unwrap();

    // A sending server, killed hard once some notices are out.
    let (mut sending, _) = server(dir.path(), smtp_port, true);
    let started = Instant::now();
    while received_ids(&maildir).0 < NOTICES / 4 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    sending.kill().unwrap();
    sending.wait().unwrap();
    let at_crash = received_ids(&maildir).1.len();
    assert!(at_crash < NOTICES, "the crash came mid-queue ({at_crash} sent)");

    // Restarted, it finishes the queue, including what the dead one had claimed.
    let (mut restarted, _) = server(dir.path(), smtp_port, true);
    let started = Instant::now();
    while received_ids(&maildir).1.len() < NOTICES && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(100));
    }
    restarted.kill().unwrap();
    restarted.wait().unwrap();
    smtp.kill().unwrap();
    smtp.wait().unwrap();

    let (messages, ids) = received_ids(&maildir);
    assert_eq!(ids, message_ids, "every notice arrived, and nothing else");
    assert!(messages >= NOTICES, "{messages} messages for {NOTICES} notices");
    eprintln!(
        "{messages} messages for {NOTICES} notices ({} duplicates, each with its notice's Message-ID)",
        messages - NOTICES
    );
}
