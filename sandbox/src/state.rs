//! Everything the sandbox remembers, as one serialisable value, and its file persistence.
//!
//! The state file is rewritten (write to a temporary file, then rename) after every change, so
//! neither a clean shutdown nor a crash between requests loses anything.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxState {
    pub version: u32,
    pub seed: u64,
    /// Contract ids are global across workspaces, as in one SpotDraft cluster.
    pub next_contract_id: u64,
    pub next_webhook_id: u64,
    /// Last activity timestamp handed out; activities are strictly increasing in time.
    pub last_activity_micros: i64,
    /// Secret for signing download URLs.
    pub download_signing_key: String,
    pub workspaces: Vec<Workspace>,
    pub crm: CrmState,
    /// Salesforce, Zoho CRM and Pipedrive (absent from state files written before they existed;
    /// filled from the seed then).
    #[serde(default)]
    pub vendors: crate::vendors::VendorState,
    /// Contracts' approval steps (`spotdraft::approvals`).
    #[serde(default)]
    pub approvals: Vec<Approval>,
    #[serde(default)]
    pub next_approval_id: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Workspace {
    pub name: String,
    pub id: u64,
    pub client_id: String,
    pub client_secret: String,
    /// Base64 of 64 random bytes, as `GET /webhooks/hmac_key/` returns it.
    pub hmac_key: String,
    pub users: Vec<User>,
    pub contract_types: Vec<ContractType>,
    pub templates: Vec<Template>,
    pub contracts: Vec<Contract>,
    pub webhooks: Vec<Webhook>,
    pub activities: Vec<ActivityRecord>,
}

impl Workspace {
    pub fn contract(&self, contract_id: u64) -> Option<&Contract> {
        self.contracts.iter().find(|contract| contract.id == contract_id)
    }

    pub fn contract_mut(&mut self, contract_id: u64) -> Option<&mut Contract> {
        self.contracts.iter_mut().find(|contract| contract.id == contract_id)
    }

    pub fn template(&self, template_id: u64) -> Option<&Template> {
        self.templates.iter().find(|template| template.id == template_id)
    }

    pub fn user(&self, email: &str) -> Option<&User> {
        self.users.iter().find(|user| user.email.eq_ignore_ascii_case(email))
    }

