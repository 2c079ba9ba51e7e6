//! The sidebar a seller uses, as a state machine: messages in (clicks, answers from the relay, host
//! events, clock ticks), the next state and a list of effects out (calls to make, a tick to
//! schedule, a URL to open). `view` turns the state into what the shell renders. The shell holds no
//! rule of its own: what is shown, what is enabled and why not, and when to refresh are all here.

#[cfg(feature = "link")]
pub mod link;
pub mod relay_client;
mod session;
mod settle;
mod view;
pub mod wire;

use crate::deal::Deal;
use crate::error::Problem;
use crate::flows::{can_send_to_counterparty, deep_link};
use crate::model::{ContractId, ContractStatus, ContractSummary, Environment};
use crate::shell_types::{shell_struct, shell_union, StageLabels, TypeScript};
use crate::time;
#[cfg(feature = "link")]
pub use link::{LinkCandidate, LinkEffect, LinkMsg, Linkable};
pub use relay_client::{RelayClient, RemoteError};
pub use session::{CallName, ShellEffect, SidebarOutput};
pub use session::{HostSession, SessionInit, SidebarSession};
pub use settle::settle;
pub use view::{Action, ActionView, Banner, BannerTone, ContractView, CreateView, Phase, StatusTone, TemplateOption};
pub use view::{LinkView, ViewModel, CONTRACT_STALE_AFTER_MS};

/// Right after an action the status is likely to move: look again soon.
pub const QUICK_REFRESH_MS: u64 = 3_000;
/// The first wait when nothing was just done.
pub const CALM_REFRESH_MS: u64 = 15_000;
/// Back-off ceiling while nothing changes.
pub const MAX_REFRESH_MS: u64 = 120_000;
/// How long a success notice stays: it reports a click, not the contract's state, so it goes
/// before it can contradict a later status (it also goes at once when a status changes).
pub const NOTICE_SHOWN_MS: u64 = 20_000;

shell_struct! {
    /// What the relay says a sidebar may offer (`GET /api/{env}/config`, and the first view's
    /// `config`): written by the relay and read by the sidebar through this declaration.
    pub struct SidebarConfig as "SidebarConfig" {
        environment: Environment => "environment",
        /// The CRM stage values at which a contract may be created.
        creation_stages: Vec<String> => "creationStages",
        /// What sellers see for each stage value in the CRM.
        stage_labels: StageLabels => "stageLabels",
        templates: Vec<TemplateChoice> => "templates",
        /// Where a download may open (`https://storage.googleapis.com`, …).
        download_origins: Vec<String> => "downloadOrigins",
    }
}

impl SidebarConfig {
    /// The stage as sellers know it: its label, else its CRM value.
    pub fn stage_label<'a>(&'a self, stage: &'a str) -> &'a str {
        self.stage_labels.0.iter().find(|(value, _)| value == stage).map_or(stage, |(_, label)| label.as_str())
    }
}

shell_struct! {
    pub struct TemplateChoice as "SidebarTemplateChoice" {
        template_id: u64 => "templateId",
        label: String => "label",
        /// The deal's slot a contract from it fills (`crate::slots`); null from older relays,
        /// which allowed one contract per deal.
        slot: Option<String> => "slot",
    }
}

/// What the preview of a template said about this deal.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewResult {
    pub can_create: bool,
    pub problems: Vec<Problem>,
}

shell_struct! {
    /// The deal as the host hands it over: its CRM record id, and its name when the host has one. Only
    /// a first render: every decision (the stage gate, what Create says) waits for the CRM's own deal,
    /// which the sidebar loads from the relay. Anything else a host sends along (older hosts sent the
    /// whole mapped deal) is ignored.
    pub struct HostDeal as "SidebarHostDeal" {
        id: String => "id",
        name: Option<String> => "name",
    }
}

shell_struct! {
    /// What the host hands the sidebar to start (`SidebarSession::new`; checked further by
    /// `wire::session_init`).
    pub struct SidebarInit as "SidebarInit" {
        environment: Environment => "environment",
        relay_url: String => "relayUrl",
        /// The relay session the host minted for this deal.
        token: String => "token",
        /// The viewer's offset from UTC in minutes (JavaScript's `-getTimezoneOffset()`), for times
        /// shown in their day; null for UTC.
        tz_offset_minutes: Option<i32> => "tzOffsetMinutes",
    }
}

impl From<&Deal> for HostDeal {
    fn from(deal: &Deal) -> HostDeal {
        HostDeal { id: deal.id.clone(), name: Some(deal.name.clone()) }
    }
}

