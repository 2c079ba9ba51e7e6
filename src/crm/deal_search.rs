//! Finding deals by name, for the admin console's deal picker (`GET /admin/{env}/deals?q=…`): each
//! CRM's own search API, newest activity first where the API sorts, answered as `DealHit`s whose
//! `stage` is exactly what the canonical deal's `stage` holds for that CRM (`deal_source`).
//!
//! The APIs:
//! - HubSpot: `POST /crm/v3/objects/deals/search` with `query` (matched against the default
//!   searchable deal properties, `dealname` among them), `properties`, `sorts` by
//!   `hs_lastmodifieddate` descending and `limit`; answer `{"total", "results": [{"id",
//!   "properties": {"dealname", "dealstage"}}]}`;
//! - Salesforce: SOQL through `GET /services/data/vNN.N/query?q=` — `SELECT Id, Name, StageName FROM
//!   Opportunity WHERE Name LIKE '%…%' ORDER BY LastModifiedDate DESC LIMIT n`, the text escaped for
//!   a quoted SOQL literal and for LIKE (`soql_like_text`); answer `{"totalSize", "done", "records":
//!   [{"Id", "Name", "StageName"}]}` (one page: `n` is far below a query batch);
//! - Zoho CRM v8: `GET /crm/v8/Deals/search?word=…&fields=Deal_Name,Stage&per_page=n`; answer
//!   `{"data": [{"id", "Deal_Name", "Stage"}], "info"}`, or 204 with no body when nothing matches;
//! - Pipedrive API v2: `GET /api/v2/deals/search?term=…&fields=title&limit=n`; answer `{"success",
//!   "data": {"items": [{"result_score", "item": {"id", "title", "stage": {"id", "name"}}}]},
//!   "additional_data": {"next_cursor"}}`, best match first.
//!
//! Every request goes through `crm::send`, so OAuth access tokens are renewed on the way. An entry
//! without a usable record id is left out (it could not be picked); an answer without its list is an
//! error that names the CRM.

use serde::Serialize;
use serde_json::{json, Value};

use super::deal_source::text;
use super::{checked_base, crm_error, error_from_answer, json_body, request, send, CrmEndpoint};
use crate::error::{Error, Result};
use crate::model::{is_valid_crm_id, CrmHost};
use crate::transport::{HttpResponse, Method, Transport};
use crate::url;

/// The fewest characters searched for (Zoho's `word` and Pipedrive's `term` need two).
pub const MIN_SEARCH_CHARS: usize = 2;
/// The most characters searched for.
pub const MAX_SEARCH_CHARS: usize = 100;
/// The most deals one search answers.
pub const MAX_SEARCH_LIMIT: usize = 100;

/// One deal a search found: its CRM id, its name, and its stage as the deal reader reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DealHit {
    pub id: String,
    pub name: String,
    pub stage: Option<String>,
}

/// The deals whose name matches `text` (trimmed, 2 to 100 characters, no control characters), at
/// most `limit` (1 to 100) of them, in the order the CRM ranks them.
pub async fn search_deals<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    text: &str,
    limit: usize,
) -> Result<Vec<DealHit>> {
    let text = search_text(text)?;
    if !(1..=MAX_SEARCH_LIMIT).contains(&limit) {
        return Err(Error::invalid_input("limit", format!("must be between 1 and {MAX_SEARCH_LIMIT}")));
    }
    let base = checked_base(endpoint)?;
    let host = endpoint.host;
    let (method, url, body) = match host {
        CrmHost::Hubspot => {
            let body = json!({
                "query": text,
                "properties": ["dealname", "dealstage"],
                "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
                "limit": limit,
            });
            (Method::Post, format!("{base}/crm/v3/objects/deals/search"), Some(body.to_string().into_bytes()))
        }
        CrmHost::Salesforce => {
            let soql = salesforce_soql(text, limit);
            let version = super::salesforce::API_VERSION;
            (Method::Get, format!("{base}/services/data/{version}/query?q={}", url::encode_component(&soql)), None)
        }
        CrmHost::Zoho => (
            Method::Get,
            format!(
                "{base}/crm/v8/Deals/search?word={}&fields=Deal_Name,Stage&per_page={limit}",
                url::encode_component(text)
            ),
            None,
        ),
        CrmHost::Pipedrive => (
            Method::Get,
            format!("{base}/api/v2/deals/search?term={}&fields=title&limit={limit}", url::encode_component(text)),
            None,
        ),
    };
    let response: HttpResponse = send(transport, endpoint, request(endpoint, method, url, body)).await?;
    if !(200..300).contains(&response.status) {
        return Err(error_from_answer(host, &response));
    }
    // Zoho answers a search that matches nothing with 204 and no body.
    if response.status == 204 && response.body.is_empty() {
        return Ok(Vec::new());
    }
    let answer = json_body(host, &response)?;
    let mut hits = parse_hits(host, &answer)
        .map_err(|reason| crm_error(host, response.status, format!("the deal search: {reason}")))?;
    hits.truncate(limit);
    Ok(hits)
}

