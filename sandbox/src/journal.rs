//! What the sandbox received and sent, kept in memory for the control API so tests can assert
//! on exact traffic ("exactly one create", "no redundant CRM write").

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// Oldest entries are dropped past this many per list.
const MAX_ENTRIES: usize = 20_000;

#[derive(Debug, Clone, Serialize)]
pub struct RequestEntry {
    pub seq: u64,
    pub at: String,
    /// `spotdraft`, `crm` or `files`.
    pub service: String,
    pub workspace: Option<String>,
    pub method: String,
    pub path: String,
    pub query: String,
    /// Status sent, or `None` when the connection was reset instead.
    pub status: Option<u16>,
    /// Whether the emulated operation ran (false for redirects, auth failures, injected errors).
    pub handler_ran: bool,
    pub fault: Option<String>,
    pub duration_ms: u64,
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryEntry {
    pub seq: u64,
    pub at: String,
    pub workspace: String,
    pub webhook_id: u64,
    pub url: String,
    pub activity: String,
    pub contract_id: u64,
    /// `original`, `duplicate` or `re_trigger`.
    pub kind: String,
    /// `delivered`, `failed` or `dropped`.
    pub result: String,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CrmWriteEntry {
    pub seq: u64,
    pub at: String,
    pub method: String,
    pub path: String,
    pub object_type: String,
    pub object_id: String,
    /// Properties as sent.
    pub properties: BTreeMap<String, String>,
    /// Names whose stored value actually changed (empty for a redundant write).
    pub changed: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Journal {
    next_seq: u64,
    pub requests: VecDeque<RequestEntry>,
    pub deliveries: VecDeque<DeliveryEntry>,
    pub crm_writes: VecDeque<CrmWriteEntry>,
}

fn push_capped<T>(list: &mut VecDeque<T>, entry: T) {
    list.push_back(entry);
    while list.len() > MAX_ENTRIES {
        list.pop_front();
    }
}

impl Journal {
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub fn record_request(&mut self, mut entry: RequestEntry) {
        entry.seq = self.next_seq();
        push_capped(&mut self.requests, entry);
    }

    pub fn record_delivery(&mut self, mut entry: DeliveryEntry) {
        entry.seq = self.next_seq();
        push_capped(&mut self.deliveries, entry);
    }

    pub fn record_crm_write(&mut self, mut entry: CrmWriteEntry) {
        entry.seq = self.next_seq();
        push_capped(&mut self.crm_writes, entry);
    }
}