/// The deal as the CRM holds it, as the relay answered it (`wire::crm_deal`). The relay read it from
/// the CRM and checked it in full before answering, and decides again on every create; the sidebar
/// takes what it shows and explains from it (the name, the stage) and keeps the whole answer, as
/// JSON text, only to see when the deal changed. Reading every field again here would only cost
/// the download (and comparing text costs less of it than comparing JSON trees).
#[derive(Debug, Clone, PartialEq)]
pub struct CrmDeal {
    pub id: String,
    pub name: String,
    pub stage: Option<String>,
    pub fields: String,
}

impl From<&Deal> for CrmDeal {
    fn from(deal: &Deal) -> CrmDeal {
        use crate::json_output::ToJson;
        CrmDeal {
            id: deal.id.clone(),
            name: deal.name.clone(),
            stage: deal.stage.clone(),
            fields: crate::json_output::to_text(&deal.to_json()),
        }
    }
}

/// Everything that can happen to the sidebar. Events arrive from the shell as JSON (`{"type":
/// "sendClicked", "contractId": "T-8"}`, see `Msg::from_json`); relay answers are read into their
/// messages by `Effect::outcome`, once, inside the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// The shell is ready: load everything.
    Start,
    ConfigLoaded {
        config: SidebarConfig,
    },
    ConfigFailed {
        error: RemoteError,
    },
    /// The relay's answer to `LoadDeal`: the deal as the CRM holds it (boxed: it is far larger than
    /// any other message).
    DealLoaded {
        deal: Box<CrmDeal>,
    },
    DealFailed {
        error: RemoteError,
    },
    ContractsLoaded {
        contracts: Vec<ContractSummary>,
    },
    ContractsFailed {
        error: RemoteError,
    },
    PreviewLoaded {
        template_id: u64,
        preview: PreviewResult,
    },
    PreviewFailed {
        template_id: u64,
        error: RemoteError,
    },
    TemplateSelected {
        template_id: u64,
    },
    CreateClicked,
    /// (The contract is boxed: it is far larger than most messages.)
    Created {
        contract: Box<ContractSummary>,
        created: bool,
    },
    CreateFailed {
        error: RemoteError,
    },
    SendClicked {
        contract_id: ContractId,
    },
    Sent {
        contract_id: ContractId,
        status: ContractStatus,
    },
    SendFailed {
        contract_id: ContractId,
        error: RemoteError,
    },
    DownloadClicked {
        contract_id: ContractId,
    },
    /// The URL is opened at once and never kept.
    DownloadReady {
        contract_id: ContractId,
        url: String,
    },
    DownloadFailed {
        contract_id: ContractId,
        error: RemoteError,
    },
    OpenClicked {
        contract_id: ContractId,
    },
    /// Show or hide a contract's approvals (`crate::approvals`).
    ApprovalsClicked {
        contract_id: ContractId,
    },
    RequestApprovalClicked {
        contract_id: ContractId,
    },
    /// A contract's approvals as the relay read them; `requested`: after the seller's request.
    ApprovalsLoaded {
        contract_id: ContractId,
        view: Box<crate::approvals::ApprovalsView>,
        requested: bool,
    },
    ApprovalsFailed {
        contract_id: ContractId,
        error: RemoteError,
    },
    /// The host saw the CRM record change (e.g. the relay's webhook write-back). Whatever deal it
    /// sends along is ignored: the sidebar reads the deal from the CRM again.
    RecordChanged,
    VisibilityChanged {
        visible: bool,
    },
    /// Linking a contract made in SpotDraft (`link`).
    #[cfg(feature = "link")]
    Link(link::LinkMsg),
    Tick,
    RetryClicked,
    DismissNotice,
}

shell_union! {
    /// What the shell tells the sidebar: clicks, host events, ticks. Relay answers never come this
    /// way: `SidebarSession::perform` reads them into their messages itself.
    pub enum Event as "SidebarEvent" {
        Start "start" {},
        Tick "tick" {},
        RetryClicked "retryClicked" {},
        DismissNotice "dismissNotice" {},
        CreateClicked "createClicked" {},
        TemplateSelected "templateSelected" { template_id: u64 => "templateId" },
        SendClicked "sendClicked" { contract_id: ContractId => "contractId" },
        DownloadClicked "downloadClicked" { contract_id: ContractId => "contractId" },
        OpenClicked "openClicked" { contract_id: ContractId => "contractId" },
        ApprovalsClicked "approvalsClicked" { contract_id: ContractId => "contractId" },
        RequestApprovalClicked "requestApprovalClicked" { contract_id: ContractId => "contractId" },
        /// Whatever the host sends along (an id, an older host's whole deal) is not read.
        RecordChanged "recordChanged" {},
        VisibilityChanged "visibilityChanged" { visible: bool => "visible" },
        LinkSearched "linkSearched" { query: String => "query" },
        LinkClicked "linkClicked" { contract_id: ContractId => "contractId" },
    }
}

