//! Files and notes on a deal, in each vendor's own shapes: what the relay uses to put the signed PDF
//! and timeline entries on the record, and to find them there again.
//!
//! - HubSpot: `POST /files/v3/files` (multipart `file`, `folderPath`|`folderId`, `options` JSON with
//!   `access`; 201), notes `POST /crm/v3/objects/notes` (`hs_timestamp` required; associations
//!   type 214 to a deal), `GET /crm/v4/objects/deals/{id}/associations/notes` (paged, `after`),
//!   `POST /crm/v3/objects/notes/batch/read`.
//! - Salesforce: `POST …/sobjects/ContentVersion` (multipart `entity_content` JSON then `VersionData`),
//!   `POST …/sobjects/Task`; SOQL on `ContentDocumentLink WHERE LinkedEntityId` and `Task WHERE WhatId`.
//! - Zoho CRM v8: `POST /crm/v8/Deals/{id}/Attachments` (multipart `file`), `GET` there (`fields`
//!   required; 204 when none), `POST /crm/v8/Notes`, `GET /crm/v8/Deals/{id}/Notes`.
//! - Pipedrive v1: `POST /api/v1/files` (multipart `file`, `deal_id`), `GET /api/v1/deals/{id}/files`,
//!   `POST /api/v1/notes`, `GET /api/v1/notes?deal_id=`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{pipedrive, salesforce, zoho, Vendor};
use crate::app::App;
use crate::clock;
use crate::http::{Request, Response};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredFile {
    pub id: String,
    pub record_id: String,
    pub name: String,
    pub size: usize,
    pub content_type: String,
    /// Hex SHA-256 of the bytes (the emulator keeps no file contents).
    pub sha256: String,
    /// The first bytes as text (`%PDF-1.4`).
    pub head: String,
    pub created_micros: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredNote {
    pub id: String,
    pub record_id: String,
    pub title: String,
    pub body: String,
    pub attachment_ids: Vec<String>,
    pub timestamp: String,
    pub created_micros: i64,
}

/// One part of a `multipart/form-data` body.
pub struct FormPart {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// The parts of a `multipart/form-data` body (RFC 7578), or why it is not one.
pub fn form_parts(request: &Request) -> Result<Vec<FormPart>, String> {
    let content_type = request.header("content-type").unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(format!("expected multipart/form-data, found \"{content_type}\""));
    }
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_string())
        .filter(|b| !b.is_empty())
        .ok_or("the multipart content type has no boundary")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let body = &request.body;
    let mut positions = Vec::new();
    let mut at = 0;
    while let Some(found) = find(body, &delimiter, at) {
        positions.push(found);
        at = found + delimiter.len();
    }
    if positions.len() < 2 {
        return Err("the body has no complete multipart part".into());
    }
    let mut parts = Vec::new();
    for pair in positions.windows(2) {
        let (start, end) = (pair[0] + delimiter.len(), pair[1]);
        let section = body.get(start..end).ok_or("broken multipart section")?;
        let section = section.strip_prefix(b"\r\n").ok_or("a boundary line must end with CRLF")?;
        let section = section.strip_suffix(b"\r\n").ok_or("a part must end with CRLF before the next boundary")?;
        let split = find(section, b"\r\n\r\n", 0).ok_or("a part has no blank line after its headers")?;
        let head = String::from_utf8_lossy(section.get(..split).unwrap_or_default()).into_owned();
        let data = section.get(split + 4..).unwrap_or_default().to_vec();
        let mut name = None;
        let mut file_name = None;
        let mut part_type = None;
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else { continue };
            match key.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for param in value.split(';').skip(1) {
                        if let Some((k, v)) = param.trim().split_once('=') {
                            let v = v.trim().trim_matches('"').to_string();
                            match k.trim() {
                                "name" => name = Some(v),
                                "filename" => file_name = Some(v),
                                _ => {}
                            }
                        }
                    }
                }
                "content-type" => part_type = Some(value.trim().to_string()),
                _ => {}
            }
        }
        let name = name.ok_or("a part has no Content-Disposition name")?;
        parts.push(FormPart { name, file_name, content_type: part_type, data });
    }
    let last = positions.last().copied().unwrap_or_default() + delimiter.len();
    if body.get(last..last + 2) != Some(b"--") {
        return Err("the body does not end with the closing boundary".into());
    }
    Ok(parts)
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

