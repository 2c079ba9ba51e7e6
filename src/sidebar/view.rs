//! What the shell renders: plain data, already worded for a seller. Text is text; the shell never
//! interprets any of it as HTML.

use super::{Busy, RemoteError, Sidebar, NOTICE_SHOWN_MS};
use crate::error::Problem;
use crate::flows::can_send_to_counterparty;
use crate::model::{ContractStatus, Environment};
use crate::shell_types::{shell_enum, shell_struct};
use crate::time;

/// A shown status older than this is labelled with its time instead of passing for fresh.
pub const CONTRACT_STALE_AFTER_MS: u64 = 90_000;

shell_struct! {
    /// Everything the shell renders.
    pub struct ViewModel as "SidebarView" {
        phase: Phase => "phase",
        /// Shown when not production, so UAT is never mistaken for the real thing.
        environment_badge: Option<String> => "environmentBadge",
        deal_name: String => "dealName",
        banner: Option<Banner> => "banner",
        /// "as of 14:02 — refreshing…" when what is shown may be out of date.
        freshness: Option<String> => "freshness",
        create: Option<CreateView> => "create",
        contracts: Vec<ContractView> => "contracts",
        /// Shown when the deal has no contract yet.
        empty_text: Option<String> => "emptyText",
        /// Linking a contract made in SpotDraft; offered while the deal can take another contract.
        link: Option<LinkView> => "link",
    }
}

shell_struct! {
    /// The shell sends `linkSearched` with the text typed, and `linkClicked` with a result's id.
    pub struct LinkView as "SidebarLink" {
        query: String => "query",
        searching: bool => "searching",
        /// What the last search found, as contracts are shown (a `link` action on those that can be
        /// linked; why not, in `updatedText`, on the others); null before a search.
        results: Option<Vec<ContractView>> => "results",
        /// Nothing found, or why a search or a link failed.
        message: Option<String> => "message",
    }
}

shell_enum! {
    /// Nothing to show yet, showing, or nothing could be loaded.
    pub enum Phase as "SidebarPhase" {
        Loading => "loading",
        Ready => "ready",
        Failed => "failed",
    }
}

shell_struct! {
    pub struct Banner as "SidebarBanner" {
        tone: BannerTone => "tone",
        text: String => "text",
        details: Vec<String> => "details",
        retry: bool => "retry",
        dismissible: bool => "dismissible",
    }
}

shell_enum! {
    pub enum BannerTone as "SidebarBannerTone" {
        Error => "error",
        Success => "success",
        Info => "info",
    }
}

shell_struct! {
    pub struct CreateView as "SidebarCreate" {
        templates: Vec<TemplateOption> => "templates",
        /// Only when there is a real choice.
        show_picker: bool => "showPicker",
        label: String => "label",
        enabled: bool => "enabled",
        busy: bool => "busy",
        /// Why the button is disabled, in a seller's words.
        reasons: Vec<String> => "reasons",
    }
}

shell_struct! {
    pub struct TemplateOption as "SidebarTemplateOption" {
        template_id: u64 => "templateId",
        label: String => "label",
        selected: bool => "selected",
    }
}

shell_struct! {
    pub struct ContractView as "SidebarContract" {
        id: String => "id",
        name: String => "name",
        status_label: String => "statusLabel",
        /// The status pill's colour.
        tone: StatusTone => "tone",
        updated_text: String => "updatedText",
        actions: Vec<ActionView> => "actions",
        /// Its approvals, when the seller asked to see them (`crate::approvals`).
        approvals: Option<crate::approvals::ApprovalsView> => "approvals",
    }
}

shell_enum! {
    pub enum StatusTone as "SidebarStatusTone" {
        Neutral => "neutral",
        Info => "info",
        Warning => "warning",
        Success => "success",
        Muted => "muted",
    }
}