impl From<Event> for Msg {
    fn from(event: Event) -> Msg {
        match event {
            Event::Start {} => Msg::Start,
            Event::Tick {} => Msg::Tick,
            Event::RetryClicked {} => Msg::RetryClicked,
            Event::DismissNotice {} => Msg::DismissNotice,
            Event::CreateClicked {} => Msg::CreateClicked,
            Event::TemplateSelected { template_id } => Msg::TemplateSelected { template_id },
            Event::SendClicked { contract_id } => Msg::SendClicked { contract_id },
            Event::DownloadClicked { contract_id } => Msg::DownloadClicked { contract_id },
            Event::OpenClicked { contract_id } => Msg::OpenClicked { contract_id },
            Event::ApprovalsClicked { contract_id } => Msg::ApprovalsClicked { contract_id },
            Event::RequestApprovalClicked { contract_id } => Msg::RequestApprovalClicked { contract_id },
            Event::RecordChanged {} => Msg::RecordChanged,
            Event::VisibilityChanged { visible } => Msg::VisibilityChanged { visible },
            #[cfg(feature = "link")]
            Event::LinkSearched { query } => Msg::Link(link::LinkMsg::Searched { query }),
            #[cfg(feature = "link")]
            Event::LinkClicked { contract_id } => Msg::Link(link::LinkMsg::Clicked { contract_id }),
            // A build without linking never offers it (its views have no `link`); a shell that sends
            // these anyway gets a view that still has none.
            #[cfg(not(feature = "link"))]
            Event::LinkSearched { .. } | Event::LinkClicked { .. } => Msg::DismissNotice,
        }
    }
}

/// The TypeScript of what crosses between the sidebar and its shell (events in, `{view, effects}`
/// out) and of the contracts the relay answers with, generated from their declarations; the package carries it
/// as `wasm/src/sidebar.generated.d.ts` (kept current by `tests/shell_typescript.rs`).
pub fn typescript() -> String {
    let mut declarations = Vec::new();
    Event::declare(&mut declarations);
    SidebarOutput::declare(&mut declarations);
    // What the relay answers with, read by the sidebar and written by the relay from the same
    // declaration (the full API's `ContractSummary` too).
    ContractSummary::declare(&mut declarations);
    SidebarConfig::declare(&mut declarations);
    SidebarInit::declare(&mut declarations);
    HostDeal::declare(&mut declarations);
    #[cfg(feature = "link")]
    link::LinkCandidate::declare(&mut declarations);
    RemoteError::declare(&mut declarations);
    crate::approvals::ApprovalsView::declare(&mut declarations);
    // The full API's answers for contracts, declared the same way (`crate::flows`).
    crate::flows::CreateOutcome::declare(&mut declarations);
    crate::flows::StatusReport::declare(&mut declarations);
    crate::flows::DownloadLink::declare(&mut declarations);
    crate::flows::ContractListing::declare(&mut declarations);
    crate::relay::ReconcileReport::declare(&mut declarations);
    crate::crm::ProvisionReport::declare(&mut declarations);
    let mut text = String::from(
        "// Generated from the Rust declarations (spotdraft_crm::sidebar::typescript): do not edit by hand.\n",
    );
    for (_, declaration) in declarations {
        text.push('\n');
        text.push_str(&declaration);
        text.push('\n');
    }
    text
}

/// What must happen for the state machine. The relay calls are run by `SidebarSession::perform`; the
/// shell runs the rest (timers, opening a URL). See `SidebarSession` for how they cross.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Everything a first view needs in one round trip (`GET /deals/{id}/sidebar`): the
    /// configuration, the CRM's deal, its contracts, and the preview when there is one template.
    LoadFirstView,
    LoadConfig,
    /// Read the deal from the CRM, through the relay (`GET /deals/{id}`).
    LoadDeal,
    LoadContracts,
    LoadPreview {
        template_id: u64,
    },
    Create {
        template_id: u64,
    },
    Send {
        contract_id: ContractId,
    },
    Download {
        contract_id: ContractId,
    },
    /// Read a contract's approvals (`GET …/contracts/{id}/approvals`).
    LoadApprovals {
        contract_id: ContractId,
    },
    /// Request the template's configured approvals (`POST …/contracts/{id}/approvals`).
    RequestApprovals {
        contract_id: ContractId,
    },
    /// A relay call for linking (`link`).
    #[cfg(feature = "link")]
    Link(link::LinkEffect),
    OpenUrl {
        url: String,
    },
    /// Dispatch `Tick` after this long (replaces any earlier schedule).
    ScheduleTick {
        in_ms: u64,
    },
    /// Stop ticking (hidden, or nothing left to watch).
    CancelTick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Busy {
    Sending,
    Downloading,
    Requesting,
}

