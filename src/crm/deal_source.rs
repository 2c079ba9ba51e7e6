//! Reading the canonical deal from the CRM on the server side, so that what the relay creates is
//! decided by the system of record, not by what a browser sent: HubSpot CRM v3, Salesforce REST
//! (Opportunity, Account, OpportunityContactRole → Contact), Zoho CRM v8 (Deals, Accounts, Contacts)
//! and Pipedrive API v2 (deals, organizations, persons). Every reader produces the same canonical
//! `DealInput` JSON (`Deal::from_json`). Every request goes through `crm::send`, so OAuth access
//! tokens are renewed on the way.

use serde_json::{json, Map, Value};

use super::{check_record_id, checked_base, crm_error, error_from_answer, json_body, request, send, CrmEndpoint};
use crate::error::Result;
use crate::model::{is_valid_crm_id, CrmHost};
use crate::transport::{HttpResponse, Method, Transport};
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
    let response: HttpResponse = send(transport, endpoint, request(endpoint, Method::Get, url, None)).await?;
    if !(200..300).contains(&response.status) {
        return Err(error_from_answer(endpoint.host, &response));
    }
    // Zoho answers a read of a record that is gone (or hidden) with 204 and no body.
    if response.status == 204 && response.body.is_empty() {
        return Err(crm_error(
            endpoint.host,
            404,
            "the deal does not exist (deleted or merged), or the connection cannot see it (204, no record)".into(),
        ));
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
        CrmHost::Salesforce => salesforce(transport, endpoint, &base, deal_id, custom).await,
        CrmHost::Zoho => zoho(transport, endpoint, &base, deal_id, custom).await,
        CrmHost::Pipedrive => pipedrive(transport, endpoint, &base, deal_id).await,
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

/// Salesforce REST, API v62.0. The Opportunity and Account are read with all their fields (no
/// `?fields=`), because `CurrencyIsoCode` exists only in multi-currency orgs and naming a field an org
/// lacks fails the whole read with `INVALID_FIELD`; custom fields come from the same answer. The primary
/// contact is the Opportunity's `OpportunityContactRole` with `IsPrimary` (else the first role).
async fn salesforce<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    base: &str,
    id: &str,
    custom: &[String],
) -> Result<Value> {
    let data = format!("{base}/services/data/v62.0");
    let deal = get(transport, endpoint, format!("{data}/sobjects/Opportunity/{id}")).await?;
    let linked = |value: Option<&Value>| text(value).filter(|id| is_valid_crm_id(id));
    let account = match linked(deal.get("AccountId")) {
        Some(account_id) => {
            let a = get(transport, endpoint, format!("{data}/sobjects/Account/{account_id}")).await?;
            let country = text(a.get("BillingCountry"));
            let code = text(a.get("BillingCountryCode"))
                .or_else(|| country.as_deref().and_then(country_code).map(String::from));
            json!({
                "id": account_id,
                "name": text(a.get("Name")).unwrap_or_else(|| format!("Account {account_id}")),
                "address": {
                    "lineOne": text(a.get("BillingStreet")), "city": text(a.get("BillingCity")),
                    "state": text(a.get("BillingState")), "zipcode": text(a.get("BillingPostalCode")),
                    "country": country, "countryIsoCode": code,
                }
            })
        }
        None => Value::Null,
    };
    // The id is checked (`check_record_id`: letters, digits, - and _), so it cannot break the quotes.
    let soql = format!("SELECT ContactId, IsPrimary, Role FROM OpportunityContactRole WHERE OpportunityId = '{id}'");
    let roles = get(transport, endpoint, format!("{data}/query?q={}", url::encode_component(&soql))).await?;
    let records = roles.get("records").and_then(Value::as_array).cloned().unwrap_or_default();
    let primary = records
        .iter()
        .find(|r| r.get("IsPrimary").and_then(Value::as_bool) == Some(true))
        .or_else(|| records.first())
        .and_then(|r| linked(r.get("ContactId")));
    let contact = match primary {
        Some(contact_id) => {
            let c = get(
                transport,
                endpoint,
                format!("{data}/sobjects/Contact/{contact_id}?fields=FirstName,LastName,Email"),
            )
            .await?;
            json!({"id": contact_id, "firstName": text(c.get("FirstName")), "lastName": text(c.get("LastName")), "email": text(c.get("Email"))})
        }
        None => Value::Null,
    };
    Ok(json!({
        "id": id,
        "name": text(deal.get("Name")).unwrap_or_else(|| format!("Opportunity {id}")),
        "amount": deal.get("Amount").filter(|v| v.is_number()).cloned(),
        "currency": text(deal.get("CurrencyIsoCode")),
        "stage": text(deal.get("StageName")),
        "closeDate": text(deal.get("CloseDate")),
        "account": account,
        "primaryContact": contact,
        "custom": custom_values(&deal, custom),
    }))
}

