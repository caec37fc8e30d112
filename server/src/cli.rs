//! The `todoke-server` program: its flags and subcommands, and serving until a signal. The binary is
//! this module's `main`; end-to-end tests run the same code as a process of their own.

use std::path::PathBuf;

use crate::auth::{create_user, validate_new_user};
use crate::clock::{Clock, SystemClock};
use crate::settings::SettingsLayer;
use crate::store;
use crate::{Application, Settings};
use anyhow::Context;
use clap::{Parser, Subcommand};
use todoke_shared::auth::NewUserRequest;
use tracing_subscriber::EnvFilter;

/// Todoke: last-mile delivery tracking and proof of delivery.
///
/// With no settings at all it listens on 127.0.0.1:8080 and keeps everything in SQLite under ./data.
/// Settings come from defaults, then an optional todoke.toml (the same keys as the flags, with
/// underscores: addr, data_dir, database_url, public_url, max_body_bytes, log), then TODOKE_*
/// environment variables, then flags.
#[derive(Parser)]
#[command(name = "todoke-server", version)]
struct Cli {
    /// Settings file in TOML. [default: ./todoke.toml, when it exists]
    #[arg(long, env = "TODOKE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(flatten)]
    settings: SettingsLayer,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Manage staff and driver accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from standard input (one line).
    Add {
        #[arg(long)]
        email: String,
        /// admin, dispatcher, support or driver.
        #[arg(long)]
        role: String,
        /// The person's name. [default: the email]
        #[arg(long)]
        name: Option<String>,
    },
}

pub fn main() -> anyhow::Result<()> {
    return_large_buffers();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?.block_on(serve())
}

/// Large buffers (a password hash's 19 MiB, a decoded photo) go back to the system when freed. By
/// default glibc raises its threshold after the first such free and keeps later ones in the heap: a
/// server that hashed a few passwords would hold 150 MB it no longer uses (docs/BENCHMARKS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_buffers() {
    // SAFETY: mallopt only sets an allocator parameter, and runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_buffers() {}

async fn serve() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref(), cli.settings)?;
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(EnvFilter::try_new(&settings.log).context("reading the TODOKE_LOG filter")?)
        .init();

    if let Some(Command::User { action: UserCommand::Add { email, role, name } }) = cli.command {
        return add_user(&settings, email, role, name).await;
    }

    let app = Application::build(&settings).await?;
    let addr = app.local_addr();
    let links = &app.state().outbox.links;
    tracing::info!("listening on http://{addr}");
    tracing::info!("database: {} at {}", app.state().outbox.shipments.backend().name(), settings.database_url);
    tracing::info!("tracking page: {}/t/<tracking number>", links.public_url());
    tracing::info!("email notices: {}", app.state().outbox.mail.transport.describe());
    tracing::info!("API description: http://{addr}/api/v1/openapi.json");
    app.run(shutdown_signal()).await
}

async fn add_user(settings: &Settings, email: String, role: String, name: Option<String>) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password).context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_string();
    let name = name.unwrap_or_else(|| email.clone());
    let request = NewUserRequest { email, password, role, name };
    let user = validate_new_user(request).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let stores = store::connect(settings.database_url.expose()).await?;
    let created =
        create_user(&*stores.accounts, user, SystemClock.now()).await.map_err(|error| anyhow::anyhow!("{error}"))?;
    println!("created {} {}", created.role, created.email);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
