//! Bad input never crashes the sandbox or corrupts its state, and state survives a restart.

mod common;

use common::{raw_request, Sandbox};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const CONTRACTS: &str = "/api/v2.1/public/contracts/";

fn send_raw(base: &str, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn headers(workspace: &common::Workspace) -> Vec<(&str, &str)> {
    vec![("client-id", workspace.client_id.as_str()), ("client-secret", workspace.client_secret.as_str())]
}

#[test]
fn bad_input_gets_documented_errors_and_leaves_state_intact() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let existing = sandbox.create_nda(uat, "deal-1");
    let id = existing["id"].as_str().unwrap().to_string();
    let state_before = std::fs::read_to_string(&sandbox.state_file).unwrap();

    let post = |path: &str, body: &[u8]| raw_request(&sandbox.spotdraft, "POST", path, &headers(uat), body).unwrap();
    let malformed = post(CONTRACTS, b"{\"contract_template_id\": ");
    assert_eq!(malformed.status, 400);
    assert!(malformed.json()["detail"].as_str().unwrap().starts_with("JSON parse error"));
    assert_eq!(post(CONTRACTS, b"[1,2,3]").status, 400);
    assert_eq!(post(CONTRACTS, b"\xff\xfe\x00garbage").status, 400);
    assert_eq!(post(CONTRACTS, b"null").status, 400);
    let wrong_types = post(CONTRACTS, json!({"contract_template_id": "abc", "contract_data": [], "counter_party_details": {"a": 1}, "signatories": "me"}).to_string().as_bytes());
    assert_eq!(wrong_types.status, 400);
    let errors = wrong_types.json();
    for key in ["contract_template_id", "counter_party_details", "signatories"] {
        assert!(errors[key].is_array(), "{key}: {errors}");
    }
    let wrong_nested = post(CONTRACTS, json!({"contract_template_id": uat.nda_template, "contract_data": {"confidentiality_term": "two years"}, "counter_party_details": [7]}).to_string().as_bytes());
    assert_eq!(wrong_nested.status, 400);
    assert!(wrong_nested.json()["counter_party_details"]["0"].is_object());
    assert_eq!(post(&format!("{CONTRACTS}{id}/external_metadata"), b"{\"external_metadata\": 5}").status, 400);
    assert_eq!(post(&format!("{CONTRACTS}{id}/external_metadata"), b"{oops").status, 400);
    assert_eq!(
        post(&format!("{CONTRACTS}{id}/send_to_counterparties"), b"{\"attachment_formats\": \"PDF\"}").status,
        400
    );
    assert_eq!(
        post("/api/v2.1/public/webhooks/", b"{\"title\": 1, \"url\": [], \"only_for_activities\": {}}").status,
        400
    );

    // Oversized bodies are refused with 413 before being read.
    let huge = vec![b' '; 2 * 1024 * 1024];
    let too_big = post(CONTRACTS, &huge);
    assert_eq!(too_big.status, 413);
    assert!(too_big.json()["detail"].is_string());

    // Unknown and malformed ids.
    for path in [
        format!("{CONTRACTS}T-999999/status"),
        format!("{CONTRACTS}H-1/status"),
        format!("{CONTRACTS}4301/status"),
        format!("{CONTRACTS}T-abc/status"),
        format!("{CONTRACTS}T-99999999999999999999999/status"),
        "/api/v2.1/public/templates/abc/".to_string(),
        "/api/v2.1/public/nothing/".to_string(),
        "/api/v2.1/public/contracts//status".to_string(),
        "/not-api".to_string(),
    ] {
        let reply = raw_request(&sandbox.spotdraft, "GET", &path, &headers(uat), b"").unwrap();
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.json(), json!({"detail": "Not Found"}), "{path}");
    }
    assert_eq!(
        raw_request(&sandbox.spotdraft, "DELETE", "/api/v2.1/public/webhooks/abc", &headers(uat), b"").unwrap().status,
        404
    );
    assert_eq!(raw_request(&sandbox.spotdraft, "PUT", CONTRACTS, &headers(uat), b"{}").unwrap().status, 405);

    // Broken HTTP itself.
    assert!(send_raw(&sandbox.spotdraft, b"NONSENSE\r\n\r\n").starts_with("HTTP/1.1 400"));
    assert!(send_raw(&sandbox.spotdraft, b"POST /api/v2.1/public/contracts/ HTTP/1.1\r\nContent-Length: abc\r\n\r\n")
        .starts_with("HTTP/1.1 400"));
    // Chunked bodies are read (streamed uploads send them); a broken one, or another coding, is refused.
    assert!(send_raw(
        &sandbox.spotdraft,
        b"POST /api/v2.1/public/contracts/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n"
    )
    .starts_with("HTTP/1.1 400"));
    assert!(send_raw(
        &sandbox.spotdraft,
        b"POST /api/v2.1/public/contracts/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"
    )
    .starts_with("HTTP/1.1 501"));
    assert!(send_raw(
        &sandbox.spotdraft,
        b"GET /api/v2.1/public/contracts/ HTTP/1.1\r\nContent-Length: 50\r\n\r\nshort"
    )
    .is_empty());
    let mut long_header = b"GET / HTTP/1.1\r\n".to_vec();
    for n in 0..5000 {
        long_header.extend_from_slice(format!("X-Filler-{n}: {}\r\n", "y".repeat(20)).as_bytes());
    }
    long_header.extend_from_slice(b"\r\n");
    assert!(send_raw(&sandbox.spotdraft, &long_header).starts_with("HTTP/1.1 431"));

    // A bounded burst of random bodies: never a 5xx, never a dropped connection.
    let mut seed: u64 = 0x5EED;
    for round in 0..150 {
        let length = (round * 7) % 300;
        let body: Vec<u8> = (0..length)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let alphabet = b"{}[]\":,0123456789abcdefnulltrue contract_data\\";
                alphabet[(seed % alphabet.len() as u64) as usize]
            })
            .collect();
        let reply = post(CONTRACTS, &body);
        assert!(reply.status == 400 || reply.status == 201, "round {round}: {} {}", reply.status, reply.text());
    }

    // Still alive, nothing changed.
    assert_eq!(sandbox.control("GET", "/__sandbox/health", None).json()["ok"], true);
    assert_eq!(sandbox.sd(uat, "GET", CONTRACTS, None).json()["total_results"], 1);
    assert_eq!(std::fs::read_to_string(&sandbox.state_file).unwrap(), state_before);
    let control_junk = sandbox.control("PUT", "/__sandbox/faults", None);
    assert_eq!(control_junk.status, 400);
    assert_eq!(sandbox.control("POST", "/__sandbox/contracts/T-1/transition", Some(json!({"to": "LOST"}))).status, 400);
    assert_eq!(
        sandbox.control("POST", "/__sandbox/contracts/T-999999/transition", Some(json!({"to": "SIGN"}))).status,
        404
    );
}

