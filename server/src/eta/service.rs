//! Recomputing a driver's routes: reads what happened on the route, estimates the open stops, decides
//! the delay notices, and keeps both in one transaction.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use todoke_shared::ShipmentStatus;
use todoke_shared::preferences::PickupPoint;
use todoke_shared::shipment::{Address, GeoPoint};
use uuid::Uuid;

use super::Eta;
use super::delay::DelayPolicy;
use super::delay::{Told, window_to_announce};
use super::model::{Fix, Pace, RouteStop, StopEta, coarsen, estimate, latest_fix, learn_pace};
use crate::clock::Clock;
use crate::dispatch::plan::SpeedModel;
use crate::notify::{Delay, Mail};
use crate::schedule::{DepotDay, destination, due};
use crate::store::dispatch::{LocationRecord, PlacedShipment, RouteRecord};
use crate::store::eta::{Announced, Announcement, ArrivalStore, RouteEtaRecord, StopProgress};
use crate::store::{DepotStore, LocationStore, PlaceStore, RouteStore, ShipmentRecord, Store, StoreError};

/// Routes older than this are history, even with a stop left open: a driver's dispatched routes
/// pile up over the months, and each point must not scan them all.
const LIVE_DAYS: i64 = 7;

/// The arrival times' service, with exactly what it needs: the estimates and their news, the routes,
/// the pickup points, the mail for delay notices, the planner's speed model and the time.
#[derive(Clone)]
pub struct Estimator {
    /// The delivery slots and pickup points customers choose from.
    pub places: Arc<dyn PlaceStore>,
    pub eta: Arc<Eta>,
    pub depots: Arc<dyn DepotStore>,
    pub routes: Arc<dyn RouteStore>,
    pub locations: Arc<dyn LocationStore>,
    /// The estimates the tracking views read (through the read cache).
    pub arrivals: Arc<dyn ArrivalStore>,
    pub shipments: Arc<dyn Store>,
    pub mail: Arc<Mail>,
    pub speed: SpeedModel,
    pub clock: Arc<dyn Clock>,
}

/// Recomputes every open route of a driver. Another server computing the same route at once makes one
/// of them step back ([`StoreError::Stale`]); it reads again and tries once more.
#[tracing::instrument(skip_all, fields(driver_id = %driver_id))]
pub async fn recompute_driver(state: &Estimator, driver_id: Uuid) -> Result<(), StoreError> {
    let since = (state.clock.now() - Duration::days(LIVE_DAYS)).date_naive();
    for route_id in state.eta.store.open_routes(driver_id, since).await? {
        match recompute_route(state, route_id).await {
            Err(StoreError::Stale) => recompute_route(state, route_id).await?,
            other => other?,
        }
    }
    Ok(())
}

/// Everything one route's estimate is made of, as read from storage.
pub struct RouteNews {
    pub route: RouteRecord,
    pub day: DepotDay,
    pub shipments: HashMap<Uuid, PlacedShipment>,
    pub pickup_points: Vec<PickupPoint>,
    pub progress: Vec<StopProgress>,
    pub position: Option<LocationRecord>,
    pub announced: Vec<Announced>,
}

#[tracing::instrument(skip_all, fields(route_id = %route_id))]
pub async fn recompute_route(state: &Estimator, route_id: Uuid) -> Result<(), StoreError> {
    let Some(route) = state.routes.route(route_id).await? else { return Ok(()) };
    let Some(depot) = state.depots.depot(route.depot_id).await? else { return Ok(()) };
    let news = RouteNews {
        day: DepotDay::new(&depot, route.date),
        shipments: state.routes.route_shipments(route_id).await?.into_iter().map(|p| (p.shipment.id, p)).collect(),
        pickup_points: state.places.pickup_points().await?,
        progress: state.eta.store.stop_progress(route_id).await?,
        position: state.locations.driver_position(route.driver_id).await?,
        announced: state.eta.store.announced(&[route_id]).await?,
        route,
    };
    let now = state.clock.now();
    let (eta, announcements) = judge(&state.speed, &state.eta.policy, &state.mail, &news, now);
    state.eta.store.save_eta(&eta, &announcements, now).await
}

