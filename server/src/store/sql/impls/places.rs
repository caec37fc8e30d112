//! [`PlaceStore`] on SQL, for both databases: the delivery slots and the pickup points.

use async_trait::async_trait;
use todoke_shared::preferences::{PickupPoint, Slot};

use super::Db;
use crate::store::rows::PickupPointRow;
use crate::store::{PlaceStore, SqlStore, StoreError};

#[async_trait]
impl PlaceStore for SqlStore<Db> {
    async fn delivery_slots(&self) -> Result<Vec<Slot>, StoreError> {
        let rows = sqlx::query_as::<Db, (String, String, String)>(
            "SELECT id, start_time, end_time FROM delivery_slots ORDER BY start_time, end_time",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id, start, end)| Slot { id, start, end }).collect())
    }

    async fn replace_delivery_slots(&self, slots: &[Slot]) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            sqlx::query("DELETE FROM delivery_slots").execute(&mut *tx).await?;
            for slot in slots {
                sqlx::query("INSERT INTO delivery_slots (id, start_time, end_time) VALUES ($1, $2, $3)")
                    .bind(slot.id.as_str())
                    .bind(slot.start.as_str())
                    .bind(slot.end.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn pickup_points(&self) -> Result<Vec<PickupPoint>, StoreError> {
        let rows = sqlx::query_as::<Db, PickupPointRow>(
            "SELECT id, name, address, lat, lon, opening_hours FROM pickup_points WHERE active = $1 ORDER BY id",
        )
        .bind(true)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(PickupPoint::from).collect())
    }

    async fn insert_pickup_point(&self, point: &PickupPoint) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pickup_points (id, name, address, lat, lon, opening_hours, active) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(point.id.as_str())
        .bind(point.name.as_str())
        .bind(point.address.as_str())
        .bind(point.lat)
        .bind(point.lon)
        .bind(point.opening_hours.as_str())
        .bind(true)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
