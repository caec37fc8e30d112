//! A driver's actions at a stop, independent of HTTP: arrive, deliver, fail. Each runs under its
//! idempotency key; a delivery or attempt stores its files durably first and then, in one
//! transaction, the proof, the shipment's new status with its event and notice, and the answer.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset, Utc};
use todoke_shared::dispatch::RouteStatus;
use todoke_shared::pod::{ArrivalReport, CaptureLocation, ProofOutcome, SignatureStrokes, StopReceipt};
use todoke_shared::{ReasonCode, ShipmentStatus, StatusChange, ValidationErrors};
use uuid::Uuid;

use super::closing::Closing;
use super::error::PodError;
use super::idempotency::ABANDONED_AFTER;
use super::integrity::seal;
use super::parts::{Pod, Written, discard, release, store_files};
use super::signature::{self, SignatureError};
use super::upload::Upload;
use crate::clock::Clock;
use crate::eta::Eta;
use crate::http::extract::parse_json;
use crate::links::Links;
use crate::notify::Mail;
use crate::schedule::destination;
use crate::store::dispatch::{Happening, Transition};
use crate::store::pod::{ArrivalRecord, KeyAnswer, KeyClaim, KeyClaimRequest, ProofDetails, ProofRecord, StopOwner};
use crate::store::{PlaceStore, ShipmentKey, ShipmentRecord, Store, StoreError};

/// What proof of delivery needs: its parts, the shipments its stops are about, the arrival times a
/// stop action moves, the notices a proof sends, the links to its files, and the time.
#[derive(Clone)]
pub struct ProofService {
    /// The delivery slots and pickup points customers choose from.
    pub places: Arc<dyn PlaceStore>,
    pub pod: Arc<Pod>,
    pub shipments: Arc<dyn Store>,
    pub eta: Arc<Eta>,
    pub mail: Arc<Mail>,
    pub links: Arc<Links>,
    /// How long a customer's link opens the shipment's proof.
    pub customer_link: chrono::Duration,
    pub clock: Arc<dyn Clock>,
}

/// What a stop action answers, and a retry gets again byte for byte.
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// The driver who acts, and the key of the action.
pub struct Acting {
    pub driver_id: Uuid,
    pub actor: String,
    pub key: String,
    pub stop_id: Uuid,
}

impl ProofService {
    /// Runs `action` under the key: a retry of an answered request gets its answer, and a failed one
    /// lets the key go.
    async fn keyed<F>(&self, acting: &Acting, fingerprint: &str, action: F) -> Result<Answer, PodError>
    where
        F: Future<Output = Result<Answer, PodError>>,
    {
        let store = &self.pod.store;
        let at = self.clock.now();
        let claim = KeyClaimRequest {
            driver_id: acting.driver_id,
            key: &acting.key,
            fingerprint,
            holder: self.pod.holder,
            now: at,
            abandoned_before: at - ABANDONED_AFTER,
        };
        if let Some(answer) = claimed(store.take_key(&claim).await?)? {
            return Ok(answer);
        }
        let result = action.await;
        if result.is_err()
            && let Err(error) = store.release_key(acting.driver_id, &acting.key).await
        {
            // The key stays taken until it counts as abandoned; the driver app's retry then goes through.
            tracing::warn!(%error, "letting an idempotency key go failed");
        }
        result
    }

    #[tracing::instrument(skip_all, fields(stop_id = %acting.stop_id, driver_id = %acting.driver_id, shipment_id = tracing::field::Empty))]
    pub async fn arrive(&self, acting: &Acting, body: &[u8]) -> Result<Answer, PodError> {
        let fingerprint = super::idempotency::fingerprint("arrive", acting.stop_id, &[("report", body)]);
        self.keyed(acting, &fingerprint, async {
            let report: ArrivalReport = parse_json(body).map_err(PodError::Unreadable)?;
            report.validate().map_err(PodError::Invalid)?;
            let received = self.clock.now();
            let captured_at = captured(report.captured_at, received)?;
            let shipment = self.open_stop(acting).await?;
            let receipt = StopReceipt {
                stop_id: acting.stop_id,
                shipment_id: shipment.id,
                status: shipment.status,
                proof_id: None,
                distance_m: None,
                flagged: false,
            };
            let answer = answer(&self.pod, acting, StatusCode::OK, &receipt)?;
            let arrival = ArrivalRecord {
                stop_id: acting.stop_id,
                driver_id: acting.driver_id,
                arrived_at: captured_at,
                location: report.location,
                recorded_at: received,
            };
            self.pod.store.record_arrival(&arrival, &answer).await?;
            self.eta.touch(acting.driver_id);
            Ok(Answer { status: StatusCode::OK, body: answer.body })
        })
        .await
    }

