//! Reading the canonical deal from the CRM on the server side, for hosts whose sidebar gets no
//! record data (Pipedrive panels; HubSpot's full-sidebar modal). HubSpot CRM v3 and Pipedrive API v2;
//! Salesforce and Zoho sidebars read the record in the browser (uiRecordApi, ZOHO.CRM.API).

use serde_json::{json, Map, Value};

use super::{check_record_id, checked_base, crm_error, error_from_answer, json_body, request, CrmEndpoint};
use crate::error::Result;
use crate::model::CrmHost;
use crate::transport::{HttpResponse, Method, Transport, TransportError};
use crate::url;

const HUBSPOT_DEAL: [&str; 6] =
    ["dealname", "amount", "deal_currency_code", "dealstage", "closedate", "hubspot_owner_id"];
const HUBSPOT_COMPANY: [&str; 6] = ["name", "address", "city", "state", "zip", "country"];
const HUBSPOT_CONTACT: [&str; 3] = ["firstname", "lastname", "email"];

/// CRMs keep the country as typed; SpotDraft addresses want ISO 3166 codes.
fn country_code(country: &str) -> Option<&'static str> {
    let key = country.trim().to_lowercase();
    [
        ("united states", "US"),
        ("usa", "US"),
        ("us", "US"),
        ("germany", "DE"),
        ("deutschland", "DE"),
        ("united kingdom", "GB"),
        ("uk", "GB"),
        ("gb", "GB"),
        ("india", "IN"),
        ("in", "IN"),
        ("france", "FR"),
    ]
    .iter()
    .find(|(name, _)| *name == key)
    .map(|(_, code)| *code)
}

async fn get<T: Transport>(transport: &T, endpoint: &CrmEndpoint, url: String) -> Result<Value> {
    let response: HttpResponse =
        transport.send(request(endpoint, Method::Get, url, None)).await.map_err(|error| match error {
            TransportError::Timeout => crate::Error::Timeout { attempts: 1 },
            TransportError::Connection(message) => {
                crate::Error::Network { message: format!("CRM: {message}"), attempts: 1 }
            }
            TransportError::TooLarge { limit } => {
                crm_error(endpoint.host, 200, format!("the answer is larger than {limit} bytes"))
            }
        })?;
    if !(200..300).contains(&response.status) {
        return Err(error_from_answer(endpoint.host, &response));
    }
    json_body(endpoint.host, &response)
}

fn text(value: Option<&Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// The deal as the core's canonical `DealInput` JSON (validated by the caller with `Deal::from_json`).
/// `custom` names extra CRM properties the plugin's field mappings read (`custom.<name>`).
pub async fn read_deal<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    deal_id: &str,
    custom: &[String],
) -> Result<Value> {
    let base = checked_base(endpoint)?;
    check_record_id(deal_id)?;
    match endpoint.host {
        CrmHost::Hubspot => hubspot(transport, endpoint, &base, deal_id, custom).await,
        CrmHost::Pipedrive => pipedrive(transport, endpoint, &base, deal_id).await,
        host => Err(crate::Error::invalid_input(
            "crm",
            format!(
                "{} sidebars read the record in the browser; the relay does not read {} deals",
                host.display_name(),
                host.display_name()
            ),
        )),
    }
}

