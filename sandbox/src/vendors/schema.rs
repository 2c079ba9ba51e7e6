//! Deal pipelines and stages, and object descriptions, in each vendor's shape: HubSpot's pipelines
//! API (`GET /crm/v3/pipelines/deals`), Salesforce's sObject describe
//! (`GET …/sobjects/{Opportunity,Account,Contact}/describe`, `StageName`'s picklist values), and
//! Pipedrive's pipelines and stages (v1 `GET /api/v1/{pipelines,stages}` and v2 `GET
//! /api/v2/{pipelines,stages}`). Zoho's Stage picklist is part of its field listing (`fields`).
//!
//! Every stage a seeded deal carries is listed: each vendor's stage table is next to the function
//! that maps the HubSpot seed's stage keys to the vendor's vocabulary.

use super::{pipedrive, salesforce, Vendor, SALESFORCE_FIELDS, SPOTDRAFT_LABELS};
use crate::clock;
use crate::http::{Request, Response};
use serde_json::{json, Value};

/// HubSpot's default deal pipeline: (stage id, label, probability, closed).
pub const HUBSPOT_STAGES: [(&str, &str, &str, bool); 7] = [
    ("appointmentscheduled", "Appointment scheduled", "0.2", false),
    ("qualifiedtobuy", "Qualified to buy", "0.4", false),
    ("presentationscheduled", "Presentation scheduled", "0.6", false),
    ("decisionmakerboughtin", "Decision maker bought-in", "0.8", false),
    ("contractsent", "Contract sent", "0.9", false),
    ("closedwon", "Closed won", "1.0", true),
    ("closedlost", "Closed lost", "0.0", true),
];

fn hubspot_time(micros: i64) -> String {
    let full = clock::format_rfc3339(micros);
    match full.get(..23) {
        Some(prefix) => format!("{prefix}Z"),
        None => full,
    }
}

/// `GET /crm/v3/pipelines/{deals|deal|0-3}`: the one deal pipeline, `default`.
pub fn hubspot_pipelines(request: &Request, kind: &str) -> Response {
    if request.method != "GET" {
        return crate::crm::error(
            405,
            "VALIDATION_ERROR",
            &format!("{} is not supported on {}", request.method, request.path),
        );
    }
    if !matches!(kind, "deals" | "deal" | "0-3") {
        return crate::crm::error(400, "VALIDATION_ERROR", &format!("Unable to infer object type from: {kind}"));
    }
    let created = hubspot_time(0);
    let stages: Vec<Value> = HUBSPOT_STAGES
        .iter()
        .enumerate()
        .map(|(order, (id, label, probability, closed))| {
            json!({
                "id": id, "label": label, "displayOrder": order, "archived": false,
                "metadata": {"isClosed": closed.to_string(), "probability": probability},
                "createdAt": created, "updatedAt": created, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            })
        })
        .collect();
    Response::json(
        200,
        &json!({"results": [{
            "id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": false,
            "stages": stages, "createdAt": created, "updatedAt": created,
        }]}),
    )
}

/// Salesforce's standard fields of the three objects: (name, label, type). Custom fields (`__c`)
/// are whatever the records carry.
fn salesforce_standard(object: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    match object {
        "Opportunity" => &[
            ("Id", "Opportunity ID", "id"),
            ("Name", "Name", "string"),
            ("AccountId", "Account ID", "reference"),
            ("Amount", "Amount", "currency"),
            ("CurrencyIsoCode", "Opportunity Currency", "picklist"),
            ("StageName", "Stage", "picklist"),
            ("CloseDate", "Close Date", "date"),
            ("IsClosed", "Closed", "boolean"),
            ("OwnerId", "Owner ID", "reference"),
        ],
        "Account" => &[
            ("Id", "Account ID", "id"),
            ("Name", "Account Name", "string"),
            ("BillingStreet", "Billing Street", "textarea"),
            ("BillingCity", "Billing City", "string"),
            ("BillingState", "Billing State/Province", "string"),
            ("BillingPostalCode", "Billing Zip/Postal Code", "string"),
            ("BillingCountry", "Billing Country", "string"),
        ],
        _ => &[
            ("Id", "Contact ID", "id"),
            ("AccountId", "Account ID", "reference"),
            ("FirstName", "First Name", "string"),
            ("LastName", "Last Name", "string"),
            ("Email", "Email", "email"),
        ],
    }
}

fn salesforce_field(name: &str, label: &str, kind: &str, custom: bool) -> Value {
    let picklist: Vec<Value> = match name {
        "StageName" => salesforce::STAGE_NAMES
            .iter()
            .map(|value| json!({"active": true, "defaultValue": false, "label": value, "validFor": null, "value": value}))
            .collect(),
        "CurrencyIsoCode" => ["USD", "EUR", "GBP", "INR"]
            .iter()
            .map(|value| json!({"active": true, "defaultValue": *value == "USD", "label": value, "validFor": null, "value": value}))
            .collect(),
        _ => Vec::new(),
    };
    let reference: Vec<&str> = match name {
        "AccountId" => vec!["Account"],
        "OwnerId" => vec!["User"],
        _ => Vec::new(),
    };
    let length = match kind {
        "string" | "picklist" | "email" => 255,
        "textarea" => 255,
        "id" | "reference" => 18,
        _ => 0,
    };
    json!({
        "name": name, "label": label, "type": kind, "custom": custom, "length": length,
        "nillable": !matches!(name, "Id" | "Name" | "StageName" | "CloseDate" | "LastName"),
        "createable": name != "Id", "updateable": !matches!(name, "Id" | "IsClosed"),
        "calculated": false, "filterable": true, "sortable": kind != "textarea",
        "picklistValues": picklist, "referenceTo": reference, "relationshipName": null,
        "soapType": match kind { "id" | "reference" => "tns:ID", "currency" => "xsd:double", "date" => "xsd:date", "boolean" => "xsd:boolean", _ => "xsd:string" },
    })
}