    /// Closes the stop with a delivery or a failed attempt (`R` is its report).
    #[tracing::instrument(skip_all, fields(action = R::ACTION, stop_id = %acting.stop_id, driver_id = %acting.driver_id, shipment_id = tracing::field::Empty))]
    pub async fn close<R: Closing>(&self, acting: &Acting, upload: Upload) -> Result<Answer, PodError> {
        let fingerprint = upload.fingerprint(R::ACTION, acting.stop_id);
        self.keyed(acting, &fingerprint, async {
            let report: R = parse_json(&upload.report).map_err(PodError::Unreadable)?;
            report.validate().map_err(PodError::Invalid)?;
            report.check_upload(&upload)?;
            let captured_at = captured(report.captured_at(), self.clock.now())?;
            let shipment = self.open_stop(acting).await?;
            let details = report.details(&shipment, &upload)?;
            let signature = match upload.signature.clone() {
                // Drawing or decoding a signature is CPU work: not on the async runtime.
                Some(bytes) => {
                    Some(tokio::task::spawn_blocking(move || signature_png(&bytes)).await.map_err(|_| {
                        PodError::Signature(SignatureError::Unreadable("the signature could not be read".into()))
                    })??)
                }
                None => None,
            };
            let capture = Capture { at: captured_at, location: stored_location(report.location()), details };
            let files = store_files(&self.pod, signature, upload.photos).await?;
            self.record(acting, &shipment, R::OUTCOME, capture, files).await
        })
        .await
    }

    /// The stop's shipment, if the stop is this driver's, on a dispatched route, and still open.
    async fn open_stop(&self, acting: &Acting) -> Result<ShipmentRecord, PodError> {
        let owner = self.pod.store.stop_owner(acting.stop_id).await?.ok_or(PodError::StopNotFound)?;
        // The action's span says which shipment it is about.
        tracing::Span::current().record("shipment_id", tracing::field::display(owner.shipment_id));
        may_act(&owner, acting.driver_id)?;
        let shipment =
            self.shipments.find_shipment(ShipmentKey::Id(owner.shipment_id)).await?.ok_or(PodError::StopNotFound)?;
        still_open(shipment.status)?;
        Ok(shipment)
    }

    /// Stores the proof, the shipment's change and the answer in one transaction; on failure, takes
    /// back the files this request wrote.
    async fn record(
        &self,
        acting: &Acting,
        shipment: &ShipmentRecord,
        outcome: ProofOutcome,
        capture: Capture,
        written: Written,
    ) -> Result<Answer, PodError> {
        let result = self.store_proof(acting, shipment, outcome, capture, &written).await;
        match &result {
            Ok(_) => release(&self.pod, &written),
            Err(_) => discard(&self.pod, &written).await,
        }
        result
    }

    async fn store_proof(
        &self,
        acting: &Acting,
        shipment: &ShipmentRecord,
        outcome: ProofOutcome,
        capture: Capture,
        written: &Written,
    ) -> Result<Answer, PodError> {
        let pickup_points = self.places.pickup_points().await?;
        let placement = self.pod.geofence.place(capture.location.point(), destination(shipment, &pickup_points));
        let received = self.clock.now();
        let details = serde_json::to_string(&capture.details).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut proof = ProofRecord {
            id: Uuid::now_v7(),
            shipment_id: shipment.id,
            stop_id: acting.stop_id,
            driver_id: acting.driver_id,
            outcome,
            captured_at: capture.at,
            recorded_at: received,
            location: capture.location,
            distance_m: placement.distance_m,
            flagged: placement.flagged,
            details,
            files: written.files.clone(),
            sha256: String::new(),
        };
        proof.sha256 = seal(&proof, &written.digests);
        // A failed attempt's report cannot pass its checks without a reason.
        let change = status_change(outcome, capture.details.reason).ok_or(PodError::StopClosed(shipment.status))?;
        let happening = Happening {
            occurred_at: capture.at,
            recorded_at: received,
            actor: acting.actor.clone(),
            location: Some(capture.location.point()),
            note: None,
        };
        let transition = Transition::judged(shipment, change, happening, |next| {
            self.mail.for_proof(shipment, next, change.reason(), proof.id)
        })
        .map_err(|_| PodError::StopClosed(shipment.status))?;
        let next = transition.event.status;
        let receipt = StopReceipt {
            stop_id: acting.stop_id,
            shipment_id: shipment.id,
            status: next,
            proof_id: Some(proof.id),
            distance_m: Some(proof.distance_m),
            flagged: proof.flagged,
        };
        let answer = answer(&self.pod, acting, StatusCode::CREATED, &receipt)?;
        let stored = self.pod.store.record_proof(&proof, &transition, &answer).await;
        match stored {
            Ok(()) => {
                self.eta.touch(acting.driver_id);
                Ok(Answer { status: StatusCode::CREATED, body: answer.body })
            }
            Err(error) => {
                // Something moved while the files were written: the stop went to another driver, or another
                // device or staff closed it. Said as precisely as when the request began.
                if matches!(error, StoreError::Stale) {
                    self.open_stop(acting).await?;
                }
                Err(error.into())
            }
        }
    }
}

