//! `sync` and `sync --watch`: sending the queue (with its progress and what the server refused) and
//! fetching the day.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use serde_json::json;
use todoke_shared::{ProblemCode, ShipmentStatus};

use super::failure::{Failure, login_expired};
use super::{Out, kind_label};
use crate::day::{DayStop, day_stops};
use crate::store::Action;
use crate::sync::{Engine, Progress, ProgressSink, PushReport, Stopped, SyncError, backoff};

/// Prints upload progress on the terminal: which action, and how much of its files went out.
pub(super) fn progress_display(out: &Out) -> ProgressSink {
    let show = !out.json && std::io::stderr().is_terminal();
    let lang = out.lang;
    let state = Arc::new(std::sync::Mutex::new((0u64, 0u64)));
    Arc::new(move |event| {
        let Ok(mut state) = state.lock() else { return };
        match event {
            Progress::Sending { index, total, kind, tracking_number, bytes } => {
                *state = (0, bytes);
                if !show {
                    return;
                }
                eprint!("\r\x1b[2K[{index}/{total}] {} {tracking_number}", kind_label(kind, lang));
            }
            Progress::Sent(bytes) => {
                state.0 += bytes;
                if show && state.1 > 0 {
                    let percent = state.0 * 100 / state.1;
                    eprint!(" {percent}%\x1b[4D");
                }
            }
        }
        let _ = std::io::stderr().flush();
    })
}

pub(super) async fn push(engine: &Engine, out: &Out) -> Result<PushReport, Failure> {
    let report = engine.push(progress_display(out)).await?;
    if !out.json && std::io::stderr().is_terminal() && (report.applied.len() + report.rejected.len()) > 0 {
        eprintln!();
    }
    Ok(report)
}

/// Tells the push's outcome: applied, refused (with why, plainly), and what still waits.
pub(super) fn tell_push(out: &Out, report: &PushReport, stops: &[DayStop]) {
    for (action, receipt) in &report.applied {
        let key = if receipt.flagged { "driver-sent-flagged" } else { "driver-sent" };
        out.say(
            key,
            &[
                ("kind", kind_label(action.kind, out.lang).into()),
                ("parcel", action.tracking_number.to_string().into()),
            ],
        );
    }
    for (action, problem) in &report.rejected {
        let stop = stops.iter().find(|s| s.stop.id == action.stop_id);
        if !out.json {
            eprintln!("{}", conflict(out, action, problem, stop));
        }
    }
    match &report.stopped {
        Some(Stopped::Unreachable(why)) => {
            out.say("driver-unreachable", &[("waiting", report.waiting.into()), ("why", why.to_string().into())])
        }
        Some(Stopped::LoginExpired) if !out.json => eprintln!("{}", login_expired(out)),
        Some(Stopped::LoginExpired) => {}
        None if report.waiting == 0 => out.say("driver-all-sent", &[]),
        None => {}
    }
}

/// A refused action, said plainly: what happened and what to do with the parcel.
pub(super) fn conflict(out: &Out, action: &Action, problem: &crate::api::Problem, stop: Option<&DayStop>) -> String {
    let parcel = &action.tracking_number;
    let what = match problem.code.known() {
        Some(ProblemCode::StopReassigned) => out.t("driver-conflict-reassigned").to_string(),
        Some(ProblemCode::StopClosed) => match stop.map(|s| s.stop.status) {
            Some(ShipmentStatus::Cancelled) => out.t("driver-conflict-cancelled").to_string(),
            Some(ShipmentStatus::AvailableForPickup) => out.t("driver-conflict-redirected").to_string(),
            Some(now) => out.f("driver-conflict-changed", &[("status", now.label(out.lang).into())]),
            None => problem.detail.clone(),
        },
        Some(ProblemCode::MethodNotAllowed) if problem.status == 422 => {
            let chosen = stop.map(|s| s.stop.preferences.method.label(out.lang)).unwrap_or_default();
            out.f("driver-conflict-method", &[("method", chosen.into())])
        }
        Some(ProblemCode::RouteNotDispatched) => out.t("driver-conflict-not-dispatched").into(),
        Some(ProblemCode::StopNotFound) => out.t("driver-conflict-off-route").into(),
        Some(ProblemCode::ProofIncomplete) => {
            let fields: Vec<String> = problem.errors.iter().map(|e| e.message.clone()).collect();
            out.f("driver-conflict-proof", &[("fields", fields.join("; ").into())])
        }
        _ => problem.detail.clone(),
    };
    out.f(
        "driver-conflict",
        &[
            ("kind", kind_label(action.kind, out.lang).into()),
            ("parcel", parcel.to_string().into()),
            ("what", what.into()),
            ("code", problem.code.as_str().into()),
        ],
    )
}

