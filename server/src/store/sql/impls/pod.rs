//! [`PodStore`] on SQL, for both databases.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use todoke_shared::dispatch::RouteStatus;
use todoke_shared::pod::{CaptureLocation, Feedback, ProofOutcome};
use uuid::Uuid;

use super::Db;
use crate::store::dispatch::Transition;
use crate::store::pod::{
    ArrivalRecord, FileRole, KeyAnswer, KeyClaim, KeyClaimRequest, PodStore, ProofFile, ProofRecord, StopOwner,
};
use crate::store::{SqlStore, StoreError};

#[derive(FromRow)]
pub(super) struct StopOwnerRow {
    stop_id: Uuid,
    route_id: Uuid,
    status: String,
    driver_id: Uuid,
    shipment_id: Uuid,
}

#[derive(FromRow)]
pub(super) struct KeyRow {
    fingerprint: String,
    status: Option<i64>,
    body: Option<Vec<u8>>,
    created_at: DateTime<Utc>,
}

#[derive(FromRow)]
pub(super) struct ProofRow {
    id: Uuid,
    shipment_id: Uuid,
    stop_id: Uuid,
    driver_id: Uuid,
    outcome: String,
    captured_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
    distance_m: f64,
    flagged: bool,
    details: String,
    sha256: String,
}

#[derive(FromRow)]
pub(super) struct FileRow {
    proof_id: Uuid,
    role: String,
    name: String,
}

fn outcome_str(outcome: ProofOutcome) -> &'static str {
    match outcome {
        ProofOutcome::Delivered => "delivered",
        ProofOutcome::AttemptFailed => "attempt_failed",
    }
}

pub(super) fn parse_outcome(text: &str) -> Result<ProofOutcome, StoreError> {
    match text {
        "delivered" => Ok(ProofOutcome::Delivered),
        "attempt_failed" => Ok(ProofOutcome::AttemptFailed),
        _ => Err(corrupt("proof outcome")),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what}"))
}

