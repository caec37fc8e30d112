//! [`EtaStore`] and [`ArrivalStore`] on SQL, for both databases.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;
use todoke_shared::ShipmentStatus;
use todoke_shared::dispatch::RouteStatus;
use uuid::Uuid;

use super::Db;
use super::pod::parse_outcome;
use crate::eta::delay::Told;
use crate::eta::model::Pace;
use crate::store::cache::Change;
use crate::store::eta::{
    Announced, Announcement, ArrivalStore, DayProof, EtaStore, Placement, RouteEtaRecord, StopProgress,
};
use crate::store::sql::to_json;
use crate::store::{SqlStore, StoreError};

/// A stop is open while its shipment is out for delivery, it has no proof, and no later day's route
/// took the shipment over. `{out}` is the parameter that binds [`ShipmentStatus::OutForDelivery`].
const SELECT_PROGRESS: &str = "SELECT s.id AS stop_id, s.shipment_id, a.arrived_at, p.captured_at AS completed_at, \
     (sh.status = {out} AND p.id IS NULL AND NOT EXISTS (SELECT 1 FROM route_stops later \
     WHERE later.shipment_id = s.shipment_id AND later.date > s.date)) AS open \
     FROM route_stops s JOIN shipments sh ON sh.id = s.shipment_id \
     LEFT JOIN stop_arrivals a ON a.stop_id = s.id LEFT JOIN proofs p ON p.stop_id = s.id";

const SELECT_ETAS: &str = "SELECT route_id, as_of, computed_at, travel_pace, service_pace, stops FROM route_etas";

#[derive(FromRow)]
pub(super) struct ProgressRow {
    stop_id: Uuid,
    shipment_id: Uuid,
    arrived_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    open: bool,
}

#[derive(FromRow)]
pub(super) struct EtaRow {
    route_id: Uuid,
    as_of: Option<DateTime<Utc>>,
    computed_at: DateTime<Utc>,
    travel_pace: f64,
    service_pace: f64,
    stops: String,
}

impl EtaRow {
    fn into_record(self) -> Result<RouteEtaRecord, StoreError> {
        Ok(RouteEtaRecord {
            route_id: self.route_id,
            as_of: self.as_of,
            computed_at: self.computed_at,
            pace: Pace { travel: self.travel_pace, service: self.service_pace },
            stops: serde_json::from_str(&self.stops).map_err(|e| StoreError::Corrupt(format!("route ETAs: {e}")))?,
        })
    }
}

#[derive(FromRow)]
pub(super) struct PlacementRow {
    stop_id: Uuid,
    route_id: Uuid,
    driver_id: Uuid,
}

#[derive(FromRow)]
pub(super) struct AnnouncedRow {
    stop_id: Uuid,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    notices: i64,
}

#[derive(FromRow)]
pub(super) struct DayProofRow {
    proof_id: Uuid,
    route_id: Uuid,
    stop_id: Uuid,
    shipment_id: Uuid,
    outcome: String,
    captured_at: DateTime<Utc>,
    distance_m: f64,
    flagged: bool,
    details: String,
}

