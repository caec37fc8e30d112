//! The sync engine: logs in and keeps the login fresh, pushes queued actions to the server in the order
//! they were made, sends positions, and fetches the day. An action leaves the queue only with the
//! server's answer, and is always sent with the key it was queued with: a push cut off anywhere (the
//! app killed, the network gone, a timeout after the server committed) is simply pushed again.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use todoke_shared::driver::{LocationBatch, MAX_POINTS, Manifest};
use todoke_shared::pod::StopReceipt;

use crate::api::{Api, ApiError, Attachment, Problem, StopAction, Verdict};
use crate::store::{Action, ActionKind, LocalStore, Session, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("not logged in")]
    NotLoggedIn,
    /// The refresh token was refused (expired, or revoked): a new login is needed; the queue is kept.
    #[error("the login has expired")]
    LoginExpired,
    #[error("{0} actions are not sent yet")]
    QueueNotSent(usize),
    #[error("actions queued by {0} are not sent yet")]
    QueueOfAnother(String),
    #[error(transparent)]
    Api(ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a push did, and why it stopped early, if it did.
#[derive(Debug, Default)]
pub struct PushReport {
    pub applied: Vec<(Action, StopReceipt)>,
    pub rejected: Vec<(Action, Problem)>,
    /// Still queued after the push.
    pub waiting: usize,
    pub stopped: Option<Stopped>,
    pub positions_sent: usize,
    /// The newest position the server holds for this driver, after sending.
    pub positions_latest: Option<chrono::DateTime<chrono::FixedOffset>>,
}

#[derive(Debug)]
pub enum Stopped {
    /// The server is out of reach (or in trouble, or still busy with the same request): try later.
    Unreachable(String),
    LoginExpired,
}

/// What a push reports as it goes, for a progress display.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Sending action `index` (1-based) of `total`, with `bytes` of photos and signature.
    Sending { index: usize, total: usize, kind: ActionKind, tracking_number: String, bytes: u64 },
    /// More of the current action's files went out.
    Sent(u64),
}

pub type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

pub struct Engine {
    pub store: LocalStore,
}

impl Engine {
    pub fn new(store: LocalStore) -> Engine {
        Engine { store }
    }

    /// Logs in and keeps the tokens. The queue is untouched: work queued under an expired login is
    /// pushed under the new one.
    pub async fn login(&self, server: &str, email: &str, password: &str) -> Result<Session, SyncError> {
        let api = Api::new(server).map_err(SyncError::Api)?;
        // Queued actions carry keys of the driver who made them: another account must not send them.
        if let Some(held) = self.store.session()?
            && (held.email != email || held.server != api.server())
            && !self.store.queued().await?.is_empty()
        {
            return Err(SyncError::QueueOfAnother(held.email));
        }
        let tokens = api.login(email, password).await.map_err(SyncError::Api)?;
        let session = Session {
            server: api.server().to_string(),
            email: email.to_string(),
            access_token: tokens.access_token,
            access_expires_at: Utc::now() + chrono::Duration::seconds(tokens.expires_in),
            refresh_token: tokens.refresh_token,
        };
        self.store.save_session(&session)?;
        Ok(session)
    }

    /// Ends the login here and, when the server is reachable, there too, and forgets the customers'
    /// details of the kept days. Refused while actions wait to be sent: they need this login.
    pub async fn logout(&self) -> Result<(), SyncError> {
        let waiting = self.store.queued().await?.len();
        if waiting > 0 {
            return Err(SyncError::QueueNotSent(waiting));
        }
        self.store.forget_days().await?;
        if let Some(session) = self.store.session()? {
            if let Ok(api) = Api::new(&session.server) {
                // Unreachable is fine: the token is forgotten here and expires there.
                let _ = api.logout(&session.refresh_token).await;
            }
            self.store.forget_session()?;
        }
        Ok(())
    }

    fn api(&self) -> Result<(Api, Session), SyncError> {
        let session = self.store.session()?.ok_or(SyncError::NotLoggedIn)?;
        let api = Api::new(&session.server).map_err(SyncError::Api)?;
        Ok((api, session))
    }