fn text_part(parts: &[FormPart], name: &str) -> Option<String> {
    parts.iter().find(|p| p.name == name).map(|p| String::from_utf8_lossy(&p.data).into_owned())
}

fn next_id(vendor: &mut Vendor, base: u64) -> u64 {
    vendor.next_activity_id += 1;
    base + vendor.next_activity_id
}

fn store_file(vendor: &mut Vendor, id: String, record_id: &str, part: &FormPart, name: Option<String>) -> StoredFile {
    let file = StoredFile {
        id,
        record_id: record_id.to_string(),
        name: name.or_else(|| part.file_name.clone()).unwrap_or_else(|| "file".into()),
        size: part.data.len(),
        content_type: part.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
        sha256: Sha256::digest(&part.data).iter().map(|b| format!("{b:02x}")).collect(),
        head: String::from_utf8_lossy(part.data.get(..8).unwrap_or(&part.data)).into_owned(),
        created_micros: clock::now_micros(),
    };
    vendor.files.push(file.clone());
    file
}

fn store_note(
    vendor: &mut Vendor,
    id: String,
    record_id: &str,
    title: &str,
    body: &str,
    attachments: Vec<String>,
    timestamp: String,
) -> StoredNote {
    let note = StoredNote {
        id,
        record_id: record_id.to_string(),
        title: title.to_string(),
        body: body.to_string(),
        attachment_ids: attachments,
        timestamp,
        created_micros: clock::now_micros(),
    };
    vendor.notes.push(note.clone());
    note
}

// ---- HubSpot -------------------------------------------------------------------------------

fn hs_error(status: u16, message: &str) -> Response {
    crate::crm::error(status, "VALIDATION_ERROR", message)
}

fn hs_time(micros: i64) -> String {
    clock::format_rfc3339(micros)
}

pub fn hubspot_upload(app: &App, request: &Request) -> Response {
    let parts = match form_parts(request) {
        Ok(parts) => parts,
        Err(reason) => return hs_error(400, &format!("Invalid multipart request: {reason}")),
    };
    let Some(file) = parts.iter().find(|p| p.name == "file" && p.file_name.is_some()) else {
        return hs_error(400, "file is required");
    };
    let folder_path = text_part(&parts, "folderPath");
    let folder_id = text_part(&parts, "folderId");
    if folder_path.is_some() == folder_id.is_some() {
        return hs_error(400, "Exactly one of folderId or folderPath is required");
    }
    let options: Value = match text_part(&parts, "options").map(|o| serde_json::from_str(&o)) {
        Some(Ok(options)) => options,
        _ => return hs_error(400, "options is required, as JSON with an access level"),
    };
    const ACCESS: [&str; 8] = [
        "PUBLIC_INDEXABLE",
        "PUBLIC_NOT_INDEXABLE",
        "HIDDEN_INDEXABLE",
        "HIDDEN_NOT_INDEXABLE",
        "HIDDEN_PRIVATE",
        "PRIVATE",
        "HIDDEN_SENSITIVE",
        "SENSITIVE",
    ];
    let Some(access) = options.get("access").and_then(Value::as_str).filter(|a| ACCESS.contains(a)) else {
        return hs_error(400, "options.access must be one of the file access levels");
    };
    let access = access.to_string();
    let name =
        text_part(&parts, "fileName").or_else(|| file.file_name.clone().map(|n| n.trim_end_matches(".pdf").into()));
    let mut state = app.state();
    let vendor = &mut state.vendors.hubspot;
    let id = next_id(vendor, 190_000_000_000).to_string();
    let stored = store_file(vendor, id, "", file, name);
    let folder = folder_path.unwrap_or_default();
    let answer = json!({
        "id": stored.id, "name": stored.name, "extension": "pdf", "size": stored.size, "type": "DOCUMENT",
        "access": access, "path": format!("{}/{}.pdf", folder.trim_end_matches('/'), stored.name),
        "url": format!("https://files.example.invalid/hubfs/{}", stored.id), "archived": false,
        "createdAt": hs_time(stored.created_micros), "updatedAt": hs_time(stored.created_micros),
    });
    app.persist(&state);
    Response::json(201, &answer)
}

