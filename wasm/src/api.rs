//! The server-side and full JS API: configuration, the SpotDraft client, webhooks and helpers.
//! Left out of the sidebar's build (`--no-default-features`), which needs none of it.

use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;

use super::fetch::FetchTransport;
use super::{deal_arg, in_browser_page, invalid, js_error, json_arg, promise, rejected, to_js, typed_arg, JsResult};
use spotdraft_crm::config::{Config, Region};
use spotdraft_crm::flows::{self, SendOptions};
use spotdraft_crm::mapping;
use spotdraft_crm::model::{ContractId, ContractStatus, RecordKey};
use spotdraft_crm::spotdraft::js_options::{ClientOptionsInput, ListQueryInput, SendOptionsInput};
use spotdraft_crm::spotdraft::types::{ExternalMetadata, TemplateMetadata};
use spotdraft_crm::spotdraft::{ClientOptions, Credentials, ListQuery, RetryPolicy, SpotDraftClient};
use spotdraft_crm::webhook::{self, WebhookKey};

fn contract_id_arg(text: &str) -> JsResult<ContractId> {
    ContractId::parse(text.trim()).ok_or_else(|| {
        invalid("contractId", format!("\"{text}\" is not a SpotDraft contract id such as T-123 or H-123"))
    })
}

fn template_id_arg(value: f64) -> JsResult<u64> {
    if value.fract() == 0.0 && (1.0..=9_007_199_254_740_991.0).contains(&value) {
        Ok(value as u64)
    } else {
        Err(invalid("templateId", format!("{value} is not a template id")))
    }
}

/// A validated plugin configuration.
#[wasm_bindgen(js_name = SdxConfig)]
pub struct JsConfig {
    inner: Rc<Config>,
}

#[wasm_bindgen(js_class = SdxConfig)]
impl JsConfig {
    /// Parses and validates a configuration document (JSON text or an object). Throws
    /// `invalid_config` listing every problem with its key path.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string | ConfigDocument")] document: JsValue,
    ) -> JsResult<JsConfig> {
        let config = match document.as_string() {
            Some(text) => Config::parse(&text),
            None => Config::from_json(&json_arg(document, "config")?),
        };
        config.map(|c| JsConfig { inner: Rc::new(c) }).map_err(|e| js_error(&e))
    }

    /// The normalised configuration.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "Config")]
    pub fn to_json(&self) -> JsResult<JsValue> {
        to_js(&*self.inner)
    }

    /// What creating from this deal would send, with every problem; sends nothing.
    #[wasm_bindgen(unchecked_return_type = "Preview")]
    pub fn preview(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DealInput")] deal: JsValue,
        #[wasm_bindgen(js_name = templateId)] template_id: f64,
        #[wasm_bindgen(unchecked_param_type = "TemplateMetadata")] metadata: JsValue,
    ) -> JsResult<JsValue> {
        let deal = deal_arg(deal)?;
        let template = self.inner.template(template_id_arg(template_id)?).map_err(|e| js_error(&e))?;
        let metadata: TemplateMetadata = typed_arg(metadata, "metadata")?;
        to_js(&mapping::preview(&self.inner, template, &deal, &metadata))
    }

    /// The template's required variables its mapping leaves unfilled whatever the deal holds.
    #[wasm_bindgen(js_name = requiredUnmapped)]
    pub fn required_unmapped(
        &self,
        #[wasm_bindgen(js_name = templateId)] template_id: f64,
        #[wasm_bindgen(unchecked_param_type = "TemplateMetadata")] metadata: JsValue,
    ) -> JsResult<Vec<String>> {
        let template = self.inner.template(template_id_arg(template_id)?).map_err(|e| js_error(&e))?;
        let metadata: TemplateMetadata = typed_arg(metadata, "metadata")?;
        Ok(mapping::required_unmapped(template, &metadata))
    }

    /// The key SpotDraft stores in `external_metadata.id` for a deal of this CRM account.
    #[wasm_bindgen(js_name = recordKey)]
    pub fn record_key(&self, #[wasm_bindgen(js_name = dealId)] deal_id: &str) -> JsResult<String> {
        if !spotdraft_crm::model::is_valid_crm_id(deal_id) {
            return Err(invalid("dealId", format!("\"{deal_id}\" is not a CRM record id")));
        }
        Ok(RecordKey::for_deal(self.inner.crm.host, &self.inner.crm.account_id, deal_id).to_string())
    }

    #[wasm_bindgen(js_name = stageAllowsCreation)]
    pub fn stage_allows_creation(&self, stage: Option<String>) -> bool {
        self.inner.stage_allows_creation(stage.as_deref())
    }
}