    /// An access token good for the next request, refreshed when it is about to expire.
    async fn token(&self, api: &Api) -> Result<String, SyncError> {
        let session = self.store.session()?.ok_or(SyncError::NotLoggedIn)?;
        if session.access_expires_at > Utc::now() + chrono::Duration::seconds(30) {
            return Ok(session.access_token);
        }
        self.refresh(api, session).await
    }

    /// Swaps the refresh token for a new pair. Refresh tokens are single use and a second use revokes
    /// the login, so two processes (a `--watch` and a command at the door) take turns, and the second
    /// finds the first one's fresh token instead of spending the old one again.
    async fn refresh(&self, api: &Api, used: Session) -> Result<String, SyncError> {
        let _turn = self.lock("session.lock").await?;
        let session = self.store.session()?.ok_or(SyncError::NotLoggedIn)?;
        if session.refresh_token != used.refresh_token
            && session.access_expires_at > Utc::now() + chrono::Duration::seconds(30)
        {
            return Ok(session.access_token);
        }
        match api.refresh(&session.refresh_token).await {
            Ok(tokens) => {
                let renewed = Session {
                    access_token: tokens.access_token.clone(),
                    access_expires_at: Utc::now() + chrono::Duration::seconds(tokens.expires_in),
                    refresh_token: tokens.refresh_token,
                    ..session
                };
                self.store.save_session(&renewed)?;
                Ok(tokens.access_token)
            }
            Err(error) if error.is_transient() => Err(SyncError::Api(error)),
            Err(_) => Err(SyncError::LoginExpired),
        }
    }

