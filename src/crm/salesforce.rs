//! Salesforce REST API, Opportunity records (API version 62.0).
//!
//! Shapes follow the REST API Developer Guide
//! (<https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/>):
//! - read: "Get Field Values from a Standard Object Record" (`dome_get_field_values.htm`),
//!   `GET /services/data/vXX.X/sobjects/{object}/{id}?fields=A,B`, a flat record plus `attributes`;
//! - write: "Update a Record" (`dome_update_fields.htm`), `PATCH` on the same path with a flat body of
//!   field API names; 204 and no body on success; fields not sent are unchanged;
//! - errors: "Status Codes and Error Responses" (`errorcodes.htm`), an array of
//!   `{"message", "errorCode", "fields"}`.
//!
//! Auth: `Authorization: Bearer <OAuth access token>`.

use serde_json::{Map, Value};

use crate::crm::{message_with_code, str_at};
use crate::transport::Method;

pub(super) const API_VERSION: &str = "v62.0";

pub(super) fn read_url(base: &str, id: &str, names: &str) -> String {
    format!("{base}/services/data/{API_VERSION}/sobjects/Opportunity/{id}?fields={names}")
}

pub(super) fn record_fields(body: &Value) -> Result<&Map<String, Value>, String> {
    body.as_object().ok_or_else(|| "the answer is not a record object".into())
}

pub(super) fn write(base: &str, id: &str, fields: Map<String, Value>) -> (Method, String, Value) {
    (Method::Patch, format!("{base}/services/data/{API_VERSION}/sobjects/Opportunity/{id}"), Value::Object(fields))
}

pub(super) fn error_text(body: &Value) -> Option<String> {
    match body {
        Value::Array(errors) => {
            let texts: Vec<String> = errors.iter().filter_map(one_error).collect();
            (!texts.is_empty()).then(|| texts.join("; "))
        }
        // OAuth failures come as `{"error", "error_description"}`.
        Value::Object(_) => {
            one_error(body).or_else(|| message_with_code(str_at(body, "error_description"), str_at(body, "error")))
        }
        _ => None,
    }
}

fn one_error(error: &Value) -> Option<String> {
    let text = message_with_code(str_at(error, "message"), str_at(error, "errorCode"))?;
    let fields: Vec<&str> = error
        .get("fields")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Some(if fields.is_empty() { text } else { format!("{text} (fields: {})", fields.join(", ")) })
}
