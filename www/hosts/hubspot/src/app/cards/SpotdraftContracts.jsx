// SpotDraft contracts card for HubSpot deal records (crm.record.sidebar).
//
// HubSpot runs this card in a worker with no DOM and no native fetch, and WebAssembly is not an option
// there (docs/crm-hosts.md §1), so the card is a thin renderer over the relay:
// - every call goes through hubspot.fetch, which HubSpot signs (X-HubSpot-Signature-v3) and to which it
//   appends portalId/userId; the relay verifies the signature and binds the call to this deal;
// - the list shows what the relay returns (name, statusLabel in seller words, link); whether a create is
//   allowed is the relay's decision, and its refusal is shown as it words it;
// - "Open full sidebar" opens the sidebar page (core + shell) in HubSpot's iframe modal.
// Every text from data is passed as a child of HubSpot's components, which render it as text.

import React, { useCallback, useEffect, useRef, useState } from "react";
import {
  Alert,
  Button,
  Divider,
  Flex,
  Link,
  LoadingSpinner,
  Select,
  Tag,
  Text,
  hubspot,
  useExtensionActions,
  useExtensionContext,
} from "@hubspot/ui-extensions";
import { useAssociations } from "@hubspot/ui-extensions/crm";
import { CUSTOM_PROPERTIES, ENVIRONMENT, RELAY_URL, SIDEBAR_URL } from "./config.js";

export const DEAL_PROPERTIES = ["dealname", "amount", "deal_currency_code", "dealstage", "closedate"];
const COMPANY_PROPERTIES = ["name", "address", "city", "state", "zip", "country"];
const CONTACT_PROPERTIES = ["firstname", "lastname", "email"];
// HubSpot's cap for one hubspot.fetch. A create can take the relay longer than that (SpotDraft
// retries), so a create that times out is followed to its end instead of reported as failed.
const TIMEOUT_MS = 15_000;
/** How often, and how long, the card looks for the contract of a create whose answer it did not get. */
export const FOLLOW_EVERY_MS = 3_000;
export const FOLLOW_FOR_MS = 45_000;

export function safeHttpsUrl(url) {
  try {
    const parsed = new URL(String(url));
    return parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function text(value) {
  if (value === undefined || value === null) return undefined;
  const s = String(value).trim();
  return s === "" ? undefined : s;
}

function compact(object) {
  const out = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined || value === null || value === "") continue;
    if (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0) continue;
    out[key] = value;
  }
  return out;
}

/** HubSpot deal properties (+ the first associated company and contact) → the core's canonical deal. */
export function dealFromHubSpot(dealId, properties, company, contact, customProperties = []) {
  const p = properties ?? {};
  const c = company?.properties ?? {};
  const k = contact?.properties ?? {};
  const custom = {};
  for (const name of customProperties) {
    if (text(p[name]) !== undefined) custom[name] = p[name];
  }
  return compact({
    id: String(dealId),
    name: text(p.dealname),
    amount: text(p.amount),
    currency: text(p.deal_currency_code),
    stage: text(p.dealstage),
    closeDate: text(p.closedate),
    account: text(c.name)
      ? compact({
        id: company.toObjectId != null ? String(company.toObjectId) : undefined,
        name: text(c.name),
        address: compact({
          lineOne: text(c.address), city: text(c.city), state: text(c.state), zipcode: text(c.zip), country: text(c.country),
        }),
      })
      : undefined,
    primaryContact: contact
      ? (() => {
        const person = compact({
          id: contact.toObjectId != null ? String(contact.toObjectId) : undefined,
          firstName: text(k.firstname), lastName: text(k.lastname), email: text(k.email),
        });
        return Object.keys(person).some((key) => key !== "id") ? person : undefined;
      })()
      : undefined,
    custom,
  });
}

function relayError(status, body) {
  const message = body?.error?.message ?? `The SpotDraft service answered ${status}.`;
  // A gateway's 502/504 says the answer was lost on the way, not that nothing happened.
  return Object.assign(new Error(message), { code: body?.error?.code ?? `UPSTREAM_${status}`, uncertain: status === 502 || status === 504 });
}

