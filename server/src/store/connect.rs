//! Opens the database named by the URL, prepares it, and migrates it.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{SqlStore, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0;
        match scheme {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Connects to `url`, creating a SQLite file (and its folder) when missing, and applies migrations.
pub async fn connect(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    match Backend::from_url(url) {
        Some(Backend::Sqlite) => {
            let options = SqliteConnectOptions::from_str(url)
                .context("reading the SQLite database URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                create_dir(dir)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .context("opening the SQLite database")?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await.context("migrating the SQLite database")?;
            Ok(Arc::new(SqlStore::new(pool, Backend::Sqlite)))
        }
        Some(Backend::Postgres) => {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .context("connecting to PostgreSQL")?;
            sqlx::migrate!("../migrations/postgres").run(&pool).await.context("migrating the PostgreSQL database")?;
            Ok(Arc::new(SqlStore::new(pool, Backend::Postgres)))
        }
        None => anyhow::bail!("the database URL must start with sqlite:// or postgres://"),
    }
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the database folder {}", dir.display()))
}
