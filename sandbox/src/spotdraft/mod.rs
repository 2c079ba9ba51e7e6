//! The SpotDraft public API emulator (v2.1 routes): redirects, authentication, dispatch.

pub mod approvals;
mod catalog;
mod contracts;
pub mod documents;
pub mod errors;
mod key_pointers;
mod webhooks;

pub use webhooks::webhook_json as spotdraft_webhook_json;

use crate::app::App;
use crate::http::{Request, Response};
use crate::state::User;

/// The operations the emulator implements. Ids are raw (still percent-encoded) path segments.
#[derive(Debug, Clone)]
pub enum Route {
    Contracts,
    ContractStatus(String),
    ByExternalMetadata(String),
    ExternalMetadata(String),
    Download(String),
    DownloadLink(String),
    SendToCounterparties(String),
    Void(String),
    Webhooks,
    HmacKey,
    Webhook(String),
    RetriggerLatest,
    Templates,
    Template(String),
    TemplateMetadata(String),
    ContractTypes,
    KeyPointers(String),
    KeyPointersBulk(String),
    KeyPointer(String, String),
    KeyPointerDefinitions,
    Users,
    Approvals(String),
}

const PREFIX: &str = "/api/v2.1/public/";

/// Matches a path (ignoring its trailing slash) and tells whether the documented form of that
/// route ends in `/` (docs/spotdraft-api.md §2).
pub fn match_route(path: &str) -> Option<(Route, bool)> {
    let rest = path.strip_prefix(PREFIX)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|segment| segment.is_empty()) {
        return None;
    }
    let owned = |segment: &&str| segment.to_string();
    let matched = match segments.as_slice() {
        ["contracts"] => (Route::Contracts, true),
        ["contracts", "by_external_metadata", id] => (Route::ByExternalMetadata(owned(id)), false),
        ["contracts", "webhooks", "re_trigger_latest"] => (Route::RetriggerLatest, true),
        ["contracts", id, "status"] => (Route::ContractStatus(owned(id)), false),
        ["contracts", id, "status", "void"] => (Route::Void(owned(id)), false),
        ["contracts", id, "external_metadata"] => (Route::ExternalMetadata(owned(id)), false),
        ["contracts", id, "download"] => (Route::Download(owned(id)), false),
        ["contracts", id, "download_link"] => (Route::DownloadLink(owned(id)), false),
        ["contracts", id, "send_to_counterparties"] => (Route::SendToCounterparties(owned(id)), false),
        ["webhooks"] => (Route::Webhooks, true),
        ["webhooks", "hmac_key"] => (Route::HmacKey, true),
        ["webhooks", id] => (Route::Webhook(owned(id)), false),
        ["templates"] => (Route::Templates, true),
        ["templates", id] => (Route::Template(owned(id)), true),
        ["templates", id, "metadata"] => (Route::TemplateMetadata(owned(id)), false),
        ["contract_types"] => (Route::ContractTypes, true),
        ["contracts", id, "key_pointers"] => (Route::KeyPointers(owned(id)), false),
        ["contracts", id, "key_pointers", "bulk"] => (Route::KeyPointersBulk(owned(id)), false),
        ["contracts", id, "key_pointers", value] => (Route::KeyPointer(owned(id), owned(value)), false),
        ["key_pointers"] => (Route::KeyPointerDefinitions, true),
        ["auth", "users"] => (Route::Users, true),
        ["contracts", "approvals", id] => (Route::Approvals(owned(id)), true),
        _ => return None,
    };
    Some(matched)
}

fn allowed_methods(route: &Route) -> &'static [&'static str] {
    match route {
        Route::Contracts | Route::Approvals(_) => &["GET", "POST"],
        Route::ExternalMetadata(_) => &["GET", "POST"],
        Route::ContractStatus(_)
        | Route::ByExternalMetadata(_)
        | Route::HmacKey
        | Route::Templates
        | Route::Template(_)
        | Route::TemplateMetadata(_)
        | Route::ContractTypes
        | Route::KeyPointers(_)
        | Route::KeyPointerDefinitions
        | Route::Users => &["GET"],
        Route::KeyPointersBulk(_) => &["POST"],
        Route::KeyPointer(_, _) => &["PATCH"],
        Route::Webhook(_) => &["DELETE"],
        Route::Download(_)
        | Route::DownloadLink(_)
        | Route::SendToCounterparties(_)
        | Route::Void(_)
        | Route::Webhooks
        | Route::RetriggerLatest => &["POST"],
    }
}

/// Who is calling: the workspace their credentials belong to and the acting user.
pub struct Caller {
    pub workspace_index: usize,
    pub workspace_name: String,
    pub user: User,
}

