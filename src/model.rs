//! The canonical vocabulary shared by every part of the plugin: environments, CRM hosts, record keys,
//! SpotDraft contract ids and statuses, and the summary of a contract the sidebar and CRM show.

use std::fmt;

use serde::{Deserialize, Serialize};

/// SpotDraft UAT and production are separate workspaces; nothing crosses between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Uat,
    Production,
}

impl Environment {
    pub fn parse(text: &str) -> Option<Environment> {
        match text {
            "uat" => Some(Environment::Uat),
            "production" => Some(Environment::Production),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Uat => "uat",
            Environment::Production => "production",
        }
    }
}

/// The CRM the sidebar is embedded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum CrmHost {
    Hubspot,
    Salesforce,
    Zoho,
    Pipedrive,
}

impl CrmHost {
    pub const ALL: [CrmHost; 4] = [CrmHost::Hubspot, CrmHost::Salesforce, CrmHost::Zoho, CrmHost::Pipedrive];

    pub fn parse(text: &str) -> Option<CrmHost> {
        CrmHost::ALL.into_iter().find(|host| host.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CrmHost::Hubspot => "hubspot",
            CrmHost::Salesforce => "salesforce",
            CrmHost::Zoho => "zoho",
            CrmHost::Pipedrive => "pipedrive",
        }
    }

    /// The deal-like object a contract hangs off, in the key's lower-case form.
    pub fn deal_object(self) -> &'static str {
        match self {
            CrmHost::Salesforce => "opportunity",
            _ => "deal",
        }
    }

    /// `external_metadata.record_type`: the object's name as the CRM itself spells it.
    pub fn record_type(self) -> &'static str {
        match self {
            CrmHost::Hubspot => "deals",
            CrmHost::Salesforce => "Opportunity",
            CrmHost::Zoho => "Deals",
            CrmHost::Pipedrive => "deal",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            CrmHost::Hubspot => "HubSpot",
            CrmHost::Salesforce => "Salesforce",
            CrmHost::Zoho => "Zoho CRM",
            CrmHost::Pipedrive => "Pipedrive",
        }
    }
}

/// Whether an id from a CRM (tenant, record) is safe to embed in a record key and a URL path.
pub fn is_valid_crm_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The stable key of a CRM record, written to SpotDraft's `external_metadata.id` and used for
/// every lookup: `<crm>:<tenant>:<object>:<id>`, e.g. `hubspot:4411223:deal:1001`. Contracts are
/// never joined to records by title or name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordKey {
    pub crm: CrmHost,
    pub tenant: String,
    pub object: String,
    pub id: String,
}

impl RecordKey {
    pub fn for_deal(crm: CrmHost, tenant: &str, deal_id: &str) -> RecordKey {
        RecordKey { crm, tenant: tenant.to_string(), object: crm.deal_object().to_string(), id: deal_id.to_string() }
    }

    /// Parses a key written by this plugin; `None` for ids written by anything else.
    pub fn parse(text: &str) -> Option<RecordKey> {
        let mut parts = text.split(':');
        let crm = CrmHost::parse(parts.next()?)?;
        let tenant = parts.next()?;
        let object = parts.next()?;
        let id = parts.next()?;
        let valid = parts.next().is_none()
            && is_valid_crm_id(tenant)
            && is_valid_crm_id(id)
            && !object.is_empty()
            && object.bytes().all(|b| b.is_ascii_lowercase());
        valid.then(|| RecordKey { crm, tenant: tenant.to_string(), object: object.to_string(), id: id.to_string() })
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}:{}", self.crm.as_str(), self.tenant, self.object, self.id)
    }
}

/// SpotDraft's composite contract id: `T-123` (template workflow) or `H-123` (historical).
/// The number is the integer id used in webhooks and web-app links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContractId {
    pub kind: ContractKind,
    pub number: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContractKind {
    Template,
    Historical,
}

impl ContractId {
    /// Contracts this plugin creates come from templates, so a bare integer from a webhook or a
    /// lookup result names a `T-` contract.
    pub fn template(number: u64) -> ContractId {
        ContractId { kind: ContractKind::Template, number }
    }

    /// Parses exactly `T-<digits>` or `H-<digits>`; a bare number is refused where the API
    /// needs the composite form.
    pub fn parse(text: &str) -> Option<ContractId> {
        let (kind, digits) = match text.split_at_checked(2)? {
            ("T-", digits) => (ContractKind::Template, digits),
            ("H-", digits) => (ContractKind::Historical, digits),
            _ => return None,
        };
        if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number: u64 = digits.parse().ok()?;
        (number > 0).then_some(ContractId { kind, number })
    }
}

impl fmt::Display for ContractId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.kind {
            ContractKind::Template => "T",
            ContractKind::Historical => "H",
        };
        write!(f, "{prefix}-{}", self.number)
    }
}

impl Serialize for ContractId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ContractId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ContractId::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("\"{text}\" is not a contract id such as T-123")))
    }
}

/// A contract's display status. Values SpotDraft may add later are kept verbatim, not rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContractStatus {
    Draft,
    Redlining,
    Sign,
    Executed,
    OnHold,
    Voided,
    Other(String),
}

impl ContractStatus {
    /// Every status SpotDraft is known to send.
    pub const KNOWN: [ContractStatus; 6] = [
        ContractStatus::Draft,
        ContractStatus::Redlining,
        ContractStatus::Sign,
        ContractStatus::Executed,
        ContractStatus::OnHold,
        ContractStatus::Voided,
    ];

