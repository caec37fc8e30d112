//! [`RouteStore`] on SQL, for both databases: receiving, the shipments waiting for a route, routes
//! and their changes.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, Pool};
use todoke_shared::ShipmentStatus;
use todoke_shared::dispatch::RouteStatus;
use uuid::Uuid;

use super::{Db, corrupt};
use crate::store::cache::Change;
use crate::store::dispatch::{PlacedShipment, RouteChangeRecord, RouteRecord, RouteStore, StopRecord, Transition};
use crate::store::rows::{ParcelRow, ShipmentRow};
use crate::store::{SqlStore, StoreError};

/// Shipments with where they were received; `{filter}` is a condition on `id`.
const SELECT_PLACED: &str = "SELECT id, tracking_number, merchant, external_ref, request_digest, status, \
     recipient_name, recipient_email, recipient_phone, language, address_lines, postal_code, city, region, country, \
     lat, lon, timezone, promised_date, window_start, window_end, preferences, flags, created_at, updated_at, \
     depot_id, zone_id FROM shipments WHERE {filter} ORDER BY id";

const SELECT_PARCELS: &str =
    "SELECT shipment_id, barcode, weight_g FROM parcels WHERE {filter} ORDER BY shipment_id, position";

#[derive(FromRow)]
pub(super) struct PlacedRow {
    #[sqlx(flatten)]
    shipment: ShipmentRow,
    depot_id: Option<Uuid>,
    zone_id: Option<Uuid>,
}

#[derive(FromRow)]
pub(super) struct RouteRow {
    id: Uuid,
    depot_id: Uuid,
    driver_id: Uuid,
    date: NaiveDate,
    status: String,
    version: i64,
    metres: f64,
    created_at: DateTime<Utc>,
    dispatched_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
pub(super) struct StopRow {
    id: Uuid,
    route_id: Uuid,
    shipment_id: Uuid,
    planned_arrival: DateTime<Utc>,
    planned_departure: DateTime<Utc>,
    late: bool,
    metres_from_previous: f64,
}

const SELECT_ROUTES: &str =
    "SELECT id, depot_id, driver_id, date, status, version, metres, created_at, dispatched_at FROM routes";
const SELECT_STOPS: &str = "SELECT id, route_id, shipment_id, planned_arrival, planned_departure, late, \
     metres_from_previous FROM route_stops";

impl RouteRow {
    fn into_record(self, stops: Vec<StopRecord>) -> Result<RouteRecord, StoreError> {
        Ok(RouteRecord {
            id: self.id,
            depot_id: self.depot_id,
            driver_id: self.driver_id,
            date: self.date,
            status: RouteStatus::parse(&self.status).ok_or_else(|| corrupt("route status"))?,
            version: self.version,
            metres: self.metres,
            created_at: self.created_at,
            dispatched_at: self.dispatched_at,
            stops,
        })
    }
}

impl From<StopRow> for StopRecord {
    fn from(row: StopRow) -> StopRecord {
        let StopRow { id, shipment_id, planned_arrival, planned_departure, late, metres_from_previous, .. } = row;
        StopRecord { id, shipment_id, planned_arrival, planned_departure, late, metres_from_previous }
    }
}

/// Which shipments to read with their placement.
enum Placed {
    UnroutedAt(Uuid, NaiveDate),
    Id(Uuid),
    OnRoute(Uuid),
    Barcode(String),
}

impl Placed {
    /// A condition on the shipment id in `column`, with its parameters as `$1` and `$2` (and, for the
    /// shipments waiting at a depot, `$3` for [`ShipmentStatus::AtDepot`]).
    fn condition(&self, column: &str) -> String {
        match self {
            Placed::UnroutedAt(..) => format!(
                "{column} IN (SELECT id FROM shipments WHERE depot_id = $1 AND status = $3) \
                 AND {column} NOT IN (SELECT shipment_id FROM route_stops WHERE date = $2)"
            ),
            Placed::Id(_) => format!("{column} = $1"),
            Placed::OnRoute(_) => format!("{column} IN (SELECT shipment_id FROM route_stops WHERE route_id = $1)"),
            Placed::Barcode(_) => format!("{column} IN (SELECT shipment_id FROM parcels WHERE barcode = $1)"),
        }
    }
}

#[async_trait]
impl RouteStore for SqlStore<Db> {
    async fn shipments_by_barcode(&self, barcodes: &[String]) -> Result<Vec<(String, PlacedShipment)>, StoreError> {
        let mut found = Vec::new();
        for barcode in barcodes {
            for shipment in placed(&self.pool, Placed::Barcode(barcode.clone())).await? {
                found.push((barcode.clone(), shipment));
            }
        }
        Ok(found)
    }

