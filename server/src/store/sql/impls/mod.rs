//! The store's interfaces on one database, `Db`: the parent module (`sqlite.rs` or `postgres.rs`) says
//! which. What several interfaces' writes share is here.

mod accounts;
mod depots;
mod eta;
mod instances;
mod locations;
mod notices;
mod places;
mod pod;
mod routes;
mod shipments;

use chrono::{DateTime, Utc};
use todoke_shared::ShipmentStatus;
use uuid::Uuid;

use super::Db;
use crate::store::cache::Change;
use crate::store::dispatch::Transition;
use crate::store::sql::CHANGES_CHANNEL;
use crate::store::{Backend, EventRecord, NewNotice, SqlStore, StoreError};

impl SqlStore<Db> {
    /// Writes the notices a change causes, in its transaction, numbering them per shipment and kind so
    /// that each has a stable `Message-ID`.
    pub(super) async fn insert_notices(
        &self,
        tx: &mut sqlx::Transaction<'static, Db>,
        shipment_id: Uuid,
        notices: &[NewNotice],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for notice in notices {
            let (kind, payload) = (notice.notice.kind(), notice.notice.payload());
            let (last,) = sqlx::query_as::<Db, (i64,)>(
                "SELECT COALESCE(MAX(sequence), 0) FROM notices WHERE shipment_id = $1 AND kind = $2",
            )
            .bind(shipment_id)
            .bind(kind)
            .fetch_one(&mut **tx)
            .await?;
            let sequence = last + 1;
            let message_id = format!("<{shipment_id}.{kind}.{sequence}@{}>", notice.domain);
            let status = if notice.suppressed { "suppressed" } else { "pending" };
            sqlx::query(
                "INSERT INTO notices (id, shipment_id, kind, sequence, recipient, language, message_id, status, \
                 attempts, next_attempt_at, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $9)",
            )
            .bind(Uuid::now_v7())
            .bind(shipment_id)
            .bind(kind)
            .bind(sequence)
            .bind(notice.recipient.as_str())
            .bind(notice.language.as_str())
            .bind(message_id.as_str())
            .bind(status)
            .bind(now)
            .bind(payload.as_str())
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Moves a shipment from `from` to `event.status` within `tx`, with its event and notices.
    /// Compare-and-set on the status: two servers changing one shipment at once cannot both win.
    pub(super) async fn transition_in(
        &self,
        tx: &mut sqlx::Transaction<'static, Db>,
        shipment_id: Uuid,
        from: ShipmentStatus,
        event: &EventRecord,
        notices: &[NewNotice],
    ) -> Result<(), StoreError> {
        let updated = sqlx::query_as::<Db, (Uuid,)>(
            "UPDATE shipments SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4 RETURNING id",
        )
        .bind(event.status.as_str())
        .bind(event.recorded_at)
        .bind(shipment_id)
        .bind(from.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        if updated.is_none() {
            return Err(StoreError::Stale);
        }
        insert_event(tx, shipment_id, event).await?;
        self.insert_notices(tx, shipment_id, notices, event.recorded_at).await?;
        self.notify_change(tx, Change::Shipment(shipment_id)).await
    }

    /// Applies a judged move (see [`Transition::judged`]) within `tx`, as [`Self::transition_in`] does.
    pub(super) async fn apply(
        &self,
        tx: &mut sqlx::Transaction<'static, Db>,
        transition: &Transition,
    ) -> Result<(), StoreError> {
        self.transition_in(tx, transition.shipment_id, transition.from, &transition.event, &transition.notices).await
    }

    /// On PostgreSQL, tells every server's cache that a shipment or a route changed; delivered when (and
    /// only if) the transaction commits.
    pub(super) async fn notify_change(
        &self,
        tx: &mut sqlx::Transaction<'static, Db>,
        change: Change,
    ) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANGES_CHANNEL)
                .bind(change.to_string().as_str())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// A stored value this server cannot read back: damaged, or written by a newer one.
fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(super) async fn insert_event(
    tx: &mut sqlx::Transaction<'static, Db>,
    shipment_id: Uuid,
    event: &EventRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO shipment_events (shipment_id, status, occurred_at, recorded_at, actor, lat, lon, reason, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(shipment_id)
    .bind(event.status.as_str())
    .bind(event.occurred_at)
    .bind(event.recorded_at)
    .bind(event.actor.as_str())
    .bind(event.location.map(|p| p.lat))
    .bind(event.location.map(|p| p.lon))
    .bind(event.reason.map(|r| r.as_str()))
    .bind(event.note.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
