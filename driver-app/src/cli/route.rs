//! `route` and `show`: the kept day, as a list of stops and as one stop at the door.

use std::io::Write;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, Local, NaiveDate, Utc};
use serde_json::json;
use todoke_shared::Language;
use todoke_shared::preferences::DeliveryMethod;

use super::Out;
use super::failure::Failure;
use crate::day::{DayStop, SyncState, day_stops, find};
use crate::sync::Engine;

pub(super) async fn today(
    engine: &Engine,
    out: &Out,
    date: Option<NaiveDate>,
) -> Result<(Vec<DayStop>, NaiveDate, DateTime<Utc>), Failure> {
    let held = engine
        .store
        .manifest(date)
        .await?
        .ok_or_else(|| Failure::refused("no_manifest", out.t("driver-no-day").into()))?;
    let actions = engine.store.actions().await?;
    Ok((day_stops(&held.manifest, &actions), held.manifest.date, held.fetched_at))
}

pub(super) fn proof_labels(stop: &DayStop, lang: Language) -> String {
    stop.stop.pod_requirements.iter().map(|p| p.label(lang)).collect::<Vec<_>>().join(", ")
}

pub(super) fn status_label(stop: &DayStop, out: &Out) -> String {
    let status = stop.status.label(out.lang);
    match &stop.sync {
        SyncState::InStep => status.to_string(),
        SyncState::Queued(_) => format!("{status} ({})", out.t("driver-not-sent-yet")),
        SyncState::Rejected(_, code) => format!("{status} ({}: {code})", out.t("driver-refused")),
    }
}

pub(super) fn hh_mm(time: DateTime<FixedOffset>) -> String {
    time.format("%H:%M").to_string()
}

pub(super) async fn route(engine: &Engine, out: &Out, date: Option<NaiveDate>) -> Result<ExitCode, Failure> {
    let (stops, date, fetched_at) = today(engine, out, date).await?;
    if out.json {
        let stops: Vec<_> = stops.iter().map(stop_json).collect();
        out.json(json!({"date": date, "fetched_at": fetched_at, "stops": stops}));
        return Ok(ExitCode::SUCCESS);
    }
    let fetched = fetched_at.with_timezone(&Local).format("%H:%M");
    out.say(
        "driver-route-heading",
        &[("date", date.to_string().into()), ("count", stops.len().into()), ("fetched", fetched.to_string().into())],
    );
    for stop in &stops {
        let s = &stop.stop;
        say!(
            "{:>3}  {}  {}  {}  [{}]  {}: {}  ({}–{})",
            stop.number,
            hh_mm(s.planned_arrival),
            s.tracking_number,
            status_label(stop, out),
            s.preferences.method.label(out.lang),
            out.t("driver-proof"),
            proof_labels(stop, out.lang),
            hh_mm(s.window_start),
            hh_mm(s.window_end),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn stop_json(stop: &DayStop) -> serde_json::Value {
    json!({
        "number": stop.number,
        "stop_id": stop.stop.id,
        "route_id": stop.route_id,
        "tracking_number": stop.stop.tracking_number.to_string(),
        "planned_arrival": stop.stop.planned_arrival,
        "window_start": stop.stop.window_start,
        "window_end": stop.stop.window_end,
        "status": stop.status,
        "sync": match &stop.sync {
            SyncState::InStep => json!("in_step"),
            SyncState::Queued(kind) => json!({"queued": kind}),
            SyncState::Rejected(kind, code) => json!({"rejected": kind, "code": code}),
        },
        "method": stop.stop.preferences.method,
        "pod_requirements": stop.stop.pod_requirements,
    })
}

pub(super) async fn show(
    engine: &Engine,
    out: &Out,
    reference: &str,
    date: Option<NaiveDate>,
) -> Result<ExitCode, Failure> {
    let (stops, _, _) = today(engine, out, date).await?;
    let stop = pick(&stops, reference, out)?;
    let s = &stop.stop;
    if out.json {
        let mut value = stop_json(stop);
        value["stop"] = serde_json::to_value(s).unwrap_or_default();
        out.json(value);
        return Ok(ExitCode::SUCCESS);
    }
    let lang = out.lang;
    let lines = [
        (out.t("driver-show-stop"), format!("{} ({})", stop.number, s.tracking_number)),
        (out.t("driver-show-status"), status_label(stop, out)),
        (
            out.t("driver-show-planned"),
            format!("{} ({}–{})", hh_mm(s.planned_arrival), hh_mm(s.window_start), hh_mm(s.window_end)),
        ),
        (out.t("driver-show-name"), s.recipient_name.clone()),
        (out.t("driver-show-phone"), s.recipient_phone.clone().unwrap_or_else(|| "-".into())),
        (
            out.t("driver-show-address"),
            format!(
                "〒{} {}{} {}",
                s.address.postal_code,
                s.address.region.clone().unwrap_or_default(),
                s.address.city,
                s.address.lines.join(" ")
            ),
        ),
        (out.t("driver-show-delivery"), method_detail(&s.preferences.method, lang)),
        (out.t("driver-show-instructions"), s.preferences.instructions.clone().unwrap_or_else(|| "-".into())),
        (out.t("driver-show-access_code"), s.preferences.access_code.clone().unwrap_or_else(|| "-".into())),
        (out.t("driver-show-proof_needed"), proof_labels(stop, lang)),
        (out.t("driver-show-parcels"), s.parcels.join(", ")),
    ];
    for (label, value) in lines {
        say!("{label}: {value}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn method_detail(method: &DeliveryMethod, lang: Language) -> String {
    match method {
        DeliveryMethod::SafePlace { description: Some(spot), .. } => format!("{} ({spot})", method.label(lang)),
        DeliveryMethod::Neighbour { door, .. } => format!("{} ({door})", method.label(lang)),
        _ => method.label(lang),
    }
}

pub(super) fn pick<'a>(stops: &'a [DayStop], reference: &str, out: &Out) -> Result<&'a DayStop, Failure> {
    find(stops, reference).ok_or_else(|| {
        Failure::refused("stop_not_found", out.f("driver-no-such-stop", &[("reference", reference.into())]))
    })
}
