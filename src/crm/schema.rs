//! What an admin sets the plugin up against, read from the CRM itself: the deal pipelines and their
//! stages, and the deal, company and contact field definitions (the admin console's `GET
//! /admin/{env}/crm`).
//!
//! Every value listed is the one the rest of the core compares or reads:
//! - a stage's `value` is what the canonical deal's `stage` holds for that CRM (`deal_source`), so the
//!   `creationStages` an admin picks match: HubSpot's internal stage id, Salesforce's `StageName`
//!   picklist value, Zoho's `Stage` actual value, Pipedrive's `stage_id` as text;
//! - a deal field's `name` is what a mapping's `custom.<name>` reads: any property / field API name on
//!   HubSpot, Salesforce and Zoho; on Pipedrive only custom fields (their 40-character keys, which
//!   the v2 deal answer keeps under `custom_fields`);
//! - `standard` says which CRM field each canonical source is read from (`deal_source`'s keys).
//!
//! The APIs read:
//! - HubSpot: `GET /crm/v3/pipelines/deals` (`{"results": [{"id", "label", "stages": [{"id",
//!   "label", "archived"}]}]}`) and `GET /crm/v3/properties/{deals,companies,contacts}`;
//! - Salesforce: `GET /services/data/vNN.N/sobjects/{Opportunity,Account,Contact}/describe`
//!   (`{"fields": [{"name", "label", "type", "picklistValues": [{"value", "label", "active"}]}]}`);
//!   the stages are `StageName`'s active picklist values;
//! - Zoho CRM v8: `GET /crm/v8/settings/fields?module={Deals,Accounts,Contacts}` (`{"fields":
//!   [{"api_name", "field_label", "data_type", "pick_list_values": [{"display_value",
//!   "actual_value"}]}]}`); when the Stage field comes without its values, they are read from
//!   `GET /crm/v8/settings/fields/{id}/pick_list_values?module=Deals`;
//! - Pipedrive: `GET /api/v2/pipelines` and `GET /api/v2/stages` (cursor pages; their v1 forms are
//!   deprecated), and `GET /api/v1/{dealFields,organizationFields,personFields}` (start/limit pages,
//!   as provisioning reads deal fields).

use serde::Serialize;
use serde_json::Value;

use super::deal_source::{keys, text};
use super::provision::ExistingField;
use super::{checked_base, crm_error, error_from_answer, json_body, request, send, str_at, CrmEndpoint};
use super::{hubspot, pipedrive, salesforce, zoho};
use crate::error::{Error, Result};
use crate::model::CrmHost;
use crate::transport::{Method, Transport};
use crate::url;

/// The CRM's deal stages and field definitions, as the admin console shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrmSchema {
    pub stages: Vec<StageInfo>,
    pub deal_fields: Vec<FieldInfo>,
    pub company_fields: Vec<FieldInfo>,
    pub contact_fields: Vec<FieldInfo>,
    pub standard: Vec<StandardField>,
}

/// One deal stage: the value a deal in it carries, its label, and its pipeline's label (where the
/// CRM has pipelines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageInfo {
    pub value: String,
    pub label: String,
    pub pipeline: Option<String>,
}

/// One field definition: its name, label and the CRM's own type word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldInfo {
    pub name: String,
    pub label: String,
    pub kind: String,
}

/// A canonical source (`deal.amount`) and the CRM field it is read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardField {
    pub source: String,
    pub crm_field: String,
}

/// The most pages of one list read (Pipedrive pages by 500).
const MAX_PAGES: u32 = 20;

/// Reads the CRM's deal pipelines and stages and its deal, company and contact fields.
pub async fn read_schema<T: Transport>(transport: &T, endpoint: &CrmEndpoint) -> Result<CrmSchema> {
    let base = checked_base(endpoint)?;
    let reader = Reader { transport, endpoint };
    let (stages, deal_fields, company_fields, contact_fields) = match endpoint.host {
        CrmHost::Hubspot => reader.hubspot(&base).await?,
        CrmHost::Salesforce => reader.salesforce(&base).await?,
        CrmHost::Zoho => reader.zoho(&base).await?,
        CrmHost::Pipedrive => reader.pipedrive(&base).await?,
    };
    Ok(CrmSchema { stages, deal_fields, company_fields, contact_fields, standard: standard(endpoint.host) })
}

type Lists = (Vec<StageInfo>, Vec<FieldInfo>, Vec<FieldInfo>, Vec<FieldInfo>);