    pub fn default_user(&self) -> Option<&User> {
        self.users.first()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub designation: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContractType {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Template {
    pub id: u64,
    pub name: String,
    pub contract_type_id: u64,
    pub tags: Vec<String>,
    /// `Individual`, `Organisation` or `Both`.
    pub counter_party_kind: String,
    /// v2.1 `CfPublicDescriptor` objects, served verbatim by the metadata route.
    pub attributes: Vec<Value>,
}

/// An ad-hoc approval step of a contract (`spotdraft::approvals`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Approval {
    pub id: u64,
    pub workspace: usize,
    pub contract_id: u64,
    pub name: String,
    pub notes: String,
    pub approver_user_id: Option<u64>,
    pub approver_role_id: Option<u64>,
    pub order: u64,
    /// `PENDING`, then `APPROVED` or `REJECTED`.
    pub status: String,
    pub sent: bool,
    /// The requester's email.
    pub created_by: String,
    pub created_micros: i64,
    pub decided_micros: Option<i64>,
    pub decision_notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Contract {
    pub id: u64,
    pub name: String,
    pub status: String,
    /// Status to return to when an `ON_HOLD` contract resumes.
    pub status_before_hold: Option<String>,
    pub template_id: u64,
    pub contract_type_id: u64,
    pub contract_type_name: String,
    pub created_micros: i64,
    pub last_updated_micros: i64,
    pub created_by: String,
    pub created_by_name: String,
    pub counter_party_name: String,
    pub counterparties: Vec<Value>,
    pub signatories: Vec<Value>,
    pub contract_data: Value,
    pub external_metadata: Option<Value>,
    pub version: u64,
    /// Extra bytes in the rendered PDF (a PDF comment), so tests can make a large document.
    #[serde(default)]
    pub document_padding: usize,
    /// Contract metadata values (`spotdraft::key_pointers`).
    #[serde(default)]
    pub key_pointers: Vec<KeyPointerValue>,
    /// Its approvals run on Approval V5, which takes no ad-hoc approvals (`spotdraft::approvals`).
    #[serde(default)]
    pub approval_v5: bool,
}

/// One metadata value of a contract: its own id, the definition it fills, the value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyPointerValue {
    pub id: u64,
    pub definition_id: u64,
    pub value: Value,
}

impl Contract {
    pub fn composite_id(&self) -> String {
        format!("T-{}", self.id)
    }

    pub fn link(&self) -> String {
        format!("https://app.spotdraft.com/contracts/v2/{}", self.id)
    }

    pub fn reference_id(&self) -> String {
        format!("SD-{}", self.id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Webhook {
    pub id: u64,
    pub title: String,
    pub url: String,
    pub description: Option<String>,
    pub only_for_activities: Vec<String>,
    pub custom_headers: BTreeMap<String, String>,
    /// `ACTIVE`, `DISABLED_BY_USER` or `DISABLED_BY_ERROR`.
    pub status: String,
    pub consecutive_failures: u32,
    pub created_by_user: User,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivityRecord {
    pub contract_id: u64,
    pub activity: String,
    pub timestamp_micros: i64,
    /// The exact delivery body (a serialised `ContractActivityDomainModel`).
    pub body: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CrmState {
    pub bearer_token: String,
    pub portal_id: u64,
    pub next_object_id: u64,
    pub deals: Vec<CrmObject>,
    pub companies: Vec<CrmObject>,
    pub contacts: Vec<CrmObject>,
    /// Names of deal properties that exist (standard and custom); others are rejected.
    pub deal_properties: Vec<String>,
    /// Definitions of the properties created through the properties API (the seeded ones are
    /// described as HubSpot describes its own).
    #[serde(default)]
    pub property_definitions: Vec<PropertyDefinition>,
    /// Deal property groups created through the API (HubSpot's own `dealinformation` always exists).
    #[serde(default)]
    pub property_groups: Vec<PropertyGroup>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PropertyDefinition {
    pub name: String,
    pub label: String,
    /// HubSpot's `type`: string, number, date, datetime, enumeration, bool.
    pub kind: String,
    pub field_type: String,
    pub group_name: String,
    pub description: String,
    pub created_micros: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PropertyGroup {
    pub name: String,
    pub label: String,
    pub display_order: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrmObject {
    pub id: u64,
    pub properties: BTreeMap<String, String>,
    pub created_micros: i64,
    pub updated_micros: i64,
    pub company_ids: Vec<u64>,
    pub contact_ids: Vec<u64>,
}

#[derive(Debug)]
pub enum LoadError {
    Unreadable(std::io::Error),
    Corrupt(serde_json::Error),
    WrongVersion(u32),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Unreadable(error) => write!(formatter, "cannot read state file: {error}"),
            LoadError::Corrupt(error) => {
                write!(formatter, "state file is not valid sandbox state: {error}")
            }
            LoadError::WrongVersion(version) => {
                write!(formatter, "state file version {version} is not supported (expected {STATE_VERSION})")
            }
        }
    }
}

/// `Ok(None)` when the file does not exist yet.
pub fn load(path: &Path) -> Result<Option<SandboxState>, LoadError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(LoadError::Unreadable(error)),
    };
    let state: SandboxState = serde_json::from_str(&text).map_err(LoadError::Corrupt)?;
    if state.version != STATE_VERSION {
        return Err(LoadError::WrongVersion(state.version));
    }
    Ok(Some(state))
}

pub fn save(path: &Path, state: &SandboxState) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(state).map_err(std::io::Error::other)?;
    let mut temporary = PathBuf::from(path);
    temporary.set_extension("tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
