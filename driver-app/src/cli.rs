//! The `todoke-driver` program: commands, and what they print (Japanese or English by locale or
//! `--lang`, or JSON with `--json`). Exit codes: 0 done, 1 failed, 2 refused (fix the input), 3 queued
//! but not sent yet (offline), 4 a new login is needed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};
use serde_json::json;
use todoke_shared::driver::LocationPoint;
use todoke_shared::pod::{ATTEMPT_REASONS, ArrivalReport, AttemptReport, CaptureLocation, DeliveryReport};
use todoke_shared::preferences::DeliveryMethod;
use todoke_shared::{Arg, Catalogue, Language, ProblemCode, ReasonCode, ShipmentStatus};

use crate::day::{DayStop, SyncState, day_stops, find};
use crate::proof::{self, Refusal};
use crate::store::{Action, ActionKind, ActionState, LocalStore, NewAction};
use crate::sync::{Engine, Progress, ProgressSink, PushReport, Stopped, SyncError, backoff};
use crate::track;

/// The Todoke driver app: the day's route, offline, with proof of delivery.
///
/// Everything a driver does is saved on this device first and sent when the server can be reached;
/// nothing is lost by a dead network, a closed app or a flat battery.
#[derive(Parser)]
#[command(name = "todoke-driver", version)]
struct Cli {
    /// The app's folder (login, the day, the queue). [default: $XDG_DATA_HOME/todoke-driver]
    #[arg(long, env = "TODOKE_DRIVER_DIR", global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// ja or en. [default: from the locale]
    #[arg(long, global = true, value_name = "LANG")]
    lang: Option<String>,

    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Log in; the password is read from the terminal, or from standard input when it is not one.
    Login {
        /// The Todoke server, such as https://todoke.example.com.
        #[arg(long, env = "TODOKE_SERVER")]
        server: String,
        #[arg(long)]
        email: String,
    },
    /// Log out; queued work stays and is sent after the next login.
    Logout,
    /// Send what is queued and fetch the day.
    Sync {
        /// The day to fetch (YYYY-MM-DD). [default: today at the depot]
        #[arg(long)]
        date: Option<NaiveDate>,
        /// Keep going: send as soon as the server can be reached, until interrupted.
        #[arg(long)]
        watch: bool,
        /// Seconds between rounds in --watch mode while all is well.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        every: u64,
    },
    /// The day's stops in order: time, status, how to deliver, what proof is needed.
    Route {
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Everything needed at the door of one stop (its number, tracking number or id).
    Show {
        stop: String,
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Arrived at a stop.
    Arrive {
        stop: String,
        #[command(flatten)]
        at: Place,
    },
    /// Delivered: the proof as the stop needs it.
    Deliver(Box<DeliverArgs>),
    /// Could not deliver.
    Fail {
        stop: String,
        /// recipient_not_home, refused, address_not_found, access_restricted, safe_place_unavailable,
        /// business_closed, damaged, weather or other.
        #[arg(long)]
        reason: String,
        #[arg(long)]
        note: Option<String>,
        /// A photo of the door or the notice left (repeatable).
        #[arg(long = "photo", value_name = "FILE")]
        photos: Vec<PathBuf>,
        #[command(flatten)]
        at: Place,
    },
    /// Record where the device is and send it: one position, or a GPX or NMEA file replayed.
    Locate {
        /// LAT,LON or LAT,LON,ACCURACY_M.
        #[arg(long, conflicts_with = "replay")]
        at: Option<String>,
        /// A GPX track or NMEA log (a GPS receiver's output).
        #[arg(long, value_name = "FILE")]
        replay: Option<PathBuf>,
        /// Shift the replayed times so that the last point is now.
        #[arg(long, requires = "replay")]
        to_now: bool,
    },
    /// What is queued, what was sent, and what the server refused and why.
    Status,
}

#[derive(Args)]
struct DeliverArgs {
    stop: String,
    /// A photo of the parcel where it was left (repeatable).
    #[arg(long = "photo", value_name = "FILE")]
    photos: Vec<PathBuf>,
    /// The signature: strokes JSON from the signature pad, or a PNG.
    #[arg(long, value_name = "FILE")]
    signature: Option<PathBuf>,
    /// Who took the parcel.
    #[arg(long)]
    name: Option<String>,
    /// A parcel barcode scanned at the door (repeatable).
    #[arg(long = "scan", value_name = "BARCODE")]
    scans: Vec<String>,
    /// The recipient's age was checked against an ID.
    #[arg(long)]
    age_checked: bool,
    /// Handed over in person, whatever the customer chose.
    #[arg(long, conflicts_with_all = ["neighbour", "spot"])]
    hand_over: bool,
    /// Given to a neighbour: their name (with --door).
    #[arg(long, requires = "door")]
    neighbour: Option<String>,
    /// The neighbour's door or room number.
    #[arg(long, requires = "neighbour")]
    door: Option<String>,
    /// Where exactly it was left, at a safe place.
    #[arg(long)]
    spot: Option<String>,
    #[command(flatten)]
    at: Place,
}

/// Where the device is for an action: given, or the last position recorded by `locate`.
#[derive(Args)]
struct Place {
    /// LAT,LON or LAT,LON,ACCURACY_M. [default: the last position recorded]
    #[arg(long, value_name = "LAT,LON")]
    at: Option<String>,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = language(cli.lang.as_deref());
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let out = Out { lang, json: cli.json };
    match runtime.block_on(run(cli, &out)) {
        Ok(code) => code,
        Err(failure) => failure.report(&out),
    }
}

/// A line on standard output; a reader gone away (`route | head`) is no reason to stop, or to panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Output in the driver's language or as JSON.
struct Out {
    lang: Language,
    json: bool,
}

impl Out {
    /// Says a message of the catalogue, with its arguments, unless the output is JSON.
    fn say(&self, key: &str, args: &[(&str, Arg)]) {
        if !self.json {
            say!("{}", self.f(key, args));
        }
    }

    fn json(&self, value: serde_json::Value) {
        if self.json {
            say!("{value:#}");
        }
    }

    /// A message of the catalogue without arguments.
    fn t(&self, key: &str) -> &'static str {
        Catalogue::text(self.lang, key)
    }

    /// A message of the catalogue with its arguments.
    fn f(&self, key: &str, args: &[(&str, Arg)]) -> String {
        Catalogue::format(self.lang, key, args)
    }
}

/// Why a command did not do what was asked.
enum Failure {
    /// Bad input or an action the rules refuse: nothing was saved.
    Refused {
        code: &'static str,
        lines: Vec<String>,
    },
    Sync(SyncError),
    Other(String),
}

impl From<SyncError> for Failure {
    fn from(error: SyncError) -> Failure {
        Failure::Sync(error)
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(error: crate::store::StoreError) -> Failure {
        Failure::Sync(error.into())
    }
}

impl Failure {
    fn refused(code: &'static str, line: String) -> Failure {
        Failure::Refused { code, lines: vec![line] }
    }

