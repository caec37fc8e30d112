//! The `todoke-server` program as a newcomer meets it: no configuration, a help text, a settings file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn server(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_todoke-server"));
    command.current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("TODOKE_")) {
        command.env_remove(key);
    }
    command
}

/// Runs the server until it logs where it listens; returns the process and every line logged so far.
fn start(mut command: Command) -> (Child, Vec<String>) {
    let mut child = command.spawn().expect("the server starts");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(60)) {
        let done = line.contains("API description");
        lines.push(line);
        if done {
            return (child, lines);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start: {lines:?}");
}

fn listening_address(lines: &[String]) -> String {
    let line = lines.iter().find(|l| l.contains("listening on http://")).expect("the bound address is logged");
    line.rsplit("http://").next().unwrap().trim().to_string()
}

fn get(addr: &str, path: &str) -> String {
    request(addr, &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"))
}

fn post_json(addr: &str, path: &str, body: &str) -> String {
    request(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn request(addr: &str, text: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("the server accepts connections");
    stream.write_all(text.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn a_fresh_checkout_runs_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = server(dir.path());
    command.env("TODOKE_ADDR", "127.0.0.1:0");
    let (mut child, lines) = start(command);
    let addr = listening_address(&lines);
    let log = lines.join("\n");
    assert!(log.contains("database: SQLite at sqlite://data/todoke.db"), "{log}");
    assert!(log.contains(&format!("tracking page: http://{addr}/t/")), "{log}");
    assert!(!log.contains('\u{1b}'), "no colour codes when not on a terminal");
    // The first administrator's generated password is shown once, and works.
    let password = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("Password (shown once): "))
        .expect("the generated password is printed")
        .to_string();
    assert!(log.contains("First administrator: admin@todoke.local"), "{log}");
    let body = format!(r#"{{"email": "admin@todoke.local", "password": "{password}"}}"#);
    assert!(post_json(&addr, "/api/v1/auth/login", &body).starts_with("HTTP/1.1 200"));

    assert!(get(&addr, "/readyz").starts_with("HTTP/1.1 200"));
    assert!(dir.path().join("data/todoke.db").exists());
    assert!(dir.path().join("data/todoke.db-wal").exists(), "SQLite runs in WAL mode");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn settings_come_from_todoke_toml_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("todoke.toml"),
        "addr = \"127.0.0.1:1\"\ndata_dir = \"store\"\npublic_url = \"https://track.example.jp/\"\n",
    )
    .unwrap();
    let mut command = server(dir.path());
    command.env("TODOKE_ADDR", "127.0.0.1:0");
    let (mut child, lines) = start(command);
    let log = lines.join("\n");
    assert!(log.contains("tracking page: https://track.example.jp/t/"), "{log}");
    assert!(log.contains("sqlite://store/todoke.db"), "{log}");
    assert!(!log.contains("127.0.0.1:1\n") && !listening_address(&lines).ends_with(":1"));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn help_documents_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let output = server(dir.path()).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for setting in [
        "TODOKE_ADDR",
        "TODOKE_DATA_DIR",
        "TODOKE_DATABASE_URL",
        "TODOKE_PUBLIC_URL",
        "TODOKE_MAX_BODY_BYTES",
        "TODOKE_LOG",
        "TODOKE_CONFIG",
    ] {
        assert!(help.contains(setting), "--help does not mention {setting}:\n{help}");
    }
}

#[test]
fn a_database_password_never_reaches_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = server(dir.path());
    // Nothing listens on port 1, so start-up fails and says why.
    command
        .env("TODOKE_ADDR", "127.0.0.1:0")
        .env("TODOKE_DATABASE_URL", "postgres://todoke:hunter2secret@127.0.0.1:1/todoke");
    let output = command.output().unwrap();
    assert!(!output.status.success());
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("connecting to PostgreSQL"), "{text}");
    assert!(!text.contains("hunter2secret"), "{text}");
}

#[test]
fn a_wrong_setting_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = server(dir.path());
    command.env("TODOKE_ADDR", "localhost");
    let output = command.output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TODOKE_ADDR") && stderr.contains("HOST:PORT"), "{stderr}");
}

#[test]
fn an_account_is_added_from_the_command_line_with_the_password_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let mut add = server(dir.path());
    add.args(["user", "add", "--email", "Dispatch@Example.jp", "--role", "dispatcher", "--name", "配車 太郎"])
        .env("TODOKE_BOOTSTRAP_ADMIN_PASSWORD", "bootstrap-secret-password")
        .stdin(Stdio::piped());
    let mut child = add.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"a long dispatcher password\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("created dispatcher dispatch@example.jp"), "{stdout}");

    let mut command = server(dir.path());
    command.env("TODOKE_ADDR", "127.0.0.1:0").env("TODOKE_BOOTSTRAP_ADMIN_PASSWORD", "bootstrap-secret-password");
    let (mut child, lines) = start(command);
    let addr = listening_address(&lines);
    assert!(!lines.join("\n").contains("bootstrap-secret-password"), "secrets never reach the output");
    let body = r#"{"email": "dispatch@example.jp", "password": "a long dispatcher password"}"#;
    let answer = post_json(&addr, "/api/v1/auth/login", body);
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains(r#""role":"dispatcher""#), "{answer}");
    child.kill().unwrap();
    child.wait().unwrap();

    // A weak password is refused with the reason, and nothing is stored.
    let mut weak = server(dir.path());
    weak.args(["user", "add", "--email", "x@example.jp", "--role", "support"]).stdin(Stdio::piped());
    let mut child = weak.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 12 characters"));
}
