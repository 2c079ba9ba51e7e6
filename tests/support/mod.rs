//! Shared fixtures for the native integration tests: a configuration, template metadata covering
//! every encoding, deals, and a scripted transport that plays back answers and records requests.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use serde_json::{json, Value};
use spotdraft_crm::config::Config;
use spotdraft_crm::deal::Deal;
use spotdraft_crm::spotdraft::types::TemplateMetadata;
use spotdraft_crm::transport::{HttpRequest, HttpResponse, Transport, TransportError};

pub const NDA_TEMPLATE: u64 = 101;
pub const MSA_TEMPLATE: u64 = 202;

pub fn config_json() -> Value {
    json!({
        "environment": "uat",
        "crm": {"host": "hubspot", "accountId": "4411223"},
        "api": {"baseUrl": "http://127.0.0.1:9"},
        "creationStages": ["qualifiedtobuy", "contractsent"],
        "templates": [
            {"templateId": NDA_TEMPLATE, "label": "Mutual NDA", "contractTypeId": 11, "organizationType": "company",
             "fields": [
                {"variable": "effective_date", "source": "deal.closeDate", "encoding": "date"},
                {"variable": "nda_kind", "value": "Mutual", "encoding": "enum"}
             ]},
            {"templateId": MSA_TEMPLATE, "label": "Master Services Agreement", "contractTypeId": 12,
             "fields": [
                {"variable": "effective_date", "source": "deal.closeDate", "encoding": "date"},
                {"variable": "customer_name", "source": "account.name", "encoding": "string"},
                {"variable": "contract_value", "source": "deal.amount", "encoding": "number"},
                {"variable": "seats", "source": "custom.seats", "encoding": "number"},
                {"variable": "auto_renewal", "source": "custom.auto_renew", "encoding": "boolean"},
                {"variable": "kickoff_at", "source": "custom.kickoff", "encoding": "datetime"},
                {"variable": "billing_frequency", "source": "custom.billing", "encoding": "enum",
                 "options": {"Every year": "annual_invoice"}},
                {"variable": "service_countries", "source": "custom.countries", "encoding": "multiSelect"},
                {"variable": "fees", "source": "deal.amount", "encoding": "currency"},
                {"variable": "subscription_term", "source": "custom.term_months", "encoding": "duration", "unit": "MONTHS"},
                {"variable": "billing_address", "source": "account.address", "encoding": "address"},
                {"variable": "billing.contact_email", "source": "contact.email", "encoding": "string"}
             ]}
        ]
    })
}

pub fn config() -> Config {
    Config::from_json(&config_json()).expect("fixture config is valid")
}

fn attribute(variable: &str, kind: &str, required: bool) -> Value {
    json!({"variable": variable, "display_label": variable.replace('_', " "), "type": kind, "required": required})
}

pub fn nda_metadata() -> TemplateMetadata {
    serde_json::from_value(json!({
        "counter_party_kind": "Organisation",
        "attributes": [
            attribute("effective_date", "date", true),
            {"variable": "nda_kind", "display_label": "Kind of NDA", "type": "enum", "required": true,
             "options": [{"label": "Mutual", "value": "mutual"}, {"label": "One-way", "value": "one_way"}]}
        ]
    }))
    .expect("fixture metadata")
}

/// One field of every v2.1 type the mapping fills, plus composite values described both as a
/// field of their own and as child fields (`fees.type` / `fees.value`).
pub fn msa_metadata() -> TemplateMetadata {
    serde_json::from_value(msa_metadata_json()).expect("fixture metadata")
}

/// The MSA's metadata exactly as SpotDraft's API answers it.
pub fn msa_metadata_json() -> Value {
    json!({
        "counter_party_kind": "Both",
        "attributes": [
            attribute("effective_date", "date", true),
            attribute("customer_name", "string", true),
            attribute("contract_value", "float", false),
            attribute("seats", "int", false),
            attribute("auto_renewal", "boolean", false),
            attribute("kickoff_at", "string", false),
            {"variable": "billing_frequency", "display_label": "Billing frequency", "type": "enum", "required": false,
             "options": [{"label": "Annual invoice", "value": "annual_invoice"}, {"label": "Monthly card", "value": "monthly_card"}]},
            {"variable": "service_countries", "display_label": "Service countries", "type": "array of options", "required": false,
             "options": [{"label": "United States", "value": "US"}, {"label": "India", "value": "IN"}, {"label": "Germany", "value": "DE"}]},
            {"variable": "fees.type", "display_label": "Fee currency", "type": "string", "required": true,
             "parent_variable": "fees", "parent_required": true, "child_variable": "type", "parent_type": "currency"},
            {"variable": "fees.value", "display_label": "Fee amount", "type": "float", "required": true,
             "parent_variable": "fees", "parent_required": true, "child_variable": "value", "parent_type": "currency"},
            {"variable": "subscription_term", "display_label": "Subscription term", "type": "duration", "required": false},
            {"variable": "billing_address", "display_label": "Billing address", "type": "address", "required": false},
            {"variable": "billing.contact_email", "display_label": "Billing email", "type": "string", "required": true,
             "parent_variable": "billing", "parent_required": false, "child_variable": "contact_email"},
            {"variable": "billing.po_number", "display_label": "PO number", "type": "string", "required": false,
             "parent_variable": "billing", "parent_required": false, "child_variable": "po_number"},
            {"variable": "pricing_schedule", "display_label": "Pricing", "type": "repeating", "required": false,
             "attributes": [{"variable": "milestone", "display_label": "Milestone", "type": "string"}]}
        ]
    })
}

