//! Delivery zones as areas on the map: GeoJSON read into polygons, and which zone holds a point.

use geo::{Contains, MultiPolygon, Point};
use todoke_shared::shipment::GeoPoint;
use uuid::Uuid;

/// A zone's area, ready for point-in-polygon tests.
#[derive(Debug, Clone)]
pub struct Area {
    pub zone: Uuid,
    shape: MultiPolygon<f64>,
}

/// Reads a GeoJSON `Polygon` or `MultiPolygon` (bare, or as a `Feature`'s geometry). The error says
/// what to fix.
pub fn parse_area(value: &serde_json::Value) -> Result<MultiPolygon<f64>, String> {
    let geojson = serde_json::from_value::<geojson::GeoJson>(value.clone())
        .map_err(|e| format!("give a GeoJSON Polygon or MultiPolygon ({e})"))?;
    let geometry = match geojson {
        geojson::GeoJson::Geometry(geometry) => geometry,
        geojson::GeoJson::Feature(feature) => {
            feature.geometry.ok_or("the Feature has no geometry; give a Polygon or MultiPolygon")?
        }
        geojson::GeoJson::FeatureCollection(_) => {
            return Err("give one Polygon or MultiPolygon, not a FeatureCollection".to_string());
        }
    };
    let shape = match geo::Geometry::<f64>::try_from(geometry) {
        Ok(geo::Geometry::Polygon(polygon)) => MultiPolygon(vec![polygon]),
        Ok(geo::Geometry::MultiPolygon(polygons)) => polygons,
        Ok(_) => return Err("a zone is an area: give a Polygon or MultiPolygon".to_string()),
        Err(e) => return Err(format!("the geometry cannot be read ({e})")),
    };
    let bad_ring = shape.0.iter().any(|p| p.exterior().0.len() < 4);
    let off_map = shape.0.iter().flat_map(|p| p.exterior().0.iter()).any(|c| c.y.abs() > 90.0 || c.x.abs() > 180.0);
    if shape.0.is_empty() || bad_ring {
        return Err("each polygon needs a closed ring of at least three corners".to_string());
    }
    if off_map {
        return Err("coordinates are [longitude, latitude], within ±180 and ±90".to_string());
    }
    Ok(shape)
}

impl Area {
    pub fn new(zone: Uuid, shape: MultiPolygon<f64>) -> Area {
        Area { zone, shape }
    }
}

/// The first zone (in the given order) whose area holds `point`; `None` when it lies outside them all.
pub fn zone_of(point: GeoPoint, areas: &[Area]) -> Option<Uuid> {
    let point = Point::new(point.lon, point.lat);
    areas.iter().find(|area| area.shape.contains(&point)).map(|area| area.zone)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn square(west: f64, south: f64, east: f64, north: f64) -> serde_json::Value {
        json!({"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]})
    }

    #[test]
    fn a_point_is_found_in_the_zone_that_holds_it() {
        let (marunouchi, shinjuku) = (Uuid::now_v7(), Uuid::now_v7());
        let areas = vec![
            Area::new(marunouchi, parse_area(&square(139.75, 35.67, 139.78, 35.69)).unwrap()),
            Area::new(shinjuku, parse_area(&square(139.68, 35.68, 139.71, 35.70)).unwrap()),
        ];
        assert_eq!(zone_of(GeoPoint { lat: 35.6812, lon: 139.7671 }, &areas), Some(marunouchi));
        assert_eq!(zone_of(GeoPoint { lat: 35.6896, lon: 139.7006 }, &areas), Some(shinjuku));
        // Yokohama is in neither.
        assert_eq!(zone_of(GeoPoint { lat: 35.4437, lon: 139.6380 }, &areas), None);
    }

    #[test]
    fn features_and_multipolygons_are_read_and_other_shapes_refused() {
        let feature = json!({"type": "Feature", "properties": {}, "geometry": square(0.0, 0.0, 1.0, 1.0)});
        assert!(parse_area(&feature).is_ok());
        let multi = json!({"type": "MultiPolygon", "coordinates": [square(0.0, 0.0, 1.0, 1.0)["coordinates"]]});
        assert!(parse_area(&multi).is_ok());
        assert!(parse_area(&json!({"type": "Point", "coordinates": [139.7, 35.6]})).unwrap_err().contains("area"));
        assert!(parse_area(&json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]})).is_err());
        assert!(parse_area(&square(35.0, 139.0, 36.0, 140.0)).unwrap_err().contains("longitude, latitude"));
        assert!(parse_area(&json!("Tokyo")).is_err());
    }
}
