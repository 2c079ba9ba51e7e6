// The demo CRM page: a deal list, the deal's fields (including the SpotDraft fields the relay
// writes back), the sidebar embedded in an iframe on its own origin over sdx/1 (as a real host
// does), and a clearly marked panel that drives the SpotDraft emulator.
import { embedSidebar } from "./hosts/parent.js";

const TRANSITIONS = [["REDLINING", "Send for review"], ["SIGN", "Request signature"], ["DRAFT", "Decline signature"], ["EXECUTED", "Execute"], ["ON_HOLD", "Put on hold"], ["VOIDED", "Void"]];

const $ = (id) => document.getElementById(id);
const api = async (path, options = {}) => {
  const response = await fetch(`/demo-api${path}`, { ...options, headers: { "content-type": "application/json" } });
  return response.json();
};

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  node.append(...children.filter(Boolean));
  return node;
}

const config = await api("/config");
// Amounts as a CRM shows them: in the viewer's locale, with the deal's currency.
const money = (amount, currency) => {
  try {
    return new Intl.NumberFormat(navigator.language, { style: "currency", currency }).format(amount);
  } catch {
    return new Intl.NumberFormat(navigator.language).format(amount);
  }
};
let currentId = new URLSearchParams(location.search).get("deal");
let current = null;
let sidebarVisible = true;
// The deal the sidebar frame was (re)loaded for; null until the first deal is chosen.
let sidebarDealId = null;
// The sidebar can say hello before the first record is read: its init waits for the record.
let firstRecordRead;
const firstRecord = new Promise((resolve) => { firstRecordRead = resolve; });

// The page's HTML already loads the sidebar in this frame (start.js writes its URL in), so it
// downloads while this script and the record load.
const iframe = $("sidebar");
const sidebar = embedSidebar({
  iframe,
  sidebarOrigin: config.sidebarOrigin,
  context: async () => {
    await firstRecord;
    return {
      host: "demo",
      environment: config.environment,
      relayUrl: config.relayUrl,
      tenant: config.tenant,
      // Only the id and the name, for the first render: the sidebar reads the deal from the CRM itself.
      deal: { id: current.deal.id, name: current.deal.name },
      theme: matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light",
      user: { id: "demo-seller", email: "sam.seller@yourco.example", locale: navigator.language },
      session: await api(`/deals/${current.deal.id}/token`, { method: "POST" }),
    };
  },
  handlers: {
    refreshSession: () => api(`/deals/${current.deal.id}/token`, { method: "POST" }),
    toast: (level, message) => console.info(`[sidebar ${level}] ${message}`),
    // The frame is exactly as tall as the sidebar's content (as a CRM panel is), within sane bounds.
    resize: (height) => { iframe.style.height = `${Math.max(120, Math.min(height, 2000))}px`; },
    refreshRecord: () => loadRecord(),
  },
});

function fields(target, entries) {
  target.replaceChildren(...entries.flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: value ?? "—", "data-field": label })]));
}

