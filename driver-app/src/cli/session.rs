//! `login` and `logout`.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use serde_json::json;

use super::Out;
use super::failure::Failure;
use crate::sync::{Engine, SyncError};

pub(super) async fn login(engine: &Engine, out: &Out, server: &str, email: &str) -> Result<ExitCode, Failure> {
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

pub(super) async fn logout(engine: &Engine, out: &Out) -> Result<ExitCode, Failure> {
    engine.logout().await?;
    out.say("driver-logged-out", &[]);
    out.json(json!({"ok": true}));
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