fn hubspot_deal_exists(app: &App, id: &str) -> bool {
    let state = app.state();
    id.parse::<u64>().is_ok_and(|id| state.crm.deals.iter().any(|deal| deal.id == id))
}

pub fn hubspot_create_note(app: &App, request: &Request) -> Response {
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(error) => return hs_error(400, &format!("Invalid input JSON: {error}")),
    };
    let properties = body.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let Some(timestamp) = properties.get("hs_timestamp").and_then(Value::as_str).map(str::to_string) else {
        return hs_error(400, "Property values were not valid: hs_timestamp is required");
    };
    let text = |key: &str| properties.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let note_body = text("hs_note_body");
    if note_body.chars().count() > 65_536 {
        return hs_error(400, "hs_note_body is limited to 65536 characters");
    }
    let mut deal = None;
    for association in body.get("associations").and_then(Value::as_array).into_iter().flatten() {
        let to = association.pointer("/to/id").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
        let type_ok = association.get("types").and_then(Value::as_array).is_some_and(|types| {
            types.iter().any(|t| {
                t.get("associationCategory") == Some(&json!("HUBSPOT_DEFINED"))
                    && t.get("associationTypeId") == Some(&json!(214))
            })
        });
        match to {
            Some(id) if type_ok && hubspot_deal_exists(app, &id) => deal = Some(id),
            Some(id) if type_ok => return hs_error(400, &format!("No deal with id {id} to associate")),
            _ => return hs_error(400, "associations must name a deal with HUBSPOT_DEFINED type 214 (note to deal)"),
        }
    }
    let attachments: Vec<String> =
        text("hs_attachment_ids").split(';').filter(|s| !s.is_empty()).map(str::to_string).collect();
    let mut state = app.state();
    let vendor = &mut state.vendors.hubspot;
    if let Some(missing) = attachments.iter().find(|id| !vendor.files.iter().any(|f| &f.id == *id)) {
        return hs_error(400, &format!("hs_attachment_ids names a file that does not exist: {missing}"));
    }
    let id = next_id(vendor, 80_000_000_000).to_string();
    let note = store_note(vendor, id, deal.as_deref().unwrap_or_default(), "", &note_body, attachments, timestamp);
    let answer = hubspot_note_json(&note);
    app.persist(&state);
    Response::json(201, &answer)
}

fn hubspot_note_json(note: &StoredNote) -> Value {
    json!({
        "id": note.id,
        "properties": {
            "hs_note_body": note.body, "hs_timestamp": note.timestamp,
            "hs_attachment_ids": note.attachment_ids.join(";"), "hs_object_id": note.id,
            "hs_createdate": hs_time(note.created_micros), "hs_lastmodifieddate": hs_time(note.created_micros),
        },
        "createdAt": hs_time(note.created_micros), "updatedAt": hs_time(note.created_micros), "archived": false,
    })
}

pub fn hubspot_deal_notes(app: &App, request: &Request, deal_id: &str) -> Response {
    if !hubspot_deal_exists(app, deal_id) {
        return crate::crm::error(
            404,
            "OBJECT_NOT_FOUND",
            &format!("Object not found. objectId are usually numeric. {deal_id}"),
        );
    }
    let limit = request.query("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(500).clamp(1, 500);
    let after = request.query("after").and_then(|a| a.parse::<usize>().ok()).unwrap_or(0);
    let state = app.state();
    let ids: Vec<&StoredNote> = state.vendors.hubspot.notes.iter().filter(|n| n.record_id == deal_id).collect();
    let page: Vec<Value> = ids
        .iter()
        .skip(after)
        .take(limit)
        .map(|n| json!({"toObjectId": n.id.parse::<u64>().unwrap_or_default(), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 214, "label": null}]}))
        .collect();
    let mut answer = json!({"results": page});
    if after + limit < ids.len() {
        answer["paging"] = json!({"next": {"after": (after + limit).to_string(), "link": null}});
    }
    Response::json(200, &answer)
}