/// Before authentication: `Some(response)` when the request must be redirected or is not a
/// SpotDraft route at all. The handler is never run for these.
pub fn pre_route(request: &Request) -> Result<Route, Response> {
    let host = request.header("host").unwrap_or("127.0.0.1");
    // Behind TLS termination SpotDraft redirects plain http to https; on the loopback sandbox
    // a client says it used http with `X-Forwarded-Proto: http`.
    if request.header("x-forwarded-proto").is_some_and(|proto| proto.eq_ignore_ascii_case("http")) {
        let location = format!("https://{host}{}", request.path_and_query());
        return Err(Response::empty(302).header("Location", &location));
    }
    let Some((route, wants_slash)) = match_route(&request.path) else {
        return Err(errors::not_found());
    };
    if request.path.ends_with('/') != wants_slash {
        let trimmed = request.path.trim_end_matches('/');
        let canonical = if wants_slash { format!("{trimmed}/") } else { trimmed.to_string() };
        let query = if request.raw_query.is_empty() { String::new() } else { format!("?{}", request.raw_query) };
        let location = format!("http://{host}{canonical}{query}");
        return Err(Response::empty(302).header("Location", &location));
    }
    if !allowed_methods(&route).contains(&request.method.as_str()) {
        return Err(errors::detail(405, &format!("Method \"{}\" not allowed.", request.method)));
    }
    Ok(route)
}

/// `client-id` + `client-secret` (any header-name case) select the workspace; an optional
/// `user-email` must be a member of it.
pub fn authenticate(app: &App, request: &Request) -> Result<Caller, Response> {
    let (Some(client_id), Some(client_secret)) = (request.header("client-id"), request.header("client-secret")) else {
        return Err(errors::detail(401, "Authentication credentials were not provided."));
    };
    let state = app.state();
    let Some((workspace_index, workspace)) = state
        .workspaces
        .iter()
        .enumerate()
        .find(|(_, workspace)| workspace.client_id == client_id && workspace.client_secret == client_secret)
    else {
        return Err(errors::detail(401, "Incorrect authentication credentials."));
    };
    let user = match request.header("user-email") {
        Some(email) => workspace.user(email).cloned(),
        None => workspace.default_user().cloned(),
    };
    let Some(user) = user else {
        return Err(errors::detail(403, "You do not have permission to perform this action."));
    };
    Ok(Caller { workspace_index, workspace_name: workspace.name.clone(), user })
}

pub fn dispatch(app: &App, caller: &Caller, request: &Request, route: Route) -> Response {
    let method = request.method.as_str();
    match (method, route) {
        ("GET", Route::Contracts) => contracts::list(app, caller, request),
        (_, Route::Contracts) => contracts::create(app, caller, request),
        (_, Route::ContractStatus(id)) => contracts::status(app, caller, &id),
        (_, Route::ByExternalMetadata(id)) => contracts::by_external_metadata(app, caller, &id),
        ("GET", Route::ExternalMetadata(id)) => contracts::get_external_metadata(app, caller, &id),
        (_, Route::ExternalMetadata(id)) => contracts::set_external_metadata(app, caller, request, &id),
        (_, Route::SendToCounterparties(id)) => contracts::send_to_counterparties(app, caller, request, &id),
        (_, Route::Void(id)) => contracts::void(app, caller, request, &id),
        (_, Route::Download(id)) => documents::download(app, caller, &id),
        (_, Route::DownloadLink(id)) => documents::download_link(app, caller, request, &id),
        (_, Route::Webhooks) => webhooks::create(app, caller, request),
        (_, Route::HmacKey) => webhooks::hmac_key(app, caller),
        (_, Route::Webhook(id)) => webhooks::delete(app, caller, &id),
        (_, Route::RetriggerLatest) => webhooks::retrigger_latest(app, caller, request),
        (_, Route::Templates) => catalog::templates(app, caller, request),
        (_, Route::Template(id)) => catalog::template(app, caller, &id),
        (_, Route::TemplateMetadata(id)) => catalog::template_metadata(app, caller, &id),
        (_, Route::ContractTypes) => catalog::contract_types(app, caller),
        (_, Route::KeyPointers(id)) => key_pointers::list(app, caller, &id),
        (_, Route::KeyPointersBulk(id)) => key_pointers::bulk_update(app, caller, request, &id),
        (_, Route::KeyPointer(id, value)) => key_pointers::patch_one(app, caller, request, &id, &value),
        (_, Route::KeyPointerDefinitions) => key_pointers::definitions_for_type(app, caller, request),
        (_, Route::Users) => catalog::users(app, caller, request),
        (_, Route::Approvals(id)) => approvals::handle(app, caller, request, &id),
    }
}

/// Parses `T-123` (the composite id; `H-` historical contracts do not exist in the sandbox).
pub fn parse_composite_id(raw: &str) -> Option<u64> {
    let digits = raw.strip_prefix("T-")?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
