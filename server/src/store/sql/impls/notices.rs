//! [`NoticeStore`] on SQL, for both databases: the outbox's own queries. Notices that a change causes
//! are written in its transaction by `SqlStore::insert_notices`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Db;
use crate::store::notices::{NoticeStore, OutcomeColumns};
use crate::store::{Backend, NewNotice, NoticeOutcome, NoticeRecord, SqlStore, StoreError};

/// The columns of [`NoticeRecord`], in its order.
macro_rules! notice_columns {
    () => {
        "id, shipment_id, kind, sequence, recipient, language, message_id, status, attempts, next_attempt_at, \
         last_error, payload, created_at, sent_at"
    };
}

/// Claims due notices, and those whose worker's lease ran out (it crashed or hung), for a new lease.
const CLAIM_NOTICES: &str = concat!(
    "UPDATE notices SET status = 'sending', claimed_until = $2, attempts = attempts + 1 WHERE id IN (\
     SELECT id FROM notices WHERE (status = 'pending' AND next_attempt_at <= $1) \
     OR (status = 'sending' AND claimed_until < $1) ORDER BY next_attempt_at LIMIT $3 {lock}) RETURNING ",
    notice_columns!()
);

#[async_trait]
impl NoticeStore for SqlStore<Db> {
    async fn enqueue_notices(
        &self,
        shipment_id: Uuid,
        notices: &[NewNotice],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            self.insert_notices(&mut tx, shipment_id, notices, now).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn claim_notices(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<NoticeRecord>, StoreError> {
        // PostgreSQL lets concurrent claimers skip each other's rows; SQLite has one writer at a time.
        let sql = match self.backend {
            Backend::Postgres => sqlx::AssertSqlSafe(CLAIM_NOTICES.replace("{lock}", "FOR UPDATE SKIP LOCKED")),
            Backend::Sqlite => sqlx::AssertSqlSafe(CLAIM_NOTICES.replace("{lock}", "")),
        };
        Ok(sqlx::query_as::<Db, NoticeRecord>(sql)
            .bind(now)
            .bind(lease_until)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn finish_notices(&self, outcomes: &[(Uuid, NoticeOutcome)]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            for (id, outcome) in outcomes {
                let OutcomeColumns { status, sent_at, retry_at, error } = outcome.columns();
                sqlx::query(
                    "UPDATE notices SET status = $2, sent_at = $3, next_attempt_at = COALESCE($4, next_attempt_at), \
                     last_error = $5, claimed_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(status)
                .bind(sent_at)
                .bind(retry_at)
                .bind(error)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn notices(&self, shipment_id: Uuid) -> Result<Vec<NoticeRecord>, StoreError> {
        Ok(sqlx::query_as::<Db, NoticeRecord>(concat!(
            "SELECT ",
            notice_columns!(),
            " FROM notices WHERE shipment_id = $1 ORDER BY created_at, kind, sequence"
        ))
        .bind(shipment_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
