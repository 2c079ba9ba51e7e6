//! One sidebar loop, whole: the state machine, the relay calls its effects ask for, and their
//! outcomes applied, so the shell only renders views and forwards events.
//!
//! `update` takes an event and answers `{view, effects}`; `perform` runs one of those effects'
//! relay calls, reads the answer once, applies what it says and answers the next `{view, effects}`.
//! Relay calls cross to the shell only as `{"type": "call", "id": 3, "call": "download"}`: the call
//! itself stays here, so the shell can neither forge one nor garble it on the way back.

use std::cell::{Cell, RefCell};

use serde_json::Value;

use super::{wire, Effect, HostDeal, Msg, RelayClient, Sidebar, VecMap, ViewModel};
use crate::json_output::ToJson;
use crate::model::Environment;
use crate::shell_types::{shell_enum, shell_struct, shell_union};
use crate::transport::Transport;
use crate::{Error, Result};

/// Calls handed to the shell and not yet performed; a shell that drops some can't grow this past it.
const MAX_PENDING_CALLS: usize = 32;

shell_union! {
    /// What the shell does next: a timer, a URL to open, or a relay call to hand back to
    /// `perform(id)` (the call itself stays inside the sidebar).
    pub enum ShellEffect as "SidebarEffect" {
        ScheduleTick "scheduleTick" { in_ms: u64 => "inMs" },
        CancelTick "cancelTick" {},
        OpenUrl "openUrl" { url: String => "url" },
        Call "call" { id: u32 => "id", call: CallName => "call" },
    }
}

shell_enum! {
    /// What a relay call is for, so a shell can tie it to what started it (a download's window).
    pub enum CallName as "SidebarCallName" {
        LoadFirstView => "loadFirstView",
        LoadConfig => "loadConfig",
        LoadDeal => "loadDeal",
        LoadContracts => "loadContracts",
        LoadPreview => "loadPreview",
        Create => "create",
        Send => "send",
        Download => "download",
        Approvals => "approvals",
        Link => "link",
    }
}

shell_struct! {
    /// What `update` and `perform` answer.
    pub struct SidebarOutput as "SidebarOutput" {
        view: ViewModel => "view",
        effects: Vec<ShellEffect> => "effects",
    }
}

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
        let effect = self.pending.try_borrow_mut().map_err(|_| busy())?.remove(&id).ok_or_else(|| {
            Error::invalid_input("call", format!("{} is not a call waiting to be performed", u64::from(id)))
        })?;
        let deal_id = self.sidebar.try_borrow().map_err(|_| busy())?.deal_id().to_string();
        let Some(call) = effect.relay_call(&deal_id) else {
            return Err(Error::invalid_input("call", "runs in the shell, not through the relay"));
        };
        let mut answer = self.relay.call(&call).await;
        if answer.as_ref().is_err_and(|error| error.code == "unauthorized") {
            if let Some(token) = host.fresh_token().await {
                self.relay.set_token(&token);
                answer = self.relay.call(&call).await;
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
        let view = sidebar.view(now, self.tz_offset_minutes);
        let mut shell_effects = Vec::with_capacity(effects.len());
        for effect in effects {
            shell_effects.push(self.shell_effect(effect)?);
        }
        Ok(SidebarOutput { view, effects: shell_effects }.to_json())
    }

    /// An effect as the shell sees it: timers and URLs as they are, relay calls by number.
    fn shell_effect(&self, effect: Effect) -> Result<ShellEffect> {
        let effect = match effect.into_shell() {
            Ok(shell) => return Ok(shell),
            Err(call) => call,
        };
        let call = match effect {
            Effect::OpenUrl { .. } | Effect::ScheduleTick { .. } | Effect::CancelTick => {
                return Err(Error::invalid_input("effect", "a shell effect is not a relay call"))
            }
            Effect::LoadFirstView => CallName::LoadFirstView,
            Effect::LoadConfig => CallName::LoadConfig,
            Effect::LoadDeal => CallName::LoadDeal,
            Effect::LoadContracts => CallName::LoadContracts,
            Effect::LoadPreview { .. } => CallName::LoadPreview,
            Effect::Create { .. } => CallName::Create,
            Effect::Send { .. } => CallName::Send,
            Effect::Download { .. } => CallName::Download,
            Effect::LoadApprovals { .. } | Effect::RequestApprovals { .. } => CallName::Approvals,
            #[cfg(feature = "link")]
            Effect::Link(_) => CallName::Link,
        };
        let id = self.next_call.get();
        self.next_call.set(id.wrapping_add(1).max(1));
        let mut pending = self.pending.try_borrow_mut().map_err(|_| busy())?;
        if pending.len() >= MAX_PENDING_CALLS {
            pending.remove_first();
        }
        pending.insert(id, effect);
        Ok(ShellEffect::Call { id, call })
    }

    fn now_ms(&self) -> u64 {
        self.relay.transport().now_ms()
    }
}

impl Effect {
    /// The effect as the shell runs it (a timer, a URL), or back as it was when it is a relay call.
    pub(crate) fn into_shell(self) -> std::result::Result<ShellEffect, Effect> {
        match self {
            Effect::OpenUrl { url } => Ok(ShellEffect::OpenUrl { url }),
            Effect::ScheduleTick { in_ms } => Ok(ShellEffect::ScheduleTick { in_ms }),
            Effect::CancelTick => Ok(ShellEffect::CancelTick {}),
            call => Err(call),
        }
    }
}

fn busy() -> Error {
    Error::invalid_input("sidebar", "called again while a call into it was still running")
}