    /// Runs `call` with a fresh token; a 401 (a token revoked or the server's secret changed) gets
    /// one refresh and one more try.
    async fn authorized<T, F, Fut>(&self, api: &Api, call: F) -> Result<T, SyncError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let token = self.token(api).await?;
        match call(token).await {
            Err(error) if error.is_unauthorized() => {
                let session = self.store.session()?.ok_or(SyncError::NotLoggedIn)?;
                let token = self.refresh(api, session).await?;
                call(token).await.map_err(|error| match error.is_unauthorized() {
                    true => SyncError::LoginExpired,
                    false => SyncError::Api(error),
                })
            }
            result => result.map_err(SyncError::Api),
        }
    }

    /// Fetches the day (today at the driver's depot when `date` is absent) and keeps it; an unchanged
    /// day costs a 304. Returns the day as now held, and whether it changed.
    pub async fn fetch_manifest(&self, date: Option<NaiveDate>) -> Result<(Manifest, bool), SyncError> {
        let (api, _) = self.api()?;
        let held = self.store.manifest(date).await?;
        let etag = held.as_ref().and_then(|held| held.etag.clone());
        let fetched = self.authorized(&api, |token| {
            let (api, etag) = (api.clone(), etag.clone());
            async move { api.manifest(&token, date, etag.as_deref()).await }
        });
        match (fetched.await?, held) {
            (Some((manifest, etag)), held) => {
                self.store.save_manifest(&manifest, etag.as_deref()).await?;
                let changed = held.is_none_or(|held| held.manifest != manifest);
                Ok((manifest, changed))
            }
            (None, Some(held)) => Ok((held.manifest, false)),
            (None, None) => {
                Err(SyncError::Store(StoreError::Corrupt("the server said unchanged, but no day is kept".into())))
            }
        }
    }

    /// Pushes the queue, oldest first, then the positions. Only one push runs at a time (another
    /// process waits), so two pushes never race one action.
    pub async fn push(&self, progress: ProgressSink) -> Result<PushReport, SyncError> {
        let _lock = self.lock("sync.lock").await?;
        let (api, _) = self.api()?;
        let queued = self.store.queued().await?;
        let total = queued.len();
        let mut report = PushReport::default();
        for (index, action) in queued.into_iter().enumerate() {
            let bytes = action.files.iter().map(|f| f.bytes).sum();
            progress(Progress::Sending {
                index: index + 1,
                total,
                kind: action.kind,
                tracking_number: action.tracking_number.clone(),
                bytes,
            });
            match self.send(&api, &action, progress.clone()).await {
                Ok(receipt) => {
                    self.store.settle_done(action.seq, &receipt).await?;
                    report.applied.push((action, receipt));
                }
                Err(SyncError::Api(ApiError::Refused(problem, _))) if problem.is_final() => {
                    self.store.settle_rejected(action.seq, &problem).await?;
                    report.rejected.push((action, *problem));
                }
                Err(SyncError::Api(error)) => {
                    // Not refused for good (the network, the server's trouble, a proxy in the way): it
                    // waits, and order matters (arrive before deliver), so later actions wait behind it.
                    self.store.note_attempt(action.seq, &error.to_string()).await?;
                    report.stopped = Some(Stopped::Unreachable(error.to_string()));
                    break;
                }
                Err(SyncError::LoginExpired) => {
                    report.stopped = Some(Stopped::LoginExpired);
                    break;
                }
                Err(other) => return Err(other),
            }
        }
        if report.stopped.is_none() {
            match self.push_positions(&api).await {
                Ok((sent, latest)) => (report.positions_sent, report.positions_latest) = (sent, latest),
                Err(SyncError::Api(error)) => report.stopped = Some(Stopped::Unreachable(error.to_string())),
                Err(SyncError::LoginExpired) => report.stopped = Some(Stopped::LoginExpired),
                Err(other) => return Err(other),
            }
        }
        report.waiting = self.store.queued().await?.len();
        Ok(report)
    }

    async fn send(&self, api: &Api, action: &Action, progress: ProgressSink) -> Result<StopReceipt, SyncError> {
        let call = StopAction { stop: action.stop_id, key: &action.idempotency_key, report: &action.report };
        if action.kind == ActionKind::Arrive {
            return self.authorized(api, |token| async move { api.arrive(&token, call).await }).await;
        }
        let verb = action.kind.as_str();
        // A copy gone from the app's folder is the device's trouble, said as such (not as the network's).
        let files = action
            .files
            .iter()
            .map(|file| {
                let part = if file.role == "signature" { "signature" } else { "photo" };
                Ok((part, self.store.read_file(&file.file)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.authorized(api, |token| {
            let progress = progress.clone();
            let files = files.iter().map(|(part, bytes)| Attachment { part, bytes: bytes.clone() }).collect();
            async move {
                let sent = move |bytes| progress(Progress::Sent(bytes));
                api.act_with_files(&token, verb, call, files, sent).await
            }
        })
        .await
    }

    /// Sends the positions not yet sent, in batches the server takes.
    async fn push_positions(
        &self,
        api: &Api,
    ) -> Result<(usize, Option<chrono::DateTime<chrono::FixedOffset>>), SyncError> {
        let (mut sent, mut latest) = (0, None);
        loop {
            let (points, through) = self.store.unsent_positions(MAX_POINTS).await?;
            if points.is_empty() {
                return Ok((sent, latest));
            }
            let batch = &LocationBatch { points };
            match self.authorized(api, |token| async move { api.locations(&token, batch).await }).await {
                Ok(receipt) => latest = receipt.latest,
                // Points the server will never take (a phone clock far ahead) must not block the rest.
                Err(SyncError::Api(error))
                    if !error.is_transient() && error.problem().is_some_and(|p| p.status == 422) =>
                {
                    eprintln!("positions dropped: {error}");
                }
                Err(other) => return Err(other),
            }
            self.store.mark_positions_sent(through).await?;
            sent += batch.points.len();
        }
    }

    /// Takes the named lock file of the app's folder, waiting for another process to let go.
    async fn lock(&self, name: &str) -> Result<std::fs::File, SyncError> {
        let path = self.store.dir().join(name);
        let folder = |source| SyncError::Store(StoreError::Folder { path: path.clone(), source });
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(folder)?;
        tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| folder(std::io::Error::other(e)))?
            .map_err(folder)
    }
}

/// How long to wait before the next try while the server is out of reach: doubling from 5 seconds,
/// at most 5 minutes.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(5).saturating_mul(1 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(300))
}