pub(super) async fn sync(engine: &Engine, out: &Out, date: Option<NaiveDate>) -> Result<ExitCode, Failure> {
    let report = push(engine, out).await?;
    let day = match &report.stopped {
        None => Some(engine.fetch_manifest(date).await),
        Some(_) => None,
    };
    let manifest = engine.store.manifest(date).await?.map(|held| held.manifest);
    let actions = engine.store.actions().await?;
    let stops = manifest.as_ref().map(|m| day_stops(m, &actions)).unwrap_or_default();
    tell_push(out, &report, &stops);
    let fetched = match day {
        Some(Ok((manifest, changed))) => {
            let count = day_stops(&manifest, &actions).len();
            match changed {
                true => out
                    .say("driver-day-fetched", &[("date", manifest.date.to_string().into()), ("count", count.into())]),
                false => out.say(
                    "driver-day-unchanged",
                    &[("date", manifest.date.to_string().into()), ("count", count.into())],
                ),
            }
            Some(manifest.date)
        }
        Some(Err(SyncError::Api(error))) if error.is_transient() => {
            out.say("driver-day-not-fetched", &[("error", error.to_string().into())]);
            None
        }
        Some(Err(error)) => return Err(error.into()),
        None => None,
    };
    out.json(json!({
        "ok": report.stopped.is_none(),
        "applied": report.applied.iter().map(|(a, r)| json!({"seq": a.seq, "kind": a.kind, "tracking_number": a.tracking_number, "receipt": r})).collect::<Vec<_>>(),
        "rejected": report.rejected.iter().map(|(a, p)| json!({"seq": a.seq, "kind": a.kind, "tracking_number": a.tracking_number, "problem": p})).collect::<Vec<_>>(),
        "waiting": report.waiting,
        "positions_sent": report.positions_sent,
        "stopped": report.stopped.as_ref().map(|s| match s { Stopped::Unreachable(_) => "unreachable", Stopped::LoginExpired => "login_expired" }),
        "date": fetched,
    }));
    Ok(match report.stopped {
        None => ExitCode::SUCCESS,
        Some(Stopped::Unreachable(_)) => ExitCode::from(3),
        Some(Stopped::LoginExpired) => ExitCode::from(4),
    })
}

/// Pushes whenever the server can be reached, with backoff while it cannot, until interrupted.
pub(super) async fn watch(
    engine: &Engine,
    out: &Out,
    date: Option<NaiveDate>,
    every: Duration,
) -> Result<ExitCode, Failure> {
    let mut failures = 0;
    loop {
        let wait = match sync(engine, out, date).await {
            Ok(code) if code == ExitCode::SUCCESS => {
                failures = 0;
                every
            }
            Ok(_) => {
                failures += 1;
                backoff(failures)
            }
            // The network, the server, or a login to renew: said, then wait and try again.
            Err(failure @ Failure::Sync(SyncError::Api(_) | SyncError::LoginExpired | SyncError::NotLoggedIn)) => {
                failure.report(out);
                failures += 1;
                backoff(failures)
            }
            Err(other) => return Err(other),
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}
