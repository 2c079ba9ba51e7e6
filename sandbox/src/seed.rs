//! The initial state for a fresh sandbox: two SpotDraft workspaces (`uat`, `production`) and a
//! small HubSpot-shaped CRM, all derived from one seed so runs repeat.

use crate::clock;
use crate::rng::SeededRng;
use crate::state::{CrmObject, CrmState, SandboxState, User, Workspace, STATE_VERSION};
use base64::Engine;
use std::collections::BTreeMap;

/// Contract ids start here so they look like real ones and never collide with template ids.
const FIRST_CONTRACT_ID: u64 = 4301;

fn workspace(rng: &mut SeededRng, name: &str, id: u64, template_id_base: u64) -> Workspace {
    let (contract_types, templates) = crate::templates::shipped_templates(template_id_base);
    let domain = format!("{name}.yourco.example");
    Workspace {
        name: name.into(),
        id,
        client_id: format!("sd-{name}-{}", rng.hex(6)),
        client_secret: rng.hex(24),
        hmac_key: base64::engine::general_purpose::STANDARD.encode(rng.bytes(64)),
        users: vec![
            User {
                id: id * 1000 + 1,
                name: "Integration User".into(),
                email: format!("integration@{domain}"),
                designation: "Integration".into(),
            },
            User {
                id: id * 1000 + 2,
                name: "Jane Legal".into(),
                email: format!("jane.legal@{domain}"),
                designation: "Legal Counsel".into(),
            },
            User {
                id: id * 1000 + 3,
                name: "Sam Seller".into(),
                email: format!("sam.seller@{domain}"),
                designation: "Account Executive".into(),
            },
        ],
        contract_types,
        templates,
        contracts: Vec::new(),
        webhooks: Vec::new(),
        activities: Vec::new(),
    }
}

