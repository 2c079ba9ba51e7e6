//! spotdraft-crm: SpotDraft contracts run from a CRM deal record.
//!
//! This crate is the plugin's whole sync logic, as plain Rust with no WebAssembly or JavaScript
//! dependency: it compiles natively (and is tested with `cargo test`) and to WebAssembly, where the
//! separate boundary crate (`wasm/`, `spotdraft-crm-wasm`) converts and forwards. Module map:
//!
//! | module | owns |
//! |---|---|
//! | [`model`] | environments, CRM hosts, record keys, contract ids and statuses, contract summaries |
//! | [`deal`] | the canonical deal every host adapter produces |
//! | [`config`] | the configuration document, validated with key paths |
//! | [`mapping`] | deal + template metadata → create-contract request, and the preview |
//! | [`names`] | counterparty name normalisation |
//! | [`key_terms`] | SpotDraft key pointers → CRM fields, typed, written only when changed |
//! | [`slots`] | which contracts of a deal stand in for one another (one per deal, template or type) |
//! | [`spotdraft`] | typed SpotDraft API calls, error bodies, retry policy |
//! | [`approvals`] | a contract's approval steps for a seller, and the ad-hoc approvals they may request |
//! | [`flows`] | create-for-deal, status, download link, send to the counterparty, deep links |
//! | [`webhook`] | delivery signature verification and payload parsing |
//! | [`crm_events`] | a CRM's "these deals changed" calls, verified per host (milestone creation) |
//! | [`timeline`] | a contract's activities as entries on the deal's timeline |
//! | [`transport`] | the I/O seam (`fetch` in the wasm boundary, a blocking client natively, fakes in tests) |
//! | [`time`], [`url`], [`decimal`], [`json_input`], `json_pruned` | small, strict helpers the above share |

pub mod approvals;
pub mod auth;
pub mod config;
pub mod crm;
pub mod crm_events;
pub mod deal;
pub mod decimal;
pub mod error;
pub mod flows;
pub mod json_input;
pub mod json_output;
mod json_pruned;
pub mod key_terms;
pub mod mapping;
pub mod model;
pub mod names;
pub mod relay;
pub mod shell_types;
pub mod sidebar;
pub mod slots;
pub mod spotdraft;
pub mod sync;
pub mod time;
pub mod timeline;
pub mod transport;
pub mod url;
pub mod webhook;

#[cfg(not(target_arch = "wasm32"))]
pub mod native_transport;

pub use error::{Error, Problem, Result};
