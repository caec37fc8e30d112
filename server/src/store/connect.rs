//! Opens the database named by the URL, prepares and migrates it, and puts the cache in front.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::oneshot;

use super::cache::Change;
use super::eta::ArrivalStore;
use super::sql::CHANGES_CHANNEL;
use super::{
    AccountStore, CachedStore, DepotStore, EtaStore, InstanceStore, LocationStore, NoticeStore, PlaceStore, PodStore,
    RouteStore, SqlStore, Store,
};

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

/// The storage interfaces, on one database.
#[derive(Clone)]
pub struct Stores {
    pub shipments: Arc<dyn Store>,
    pub accounts: Arc<dyn AccountStore>,
    pub depots: Arc<dyn DepotStore>,
    pub routes: Arc<dyn RouteStore>,
    pub locations: Arc<dyn LocationStore>,
    pub places: Arc<dyn PlaceStore>,
    pub pod: Arc<dyn PodStore>,
    pub eta: Arc<dyn EtaStore>,
    /// The estimates the tracking views read, through the cache.
    pub arrivals: Arc<dyn ArrivalStore>,
    pub instances: Arc<dyn InstanceStore>,
    pub notices: Arc<dyn NoticeStore>,
}

impl Stores {
    /// Every interface on one SQL store, the shipments read through `cache`, which the store's writes
    /// evict from.
    fn over<DB: sqlx::Database>(store: Arc<SqlStore<DB>>, cache: Arc<CachedStore>) -> Stores
    where
        SqlStore<DB>: AccountStore
            + DepotStore
            + RouteStore
            + LocationStore
            + PlaceStore
            + PodStore
            + EtaStore
            + InstanceStore
            + NoticeStore,
    {
        store.evictions.follow(&cache);
        Stores {
            shipments: cache.clone(),
            arrivals: cache,
            accounts: store.clone(),
            depots: store.clone(),
            routes: store.clone(),
            locations: store.clone(),
            places: store.clone(),
            pod: store.clone(),
            eta: store.clone(),
            instances: store.clone(),
            notices: store,
        }
    }
}

/// Connects to `url`, creating a SQLite file (and its folder) when missing, and applies migrations.
pub async fn connect(url: &str) -> anyhow::Result<Stores> {
    match Backend::from_url(url) {
        Some(Backend::Sqlite) => connect_sqlite(url).await,
        Some(Backend::Postgres) => connect_postgres(url).await,
        None => anyhow::bail!("the database URL must start with sqlite:// or postgres://"),
    }
}

async fn connect_sqlite(url: &str) -> anyhow::Result<Stores> {
    let options = SqliteConnectOptions::from_str(url)
        .context("reading the SQLite database URL")?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let file = options.get_filename().to_path_buf();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the database folder {}", dir.display()))?;
    }
    let lock = lock_exclusively(&file)?;
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .context("opening the SQLite database")?;
    sqlx::migrate!("../migrations/sqlite").run(&pool).await.context("migrating the SQLite database")?;
    let store = Arc::new(SqlStore::new(pool, Backend::Sqlite));
    let cache = Arc::new(CachedStore::new(store.clone(), store.clone(), true, Box::new(lock)));
    Ok(Stores::over(store, cache))
}

/// One server process per SQLite file: its cache must see every write.
fn lock_exclusively(database: &Path) -> anyhow::Result<File> {
    let path = database.with_extension("lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => anyhow::bail!(
            "another todoke-server already uses {}: a SQLite database serves one server process \
             (use PostgreSQL to run several)",
            database.display()
        ),
        Err(TryLockError::Error(error)) => Err(error).with_context(|| format!("locking {}", path.display())),
    }
}

async fn connect_postgres(url: &str) -> anyhow::Result<Stores> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::migrate!("../migrations/postgres").run(&pool).await.context("migrating the PostgreSQL database")?;
    let store = Arc::new(SqlStore::new(pool.clone(), Backend::Postgres));
    let (stop, stopped) = oneshot::channel::<()>();
    let cache = Arc::new(CachedStore::new(store.clone(), store.clone(), false, Box::new(stop)));
    tokio::spawn(follow_changes(pool, Arc::downgrade(&cache), stopped));
    Ok(Stores::over(store, cache))
}

/// Evicts what other servers change, as PostgreSQL notifies it, until the cache is dropped. While not
/// listening, the cache is switched off.
async fn follow_changes(pool: PgPool, cache: Weak<CachedStore>, mut stopped: oneshot::Receiver<()>) {
    let with_cache = |action: &dyn Fn(&CachedStore)| {
        if let Some(cache) = cache.upgrade() {
            action(&cache);
        }
    };
    loop {
        let listening = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANGES_CHANNEL).await?;
            loop {
                // Listening (again): what changed before is unknown, so start afresh.
                with_cache(&|cache| cache.set_following(true));
                while let Some(notification) = listener.try_recv().await? {
                    with_cache(&|cache| match notification.payload().parse::<Change>() {
                        Ok(change) => cache.evict(change),
                        Err(_) => cache.clear(),
                    });
                }
            }
        };
        let result: Result<(), sqlx::Error> = tokio::select! {
            _ = &mut stopped => return,
            result = listening => result,
        };
        with_cache(&|cache| cache.set_following(false));
        if let Err(error) = result {
            tracing::warn!(%error, "listening for changes by other servers failed; serving uncached until it works");
        }
        tokio::select! {
            _ = &mut stopped => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
