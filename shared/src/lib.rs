//! What the Todoke server and driver app must agree on: wire types, ids, the shipment lifecycle and the
//! rules that validate input. Pure code without I/O, so every client applies the same rules offline.

pub mod auth;
pub mod catalogue;
pub mod dispatch;
pub mod driver;
pub mod import;
pub mod language;
pub mod pod;
pub mod preferences;
pub mod problem;
pub mod shipment;
pub mod status;
pub mod tracking_number;
pub mod validation;
pub mod width;

pub use catalogue::{Arg, Catalogue, DateStyle, Texts};
pub use language::Language;
pub use problem::{Problem, ProblemCode};
pub use status::{ReasonCode, ShipmentStatus, StatusChange, TransitionError};
pub use tracking_number::{TrackingNumber, TrackingNumberError};
pub use validation::{FieldError, ValidationErrors};