/// SpotDraft's API over `fetch`. With credentials it is for server-side code (the relay) only.
#[wasm_bindgen(js_name = SpotDraftClient)]
pub struct JsClient {
    inner: Rc<SpotDraftClient<FetchTransport>>,
}

#[wasm_bindgen(js_class = SpotDraftClient)]
impl JsClient {
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue) -> JsResult<JsClient> {
        let input: ClientOptionsInput = typed_arg(options, "options")?;
        let base_url = match (input.base_url, input.region) {
            (Some(url), None) => url,
            (None, Some(region)) => Region::parse(&region).map(|r| r.base_url().to_string()).ok_or_else(|| {
                invalid("options.region", format!("must be one of us, eu, in, me; found \"{region}\""))
            })?,
            _ => return Err(invalid("options", "give exactly one of baseUrl or region")),
        };
        if input.credentials.is_some() && in_browser_page() {
            return Err(invalid(
                "options.credentials",
                "SpotDraft credentials must never be used in a browser page; call the relay instead",
            ));
        }
        let credentials = input.credentials.map(|c| Credentials {
            client_id: c.client_id,
            client_secret: c.client_secret,
            user_email: c.user_email,
        });
        let defaults = RetryPolicy::default();
        let retry = RetryPolicy {
            max_attempts: input.max_attempts.unwrap_or(defaults.max_attempts).clamp(1, 10),
            total_budget_ms: input.total_budget_ms.map_or(defaults.total_budget_ms, u64::from),
            ..defaults
        };
        let options = ClientOptions {
            retry,
            timeout_ms: input.timeout_ms.map_or(ClientOptions::default().timeout_ms, u64::from),
            ..ClientOptions::default()
        };
        let client = SpotDraftClient::new(FetchTransport::default(), &base_url, credentials, options)
            .map_err(|e| js_error(&e))?;
        Ok(JsClient { inner: Rc::new(client) })
    }

    /// Creates the deal's contract, or returns the live one it already has (never two).
    #[wasm_bindgen(js_name = createForDeal, unchecked_return_type = "Promise<CreateOutcome>")]
    pub fn create_for_deal(
        &self,
        config: &JsConfig,
        #[wasm_bindgen(unchecked_param_type = "DealInput")] deal: JsValue,
        #[wasm_bindgen(js_name = templateId)] template_id: f64,
    ) -> js_sys::Promise {
        let (deal, template_id) = match (deal_arg(deal), template_id_arg(template_id)) {
            (Ok(deal), Ok(id)) => (deal, id),
            (Err(e), _) | (_, Err(e)) => return rejected(e),
        };
        let (client, config) = (Rc::clone(&self.inner), Rc::clone(&config.inner));
        promise(async move { flows::create_for_deal(&client, &config, &deal, template_id).await })
    }

    /// The deal's contracts, newest first.
    #[wasm_bindgen(js_name = contractsForDeal, unchecked_return_type = "Promise<ContractSummary[]>")]
    pub fn contracts_for_deal(
        &self,
        config: &JsConfig,
        #[wasm_bindgen(js_name = dealId)] deal_id: String,
    ) -> js_sys::Promise {
        let (client, config) = (Rc::clone(&self.inner), Rc::clone(&config.inner));
        promise(async move { flows::contracts_for_deal(&client, &config, &deal_id).await })
    }

    /// Contracts whose `external_metadata.id` is exactly `externalId`, newest first.
    #[wasm_bindgen(js_name = contractsByExternalId, unchecked_return_type = "Promise<ContractSummary[]>")]
    pub fn contracts_by_external_id(
        &self,
        #[wasm_bindgen(js_name = externalId)] external_id: String,
    ) -> js_sys::Promise {
        let client = Rc::clone(&self.inner);
        promise(async move { flows::contracts_by_external_id(&client, &external_id).await })
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<StatusReport>")]
    pub fn status(&self, #[wasm_bindgen(js_name = contractId)] contract_id: &str) -> js_sys::Promise {
        let id = match contract_id_arg(contract_id) {
            Ok(id) => id,
            Err(e) => return rejected(e),
        };
        let client = Rc::clone(&self.inner);
        promise(async move { flows::status(&client, id).await })
    }

    /// A fresh, short-lived link to the contract's PDF. Never cache or log it.
    #[wasm_bindgen(js_name = downloadLink, unchecked_return_type = "Promise<DownloadLink>")]
    pub fn download_link(&self, #[wasm_bindgen(js_name = contractId)] contract_id: &str) -> js_sys::Promise {
        let id = match contract_id_arg(contract_id) {
            Ok(id) => id,
            Err(e) => return rejected(e),
        };
        let client = Rc::clone(&self.inner);
        promise(async move { flows::download_link(&client, id).await })
    }

    /// Sends a draft to the counterparty for review (it moves to In review).
    #[wasm_bindgen(js_name = sendToCounterparty, unchecked_return_type = "Promise<StatusReport>")]
    pub fn send_to_counterparty(
        &self,
        #[wasm_bindgen(js_name = contractId)] contract_id: &str,
        #[wasm_bindgen(unchecked_param_type = "SendOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let id = match contract_id_arg(contract_id) {
            Ok(id) => id,
            Err(e) => return rejected(e),
        };
        let input: SendOptionsInput = if options.is_undefined() || options.is_null() {
            SendOptionsInput::default()
        } else {
            match typed_arg(options, "options") {
                Ok(input) => input,
                Err(e) => return rejected(e),
            }
        };
        let options = SendOptions {
            to_emails: input.to_emails,
            cc_emails: input.cc_emails,
            subject: input.subject,
            message: input.message,
            acting_as: None,
        };
        let client = Rc::clone(&self.inner);
        promise(async move { flows::send_to_counterparty(&client, id, &options).await })
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<TemplateSummary[]>")]
    pub fn templates(&self) -> js_sys::Promise {
        let client = Rc::clone(&self.inner);
        promise(async move { client.templates().await })
    }

    #[wasm_bindgen(js_name = templateMetadata, unchecked_return_type = "Promise<TemplateMetadata>")]
    pub fn template_metadata(&self, #[wasm_bindgen(js_name = templateId)] template_id: f64) -> js_sys::Promise {
        let id = match template_id_arg(template_id) {
            Ok(id) => id,
            Err(e) => return rejected(e),
        };
        let client = Rc::clone(&self.inner);
        promise(async move { client.template_metadata(id).await })
    }

    /// One page of contracts, optionally only those updated since a checkpoint.
    #[wasm_bindgen(js_name = listContracts, unchecked_return_type = "Promise<ContractListing>")]
    pub fn list_contracts(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ListQuery | undefined")] query: JsValue,
    ) -> js_sys::Promise {
        let input: ListQueryInput = if query.is_undefined() || query.is_null() {
            ListQueryInput::default()
        } else {
            match typed_arg(query, "query") {
                Ok(input) => input,
                Err(e) => return rejected(e),
            }
        };
        let query = ListQuery {
            page: input.page.unwrap_or(1),
            limit: input.limit.unwrap_or(100),
            updated_since: input.updated_since,
            status: input.status,
            ..ListQuery::default()
        };
        let client = Rc::clone(&self.inner);
        promise(async move { flows::list_contracts(&client, &query).await })
    }

    #[wasm_bindgen(js_name = externalMetadata, unchecked_return_type = "Promise<ExternalMetadata>")]
    pub fn external_metadata(&self, #[wasm_bindgen(js_name = contractId)] contract_id: &str) -> js_sys::Promise {
        let id = match contract_id_arg(contract_id) {
            Ok(id) => id,
            Err(e) => return rejected(e),
        };
        let client = Rc::clone(&self.inner);
        promise(async move { client.external_metadata(id).await })
    }

    /// The workspace's webhook signing key (base64), as SpotDraft returns it.
    #[wasm_bindgen(js_name = webhookHmacKey, unchecked_return_type = "Promise<string>")]
    pub fn webhook_hmac_key(&self) -> js_sys::Promise {
        let client = Rc::clone(&self.inner);
        promise(async move { client.webhook_hmac_key().await })
    }

    /// Registers a webhook subscription for `url` with the activities the relay syncs (status, key terms).
    #[wasm_bindgen(js_name = registerStatusWebhook, unchecked_return_type = "Promise<WebhookSubscription>")]
    pub fn register_status_webhook(&self, url: String, title: Option<String>) -> js_sys::Promise {
        let parsed = spotdraft_crm::url::parse(&url);
        if parsed.is_none_or(|u| u.scheme != "https" && !u.is_loopback()) {
            return rejected(invalid("url", "SpotDraft delivers webhooks only to https URLs"));
        }
        let request = spotdraft_crm::spotdraft::types::WebhookCreateRequest {
            title: title.unwrap_or_else(|| "spotdraft-crm status sync".into()),
            url,
            only_for_activities: spotdraft_crm::webhook::Activity::subscribed(),
            description: Some("Contract status and key-term changes for the CRM record (spotdraft-crm relay)".into()),
        };
        let client = Rc::clone(&self.inner);
        promise(async move { client.create_webhook(&request).await })
    }

    /// Replaces the contract's external metadata (send the whole object).
    #[wasm_bindgen(js_name = setExternalMetadata, unchecked_return_type = "Promise<ExternalMetadata>")]
    pub fn set_external_metadata(
        &self,
        #[wasm_bindgen(js_name = contractId)] contract_id: &str,
        #[wasm_bindgen(unchecked_param_type = "ExternalMetadata")] metadata: JsValue,
    ) -> js_sys::Promise {
        let parsed =
            contract_id_arg(contract_id).and_then(|id| Ok((id, typed_arg::<ExternalMetadata>(metadata, "metadata")?)));
        let (id, metadata) = match parsed {
            Ok(pair) => pair,
            Err(e) => return rejected(e),
        };
        let client = Rc::clone(&self.inner);
        promise(async move { client.set_external_metadata(id, &metadata).await })
    }
}

