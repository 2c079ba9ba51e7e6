//! HubSpot CRM v3 objects API, deals.
//!
//! Shapes follow HubSpot's "Deals" guide (<https://developers.hubspot.com/docs/api/crm/deals>) and the
//! API reference page "Update" for deals
//! (<https://developers.hubspot.com/docs/api-reference/crm-deals-v3/basic/patch-crm-v3-objects-0-3-dealId>;
//! `0-3` and `deals` name the same object):
//! - read: `GET …/crm/v3/objects/deals/{id}?properties=a,b`, answer `{"id", "properties": {…}}`;
//! - write: `PATCH …/crm/v3/objects/deals/{id}` with `{"properties": {…}}`; only the properties sent change;
//! - errors: `{"status": "error", "message", "category", "correlationId"}`.
//!
//! Auth: `Authorization: Bearer <OAuth access token or private-app token>`.

use serde_json::{json, Map, Value};

use crate::crm::{message_with_code, str_at};
use crate::transport::Method;

pub(super) fn read_url(base: &str, id: &str, names: &str) -> String {
    format!("{base}/crm/v3/objects/deals/{id}?properties={names}")
}

pub(super) fn record_fields(body: &Value) -> Result<&Map<String, Value>, String> {
    body.get("properties").and_then(Value::as_object).ok_or_else(|| "the answer has no properties object".into())
}

pub(super) fn write(base: &str, id: &str, fields: Map<String, Value>) -> (Method, String, Value) {
    (Method::Patch, format!("{base}/crm/v3/objects/deals/{id}"), json!({ "properties": fields }))
}

pub(super) fn error_text(body: &Value) -> Option<String> {
    message_with_code(str_at(body, "message"), str_at(body, "category"))
}
