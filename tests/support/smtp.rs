//! A real SMTP server for tests: Debian's aiosmtpd in its own process, storing what it receives in a
//! Maildir, which tests read back and parse.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mailparse::{MailHeaderMap, ParsedMail};

const PYTHON: &str = "/usr/bin/python3";

/// An aiosmtpd handler that refuses every recipient permanently.
const REFUSE: &str = "class Refuse:\n    async def handle_RCPT(self, server, session, envelope, address, options):\n        return '550 5.1.1 No such user here'\n";

pub struct SmtpServer {
    process: Option<Child>,
    pub port: u16,
    maildir: PathBuf,
    /// The folder of a custom handler module, when this server refuses mail.
    handler: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

/// A message as received, parsed.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub subject: String,
    pub from: String,
    pub to: String,
    pub list_unsubscribe: Option<String>,
    /// `multipart/alternative` and so on.
    pub content_type: String,
    pub text: String,
    pub html: String,
    /// Parts shown inside the HTML (`cid:`), by their Content-ID without brackets.
    pub inline: Vec<InlinePart>,
}

#[derive(Debug, Clone)]
pub struct InlinePart {
    pub content_id: String,
    pub mimetype: String,
    pub bytes: Vec<u8>,
}

impl SmtpServer {
    /// Starts a server on a free loopback port, or `None` when aiosmtpd is not installed (outside CI,
    /// where it must be).
    pub fn start() -> Option<SmtpServer> {
        SmtpServer::start_with(None)
    }

    /// A server that refuses every recipient with `550`, as for an address that does not exist.
    pub fn refusing() -> Option<SmtpServer> {
        SmtpServer::start_with(Some(REFUSE))
    }

    fn start_with(handler: Option<&str>) -> Option<SmtpServer> {
        let installed = Command::new(PYTHON).args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
        if !installed {
            assert!(std::env::var_os("CI").is_none(), "CI needs python3-aiosmtpd installed");
            eprintln!("skipping: install python3-aiosmtpd to run the email tests");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let dir = tempfile::tempdir().expect("a folder");
        let maildir = dir.path().join("maildir");
        let handler = handler.map(|code| {
            std::fs::write(dir.path().join("refuse.py"), code).expect("the handler is written");
            dir.path().to_path_buf()
        });
        let mut server = SmtpServer { process: None, port, maildir, handler, _dir: dir };
        server.resume();
        Some(server)
    }

    /// Stops accepting mail, as in an outage.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Starts again on the same port and Maildir.
    pub fn resume(&mut self) {
        let mut command = Command::new(PYTHON);
        command.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{}", self.port), "-c"]);
        match &self.handler {
            Some(folder) => command.arg("refuse.Refuse").env("PYTHONPATH", folder),
            None => command.arg("aiosmtpd.handlers.Mailbox").arg(&self.maildir),
        };
        let process = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("aiosmtpd starts");
        self.process = Some(process);
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not listen on {}", self.port);
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        let new = self.maildir.join("new");
        let Ok(entries) = std::fs::read_dir(&new) else { return Vec::new() };
        entries.filter_map(Result::ok).map(|entry| parse(&entry.path())).collect()
    }
}

fn parse(path: &Path) -> Received {
    let bytes = std::fs::read(path).expect("a stored message");
    let mail = mailparse::parse_mail(&bytes).expect("a well-formed message");
    let header = |name: &str| mail.headers.get_first_value(name).unwrap_or_default();
    let part = |wanted: &str| {
        fn find(mail: &ParsedMail<'_>, wanted: &str) -> Option<String> {
            if mail.ctype.mimetype == wanted {
                return mail.get_body().ok();
            }
            mail.subparts.iter().find_map(|sub| find(sub, wanted))
        }
        find(&mail, wanted).unwrap_or_default()
    };
    Received {
        message_id: header("Message-ID"),
        subject: header("Subject"),
        from: header("From"),
        to: header("To"),
        list_unsubscribe: mail.headers.get_first_value("List-Unsubscribe"),
        content_type: mail.ctype.mimetype.clone(),
        text: part("text/plain"),
        html: part("text/html"),
        inline: inline_parts(&mail),
    }
}

fn inline_parts(mail: &ParsedMail<'_>) -> Vec<InlinePart> {
    let mut parts: Vec<InlinePart> = mail.subparts.iter().flat_map(inline_parts).collect();
    if let Some(id) = mail.headers.get_first_value("Content-ID") {
        parts.push(InlinePart {
            content_id: id.trim_matches(|c| c == '<' || c == '>').to_string(),
            mimetype: mail.ctype.mimetype.clone(),
            bytes: mail.get_body_raw().unwrap_or_default(),
        });
    }
    parts
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