fn webhook_key(hmac_key: &str) -> JsResult<WebhookKey> {
    WebhookKey::from_base64(hmac_key).map_err(|e| js_error(&e))
}

/// A workspace's webhook key, decoded and keyed once: the way to verify many deliveries (the
/// one-shot functions below decode the key and set up the MAC on every call).
#[wasm_bindgen(js_name = WebhookVerifier)]
pub struct JsWebhookVerifier {
    key: WebhookKey,
}

#[wasm_bindgen(js_class = WebhookVerifier)]
impl JsWebhookVerifier {
    /// `hmacKey`: as `GET /api/v2.1/public/webhooks/hmac_key/` returns it (base64).
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(js_name = hmacKey)] hmac_key: &str) -> JsResult<JsWebhookVerifier> {
        Ok(JsWebhookVerifier { key: webhook_key(hmac_key)? })
    }

    /// Throws `invalid_signature` unless `signature` matches the raw body.
    pub fn verify(&self, body: &[u8], signature: Option<String>) -> JsResult<()> {
        self.key.verify(body, signature.as_deref()).map_err(|e| js_error(&e))
    }

    /// Verifies, then parses.
    #[wasm_bindgen(js_name = verifyAndParse, unchecked_return_type = "WebhookEvent")]
    pub fn verify_and_parse(&self, body: &[u8], signature: Option<String>) -> JsResult<JsValue> {
        let event = webhook::verify_and_parse(&self.key, body, signature.as_deref()).map_err(|e| js_error(&e))?;
        to_js(&event)
    }
}

