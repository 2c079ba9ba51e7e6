//! The two listeners (SpotDraft and CRM): per-request logging, control-API dispatch, fault
//! injection around the emulated operations, and journal entries.

use crate::app::{lock, App};
use crate::clock;
use crate::control;
use crate::crm;
use crate::faults::Decision;
use crate::http::{Handler, Outcome, Request, Response};
use crate::journal::RequestEntry;
use crate::spotdraft::{self, documents};
use crate::vendors;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, PartialEq)]
pub enum Service {
    SpotDraft,
    Crm,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::SpotDraft => "spotdraft",
            Service::Crm => "crm",
        }
    }
}

pub struct ServiceHandler {
    pub app: Arc<App>,
    pub service: Service,
}

/// What happened to one request, for the log line and the journal.
struct Handled {
    response: Response,
    workspace: Option<String>,
    handler_ran: bool,
    decision: Decision,
    service: &'static str,
}

fn html(status: u16, title: &str) -> Response {
    let body = format!("<html><head><title>{status} {title}</title></head><body><center><h1>{status} {title}</h1></center></body></html>");
    Response::with_body(status, "text/html", body.into_bytes())
}

impl ServiceHandler {
    fn injected(&self, status: u16) -> Response {
        let retry_after = lock(&self.app.faults).settings.retry_after_seconds;
        let response = match (self.service, status) {
            (_, 502) => html(502, "Bad Gateway"),
            (_, 503) => html(503, "Service Temporarily Unavailable"),
            (Service::SpotDraft, 429) => spotdraft::errors::detail(429, "Request was throttled."),
            (Service::SpotDraft, _) => spotdraft::errors::detail(status, "A server error occurred."),
            (Service::Crm, 429) => crm::error(429, "RATE_LIMITS", "You have reached your secondly limit."),
            (Service::Crm, _) => crm::error(status, "INTERNAL_ERROR", "internal error"),
        };
        match (status, retry_after) {
            (429, Some(seconds)) => response.header("Retry-After", &seconds.to_string()),
            _ => response,
        }
    }

    fn handle_spotdraft(&self, request: &Request) -> Handled {
        let mut handled = Handled {
            response: Response::empty(204),
            workspace: None,
            handler_ran: false,
            decision: Decision::default(),
            service: "spotdraft",
        };
        if request.method == "GET" && request.path.starts_with(documents::STORAGE_PREFIX) {
            handled.service = "files";
            handled.response = documents::serve_signed(&self.app, request);
            handled.handler_ran = true;
            return handled;
        }
        let route = match spotdraft::pre_route(request) {
            Ok(route) => route,
            Err(response) => {
                handled.response = response;
                return handled;
            }
        };
        let caller = match spotdraft::authenticate(&self.app, request) {
            Ok(caller) => caller,
            Err(response) => {
                handled.response = response;
                return handled;
            }
        };
        handled.workspace = Some(caller.workspace_name.clone());
        handled.decision =
            lock(&self.app.faults).decide("spotdraft", &request.method, &request.path, Some(&caller.workspace_name));
        if let Some(status) = handled.decision.status {
            handled.response = self.injected(status);
            return handled;
        }
        handled.response = spotdraft::dispatch(&self.app, &caller, request, route);
        handled.handler_ran = true;
        handled
    }