export function SpotdraftContracts({
  relayUrl = RELAY_URL,
  environment = ENVIRONMENT,
  sidebarUrl = SIDEBAR_URL,
  customProperties = CUSTOM_PROPERTIES,
  followEveryMs = FOLLOW_EVERY_MS,
  followForMs = FOLLOW_FOR_MS,
}) {
  const context = useExtensionContext();
  const actions = useExtensionActions();
  const dealId = String(context?.crm?.objectId ?? "");
  const company = useAssociations({ toObjectType: "0-2", properties: COMPANY_PROPERTIES, pageLength: 1 });
  const contact = useAssociations({ toObjectType: "0-1", properties: CONTACT_PROPERTIES, pageLength: 1 });

  const [contracts, setContracts] = useState(null);
  const [templates, setTemplates] = useState([]);
  const [templateId, setTemplateId] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [createError, setCreateError] = useState(null);
  // A create whose outcome is not known yet (its answer timed out or failed in transit): the card
  // looks for its contract until it appears or followForMs has passed.
  const [following, setFollowing] = useState(false);
  const [unconfirmed, setUnconfirmed] = useState(false);
  const [creating, setCreating] = useState(false);
  const inFlight = useRef(false);

  const base = `${String(relayUrl).replace(/\/+$/, "")}/api/${environment}/deals/${encodeURIComponent(dealId)}`;

  const call = useCallback(async (url, { method = "GET", body } = {}) => {
    let response;
    try {
      response = await hubspot.fetch(url, body === undefined ? { method, timeout: TIMEOUT_MS } : { method, timeout: TIMEOUT_MS, body });
    } catch (error) {
      // No answer (HubSpot's timeout, the network): whatever was asked may still be happening.
      throw Object.assign(new Error("SpotDraft did not answer in time."), { uncertain: true, cause: error });
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) throw relayError(response.status, data);
    return data;
  }, []);

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const [config, list] = await Promise.all([
        call(`${String(relayUrl).replace(/\/+$/, "")}/api/${environment}/config`),
        call(`${base}/contracts`),
      ]);
      const offered = Array.isArray(config?.templates) ? config.templates : [];
      setTemplates(offered);
      // One template needs no choice; with several the seller picks one (none is chosen for them).
      setTemplateId((current) => current ?? (offered.length === 1 ? offered[0].templateId : null));
      setContracts(Array.isArray(list) ? list : []);
    } catch (error) {
      setLoadError(error.message);
    }
  }, [base, call, environment, relayUrl]);

  useEffect(() => {
    load();
  }, [load]);

  /** Looks for the deal's contract after a create whose answer never came; true once it is there. */
  const follow = useCallback(async (before) => {
    setFollowing(true);
    try {
      for (let waited = 0; waited < followForMs; waited += followEveryMs) {
        await new Promise((resolve) => setTimeout(resolve, followEveryMs));
        let list;
        try {
          list = await call(`${base}/contracts`);
        } catch {
          continue; // the relay is still busy or unreachable for a moment: look again
        }
        if (Array.isArray(list) && list.some((contract) => !before.has(String(contract.id)))) {
          setContracts(list);
          return true;
        }
      }
      return false;
    } finally {
      setFollowing(false);
    }
  }, [base, call, followEveryMs, followForMs]);

  const create = useCallback(async () => {
    if (inFlight.current || templateId == null) return;
    inFlight.current = true;
    setCreating(true);
    setCreateError(null);
    setUnconfirmed(false);
    const before = new Set((contracts ?? []).map((contract) => String(contract.id)));
    try {
      const properties = await actions.fetchCrmObjectProperties([...DEAL_PROPERTIES, ...customProperties]);
      const deal = dealFromHubSpot(dealId, properties, company.results?.[0], contact.results?.[0], customProperties);
      const outcome = await call(`${base}/contracts`, { method: "POST", body: { deal, templateId } });
      actions.addAlert({
        type: "success",
        title: "SpotDraft",
        message: outcome?.created === false ? "This deal already has a contract; it is shown below." : "Contract created in SpotDraft.",
      });
      actions.refreshObjectProperties?.();
      await load();
    } catch (error) {
      if (error.uncertain) {
        // The relay may still be making it: creating is idempotent per deal, so find out rather
        // than say it failed.
        if (await follow(before)) {
          actions.addAlert({ type: "success", title: "SpotDraft", message: "Contract created in SpotDraft." });
          actions.refreshObjectProperties?.();
        } else {
          setUnconfirmed(true);
        }
      } else {
        setCreateError(error.message);
      }
    } finally {
      inFlight.current = false;
      setCreating(false);
    }
  }, [actions, base, call, company.results, contact.results, contracts, customProperties, dealId, follow, load, templateId]);

  const openSidebar = useCallback(async () => {
    // The modal's page can only learn its session from its URL: the relay mints a short-lived token
    // bound to this deal (it trusts this call through HubSpot's signature), carried in the fragment,
    // which browsers never send to a server.
    let session;
    try {
      session = await call(`${base}/session`, { method: "POST" });
    } catch (error) {
      setLoadError(error.message);
      return;
    }
    const url = new URL(sidebarUrl);
    url.searchParams.set("host", "hubspot");
    url.searchParams.set("env", environment);
    url.searchParams.set("dealId", dealId);
    url.searchParams.set("portalId", String(context?.portal?.id ?? ""));
    url.hash = new URLSearchParams({ token: session.token, expiresAt: String(session.expiresAt) }).toString();
    actions.openIframeModal(
      { uri: url.href, height: 800, width: 640, title: "SpotDraft contracts", flush: true },
      () => load(),
    );
  }, [actions, base, call, context, dealId, environment, load, sidebarUrl]);

  if (loadError) {
    return (
      <Flex direction="column" gap="sm">
        <Alert title="SpotDraft is unavailable" variant="danger">{loadError}</Alert>
        <Button onClick={() => load()}>Try again</Button>
      </Flex>
    );
  }
  if (contracts === null) return <LoadingSpinner label="Loading contracts" />;

  const associationsLoading = Boolean(company.isLoading || contact.isLoading);
  return (
    <Flex direction="column" gap="sm">
      {contracts.length === 0 ? <Text>No SpotDraft contract for this deal yet.</Text> : null}
      {contracts.map((contract) => {
        const link = safeHttpsUrl(contract.link);
        return (
          <Flex key={String(contract.id)} direction="column" gap="xs">
            <Text format={{ fontWeight: "bold" }}>{String(contract.name ?? contract.id)}</Text>
            <Tag variant="default">{String(contract.statusLabel ?? contract.status ?? "")}</Tag>
            {link ? <Link href={{ url: link, external: true }}>Open in SpotDraft</Link> : null}
          </Flex>
        );
      })}
      <Divider />
      {createError ? <Alert title="The contract was not created" variant="danger">{createError}</Alert> : null}
      {following ? <LoadingSpinner label="SpotDraft is still creating the contract…" /> : null}
      {unconfirmed ? (
        <Alert title="The contract may still be on its way" variant="warning">
          SpotDraft did not answer in time and the contract has not appeared yet. Try again in a minute: a deal gets one contract however often Create is clicked.
        </Alert>
      ) : null}
      {templates.length > 1 ? (
        <Select
          label="Template"
          name="template"
          value={templateId ?? undefined}
          options={templates.map((t) => ({ label: String(t.label), value: t.templateId }))}
          onChange={(value) => setTemplateId(Number(value))}
        />
      ) : null}
      <Button
        variant="primary"
        disabled={creating || templateId == null || associationsLoading}
        onClick={() => create()}
      >
        {creating ? "Creating…" : templates.length > 1 && templateId == null ? "Choose a template to create" : "Create contract"}
      </Button>
      <Button variant="secondary" onClick={() => openSidebar()}>Open full sidebar</Button>
    </Flex>
  );
}

hubspot.extend(() => <SpotdraftContracts />);