pub fn hubspot_batch_read_notes(app: &App, request: &Request) -> Response {
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(error) => return hs_error(400, &format!("Invalid input JSON: {error}")),
    };
    let Some(inputs) = body.get("inputs").and_then(Value::as_array) else {
        return hs_error(400, "inputs is required");
    };
    if inputs.len() > 100 {
        return hs_error(400, "Batch input limited to 100 inputs");
    }
    let state = app.state();
    let results: Vec<Value> = inputs
        .iter()
        .filter_map(|input| input.get("id").and_then(Value::as_str))
        .filter_map(|id| state.vendors.hubspot.notes.iter().find(|n| n.id == id))
        .map(hubspot_note_json)
        .collect();
    let now = hs_time(clock::now_micros());
    Response::json(200, &json!({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}))
}

// ---- Salesforce ----------------------------------------------------------------------------

fn sf_errors(status: u16, code: &str, message: &str) -> Response {
    Response::json(status, &json!([{"message": message, "errorCode": code, "fields": []}]))
}

fn sf_visible_opportunity(vendor: &Vendor, user: &str, id: &str) -> bool {
    vendor.records.iter().any(|r| {
        r.object == "Opportunity" && salesforce::same_id(&r.id, id) && !r.hidden_from.iter().any(|h| h == user)
    })
}

pub fn salesforce_content_version(app: &App, user: &str, request: &Request) -> Response {
    let parts = match form_parts(request) {
        Ok(parts) => parts,
        Err(reason) => return sf_errors(400, "INVALID_MULTIPART_REQUEST", &reason),
    };
    let Some(entity) = parts.first().filter(|p| p.name == "entity_content" && p.file_name.is_none()) else {
        return sf_errors(
            400,
            "INVALID_MULTIPART_REQUEST",
            "Multipart message must include a non-binary part first (entity_content)",
        );
    };
    let fields: Map<String, Value> = match serde_json::from_slice(&entity.data) {
        Ok(Value::Object(fields)) => fields,
        _ => return sf_errors(400, "JSON_PARSER_ERROR", "entity_content is not a JSON object"),
    };
    let Some(data) = parts.iter().find(|p| p.name == "VersionData" && p.file_name.is_some()) else {
        return sf_errors(400, "INVALID_MULTIPART_REQUEST", "Binary part VersionData is missing");
    };
    let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_string);
    let (Some(title), Some(_path)) = (text("Title"), text("PathOnClient")) else {
        return sf_errors(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Title, PathOnClient]");
    };
    let mut state = app.state();
    let vendor = &mut state.vendors.salesforce;
    let location = text("FirstPublishLocationId").unwrap_or_default();
    if !location.is_empty() && !sf_visible_opportunity(vendor, user, &location) {
        return sf_errors(400, "INVALID_CROSS_REFERENCE_KEY", &format!("invalid cross reference id: {location}"));
    }
    let number = next_id(vendor, 0);
    let version_id = salesforce::id18("068", number);
    let document_id = salesforce::id18("069", number);
    let record =
        vendor.records.iter().find(|r| salesforce::same_id(&r.id, &location)).map(|r| r.id.clone()).unwrap_or_default();
    store_file(vendor, document_id, &record, data, Some(title));
    app.persist(&state);
    Response::json(201, &json!({"id": version_id, "success": true, "errors": []}))
}

pub fn salesforce_task(app: &App, user: &str, request: &Request) -> Response {
    let fields: Map<String, Value> = match serde_json::from_slice(&request.body) {
        Ok(Value::Object(fields)) => fields,
        _ => return sf_errors(400, "JSON_PARSER_ERROR", "The body is not a JSON object"),
    };
    let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_string);
    const KNOWN: [&str; 7] = ["Subject", "Description", "WhatId", "Status", "ActivityDate", "TaskSubtype", "Priority"];
    if let Some(unknown) = fields.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return sf_errors(400, "INVALID_FIELD", &format!("No such column '{unknown}' on sobject of type Task"));
    }
    if text("Subject").is_some_and(|s| s.chars().count() > 255) {
        return sf_errors(400, "STRING_TOO_LONG", "Subject: data value too large");
    }
    if text("Description").is_some_and(|s| s.chars().count() > 32_000) {
        return sf_errors(400, "STRING_TOO_LONG", "Description: data value too large");
    }
    let mut state = app.state();
    let vendor = &mut state.vendors.salesforce;
    let what = text("WhatId").unwrap_or_default();
    if !sf_visible_opportunity(vendor, user, &what) {
        return sf_errors(400, "INVALID_CROSS_REFERENCE_KEY", &format!("invalid cross reference id: {what}"));
    }
    let record =
        vendor.records.iter().find(|r| salesforce::same_id(&r.id, &what)).map(|r| r.id.clone()).unwrap_or_default();
    let id = salesforce::id18("00T", next_id(vendor, 0));
    let date = text("ActivityDate").unwrap_or_default();
    store_note(
        vendor,
        id.clone(),
        &record,
        &text("Subject").unwrap_or_default(),
        &text("Description").unwrap_or_default(),
        Vec::new(),
        date,
    );
    app.persist(&state);
    Response::json(201, &json!({"id": id, "success": true, "errors": []}))
}