    fn handle_crm(&self, request: &Request) -> Handled {
        let mut handled = Handled {
            response: Response::empty(204),
            workspace: None,
            handler_ran: false,
            decision: Decision::default(),
            service: "crm",
        };
        if request.path == "/oauth/v1/token" {
            handled.response = vendors::hubspot_token(&self.app, request);
            handled.handler_ran = handled.response.status < 400;
            return handled;
        }
        if let Some(vendor) = vendors::vendor_of(&request.path) {
            let user = match vendors::authenticate(&self.app, vendor, request) {
                Ok(user) => user,
                Err(response) => {
                    // Token endpoints answer here; they count as handled.
                    handled.handler_ran = response.status < 400 && request.path.contains("token");
                    handled.response = response;
                    return handled;
                }
            };
            handled.decision = lock(&self.app.faults).decide("crm", &request.method, &request.path, None);
            if let Some(status) = handled.decision.status {
                let retry_after = lock(&self.app.faults).settings.retry_after_seconds;
                handled.response = match status {
                    502 => html(502, "Bad Gateway"),
                    503 => html(503, "Service Temporarily Unavailable"),
                    _ => vendors::injected(vendor, status, retry_after),
                };
                return handled;
            }
            handled.response = vendors::handle(&self.app, vendor, user.as_deref(), request);
            handled.handler_ran = true;
            return handled;
        }
        if let Err(response) = crm::authenticate(&self.app, request) {
            handled.response = response;
            return handled;
        }
        handled.decision = lock(&self.app.faults).decide("crm", &request.method, &request.path, None);
        if let Some(status) = handled.decision.status {
            handled.response = self.injected(status);
            return handled;
        }
        handled.response = crm::handle(&self.app, request);
        handled.handler_ran = true;
        handled
    }
}

fn log_line(service: &str, request: &Request, status: &str, elapsed_ms: u64, note: &str) {
    println!(
        "{} {service:<9} {} {} -> {status} {elapsed_ms}ms{note}",
        clock::format_rfc3339(clock::now_micros()),
        request.method,
        request.path_and_query()
    );
}

impl Handler for ServiceHandler {
    fn handle(&self, request: Request) -> Outcome {
        let started = Instant::now();
        // Browser preflights (the demo page calls the emulators cross-origin).
        if request.method == "OPTIONS" {
            let response = Response::empty(204)
                .header("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE, OPTIONS")
                .header("Access-Control-Allow-Headers", "*")
                .header("Access-Control-Max-Age", "600");
            log_line("cors", &request, "204", elapsed_ms(started), "");
            return Outcome::Respond(response);
        }
        if request.path == control::PREFIX || request.path.starts_with("/__sandbox/") {
            let response = control::handle(&self.app, &request);
            log_line("control", &request, &response.status.to_string(), elapsed_ms(started), "");
            return Outcome::Respond(response);
        }
        let handled = match self.service {
            Service::SpotDraft => self.handle_spotdraft(&request),
            Service::Crm => self.handle_crm(&request),
        };
        let elapsed = elapsed_ms(started);
        let reset = handled.decision.reset && handled.handler_ran;
        let status = if reset { None } else { Some(handled.response.status) };
        let mut note = String::new();
        if let Some(workspace) = &handled.workspace {
            note.push_str(&format!(" ws={workspace}"));
        }
        if !handled.decision.labels.is_empty() {
            note.push_str(&format!(" fault={}", handled.decision.labels.join("+")));
        }
        let status_text = status.map_or_else(|| "RESET".to_string(), |code| code.to_string());
        log_line(handled.service, &request, &status_text, elapsed, &note);
        lock(&self.app.journal).record_request(RequestEntry {
            seq: 0,
            at: clock::format_rfc3339(clock::now_micros()),
            service: handled.service.to_string(),
            workspace: handled.workspace,
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.raw_query.clone(),
            status,
            handler_ran: handled.handler_ran,
            fault: (!handled.decision.labels.is_empty()).then(|| handled.decision.labels.join("+")),
            duration_ms: elapsed,
            body: String::from_utf8_lossy(&request.body).chars().take(65_536).collect(),
        });
        if reset {
            return Outcome::Reset;
        }
        match handled.decision.delay {
            Some(delay) => Outcome::RespondAfter(delay, handled.response),
            None => Outcome::Respond(handled.response),
        }
    }

    fn refused(&self, method: &str, path: &str, status: u16) {
        println!(
            "{} {:<9} {method} {path} -> {status} (refused before handling)",
            clock::format_rfc3339(clock::now_micros()),
            self.service.name()
        );
        lock(&self.app.journal).record_request(RequestEntry {
            seq: 0,
            at: clock::format_rfc3339(clock::now_micros()),
            service: self.service.name().to_string(),
            workspace: None,
            method: method.to_string(),
            path: path.to_string(),
            query: String::new(),
            status: Some(status),
            handler_ran: false,
            fault: None,
            duration_ms: 0,
            body: String::new(),
        });
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
