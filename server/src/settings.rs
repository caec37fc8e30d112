//! Typed settings from defaults, an optional `todoke.toml`, environment variables and flags, in
//! rising order of precedence. Secrets never show in `Debug` output or logs.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
pub const DEFAULT_CONFIG_FILE: &str = "todoke.toml";

/// Every setting, as flags and `TODOKE_*` environment variables (the same keys work in `todoke.toml`).
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    /// Address to listen on, host:port. Port 0 picks a free port; the bound address is logged.
    /// [default: 127.0.0.1:8080]
    #[arg(long, env = "TODOKE_ADDR", value_name = "HOST:PORT")]
    pub addr: Option<String>,

    /// Folder for the embedded database and other local files. [default: ./data]
    #[arg(long, env = "TODOKE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB. Several servers may share one
    /// PostgreSQL database. [default: sqlite://<data dir>/todoke.db]
    #[arg(long, env = "TODOKE_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Base URL of the links given to customers, such as https://track.example.com.
    /// [default: http://<bound address>]
    #[arg(long, env = "TODOKE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Largest accepted JSON request body, in bytes. [default: 1048576]
    #[arg(long, env = "TODOKE_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Log filter, in tracing's EnvFilter syntax. [default: info]
    #[arg(long, env = "TODOKE_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// Email of the administrator created on first start with an empty database.
    /// [default: admin@todoke.local]
    #[arg(long, env = "TODOKE_BOOTSTRAP_ADMIN_EMAIL", value_name = "EMAIL")]
    pub bootstrap_admin_email: Option<String>,

    /// Password of that administrator. [default: generated, and printed once on the console]
    #[arg(long, env = "TODOKE_BOOTSTRAP_ADMIN_PASSWORD", value_name = "PASSWORD", hide_env_values = true)]
    pub bootstrap_admin_password: Option<Secret>,

    /// Secret (32 characters or more) that signs access tokens and customer links. [default:
    /// generated on first start and kept in the database, shared by every server]
    #[arg(long, env = "TODOKE_JWT_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// Minutes an access token lives. [default: 15]
    #[arg(long, env = "TODOKE_ACCESS_TOKEN_MINUTES", value_name = "MINUTES")]
    pub access_token_minutes: Option<u32>,

    /// Days a refresh token lives. [default: 30]
    #[arg(long, env = "TODOKE_REFRESH_TOKEN_DAYS", value_name = "DAYS")]
    pub refresh_token_days: Option<u32>,

    /// Days a customer's tracking link keeps working after delivery (or return, or cancellation).
    /// [default: 30]
    #[arg(long, env = "TODOKE_CUSTOMER_LINK_DAYS", value_name = "DAYS")]
    pub customer_link_days: Option<u32>,

    /// Login attempts a minute per client address. [default: 10]
    #[arg(long, env = "TODOKE_LOGIN_RATE_PER_MINUTE", value_name = "N")]
    pub login_rate_per_minute: Option<u32>,

    /// Public tracking requests a minute per client address. [default: 600]
    #[arg(long, env = "TODOKE_TRACK_RATE_PER_MINUTE", value_name = "N")]
    pub track_rate_per_minute: Option<u32>,

    /// How many days after the promised date a customer may move the delivery. [default: 7]
    #[arg(long, env = "TODOKE_RESCHEDULE_DAYS", value_name = "DAYS")]
    pub reschedule_days: Option<u32>,

    /// Average driving speed of the route planner's model, in km/h (streets 1.3 times the straight line).
    /// [default: 20]
    #[arg(long, env = "TODOKE_ROUTE_SPEED_KMH", value_name = "KMH")]
    pub route_speed_kmh: Option<u32>,

    /// Time planned at each stop, in seconds (plus 30 s for each further parcel). [default: 180]
    #[arg(long, env = "TODOKE_STOP_SERVICE_SECONDS", value_name = "SECONDS")]
    pub stop_service_seconds: Option<u32>,

    /// How long the route solver may search when building or sequencing routes, in milliseconds.
    /// [default: 2000]
    #[arg(long, env = "TODOKE_PLANNER_MILLIS", value_name = "MS")]
    pub planner_millis: Option<u32>,

    /// How long drivers' location points are kept, in days; the latest point of each driver is kept
    /// regardless. [default: 30]
    #[arg(long, env = "TODOKE_LOCATION_RETENTION_DAYS", value_name = "DAYS")]
    pub location_retention_days: Option<u32>,

    /// Proof of delivery captured farther than this from the address, in metres, is accepted but
    /// flagged for staff review. [default: 150]
    #[arg(long, env = "TODOKE_GEOFENCE_METRES", value_name = "METRES")]
    pub geofence_metres: Option<u32>,

    /// How long news from drivers (points, arrivals, proofs) gathers before their routes' arrival times
    /// are recomputed, in milliseconds. [default: 2000]
    #[arg(long, env = "TODOKE_ETA_COALESCE_MILLIS", value_name = "MS")]
    pub eta_coalesce_millis: Option<u32>,

    /// After a delay notice, the expected arrival must pass the end of the window it named by more than
    /// this before the customer hears again, in minutes. [default: 15]
    #[arg(long, env = "TODOKE_DELAY_MARGIN_MINUTES", value_name = "MINUTES")]
    pub delay_margin_minutes: Option<u32>,

    /// The width of the new window a delay notice names, in minutes. [default: 60]
    #[arg(long, env = "TODOKE_DELAY_WINDOW_MINUTES", value_name = "MINUTES")]
    pub delay_window_minutes: Option<u32>,

    /// When theirs is the next stop, customers see the driver's position rounded to a grid of this many
    /// metres; 0 never shows it. [default: 500]
    #[arg(long, env = "TODOKE_DRIVER_POSITION_GRID_METRES", value_name = "METRES")]
    pub driver_position_grid_metres: Option<u32>,

    /// Keep each proof photo as uploaded, beside the display size and thumbnail. Originals keep the
    /// phone's metadata (GPS included) and are shown to staff only. [default: false]
    #[arg(long, env = "TODOKE_KEEP_ORIGINAL_PHOTOS", value_name = "BOOL")]
    pub keep_original_photos: Option<bool>,

    /// SMTP server for email notices: smtps://host (TLS), smtp://host:587?tls=required (STARTTLS), or
    /// smtp://host:port (plain, for a local relay); with user:password@ for AUTH. [default: none:
    /// notices are written as .eml files under <data dir>/outbox]
    #[arg(long, env = "TODOKE_SMTP_URL", value_name = "URL", hide_env_values = true)]
    pub smtp_url: Option<Secret>,

    /// Sender of email notices. [default: Todoke <no-reply@todoke.local>]
    #[arg(long, env = "TODOKE_MAIL_FROM", value_name = "MAILBOX")]
    pub mail_from: Option<String>,

    /// Hours a notice may wait for delivery before it is given up as expired. [default: 24]
    #[arg(long, env = "TODOKE_NOTICE_MAX_AGE_HOURS", value_name = "HOURS")]
    pub notice_max_age_hours: Option<u32>,

    /// Whether this server sends the queued notices (another process may do it). [default: true]
    #[arg(long, env = "TODOKE_NOTICE_WORKER", value_name = "BOOL")]
    pub notice_worker: Option<bool>,

    /// Seconds a worker holds the notices it claimed; if it dies, others send them after this.
    /// [default: 120]
    #[arg(long, env = "TODOKE_NOTICE_LEASE_SECONDS", value_name = "SECONDS")]
    pub notice_lease_seconds: Option<u32>,

    /// SMTP connections the notice worker keeps open and sends over at once. [default: 32]
    #[arg(long, env = "TODOKE_SMTP_CONNECTIONS", value_name = "COUNT")]
    pub smtp_connections: Option<u32>,
}

