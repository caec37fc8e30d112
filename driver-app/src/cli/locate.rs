//! `locate`: where the device is, one position or a GPX or NMEA track replayed.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;
use serde_json::json;
use todoke_shared::driver::LocationPoint;

use super::Out;
use super::failure::{Failure, refusal};
use super::stop::{now, parse_position};
use super::sync::{push, tell_push};
use crate::proof::Refusal;
use crate::sync::{Engine, PushReport, Stopped, SyncError};
use crate::track;

pub(super) async fn locate(
    engine: &Engine,
    out: &Out,
    at: Option<String>,
    replay: Option<PathBuf>,
    to_now: bool,
) -> Result<ExitCode, Failure> {
    let points = match (at, replay) {
        (Some(at), _) => {
            let place = parse_position(&at, out).map_err(|line| Failure::refused("invalid_position", line))?;
            vec![LocationPoint {
                at: now(),
                lat: place.lat,
                lon: place.lon,
                accuracy_m: place.accuracy_m,
                speed_mps: None,
                heading_deg: None,
            }]
        }
        (None, Some(file)) => {
            let mut points = track::read(&file)
                .map_err(|e| Failure::refused("unreadable_track", format!("{}: {e}", file.display())))?;
            if to_now {
                track::shift_to(&mut points, now());
            }
            points
        }
        (None, None) => {
            return Err(Failure::refused("no_position", out.t("driver-locate-needs").into()));
        }
    };
    // Checked as the server will check them, so a bad point never sits in the queue.
    let batch = todoke_shared::driver::LocationBatch { points };
    for chunk in batch.points.chunks(todoke_shared::driver::MAX_POINTS) {
        let part = todoke_shared::driver::LocationBatch { points: chunk.to_vec() };
        part.validate(Utc::now()).map_err(|errors| refusal(Refusal::Invalid(errors), out))?;
    }
    let points = batch.points;
    engine.store.add_positions(&points).await?;
    out.say("driver-positions-recorded", &[("count", points.len().into())]);
    let report = match push(engine, out).await {
        Ok(report) => report,
        Err(Failure::Sync(SyncError::NotLoggedIn | SyncError::LoginExpired)) => {
            PushReport { stopped: Some(Stopped::LoginExpired), ..PushReport::default() }
        }
        Err(other) => return Err(other),
    };
    tell_push(out, &report, &[]);
    out.json(json!({"ok": true, "recorded": points.len(), "sent": report.positions_sent,
                    "server_latest": report.positions_latest}));
    Ok(if report.stopped.is_none() { ExitCode::SUCCESS } else { ExitCode::from(3) })
}
