//! The sidebar run where its relay calls can be made at once: for a host that cannot run the
//! WebAssembly sidebar (HubSpot's app card runs in HubSpot's worker), the relay runs the same state
//! machine for it and answers what the browser's shell would have been given: the view and the
//! timers and URLs the shell runs. Same rules, same words, one sidebar.

use super::{Msg, RelayClient, ShellEffect, Sidebar};
use crate::transport::Transport;

/// The most relay calls one message may lead to (a first view, a create and the reads after it take
/// a handful); past it the rest are left for the next tick rather than looping on a broken answer.
const MAX_CALLS_PER_MESSAGE: usize = 12;

/// Applies `msg` and performs every relay call it leads to, in order, until only the shell's effects
/// remain; those are returned in the order the state machine asked for them.
pub async fn settle<T: Transport>(sidebar: &mut Sidebar, relay: &RelayClient<T>, msg: Msg) -> Vec<ShellEffect> {
    let deal_id = sidebar.deal_id().to_string();
    let mut shell = Vec::new();
    let mut calls = 0;
    let mut queue = std::collections::VecDeque::from([msg]);
    while let Some(msg) = queue.pop_front() {
        let now = relay.transport().now_ms();
        for effect in sidebar.update(msg, now) {
            let effect = match effect.into_shell() {
                Ok(effect) => {
                    shell.push(effect);
                    continue;
                }
                Err(call) => call,
            };
            let Some(call) = effect.relay_call(&deal_id) else { continue };
            calls += 1;
            if calls > MAX_CALLS_PER_MESSAGE {
                continue;
            }
            let answer = relay.call(&call).await;
            queue.extend(effect.outcome(answer));
        }
    }
    shell
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Environment;
    use crate::sidebar::HostDeal;
    use crate::transport::{HttpRequest, HttpResponse, TransportError};
    use serde_json::json;
    use std::cell::RefCell;

    /// A relay that answers each path from a script and records what was asked.
    struct Scripted {
        asked: RefCell<Vec<String>>,
        answer: fn(&str) -> (u16, serde_json::Value),
    }

    impl Transport for Scripted {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            let path = request.url.split("/api/uat").nth(1).unwrap_or_default().to_string();
            self.asked.borrow_mut().push(format!("{} {path}", request.method));
            let (status, body) = (self.answer)(&path);
            Ok(HttpResponse { status, headers: vec![], body: body.to_string().into_bytes() })
        }
        async fn sleep(&self, _ms: u64) {}
        fn now_ms(&self) -> u64 {
            1_800_000_000_000
        }
    }

    fn first_view(path: &str) -> (u16, serde_json::Value) {
        let contract = json!({"id": "T-7", "number": 7, "name": "MSA", "status": "DRAFT", "statusLabel": "Draft",
            "link": "https://app.spotdraft.com/contracts/v2/7"});
        match path {
            "/deals/1001/sidebar" => (
                200,
                json!({
                    "config": {"ok": {"environment": "uat", "creationStages": ["contractsent"], "stageLabels": {},
                        "templates": [{"templateId": 5, "label": "MSA"}, {"templateId": 6, "label": "NDA"}],
                        "downloadOrigins": []}},
                    "deal": {"ok": {"id": "1001", "name": "Acme", "stage": "contractsent"}},
                    "contracts": {"ok": []},
                    "preview": null,
                }),
            ),
            "/deals/1001/preview" => (200, json!({"canCreate": true, "problems": []})),
            "/deals/1001/contracts" => (201, json!({"contract": contract, "created": true})),
            _ => (404, json!({"error": {"code": "not_found", "message": "no such route"}})),
        }
    }

    fn run(
        msgs: Vec<Msg>,
        answer: fn(&str) -> (u16, serde_json::Value),
    ) -> (Sidebar, Vec<Vec<ShellEffect>>, Vec<String>) {
        let transport = Scripted { asked: RefCell::new(vec![]), answer };
        let relay = RelayClient::new(transport, "http://127.0.0.1", Environment::Uat, "t").unwrap();
        let mut sidebar = Sidebar::new(Environment::Uat, HostDeal { id: "1001".into(), name: None });
        let mut shells = Vec::new();
        for msg in msgs {
            shells.push(pollster::block_on(settle(&mut sidebar, &relay, msg)));
        }
        let asked = relay.transport().asked.borrow().clone();
        (sidebar, shells, asked)
    }

    #[test]
    fn a_click_runs_every_call_it_needs_and_hands_back_only_the_shells_effects() {
        let (sidebar, shells, asked) =
            run(vec![Msg::Start, Msg::TemplateSelected { template_id: 5 }, Msg::CreateClicked], first_view);
        assert_eq!(asked, ["GET /deals/1001/sidebar", "POST /deals/1001/preview", "POST /deals/1001/contracts"]);
        let view = sidebar.view(1_800_000_000_000, 0);
        assert_eq!(view.contracts.len(), 1, "the created contract is shown");
        assert!(shells.iter().flatten().all(|effect| !matches!(effect, ShellEffect::Call { .. })));
        assert!(
            matches!(shells.last().and_then(|s| s.last()), Some(ShellEffect::ScheduleTick { .. })),
            "a refresh is scheduled after the create: {shells:?}"
        );
    }
}
