//! The server's driver API, typed with the shared wire types: log in, fetch the day, send stop actions
//! and positions. Every failure says whether trying again later can help.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{ETAG, IF_NONE_MATCH, RETRY_AFTER};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use todoke_shared::ProblemCode;
use todoke_shared::auth::{LoginRequest, RefreshRequest, TokenResponse};
use todoke_shared::driver::{LocationBatch, LocationReceipt, Manifest};
use todoke_shared::pod::StopReceipt;
use uuid::Uuid;

pub use todoke_shared::problem::{Code, Problem, ProblemField};

/// What the app decides from a problem the server sent.
pub trait Verdict {
    /// Whether this refuses a stop action for good: one of the server's own codes about the stop or
    /// the proof. Anything else (a proxy's 403 or 413, a route this server lacks) may pass later, so
    /// the action waits rather than being given up.
    fn is_final(&self) -> bool;
}

impl Verdict for Problem {
    fn is_final(&self) -> bool {
        use ProblemCode::*;
        match &self.code {
            Code::Known(
                StopClosed | StopNotFound | StopReassigned | RouteNotDispatched | ProofIncomplete | ValidationFailed
                | IdempotencyKeyReused | TooManyPhotos | RepeatedPart | MalformedJson | InvalidField | Required,
            ) => true,
            Code::Known(MethodNotAllowed) => self.status == 422,
            Code::Known(
                PhotoTooLarge
                | PhotoTooManyPixels
                | PhotoUnreadable
                | SignatureInvalid
                | SignatureNotPng
                | SignatureTooLarge
                | SignatureTooManyPixels
                | SignatureUnreadable,
            ) => self.status != 503,
            Code::Known(_) => false,
            // A photo or signature code a newer server added is about the file all the same.
            Code::Other(code) => (code.starts_with("photo_") || code.starts_with("signature_")) && self.status != 503,
        }
    }
}

/// A problem the app names itself, for an answer that was no problem document.
fn own_problem(status: u16, code: String, detail: String) -> Problem {
    Problem {
        kind: String::new(),
        title: String::new(),
        status,
        detail,
        code: Code::Other(code),
        errors: Vec::new(),
        allowed: None,
        cutoff_at: None,
        changeable: None,
        request_id: None,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No answer: no network, the server down, or a timeout. The action may or may not have been applied.
    #[error("the server could not be reached: {0}")]
    Unreachable(String),
    /// The server answered with a problem.
    #[error("the server answered {} {}: {}", .0.status, .0.code, .0.detail)]
    /// Boxed: the problem is large beside the other variant.
    Refused(Box<Problem>, Option<Duration>),
}

impl ApiError {
    /// Whether the same request may succeed later unchanged: the network, the server's own trouble, a
    /// request still running. Anything else needs the driver (or a new login).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Unreachable(_) => true,
            ApiError::Refused(problem, _) => {
                problem.status >= 500 || problem.status == 429 || problem.code == ProblemCode::RequestInProgress
            }
        }
    }

    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ApiError::Refused(problem, _) if problem.status == 401)
    }

    /// How long the server asked to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Refused(_, after) => *after,
            ApiError::Unreachable(_) => None,
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ApiError::Refused(problem, _) => Some(problem),
            ApiError::Unreachable(_) => None,
        }
    }
}

/// One stop action as sent: which stop, under which idempotency key, with which JSON report.
#[derive(Clone, Copy)]
pub struct StopAction<'a> {
    pub stop: Uuid,
    pub key: &'a str,
    pub report: &'a str,
}

/// A photo or signature to send, with its bytes.
pub struct Attachment {
    pub part: &'static str,
    pub bytes: Vec<u8>,
}

#[derive(Clone)]
pub struct Api {
    http: Client,
    base: String,
}

/// How long one request may take: long enough for eight photos on a slow mobile link.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

impl Api {
    pub fn new(server: &str) -> Result<Api, ApiError> {
        // rustls needs a crypto provider; a second install (a second Api) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("todoke-driver/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ApiError::Unreachable(error.to_string()))?;
        Ok(Api { http, base: server.trim_end_matches('/').to_string() })
    }

