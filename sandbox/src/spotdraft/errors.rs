//! SpotDraft's three error body shapes (docs/spotdraft-api.md §12.2).

use crate::http::Response;
use serde_json::{json, Map, Value};

/// Shape 1, the framework default: `{"detail": "..."}`.
pub fn detail(status: u16, message: &str) -> Response {
    Response::json(status, &json!({ "detail": message }))
}

pub fn not_found() -> Response {
    detail(404, "Not Found")
}

/// Shape 2, the public error object. `code` is included only where SpotDraft's code is known.
pub fn public_error(status: u16, message: &str, code: Option<&str>) -> Response {
    let mut body = json!({ "detail": message, "status_code": status, "message": message });
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    Response::json(status, &body)
}

/// Shape 3, field-keyed validation errors.
pub fn fields(errors: Map<String, Value>) -> Response {
    Response::json(400, &Value::Object(errors))
}

pub fn field(name: &str, message: &str) -> Response {
    Response::json(400, &json!({ name: [message] }))
}

/// Body parse failures, worded like Django REST framework's parser error.
pub fn malformed_json(error: &serde_json::Error) -> Response {
    detail(400, &format!("JSON parse error - {error}"))
}

/// Parses a JSON request body; an empty body counts as `{}` like DRF does for optional bodies.
pub fn parse_body(body: &[u8]) -> Result<Value, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|error| malformed_json(&error))
}

/// Parses a body that must be a JSON object.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Response> {
    match parse_body(body)? {
        Value::Object(object) => Ok(object),
        other => Err(detail(400, &format!("Invalid data. Expected a dictionary, but got {}.", json_kind(&other)))),
    }
}

pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
