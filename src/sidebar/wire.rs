//! The sidebar's JSON, read by hand: messages from the shell (which carry the relay's answers) and
//! effects. Written against `serde_json::Value` directly instead of derived deserializers, because
//! every derived type read through `Value` costs the sidebar's download several kilobytes of
//! generic code and pulls in serde's error formatting (floats included); these few readers are
//! shared by all of them. Errors name the key that was wrong, e.g. `contracts[1].status`.

use serde_json::{Map, Value};

use super::{Effect, HostDeal, Msg, RemoteError, SidebarConfig, TemplateChoice};
use crate::deal::Deal;
use crate::error::Problem;
use crate::json_input::{index_path, key_path, type_name};
use crate::json_output::{object as json_object, ToJson};
use crate::model::{ContractId, ContractStatus, ContractSummary};

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

fn unsigned(map: &Map<String, Value>, path: &str, key: &str) -> Read<u64> {
    let value = required(map, path, key)?;
    value.as_u64().ok_or_else(|| expected("a non-negative integer", value, path, key))
}

fn boolean(map: &Map<String, Value>, path: &str, key: &str) -> Read<bool> {
    let value = required(map, path, key)?;
    value.as_bool().ok_or_else(|| expected("true or false", value, path, key))
}

/// Absent or null is `false`.
fn flag(map: &Map<String, Value>, path: &str, key: &str) -> Read<bool> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(_) => boolean(map, path, key),
    }
}

fn contract_id(map: &Map<String, Value>, path: &str, key: &str) -> Read<ContractId> {
    let text = string(map, path, key)?;
    ContractId::parse(&text)
        .ok_or_else(|| format!("{}: \"{text}\" is not a contract id such as T-123", key_path(path, key)))
}

fn status(map: &Map<String, Value>, path: &str, key: &str) -> Read<ContractStatus> {
    string(map, path, key).map(|text| ContractStatus::parse(&text))
}

fn expected(what: &str, found: &Value, path: &str, key: &str) -> String {
    format!("{}: expected {what}, found {}", key_path(path, key), type_name(found))
}

/// Every item of an array field, each read by `item` under its own index path.
fn list<T>(map: &Map<String, Value>, path: &str, key: &str, item: impl Fn(&Value, &str) -> Read<T>) -> Read<Vec<T>> {
    let here = key_path(path, key);
    let value = required(map, path, key)?;
    let items = value.as_array().ok_or_else(|| expected("an array", value, path, key))?;
    items.iter().enumerate().map(|(index, value)| item(value, &index_path(&here, index))).collect()
}

/// A string item of a list.
fn text(value: &Value, path: &str) -> Read<String> {
    value.as_str().map(str::to_string).ok_or_else(|| format!("{path}: expected a string, found {}", type_name(value)))
}

pub fn problem(value: &Value, path: &str) -> Read<Problem> {
    let map = object(value, path)?;
    Ok(Problem { path: string(map, path, "path")?, message: string(map, path, "message")? })
}

/// `problems` when present, else none.
fn problems(map: &Map<String, Value>, path: &str) -> Read<Vec<Problem>> {
    match map.get("problems") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => list(map, path, "problems", problem),
    }
}

pub fn remote_error(value: &Value, path: &str) -> Read<RemoteError> {
    let map = object(value, path)?;
    Ok(RemoteError {
        code: string(map, path, "code")?,
        message: string(map, path, "message")?,
        problems: problems(map, path)?,
        transient: flag(map, path, "transient")?,
    })
}

pub fn contract_summary(value: &Value, path: &str) -> Read<ContractSummary> {
    let map = object(value, path)?;
    Ok(ContractSummary {
        id: contract_id(map, path, "id")?,
        number: unsigned(map, path, "number")?,
        name: string(map, path, "name")?,
        status: status(map, path, "status")?,
        status_label: string(map, path, "statusLabel")?,
        link: string(map, path, "link")?,
        counterparty_name: optional_string(map, path, "counterpartyName")?,
        contract_type_name: optional_string(map, path, "contractTypeName")?,
        created: optional_string(map, path, "created")?,
        external_id: optional_string(map, path, "externalId")?,
        status_at: optional_string(map, path, "statusAt")?,
        executed_at: optional_string(map, path, "executedAt")?,
        as_of: optional_string(map, path, "asOf")?,
    })
}

fn template_choice(value: &Value, path: &str) -> Read<TemplateChoice> {
    let map = object(value, path)?;
    Ok(TemplateChoice { template_id: unsigned(map, path, "templateId")?, label: string(map, path, "label")? })
}

