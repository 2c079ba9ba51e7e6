//! The executed contract's signed PDF on the deal (`crm.attachSignedPdf`), once per contract
//! version: the version comes from SpotDraft's download link, the file's name carries it, and the
//! CRM's own list of the record's files says whether it is already there (read under a per-record
//! lock, so racing instances attach it once). The bytes pass from SpotDraft's signed URL to the
//! CRM's upload; the relay keeps nothing.

use serde::Serialize;

use super::{EnvironmentRuntime, Relay};
use crate::crm::record_files::{self, SignedCopy};
use crate::crm::record_notes::Note;
use crate::error::{Error, Result};
use crate::model::{ContractId, Environment};
use crate::transport::{HttpRequest, Method, Transport};

/// What became of a signed PDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Attachment {
    NotConfigured,
    Attached,
    AlreadyThere,
}

/// Attaches the signed PDF of an executed `contract` (its name `title`) to the deal.
pub(super) async fn attach_signed<T: Transport>(
    relay: &Relay<T>,
    env: &EnvironmentRuntime<T>,
    deal_id: &str,
    contract: ContractId,
    title: Option<&str>,
) -> Result<Attachment> {
    let Some(max_bytes) = env.config.attach_signed_pdf else {
        return Ok(Attachment::NotConfigured);
    };
    let link = env.client.download_link(contract).await?;
    let version = link.current_version_id.unwrap_or(1);
    let environment = env.config.environment;
    let reference = match environment {
        Environment::Uat => format!("UAT {contract} v{version}"),
        Environment::Production => format!("{contract} v{version}"),
    };
    let made_key = format!("attached:{}:{contract}:v{version}", environment.as_str());
    if relay.state.recalls(&made_key, relay.now_ms()).await? {
        return Ok(Attachment::AlreadyThere);
    }
    let Some(url) = crate::url::allowed_document_url(&link.url, &env.config.download_origins) else {
        return Err(Error::BadResponse {
            status: 200,
            reason:
                "SpotDraft's download link points outside the configured download origins (spotdraft.downloadOrigins)"
                    .into(),
        });
    };
    let name = title.map(str::trim).filter(|t| !t.is_empty()).unwrap_or(&link.file_name);
    let copy = SignedCopy {
        file_name: SignedCopy::name_for(&link.file_name, &reference),
        note: Note {
            title: format!("Signed PDF of {name} ({contract})"),
            lines: vec![format!("Version {version}, attached when it was executed.")],
            link: Some(crate::flows::deep_link(None, contract.number)),
            at_ms: i64::try_from(relay.now_ms()).unwrap_or(i64::MAX),
            reference: format!("{}/{contract}/SIGNED_PDF/v{version}", environment.as_str()),
        },
        reference,
    };
    let guard = relay.locks.lock(&format!("notes:{}:{deal_id}", environment.as_str()), &*relay.transport).await?;
    let crm = &env.config.crm;
    let outcome = if record_files::has_copy(&*relay.transport, crm, deal_id, &copy).await? {
        Attachment::AlreadyThere
    } else {
        super::webhooks::fence(relay, &guard).await?;
        let download = HttpRequest {
            method: Method::Get,
            url,
            headers: vec![("Accept".into(), "application/pdf".into())],
            body: None,
            timeout_ms: 50_000,
            max_response_bytes: max_bytes,
        };
        // A HubSpot file an earlier try uploaded but could not attach (its note failed) is attached
        // now instead of uploading another; "" is one that is gone.
        let upload_key = format!("uploaded:{}:{contract}:v{version}", environment.as_str());
        let earlier = relay.state.get(&upload_key, relay.now_ms()).await?.filter(|id| !id.is_empty());
        match record_files::attach(&*relay.transport, crm, deal_id, download, &copy, max_bytes, earlier.as_deref())
            .await
        {
            Ok(()) => Attachment::Attached,
            Err(failure) => {
                let remember = failure.uploaded.unwrap_or_default();
                if remember != earlier.unwrap_or_default() {
                    relay.state.put(&upload_key, remember, super::APPLIED_TTL_MS, relay.now_ms()).await?;
                }
                return Err(failure.error);
            }
        }
    };
    relay.state.remember(&made_key, super::APPLIED_TTL_MS, relay.now_ms()).await?;
    Ok(outcome)
}