    fn report(self, out: &Out) -> ExitCode {
        let (code, lines, exit): (String, Vec<String>, u8) = match self {
            Failure::Refused { code, lines } => (code.to_string(), lines, 2),
            Failure::Sync(SyncError::NotLoggedIn) => {
                ("not_logged_in".into(), vec![out.t("driver-not-logged-in").into()], 4)
            }
            Failure::Sync(SyncError::LoginExpired) => ("login_expired".into(), vec![login_expired(out)], 4),
            Failure::Sync(SyncError::Api(error)) => {
                let code = error.problem().map_or_else(|| "unreachable".to_string(), |p| p.code.to_string());
                (code, vec![error.to_string()], 1)
            }
            Failure::Sync(SyncError::Store(error)) => ("local_store".into(), vec![error.to_string()], 1),
            Failure::Sync(SyncError::QueueNotSent(waiting)) => {
                ("queue_not_sent".into(), vec![out.f("driver-queue-not-sent", &[("count", waiting.into())])], 2)
            }
            Failure::Sync(SyncError::QueueOfAnother(email)) => (
                "queue_of_another_driver".into(),
                vec![out.f("driver-queue-of-another", &[("email", email.into())])],
                2,
            ),
            Failure::Other(message) => ("failed".into(), vec![message], 1),
        };
        if out.json {
            say!("{:#}", json!({"ok": false, "code": code, "messages": lines}));
        } else {
            for line in lines {
                eprintln!("{line}");
            }
        }
        ExitCode::from(exit)
    }
}

fn login_expired(out: &Out) -> String {
    out.t("driver-login-expired").into()
}

fn language(flag: Option<&str>) -> Language {
    let from_env =
        || ["LC_ALL", "LC_MESSAGES", "LANG"].iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    flag.map(str::to_string).or_else(from_env).and_then(|code| Language::from_code(&code)).unwrap_or(Language::En)
}

fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("todoke-driver")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/todoke-driver")))
        .unwrap_or_else(|| PathBuf::from("todoke-driver"))
}

async fn run(cli: Cli, out: &Out) -> Result<ExitCode, Failure> {
    let store = LocalStore::open(&data_dir(cli.data_dir)).await?;
    let engine = Engine::new(store);
    match cli.command {
        Command::Login { server, email } => login(&engine, out, &server, &email).await,
        Command::Logout => {
            engine.logout().await?;
            out.say("driver-logged-out", &[]);
            out.json(json!({"ok": true}));
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync { date, watch: false, .. } => sync(&engine, out, date).await,
        Command::Sync { date, watch: true, every } => watch(&engine, out, date, Duration::from_secs(every)).await,
        Command::Route { date } => route(&engine, out, date).await,
        Command::Show { stop, date } => show(&engine, out, &stop, date).await,
        Command::Arrive { stop, at } => arrive(&engine, out, &stop, &at).await,
        Command::Deliver(args) => deliver(&engine, out, *args).await,
        Command::Fail { stop, reason, note, photos, at } => {
            fail(&engine, out, &stop, &reason, note, &photos, &at).await
        }
        Command::Locate { at, replay, to_now } => locate(&engine, out, at, replay, to_now).await,
        Command::Status => status(&engine, out).await,
    }
}

async fn login(engine: &Engine, out: &Out, server: &str, email: &str) -> Result<ExitCode, Failure> {
    if !(server.starts_with("https://") || server.starts_with("http://")) {
        let line = out.f("driver-invalid-server", &[("server", server.into())]);
        return Err(Failure::refused("invalid_server", line));
    }
    let password = read_password(out).map_err(|e| Failure::Other(e.to_string()))?;
    let session = engine.login(server, email, &password).await.map_err(|error| match error {
        SyncError::Api(api) if api.problem().is_some_and(|p| p.status == 401) => {
            Failure::refused("invalid_credentials", out.t("driver-invalid-credentials").into())
        }
        other => other.into(),
    })?;
    let queued = engine.store.queued().await?.len();
    out.say("driver-logged-in", &[("email", session.email.as_str().into())]);
    if queued > 0 {
        out.say("driver-queued-to-send", &[("count", queued.into())]);
    }
    out.json(json!({"ok": true, "email": session.email, "server": session.server, "queued": queued}));
    Ok(ExitCode::SUCCESS)
}

fn read_password(out: &Out) -> std::io::Result<String> {
    if let Ok(password) = std::env::var("TODOKE_DRIVER_PASSWORD") {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(out.t("driver-password"));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Prints upload progress on the terminal: which action, and how much of its files went out.
fn progress_display(out: &Out) -> ProgressSink {
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

fn kind_label(kind: ActionKind, lang: Language) -> &'static str {
    match kind {
        ActionKind::Arrive => Catalogue::text(lang, "driver-kind-arrive"),
        ActionKind::Deliver => Catalogue::text(lang, "driver-kind-deliver"),
        ActionKind::Fail => Catalogue::text(lang, "driver-kind-fail"),
    }
}

async fn push(engine: &Engine, out: &Out) -> Result<PushReport, Failure> {
    let report = engine.push(progress_display(out)).await?;
    if !out.json && std::io::stderr().is_terminal() && (report.applied.len() + report.rejected.len()) > 0 {
        eprintln!();
    }
    Ok(report)
}

/// Tells the push's outcome: applied, refused (with why, plainly), and what still waits.
fn tell_push(out: &Out, report: &PushReport, stops: &[DayStop]) {
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
fn conflict(out: &Out, action: &Action, problem: &crate::api::Problem, stop: Option<&DayStop>) -> String {
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

async fn sync(engine: &Engine, out: &Out, date: Option<NaiveDate>) -> Result<ExitCode, Failure> {
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
async fn watch(engine: &Engine, out: &Out, date: Option<NaiveDate>, every: Duration) -> Result<ExitCode, Failure> {
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

async fn today(
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

fn proof_labels(stop: &DayStop, lang: Language) -> String {
    stop.stop.pod_requirements.iter().map(|p| p.label(lang)).collect::<Vec<_>>().join(", ")
}

fn status_label(stop: &DayStop, out: &Out) -> String {
    let status = stop.status.label(out.lang);
    match &stop.sync {
        SyncState::InStep => status.to_string(),
        SyncState::Queued(_) => format!("{status} ({})", out.t("driver-not-sent-yet")),
        SyncState::Rejected(_, code) => format!("{status} ({}: {code})", out.t("driver-refused")),
    }
}

fn hh_mm(time: DateTime<FixedOffset>) -> String {
    time.format("%H:%M").to_string()
}

async fn route(engine: &Engine, out: &Out, date: Option<NaiveDate>) -> Result<ExitCode, Failure> {
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

fn stop_json(stop: &DayStop) -> serde_json::Value {
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

async fn show(engine: &Engine, out: &Out, reference: &str, date: Option<NaiveDate>) -> Result<ExitCode, Failure> {
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

fn method_detail(method: &DeliveryMethod, lang: Language) -> String {
    match method {
        DeliveryMethod::SafePlace { description: Some(spot), .. } => format!("{} ({spot})", method.label(lang)),
        DeliveryMethod::Neighbour { door, .. } => format!("{} ({door})", method.label(lang)),
        _ => method.label(lang),
    }
}

fn pick<'a>(stops: &'a [DayStop], reference: &str, out: &Out) -> Result<&'a DayStop, Failure> {
    find(stops, reference).ok_or_else(|| {
        Failure::refused("stop_not_found", out.f("driver-no-such-stop", &[("reference", reference.into())]))
    })
}

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

fn parse_position(text: &str, out: &Out) -> Result<CaptureLocation, String> {
    let numbers: Result<Vec<f64>, _> = text.split(',').map(|n| n.trim().parse::<f64>()).collect();
    match numbers.as_deref() {
        Ok([lat, lon]) => Ok(CaptureLocation { lat: *lat, lon: *lon, accuracy_m: None }),
        Ok([lat, lon, accuracy]) => Ok(CaptureLocation { lat: *lat, lon: *lon, accuracy_m: Some(*accuracy) }),
        _ => Err(out.f("driver-invalid-position", &[("text", text.into())])),
    }
}

fn now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

fn refusal(error: Refusal, out: &Out) -> Failure {
    let code = match &error {
        Refusal::Invalid(_) => "validation_failed",
        Refusal::MethodNotAllowed => "method_not_allowed",
        Refusal::Incomplete(_) => "proof_incomplete",
        Refusal::File { .. } => "unusable_file",
        Refusal::TooManyPhotos => "too_many_photos",
        Refusal::TooLarge => "too_large",
    };
    Failure::Refused { code, lines: error.explain(out.lang) }
}

async fn arrive(engine: &Engine, out: &Out, reference: &str, place: &Place) -> Result<ExitCode, Failure> {
    let stop = open_stop(engine, out, reference).await?;
    let report = ArrivalReport { captured_at: now(), location: capture_location(engine, out, place).await? };
    report.validate().map_err(|errors| refusal(Refusal::Invalid(errors), out))?;
    queue_and_push(engine, out, &stop, ActionKind::Arrive, serde_json::to_string(&report), Vec::new()).await
}

async fn deliver(engine: &Engine, out: &Out, args: DeliverArgs) -> Result<ExitCode, Failure> {
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

async fn fail(
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

async fn locate(
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

async fn status(engine: &Engine, out: &Out) -> Result<ExitCode, Failure> {
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
