// SpotDraft contracts card for HubSpot deal records (crm.record.sidebar).
//
// HubSpot runs this card in a worker with no DOM, no native fetch and no WebAssembly, so the sidebar's
// core cannot run here. The relay runs it instead (POST /api/{env}/deals/{id}/card): the card sends
// each event (start, a click, a tick, "the record changed") and gets back what the iframe sidebar's
// shell gets, `{view, effects}`, with every relay call already made. The card renders that view in
// HubSpot's components and runs its effects (a timer, a URL to offer); it holds no rule of its own:
// what is shown, what is enabled and why not, and when to look again all come from the core.
// - every call goes through hubspot.fetch, which HubSpot signs (X-HubSpot-Signature-v3) and to which it
//   appends portalId/userId; the relay verifies the signature and binds the call to this deal;
// - every text from data is passed as a child of HubSpot's components, which render it as text;
// - "Open full sidebar" opens the sidebar page (core + shell) in HubSpot's iframe modal.

import React, { useCallback, useEffect, useRef, useState } from "react";
import {
  Alert,
  Button,
  Divider,
  Flex,
  Link,
  List,
  LoadingSpinner,
  SearchInput,
  Select,
  StatusTag,
  Tag,
  Text,
  hubspot,
  useExtensionActions,
  useExtensionContext,
} from "@hubspot/ui-extensions";
import { ENVIRONMENT, RELAY_URL, SIDEBAR_URL } from "./config.js";

// HubSpot's cap for one hubspot.fetch. A create can take the relay longer than that (SpotDraft
// retries), so a click whose answer does not come is followed to its end instead of reported as failed.
const TIMEOUT_MS = 15_000;
/** How often, and how long, the card looks again after a click whose answer it did not get. */
export const FOLLOW_EVERY_MS = 3_000;
export const FOLLOW_FOR_MS = 45_000;
/** How long a ready download link is offered (the signed URL itself expires soon after). */
export const DOCUMENT_OFFERED_MS = 60_000;

const BANNER_VARIANTS = { error: "danger", success: "success", info: "info" };
const STATUS_VARIANTS = { neutral: "default", info: "info", warning: "warning", success: "success", muted: "default" };

/** The URL when it is https (http only on loopback, as the core allows for local stacks), else null. */
export function safeUrl(url) {
  try {
    const parsed = new URL(String(url));
    const loopback = parsed.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
    return parsed.protocol === "https:" || loopback ? parsed.href : null;
  } catch {
    return null;
  }
}

