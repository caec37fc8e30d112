//! [`DispatchStore`] on SQL, for both databases.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::{FromRow, Pool};
use todoke_shared::ShipmentStatus;
use todoke_shared::dispatch::RouteStatus;
use todoke_shared::shipment::GeoPoint;
use uuid::Uuid;

use super::Db;
use crate::store::dispatch::{
    DepotRecord, DispatchStore, DriverRecord, LocationRecord, PlacedShipment, RouteChangeRecord, RouteRecord,
    StopRecord, Transition, ZoneRecord,
};
use crate::store::rows::{ParcelRow, ShipmentRow};
use crate::store::sql::to_json;
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

const SELECT_DRIVERS: &str = "SELECT d.user_id, u.name, u.email, d.depot_id, d.capacity, d.shift_start, \
     d.shift_end, d.zones, d.updated_at FROM drivers d JOIN users u ON u.id = d.user_id";
const SELECT_ROUTES: &str =
    "SELECT id, depot_id, driver_id, date, status, version, metres, created_at, dispatched_at FROM routes";
const SELECT_STOPS: &str = "SELECT id, route_id, shipment_id, planned_arrival, planned_departure, late, \
     metres_from_previous FROM route_stops";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

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
impl DispatchStore for SqlStore<Db> {
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
            self.transition_in(
                &mut tx,
                transition.shipment_id,
                transition.from,
                &transition.event,
                &transition.notices,
            )
            .await?;
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
        let _evict = self.evictions.on_drop(transitions.iter().map(|t| t.shipment_id).collect());
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
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
                self.transition_in(
                    &mut tx,
                    transition.shipment_id,
                    transition.from,
                    &transition.event,
                    &transition.notices,
                )
                .await?;
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
