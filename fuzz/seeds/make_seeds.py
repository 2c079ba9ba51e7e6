#!/usr/bin/env python3
"""Writes the hand-made seed inputs of every fuzz target into fuzz/corpus/<target>/seed-*.

Realistic shapes from the test fixtures and docs/spotdraft-api.md. Re-running it is
harmless: seeds have fixed names, and fuzzing adds its own files next to them.
"""
import base64, hashlib, hmac, json, os, pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "corpus"

def put(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    if not isinstance(data, bytes):
        data = (data if isinstance(data, str) else json.dumps(data)).encode()
    (d / f"seed-{name}").write_bytes(data)

# --- webhook
executed = {"contract_id": 19589, "contract_kind": "TEMPLATE_CONTRACT", "contract_title": "SpotDraft Standard DPA",
    "contract_type": "Data Processing Agreement", "contract_type_name": "Data Processing Agreement", "contract_type_id": 135,
    "contract_status": "EXECUTED", "business_user": {"name": "Owner Name", "email": "owner@yourco.example"},
    "created_at": "2021-08-22T03:48:52.370635Z",
    "counterparties": [{"type": "Organization", "organization_name": "Test Customer", "poc_email": "pat@customer.example"}],
    "external_metadata": {"id": "hubspot:4411223:deal:1001", "integration_name": "spotdraft-crm", "record_type": "deal",
        "record_data": {"environment": "uat", "crm": "hubspot"}},
    "activity_data": {"performed_by": {"name": "SYSTEM"}, "timestamp": "2021-08-22T03:53:52.201442Z"},
    "activity": "CONTRACT_EXECUTED"}
put("webhook", "executed", executed)
put("webhook", "email", {**executed, "activity": "CONTRACT_SENT_TO_COUNTERPARTY", "contract_status": "REDLINING",
    "activity_data": {"timestamp": "2026-01-01T00:00:00+05:30", "email_event_data": {"recipient_email": "A@B.example", "email_mode": "to"}}})
put("webhook", "signatory", {"activity": "CONTRACT_SIGNATURE_REQUESTED", "contract_id": "7", "contract_status": "SIGN",
    "activity_data": {"timestamp": "2026-02-28T23:59:60.123Z", "signatory": {"name": "x", "email": "s@x.example"}},
    "external_metadata": {"id": 12}})
put("webhook", "foreign", {"activity": "CONTRACT_VOIDED", "contract_id": 3, "contract_status": "VOIDED",
    "activity_data": {"timestamp": "2026-03-01 10:00:00Z"}, "external_metadata": {"id": "hubspot-deal-10024"}})
key = base64.b64decode("zJDCvFUXhByUkPcQIzf+dt2W7bqm6x6Fb2o/gLhfUgXyPqvPcrZ6P9yYtoUrI4dErHzq2t+4gjZ4zH2btdpoSA==")
body = json.dumps({"activity": "CONTRACT_CREATED", "contract_id": 1, "contract_status": "DRAFT", "activity_data": {"timestamp": "2026-01-01T00:00:00Z"}})
sig = hmac.new(key, body.encode(), hashlib.sha512).hexdigest()
put("webhook", "header-line", sig.upper() + "\n" + body)

# --- config
config = {"environment": "uat", "crm": {"host": "hubspot", "accountId": "4411223"},
    "api": {"relayUrl": "https://relay.example.com"}, "creationStages": ["qualifiedtobuy", "contractsent"],
    "allowedOrigins": ["https://app.hubspot.com"],
    "templates": [{"templateId": 202, "label": "Master Services Agreement", "contractTypeId": 12, "organizationType": "company",
        "fields": [
            {"variable": "effective_date", "source": "deal.closeDate", "encoding": "date"},
            {"variable": "fees", "source": "deal.amount", "encoding": "currency"},
            {"variable": "subscription_term", "source": "custom.term_months", "encoding": "duration", "unit": "MONTHS"},
            {"variable": "billing_frequency", "source": "custom.billing", "encoding": "enum", "options": {"Every year": "annual_invoice"}},
            {"variable": "nda_kind", "value": "mutual", "encoding": "enum"},
            {"variable": "billing.contact_email", "source": "contact.email", "encoding": "string"}]}]}
put("config", "readme", config)
put("config", "region", {**config, "api": {"region": "eu"}, "allowedOrigins": None,
    "templates": [{"templateId": "7", "label": " NDA ", "contractTypeId": 2, "fields": [
        {"variable": "m", "source": "custom.tags", "encoding": "multiSelect", "options": {"a": "b"}},
        {"variable": "c", "value": {"x": 1}, "encoding": "currency", "currency": "EUR"},
        {"variable": "addr", "source": "account.address", "encoding": "address"},
        {"variable": "ok", "value": True, "encoding": "boolean"},
        {"variable": "n", "source": "deal.amount", "encoding": "number"},
        {"variable": "at", "source": "custom.at", "encoding": "datetime"}]}]})
put("config", "sandbox", {**config, "environment": "production", "crm": {"host": "pipedrive", "accountId": 77},
    "api": {"baseUrl": "http://127.0.0.1:8790/"}})
put("config", "errors", {**config, "api": {"relayUrl": "http://relay.example.com/api", "region": "xx"}, "typo": 1,
    "templates": [{"templateId": 0, "label": "", "fields": [{"variable": "a b", "source": "deal.nope", "encoding": "duration", "unit": "WEEKS"}]}]})

# --- relay config
def env(name, n):
    return {"plugin": {**config, "environment": name, "api": {"region": "eu"}},
        "spotdraft": {"clientId": f"client-{n}", "clientSecret": f"secret-{n}", "userEmail": "ops@yourco.example",
            "hmacKey": base64.b64encode(bytes([n]) * 32).decode()},
        "crm": {"baseUrl": "https://api.hubapi.com", "token": f"token-{n}", "timeoutMs": 5000},
        "webhookUrl": f"https://relay.example.com/webhooks/spotdraft/{name}",
        "hostSecrets": {"demo": f"{n}" * 32, "pipedrive": f"p{n}" * 16}, "hubspotClientSecret": f"hs-{n}"}
put("relay_config", "one", {"environments": {"uat": env("uat", 1)}})
put("relay_config", "two", {"environments": {"uat": env("uat", 1), "production": env("production", 2)}})
shared = env("production", 2); shared["spotdraft"]["hmacKey"] = env("uat", 1)["spotdraft"]["hmacKey"]
put("relay_config", "shared", {"environments": {"uat": env("uat", 1), "production": shared}})
put("relay_config", "fields", {"environments": {"uat": {**env("uat", 3), "crm": {"baseUrl": "http://127.0.0.1:8791",
    "token": "t", "fields": {"contractId": "sd_id", "status": "sd_status", "statusAt": "sd_at", "link": "sd_link", "executedAt": "sd_exec"}}}}})

# --- mapping
deal = {"id": "1001", "name": "Acme renewal", "amount": "12500.50", "currency": "usd", "stage": "contractsent",
    "closeDate": 1774656000000, "owner": {"name": "Sam Seller", "email": "sam@yourco.example"},
    "account": {"id": "55", "name": "  acme  inc ", "jurisdictionIsoCode": "US",
        "address": {"city": "Springfield", "countryIsoCode": "us", "lineOne": "1 Main St", "zipcode": "12345"}},
    "primaryContact": {"firstName": "pat", "lastName": "buyer", "email": "pat@acme.example"},
    "custom": {"k": "x", "m": "a;b", "n": 3, "ok": "yes", "at": "2026-01-01T10:00:00+01:00", "term_months": 12, "billing": "Every year"}}
metadata = {"counter_party_kind": "Both", "attributes": [
    {"variable": "a.b", "type": "date", "parent_variable": "a", "child_variable": "b", "parent_required": True},
    {"variable": "fees.type", "type": "enum", "parent_variable": "fees", "parent_type": "currency"},
    {"variable": "fees.value", "type": "float", "parent_variable": "fees", "parent_type": "currency"},
    {"variable": "t", "type": "duration"},
    {"variable": "k", "type": "enum", "options": [{"label": "Y", "value": "y"}]},
    {"variable": "m", "type": "array of options", "required": False, "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]},
    {"variable": "addr", "type": "address", "required": False},
    {"variable": "who", "type": "string", "display_label": "Signer"},
    {"variable": "n", "type": "int"}, {"variable": "ok", "type": "boolean"}, {"variable": "at", "type": "string"},
    {"variable": "extra", "type": "string", "required": False}]}
put("mapping", "default", {"deal": deal, "metadata": metadata})
put("mapping", "readme", {"config": {**config, "api": {"region": "us"}}, "templateId": 202, "deal": deal, "metadata": {
    "counter_party_kind": "Organisation", "attributes": [
        {"variable": "effective_date", "display_label": "Effective date", "type": "date"},
        {"variable": "fees", "type": "currency"},
        {"variable": "subscription_term", "type": "duration"},
        {"variable": "billing_frequency", "type": "enum", "options": [{"label": "Annual", "value": "annual_invoice"}]},
        {"variable": "nda_kind", "type": "enum", "options": [{"label": "Mutual", "value": "mutual"}]},
        {"variable": "billing.contact_email", "type": "string", "required": False, "parent_variable": "billing",
         "parent_required": False, "child_variable": "contact_email"}]}})
put("mapping", "sparse", {"deal": {"id": "9", "name": "x", "stage": "contractsent", "account": {"name": "eBay"}}, "metadata": {"attributes": []}})

# --- responses
for name, value in {
    "created": {"id": "T-4322", "contract_id": 4322, "created": "2026-05-20T04:52:04Z", "contract_name": "Acme MSA",
        "contract_link": "https://app.spotdraft.com/contracts/v2/4322", "contract_status": "DRAFT",
        "counter_party_name": "Acme Inc.", "contract_type_name": "MSA", "contract_type_id": 100,
        "external_metadata": {"id": "hubspot:4411223:deal:1001", "integration_name": "spotdraft-crm", "record_type": "deal", "record_data": {}}},
    "page": {"page": 1, "limit": 100, "total_results": 2, "results": [{"id": 12, "contract_status": "SIGN", "contract_link": "javascript:alert(1)"},
        {"id": "H-3", "contract_status": "AWAITING_APPROVAL", "external_metadata": {"id": 5}}]},
    "status": {"contract_status": "EXECUTED", "contract_name": "x"},
    "error-detail": {"detail": "Not Found"},
    "error-code": {"detail": "Record Type mismatch", "status_code": 400, "code": "SD_INTEGRATIONS_00030", "message": "Record Type mismatch"},
    "error-fields": {"assignees": {"0": {"entity_id": ["Field required"]}}, "priority": ["Input should be 'LOW'"]},
    "templates": {"items": [{"id": 1, "name": "Basic NDA", "contract_type_id": 10}]},
    "metadata": metadata,
    "envelope": {"external_metadata": {"id": "hubspot:1:deal:2", "record_data": {"environment": "uat"}}},
    "hubspot-record": {"id": "1001", "properties": {"spotdraft_contract_id": "T-7", "spotdraft_status": "SIGN", "spotdraft_status_at": " "}},
    "salesforce-record": {"attributes": {"type": "Opportunity"}, "Id": "0065g", "SpotDraft_Status__c": "DRAFT"},
    "zoho-record": {"data": [{"id": "1", "spotdraft_status": None}]},
    "pipedrive-record": {"success": True, "data": {"id": 1, "custom_fields": {"abc": {"value": "x"}}}},
}.items():
    put("responses", name, value)
put("responses", "retry-after-date", "Wed, 21 Oct 2015 07:28:00 GMT")
put("responses", "retry-after-seconds", "120")
put("responses", "html", "<html><body>502 Bad Gateway</body></html>")

# --- sidebar messages
summary = {"id": "T-1", "number": 1, "name": "Acme MSA", "status": "DRAFT", "statusLabel": "Draft",
    "link": "https://app.spotdraft.com/contracts/v2/1", "counterpartyName": None, "contractTypeName": None,
    "created": "2026-01-01T00:00:00Z", "externalId": "hubspot:42:deal:1"}
put("sidebar_messages", "session", [
    {"type": "start"},
    {"type": "configLoaded", "config": {"environment": "uat", "creationStages": ["contractsent"],
        "templates": [{"templateId": 1, "label": "NDA"}, {"templateId": 2, "label": "MSA"}]}},
    {"type": "contractsLoaded", "contracts": []},
    {"type": "templateSelected", "templateId": 2},
    {"type": "previewLoaded", "templateId": 2, "preview": {"canCreate": True, "problems": []}},
    {"type": "createClicked"},
    {"type": "created", "contract": summary, "created": True},
    {"type": "tick"}, {"type": "sendClicked", "contractId": "T-1"},
    {"type": "sent", "contractId": "T-1", "status": "SIGN"},
    {"type": "openClicked", "contractId": "T-1"},
    {"type": "visibilityChanged", "visible": False}, {"type": "visibilityChanged", "visible": True}])
put("sidebar_messages", "download", [
    {"type": "contractsLoaded", "contracts": [{**summary, "status": "EXECUTED", "statusLabel": "Executed"}]},
    {"type": "downloadClicked", "contractId": "T-1"},
    {"type": "downloadReady", "contractId": "T-1", "url": "https://files.spotdraft.example/signed.pdf?sig=x"},
    {"type": "downloadFailed", "contractId": "T-1", "error": {"code": "timeout", "message": "slow", "transient": True}},
    {"type": "retryClicked"}, {"type": "dismissNotice"}])
put("sidebar_messages", "failures", [
    {"type": "configFailed", "error": {"code": "unauthorized", "message": "no"}},
    {"type": "contractsFailed", "error": {"code": "network_error", "message": "down", "transient": True}},
    {"type": "previewFailed", "templateId": 1, "error": {"code": "x", "message": "y", "problems": [{"path": "p", "message": "m"}]}},
    {"type": "createFailed", "error": {"code": "stage_not_allowed", "message": "stage"}},
    {"type": "sendFailed", "contractId": "T-1", "error": {"code": "x", "message": "y"}},
    {"type": "recordChanged", "deal": {"id": "1", "name": "Acme renewal", "stage": "closedwon"}}])
put("sidebar_messages", "deal", [
    {"type": "start"},
    {"type": "dealLoaded", "deal": {"id": "1", "name": "Acme renewal", "stage": "contractsent", "amount": 12000.5,
        "currency": "EUR", "closeDate": "2026-12-31", "owner": None, "account": {"id": "9", "name": "Acme GmbH"},
        "primaryContact": None, "custom": {"term": 12}}},
    {"type": "configLoaded", "config": {"environment": "uat", "creationStages": ["contractsent"],
        "templates": [{"templateId": 1, "label": "NDA"}]}},
    {"type": "contractsLoaded", "contracts": []},
    {"type": "recordChanged"},
    {"type": "dealLoaded", "deal": {"id": "2", "name": "Another deal"}},
    {"type": "dealFailed", "error": {"code": "crm_error", "message": "Pipedrive: the deal does not exist", "transient": False}},
    {"type": "retryClicked"},
    {"type": "dealLoaded", "deal": {"id": "1", "name": "Acme renewal", "stage": "closedwon"}}])

# --- tokens
secret = lambda host: f"{host}-secret-0123456789abcdef0123456789".encode()
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def token(header, claims, host):
    signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return signing + "." + b64(hmac.new(secret(host), signing.encode(), hashlib.sha256).digest())
NOW = 1_800_000_100
good = {"iss": "demo", "aud": "spotdraft-crm-relay", "tenant": "42", "record": "1001", "sub": "sam@yourco.example", "iat": NOW - 10, "exp": NOW + 290}
put("tokens", "demo", token({"alg": "HS256", "typ": "JWT"}, good, "demo"))
put("tokens", "pipedrive", token({"alg": "HS256"}, {"companyId": 77, "userId": 5, "iat": NOW, "exp": NOW + 300}, "pipedrive"))
put("tokens", "alg-none", token({"alg": "none"}, good, "demo"))
put("tokens", "sign", {"sign": {"header": {"alg": "HS256", "typ": "JWT"}, "claims": good}})
put("tokens", "sign-pipedrive", {"sign": {"header": {"alg": "HS256"}, "claims": {"companyId": "77", "userId": 5, "exp": NOW + 100, "nbf": NOW}}})
put("tokens", "mint", {"mint": {"host": "salesforce", "tenant": "00D5g", "record": "0065g00000AbCdEAAV", "user": "u", "iat": NOW, "ttl": 600}})
put("tokens", "hubspot", {"hubspot": {"secret": "hs-secret", "method": "post", "url": "https://relay.example.com/api/uat/deals/1%3A2?x=%2f",
    "body": "{\"a\":1}", "timestamp": str(NOW * 1000 - 1000), "signature": "AAAA"}})
