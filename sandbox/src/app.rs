//! The shared runtime: state behind one lock, its persistence, fault engine, journal and the
//! webhook delivery queue. Every HTTP handler and the delivery worker work through this.

use crate::crm_events::CrmEvents;
use crate::delivery::DeliveryQueue;
use crate::faults::FaultEngine;
use crate::journal::Journal;
use crate::state::{self, SandboxState};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Accept `http://` webhook URLs (SpotDraft itself only accepts HTTPS).
    pub local_testing: bool,
    pub download_link_ttl_secs: u64,
}

pub struct App {
    state: Mutex<SandboxState>,
    pub state_path: Option<PathBuf>,
    pub settings: Settings,
    pub faults: Mutex<FaultEngine>,
    pub journal: Mutex<Journal>,
    pub deliveries: DeliveryQueue,
    /// Deal-change events to the relay (`crate::crm_events`), sent from threads of their own.
    pub crm_events: Arc<CrmEvents>,
}

/// Locks ignoring poisoning: a panicked request thread must not take the sandbox down with it,
/// and every mutation completes before persisting, so the data stays consistent.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl App {
    pub fn new(state: SandboxState, state_path: Option<PathBuf>, settings: Settings, faults: FaultEngine) -> Self {
        Self {
            state: Mutex::new(state),
            state_path,
            settings,
            faults: Mutex::new(faults),
            journal: Mutex::new(Journal::default()),
            deliveries: DeliveryQueue::default(),
            crm_events: Arc::default(),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, SandboxState> {
        lock(&self.state)
    }

    /// Writes the state file; call with the state lock held, right after a change.
    pub fn persist(&self, state: &SandboxState) {
        if let Some(path) = &self.state_path {
            if let Err(error) = state::save(path, state) {
                eprintln!("sandbox: could not save state to {}: {error}", path.display());
            }
        }
    }

    pub fn save_now(&self) {
        let state = self.state();
        self.persist(&state);
    }
}
