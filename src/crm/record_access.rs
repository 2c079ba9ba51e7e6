//! Whether the CRM lets one user see one deal, asked with the connection's own credential, so a
//! session for a user acts only on records that user may open in the CRM:
//!
//! - Pipedrive: `GET /v1/deals/{id}/permittedUsers` lists the ids of users who may see it.
//! - Salesforce: `UserRecordAccess.HasReadAccess` for that user and record (SOQL).
//! - Zoho CRM has no such question, so the answer is assembled from the parts of Zoho's sharing model
//!   its API exposes (v8): the user is active; an Administrator profile sees every record; the owner
//!   sees it; a module shared org-wide (`settings/data_sharing` not `private`) lets everyone see it; a
//!   record shared with the user (`{module}/{id}/actions/share`); a role above the owner's in the role
//!   hierarchy (`settings/roles`, `reporting_to`), or a peer of a role with `share_with_peers`. Sharing
//!   rules and territories are not exposed per record, so a user who sees a deal only through one is
//!   refused (closed, with a message that says so).
//! - HubSpot has none: its signed request proves the portal and user, not access (see the README).

use serde_json::Value;

use super::deal_source::{get, text};
use super::{check_record_id, checked_base, crm_error, error_from_answer, json_body, request, send, CrmEndpoint};
use crate::error::Result;
use crate::model::{is_valid_crm_id, CrmHost};
use crate::transport::{Method, Transport};
use crate::url;

/// Zoho's users list is paged (200 a page); an org has at most this many pages of active users here.
const ZOHO_USER_PAGES: u32 = 50;
/// Longest chain of `reporting_to` followed (Zoho's hierarchy is far shallower; a cycle stops here).
const ZOHO_ROLE_DEPTH: usize = 64;

/// Who is asking, in the CRM's own terms: an id (Pipedrive, Salesforce) or Zoho's login email
/// (`zoho.loginuserid`, what the Zoho minting function names).
pub async fn user_can_see_deal<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    deal_id: &str,
    user: &str,
) -> Result<bool> {
    let base = checked_base(endpoint)?;
    check_record_id(deal_id)?;
    let user_ok = match endpoint.host {
        CrmHost::Zoho => is_login_email(user),
        _ => is_valid_crm_id(user),
    };
    if !user_ok {
        return Err(crate::Error::invalid_input(
            "user",
            format!("\"{}\" is not a {} user", user.chars().take(80).collect::<String>(), endpoint.host.display_name()),
        ));
    }
    match endpoint.host {
        CrmHost::Pipedrive => {
            let answer = get(transport, endpoint, format!("{base}/v1/deals/{deal_id}/permittedUsers")).await?;
            let users = answer.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
            Ok(users.iter().any(|u| text(Some(u)).as_deref() == Some(user)))
        }
        CrmHost::Salesforce => {
            let soql = format!(
                "SELECT RecordId, HasReadAccess FROM UserRecordAccess WHERE UserId = '{user}' AND RecordId = '{deal_id}'"
            );
            let answer = get(
                transport,
                endpoint,
                format!("{base}/services/data/v62.0/query?q={}", url::encode_component(&soql)),
            )
            .await?;
            Ok(answer.pointer("/records/0/HasReadAccess").and_then(Value::as_bool) == Some(true))
        }
        CrmHost::Zoho => zoho_user_can_see(transport, endpoint, &base, deal_id, user).await,
        CrmHost::Hubspot => Err(crate::Error::invalid_input(
            "crm",
            "HubSpot has no API to ask whether another user may see a record".to_string(),
        )),
    }
}

/// The email of a CRM user named by id, read with the connection's own credential, so actions can be
/// made as that person in SpotDraft (`crate::relay`'s "who did it"): Salesforce's `User.Email`
/// (`sobjects/User/{id}`), Pipedrive's `GET /v1/users/{id}` `data.email`. None for a user without one,
/// and for the CRMs whose sessions name users by email already (Zoho) or whose request proves it
/// (HubSpot).
pub async fn user_email<T: Transport>(transport: &T, endpoint: &CrmEndpoint, user: &str) -> Result<Option<String>> {
    if !is_valid_crm_id(user) {
        return Ok(None);
    }
    let base = checked_base(endpoint)?;
    let email = match endpoint.host {
        CrmHost::Salesforce => {
            let answer =
                get(transport, endpoint, format!("{base}/services/data/v62.0/sobjects/User/{user}?fields=Email"))
                    .await?;
            text(answer.get("Email"))
        }
        CrmHost::Pipedrive => {
            let answer = get(transport, endpoint, format!("{base}/v1/users/{user}")).await?;
            text(answer.pointer("/data/email"))
        }
        CrmHost::Zoho | CrmHost::Hubspot => None,
    };
    Ok(email.filter(|e| crate::deal::is_plausible_email(e)))
}

