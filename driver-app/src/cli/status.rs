//! `status`: what is queued, what was sent, and what the server refused and why.

use std::io::Write;
use std::process::ExitCode;

use chrono::Local;
use serde_json::json;

use super::failure::Failure;
use super::sync::conflict;
use super::{Out, kind_label};
use crate::day::day_stops;
use crate::store::{Action, ActionState};
use crate::sync::Engine;

pub(super) async fn status(engine: &Engine, out: &Out) -> Result<ExitCode, Failure> {
    let actions = engine.store.actions().await?;
    let positions = engine.store.unsent_position_count().await?;
    let session = engine.store.session()?;
    let manifest = engine.store.manifest(None).await?;
    let stops = manifest.as_ref().map(|m| day_stops(&m.manifest, &actions)).unwrap_or_default();
    if out.json {
        out.json(json!({
            "logged_in_as": session.as_ref().map(|s| &s.email),
            "server": session.as_ref().map(|s| &s.server),
            "day": manifest.as_ref().map(|m| m.manifest.date),
            "actions": actions,
            "queued": actions.iter().filter(|a| matches!(a.state, ActionState::Queued { .. })).count(),
            "unsent_positions": positions,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    match &session {
        Some(session) => out.say(
            "driver-status-logged-in",
            &[("email", session.email.as_str().into()), ("server", session.server.as_str().into())],
        ),
        None => out.say("driver-status-not-logged-in", &[]),
    }
    let queued: Vec<&Action> = actions.iter().filter(|a| matches!(a.state, ActionState::Queued { .. })).collect();
    out.say("driver-status-queued", &[("count", queued.len().into()), ("positions", positions.into())]);
    for action in &actions {
        let line = match &action.state {
            ActionState::Queued { attempts, last_error } => {
                let why = last_error.as_deref().map(|e| format!(" — {e}")).unwrap_or_default();
                format!("{}{why}", out.f("driver-action-queued", &[("attempts", (*attempts).into())]))
            }
            ActionState::Done { receipt, settled_at } => out.f(
                "driver-action-sent",
                &[
                    ("time", settled_at.with_timezone(&Local).format("%H:%M").to_string().into()),
                    ("status", receipt.status.label(out.lang).into()),
                ],
            ),
            ActionState::Rejected { problem, .. } => {
                let stop = stops.iter().find(|s| s.stop.id == action.stop_id);
                conflict(out, action, problem, stop)
            }
        };
        say!("{:>4}  {}  {}  {line}", action.seq, kind_label(action.kind, out.lang), action.tracking_number);
    }
    Ok(ExitCode::SUCCESS)
}
