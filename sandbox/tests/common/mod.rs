//! Test support: start the real `sandbox` binary on ephemeral loopback ports, talk to it over
//! raw HTTP/1.1 (so redirects are not followed and resets are visible), and receive webhooks.
#![allow(dead_code)]

pub mod openapi;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

static UNIQUE: AtomicU64 = AtomicU64::new(0);

pub fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "spotdraft-sandbox-test-{}-{}-{nanos}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request with `Connection: close`; `Err` when the server reset or closed the
/// connection without an answer.
pub fn raw_request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let authority = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no response head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|line| line.split_whitespace().nth(1)).and_then(|code| code.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|line| {
            line.split_once(':').map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        })
        .collect();
    Ok(Reply { status, headers, body: raw[split + 4..].to_vec() })
}

pub struct Workspace {
    pub name: String,
    pub id: u64,
    pub client_id: String,
    pub client_secret: String,
    pub hmac_key: String,
    pub user_emails: Vec<String>,
    pub nda_template: u64,
    pub msa_template: u64,
}

pub struct Sandbox {
    child: Option<Child>,
    pub spotdraft: String,
    pub crm: String,
    pub state_file: PathBuf,
    pub workspaces: Vec<Workspace>,
    pub crm_token: String,
    pub log: Arc<Mutex<Vec<String>>>,
    /// Temporary directory to delete on drop (only when this sandbox created it).
    owned_dir: Option<PathBuf>,
}

impl Sandbox {
    /// Starts a fresh sandbox (local-testing on, so http:// webhook receivers are accepted).
    pub fn start(extra: &[&str]) -> Sandbox {
        let dir = temp_dir();
        let mut sandbox = Sandbox::start_with_state(dir.join("state.json"), extra);
        sandbox.owned_dir = Some(dir);
        sandbox
    }

    pub fn start_with_state(state_file: PathBuf, extra: &[&str]) -> Sandbox {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sandbox"));
        command
            .args(["--spotdraft-port", "0", "--crm-port", "0", "--local-testing", "--state-file"])
            .arg(&state_file)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for variable in
            ["SANDBOX_FAULTS", "SANDBOX_RATE_LIMIT", "SANDBOX_FRESH", "SANDBOX_NO_STATE_FILE", "SANDBOX_SEED"]
        {
            command.env_remove(variable);
        }
        let mut child = command.spawn().expect("start the sandbox binary");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut ready = None;
        let log = Arc::new(Mutex::new(Vec::new()));
        while Instant::now() < deadline {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            log.lock().unwrap().push(line.trim_end().to_string());
            if let Some(rest) = line.trim().strip_prefix("SANDBOX_READY ") {
                ready = Some(rest.to_string());
                break;
            }
        }
        let ready = ready.expect("sandbox printed SANDBOX_READY");
        // Keep draining stdout so the sandbox never blocks on a full pipe.
        let sink = Arc::clone(&log);
        thread::spawn(move || {
            for line in reader.lines() {
                match line {
                    Ok(line) => sink.lock().unwrap().push(line),
                    Err(_) => break,
                }
            }
        });
        let field = |name: &str| {
            ready.split_whitespace().find_map(|part| part.strip_prefix(&format!("{name}="))).unwrap().to_string()
        };
        let mut sandbox = Sandbox {
            child: Some(child),
            spotdraft: field("spotdraft"),
            crm: field("crm"),
            state_file,
            workspaces: Vec::new(),
            crm_token: String::new(),
            log,
            owned_dir: None,
        };
        let info = sandbox.control("GET", "/__sandbox/workspaces", None).json();
        sandbox.crm_token = info["crm"]["bearer_token"].as_str().unwrap().to_string();
        for workspace in info["workspaces"].as_array().unwrap() {
            let templates = workspace["templates"].as_array().unwrap();
            let template_id = |name: &str| {
                templates.iter().find(|t| t["name"].as_str().unwrap().contains(name)).unwrap()["id"].as_u64().unwrap()
            };
            sandbox.workspaces.push(Workspace {
                name: workspace["name"].as_str().unwrap().to_string(),
                id: workspace["id"].as_u64().unwrap(),
                client_id: workspace["client_id"].as_str().unwrap().to_string(),
                client_secret: workspace["client_secret"].as_str().unwrap().to_string(),
                hmac_key: workspace["hmac_key"].as_str().unwrap().to_string(),
                user_emails: workspace["user_emails"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap().to_string())
                    .collect(),
                nda_template: template_id("Non-Disclosure"),
                msa_template: template_id("Master Services"),
            });
        }
        sandbox
    }

    pub fn uat(&self) -> &Workspace {
        self.workspace("uat")
    }

    pub fn production(&self) -> &Workspace {
        self.workspace("production")
    }

    pub fn workspace(&self, name: &str) -> &Workspace {
        self.workspaces.iter().find(|w| w.name == name).unwrap()
    }

