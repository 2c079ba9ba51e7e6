//! SpotDraft emulator behaviour: auth, redirects, validation, pagination and filters, lookup,
//! download links and workspace isolation.

mod common;

use common::{msa_body, nda_body, raw_request, Sandbox};
use serde_json::{json, Value};
use std::time::Duration;

const CONTRACTS: &str = "/api/v2.1/public/contracts/";

#[test]
fn authentication_needs_both_credentials_with_any_header_case() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let missing = raw_request(&sandbox.spotdraft, "GET", CONTRACTS, &[("client-id", &uat.client_id)], b"").unwrap();
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json(), json!({"detail": "Authentication credentials were not provided."}));
    let wrong = raw_request(
        &sandbox.spotdraft,
        "GET",
        CONTRACTS,
        &[("client-id", &uat.client_id), ("client-secret", "nope")],
        b"",
    )
    .unwrap();
    assert_eq!(wrong.status, 401);
    assert!(wrong.json()["detail"].is_string());
    let shouting = raw_request(
        &sandbox.spotdraft,
        "GET",
        CONTRACTS,
        &[("CLIENT-ID", &uat.client_id), ("Client-Secret", &uat.client_secret)],
        b"",
    )
    .unwrap();
    assert_eq!(shouting.status, 200);
    // user-email must be a member of the workspace.
    let stranger = raw_request(
        &sandbox.spotdraft,
        "GET",
        CONTRACTS,
        &[("client-id", &uat.client_id), ("client-secret", &uat.client_secret), ("user-email", "someone@else.example")],
        b"",
    )
    .unwrap();
    assert_eq!(stranger.status, 403);
    let member = raw_request(
        &sandbox.spotdraft,
        "POST",
        CONTRACTS,
        &[("client-id", &uat.client_id), ("client-secret", &uat.client_secret), ("user-email", &uat.user_emails[2])],
        nda_body(uat.nda_template, "deal-1").to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(member.status, 201);
    assert_eq!(member.json()["created_by"], json!(uat.user_emails[2]));
}

#[test]
fn slash_and_scheme_mismatches_redirect_without_running_the_handler() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let post = sandbox.sd(uat, "POST", "/api/v2.1/public/contracts", Some(nda_body(uat.nda_template, "deal-1")));
    assert_eq!(post.status, 302);
    assert_eq!(post.header("Location"), Some(format!("{}/api/v2.1/public/contracts/", sandbox.spotdraft).as_str()));
    let status = sandbox.sd(uat, "GET", "/api/v2.1/public/contracts/T-1/status/?x=1", None);
    assert_eq!(status.status, 302);
    assert!(status.header("Location").unwrap().ends_with("/api/v2.1/public/contracts/T-1/status?x=1"));
    for (path, canonical) in [
        ("/api/v2.1/public/templates", "/api/v2.1/public/templates/"),
        ("/api/v2.1/public/templates/1101", "/api/v2.1/public/templates/1101/"),
        ("/api/v2.1/public/templates/1101/metadata/", "/api/v2.1/public/templates/1101/metadata"),
        ("/api/v2.1/public/webhooks/hmac_key", "/api/v2.1/public/webhooks/hmac_key/"),
        ("/api/v2.1/public/contract_types", "/api/v2.1/public/contract_types/"),
        ("/api/v2.1/public/contracts/by_external_metadata/x/", "/api/v2.1/public/contracts/by_external_metadata/x"),
    ] {
        let reply = sandbox.sd(uat, "GET", path, None);
        assert_eq!(reply.status, 302, "{path}");
        assert!(reply.header("Location").unwrap().ends_with(canonical), "{path} -> {:?}", reply.header("Location"));
    }
    // Plain http (as reported by a TLS-terminating proxy) redirects to https.
    let plain = raw_request(
        &sandbox.spotdraft,
        "GET",
        CONTRACTS,
        &[("client-id", &uat.client_id), ("client-secret", &uat.client_secret), ("X-Forwarded-Proto", "http")],
        b"",
    )
    .unwrap();
    assert_eq!(plain.status, 302);
    assert!(plain.header("Location").unwrap().starts_with("https://"));
    // Nothing was created and the journal shows no handler ran.
    assert_eq!(sandbox.sd(uat, "GET", CONTRACTS, None).json()["total_results"], 0);
    let redirected: Vec<Value> = sandbox.requests("?status=302").into_iter().filter(|r| r["status"] == 302).collect();
    assert!(!redirected.is_empty());
    assert!(redirected.iter().all(|r| r["handler_ran"] == false));
}

