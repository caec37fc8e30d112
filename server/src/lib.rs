//! The Todoke server: shipments, their lifecycle, and public tracking, over HTTP.
//!
//! `app` builds the application; each feature (`shipments`, `tracking`, `health`) brings its own routes;
//! `http` holds what they share; `store` is the storage interface with its SQL implementation.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod dispatch;
pub mod driver;
pub mod eta;
pub mod health;
pub mod http;
pub mod instances;
pub mod links;
pub mod notify;
pub mod pod;
pub mod preferences;
pub mod schedule;
pub mod settings;
pub mod shipments;
pub mod store;
pub mod tracking;

pub use app::Application;
pub use settings::Settings;