/// `$1, $2, …` for `count` parameters.
fn parameters(count: usize) -> String {
    (1..=count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[async_trait]
impl EtaStore for SqlStore<Db> {
    async fn open_routes(&self, driver_id: Uuid, since: NaiveDate) -> Result<Vec<Uuid>, StoreError> {
        let query = format!(
            "SELECT id FROM routes WHERE driver_id = $1 AND date >= $2 AND status = $3 AND EXISTS \
             (SELECT 1 FROM ({progress} WHERE s.route_id = routes.id) progress WHERE progress.open) \
             ORDER BY date, id",
            progress = SELECT_PROGRESS.replace("{out}", "$4")
        );
        let rows = sqlx::query_as::<Db, (Uuid,)>(sqlx::AssertSqlSafe(query))
            .bind(driver_id)
            .bind(since)
            .bind(RouteStatus::Dispatched.as_str())
            .bind(ShipmentStatus::OutForDelivery.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn stop_progress(&self, route_id: Uuid) -> Result<Vec<StopProgress>, StoreError> {
        let query = format!("{} WHERE s.route_id = $1 ORDER BY s.position", SELECT_PROGRESS.replace("{out}", "$2"));
        let rows = sqlx::query_as::<Db, ProgressRow>(sqlx::AssertSqlSafe(query))
            .bind(route_id)
            .bind(ShipmentStatus::OutForDelivery.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| StopProgress {
                stop_id: r.stop_id,
                shipment_id: r.shipment_id,
                open: r.open,
                arrived_at: r.arrived_at,
                completed_at: r.completed_at,
            })
            .collect())
    }

    async fn announced(&self, route_ids: &[Uuid]) -> Result<Vec<Announced>, StoreError> {
        if route_ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = format!(
            "SELECT stop_id, window_start, window_end, notices FROM stop_delays WHERE route_id IN ({})",
            parameters(route_ids.len())
        );
        let mut select = sqlx::query_as::<Db, AnnouncedRow>(sqlx::AssertSqlSafe(query));
        for id in route_ids {
            select = select.bind(*id);
        }
        let rows = select.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| Announced {
                stop_id: r.stop_id,
                told: Told { start: r.window_start, end: r.window_end },
                notices: u32::try_from(r.notices).unwrap_or(0),
            })
            .collect())
    }

    async fn save_eta(
        &self,
        eta: &RouteEtaRecord,
        announcements: &[Announcement],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _evict = self.evictions.route_on_drop(eta.route_id);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            self.notify_change(&mut tx, Change::Route(eta.route_id)).await?;
            // An estimate from older news never replaces one from newer: two servers may compute at once.
            let saved = sqlx::query_as::<Db, (Uuid,)>(
                "INSERT INTO route_etas (route_id, as_of, computed_at, travel_pace, service_pace, stops) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (route_id) DO UPDATE SET as_of = excluded.as_of, \
                 computed_at = excluded.computed_at, travel_pace = excluded.travel_pace, \
                 service_pace = excluded.service_pace, stops = excluded.stops \
                 WHERE route_etas.as_of IS NULL OR route_etas.as_of <= excluded.as_of RETURNING route_id",
            )
            .bind(eta.route_id)
            .bind(eta.as_of)
            .bind(eta.computed_at)
            .bind(eta.pace.travel)
            .bind(eta.pace.service)
            .bind(to_json(&eta.stops)?.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if saved.is_none() {
                return Err(StoreError::Stale);
            }
            for announcement in announcements {
                let (status,) = sqlx::query_as::<Db, (String,)>("SELECT status FROM shipments WHERE id = $1")
                    .bind(announcement.shipment_id)
                    .fetch_one(&mut *tx)
                    .await?;
                if status != ShipmentStatus::OutForDelivery.as_str() {
                    continue;
                }
                let told = announcement.told;
                let written = if announcement.previous == 0 {
                    sqlx::query_as::<Db, (Uuid,)>(
                        "INSERT INTO stop_delays (stop_id, route_id, shipment_id, window_start, window_end, notices, \
                         updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6) ON CONFLICT (stop_id) DO NOTHING RETURNING stop_id",
                    )
                    .bind(announcement.stop_id)
                    .bind(eta.route_id)
                    .bind(announcement.shipment_id)
                    .bind(told.start)
                    .bind(told.end)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?
                } else {
                    sqlx::query_as::<Db, (Uuid,)>(
                        "UPDATE stop_delays SET window_start = $1, window_end = $2, notices = notices + 1, updated_at = $3 \
                         WHERE stop_id = $4 AND notices = $5 RETURNING stop_id",
                    )
                    .bind(told.start)
                    .bind(told.end)
                    .bind(now)
                    .bind(announcement.stop_id)
                    .bind(i64::from(announcement.previous))
                    .fetch_optional(&mut *tx)
                    .await?
                };
                // Another server told this customer first.
                if written.is_none() {
                    return Err(StoreError::Stale);
                }
                self.insert_notices(&mut tx, announcement.shipment_id, &announcement.notices, now).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn route_etas(&self, route_ids: &[Uuid]) -> Result<Vec<RouteEtaRecord>, StoreError> {
        if route_ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = format!("{SELECT_ETAS} WHERE route_id IN ({})", parameters(route_ids.len()));
        let mut select = sqlx::query_as::<Db, EtaRow>(sqlx::AssertSqlSafe(query));
        for id in route_ids {
            select = select.bind(*id);
        }
        select.fetch_all(&self.pool).await?.into_iter().map(EtaRow::into_record).collect()
    }

    async fn day_proofs(&self, depot_id: Uuid, date: NaiveDate) -> Result<Vec<DayProof>, StoreError> {
        let rows = sqlx::query_as::<Db, DayProofRow>(
            "SELECT p.id AS proof_id, s.route_id, p.stop_id, p.shipment_id, p.outcome, p.captured_at, p.distance_m, \
             p.flagged, p.details FROM proofs p JOIN route_stops s ON s.id = p.stop_id \
             JOIN routes r ON r.id = s.route_id WHERE r.depot_id = $1 AND r.date = $2 ORDER BY p.captured_at, p.id",
        )
        .bind(depot_id)
        .bind(date)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DayProof {
                    proof_id: r.proof_id,
                    route_id: r.route_id,
                    stop_id: r.stop_id,
                    shipment_id: r.shipment_id,
                    outcome: parse_outcome(&r.outcome)?,
                    captured_at: r.captured_at,
                    distance_m: r.distance_m,
                    flagged: r.flagged,
                    details: r.details,
                })
            })
            .collect()
    }
}

#[async_trait]
impl ArrivalStore for SqlStore<Db> {
    async fn placement(&self, shipment_id: Uuid) -> Result<Option<Placement>, StoreError> {
        let row = sqlx::query_as::<Db, PlacementRow>(
            "SELECT s.id AS stop_id, s.route_id, r.driver_id FROM route_stops s JOIN routes r ON r.id = s.route_id \
             WHERE s.shipment_id = $1 AND r.status = $2 ORDER BY s.date DESC LIMIT 1",
        )
        .bind(shipment_id)
        .bind(RouteStatus::Dispatched.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Placement { stop_id: r.stop_id, route_id: r.route_id, driver_id: r.driver_id }))
    }

    async fn route_eta(&self, route_id: Uuid) -> Result<Option<Arc<RouteEtaRecord>>, StoreError> {
        let query = format!("{SELECT_ETAS} WHERE route_id = $1");
        let row =
            sqlx::query_as::<Db, EtaRow>(sqlx::AssertSqlSafe(query)).bind(route_id).fetch_optional(&self.pool).await?;
        row.map(|r| r.into_record().map(Arc::new)).transpose()
    }
}
