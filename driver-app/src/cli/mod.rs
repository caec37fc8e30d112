//! The `todoke-driver` program: commands, and what they print (Japanese or English by locale or
//! `--lang`, or JSON with `--json`). Exit codes: 0 done, 1 failed, 2 refused (fix the input), 3 queued
//! but not sent yet (offline), 4 a new login is needed.
//!
//! Here: the commands as clap reads them, and which function runs each. One file per command or group:
//! `session` (login, logout), `sync` (sync, watch, and how a push is told), `route` (route, show),
//! `stop` (arrive, deliver, fail), `locate`, `status`; `failure` says what went wrong and exits.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use todoke_shared::{Arg, Catalogue, Language};

use crate::store::{ActionKind, LocalStore};
use crate::sync::Engine;

/// A line on standard output; a reader gone away (`route | head`) is no reason to stop, or to panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod failure;
mod locate;
mod route;
mod session;
mod status;
mod stop;
mod sync;

use failure::Failure;

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
        Command::Login { server, email } => session::login(&engine, out, &server, &email).await,
        Command::Logout => session::logout(&engine, out).await,
        Command::Sync { date, watch: false, .. } => sync::sync(&engine, out, date).await,
        Command::Sync { date, watch: true, every } => sync::watch(&engine, out, date, Duration::from_secs(every)).await,
        Command::Route { date } => route::route(&engine, out, date).await,
        Command::Show { stop, date } => route::show(&engine, out, &stop, date).await,
        Command::Arrive { stop, at } => stop::arrive(&engine, out, &stop, &at).await,
        Command::Deliver(args) => stop::deliver(&engine, out, *args).await,
        Command::Fail { stop, reason, note, photos, at } => {
            stop::fail(&engine, out, &stop, &reason, note, &photos, &at).await
        }
        Command::Locate { at, replay, to_now } => locate::locate(&engine, out, at, replay, to_now).await,
        Command::Status => status::status(&engine, out).await,
    }
}

/// An action's kind, in the driver's words.
fn kind_label(kind: ActionKind, lang: Language) -> &'static str {
    match kind {
        ActionKind::Arrive => Catalogue::text(lang, "driver-kind-arrive"),
        ActionKind::Deliver => Catalogue::text(lang, "driver-kind-deliver"),
        ActionKind::Fail => Catalogue::text(lang, "driver-kind-fail"),
    }
}