impl SettingsLayer {
    /// Values set here win over `lower`.
    fn over(self, lower: SettingsLayer) -> SettingsLayer {
        SettingsLayer {
            addr: self.addr.or(lower.addr),
            data_dir: self.data_dir.or(lower.data_dir),
            database_url: self.database_url.or(lower.database_url),
            public_url: self.public_url.or(lower.public_url),
            max_body_bytes: self.max_body_bytes.or(lower.max_body_bytes),
            log: self.log.or(lower.log),
            bootstrap_admin_email: self.bootstrap_admin_email.or(lower.bootstrap_admin_email),
            bootstrap_admin_password: self.bootstrap_admin_password.or(lower.bootstrap_admin_password),
            jwt_secret: self.jwt_secret.or(lower.jwt_secret),
            access_token_minutes: self.access_token_minutes.or(lower.access_token_minutes),
            refresh_token_days: self.refresh_token_days.or(lower.refresh_token_days),
            customer_link_days: self.customer_link_days.or(lower.customer_link_days),
            login_rate_per_minute: self.login_rate_per_minute.or(lower.login_rate_per_minute),
            track_rate_per_minute: self.track_rate_per_minute.or(lower.track_rate_per_minute),
            reschedule_days: self.reschedule_days.or(lower.reschedule_days),
            route_speed_kmh: self.route_speed_kmh.or(lower.route_speed_kmh),
            stop_service_seconds: self.stop_service_seconds.or(lower.stop_service_seconds),
            planner_millis: self.planner_millis.or(lower.planner_millis),
            location_retention_days: self.location_retention_days.or(lower.location_retention_days),
            geofence_metres: self.geofence_metres.or(lower.geofence_metres),
            eta_coalesce_millis: self.eta_coalesce_millis.or(lower.eta_coalesce_millis),
            delay_margin_minutes: self.delay_margin_minutes.or(lower.delay_margin_minutes),
            delay_window_minutes: self.delay_window_minutes.or(lower.delay_window_minutes),
            driver_position_grid_metres: self.driver_position_grid_metres.or(lower.driver_position_grid_metres),
            keep_original_photos: self.keep_original_photos.or(lower.keep_original_photos),
            smtp_url: self.smtp_url.or(lower.smtp_url),
            mail_from: self.mail_from.or(lower.mail_from),
            notice_max_age_hours: self.notice_max_age_hours.or(lower.notice_max_age_hours),
            notice_worker: self.notice_worker.or(lower.notice_worker),
            notice_lease_seconds: self.notice_lease_seconds.or(lower.notice_lease_seconds),
            smtp_connections: self.smtp_connections.or(lower.smtp_connections),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
    pub log: String,
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<Secret>,
    pub jwt_secret: Option<Secret>,
    pub access_token_minutes: u32,
    pub refresh_token_days: u32,
    pub customer_link_days: u32,
    pub login_rate_per_minute: u32,
    pub track_rate_per_minute: u32,
    pub reschedule_days: u32,
    pub route_speed_kmh: u32,
    pub stop_service_seconds: u32,
    pub planner_millis: u32,
    pub location_retention_days: u32,
    pub geofence_metres: u32,
    pub eta_coalesce_millis: u32,
    pub delay_margin_minutes: u32,
    pub delay_window_minutes: u32,
    pub driver_position_grid_metres: u32,
    pub keep_original_photos: bool,
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    pub notice_max_age_hours: u32,
    pub notice_worker: bool,
    pub notice_lease_seconds: u32,
    pub smtp_connections: u32,
}

impl Settings {
    /// Merges the config file (when it exists, or always when named explicitly) under `overrides`.
    pub fn load(config_file: Option<&Path>, overrides: SettingsLayer) -> anyhow::Result<Settings> {
        let file = match config_file {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => read_file(Path::new(DEFAULT_CONFIG_FILE))?,
            None => SettingsLayer::default(),
        };
        Settings::from_layer(overrides.over(file))
    }

    pub fn from_layer(layer: SettingsLayer) -> anyhow::Result<Settings> {
        let addr = layer.addr.as_deref().unwrap_or(DEFAULT_ADDR);
        let addr = addr.parse().with_context(|| format!("TODOKE_ADDR {addr:?} is not a HOST:PORT address"))?;
        let data_dir = layer.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let database_url = match layer.database_url {
            Some(url) => url,
            None => format!("sqlite://{}", data_dir.join("todoke.db").display()),
        };
        let public_url = layer.public_url.map(|url| url.trim_end_matches('/').to_string());
        if let Some(url) = &public_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "TODOKE_PUBLIC_URL {url:?} must start with http:// or https://"
            );
        }
        Ok(Settings {
            addr,
            data_dir,
            database_url: DatabaseUrl(database_url),
            public_url,
            max_body_bytes: layer.max_body_bytes.unwrap_or(1024 * 1024),
            log: layer.log.unwrap_or_else(|| "info".to_string()),
            bootstrap_admin_email: layer.bootstrap_admin_email,
            bootstrap_admin_password: layer.bootstrap_admin_password,
            jwt_secret: layer.jwt_secret,
            // Bounded so that no setting can overflow the date arithmetic.
            access_token_minutes: layer.access_token_minutes.unwrap_or(15).clamp(1, 24 * 60),
            refresh_token_days: layer.refresh_token_days.unwrap_or(30).clamp(1, 3650),
            customer_link_days: layer.customer_link_days.unwrap_or(30).min(3650),
            login_rate_per_minute: layer.login_rate_per_minute.unwrap_or(10),
            track_rate_per_minute: layer.track_rate_per_minute.unwrap_or(600),
            reschedule_days: layer.reschedule_days.unwrap_or(7).min(60),
            route_speed_kmh: layer.route_speed_kmh.unwrap_or(20).clamp(1, 200),
            stop_service_seconds: layer.stop_service_seconds.unwrap_or(180).min(3600),
            planner_millis: layer.planner_millis.unwrap_or(2000).clamp(10, 600_000),
            location_retention_days: layer.location_retention_days.unwrap_or(30).clamp(1, 3650),
            geofence_metres: layer.geofence_metres.unwrap_or(150).clamp(10, 100_000),
            eta_coalesce_millis: layer.eta_coalesce_millis.unwrap_or(2000).clamp(1, 600_000),
            delay_margin_minutes: layer.delay_margin_minutes.unwrap_or(15).min(24 * 60),
            delay_window_minutes: layer.delay_window_minutes.unwrap_or(60).clamp(15, 24 * 60),
            driver_position_grid_metres: layer.driver_position_grid_metres.unwrap_or(500).min(100_000),
            keep_original_photos: layer.keep_original_photos.unwrap_or(false),
            smtp_url: layer.smtp_url,
            mail_from: layer.mail_from.unwrap_or_else(|| "Todoke <no-reply@todoke.local>".to_string()),
            notice_max_age_hours: layer.notice_max_age_hours.unwrap_or(24).clamp(1, 24 * 30),
            notice_worker: layer.notice_worker.unwrap_or(true),
            notice_lease_seconds: layer.notice_lease_seconds.unwrap_or(120).clamp(1, 3600),
            smtp_connections: layer.smtp_connections.unwrap_or(32).clamp(1, 64),
        })
    }

