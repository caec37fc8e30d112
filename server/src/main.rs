use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use todoke_server::settings::SettingsLayer;
use todoke_server::{Application, Settings};
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref(), cli.settings)?;
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(EnvFilter::try_new(&settings.log).context("reading the TODOKE_LOG filter")?)
        .init();

    let app = Application::build(&settings).await?;
    let addr = app.local_addr();
    let links = &app.state().links;
    tracing::info!("listening on http://{addr}");
    tracing::info!("database: {} at {}", app.state().store.backend().name(), settings.database_url);
    tracing::info!("tracking page: {}/t/<tracking number>", links.public_url());
    tracing::info!("API description: http://{addr}/api/v1/openapi.json");
    app.run(shutdown_signal()).await
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
