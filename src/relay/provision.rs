//! The relay's side of provisioning: the configured CRM connection and field names of one
//! environment, handed to `crm::provision_fields`.

use super::Relay;
use crate::crm::{provision_fields, ProvisionReport};
use crate::model::Environment;
use crate::transport::Transport;
use crate::Result;

impl<T: Transport> Relay<T> {
    /// Creates the CRM fields the write-back fills where they are missing (none when `dry_run`), and
    /// reports what exists, what was made and the names `crm.fields` and `crm.keyTerms` must hold. Key
    /// terms' fields are made as dates, numbers or text, as their values are written.
    pub async fn provision_fields(&self, environment: Environment, dry_run: bool) -> Result<ProvisionReport> {
        let env = self.environments.iter().find(|e| e.config.environment == environment).ok_or_else(|| {
            crate::Error::invalid_input("environment", format!("{} is not configured", environment.as_str()))
        })?;
        provision_fields(&*self.transport, &env.config.crm, &env.config.crm_fields, &env.config.key_terms, dry_run)
            .await
    }
}
