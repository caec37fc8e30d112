//! Positions from a file: a GPX track (what phones and GPS loggers export) or an NMEA log (what a GPS
//! receiver writes on its serial line), for replaying a drive.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveTime, TimeZone, Utc};
use todoke_shared::driver::LocationPoint;

#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    #[error("cannot be read: {0}")]
    Unreadable(#[from] std::io::Error),
    #[error("is not a GPX file: {0}")]
    Gpx(String),
    #[error("holds no timed positions (GPX track points with <time>, or NMEA RMC sentences with a valid fix)")]
    Empty,
}

/// Metres of error per unit of HDOP: a common rule of thumb for a phone-grade receiver.
const METRES_PER_HDOP: f64 = 5.0;
const METRES_PER_SECOND_PER_KNOT: f64 = 0.514_444;

/// Reads a GPX file (by its `.gpx` name or its `<gpx` start) or else an NMEA log; points in time order.
pub fn read(path: &Path) -> Result<Vec<LocationPoint>, TrackError> {
    let bytes = std::fs::read(path)?;
    let is_gpx = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gpx"))
        || String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).contains("<gpx");
    let mut points = if is_gpx { from_gpx(&bytes)? } else { from_nmea(&String::from_utf8_lossy(&bytes)) };
    if points.is_empty() {
        return Err(TrackError::Empty);
    }
    points.sort_by_key(|p| p.at);
    Ok(points)
}

fn from_gpx(bytes: &[u8]) -> Result<Vec<LocationPoint>, TrackError> {
    let gpx = gpx::read(bytes).map_err(|e| TrackError::Gpx(e.to_string()))?;
    let track_points = gpx.tracks.iter().flat_map(|t| &t.segments).flat_map(|s| &s.points);
    let route_points = gpx.routes.iter().flat_map(|r| &r.points);
    Ok(track_points
        .chain(route_points)
        .filter_map(|waypoint| {
            let at = waypoint.time?.format().ok()?;
            let at = DateTime::parse_from_rfc3339(&at).ok()?;
            let point = waypoint.point();
            Some(LocationPoint {
                at,
                lat: point.y(),
                lon: point.x(),
                accuracy_m: waypoint.hdop.map(|h| h * METRES_PER_HDOP),
                speed_mps: waypoint.speed,
                heading_deg: None,
            })
        })
        .collect())
}

/// RMC sentences carry the date, position, speed and course; a GGA of the same second adds HDOP.
/// Sentences with a bad checksum or no fix are skipped, as a receiver's log has them.
fn from_nmea(text: &str) -> Vec<LocationPoint> {
    let mut hdop: HashMap<NaiveTime, f32> = HashMap::new();
    let mut fixes = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| l.starts_with('$')) {
        match nmea::parse_str(line) {
            Ok(nmea::ParseResult::GGA(gga)) => {
                if let (Some(time), Some(value)) = (gga.fix_time, gga.hdop) {
                    hdop.insert(time, value);
                }
            }
            Ok(nmea::ParseResult::RMC(rmc)) if rmc.status_of_fix != nmea::sentences::rmc::RmcStatusOfFix::Invalid => {
                fixes.push(rmc);
            }
            _ => {}
        }
    }
    fixes
        .into_iter()
        .filter_map(|rmc| {
            let (date, time, lat, lon) = (rmc.fix_date?, rmc.fix_time?, rmc.lat?, rmc.lon?);
            let at = Utc.from_utc_datetime(&date.and_time(time)).fixed_offset();
            Some(LocationPoint {
                at,
                lat,
                lon,
                accuracy_m: hdop.get(&time).map(|h| f64::from(*h) * METRES_PER_HDOP),
                speed_mps: rmc.speed_over_ground.map(|knots| f64::from(knots) * METRES_PER_SECOND_PER_KNOT),
                heading_deg: rmc.true_course.map(f64::from).filter(|c| (0.0..=360.0).contains(c)),
            })
        })
        .collect()
}

/// Moves a replayed drive in time so that its last point is `now`, keeping the gaps between points.
pub fn shift_to(points: &mut [LocationPoint], now: DateTime<FixedOffset>) {
    let Some(last) = points.last().map(|p| p.at) else { return };
    let shift = now.signed_duration_since(last);
    for point in points {
        point.at = (point.at + shift).with_timezone(now.offset());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gpx_track_and_an_nmea_log_give_the_same_kind_of_points() {
        let dir = tempfile::tempdir().unwrap();
        let gpx = dir.path().join("drive.gpx");
        std::fs::write(
            &gpx,
            r#"<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
            <trk><trkseg>
              <trkpt lat="35.6812" lon="139.7671"><time>2026-11-24T00:00:05Z</time><hdop>1.2</hdop></trkpt>
              <trkpt lat="35.6800" lon="139.7600"><time>2026-11-24T00:00:00Z</time></trkpt>
              <trkpt lat="35.6900" lon="139.7700"></trkpt>
            </trkseg></trk></gpx>"#,
        )
        .unwrap();
        let points = read(&gpx).unwrap();
        assert_eq!(points.len(), 2, "untimed points are skipped");
        assert_eq!(points[0].lat, 35.68, "sorted by time");
        assert!((points[1].accuracy_m.unwrap() - 6.0).abs() < 1e-9);

        let nmea = dir.path().join("drive.nmea");
        std::fs::write(
            &nmea,
            "$GPGGA,092750.000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,*76\n\
             $GPRMC,092750.000,A,5321.6802,N,00630.3372,W,0.02,31.66,280511,,,A*43\n\
             $GPRMC,092751.000,V,5321.6802,N,00630.3372,W,0.02,31.66,280511,,,A*54\n\
             garbage\n",
        )
        .unwrap();
        let points = read(&nmea).unwrap();
        assert_eq!(points.len(), 1, "no fix, no point");
        assert!((points[0].lat - 53.361_336).abs() < 1e-5 && points[0].lon < 0.0);
        assert!((points[0].accuracy_m.unwrap() - 5.15).abs() < 1e-3);

        let mut shifted = points.clone();
        let now = chrono::Utc::now().fixed_offset();
        shift_to(&mut shifted, now);
        assert_eq!(shifted[0].at, now);
    }
}