/// Rows of `ContentDocumentLink` or `Task` for `LinkedEntityId`/`WhatId`, with the fields asked.
pub fn salesforce_rows(
    vendor: &Vendor,
    user: &str,
    object: &str,
    fields: &[String],
    conditions: &[(String, String)],
) -> Result<Vec<Value>, Response> {
    let (filter_field, allowed): (&str, &[&str]) = match object {
        "ContentDocumentLink" => (
            "LinkedEntityId",
            &[
                "Id",
                "LinkedEntityId",
                "ContentDocumentId",
                "ContentDocument.Title",
                "ContentDocument.ContentSize",
                "ShareType",
            ],
        ),
        _ => ("WhatId", &["Id", "Subject", "Description", "WhatId", "Status", "ActivityDate"]),
    };
    if let Some(bad) = fields.iter().find(|f| !allowed.contains(&f.as_str())) {
        return Err(sf_errors(400, "INVALID_FIELD", &format!("No such column '{bad}' on entity '{object}'.")));
    }
    let Some((_, record)) = conditions.iter().find(|(f, _)| f == filter_field) else {
        return Err(sf_errors(
            400,
            "MALFORMED_QUERY",
            &format!("Implementation restriction: {object} requires a filter by a single Id on {filter_field}"),
        ));
    };
    if !sf_visible_opportunity(vendor, user, record) {
        return Ok(Vec::new());
    }
    let rows = if object == "ContentDocumentLink" {
        vendor
            .files
            .iter()
            .filter(|f| salesforce::same_id(&f.record_id, record))
            .map(|f| {
                let mut row = Map::new();
                row.insert("attributes".into(), json!({"type": "ContentDocumentLink"}));
                for field in fields {
                    let value = match field.as_str() {
                        "Id" => json!(f.id.replacen("069", "06A", 1)),
                        "LinkedEntityId" => json!(f.record_id),
                        "ContentDocumentId" => json!(f.id),
                        "ShareType" => json!("V"),
                        "ContentDocument.Title" | "ContentDocument.ContentSize" => {
                            let document = row
                                .entry("ContentDocument")
                                .or_insert_with(|| json!({"attributes": {"type": "ContentDocument"}}));
                            if field.ends_with("Title") {
                                document["Title"] = json!(f.name);
                            } else {
                                document["ContentSize"] = json!(f.size);
                            }
                            continue;
                        }
                        _ => Value::Null,
                    };
                    row.insert(field.clone(), value);
                }
                Value::Object(row)
            })
            .collect()
    } else {
        vendor
            .notes
            .iter()
            .filter(|n| salesforce::same_id(&n.record_id, record))
            .map(|n| {
                let mut row = Map::new();
                row.insert("attributes".into(), json!({"type": "Task"}));
                for field in fields {
                    let value = match field.as_str() {
                        "Id" => json!(n.id),
                        "Subject" => json!(n.title),
                        "Description" => json!(n.body),
                        "WhatId" => json!(n.record_id),
                        "Status" => json!("Completed"),
                        "ActivityDate" => json!(n.timestamp),
                        _ => Value::Null,
                    };
                    row.insert(field.clone(), value);
                }
                Value::Object(row)
            })
            .collect()
    };
    Ok(rows)
}

// ---- Zoho CRM ------------------------------------------------------------------------------

