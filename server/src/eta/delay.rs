//! When a customer is told their parcel will be late, as a pure rule with hysteresis: the first notice
//! when the expected arrival passes the end of the promised window; another only when it passes the
//! end of the window last told by more than a margin. An estimate that wobbles around a boundary, or
//! improves, sends nothing.

use chrono::{DateTime, Duration, DurationRound, Utc};

/// How delay notices are judged (`TODOKE_DELAY_MARGIN_MINUTES`, `TODOKE_DELAY_WINDOW_MINUTES`).
#[derive(Debug, Clone, Copy)]
pub struct DelayPolicy {
    /// How far past the window last told the estimate must move before the customer hears again.
    pub margin: Duration,
    /// The width of the new window a notice names.
    pub window: Duration,
}

impl Default for DelayPolicy {
    fn default() -> DelayPolicy {
        DelayPolicy { margin: Duration::minutes(15), window: Duration::minutes(60) }
    }
}

/// A window the customer was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Told {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The new window to announce for a stop expected at `expected`, if the customer should hear now.
/// `promised_end` is the end of the window they chose or were promised; `announced` the window of the
/// last delay notice, if any.
pub fn window_to_announce(
    expected: DateTime<Utc>,
    promised_end: DateTime<Utc>,
    announced: Option<Told>,
    policy: &DelayPolicy,
) -> Option<Told> {
    let due = match announced {
        None => expected > promised_end,
        Some(told) => expected > told.end + policy.margin,
    };
    due.then(|| window_from(expected, policy.window))
}

/// A window people can plan around: from the quarter hour at or before the estimate, `width` wide. The
/// estimate sits early in it because a delay, once begun, tends to grow.
pub fn window_from(expected: DateTime<Utc>, width: Duration) -> Told {
    let start = expected.duration_trunc(Duration::minutes(15)).unwrap_or(expected);
    Told { start, end: start + width }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-24T{hour:02}:{minute:02}:00Z")).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn on_time_sends_nothing_and_a_miss_names_a_window_from_the_quarter_hour() {
        let policy = DelayPolicy::default();
        assert_eq!(window_to_announce(at(11, 0), at(11, 0), None, &policy), None);
        let told = window_to_announce(at(11, 7), at(11, 0), None, &policy).unwrap();
        assert_eq!(told, Told { start: at(11, 0), end: at(12, 0) });
    }

    #[test]
    fn after_a_notice_only_a_further_substantial_slip_sends_another() {
        let policy = DelayPolicy::default();
        let told = Some(Told { start: at(11, 0), end: at(12, 0) });
        // Wobbling around the new window's end, or coming back earlier: nothing.
        for expected in [at(11, 40), at(12, 5), at(12, 15), at(10, 30)] {
            assert_eq!(window_to_announce(expected, at(11, 0), told, &policy), None, "{expected}");
        }
        assert_eq!(
            window_to_announce(at(12, 16), at(11, 0), told, &policy),
            Some(Told { start: at(12, 15), end: at(13, 15) })
        );
    }
}