#[test]
fn state_survives_a_clean_restart() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let (client_id, hmac_key, crm_token) = (uat.client_id.clone(), uat.hmac_key.clone(), sandbox.crm_token.clone());
    let contract = sandbox.create_nda(uat, "deal-1");
    let composite = contract["id"].as_str().unwrap().to_string();
    sandbox.transition(&composite, "SIGN");
    let hook = sandbox.register_webhook(uat, "http://127.0.0.1:9/hook", &["CONTRACT_EXECUTED"]);
    sandbox.crm_call("PATCH", "/crm/v3/objects/deals/1001", Some(json!({"properties": {"spotdraft_status": "SIGN"}})));
    let state_file = sandbox.stop();

    let restarted = Sandbox::start_with_state(state_file.clone(), &[]);
    let uat = restarted.uat();
    assert_eq!(
        (uat.client_id.clone(), uat.hmac_key.clone(), restarted.crm_token.clone()),
        (client_id, hmac_key, crm_token)
    );
    assert_eq!(
        restarted.sd(uat, "GET", &format!("{CONTRACTS}{composite}/status"), None).json()["contract_status"],
        "SIGN"
    );
    assert_eq!(
        restarted
            .sd(uat, "GET", &format!("{CONTRACTS}by_external_metadata/deal-1"), None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let next = restarted.create_nda(uat, "deal-2");
    assert_eq!(next["contract_id"].as_u64().unwrap(), contract["contract_id"].as_u64().unwrap() + 1, "ids continue");
    let hooks = restarted.control("GET", "/__sandbox/webhooks", None).json();
    assert_eq!(hooks[0]["id"], hook["id"]);
    let deal = restarted.crm_call("GET", "/crm/v3/objects/deals/1001?properties=spotdraft_status", None).json();
    assert_eq!(deal["properties"]["spotdraft_status"], "SIGN");
    // Activity timestamps keep increasing across the restart.
    restarted.transition(&composite, "EXECUTED");
    let history = restarted
        .control("GET", &format!("/__sandbox/activities?contract_id={}", contract["contract_id"]), None)
        .json();
    let stamps: Vec<&str> = history.as_array().unwrap().iter().map(|a| a["timestamp"].as_str().unwrap()).collect();
    assert!(stamps.windows(2).all(|pair| pair[0] < pair[1]));
    drop(restarted);

    // Even a hard kill loses nothing that was acknowledged: the file is rewritten per change.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let contracts = saved["workspaces"][0]["contracts"].as_array().unwrap();
    assert_eq!(contracts.len(), 2);
    assert_eq!(contracts[0]["status"], "EXECUTED");

    // --fresh starts over from the seed.
    let fresh = Sandbox::start_with_state(state_file.clone(), &["--fresh"]);
    assert_eq!(fresh.sd(fresh.uat(), "GET", CONTRACTS, None).json()["total_results"], 0);
    drop(fresh);
    if let Some(dir) = state_file.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_corrupt_state_file_is_reported_not_overwritten() {
    let dir = common::temp_dir();
    let path = dir.join("state.json");
    std::fs::write(&path, "{ not json").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["--spotdraft-port", "0", "--crm-port", "0", "--state-file"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not valid sandbox state"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_sandbox")).arg("--help").output().unwrap();
    assert!(help.status.success() && String::from_utf8_lossy(&help.stdout).contains("--spotdraft-port"));
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_sandbox")).args(["--host", "0.0.0.0"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "only loopback addresses are served");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn banner_prints_addresses_and_credentials() {
    let sandbox = Sandbox::start(&[]);
    let banner = sandbox.log.lock().unwrap().join("\n");
    assert!(banner.contains(&sandbox.uat().client_id) && banner.contains(&sandbox.uat().client_secret));
    assert!(banner.contains(&sandbox.production().client_id));
    assert!(banner.contains(&sandbox.crm_token));
    assert!(banner.contains(&sandbox.spotdraft) && banner.contains(&sandbox.crm));
    // One log line per request.
    sandbox.sd(sandbox.uat(), "GET", "/api/v2.1/public/contract_types/", None);
    std::thread::sleep(Duration::from_millis(100));
    let lines = sandbox.log.lock().unwrap().clone();
    assert_eq!(lines.iter().filter(|l| l.contains("GET /api/v2.1/public/contract_types/ -> 200")).count(), 1);
}

#[test]
fn preflight_expect_continue_and_reset() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let preflight =
        raw_request(&sandbox.spotdraft, "OPTIONS", CONTRACTS, &[("Origin", "http://127.0.0.1:3000")], b"").unwrap();
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("Access-Control-Allow-Origin"), Some("*"));

    // A client that waits for `100 Continue` before sending its body is answered promptly.
    let body = common::nda_body(uat.nda_template, "deal-continue").to_string();
    let mut stream = TcpStream::connect(sandbox.spotdraft.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let head = format!(
        "POST {CONTRACTS} HTTP/1.1\r\nHost: x\r\nclient-id: {}\r\nclient-secret: {}\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        uat.client_id,
        uat.client_secret,
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut interim = [0_u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body.as_bytes()).unwrap();
    let mut rest = String::new();
    stream.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with("HTTP/1.1 201"), "{rest}");

    // Reset returns to the seeded state with the same credentials.
    assert_eq!(sandbox.control("POST", "/__sandbox/reset", None).status, 200);
    assert_eq!(sandbox.sd(uat, "GET", CONTRACTS, None).json()["total_results"], 0);
    assert!(sandbox.requests("").len() <= 1);
}