/// The estimate of a route and the delay notices it calls for.
pub fn judge(
    speed: &SpeedModel,
    policy: &DelayPolicy,
    mail: &Mail,
    news: &RouteNews,
    now: DateTime<Utc>,
) -> (RouteEtaRecord, Vec<Announcement>) {
    let stops = route_stops(news, speed);
    // A point from another day says nothing about this route.
    let position = news
        .position
        .filter(|p| p.recorded_at.with_timezone(&news.day.tz).date_naive() == news.route.date)
        .map(|p| Fix { at: p.recorded_at, location: GeoPoint { lat: p.lat, lon: p.lon } });
    let fix = latest_fix(&stops, position);
    let pace = if fix.is_some() { learn_pace(&stops, speed) } else { Pace::PLANNED };
    let etas = estimate(&stops, fix, pace, speed);
    // Before the driver shows any sign, the plan stands and nobody is told it is late: the dispatched
    // notice already gave the plan.
    let announcements = match fix {
        Some(_) => announcements(policy, mail, news, &stops, &etas),
        None => Vec::new(),
    };
    let eta = RouteEtaRecord { route_id: news.route.id, as_of: fix.map(|f| f.at), computed_at: now, pace, stops: etas };
    (eta, announcements)
}

/// The route's stops in driving order, as the model sees them.
fn route_stops(news: &RouteNews, speed: &SpeedModel) -> Vec<RouteStop> {
    let progress: HashMap<Uuid, &StopProgress> = news.progress.iter().map(|p| (p.stop_id, p)).collect();
    news.route
        .stops
        .iter()
        .filter_map(|stop| {
            let placed = news.shipments.get(&stop.shipment_id)?;
            let shipment = &placed.shipment;
            let (_, window_start, window_end) = due(shipment);
            let progress = progress.get(&stop.id);
            Some(RouteStop {
                stop_id: stop.id,
                shipment_id: shipment.id,
                location: destination(shipment, &news.pickup_points),
                service: Duration::seconds(speed.service(shipment.content.parcels.len() as u32)),
                window_start,
                window_end,
                planned_arrival: stop.planned_arrival,
                open: progress.is_some_and(|p| p.open),
                arrived_at: progress.and_then(|p| p.arrived_at),
                completed_at: progress.and_then(|p| p.completed_at),
            })
        })
        .collect()
}

fn announcements(
    policy: &DelayPolicy,
    mail: &Mail,
    news: &RouteNews,
    stops: &[RouteStop],
    etas: &[StopEta],
) -> Vec<Announcement> {
    let told: HashMap<Uuid, &Announced> = news.announced.iter().map(|a| (a.stop_id, a)).collect();
    let stops: HashMap<Uuid, &RouteStop> = stops.iter().map(|s| (s.stop_id, s)).collect();
    etas.iter()
        .filter_map(|eta| {
            let stop = stops.get(&eta.stop_id)?;
            let before = told.get(&eta.stop_id);
            let window = window_to_announce(eta.expected_arrival, stop.window_end, before.map(|a| a.told), policy)?;
            let shipment = &news.shipments.get(&eta.shipment_id)?.shipment;
            Some(Announcement {
                stop_id: eta.stop_id,
                shipment_id: eta.shipment_id,
                told: window,
                previous: before.map_or(0, |a| a.notices),
                notices: mail.for_delay(shipment, &delay(window, &shipment.content.address)),
            })
        })
        .collect()
}

/// A window as the notice names it: on the clock at the address.
fn delay(window: Told, address: &Address) -> Delay {
    let (start, end) = (address.local_time(window.start), address.local_time(window.end));
    Delay { date: start.date_naive(), start: start.format("%H:%M").to_string(), end: end.format("%H:%M").to_string() }
}

/// Where a shipment out for delivery stands in its driver's day, as its customer may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    pub expected: DateTime<Utc>,
    pub stops_before: u32,
    pub as_of: Option<DateTime<Utc>>,
    /// Coarsened; only when this is the next stop and the customer's own view asked for it.
    pub driver_near: Option<GeoPoint>,
}

/// A position older than this before the estimate's news is not shown as where the driver is.
const FRESH_POSITION: Duration = Duration::minutes(30);

