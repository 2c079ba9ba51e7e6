//! The HubSpot-shaped CRM emulator: auth, reads with property selection, associations, writes
//! and the write journal, search, create, and HubSpot error bodies.

mod common;

use common::{raw_request, Sandbox};
use serde_json::{json, Value};

fn assert_hubspot_error(reply: &common::Reply, status: u16, category: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["status"], "error");
    assert_eq!(body["category"], category);
    assert!(body["message"].is_string() && body["correlationId"].is_string(), "{body}");
}

#[test]
fn bearer_token_is_required() {
    let sandbox = Sandbox::start(&[]);
    let none = raw_request(&sandbox.crm, "GET", "/crm/v3/objects/deals/1001", &[], b"").unwrap();
    assert_hubspot_error(&none, 401, "INVALID_AUTHENTICATION");
    let wrong =
        raw_request(&sandbox.crm, "GET", "/crm/v3/objects/deals/1001", &[("Authorization", "Bearer nope")], b"")
            .unwrap();
    assert_hubspot_error(&wrong, 401, "INVALID_AUTHENTICATION");
    // SpotDraft credentials mean nothing here, and the CRM token means nothing to SpotDraft.
    let auth = format!("Bearer {}", sandbox.crm_token);
    let cross = raw_request(&sandbox.spotdraft, "GET", "/api/v2.1/public/contracts/", &[("Authorization", &auth)], b"")
        .unwrap();
    assert_eq!(cross.status, 401);
}