    pub fn parse(text: &str) -> ContractStatus {
        match text {
            "DRAFT" => ContractStatus::Draft,
            "REDLINING" => ContractStatus::Redlining,
            "SIGN" => ContractStatus::Sign,
            "EXECUTED" => ContractStatus::Executed,
            "ON_HOLD" => ContractStatus::OnHold,
            "VOIDED" => ContractStatus::Voided,
            other => ContractStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ContractStatus::Draft => "DRAFT",
            ContractStatus::Redlining => "REDLINING",
            ContractStatus::Sign => "SIGN",
            ContractStatus::Executed => "EXECUTED",
            ContractStatus::OnHold => "ON_HOLD",
            ContractStatus::Voided => "VOIDED",
            ContractStatus::Other(raw) => raw,
        }
    }

    /// A voided contract no longer counts as the deal's contract; a new one may be created.
    pub fn is_live(&self) -> bool {
        *self != ContractStatus::Voided
    }

    /// No further status change is expected: stop polling.
    pub fn is_terminal(&self) -> bool {
        matches!(self, ContractStatus::Executed | ContractStatus::Voided)
    }

    /// The status in a seller's words.
    pub fn label(&self) -> String {
        match self {
            ContractStatus::Draft => "Draft".into(),
            ContractStatus::Redlining => "In review".into(),
            ContractStatus::Sign => "Out for signature".into(),
            ContractStatus::Executed => "Executed".into(),
            ContractStatus::OnHold => "On hold".into(),
            ContractStatus::Voided => "Voided".into(),
            ContractStatus::Other(raw) => {
                // Status values are ASCII UPPER_SNAKE; ASCII casing keeps Unicode tables out of the sidebar,
                // and one pass over the characters keeps a string searcher out of it.
                let mut label = String::with_capacity(raw.len());
                for (index, c) in raw.chars().enumerate() {
                    label.push(match c {
                        '_' => ' ',
                        c if index == 0 => c.to_ascii_uppercase(),
                        c => c.to_ascii_lowercase(),
                    });
                }
                label
            }
        }
    }
}

impl Serialize for ContractStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ContractStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| ContractStatus::parse(&s))
    }
}

crate::shell_types::shell_struct! {
    /// What the sidebar and the CRM record show about one contract: the relay writes it, the
    /// sidebar reads it, and the TypeScript says it, all from this declaration.
    pub struct ContractSummary as "ContractSummary" {
        /// Composite id, e.g. "T-4322".
        id: ContractId => "id",
        /// The integer id used in webhooks and web-app links.
        number: u64 => "number",
        name: String => "name",
        status: ContractStatus => "status",
        /// The status in a seller's words.
        status_label: String => "statusLabel",
        /// Always an https://app.spotdraft.com/… URL.
        link: String => "link",
        counterparty_name: Option<String> => "counterpartyName",
        contract_type_name: Option<String> => "contractTypeName",
        created: Option<String> => "created",
        /// `external_metadata.id` as SpotDraft holds it.
        external_id: Option<String> => "externalId",
        /// When the status shown became true (SpotDraft's activity time, ISO 8601), as the CRM
        /// record holds it; null when the record does not show this contract.
        status_at: Option<String> => "statusAt",
        /// When the contract was executed (SpotDraft's activity time), as the CRM record holds it.
        executed_at: Option<String> => "executedAt",
        /// When the relay last knew this to be SpotDraft's state (it answers sidebars from what it
        /// knows); null for a list read just now.
        as_of: Option<String> => "asOf",
        /// The template it was made from, as the contract's own record says (written at create).
        template_id: Option<u64> => "templateId",
        contract_type_id: Option<u64> => "contractTypeId",
        /// Which of the deal's slots it fills (`crate::slots`), set by the relay; null from older relays.
        slot: Option<String> => "slot",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_ids_are_strict() {
        assert_eq!(ContractId::parse("T-123").unwrap().to_string(), "T-123");
        assert_eq!(ContractId::parse("H-9").unwrap().kind, ContractKind::Historical);
        for bad in ["123", "T123", "t-123", "T-", "T-0", "T-12a", "X-1", "T--1", "T-99999999999999999999", "", "T"] {
            assert_eq!(ContractId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn record_keys_round_trip_and_reject_foreign_ids() {
        let key = RecordKey::for_deal(CrmHost::Hubspot, "4411223", "1001");
        assert_eq!(key.to_string(), "hubspot:4411223:deal:1001");
        assert_eq!(RecordKey::parse("hubspot:4411223:deal:1001"), Some(key));
        assert_eq!(
            RecordKey::parse("salesforce:00D5g:opportunity:0065g00000AbCdEAAV").unwrap().id,
            "0065g00000AbCdEAAV"
        );
        for foreign in [
            "hubspot-deal-10024",
            "hubspot:1:deal",
            "hubspot:1:deal:2:3",
            "notacrm:1:deal:2",
            "hubspot:1:deal:a b",
            "hubspot::deal:1",
        ] {
            assert_eq!(RecordKey::parse(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn statuses_keep_unknown_values() {
        assert_eq!(ContractStatus::parse("SIGN").label(), "Out for signature");
        let future = ContractStatus::parse("AWAITING_APPROVAL");
        assert_eq!(future.as_str(), "AWAITING_APPROVAL");
        assert_eq!(future.label(), "Awaiting approval");
        assert!(future.is_live() && !future.is_terminal());
        assert!(!ContractStatus::Voided.is_live());
    }
}
