//! [`DepotStore`] on SQL, for both databases: depots, their zones and drivers.

use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, Utc};
use sqlx::FromRow;
use todoke_shared::shipment::GeoPoint;
use uuid::Uuid;

use super::{Db, corrupt};
use crate::store::dispatch::{DepotRecord, DepotStore, DriverRecord, ZoneRecord};
use crate::store::sql::to_json;
use crate::store::{SqlStore, StoreError};

#[derive(FromRow)]
pub(super) struct DepotRow {
    id: Uuid,
    name: String,
    address: String,
    lat: f64,
    lon: f64,
    timezone: String,
    created_at: DateTime<Utc>,
}

#[derive(FromRow)]
pub(super) struct ZoneRow {
    id: Uuid,
    depot_id: Uuid,
    name: String,
    area: String,
    created_at: DateTime<Utc>,
}

#[derive(FromRow)]
pub(super) struct DriverRow {
    user_id: Uuid,
    name: String,
    email: String,
    depot_id: Uuid,
    capacity: i64,
    shift_start: NaiveTime,
    shift_end: NaiveTime,
    zones: String,
    updated_at: DateTime<Utc>,
}

const SELECT_DRIVERS: &str = "SELECT d.user_id, u.name, u.email, d.depot_id, d.capacity, d.shift_start, \
     d.shift_end, d.zones, d.updated_at FROM drivers d JOIN users u ON u.id = d.user_id";

impl From<DepotRow> for DepotRecord {
    fn from(row: DepotRow) -> DepotRecord {
        let DepotRow { id, name, address, lat, lon, timezone, created_at } = row;
        DepotRecord { id, name, address, location: GeoPoint { lat, lon }, timezone, created_at }
    }
}

impl From<ZoneRow> for ZoneRecord {
    fn from(row: ZoneRow) -> ZoneRecord {
        let ZoneRow { id, depot_id, name, area, created_at } = row;
        ZoneRecord { id, depot_id, name, area, created_at }
    }
}

impl TryFrom<DriverRow> for DriverRecord {
    type Error = StoreError;

    fn try_from(row: DriverRow) -> Result<DriverRecord, StoreError> {
        Ok(DriverRecord {
            user_id: row.user_id,
            name: row.name,
            email: row.email,
            depot_id: row.depot_id,
            capacity: u32::try_from(row.capacity).map_err(|_| corrupt("driver capacity"))?,
            shift_start: row.shift_start,
            shift_end: row.shift_end,
            zones: serde_json::from_str(&row.zones).map_err(|_| corrupt("driver zones"))?,
            updated_at: row.updated_at,
        })
    }
}

#[async_trait]
impl DepotStore for SqlStore<Db> {
    async fn insert_depot(&self, depot: &DepotRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO depots (id, name, address, lat, lon, timezone, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(depot.id)
        .bind(depot.name.as_str())
        .bind(depot.address.as_str())
        .bind(depot.location.lat)
        .bind(depot.location.lon)
        .bind(depot.timezone.as_str())
        .bind(depot.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn depots(&self) -> Result<Vec<DepotRecord>, StoreError> {
        let rows = sqlx::query_as::<Db, DepotRow>(
            "SELECT id, name, address, lat, lon, timezone, created_at FROM depots ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(DepotRecord::from).collect())
    }

    async fn depot(&self, id: Uuid) -> Result<Option<DepotRecord>, StoreError> {
        let row = sqlx::query_as::<Db, DepotRow>(
            "SELECT id, name, address, lat, lon, timezone, created_at FROM depots WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(DepotRecord::from))
    }

    async fn insert_zone(&self, zone: &ZoneRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO zones (id, depot_id, name, area, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(zone.id)
            .bind(zone.depot_id)
            .bind(zone.name.as_str())
            .bind(zone.area.as_str())
            .bind(zone.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn zones(&self, depot_id: Uuid) -> Result<Vec<ZoneRecord>, StoreError> {
        let rows = sqlx::query_as::<Db, ZoneRow>(
            "SELECT id, depot_id, name, area, created_at FROM zones WHERE depot_id = $1 ORDER BY name",
        )
        .bind(depot_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ZoneRecord::from).collect())
    }

    async fn save_driver(&self, driver: &DriverRecord) -> Result<(), StoreError> {
        let zones = to_json(&driver.zones)?;
        sqlx::query(
            "INSERT INTO drivers (user_id, depot_id, capacity, shift_start, shift_end, zones, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE SET depot_id = $2, capacity = $3, \
             shift_start = $4, shift_end = $5, zones = $6, updated_at = $7",
        )
        .bind(driver.user_id)
        .bind(driver.depot_id)
        .bind(i64::from(driver.capacity))
        .bind(driver.shift_start)
        .bind(driver.shift_end)
        .bind(zones.as_str())
        .bind(driver.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn drivers(&self, depot_id: Uuid) -> Result<Vec<DriverRecord>, StoreError> {
        let query = format!("{SELECT_DRIVERS} WHERE d.depot_id = $1 ORDER BY u.name, d.user_id");
        let rows =
            sqlx::query_as::<Db, DriverRow>(sqlx::AssertSqlSafe(query)).bind(depot_id).fetch_all(&self.pool).await?;
        rows.into_iter().map(DriverRecord::try_from).collect()
    }

    async fn driver(&self, user_id: Uuid) -> Result<Option<DriverRecord>, StoreError> {
        let query = format!("{SELECT_DRIVERS} WHERE d.user_id = $1");
        let row = sqlx::query_as::<Db, DriverRow>(sqlx::AssertSqlSafe(query))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(DriverRecord::try_from).transpose()
    }
}
