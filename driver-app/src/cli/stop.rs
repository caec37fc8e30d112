//! `arrive`, `deliver` and `fail`: an action at a stop, checked at the door by the shared rules, saved
//! on the device, then sent.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, Local, Utc};
use serde_json::json;
use todoke_shared::ReasonCode;
use todoke_shared::pod::{ATTEMPT_REASONS, ArrivalReport, AttemptReport, CaptureLocation, DeliveryReport};
use todoke_shared::preferences::DeliveryMethod;

use super::failure::{Failure, refusal};
use super::route::{pick, status_label, today};
use super::sync::{push, tell_push};
use super::{DeliverArgs, Out, Place, kind_label};
use crate::day::DayStop;
use crate::proof::{self, Refusal};
use crate::store::{ActionKind, ActionState, NewAction};
use crate::sync::{Engine, PushReport, Stopped, SyncError};

/// An open stop of the kept day, or a plain refusal.
async fn open_stop(engine: &Engine, out: &Out, reference: &str) -> Result<DayStop, Failure> {
    let (stops, _, _) = today(engine, out, None).await?;
    let stop = pick(&stops, reference, out)?;
    if !stop.is_open() {
        let line = out.f(
            "driver-stop-closed",
            &[("parcel", stop.stop.tracking_number.to_string().into()), ("status", status_label(stop, out).into())],
        );
        return Err(Failure::refused("stop_closed", line));
    }
    Ok(stop.clone())
}

/// Where the device is: `--at`, else the last position recorded (within the hour).
async fn capture_location(engine: &Engine, out: &Out, place: &Place) -> Result<CaptureLocation, Failure> {
    if let Some(at) = &place.at {
        return parse_position(at, out).map_err(|line| Failure::refused("invalid_position", line));
    }
    let recent = engine
        .store
        .latest_position()
        .await?
        .filter(|p| Utc::now().signed_duration_since(p.at) < chrono::Duration::hours(1));
    recent
        .map(|p| CaptureLocation { lat: p.lat, lon: p.lon, accuracy_m: p.accuracy_m })
        .ok_or_else(|| Failure::refused("no_position", out.t("driver-no-position").into()))
}

pub(super) fn parse_position(text: &str, out: &Out) -> Result<CaptureLocation, String> {
    let numbers: Result<Vec<f64>, _> = text.split(',').map(|n| n.trim().parse::<f64>()).collect();
    match numbers.as_deref() {
        Ok([lat, lon]) => Ok(CaptureLocation { lat: *lat, lon: *lon, accuracy_m: None }),
        Ok([lat, lon, accuracy]) => Ok(CaptureLocation { lat: *lat, lon: *lon, accuracy_m: Some(*accuracy) }),
        _ => Err(out.f("driver-invalid-position", &[("text", text.into())])),
    }
}

pub(super) fn now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

pub(super) async fn arrive(engine: &Engine, out: &Out, reference: &str, place: &Place) -> Result<ExitCode, Failure> {
    let stop = open_stop(engine, out, reference).await?;
    let report = ArrivalReport { captured_at: now(), location: capture_location(engine, out, place).await? };
    report.validate().map_err(|errors| refusal(Refusal::Invalid(errors), out))?;
    queue_and_push(engine, out, &stop, ActionKind::Arrive, serde_json::to_string(&report), Vec::new()).await
}

