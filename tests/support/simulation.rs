//! A driver's day in Tokyo, simulated: 30 stops on a loop from the Koto depot, planned with the
//! server's default speed model, the windows customers were promised, and what really happened: legs a
//! little faster or slower than planned, a traffic jam on the way to stop 10, and the phone's GPS points
//! every 30 seconds.

use chrono::{DateTime, Duration, DurationRound, NaiveDate, NaiveTime, TimeZone, Utc};
use todoke_server::dispatch::plan::SpeedModel;
use todoke_shared::shipment::GeoPoint;

/// The Koto depot of [`crate::warehouse::depot_with_zone`].
pub const DEPOT: GeoPoint = GeoPoint { lat: 35.6717, lon: 139.8333 };
pub const STOPS: usize = 30;
/// The jam holds the driver on the way to this stop (1-based).
pub const JAM_STOP: usize = 10;
/// Every third customer's window ends 15 to 20 minutes after the planned arrival; the others 90.
const TIGHT_SLACK: i64 = 15;
const LOOSE_SLACK: i64 = 90;
const POINT_EVERY: i64 = 30;

#[derive(Debug, Clone)]
pub struct SimStop {
    pub location: GeoPoint,
    pub planned_arrival: DateTime<Utc>,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// What really happened.
    pub arrival: DateTime<Utc>,
    pub departure: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub location: GeoPoint,
}

#[derive(Debug, Clone)]
pub struct SimDay {
    pub date: NaiveDate,
    pub shift_start: DateTime<Utc>,
    pub stops: Vec<SimStop>,
    pub points: Vec<Point>,
}

/// `HH:MM` at the address (Tokyo).
pub fn tokyo_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Asia::Tokyo).format("%H:%M").to_string()
}

/// The places, in driving order: a loop through Chuo, Chiyoda, Minato and back, about a kilometre apart.
pub fn places() -> Vec<GeoPoint> {
    let centre = GeoPoint { lat: 35.6700, lon: 139.7650 };
    (0..STOPS)
        .map(|i| {
            let angle = std::f64::consts::TAU * i as f64 / STOPS as f64;
            // About 4.5 km across, a little wobbly so that legs differ.
            let radius = 0.040 + 0.004 * ((i * 7) % 5) as f64 / 4.0;
            GeoPoint { lat: centre.lat + radius * angle.sin() * 0.8, lon: centre.lon + radius * angle.cos() }
        })
        .collect()
}

/// A deterministic number in [-1, 1] for `i`: the day's small surprises, the same on every run.
fn jitter(i: usize, salt: u64) -> f64 {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x % 20_001) as f64 / 10_000.0 - 1.0
}

/// The day on `date`, with a jam of `jam_minutes` on the way to [`JAM_STOP`].
pub fn tokyo_day(date: NaiveDate, jam_minutes: i64) -> SimDay {
    let speed = SpeedModel::default();
    let tokyo = chrono_tz::Asia::Tokyo;
    let shift_start = tokyo
        .from_local_datetime(&date.and_time(NaiveTime::from_hms_opt(8, 0, 0).unwrap()))
        .unwrap()
        .with_timezone(&Utc);
    let places = places();
    let service = Duration::seconds(speed.service(1));
    let five = Duration::minutes(5);

    // The plan, exactly as the server schedules a route in a given order.
    let mut clock = shift_start;
    let mut previous = DEPOT;
    let mut planned = Vec::new();
    for place in &places {
        let drive = speed.driving_seconds(speed.metres(previous, *place)).round() as i64;
        let arrival = clock + Duration::seconds(drive);
        planned.push(arrival);
        clock = arrival + service;
        previous = *place;
    }

    // The truth: each leg 8 % faster or slower at most, each door 30 s quicker or slower, and the jam.
    let mut stops = Vec::new();
    let mut points = Vec::new();
    let mut clock = shift_start;
    let mut previous = DEPOT;
    for (i, place) in places.iter().enumerate() {
        let drive = speed.driving_seconds(speed.metres(previous, *place)) * (1.0 + 0.08 * jitter(i, 1));
        let jam = if i + 1 == JAM_STOP { Duration::minutes(jam_minutes) } else { Duration::zero() };
        let leave = clock;
        let arrival = leave + Duration::seconds(drive.round() as i64) + jam;
        // Stuck a fifth of the way along the leg.
        let position = |at: DateTime<Utc>| {
            let moving = (at - leave).num_seconds() as f64;
            let fifth = drive * 0.2;
            let driven = if moving < fifth { moving } else { (moving - jam.num_seconds() as f64).max(fifth) };
            let f = (driven / drive).clamp(0.0, 1.0);
            GeoPoint {
                lat: previous.lat + (place.lat - previous.lat) * f,
                lon: previous.lon + (place.lon - previous.lon) * f,
            }
        };
        let departure = arrival + service + Duration::seconds((30.0 * jitter(i, 2)).round() as i64);
        let mut at = next_point_time(leave);
        while at < departure {
            let location = if at < arrival { position(at) } else { *place };
            // A phone's fix wanders by ten metres or so.
            let n = points.len();
            let noise = GeoPoint { lat: 0.0001 * jitter(n, 3), lon: 0.0001 * jitter(n, 4) };
            points.push(Point {
                at,
                location: GeoPoint { lat: location.lat + noise.lat, lon: location.lon + noise.lon },
            });
            at += Duration::seconds(POINT_EVERY);
        }
        let slack = Duration::minutes(if i % 3 == 1 { TIGHT_SLACK } else { LOOSE_SLACK });
        let window_end = (planned[i] + slack + five - Duration::seconds(1)).duration_trunc(five).unwrap();
        let window_start = (planned[i] - Duration::minutes(90)).duration_trunc(five).unwrap();
        stops.push(SimStop {
            location: *place,
            planned_arrival: planned[i],
            window_start,
            window_end,
            arrival,
            departure,
        });
        clock = departure;
        previous = *place;
    }
    SimDay { date, shift_start, stops, points }
}

fn next_point_time(at: DateTime<Utc>) -> DateTime<Utc> {
    let step = Duration::seconds(POINT_EVERY);
    let floor = at.duration_trunc(step).unwrap();
    if floor < at { floor + step } else { floor }
}

/// A day two days back in Tokyo: every moment of it lies in the past, as a replayed trace must.
pub fn replay_date() -> NaiveDate {
    Utc::now().with_timezone(&chrono_tz::Asia::Tokyo).date_naive() - Duration::days(2)
}
