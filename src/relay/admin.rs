//! Who may use the relay's admin routes (`/admin/{env}/…`): whoever presents the environment's
//! `adminSecret` as a bearer token. A seller's session token, a host's or a CRM's signature never
//! opens them; an environment with no admin secret has no admin routes.

use super::{EnvironmentRuntime, RelayRequest};
use crate::error::{Error, Result};
use crate::transport::Transport;

pub(super) fn check<T: Transport>(env: &EnvironmentRuntime<T>, request: &RelayRequest) -> Result<()> {
    let secret = env.config.admin_secret.as_deref().ok_or_else(|| Error::Forbidden {
        reason: "this environment has no adminSecret configured, so no admin routes".into(),
    })?;
    let given = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| Error::Unauthorized {
            reason: "an Authorization: Bearer <admin secret> header is required".into(),
        })?;
    if crate::auth::constant_time_eq(given.as_bytes(), secret.as_bytes()) {
        Ok(())
    } else {
        Err(Error::Unauthorized { reason: "that is not this environment's admin secret".into() })
    }
}
