//! [`Store`] on SQL: shipments with their parcels, timelines and preferences, and the delivery slots
//! and pickup points customers choose from.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use todoke_shared::ShipmentStatus;
use todoke_shared::preferences::Preferences;
use uuid::Uuid;

use super::Db;
use super::insert_event;
use crate::store::cache::Change;
use crate::store::rows::{EventRow, ParcelRow, ShipmentRow};
use crate::store::sql::to_json;
use crate::store::{
    Backend, BarcodeTaken, EventRecord, NewNotice, PreferenceChange, ShipmentKey, ShipmentQuery, ShipmentRecord,
    SqlStore, Store, StoreError,
};

/// Every shipment query reads the same columns in the same order as [`ShipmentRow`].
macro_rules! select_shipments {
    ($($rest:literal),*) => {
        concat!(
            "SELECT id, tracking_number, merchant, external_ref, request_digest, status, recipient_name, recipient_email, recipient_phone, \
             language, address_lines, postal_code, city, region, country, lat, lon, timezone, promised_date, \
             window_start, window_end, preferences, flags, created_at, updated_at FROM shipments ",
            $($rest),*
        )
    };
}

/// The driver's arrival at the open stop of the shipment whose id is `shipment`: a stop without a
/// proof that no later day's route took over (as `store::eta` sees an open stop).
fn open_arrival(shipment: &str) -> String {
    format!(
        "SELECT a.arrived_at FROM stop_arrivals a JOIN route_stops s ON s.id = a.stop_id \
         WHERE s.shipment_id = {shipment} AND NOT EXISTS (SELECT 1 FROM proofs p WHERE p.stop_id = s.id) \
         AND NOT EXISTS (SELECT 1 FROM route_stops later WHERE later.shipment_id = s.shipment_id AND later.date > s.date)"
    )
}

