//! How far from the door a proof was captured. Far is not refused (a phone's fix drifts, a big building
//! has one address): it is kept and flagged for staff to look at.

use geo::{Distance, Haversine, Point};
use todoke_shared::shipment::GeoPoint;

/// Metres beyond which a proof is flagged, unless `TODOKE_GEOFENCE_METRES` says otherwise.
pub const DEFAULT_RADIUS_M: f64 = 150.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geofence {
    pub radius_m: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub distance_m: f64,
    pub flagged: bool,
}

impl Geofence {
    /// Where the proof was captured against where the parcel was due.
    pub fn place(&self, captured: GeoPoint, due: GeoPoint) -> Placement {
        let distance_m =
            Haversine.distance(Point::new(captured.lon, captured.lat), Point::new(due.lon, due.lat)).round();
        Placement { distance_m, flagged: distance_m > self.radius_m }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_down_the_street_is_flagged_and_one_at_the_door_is_not() {
        let fence = Geofence { radius_m: DEFAULT_RADIUS_M };
        let door = GeoPoint { lat: 35.6812, lon: 139.7671 };
        let at_door = fence.place(GeoPoint { lat: 35.6813, lon: 139.7672 }, door);
        assert!(at_door.distance_m < 20.0 && !at_door.flagged);
        // About 0.003 degrees of latitude: some 330 m north.
        let down_the_street = fence.place(GeoPoint { lat: 35.6842, lon: 139.7671 }, door);
        assert!((300.0..360.0).contains(&down_the_street.distance_m), "{down_the_street:?}");
        assert!(down_the_street.flagged);
    }
}