async fn hubspot<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    base: &str,
    id: &str,
    custom: &[String],
) -> Result<Value> {
    let mut properties: Vec<&str> = HUBSPOT_DEAL.to_vec();
    properties.extend(
        custom.iter().map(String::as_str).filter(|name| name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')),
    );
    let deal = get(
        transport,
        endpoint,
        format!(
            "{base}/crm/v3/objects/deals/{id}?properties={}&associations=companies,contacts",
            url::encode_component(&properties.join(","))
        ),
    )
    .await?;
    let props = deal.get("properties").cloned().unwrap_or(Value::Null);
    let first_association = |kind: &str| {
        deal.pointer(&format!("/associations/{kind}/results/0/id"))
            .and_then(|v| text(Some(v)))
            .filter(|id| crate::model::is_valid_crm_id(id))
    };
    let account = match first_association("companies") {
        Some(company_id) => {
            let company = get(
                transport,
                endpoint,
                format!("{base}/crm/v3/objects/companies/{company_id}?properties={}", HUBSPOT_COMPANY.join(",")),
            )
            .await?;
            let c = company.get("properties").cloned().unwrap_or(Value::Null);
            let country = text(c.get("country"));
            json!({
                "id": company_id,
                "name": text(c.get("name")).unwrap_or_else(|| format!("Company {company_id}")),
                "address": {
                    "lineOne": text(c.get("address")), "city": text(c.get("city")), "state": text(c.get("state")),
                    "zipcode": text(c.get("zip")), "country": country,
                    "countryIsoCode": country.as_deref().and_then(country_code),
                }
            })
        }
        None => Value::Null,
    };
    let contact = match first_association("contacts") {
        Some(contact_id) => {
            let person = get(
                transport,
                endpoint,
                format!("{base}/crm/v3/objects/contacts/{contact_id}?properties={}", HUBSPOT_CONTACT.join(",")),
            )
            .await?;
            let p = person.get("properties").cloned().unwrap_or(Value::Null);
            json!({"id": contact_id, "firstName": text(p.get("firstname")), "lastName": text(p.get("lastname")), "email": text(p.get("email"))})
        }
        None => Value::Null,
    };
    let custom_values: Map<String, Value> = custom
        .iter()
        .filter_map(|name| props.get(name).filter(|v| !v.is_null()).map(|v| (name.clone(), v.clone())))
        .collect();
    Ok(json!({
        "id": id,
        "name": text(props.get("dealname")).unwrap_or_else(|| format!("Deal {id}")),
        "amount": text(props.get("amount")),
        "currency": text(props.get("deal_currency_code")),
        "stage": text(props.get("dealstage")),
        "closeDate": text(props.get("closedate")),
        "account": account,
        "primaryContact": contact,
        "custom": custom_values,
    }))
}

async fn pipedrive<T: Transport>(transport: &T, endpoint: &CrmEndpoint, base: &str, id: &str) -> Result<Value> {
    let deal = get(transport, endpoint, format!("{base}/api/v2/deals/{id}")).await?;
    let data = deal.get("data").cloned().unwrap_or(Value::Null);
    let linked = |key: &str| data.get(key).and_then(|v| text(Some(v))).filter(|id| crate::model::is_valid_crm_id(id));
    let account = match linked("org_id") {
        Some(org_id) => {
            let org = get(transport, endpoint, format!("{base}/api/v2/organizations/{org_id}")).await?;
            let o = org.get("data").cloned().unwrap_or(Value::Null);
            let address = o.get("address").cloned().unwrap_or(Value::Null);
            let country = text(address.get("country"));
            let street = match (text(address.get("street_number")), text(address.get("route"))) {
                (Some(number), Some(route)) => Some(format!("{number} {route}")),
                (None, route) => route,
                (number, None) => number,
            };
            json!({
                "id": org_id,
                "name": text(o.get("name")).unwrap_or_else(|| format!("Organization {org_id}")),
                "address": {
                    "lineOne": street, "city": text(address.get("locality")), "state": text(address.get("admin_area_level_1")),
                    "zipcode": text(address.get("postal_code")), "country": country,
                    "countryIsoCode": country.as_deref().and_then(country_code),
                }
            })
        }
        None => Value::Null,
    };
    let contact = match linked("person_id") {
        Some(person_id) => {
            let person = get(transport, endpoint, format!("{base}/api/v2/persons/{person_id}")).await?;
            let p = person.get("data").cloned().unwrap_or(Value::Null);
            let emails = p.get("emails").and_then(Value::as_array).cloned().unwrap_or_default();
            let email = emails
                .iter()
                .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
                .or_else(|| emails.first())
                .and_then(|e| text(e.get("value")));
            json!({"id": person_id, "firstName": text(p.get("first_name")), "lastName": text(p.get("last_name")), "email": email})
        }
        None => Value::Null,
    };
    Ok(json!({
        "id": id,
        "name": text(data.get("title")).unwrap_or_else(|| format!("Deal {id}")),
        "amount": data.get("value").filter(|v| v.is_number()).cloned(),
        "currency": text(data.get("currency")),
        // Pipedrive stages are ids; the plugin's creationStages list them as text.
        "stage": text(data.get("stage_id")),
        "closeDate": text(data.get("expected_close_date")),
        "account": account,
        "primaryContact": contact,
        "custom": data.get("custom_fields").filter(|v| v.is_object()).cloned().unwrap_or_else(|| json!({})),
    }))
}