/// `GET …/sobjects/{object}/describe`: the object's standard fields and the custom ones its
/// records carry.
pub fn salesforce_describe(vendor: &Vendor, object: &str) -> Option<Value> {
    if !["Opportunity", "Account", "Contact"].contains(&object) {
        return None;
    }
    let standard = salesforce_standard(object);
    let mut fields: Vec<Value> =
        standard.iter().map(|(name, label, kind)| salesforce_field(name, label, kind, false)).collect();
    let mut custom: Vec<&str> = Vec::new();
    for record in vendor.records.iter().filter(|record| record.object == object) {
        for name in record.fields.keys() {
            if !standard.iter().any(|(known, ..)| known == name) && !custom.contains(&name.as_str()) {
                custom.push(name);
            }
        }
    }
    for name in custom {
        let label = SALESFORCE_FIELDS
            .iter()
            .position(|ours| *ours == name)
            .and_then(|index| SPOTDRAFT_LABELS.get(index))
            .map_or_else(|| name.trim_end_matches("__c").replace('_', " "), |label| label.to_string());
        fields.push(salesforce_field(name, &label, "string", name.ends_with("__c")));
    }
    let prefix = match object {
        "Opportunity" => "006",
        "Account" => "001",
        _ => "003",
    };
    let base = format!("{}/sobjects/{object}", salesforce::API);
    Some(json!({
        "name": object, "label": object, "labelPlural": format!("{object}s"), "keyPrefix": prefix,
        "custom": false, "createable": true, "updateable": true, "queryable": true, "searchable": true,
        "fields": fields, "childRelationships": [], "recordTypeInfos": [],
        "urls": {"sobject": base, "describe": format!("{base}/describe"), "rowTemplate": format!("{base}/{{ID}}")},
    }))
}

/// Pipedrive's one pipeline (its stages are `pipedrive::STAGES`).
const PIPEDRIVE_PIPELINE: (u64, &str) = (1, "Sales pipeline");

fn pd_v1_time(micros: i64) -> String {
    let text = clock::format_rfc3339(micros);
    format!("{} {}", text.get(..10).unwrap_or(&text), text.get(11..19).unwrap_or(""))
}

fn pd_ok(data: Value, additional: Value) -> Response {
    pipedrive::rate_headers(
        Response::json(200, &json!({"success": true, "data": data, "additional_data": additional})),
        pipedrive::RATE_LIMIT - 1,
    )
}

/// `GET /api/v1/pipelines` and `GET /api/v2/pipelines`, each in its version's shape.
pub fn pipedrive_pipelines(v2: bool) -> Response {
    let (id, name) = PIPEDRIVE_PIPELINE;
    if v2 {
        let time = pipedrive::pd_time(0);
        return pd_ok(
            json!([{"id": id, "name": name, "order_nr": 0, "is_deleted": false, "is_deal_probability_enabled": false,
                    "add_time": time, "update_time": time, "is_selected": true}]),
            json!({"next_cursor": null}),
        );
    }
    let time = pd_v1_time(0);
    pd_ok(
        json!([{"id": id, "name": name, "url_title": "Sales-pipeline", "order_nr": 0, "active": true,
                "deal_probability": false, "add_time": time, "update_time": time, "selected": true}]),
        json!({"pagination": {"start": 0, "limit": 100, "more_items_in_collection": false}}),
    )
}

/// `GET /api/v1/stages` and `GET /api/v2/stages` (`?pipeline_id=` filters), each in its version's shape.
pub fn pipedrive_stages(request: &Request, v2: bool) -> Response {
    let (pipeline_id, pipeline_name) = PIPEDRIVE_PIPELINE;
    let wanted = request.query("pipeline_id").map(|id| id.parse::<u64>().ok());
    if wanted == Some(None) {
        return pipedrive::error(400, "pipeline_id must be an integer");
    }
    let stages: Vec<Value> = pipedrive::STAGES
        .iter()
        .filter(|_| wanted.flatten().is_none_or(|id| id == pipeline_id))
        .map(|(id, name, probability)| {
            if v2 {
                let time = pipedrive::pd_time(0);
                json!({"id": id, "order_nr": id, "name": name, "is_deleted": false, "deal_probability": probability,
                       "pipeline_id": pipeline_id, "is_deal_rot_enabled": false, "days_to_rotten": null,
                       "add_time": time, "update_time": time})
            } else {
                let time = pd_v1_time(0);
                json!({"id": id, "order_nr": id, "name": name, "active_flag": true, "deal_probability": probability,
                       "pipeline_id": pipeline_id, "rotten_flag": false, "rotten_days": null, "add_time": time,
                       "update_time": time, "pipeline_name": pipeline_name, "pipeline_deal_probability": false})
            }
        })
        .collect();
    let additional = if v2 { json!({"next_cursor": null}) } else { Value::Null };
    pd_ok(Value::Array(stages), additional)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::DEALS;

    #[test]
    fn every_seeded_stage_is_listed_by_its_vendor() {
        for (_, _, _, key, ..) in DEALS {
            assert!(HUBSPOT_STAGES.iter().any(|(id, ..)| *id == key), "HubSpot {key}");
            assert!(salesforce::STAGE_NAMES.contains(&salesforce::stage(key)), "Salesforce {key}");
            assert!(crate::vendors::zoho::STAGES.contains(&crate::vendors::zoho::stage(key)), "Zoho {key}");
            let (id, _) = pipedrive::stage(key);
            assert!(pipedrive::STAGES.iter().any(|(listed, ..)| *listed == id), "Pipedrive {key}");
        }
    }
}
