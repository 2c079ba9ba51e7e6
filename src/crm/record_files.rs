//! A signed PDF attached to a deal through each CRM's own files API, copied from SpotDraft's signed
//! download URL into the upload without the relay keeping it (`Transport::copy_file`).
//!
//! The file's name carries a reference ("Mutual NDA (T-12 v2).pdf"): finding it on the record means
//! that version is already attached.
//!
//! - HubSpot: `POST /files/v3/files` (multipart `file`, `folderPath`, `fileName`, `options` with
//!   `access: PRIVATE`; 201 `{id}`), then a note on the deal with `hs_attachment_ids`, which is how a
//!   file shows on a HubSpot record; the note carries the reference. A file whose note could not be
//!   made is attached by the retry (`AttachError::uploaded`), never uploaded twice.
//! - Salesforce: `POST /services/data/vXX/sobjects/ContentVersion` multipart, `entity_content` (JSON:
//!   `Title`, `PathOnClient`, `FirstPublishLocationId` = the Opportunity, which links it) then
//!   `VersionData` (the bytes); 201 `{id, success}`. Read back through `ContentDocumentLink` rows of the
//!   Opportunity.
//! - Zoho CRM v8: `POST /crm/v8/Deals/{id}/Attachments` multipart `file`; `GET` there with
//!   `fields=id,File_Name` lists them.
//! - Pipedrive v1: `POST /api/v1/files` multipart `file` and `deal_id`; `GET /api/v1/deals/{id}/files`
//!   lists them (`name` is the name uploaded).

use super::record_notes::{self, pipedrive_pages, salesforce_query, zoho_pages, Note};
use super::{check_record_id, check_write, checked_base, json_body, request, transport_failure, CrmEndpoint};
use crate::error::{Error, Result};
use crate::model::CrmHost;
use crate::transport::{CopyError, FileCopy, HttpRequest, Method, Part, PartBody, Transport};

/// The largest file the relay copies unless configured otherwise: under every vendor's own limit.
pub const DEFAULT_MAX_BYTES: usize = 20 * 1024 * 1024;
/// Uploads take longer than record writes; this stays under the record lock's lease, so no other
/// instance starts the same upload while this one may still land.
const UPLOAD_TIMEOUT_MS: u64 = 50_000;

/// One signed document to put on a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCopy {
    /// "Mutual NDA (T-12 v2).pdf": the contract's own file name with the reference before `.pdf`.
    pub file_name: String,
    /// "T-12 v2" (with the environment for UAT): what makes the name unique per contract version.
    pub reference: String,
    /// The note that shows it on HubSpot (it carries the reference there).
    pub note: Note,
}

impl SignedCopy {
    /// The file name for `file_name` as SpotDraft gives it (any extension replaced by `.pdf`), with the
    /// reference added; characters that file systems refuse are replaced.
    pub fn name_for(file_name: &str, reference: &str) -> String {
        let stem = file_name.strip_suffix(".pdf").or_else(|| file_name.strip_suffix(".PDF")).unwrap_or(file_name);
        let clean: String =
            stem.chars().map(|c| if c.is_control() || "/\\:*?\"<>|".contains(c) { '_' } else { c }).take(150).collect();
        let clean = clean.trim();
        let stem = if clean.is_empty() { "Signed contract" } else { clean };
        format!("{stem} ({reference}).pdf")
    }

    fn marker(&self) -> String {
        format!("({})", self.reference)
    }
}

/// True when the record already has this signed copy.
pub async fn has_copy<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    record_id: &str,
    copy: &SignedCopy,
) -> Result<bool> {
    let base = checked_base(endpoint)?;
    check_record_id(record_id)?;
    let marker = copy.marker();
    let names = match endpoint.host {
        CrmHost::Hubspot => {
            return record_notes::has_note(transport, endpoint, record_id, &copy.note.reference).await;
        }
        CrmHost::Salesforce => {
            let soql = format!(
                "SELECT ContentDocumentId, ContentDocument.Title FROM ContentDocumentLink WHERE LinkedEntityId = '{record_id}'"
            );
            let rows = salesforce_query(transport, endpoint, &base, &soql).await?;
            rows.iter()
                .filter_map(|row| row.pointer("/ContentDocument/Title").and_then(serde_json::Value::as_str))
                .map(str::to_string)
                .collect::<Vec<_>>()
        }
        CrmHost::Zoho => {
            let url = format!("{base}/crm/v8/Deals/{record_id}/Attachments?fields=id,File_Name&per_page=200");
            zoho_pages(transport, endpoint, &url, "File_Name").await?
        }
        CrmHost::Pipedrive => {
            let url = format!("{base}/api/v1/deals/{record_id}/files?limit=100");
            pipedrive_pages(transport, endpoint, &url, "name").await?
        }
    };
    Ok(names.iter().any(|name| name.contains(&marker)))
}

/// Why a copy did not land. On HubSpot a file may have been uploaded whose note was not made:
/// `uploaded` names it, so the retry makes the note with that file rather than uploading another
/// (which would leave the first unseen in the portal's file manager).
#[derive(Debug)]
pub struct AttachError {
    pub error: Error,
    pub uploaded: Option<String>,
}

impl From<Error> for AttachError {
    fn from(error: Error) -> Self {
        AttachError { error, uploaded: None }
    }
}