struct Reader<'a, T> {
    transport: &'a T,
    endpoint: &'a CrmEndpoint,
}

impl<T: Transport> Reader<'_, T> {
    /// The JSON answer to a `GET` of `what` (named in errors).
    async fn get(&self, what: &str, url: String) -> Result<Value> {
        let host = self.endpoint.host;
        let response = send(self.transport, self.endpoint, request(self.endpoint, Method::Get, url, None)).await?;
        if response.status == 404 {
            return Err(crm_error(
                host,
                404,
                format!("{what}: not found (404); check baseUrl and the API's availability"),
            ));
        }
        if !(200..300).contains(&response.status) {
            return Err(with_context(error_from_answer(host, &response), what));
        }
        json_body(host, &response).map_err(|e| with_context(e, what))
    }

    /// An answer read by `parse`, its problem named with `what`.
    async fn read<V>(&self, what: &str, url: String, parse: impl Fn(&Value) -> Result<V, String>) -> Result<V> {
        let body = self.get(what, url).await?;
        parse(&body).map_err(|reason| crm_error(self.endpoint.host, 200, format!("{what}: {reason}")))
    }

    async fn hubspot(&self, base: &str) -> Result<Lists> {
        let stages = self.read("deal pipelines", format!("{base}/crm/v3/pipelines/deals"), hubspot_stages).await?;
        let properties = |object: &str| format!("{base}/crm/v3/properties/{object}");
        let listed = |body: &Value| hubspot::read_properties(body).map(field_infos);
        let deal = self.read("deal properties", properties("deals"), listed).await?;
        let company = self.read("company properties", properties("companies"), listed).await?;
        let contact = self.read("contact properties", properties("contacts"), listed).await?;
        Ok((stages, deal, company, contact))
    }

    async fn salesforce(&self, base: &str) -> Result<Lists> {
        let describe =
            |object: &str| format!("{base}/services/data/{}/sobjects/{object}/describe", salesforce::API_VERSION);
        let opportunity = self.get("the Opportunity description", describe("Opportunity")).await?;
        let parsed = salesforce_fields(&opportunity).and_then(|fields| Ok((fields, salesforce_stages(&opportunity)?)));
        let (deal, stages) = parsed
            .map_err(|reason| crm_error(self.endpoint.host, 200, format!("the Opportunity description: {reason}")))?;
        let company = self.read("the Account description", describe("Account"), salesforce_fields).await?;
        let contact = self.read("the Contact description", describe("Contact"), salesforce_fields).await?;
        Ok((stages, deal, company, contact))
    }

    async fn zoho(&self, base: &str) -> Result<Lists> {
        let fields = |module: &str| format!("{base}/crm/v8/settings/fields?module={module}");
        let deals = self.get("the Deals fields", fields("Deals")).await?;
        let deal = zoho::read_fields(&deals)
            .map(field_infos)
            .map_err(|reason| crm_error(self.endpoint.host, 200, format!("the Deals fields: {reason}")))?;
        let stage = zoho_stage_field(&deals)
            .map_err(|reason| crm_error(self.endpoint.host, 200, format!("the Deals fields: {reason}")))?;
        let stages = match stage.get("pick_list_values") {
            Some(values) => zoho_stages(values)
                .map_err(|reason| crm_error(self.endpoint.host, 200, format!("the Deals Stage field: {reason}")))?,
            None => {
                // The field list may leave picklist values out; the field's own list has them.
                let id =
                    text(stage.get("id")).filter(|id| id.bytes().all(|b| b.is_ascii_digit())).ok_or_else(|| {
                        crm_error(
                            self.endpoint.host,
                            200,
                            "the Deals Stage field has no pick_list_values and no id".into(),
                        )
                    })?;
                let url = format!("{base}/crm/v8/settings/fields/{id}/pick_list_values?module=Deals");
                self.read("the Deals Stage values", url, |body| {
                    zoho_stages(body.get("pick_list_values").unwrap_or(&Value::Null))
                })
                .await?
            }
        };
        let listed = |body: &Value| zoho::read_fields(body).map(field_infos);
        let company = self.read("the Accounts fields", fields("Accounts"), listed).await?;
        let contact = self.read("the Contacts fields", fields("Contacts"), listed).await?;
        Ok((stages, deal, company, contact))
    }

    async fn pipedrive(&self, base: &str) -> Result<Lists> {
        let pipelines = self.pipedrive_cursor("pipelines", &format!("{base}/api/v2/pipelines")).await?;
        let stages = self.pipedrive_cursor("stages", &format!("{base}/api/v2/stages")).await?;
        let stages = pipedrive_stages(&pipelines, &stages)
            .map_err(|reason| crm_error(self.endpoint.host, 200, format!("the stages: {reason}")))?;
        let deal = self.pipedrive_fields(base, "dealFields").await?;
        // Only custom fields are under the v2 deal's `custom_fields`, which `custom.<key>` reads.
        let deal = deal.into_iter().filter(|field| is_pipedrive_custom_key(&field.name)).collect();
        let company = self.pipedrive_fields(base, "organizationFields").await?;
        let contact = self.pipedrive_fields(base, "personFields").await?;
        Ok((stages, deal, company, contact))
    }

    /// Every item of a v2 list (`{"success", "data": […], "additional_data": {"next_cursor"}}`).
    async fn pipedrive_cursor(&self, what: &str, url: &str) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page_url = match &cursor {
                Some(cursor) => format!("{url}?limit=500&cursor={}", url::encode_component(cursor)),
                None => format!("{url}?limit=500"),
            };
            let (page, next) = self.read(&format!("the {what}"), page_url, pipedrive_page).await?;
            items.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
        Err(crm_error(self.endpoint.host, 200, format!("the {what} run past {MAX_PAGES} pages")))
    }

    /// Every field of a v1 fields list (start/limit pages).
    async fn pipedrive_fields(&self, base: &str, list: &str) -> Result<Vec<FieldInfo>> {
        let mut fields = Vec::new();
        let mut start = 0u64;
        for _ in 0..MAX_PAGES {
            let url = format!("{base}/api/v1/{list}?start={start}&limit=500");
            let (found, next) = self.read(list, url, pipedrive::read_fields).await?;
            fields.extend(field_infos(found));
            match next {
                Some(next) if next > start => start = next,
                Some(_) => {
                    return Err(crm_error(self.endpoint.host, 200, format!("{list}: next_start does not advance")))
                }
                None => return Ok(fields),
            }
        }
        Err(crm_error(self.endpoint.host, 200, format!("{list} runs past {MAX_PAGES} pages")))
    }
}