#[async_trait]
impl Store for SqlStore<Db> {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_shipment(&self, shipment: &ShipmentRecord, first_event: &EventRecord) -> Result<(), StoreError> {
        let content = &shipment.content;
        let (recipient, address, promised) = (&content.recipient, &content.address, &content.promised);
        let lines = to_json(&address.lines)?;
        let preferences = to_json(&content.preferences)?;
        let flags = to_json(&content.flags)?;
        let (lines, preferences, flags) = (&lines, &preferences, &flags);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            sqlx::query(
                "INSERT INTO shipments (id, tracking_number, merchant, external_ref, request_digest, status, recipient_name, recipient_email, \
                 recipient_phone, language, address_lines, postal_code, city, region, country, lat, lon, timezone, \
                 promised_date, window_start, window_end, preferences, flags, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
                 $22, $23, $24, $25)",
            )
            .bind(shipment.id)
            .bind(shipment.tracking_number.as_str())
            .bind(shipment.merchant.as_deref().unwrap_or_default())
            .bind(content.external_ref.as_str())
            .bind(shipment.request_digest.as_str())
            .bind(shipment.status.as_str())
            .bind(recipient.name.as_str())
            .bind(recipient.email.as_str())
            .bind(recipient.phone.as_deref())
            .bind(recipient.language.code())
            .bind(lines.as_str())
            .bind(address.postal_code.as_str())
            .bind(address.city.as_str())
            .bind(address.region.as_deref())
            .bind(address.country.as_str())
            .bind(address.lat)
            .bind(address.lon)
            .bind(address.timezone.as_str())
            .bind(promised.date)
            .bind(promised.window.start)
            .bind(promised.window.end)
            .bind(preferences.as_str())
            .bind(flags.as_str())
            .bind(shipment.created_at)
            .bind(shipment.updated_at)
            .execute(&mut *tx)
            .await?;
            for (position, parcel) in content.parcels.iter().enumerate() {
                sqlx::query("INSERT INTO parcels (shipment_id, position, barcode, weight_g) VALUES ($1, $2, $3, $4)")
                    .bind(shipment.id)
                    .bind(position as i64)
                    .bind(parcel.barcode.as_str())
                    .bind(i64::from(parcel.weight_g))
                    .execute(&mut *tx)
                    .await?;
            }
            // Each barcode is claimed for the merchant; a claim held by another shipment (committed, or committed
            // while this one waited for it) is answered by name. The order's own row went in first, so a retry of
            // the same order meets its unique constraint before this.
            let merchant = shipment.merchant.as_deref().unwrap_or_default();
            let mut taken = Vec::new();
            for (position, parcel) in content.parcels.iter().enumerate() {
                let claimed: Option<(Uuid,)> = sqlx::query_as(
                    "INSERT INTO parcel_barcodes (merchant, barcode, shipment_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING RETURNING shipment_id",
                )
                .bind(merchant)
                .bind(parcel.barcode.as_str())
                .bind(shipment.id)
                .fetch_optional(&mut *tx)
                .await?;
                if claimed.is_none() {
                    let (external_ref,): (String,) = sqlx::query_as(
                        "SELECT s.external_ref FROM parcel_barcodes b JOIN shipments s ON s.id = b.shipment_id \
                         WHERE b.merchant = $1 AND b.barcode = $2",
                    )
                    .bind(merchant)
                    .bind(parcel.barcode.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    taken.push(BarcodeTaken { position, barcode: parcel.barcode.clone(), external_ref });
                }
            }
            if !taken.is_empty() {
                // Dropping the transaction rolls the shipment back.
                return Err(StoreError::BarcodesTaken(taken));
            }
            insert_event(&mut tx, shipment.id, first_event).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn find_shipment(&self, key: ShipmentKey<'_>) -> Result<Option<ShipmentRecord>, StoreError> {
        let query = match key {
            ShipmentKey::Id(id) => sqlx::query_as::<Db, ShipmentRow>(select_shipments!("WHERE id = $1")).bind(id),
            ShipmentKey::ExternalRef { merchant, external_ref } => {
                sqlx::query_as(select_shipments!("WHERE merchant = $1 AND external_ref = $2"))
                    .bind(merchant.unwrap_or_default())
                    .bind(external_ref)
            }
            ShipmentKey::TrackingNumber(number) => {
                sqlx::query_as(select_shipments!("WHERE tracking_number = $1")).bind(number.as_str())
            }
        };
        let Some(row) = query.fetch_optional(&self.pool).await? else { return Ok(None) };
        let parcels = sqlx::query_as::<Db, ParcelRow>(
            "SELECT shipment_id, barcode, weight_g FROM parcels WHERE shipment_id = $1 ORDER BY position",
        )
        .bind(row.id)
        .fetch_all(&self.pool)
        .await?;
        row.into_record(parcels).map(Some)
    }

    async fn list_shipments(&self, query: &ShipmentQuery) -> Result<Vec<ShipmentRecord>, StoreError> {
        let rows = sqlx::query_as::<Db, ShipmentRow>(select_shipments!(
            "WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR promised_date = $2) AND ($3 IS NULL OR id > $3) \
             AND ($5 IS NULL OR merchant = $5) ORDER BY id LIMIT $4"
        ))
        .bind(query.status.map(ShipmentStatus::as_str))
        .bind(query.promised_date)
        .bind(query.after)
        .bind(i64::from(query.limit))
        .bind(query.merchant.as_deref())
        .fetch_all(&self.pool)
        .await?;
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else { return Ok(Vec::new()) };
        // Parcels by the page's own ids (not by its filter, which may match other rows by now).
        let mut parcels: HashMap<Uuid, Vec<ParcelRow>> = HashMap::new();
        let in_range = sqlx::query_as::<Db, ParcelRow>(
            "SELECT shipment_id, barcode, weight_g FROM parcels WHERE shipment_id >= $1 AND shipment_id <= $2 \
             ORDER BY shipment_id, position",
        )
        .bind(first.id)
        .bind(last.id)
        .fetch_all(&self.pool)
        .await?;
        for parcel in in_range {
            parcels.entry(parcel.shipment_id).or_default().push(parcel);
        }
        rows.into_iter()
            .map(|row| {
                let own = parcels.remove(&row.id).unwrap_or_default();
                row.into_record(own)
            })
            .collect()
    }

    async fn events(&self, shipment_id: Uuid) -> Result<Vec<EventRecord>, StoreError> {
        sqlx::query_as::<Db, EventRow>(
            "SELECT status, occurred_at, recorded_at, actor, lat, lon, reason, note FROM shipment_events \
             WHERE shipment_id = $1 ORDER BY id",
        )
        .bind(shipment_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(EventRecord::try_from)
        .collect()
    }

    async fn append_transition(
        &self,
        shipment_id: Uuid,
        from: ShipmentStatus,
        event: &EventRecord,
        notices: &[NewNotice],
    ) -> Result<(), StoreError> {
        let _evict = self.evictions.on_drop(vec![shipment_id]);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            self.transition_in(&mut tx, shipment_id, from, event, notices).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn update_preferences(
        &self,
        shipment_id: Uuid,
        status: ShipmentStatus,
        previous: &Preferences,
        preferences: &Preferences,
        changes: &[PreferenceChange],
        notices: &[NewNotice],
        before_arrival: bool,
    ) -> Result<(), StoreError> {
        let Some(changed_at) = changes.first().map(|c| c.changed_at) else { return Ok(()) };
        let _evict = self.evictions.on_drop(vec![shipment_id]);
        // Compare-and-set on the status and the preferences judged: a change judged before dispatch
        // (or before the driver's arrival) cannot land after it, and of two changes made at once
        // neither silently undoes the other.
        let unless_arrived =
            if before_arrival { format!("AND NOT EXISTS ({})", open_arrival("$3")) } else { String::new() };
        let update = format!(
            "UPDATE shipments SET preferences = $1, updated_at = $2 \
             WHERE id = $3 AND status = $4 AND preferences = $5 {unless_arrived} RETURNING id"
        );
        let update = update.as_str();
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let updated = sqlx::query_as::<Db, (Uuid,)>(sqlx::AssertSqlSafe(update))
                .bind(to_json(preferences)?.as_str())
                .bind(changed_at)
                .bind(shipment_id)
                .bind(status.as_str())
                .bind(to_json(previous)?.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if updated.is_none() {
                return Err(StoreError::Stale);
            }
            for change in changes {
                sqlx::query(
                    "INSERT INTO preference_changes (shipment_id, changed_at, actor, field, old_value, new_value) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(shipment_id)
                .bind(change.changed_at)
                .bind(change.actor.as_str())
                .bind(change.field.as_str())
                .bind(change.old_value.as_deref())
                .bind(change.new_value.as_deref())
                .execute(&mut *tx)
                .await?;
            }
            self.insert_notices(&mut tx, shipment_id, notices, changed_at).await?;
            self.notify_change(&mut tx, Change::Shipment(shipment_id)).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn arrived_at(&self, shipment_id: Uuid) -> Result<Option<DateTime<Utc>>, StoreError> {
        let arrived = sqlx::query_as::<Db, (DateTime<Utc>,)>(sqlx::AssertSqlSafe(open_arrival("$1")))
            .bind(shipment_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(arrived.map(|(at,)| at))
    }

    async fn preference_changes(&self, shipment_id: Uuid) -> Result<Vec<PreferenceChange>, StoreError> {
        let rows = sqlx::query_as::<Db, (DateTime<Utc>, String, String, Option<String>, Option<String>)>(
            "SELECT changed_at, actor, field, old_value, new_value FROM preference_changes \
             WHERE shipment_id = $1 ORDER BY id",
        )
        .bind(shipment_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(changed_at, actor, field, old_value, new_value)| PreferenceChange {
                changed_at,
                actor,
                field,
                old_value,
                new_value,
            })
            .collect())
    }
}