/// What taking the key found: go ahead (`None`), the answer a retry gets again, or why not.
fn claimed(claim: KeyClaim) -> Result<Option<Answer>, PodError> {
    match claim {
        KeyClaim::Taken => Ok(None),
        KeyClaim::Answered { status, body } => {
            let status = StatusCode::from_u16(status).map_err(|_| StoreError::Corrupt("answer status".into()))?;
            Ok(Some(Answer { status, body }))
        }
        KeyClaim::Mismatch => Err(PodError::KeyReused),
        KeyClaim::InProgress => Err(PodError::InProgress),
    }
}

/// A driver acts only on their own stops, and only once the route is out.
fn may_act(owner: &StopOwner, driver_id: Uuid) -> Result<(), PodError> {
    if owner.driver_id != driver_id {
        return Err(PodError::NotYourStop);
    }
    if owner.route_status != RouteStatus::Dispatched {
        return Err(PodError::NotDispatched);
    }
    Ok(())
}

/// A stop is open while its shipment is out for delivery; any other status closed it.
fn still_open(status: ShipmentStatus) -> Result<(), PodError> {
    if status == ShipmentStatus::OutForDelivery { Ok(()) } else { Err(PodError::StopClosed(status)) }
}

/// The shipment's move a proof makes; a failed attempt without a reason makes none.
fn status_change(outcome: ProofOutcome, reason: Option<ReasonCode>) -> Option<StatusChange> {
    match (outcome, reason) {
        (ProofOutcome::Delivered, _) => Some(StatusChange::Delivered),
        (ProofOutcome::AttemptFailed, Some(reason)) => Some(StatusChange::AttemptFailed(reason)),
        (ProofOutcome::AttemptFailed, None) => None,
    }
}

/// The phone's time of capture: not in the future (beyond a phone's clock drift), kept to the
/// millisecond as both databases keep it.
fn captured(at: DateTime<FixedOffset>, received: DateTime<Utc>) -> Result<DateTime<Utc>, PodError> {
    use chrono::SubsecRound;
    let at = at.with_timezone(&Utc).trunc_subsecs(3);
    if at > received + chrono::Duration::minutes(5) {
        return Err(PodError::Invalid(ValidationErrors::single(
            "captured_at",
            "in_future",
            "must not lie in the future; check the phone's clock",
        )));
    }
    Ok(at)
}

/// A location as the databases keep it: SQLite stores -0.0 as 0.0, which would break the seal.
fn stored_location(location: CaptureLocation) -> CaptureLocation {
    CaptureLocation {
        lat: location.lat + 0.0,
        lon: location.lon + 0.0,
        accuracy_m: location.accuracy_m.map(|a| a + 0.0),
    }
}

fn signature_png(bytes: &[u8]) -> Result<Vec<u8>, PodError> {
    if bytes.starts_with(b"\x89PNG") {
        return signature::normalise_png(bytes).map_err(PodError::Signature);
    }
    let strokes: SignatureStrokes = parse_json(bytes).map_err(PodError::Unreadable)?;
    strokes.validate().map_err(PodError::Invalid)?;
    signature::render(&strokes).map_err(PodError::Signature)
}

struct Capture {
    at: DateTime<Utc>,
    location: CaptureLocation,
    details: ProofDetails,
}