#[test]
fn deals_read_with_property_selection_and_associations() {
    let sandbox = Sandbox::start(&[]);
    let deal = sandbox
        .crm_call(
            "GET",
            "/crm/v3/objects/deals/1001?properties=dealname,amount,deal_currency_code,closedate,spotdraft_status",
            None,
        )
        .json();
    assert_eq!(deal["id"], "1001");
    assert_eq!(deal["archived"], false);
    let properties = deal["properties"].as_object().unwrap();
    assert_eq!(properties["amount"], "48000");
    assert_eq!(properties["deal_currency_code"], "USD");
    assert_eq!(properties["spotdraft_status"], Value::Null, "requested but unset");
    assert_eq!(properties["hs_object_id"], "1001");
    assert!(!properties.contains_key("dealstage"), "only the requested properties (plus ids and dates)");
    let default = sandbox.crm_call("GET", "/crm/v3/objects/deals/1001", None).json();
    assert!(default["properties"]["dealstage"].is_string() && default["properties"]["pipeline"].is_string());
    // A deal without a close date.
    let undated =
        sandbox.crm_call("GET", "/crm/v3/objects/deals/1003?properties=closedate,deal_currency_code", None).json();
    assert_eq!(
        (undated["properties"]["closedate"].clone(), undated["properties"]["deal_currency_code"].clone()),
        (Value::Null, json!("GBP"))
    );

    // Associations: v4 (typed) and v3 forms, and the awkward company name.
    let v4 = sandbox.crm_call("GET", "/crm/v4/objects/deals/1001/associations/companies", None).json();
    assert_eq!(v4["results"][0]["toObjectId"], 2001);
    assert!(v4["results"][0]["associationTypes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["typeId"] == 5 && t["label"] == "Primary"));
    let v3 = sandbox.crm_call("GET", "/crm/v3/objects/deals/1001/associations/contacts", None).json();
    assert_eq!(v3, json!({"results": [{"id": "3001", "type": "deal_to_contact"}]}));
    let inline = sandbox.crm_call("GET", "/crm/v3/objects/deals/1001?associations=companies,contacts", None).json();
    assert_eq!(inline["associations"]["companies"]["results"][0]["id"], "2001");
    let company = sandbox.crm_call("GET", "/crm/v3/objects/companies/2001?properties=name,country", None).json();
    assert_eq!(company["properties"]["name"], "  acme   widgets, inc. ");
    let contact =
        sandbox.crm_call("GET", "/crm/v3/objects/contacts/3001?properties=email,firstname,lastname", None).json();
    assert_eq!(contact["properties"]["email"], "avery.stone@acme.example");
    let lone = sandbox.crm_call("GET", "/crm/v4/objects/deals/1005/associations/companies", None).json();
    assert_eq!(lone, json!({"results": []}), "an individual buyer has no company");

    assert_hubspot_error(&sandbox.crm_call("GET", "/crm/v3/objects/deals/999999", None), 404, "OBJECT_NOT_FOUND");
    assert_hubspot_error(&sandbox.crm_call("GET", "/crm/v3/objects/deals/not-a-number", None), 404, "OBJECT_NOT_FOUND");
    assert_hubspot_error(&sandbox.crm_call("GET", "/crm/v3/objects/widgets/1", None), 400, "VALIDATION_ERROR");
}

#[test]
fn patches_update_custom_properties_and_the_journal_shows_redundant_writes() {
    let sandbox = Sandbox::start(&[]);
    let update = json!({"properties": {
        "spotdraft_contract_id": "T-4301", "spotdraft_contract_numeric_id": 4301, "spotdraft_status": "DRAFT",
        "spotdraft_status_at": "2026-11-27T10:00:00.000001Z", "spotdraft_contract_link": "https://app.spotdraft.com/contracts/v2/4301"
    }});
    let patched = sandbox.crm_call("PATCH", "/crm/v3/objects/deals/1001", Some(update.clone()));
    assert_eq!(patched.status, 200);
    assert_eq!(patched.json()["properties"]["spotdraft_contract_numeric_id"], "4301", "HubSpot stores strings");
    let again = sandbox.crm_call("PATCH", "/crm/v3/objects/deals/1001", Some(update));
    assert_eq!(again.status, 200);
    let writes = sandbox.control("GET", "/__sandbox/crm/writes?object_id=1001", None).json();
    let writes = writes.as_array().unwrap();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0]["changed"].as_array().unwrap().len(), 5);
    assert_eq!(writes[1]["changed"], json!([]), "the second write changed nothing");
    let read = sandbox
        .crm_call("GET", "/crm/v3/objects/deals/1001?properties=spotdraft_status,spotdraft_contract_link", None)
        .json();
    assert_eq!(read["properties"]["spotdraft_status"], "DRAFT");

    // Unknown properties, bad values, bad JSON and unknown deals are rejected without writing.
    let unknown = sandbox.crm_call(
        "PATCH",
        "/crm/v3/objects/deals/1001",
        Some(json!({"properties": {"spotdraft_colour": "red"}})),
    );
    assert_hubspot_error(&unknown, 400, "VALIDATION_ERROR");
    assert!(unknown.json()["message"].as_str().unwrap().contains("PROPERTY_DOESNT_EXIST"));
    assert_hubspot_error(
        &sandbox.crm_call("PATCH", "/crm/v3/objects/deals/1001", Some(json!({"properties": {"amount": "lots"}}))),
        400,
        "VALIDATION_ERROR",
    );
    assert_hubspot_error(
        &sandbox.crm_call("PATCH", "/crm/v3/objects/deals/1001", Some(json!({"props": {}}))),
        400,
        "VALIDATION_ERROR",
    );
    let auth = format!("Bearer {}", sandbox.crm_token);
    let malformed = raw_request(
        &sandbox.crm,
        "PATCH",
        "/crm/v3/objects/deals/1001",
        &[("Authorization", &auth)],
        b"{\"properties\":",
    )
    .unwrap();
    assert_hubspot_error(&malformed, 400, "VALIDATION_ERROR");
    assert_hubspot_error(
        &sandbox.crm_call(
            "PATCH",
            "/crm/v3/objects/deals/424242",
            Some(json!({"properties": {"spotdraft_status": "SIGN"}})),
        ),
        404,
        "OBJECT_NOT_FOUND",
    );
    assert_eq!(sandbox.control("GET", "/__sandbox/crm/writes", None).json().as_array().unwrap().len(), 2);

    // Tests can add a custom property the core needs.
    assert_eq!(
        sandbox.control("POST", "/__sandbox/crm/properties", Some(json!({"name": "spotdraft_colour"}))).status,
        200
    );
    assert_eq!(
        sandbox
            .crm_call("PATCH", "/crm/v3/objects/deals/1001", Some(json!({"properties": {"spotdraft_colour": "red"}})))
            .status,
        200
    );
}

