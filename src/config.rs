//! The plugin's configuration document: which environment, where API calls go, which templates a
//! seller may pick and how deal fields fill them, and at which deal stages creation is allowed.
//!
//! Parsed and validated once; every problem is reported with its key path. See README §Configuration
//! for the document format.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::json_input::{describe, index_path, key_path, parse_document, Checker};
use crate::model::{is_valid_crm_id, CrmHost, Environment};
use crate::url;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub environment: Environment,
    pub crm: CrmConnection,
    pub api: ApiTarget,
    /// CRM stage values at which a contract may be created.
    pub creation_stages: Vec<String>,
    /// What sellers see for each stage value in the CRM (`qualifiedtobuy` → "Qualified to buy"):
    /// every message about stages uses these. A stage without a label is shown as its value.
    pub stage_labels: BTreeMap<String, String>,
    /// Browser origins the relay answers with CORS: the sidebar page's own origin(s). (The CRM
    /// origins that may frame the sidebar and send it host messages are the sidebar server's
    /// `hostOrigins`, www/relay/sidebar-files.js.)
    pub allowed_origins: Vec<String>,
    pub templates: Vec<TemplateConfig>,
    /// What is unique per deal (`crate::slots`).
    pub contracts_per_deal: crate::slots::ContractsPerDeal,
    /// The template whose contract the CRM record's fields show when a deal holds several; the
    /// first template when not set.
    pub record_follows: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CrmConnection {
    pub host: CrmHost,
    /// The CRM installation: HubSpot portal id, Salesforce org id, Zoho org id, Pipedrive company id.
    pub account_id: String,
}

/// Where SpotDraft calls go. Browsers always go through a relay; only server-side code talks to
/// SpotDraft directly, because only it may hold the credentials.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
pub enum ApiTarget {
    Relay { url: String },
    SpotDraft { base_url: String, region: Option<Region> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Us,
    Eu,
    In,
    Me,
}

impl Region {
    pub fn parse(text: &str) -> Option<Region> {
        match text {
            "us" => Some(Region::Us),
            "eu" => Some(Region::Eu),
            "in" => Some(Region::In),
            "me" => Some(Region::Me),
            _ => None,
        }
    }

