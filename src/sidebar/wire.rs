//! The sidebar's JSON, read by hand: events from the shell and the relay's answers. Written against `serde_json::Value` directly instead of derived deserializers, because
//! every derived type read through `Value` costs the sidebar's download several kilobytes of
//! generic code and pulls in serde's error formatting (floats included); these few readers are
//! shared by all of them. Errors name the key that was wrong, e.g. `contracts[1].status`.

use serde_json::{Map, Value};

use super::{CrmDeal, Event, HostDeal, Msg, PreviewResult, RemoteError, SessionInit, SidebarConfig};
use crate::json_input::{key_path, type_name};
use crate::model::{ContractStatus, ContractSummary};
use crate::shell_types::FromShell;

type Read<T> = Result<T, String>;

/// An object's fields, or an error naming `path`.
fn object<'v>(value: &'v Value, path: &str) -> Read<&'v Map<String, Value>> {
    value.as_object().ok_or_else(|| format!("{}: expected an object, found {}", shown(path), type_name(value)))
}

fn shown(path: &str) -> &str {
    if path.is_empty() {
        "(top level)"
    } else {
        path
    }
}

/// A present, non-null field.
fn required<'v>(map: &'v Map<String, Value>, path: &str, key: &str) -> Read<&'v Value> {
    match map.get(key) {
        None | Some(Value::Null) => Err(format!("{}: is required", key_path(path, key))),
        Some(value) => Ok(value),
    }
}

fn string(map: &Map<String, Value>, path: &str, key: &str) -> Read<String> {
    let value = required(map, path, key)?;
    value.as_str().map(str::to_string).ok_or_else(|| expected("a string", value, path, key))
}

/// Absent and null are `None`; anything else must be a string.
fn optional_string(map: &Map<String, Value>, path: &str, key: &str) -> Read<Option<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(expected("a string", other, path, key)),
    }
}

fn boolean(map: &Map<String, Value>, path: &str, key: &str) -> Read<bool> {
    let value = required(map, path, key)?;
    value.as_bool().ok_or_else(|| expected("true or false", value, path, key))
}

fn status(map: &Map<String, Value>, path: &str, key: &str) -> Read<ContractStatus> {
    string(map, path, key).map(|text| ContractStatus::parse(&text))
}

fn expected(what: &str, found: &Value, path: &str, key: &str) -> String {
    format!("{}: expected {what}, found {}", key_path(path, key), type_name(found))
}

pub fn remote_error(value: &Value, path: &str) -> Read<RemoteError> {
    RemoteError::from_value(value, path)
}

/// The relay's configuration answer, read by its declaration (the one the relay writes it with).
pub fn sidebar_config(value: &Value, path: &str) -> Read<SidebarConfig> {
    SidebarConfig::from_value(value, path)
}

/// The deal a host hands the sidebar: `{ id, name? }`. The id must be a CRM record id; a name, when
/// given, is only shown until the CRM's deal is read. Any other key is ignored (older hosts sent the
/// whole mapped deal, which no decision may rest on).
pub fn host_deal(value: &Value, path: &str) -> Read<HostDeal> {
    let map = object(value, path)?;
    let id = string(map, path, "id")?;
    if !crate::model::is_valid_crm_id(&id) {
        return Err(format!(
            "{}: must be the CRM record id (letters, digits, '-' or '_', at most 64)",
            key_path(path, "id")
        ));
    }
    let name = optional_string(map, path, "name")?.map(|name| name.trim().to_string());
    if name.as_ref().is_some_and(|name| name.chars().count() > 500) {
        return Err(format!("{}: at most 500 characters", key_path(path, "name")));
    }
    Ok(HostDeal { id, name: name.filter(|name| !name.is_empty()) })
}

/// The CRM's deal as the relay answered it: an id, a name, perhaps a stage (see `CrmDeal`).
pub fn crm_deal(value: &Value) -> Read<CrmDeal> {
    let map = object(value, "deal")?;
    let id = string(map, "deal", "id")?;
    if !crate::model::is_valid_crm_id(&id) {
        return Err("deal.id: is not a CRM record id".into());
    }
    let name = string(map, "deal", "name")?;
    if name.trim().is_empty() {
        return Err("deal.name: is empty".into());
    }
    Ok(CrmDeal { id, name, stage: optional_string(map, "deal", "stage")?, fields: value.clone() })
}

