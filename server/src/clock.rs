//! Where the server reads the time. Handlers, services and workers ask the clock they were given, never
//! the system, so that a test can replay a day at any date and move time on at will.

use std::sync::Mutex;

use chrono::{DateTime, SubsecRound, Utc};

pub trait Clock: Send + Sync + 'static {
    /// The current time, to the millisecond: both databases keep that much, so what a write answers is
    /// exactly what a later read returns.
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(3)
    }
}

/// A clock that stands still until it is set or moved on: a test's day at the date it chooses.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn at(start: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(start.trunc_subsecs(3)))
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = to.trunc_subsecs(3);
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = (*now + by).trunc_subsecs(3);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let start = DateTime::parse_from_rfc3339("2026-11-24T08:00:00.123456Z").unwrap().with_timezone(&Utc);
        let clock = ManualClock::at(start);
        assert_eq!(clock.now().to_rfc3339(), "2026-11-24T08:00:00.123+00:00");
        assert_eq!(clock.now(), clock.now());
        clock.advance(chrono::Duration::minutes(90));
        assert_eq!(clock.now().to_rfc3339(), "2026-11-24T09:30:00.123+00:00");
        clock.set(start + chrono::Duration::days(1));
        assert_eq!(clock.now().date_naive().to_string(), "2026-11-25");
    }

    #[test]
    fn the_system_clock_keeps_milliseconds() {
        assert_eq!(SystemClock.now().timestamp_subsec_nanos() % 1_000_000, 0);
    }
}