    /// The regional API host; spec paths already start with `/api/`.
    pub fn base_url(self) -> &'static str {
        match self {
            Region::Us => "https://api.us.spotdraft.com",
            Region::Eu => "https://api.eu.spotdraft.com",
            Region::In => "https://api.in.spotdraft.com",
            Region::Me => "https://api.me.spotdraft.com",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TemplateConfig {
    pub template_id: u64,
    pub label: String,
    pub contract_type_id: u64,
    /// SpotDraft's workspace-specific organisation type label for company counterparties.
    pub organization_type: Option<String>,
    pub fields: Vec<FieldMapping>,
    /// Deal stages at which the relay creates this template's contract without a click, when the
    /// CRM tells it the deal changed (`crate::crm_events`); none by default. Each is one of
    /// `creationStages`.
    pub create_at_stages: Vec<String>,
    /// The ad-hoc approvals a seller may request for this template's contracts (`crate::approvals`),
    /// in order; none by default.
    pub approvals: Vec<AdHocApproval>,
}

/// One approval a seller may request: SpotDraft's ad-hoc approval, sent to a user or a role.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AdHocApproval {
    pub name: String,
    pub approver_user_id: Option<u64>,
    pub approver_role_id: Option<u64>,
    /// The message the approver gets.
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FieldMapping {
    /// The template variable (`contract_data` key); nested variables are `parent.child`.
    pub variable: String,
    pub source: FieldSource,
    pub encoding: Encoding,
}

/// Where a template variable's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", tag = "kind", content = "name")]
pub enum FieldSource {
    /// A canonical deal field, e.g. `deal.closeDate` or `account.name`.
    Deal(DealField),
    /// A CRM property by its CRM name (`custom.<name>`).
    Custom(String),
    /// A fixed value from the configuration.
    Constant(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
pub enum DealField {
    #[serde(rename = "deal.id")]
    DealId,
    #[serde(rename = "deal.name")]
    DealName,
    #[serde(rename = "deal.amount")]
    Amount,
    #[serde(rename = "deal.currency")]
    Currency,
    #[serde(rename = "deal.stage")]
    Stage,
    #[serde(rename = "deal.closeDate")]
    CloseDate,
    #[serde(rename = "deal.owner.name")]
    OwnerName,
    #[serde(rename = "deal.owner.email")]
    OwnerEmail,
    #[serde(rename = "account.id")]
    AccountId,
    #[serde(rename = "account.name")]
    AccountName,
    #[serde(rename = "account.address")]
    AccountAddress,
    #[serde(rename = "account.jurisdictionIsoCode")]
    AccountJurisdiction,
    #[serde(rename = "contact.firstName")]
    ContactFirstName,
    #[serde(rename = "contact.lastName")]
    ContactLastName,
    #[serde(rename = "contact.fullName")]
    ContactFullName,
    #[serde(rename = "contact.email")]
    ContactEmail,
}

impl DealField {
    pub const ALL: [(&'static str, DealField); 16] = [
        ("deal.id", DealField::DealId),
        ("deal.name", DealField::DealName),
        ("deal.amount", DealField::Amount),
        ("deal.currency", DealField::Currency),
        ("deal.stage", DealField::Stage),
        ("deal.closeDate", DealField::CloseDate),
        ("deal.owner.name", DealField::OwnerName),
        ("deal.owner.email", DealField::OwnerEmail),
        ("account.id", DealField::AccountId),
        ("account.name", DealField::AccountName),
        ("account.address", DealField::AccountAddress),
        ("account.jurisdictionIsoCode", DealField::AccountJurisdiction),
        ("contact.firstName", DealField::ContactFirstName),
        ("contact.lastName", DealField::ContactLastName),
        ("contact.fullName", DealField::ContactFullName),
        ("contact.email", DealField::ContactEmail),
    ];

    pub fn name(self) -> &'static str {
        DealField::ALL.iter().find(|(_, field)| *field == self).map(|(name, _)| *name).unwrap_or("deal")
    }
}

/// How a value is written into `contract_data` (docs/spotdraft-api.md §7).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Encoding {
    String,
    Number,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// ISO 8601 UTC.
    Datetime,
    /// The selected option's *value*; `options` translates CRM values to option values first.
    Enum {
        options: BTreeMap<String, String>,
    },
    /// An array of option values; a CRM string is split on `;` (HubSpot multi-checkbox).
    MultiSelect {
        options: BTreeMap<String, String>,
    },
    /// `{"type": <ISO 4217>, "value": number}`; the code is fixed here or taken from the deal's currency.
    Currency {
        currency: Option<String>,
    },
    /// `{"days", "type", "value"}` from a whole number of `unit`s.
    Duration {
        unit: DurationUnit,
    },
    /// `{"line_one", "city", "state", "country", "zipcode"}` from the account's address.
    Address,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "UPPERCASE")]
pub enum DurationUnit {
    Days,
    Months,
    Years,
}

impl DurationUnit {
    pub fn parse(text: &str) -> Option<DurationUnit> {
        match text {
            "DAYS" => Some(DurationUnit::Days),
            "MONTHS" => Some(DurationUnit::Months),
            "YEARS" => Some(DurationUnit::Years),
            _ => None,
        }
    }
}

const ENCODINGS: &[&str] =
    &["string", "number", "boolean", "date", "datetime", "enum", "multiSelect", "currency", "duration", "address"];

impl Config {
    /// Parses and validates a configuration document.
    pub fn parse(text: &str) -> Result<Config> {
        let value = parse_document(text, "the configuration").map_err(|p| Error::InvalidConfig(vec![p]))?;
        Config::from_json(&value)
    }

    pub fn from_json(value: &Value) -> Result<Config> {
        let mut check = Checker::default();
        let config = read_config(&mut check, value);
        match config {
            Some(config) if check.is_clean() => Ok(config),
            _ => Err(Error::InvalidConfig(check.problems)),
        }
    }

    pub fn template(&self, template_id: u64) -> Result<&TemplateConfig> {
        self.templates.iter().find(|t| t.template_id == template_id).ok_or(Error::UnknownTemplate { template_id })
    }

    pub fn stage_allows_creation(&self, stage: Option<&str>) -> bool {
        stage.is_some_and(|stage| self.creation_stages.iter().any(|allowed| allowed == stage))
    }

    /// The stage as sellers know it: its configured label, else its CRM value.
    pub fn stage_label<'a>(&'a self, stage: &'a str) -> &'a str {
        self.stage_labels.get(stage).map_or(stage, String::as_str)
    }

    /// The refusal for a deal at `stage`, worded with stage labels.
    pub fn stage_not_allowed(&self, stage: Option<&str>) -> Error {
        Error::StageNotAllowed {
            stage: stage.map(|s| self.stage_label(s).to_string()),
            allowed: self.creation_stages.iter().map(|s| self.stage_label(s).to_string()).collect(),
        }
    }
}

fn read_config(check: &mut Checker, value: &Value) -> Option<Config> {
    let map = check.object(value, "")?;
    check.no_unknown_keys(
        map,
        "",
        &[
            "environment",
            "crm",
            "api",
            "creationStages",
            "stageLabels",
            "allowedOrigins",
            "templates",
            "contractsPerDeal",
            "recordFollows",
        ],
    );
    let environment = check.required_text(map, "", "environment", 20).and_then(|text| {
        let env = Environment::parse(&text);
        if env.is_none() {
            check.problem("environment", format!("must be \"uat\" or \"production\", found \"{text}\""));
        }
        env
    });
    let crm = check.required(map, "", "crm").and_then(|v| read_crm(check, v));
    let api = check.required(map, "", "api").and_then(|v| read_api(check, v));
    let creation_stages =
        check.required(map, "", "creationStages").and_then(|v| check.text_list(v, "creationStages", 100));
    if creation_stages.as_ref().is_some_and(Vec::is_empty) {
        check.problem("creationStages", "must list at least one deal stage at which contracts may be created");
    }
    let stage_labels = match map.get("stageLabels") {
        None | Some(Value::Null) => Some(BTreeMap::new()),
        Some(v) => check.text_map(v, "stageLabels", 100),
    };
    let allowed_origins = match map.get("allowedOrigins") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(v) => check.text_list(v, "allowedOrigins", 200).inspect(|origins| {
            for (i, origin) in origins.iter().enumerate() {
                if !is_origin(origin) {
                    check.problem(
                        index_path("allowedOrigins", i),
                        format!("\"{origin}\" is not an origin like https://app.hubspot.com"),
                    );
                }
            }
        }),
    };
    let templates = check.required(map, "", "templates").and_then(|v| read_templates(check, v));
    if let (Some(templates), Some(stages)) = (&templates, &creation_stages) {
        for (i, template) in templates.iter().enumerate() {
            for (j, stage) in template.create_at_stages.iter().enumerate() {
                if !stages.contains(stage) {
                    check.problem(
                        index_path(&format!("templates[{i}].createAtStages"), j),
                        format!("\"{stage}\" is not one of creationStages, where contracts may be created at all"),
                    );
                }
            }
        }
    }
    let contracts_per_deal = match map.get("contractsPerDeal") {
        None | Some(Value::Null) => Some(crate::slots::ContractsPerDeal::default()),
        Some(v) => check.text(v, "contractsPerDeal", 40).and_then(|text| {
            let rule = crate::slots::ContractsPerDeal::parse(&text);
            if rule.is_none() {
                check.problem(
                    "contractsPerDeal",
                    format!("must be \"one\", \"perTemplate\" or \"perContractType\", found \"{text}\""),
                );
            }
            rule
        }),
    };
    let record_follows = match map.get("recordFollows") {
        None | Some(Value::Null) => Some(None),
        Some(v) => check.positive_id(v, "recordFollows").and_then(|id| {
            let offered =
                templates.as_ref().is_none_or(|list: &Vec<TemplateConfig>| list.iter().any(|t| t.template_id == id));
            if !offered {
                check.problem("recordFollows", format!("template {id} is not one of the templates offered"));
                return None;
            }
            Some(Some(id))
        }),
    };
    Some(Config {
        environment: environment?,
        crm: crm?,
        api: api?,
        creation_stages: creation_stages?,
        stage_labels: stage_labels?,
        allowed_origins: allowed_origins?,
        templates: templates?,
        contracts_per_deal: contracts_per_deal?,
        record_follows: record_follows?,
    })
}

/// `scheme://host[:port]` with nothing after it; https except on loopback.
fn is_origin(text: &str) -> bool {
    url::parse(text).is_some_and(|u| u.rest.is_empty() && url::is_secure_or_loopback(&u))
}

fn read_crm(check: &mut Checker, value: &Value) -> Option<CrmConnection> {
    let map = check.object(value, "crm")?;
    check.no_unknown_keys(map, "crm", &["host", "accountId"]);
    let host = check.required_text(map, "crm", "host", 20).and_then(|text| {
        let host = CrmHost::parse(&text);
        if host.is_none() {
            check.problem("crm.host", format!("must be one of hubspot, salesforce, zoho, pipedrive; found \"{text}\""));
        }
        host
    });
    let account_id = match check.required(map, "crm", "accountId") {
        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        Some(v) => check.text(v, "crm.accountId", 64),
        None => None,
    };
    if let Some(id) = &account_id {
        if !is_valid_crm_id(id) {
            check.problem("crm.accountId", "must be the CRM account id (letters, digits, '-' or '_')");
        }
    }
    Some(CrmConnection { host: host?, account_id: account_id? })
}

fn read_api(check: &mut Checker, value: &Value) -> Option<ApiTarget> {
    let map = check.object(value, "api")?;
    check.no_unknown_keys(map, "api", &["relayUrl", "region", "baseUrl"]);
    let given: Vec<&str> = ["relayUrl", "region", "baseUrl"].into_iter().filter(|k| map.contains_key(*k)).collect();
    match given.as_slice() {
        ["relayUrl"] => {
            let url = check.required_text(map, "api", "relayUrl", 2048)?;
            secure_url(check, &url, "api.relayUrl")
                .then(|| ApiTarget::Relay { url: url.trim_end_matches('/').to_string() })
        }
        ["region"] => {
            let text = check.required_text(map, "api", "region", 10)?;
            match Region::parse(&text) {
                Some(region) => {
                    Some(ApiTarget::SpotDraft { base_url: region.base_url().to_string(), region: Some(region) })
                }
                None => {
                    check.problem("api.region", format!("must be one of us, eu, in, me; found \"{text}\""));
                    None
                }
            }
        }
        ["baseUrl"] => {
            let url = check.required_text(map, "api", "baseUrl", 2048)?;
            secure_url(check, &url, "api.baseUrl")
                .then(|| ApiTarget::SpotDraft { base_url: url.trim_end_matches('/').to_string(), region: None })
        }
        _ => {
            check.problem(
                "api",
                "give exactly one of relayUrl (browsers), region (us|eu|in|me) or baseUrl (a local sandbox)",
            );
            None
        }
    }
}

fn secure_url(check: &mut Checker, text: &str, path: &str) -> bool {
    match url::parse(text) {
        Some(parsed) if url::is_secure_or_loopback(&parsed) => {
            if parsed.rest.contains('?') {
                check.problem(path, "must not contain a query string");
                false
            } else if parsed.rest.trim_end_matches('/').ends_with("/api") {
                check.problem(path, "must not end in /api: request paths already start with /api/");
                false
            } else {
                true
            }
        }
        Some(_) => {
            check.problem(path, "must use https (plain http is allowed only for a loopback sandbox)");
            false
        }
        None => {
            check.problem(path, format!("\"{text}\" is not an absolute http(s) URL"));
            false
        }
    }
}

fn read_templates(check: &mut Checker, value: &Value) -> Option<Vec<TemplateConfig>> {
    let items = check.array(value, "templates")?;
    if items.is_empty() {
        check.problem("templates", "must offer at least one template");
    }
    let before = check.problems.len();
    // Keep each template's position so a duplicate is reported where it stands in the document.
    let templates: Vec<(usize, TemplateConfig)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| read_template(check, item, &index_path("templates", i)).map(|t| (i, t)))
        .collect();
    for (n, (i, template)) in templates.iter().enumerate() {
        if templates.iter().take(n).any(|(_, earlier)| earlier.template_id == template.template_id) {
            check.problem(
                format!("templates[{i}].templateId"),
                format!("template {} is listed twice", template.template_id),
            );
        }
    }
    (check.problems.len() == before).then(|| templates.into_iter().map(|(_, t)| t).collect())
}

impl TemplateConfig {
    /// One template's document (`templates[i]` of the configuration) read alone, as an admin's draft
    /// is: every problem at once, located under `path`.
    pub fn from_json(value: &Value, path: &str) -> Result<TemplateConfig> {
        let mut check = Checker::default();
        match read_template(&mut check, value, path) {
            Some(template) if check.is_clean() => Ok(template),
            _ => Err(Error::InvalidInput(check.problems)),
        }
    }
}

fn read_approval(check: &mut Checker, value: &Value, path: &str) -> Option<AdHocApproval> {
    let map = check.object(value, path)?;
    check.no_unknown_keys(map, path, &["name", "approverUserId", "approverRoleId", "notes"]);
    let name = check.required_text(map, path, "name", 120);
    let notes = check.required_text(map, path, "notes", 1000);
    let id = |check: &mut Checker, key: &str| map.get(key).and_then(|v| check.positive_id(v, &key_path(path, key)));
    let user = id(check, "approverUserId");
    let role = id(check, "approverRoleId");
    if user.is_some() == role.is_some() {
        check.problem(path, "give exactly one of approverUserId or approverRoleId (SpotDraft's user or role id)");
        return None;
    }
    Some(AdHocApproval { name: name?, approver_user_id: user, approver_role_id: role, notes: notes? })
}

fn read_template(check: &mut Checker, value: &Value, path: &str) -> Option<TemplateConfig> {
    let map = check.object(value, path)?;
    check.no_unknown_keys(
        map,
        path,
        &["templateId", "label", "contractTypeId", "organizationType", "fields", "createAtStages", "approvals"],
    );
    let template_id =
        check.required(map, path, "templateId").and_then(|v| check.positive_id(v, &key_path(path, "templateId")));
    let label = check.required_text(map, path, "label", 120);
    let contract_type_id = check
        .required(map, path, "contractTypeId")
        .and_then(|v| check.positive_id(v, &key_path(path, "contractTypeId")));
    let organization_type = check.optional_text(map, path, "organizationType", 100);
    let fields_path = key_path(path, "fields");
    let fields = match map.get("fields") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(v) => check.array(v, &fields_path).map(|items| {
            let fields: Vec<(usize, FieldMapping)> = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| read_field(check, item, &index_path(&fields_path, i)).map(|f| (i, f)))
                .collect();
            for (n, (i, field)) in fields.iter().enumerate() {
                if fields.iter().take(n).any(|(_, earlier)| earlier.variable == field.variable) {
                    check.problem(
                        index_path(&fields_path, *i),
                        format!("variable \"{}\" is mapped twice", field.variable),
                    );
                }
            }
            fields.into_iter().map(|(_, f)| f).collect()
        }),
    };
    let create_at_stages = match map.get("createAtStages") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(v) => check.text_list(v, &key_path(path, "createAtStages"), 100),
    };
    let approvals = match map.get("approvals") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(v) => check.array(v, &key_path(path, "approvals")).map(|items| {
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| read_approval(check, item, &index_path(&key_path(path, "approvals"), i)))
                .collect()
        }),
    };
    Some(TemplateConfig {
        template_id: template_id?,
        label: label?,
        contract_type_id: contract_type_id?,
        organization_type,
        fields: fields?,
        create_at_stages: create_at_stages?,
        approvals: approvals?,
    })
}

