//! Webhook deliveries: a background worker POSTs each activity's raw JSON body to every matching
//! subscription, signed with `X-SD-WEBHOOK-CONTENT-HASH` = lowercase hex HMAC-SHA512 over the
//! exact body bytes, keyed with the Base64-decoded workspace `hmac_key`. More than five
//! consecutive failures disable a subscription (`DISABLED_BY_ERROR`).

use crate::app::{lock, App};
use crate::journal::DeliveryEntry;
use crate::state::SandboxState;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha512;
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// Failures beyond this many in a row disable the subscription.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 5;
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// With shuffling on, wait this long so a burst of activities lands in one batch to reorder.
const SHUFFLE_GATHER: Duration = Duration::from_millis(150);

#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub workspace: String,
    pub webhook_id: u64,
    pub activity: String,
    pub contract_id: u64,
    pub body: Arc<str>,
    pub kind: &'static str,
    /// Decided when the activity happens, from the faults in force then: a test that turns drops
    /// on around two transitions drops exactly their deliveries, however busy the worker is.
    pub faults: JobFaults,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobFaults {
    pub dropped: bool,
    pub duplicate: bool,
    pub delay_ms: u64,
}

/// Jobs waiting, and how many the worker has taken but not finished: a test that waits for
/// "nothing pending" must also wait for the delivery the worker is still making (or, with
/// shuffling, still gathering), not only for an empty queue.
#[derive(Default)]
struct Outstanding {
    queued: VecDeque<DeliveryJob>,
    in_flight: usize,
}

#[derive(Default)]
pub struct DeliveryQueue {
    jobs: Mutex<Outstanding>,
    ready: Condvar,
}

impl DeliveryQueue {
    pub fn push(&self, job: DeliveryJob) {
        lock(&self.jobs).queued.push_back(job);
        self.ready.notify_one();
    }

    /// Waits for at least one job, then takes every queued one; each counts as in flight until
    /// [`DeliveryQueue::finished`].
    fn take_all(&self) -> Vec<DeliveryJob> {
        let mut jobs = lock(&self.jobs);
        while jobs.queued.is_empty() {
            jobs = self.ready.wait(jobs).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        Self::take(&mut jobs)
    }

    /// Takes what is queued now, without waiting.
    fn take_pending(&self) -> Vec<DeliveryJob> {
        Self::take(&mut lock(&self.jobs))
    }

    fn take(jobs: &mut Outstanding) -> Vec<DeliveryJob> {
        let taken: Vec<DeliveryJob> = jobs.queued.drain(..).collect();
        jobs.in_flight += taken.len();
        taken
    }

    /// One taken job is done: delivered, failed, dropped or skipped.
    fn finished(&self) {
        let mut jobs = lock(&self.jobs);
        jobs.in_flight = jobs.in_flight.saturating_sub(1);
    }

    /// Jobs queued or still being delivered.
    pub fn pending(&self) -> usize {
        let jobs = lock(&self.jobs);
        jobs.queued.len() + jobs.in_flight
    }
}

/// Queues `body` for every active subscription of the workspace that wants `activity`.
pub fn enqueue_for_subscribers(
    app: &App,
    state: &SandboxState,
    workspace_name: &str,
    activity: &str,
    contract_id: u64,
    body: &str,
    kind: &'static str,
) {
    let Some(workspace) = state.workspaces.iter().find(|workspace| workspace.name == workspace_name) else {
        return;
    };
    let body: Arc<str> = Arc::from(body);
    for webhook in &workspace.webhooks {
        if webhook.status == "ACTIVE" && webhook.only_for_activities.iter().any(|wanted| wanted == activity) {
            let faults = {
                let mut faults = lock(&app.faults);
                let settings = faults.settings.webhooks.clone();
                let dropped = faults.rng.chance(settings.drop_rate);
                let duplicate = !dropped && faults.rng.chance(settings.duplicate_rate);
                JobFaults { dropped, duplicate, delay_ms: settings.delay_ms }
            };
            app.deliveries.push(DeliveryJob {
                workspace: workspace_name.to_string(),
                webhook_id: webhook.id,
                activity: activity.to_string(),
                contract_id,
                body: Arc::clone(&body),
                kind,
                faults,
            });
        }
    }
}

/// `hex(HMAC-SHA512(base64_decode(hmac_key), body))`; `None` if the key is not valid Base64.
pub fn sign(hmac_key_base64: &str, body: &[u8]) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD.decode(hmac_key_base64).ok()?;
    let mut mac = Hmac::<Sha512>::new_from_slice(&key).ok()?;
    mac.update(body);
    Some(mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect())
}

