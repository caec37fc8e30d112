//! Keeps this server's lease while it runs, and gives it up when the server stops.

use std::sync::Arc;

use tokio::sync::watch;

use super::{Instance, RENEW_EVERY};

pub async fn run(instance: Arc<Instance>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(RENEW_EVERY) => {}
        }
        if let Err(error) = instance.renew().await {
            tracing::warn!(%error, "renewing this server's lease failed; trying again shortly");
        }
    }
    // Stopped cleanly: every request has been answered, so nothing it held is in flight.
    if let Err(error) = instance.retire().await {
        tracing::warn!(%error, "giving up this server's lease failed; it runs out by itself");
    }
}