/// What the CRM record should show after an observation (the relay's `sync` rule), for hosts that
/// keep the record themselves. `fields` and the answer are JSON text.
#[wasm_bindgen(js_name = decideSync, unchecked_return_type = "string")]
pub fn decide_sync(
    #[wasm_bindgen(unchecked_param_type = "string")] fields: &str,
    #[wasm_bindgen(unchecked_param_type = "string")] observation: &str,
) -> JsResult<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct ObservationInput {
        contract_id: String,
        status: String,
        at_micros: i64,
        link: String,
    }
    let fields: spotdraft_crm::crm::ContractFields =
        serde_json::from_str(fields).map_err(|e| invalid("fields", format!("is not valid: {e}")))?;
    let input: ObservationInput =
        serde_json::from_str(observation).map_err(|e| invalid("observation", format!("is not valid: {e}")))?;
    let observation = spotdraft_crm::sync::Observation {
        contract: contract_id_arg(&input.contract_id)?,
        status: ContractStatus::parse(&input.status),
        at_micros: input.at_micros,
        link: input.link,
    };
    serde_json::to_string(&spotdraft_crm::sync::decide(&fields, &observation))
        .map_err(|e| invalid("decision", e.to_string()))
}

/// Throws `invalid_signature` unless `signature` is the body's HMAC-SHA512 under the workspace key.
#[wasm_bindgen(js_name = verifyWebhook)]
pub fn verify_webhook(
    body: &[u8],
    signature: Option<String>,
    #[wasm_bindgen(js_name = hmacKey)] hmac_key: &str,
) -> JsResult<()> {
    webhook_key(hmac_key)?.verify(body, signature.as_deref()).map_err(|e| js_error(&e))
}