/// Zoho CRM v8. Records come as `{"data": [record]}`; lookups (`Account_Name`, `Contact_Name`) are
/// `{"name", "id"}` objects. The deal is read with all its fields (`Currency` exists only in
/// multi-currency orgs).
async fn zoho<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    base: &str,
    id: &str,
    custom: &[String],
) -> Result<Value> {
    let first = |answer: &Value| answer.pointer("/data/0").cloned().unwrap_or(Value::Null);
    let deal = first(&get(transport, endpoint, format!("{base}/crm/v8/Deals/{id}")).await?);
    if deal.is_null() {
        return Err(crm_error(endpoint.host, 200, "the answer has no record in data[0]".into()));
    }
    let lookup = |key: &str| deal.get(key).and_then(|v| text(v.get("id"))).filter(|id| is_valid_crm_id(id));
    let account = match lookup("Account_Name") {
        Some(account_id) => {
            let a = first(&get(transport, endpoint, format!("{base}/crm/v8/Accounts/{account_id}")).await?);
            let country = text(a.get("Billing_Country"));
            json!({
                "id": account_id,
                "name": text(a.get("Account_Name")).unwrap_or_else(|| format!("Account {account_id}")),
                "address": {
                    "lineOne": text(a.get("Billing_Street")), "city": text(a.get("Billing_City")),
                    "state": text(a.get("Billing_State")), "zipcode": text(a.get("Billing_Code")),
                    "country": country, "countryIsoCode": country.as_deref().and_then(country_code),
                }
            })
        }
        None => Value::Null,
    };
    let contact = match lookup("Contact_Name") {
        Some(contact_id) => {
            let c = first(
                &get(
                    transport,
                    endpoint,
                    format!("{base}/crm/v8/Contacts/{contact_id}?fields=First_Name,Last_Name,Email"),
                )
                .await?,
            );
            json!({"id": contact_id, "firstName": text(c.get("First_Name")), "lastName": text(c.get("Last_Name")), "email": text(c.get("Email"))})
        }
        None => Value::Null,
    };
    Ok(json!({
        "id": id,
        "name": text(deal.get("Deal_Name")).unwrap_or_else(|| format!("Deal {id}")),
        "amount": deal.get("Amount").filter(|v| v.is_number()).cloned(),
        "currency": text(deal.get("Currency")),
        "stage": text(deal.get("Stage")),
        "closeDate": text(deal.get("Closing_Date")),
        "account": account,
        "primaryContact": contact,
        "custom": custom_values(&deal, custom),
    }))
}

/// The named fields of a flat record that hold a value.
fn custom_values(record: &Value, custom: &[String]) -> Value {
    let values: Map<String, Value> = custom
        .iter()
        .filter_map(|name| record.get(name).filter(|v| !v.is_null()).map(|v| (name.clone(), v.clone())))
        .collect();
    Value::Object(values)
}

/// Whether the CRM says `user_id` may see the deal, asked with the connection's own credential:
/// Pipedrive: `GET /v1/deals/{id}/permittedUsers` lists the ids of users who may see it; Salesforce:
/// `UserRecordAccess.HasReadAccess` for that user and record (SOQL). HubSpot and Zoho have no such
/// question over their APIs: an error says so and the caller decides.
pub async fn user_can_see_deal<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    deal_id: &str,
    user_id: &str,
) -> Result<bool> {
    let base = checked_base(endpoint)?;
    check_record_id(deal_id)?;
    if !is_valid_crm_id(user_id) {
        return Err(crate::Error::invalid_input("userId", format!("\"{user_id}\" is not a CRM user id")));
    }
    match endpoint.host {
        CrmHost::Pipedrive => {
            let answer = get(transport, endpoint, format!("{base}/v1/deals/{deal_id}/permittedUsers")).await?;
            let users = answer.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
            Ok(users.iter().any(|u| text(Some(u)).as_deref() == Some(user_id)))
        }
        CrmHost::Salesforce => {
            let soql = format!(
                "SELECT RecordId, HasReadAccess FROM UserRecordAccess WHERE UserId = '{user_id}' AND RecordId = '{deal_id}'"
            );
            let answer = get(
                transport,
                endpoint,
                format!("{base}/services/data/v62.0/query?q={}", url::encode_component(&soql)),
            )
            .await?;
            Ok(answer.pointer("/records/0/HasReadAccess").and_then(Value::as_bool) == Some(true))
        }
        host => Err(crate::Error::invalid_input(
            "crm",
            format!("{} has no API to ask whether another user may see a record", host.display_name()),
        )),
    }
}