    pub fn server(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<TokenResponse, ApiError> {
        let body = LoginRequest { email: email.to_string(), password: password.to_string() };
        json(send(self.http.post(self.url("/api/v1/auth/login")).json(&body)).await?).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, ApiError> {
        let body = RefreshRequest { refresh_token: refresh_token.to_string() };
        json(send(self.http.post(self.url("/api/v1/auth/refresh")).json(&body)).await?).await
    }

    pub async fn logout(&self, refresh_token: &str) -> Result<(), ApiError> {
        let body = RefreshRequest { refresh_token: refresh_token.to_string() };
        send(self.http.post(self.url("/api/v1/auth/logout")).json(&body)).await.map(drop)
    }

    /// The driver's day; `None` when it is unchanged since `etag`.
    pub async fn manifest(
        &self,
        token: &str,
        date: Option<chrono::NaiveDate>,
        etag: Option<&str>,
    ) -> Result<Option<(Manifest, Option<String>)>, ApiError> {
        let path = match date {
            Some(date) => format!("/api/v1/driver/manifest?date={date}"),
            None => "/api/v1/driver/manifest".to_string(),
        };
        let mut request = self.http.get(self.url(&path)).bearer_auth(token);
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let response = send(request).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        let etag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(Some((json(response).await?, etag)))
    }

    pub async fn arrive(&self, token: &str, action: StopAction<'_>) -> Result<StopReceipt, ApiError> {
        let request = self
            .http
            .post(self.url(&format!("/api/v1/driver/stops/{}/arrive", action.stop)))
            .bearer_auth(token)
            .header("idempotency-key", action.key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(action.report.to_string());
        json(send(request).await?).await
    }

    /// Sends a delivery (`verb` deliver) or failed attempt (`fail`) with its files; `sent` hears how many
    /// bytes have gone out, for a progress display.
    pub async fn act_with_files(
        &self,
        token: &str,
        verb: &str,
        action: StopAction<'_>,
        files: Vec<Attachment>,
        sent: impl Fn(u64) + Send + Sync + Clone + 'static,
    ) -> Result<StopReceipt, ApiError> {
        let mut form = Form::new().part("report", json_part(action.report));
        for (index, file) in files.into_iter().enumerate() {
            let length = file.bytes.len() as u64;
            let chunks: Vec<Vec<u8>> = file.bytes.chunks(64 * 1024).map(<[u8]>::to_vec).collect();
            let sent = sent.clone();
            let stream = futures_util::stream::iter(chunks).map(move |chunk| {
                sent(chunk.len() as u64);
                Ok::<_, std::io::Error>(chunk)
            });
            let body = reqwest::Body::wrap_stream(stream);
            form = form.part(file.part, Part::stream_with_length(body, length).file_name(format!("{index}")));
        }
        let request = self
            .http
            .post(self.url(&format!("/api/v1/driver/stops/{}/{verb}", action.stop)))
            .bearer_auth(token)
            .header("idempotency-key", action.key)
            .multipart(form);
        json(send(request).await?).await
    }

    pub async fn locations(&self, token: &str, batch: &LocationBatch) -> Result<LocationReceipt, ApiError> {
        json(send(self.http.post(self.url("/api/v1/driver/locations")).bearer_auth(token).json(batch)).await?).await
    }
}

fn json_part(report: &str) -> Part {
    let part = Part::text(report.to_string());
    part.mime_str("application/json").unwrap_or_else(|_| Part::text(report.to_string()))
}

/// Sends the request; any answer but 2xx or 304 becomes an [`ApiError`].
async fn send(request: RequestBuilder) -> Result<Response, ApiError> {
    let response = request.send().await.map_err(|error| ApiError::Unreachable(describe(&error)))?;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = response.text().await.map_err(|error| ApiError::Unreachable(describe(&error)))?;
    let problem = serde_json::from_str::<Problem>(&text).unwrap_or_else(|_| {
        own_problem(status.as_u16(), format!("http_{}", status.as_u16()), text.chars().take(200).collect())
    });
    Err(ApiError::Refused(Box::new(problem), retry_after))
}

async fn json<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    let text = response.text().await.map_err(|error| ApiError::Unreachable(describe(&error)))?;
    serde_json::from_str(&text).map_err(|error| {
        // An answer this app cannot read is the server's trouble (a proxy's page, a newer version).
        ApiError::Refused(
            Box::new(own_problem(
                502,
                "unreadable_answer".into(),
                format!("the server's answer could not be read: {error}"),
            )),
            None,
        )
    })
}

/// reqwest's message with its causes, which name the actual trouble (connection refused, timed out).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(status: u16, code: &str) -> Problem {
        serde_json::from_value(serde_json::json!({"status": status, "code": code})).unwrap()
    }

    #[test]
    fn a_stop_action_is_given_up_only_on_the_servers_own_refusals() {
        for (status, code, final_) in [
            (409, "stop_closed", true),
            (422, "proof_incomplete", true),
            (422, "method_not_allowed", true),
            (405, "method_not_allowed", false),
            (422, "photo_unreadable", true),
            (503, "photo_unreadable", false),
            (413, "signature_too_large", true),
            // A newer server's photo or signature code is about the file all the same.
            (422, "photo_too_dark", true),
            (422, "something_new", false),
            (409, "request_in_progress", false),
            (403, "http_403", false),
        ] {
            assert_eq!(problem(status, code).is_final(), final_, "{status} {code}");
        }
    }
}
