//! Builds the application from settings: storage, shared state, routes and the listening socket.
//! Tests start exactly this on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::FromRef;
use tokio::net::TcpListener;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::tokens::Keys;
use crate::auth::{AccountService, Authenticator, Lifetimes, ensure_admin};
use crate::clock::{Clock, SystemClock};
use crate::dispatch::mapping::Planner;
use crate::dispatch::plan::SpeedModel;
use crate::dispatch::solver::Effort;
use crate::dispatch::{DepotService, DispatchService};
use crate::driver::DriverService;
use crate::driver::ingest::LocationIngest;
use crate::eta::Eta;
use crate::eta::delay::DelayPolicy;
use crate::eta::exceptions::ExceptionService;
use crate::eta::service::Estimator;
use crate::health::Health;
use crate::http::rate_limit::RateLimit;
use crate::instances::Instance;
use crate::links::Links;
use crate::notify::transport::{Files, Smtp, Transport};
use crate::notify::worker::Outbox;
use crate::notify::{Mail, NoticeService};
use crate::pod::files::ProofFiles;
use crate::pod::geofence::Geofence;
use crate::pod::photo::{PhotoLimits, PhotoPipeline};
use crate::pod::{Pod, ProofService};
use crate::preferences::PreferenceService;
use crate::settings::{Secret, Settings};
use crate::shipments::ShipmentService;
use crate::store;
use crate::tracking::TrackingService;

/// The composition root's services, shared by every request: axum hands each handler a copy of the
/// state, so it is one pointer, and a handler's `State<…Service>` copies only that service (`FromRef`).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// Each service a handler may take from [`AppState`].
macro_rules! services_from_state {
    ($($field:ident: $service:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $service {
            fn from_ref(state: &AppState) -> $service {
                state.0.$field.clone()
            }
        })*
    };
}

services_from_state! {
    authenticator: Authenticator,
    account_service: AccountService,
    health: Health,
    shipment_service: ShipmentService,
    proof_service: ProofService,
    driver_service: DriverService,
    tracking_service: TrackingService,
    preference_service: PreferenceService,
    notice_service: NoticeService,
    depot_service: DepotService,
    dispatch_service: DispatchService,
    exception_service: ExceptionService,
}

pub struct Services {
    pub authenticator: Authenticator,
    pub account_service: AccountService,
    pub health: Health,
    pub shipment_service: ShipmentService,
    pub proof_service: ProofService,
    pub driver_service: DriverService,
    pub tracking_service: TrackingService,
    pub preference_service: PreferenceService,
    pub notice_service: NoticeService,
    pub depot_service: DepotService,
    pub dispatch_service: DispatchService,
    pub exception_service: ExceptionService,
    /// The arrival times, kept current by their worker and read by the tracking views.
    pub estimator: Estimator,
    /// The notices' sender, run by its worker.
    pub outbox: Outbox,
    /// Where every handler, service and worker reads the time; tests move it.
    pub clock: Arc<dyn Clock>,
    /// This server among those on the database.
    pub instance: Arc<Instance>,
}

/// Every feature's routes, each with the state it needs from [`AppState`].
fn routes() -> OpenApiRouter<AppState> {
    crate::http::routes()
        .merge(crate::health::router())
        .merge(crate::auth::router())
        .merge(crate::shipments::router())
        .merge(crate::tracking::router())
        .merge(crate::preferences::router())
        .merge(crate::notify::router())
        .merge(crate::dispatch::router())
        .merge(crate::driver::router())
        .merge(crate::pod::router())
        .merge(crate::eta::exceptions::router())
}