fn read_field(check: &mut Checker, value: &Value, path: &str) -> Option<FieldMapping> {
    let map = check.object(value, path)?;
    check.no_unknown_keys(map, path, &["variable", "source", "value", "encoding", "options", "currency", "unit"]);
    let variable = check.required_text(map, path, "variable", 200);
    if let Some(variable) = &variable {
        let well_formed = variable.split('.').all(|part| !part.is_empty()) && !variable.contains(char::is_whitespace);
        if !well_formed {
            check.problem(key_path(path, "variable"), format!("\"{variable}\" is not a template variable name"));
        }
    }
    let source = match (map.get("source"), map.get("value")) {
        (Some(source), None) => {
            check.text(source, &key_path(path, "source"), 200).and_then(|text| read_source(check, &text, path))
        }
        (None, Some(constant)) if !constant.is_null() => Some(FieldSource::Constant(constant.clone())),
        (Some(_), Some(_)) => {
            check.problem(path, "give either source (a deal field) or value (a constant), not both");
            None
        }
        _ => {
            check.problem(key_path(path, "source"), "is required (or give a constant value)");
            None
        }
    };
    let encoding =
        check.required_text(map, path, "encoding", 20).and_then(|name| read_encoding(check, map, path, &name));
    let extras: &[(&str, &[&str])] =
        &[("options", &["enum", "multiSelect"]), ("currency", &["currency"]), ("unit", &["duration"])];
    if let Some(encoding) = map.get("encoding").and_then(Value::as_str) {
        for (key, allowed) in extras {
            if map.contains_key(*key) && !allowed.contains(&encoding) {
                check.problem(key_path(path, key), format!("only applies to encoding {}", allowed.join(" or ")));
            }
        }
    }
    Some(FieldMapping { variable: variable?, source: source?, encoding: encoding? })
}

