//! Builds the application from settings: storage, shared state, routes and the listening socket.
//! Tests start exactly this on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chrono::{DateTime, SubsecRound, Utc};
use todoke_shared::TrackingNumber;
use tokio::net::TcpListener;

use crate::settings::Settings;
use crate::store::{self, Store};

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub links: Arc<Links>,
}

/// Absolute links given to customers, from `TODOKE_PUBLIC_URL` or the bound address.
#[derive(Debug)]
pub struct Links {
    public_url: String,
}

impl Links {
    pub fn new(public_url: impl Into<String>) -> Links {
        Links { public_url: public_url.into() }
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn tracking_page(&self, number: &TrackingNumber) -> String {
        format!("{}/t/{}", self.public_url, number)
    }
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects to (and migrates) the database, and binds the listening socket.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let store = store::connect(settings.database_url.expose()).await?;
        let listener =
            TcpListener::bind(settings.addr).await.with_context(|| format!("listening on {}", settings.addr))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let state = AppState { store, links: Arc::new(Links::new(public_url)) };
        let router = crate::http::router(state.clone(), settings.max_body_bytes);
        Ok(Application { listener, router, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await.context("serving HTTP")
    }
}

/// The current time, to the millisecond: both databases keep that much, so what a write answers is
/// exactly what a later read returns.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}