fn answer(pod: &Pod, acting: &Acting, status: StatusCode, receipt: &StopReceipt) -> Result<KeyAnswer, PodError> {
    let body = serde_json::to_vec(receipt).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(KeyAnswer {
        driver_id: acting.driver_id,
        key: acting.key.clone(),
        holder: pod.holder,
        status: status.as_u16(),
        body,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn stop_of(driver_id: Uuid, route_status: RouteStatus) -> StopOwner {
        StopOwner {
            stop_id: Uuid::now_v7(),
            route_id: Uuid::now_v7(),
            route_status,
            driver_id,
            shipment_id: Uuid::now_v7(),
        }
    }

    fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, hour, minute, second).unwrap()
    }

    #[test]
    fn a_driver_acts_on_their_own_stop_once_the_route_is_out() {
        let driver = Uuid::now_v7();
        assert!(may_act(&stop_of(driver, RouteStatus::Dispatched), driver).is_ok());
        assert!(still_open(ShipmentStatus::OutForDelivery).is_ok());
    }

    #[test]
    fn a_stop_moved_to_another_drivers_route_is_not_theirs_any_more() {
        let (driver, colleague) = (Uuid::now_v7(), Uuid::now_v7());
        let result = may_act(&stop_of(colleague, RouteStatus::Dispatched), driver);
        assert!(matches!(result, Err(PodError::NotYourStop)), "{result:?}");
        // Whose it is comes first: another driver's planned route says nothing about its state.
        let result = may_act(&stop_of(colleague, RouteStatus::Planned), driver);
        assert!(matches!(result, Err(PodError::NotYourStop)), "{result:?}");
    }

    #[test]
    fn a_stop_waits_until_its_route_is_dispatched() {
        let driver = Uuid::now_v7();
        let result = may_act(&stop_of(driver, RouteStatus::Planned), driver);
        assert!(matches!(result, Err(PodError::NotDispatched)), "{result:?}");
    }

    #[test]
    fn a_stop_is_closed_once_its_shipment_is_no_longer_out_for_delivery() {
        for status in [ShipmentStatus::Delivered, ShipmentStatus::AttemptFailed, ShipmentStatus::AtDepot] {
            let result = still_open(status);
            assert!(matches!(result, Err(PodError::StopClosed(s)) if s == status), "{status:?}: {result:?}");
        }
    }

    #[test]
    fn a_new_key_goes_ahead() {
        assert!(matches!(claimed(KeyClaim::Taken), Ok(None)));
    }

    #[test]
    fn a_retry_of_an_answered_action_gets_the_same_answer() {
        let body = br#"{"stop_id":"same bytes"}"#.to_vec();
        let Ok(Some(answer)) = claimed(KeyClaim::Answered { status: 201, body: body.clone() }) else {
            panic!("an answered key answers again");
        };
        assert_eq!((answer.status, answer.body), (StatusCode::CREATED, body));
    }

    #[test]
    fn a_key_used_for_another_action_or_still_at_work_is_refused() {
        assert!(matches!(claimed(KeyClaim::Mismatch), Err(PodError::KeyReused)));
        assert!(matches!(claimed(KeyClaim::InProgress), Err(PodError::InProgress)));
    }

    #[test]
    fn a_stored_answer_with_an_impossible_status_is_an_error_not_an_answer() {
        let result = claimed(KeyClaim::Answered { status: 1000, body: Vec::new() });
        assert!(matches!(result, Err(PodError::Store(StoreError::Corrupt(_)))));
    }

    #[test]
    fn a_delivery_delivers_and_a_failed_attempt_says_why() {
        assert_eq!(status_change(ProofOutcome::Delivered, None), Some(StatusChange::Delivered));
        // A delivery's proof carries no reason; one there by mistake changes nothing.
        assert_eq!(status_change(ProofOutcome::Delivered, Some(ReasonCode::Refused)), Some(StatusChange::Delivered));
        assert_eq!(
            status_change(ProofOutcome::AttemptFailed, Some(ReasonCode::RecipientNotHome)),
            Some(StatusChange::AttemptFailed(ReasonCode::RecipientNotHome))
        );
        assert_eq!(status_change(ProofOutcome::AttemptFailed, None), None);
    }

    #[test]
    fn a_phone_clock_a_little_ahead_is_believed_but_not_one_in_the_future() {
        let received = at(14, 0, 0);
        let ahead = |minutes: i64, seconds: i64| {
            (received + chrono::Duration::minutes(minutes) + chrono::Duration::seconds(seconds)).fixed_offset()
        };
        assert_eq!(captured(ahead(5, 0), received).ok(), Some(at(14, 5, 0)));
        let result = captured(ahead(5, 1), received);
        assert!(matches!(result, Err(PodError::Invalid(_))), "{result:?}");
        assert_eq!(captured(ahead(-90, 0), received).ok(), Some(at(12, 30, 0)), "an action queued offline");
    }

    #[test]
    fn the_capture_time_is_kept_to_the_millisecond_in_utc() {
        let tokyo = FixedOffset::east_opt(9 * 3600).unwrap();
        let taken = tokyo.with_ymd_and_hms(2026, 11, 24, 22, 59, 0).unwrap() + chrono::Duration::microseconds(123_456);
        let kept = captured(taken, at(14, 0, 0)).expect("in the past");
        assert_eq!(kept, at(13, 59, 0) + chrono::Duration::milliseconds(123));
    }

    #[test]
    fn a_location_at_negative_zero_is_sealed_as_the_database_gives_it_back() {
        let stored = stored_location(CaptureLocation { lat: -0.0, lon: -0.0, accuracy_m: Some(-0.0) });
        assert!(stored.lat.is_sign_positive() && stored.lon.is_sign_positive());
        assert!(stored.accuracy_m.is_some_and(f64::is_sign_positive));
        let tokyo = CaptureLocation { lat: 35.6812, lon: 139.7671, accuracy_m: None };
        assert_eq!(stored_location(tokyo), tokyo);
    }
}