/// A CRM error with what was being read added to its message.
fn with_context(error: Error, what: &str) -> Error {
    match error {
        Error::Crm { status, message } => Error::Crm { status, message: format!("{message} (reading {what})") },
        other => other,
    }
}

fn field_infos(fields: Vec<ExistingField>) -> Vec<FieldInfo> {
    fields.into_iter().map(|f| FieldInfo { name: f.name, label: f.label, kind: f.type_name }).collect()
}

/// The array at `key`, or why not.
fn list<'v>(body: &'v Value, key: &str, path: &str) -> Result<&'v Vec<Value>, String> {
    body.get(key).and_then(Value::as_array).ok_or_else(|| format!("the answer has no {path} list"))
}

/// HubSpot's deal pipelines: every stage that is not archived, with its pipeline's label.
fn hubspot_stages(body: &Value) -> Result<Vec<StageInfo>, String> {
    let mut stages = Vec::new();
    for (p, pipeline) in list(body, "results", "results")?.iter().enumerate() {
        if pipeline.get("archived").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let pipeline_label = str_at(pipeline, "label").or_else(|| str_at(pipeline, "id")).map(str::to_string);
        let listed = pipeline.get("stages").and_then(Value::as_array);
        let listed = listed.ok_or_else(|| format!("results[{p}] has no stages list"))?;
        for (s, stage) in listed.iter().enumerate() {
            if stage.get("archived").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let id = str_at(stage, "id").ok_or_else(|| format!("results[{p}].stages[{s}] has no id"))?;
            stages.push(StageInfo {
                value: id.into(),
                label: str_at(stage, "label").unwrap_or(id).into(),
                pipeline: pipeline_label.clone(),
            });
        }
    }
    Ok(stages)
}

/// An sObject description's fields.
fn salesforce_fields(body: &Value) -> Result<Vec<FieldInfo>, String> {
    list(body, "fields", "fields")?
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let name = str_at(field, "name").ok_or_else(|| format!("fields[{index}] has no name"))?;
            Ok(FieldInfo {
                name: name.into(),
                label: str_at(field, "label").unwrap_or(name).into(),
                kind: str_at(field, "type").unwrap_or("unknown").into(),
            })
        })
        .collect()
}

