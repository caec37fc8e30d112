//! [`LocationStore`] on SQL, for both databases: the points drivers' phones send.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::Db;
use crate::store::dispatch::{DriverPoints, LocationRecord, LocationStore};
use crate::store::{Backend, SqlStore, StoreError};

/// Points per INSERT: 8 parameters each, well under either database's limit.
const POINTS_PER_STATEMENT: usize = 500;

#[derive(FromRow)]
pub(super) struct PositionRow {
    recorded_at: DateTime<Utc>,
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
    speed_mps: Option<f64>,
    heading_deg: Option<f64>,
}

#[async_trait]
impl LocationStore for SqlStore<Db> {
    async fn record_locations(&self, batches: &[DriverPoints]) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            for batch in batches {
                for chunk in batch.points.chunks(POINTS_PER_STATEMENT) {
                    insert_points(&mut tx, self.backend, batch.driver_id, chunk, batch.received_at).await?;
                }
                // Batches of one driver in one transaction: each moves the position only forward.
                if let Some(newest) = batch.points.iter().max_by_key(|p| p.recorded_at) {
                    move_position(&mut tx, batch.driver_id, newest).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn prune_locations(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let deleted = sqlx::query("DELETE FROM driver_locations WHERE recorded_at < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(deleted)
        })
        .await
    }

    async fn driver_position(&self, driver_id: Uuid) -> Result<Option<LocationRecord>, StoreError> {
        let row = sqlx::query_as::<Db, PositionRow>(
            "SELECT recorded_at, lat, lon, accuracy_m, speed_mps, heading_deg FROM driver_positions WHERE driver_id = $1",
        )
        .bind(driver_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| LocationRecord {
            recorded_at: r.recorded_at,
            lat: r.lat,
            lon: r.lon,
            accuracy_m: r.accuracy_m,
            speed_mps: r.speed_mps,
            heading_deg: r.heading_deg,
        }))
    }
}

/// One multi-row INSERT of a driver's points; a point already stored is skipped.
async fn insert_points(
    tx: &mut sqlx::Transaction<'static, Db>,
    backend: Backend,
    driver_id: Uuid,
    points: &[LocationRecord],
    received_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let rows: Vec<String> = (0..points.len())
        .map(|i| {
            let values: Vec<String> = (i * 8 + 1..=i * 8 + 8).map(|n| placeholder(backend, n)).collect();
            format!("({})", values.join(", "))
        })
        .collect();
    let statement = format!(
        "INSERT INTO driver_locations (driver_id, recorded_at, lat, lon, accuracy_m, speed_mps, heading_deg, \
         received_at) VALUES {} ON CONFLICT (driver_id, recorded_at) DO NOTHING",
        rows.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(statement));
    for point in points {
        query = query
            .bind(driver_id)
            .bind(point.recorded_at)
            .bind(point.lat)
            .bind(point.lon)
            .bind(point.accuracy_m)
            .bind(point.speed_mps)
            .bind(point.heading_deg)
            .bind(received_at);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Makes `newest` the driver's position unless the position is as new already.
async fn move_position(
    tx: &mut sqlx::Transaction<'static, Db>,
    driver_id: Uuid,
    newest: &LocationRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO driver_positions (driver_id, recorded_at, lat, lon, accuracy_m, speed_mps, heading_deg) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (driver_id) DO UPDATE SET recorded_at = excluded.recorded_at, lat = excluded.lat, \
         lon = excluded.lon, accuracy_m = excluded.accuracy_m, speed_mps = excluded.speed_mps, \
         heading_deg = excluded.heading_deg WHERE driver_positions.recorded_at < excluded.recorded_at",
    )
    .bind(driver_id)
    .bind(newest.recorded_at)
    .bind(newest.lat)
    .bind(newest.lon)
    .bind(newest.accuracy_m)
    .bind(newest.speed_mps)
    .bind(newest.heading_deg)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The `n`th parameter: numbered on PostgreSQL, plain on SQLite. SQLite finds a numbered parameter's
/// number by scanning the statement's names, once per parameter bound: with 400 of them, that scan
/// was the largest single cost of storing a batch.
fn placeholder(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => "?".to_string(),
        Backend::Postgres => format!("${n}"),
    }
}
