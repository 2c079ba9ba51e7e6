//! Notes on a deal's timeline, in each CRM's own notes API, and the reading back of the notes a
//! record already has, so an entry is added once however often its cause is seen.
//!
//! Each entry carries a reference (`Note::reference`) that names what it records; finding that text
//! in an existing note means the entry is already there.
//!
//! - HubSpot: notes objects (`POST /crm/v3/objects/notes`, `hs_timestamp` required, associated to the
//!   deal with HubSpot-defined type 214 "note to deal"); a deal's notes are its v4 associations
//!   (`GET /crm/v4/objects/deals/{id}/associations/notes`) read in batches of 100
//!   (`POST /crm/v3/objects/notes/batch/read`). `hs_note_body` is HTML.
//! - Salesforce: a completed Task on the Opportunity (`WhatId`), which Lightning's activity timeline
//!   shows; read back with SOQL on `Task WHERE WhatId`.
//! - Zoho CRM v8: `POST /crm/v8/Notes` with `Parent_Id {module: {api_name: "Deals"}, id}`; read back
//!   from `GET /crm/v8/Deals/{id}/Notes?fields=…` (fields are required there), 200 a page.
//! - Pipedrive v1 (its notes have no v2 yet): `POST /api/v1/notes` with `deal_id`; read back from
//!   `GET /api/v1/notes?deal_id=`, 100 a page. `content` is HTML.

use serde_json::{json, Value};

use super::{check_record_id, check_write, checked_base, error_from_answer, json_body, request, send, CrmEndpoint};
use crate::error::{Error, Result};
use crate::model::CrmHost;
use crate::transport::{Method, Transport};
use crate::url;

/// Pages read at most when looking for an entry (HubSpot 500 associations a page, Salesforce 2,000
/// rows, Zoho 200, Pipedrive 100): a deal with more notes than this is searched in its newest ones
/// only where the CRM sorts them so.
const MAX_PAGES: usize = 20;

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// One line: what happened ("Signed by Pat Buyer").
    pub title: String,
    /// Further plain-text lines.
    pub lines: Vec<String>,
    /// Where to see it in SpotDraft.
    pub link: Option<String>,
    /// When it happened, UTC milliseconds.
    pub at_ms: i64,
    /// Names the entry exactly; written into the note and looked for before adding one. Letters,
    /// digits and `-:/._ ` only, so it reads the same in HTML.
    pub reference: String,
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

impl Note {
    fn check(&self) -> Result<()> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-:/._ ".contains(c);
        if self.reference.is_empty() || !self.reference.chars().all(allowed) {
            return Err(Error::invalid_input("reference", format!("\"{}\" cannot mark a note", self.reference)));
        }
        Ok(())
    }

    fn reference_line(&self) -> String {
        format!("SpotDraft ref {}", self.reference)
    }

    fn html(&self) -> String {
        let mut html = format!("<p><strong>{}</strong></p>", escape_html(&self.title));
        for line in &self.lines {
            html.push_str(&format!("<p>{}</p>", escape_html(line)));
        }
        if let Some(link) = &self.link {
            let link = escape_html(link);
            html.push_str(&format!("<p><a href=\"{link}\">Open in SpotDraft</a></p>"));
        }
        html.push_str(&format!("<p><small>{}</small></p>", self.reference_line()));
        html
    }

    fn text(&self) -> String {
        let mut text = self.lines.join("\n");
        if let Some(link) = &self.link {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!("Open in SpotDraft: {link}"));
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&self.reference_line());
        text
    }
}

/// Cuts `text` to at most `max` characters (CRM title limits).
fn at_most(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The texts of the record's notes that could carry a reference: HubSpot and Pipedrive bodies,
/// Salesforce task descriptions, Zoho note contents.
pub async fn note_texts<T: Transport>(transport: &T, endpoint: &CrmEndpoint, record_id: &str) -> Result<Vec<String>> {
    let base = checked_base(endpoint)?;
    check_record_id(record_id)?;
    match endpoint.host {
        CrmHost::Hubspot => hubspot_note_bodies(transport, endpoint, &base, record_id).await,
        CrmHost::Salesforce => {
            let soql = format!("SELECT Id, Description FROM Task WHERE WhatId = '{record_id}'");
            let rows = salesforce_query(transport, endpoint, &base, &soql).await?;
            Ok(rows.iter().filter_map(|row| text_of(row, "Description")).collect())
        }
        CrmHost::Zoho => {
            let url = format!("{base}/crm/v8/Deals/{record_id}/Notes?fields=Note_Title,Note_Content&per_page=200");
            zoho_pages(transport, endpoint, &url, "Note_Content").await
        }
        CrmHost::Pipedrive => {
            let url = format!("{base}/api/v1/notes?deal_id={record_id}&limit=100");
            pipedrive_pages(transport, endpoint, &url, "content").await
        }
    }
}

/// True when one of the record's notes carries `reference`.
pub async fn has_note<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    record_id: &str,
    reference: &str,
) -> Result<bool> {
    let marker = format!("SpotDraft ref {reference}");
    Ok(note_texts(transport, endpoint, record_id).await?.iter().any(|text| text.contains(&marker)))
}