fn read_source(check: &mut Checker, text: &str, path: &str) -> Option<FieldSource> {
    if let Some(name) = text.strip_prefix("custom.") {
        if name.is_empty() {
            check.problem(key_path(path, "source"), "custom. must be followed by the CRM property name");
            return None;
        }
        return Some(FieldSource::Custom(name.to_string()));
    }
    match DealField::ALL.iter().find(|(name, _)| *name == text) {
        Some((_, field)) => Some(FieldSource::Deal(*field)),
        None => {
            let known: Vec<&str> = DealField::ALL.iter().map(|(name, _)| *name).collect();
            check.problem(
                key_path(path, "source"),
                format!("unknown deal field \"{text}\"; use custom.<crm property> or one of: {}", known.join(", ")),
            );
            None
        }
    }
}

fn read_encoding(check: &mut Checker, map: &Map<String, Value>, path: &str, name: &str) -> Option<Encoding> {
    let options = |check: &mut Checker| -> Option<BTreeMap<String, String>> {
        match map.get("options") {
            None | Some(Value::Null) => Some(BTreeMap::new()),
            Some(value) => {
                let options_path = key_path(path, "options");
                let object = check.object(value, &options_path)?;
                let mut out = BTreeMap::new();
                for (crm_value, option) in object {
                    match option {
                        Value::String(option) if !option.is_empty() => {
                            out.insert(crm_value.clone(), option.clone());
                        }
                        other => check.problem(
                            key_path(&options_path, crm_value),
                            format!("expected the template option value, found {}", describe(other)),
                        ),
                    }
                }
                Some(out)
            }
        }
    };
    match name {
        "string" => Some(Encoding::String),
        "number" => Some(Encoding::Number),
        "boolean" => Some(Encoding::Boolean),
        "date" => Some(Encoding::Date),
        "datetime" => Some(Encoding::Datetime),
        "address" => Some(Encoding::Address),
        "enum" => options(check).map(|options| Encoding::Enum { options }),
        "multiSelect" => options(check).map(|options| Encoding::MultiSelect { options }),
        "currency" => {
            let currency = check.optional_text(map, path, "currency", 3);
            if let Some(code) = &currency {
                if !crate::deal::is_currency_code(code) {
                    check.problem(key_path(path, "currency"), "must be a three-letter ISO 4217 code such as USD");
                }
            }
            Some(Encoding::Currency { currency })
        }
        "duration" => {
            let unit_text = check.required_text(map, path, "unit", 10)?;
            let unit = DurationUnit::parse(&unit_text);
            if unit.is_none() {
                check.problem(key_path(path, "unit"), format!("must be DAYS, MONTHS or YEARS; found \"{unit_text}\""));
            }
            unit.map(|unit| Encoding::Duration { unit })
        }
        other => {
            check.problem(
                key_path(path, "encoding"),
                format!("unknown encoding \"{other}\"; expected one of: {}", ENCODINGS.join(", ")),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn sample() -> Value {
        json!({
            "environment": "uat",
            "crm": {"host": "hubspot", "accountId": 4411223},
            "api": {"region": "eu"},
            "creationStages": ["qualifiedtobuy", "contractsent"],
            "templates": [{
                "templateId": 101, "label": "Mutual NDA", "contractTypeId": 11,
                "fields": [
                    {"variable": "effective_date", "source": "deal.closeDate", "encoding": "date"},
                    {"variable": "nda_kind", "value": "mutual", "encoding": "enum"},
                    {"variable": "term", "source": "custom.term_months", "encoding": "duration", "unit": "MONTHS"},
                    {"variable": "fees", "source": "deal.amount", "encoding": "currency"}
                ]
            }]
        })
    }

    #[test]
    fn parses_a_complete_document() {
        let config = Config::from_json(&sample()).unwrap();
        assert_eq!(config.environment, Environment::Uat);
        assert_eq!(config.crm.account_id, "4411223");
        assert_eq!(
            config.api,
            ApiTarget::SpotDraft { base_url: "https://api.eu.spotdraft.com".into(), region: Some(Region::Eu) }
        );
        assert_eq!(config.templates[0].fields[2].encoding, Encoding::Duration { unit: DurationUnit::Months });
        assert!(config.stage_allows_creation(Some("contractsent")));
        assert!(!config.stage_allows_creation(Some("closedlost")));
        assert!(!config.stage_allows_creation(None));
        assert_eq!(config.template(999).unwrap_err().code(), "unknown_template");
    }

    #[test]
    fn reports_every_problem_with_its_key_path() {
        let err = Config::from_json(&json!({
            "environment": "staging",
            "crm": {"host": "dynamics", "accountId": "a b"},
            "api": {"relayUrl": "http://relay.example.com"},
            "creationStages": [],
            "allowedOrigins": ["https://app.hubspot.com/path"],
            "templates": [
                {"templateId": "T-1", "label": "", "contractTypeId": 0, "fields": [
                    {"variable": "a..b", "source": "deal.colour", "encoding": "text"},
                    {"variable": "term", "source": "custom.term", "encoding": "duration", "unit": "WEEKS"},
                    {"variable": "fee", "source": "deal.amount", "value": 3, "encoding": "currency", "currency": "usd", "unit": "DAYS"}
                ]},
                {"templateId": 5, "label": "x", "contractTypeId": 1, "fields": [
                    {"variable": "x", "source": "deal.name", "encoding": "string"},
                    {"variable": "x", "source": "deal.name", "encoding": "string"}
                ]},
                {"templateId": 5, "label": "y", "contractTypeId": 1}
            ],
            "extra": true
        }))
        .unwrap_err();
        let paths: Vec<&str> = err.problems().iter().map(|p| p.path.as_str()).collect();
        for expected in [
            "environment",
            "crm.host",
            "crm.accountId",
            "api.relayUrl",
            "creationStages",
            "allowedOrigins[0]",
            "templates[0].templateId",
            "templates[0].label",
            "templates[0].contractTypeId",
            "templates[0].fields[0].variable",
            "templates[0].fields[0].source",
            "templates[0].fields[0].encoding",
            "templates[0].fields[1].unit",
            "templates[0].fields[2]",
            "templates[0].fields[2].currency",
            "templates[0].fields[2].unit",
            "templates[1].fields[1]",
            "templates[2].templateId",
            "extra",
        ] {
            assert!(paths.contains(&expected), "{expected} missing from {paths:#?}");
        }
        assert_eq!(err.code(), "invalid_config");
    }

    #[test]
    fn stage_labels_are_optional_text() {
        let mut doc = sample();
        doc["stageLabels"] = json!({"qualifiedtobuy": "Qualified to buy", "contractsent": " Contract sent "});
        let config = Config::from_json(&doc).unwrap();
        assert_eq!(config.stage_label("contractsent"), "Contract sent");
        assert_eq!(config.stage_label("closedlost"), "closedlost", "unlabelled stages show their value");
        assert_eq!(
            config.stage_not_allowed(Some("closedlost")).to_string(),
            "contracts can be created at Qualified to buy or Contract sent; this deal is at closedlost"
        );
        doc["stageLabels"] = json!({"qualifiedtobuy": "", "contractsent": 3});
        let paths: Vec<String> =
            Config::from_json(&doc).unwrap_err().problems().iter().map(|p| p.path.clone()).collect();
        assert_eq!(paths, ["stageLabels.contractsent", "stageLabels.qualifiedtobuy"]);
        doc["stageLabels"] = json!(["Qualified to buy"]);
        assert!(Config::from_json(&doc).is_err());
    }

    #[test]
    fn api_target_is_exactly_one_safe_choice() {
        let with_api = |api: Value| {
            let mut doc = sample();
            doc["api"] = api;
            Config::from_json(&doc)
        };
        assert!(with_api(json!({"relayUrl": "https://relay.example.com/"})).is_ok());
        assert!(with_api(json!({"baseUrl": "http://127.0.0.1:8790"})).is_ok());
        assert!(with_api(json!({"baseUrl": "https://api.us.spotdraft.com/api"})).is_err());
        assert!(with_api(json!({"region": "us", "relayUrl": "https://r.example"})).is_err());
        assert!(with_api(json!({})).is_err());
        assert!(with_api(json!({"region": "uk"})).is_err());
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        for text in ["", "{", "[]", "null", "42", "{\"environment\": 1}"] {
            let err = Config::parse(text).unwrap_err();
            assert_eq!(err.code(), "invalid_config", "{text}");
            assert!(!err.problems().is_empty());
        }
    }
}