pub fn start_worker(app: Arc<App>) {
    thread::spawn(move || loop {
        let shuffle = lock(&app.faults).settings.webhooks.shuffle;
        let mut batch = app.deliveries.take_all();
        if shuffle {
            thread::sleep(SHUFFLE_GATHER);
            batch.extend(app.deliveries.take_pending());
            lock(&app.faults).rng.shuffle(&mut batch);
        }
        for job in batch {
            deliver(&app, &job);
            app.deliveries.finished();
        }
    });
}

struct Target {
    url: String,
    headers: BTreeMap<String, String>,
}

fn deliver(app: &App, job: &DeliveryJob) {
    let target = {
        let state = app.state();
        let Some(workspace) = state.workspaces.iter().find(|workspace| workspace.name == job.workspace) else {
            return;
        };
        let Some(webhook) = workspace.webhooks.iter().find(|webhook| webhook.id == job.webhook_id) else {
            return;
        };
        if webhook.status != "ACTIVE" {
            return;
        }
        let mut headers = webhook.custom_headers.clone();
        headers.insert("Content-Type".into(), "application/json".into());
        if let Some(signature) = sign(&workspace.hmac_key, job.body.as_bytes()) {
            headers.insert("X-SD-WEBHOOK-CONTENT-HASH".into(), signature);
        }
        Target { url: webhook.url.clone(), headers }
    };
    let JobFaults { dropped, duplicate, delay_ms } = job.faults;
    if dropped {
        record(app, job, &target, job.kind, "dropped", None, None);
        return;
    }
    if delay_ms > 0 {
        thread::sleep(Duration::from_millis(delay_ms));
    }
    send_and_record(app, job, &target, job.kind);
    if duplicate {
        send_and_record(app, job, &target, "duplicate");
    }
}

fn send_and_record(app: &App, job: &DeliveryJob, target: &Target, kind: &str) {
    let outcome = post(&target.url, &target.headers, job.body.as_bytes());
    let succeeded = matches!(outcome, Ok(status) if (200..300).contains(&status));
    {
        let mut state = app.state();
        if let Some(webhook) = state
            .workspaces
            .iter_mut()
            .find(|workspace| workspace.name == job.workspace)
            .and_then(|workspace| workspace.webhooks.iter_mut().find(|webhook| webhook.id == job.webhook_id))
        {
            if succeeded {
                webhook.consecutive_failures = 0;
            } else {
                webhook.consecutive_failures += 1;
                if webhook.consecutive_failures > MAX_CONSECUTIVE_FAILURES {
                    webhook.status = "DISABLED_BY_ERROR".into();
                }
            }
        }
        app.persist(&state);
    }
    let (result, status, error) = match outcome {
        Ok(status) if succeeded => ("delivered", Some(status), None),
        Ok(status) => ("failed", Some(status), None),
        Err(error) => ("failed", None, Some(error)),
    };
    record(app, job, target, kind, result, status, error);
}

