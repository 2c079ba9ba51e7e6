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

/// Where one CRM keeps each value of the canonical deal, its company and its primary contact.
pub(super) struct Keys {
    /// Deal: name, amount, currency, stage, close date.
    pub(super) deal: [&'static str; 5],
    /// Company: name, street, city, state, postal code, country.
    pub(super) company: [&'static str; 6],
    /// Contact: first name, last name, email.
    pub(super) contact: [&'static str; 3],
}

/// The keys the deal reader uses for `host` (the admin console lists them: `schema`).
pub(super) fn keys(host: CrmHost) -> &'static Keys {
    match host {
        CrmHost::Hubspot => &HUBSPOT_KEYS,
        CrmHost::Salesforce => &SALESFORCE_KEYS,
        CrmHost::Zoho => &ZOHO_KEYS,
        CrmHost::Pipedrive => &PIPEDRIVE_KEYS,
    }
}

const HUBSPOT_KEYS: Keys = Keys {
    deal: ["dealname", "amount", "deal_currency_code", "dealstage", "closedate"],
    company: ["name", "address", "city", "state", "zip", "country"],
    contact: ["firstname", "lastname", "email"],
};
const SALESFORCE_KEYS: Keys = Keys {
    deal: ["Name", "Amount", "CurrencyIsoCode", "StageName", "CloseDate"],
    company: ["Name", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry"],
    contact: ["FirstName", "LastName", "Email"],
};
const ZOHO_KEYS: Keys = Keys {
    deal: ["Deal_Name", "Amount", "Currency", "Stage", "Closing_Date"],
    company: ["Account_Name", "Billing_Street", "Billing_City", "Billing_State", "Billing_Code", "Billing_Country"],
    contact: ["First_Name", "Last_Name", "Email"],
};
const PIPEDRIVE_KEYS: Keys = Keys {
    // Pipedrive stages are ids; the plugin's creationStages list them as text.
    deal: ["title", "value", "currency", "stage_id", "expected_close_date"],
    // Organisations keep their address in one nested object (see `pipedrive`).
    company: ["name", "", "locality", "admin_area_level_1", "postal_code", "country"],
    contact: ["first_name", "last_name", ""],
};

/// The canonical deal from a CRM record, its company and its contact (already canonical).
fn deal_json(id: &str, record: &Value, keys: &Keys, account: Value, contact: Value, custom: Value) -> Value {
    let [name, amount, currency, stage, close_date] = keys.deal;
    // A number, or the decimal text some CRMs send (HubSpot's properties are all strings).
    let amount =
        record.get(amount).filter(|v| v.is_number()).cloned().or_else(|| text(record.get(amount)).map(Value::from));
    json!({
        "id": id,
        "name": text(record.get(name)).unwrap_or_else(|| format!("Deal {id}")),
        "amount": amount,
        "currency": text(record.get(currency)),
        "stage": text(record.get(stage)),
        "closeDate": text(record.get(close_date)),
        "account": account,
        "primaryContact": contact,
        "custom": custom,
    })
}

/// The canonical company from a CRM record (`street` given when the CRM composes it).
fn company_json(id: &str, record: &Value, keys: &Keys, street: Option<String>, country_iso: Option<String>) -> Value {
    let [name, street_key, city, state, zip, country] = keys.company;
    let country = text(record.get(country));
    let code = country_iso.or_else(|| country.as_deref().and_then(country_code).map(String::from));
    json!({
        "id": id,
        "name": text(record.get(name)).unwrap_or_else(|| format!("Company {id}")),
        "address": {
            "lineOne": street.or_else(|| text(record.get(street_key))), "city": text(record.get(city)),
            "state": text(record.get(state)), "zipcode": text(record.get(zip)), "country": country, "countryIsoCode": code,
        }
    })
}

/// The canonical contact from a CRM record (`email` given when the CRM keeps several).
fn contact_json(id: &str, record: &Value, keys: &Keys, email: Option<String>) -> Value {
    let [first, last, email_key] = keys.contact;
    json!({"id": id, "firstName": text(record.get(first)), "lastName": text(record.get(last)),
           "email": email.or_else(|| text(record.get(email_key)))})
}

pub(super) async fn get<T: Transport>(transport: &T, endpoint: &CrmEndpoint, url: String) -> Result<Value> {
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

pub(super) fn text(value: Option<&Value>) -> Option<String> {
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
            company_json(&company_id, &c, &HUBSPOT_KEYS, None, None)
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
            contact_json(&contact_id, &p, &HUBSPOT_KEYS, None)
        }
        None => Value::Null,
    };
    Ok(deal_json(id, &props, &HUBSPOT_KEYS, account, contact, custom_values(&props, custom)))
}

async fn pipedrive<T: Transport>(transport: &T, endpoint: &CrmEndpoint, base: &str, id: &str) -> Result<Value> {
    let deal = get(transport, endpoint, format!("{base}/api/v2/deals/{id}")).await?;
    let data = deal.get("data").cloned().unwrap_or(Value::Null);
    let linked = |key: &str| data.get(key).and_then(|v| text(Some(v))).filter(|id| crate::model::is_valid_crm_id(id));
    let account = match linked("org_id") {
        Some(org_id) => {
            let org = get(transport, endpoint, format!("{base}/api/v2/organizations/{org_id}")).await?;
            let o = org.get("data").cloned().unwrap_or(Value::Null);
            // The address is one nested object, its street in two parts; the name is beside it.
            let mut record = o.get("address").and_then(Value::as_object).cloned().unwrap_or_default();
            let street = match (text(record.get("street_number")), text(record.get("route"))) {
                (Some(number), Some(route)) => Some(format!("{number} {route}")),
                (None, route) => route,
                (number, None) => number,
            };
            if let Some(name) = o.get("name") {
                record.insert("name".into(), name.clone());
            }
            company_json(&org_id, &Value::Object(record), &PIPEDRIVE_KEYS, street, None)
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
            contact_json(&person_id, &p, &PIPEDRIVE_KEYS, email)
        }
        None => Value::Null,
    };
    let custom = data.get("custom_fields").filter(|v| v.is_object()).cloned().unwrap_or_else(|| json!({}));
    Ok(deal_json(id, &data, &PIPEDRIVE_KEYS, account, contact, custom))
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
            company_json(&account_id, &a, &SALESFORCE_KEYS, None, text(a.get("BillingCountryCode")))
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
            contact_json(&contact_id, &c, &SALESFORCE_KEYS, None)
        }
        None => Value::Null,
    };
    Ok(deal_json(id, &deal, &SALESFORCE_KEYS, account, contact, custom_values(&deal, custom)))
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
            company_json(&account_id, &a, &ZOHO_KEYS, None, None)
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
            contact_json(&contact_id, &c, &ZOHO_KEYS, None)
        }
        None => Value::Null,
    };
    Ok(deal_json(id, &deal, &ZOHO_KEYS, account, contact, custom_values(&deal, custom)))
}

/// The named fields of a flat record that hold a value.
fn custom_values(record: &Value, custom: &[String]) -> Value {
    let values: Map<String, Value> = custom
        .iter()
        .filter_map(|name| record.get(name).filter(|v| !v.is_null()).map(|v| (name.clone(), v.clone())))
        .collect();
    Value::Object(values)
}
