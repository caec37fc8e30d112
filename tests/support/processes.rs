//! The real programs as processes of their own: the server (started, killed, started again on the
//! same port and database), the driver app, and a network between them that the test can cut.

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

use crate::StoppedApp;

/// The server program on a test's database and data folder, after the test's own server stopped.
pub struct ServerProcess {
    program: PathBuf,
    child: Option<Child>,
    pub port: u16,
    env: Vec<(String, String)>,
}

impl ServerProcess {
    /// Starts `program` (the test's `CARGO_BIN_EXE_e2e-server`, which is `todoke-server`) on a free
    /// port with the app's database.
    pub async fn start(program: &str, app: &StoppedApp, more_env: &[(&str, &str)]) -> ServerProcess {
        let port = free_port();
        let mut env = vec![
            ("TODOKE_ADDR".to_string(), format!("127.0.0.1:{port}")),
            ("TODOKE_DATA_DIR".to_string(), app.data_dir().display().to_string()),
            ("TODOKE_DATABASE_URL".to_string(), app.database_url().to_string()),
            ("TODOKE_LOG".to_string(), "warn".to_string()),
        ];
        env.extend(more_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut server = ServerProcess { program: program.into(), child: None, port, env };
        server.resume().await;
        server
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process at once, as a crash or a pulled plug would.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts the program again on the same port, and waits until it answers.
    pub async fn resume(&mut self) {
        let child = Command::new(&self.program)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the server program starts");
        self.child = Some(child);
        let client = crate::http_client().build().expect("an HTTP client");
        for _ in 0..600 {
            if client.get(format!("{}/healthz", self.base())).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server program did not answer on port {}", self.port);
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// A TCP relay between the driver app and the server. It can hold back the answer to the n-th stop
/// action: the server has committed it, the app never hears so, and the test kills the app meanwhile.
pub struct Network {
    pub port: u16,
    upstream: u16,
    stop_actions_seen: Arc<AtomicUsize>,
    hold_after: Arc<AtomicUsize>,
    holding: Arc<AtomicBool>,
    offline: Arc<AtomicBool>,
    pub held: Arc<Notify>,
}

impl Network {
    pub async fn start(upstream: u16) -> Network {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a relay port");
        let port = listener.local_addr().unwrap().port();
        let network = Network {
            port,
            upstream,
            stop_actions_seen: Arc::new(AtomicUsize::new(0)),
            hold_after: Arc::new(AtomicUsize::new(usize::MAX)),
            holding: Arc::new(AtomicBool::new(false)),
            offline: Arc::new(AtomicBool::new(false)),
            held: Arc::new(Notify::new()),
        };
        let relay = network.relay();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay.clone().connection(client));
            }
        });
        network
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Holds back every answer from the server once `n` stop actions have been sent through.
    pub fn hold_answer_to_stop_action(&self, n: usize) {
        self.stop_actions_seen.store(0, Ordering::SeqCst);
        self.hold_after.store(n, Ordering::SeqCst);
    }

    /// No network: connections are dropped as they come.
    pub fn cut(&self) {
        self.offline.store(true, Ordering::SeqCst);
    }

    /// Lets everything through again.
    pub fn heal(&self) {
        self.offline.store(false, Ordering::SeqCst);
        self.hold_after.store(usize::MAX, Ordering::SeqCst);
        self.holding.store(false, Ordering::SeqCst);
    }

    fn relay(&self) -> Relay {
        Relay {
            upstream: self.upstream,
            seen: self.stop_actions_seen.clone(),
            hold_after: self.hold_after.clone(),
            holding: self.holding.clone(),
            offline: self.offline.clone(),
            held: self.held.clone(),
        }
    }
}

#[derive(Clone)]
struct Relay {
    upstream: u16,
    seen: Arc<AtomicUsize>,
    hold_after: Arc<AtomicUsize>,
    holding: Arc<AtomicBool>,
    offline: Arc<AtomicBool>,
    held: Arc<Notify>,
}

impl Relay {
    async fn connection(self, client: TcpStream) {
        if self.offline.load(Ordering::SeqCst) {
            return;
        }
        // The server down: the app sees the connection close, as with no network.
        let Ok(server) = TcpStream::connect(("127.0.0.1", self.upstream)).await else { return };
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let seen = self.seen.clone();
        let requests = tokio::spawn(async move {
            let mut buffer = vec![0; 64 * 1024];
            while let Ok(n) = client_read.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                let chunk = &buffer[..n];
                let actions = chunk.windows(26).filter(|w| w == b"POST /api/v1/driver/stops/").count();
                seen.fetch_add(actions, Ordering::SeqCst);
                if server_write.write_all(chunk).await.is_err() {
                    break;
                }
            }
        });
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(n) = server_read.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            // Answers after the n-th action went out are that action's (the app sends one at a time).
            if self.seen.load(Ordering::SeqCst) >= self.hold_after.load(Ordering::SeqCst) {
                if !self.holding.swap(true, Ordering::SeqCst) {
                    self.held.notify_one();
                }
                continue;
            }
            if client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        requests.abort();
    }
}

/// The driver app's program with its own folder, in a language, for a scripted day.
pub struct DriverApp {
    program: PathBuf,
    pub dir: PathBuf,
    _temporary: tempfile::TempDir,
}

impl DriverApp {
    /// The app with a fresh folder; `program` is the test's `CARGO_BIN_EXE_e2e-driver`.
    pub fn new(program: &str) -> DriverApp {
        let temporary = tempfile::tempdir().expect("a folder for the app");
        DriverApp { program: program.into(), dir: temporary.path().join("todoke-driver"), _temporary: temporary }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command.args(args).env("TODOKE_DRIVER_DIR", &self.dir).env("LANG", "en_US.UTF-8").kill_on_drop(true);
        command
    }

    /// Runs a command to its end: its exit code and what it printed.
    pub async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let Output { status, stdout, stderr } =
            self.command(args).stdin(Stdio::null()).output().await.expect("the driver app runs");
        (status.code().unwrap_or(-1), String::from_utf8_lossy(&stdout).into(), String::from_utf8_lossy(&stderr).into())
    }

    /// Runs a command with `--json` and returns its exit code and JSON.
    pub async fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = args.to_vec();
        all.push("--json");
        let (code, stdout, stderr) = self.run(&all).await;
        let value = serde_json::from_str(&stdout)
            .unwrap_or_else(|_| panic!("{args:?} did not print JSON (exit {code}): {stdout}\n{stderr}"));
        (code, value)
    }

    /// Logs in with the password on standard input.
    pub async fn login(&self, server: &str, email: &str, password: &str) -> (i32, Value) {
        let mut child = self
            .command(&["login", "--server", server, "--email", email, "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the driver app runs");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{password}\n").as_bytes()).await.unwrap();
        drop(stdin);
        let output = child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        (output.status.code().unwrap_or(-1), serde_json::from_str(&stdout).unwrap_or(Value::Null))
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).expect("the file exists").permissions().mode() & 0o777
    }
}