pub async fn arrival(
    state: &Estimator,
    shipment: &ShipmentRecord,
    show_driver: bool,
) -> Result<Option<Arrival>, StoreError> {
    if shipment.status != ShipmentStatus::OutForDelivery {
        return Ok(None);
    }
    let Some(found) = state.arrivals.placement(shipment.id).await? else { return Ok(None) };
    let Some(eta) = state.arrivals.route_eta(found.route_id).await? else { return Ok(None) };
    let Some(stop) = eta.stops.iter().find(|s| s.stop_id == found.stop_id) else { return Ok(None) };
    let grid = state.eta.position_grid_m;
    let driver_near = match (show_driver && stop.stops_before == 0 && grid > 0.0, eta.as_of) {
        (true, Some(as_of)) => state
            .locations
            .driver_position(found.driver_id)
            .await?
            .filter(|p| p.recorded_at + FRESH_POSITION >= as_of)
            .map(|p| coarsen(GeoPoint { lat: p.lat, lon: p.lon }, grid)),
        _ => None,
    };
    Ok(Some(Arrival {
        expected: stop.expected_arrival,
        stops_before: stop.stops_before,
        as_of: eta.as_of,
        driver_near,
    }))
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use chrono::{NaiveDate, TimeZone};
    use todoke_shared::dispatch::RouteStatus;
    use todoke_shared::preferences::{Preferences, ShipmentFlags};
    use todoke_shared::shipment::{NewShipment, Parcel, Promise, Recipient, TimeWindow};
    use todoke_shared::{Language, TrackingNumber};

    use super::*;
    use crate::notify::transport::{SendError, Transport};
    use crate::store::Notice;
    use crate::store::dispatch::StopRecord;

    const DAY: &str = "2026-11-24";

    /// A time of the route's day on the clock in Tokyo.
    fn tokyo(hour: u32, minute: u32) -> DateTime<Utc> {
        let date = NaiveDate::parse_from_str(DAY, "%Y-%m-%d").unwrap();
        let local = date.and_hms_opt(hour, minute, 0).unwrap();
        chrono_tz::Asia::Tokyo.from_local_datetime(&local).unwrap().with_timezone(&Utc)
    }

    /// Judging only queues notices; nothing is sent.
    struct Nowhere;

    #[async_trait]
    impl Transport for Nowhere {
        async fn send(&self, _: lettre::Message) -> Result<(), SendError> {
            Ok(())
        }

        fn connections(&self) -> usize {
            1
        }

        fn describe(&self) -> String {
            "nowhere".to_string()
        }
    }

    fn mail() -> Mail {
        Mail {
            from: "todoke@example.jp".parse().unwrap(),
            domain: "example.jp".to_string(),
            transport: Arc::new(Nowhere),
            max_age: Duration::hours(24),
            lease: Duration::minutes(5),
        }
    }

    /// Promised 14:00 to 16:00 at Tokyo Station, one parcel.
    fn shipment(n: u128) -> ShipmentRecord {
        ShipmentRecord {
            id: Uuid::from_u128(n),
            tracking_number: TrackingNumber::from_random_bits(n),
            merchant: None,
            request_digest: String::new(),
            status: ShipmentStatus::OutForDelivery,
            content: NewShipment {
                external_ref: format!("ORDER-{n}"),
                recipient: Recipient {
                    name: "山田 花子".to_string(),
                    email: format!("customer{n}@example.jp"),
                    phone: None,
                    language: Language::Ja,
                },
                address: Address {
                    lines: vec!["丸の内1-9-1".to_string()],
                    postal_code: "100-0005".to_string(),
                    city: "千代田区".to_string(),
                    region: None,
                    country: "JP".to_string(),
                    lat: 35.6812,
                    lon: 139.7671,
                    timezone: "Asia/Tokyo".to_string(),
                },
                promised: Promise {
                    date: DAY.parse().unwrap(),
                    window: TimeWindow { start: "14:00".parse().unwrap(), end: "16:00".parse().unwrap() },
                },
                parcels: vec![Parcel { barcode: format!("49012345{n:05}"), weight_g: 1200 }],
                preferences: Preferences::default(),
                flags: ShipmentFlags::default(),
            },
            created_at: tokyo(8, 0),
            updated_at: tokyo(8, 0),
        }
    }

    /// Two open stops at the same door, both told the delay window `told` before, and the driver seen
    /// there at `seen`: the first is expected then, the second after three minutes at the door.
    fn news(told: Told, seen: Option<DateTime<Utc>>) -> RouteNews {
        let shipments = [shipment(1), shipment(2)];
        let stops = shipments
            .iter()
            .map(|s| StopRecord {
                id: Uuid::from_u128(s.id.as_u128() + 100),
                shipment_id: s.id,
                planned_arrival: tokyo(14, 30),
                planned_departure: tokyo(14, 33),
                late: false,
                metres_from_previous: 0.0,
            })
            .collect::<Vec<_>>();
        RouteNews {
            route: RouteRecord {
                id: Uuid::from_u128(10),
                depot_id: Uuid::from_u128(20),
                driver_id: Uuid::from_u128(30),
                date: DAY.parse().unwrap(),
                status: RouteStatus::Dispatched,
                version: 1,
                metres: 0.0,
                created_at: tokyo(7, 0),
                dispatched_at: Some(tokyo(8, 0)),
                stops: stops.clone(),
            },
            day: DepotDay { midnight: tokyo(0, 0), tz: chrono_tz::Asia::Tokyo },
            progress: stops
                .iter()
                .map(|stop| StopProgress {
                    stop_id: stop.id,
                    shipment_id: stop.shipment_id,
                    open: true,
                    arrived_at: None,
                    completed_at: None,
                })
                .collect(),
            announced: stops.iter().map(|stop| Announced { stop_id: stop.id, told, notices: 1 }).collect(),
            shipments: shipments
                .into_iter()
                .map(|shipment| (shipment.id, PlacedShipment { shipment, depot_id: None, zone_id: None }))
                .collect(),
            pickup_points: Vec::new(),
            position: seen.map(|at| LocationRecord {
                recorded_at: at,
                lat: 35.6812,
                lon: 139.7671,
                accuracy_m: None,
                speed_mps: None,
                heading_deg: None,
            }),
        }
    }

    #[test]
    fn a_stop_expected_past_its_told_window_beyond_the_margin_is_told_a_new_one_and_one_within_is_not() {
        let policy = DelayPolicy::default();
        // Both were told 15:15 to 16:15. Seen at the door at 16:30, the first stop is expected then, 15
        // minutes past that window (the margin, no more); the second at 16:33, beyond it.
        let news = news(Told { start: tokyo(15, 15), end: tokyo(16, 15) }, Some(tokyo(16, 30)));
        let (eta, announcements) = judge(&SpeedModel::default(), &policy, &mail(), &news, tokyo(16, 31));

        assert_eq!(eta.as_of, Some(tokyo(16, 30)));
        let expected: Vec<_> = eta.stops.iter().map(|s| s.expected_arrival).collect();
        assert_eq!(expected, [tokyo(16, 30), tokyo(16, 33)]);
        assert_eq!(announcements.len(), 1, "{announcements:?}");
        let told = &announcements[0];
        assert_eq!(told.stop_id, news.route.stops[1].id);
        assert_eq!(told.told, Told { start: tokyo(16, 30), end: tokyo(17, 30) });
        assert_eq!(told.previous, 1);
        let delay = Delay { date: DAY.parse().unwrap(), start: "16:30".to_string(), end: "17:30".to_string() };
        let notices: Vec<_> = told.notices.iter().map(|n| (&n.notice, n.recipient.as_str())).collect();
        assert_eq!(notices, [(&Notice::Delayed(delay), "customer2@example.jp")]);
    }

    #[test]
    fn before_any_sign_of_the_driver_the_plan_stands_and_nobody_is_told() {
        let long_ago = Told { start: tokyo(9, 0), end: tokyo(10, 0) };
        let (eta, announcements) =
            judge(&SpeedModel::default(), &DelayPolicy::default(), &mail(), &news(long_ago, None), tokyo(16, 31));
        assert_eq!(eta.as_of, None);
        assert!(eta.stops.iter().all(|s| s.expected_arrival == tokyo(14, 30)), "{:?}", eta.stops);
        assert!(announcements.is_empty(), "{announcements:?}");
    }
}