fn zoho_deal<'v>(vendor: &'v Vendor, user: &str, id: &str) -> Result<&'v super::Record, Response> {
    let record = vendor.record("Deals", id).ok_or_else(|| {
        zoho::error(400, "INVALID_DATA", "the related id given seems to be invalid", json!({"api_name": "id"}))
    })?;
    if record.hidden_from.iter().any(|h| h == user) {
        return Err(zoho::error(403, "NO_PERMISSION", "permission denied", json!({})));
    }
    Ok(record)
}

fn zoho_success(id: &str, message: &str, by: &str) -> Value {
    let now = zoho::zoho_time(clock::now_micros());
    json!({"data": [{"code": "SUCCESS", "details": {"id": id, "Created_Time": now, "Modified_Time": now, "Created_By": {"name": by, "id": by}, "Modified_By": {"name": by, "id": by}}, "message": message, "status": "success"}]})
}

pub fn zoho_upload(app: &App, user: &str, request: &Request, deal_id: &str) -> Response {
    let parts = match form_parts(request) {
        Ok(parts) => parts,
        Err(reason) => return zoho::error(400, "INVALID_DATA", &format!("invalid data: {reason}"), json!({})),
    };
    let Some(file) = parts.iter().find(|p| p.name == "file" && p.file_name.is_some()) else {
        return zoho::error(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            json!({"param": "file"}),
        );
    };
    let mut state = app.state();
    let vendor = &mut state.vendors.zoho;
    if let Err(response) = zoho_deal(vendor, user, deal_id) {
        return response;
    }
    let id = next_id(vendor, 7_000_000_000_000).to_string();
    store_file(vendor, id.clone(), deal_id, file, None);
    app.persist(&state);
    Response::json(200, &zoho_success(&id, "attachment uploaded successfully", user))
}

fn zoho_related(app: &App, user: &str, request: &Request, deal_id: &str, notes: bool) -> Response {
    let Some(fields) = request.query("fields").filter(|f| !f.trim().is_empty()) else {
        return zoho::error(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            json!({"param": "fields"}),
        );
    };
    let per_page = request.query("per_page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(200).clamp(1, 200);
    let page = request.query("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let state = app.state();
    let vendor = &state.vendors.zoho;
    if let Err(response) = zoho_deal(vendor, user, deal_id) {
        return response;
    }
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    let rows: Vec<Value> = if notes {
        vendor.notes.iter().filter(|n| n.record_id == deal_id).map(|n| {
            let all = json!({"id": n.id, "Note_Title": n.title, "Note_Content": n.body, "Parent_Id": {"module": {"api_name": "Deals"}, "id": n.record_id}, "Created_Time": zoho::zoho_time(n.created_micros)});
            pick(&all, &wanted)
        }).collect()
    } else {
        vendor.files.iter().filter(|f| f.record_id == deal_id).map(|f| {
            let all = json!({"id": f.id, "File_Name": f.name, "Size": f.size.to_string(), "Parent_Id": {"name": "", "id": f.record_id}, "Created_Time": zoho::zoho_time(f.created_micros)});
            pick(&all, &wanted)
        }).collect()
    };
    let start = (page - 1) * per_page;
    let slice: Vec<Value> = rows.iter().skip(start).take(per_page).cloned().collect();
    if slice.is_empty() {
        return Response::empty(204);
    }
    let more = start + per_page < rows.len();
    Response::json(
        200,
        &json!({"data": slice, "info": {"per_page": per_page, "count": slice.len(), "page": page, "more_records": more}}),
    )
}

fn pick(all: &Value, wanted: &[&str]) -> Value {
    let mut out = Map::new();
    for key in std::iter::once("id").chain(wanted.iter().copied()) {
        if let Some(value) = all.get(key) {
            out.insert(key.to_string(), value.clone());
        }
    }
    Value::Object(out)
}

pub fn zoho_attachments(app: &App, user: &str, request: &Request, deal_id: &str) -> Response {
    zoho_related(app, user, request, deal_id, false)
}

pub fn zoho_deal_notes(app: &App, user: &str, request: &Request, deal_id: &str) -> Response {
    zoho_related(app, user, request, deal_id, true)
}

pub fn zoho_create_notes(app: &App, user: &str, request: &Request) -> Response {
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(_) => return zoho::error(400, "INVALID_DATA", "body is not a valid JSON", json!({})),
    };
    let Some(notes) = body.get("data").and_then(Value::as_array).filter(|d| !d.is_empty() && d.len() <= 100) else {
        return zoho::error(400, "INVALID_DATA", "data must hold 1 to 100 notes", json!({"api_name": "data"}));
    };
    let mut state = app.state();
    let vendor = &mut state.vendors.zoho;
    let mut results = Vec::new();
    for note in notes {
        let content = note.get("Note_Content").and_then(Value::as_str).unwrap_or_default();
        let title = note.get("Note_Title").and_then(Value::as_str).unwrap_or_default();
        let module = note.pointer("/Parent_Id/module/api_name").and_then(Value::as_str);
        let parent = note.pointer("/Parent_Id/id").and_then(Value::as_str).unwrap_or_default();
        if content.is_empty() {
            results.push(json!({"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Note_Content"}, "message": "required field not found", "status": "error"}));
            continue;
        }
        if module != Some("Deals") || zoho_deal(vendor, user, parent).is_err() {
            results.push(json!({"code": "INVALID_DATA", "details": {"api_name": "Parent_Id"}, "message": "the related id given seems to be invalid", "status": "error"}));
            continue;
        }
        let id = next_id(vendor, 8_000_000_000_000).to_string();
        store_note(vendor, id.clone(), parent, title, content, Vec::new(), String::new());
        results.push(zoho_success(&id, "record added", user)["data"][0].clone());
    }
    app.persist(&state);
    Response::json(201, &json!({"data": results}))
}

