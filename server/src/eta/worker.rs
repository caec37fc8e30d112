//! The worker that keeps estimates current: it waits for news (see [`super::Eta::touch`]), lets more
//! gather for the coalescing interval, then recomputes each touched driver's routes once.

use tokio::sync::watch;

use super::service::{Estimator, recompute_driver};

/// Runs until `stop` says so. News still waiting then is dropped: the next point recomputes.
pub async fn run(state: Estimator, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = state.eta.wake.notified() => {}
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(state.eta.coalesce) => {}
        }
        recompute_pending(&state).await;
    }
}

/// Recomputes the routes of every driver touched since the last pass.
pub async fn recompute_pending(state: &Estimator) {
    for driver in state.eta.take() {
        if let Err(error) = recompute_driver(state, driver).await {
            // The driver's next point tries again.
            tracing::warn!(%error, %driver, "recomputing a driver's arrival times failed");
        }
    }
}