/// The first administrator is made on an empty database only: settings for it given to a database that
/// has accounts would otherwise be ignored without a word, and the password tried in vain.
fn warn_bootstrap_ignored(settings: &Settings) {
    let given: Vec<&str> = [
        ("TODOKE_BOOTSTRAP_ADMIN_EMAIL", settings.bootstrap_admin_email.is_some()),
        ("TODOKE_BOOTSTRAP_ADMIN_PASSWORD", settings.bootstrap_admin_password.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    if given.is_empty() {
        return;
    }
    tracing::warn!(
        "{} ignored: the database already has accounts, and the first administrator is only made on an empty \
         database. To start afresh, stop the server and remove the data folder ({}) or point TODOKE_DATABASE_URL at \
         an empty database; to add an account to this one, use `todoke-server user add` (or POST /api/v1/users as \
         an administrator).",
        given.join(" and "),
        settings.data_dir.display(),
    );
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    notice_worker: bool,
}

impl Application {
    /// Connects to (and migrates) the database, makes sure an administrator exists, and binds the
    /// listening socket.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        Application::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`Application::build`], reading the time from `clock` (a test's day at a date it chooses).
    pub async fn build_with_clock(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        let now = || clock.now();
        let stores = store::connect(settings.database_url.expose()).await?;
        let admin = ensure_admin(
            &*stores.accounts,
            settings.bootstrap_admin_email.as_deref(),
            settings.bootstrap_admin_password.as_ref().map(Secret::expose),
            now(),
        )
        .await
        .context("creating the first administrator")?;
        if admin.is_none() {
            warn_bootstrap_ignored(settings);
        }
        if let Some((email, generated)) = admin {
            tracing::info!("created the administrator {email}");
            if let Some(password) = generated {
                // Shown once, on the console only: it is never stored in clear or logged again.
                println!("\n  First administrator: {email}\n  Password (shown once): {password}\n");
            }
        }
        let instance = Arc::new(
            Instance::register(stores.instances, clock.clone()).await.context("recording this server as running")?,
        );
        let keys = Arc::new(
            Keys::load(&*stores.accounts, settings.jwt_secret.as_ref().map(Secret::expose), now())
                .await
                .context("loading the token signing keys")?,
        );
        let listener =
            TcpListener::bind(settings.addr).await.with_context(|| format!("listening on {}", settings.addr))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let lifetimes = Lifetimes {
            access: chrono::Duration::minutes(settings.access_token_minutes.into()),
            refresh: chrono::Duration::days(settings.refresh_token_days.into()),
            customer_link: chrono::Duration::days(settings.customer_link_days.into()),
        };
        let links = Arc::new(Links::new(public_url, keys.clone()));
        let mail = Arc::new(mail(settings)?);
        let reschedule_days = settings.reschedule_days.into();
        let location_retention = chrono::Duration::days(settings.location_retention_days.into());
        let planner = Planner {
            speed: SpeedModel {
                speed_kmh: f64::from(settings.route_speed_kmh),
                service_seconds: settings.stop_service_seconds.into(),
                ..SpeedModel::default()
            },
            effort: Effort {
                time: std::time::Duration::from_millis(settings.planner_millis.into()),
                ..Effort::default()
            },
        };
        let pod = Arc::new(Pod {
            store: stores.pod.clone(),
            holder: instance.id,
            files: ProofFiles::open(settings.data_dir.join("proofs"))
                .with_context(|| format!("opening {}", settings.data_dir.join("proofs").display()))?,
            photos: PhotoPipeline::new(
                PhotoLimits { keep_original: settings.keep_original_photos, ..PhotoLimits::default() },
                std::thread::available_parallelism().map_or(2, usize::from),
            ),
            geofence: Geofence { radius_m: f64::from(settings.geofence_metres) },
        });
        let eta = Arc::new(Eta::new(
            stores.eta,
            DelayPolicy {
                margin: chrono::Duration::minutes(settings.delay_margin_minutes.into()),
                window: chrono::Duration::minutes(settings.delay_window_minutes.into()),
            },
            std::time::Duration::from_millis(settings.eta_coalesce_millis.into()),
            f64::from(settings.driver_position_grid_metres),
        ));
        let estimator = Estimator {
            places: stores.places.clone(),
            eta: eta.clone(),
            depots: stores.depots.clone(),
            routes: stores.routes.clone(),
            locations: stores.locations.clone(),
            arrivals: stores.arrivals.clone(),
            shipments: stores.shipments.clone(),
            mail: mail.clone(),
            speed: planner.speed,
            clock: clock.clone(),
        };
        let preference_service = PreferenceService {
            places: stores.places.clone(),
            store: stores.shipments.clone(),
            mail: mail.clone(),
            customer_link: lifetimes.customer_link,
            reschedule_days,
            clock: clock.clone(),
        };
        let state = AppState(Arc::new(Services {
            authenticator: Authenticator {
                keys: keys.clone(),
                accounts: stores.accounts.clone(),
                clock: clock.clone(),
            },
            account_service: AccountService {
                accounts: stores.accounts.clone(),
                keys: keys.clone(),
                lifetimes,
                login_limit: RateLimit::per_minute(settings.login_rate_per_minute),
                clock: clock.clone(),
            },
            health: Health { store: stores.shipments.clone() },
            shipment_service: ShipmentService {
                places: stores.places.clone(),
                store: stores.shipments.clone(),
                mail: mail.clone(),
                links: links.clone(),
                reschedule_days,
                clock: clock.clone(),
            },
            proof_service: ProofService {
                places: stores.places.clone(),
                pod: pod.clone(),
                shipments: stores.shipments.clone(),
                eta: eta.clone(),
                mail: mail.clone(),
                links: links.clone(),
                customer_link: lifetimes.customer_link,
                clock: clock.clone(),
            },
            driver_service: DriverService {
                places: stores.places.clone(),
                depots: stores.depots.clone(),
                routes: stores.routes.clone(),
                locations: stores.locations.clone(),
                ingest: Arc::new(LocationIngest::new(stores.locations.clone())),
                shipments: stores.shipments.clone(),
                eta: eta.clone(),
                planner,
                location_retention,
                clock: clock.clone(),
            },
            tracking_service: TrackingService {
                places: stores.places.clone(),
                store: stores.shipments.clone(),
                notices: stores.notices.clone(),
                proofs: stores.pod.clone(),
                keys: keys.clone(),
                links: links.clone(),
                limit: RateLimit::per_minute(settings.track_rate_per_minute),
                customer_link: lifetimes.customer_link,
                estimator: estimator.clone(),
                preferences: preference_service.clone(),
                clock: clock.clone(),
            },
            preference_service,
            notice_service: NoticeService {
                shipments: stores.shipments.clone(),
                notices: stores.notices.clone(),
                mail: mail.clone(),
                clock: clock.clone(),
            },
            estimator,
            depot_service: DepotService {
                depots: stores.depots.clone(),
                accounts: stores.accounts,
                clock: clock.clone(),
            },
            dispatch_service: DispatchService {
                places: stores.places.clone(),
                depots: stores.depots.clone(),
                routes: stores.routes.clone(),
                shipments: stores.shipments.clone(),
                planner,
                mail: mail.clone(),
                eta: eta.clone(),
                clock: clock.clone(),
            },
            exception_service: ExceptionService {
                depots: stores.depots.clone(),
                routes: stores.routes.clone(),
                estimates: eta.store.clone(),
            },
            outbox: Outbox {
                notices: stores.notices,
                shipments: stores.shipments,
                pod,
                mail,
                links,
                clock: clock.clone(),
            },
            clock,
            instance,
        }));
        let router = crate::http::router(routes(), state.clone(), settings.max_body_bytes);
        Ok(Application { listener, router, state, notice_worker: settings.notice_worker })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves (sends queued notices, keeps arrival times current) until `shutdown` completes, then finishes the requests and the
    /// notice in flight.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = self
            .notice_worker
            .then(|| tokio::spawn(crate::notify::worker::run(self.state.outbox.clone(), stopped.clone())));
        let estimates = tokio::spawn(crate::eta::worker::run(self.state.estimator.clone(), stopped.clone()));
        let lease = tokio::spawn(crate::instances::worker::run(self.state.instance.clone(), stopped));
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await.context("serving HTTP");
        let _ = stop.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        let _ = estimates.await;
        let _ = lease.await;
        served
    }
}

/// The notices' sender and transport, from the settings.
fn mail(settings: &Settings) -> anyhow::Result<Mail> {
    let from: lettre::message::Mailbox = settings
        .mail_from
        .parse()
        .with_context(|| format!("TODOKE_MAIL_FROM {:?} is not a mailbox", settings.mail_from))?;
    let domain = from.email.domain().to_string();
    let transport: Arc<dyn Transport> = match &settings.smtp_url {
        Some(url) => Arc::new(Smtp::from_url(url.expose(), settings.smtp_connections)?),
        None => Arc::new(Files::new(settings.data_dir.join("outbox"))?),
    };
    Ok(Mail {
        from,
        domain,
        transport,
        max_age: chrono::Duration::hours(settings.notice_max_age_hours.into()),
        lease: chrono::Duration::seconds(settings.notice_lease_seconds.into()),
    })
}