/// The Opportunity's `StageName` picklist: its active values.
fn salesforce_stages(body: &Value) -> Result<Vec<StageInfo>, String> {
    let fields = list(body, "fields", "fields")?;
    let stage = fields
        .iter()
        .find(|field| str_at(field, "name") == Some("StageName"))
        .ok_or("there is no StageName field (is the connection allowed to see it?)")?;
    let values = stage.get("picklistValues").and_then(Value::as_array).ok_or("StageName has no picklistValues list")?;
    values
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.get("active").and_then(Value::as_bool) != Some(false))
        .map(|(index, entry)| {
            let value =
                str_at(entry, "value").ok_or_else(|| format!("StageName picklistValues[{index}] has no value"))?;
            Ok(StageInfo { value: value.into(), label: str_at(entry, "label").unwrap_or(value).into(), pipeline: None })
        })
        .collect()
}

/// The Deals module's `Stage` field in a fields listing.
fn zoho_stage_field(body: &Value) -> Result<&Value, String> {
    list(body, "fields", "fields")?
        .iter()
        .find(|field| str_at(field, "api_name") == Some("Stage"))
        .ok_or_else(|| "there is no Stage field (is the connection allowed to see it?)".into())
}

/// Zoho's picklist values (`[{"display_value", "actual_value"}]`), without the empty `-None-` choice.
fn zoho_stages(values: &Value) -> Result<Vec<StageInfo>, String> {
    let values = values.as_array().ok_or("pick_list_values is not a list")?;
    let mut stages = Vec::new();
    for (index, entry) in values.iter().enumerate() {
        let value =
            str_at(entry, "actual_value").ok_or_else(|| format!("pick_list_values[{index}] has no actual_value"))?;
        if value == "-None-" {
            continue;
        }
        let label = str_at(entry, "display_value").unwrap_or(value);
        stages.push(StageInfo { value: value.into(), label: label.into(), pipeline: None });
    }
    Ok(stages)
}

/// One page of a Pipedrive v2 list: its items and the cursor of the next page.
fn pipedrive_page(body: &Value) -> Result<(Vec<Value>, Option<String>), String> {
    match body.get("success") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => {
            return Err(pipedrive::error_text(body).unwrap_or_else(|| "the answer says success: false".into()))
        }
        _ => return Err("the answer has no success flag".into()),
    }
    let items = match body.get("data") {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Null) => Vec::new(),
        _ => return Err("the answer has no data list".into()),
    };
    let next = body.get("additional_data").and_then(|data| str_at(data, "next_cursor")).map(str::to_string);
    Ok((items, next))
}

/// Pipedrive's stages (ids as the deal's `stage_id` reads as text), each with its pipeline's name;
/// deleted ones left out.
fn pipedrive_stages(pipelines: &[Value], stages: &[Value]) -> Result<Vec<StageInfo>, String> {
    let deleted = |item: &Value| item.get("is_deleted").and_then(Value::as_bool) == Some(true);
    let mut out = Vec::new();
    for (index, stage) in stages.iter().enumerate().filter(|(_, stage)| !deleted(stage)) {
        let id = stage.get("id").filter(|id| id.is_number()).and_then(|id| text(Some(id)));
        let id = id.ok_or_else(|| format!("data[{index}] has no numeric id"))?;
        let pipeline_id = stage.get("pipeline_id");
        let pipeline = pipeline_id.and_then(|wanted| {
            pipelines.iter().find(|p| p.get("id") == Some(wanted)).and_then(|p| str_at(p, "name")).map(str::to_string)
        });
        out.push(StageInfo { label: str_at(stage, "name").unwrap_or(&id).into(), value: id, pipeline });
    }
    Ok(out)
}