#[derive(Debug, Clone, PartialEq)]
struct Notice {
    success: bool,
    text: String,
    at_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
struct Tracked {
    summary: ContractSummary,
    /// When this sidebar saw the status change (not known for statuses found on first load).
    changed_at_ms: Option<u64>,
    /// Its approvals, when the seller asked to see them: `Some(None)` while being read.
    approvals: Option<Option<crate::approvals::ApprovalsView>>,
}

/// A map for the handful of entries a sidebar holds (templates, busy contracts): a vector searched
/// in place, which costs the download far less code than a B-tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K: PartialEq, V> VecMap<K, V> {
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// The previous value, if any.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => Some(std::mem::replace(slot, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let index = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(index).1)
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Drops the entry held longest (entries stay in insertion order).
    pub(crate) fn remove_first(&mut self) {
        if !self.0.is_empty() {
            self.0.remove(0);
        }
    }
}

pub struct Sidebar {
    environment: Environment,
    /// What the host said: the record id every call is about, and a name for the first render.
    host: HostDeal,
    /// The CRM's deal, once the relay has read it: the only deal any decision is taken on.
    deal: Option<CrmDeal>,
    deal_error: Option<RemoteError>,
    deal_loading: bool,
    /// The host said the record changed while the sidebar was hidden: read it all when shown.
    changed_while_hidden: bool,
    config: Option<SidebarConfig>,
    config_error: Option<RemoteError>,
    contracts: Option<Vec<Tracked>>,
    contracts_error: Option<RemoteError>,
    read_at_ms: Option<u64>,
    refreshing: bool,
    selected_template: Option<u64>,
    previews: VecMap<u64, PreviewResult>,
    preview_errors: VecMap<u64, RemoteError>,
    previews_loading: VecMap<u64, ()>,
    creating: bool,
    create_error: Option<RemoteError>,
    busy: VecMap<ContractId, Busy>,
    action_error: Option<RemoteError>,
    notice: Option<Notice>,
    visible: bool,
    interval_ms: u64,
    next_refresh_at_ms: Option<u64>,
    #[cfg(feature = "link")]
    link: link::LinkState,
}

impl Sidebar {
    pub fn new(environment: Environment, host: HostDeal) -> Sidebar {
        Sidebar {
            environment,
            host,
            deal: None,
            deal_error: None,
            deal_loading: false,
            changed_while_hidden: false,
            config: None,
            config_error: None,
            contracts: None,
            contracts_error: None,
            read_at_ms: None,
            refreshing: false,
            selected_template: None,
            previews: VecMap::default(),
            preview_errors: VecMap::default(),
            previews_loading: VecMap::default(),
            creating: false,
            create_error: None,
            busy: VecMap::default(),
            action_error: None,
            notice: None,
            visible: true,
            interval_ms: CALM_REFRESH_MS,
            next_refresh_at_ms: None,
            #[cfg(feature = "link")]
            link: link::LinkState::default(),
        }
    }

    /// The CRM's deal, once loaded.
    pub fn deal(&self) -> Option<&CrmDeal> {
        self.deal.as_ref()
    }

