//! The worker that drains the outbox: claims due notices, renders, sends, and records the outcome,
//! with exponential backoff and jitter for temporary failures. Several servers may run it at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::Message;
use rand::Rng;
use tokio::sync::{Semaphore, watch};

use super::transport::SendError;
use super::{Mail, render, slip};
use crate::clock::Clock;
use crate::links::Links;
use crate::pod::Pod;
use crate::store::{Notice, NoticeOutcome, NoticeRecord, NoticeStore, ShipmentKey, Store};
use todoke_shared::ShipmentStatus;

/// Notices claimed at once and marked in one transaction: enough to keep every connection busy between
/// two trips to the database, few enough that a batch is done well within its lease.
const BATCH: u32 = 128;

/// What sending notices needs, and no more: the outbox, the shipments and proofs a notice speaks of,
/// the mail, the links it carries and the time.
#[derive(Clone)]
pub struct Outbox {
    pub notices: Arc<dyn NoticeStore>,
    pub shipments: Arc<dyn Store>,
    /// The proofs and their files, for the delivery slip.
    pub pod: Arc<Pod>,
    pub mail: Arc<Mail>,
    pub links: Arc<Links>,
    pub clock: Arc<dyn Clock>,
}

/// Sends one batch of due notices; returns how many were handled. Tests call this instead of waiting.
pub async fn run_pending(state: &Outbox) -> anyhow::Result<usize> {
    run_due_by(state, state.clock.now()).await
}

/// Sends one batch of notices due by `moment`: tests jump past a retry's backoff with it.
pub async fn run_due_by(state: &Outbox, moment: DateTime<Utc>) -> anyhow::Result<usize> {
    let lease_until = state.clock.now() + state.mail.lease;
    let claimed = state.notices.claim_notices(moment, lease_until, BATCH).await?;
    let count = claimed.len();
    if count == 0 {
        return Ok(0);
    }
    // The batch is rendered at once and sent over the transport's connections; the database sees it
    // again only when all of it is done, in one transaction.
    let connections = Arc::new(Semaphore::new(state.mail.transport.connections()));
    let mut sending = tokio::task::JoinSet::new();
    for notice in claimed {
        let (state, connections) = (state.clone(), connections.clone());
        sending.spawn(async move {
            let outcome = attempt(&state, &notice, moment, lease_until, &connections).await;
            outcome.map(|outcome| (notice.id, outcome))
        });
    }
    let mut outcomes = Vec::with_capacity(count);
    while let Some(finished) = sending.join_next().await {
        match finished {
            Ok(Some(outcome)) => outcomes.push(outcome),
            // Not sent, and left claimed: the claim after its lease takes it again.
            Ok(None) => {}
            Err(error) => tracing::error!(%error, "sending a notice stopped unexpectedly"),
        }
    }
    state.notices.finish_notices(&outcomes).await?;
    Ok(count)
}

/// Sends until nothing is due by `moment`.
pub async fn drain(state: &Outbox, moment: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        match run_due_by(state, moment).await? {
            0 => return Ok(total),
            sent => total += sent,
        }
    }
}

/// One try at sending `notice`, judged as of `moment` (now, except in tests); `None` when its lease ran
/// out before a connection was free.
#[tracing::instrument(skip_all, fields(notice_id = %notice.id, shipment_id = %notice.shipment_id, kind = %notice.kind, attempts = notice.attempts))]
async fn attempt(
    state: &Outbox,
    notice: &NoticeRecord,
    moment: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    connections: &Semaphore,
) -> Option<NoticeOutcome> {
    let message = match prepare(state, notice, moment).await {
        Ok(message) => message,
        Err(outcome) => return Some(outcome),
    };
    let Ok(_connection) = connections.acquire().await else { return None };
    // Past its lease another worker may have claimed it: sending it here too would send it twice.
    if state.clock.now() >= lease_until {
        return None;
    }
    Some(match state.mail.transport.send(message).await {
        Ok(()) => NoticeOutcome::Sent { at: state.clock.now() },
        Err(SendError::Permanent(error)) => NoticeOutcome::Failed { error },
        Err(SendError::Temporary(error)) => retry(notice, error, state.clock.now()),
    })
}

/// The message `notice` becomes, or why it will not be sent now.
async fn prepare(state: &Outbox, notice: &NoticeRecord, moment: DateTime<Utc>) -> Result<Message, NoticeOutcome> {
    let mail = &state.mail;
    if notice.created_at + mail.max_age < moment {
        return Err(NoticeOutcome::Expired {
            error: notice.last_error.clone().unwrap_or_else(|| "not sent in time".into()),
        });
    }
    let shipment = match state.shipments.find_shipment(ShipmentKey::Id(notice.shipment_id)).await {
        Ok(Some(shipment)) => shipment,
        Ok(None) => return Err(NoticeOutcome::Failed { error: "the shipment is gone".into() }),
        Err(error) => return Err(retry(notice, error.to_string(), state.clock.now())),
    };
    let said = match notice.notice() {
        Ok(said) => said,
        // Written by a newer server, or damaged: this one will never be able to say it.
        Err(error) => return Err(NoticeOutcome::Failed { error: error.to_string() }),
    };
    // A delay told after the driver was at the door would be news from the past.
    if matches!(said, Notice::Delayed(_)) && shipment.status != ShipmentStatus::OutForDelivery {
        return Err(NoticeOutcome::Expired { error: format!("the shipment was {} first", shipment.status.as_str()) });
    }
    let slip = match slip::load(&state.pod, notice.shipment_id, said.proof_id()).await {
        Ok(slip) => slip,
        Err(error) => return Err(retry(notice, error.to_string(), state.clock.now())),
    };
    // An address that cannot be written into a message will never be one.
    render::message(mail, notice, &said, &shipment, &state.links, slip)
        .map_err(|error| NoticeOutcome::Failed { error: error.to_string() })
}

/// Next try after 10 s, 20 s, 40 s … up to an hour, each ±20 % so that retries from many notices spread.
fn retry(notice: &NoticeRecord, error: String, now: DateTime<Utc>) -> NoticeOutcome {
    let exponent = u32::try_from(notice.attempts.saturating_sub(1)).unwrap_or(u32::MAX).min(12);
    let base = (10_i64 << exponent).min(3600);
    let jitter = rand::rng().random_range(0.8..1.2);
    let delay = chrono::Duration::milliseconds((base as f64 * 1000.0 * jitter) as i64);
    NoticeOutcome::Retry { at: now + delay, error }
}

/// Runs the worker until `stop` says so.
pub async fn run(state: Outbox, mut stop: watch::Receiver<bool>) {
    loop {
        let idle = match run_pending(&state).await {
            Ok(0) => true,
            Ok(_) => false,
            Err(error) => {
                tracing::warn!(%error, "sending notices failed; trying again shortly");
                true
            }
        };
        if idle {
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        } else if *stop.borrow() {
            return;
        }
    }
}
