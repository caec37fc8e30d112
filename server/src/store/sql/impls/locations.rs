//! [`LocationStore`] on SQL, for both databases: the points drivers' phones send.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::Db;
use crate::store::dispatch::{LocationRecord, LocationStore};
use crate::store::{SqlStore, StoreError};

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
    async fn record_locations(
        &self,
        driver_id: Uuid,
        points: &[LocationRecord],
        received_at: DateTime<Utc>,
        prune_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            for chunk in points.chunks(POINTS_PER_STATEMENT) {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let n = i * 8;
                        format!(
                            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                            n + 1,
                            n + 2,
                            n + 3,
                            n + 4,
                            n + 5,
                            n + 6,
                            n + 7,
                            n + 8
                        )
                    })
                    .collect();
                let statement = format!(
                    "INSERT INTO driver_locations (driver_id, recorded_at, lat, lon, accuracy_m, speed_mps, heading_deg, \
                     received_at) VALUES {} ON CONFLICT (driver_id, recorded_at) DO NOTHING",
                    rows.join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(statement));
                for point in chunk {
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
                query.execute(&mut *tx).await?;
            }
            if let Some(newest) = points.iter().max_by_key(|p| p.recorded_at) {
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
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("DELETE FROM driver_locations WHERE recorded_at < $1").bind(prune_before).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
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
