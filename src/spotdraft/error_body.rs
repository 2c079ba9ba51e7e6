//! SpotDraft error bodies. Three shapes coexist (docs/spotdraft-api.md §12.2):
//! 1. `{"detail": "Not Found"}`
//! 2. `{"detail": …, "status_code": 400, "code": "SD_…", "message": …}`
//! 3. field-keyed validation: `{"priority": ["…"]}`, nested `{"assignees": {"0": {"entity_id": ["…"]}}}`
//!
//! All become one `ApiError` carrying the HTTP status, SpotDraft's code and the best message.

use serde_json::Value;

use crate::error::{ApiError, Problem};
use crate::json_input::key_path;

/// How much of an unrecognised body is quoted back in the message.
const RAW_EXCERPT_CHARS: usize = 300;

pub fn parse(status: u16, body: &[u8]) -> ApiError {
    let text = String::from_utf8_lossy(body);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    match parsed {
        Some(Value::Object(map)) => {
            let text_of = |key: &str| {
                map.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
            };
            let code = text_of("code");
            let detail = text_of("message").or_else(|| text_of("detail"));
            let mut field_errors = Vec::new();
            if detail.is_none() {
                for (key, value) in &map {
                    if key != "status_code" && key != "code" {
                        collect_field_errors(value, key, &mut field_errors);
                    }
                }
            }
            let message = detail
                .or_else(|| {
                    (!field_errors.is_empty())
                        .then(|| field_errors.iter().map(Problem::to_string).collect::<Vec<_>>().join("; "))
                })
                .unwrap_or_else(|| fallback_message(status, &text));
            ApiError { status, code, message, field_errors }
        }
        Some(Value::Array(items)) => {
            let mut field_errors = Vec::new();
            collect_field_errors(&Value::Array(items), "", &mut field_errors);
            let message = if field_errors.is_empty() {
                fallback_message(status, &text)
            } else {
                field_errors.iter().map(Problem::to_string).collect::<Vec<_>>().join("; ")
            };
            ApiError { status, code: None, message, field_errors }
        }
        _ => ApiError { status, code: None, message: fallback_message(status, &text), field_errors: Vec::new() },
    }
}

fn collect_field_errors(value: &Value, path: &str, out: &mut Vec<Problem>) {
    match value {
        Value::String(message) => out.push(Problem::new(path, message.clone())),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                match item {
                    Value::String(message) => out.push(Problem::new(path, message.clone())),
                    other => collect_field_errors(other, &format!("{path}[{index}]"), out),
                }
            }
        }
        Value::Object(map) => {
            for (key, nested) in map {
                collect_field_errors(nested, &key_path(path, key), out);
            }
        }
        _ => {}
    }
}

fn fallback_message(status: u16, raw: &str) -> String {
    let excerpt: String = raw.trim().chars().take(RAW_EXCERPT_CHARS).collect();
    if excerpt.is_empty() {
        format!("HTTP {status} with an empty body")
    } else {
        excerpt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_detail() {
        let e = parse(401, br#"{"detail": "Authentication credentials were not provided."}"#);
        assert_eq!(
            (e.status, e.code.as_deref(), e.message.as_str()),
            (401, None, "Authentication credentials were not provided.")
        );
    }

    #[test]
    fn spotdraft_error_object() {
        let e = parse(400, br#"{"detail": "Record Type: Account does not match.", "status_code": 400, "code": "SD_INTEGRATIONS_00030", "message": "Record Type: Account does not match the Object Configuration Name: Opportunity."}"#);
        assert_eq!(e.code.as_deref(), Some("SD_INTEGRATIONS_00030"));
        assert_eq!(e.message, "Record Type: Account does not match the Object Configuration Name: Opportunity.");
    }

    #[test]
    fn field_keyed_validation() {
        let e = parse(400, br#"{"priority": ["Input should be 'LOW', 'MEDIUM' or 'HIGH'"], "assignees": {"0": {"entity_id": ["Field required"]}}}"#);
        assert_eq!(e.code, None);
        assert_eq!(
            e.field_errors,
            vec![
                Problem::new("assignees.0.entity_id", "Field required"),
                Problem::new("priority", "Input should be 'LOW', 'MEDIUM' or 'HIGH'")
            ]
        );
        assert!(e.message.contains("assignees.0.entity_id: Field required"));
    }

    #[test]
    fn anything_else_is_quoted_not_lost() {
        assert_eq!(parse(502, b"<html>Bad gateway</html>").message, "<html>Bad gateway</html>");
        assert_eq!(parse(503, b"").message, "HTTP 503 with an empty body");
        assert_eq!(parse(500, &[0xff, 0xfe]).status, 500);
        assert_eq!(parse(400, br#"["Contract data is invalid"]"#).message, "Contract data is invalid");
        assert!(parse(500, "x".repeat(10_000).as_bytes()).message.len() <= RAW_EXCERPT_CHARS);
    }
}