#[test]
fn search_and_create_deals() {
    let sandbox = Sandbox::start(&[]);
    let search = |body: Value| sandbox.crm_call("POST", "/crm/v3/objects/deals/search", Some(body));
    let stage = search(json!({"filterGroups": [{"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "contractsent"}]}], "properties": ["dealname"]})).json();
    assert_eq!(stage["total"], 1);
    assert_eq!(stage["results"][0]["id"], "1001");
    let dated =
        search(json!({"filterGroups": [{"filters": [{"propertyName": "closedate", "operator": "HAS_PROPERTY"}]}]}))
            .json();
    assert_eq!(dated["total"], 4);
    let undated =
        search(json!({"filterGroups": [{"filters": [{"propertyName": "closedate", "operator": "NOT_HAS_PROPERTY"}]}]}))
            .json();
    assert_eq!(undated["results"][0]["id"], "1003");
    let big = search(
        json!({"filterGroups": [{"filters": [{"propertyName": "amount", "operator": "GTE", "value": "100000"}]}]}),
    )
    .json();
    assert_eq!(big["total"], 2);
    let paged = search(json!({"limit": 2})).json();
    assert_eq!((paged["total"].clone(), paged["results"].as_array().unwrap().len()), (json!(5), 2));
    assert_eq!(paged["paging"]["next"]["after"], "2");
    let next = search(json!({"limit": 2, "after": "4"})).json();
    assert_eq!(next["results"].as_array().unwrap().len(), 1);
    assert!(next.get("paging").is_none());
    assert_hubspot_error(
        &search(json!({"filterGroups": [{"filters": [{"propertyName": "x", "operator": "LIKE", "value": "y"}]}]})),
        400,
        "VALIDATION_ERROR",
    );
    // `query` is matched against the default searchable deal properties (dealname, dealstage, …) only.
    let named = search(json!({"query": "ACME", "properties": ["dealname", "dealstage"]})).json();
    assert_eq!((named["total"].clone(), named["results"][0]["id"].clone()), (json!(1), json!("1001")));
    assert_eq!(named["results"][0]["properties"]["dealstage"], "contractsent");
    assert_eq!(search(json!({"query": "contractsent"})).json()["total"], 1);
    assert_eq!(search(json!({"query": "48000"})).json()["total"], 0, "amount is not a searchable property");
    let created = sandbox.crm_call("POST", "/crm/v3/objects/deals", Some(json!({
        "properties": {"dealname": "Demo deal", "amount": "1200", "deal_currency_code": "USD", "dealstage": "appointmentscheduled"},
        "associations": [{"to": {"id": "2002"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]}]
    })));
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_string();
    let companies = sandbox.crm_call("GET", &format!("/crm/v4/objects/deals/{id}/associations/companies"), None).json();
    assert_eq!(companies["results"][0]["toObjectId"], 2002);
    let found = search(
        json!({"filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": id}]}]}),
    )
    .json();
    assert_eq!(found["total"], 1);
    let writes = sandbox.control("GET", "/__sandbox/crm/writes", None).json();
    assert_eq!(writes[0]["method"], "POST");

    // `sorts`: newest modified first once a deal is changed; one sort at most, a known direction.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let touched =
        sandbox.crm_call("PATCH", "/crm/v3/objects/deals/1003", Some(json!({"properties": {"amount": "9600"}})));
    assert_eq!(touched.status, 200, "{}", touched.text());
    let newest = json!([{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}]);
    assert_eq!(search(json!({"sorts": newest})).json()["results"][0]["id"], "1003");
    let by_name =
        search(json!({"sorts": [{"propertyName": "dealname", "direction": "ASCENDING"}], "properties": ["dealname"]}))
            .json();
    let names: Vec<&str> =
        by_name["results"].as_array().unwrap().iter().filter_map(|r| r["properties"]["dealname"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|name| name.to_lowercase());
    assert_eq!(names, sorted);
    assert_hubspot_error(
        &search(json!({"sorts": [{"propertyName": "dealname", "direction": "UP"}]})),
        400,
        "VALIDATION_ERROR",
    );
    assert_hubspot_error(&search(json!({"sorts": ["dealname", "amount"]})), 400, "VALIDATION_ERROR");
}
