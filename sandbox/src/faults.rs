//! Injected failures: per-route error statuses, slow answers, connection resets after the
//! handler ran, SpotDraft's 10 requests/second/workspace limit, and webhook delivery faults.
//! All randomness comes from one seeded generator so a run with the same seed repeats.

use crate::rng::SeededRng;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub const RATE_LIMIT_PER_SECOND: usize = 10;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSettings {
    /// Re-seeds the fault generator when the settings are applied.
    pub seed: Option<u64>,
    /// Enforce 10 requests per second per SpotDraft workspace (429 beyond it).
    pub rate_limit: bool,
    /// Send `Retry-After` with injected and rate-limit 429s (SpotDraft does not document one).
    pub retry_after_seconds: Option<u64>,
    pub rules: Vec<FaultRule>,
    pub webhooks: WebhookFaults,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// `*`, or `METHOD /path` / `/path` where `*` matches any run of characters.
    #[serde(default = "match_everything")]
    pub route: String,
    /// `spotdraft` or `crm`; absent means both.
    #[serde(default)]
    pub service: Option<String>,
    /// `429`, `500`, `502`, `503`, `slow` or `reset`.
    pub kind: String,
    /// Probability per matching request.
    #[serde(default = "always")]
    pub rate: f64,
    /// Apply to at most this many more requests, then stop.
    #[serde(default)]
    pub times: Option<u32>,
    /// For `slow`: how long to wait before answering.
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookFaults {
    pub duplicate_rate: f64,
    pub drop_rate: f64,
    /// Deliver each batch of queued deliveries in a random order.
    pub shuffle: bool,
    pub delay_ms: u64,
}

fn match_everything() -> String {
    "*".into()
}

fn always() -> f64 {
    1.0
}

const KINDS: &[&str] = &["429", "500", "502", "503", "slow", "reset"];

impl FaultSettings {
    pub fn validate(&self) -> Result<(), String> {
        for rule in &self.rules {
            if !KINDS.contains(&rule.kind.as_str()) {
                return Err(format!("unknown fault kind {:?}; expected one of {}", rule.kind, KINDS.join(", ")));
            }
            if !(0.0..=1.0).contains(&rule.rate) {
                return Err(format!("fault rate {} is outside 0..=1", rule.rate));
            }
            if let Some(service) = &rule.service {
                if service != "spotdraft" && service != "crm" {
                    return Err(format!("unknown service {service:?}; expected spotdraft or crm"));
                }
            }
        }
        for rate in [self.webhooks.duplicate_rate, self.webhooks.drop_rate] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("webhook fault rate {rate} is outside 0..=1"));
            }
        }
        Ok(())
    }
}

/// What to do with one request.
#[derive(Debug, Default)]
pub struct Decision {
    /// Answer with this status instead of running the handler.
    pub status: Option<u16>,
    pub rate_limited: bool,
    pub delay: Option<Duration>,
    /// Run the handler, then reset the connection without answering.
    pub reset: bool,
    pub labels: Vec<String>,
}

pub struct FaultEngine {
    pub settings: FaultSettings,
    pub rng: SeededRng,
    request_times: HashMap<String, VecDeque<Instant>>,
}

/// Glob match where `*` matches any (possibly empty) run of characters.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(expected) if Some(expected) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

fn route_matches(pattern: &str, method: &str, path: &str) -> bool {
    let pattern = pattern.trim();
    if pattern.starts_with('/') || pattern == "*" {
        glob_matches(pattern, path)
    } else {
        glob_matches(pattern, &format!("{method} {path}"))
    }
}

impl FaultEngine {
    pub fn new(settings: FaultSettings, default_seed: u64) -> Self {
        let seed = settings.seed.unwrap_or(default_seed);
        Self { settings, rng: SeededRng::new(seed ^ 0xFA17), request_times: HashMap::new() }
    }

    pub fn replace(&mut self, settings: FaultSettings) {
        if let Some(seed) = settings.seed {
            self.rng = SeededRng::new(seed ^ 0xFA17);
        }
        self.settings = settings;
        self.request_times.clear();
    }

    /// True when this request would exceed the workspace's per-second budget.
    fn over_rate_limit(&mut self, workspace: &str) -> bool {
        let now = Instant::now();
        let window = self.request_times.entry(workspace.to_string()).or_default();
        while window.front().is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1)) {
            window.pop_front();
        }
        if window.len() >= RATE_LIMIT_PER_SECOND {
            return true;
        }
        window.push_back(now);
        false
    }

    pub fn decide(&mut self, service: &str, method: &str, path: &str, workspace: Option<&str>) -> Decision {
        let mut decision = Decision::default();
        if self.settings.rate_limit {
            if let Some(workspace) = workspace {
                if self.over_rate_limit(workspace) {
                    decision.status = Some(429);
                    decision.rate_limited = true;
                    decision.labels.push("rate_limit".into());
                    return decision;
                }
            }
        }
        for index in 0..self.settings.rules.len() {
            let Some(rule) = self.settings.rules.get(index) else {
                break;
            };
            let applies = rule.service.as_deref().is_none_or(|wanted| wanted == service)
                && route_matches(&rule.route, method, path)
                && rule.times != Some(0);
            if !applies {
                continue;
            }
            let kind = rule.kind.clone();
            let delay_ms = rule.delay_ms;
            let rate = rule.rate;
            if decision.status.is_some() && kind.parse::<u16>().is_ok() {
                continue; // one injected status per request
            }
            if !self.rng.chance(rate) {
                continue;
            }
            if let Some(rule) = self.settings.rules.get_mut(index) {
                if let Some(times) = rule.times.as_mut() {
                    *times = times.saturating_sub(1);
                }
            }
            match kind.as_str() {
                "slow" => decision.delay = Some(Duration::from_millis(delay_ms.unwrap_or(2000))),
                "reset" => decision.reset = true,
                status => decision.status = status.parse().ok(),
            }
            decision.labels.push(kind);
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_routes() {
        assert!(route_matches("*", "GET", "/x"));
        assert!(route_matches("POST /api/v2.1/public/contracts/", "POST", "/api/v2.1/public/contracts/"));
        assert!(!route_matches("POST /api/v2.1/public/contracts/", "GET", "/api/v2.1/public/contracts/"));
        assert!(route_matches("GET /api/*/status", "GET", "/api/v2.1/public/contracts/T-1/status"));
        assert!(route_matches("/crm/*", "PATCH", "/crm/v3/objects/deals/1"));
        assert!(!route_matches("GET /api/*/status", "GET", "/api/v2.1/public/contracts/T-1/status/void"));
    }
}
