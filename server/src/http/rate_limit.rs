//! Per-client-address rate limits, answered with 429 and `Retry-After`. Limits are per server
//! instance; behind several instances the effective limit is the sum.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::http::{StatusCode, header};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ApiError;

pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl RateLimit {
    /// `per_minute` requests a minute per address, in bursts of up to a sixth of that (at least 5).
    pub fn per_minute(per_minute: u32) -> Arc<RateLimit> {
        let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new((per_minute / 6).clamp(1, per_minute.max(1)).max(5.min(per_minute.max(1))))
            .unwrap_or(NonZeroU32::MIN);
        Arc::new(RateLimit { limiter: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)) })
    }
}

impl RateLimit {
    /// Counts a request from `peer`, or says how long to wait.
    pub fn check(&self, peer: SocketAddr) -> Result<(), ApiError> {
        self.limiter.check_key(&peer.ip()).map_err(|not_until| {
            // Forget idle addresses now and then, so the table stays small.
            if self.limiter.len() > 100_000 {
                self.limiter.retain_recent();
            }
            let wait = not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1);
            too_many_requests(wait, "Too many requests from this address. Please wait and try again.")
        })
    }
}

pub fn too_many_requests(retry_after_seconds: u64, detail: &str) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail.to_string())
        .with_header(header::RETRY_AFTER, &retry_after_seconds.to_string())
}
