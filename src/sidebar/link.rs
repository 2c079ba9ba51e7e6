//! Linking a contract made in SpotDraft to the deal, from the sidebar: the seller searches SpotDraft
//! (by name or counterparty, through the relay's `GET …/linkable`), sees which contracts can be
//! linked and why the others cannot, and links one (`POST …/links`); the relay decides every refusal.
//!
//! A feature of its own (`link`): the relay's build runs it (the HubSpot card's sidebar is settled
//! there), and so does the browser sidebar's second build, which the page downloads only when a
//! seller asks to link a contract (the first view's build leaves it out, for the page's budget).

use serde_json::Value;

use super::view::{error_text, tone, Action, ActionView, ContractView, LinkView};
use super::{Effect, Msg, Notice, RemoteError, Sidebar, QUICK_REFRESH_MS};
use crate::json_output::object as fields;
use crate::model::{ContractId, ContractSummary};
use crate::shell_types::{field, object, shell_enum, shell_struct, FromShell};
use crate::transport::Method;

shell_struct! {
    /// A contract SpotDraft found for a seller's search (`GET …/linkable`): written by the relay and
    /// read by the sidebar through this declaration.
    pub struct LinkCandidate as "LinkCandidate" {
        contract: ContractSummary => "contract",
        linkable: Linkable => "linkable",
    }
}

shell_enum! {
    /// Whether a found contract can be linked to this deal: linked to no record (free), already this
    /// deal's, linked to another record (never relinked from here), or voided.
    pub enum Linkable as "Linkable" {
        Free => "free",
        ThisDeal => "thisDeal",
        Elsewhere => "elsewhere",
        Voided => "voided",
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LinkMsg {
    Searched {
        query: String,
    },
    Found {
        query: String,
        candidates: Vec<LinkCandidate>,
    },
    SearchFailed {
        error: RemoteError,
    },
    Clicked {
        contract_id: ContractId,
    },
    /// (Boxed: far larger than the other messages.)
    Linked {
        contract: Box<ContractSummary>,
    },
    Failed {
        error: RemoteError,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum LinkEffect {
    Search { query: String },
    Link { contract_id: ContractId },
}

/// The last search and what it found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct LinkState {
    query: String,
    searching: bool,
    results: Option<Vec<LinkCandidate>>,
    error: Option<RemoteError>,
    linking: Option<ContractId>,
}

impl LinkEffect {
    pub(super) fn relay_call(&self, deal_path: &str) -> (Method, String, Option<Value>) {
        match self {
            LinkEffect::Search { query } => {
                (Method::Get, format!("{deal_path}/linkable?query={}", crate::url::encode_component(query)), None)
            }
            LinkEffect::Link { contract_id } => (
                Method::Post,
                format!("{deal_path}/links"),
                Some(fields([("contractId", contract_id.to_string().into())])),
            ),
        }
    }

    /// The message an answer reads into; what cannot be read is the call's failure.
    pub(super) fn outcome(&self, answer: Result<Value, RemoteError>) -> LinkMsg {
        match self {
            LinkEffect::Search { query } => {
                match super::relay_client::read(answer, |v| Vec::<LinkCandidate>::from_value(v, "candidates")) {
                    Ok(candidates) => LinkMsg::Found { query: query.clone(), candidates },
                    Err(error) => LinkMsg::SearchFailed { error },
                }
            }
            LinkEffect::Link { .. } => {
                match super::relay_client::read(answer, |v| field(object(v, "")?, "", "contract")) {
                    Ok(contract) => LinkMsg::Linked { contract: Box::new(contract) },
                    Err(error) => LinkMsg::Failed { error },
                }
            }
        }
    }
}

impl Sidebar {
    pub(super) fn update_link(&mut self, msg: LinkMsg, now_ms: u64, effects: &mut Vec<Effect>) {
        let state = &mut self.link;
        match msg {
            LinkMsg::Searched { query } => {
                let query = query.trim().to_string();
                state.error = None;
                // The relay wants 2 to 100 characters; fewer clears the results.
                state.searching = (2..=100).contains(&query.chars().count());
                if state.searching {
                    effects.push(Effect::Link(LinkEffect::Search { query: query.clone() }));
                } else {
                    state.results = None;
                }
                state.query = query;
            }
            // Only the answer to the latest search is shown.
            LinkMsg::Found { query, candidates } => {
                if query == state.query {
                    state.searching = false;
                    state.results = Some(candidates);
                }
            }
            LinkMsg::SearchFailed { error } => {
                state.searching = false;
                state.error = Some(error);
            }
            LinkMsg::Clicked { contract_id } => {
                let free = state
                    .results
                    .iter()
                    .flatten()
                    .any(|c| c.contract.id == contract_id && c.linkable == Linkable::Free);
                if free && state.linking.is_none() {
                    state.linking = Some(contract_id);
                    state.error = None;
                    effects.push(Effect::Link(LinkEffect::Link { contract_id }));
                }
            }
            LinkMsg::Linked { contract } => {
                self.link = LinkState::default();
                let text = format!("{} is now linked to this deal.", contract.name);
                self.notice = Some(Notice { success: true, text, at_ms: now_ms });
                self.merge_contracts(vec![*contract], now_ms);
                self.settle_selection(effects);
                self.interval_ms = QUICK_REFRESH_MS;
                self.schedule(now_ms, effects);
            }
            LinkMsg::Failed { error } => {
                state.linking = None;
                state.error = Some(error);
            }
        }
    }

    pub(super) fn link_view(&self) -> LinkView {
        let state = &self.link;
        let results = state.results.as_ref().map(|found| {
            found
                .iter()
                .map(|candidate| {
                    let contract = &candidate.contract;
                    let linking = state.linking == Some(contract.id);
                    let note = match candidate.linkable {
                        Linkable::Free => None,
                        Linkable::ThisDeal => Some("Already on this deal"),
                        Linkable::Elsewhere => Some("Linked to another record"),
                        Linkable::Voided => Some("Voided"),
                    };
                    let action = note.is_none().then(|| ActionView {
                        action: Action::Link,
                        href: None,
                        label: if linking { "Linking…" } else { "Link" }.into(),
                        enabled: state.linking.is_none(),
                        busy: linking,
                    });
                    let updated_text = match (note, &contract.counterparty_name) {
                        (Some(note), _) => note.to_string(),
                        (None, Some(party)) => party.clone(),
                        (None, None) => String::new(),
                    };
                    ContractView {
                        id: contract.id.to_string(),
                        name: contract.name.clone(),
                        status_label: contract.status_label.clone(),
                        tone: tone(&contract.status),
                        updated_text,
                        actions: action.into_iter().collect(),
                        approvals: None,
                    }
                })
                .collect::<Vec<_>>()
        });
        let message = match (&state.error, &results) {
            (Some(error), _) => Some(error_text(error)),
            (None, Some(found)) if found.is_empty() => {
                Some(format!("No SpotDraft contract matches “{}”.", state.query))
            }
            _ => None,
        };
        LinkView { query: state.query.clone(), searching: state.searching, results, message }
    }
}

impl From<LinkMsg> for Msg {
    fn from(msg: LinkMsg) -> Msg {
        Msg::Link(msg)
    }
}