/// Adds `note` to the record's timeline; on HubSpot `attachment` (a file id) rides on it. The new
/// note's id.
pub async fn add_note<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    record_id: &str,
    note: &Note,
    attachment: Option<&str>,
) -> Result<String> {
    note.check()?;
    let base = checked_base(endpoint)?;
    check_record_id(record_id)?;
    let (url, body) = match endpoint.host {
        CrmHost::Hubspot => {
            let mut properties = json!({"hs_timestamp": note.at_ms.to_string(), "hs_note_body": note.html()});
            if let (Some(id), Value::Object(map)) = (attachment, &mut properties) {
                map.insert("hs_attachment_ids".into(), json!(id));
            }
            let association = json!({
                "to": {"id": record_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}],
            });
            (format!("{base}/crm/v3/objects/notes"), json!({"properties": properties, "associations": [association]}))
        }
        CrmHost::Salesforce => {
            let date = crate::time::format_timestamp(note.at_ms.saturating_mul(1000))
                .and_then(|t| t.get(..10).map(str::to_string))
                .unwrap_or_default();
            let mut task = json!({
                "Subject": at_most(&note.title, 255),
                "Description": note.text(),
                "WhatId": record_id,
                "Status": "Completed",
                "TaskSubtype": "Task",
            });
            if let (false, Value::Object(map)) = (date.is_empty(), &mut task) {
                map.insert("ActivityDate".into(), json!(date));
            }
            (format!("{base}/services/data/{}/sobjects/Task", super::salesforce::API_VERSION), task)
        }
        CrmHost::Zoho => (
            format!("{base}/crm/v8/Notes"),
            json!({"data": [{
                "Note_Title": at_most(&note.title, 120),
                "Note_Content": note.text(),
                "Parent_Id": {"module": {"api_name": "Deals"}, "id": record_id},
            }]}),
        ),
        CrmHost::Pipedrive => {
            let deal: u64 = record_id
                .parse()
                .map_err(|_| Error::invalid_input("recordId", format!("\"{record_id}\" is not a Pipedrive deal id")))?;
            (format!("{base}/api/v1/notes"), json!({"content": note.html(), "deal_id": deal}))
        }
    };
    let body = serde_json::to_vec(&body).map_err(|e| Error::invalid_input("note", e.to_string()))?;
    let response = send(transport, endpoint, request(endpoint, Method::Post, url, Some(body))).await?;
    check_write(endpoint, &response)?;
    created_id(endpoint.host, &json_body(endpoint.host, &response)?)
        .ok_or_else(|| super::crm_error(endpoint.host, response.status, "the answer names no new note id".into()))
}

/// The id of what a create made, in each vendor's answer shape: HubSpot and Salesforce `id`, Zoho
/// `data[0].details.id`, Pipedrive `data.id`.
pub(super) fn created_id(host: CrmHost, body: &Value) -> Option<String> {
    let id = match host {
        CrmHost::Hubspot | CrmHost::Salesforce => body.get("id"),
        CrmHost::Zoho => body.pointer("/data/0/details/id"),
        CrmHost::Pipedrive => body.pointer("/data/id"),
    }?;
    match id {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

async fn get_json<T: Transport>(transport: &T, endpoint: &CrmEndpoint, url: String) -> Result<Value> {
    let response = send(transport, endpoint, request(endpoint, Method::Get, url, None)).await?;
    if !(200..300).contains(&response.status) {
        return Err(error_from_answer(endpoint.host, &response));
    }
    // Zoho answers 204 with no body for a record with nothing in the list.
    if response.status == 204 || response.body.is_empty() {
        return Ok(json!({}));
    }
    json_body(endpoint.host, &response)
}

fn text_of(item: &Value, key: &str) -> Option<String> {
    item.get(key).and_then(Value::as_str).map(str::to_string)
}

async fn hubspot_note_bodies<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    base: &str,
    record_id: &str,
) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut url = format!("{base}/crm/v4/objects/deals/{record_id}/associations/notes?limit=500");
        if let Some(cursor) = &after {
            url.push_str(&format!("&after={}", url::encode_component(cursor)));
        }
        let page = get_json(transport, endpoint, url).await?;
        let results = page.get("results").and_then(Value::as_array).cloned().unwrap_or_default();
        ids.extend(results.iter().filter_map(|r| match r.get("toObjectId") {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        }));
        after = page.pointer("/paging/next/after").and_then(Value::as_str).map(str::to_string);
        if after.is_none() {
            break;
        }
    }
    let mut bodies = Vec::new();
    for chunk in ids.chunks(100) {
        let inputs: Vec<Value> = chunk.iter().map(|id| json!({"id": id})).collect();
        let body = json!({"properties": ["hs_note_body"], "propertiesWithHistory": [], "inputs": inputs});
        let body = serde_json::to_vec(&body).map_err(|e| Error::invalid_input("notes", e.to_string()))?;
        let url = format!("{base}/crm/v3/objects/notes/batch/read");
        let response = send(transport, endpoint, request(endpoint, Method::Post, url, Some(body))).await?;
        if !(200..300).contains(&response.status) {
            return Err(error_from_answer(endpoint.host, &response));
        }
        let answer = json_body(endpoint.host, &response)?;
        for note in answer.get("results").and_then(Value::as_array).into_iter().flatten() {
            if let Some(text) = note.get("properties").and_then(|p| text_of(p, "hs_note_body")) {
                bodies.push(text);
            }
        }
    }
    Ok(bodies)
}