shell_struct! {
    pub struct ActionView as "SidebarAction" {
        /// What the click is: the shell sends `{action}Clicked`.
        action: Action => "action",
        /// For `open`: the https SpotDraft link, rendered as a real link (a page opened by a link is
        /// never blocked as a pop-up, and reads as a link to assistive technology).
        href: Option<String> => "href",
        label: String => "label",
        enabled: bool => "enabled",
        busy: bool => "busy",
    }
}

shell_enum! {
    pub enum Action as "SidebarActionKind" {
        Open => "open",
        Send => "send",
        Download => "download",
        Approvals => "approvals",
        RequestApproval => "requestApproval",
        Link => "link",
    }
}

pub(super) fn tone(status: &ContractStatus) -> StatusTone {
    match status {
        ContractStatus::Draft | ContractStatus::Other(_) => StatusTone::Neutral,
        ContractStatus::Redlining => StatusTone::Info,
        ContractStatus::Sign | ContractStatus::OnHold => StatusTone::Warning,
        ContractStatus::Executed => StatusTone::Success,
        ContractStatus::Voided => StatusTone::Muted,
    }
}

/// A relay error in a seller's words.
pub fn error_text(error: &RemoteError) -> String {
    match error.code.as_str() {
        "timeout" | "network_error" => "SpotDraft can't be reached right now.".into(),
        "unauthorized" => "Your session has expired. Reload the record to continue.".into(),
        "forbidden" => "You don't have access to this deal in the CRM, so its contracts can't be shown here.".into(),
        "spotdraft_error" if error.transient => "SpotDraft is busy right now.".into(),
        // The relay's message names the CRM and what went wrong ("HubSpot: an admin must reconnect …").
        "crm_error" if error.transient => "Your CRM can't be reached right now.".into(),
        "crm_error" => format!("Your CRM refused the request: {}", error.message),
        "stage_not_allowed" | "mapping_failed" | "invalid_input" | "unknown_template" | "conflict" => {
            error.message.clone()
        }
        _ => format!("Something went wrong: {}", error.message),
    }
}

/// A failed read of the deal from the CRM, in a seller's words.
pub fn deal_error_text(error: &RemoteError) -> String {
    match error.code.as_str() {
        // The relay's message names the CRM ("Pipedrive: the deal does not exist …").
        "crm_error" if !error.transient => format!("This deal couldn't be read from your CRM: {}", error.message),
        "invalid_input" => "This deal holds values SpotDraft can't read yet.".into(),
        "bad_response" => "This deal couldn't be read from your CRM.".into(),
        _ => error_text(error),
    }
}