// ---- Pipedrive -----------------------------------------------------------------------------

fn pd_deal<'v>(vendor: &'v Vendor, user: &str, id: &str) -> Result<&'v super::Record, Response> {
    let record = vendor.record("deals", id).ok_or_else(|| pipedrive::error(404, "Deal not found"))?;
    if record.hidden_from.iter().any(|h| h == user) {
        return Err(pipedrive::error(403, "You do not have permission to view this deal"));
    }
    Ok(record)
}

fn pd_file_json(file: &StoredFile, user: &str) -> Value {
    json!({
        "id": file.id.parse::<u64>().unwrap_or_default(), "user_id": user.parse::<u64>().unwrap_or_default(),
        "deal_id": file.record_id.parse::<u64>().unwrap_or_default(), "name": file.name,
        "file_name": format!("{}_{}.pdf", file.id, file.sha256.get(..8).unwrap_or_default()),
        "file_size": file.size, "file_type": "pdf", "add_time": pipedrive::pd_time(file.created_micros),
        "update_time": pipedrive::pd_time(file.created_micros), "active_flag": true, "description": null,
        "url": format!("https://example.invalid/files/{}", file.id),
    })
}

pub fn pipedrive_upload(app: &App, user: &str, request: &Request) -> Response {
    let parts = match form_parts(request) {
        Ok(parts) => parts,
        Err(reason) => return pipedrive::error(400, &format!("Invalid multipart body: {reason}")),
    };
    let Some(file) = parts.iter().find(|p| p.name == "file" && p.file_name.is_some()) else {
        return pipedrive::error(400, "File is missing");
    };
    let deal_id = text_part(&parts, "deal_id").unwrap_or_default();
    let mut state = app.state();
    let vendor = &mut state.vendors.pipedrive;
    if let Err(response) = pd_deal(vendor, user, &deal_id) {
        return response;
    }
    let id = next_id(vendor, 0).to_string();
    let stored = store_file(vendor, id, &deal_id, file, None);
    app.persist(&state);
    Response::json(200, &json!({"success": true, "data": pd_file_json(&stored, user)}))
}

fn pd_page(request: &Request, items: Vec<Value>) -> Response {
    let start = request.query("start").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
    let limit = request.query("limit").and_then(|s| s.parse::<usize>().ok()).unwrap_or(100).clamp(1, 500);
    let page: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    let more = start + limit < items.len();
    let mut pagination = json!({"start": start, "limit": limit, "more_items_in_collection": more});
    if more {
        pagination["next_start"] = json!(start + limit);
    }
    let data = if page.is_empty() { Value::Null } else { Value::Array(page) };
    Response::json(200, &json!({"success": true, "data": data, "additional_data": {"pagination": pagination}}))
}

