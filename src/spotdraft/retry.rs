//! When to try a SpotDraft call again, and how long to wait first.
//!
//! Only 429, 5xx (except 501, "feature not enabled") and timeouts/connection failures are retried;
//! a 4xx means the request must change. Waits grow exponentially with "equal jitter" (a random
//! point in the upper half of the window, so clients spread out but never retry instantly),
//! never undercut a `Retry-After`, and the whole sequence fits a total time budget.

use crate::time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// No retry starts once this much time has passed since the first try.
    pub total_budget_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 5, base_delay_ms: 300, max_delay_ms: 8_000, total_budget_ms: 30_000 }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// The jitter-free ceiling of the wait after the `failures`-th failure (1-based).
    pub fn window_ms(&self, failures: u32) -> u64 {
        let exponent = failures.saturating_sub(1).min(32);
        self.base_delay_ms.saturating_mul(1_u64 << exponent).min(self.max_delay_ms)
    }

    /// How long to wait before the next try, or `None` to give up.
    ///
    /// `failures` counts failed tries so far, `elapsed_ms` runs from the first try, `random` is any
    /// random number (the caller's generator keeps this function pure and testable).
    pub fn next_delay_ms(
        &self,
        failures: u32,
        elapsed_ms: u64,
        retry_after_ms: Option<u64>,
        random: u64,
    ) -> Option<u64> {
        if failures >= self.max_attempts {
            return None;
        }
        let window = self.window_ms(failures);
        let half = window / 2;
        let jittered = half + random % (window - half + 1);
        let delay = retry_after_ms.map_or(jittered, |asked| asked.max(jittered));
        (elapsed_ms.saturating_add(delay) <= self.total_budget_ms).then_some(delay)
    }
}

/// Statuses worth retrying unchanged.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || ((500..=599).contains(&status) && status != 501)
}

/// Parses `Retry-After`: delta-seconds or an IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`).
pub fn parse_retry_after(value: &str, now_ms: u64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let at_ms = parse_http_date(value)?;
    Some(at_ms.saturating_sub(now_ms))
}

fn parse_http_date(value: &str) -> Option<u64> {
    let parts: Vec<&str> = value.split(' ').collect();
    let [_weekday, day, month, year, clock, "GMT"] = parts.as_slice() else { return None };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    let date = Date::new(year.parse().ok()?, month, day.parse().ok()?)?;
    let mut clock = clock.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if clock.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let seconds = u64::try_from(date.epoch_days()).ok()?.checked_mul(86_400)? + h * 3600 + m * 60 + s;
    seconds.checked_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_transient_statuses() {
        for status in [429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [200, 302, 400, 401, 402, 403, 404, 409, 413, 422, 501] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }

    #[test]
    fn waits_grow_within_bounds() {
        let policy =
            RetryPolicy { max_attempts: 10, base_delay_ms: 100, max_delay_ms: 1_000, total_budget_ms: 1_000_000 };
        for failures in 1..=9 {
            let window = policy.window_ms(failures);
            assert_eq!(window, (100_u64 << (failures - 1)).min(1_000));
            for random in [0, 1, 7, 12_345, u64::MAX] {
                let delay = policy.next_delay_ms(failures, 0, None, random).unwrap();
                assert!(
                    delay >= window / 2 && delay <= window,
                    "failure {failures}: {delay} outside [{}, {window}]",
                    window / 2
                );
            }
        }
        // jitter actually spreads clients out
        let spread: std::collections::BTreeSet<u64> =
            (0..50).map(|r| policy.next_delay_ms(4, 0, None, r * 7919).unwrap()).collect();
        assert!(spread.len() > 10);
    }

    #[test]
    fn gives_up_on_attempts_and_budget() {
        let policy = RetryPolicy { max_attempts: 3, base_delay_ms: 100, max_delay_ms: 1_000, total_budget_ms: 500 };
        assert!(policy.next_delay_ms(2, 0, None, 0).is_some());
        assert_eq!(policy.next_delay_ms(3, 0, None, 0), None, "third failure was the last attempt");
        assert_eq!(policy.next_delay_ms(1, 450, None, 99), None, "would end past the budget");
        assert_eq!(RetryPolicy::none().next_delay_ms(1, 0, None, 0), None);
    }

    #[test]
    fn retry_after_is_honoured_and_bounded_by_budget() {
        let policy = RetryPolicy { max_attempts: 5, base_delay_ms: 100, max_delay_ms: 1_000, total_budget_ms: 10_000 };
        assert_eq!(policy.next_delay_ms(1, 0, Some(3_000), 0), Some(3_000));
        assert_eq!(policy.next_delay_ms(1, 0, Some(10), 0), Some(50), "never sooner than our own backoff");
        assert_eq!(policy.next_delay_ms(1, 8_000, Some(3_000), 0), None, "server asks for longer than we have");
        assert_eq!(parse_retry_after("2", 0), Some(2_000));
        let now = parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now), Some(5_000));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), Some(0));
        for bad in ["soon", "-1", "Wed, 32 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28 GMT", ""] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }
}