/// Every row a SOQL query answers, following `nextRecordsUrl` while `done` is false.
pub(super) async fn salesforce_query<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    base: &str,
    soql: &str,
) -> Result<Vec<Value>> {
    let version = super::salesforce::API_VERSION;
    let mut url = format!("{base}/services/data/{version}/query?q={}", url::encode_component(soql));
    let mut rows = Vec::new();
    for _ in 0..MAX_PAGES {
        let answer = get_json(transport, endpoint, url).await?;
        rows.extend(answer.get("records").and_then(Value::as_array).cloned().unwrap_or_default());
        // The next page's path is on the same instance; anything else is not followed.
        match answer.get("nextRecordsUrl").and_then(Value::as_str) {
            Some(next) if answer.get("done") == Some(&Value::Bool(false)) && next.starts_with("/services/data/") => {
                url = format!("{base}{next}");
            }
            _ => break,
        }
    }
    Ok(rows)
}

/// One text field of every row of a Zoho related list, page by page (`info.more_records`).
pub(super) async fn zoho_pages<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    url: &str,
    key: &str,
) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for page in 1..=MAX_PAGES {
        let answer = get_json(transport, endpoint, format!("{url}&page={page}")).await?;
        let rows = answer.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
        texts.extend(rows.iter().filter_map(|row| text_of(row, key)));
        if answer.pointer("/info/more_records") != Some(&Value::Bool(true)) {
            break;
        }
    }
    Ok(texts)
}

/// One text field of every item of a Pipedrive v1 list, page by page
/// (`additional_data.pagination.more_items_in_collection`, `next_start`).
pub(super) async fn pipedrive_pages<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    url: &str,
    key: &str,
) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    let mut start = 0u64;
    for _ in 0..MAX_PAGES {
        let answer = get_json(transport, endpoint, format!("{url}&start={start}")).await?;
        if answer.get("success") == Some(&Value::Bool(false)) {
            let text = super::pipedrive::error_text(&answer).unwrap_or_else(|| "success: false".into());
            return Err(super::crm_error(endpoint.host, 200, text));
        }
        let items = answer.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
        texts.extend(items.iter().filter_map(|item| text_of(item, key)));
        let pagination = answer.pointer("/additional_data/pagination");
        let more = pagination.and_then(|p| p.get("more_items_in_collection")) == Some(&Value::Bool(true));
        match pagination.and_then(|p| p.get("next_start")).and_then(Value::as_u64) {
            Some(next) if more && next > start => start = next,
            _ => break,
        }
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> Note {
        Note {
            title: "Signed by <Pat> & co".into(),
            lines: vec!["Mutual NDA".into()],
            link: Some("https://app.spotdraft.com/contracts/v2/12?a=1&b=2".into()),
            at_ms: 1_700_000_000_000,
            reference: "production/T-12/CONTRACT_SIGNED/1700000000000000".into(),
        }
    }

    #[test]
    fn html_escapes_what_the_contract_says_and_keeps_the_reference_findable() {
        let html = note().html();
        assert!(html.contains("Signed by &lt;Pat&gt; &amp; co"));
        assert!(html.contains("href=\"https://app.spotdraft.com/contracts/v2/12?a=1&amp;b=2\""));
        assert!(html.contains("SpotDraft ref production/T-12/CONTRACT_SIGNED/1700000000000000"));
    }

    #[test]
    fn plain_text_for_crms_that_show_text() {
        let text = note().text();
        assert_eq!(
            text,
            "Mutual NDA\nOpen in SpotDraft: https://app.spotdraft.com/contracts/v2/12?a=1&b=2\nSpotDraft ref production/T-12/CONTRACT_SIGNED/1700000000000000"
        );
    }

    #[test]
    fn a_reference_that_html_would_change_is_refused() {
        let mut bad = note();
        bad.reference = "a<b".into();
        assert!(bad.check().is_err());
        bad.reference = String::new();
        assert!(bad.check().is_err());
    }

    #[test]
    fn created_ids_in_each_vendor_shape() {
        assert_eq!(created_id(CrmHost::Hubspot, &json!({"id": "77"})).as_deref(), Some("77"));
        assert_eq!(created_id(CrmHost::Salesforce, &json!({"id": "00T1", "success": true})).as_deref(), Some("00T1"));
        assert_eq!(created_id(CrmHost::Zoho, &json!({"data": [{"details": {"id": "55"}}]})).as_deref(), Some("55"));
        assert_eq!(created_id(CrmHost::Pipedrive, &json!({"data": {"id": 9}})).as_deref(), Some("9"));
        assert_eq!(created_id(CrmHost::Pipedrive, &json!({"data": null})), None);
    }
}
