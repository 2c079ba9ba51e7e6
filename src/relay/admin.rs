//! Who may use the relay's admin routes (`/admin/{env}/…`): whoever presents the environment's
//! `adminSecret`, or one of its named `admins`' secrets, as a bearer token. A seller's session
//! token, a host's or a CRM's signature never opens them; an environment with neither has no admin
//! routes.

use super::{EnvironmentRuntime, RelayRequest};
use crate::error::{Error, Result};
use crate::transport::Transport;

/// The name the setup history and audit log give whoever used the shared `adminSecret`.
pub(super) const UNNAMED_ADMIN: &str = "admin (shared adminSecret)";

/// The admin presenting the request's bearer secret: their configured name, or [`UNNAMED_ADMIN`].
pub(super) fn check<T: Transport>(env: &EnvironmentRuntime<T>, request: &RelayRequest) -> Result<String> {
    let config = &env.config;
    if config.admin_secret.is_none() && config.admins.is_empty() {
        return Err(Error::Forbidden {
            reason: "this environment has no adminSecret or admins configured, so no admin routes".into(),
        });
    }
    let given = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| Error::Unauthorized {
            reason: "an Authorization: Bearer <admin secret> header is required".into(),
        })?;
    // Every secret is compared (in constant time each), so the time taken says nothing of which matched.
    let mut found = None;
    for (name, secret) in &config.admins {
        if crate::auth::constant_time_eq(given.as_bytes(), secret.as_bytes()) {
            found = Some(name.clone());
        }
    }
    if let Some(secret) = &config.admin_secret {
        if crate::auth::constant_time_eq(given.as_bytes(), secret.as_bytes()) {
            found = Some(UNNAMED_ADMIN.to_string());
        }
    }
    found.ok_or_else(|| Error::Unauthorized { reason: "that is not an admin secret of this environment".into() })
}
