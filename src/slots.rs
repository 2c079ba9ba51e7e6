//! Which of a deal's contracts stand in for one another. A deal holds one live contract per *slot*:
//! one in all (the default), one per template (an NDA and an MSA side by side), or one per SpotDraft
//! contract type. Create is idempotent per slot, duplicates are settled per slot, the sidebar offers
//! Create for the slots still free, and the CRM record's fields follow one slot: the configured
//! primary template's.
//!
//! A slot is named by a short key (`deal`, `template:5`, `type:110`) that the relay computes and the
//! sidebar only compares.

use serde::Serialize;

use crate::config::Config;

/// What is unique per deal (`contractsPerDeal` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum ContractsPerDeal {
    /// One live contract per deal, whatever its template.
    #[default]
    One,
    PerTemplate,
    PerContractType,
}

impl ContractsPerDeal {
    pub fn parse(text: &str) -> Option<ContractsPerDeal> {
        match text {
            "one" => Some(ContractsPerDeal::One),
            "perTemplate" => Some(ContractsPerDeal::PerTemplate),
            "perContractType" => Some(ContractsPerDeal::PerContractType),
            _ => None,
        }
    }
}

/// The slot every contract fills when a deal holds one in all.
pub const WHOLE_DEAL: &str = "deal";

impl Config {
    /// The slot a contract made from `template_id` fills.
    pub fn slot_of_template(&self, template_id: u64) -> String {
        match self.contracts_per_deal {
            ContractsPerDeal::One => WHOLE_DEAL.to_string(),
            ContractsPerDeal::PerTemplate => format!("template:{template_id}"),
            ContractsPerDeal::PerContractType => match self.templates.iter().find(|t| t.template_id == template_id) {
                Some(template) => format!("type:{}", template.contract_type_id),
                None => format!("template:{template_id}"),
            },
        }
    }

    /// The slot a contract of this deal fills, from what SpotDraft and the contract's own record say:
    /// its template (written at create), else its contract type. One that says neither, or names a
    /// template or type this configuration does not offer (made before slots, or outside the CRM),
    /// fills the record's own slot, so it still counts and is still shown on the record.
    pub fn slot_of_contract(&self, template_id: Option<u64>, contract_type_id: Option<u64>) -> String {
        let offered = |id: u64| self.templates.iter().any(|t| t.template_id == id);
        let by_type = |type_id: u64| {
            let mut matching = self.templates.iter().filter(|t| t.contract_type_id == type_id);
            match (matching.next(), matching.next()) {
                (Some(only), None) => Some(only.template_id),
                _ => None,
            }
        };
        match self.contracts_per_deal {
            ContractsPerDeal::One => WHOLE_DEAL.to_string(),
            ContractsPerDeal::PerTemplate => {
                match template_id.filter(|id| offered(*id)).or_else(|| contract_type_id.and_then(by_type)) {
                    Some(id) => self.slot_of_template(id),
                    None => self.record_slot(),
                }
            }
            ContractsPerDeal::PerContractType => {
                let type_of = |id: u64| self.templates.iter().find(|t| t.template_id == id).map(|t| t.contract_type_id);
                let type_id = contract_type_id.or_else(|| template_id.and_then(type_of));
                match type_id.filter(|id| self.templates.iter().any(|t| t.contract_type_id == *id)) {
                    Some(id) => format!("type:{id}"),
                    None => self.record_slot(),
                }
            }
        }
    }

    /// The slot whose contract the CRM record's fields show: the primary template's
    /// (`recordFollows`, else the first template offered).
    pub fn record_slot(&self) -> String {
        let primary = self.record_follows.or_else(|| self.templates.first().map(|t| t.template_id));
        match primary {
            Some(id) => self.slot_of_template(id),
            None => WHOLE_DEAL.to_string(),
        }
    }
}

impl Config {
    /// `contract` with the slot it fills.
    pub fn with_slot(&self, mut contract: crate::model::ContractSummary) -> crate::model::ContractSummary {
        contract.slot = Some(self.slot_of_contract(contract.template_id, contract.contract_type_id));
        contract
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Three templates: an NDA (type 11) and two order forms of one type (12).
    fn config(extra: Value) -> crate::Result<Config> {
        let template = |id: u64, type_id: u64| {
            json!({"templateId": id, "label": format!("T{id}"), "contractTypeId": type_id,
                "fields": [{"variable": "x", "value": "y", "encoding": "string"}]})
        };
        let mut doc = json!({
            "environment": "uat",
            "crm": {"host": "hubspot", "accountId": "1"},
            "api": {"region": "eu"},
            "creationStages": ["contractsent"],
            "templates": [template(101, 11), template(201, 12), template(202, 12)],
        });
        if let (Value::Object(doc), Value::Object(extra)) = (&mut doc, extra) {
            doc.extend(extra);
        }
        Config::from_json(&doc)
    }

    #[test]
    fn one_per_deal_stays_the_default() {
        let config = config(json!({})).unwrap();
        assert_eq!(config.contracts_per_deal, ContractsPerDeal::One);
        assert_eq!(config.slot_of_template(101), "deal");
        assert_eq!(config.slot_of_contract(Some(201), Some(12)), "deal");
        assert_eq!(config.record_slot(), "deal");
    }

    #[test]
    fn per_template_slots_follow_the_template_then_an_unambiguous_type_then_the_record() {
        let config = config(json!({"contractsPerDeal": "perTemplate", "recordFollows": 201})).unwrap();
        assert_eq!(config.slot_of_template(202), "template:202");
        assert_eq!(config.slot_of_contract(Some(202), Some(12)), "template:202");
        // Linked outside the CRM: its type names one template only.
        assert_eq!(config.slot_of_contract(None, Some(11)), "template:101");
        // Its type is shared, or nothing is known: it fills the record's own slot.
        assert_eq!(config.slot_of_contract(None, Some(12)), "template:201");
        assert_eq!(config.slot_of_contract(Some(999), None), "template:201");
        assert_eq!(config.record_slot(), "template:201");
    }

    #[test]
    fn per_contract_type_slots_join_templates_of_one_type() {
        let config = config(json!({"contractsPerDeal": "perContractType"})).unwrap();
        assert_eq!(config.slot_of_template(201), "type:12");
        assert_eq!(config.slot_of_template(202), "type:12");
        assert_eq!(config.slot_of_contract(Some(202), None), "type:12");
        assert_eq!(config.slot_of_contract(None, Some(11)), "type:11");
        assert_eq!(config.slot_of_contract(None, Some(77)), "type:11", "an unknown type fills the record's slot");
        assert_eq!(config.record_slot(), "type:11", "the first template's, when recordFollows is not set");
    }

    #[test]
    fn a_bad_rule_or_primary_is_named() {
        let error = config(json!({"contractsPerDeal": "perColour", "recordFollows": 555})).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("contractsPerDeal") && text.contains("perColour"), "{text}");
        assert!(text.contains("recordFollows") && text.contains("555"), "{text}");
    }
}
