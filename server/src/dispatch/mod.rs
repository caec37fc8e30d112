//! Warehouse dispatch: depots and their delivery zones, drivers, receiving parcels by scan, and
//! turning a day's parcels into sequenced routes that go out for delivery.

pub mod plan;
pub mod solver;
