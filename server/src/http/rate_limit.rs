//! Per-client-address rate limits, answered with 429 and `Retry-After`. Limits are per server
//! instance; behind several instances the effective limit is the sum.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{StatusCode, header};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ApiError;
use todoke_shared::ProblemCode;

pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

/// One client: an IPv4 address, or an IPv6 /64 (what one household or server is usually given).
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

impl RateLimit {
    /// `per_minute` requests a minute per address, in bursts of up to a sixth of that (at least 5).
    pub fn per_minute(per_minute: u32) -> Arc<RateLimit> {
        let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new((per_minute / 6).clamp(1, per_minute.max(1)).max(5.min(per_minute.max(1))))
            .unwrap_or(NonZeroU32::MIN);
        Arc::new(RateLimit {
            limiter: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)),
            checks: AtomicU64::new(0),
        })
    }
}

impl RateLimit {
    /// Counts a request from `peer`, or says how long to wait.
    pub fn check(&self, peer: SocketAddr) -> Result<(), ApiError> {
        // Forget idle addresses now and then, so the table stays small.
        if self.checks.fetch_add(1, Ordering::Relaxed).is_multiple_of(4096) {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client(peer.ip())).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1);
            too_many_requests(wait, "Too many requests from this address. Please wait and try again.")
        })
    }
}

pub fn too_many_requests(retry_after_seconds: u64, detail: &str) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, ProblemCode::RateLimited, detail.to_string())
        .with_header(header::RETRY_AFTER, &retry_after_seconds.to_string())
}