    async fn receive(&self, transition: &Transition, depot_id: Uuid, zone_id: Option<Uuid>) -> Result<(), StoreError> {
        let _evict = self.evictions.on_drop(vec![transition.shipment_id]);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            sqlx::query("UPDATE shipments SET depot_id = $1, zone_id = $2 WHERE id = $3")
                .bind(depot_id)
                .bind(zone_id)
                .bind(transition.shipment_id)
                .execute(&mut *tx)
                .await?;
            self.apply(&mut tx, transition).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn unrouted_at_depot(&self, depot_id: Uuid, date: NaiveDate) -> Result<Vec<PlacedShipment>, StoreError> {
        placed(&self.pool, Placed::UnroutedAt(depot_id, date)).await
    }

    async fn placed_shipments(&self, ids: &[Uuid]) -> Result<Vec<PlacedShipment>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(placed(&self.pool, Placed::Id(*id)).await?);
        }
        Ok(found)
    }

    async fn route_shipments(&self, route_id: Uuid) -> Result<Vec<PlacedShipment>, StoreError> {
        placed(&self.pool, Placed::OnRoute(route_id)).await
    }

    async fn insert_routes(&self, routes: &[RouteRecord]) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            for route in routes {
                sqlx::query(
                    "INSERT INTO routes (id, depot_id, driver_id, date, status, version, metres, created_at, dispatched_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(route.id)
                .bind(route.depot_id)
                .bind(route.driver_id)
                .bind(route.date)
                .bind(route.status.as_str())
                .bind(route.version)
                .bind(route.metres)
                .bind(route.created_at)
                .bind(route.dispatched_at)
                .execute(&mut *tx)
                .await?;
                insert_stops(&mut tx, route).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn routes(&self, depot_id: Uuid, date: NaiveDate) -> Result<Vec<RouteRecord>, StoreError> {
        let query = format!("{SELECT_ROUTES} WHERE depot_id = $1 AND date = $2 ORDER BY created_at, id");
        let rows = sqlx::query_as::<Db, RouteRow>(sqlx::AssertSqlSafe(query))
            .bind(depot_id)
            .bind(date)
            .fetch_all(&self.pool)
            .await?;
        let query = format!(
            "{SELECT_STOPS} WHERE route_id IN (SELECT id FROM routes WHERE depot_id = $1 AND date = $2) \
             ORDER BY route_id, position"
        );
        let stops = sqlx::query_as::<Db, StopRow>(sqlx::AssertSqlSafe(query))
            .bind(depot_id)
            .bind(date)
            .fetch_all(&self.pool)
            .await?;
        let mut by_route: HashMap<Uuid, Vec<StopRecord>> = HashMap::new();
        for stop in stops {
            by_route.entry(stop.route_id).or_default().push(stop.into());
        }
        rows.into_iter()
            .map(|row| {
                let stops = by_route.remove(&row.id).unwrap_or_default();
                row.into_record(stops)
            })
            .collect()
    }

    async fn route(&self, id: Uuid) -> Result<Option<RouteRecord>, StoreError> {
        let query = format!("{SELECT_ROUTES} WHERE id = $1");
        let Some(row) =
            sqlx::query_as::<Db, RouteRow>(sqlx::AssertSqlSafe(query)).bind(id).fetch_optional(&self.pool).await?
        else {
            return Ok(None);
        };
        let query = format!("{SELECT_STOPS} WHERE route_id = $1 ORDER BY position");
        let stops = sqlx::query_as::<Db, StopRow>(sqlx::AssertSqlSafe(query)).bind(id).fetch_all(&self.pool).await?;
        row.into_record(stops.into_iter().map(StopRecord::from).collect()).map(Some)
    }

    async fn route_changes(&self, route_id: Uuid) -> Result<Vec<RouteChangeRecord>, StoreError> {
        let rows = sqlx::query_as::<Db, (DateTime<Utc>, String, String)>(
            "SELECT changed_at, actor, change FROM route_changes WHERE route_id = $1 ORDER BY id",
        )
        .bind(route_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(changed_at, actor, change)| RouteChangeRecord { changed_at, actor, change })
            .collect())
    }

    async fn update_route(
        &self,
        route: &RouteRecord,
        change: Option<&RouteChangeRecord>,
        transitions: &[Transition],
    ) -> Result<(), StoreError> {
        // The shipments that move, and every shipment on the route: where each is expected depends on
        // the route's status, stops and order.
        let moved = transitions.iter().map(|t| t.shipment_id);
        let _evict = self.evictions.on_drop(moved.chain(route.stops.iter().map(|s| s.shipment_id)).collect());
        let _route = self.evictions.route_on_drop(route.id);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            self.notify_change(&mut tx, Change::Route(route.id)).await?;
            let updated = sqlx::query_as::<Db, (Uuid,)>(
                "UPDATE routes SET status = $1, version = $2, metres = $3, dispatched_at = $4 \
                 WHERE id = $5 AND version = $6 RETURNING id",
            )
            .bind(route.status.as_str())
            .bind(route.version)
            .bind(route.metres)
            .bind(route.dispatched_at)
            .bind(route.id)
            .bind(route.version - 1)
            .fetch_optional(&mut *tx)
            .await?;
            if updated.is_none() {
                return Err(StoreError::Stale);
            }
            sqlx::query("DELETE FROM route_stops WHERE route_id = $1").bind(route.id).execute(&mut *tx).await?;
            insert_stops(&mut tx, route).await?;
            if let Some(change) = change {
                sqlx::query("INSERT INTO route_changes (route_id, changed_at, actor, change) VALUES ($1, $2, $3, $4)")
                    .bind(route.id)
                    .bind(change.changed_at)
                    .bind(change.actor.as_str())
                    .bind(change.change.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            for transition in transitions {
                self.apply(&mut tx, transition).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}

/// Shipments with their placement, and their parcels.
async fn placed(pool: &Pool<Db>, which: Placed) -> Result<Vec<PlacedShipment>, StoreError> {
    let shipments = SELECT_PLACED.replace("{filter}", &which.condition("id"));
    let parcels = SELECT_PARCELS.replace("{filter}", &which.condition("shipment_id"));
    let (rows, parcels) = match which {
        Placed::UnroutedAt(depot, date) => (
            sqlx::query_as::<Db, PlacedRow>(sqlx::AssertSqlSafe(shipments))
                .bind(depot)
                .bind(date)
                .bind(ShipmentStatus::AtDepot.as_str().to_string())
                .fetch_all(pool)
                .await?,
            sqlx::query_as::<Db, ParcelRow>(sqlx::AssertSqlSafe(parcels))
                .bind(depot)
                .bind(date)
                .bind(ShipmentStatus::AtDepot.as_str().to_string())
                .fetch_all(pool)
                .await?,
        ),
        Placed::Id(id) | Placed::OnRoute(id) => (
            sqlx::query_as::<Db, PlacedRow>(sqlx::AssertSqlSafe(shipments)).bind(id).fetch_all(pool).await?,
            sqlx::query_as::<Db, ParcelRow>(sqlx::AssertSqlSafe(parcels)).bind(id).fetch_all(pool).await?,
        ),
        Placed::Barcode(barcode) => (
            sqlx::query_as::<Db, PlacedRow>(sqlx::AssertSqlSafe(shipments))
                .bind(barcode.clone())
                .fetch_all(pool)
                .await?,
            sqlx::query_as::<Db, ParcelRow>(sqlx::AssertSqlSafe(parcels)).bind(barcode).fetch_all(pool).await?,
        ),
    };
    let mut by_shipment: HashMap<Uuid, Vec<ParcelRow>> = HashMap::new();
    for parcel in parcels {
        by_shipment.entry(parcel.shipment_id).or_default().push(parcel);
    }
    rows.into_iter()
        .map(|row| {
            let own = by_shipment.remove(&row.shipment.id).unwrap_or_default();
            Ok(PlacedShipment {
                shipment: row.shipment.into_record(own)?,
                depot_id: row.depot_id,
                zone_id: row.zone_id,
            })
        })
        .collect()
}

async fn insert_stops(tx: &mut sqlx::Transaction<'static, Db>, route: &RouteRecord) -> Result<(), StoreError> {
    for (position, stop) in route.stops.iter().enumerate() {
        sqlx::query(
            "INSERT INTO route_stops (id, route_id, position, shipment_id, date, planned_arrival, planned_departure, \
             late, metres_from_previous) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(stop.id)
        .bind(route.id)
        .bind(position as i64)
        .bind(stop.shipment_id)
        .bind(route.date)
        .bind(stop.planned_arrival)
        .bind(stop.planned_departure)
        .bind(stop.late)
        .bind(stop.metres_from_previous)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