pub fn deal_json() -> Value {
    json!({
        "id": "1001",
        "name": "Acme Widgets – platform renewal",
        "amount": "12000.50",
        "currency": "USD",
        "stage": "contractsent",
        "closeDate": "2026-03-28T00:00:00.000Z",
        "owner": {"name": "Sam Seller", "email": "sam@yourco.example"},
        "account": {
            "id": "77", "name": "  acme   widgets , inc ", "jurisdictionIsoCode": "US",
            "address": {"lineOne": "350 Fifth Avenue", "city": "New York", "state": "NY", "countryIsoCode": "US", "zipcode": "10118"}
        },
        "primaryContact": {"id": "501", "firstName": "avery", "lastName": "stone", "email": "avery@acme.example"},
        "custom": {
            "seats": "25", "auto_renew": "true", "kickoff": 1774692000000_i64, "billing": "Every year",
            "countries": "US;India", "term_months": 12
        }
    })
}

pub fn deal() -> Deal {
    Deal::from_json(&deal_json()).expect("fixture deal is valid")
}

pub fn deal_with(change: impl FnOnce(&mut Value)) -> Deal {
    let mut value = deal_json();
    change(&mut value);
    Deal::from_json(&value).expect("modified fixture deal is valid")
}

/// What the scripted transport answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Json(u16, Value),
    Raw(u16, Vec<(String, String)>, Vec<u8>),
    Fail(TransportError),
}

/// Plays back replies in order and records every request. Time is virtual: `sleep` advances the
/// clock instantly, so backoff is observable without waiting.
#[derive(Default)]
pub struct ScriptedTransport {
    replies: RefCell<VecDeque<(String, Reply)>>,
    pub sent: RefCell<Vec<HttpRequest>>,
    pub sleeps: RefCell<Vec<u64>>,
    clock_ms: Cell<u64>,
}

impl ScriptedTransport {
    pub fn new() -> Self {
        let transport = ScriptedTransport::default();
        transport.clock_ms.set(1_790_000_000_000);
        transport
    }

    /// Expects the next request to be `"METHOD /path…"` (prefix match) and answers it.
    pub fn expect(self, request_line: &str, reply: Reply) -> Self {
        self.replies.borrow_mut().push_back((request_line.to_string(), reply));
        self
    }

    pub fn request_lines(&self) -> Vec<String> {
        self.sent.borrow().iter().map(line_of).collect()
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.request_lines().iter().filter(|l| l.starts_with(prefix)).count()
    }

    pub fn unused_replies(&self) -> usize {
        self.replies.borrow().len()
    }
}

fn line_of(request: &HttpRequest) -> String {
    let path = request
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
        .unwrap_or_default();
    format!("{} {}", request.method, path)
}

impl Transport for ScriptedTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let line = line_of(&request);
        self.sent.borrow_mut().push(request);
        let (expected, reply) =
            self.replies.borrow_mut().pop_front().unwrap_or_else(|| panic!("unexpected request {line}"));
        assert!(line.starts_with(&expected), "expected {expected}, got {line}");
        match reply {
            Reply::Json(status, body) => Ok(HttpResponse {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::to_vec(&body).unwrap_or_default(),
            }),
            Reply::Raw(status, headers, body) => Ok(HttpResponse { status, headers, body }),
            Reply::Fail(error) => Err(error),
        }
    }

    async fn sleep(&self, ms: u64) {
        self.sleeps.borrow_mut().push(ms);
        self.clock_ms.set(self.clock_ms.get() + ms);
    }

    fn now_ms(&self) -> u64 {
        self.clock_ms.get()
    }
}

/// A contract as SpotDraft's create answers it.
pub fn created_contract(number: u64, external_id: &str) -> Value {
    json!({
        "id": format!("T-{number}"), "contract_id": number, "created": "2026-05-20T04:52:04Z",
        "contract_name": "Master Services Agreement – Acme Widgets, Inc.",
        "contract_link": format!("https://app.spotdraft.com/contracts/v2/{number}"),
        "contract_status": "DRAFT", "created_by": "integration@yourco.example", "counter_party_name": "Acme Widgets, Inc.",
        "contract_type_name": "MSA", "contract_type_id": 12, "created_by_workspace": 1,
        "external_metadata": {"id": external_id}, "reference_id": format!("SD-{number}")
    })
}

/// A contract as the by-external-metadata lookup answers it (integer id).
pub fn looked_up_contract(number: u64, status: &str, external_id: &str) -> Value {
    json!({
        "id": number, "created": "2026-05-20T04:52:04Z", "contract_name": "MSA",
        "contract_link": format!("https://app.spotdraft.com/contracts/v2/{number}"),
        "contract_status": status, "created_by": "x", "counter_party_name": "Acme", "contract_type_name": "MSA",
        "contract_type_id": 12, "created_by_workspace": 1, "external_metadata": {"id": external_id}, "reference_id": "SD-1"
    })
}

pub const DEAL_KEY: &str = "hubspot:4411223:deal:1001";

/// xorshift64*: a repeatable random source for the seeded property and mutation tests, with no
/// dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}