    /// The CRM record every relay call is about.
    pub fn deal_id(&self) -> &str {
        &self.host.id
    }

    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// Applies a message at time `now_ms`; returns the effects to run.
    pub fn update(&mut self, msg: Msg, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        // Start reads the deal; a retry reads it again only when it is missing or failed.
        let read_deal = matches!(msg, Msg::Start) || self.deal.is_none() || self.deal_error.is_some();
        match msg {
            Msg::Start if self.config.is_none() && self.deal.is_none() && !self.deal_loading => {
                self.deal_loading = true;
                self.refreshing = true;
                effects.push(Effect::LoadFirstView);
            }
            Msg::Start | Msg::RetryClicked => {
                if read_deal {
                    self.load_deal(&mut effects);
                }
                self.config_error = None;
                self.contracts_error = None;
                self.create_error = None;
                self.action_error = None;
                if self.config.is_none() {
                    effects.push(Effect::LoadConfig);
                } else if let Some(template) = self.selected_template {
                    self.preview_errors.remove(&template);
                    self.request_preview(template, &mut effects);
                }
                self.refreshing = true;
                effects.push(Effect::LoadContracts);
            }
            Msg::ConfigLoaded { config } => {
                self.selected_template = match config.templates.as_slice() {
                    [only] => Some(only.template_id),
                    _ => self.selected_template.filter(|t| config.templates.iter().any(|c| c.template_id == *t)),
                };
                self.config = Some(config);
                // A preview that failed in the same first view is not asked for again unbidden.
                if let Some(template) = self.selected_template.filter(|t| !self.preview_errors.contains_key(t)) {
                    self.request_preview(template, &mut effects);
                }
            }
            Msg::ConfigFailed { error } => self.config_error = Some(error),
            Msg::DealLoaded { deal } => {
                self.deal_loading = false;
                if deal.id != self.host.id {
                    self.deal_error = Some(RemoteError {
                        code: "bad_response".into(),
                        message: "the relay answered with another deal".into(),
                        problems: Vec::new(),
                        transient: false,
                    });
                } else {
                    self.deal_error = None;
                    // A deal that changed since the last read may fill the template differently: its
                    // preview is asked for again. (The first read needs none: previews are always
                    // worked out by the relay from the CRM's deal.)
                    let changed = self.deal.as_ref().is_some_and(|old| *old != *deal);
                    self.deal = Some(*deal);
                    if changed {
                        self.previews.clear();
                        self.preview_errors.clear();
                        self.previews_loading.clear();
                        if let Some(template) = self.selected_template {
                            self.request_preview(template, &mut effects);
                        }
                    }
                }
            }
            Msg::DealFailed { error } => {
                self.deal_loading = false;
                self.deal_error = Some(error);
            }
            Msg::ContractsLoaded { contracts } => {
                // The relay answers from what it knows: the list is as old as its oldest `asOf`.
                let mut as_of_ms: Option<u64> = None;
                for contract in &contracts {
                    let micros = contract.as_of.as_deref().and_then(time::parse_timestamp);
                    if let Some(ms) = micros.and_then(|micros| u64::try_from(micros / 1000).ok()) {
                        as_of_ms = Some(as_of_ms.map_or(ms, |oldest| oldest.min(ms)));
                    }
                }
                let changed = self.merge_contracts(contracts, now_ms);
                self.settle_selection(&mut effects);
                if changed {
                    // What the notice reported is history now; the list shows what is true.
                    self.notice = None;
                }
                self.contracts_error = None;
                self.refreshing = false;
                self.read_at_ms = Some(as_of_ms.map_or(now_ms, |at| at.min(now_ms)));
                self.interval_ms = if changed { QUICK_REFRESH_MS } else { (self.interval_ms * 2).min(MAX_REFRESH_MS) };
                self.schedule(now_ms, &mut effects);
            }
            Msg::ContractsFailed { error } => {
                self.refreshing = false;
                self.interval_ms = (self.interval_ms * 2).min(MAX_REFRESH_MS);
                self.contracts_error = Some(error);
                self.schedule(now_ms, &mut effects);
            }
            Msg::PreviewLoaded { template_id, preview } => {
                self.previews_loading.remove(&template_id);
                self.preview_errors.remove(&template_id);
                self.previews.insert(template_id, preview);
            }
            Msg::PreviewFailed { template_id, error } => {
                self.previews_loading.remove(&template_id);
                self.preview_errors.insert(template_id, error);
            }
            Msg::TemplateSelected { template_id } => {
                // Only a template Create may still use: one whose slot is filled is not a choice.
                let offered = self.free_templates().iter().any(|t| t.template_id == template_id);
                if offered {
                    self.selected_template = Some(template_id);
                    self.request_preview(template_id, &mut effects);
                }
            }
            Msg::CreateClicked => {
                if let (true, Some(template_id)) = (self.create_blockers().is_empty(), self.selected_template) {
                    self.creating = true;
                    self.create_error = None;
                    self.notice = None;
                    effects.push(Effect::Create { template_id });
                }
            }
            Msg::Created { contract, created } => {
                self.creating = false;
                self.notice = Some(Notice {
                    success: true,
                    text: if created {
                        "Contract created in SpotDraft."
                    } else {
                        "This deal already has a contract; here it is."
                    }
                    .into(),
                    at_ms: now_ms,
                });
                self.merge_contracts(vec![*contract], now_ms);
                self.settle_selection(&mut effects);
                self.interval_ms = QUICK_REFRESH_MS;
                self.schedule(now_ms, &mut effects);
            }
            Msg::CreateFailed { error } => {
                self.creating = false;
                self.create_error = Some(error);
            }
            Msg::SendClicked { contract_id } => {
                let sendable = self.contract(contract_id).is_some_and(|c| can_send_to_counterparty(&c.summary.status));
                if sendable && !self.busy.contains_key(&contract_id) {
                    self.busy.insert(contract_id, Busy::Sending);
                    self.action_error = None;
                    effects.push(Effect::Send { contract_id });
                }
            }
            Msg::Sent { contract_id, status } => {
                self.busy.remove(&contract_id);
                let text = self.sent_text(contract_id, &status);
                self.set_status(contract_id, status, now_ms);
                self.notice = Some(Notice { success: true, text, at_ms: now_ms });
                self.interval_ms = QUICK_REFRESH_MS;
                self.schedule(now_ms, &mut effects);
            }
            Msg::SendFailed { contract_id, error } | Msg::DownloadFailed { contract_id, error } => {
                self.busy.remove(&contract_id);
                self.action_error = Some(error);
            }
            Msg::DownloadClicked { contract_id } => {
                let executed = self.contract(contract_id).is_some_and(|c| c.summary.status == ContractStatus::Executed);
                if executed && !self.busy.contains_key(&contract_id) {
                    self.busy.insert(contract_id, Busy::Downloading);
                    self.action_error = None;
                    effects.push(Effect::Download { contract_id });
                }
            }
            Msg::DownloadReady { contract_id, url } => {
                self.busy.remove(&contract_id);
                let allowed = self.config.as_ref().map_or(&[][..], |c| c.download_origins.as_slice());
                if let Some(url) = crate::url::allowed_document_url(&url, allowed) {
                    effects.push(Effect::OpenUrl { url });
                } else {
                    // Checked here as well as in the relay: the page never navigates to a URL it
                    // did not expect, whatever answered.
                    self.action_error = Some(RemoteError {
                        code: "bad_response".into(),
                        message:
                            "The download link does not point to SpotDraft's document storage, so it was not opened."
                                .into(),
                        problems: Vec::new(),
                        transient: false,
                    });
                }
            }
            #[cfg(feature = "link")]
            Msg::Link(msg) => self.update_link(msg, now_ms, &mut effects),
            Msg::ApprovalsClicked { contract_id } => {
                if let Some(tracked) = self.tracked_mut(contract_id) {
                    if tracked.approvals.take().is_none() {
                        tracked.approvals = Some(None);
                        effects.push(Effect::LoadApprovals { contract_id });
                    }
                }
            }
            Msg::RequestApprovalClicked { contract_id } => {
                let allowed =
                    self.contract(contract_id).is_some_and(|c| matches!(&c.approvals, Some(Some(v)) if v.can_request));
                if allowed && !self.busy.contains_key(&contract_id) {
                    self.busy.insert(contract_id, Busy::Requesting);
                    self.action_error = None;
                    effects.push(Effect::RequestApprovals { contract_id });
                }
            }
            Msg::ApprovalsLoaded { contract_id, view, requested } => {
                if requested {
                    self.busy.remove(&contract_id);
                    self.notice =
                        Some(Notice { success: true, text: "Approval requested in SpotDraft.".into(), at_ms: now_ms });
                    // The approver may answer soon: look again sooner, as after any action.
                    self.interval_ms = QUICK_REFRESH_MS;
                    self.schedule(now_ms, &mut effects);
                }
                // Hidden meanwhile: stays hidden, unless this answers the seller's own request.
                if let Some(tracked) = self.tracked_mut(contract_id).filter(|t| requested || t.approvals.is_some()) {
                    tracked.approvals = Some(Some(*view));
                }
            }
            Msg::ApprovalsFailed { contract_id, error } => {
                if self.busy.remove(&contract_id).is_none() {
                    if let Some(tracked) = self.tracked_mut(contract_id) {
                        tracked.approvals = None;
                    }
                }
                self.action_error = Some(error);
            }
            Msg::OpenClicked { contract_id } => {
                if let Some(contract) = self.contract(contract_id) {
                    effects.push(Effect::OpenUrl { url: contract.summary.link.clone() });
                }
            }
            Msg::RecordChanged if !self.visible => {
                // Nothing is read while hidden; the change is read when the seller looks again.
                self.changed_while_hidden = true;
            }
            Msg::RecordChanged => {
                // A read already under way may have started before the change: read again.
                self.deal_loading = false;
                self.load_deal(&mut effects);
                self.interval_ms = QUICK_REFRESH_MS;
                self.refresh_now(now_ms, &mut effects);
            }
            Msg::VisibilityChanged { visible } => {
                self.visible = visible;
                if !visible {
                    self.next_refresh_at_ms = None;
                    effects.push(Effect::CancelTick);
                } else if std::mem::take(&mut self.changed_while_hidden) {
                    self.deal_loading = false;
                    self.load_deal(&mut effects);
                    self.interval_ms = QUICK_REFRESH_MS;
                    self.refresh_now(now_ms, &mut effects);
                } else if self.read_at_ms.is_none_or(|at| now_ms.saturating_sub(at) >= QUICK_REFRESH_MS) {
                    // Shown again: the seller is looking now, so anything but just-read data is refreshed.
                    self.refresh_now(now_ms, &mut effects);
                } else {
                    self.schedule(now_ms, &mut effects);
                }
            }
            Msg::Tick => {
                if self.visible && self.watching() && self.next_refresh_at_ms.is_some_and(|at| now_ms >= at) {
                    self.refresh_now(now_ms, &mut effects);
                } else {
                    self.schedule(now_ms, &mut effects);
                }
            }
            Msg::DismissNotice => {
                self.notice = None;
                self.action_error = None;
                self.create_error = None;
            }
        }
        effects
    }