/// The text to search for, trimmed, or the problem with it.
fn search_text(text: &str) -> Result<&str> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars < MIN_SEARCH_CHARS {
        return Err(Error::invalid_input(
            "q",
            format!("type at least {MIN_SEARCH_CHARS} characters of the deal's name to search for"),
        ));
    }
    if chars > MAX_SEARCH_CHARS {
        return Err(Error::invalid_input("q", format!("search for at most {MAX_SEARCH_CHARS} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::invalid_input("q", "the search text must not contain control characters"));
    }
    Ok(text)
}

/// The Opportunity query for names containing `text`, newest activity first.
fn salesforce_soql(text: &str, limit: usize) -> String {
    format!(
        "SELECT Id, Name, StageName FROM Opportunity WHERE Name LIKE '%{}%' ORDER BY LastModifiedDate DESC LIMIT {limit}",
        soql_like_text(text)
    )
}

/// `text` as the inside of a quoted SOQL literal on the right of LIKE, matching itself only: the
/// quotes and the backslash escaped as SOQL's quoted-string escapes require, LIKE's wildcards `%` and
/// `_` escaped to match themselves, and control characters written as their escapes.
pub(crate) fn soql_like_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("\\%"),
            '_' => out.push_str("\\_"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The hits in one CRM's search answer.
fn parse_hits(host: CrmHost, answer: &Value) -> Result<Vec<DealHit>, String> {
    match host {
        CrmHost::Hubspot => hubspot_hits(answer),
        CrmHost::Salesforce => salesforce_hits(answer),
        CrmHost::Zoho => zoho_hits(answer),
        CrmHost::Pipedrive => pipedrive_hits(answer),
    }
}

/// A hit, unless the record has no usable id; a record without a name is named as the deal reader
/// names it.
fn hit(id: Option<&Value>, name: Option<&Value>, stage: Option<&Value>) -> Option<DealHit> {
    let id = text(id).filter(|id| is_valid_crm_id(id))?;
    let name = text(name).unwrap_or_else(|| format!("Deal {id}"));
    Some(DealHit { id, name, stage: text(stage) })
}

fn array<'v>(value: Option<&'v Value>, what: &str) -> Result<&'v Vec<Value>, String> {
    value.and_then(Value::as_array).ok_or_else(|| format!("the answer has no {what} list"))
}

fn hubspot_hits(answer: &Value) -> Result<Vec<DealHit>, String> {
    let results = array(answer.get("results"), "results")?;
    Ok(results
        .iter()
        .filter_map(|deal| {
            let properties = deal.get("properties");
            let property = |name: &str| properties.and_then(|p| p.get(name));
            hit(deal.get("id"), property("dealname"), property("dealstage"))
        })
        .collect())
}

fn salesforce_hits(answer: &Value) -> Result<Vec<DealHit>, String> {
    let records = array(answer.get("records"), "records")?;
    Ok(records.iter().filter_map(|r| hit(r.get("Id"), r.get("Name"), r.get("StageName"))).collect())
}

fn zoho_hits(answer: &Value) -> Result<Vec<DealHit>, String> {
    let records = array(answer.get("data"), "data")?;
    Ok(records.iter().filter_map(|r| hit(r.get("id"), r.get("Deal_Name"), r.get("Stage"))).collect())
}

fn pipedrive_hits(answer: &Value) -> Result<Vec<DealHit>, String> {
    super::pipedrive::check_success(answer)?;
    let items = array(answer.pointer("/data/items"), "data.items")?;
    Ok(items
        .iter()
        .filter_map(|entry| {
            let deal = entry.get("item")?;
            // The stage is an object in a search answer; a deal holds its `stage_id`.
            hit(deal.get("id"), deal.get("title"), deal.pointer("/stage/id"))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, name: &str, stage: Option<&str>) -> DealHit {
        DealHit { id: id.into(), name: name.into(), stage: stage.map(String::from) }
    }

    #[test]
    fn search_text_is_trimmed_and_bounded() {
        assert_eq!(search_text("  acme "), Ok("acme"));
        assert_eq!(search_text("ab"), Ok("ab"));
        assert_eq!(search_text("éé"), Ok("éé"), "characters, not bytes");
        for bad in ["", "a", "  a  ", "\u{1F600}"] {
            let error = search_text(bad).unwrap_err();
            assert!(matches!(&error, Error::InvalidInput(p) if p[0].path == "q"), "{bad:?}: {error:?}");
        }
        assert!(search_text(&"x".repeat(100)).is_ok());
        assert!(search_text(&"x".repeat(101)).is_err());
        assert!(search_text("ac\nme").is_err());
        assert!(search_text("ac\u{0}me").is_err());
    }

    #[test]
    fn soql_text_escapes_quotes_backslashes_and_like_wildcards() {
        assert_eq!(soql_like_text("Acme"), "Acme");
        assert_eq!(soql_like_text("Bob's BBQ"), "Bob\\'s BBQ");
        assert_eq!(soql_like_text("a\\b"), "a\\\\b");
        assert_eq!(soql_like_text("say \"hi\""), "say \\\"hi\\\"");
        assert_eq!(soql_like_text("50%_off"), "50\\%\\_off");
        assert_eq!(soql_like_text("a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(soql_like_text("\u{8}\u{c}\u{1}"), "\\b\\f\\u0001");
        // A quote cannot end the literal early: every quote left is preceded by an odd run of backslashes.
        let escaped = soql_like_text("x\\' OR Name != '");
        assert_eq!(escaped, "x\\\\\\' OR Name != \\'");
        assert_eq!(
            salesforce_soql("Bob's 10%", 10),
            "SELECT Id, Name, StageName FROM Opportunity WHERE Name LIKE '%Bob\\'s 10\\%%' ORDER BY LastModifiedDate DESC LIMIT 10"
        );
    }

    #[test]
    fn hubspot_results_give_the_dealstage_id() {
        let answer = json!({"total": 3, "results": [
            {"id": "1001", "properties": {"dealname": "Acme Widgets", "dealstage": "contractsent", "hs_object_id": "1001"}},
            {"id": "1002", "properties": {"dealname": null, "dealstage": ""}},
            {"properties": {"dealname": "no id"}},
            {"id": "bad id!", "properties": {}},
            "not an object"
        ]});
        assert_eq!(
            parse_hits(CrmHost::Hubspot, &answer),
            Ok(vec![hit("1001", "Acme Widgets", Some("contractsent")), hit("1002", "Deal 1002", None)])
        );
        assert_eq!(parse_hits(CrmHost::Hubspot, &json!({"total": 0, "results": []})), Ok(vec![]));
        assert!(parse_hits(CrmHost::Hubspot, &json!({"status": "error"})).is_err());
        assert!(parse_hits(CrmHost::Hubspot, &json!([])).is_err());
    }

    #[test]
    fn salesforce_records_give_the_stage_name() {
        let answer = json!({"totalSize": 1, "done": true, "records": [
            {"attributes": {"type": "Opportunity"}, "Id": "006Hs00000001AAA", "Name": "Acme", "StageName": "Negotiation/Review"},
            {"attributes": {"type": "Opportunity"}, "Name": "no id"}
        ]});
        assert_eq!(
            parse_hits(CrmHost::Salesforce, &answer),
            Ok(vec![hit("006Hs00000001AAA", "Acme", Some("Negotiation/Review"))])
        );
        assert!(parse_hits(CrmHost::Salesforce, &json!({"records": {}})).is_err());
    }

    #[test]
    fn zoho_records_give_the_stage_value() {
        let answer = json!({"data": [{"id": "5725767000000411001", "Deal_Name": "Acme", "Stage": "Qualification"}],
                            "info": {"per_page": 10, "count": 1, "page": 1, "more_records": false}});
        assert_eq!(
            parse_hits(CrmHost::Zoho, &answer),
            Ok(vec![hit("5725767000000411001", "Acme", Some("Qualification"))])
        );
        assert!(parse_hits(CrmHost::Zoho, &json!({"info": {}})).is_err());
    }

    #[test]
    fn pipedrive_items_give_the_stage_id_as_text() {
        let answer = json!({"success": true, "data": {"items": [
            {"result_score": 1.2, "item": {"id": 101, "type": "deal", "title": "Acme", "stage": {"id": 4, "name": "Contract sent"}}},
            {"result_score": 0.5, "item": {"id": 102, "title": "No stage", "stage": null}},
            {"result_score": 0.1}
        ]}, "additional_data": {"next_cursor": null}});
        assert_eq!(
            parse_hits(CrmHost::Pipedrive, &answer),
            Ok(vec![hit("101", "Acme", Some("4")), hit("102", "No stage", None)])
        );
        assert!(parse_hits(CrmHost::Pipedrive, &json!({"success": true, "data": {}})).is_err());
        let refused = json!({"success": false, "error": "Search term must be at least 2 characters", "code": "ERR"});
        let reason = parse_hits(CrmHost::Pipedrive, &refused).unwrap_err();
        assert!(reason.contains("at least 2 characters"), "{reason}");
    }
}