async function loadRecord() {
  const record = await api(`/deals/${currentId}`);
  const before = JSON.stringify(current);
  current = record;
  const d = record.deal;
  $("deal-title").textContent = d.name;
  fields($("fields"), [
    ["Amount", d.amount ? money(d.amount, d.currency ?? "USD") : null],
    ["Close date", d.closeDate ? new Intl.DateTimeFormat(navigator.language, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(d.closeDate)) : null],
    ["Company", d.account?.name],
    ["Primary contact", d.primaryContact ? `${d.primaryContact.firstName ?? ""} ${d.primaryContact.lastName ?? ""} <${d.primaryContact.email ?? "no email"}>` : null],
  ]);
  $("stage").value = d.stage ?? "";
  const r = record.record;
  fields($("spotdraft-fields"), [
    ["Contract", r.spotdraft_contract_id], ["Status", r.spotdraft_status], ["Status as of", r.spotdraft_status_at],
    ["Executed", r.spotdraft_executed_at], ["Link", r.spotdraft_contract_link],
    // Key terms, from SpotDraft once the contract is executed.
    ["NDA effective date", r.spotdraft_effective_date?.slice(0, 10)], ["Confidentiality (months)", r.spotdraft_confidentiality_months],
    ["Governing law", r.spotdraft_governing_law],
  ]);
  // Notes are the relay's HTML; shown as text (their first line), newest first, as a record page does.
  const firstLine = (html) => new DOMParser().parseFromString(html, "text/html").querySelector("strong")?.textContent ?? "";
  const notes = [...(record.activity?.notes ?? [])].sort((a, b) => Number(b.timestamp) - Number(a.timestamp));
  $("timeline").replaceChildren(...(notes.length ? notes.map((n) => el("li", { "data-note": n.id },
    el("time", { text: new Date(Number(n.timestamp)).toLocaleString(navigator.language, { timeZone: "UTC" }) }), " ", el("span", { text: firstLine(n.body) })))
    : [el("li", { class: "muted", text: "Nothing yet." })]));
  const files = record.activity?.files ?? [];
  $("attachments").replaceChildren(...(files.length ? files.map((f) => el("li", { "data-file": f.id, text: `${f.name}.pdf · ${Math.round(f.size / 102.4) / 10} KB` }))
    : [el("li", { class: "muted", text: "No files." })]));
  // The record changed: the sidebar is told which one, and reads it again from the CRM.
  if (before && before !== JSON.stringify(current)) sidebar.send("record.changed", { id: d.id });
  await loadSandboxContracts();
  return {};
}

async function loadSandboxContracts() {
  const contracts = await api(`/deals/${currentId}/contracts`);
  $("sandbox-contracts").replaceChildren(...(contracts.length ? contracts.map((c) => el("div", { class: "contract", "data-contract": c.id },
    el("div", { text: `${c.id} · ${c.status}` }),
    el("div", {}, ...TRANSITIONS.map(([to, label]) => el("button", { type: "button", "data-to": to, text: label, onclick: async () => {
      await api("/sandbox/transition", { method: "POST", body: JSON.stringify({ contractId: c.id, to }) });
      await loadSandboxContracts();
    } }))))) : [el("p", { class: "muted", text: "No contract for this deal in SpotDraft yet." })]));
}

async function selectDeal(id) {
  currentId = id;
  current = null;
  history.replaceState(null, "", `?deal=${id}`);
  for (const button of document.querySelectorAll("#deals button")) button.setAttribute("aria-current", String(button.dataset.id === id));
  await loadRecord();
  firstRecordRead();
  // Another deal gets a fresh sidebar; the first one uses the frame the HTML started loading.
  if (sidebarDealId !== null || iframe.getAttribute("src") !== config.sidebarUrl) iframe.src = config.sidebarUrl;
  sidebarDealId = id;
}

$("stage").replaceChildren(...Object.entries(config.stageLabels).map(([value, label]) => el("option", { value, text: label })));
$("stage").addEventListener("change", async (event) => {
  await api(`/deals/${currentId}/stage`, { method: "POST", body: JSON.stringify({ stage: event.target.value }) });
  await loadRecord();
});

const deals = await api("/deals");
$("deals").replaceChildren(...deals.map((d) => el("li", {}, el("button", { type: "button", "data-id": d.id, text: d.name, onclick: () => selectDeal(d.id) }))));
document.addEventListener("visibilitychange", () => sidebar.send("visibility", { visible: document.visibilityState === "visible" && sidebarVisible }));
window.demoHost = {
  // As a CRM user reloading the record page would.
  reloadRecord: () => loadRecord(),
  // For tests and the curious: hide/show the sidebar as a host would when its panel collapses.
  setSidebarVisible(visible) {
    sidebarVisible = visible;
    iframe.parentElement.hidden = !visible;
    sidebar.send("visibility", { visible });
  },
};
await selectDeal(currentId ?? deals[0]?.id);
setInterval(() => currentId && loadRecord(), 2000);