#[test]
fn create_validates_against_template_metadata_and_party_rules() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let mut body = msa_body(uat.msa_template, "deal-9");
    body["contract_data"]["agreement_date"] = json!("31/12/2026");
    body["contract_data"]["billing_frequency"] = json!("weekly");
    body["contract_data"]["auto_renewal"] = json!("yes");
    body["contract_data"]["payment_terms_days"] = json!(30.5);
    body["contract_data"]["contract_value"] = json!({"type": "DOGE", "value": "many"});
    body["contract_data"]["service_regions"] = json!(["MARS"]);
    body["contract_data"]["pricing_schedule"] = json!([{"milestone": "Kickoff", "due_date": "soon"}]);
    body["contract_data"]["unknown_variable"] = json!(1);
    body["contract_data"].as_object_mut().unwrap().remove("customer_legal_name");
    let reply = sandbox.sd(uat, "POST", CONTRACTS, Some(body));
    assert_eq!(reply.status, 400);
    let errors = &reply.json()["contract_data"];
    for key in [
        "agreement_date",
        "billing_frequency",
        "auto_renewal",
        "payment_terms_days",
        "service_regions",
        "unknown_variable",
        "customer_legal_name",
    ] {
        assert!(errors[key].is_array(), "no error for {key}: {errors:#}");
    }
    assert!(errors["contract_value"]["type"].is_array() && errors["contract_value"]["value"].is_array());
    assert!(
        errors["pricing_schedule"]["0"]["due_date"].is_array() && errors["pricing_schedule"]["0"]["amount"].is_array()
    );

    // Counterparty rules: MSA takes organisations only; organisations need a name; poc email valid.
    let mut body = msa_body(uat.msa_template, "deal-9");
    body["counter_party_details"] = json!([
        {"is_individual": true, "poc_details": {"first_name": "Jordan", "email": "jordan@x.example"}},
        {"is_individual": false, "poc_details": {"first_name": "A", "email": "not-an-email"}}
    ]);
    let errors = sandbox.sd(uat, "POST", CONTRACTS, Some(body)).json();
    assert!(errors["counter_party_details"]["0"]["is_individual"].is_array());
    assert!(errors["counter_party_details"]["1"]["organization_name"].is_array());
    assert!(errors["counter_party_details"]["1"]["poc_details"]["email"].is_array());

    // Signatory rules: sign_order all-or-none; counterparty_name must match a counterparty.
    let mut body = nda_body(uat.nda_template, "deal-9");
    body["signatories"] = json!([
        {"name": "Avery Stone", "email": "avery@acme.example", "is_counterparty_signatory": true, "counterparty_name": "Acme Widgets Inc", "sign_order": 1},
        {"name": "Our CEO", "email": "ceo@yourco.example", "is_counterparty_signatory": false}
    ]);
    let errors = sandbox.sd(uat, "POST", CONTRACTS, Some(body)).json();
    assert!(errors["signatories"]["0"]["counterparty_name"].is_array(), "{errors:#}");
    assert!(errors["signatories"]["non_field_errors"].is_array(), "{errors:#}");

    // An individual counterparty is named "first last" for signatory matching.
    let mut body = nda_body(uat.nda_template, "deal-9");
    body["counter_party_details"] = json!([{"is_individual": true, "poc_details": {"first_name": "Jordan", "last_name": "Lee", "email": "jordan@x.example"}}]);
    body["signatories"] = json!([{"name": "Jordan Lee", "email": "jordan@x.example", "is_counterparty_signatory": true, "counterparty_name": "Jordan Lee", "sign_order": 1}]);
    let created = sandbox.sd(uat, "POST", CONTRACTS, Some(body));
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["counter_party_name"], "Jordan Lee");

    // Unknown template and missing top-level fields.
    let errors = sandbox.sd(uat, "POST", CONTRACTS, Some(json!({"contract_template_id": 424242}))).json();
    assert!(errors["contract_template_id"][0].as_str().unwrap().contains("does not exist"));
    assert!(errors["contract_data"].is_array() && errors["counter_party_details"].is_array());
}