fn is_login_email(user: &str) -> bool {
    user.len() <= 256 && user.contains('@') && !user.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// One Zoho user as the sharing checks need it.
struct ZohoUser {
    id: String,
    role: Option<String>,
    administrator: bool,
}

impl ZohoUser {
    fn from_json(user: &Value) -> Option<ZohoUser> {
        Some(ZohoUser {
            id: text(user.get("id"))?,
            role: text(user.pointer("/role/id")),
            administrator: user.pointer("/profile/name").and_then(Value::as_str) == Some("Administrator"),
        })
    }
}

async fn zoho_user_can_see<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    base: &str,
    deal_id: &str,
    email: &str,
) -> Result<bool> {
    let Some(user) = zoho_active_user(transport, endpoint, base, email).await? else {
        return Ok(false);
    };
    if user.administrator {
        return Ok(true);
    }
    let deal = get(transport, endpoint, format!("{base}/crm/v8/Deals/{deal_id}?fields=Owner")).await?;
    let owner_id = text(deal.pointer("/data/0/Owner/id"))
        .ok_or_else(|| crm_error(endpoint.host, 200, format!("deal {deal_id} has no Owner.id")))?;
    if owner_id == user.id {
        return Ok(true);
    }
    let sharing = get(transport, endpoint, format!("{base}/crm/v8/settings/data_sharing")).await?;
    let deals_rule = sharing.get("data_sharing").and_then(Value::as_array).and_then(|rules| {
        rules.iter().find(|r| r.pointer("/module/api_name").and_then(Value::as_str) == Some("Deals"))
    });
    // A module missing from the answer counts as private: closed, never open, when in doubt.
    if deals_rule.and_then(|r| r.get("type")).and_then(Value::as_str).is_some_and(|t| t != "private") {
        return Ok(true);
    }
    let shared = get_unless_empty(transport, endpoint, format!("{base}/crm/v8/Deals/{deal_id}/actions/share")).await?;
    let shares = shared.as_ref().and_then(|s| s.get("share")).and_then(Value::as_array);
    if shares.is_some_and(|list| list.iter().any(|s| text(s.pointer("/user/id")).as_deref() == Some(user.id.as_str())))
    {
        return Ok(true);
    }
    let Some(user_role) = user.role else { return Ok(false) };
    let owner = zoho_user_by_id(transport, endpoint, base, &owner_id).await?;
    let Some(owner_role) = owner.and_then(|o| o.role) else { return Ok(false) };
    let roles = get(transport, endpoint, format!("{base}/crm/v8/settings/roles")).await?;
    let roles = roles.get("roles").and_then(Value::as_array).cloned().unwrap_or_default();
    let role = |id: &str| roles.iter().find(|r| text(r.get("id")).as_deref() == Some(id));
    if user_role == owner_role {
        return Ok(role(&owner_role).and_then(|r| r.get("share_with_peers")).and_then(Value::as_bool) == Some(true));
    }
    // Superiors see their subordinates' records: walk up from the owner's role.
    let mut current = owner_role;
    for _ in 0..ZOHO_ROLE_DEPTH {
        let Some(parent) = role(&current).and_then(|r| text(r.pointer("/reporting_to/id"))) else { return Ok(false) };
        if parent == user_role {
            return Ok(true);
        }
        current = parent;
    }
    Ok(false)
}

/// The active user with this login email (case-insensitive), reading Zoho's paged users list.
async fn zoho_active_user<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    base: &str,
    email: &str,
) -> Result<Option<ZohoUser>> {
    for page in 1..=ZOHO_USER_PAGES {
        let url = format!("{base}/crm/v8/users?type=ActiveUsers&page={page}&per_page=200");
        let Some(answer) = get_unless_empty(transport, endpoint, url).await? else { return Ok(None) };
        let users = answer.get("users").and_then(Value::as_array).cloned().unwrap_or_default();
        let found = users.iter().find(|u| {
            u.get("email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(email))
                && u.get("status").and_then(Value::as_str) == Some("active")
        });
        if let Some(found) = found {
            return Ok(ZohoUser::from_json(found));
        }
        if answer.pointer("/info/more_records").and_then(Value::as_bool) != Some(true) {
            return Ok(None);
        }
    }
    Ok(None)
}

async fn zoho_user_by_id<T: Transport>(
    transport: &T,
    endpoint: &CrmEndpoint,
    base: &str,
    id: &str,
) -> Result<Option<ZohoUser>> {
    check_record_id(id)?;
    let answer = get_unless_empty(transport, endpoint, format!("{base}/crm/v8/users/{id}")).await?;
    Ok(answer.as_ref().and_then(|a| a.pointer("/users/0")).and_then(ZohoUser::from_json))
}

/// A read where Zoho's 204 with no body means "nothing" (no shares, no users), not an error.
async fn get_unless_empty<T: Transport>(transport: &T, endpoint: &CrmEndpoint, url: String) -> Result<Option<Value>> {
    let response = send(transport, endpoint, request(endpoint, Method::Get, url, None)).await?;
    if !(200..300).contains(&response.status) {
        return Err(error_from_answer(endpoint.host, &response));
    }
    if response.status == 204 || response.body.is_empty() {
        return Ok(None);
    }
    json_body(endpoint.host, &response).map(Some)
}