/// Copies the document `download` fetches onto the record, refusing more than `max_bytes`. On
/// HubSpot, `uploaded` is a file an earlier try uploaded and could not attach: it is attached instead.
pub async fn attach<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    record_id: &str,
    download: HttpRequest,
    copy: &SignedCopy,
    max_bytes: usize,
    uploaded: Option<&str>,
) -> std::result::Result<(), AttachError> {
    check_record_id(record_id)?;
    let id = match (endpoint.host, uploaded) {
        (CrmHost::Hubspot, Some(id)) => id.to_string(),
        _ => upload(transport, endpoint, record_id, download, copy, max_bytes).await?,
    };
    if endpoint.host == CrmHost::Hubspot {
        // A HubSpot file shows on a record only through an engagement that carries it.
        if let Err(error) = record_notes::add_note(transport, endpoint, record_id, &copy.note, Some(&id)).await {
            // A file HubSpot no longer has (deleted in the meantime) is uploaded afresh next time.
            let gone = uploaded.is_some() && matches!(error, Error::Crm { status: 400 | 404, .. });
            return Err(AttachError { error, uploaded: (!gone).then_some(id) });
        }
    }
    Ok(())
}

/// Streams the document into the CRM's files API; the new file's id.
async fn upload<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    record_id: &str,
    download: HttpRequest,
    copy: &SignedCopy,
    max_bytes: usize,
) -> Result<String> {
    let base = checked_base(endpoint)?;
    let host = endpoint.host;
    let text = |name: &str, value: String| Part { name: name.into(), content_type: None, body: PartBody::Text(value) };
    let file = |name: &str| Part {
        name: name.into(),
        content_type: Some("application/pdf".into()),
        body: PartBody::File { file_name: copy.file_name.clone() },
    };
    let (url, parts) = match host {
        CrmHost::Hubspot => {
            let options = serde_json::json!({"access": "PRIVATE", "overwrite": false});
            (
                format!("{base}/files/v3/files"),
                vec![
                    file("file"),
                    text("folderPath", "/SpotDraft".into()),
                    text("fileName", copy.file_name.trim_end_matches(".pdf").to_string()),
                    text("options", options.to_string()),
                ],
            )
        }
        CrmHost::Salesforce => {
            let title = copy.file_name.trim_end_matches(".pdf");
            let entity = serde_json::json!({
                "Title": title,
                "PathOnClient": copy.file_name,
                "FirstPublishLocationId": record_id,
            });
            (
                format!("{base}/services/data/{}/sobjects/ContentVersion", super::salesforce::API_VERSION),
                vec![
                    Part {
                        name: "entity_content".into(),
                        content_type: Some("application/json".into()),
                        body: PartBody::Text(entity.to_string()),
                    },
                    file("VersionData"),
                ],
            )
        }
        CrmHost::Zoho => (format!("{base}/crm/v8/Deals/{record_id}/Attachments"), vec![file("file")]),
        CrmHost::Pipedrive => {
            (format!("{base}/api/v1/files"), vec![file("file"), text("deal_id", record_id.to_string())])
        }
    };
    let mut upload = request(endpoint, Method::Post, url, None);
    upload.timeout_ms = UPLOAD_TIMEOUT_MS;
    // The credential is current: fetched (or renewed) now, as `send` would.
    let token = endpoint.token.token(transport, host, endpoint.timeout_ms).await?;
    super::authorize(endpoint, &mut upload, &token);
    let boundary =
        format!("sdx-{}-{}", transport.now_ms(), copy.reference.replace(|c: char| !c.is_ascii_alphanumeric(), ""));
    let transfer = FileCopy { download, upload, parts, boundary, max_file_bytes: max_bytes };
    let response = transport.copy_file(transfer).await.map_err(|error| copy_failure(host, error))?;
    check_write(endpoint, &response)?;
    let answer = json_body(host, &response)?;
    record_notes::created_id(host, &answer)
        .ok_or_else(|| super::crm_error(host, response.status, "the upload's answer names no file id".into()))
}

fn copy_failure(host: CrmHost, error: CopyError) -> Error {
    match error {
        CopyError::TooLarge { limit } => Error::Crm {
            status: 413,
            message: format!(
                "the signed PDF is larger than {limit} bytes, the limit for attaching it (crm.attachSignedPdf.maxBytes); open it in SpotDraft"
            ),
        },
        CopyError::DownloadStatus(status) => Error::BadResponse {
            status,
            reason: "SpotDraft's signed download URL did not serve the document".into(),
        },
        CopyError::Download(error) => {
            Error::Network { message: format!("SpotDraft's signed download URL: {error}"), attempts: 1 }
        }
        CopyError::Upload(error) => transport_failure(host, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_the_reference_and_lose_what_file_systems_refuse() {
        assert_eq!(SignedCopy::name_for("Mutual NDA a3b2.pdf", "T-12 v2"), "Mutual NDA a3b2 (T-12 v2).pdf");
        assert_eq!(SignedCopy::name_for("a/b:c?.pdf", "UAT T-1 v1"), "a_b_c_ (UAT T-1 v1).pdf");
        assert_eq!(SignedCopy::name_for("  ", "T-1 v1"), "Signed contract (T-1 v1).pdf");
    }
}