/// Parses a delivery body. Verify first; `verifyAndParseWebhook` does both in the right order.
#[wasm_bindgen(js_name = parseWebhook, unchecked_return_type = "WebhookEvent")]
pub fn parse_webhook(body: &[u8]) -> JsResult<JsValue> {
    webhook::parse_event(body).map_err(|e| js_error(&e)).and_then(|event| to_js(&event))
}

#[wasm_bindgen(js_name = verifyAndParseWebhook, unchecked_return_type = "WebhookEvent")]
pub fn verify_and_parse_webhook(
    body: &[u8],
    signature: Option<String>,
    #[wasm_bindgen(js_name = hmacKey)] hmac_key: &str,
) -> JsResult<JsValue> {
    let event =
        webhook::verify_and_parse(&webhook_key(hmac_key)?, body, signature.as_deref()).map_err(|e| js_error(&e))?;
    to_js(&event)
}

/// The signature SpotDraft would send for `body` (for emulators and tests).
#[wasm_bindgen(js_name = signWebhook)]
pub fn sign_webhook(body: &[u8], #[wasm_bindgen(js_name = hmacKey)] hmac_key: &str) -> JsResult<String> {
    Ok(webhook_key(hmac_key)?.sign(body))
}

/// The link into SpotDraft's web app; only ever an https SpotDraft app URL.
#[wasm_bindgen(js_name = deepLink)]
pub fn deep_link(
    #[wasm_bindgen(js_name = contractLink)] contract_link: Option<String>,
    #[wasm_bindgen(js_name = contractId)] contract_id: &str,
) -> JsResult<String> {
    let id = contract_id_arg(contract_id)?;
    Ok(flows::deep_link(contract_link.as_deref(), id.number))
}

/// A status in a seller's words (`SIGN` → "Out for signature").
#[wasm_bindgen(js_name = statusLabel)]
pub fn status_label(status: &str) -> String {
    ContractStatus::parse(status).label()
}

#[wasm_bindgen(js_name = normaliseOrganizationName)]
pub fn normalise_organization_name(name: &str) -> String {
    spotdraft_crm::names::organization_name(name)
}

/// Parses a canonical deal, throwing `invalid_input` with every problem.
#[wasm_bindgen(js_name = parseDeal, unchecked_return_type = "Deal")]
pub fn parse_deal(#[wasm_bindgen(unchecked_param_type = "DealInput")] deal: JsValue) -> JsResult<JsValue> {
    to_js(&deal_arg(deal)?)
}