    /// Settings for tests and embedding: a database URL, a free port on loopback, and the first
    /// administrator's credentials.
    pub fn for_database(database_url: &str, data_dir: &Path, admin: (&str, &str)) -> Settings {
        let layer = SettingsLayer {
            addr: Some("127.0.0.1:0".into()),
            data_dir: Some(data_dir.to_path_buf()),
            database_url: Some(database_url.to_string()),
            bootstrap_admin_email: Some(admin.0.to_string()),
            bootstrap_admin_password: Some(Secret(admin.1.to_string())),
            ..SettingsLayer::default()
        };
        Settings::from_layer(layer).expect("test settings are valid")
    }
}

fn read_file(path: &Path) -> anyhow::Result<SettingsLayer> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("reading settings from {}", path.display()))
}

/// A secret setting: usable, but never shown in `Debug` output or logs.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(text.to_string()))
    }
}

/// A database URL, which may carry a password: shown with the password masked.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (base, query) = self.0.split_once('?').map_or((self.0.as_str(), None), |(b, q)| (b, Some(q)));
        let base = base
            .split_once("://")
            .and_then(|(scheme, rest)| {
                let (credentials, host) = rest.rsplit_once('@')?;
                let (user, _password) = credentials.split_once(':')?;
                Some(format!("{scheme}://{user}:***@{host}"))
            })
            .unwrap_or_else(|| base.to_string());
        f.write_str(&base)?;
        if let Some(query) = query {
            let masked: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            write!(f, "?{}", masked.join("&"))?;
        }
        Ok(())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration() {
        let settings = Settings::from_layer(SettingsLayer::default()).unwrap();
        assert_eq!(settings.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database_url.expose(), "sqlite://data/todoke.db");
        assert_eq!(settings.public_url, None);
    }

    #[test]
    fn passwords_never_show() {
        let url = DatabaseUrl("postgres://todoke:s3cret@db.internal:5432/todoke".into());
        assert_eq!(url.to_string(), "postgres://todoke:***@db.internal:5432/todoke");
        assert!(!format!("{url:?}").contains("s3cret"));
        let in_query = DatabaseUrl("postgres://db.internal/todoke?user=todoke&password=s3cret&sslmode=require".into());
        assert_eq!(in_query.to_string(), "postgres://db.internal/todoke?user=todoke&password=***&sslmode=require");
        let settings = Settings::for_database(url.expose(), Path::new("/tmp"), ("a@example.jp", "s3cret-admin"));
        assert!(!format!("{settings:?}").contains("s3cret"));
    }

    #[test]
    fn environment_beats_file_beats_defaults() {
        let file: SettingsLayer =
            toml::from_str("addr = \"0.0.0.0:9000\"\npublic_url = \"https://t.example/\"").unwrap();
        let env = SettingsLayer { addr: Some("127.0.0.1:0".into()), ..SettingsLayer::default() };
        let settings = Settings::from_layer(env.over(file)).unwrap();
        assert_eq!(settings.addr.to_string(), "127.0.0.1:0");
        assert_eq!(settings.public_url.as_deref(), Some("https://t.example"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(toml::from_str::<SettingsLayer>("adr = \"x\"").is_err());
        let bad = SettingsLayer { addr: Some("localhost".into()), ..SettingsLayer::default() };
        assert!(Settings::from_layer(bad).is_err());
    }
}
