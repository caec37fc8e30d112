//! Drivers' points on their way into the store. A batch that arrives while others are being written
//! waits, then goes in with every batch that waited alongside it, in one transaction: SQLite has one
//! writer at a time, so what bounds ingest is the number of commits, not of points. Points past the
//! retention are let go at most once a minute, not on every batch.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::store::dispatch::DriverPoints;
use crate::store::{LocationStore, StoreError};

/// How often points past the retention are deleted, at most: a delete on every batch cost as much as
/// the batch, and a point kept a minute past a retention of days breaks no promise.
const PRUNE_EVERY: chrono::Duration = chrono::Duration::minutes(1);

pub struct LocationIngest {
    store: Arc<dyn LocationStore>,
    /// Batches waiting for the writer, each with where its answer goes.
    waiting: Mutex<Vec<Waiting>>,
    /// Held while a group is written; holds when points were last pruned.
    writer: tokio::sync::Mutex<Option<DateTime<Utc>>>,
}

struct Waiting {
    batch: DriverPoints,
    prune_before: DateTime<Utc>,
    answer: oneshot::Sender<Result<(), StoreError>>,
}

impl LocationIngest {
    pub fn new(store: Arc<dyn LocationStore>) -> LocationIngest {
        LocationIngest { store, waiting: Mutex::default(), writer: tokio::sync::Mutex::default() }
    }

    /// Stores a batch (see [`LocationStore::record_locations`]) and answers once it is committed, letting
    /// go of every driver's points recorded before `prune_before` when that is due.
    pub async fn record(&self, batch: DriverPoints, prune_before: DateTime<Utc>) -> Result<(), StoreError> {
        loop {
            let (answer, answered) = oneshot::channel();
            self.queue().push(Waiting { batch: batch.clone(), prune_before, answer });
            {
                // Whoever holds the writer takes every batch waiting, this one too unless taken already.
                let mut pruned_at = self.writer.lock().await;
                let group = std::mem::take(&mut *self.queue());
                if !group.is_empty() {
                    self.write(group, &mut pruned_at).await;
                }
            }
            match answered.await {
                Ok(result) => return result,
                // The request writing this batch went away before it answered: send it again. Stored
                // already or not, a point is kept once and the position only moves forward.
                Err(_) => continue,
            }
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn write(&self, group: Vec<Waiting>, pruned_at: &mut Option<DateTime<Utc>>) {
        let now = group.iter().map(|w| w.batch.received_at).max();
        let prune_before = group.iter().map(|w| w.prune_before).max();
        let (batches, answers): (Vec<DriverPoints>, Vec<_>) = group.into_iter().map(|w| (w.batch, w.answer)).unzip();
        match self.store.record_locations(&batches).await {
            Ok(()) => {
                for answer in answers {
                    let _ = answer.send(Ok(()));
                }
            }
            // The database may have refused one batch only (its driver was removed meanwhile): each alone,
            // so that only that one fails.
            Err(_) if batches.len() > 1 => {
                for (batch, answer) in batches.iter().zip(answers) {
                    let _ = answer.send(self.store.record_locations(std::slice::from_ref(batch)).await);
                }
            }
            Err(error) => {
                if let Some(answer) = answers.into_iter().next() {
                    let _ = answer.send(Err(error));
                }
            }
        }
        if let (Some(now), Some(before)) = (now, prune_before)
            && prune_due(*pruned_at, now)
        {
            match self.store.prune_locations(before).await {
                Ok(_) => *pruned_at = Some(now),
                // Tried again with the next batch; nothing is lost meanwhile.
                Err(error) => tracing::warn!(%error, "letting go of old location points failed"),
            }
        }
    }
}

/// Whether to let go of old points now, last done at `last` (never, in this process, when `None`). A
/// clock set back makes it due too: waiting for it to catch up could keep points far too long.
fn prune_due(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last.is_none_or(|last| now < last || now - last >= PRUNE_EVERY)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn old_points_are_let_go_at_first_then_at_most_once_a_minute() {
        let now = Utc.with_ymd_and_hms(2026, 12, 8, 9, 0, 0).unwrap();
        assert!(prune_due(None, now), "a server just started prunes with its first batch");
        assert!(!prune_due(Some(now), now));
        assert!(!prune_due(Some(now - chrono::Duration::seconds(59)), now));
        assert!(prune_due(Some(now - chrono::Duration::seconds(60)), now));
        assert!(prune_due(Some(now - chrono::Duration::days(3)), now));
        assert!(prune_due(Some(now + chrono::Duration::seconds(1)), now), "the clock was set back");
    }
}
