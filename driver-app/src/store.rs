//! The app's own folder: the login (`session.json`), and a SQLite database with the day as last
//! fetched, the queue of stop actions and the positions not yet sent, and copies of the proof's files.
//! Only the user may read any of it: it holds a login, and customers' names, phones and door codes.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use todoke_shared::driver::{LocationPoint, Manifest};
use todoke_shared::pod::StopReceipt;
use uuid::Uuid;

use crate::api::Problem;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the app's folder {}: {source}", .path.display())]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("the app's database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the app's database could not be upgraded: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the app's data is damaged: {0}")]
    Corrupt(String),
}

/// The login: which server, who, and the tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub server: String,
    pub email: String,
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Arrive,
    Deliver,
    Fail,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Arrive => "arrive",
            ActionKind::Deliver => "deliver",
            ActionKind::Fail => "fail",
        }
    }

    fn parse(text: &str) -> Result<ActionKind, StoreError> {
        match text {
            "arrive" => Ok(ActionKind::Arrive),
            "deliver" => Ok(ActionKind::Deliver),
            "fail" => Ok(ActionKind::Fail),
            other => Err(StoreError::Corrupt(format!("unknown action {other}"))),
        }
    }
}

/// Where an action stands: waiting to be sent, applied by the server, or refused for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ActionState {
    Queued {
        attempts: u32,
        /// Why the last attempt did not go through, when one was made.
        last_error: Option<String>,
    },
    Done {
        receipt: StopReceipt,
        settled_at: DateTime<Utc>,
    },
    Rejected {
        problem: Problem,
        settled_at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub seq: i64,
    pub idempotency_key: String,
    pub kind: ActionKind,
    pub stop_id: Uuid,
    pub shipment_id: Uuid,
    pub tracking_number: String,
    pub report: String,
    pub queued_at: DateTime<Utc>,
    #[serde(flatten)]
    pub state: ActionState,
    pub files: Vec<ActionFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionFile {
    /// `signature` or `photo`: the multipart part it travels in.
    pub role: String,
    /// The copy's name in the app's `files/` folder.
    pub file: String,
    pub bytes: u64,
}

/// An action to queue, with the files' bytes (copied into the app's folder before the action is).
pub struct NewAction {
    pub kind: ActionKind,
    pub stop_id: Uuid,
    pub shipment_id: Uuid,
    pub tracking_number: String,
    pub report: String,
    pub files: Vec<(&'static str, Vec<u8>)>,
}

pub struct LocalStore {
    pool: SqlitePool,
    dir: PathBuf,
}

impl LocalStore {
    /// Opens (or creates) the app's folder and database.
    pub async fn open(dir: &Path) -> Result<LocalStore, StoreError> {
        private_dir(dir)?;
        private_dir(&dir.join("files"))?;
        let database = dir.join("driver.db");
        // A delivery the driver was told is saved must survive the phone's battery dying: full sync.
        let options = SqliteConnectOptions::new()
            .filename(&database)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await?;
        restrict(&database).map_err(|source| StoreError::Folder { path: database.clone(), source })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(LocalStore { pool, dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn session_path(&self) -> PathBuf {
        self.dir.join("session.json")
    }

    pub fn session(&self) -> Result<Option<Session>, StoreError> {
        let path = self.session_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|error| StoreError::Corrupt(format!("{}: {error}", path.display()))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Folder { path, source }),
        }
    }

    /// Saves the login durably before its tokens are used: a refresh token is single use, so losing
    /// the new one would end the login.
    pub fn save_session(&self, session: &Session) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        write_durably(&self.session_path(), &bytes)
    }

    pub fn forget_session(&self) -> Result<(), StoreError> {
        let path = self.session_path();
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(StoreError::Folder { path, source: error })
            }
            _ => Ok(()),
        }
    }

    /// Forgets every kept day (customers' names, phones, door codes), as at logout.
    pub async fn forget_days(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM manifests").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn save_manifest(&self, manifest: &Manifest, etag: Option<&str>) -> Result<(), StoreError> {
        let body = serde_json::to_string(manifest).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO manifests (date, etag, body, fetched_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (date) DO UPDATE SET etag = excluded.etag, body = excluded.body, fetched_at = excluded.fetched_at",
        )
        .bind(manifest.date.to_string())
        .bind(etag)
        .bind(body)
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The day's manifest as last fetched (the newest day when `date` is absent), with its ETag and
    /// when it was fetched.
    pub async fn manifest(&self, date: Option<NaiveDate>) -> Result<Option<StoredManifest>, StoreError> {
        let row = match date {
            Some(date) => {
                sqlx::query("SELECT body, etag, fetched_at FROM manifests WHERE date = ?")
                    .bind(date.to_string())
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT body, etag, fetched_at FROM manifests ORDER BY date DESC LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        let Some(row) = row else { return Ok(None) };
        let manifest = serde_json::from_str(row.get("body")).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some(StoredManifest { manifest, etag: row.get("etag"), fetched_at: parse_time(row.get("fetched_at"))? }))
    }

    /// Copies the files into the app's folder (durably) and then queues the action in one transaction,
    /// with a fresh idempotency key.
    pub async fn enqueue(&self, action: NewAction) -> Result<Action, StoreError> {
        let key = Uuid::now_v7().to_string();
        let queued_at = Utc::now();
        let mut tx = self.pool.begin().await?;
        // The insert takes the database's write lock first; the copies are written under it, so the
        // clean-up of a settled action (which takes the same lock) cannot remove a copy this one shares.
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO actions (idempotency_key, kind, stop_id, shipment_id, tracking_number, report, queued_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        )
        .bind(&key)
        .bind(action.kind.as_str())
        .bind(action.stop_id.to_string())
        .bind(action.shipment_id.to_string())
        .bind(&action.tracking_number)
        .bind(&action.report)
        .bind(queued_at.to_rfc3339())
        .fetch_one(&mut *tx)
        .await?;
        let mut files = Vec::with_capacity(action.files.len());
        for (position, (role, bytes)) in action.files.iter().enumerate() {
            let file = ActionFile { role: role.to_string(), file: self.keep_file(bytes)?, bytes: bytes.len() as u64 };
            sqlx::query("INSERT INTO action_files (action_seq, position, role, file, bytes) VALUES (?, ?, ?, ?, ?)")
                .bind(seq)
                .bind(position as i64)
                .bind(&file.role)
                .bind(&file.file)
                .bind(file.bytes as i64)
                .execute(&mut *tx)
                .await?;
            files.push(file);
        }
        tx.commit().await?;
        Ok(Action {
            seq,
            idempotency_key: key,
            kind: action.kind,
            stop_id: action.stop_id,
            shipment_id: action.shipment_id,
            tracking_number: action.tracking_number,
            report: action.report,
            queued_at,
            state: ActionState::Queued { attempts: 0, last_error: None },
            files,
        })
    }

    /// Every action, oldest first.
    pub async fn actions(&self) -> Result<Vec<Action>, StoreError> {
        self.actions_where("1 = 1").await
    }

    /// The actions still to send, in the order they were made.
    pub async fn queued(&self) -> Result<Vec<Action>, StoreError> {
        self.actions_where("state = 'queued'").await
    }

    async fn actions_where(&self, condition: &'static str) -> Result<Vec<Action>, StoreError> {
        let query = format!(
            "SELECT seq, idempotency_key, kind, stop_id, shipment_id, tracking_number, report, state, attempts,
                    last_error, receipt, queued_at, settled_at
             FROM actions WHERE {condition} ORDER BY seq"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(query)).fetch_all(&self.pool).await?;
        let files = format!(
            "SELECT action_seq, role, file, bytes FROM action_files
             WHERE action_seq IN (SELECT seq FROM actions WHERE {condition}) ORDER BY action_seq, position"
        );
        let files = sqlx::query(sqlx::AssertSqlSafe(files)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let seq: i64 = row.get("seq");
                let files = files
                    .iter()
                    .filter(|f| f.get::<i64, _>("action_seq") == seq)
                    .map(|f| ActionFile {
                        role: f.get("role"),
                        file: f.get("file"),
                        bytes: f.get::<i64, _>("bytes") as u64,
                    })
                    .collect();
                action_from_row(row, files)
            })
            .collect()
    }

    pub async fn note_attempt(&self, seq: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE actions SET attempts = attempts + 1, last_error = ? WHERE seq = ? AND state = 'queued'")
            .bind(error)
            .bind(seq)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records the server's answer; the copies of the files are no longer needed.
    pub async fn settle_done(&self, seq: i64, receipt: &StopReceipt) -> Result<(), StoreError> {
        let receipt = serde_json::to_string(receipt).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.settle(seq, "done", &receipt).await
    }

    /// The server refused the action for good: it stays, with why, for the driver to see.
    pub async fn settle_rejected(&self, seq: i64, problem: &Problem) -> Result<(), StoreError> {
        let problem = serde_json::to_string(problem).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.settle(seq, "rejected", &problem).await
    }

    /// Records the outcome and, for an applied action, removes the copies no waiting action shares, in
    /// one transaction that holds the write lock from its first statement (see [`LocalStore::enqueue`]).
    async fn settle(&self, seq: i64, state: &str, answer: &str) -> Result<(), StoreError> {
        let column = if state == "done" { "receipt" } else { "last_error" };
        let query = format!(
            "UPDATE actions SET state = ?, {column} = ?, attempts = attempts + 1, settled_at = ?
             WHERE seq = ? AND state = 'queued'"
        );
        let mut tx = self.pool.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(query))
            .bind(state)
            .bind(answer)
            .bind(Utc::now().to_rfc3339())
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        if state == "done" {
            let unused: Vec<String> = sqlx::query_scalar(
                "SELECT f.file FROM action_files f WHERE f.action_seq = ?
                 AND NOT EXISTS (SELECT 1 FROM action_files o JOIN actions a ON a.seq = o.action_seq
                                 WHERE o.file = f.file AND a.state <> 'done')",
            )
            .bind(seq)
            .fetch_all(&mut *tx)
            .await?;
            for name in unused {
                // Already gone is fine: the server holds the proof now.
                let _ = std::fs::remove_file(self.file_path(&name));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub fn file_path(&self, name: &str) -> PathBuf {
        self.dir.join("files").join(name)
    }

    pub fn read_file(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.file_path(name);
        std::fs::read(&path).map_err(|source| StoreError::Folder { path, source })
    }

    /// Writes a copy named by its content (so the same photo twice is kept once), synced to disk;
    /// always written, so a copy removed a moment ago is back.
    fn keep_file(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let name = format!("{}.bin", content_name(bytes));
        write_durably(&self.file_path(&name), bytes)?;
        Ok(name)
    }

    pub async fn add_positions(&self, points: &[LocationPoint]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for point in points {
            let json = serde_json::to_string(point).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query("INSERT INTO positions (point) VALUES (?)").bind(json).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` unsent positions, oldest first, with the id of the last.
    pub async fn unsent_positions(&self, limit: usize) -> Result<(Vec<LocationPoint>, i64), StoreError> {
        let rows = sqlx::query("SELECT id, point FROM positions WHERE sent = 0 ORDER BY id LIMIT ?")
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        let last = rows.last().map_or(0, |row| row.get::<i64, _>("id"));
        let points = rows
            .iter()
            .map(|row| serde_json::from_str(row.get("point")).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok((points, last))
    }

    pub async fn mark_positions_sent(&self, through: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE positions SET sent = 1 WHERE sent = 0 AND id <= ?")
            .bind(through)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn unsent_position_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM positions WHERE sent = 0").fetch_one(&self.pool).await?)
    }

    /// The newest position the phone recorded, sent or not.
    pub async fn latest_position(&self) -> Result<Option<LocationPoint>, StoreError> {
        let json: Option<String> = sqlx::query_scalar("SELECT point FROM positions ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        json.map(|json| serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
    }
}

pub struct StoredManifest {
    pub manifest: Manifest,
    pub etag: Option<String>,
    pub fetched_at: DateTime<Utc>,
}

fn action_from_row(row: &sqlx::sqlite::SqliteRow, files: Vec<ActionFile>) -> Result<Action, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(e.to_string());
    let uuid = |column: &str| Uuid::parse_str(row.get(column)).map_err(|e| corrupt(&e));
    let settled_at = || -> Result<DateTime<Utc>, StoreError> {
        parse_time(row.get::<Option<&str>, _>("settled_at").unwrap_or_default())
    };
    let state = match row.get::<&str, _>("state") {
        "queued" => {
            ActionState::Queued { attempts: row.get::<i64, _>("attempts") as u32, last_error: row.get("last_error") }
        }
        "done" => ActionState::Done {
            receipt: serde_json::from_str(row.get::<Option<&str>, _>("receipt").unwrap_or_default())
                .map_err(|e| corrupt(&e))?,
            settled_at: settled_at()?,
        },
        _ => ActionState::Rejected {
            problem: serde_json::from_str(row.get::<Option<&str>, _>("last_error").unwrap_or_default())
                .map_err(|e| corrupt(&e))?,
            settled_at: settled_at()?,
        },
    };
    Ok(Action {
        seq: row.get("seq"),
        idempotency_key: row.get("idempotency_key"),
        kind: ActionKind::parse(row.get("kind"))?,
        stop_id: uuid("stop_id")?,
        shipment_id: uuid("shipment_id")?,
        tracking_number: row.get("tracking_number"),
        report: row.get("report"),
        queued_at: parse_time(row.get("queued_at"))?,
        state,
        files,
    })
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("a time {text:?}: {e}")))
}

/// A stable name for a file's content.
fn content_name(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a file whole or not at all: a temporary file, synced, renamed into place, the folder synced.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let folder_error = |source| StoreError::Folder { path: path.to_path_buf(), source };
    let temporary = path.with_extension(format!("tmp-{}", Uuid::now_v7().simple()));
    let mut file = private_file(&temporary).map_err(folder_error)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(folder_error)?;
    std::fs::rename(&temporary, path).map_err(folder_error)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent).and_then(|dir| dir.sync_all()).map_err(folder_error)?;
    }
    Ok(())
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

fn private_dir(dir: &Path) -> Result<(), StoreError> {
    let error = |source| StoreError::Folder { path: dir.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(error)?;
    restrict_dir(dir).map_err(error)
}

#[cfg(unix)]
fn restrict_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(unix)]
fn restrict(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_file: &Path) -> std::io::Result<()> {
    Ok(())
}
