//! Why a command did not do what was asked, and how that is told: the exit code, and a line or JSON.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use super::Out;
use crate::proof::Refusal;
use crate::sync::SyncError;

/// Why a command did not do what was asked.
pub(super) enum Failure {
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
    pub(super) fn refused(code: &'static str, line: String) -> Failure {
        Failure::Refused { code, lines: vec![line] }
    }

    pub(super) fn report(self, out: &Out) -> ExitCode {
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

pub(super) fn login_expired(out: &Out) -> String {
    out.t("driver-login-expired").into()
}

pub(super) fn refusal(error: Refusal, out: &Out) -> Failure {
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