pub(super) async fn deliver(engine: &Engine, out: &Out, args: DeliverArgs) -> Result<ExitCode, Failure> {
    let stop = open_stop(engine, out, &args.stop).await?;
    let location = capture_location(engine, out, &args.at).await?;
    let method = match (&args.neighbour, &args.door, &args.spot, &stop.stop.preferences.method) {
        _ if args.hand_over => DeliveryMethod::HandToRecipient,
        (Some(name), Some(door), _, _) => DeliveryMethod::Neighbour { name: name.clone(), door: door.clone() },
        (_, _, Some(spot), DeliveryMethod::SafePlace { place, .. }) => {
            DeliveryMethod::SafePlace { place: *place, description: Some(spot.clone()) }
        }
        (_, _, _, chosen) => chosen.clone(),
    };
    let report = DeliveryReport {
        captured_at: now(),
        location,
        method,
        recipient_name: args.name.clone(),
        age_checked: args.age_checked,
        scanned: args.scans.clone(),
    };
    let signature = args.signature.as_deref().map(proof::read_signature).transpose().map_err(|e| refusal(e, out))?;
    let photos =
        args.photos.iter().map(|p| proof::read_photo(p)).collect::<Result<Vec<_>, _>>().map_err(|e| refusal(e, out))?;
    proof::check_delivery(&stop.stop, &report, signature.as_deref(), &photos).map_err(|e| refusal(e, out))?;
    let mut files: Vec<(&'static str, Vec<u8>)> = signature.into_iter().map(|s| ("signature", s)).collect();
    files.extend(photos.into_iter().map(|p| ("photo", p)));
    queue_and_push(engine, out, &stop, ActionKind::Deliver, serde_json::to_string(&report), files).await
}

pub(super) async fn fail(
    engine: &Engine,
    out: &Out,
    reference: &str,
    reason: &str,
    note: Option<String>,
    photos: &[PathBuf],
    place: &Place,
) -> Result<ExitCode, Failure> {
    let stop = open_stop(engine, out, reference).await?;
    let Some(reason) = ReasonCode::parse(reason).filter(|r| ATTEMPT_REASONS.contains(r)) else {
        let codes: Vec<&str> = ATTEMPT_REASONS.iter().map(|r| r.as_str()).collect();
        return Err(Failure::refused(
            "invalid_reason",
            out.f("driver-invalid-reason", &[("reason", reason.into()), ("codes", codes.join(", ").into())]),
        ));
    };
    let report =
        AttemptReport { captured_at: now(), location: capture_location(engine, out, place).await?, reason, note };
    let photos =
        photos.iter().map(|p| proof::read_photo(p)).collect::<Result<Vec<_>, _>>().map_err(|e| refusal(e, out))?;
    proof::check_attempt(&report, &photos).map_err(|e| refusal(e, out))?;
    let files = photos.into_iter().map(|p| ("photo", p)).collect();
    queue_and_push(engine, out, &stop, ActionKind::Fail, serde_json::to_string(&report), files).await
}

/// Saves the action on the device first, then tries to send it (and anything queued before it).
async fn queue_and_push(
    engine: &Engine,
    out: &Out,
    stop: &DayStop,
    kind: ActionKind,
    report: serde_json::Result<String>,
    files: Vec<(&'static str, Vec<u8>)>,
) -> Result<ExitCode, Failure> {
    let report = report.map_err(|e| Failure::Other(e.to_string()))?;
    let action = engine
        .store
        .enqueue(NewAction {
            kind,
            stop_id: stop.stop.id,
            shipment_id: stop.stop.shipment_id,
            tracking_number: stop.stop.tracking_number.to_string(),
            report,
            files,
        })
        .await?;
    out.say(
        "driver-saved",
        &[
            ("kind", kind_label(kind, out.lang).into()),
            ("parcel", action.tracking_number.to_string().into()),
            ("number", stop.number.to_string().into()),
        ],
    );
    let report = match push(engine, out).await {
        Ok(report) => report,
        // Saved is what matters at the door; sending waits for a login.
        Err(Failure::Sync(SyncError::NotLoggedIn | SyncError::LoginExpired)) => PushReport {
            stopped: Some(Stopped::LoginExpired),
            waiting: engine.store.queued().await?.len(),
            ..PushReport::default()
        },
        // Saved, but not sent for a local reason: said, and left for the next sync.
        Err(Failure::Sync(SyncError::Store(error))) => PushReport {
            stopped: Some(Stopped::Unreachable(error.to_string())),
            waiting: engine.store.queued().await?.len(),
            ..PushReport::default()
        },
        Err(other) => return Err(other),
    };
    if !report.rejected.is_empty() {
        // The refusal is told against the day as it is now; offline, the kept day has to do.
        let kept = engine.store.manifest(None).await?.map(|held| held.manifest.date);
        let _ = engine.fetch_manifest(kept).await;
    }
    let (stops, _, _) = today(engine, out, None).await?;
    tell_push(out, &report, &stops);
    let mine = engine.store.actions().await?.into_iter().find(|a| a.seq == action.seq);
    out.json(json!({"ok": true, "queued": action.seq, "idempotency_key": action.idempotency_key, "action": mine, "waiting": report.waiting}));
    Ok(match mine.map(|a| a.state) {
        Some(ActionState::Done { .. }) => ExitCode::SUCCESS,
        Some(ActionState::Rejected { .. }) => ExitCode::from(1),
        _ => ExitCode::from(3),
    })
}