fn properties(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

fn crm_object(id: u64, now: i64, pairs: &[(&str, &str)], company_ids: &[u64], contact_ids: &[u64]) -> CrmObject {
    CrmObject {
        id,
        properties: properties(pairs),
        created_micros: now,
        updated_micros: now,
        company_ids: company_ids.to_vec(),
        contact_ids: contact_ids.to_vec(),
    }
}

/// Deal properties the CRM knows; PATCHes naming anything else are rejected like HubSpot does.
pub const DEAL_PROPERTIES: &[&str] = &[
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "closedate",
    "hubspot_owner_id",
    "description",
    "dealtype",
    // Custom properties for the SpotDraft integration.
    "spotdraft_contract_id",
    "spotdraft_contract_numeric_id",
    "spotdraft_contract_type_id",
    "spotdraft_template_id",
    "spotdraft_status",
    "spotdraft_status_at",
    "spotdraft_contract_link",
    "spotdraft_environment",
    "spotdraft_last_error",
    "spotdraft_executed_at",
];

fn crm(rng: &mut SeededRng, now: i64) -> CrmState {
    let companies = vec![
        crm_object(
            2001,
            now,
            &[
                ("name", "  acme   widgets, inc. "),
                ("domain", "acme.example"),
                ("address", "350 Fifth Avenue"),
                ("city", "New York"),
                ("state", "NY"),
                ("zip", "10118"),
                ("country", "United States"),
            ],
            &[],
            &[3001],
        ),
        crm_object(
            2002,
            now,
            &[
                ("name", "Globex GmbH"),
                ("domain", "globex.example"),
                ("address", "Friedrichstraße 68"),
                ("city", "Berlin"),
                ("zip", "10117"),
                ("country", "Germany"),
            ],
            &[],
            &[3002],
        ),
        crm_object(
            2003,
            now,
            &[
                ("name", "Initech Ltd."),
                ("domain", "initech.example"),
                ("address", "1 Canada Square"),
                ("city", "London"),
                ("zip", "E14 5AB"),
                ("country", "United Kingdom"),
            ],
            &[],
            &[3003],
        ),
        crm_object(
            2004,
            now,
            &[
                ("name", "Umbrella Health Pvt. Ltd."),
                ("domain", "umbrella.example"),
                ("address", "12 MG Road"),
                ("city", "Bengaluru"),
                ("state", "KA"),
                ("zip", "560001"),
                ("country", "India"),
            ],
            &[],
            &[3004],
        ),
    ];
    let contacts = vec![
        crm_object(
            3001,
            now,
            &[
                ("firstname", "Avery"),
                ("lastname", "Stone"),
                ("email", "avery.stone@acme.example"),
                ("jobtitle", "General Counsel"),
            ],
            &[2001],
            &[],
        ),
        crm_object(
            3002,
            now,
            &[
                ("firstname", "Jürgen"),
                ("lastname", "Müller"),
                ("email", "j.mueller@globex.example"),
                ("jobtitle", "Einkauf"),
            ],
            &[2002],
            &[],
        ),
        crm_object(
            3003,
            now,
            &[
                ("firstname", "Priya"),
                ("lastname", "Natarajan"),
                ("email", "priya@initech.example"),
                ("jobtitle", "Head of Ops"),
            ],
            &[2003],
            &[],
        ),
        crm_object(
            3004,
            now,
            &[
                ("firstname", "Rahul"),
                ("lastname", "Mehta"),
                ("email", "rahul.mehta@umbrella.example"),
                ("jobtitle", "CFO"),
            ],
            &[2004],
            &[],
        ),
        crm_object(
            3005,
            now,
            &[("firstname", "Jordan"), ("lastname", "Lee"), ("email", "jordan.lee@freelance.example")],
            &[],
            &[],
        ),
    ];
    let deals = vec![
        crm_object(
            1001,
            now,
            &[
                ("dealname", "Acme Widgets — Platform subscription"),
                ("amount", "48000"),
                ("deal_currency_code", "USD"),
                ("dealstage", "contractsent"),
                ("pipeline", "default"),
                ("closedate", "2026-12-15T00:00:00Z"),
                ("hubspot_owner_id", "71001"),
            ],
            &[2001],
            &[3001],
        ),
        crm_object(
            1002,
            now,
            &[
                ("dealname", "Globex Rahmenvertrag 2027"),
                ("amount", "125000.50"),
                ("deal_currency_code", "EUR"),
                ("dealstage", "decisionmakerboughtin"),
                ("pipeline", "default"),
                ("closedate", "2027-01-31T00:00:00Z"),
                ("hubspot_owner_id", "71002"),
            ],
            &[2002],
            &[3002],
        ),
        crm_object(
            1003,
            now,
            &[
                ("dealname", "Initech pilot"),
                ("amount", "9500"),
                ("deal_currency_code", "GBP"),
                ("dealstage", "appointmentscheduled"),
                ("pipeline", "default"),
                ("hubspot_owner_id", "71001"),
            ],
            &[2003],
            &[3003],
        ),
        crm_object(
            1004,
            now,
            &[
                ("dealname", "Umbrella Health renewal FY27"),
                ("amount", "2500000"),
                ("deal_currency_code", "INR"),
                ("dealstage", "closedwon"),
                ("pipeline", "default"),
                ("closedate", "2026-10-01T00:00:00Z"),
                ("hubspot_owner_id", "71003"),
            ],
            &[2004],
            &[3004],
        ),
        crm_object(
            1005,
            now,
            &[
                ("dealname", "Jordan Lee — consulting NDA"),
                ("dealstage", "qualifiedtobuy"),
                ("pipeline", "default"),
                ("closedate", "2026-12-01T00:00:00Z"),
            ],
            &[],
            &[3005],
        ),
    ];
    CrmState {
        bearer_token: format!("pat-sandbox-{}", rng.hex(16)),
        portal_id: 24_681_357,
        next_object_id: 5001,
        deals,
        companies,
        contacts,
        deal_properties: DEAL_PROPERTIES.iter().map(|name| name.to_string()).collect(),
        property_definitions: Vec::new(),
        property_groups: vec![crate::state::PropertyGroup {
            name: "spotdraft".into(),
            label: "SpotDraft".into(),
            display_order: -1,
        }],
    }
}

pub fn initial_state(seed: u64) -> SandboxState {
    let mut rng = SeededRng::new(seed);
    let now = clock::now_micros();
    let workspaces = vec![workspace(&mut rng, "uat", 1, 1100), workspace(&mut rng, "production", 2, 2100)];
    let download_signing_key = rng.hex(32);
    let crm = crm(&mut rng, now);
    // Their own generator, so the SpotDraft and HubSpot credentials stay what they were.
    let vendors = crate::vendors::initial(&mut SeededRng::new(seed ^ 0x5eed_c0de), now);
    SandboxState {
        version: STATE_VERSION,
        seed,
        next_contract_id: FIRST_CONTRACT_ID,
        next_webhook_id: 501,
        last_activity_micros: 0,
        download_signing_key,
        workspaces,
        crm,
        vendors,
        approvals: Vec::new(),
        next_approval_id: 9000,
    }
}
