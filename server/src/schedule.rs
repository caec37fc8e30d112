//! When and where a shipment is due, and a depot's day: pure mappings that dispatch, the arrival times
//! and proof of delivery share.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use todoke_shared::preferences::{DeliveryMethod, PickupPoint};
use todoke_shared::shipment::{GeoPoint, Promise, TimeWindow};

use crate::dispatch::plan::DaySeconds;
use crate::store::ShipmentRecord;
use crate::store::dispatch::DepotRecord;

/// The day a shipment is due and its window: the customer's chosen window, else the promised one.
pub fn due(shipment: &ShipmentRecord) -> (NaiveDate, DateTime<Utc>, DateTime<Utc>) {
    let content = &shipment.content;
    let chosen = content.preferences.window.as_ref().and_then(|w| {
        let time = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").ok();
        Some(Promise { date: w.date, window: TimeWindow { start: time(&w.start)?, end: time(&w.end)? } })
    });
    let promise = chosen.unwrap_or(content.promised);
    let (start, end) = promise.window_at(content.address.time_zone());
    (promise.date, start.with_timezone(&Utc), end.with_timezone(&Utc))
}

/// Where the driver takes it: the chosen pickup point, else the address.
pub fn destination(shipment: &ShipmentRecord, pickup_points: &[PickupPoint]) -> GeoPoint {
    let address = &shipment.content.address;
    if let DeliveryMethod::PickupPoint { point_id } = &shipment.content.preferences.method
        && let Some(point) = pickup_points.iter().find(|p| &p.id == point_id)
    {
        return GeoPoint { lat: point.lat, lon: point.lon };
    }
    GeoPoint { lat: address.lat, lon: address.lon }
}

fn depot_clock(depot: &DepotRecord) -> chrono_tz::Tz {
    depot.timezone.parse().unwrap_or(chrono_tz::Asia::Tokyo)
}

/// A depot's day: its clock's midnight, from which plans count seconds.
#[derive(Debug, Clone, Copy)]
pub struct DepotDay {
    pub midnight: DateTime<Utc>,
    pub tz: chrono_tz::Tz,
}

impl DepotDay {
    pub fn new(depot: &DepotRecord, date: NaiveDate) -> DepotDay {
        let tz = depot_clock(depot);
        let local = date.and_time(NaiveTime::MIN);
        let midnight = tz.from_local_datetime(&local).earliest().map_or(local.and_utc(), |t| t.with_timezone(&Utc));
        DepotDay { midnight, tz }
    }

    /// Today, on the depot's clock.
    pub fn today(depot: &DepotRecord, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&depot_clock(depot)).date_naive()
    }

    pub fn seconds(&self, at: DateTime<Utc>) -> DaySeconds {
        (at - self.midnight).num_seconds()
    }

    pub fn at(&self, seconds: DaySeconds) -> DateTime<Utc> {
        self.midnight + chrono::Duration::seconds(seconds)
    }

    pub fn time_of_day(&self, time: NaiveTime) -> DaySeconds {
        i64::from(time.num_seconds_from_midnight())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokyo(date: &str, time: &str) -> DateTime<Utc> {
        let local = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap().and_time(time.parse().unwrap());
        chrono_tz::Asia::Tokyo.from_local_datetime(&local).unwrap().with_timezone(&Utc)
    }

    fn depot() -> DepotRecord {
        DepotRecord {
            id: uuid::Uuid::nil(),
            name: "Koto".into(),
            address: "東京都江東区新砂3-4-31".into(),
            location: GeoPoint { lat: 35.6717, lon: 139.8333 },
            timezone: "Asia/Tokyo".into(),
            created_at: tokyo("2026-11-01", "00:00:00"),
        }
    }

    #[test]
    fn a_depot_day_counts_seconds_from_its_own_midnight() {
        let day = DepotDay::new(&depot(), NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        assert_eq!(day.midnight, tokyo("2026-11-24", "00:00:00"));
        assert_eq!(day.seconds(tokyo("2026-11-24", "08:30:00")), 8 * 3600 + 1800);
        assert_eq!(day.at(8 * 3600 + 1800), tokyo("2026-11-24", "08:30:00"));
        assert_eq!(day.time_of_day(NaiveTime::from_hms_opt(14, 0, 0).unwrap()), 14 * 3600);
        // 23:30 UTC is already the next morning in Tokyo.
        let late = DateTime::parse_from_rfc3339("2026-11-24T23:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(DepotDay::today(&depot(), late).to_string(), "2026-11-25");
    }
}
