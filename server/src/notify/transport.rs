//! How a message travels: SMTP through lettre (pooled, STARTTLS or TLS, AUTH, from `TODOKE_SMTP_URL`),
//! or, with no SMTP server configured, `.eml` files under `<data dir>/outbox/`.

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: a 4xx reply, a connection that failed.
    #[error("{0}")]
    Temporary(String),
    /// Never going to work: a 5xx reply, an address refused.
    #[error("{0}")]
    Permanent(String),
}

#[async_trait]
pub trait Transport: Send + Sync {
    async fn send(&self, message: Message) -> Result<(), SendError>;
    /// How many messages may be under way at once; the worker never sends more.
    fn connections(&self) -> usize;
    /// For logs: where messages go, without credentials.
    fn describe(&self) -> String;
}

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    connections: usize,
    described: String,
}

impl Smtp {
    /// `smtps://host` (TLS), `smtp://host:587?tls=required` (STARTTLS), `smtp://host:port` (plain, for a
    /// local relay); `user:password@` for AUTH. At most `connections` stay open, each reused for message
    /// after message.
    pub fn from_url(url: &str, connections: u32) -> anyhow::Result<Smtp> {
        // lettre opens a new connection whenever no pooled one is idle, and hands a used one back to the
        // pool from a spawned task, so the next send may not find it yet; a full pool then closes the one
        // handed back. Room for twice the worker's limit keeps every connection open for the next message.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("TODOKE_SMTP_URL is not a valid SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .pool_config(PoolConfig::new().max_size(connections.saturating_mul(2)))
            .build();
        let described = match url.split_once('@') {
            Some((scheme_and_user, host)) => {
                format!("{}://***@{host}", scheme_and_user.split("://").next().unwrap_or("smtp"))
            }
            None => url.to_string(),
        };
        Ok(Smtp { transport, connections: connections as usize, described })
    }
}

#[async_trait]
impl Transport for Smtp {
    async fn send(&self, message: Message) -> Result<(), SendError> {
        self.transport.send(message).await.map(|_| ()).map_err(|error| {
            if error.is_permanent() {
                SendError::Permanent(error.to_string())
            } else {
                SendError::Temporary(error.to_string())
            }
        })
    }

    fn connections(&self) -> usize {
        self.connections
    }

    fn describe(&self) -> String {
        format!("SMTP at {}", self.described)
    }
}

/// Writes each message to `<dir>/<Message-ID>.eml`; writing the same message again replaces the file.
pub struct Files {
    dir: PathBuf,
}

impl Files {
    pub fn new(dir: PathBuf) -> anyhow::Result<Files> {
        std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
        Ok(Files { dir })
    }
}

#[async_trait]
impl Transport for Files {
    async fn send(&self, message: Message) -> Result<(), SendError> {
        let id = message
            .headers()
            .get_raw("Message-ID")
            .map(|id| id.trim_matches(['<', '>']).replace(['/', '\\'], "_"))
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let path = self.dir.join(format!("{id}.eml"));
        let temporary = self.dir.join(format!(".{id}.eml.tmp"));
        let bytes = message.formatted();
        // Written whole, then renamed: a reader never sees half a message.
        tokio::fs::write(&temporary, bytes).await.map_err(|e| SendError::Temporary(e.to_string()))?;
        tokio::fs::rename(&temporary, &path).await.map_err(|e| SendError::Temporary(e.to_string()))
    }

    fn connections(&self) -> usize {
        // Small files written whole: a few at once keep the disk busy.
        4
    }

    fn describe(&self) -> String {
        format!(".eml files in {}", self.dir.display())
    }
}