pub fn pipedrive_deal_files(app: &App, user: &str, request: &Request, deal_id: &str) -> Response {
    let state = app.state();
    let vendor = &state.vendors.pipedrive;
    if let Err(response) = pd_deal(vendor, user, deal_id) {
        return response;
    }
    let files = vendor.files.iter().filter(|f| f.record_id == deal_id).map(|f| pd_file_json(f, user)).collect();
    pd_page(request, files)
}

fn pd_note_json(note: &StoredNote) -> Value {
    json!({
        "id": note.id.parse::<u64>().unwrap_or_default(), "content": note.body,
        "deal_id": note.record_id.parse::<u64>().unwrap_or_default(), "add_time": pipedrive::pd_time(note.created_micros),
        "update_time": pipedrive::pd_time(note.created_micros), "active_flag": true, "pinned_to_deal_flag": false,
    })
}

pub fn pipedrive_create_note(app: &App, user: &str, request: &Request) -> Response {
    let body: Map<String, Value> = match serde_json::from_slice(&request.body) {
        Ok(Value::Object(body)) => body,
        _ => return pipedrive::error(400, "Request body is not valid JSON"),
    };
    let Some(content) = body.get("content").and_then(Value::as_str).filter(|c| !c.trim().is_empty()) else {
        return pipedrive::error(400, "Content is required");
    };
    let deal_id = match body.get("deal_id") {
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return pipedrive::error(
                400,
                "Note must be attached to a deal, person, organization, lead or project (deal_id as a number)",
            )
        }
    };
    let content = content.to_string();
    let mut state = app.state();
    let vendor = &mut state.vendors.pipedrive;
    if let Err(response) = pd_deal(vendor, user, &deal_id) {
        return response;
    }
    let id = next_id(vendor, 0).to_string();
    let note = store_note(vendor, id, &deal_id, "", &content, Vec::new(), String::new());
    app.persist(&state);
    Response::json(200, &json!({"success": true, "data": pd_note_json(&note)}))
}

pub fn pipedrive_notes(app: &App, user: &str, request: &Request) -> Response {
    let state = app.state();
    let vendor = &state.vendors.pipedrive;
    let notes: Vec<Value> = match request.query("deal_id") {
        Some(deal_id) => {
            if let Err(response) = pd_deal(vendor, user, &deal_id) {
                return response;
            }
            vendor.notes.iter().filter(|n| n.record_id == deal_id).map(pd_note_json).collect()
        }
        None => vendor.notes.iter().map(pd_note_json).collect(),
    };
    pd_page(request, notes)
}

// ---- Control -------------------------------------------------------------------------------

/// `GET /__sandbox/crm/vendors/{vendor}/deals/{id}/activity`: the deal's files and notes as stored.
pub fn describe(app: &App, vendor: &str, deal_id: &str) -> Response {
    let state = app.state();
    let store = match vendor {
        "hubspot" => &state.vendors.hubspot,
        "salesforce" => &state.vendors.salesforce,
        "zoho" => &state.vendors.zoho,
        "pipedrive" => &state.vendors.pipedrive,
        _ => return Response::json(404, &json!({"error": "no such vendor: hubspot, salesforce, zoho or pipedrive"})),
    };
    let same = |id: &str| if vendor == "salesforce" { salesforce::same_id(id, deal_id) } else { id == deal_id };
    let notes: Vec<&StoredNote> = store.notes.iter().filter(|n| same(&n.record_id)).collect();
    // HubSpot files belong to no record; the deal's are those its notes carry.
    let files: Vec<&StoredFile> = if vendor == "hubspot" {
        store.files.iter().filter(|f| notes.iter().any(|n| n.attachment_ids.contains(&f.id))).collect()
    } else {
        store.files.iter().filter(|f| same(&f.record_id)).collect()
    };
    // HubSpot files no note carries show on no record: left behind by an upload whose note failed.
    let unattached = if vendor == "hubspot" {
        store.files.iter().filter(|f| !store.notes.iter().any(|n| n.attachment_ids.contains(&f.id))).count()
    } else {
        0
    };
    Response::json(200, &json!({"files": files, "notes": notes, "unattachedFiles": unattached}))
}
