//! The sidebar's readers for what has no declaration of its own in `shell_types`: the host's
//! deal and `init` (checked beyond their types), the CRM's deal as far as the sidebar uses it, and
//! the small answers of single relay calls. Built from the same field readers (`shell_types::field`)
//! as every declared type, so errors name the key the same way (`contract.number: is required`).

use serde_json::Value;

use super::{CrmDeal, Event, HostDeal, Msg, PreviewResult, RemoteError, SessionInit, SidebarConfig, SidebarInit};
use crate::json_input::key_path;
use crate::model::{ContractStatus, ContractSummary};
use crate::shell_types::{field, object, FromShell};

type Read<T> = Result<T, String>;

pub fn remote_error(value: &Value, path: &str) -> Read<RemoteError> {
    RemoteError::from_value(value, path)
}

/// The relay's configuration answer, read by its declaration (the one the relay writes it with).
pub fn sidebar_config(value: &Value, path: &str) -> Read<SidebarConfig> {
    SidebarConfig::from_value(value, path)
}

/// The deal a host hands the sidebar, read by its declaration (`HostDeal`) and checked beyond its
/// types: the id must be a CRM record id; a name, when given, is only shown until the CRM's deal is
/// read.
pub fn host_deal(value: &Value, path: &str) -> Read<HostDeal> {
    let deal = HostDeal::from_value(value, path)?;
    if !crate::model::is_valid_crm_id(&deal.id) {
        return Err(format!(
            "{}: must be the CRM record id (letters, digits, '-' or '_', at most 64)",
            key_path(path, "id")
        ));
    }
    let name = deal.name.map(|name| name.trim().to_string());
    if name.as_ref().is_some_and(|name| name.char_indices().nth(500).is_some()) {
        return Err(format!("{}: at most 500 characters", key_path(path, "name")));
    }
    Ok(HostDeal { id: deal.id, name: name.filter(|name| !name.is_empty()) })
}

/// The CRM's deal as the relay answered it: an id, a name, perhaps a stage (see `CrmDeal`).
pub fn crm_deal(value: &Value) -> Read<CrmDeal> {
    let map = object(value, "deal")?;
    let id: String = field(map, "deal", "id")?;
    if !crate::model::is_valid_crm_id(&id) {
        return Err("deal.id: is not a CRM record id".into());
    }
    let name: String = field(map, "deal", "name")?;
    if name.trim().is_empty() {
        return Err("deal.name: is empty".into());
    }
    Ok(CrmDeal { id, name, stage: field(map, "deal", "stage")?, fields: crate::json_output::to_text(value) })
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
    Ok(PreviewResult { can_create: field(map, path, "canCreate")?, problems: field(map, path, "problems")? })
}

/// Create's answer: `{contract, created}`.
pub fn created(value: &Value) -> Read<(ContractSummary, bool)> {
    let map = object(value, "")?;
    Ok((field(map, "", "contract")?, field(map, "", "created")?))
}

/// Send's answer: `{status, …}`.
pub fn sent_status(value: &Value) -> Read<ContractStatus> {
    field(object(value, "")?, "", "status")
}

/// The download link's answer: `{url, …}`.
pub fn download_url(value: &Value) -> Read<String> {
    field(object(value, "")?, "", "url")
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

/// `init`, read by its declaration (`SidebarInit`), refusing keys it does not name and an offset
/// beyond a day; a problem names its key.
pub fn session_init(value: &Value) -> Result<SessionInit, crate::Error> {
    let map = value.as_object().ok_or_else(|| crate::Error::invalid_input("init", "expected an object"))?;
    if let Some((unknown, _)) = map.iter().find(|(key, _)| !SidebarInit::KEYS.contains(&key.as_str())) {
        let message = format!("unknown key; expected one of: {}", SidebarInit::KEYS.join(", "));
        return Err(crate::Error::invalid_input(key_path("init", unknown), message));
    }
    // A char, not a string, splits the reader's "path: message": a string pattern's searcher would
    // bring its panic paths and tables into the sidebar's download.
    let init = SidebarInit::from_value(value, "init").map_err(|reason| match reason.split_once(':') {
        Some((path, message)) => crate::Error::invalid_input(path, message.trim_start()),
        None => crate::Error::invalid_input("init", reason),
    })?;
    let tz_offset_minutes = init.tz_offset_minutes.unwrap_or(0);
    if tz_offset_minutes.abs() > 24 * 60 {
        return Err(crate::Error::invalid_input("init.tzOffsetMinutes", "expected whole minutes within a day"));
    }
    Ok(SessionInit { environment: init.environment, relay_url: init.relay_url, token: init.token, tz_offset_minutes })
}

impl Msg {
    /// Reads an event from the shell (`{"type": "sendClicked", "contractId": "T-8"}`, see `Event`):
    /// clicks, host events and ticks. Relay answers never come this way.
    pub fn from_json(value: &Value) -> Read<Msg> {
        Event::from_value(value, "").map(Msg::from)
    }
}