/// The deal's contracts, a list at the top of the answer (each read by its declaration, the one the
/// relay writes it with).
pub fn contract_list(value: &Value, path: &str) -> Read<Vec<ContractSummary>> {
    Vec::<ContractSummary>::from_value(value, path)
}

/// What the relay's preview says about the deal: `{canCreate, problems?}` (the values it would send
/// are not needed here).
pub fn preview(value: &Value, path: &str) -> Read<PreviewResult> {
    let map = object(value, path)?;
    Ok(PreviewResult {
        can_create: boolean(map, path, "canCreate")?,
        problems: crate::shell_types::field(map, path, "problems")?,
    })
}

/// Create's answer: `{contract, created}`.
pub fn created(value: &Value) -> Read<(ContractSummary, bool)> {
    let map = object(value, "")?;
    Ok((crate::shell_types::field(map, "", "contract")?, boolean(map, "", "created")?))
}

/// Send's answer: `{status, …}`.
pub fn sent_status(value: &Value) -> Read<ContractStatus> {
    status(object(value, "")?, "", "status")
}

/// The download link's answer: `{url, …}`.
pub fn download_url(value: &Value) -> Read<String> {
    string(object(value, "")?, "", "url")
}

/// One part of an answer that carries several (the first view): `{"ok": value}`, or the relay's
/// error envelope `{"error": {code, message, …}}` for a part that failed on its own.
pub fn answer_part(part: Option<Value>, key: &str) -> Result<Value, RemoteError> {
    let unreadable = |what: &str| RemoteError::unreadable(format!("{key}: {what}"));
    let Some(Value::Object(mut map)) = part else {
        return Err(unreadable("expected {\"ok\": …} or {\"error\": …}"));
    };
    if let Some(value) = map.get_mut("ok").map(Value::take) {
        return Ok(value);
    }
    match map.get("error") {
        Some(error) => Err(remote_error(error, &key_path(key, "error")).map_err(|reason| unreadable(&reason))?),
        None => Err(unreadable("expected {\"ok\": …} or {\"error\": …}")),
    }
}

/// `init`: `{ environment, relayUrl, token, tzOffsetMinutes? }`; a problem names its key.
pub fn session_init(value: &Value) -> Result<SessionInit, crate::Error> {
    const KEYS: [&str; 4] = ["environment", "relayUrl", "token", "tzOffsetMinutes"];
    let invalid = |key: &str, message: String| crate::Error::invalid_input(key_path("init", key), message);
    let map = value.as_object().ok_or_else(|| crate::Error::invalid_input("init", "expected an object"))?;
    if let Some(unknown) = map.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(invalid(unknown, format!("unknown key; expected one of: {}", KEYS.join(", "))));
    }
    let text = |key: &str| string(map, "init", key).map_err(|_| invalid(key, "expected a string".into()));
    let environment = text("environment")?;
    let tz_offset_minutes = match map.get("tzOffsetMinutes") {
        None | Some(Value::Null) => Some(0),
        Some(value) => value.as_i64().and_then(|minutes| i32::try_from(minutes).ok()).filter(|m| m.abs() <= 24 * 60),
    };
    Ok(SessionInit {
        environment: crate::model::Environment::parse(&environment)
            .ok_or_else(|| invalid("environment", format!("\"{environment}\" is not uat or production")))?,
        relay_url: text("relayUrl")?,
        token: text("token")?,
        tz_offset_minutes: tz_offset_minutes
            .ok_or_else(|| invalid("tzOffsetMinutes", "expected whole minutes within a day".into()))?,
    })
}

impl Msg {
    /// Reads an event from the shell (`{"type": "sendClicked", "contractId": "T-8"}`, see `Event`):
    /// clicks, host events and ticks. Relay answers never come this way.
    pub fn from_json(value: &Value) -> Read<Msg> {
        Event::from_value(value, "").map(Msg::from)
    }
}
