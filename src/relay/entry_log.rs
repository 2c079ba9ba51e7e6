//! An append-only list of JSON entries per environment, read back newest first: what the audit log
//! (`super::audit`) and the setup history (`super::setup`) are kept in.
//!
//! Where entries live is the host's: the Node relay keeps them in Redis when instances share state,
//! else in files in its state directory; tests and a bare core keep them in memory
//! ([`MemoryEntryLog`]).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use super::shared::LocalFuture;
use crate::error::Result;

/// The most entries kept per environment; the oldest go first.
pub const MAX_ENTRIES: usize = 10_000;

pub trait EntryLog {
    /// Adds one entry (a JSON object's text) to `environment`'s list.
    fn append<'a>(&'a self, environment: &'a str, entry: String) -> LocalFuture<'a, Result<()>>;
    /// The newest `limit` entries of `environment`, newest first.
    fn recent<'a>(&'a self, environment: &'a str, limit: usize) -> LocalFuture<'a, Result<Vec<String>>>;
}

/// Entries in this process's memory.
#[derive(Default)]
pub struct MemoryEntryLog {
    entries: RefCell<HashMap<String, VecDeque<String>>>,
}

impl EntryLog for MemoryEntryLog {
    fn append<'a>(&'a self, environment: &'a str, entry: String) -> LocalFuture<'a, Result<()>> {
        let mut entries = self.entries.borrow_mut();
        let list = entries.entry(environment.to_string()).or_default();
        list.push_front(entry);
        list.truncate(MAX_ENTRIES);
        Box::pin(async { Ok(()) })
    }

    fn recent<'a>(&'a self, environment: &'a str, limit: usize) -> LocalFuture<'a, Result<Vec<String>>> {
        let found = self
            .entries
            .borrow()
            .get(environment)
            .map(|list| list.iter().take(limit).cloned().collect())
            .unwrap_or_default();
        Box::pin(async { Ok(found) })
    }
}