    /// What sending did, as the seller will see it: SpotDraft sends the contract to the
    /// counterparty for review, which moves it to In review (signatures come later, from SpotDraft).
    fn sent_text(&self, contract_id: ContractId, status: &ContractStatus) -> String {
        let to = self
            .contract(contract_id)
            .and_then(|c| c.summary.counterparty_name.as_deref())
            .filter(|name| !name.trim().is_empty())
            .unwrap_or("the counterparty");
        match status {
            ContractStatus::Redlining => format!("Sent to {to} for review. The contract is now In review."),
            other => format!("Sent to {to}. The contract is now {}.", other.label()),
        }
    }

    fn load_deal(&mut self, effects: &mut Vec<Effect>) {
        self.deal_error = None;
        if !self.deal_loading {
            self.deal_loading = true;
            effects.push(Effect::LoadDeal);
        }
    }

    fn request_preview(&mut self, template_id: u64, effects: &mut Vec<Effect>) {
        if !self.previews.contains_key(&template_id) && self.previews_loading.insert(template_id, ()).is_none() {
            effects.push(Effect::LoadPreview { template_id });
        }
    }

    fn refresh_now(&mut self, _now_ms: u64, effects: &mut Vec<Effect>) {
        if !self.refreshing {
            self.refreshing = true;
            self.next_refresh_at_ms = None;
            effects.push(Effect::LoadContracts);
            // Approvals the seller is looking at are read again with the contracts: an approver
            // decides in SpotDraft, which changes nothing on the CRM record.
            for tracked in self.contracts.iter().flatten().filter(|t| matches!(t.approvals, Some(Some(_)))) {
                effects.push(Effect::LoadApprovals { contract_id: tracked.summary.id });
            }
        }
    }