#[test]
fn created_contracts_have_spotdraft_ids_and_links() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let first = sandbox.create_nda(uat, "deal-1");
    let second = sandbox.create_nda(uat, "deal-2");
    let id = first["contract_id"].as_u64().unwrap();
    assert_eq!(first["id"], json!(format!("T-{id}")));
    assert_eq!(first["contract_link"], json!(format!("https://app.spotdraft.com/contracts/v2/{id}")));
    assert_eq!(first["contract_status"], "DRAFT");
    assert_eq!(first["external_metadata"]["id"], "deal-1");
    assert_eq!(second["contract_id"].as_u64().unwrap(), id + 1);
    let status = sandbox.sd(uat, "GET", &format!("{CONTRACTS}T-{id}/status"), None).json();
    assert_eq!(status, json!({"contract_status": "DRAFT", "contract_name": "NDA for deal-1"}));
}

#[test]
fn list_paginates_and_filters_by_status_and_update_time() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let ids: Vec<String> =
        (0..5).map(|n| sandbox.create_nda(uat, &format!("deal-{n}"))["id"].as_str().unwrap().to_string()).collect();
    let page = sandbox.sd(uat, "GET", &format!("{CONTRACTS}?page=2&limit=2"), None).json();
    assert_eq!(
        (page["page"].as_u64(), page["limit"].as_u64(), page["total_results"].as_u64()),
        (Some(2), Some(2), Some(5))
    );
    let page_ids: Vec<&str> = page["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(page_ids, vec![ids[2].as_str(), ids[1].as_str()], "newest first");
    let beyond = sandbox.sd(uat, "GET", &format!("{CONTRACTS}?page=9&limit=2"), None).json();
    assert_eq!(beyond["results"], json!([]));
    for bad in ["?limit=0", "?limit=101", "?page=0", "?page=abc"] {
        let reply = sandbox.sd(uat, "GET", &format!("{CONTRACTS}{bad}"), None);
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.json(), json!({"detail": "Invalid page number or page limit too big."}));
    }

    std::thread::sleep(Duration::from_millis(20));
    let before_change = sandbox.sd(uat, "GET", &format!("{CONTRACTS}?limit=1"), None).json()["results"][0]["created"]
        .as_str()
        .unwrap()
        .to_string();
    let cutoff = sandbox
        .control("GET", "/__sandbox/contracts", None)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["last_updated_on"].as_str().unwrap().to_string())
        .max()
        .unwrap();
    assert!(cutoff >= before_change);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(sandbox.transition(&ids[0], "SIGN").status, 200);
    assert_eq!(sandbox.transition(&ids[3], "ON_HOLD").status, 200);

    let signed = sandbox.sd(uat, "GET", &format!("{CONTRACTS}?filter__display_status=SIGN"), None).json();
    assert_eq!(signed["total_results"], 1);
    assert_eq!(signed["results"][0]["id"], json!(ids[0]));
    let either = sandbox.sd(uat, "GET", &format!("{CONTRACTS}?filter__display_status[$in]=SIGN,ON_HOLD"), None).json();
    assert_eq!(either["total_results"], 2);
    let not_draft = sandbox.sd(uat, "GET", &format!("{CONTRACTS}?filter__display_status[$ne]=DRAFT"), None).json();
    assert_eq!(not_draft["total_results"], 2);
    let bad = sandbox.sd(uat, "GET", &format!("{CONTRACTS}?filter__display_status=draft"), None);
    assert_eq!(bad.status, 400);

    let encoded = cutoff.replace('+', "%2B");
    let changed = sandbox.sd(uat, "GET", &format!("{CONTRACTS}?filter__last_updated_on[$gt]={encoded}"), None).json();
    let changed_ids: Vec<&str> =
        changed["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(changed["total_results"], 2, "{changed:#}");
    assert!(changed_ids.contains(&ids[0].as_str()) && changed_ids.contains(&ids[3].as_str()));
    let since =
        sandbox.sd(uat, "GET", &format!("{CONTRACTS}?filter__last_updated_on[$gte]=2000-01-01T00:00:00Z"), None).json();
    assert_eq!(since["total_results"], 5);
    let future =
        sandbox.sd(uat, "GET", &format!("{CONTRACTS}?filter__last_updated_on[$gte]=2999-01-01T00:00:00Z"), None).json();
    assert_eq!(future["total_results"], 0);
    let malformed = sandbox.sd(uat, "GET", &format!("{CONTRACTS}?filter__last_updated_on[$gte]=yesterday"), None);
    assert_eq!(malformed.status, 400);
}

#[test]
fn lookup_by_external_metadata_returns_a_flat_capped_array() {
    let sandbox = Sandbox::start(&[]);
    let uat = sandbox.uat();
    let external = "hubspot:24681357:deal:1001/ä";
    let encoded = "hubspot%3A24681357%3Adeal%3A1001%2F%C3%A4";
    for _ in 0..52 {
        sandbox.create_nda(uat, external);
    }
    sandbox.create_nda(uat, "other-deal");
    let found = sandbox.sd(uat, "GET", &format!("{CONTRACTS}by_external_metadata/{encoded}"), None);
    assert_eq!(found.status, 200);
    let found = found.json();
    let items = found.as_array().unwrap();
    assert_eq!(items.len(), 50);
    assert!(items.iter().all(|item| item["id"].is_u64() && item["external_metadata"]["id"] == external));
    let none = sandbox.sd(uat, "GET", &format!("{CONTRACTS}by_external_metadata/no-such-deal"), None);
    assert_eq!((none.status, none.json()), (200, json!([])));

    // Updating the metadata moves the contract to the new key.
    let id = items[0]["id"].as_u64().unwrap();
    let updated = sandbox.sd(uat, "POST", &format!("{CONTRACTS}T-{id}/external_metadata"), Some(json!({"external_metadata": {"id": "moved", "integration_name": "HubSpot", "record_type": "Deal", "record_data": {}}})));
    assert_eq!(updated.status, 200);
    assert_eq!(
        sandbox.sd(uat, "GET", &format!("{CONTRACTS}T-{id}/external_metadata"), None).json()["external_metadata"]["id"],
        "moved"
    );
    assert_eq!(
        sandbox
            .sd(uat, "GET", &format!("{CONTRACTS}by_external_metadata/moved"), None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn fetch(url: &str) -> common::Reply {
    let rest = url.trim_start_matches("http://");
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    raw_request(&format!("http://{authority}"), "GET", path, &[], b"").unwrap()
}

#[test]
fn download_links_serve_a_real_pdf_until_they_expire() {
    let sandbox = Sandbox::start(&["--download-link-ttl", "1"]);
    let uat = sandbox.uat();
    let id = sandbox.create_nda(uat, "deal-1")["id"].as_str().unwrap().to_string();
    let link =
        sandbox.sd(uat, "POST", &format!("{CONTRACTS}{id}/download_link"), Some(json!({"format": "PDF"}))).json();
    let url = link["url"].as_str().unwrap().to_string();
    assert!(link["file_name"].as_str().unwrap().ends_with(".pdf"));
    let pdf = fetch(&url);
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.header("Content-Type"), Some("application/pdf"));
    assert!(
        pdf.body.starts_with(b"%PDF-1.4")
            && pdf.text().contains("startxref")
            && pdf.text().trim_end().ends_with("%%EOF")
    );
    assert!(pdf.text().contains(&id));
    // Tampering with the expiry or the signature is refused.
    let forged = url.replace("expires=", "expires=9");
    assert_eq!(fetch(&forged).status, 403);
    let mut wrong_signature = url.clone();
    let last = wrong_signature.pop().unwrap();
    wrong_signature.push(if last == '0' { '1' } else { '0' });
    let refused = fetch(&wrong_signature);
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("SignatureDoesNotMatch"));
    std::thread::sleep(Duration::from_millis(2100));
    let expired = fetch(&url);
    assert_eq!(expired.status, 400);
    assert!(expired.text().contains("ExpiredToken"));
    // DOCX is not available for template contracts in the sandbox.
    assert_eq!(
        sandbox.sd(uat, "POST", &format!("{CONTRACTS}{id}/download_link"), Some(json!({"format": "DOCX"}))).status,
        400
    );
}

#[test]
fn workspaces_are_isolated() {
    let sandbox = Sandbox::start(&[]);
    let (uat, production) = (sandbox.uat(), sandbox.production());
    assert_ne!(uat.hmac_key, production.hmac_key);
    assert_ne!(uat.client_secret, production.client_secret);
    assert_ne!(uat.nda_template, production.nda_template, "template ids differ between environments");
    let contract = sandbox.create_nda(uat, "shared-deal");
    let id = contract["id"].as_str().unwrap();
    assert_eq!(sandbox.sd(production, "GET", &format!("{CONTRACTS}{id}/status"), None).status, 404);
    assert_eq!(sandbox.sd(production, "GET", &format!("{CONTRACTS}{id}/external_metadata"), None).status, 404);
    assert_eq!(sandbox.sd(production, "POST", &format!("{CONTRACTS}{id}/download_link"), None).status, 404);
    assert_eq!(
        sandbox.sd(production, "POST", &format!("{CONTRACTS}{id}/status/void"), Some(json!({"note": "x"}))).status,
        404
    );
    assert_eq!(
        sandbox.sd(production, "GET", &format!("{CONTRACTS}by_external_metadata/shared-deal"), None).json(),
        json!([])
    );
    assert_eq!(sandbox.sd(production, "GET", CONTRACTS, None).json()["total_results"], 0);
    assert_eq!(
        sandbox
            .sd(
                production,
                "POST",
                "/api/v2.1/public/contracts/webhooks/re_trigger_latest/",
                Some(json!({"contract_ids": [contract["contract_id"]]}))
            )
            .status,
        404
    );
    // A UAT template id is unknown in production.
    let reply = sandbox.sd(production, "POST", CONTRACTS, Some(nda_body(uat.nda_template, "x")));
    assert_eq!(reply.status, 400);
    assert_eq!(
        sandbox.sd(production, "GET", &format!("/api/v2.1/public/templates/{}/", uat.nda_template), None).status,
        404
    );
    // Webhooks of one workspace are invisible to the other.
    let hook = sandbox.register_webhook(uat, "http://127.0.0.1:9/h", &["CONTRACT_CREATED"]);
    assert_eq!(
        sandbox.sd(production, "DELETE", &format!("/api/v2.1/public/webhooks/{}", hook["id"]), None).status,
        404
    );
    assert_eq!(sandbox.sd(uat, "DELETE", &format!("/api/v2.1/public/webhooks/{}", hook["id"]), None).status, 204);
    assert_eq!(
        sandbox.sd(production, "GET", "/api/v2.1/public/webhooks/hmac_key/", None).json()["hmac_key"],
        json!(production.hmac_key)
    );
}