/// Pipedrive names custom fields with 40 hexadecimal characters of its choosing.
fn is_pipedrive_custom_key(key: &str) -> bool {
    key.len() == 40 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The canonical sources and the CRM fields they are read from (`deal_source`'s keys).
fn standard(host: CrmHost) -> Vec<StandardField> {
    let keys = keys(host);
    let [name, amount, currency, stage, close_date] = keys.deal;
    let [company, street, city, state, zip, country] = keys.company;
    let [first, last, email] = keys.contact;
    let address = match host {
        // Pipedrive keeps an organisation's address in one object (its parts are keys inside it).
        CrmHost::Pipedrive => "address".to_string(),
        _ => [street, city, state, zip, country].into_iter().filter(|k| !k.is_empty()).collect::<Vec<_>>().join(", "),
    };
    let email = match (host, email) {
        // A Pipedrive person has a list of emails; the primary one is read.
        (CrmHost::Pipedrive, "") => "emails",
        (_, email) => email,
    };
    [
        ("deal.name", name.to_string()),
        ("deal.amount", amount.to_string()),
        ("deal.currency", currency.to_string()),
        ("deal.stage", stage.to_string()),
        ("deal.closeDate", close_date.to_string()),
        ("account.name", company.to_string()),
        ("account.address", address),
        ("contact.firstName", first.to_string()),
        ("contact.lastName", last.to_string()),
        ("contact.email", email.to_string()),
    ]
    .into_iter()
    .map(|(source, crm_field)| StandardField { source: source.into(), crm_field })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(stages: &[StageInfo]) -> Vec<&str> {
        stages.iter().map(|s| s.value.as_str()).collect()
    }

    #[test]
    fn hubspot_pipelines_give_stage_ids_labels_and_pipelines() {
        let body = json!({"results": [
            {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": false, "stages": [
                {"id": "appointmentscheduled", "label": "Appointment scheduled", "archived": false, "metadata": {"probability": "0.2"}},
                {"id": "contractsent", "label": "Contract sent", "archived": false},
                {"id": "old", "label": "Old", "archived": true},
            ]},
            {"id": "7215", "label": "Renewals", "stages": [{"id": "1234567", "label": "Renewal due"}]},
        ]});
        let stages = hubspot_stages(&body).unwrap();
        assert_eq!(values(&stages), ["appointmentscheduled", "contractsent", "1234567"]);
        assert_eq!(stages[1].label, "Contract sent");
        assert_eq!(stages[2].pipeline.as_deref(), Some("Renewals"));
        assert!(hubspot_stages(&json!({"results": [{"id": "x", "label": "X"}]}))
            .unwrap_err()
            .contains("results[0] has no stages"));
        assert!(hubspot_stages(&json!({"results": [{"stages": [{"label": "no id"}]}]}))
            .unwrap_err()
            .contains("stages[0] has no id"));
        assert!(hubspot_stages(&json!({"status": "error"})).unwrap_err().contains("no results list"));
    }

    #[test]
    fn hubspot_properties_are_fields() {
        let body = json!({"results": [
            {"name": "amount", "label": "Amount", "type": "number", "fieldType": "number"},
            {"name": "contract_tier", "label": "Contract tier", "type": "enumeration", "fieldType": "select"},
        ]});
        let fields = field_infos(hubspot::read_properties(&body).unwrap());
        assert_eq!(
            fields[1],
            FieldInfo { name: "contract_tier".into(), label: "Contract tier".into(), kind: "enumeration".into() }
        );
    }

    #[test]
    fn salesforce_describe_gives_fields_and_active_stage_values() {
        let body = json!({"name": "Opportunity", "fields": [
            {"name": "Name", "label": "Name", "type": "string", "custom": false, "picklistValues": []},
            {"name": "StageName", "label": "Stage", "type": "picklist", "custom": false, "picklistValues": [
                {"active": true, "defaultValue": false, "label": "Prospecting", "validFor": null, "value": "Prospecting"},
                {"active": false, "defaultValue": false, "label": "Retired", "validFor": null, "value": "Retired"},
                {"active": true, "defaultValue": false, "label": "Negotiation/Review", "validFor": null, "value": "Negotiation/Review"},
            ]},
            {"name": "Governing_Law__c", "label": "Governing Law", "type": "string", "custom": true},
        ]});
        let fields = salesforce_fields(&body).unwrap();
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[2].kind, "string");
        let stages = salesforce_stages(&body).unwrap();
        assert_eq!(values(&stages), ["Prospecting", "Negotiation/Review"]);
        assert_eq!(stages[0].pipeline, None);
        let no_stage = json!({"fields": [{"name": "Name"}]});
        assert!(salesforce_stages(&no_stage).unwrap_err().contains("no StageName"));
        let bare = json!({"fields": [{"name": "StageName"}]});
        assert!(salesforce_stages(&bare).unwrap_err().contains("no picklistValues"));
        assert!(salesforce_fields(&json!([{"message": "x", "errorCode": "NOT_FOUND"}]))
            .unwrap_err()
            .contains("no fields list"));
        assert!(salesforce_fields(&json!({"fields": [{"label": "nameless"}]}))
            .unwrap_err()
            .contains("fields[0] has no name"));
    }

    #[test]
    fn zoho_stage_values_are_actual_values_with_display_labels() {
        let body = json!({"fields": [
            {"api_name": "Deal_Name", "field_label": "Deal Name", "data_type": "text", "id": "411000000000001"},
            {"api_name": "Stage", "field_label": "Stage", "data_type": "picklist", "id": "411000000000004", "pick_list_values": [
                {"display_value": "-None-", "actual_value": "-None-", "sequence_number": 0},
                {"display_value": "Qualification", "actual_value": "Qualification", "sequence_number": 1},
                {"display_value": "Negotiation / Review", "actual_value": "Negotiation/Review", "sequence_number": 2},
            ]},
        ]});
        let stage = zoho_stage_field(&body).unwrap();
        let stages = zoho_stages(stage.get("pick_list_values").unwrap()).unwrap();
        assert_eq!(values(&stages), ["Qualification", "Negotiation/Review"]);
        assert_eq!(stages[1].label, "Negotiation / Review");
        assert_eq!(field_infos(zoho::read_fields(&body).unwrap())[1].kind, "picklist");
        assert!(zoho_stage_field(&json!({"fields": []})).unwrap_err().contains("no Stage field"));
        assert!(zoho_stages(&json!([{"display_value": "X"}])).unwrap_err().contains("[0] has no actual_value"));
        assert!(zoho_stages(&json!({"code": "INVALID_MODULE"})).unwrap_err().contains("not a list"));
    }

    #[test]
    fn pipedrive_stages_are_ids_as_text_with_pipeline_names() {
        let (pipelines, next) = pipedrive_page(&json!({"success": true, "data": [
            {"id": 1, "name": "Sales", "order_nr": 0, "is_deleted": false},
        ], "additional_data": {"next_cursor": "eyJpZCI6MX0"}}))
        .unwrap();
        assert_eq!(next.as_deref(), Some("eyJpZCI6MX0"));
        let (stages, next) = pipedrive_page(&json!({"success": true, "data": [
            {"id": 4, "name": "Contract sent", "pipeline_id": 1, "is_deleted": false, "order_nr": 4},
            {"id": 9, "name": "Gone", "pipeline_id": 1, "is_deleted": true},
            {"id": 12, "name": "Elsewhere", "pipeline_id": 2},
        ], "additional_data": {"next_cursor": null}}))
        .unwrap();
        assert_eq!(next, None);
        let listed = pipedrive_stages(&pipelines, &stages).unwrap();
        assert_eq!(values(&listed), ["4", "12"]);
        assert_eq!(listed[0].pipeline.as_deref(), Some("Sales"));
        assert_eq!(listed[1].pipeline, None);
        assert!(pipedrive_stages(&pipelines, &[json!({"id": "4"})]).unwrap_err().contains("no numeric id"));
        let refused = json!({"success": false, "error": "unauthorized access", "errorCode": 401});
        assert!(pipedrive_page(&refused).unwrap_err().contains("unauthorized access"));
        assert!(pipedrive_page(&json!({"success": true, "data": {}})).unwrap_err().contains("no data list"));
    }

    #[test]
    fn pipedrive_deal_fields_are_the_custom_keys() {
        assert!(is_pipedrive_custom_key("5d0c1e4a9b3f27c86e1d2a4b7c9e0f1a2b3c4d01"));
        assert!(!is_pipedrive_custom_key("title"));
        assert!(!is_pipedrive_custom_key("stage_id"));
    }

    #[test]
    fn standard_sources_name_each_crms_fields() {
        let find = |host: CrmHost, source: &str| {
            standard(host).into_iter().find(|s| s.source == source).map(|s| s.crm_field).unwrap_or_default()
        };
        assert_eq!(find(CrmHost::Hubspot, "deal.amount"), "amount");
        assert_eq!(find(CrmHost::Hubspot, "deal.stage"), "dealstage");
        assert_eq!(find(CrmHost::Salesforce, "deal.stage"), "StageName");
        assert_eq!(find(CrmHost::Zoho, "account.name"), "Account_Name");
        assert_eq!(find(CrmHost::Pipedrive, "deal.stage"), "stage_id");
        assert_eq!(find(CrmHost::Pipedrive, "account.address"), "address");
        assert_eq!(find(CrmHost::Pipedrive, "contact.email"), "emails");
        assert_eq!(find(CrmHost::Hubspot, "account.address"), "address, city, state, zip, country");
        let json = serde_json::to_value(&standard(CrmHost::Zoho)[0]).unwrap();
        assert_eq!(json, json!({"source": "deal.name", "crmField": "Deal_Name"}));
    }
}