fn record(
    app: &App,
    job: &DeliveryJob,
    target: &Target,
    kind: &str,
    result: &str,
    status: Option<u16>,
    error: Option<String>,
) {
    let entry = DeliveryEntry {
        seq: 0,
        at: crate::clock::format_rfc3339(crate::clock::now_micros()),
        workspace: job.workspace.clone(),
        webhook_id: job.webhook_id,
        url: target.url.clone(),
        activity: job.activity.clone(),
        contract_id: job.contract_id,
        kind: kind.to_string(),
        result: result.to_string(),
        status_code: status,
        error,
        headers: target.headers.clone(),
        body: job.body.to_string(),
    };
    println!(
        "{} webhook  POST {} {} {} -> {}",
        entry.at,
        entry.url,
        entry.activity,
        entry.kind,
        status.map_or_else(|| result.to_string(), |code| format!("{code} {result}"))
    );
    lock(&app.journal).record_delivery(entry);
}

/// A minimal HTTP/1.1 POST. Only `http://` URLs on loopback are reachable from the sandbox;
/// anything else fails like an unreachable endpoint would.
pub fn post(url: &str, headers: &BTreeMap<String, String>, body: &[u8]) -> Result<u16, String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("the sandbox delivers over plain http only (HTTPS endpoints are unreachable here)".into());
    };
    let (authority, path) = match rest.find('/') {
        Some(index) => (rest.get(..index).unwrap_or_default(), rest.get(index..).unwrap_or("/")),
        None => (rest, "/"),
    };
    let with_port = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    let address = with_port
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve {authority}: {error}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {authority}"))?;
    if !address.ip().is_loopback() {
        return Err(format!("{address} is not a loopback address; the sandbox only delivers locally"));
    }
    let mut stream = TcpStream::connect_timeout(&address, DELIVERY_TIMEOUT).map_err(|error| error.to_string())?;
    let _ = stream.set_read_timeout(Some(DELIVERY_TIMEOUT));
    let _ = stream.set_write_timeout(Some(DELIVERY_TIMEOUT));
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: SpotDraft-Webhooks (sandbox)\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(|error| error.to_string())?;
    stream.write_all(body).map_err(|error| error.to_string())?;
    let mut status_line = Vec::new();
    let mut byte = [0_u8; 1];
    while !status_line.ends_with(b"\r\n") && status_line.len() < 1024 {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => status_line.extend_from_slice(&byte),
            Err(error) => return Err(error.to_string()),
        }
    }
    let status_line = String::from_utf8_lossy(&status_line);
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no HTTP status from receiver: {status_line:?}"))
}

#[cfg(test)]
mod tests {
    use super::{sign, DeliveryJob, DeliveryQueue, JobFaults};
    use std::sync::Arc;

    fn job(contract_id: u64) -> DeliveryJob {
        DeliveryJob {
            workspace: "uat".into(),
            webhook_id: 1,
            activity: "CONTRACT_SIGNED".into(),
            contract_id,
            body: Arc::from("{}"),
            kind: "original",
            faults: JobFaults { dropped: false, duplicate: false, delay_ms: 0 },
        }
    }

    #[test]
    fn a_job_stays_pending_until_its_delivery_is_finished() {
        let queue = DeliveryQueue::default();
        queue.push(job(1));
        queue.push(job(2));
        assert_eq!(queue.pending(), 2);
        let taken = queue.take_all();
        assert_eq!(taken.len(), 2);
        assert_eq!(queue.pending(), 2, "taken is not delivered");
        queue.push(job(3));
        assert_eq!(queue.pending(), 3);
        queue.finished();
        assert_eq!(queue.pending(), 2);
        assert_eq!(queue.take_pending().len(), 1);
        queue.finished();
        queue.finished();
        assert_eq!(queue.pending(), 0);
        queue.finished(); // never below nothing
        assert_eq!(queue.pending(), 0);
    }

    #[test]
    fn matches_the_api_notes_test_vector() {
        let key = "zJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA==";
        let body = br#"{"contract_id":19589,"activity":"CONTRACT_EXECUTED"}"#;
        assert_eq!(
            sign(key, body).unwrap(),
            "c169ee44fbcb0f3dd5c364825364740bc0f21f5bd40d2e55ca5be1ee2c70229343137885d10891b98c2c4d5d5937ee0d0b7b961057960838577a25f720345b6c"
        );
    }
}