/// A mapping problem as a seller reads it: the message, without internal paths.
pub fn problem_text(problem: &Problem) -> String {
    let mut text = problem.message.clone();
    if let Some(first) = text.get(0..1) {
        // ASCII only: our messages start with English words, and full Unicode case tables would
        // weigh on the sidebar's download.
        let upper = first.to_ascii_uppercase();
        text.replace_range(0..1, &upper);
    }
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

fn clock(ms: u64, tz_offset_minutes: i32) -> String {
    let local = i64::try_from(ms).unwrap_or(0) / 1000 + i64::from(tz_offset_minutes) * 60;
    // Unsigned, as every integer the sidebar writes: each integer type's writer is code of its own.
    let of_day = local.rem_euclid(86_400).unsigned_abs();
    format!("{:02}:{:02}", of_day / 3600, of_day % 3600 / 60)
}

/// An ISO 8601 time as epoch milliseconds.
fn epoch_ms(text: Option<&str>) -> Option<u64> {
    text.and_then(time::parse_timestamp).and_then(|micros| u64::try_from(micros / 1000).ok())
}

/// When the contract last moved, in a seller's words: SpotDraft's own time for its status when the
/// CRM record holds it, else when this sidebar saw the change. An executed contract says when it
/// was executed, never when it was created.
fn updated_text(tracked: &super::Tracked, now_ms: u64) -> String {
    let summary = &tracked.summary;
    let status_at = epoch_ms(summary.status_at.as_deref()).or(tracked.changed_at_ms);
    if summary.status == ContractStatus::Executed {
        return match epoch_ms(summary.executed_at.as_deref()).or(status_at) {
            Some(at) => format!("executed {}", ago(at, now_ms)),
            None => "executed".into(),
        };
    }
    match (status_at, epoch_ms(summary.created.as_deref())) {
        (Some(at), _) => format!("updated {}", ago(at, now_ms)),
        (None, Some(created)) if summary.status == ContractStatus::Draft => format!("created {}", ago(created, now_ms)),
        _ => "status from SpotDraft".into(),
    }
}

fn ago(since_ms: u64, now_ms: u64) -> String {
    let seconds = now_ms.saturating_sub(since_ms) / 1000;
    match seconds {
        0..=44 => "just now".into(),
        45..=89 => "a minute ago".into(),
        90..=3599 => format!("{} min ago", (seconds + 30) / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

impl Sidebar {
    /// The view at `now_ms`, with clock times in the viewer's zone.
    pub fn view(&self, now_ms: u64, tz_offset_minutes: i32) -> ViewModel {
        let environment_badge = (self.environment != Environment::Production).then(|| "UAT".to_string());
        // The CRM's name once read, else the host's (a first render), else nothing.
        let deal_name = match (&self.deal, &self.host.name) {
            (Some(deal), _) => deal.name.clone(),
            (None, Some(name)) => name.clone(),
            (None, None) => String::new(),
        };
        let nothing_loaded = self.contracts.is_none();
        let load_error = self.config_error.as_ref().or(self.contracts_error.as_ref());
        let deal_banner = self.deal_error.as_ref().map(|error| Banner {
            tone: BannerTone::Error,
            text: deal_error_text(error),
            details: error.problems.iter().map(problem_text).collect(),
            retry: true,
            dismissible: false,
        });
        if nothing_loaded {
            let banner = load_error
                .map(|error| Banner {
                    tone: BannerTone::Error,
                    text: error_text(error),
                    details: Vec::new(),
                    retry: true,
                    dismissible: false,
                })
                .or(deal_banner);
            return ViewModel {
                phase: if banner.is_some() { Phase::Failed } else { Phase::Loading },
                environment_badge,
                deal_name,
                banner,
                freshness: None,
                create: None,
                contracts: Vec::new(),
                empty_text: None,
                link: None,
            };
        }
        // Loops rather than iterator adapters on this path: each adapter is a copy of generic code in
        // the sidebar's download (measured: bench/js/sizes.mjs).
        let mut contracts: Vec<ContractView> = Vec::new();
        for tracked in self.contracts.iter().flatten() {
            contracts.push({
                let summary = &tracked.summary;
                let busy = self.busy.get(&summary.id).copied();
                let mut actions = vec![ActionView {
                    action: Action::Open,
                    href: Some(summary.link.clone()),
                    label: "Open in SpotDraft".into(),
                    enabled: true,
                    busy: false,
                }];
                if can_send_to_counterparty(&summary.status) {
                    let sending = busy == Some(Busy::Sending);
                    actions.push(ActionView {
                        action: Action::Send,
                        href: None,
                        label: if sending { "Sending…" } else { "Send to counterparty" }.into(),
                        enabled: busy.is_none(),
                        busy: sending,
                    });
                }
                if summary.status == ContractStatus::Executed {
                    let downloading = busy == Some(Busy::Downloading);
                    actions.push(ActionView {
                        action: Action::Download,
                        href: None,
                        label: if downloading { "Preparing download…" } else { "Download" }.into(),
                        enabled: busy.is_none(),
                        busy: downloading,
                    });
                }
                // Approvals matter until a contract is done with.
                let shown = tracked.approvals.as_ref();
                if summary.status.is_live() && summary.status != ContractStatus::Executed {
                    actions.push(ActionView {
                        action: Action::Approvals,
                        href: None,
                        label: if shown.is_some() { "Hide approvals" } else { "Approvals" }.into(),
                        enabled: true,
                        busy: matches!(shown, Some(None)),
                    });
                }
                let approvals = shown.cloned().flatten();
                if let Some(label) = approvals.as_ref().and_then(|a| a.request_label.clone()) {
                    let requesting = busy == Some(Busy::Requesting);
                    actions.push(ActionView {
                        action: Action::RequestApproval,
                        href: None,
                        label: if requesting { "Requesting…".into() } else { label },
                        enabled: busy.is_none() && approvals.as_ref().is_some_and(|a| a.can_request),
                        busy: requesting,
                    });
                }
                let updated_text = updated_text(tracked, now_ms);
                ContractView {
                    id: summary.id.to_string(),
                    name: summary.name.clone(),
                    status_label: summary.status_label.clone(),
                    tone: tone(&summary.status),
                    updated_text,
                    actions,
                    approvals,
                }
            });
        }
        // Create is offered for the deal's slots still free (`crate::slots`), with their templates.
        let free = self.free_templates();
        let create = (!free.is_empty()).then(|| {
            let reasons = self.create_blockers();
            let templates: Vec<TemplateOption> = free
                .iter()
                .map(|t| TemplateOption {
                    template_id: t.template_id,
                    label: t.label.clone(),
                    selected: Some(t.template_id) == self.selected_template,
                })
                .collect();
            // The one template left of several is named on the button: there is no picker to say it.
            let offered = self.config.as_ref().map_or(0, |c| c.templates.len());
            let label = match (self.creating, templates.as_slice()) {
                (true, _) => "Creating…".to_string(),
                (false, [only]) if offered > 1 => format!("Create {}", only.label),
                _ => "Create contract".to_string(),
            };
            CreateView {
                show_picker: templates.len() > 1,
                templates,
                label,
                enabled: reasons.is_empty(),
                busy: self.creating,
                reasons: if self.creating { Vec::new() } else { reasons },
            }
        });
        let banner = if let Some(error) = self.create_error.as_ref().or(self.action_error.as_ref()) {
            Some(Banner {
                tone: BannerTone::Error,
                text: error_text(error),
                details: error.problems.iter().map(problem_text).collect(),
                retry: error.transient,
                dismissible: true,
            })
        } else if let Some(error) = &self.contracts_error {
            Some(Banner {
                tone: BannerTone::Error,
                text: error_text(error),
                details: Vec::new(),
                retry: true,
                dismissible: false,
            })
        } else if deal_banner.is_some() {
            deal_banner
        } else {
            let current =
                self.notice.as_ref().filter(|n| !n.success || now_ms.saturating_sub(n.at_ms) < NOTICE_SHOWN_MS);
            current.map(|notice| Banner {
                tone: if notice.success { BannerTone::Success } else { BannerTone::Info },
                text: notice.text.clone(),
                details: Vec::new(),
                retry: false,
                dismissible: true,
            })
        };
        let stale = self.read_at_ms.is_some_and(|at| now_ms.saturating_sub(at) > CONTRACT_STALE_AFTER_MS);
        let freshness = match self.read_at_ms {
            Some(at) if stale || (self.refreshing && self.contracts_error.is_some()) => Some(format!(
                "as of {} — {}",
                clock(at, tz_offset_minutes),
                if self.refreshing { "refreshing…" } else { "may be out of date" }
            )),
            _ => None,
        };
        let empty_text = contracts.is_empty().then(|| "No contract yet for this deal.".to_string());
        #[cfg(feature = "link")]
        let link = create.is_some().then(|| self.link_view());
        #[cfg(not(feature = "link"))]
        let link = None;
        ViewModel {
            phase: Phase::Ready,
            environment_badge,
            deal_name,
            banner,
            freshness,
            create,
            contracts,
            empty_text,
            link,
        }
    }
}
