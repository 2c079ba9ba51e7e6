//! One sidebar loop, whole: the state machine, the relay calls its effects ask for, and their
//! outcomes applied, so the shell only renders views and forwards events.
//!
//! `update` takes an event and answers `{view, effects}`; `perform` runs one of those effects'
//! relay calls, reads the answer once, applies what it says and answers the next `{view, effects}`.
//! Relay calls cross to the shell only as `{"type": "call", "id": 3, "call": "download"}`: the call
//! itself stays here, so the shell can neither forge one nor garble it on the way back.

use std::cell::{Cell, RefCell};

use serde_json::Value;

use super::{wire, Effect, HostDeal, Msg, RelayClient, Sidebar, VecMap};
use crate::json_output::{object, ToJson};
use crate::model::Environment;
use crate::transport::Transport;
use crate::{Error, Result};

/// Calls handed to the shell and not yet performed; a shell that drops some can't grow this past it.
const MAX_PENDING_CALLS: usize = 32;

/// `init`: what the host hands the sidebar to start (read by `wire::session_init`).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInit {
    pub environment: Environment,
    pub relay_url: String,
    pub token: String,
    /// The viewer's offset from UTC, for dates shown in their day.
    pub tz_offset_minutes: i32,
}

/// What the host offers the loop: a fresh session token when the relay says the current one has
/// expired (`None`: there is none to give, and the call's failure stands).
#[allow(async_fn_in_trait)] // used only by this crate's own single-threaded callers
pub trait HostSession {
    async fn fresh_token(&self) -> Option<String>;
}

/// A host that cannot renew sessions.
impl HostSession for () {
    async fn fresh_token(&self) -> Option<String> {
        None
    }
}

pub struct SidebarSession<T> {
    sidebar: RefCell<Sidebar>,
    relay: RelayClient<T>,
    pending: RefCell<VecMap<u32, Effect>>,
    next_call: Cell<u32>,
    tz_offset_minutes: i32,
}

impl<T: Transport> SidebarSession<T> {
    /// `init` (see `SessionInit`) and the host's deal `{id, name?}`, only a first render.
    pub fn new(transport: T, init: &Value, deal: &Value) -> Result<Self> {
        let init = wire::session_init(init)?;
        let deal = wire::host_deal(deal, "deal").map_err(|reason| Error::invalid_input("deal", reason))?;
        Self::with(transport, init, deal)
    }

    pub fn with(transport: T, init: SessionInit, deal: HostDeal) -> Result<Self> {
        let relay = RelayClient::new(transport, &init.relay_url, init.environment, &init.token)?;
        Ok(SidebarSession {
            sidebar: RefCell::new(Sidebar::new(init.environment, deal)),
            relay,
            pending: RefCell::new(VecMap::default()),
            next_call: Cell::new(1),
            tz_offset_minutes: init.tz_offset_minutes,
        })
    }

    /// Applies an event from the shell; `{view, effects}`. A malformed event changes nothing.
    pub fn update(&self, event: &Value) -> Result<Value> {
        let msg = Msg::from_json(event).map_err(|reason| Error::invalid_input("msg", reason))?;
        self.apply(vec![msg])
    }

    /// The current view, for a re-render as relative times age.
    pub fn view(&self) -> Result<Value> {
        let sidebar = self.sidebar.try_borrow().map_err(|_| busy())?;
        Ok(sidebar.view(self.now_ms(), self.tz_offset_minutes).to_json())
    }

    /// A fresh session token from the host.
    pub fn set_token(&self, token: &str) {
        self.relay.set_token(token);
    }

    /// Runs the relay call the shell was handed as `{"type": "call", "id": …}`: asks the relay
    /// (once more with a fresh token if the host gives one after a 401), applies the outcome and
    /// answers `{view, effects}`. Fails only for an id that names no pending call.
    pub async fn perform(&self, id: u32, host: &impl HostSession) -> Result<Value> {
        let effect = self
            .pending
            .try_borrow_mut()
            .map_err(|_| busy())?
            .remove(&id)
            .ok_or_else(|| Error::invalid_input("call", format!("{id} is not a call waiting to be performed")))?;
        let deal_id = self.sidebar.try_borrow().map_err(|_| busy())?.deal_id().to_string();
        let Some(call) = effect.relay_call(&deal_id) else {
            return Err(Error::invalid_input("call", "runs in the shell, not through the relay"));
        };
        let mut answer = self.relay.call(call.clone()).await;
        if answer.as_ref().is_err_and(|error| error.code == "unauthorized") {
            if let Some(token) = host.fresh_token().await {
                self.relay.set_token(&token);
                answer = self.relay.call(call).await;
            }
        }
        self.apply(effect.outcome(answer))
    }

    fn apply(&self, messages: Vec<Msg>) -> Result<Value> {
        let now = self.now_ms();
        let mut sidebar = self.sidebar.try_borrow_mut().map_err(|_| busy())?;
        let mut effects = Vec::new();
        for msg in messages {
            effects.extend(sidebar.update(msg, now));
        }
        let view = sidebar.view(now, self.tz_offset_minutes).to_json();
        let effects = effects.into_iter().map(|effect| self.shell_effect(effect)).collect::<Result<Vec<_>>>()?;
        Ok(object([("view", view), ("effects", Value::Array(effects))]))
    }

    /// An effect as the shell sees it: timers and URLs as they are, relay calls by number.
    fn shell_effect(&self, effect: Effect) -> Result<Value> {
        let kind = |name: &str| ("type", name.to_json());
        Ok(match effect {
            Effect::OpenUrl { url } => object([kind("openUrl"), ("url", url.to_json())]),
            Effect::ScheduleTick { in_ms } => object([kind("scheduleTick"), ("inMs", in_ms.to_json())]),
            Effect::CancelTick => object([kind("cancelTick")]),
            call => {
                let name = call_name(&call);
                let id = self.next_call.get();
                self.next_call.set(id.wrapping_add(1).max(1));
                let mut pending = self.pending.try_borrow_mut().map_err(|_| busy())?;
                if pending.len() >= MAX_PENDING_CALLS {
                    pending.remove_first();
                }
                pending.insert(id, call);
                object([kind("call"), ("id", u64::from(id).to_json()), ("call", name.to_json())])
            }
        })
    }

    fn now_ms(&self) -> u64 {
        self.relay.transport().now_ms()
    }
}

/// What a relay call is for, so a shell can tie it to what started it (a download's window).
fn call_name(effect: &Effect) -> &'static str {
    match effect {
        Effect::LoadFirstView => "loadFirstView",
        Effect::LoadConfig => "loadConfig",
        Effect::LoadDeal => "loadDeal",
        Effect::LoadContracts => "loadContracts",
        Effect::LoadPreview { .. } => "loadPreview",
        Effect::Create { .. } => "create",
        Effect::Send { .. } => "send",
        Effect::Download { .. } => "download",
        Effect::OpenUrl { .. } | Effect::ScheduleTick { .. } | Effect::CancelTick => "shell",
    }
}

fn busy() -> Error {
    Error::invalid_input("sidebar", "called again while a call into it was still running")
}