pub fn sidebar_config(value: &Value, path: &str) -> Read<SidebarConfig> {
    let map = object(value, path)?;
    let environment = string(map, path, "environment")?;
    Ok(SidebarConfig {
        environment: crate::model::Environment::parse(&environment)
            .ok_or_else(|| format!("{}: \"{environment}\" is not uat or production", key_path(path, "environment")))?,
        creation_stages: list(map, path, "creationStages", text)?,
        // Absent (an older relay): stages are shown by their values.
        stage_labels: match map.get("stageLabels") {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => {
                let labels_path = key_path(path, "stageLabels");
                let labels = value.as_object().ok_or_else(|| expected("an object", value, path, "stageLabels"))?;
                let mut out = Vec::new();
                for stage in labels.keys() {
                    out.push((stage.clone(), string(labels, &labels_path, stage)?));
                }
                out
            }
        },
        templates: list(map, path, "templates", template_choice)?,
        // Absent means no download may open (an older relay): every download link is then refused.
        download_origins: match map.get("downloadOrigins") {
            None | Some(Value::Null) => Vec::new(),
            Some(_) => list(map, path, "downloadOrigins", text)?,
        },
    })
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

/// The CRM's deal as the relay answered it, checked like every canonical deal.
fn crm_deal(value: &Value) -> Read<Deal> {
    Deal::from_json(value).map_err(|error| error.to_string())
}

impl Msg {
    /// Reads a message from the shell (`{"type": "sendClicked", "contractId": "T-8"}`). Relay answers
    /// arrive inside messages, so this is also where they are validated.
    pub fn from_json(value: &Value) -> Read<Msg> {
        let map = object(value, "")?;
        let kind = map.get("type").and_then(Value::as_str).ok_or("a message needs a type")?;
        let contract = || contract_id(map, "", "contractId");
        let template = || unsigned(map, "", "templateId");
        let error = || remote_error(required(map, "", "error")?, "error");
        Ok(match kind {
            "start" => Msg::Start,
            "tick" => Msg::Tick,
            "retryClicked" => Msg::RetryClicked,
            "dismissNotice" => Msg::DismissNotice,
            "createClicked" => Msg::CreateClicked,
            "configLoaded" => Msg::ConfigLoaded { config: sidebar_config(required(map, "", "config")?, "config")? },
            "configFailed" => Msg::ConfigFailed { error: error()? },
            "dealLoaded" => Msg::DealLoaded { deal: Box::new(crm_deal(required(map, "", "deal")?)?) },
            "dealFailed" => Msg::DealFailed { error: error()? },
            "contractsLoaded" => Msg::ContractsLoaded { contracts: list(map, "", "contracts", contract_summary)? },
            "contractsFailed" => Msg::ContractsFailed { error: error()? },
            "previewLoaded" => {
                Msg::PreviewLoaded { template_id: template()?, preview: required(map, "", "preview")?.clone() }
            }
            "previewFailed" => Msg::PreviewFailed { template_id: template()?, error: error()? },
            "templateSelected" => Msg::TemplateSelected { template_id: template()? },
            "created" => Msg::Created {
                contract: contract_summary(required(map, "", "contract")?, "contract")?,
                created: boolean(map, "", "created")?,
            },
            "createFailed" => Msg::CreateFailed { error: error()? },
            "sendClicked" => Msg::SendClicked { contract_id: contract()? },
            "sent" => Msg::Sent { contract_id: contract()?, status: status(map, "", "status")? },
            "sendFailed" => Msg::SendFailed { contract_id: contract()?, error: error()? },
            "downloadClicked" => Msg::DownloadClicked { contract_id: contract()? },
            "downloadReady" => Msg::DownloadReady { contract_id: contract()?, url: string(map, "", "url")? },
            "downloadFailed" => Msg::DownloadFailed { contract_id: contract()?, error: error()? },
            "openClicked" => Msg::OpenClicked { contract_id: contract()? },
            // Whatever the host sent along (an id, an older host's whole deal) is not read.
            "recordChanged" => Msg::RecordChanged,
            "visibilityChanged" => Msg::VisibilityChanged { visible: boolean(map, "", "visible")? },
            other => return Err(format!("unknown message type \"{other}\"")),
        })
    }
}

impl Effect {
    /// Reads an effect back from the shell, which hands the relay calls among them to `perform`.
    pub fn from_json(value: &Value) -> Read<Effect> {
        let map = object(value, "")?;
        let kind = map.get("type").and_then(Value::as_str).ok_or("an effect needs a type")?;
        Ok(match kind {
            "loadConfig" => Effect::LoadConfig,
            "loadDeal" => Effect::LoadDeal,
            "loadContracts" => Effect::LoadContracts,
            "loadPreview" => Effect::LoadPreview { template_id: unsigned(map, "", "templateId")? },
            "create" => Effect::Create { template_id: unsigned(map, "", "templateId")? },
            "send" => Effect::Send { contract_id: contract_id(map, "", "contractId")? },
            "download" => Effect::Download { contract_id: contract_id(map, "", "contractId")? },
            "openUrl" => Effect::OpenUrl { url: string(map, "", "url")? },
            "scheduleTick" => Effect::ScheduleTick { in_ms: unsigned(map, "", "inMs")? },
            "cancelTick" => Effect::CancelTick,
            other => return Err(format!("unknown effect type \"{other}\"")),
        })
    }
}

impl ToJson for Effect {
    fn to_json(&self) -> Value {
        let id = |contract_id: &ContractId| contract_id.to_string().to_json();
        match self {
            Effect::LoadConfig => json_object([("type", "loadConfig".to_json())]),
            Effect::LoadDeal => json_object([("type", "loadDeal".to_json())]),
            Effect::LoadContracts => json_object([("type", "loadContracts".to_json())]),
            Effect::LoadPreview { template_id } => {
                json_object([("type", "loadPreview".to_json()), ("templateId", template_id.to_json())])
            }
            Effect::Create { template_id } => {
                json_object([("type", "create".to_json()), ("templateId", template_id.to_json())])
            }
            Effect::Send { contract_id } => json_object([("type", "send".to_json()), ("contractId", id(contract_id))]),
            Effect::Download { contract_id } => {
                json_object([("type", "download".to_json()), ("contractId", id(contract_id))])
            }
            Effect::OpenUrl { url } => json_object([("type", "openUrl".to_json()), ("url", url.to_json())]),
            Effect::ScheduleTick { in_ms } => {
                json_object([("type", "scheduleTick".to_json()), ("inMs", in_ms.to_json())])
            }
            Effect::CancelTick => json_object([("type", "cancelTick".to_json())]),
        }
    }
}

impl ToJson for RemoteError {
    fn to_json(&self) -> Value {
        json_object([
            ("code", self.code.to_json()),
            ("message", self.message.to_json()),
            ("problems", self.problems.to_json()),
            ("transient", self.transient.to_json()),
        ])
    }
}