    /// SIGTERM, then wait for a clean exit. The state file is kept for a restart.
    pub fn stop(mut self) -> PathBuf {
        self.owned_dir = None;
        if let Some(mut child) = self.child.take() {
            let pid = i32::try_from(child.id()).unwrap();
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
            let status = child.wait().unwrap();
            assert!(status.success(), "sandbox exited with {status}");
        }
        self.state_file.clone()
    }

    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        raw_request(&self.spotdraft, method, path, &[("Content-Type", "application/json")], body.as_bytes()).unwrap()
    }

    /// A SpotDraft call with the workspace's credentials.
    pub fn sd(&self, workspace: &Workspace, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.try_sd(workspace, method, path, body).unwrap()
    }

    pub fn try_sd(
        &self,
        workspace: &Workspace,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> std::io::Result<Reply> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        raw_request(
            &self.spotdraft,
            method,
            path,
            &[
                ("client-id", &workspace.client_id),
                ("client-secret", &workspace.client_secret),
                ("Accept", "application/json"),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    }

    pub fn crm_call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = format!("Bearer {}", self.crm_token);
        raw_request(
            &self.crm,
            method,
            path,
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .unwrap()
    }

    pub fn create_nda(&self, workspace: &Workspace, external_id: &str) -> Value {
        let reply = self.sd(
            workspace,
            "POST",
            "/api/v2.1/public/contracts/",
            Some(nda_body(workspace.nda_template, external_id)),
        );
        assert_eq!(reply.status, 201, "{}", reply.text());
        reply.json()
    }

    pub fn register_webhook(&self, workspace: &Workspace, url: &str, activities: &[&str]) -> Value {
        let reply = self.sd(
            workspace,
            "POST",
            "/api/v2.1/public/webhooks/",
            Some(json!({ "title": "test receiver", "url": url, "only_for_activities": activities, "custom_headers": {"X-Relay-Key": "k-123"} })),
        );
        assert_eq!(reply.status, 201, "{}", reply.text());
        reply.json()
    }

    pub fn transition(&self, composite: &str, to: &str) -> Reply {
        self.control("POST", &format!("/__sandbox/contracts/{composite}/transition"), Some(json!({ "to": to })))
    }

    /// Polls the delivery journal until `predicate` holds (or fails after a few seconds).
    pub fn wait_for_deliveries(&self, query: &str, predicate: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let list = self.control("GET", &format!("/__sandbox/deliveries{query}"), None).json();
            let list = list.as_array().unwrap().clone();
            if predicate(&list) {
                return list;
            }
            assert!(Instant::now() < deadline, "deliveries never matched; last: {list:#?}");
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn requests(&self, query: &str) -> Vec<Value> {
        self.control("GET", &format!("/__sandbox/requests{query}"), None).json().as_array().unwrap().clone()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.owned_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn nda_body(template_id: u64, external_id: &str) -> Value {
    json!({
        "contract_template_id": template_id,
        "contract_name": format!("NDA for {external_id}"),
        "contract_data": {
            "effective_date": "2026-03-28",
            "nda_kind": "mutual",
            "purpose": "Evaluating a platform subscription",
            "governing_law": "US-DE",
            "confidentiality_term": {"type": "YEARS", "value": 2, "days": 730}
        },
        "counter_party_details": [{
            "is_individual": false,
            "organization_type": "company",
            "organization_name": "Acme Widgets, Inc.",
            "poc_details": {"first_name": "Avery", "last_name": "Stone", "email": "avery.stone@acme.example"},
            "organization_details": {"jurisdiction_iso_code": "US", "address": {"line_one": "350 Fifth Avenue", "city": "New York", "state": "NY", "country_iso_code": "US", "zipcode": "10118"}}
        }],
        "signatories": [{"name": "Avery Stone", "email": "avery.stone@acme.example", "is_counterparty_signatory": true, "counterparty_name": "Acme Widgets, Inc."}],
        "external_metadata": {"id": external_id, "integration_name": "HubSpot", "record_type": "Deal", "record_data": {"deal_stage": "contractsent"}}
    })
}

pub fn msa_body(template_id: u64, external_id: &str) -> Value {
    json!({
        "contract_template_id": template_id,
        "contract_data": {
            "agreement_date": "2026-03-28",
            "customer_legal_name": "Globex GmbH",
            "contract_value": {"type": "EUR", "value": 125000.5},
            "subscription_term": {"type": "MONTHS", "value": 12},
            "billing_frequency": "quarterly",
            "auto_renewal": false,
            "payment_terms_days": 30,
            "service_regions": ["EU"],
            "billing_contact": {"name": "Jürgen Müller", "email": "j.mueller@globex.example"},
            "pricing_schedule": [{"milestone": "Kickoff", "due_date": "2026-04-01", "amount": 25000.0}]
        },
        "counter_party_details": [{
            "is_individual": false,
            "organization_name": "Globex GmbH",
            "poc_details": {"first_name": "Jürgen", "last_name": "Müller", "email": "j.mueller@globex.example"}
        }],
        "external_metadata": {"id": external_id, "integration_name": "HubSpot", "record_type": "Deal", "record_data": {}}
    })
}

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// A webhook endpoint on loopback that records every POST and answers with `status`.
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(status: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/spotdraft", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut reader = BufReader::new(stream);
                let mut headers = Vec::new();
                let mut length = 0;
                let mut first = true;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if first {
                        first = false;
                        continue;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                        headers.push((name.trim().to_string(), value.trim().to_string()));
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                sink.lock().unwrap().push(Received { headers, body });
                let mut stream = reader.into_inner();
                let _ = stream.write_all(
                    format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
                );
            }
        });
        Receiver { url, received }
    }

    pub fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let received = self.received.lock().unwrap().clone();
            if received.len() >= count {
                return received;
            }
            assert!(Instant::now() < deadline, "only {} of {count} webhook deliveries arrived", received.len());
            thread::sleep(Duration::from_millis(25));
        }
    }
}