    /// Whether any contract can still change status.
    fn watching(&self) -> bool {
        self.contracts.as_ref().is_some_and(|list| list.iter().any(|c| !c.summary.status.is_terminal()))
    }

    fn schedule(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        if self.visible && self.watching() {
            self.next_refresh_at_ms = Some(now_ms + self.interval_ms);
            effects.push(Effect::ScheduleTick { in_ms: self.interval_ms });
        } else {
            self.next_refresh_at_ms = None;
            effects.push(Effect::CancelTick);
        }
    }

    fn contract(&self, id: ContractId) -> Option<&Tracked> {
        self.contracts.as_ref()?.iter().find(|c| c.summary.id == id)
    }

    fn tracked_mut(&mut self, id: ContractId) -> Option<&mut Tracked> {
        self.contracts.as_mut()?.iter_mut().find(|c| c.summary.id == id)
    }

    fn set_status(&mut self, id: ContractId, status: ContractStatus, now_ms: u64) {
        if let Some(tracked) = self.contracts.as_mut().and_then(|list| list.iter_mut().find(|c| c.summary.id == id)) {
            if tracked.summary.status != status {
                tracked.summary.status_label = status.label();
                tracked.summary.status = status;
                tracked.changed_at_ms = Some(now_ms);
            }
        }
    }

