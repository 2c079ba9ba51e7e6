//! The native transport over real loopback HTTP: answers, error bodies, redirects (not followed),
//! timeouts and oversized bodies, through the SpotDraft client.

#![cfg(not(target_arch = "wasm32"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use spotdraft_crm::model::ContractId;
use spotdraft_crm::native_transport::NativeTransport;
use spotdraft_crm::spotdraft::{ClientOptions, RetryPolicy, SpotDraftClient};

/// A one-purpose HTTP/1.1 server: answers each request by path, on its own thread.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let address = listener.local_addr().expect("address");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || answer(stream));
        }
    });
    format!("http://{address}")
}

fn answer(mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut content_length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            content_length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; content_length];
    let _ = reader.read_exact(&mut body);
    let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
    let (status, extra, body) = match path.as_str() {
        "/api/v2.1/public/contracts/T-1/status" => {
            (200, "", r#"{"contract_status": "EXECUTED", "contract_name": "NDA"}"#.to_string())
        }
        "/api/v2.1/public/contracts/T-2/status" => (404, "", r#"{"detail": "Not Found"}"#.to_string()),
        "/api/v2.1/public/contracts/T-3/status" => {
            thread::sleep(Duration::from_millis(1500));
            (200, "", r#"{"contract_status": "DRAFT"}"#.to_string())
        }
        "/api/v2.1/public/contracts/T-4/status" => {
            (200, "", format!(r#"{{"contract_status": "DRAFT", "contract_name": "{}"}}"#, "x".repeat(5000)))
        }
        "/api/v2.1/public/templates/" => {
            (302, "Location: https://api.us.spotdraft.com/api/v2.1/public/templates/\r\n", String::new())
        }
        _ => (500, "", "{}".to_string()),
    };
    let reason = match status {
        200 => "OK",
        302 => "Found",
        404 => "Not Found",
        _ => "Error",
    };
    let response = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let _ = stream.write_all(response.as_bytes());
}

fn client(base: &str) -> SpotDraftClient<NativeTransport> {
    let options =
        ClientOptions { retry: RetryPolicy::none(), timeout_ms: 400, max_response_bytes: 4096, jitter_seed: Some(1) };
    SpotDraftClient::new(NativeTransport::new(), base, None, options).expect("client")
}

#[test]
fn talks_real_http() {
    let base = serve();
    let client = client(&base);
    let status = pollster::block_on(client.contract_status(ContractId::template(1))).unwrap();
    assert_eq!(status.contract_status.as_str(), "EXECUTED");

    let err = pollster::block_on(client.contract_status(ContractId::template(2))).unwrap_err();
    assert_eq!((err.code(), err.to_string()), ("spotdraft_error", "SpotDraft answered 404: Not Found".to_string()));

    let err = pollster::block_on(client.contract_status(ContractId::template(3))).unwrap_err();
    assert_eq!(err.code(), "timeout");

    let err = pollster::block_on(client.contract_status(ContractId::template(4))).unwrap_err();
    assert_eq!(err.code(), "bad_response");
    assert!(err.to_string().contains("larger than 4096 bytes"));

    let err = pollster::block_on(client.templates()).unwrap_err();
    assert_eq!(err.code(), "redirected");
}

#[test]
fn refused_connections_are_network_errors() {
    let unused = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let client = client(&format!("http://{unused}"));
    let err = pollster::block_on(client.contract_status(ContractId::template(1))).unwrap_err();
    assert_eq!(err.code(), "network_error");
}