/** The card's own id for this open record, so two open cards of one seller keep their own state. */
export function newCardId() {
  const bytes = new Uint8Array(12);
  if (globalThis.crypto?.getRandomValues) globalThis.crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return `card-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
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
  followEveryMs = FOLLOW_EVERY_MS,
  followForMs = FOLLOW_FOR_MS,
}) {
  const context = useExtensionContext();
  const actions = useExtensionActions();
  const dealId = String(context?.crm?.objectId ?? "");
  const base = `${String(relayUrl).replace(/\/+$/, "")}/api/${environment}/deals/${encodeURIComponent(dealId)}`;

  const [cardId] = useState(newCardId);
  const [view, setView] = useState(null);
  // The card could not reach its sidebar at all (the relay refused the call or is unreachable).
  const [cardError, setCardError] = useState(null);
  // A click whose answer never came: the card looks again until its outcome shows.
  const [following, setFollowing] = useState(false);
  const [unconfirmed, setUnconfirmed] = useState(false);
  // A signed PDF link the core handed over (an `openUrl` effect): a worker cannot open a window, so
  // it is offered as a link for a minute.
  const [document, setDocument] = useState(null);

  const chosenTemplate = useRef(null);
  const shown = useRef(null);
  const downloading = useRef(null);
  const tickTimer = useRef(null);
  const documentTimer = useRef(null);
  // One request at a time: the relay holds the card's sidebar while it works on an event, so events
  // wait their turn; ticks that come due meanwhile are dropped (every answer schedules the next).
  const busy = useRef(false);
  const queued = useRef([]);
  const mounted = useRef(true);

  const call = useCallback(async (event) => {
    const body = { cardId, event, templateId: chosenTemplate.current, tzOffsetMinutes: -new Date().getTimezoneOffset() };
    let response;
    try {
      response = await hubspot.fetch(`${base}/card`, { method: "POST", timeout: TIMEOUT_MS, body });
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
    if (!data || typeof data.view !== "object" || !Array.isArray(data.effects)) {
      throw Object.assign(new Error("The SpotDraft service sent an answer this card does not understand."), { code: "bad_response" });
    }
    return data;
  }, [base, cardId]);

  const show = useCallback((next) => {
    shown.current = next;
    setView(next);
  }, []);

  const runEffects = useCallback((effects, dispatch) => {
    for (const effect of effects) {
      if (effect?.type === "scheduleTick") {
        clearTimeout(tickTimer.current);
        tickTimer.current = setTimeout(() => dispatch({ type: "tick" }), Math.max(0, Number(effect.inMs) || 0));
      } else if (effect?.type === "cancelTick") {
        clearTimeout(tickTimer.current);
        tickTimer.current = null;
      } else if (effect?.type === "openUrl") {
        const url = safeUrl(effect.url);
        if (!url) continue;
        clearTimeout(documentTimer.current);
        setDocument({ url, contractId: downloading.current });
        documentTimer.current = setTimeout(() => setDocument(null), DOCUMENT_OFFERED_MS);
      }
    }
  }, []);

  const dispatch = useCallback(async (event) => {
    if (busy.current) {
      if (event.type !== "tick") queued.current.push(event);
      return;
    }
    busy.current = true;
    const before = new Set((shown.current?.contracts ?? []).map((contract) => contract.id));
    if (event.type === "downloadClicked") downloading.current = event.contractId;
    try {
      const output = await call(event);
      if (!mounted.current) return;
      setCardError(null);
      setUnconfirmed(false);
      show(output.view);
      runEffects(output.effects, dispatch);
      if (event.type === "createClicked" || event.type === "sendClicked") actions.refreshObjectProperties?.();
    } catch (error) {
      if (!mounted.current) return;
      if (error.uncertain && event.type !== "tick") {
        // The relay may still be working on it (a create is idempotent per deal): find out rather
        // than say it failed, by looking again until a new contract or a changed view shows.
        setFollowing(true);
        let settled = false;
        for (let waited = 0; waited < followForMs && !settled && mounted.current; waited += followEveryMs) {
          await new Promise((resolve) => setTimeout(resolve, followEveryMs));
          try {
            const output = await call({ type: "retryClicked" });
            show(output.view);
            runEffects(output.effects, dispatch);
            settled = event.type !== "createClicked" || output.view.contracts.some((contract) => !before.has(contract.id));
          } catch {
            // still busy or unreachable for a moment: look again
          }
        }
        setFollowing(false);
        if (settled) actions.refreshObjectProperties?.();
        else setUnconfirmed(true);
      } else if (error.uncertain) {
        // A tick that got no answer: try again later, calmly.
        clearTimeout(tickTimer.current);
        tickTimer.current = setTimeout(() => dispatch({ type: "tick" }), followForMs);
      } else {
        setCardError(error.message);
      }
    } finally {
      busy.current = false;
      const next = queued.current.shift();
      if (next && mounted.current) dispatch(next);
    }
  }, [actions, call, followEveryMs, followForMs, runEffects, show]);

  useEffect(() => {
    mounted.current = true;
    dispatch({ type: "start" });
    return () => {
      mounted.current = false;
      clearTimeout(tickTimer.current);
      clearTimeout(documentTimer.current);
    };
    // The card starts once per record it is shown on.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dealId]);

  useEffect(() => {
    // A change HubSpot reports on the record (the stage, a mapped field, the relay's own write-back)
    // is read again from the CRM by the relay. The first report is what the record already held.
    let seen = null;
    actions.onCrmPropertiesUpdate?.("*", (properties, error) => {
      if (error) return;
      const now = JSON.stringify(properties ?? {});
      if (seen !== null && now !== seen) dispatch({ type: "recordChanged" });
      seen = now;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [actions]);

  const openSidebar = useCallback(async () => {
    // The modal's page can only learn its session from its URL: the relay mints a short-lived token
    // bound to this deal (it trusts this call through HubSpot's signature), carried in the fragment,
    // which browsers never send to a server.
    let session;
    try {
      const response = await hubspot.fetch(`${base}/session`, { method: "POST", timeout: TIMEOUT_MS });
      session = await response.json().catch(() => null);
      if (!response.ok) throw relayError(response.status, session);
    } catch (error) {
      setCardError(error.code ? error.message : "SpotDraft did not answer in time.");
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
      () => dispatch({ type: "recordChanged" }),
    );
  }, [actions, base, context, dealId, dispatch, environment, sidebarUrl]);

  if (cardError && !view) {
    return (
      <Flex direction="column" gap="sm">
        <Alert title="SpotDraft is unavailable" variant="danger">{cardError}</Alert>
        <Button onClick={() => { setCardError(null); dispatch({ type: "start" }); }}>Try again</Button>
      </Flex>
    );
  }
  if (!view || view.phase === "loading") return <LoadingSpinner label="Loading contracts" />;

  return (
    <Flex direction="column" gap="sm">
      {view.environmentBadge ? <Tag variant="warning">{String(view.environmentBadge)}</Tag> : null}
      {cardError ? <Alert title="SpotDraft is unavailable" variant="danger">{cardError}</Alert> : null}
      {view.banner ? <Banner banner={view.banner} dispatch={dispatch} /> : null}
      {view.freshness ? <Text variant="microcopy">{String(view.freshness)}</Text> : null}
      {view.emptyText ? <Text>{String(view.emptyText)}</Text> : null}
      {view.contracts.map((contract) => (
        <Contract key={contract.id} contract={contract} document={document} dispatch={dispatch} />
      ))}
      {view.create ? (
        <>
          <Divider />
          <Create
            create={view.create}
            following={following}
            onChoose={(templateId) => {
              chosenTemplate.current = templateId;
              dispatch({ type: "templateSelected", templateId });
            }}
            dispatch={dispatch}
          />
        </>
      ) : null}
      {view.link ? (
        <>
          <Divider />
          <LinkExisting link={view.link} dispatch={dispatch} />
        </>
      ) : null}
      {following ? <LoadingSpinner label="SpotDraft is still working on it…" /> : null}
      {unconfirmed ? (
        <Alert title="SpotDraft has not confirmed it yet" variant="warning">
          SpotDraft did not answer in time and the outcome has not shown yet. Look again in a minute: a deal gets one contract however often Create is clicked.
        </Alert>
      ) : null}
      <Button variant="secondary" onClick={() => openSidebar()}>Open full sidebar</Button>
    </Flex>
  );
}

function Banner({ banner, dispatch }) {
  return (
    <Alert title={String(banner.text)} variant={BANNER_VARIANTS[banner.tone] ?? "info"}>
      {banner.details.length > 0 ? (
        <List variant="unordered">{banner.details.map((detail, index) => <Text key={index}>{String(detail)}</Text>)}</List>
      ) : null}
      {banner.retry ? <Button size="xs" onClick={() => dispatch({ type: "retryClicked" })}>Try again</Button> : null}
      {banner.dismissible ? <Button size="xs" variant="transparent" onClick={() => dispatch({ type: "dismissNotice" })}>Dismiss</Button> : null}
    </Alert>
  );
}

function Contract({ contract, document, dispatch }) {
  return (
    <Flex direction="column" gap="xs">
      <Text format={{ fontWeight: "bold" }}>{String(contract.name)}</Text>
      <Flex direction="row" gap="xs" align="center">
        <StatusTag variant={STATUS_VARIANTS[contract.tone] ?? "default"}>{String(contract.statusLabel)}</StatusTag>
        <Text variant="microcopy">{String(contract.updatedText)}</Text>
      </Flex>
      <Flex direction="row" gap="xs" wrap="wrap">
        {contract.actions.map((action) => {
          if (action.action === "open") {
            const href = safeUrl(action.href);
            return href ? <Link key="open" href={{ url: href, external: true }}>{String(action.label)}</Link> : null;
          }
          return (
            <Button
              key={action.action}
              size="xs"
              disabled={!action.enabled || action.busy}
              onClick={() => dispatch({ type: `${action.action}Clicked`, contractId: contract.id })}
            >
              {String(action.label)}
            </Button>
          );
        })}
      </Flex>
      {contract.approvals ? (
        <List variant="unordered">
          {contract.approvals.steps.map((step, index) => <Text key={index} variant="microcopy">{String(step)}</Text>)}
          {contract.approvals.steps.length === 0 ? <Text variant="microcopy">No approvals yet.</Text> : null}
          {contract.approvals.reason ? <Text variant="microcopy">{String(contract.approvals.reason)}</Text> : null}
        </List>
      ) : null}
      {document?.contractId === contract.id ? (
        <Link href={{ url: document.url, external: true }}>Open the signed PDF</Link>
      ) : null}
    </Flex>
  );
}

function Create({ create, following, onChoose, dispatch }) {
  return (
    <Flex direction="column" gap="xs">
      {create.showPicker ? (
        <Select
          label="Template"
          name="template"
          placeholder="Choose a template"
          value={create.templates.find((t) => t.selected)?.templateId}
          options={create.templates.map((t) => ({ label: String(t.label), value: t.templateId }))}
          onChange={(value) => onChoose(Number(value))}
        />
      ) : null}
      {create.reasons.length > 0 ? (
        <List variant="unordered">{create.reasons.map((reason, index) => <Text key={index} variant="microcopy">{String(reason)}</Text>)}</List>
      ) : null}
      <Button variant="primary" disabled={!create.enabled || create.busy || following} onClick={() => dispatch({ type: "createClicked" })}>
        {String(create.label)}
      </Button>
    </Flex>
  );
}

/** Linking a contract made in SpotDraft: the seller's search text stays in the card until searched. */
function LinkExisting({ link, dispatch }) {
  const [query, setQuery] = useState(String(link.query ?? ""));
  const search = () => dispatch({ type: "linkSearched", query });
  return (
    <Flex direction="column" gap="xs">
      <SearchInput
        label="Link a contract made in SpotDraft"
        name="linkQuery"
        placeholder="Contract name or counterparty"
        value={query}
        onInput={(value) => setQuery(String(value ?? ""))}
        onChange={(value) => setQuery(String(value ?? ""))}
      />
      <Button size="xs" disabled={link.searching} onClick={search}>{link.searching ? "Searching…" : "Search"}</Button>
      {link.message ? <Text variant="microcopy">{String(link.message)}</Text> : null}
      {(link.results ?? []).map((found) => <Contract key={found.id} contract={found} dispatch={dispatch} />)}
    </Flex>
  );
}

hubspot.extend(() => <SpotdraftContracts />);