    /// Takes a fresh list (or one new contract); true when anything shown changed.
    fn merge_contracts(&mut self, fresh: Vec<ContractSummary>, now_ms: u64) -> bool {
        let first_load = self.contracts.is_none();
        let mut list = self.contracts.take().unwrap_or_default();
        let mut changed = false;
        for mut summary in fresh {
            summary.status_label = summary.status.label();
            // Only an https SpotDraft web-app link is ever shown or opened; anything else becomes
            // the contract's standard link.
            summary.link = deep_link(Some(&summary.link), summary.number);
            match list.iter_mut().find(|c| c.summary.id == summary.id) {
                Some(existing) => {
                    if existing.summary.status != summary.status {
                        existing.changed_at_ms = Some(now_ms);
                        changed = true;
                    }
                    existing.summary = summary;
                }
                None => {
                    changed = true;
                    // Kept newest first by placing each new contract, rather than sorting: the list
                    // is short, and a sort is kilobytes of generic code in the sidebar's build.
                    let at = list.iter().position(|c| c.summary.number < summary.number).unwrap_or(list.len());
                    list.insert(
                        at,
                        Tracked { summary, changed_at_ms: (!first_load).then_some(now_ms), approvals: None },
                    );
                }
            }
        }
        self.contracts = Some(list);
        changed && !first_load
    }

    /// Whether a contract from `template` may still be made: no live contract fills its slot
    /// (`crate::slots`). A template or contract without a slot (an older relay) stands for the whole
    /// deal, as before slots.
    fn slot_free(&self, template: &TemplateChoice) -> bool {
        let Some(list) = &self.contracts else { return true };
        !list.iter().any(|c| {
            c.summary.status.is_live()
                && match (&template.slot, &c.summary.slot) {
                    (Some(wanted), Some(filled)) => wanted == filled,
                    _ => true,
                }
        })
    }

    /// Keeps the chosen template one Create may still use: a choice whose slot has filled is
    /// dropped, and a single template left is chosen (with no picker, the seller could not).
    fn settle_selection(&mut self, effects: &mut Vec<Effect>) {
        let free: Vec<u64> = self.free_templates().iter().map(|t| t.template_id).collect();
        if self.selected_template.is_some_and(|t| !free.contains(&t)) {
            self.selected_template = None;
        }
        if let (None, [only]) = (self.selected_template, free.as_slice()) {
            self.selected_template = Some(*only);
            if !self.preview_errors.contains_key(only) {
                self.request_preview(*only, effects);
            }
        }
    }

    /// The templates Create may still use for this deal.
    fn free_templates(&self) -> Vec<&TemplateChoice> {
        let mut free = Vec::new();
        for template in self.config.iter().flat_map(|c| c.templates.iter()) {
            if self.slot_free(template) {
                free.push(template);
            }
        }
        free
    }

    /// Why Create can't be clicked right now, in a seller's words; empty when it can.
    pub fn create_blockers(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        let Some(config) = &self.config else { return vec!["Loading the contract options…".into()] };
        if self.creating {
            return vec!["Creating the contract…".into()];
        }
        // Only the CRM's deal decides; the host's copy never does.
        let deal = match (&self.deal, &self.deal_error) {
            (_, Some(_)) => return vec!["The deal couldn't be read from your CRM.".into()],
            (None, None) => return vec!["Reading the deal from your CRM…".into()],
            (Some(deal), None) => deal,
        };
        let stage = deal.stage.as_deref();
        if !stage.is_some_and(|s| config.creation_stages.iter().any(|allowed| allowed == s)) {
            let allowed: Vec<String> =
                config.creation_stages.iter().map(|s| config.stage_label(s).to_string()).collect();
            let sentence = crate::error::stage_sentence(stage.map(|s| config.stage_label(s)), &allowed);
            reasons.push(view::problem_text(&Problem::new("deal.stage", sentence)));
        }
        let free = self.free_templates();
        if free.is_empty() {
            return vec!["Every contract this deal can have is already under way.".into()];
        }
        match self.selected_template.filter(|id| free.iter().any(|t| t.template_id == *id)) {
            None => reasons.push("Choose a template.".into()),
            Some(template) => match (self.previews.get(&template), self.preview_errors.get(&template)) {
                (Some(preview), _) if !preview.can_create => {
                    for problem in &preview.problems {
                        if problem.path != "deal.stage" {
                            reasons.push(view::problem_text(problem));
                        }
                    }
                    if reasons.is_empty() {
                        reasons.push("The deal can't fill this template yet.".into());
                    }
                }
                (Some(_), _) => {}
                (None, Some(error)) => {
                    reasons.push(format!("Couldn't check the deal's fields: {}", view::error_text(error)))
                }
                (None, None) => reasons.push("Checking the deal's fields…".into()),
            },
        }
        reasons
    }
}

#[cfg(test)]
mod tests;