#[async_trait]
impl PodStore for SqlStore<Db> {
    async fn stop_owner(&self, stop_id: Uuid) -> Result<Option<StopOwner>, StoreError> {
        let row = sqlx::query_as::<Db, StopOwnerRow>(
            "SELECT s.id AS stop_id, s.route_id, r.status, r.driver_id, s.shipment_id FROM route_stops s \
             JOIN routes r ON r.id = s.route_id WHERE s.id = $1",
        )
        .bind(stop_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(StopOwner {
                stop_id: r.stop_id,
                route_id: r.route_id,
                route_status: RouteStatus::parse(&r.status).ok_or_else(|| corrupt("route status"))?,
                driver_id: r.driver_id,
                shipment_id: r.shipment_id,
            })
        })
        .transpose()
    }

    async fn take_key(&self, claim: &KeyClaimRequest<'_>) -> Result<KeyClaim, StoreError> {
        // Two tries: a key released between the insert and the read is simply free again.
        for _ in 0..2 {
            let inserted = sqlx::query_as::<Db, (String,)>(
                "INSERT INTO idempotency_keys (driver_id, key, fingerprint, created_at, holder) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (driver_id, key) DO NOTHING RETURNING key",
            )
            .bind(claim.driver_id)
            .bind(claim.key)
            .bind(claim.fingerprint)
            .bind(claim.now)
            .bind(claim.holder)
            .fetch_optional(&self.pool)
            .await?;
            if inserted.is_some() {
                // Answers are kept for a week: far longer than any phone stays offline.
                sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1 AND status IS NOT NULL")
                    .bind(claim.now - chrono::Duration::days(7))
                    .execute(&self.pool)
                    .await?;
                return Ok(KeyClaim::Taken);
            }
            let Some(row) = sqlx::query_as::<Db, KeyRow>(
                "SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE driver_id = $1 AND key = $2",
            )
            .bind(claim.driver_id)
            .bind(claim.key)
            .fetch_optional(&self.pool)
            .await?
            else {
                continue;
            };
            if row.fingerprint != claim.fingerprint {
                return Ok(KeyClaim::Mismatch);
            }
            if let Some(status) = row.status {
                let status = u16::try_from(status).map_err(|_| corrupt("answer status"))?;
                return Ok(KeyClaim::Answered { status, body: row.body.unwrap_or_default() });
            }
            // Still unanswered: taken over if its holder no longer runs (no live lease), or if it has
            // waited longer than any action takes. The compare on `created_at` lets one retry win.
            let taken_over = sqlx::query_as::<Db, (String,)>(
                "UPDATE idempotency_keys SET created_at = $1, holder = $5 \
                 WHERE driver_id = $2 AND key = $3 AND status IS NULL AND created_at = $4 \
                 AND (created_at < $6 OR NOT EXISTS (SELECT 1 FROM server_instances i \
                      WHERE i.id = idempotency_keys.holder AND i.lease_until >= $1)) \
                 RETURNING key",
            )
            .bind(claim.now)
            .bind(claim.driver_id)
            .bind(claim.key)
            .bind(row.created_at)
            .bind(claim.holder)
            .bind(claim.abandoned_before)
            .fetch_optional(&self.pool)
            .await?;
            return Ok(if taken_over.is_some() { KeyClaim::Taken } else { KeyClaim::InProgress });
        }
        Ok(KeyClaim::InProgress)
    }

    async fn release_key(&self, driver_id: Uuid, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE driver_id = $1 AND key = $2 AND status IS NULL")
            .bind(driver_id)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_arrival(&self, arrival: &ArrivalRecord, answer: &KeyAnswer) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            sqlx::query(
                "INSERT INTO stop_arrivals (stop_id, driver_id, arrived_at, lat, lon, accuracy_m, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (stop_id) DO UPDATE SET driver_id = excluded.driver_id, \
                 arrived_at = excluded.arrived_at, lat = excluded.lat, lon = excluded.lon, \
                 accuracy_m = excluded.accuracy_m, recorded_at = excluded.recorded_at",
            )
            .bind(arrival.stop_id)
            .bind(arrival.driver_id)
            .bind(arrival.arrived_at)
            .bind(arrival.location.lat)
            .bind(arrival.location.lon)
            .bind(arrival.location.accuracy_m)
            .bind(arrival.recorded_at)
            .execute(&mut *tx)
            .await?;
            answer_key(&mut tx, answer).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn record_proof(
        &self,
        proof: &ProofRecord,
        transition: &Transition,
        answer: &KeyAnswer,
    ) -> Result<(), StoreError> {
        let _evict = self.evictions.on_drop(vec![transition.shipment_id]);
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            // The stop may have moved to another driver while the photos were processed.
            let owner = sqlx::query_as::<Db, (Uuid, String)>(
                "SELECT r.driver_id, r.status FROM route_stops s JOIN routes r ON r.id = s.route_id WHERE s.id = $1",
            )
            .bind(proof.stop_id)
            .fetch_optional(&mut *tx)
            .await?;
            if owner != Some((proof.driver_id, RouteStatus::Dispatched.as_str().to_string())) {
                return Err(StoreError::Stale);
            }
            sqlx::query(
                "INSERT INTO proofs (id, shipment_id, stop_id, driver_id, outcome, captured_at, recorded_at, lat, lon, \
                 accuracy_m, distance_m, flagged, details, sha256) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(proof.id)
            .bind(proof.shipment_id)
            .bind(proof.stop_id)
            .bind(proof.driver_id)
            .bind(outcome_str(proof.outcome))
            .bind(proof.captured_at)
            .bind(proof.recorded_at)
            .bind(proof.location.lat)
            .bind(proof.location.lon)
            .bind(proof.location.accuracy_m)
            .bind(proof.distance_m)
            .bind(proof.flagged)
            .bind(proof.details.as_str())
            .bind(proof.sha256.as_str())
            .execute(&mut *tx)
            .await?;
            for (position, file) in proof.files.iter().enumerate() {
                sqlx::query("INSERT INTO proof_files (proof_id, position, role, name) VALUES ($1, $2, $3, $4)")
                    .bind(proof.id)
                    .bind(position as i64)
                    .bind(file.role.as_str())
                    .bind(file.name.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            self.apply(&mut tx, transition).await?;
            answer_key(&mut tx, answer).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn proofs(&self, shipment_id: Uuid) -> Result<Vec<ProofRecord>, StoreError> {
        let rows = sqlx::query_as::<Db, ProofRow>(
            "SELECT id, shipment_id, stop_id, driver_id, outcome, captured_at, recorded_at, lat, lon, accuracy_m, \
             distance_m, flagged, details, sha256 FROM proofs WHERE shipment_id = $1 ORDER BY recorded_at DESC, id DESC",
        )
        .bind(shipment_id)
        .fetch_all(&self.pool)
        .await?;
        let files = sqlx::query_as::<Db, FileRow>(
            "SELECT f.proof_id, f.role, f.name FROM proof_files f JOIN proofs p ON p.id = f.proof_id \
             WHERE p.shipment_id = $1 ORDER BY f.proof_id, f.position",
        )
        .bind(shipment_id)
        .fetch_all(&self.pool)
        .await?;
        let mut by_proof: HashMap<Uuid, Vec<ProofFile>> = HashMap::new();
        for file in files {
            let role = FileRole::parse(&file.role).ok_or_else(|| corrupt("file role"))?;
            by_proof.entry(file.proof_id).or_default().push(ProofFile { role, name: file.name });
        }
        rows.into_iter()
            .map(|row| {
                let outcome = parse_outcome(&row.outcome)?;
                Ok(ProofRecord {
                    id: row.id,
                    shipment_id: row.shipment_id,
                    stop_id: row.stop_id,
                    driver_id: row.driver_id,
                    outcome,
                    captured_at: row.captured_at,
                    recorded_at: row.recorded_at,
                    location: CaptureLocation { lat: row.lat, lon: row.lon, accuracy_m: row.accuracy_m },
                    distance_m: row.distance_m,
                    flagged: row.flagged,
                    details: row.details,
                    files: by_proof.remove(&row.id).unwrap_or_default(),
                    sha256: row.sha256,
                })
            })
            .collect()
    }

    async fn file_in_use(&self, name: &str) -> Result<bool, StoreError> {
        let (count,) = sqlx::query_as::<Db, (i64,)>("SELECT COUNT(*) FROM proof_files WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(count > 0)
    }

    async fn save_feedback(&self, shipment_id: Uuid, feedback: &Feedback, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO feedback (shipment_id, rating, comment, left_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (shipment_id) DO UPDATE SET rating = excluded.rating, comment = excluded.comment, \
             left_at = excluded.left_at",
        )
        .bind(shipment_id)
        .bind(i64::from(feedback.rating))
        .bind(feedback.comment.as_deref())
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn feedback(&self, shipment_id: Uuid) -> Result<Option<Feedback>, StoreError> {
        let row =
            sqlx::query_as::<Db, (i64, Option<String>)>("SELECT rating, comment FROM feedback WHERE shipment_id = $1")
                .bind(shipment_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(rating, comment)| {
            let rating = u8::try_from(rating).map_err(|_| corrupt("feedback rating"))?;
            Ok(Feedback { rating, comment })
        })
        .transpose()
    }
}

/// Keeps the answer with its key; the key must still be this request's.
async fn answer_key(tx: &mut sqlx::Transaction<'static, Db>, answer: &KeyAnswer) -> Result<(), StoreError> {
    let answered = sqlx::query_as::<Db, (String,)>(
        "UPDATE idempotency_keys SET status = $1, body = $2 WHERE driver_id = $3 AND key = $4 AND status IS NULL \
         AND holder = $5 RETURNING key",
    )
    .bind(i64::from(answer.status))
    .bind(answer.body.as_slice())
    .bind(answer.driver_id)
    .bind(answer.key.as_str())
    .bind(answer.holder)
    .fetch_optional(&mut **tx)
    .await?;
    if answered.is_none() {
        return Err(StoreError::Stale);
    }
    Ok(())
}
