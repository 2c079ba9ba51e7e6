// The Zoho CRM widget: a thin host page for the SpotDraft sidebar, like the Salesforce LWC.
//
// Zoho hosts this page (the zip built by scripts/build-zoho-widget.mjs, uploaded as a related-list
// widget on Deals). It does not run the sidebar itself: it frames the sidebar page the relay serves
// (`<relayUrl>/sidebar/index.html?host=zoho&env=<environment>`) and speaks sdx/1 to it with
// embedSidebar (www/sidebar/hosts/parent.js), as the demo page does. What it takes from Zoho's SDK
// (the global `ZOHO`, loaded by widget.html from Zoho's CDN):
//   - PageLoad (registered before init): `Entity` must be "Deals" and `EntityId` exactly one id
//     (a string on a related list; a button placement sends an array);
//   - ZOHO.CRM.FUNCTIONS.execute("spotdraft_relay_token", { arguments: JSON.stringify({ deal_id }) }):
//     the Deluge function (../spotdraft_relay_token.deluge) checks the deal exists and answers
//     { token, expiresAt, relayUrl, environment, tenant } from the org's variables, so one zip serves
//     any org; it runs again for every session.refresh and for every init after the first;
//   - ZOHO.CRM.UI.Resize for ui.resize; ZOHO.CRM.UI.Popup.showMessage, when the SDK has it, for ui.toast;
//   - ContextUpdate, and a later PageLoad for the same deal, as record.changed.
// ui.openUrl (https only) is embedSidebar's own. Anything that stops the sidebar from starting is
// said in the page, in words, instead of the frame.

import { embedSidebar } from "../../../../sidebar/hosts/parent.js";

/**
 * @typedef {{ token: string, expiresAt: number, relayUrl: string, environment: "uat" | "production", tenant: string }} ZohoSession
 */

export const TOKEN_FUNCTION = "spotdraft_relay_token";
/** Zoho record ids are digits (the Deluge function checks the same). */
const DEAL_ID = /^[0-9]{1,19}$/;
const FIRST_HEIGHT = 480;
const MIN_HEIGHT = 120;
const MAX_HEIGHT = 4000;
const PAGE_LOAD_TIMEOUT_MS = 15_000;

/** A failure the widget shows as it is: its message is written for the person looking at the deal. */
export class WidgetError extends Error {}

/**
 * Zoho's answers are sometimes JSON text, sometimes already parsed.
 * @param {unknown} value
 * @returns {any}
 */
function parsed(value) {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * @param {unknown} value
 * @returns {string | undefined}
 */
function text(value) {
  if (value === null || value === undefined) return undefined;
  const s = String(value).trim();
  return s === "" ? undefined : s;
}

/**
 * The relay's base URL without trailing slashes: https, or http on loopback (development and tests).
 * @param {unknown} value
 * @returns {string | null}
 */
export function relayBase(value) {
  let url;
  try {
    url = new URL(String(value));
  } catch {
    return null;
  }
  const loopback = url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if ((url.protocol !== "https:" && !loopback) || url.username || url.password || url.search || url.hash) return null;
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * The deal a PageLoad names, or a WidgetError saying why there is none.
 * @param {any} page
 * @returns {string}
 */
export function dealIdFromPage(page) {
  if (page?.Entity !== "Deals") {
    const where = text(page?.Entity);
    throw new WidgetError(`SpotDraft works on deals: add this widget to the Deals module${where ? ` (this page is ${where})` : ""}.`);
  }
  const ids = Array.isArray(page.EntityId) ? page.EntityId : [page.EntityId];
  if (ids.length !== 1) {
    throw new WidgetError(`SpotDraft works on one deal at a time, and Zoho named ${ids.length}: open a single deal.`);
  }
  const id = text(ids[0]) ?? "";
  if (!DEAL_ID.test(id)) throw new WidgetError("Zoho did not name a deal this widget can open.");
  return id;
}

/**
 * What ZOHO.CRM.FUNCTIONS.execute answered, checked: the session and where the sidebar is.
 * @param {unknown} answer
 * @returns {ZohoSession}
 */
export function sessionFromAnswer(answer) {
  const reply = parsed(answer);
  if (reply?.code !== "success") {
    throw new WidgetError(`SpotDraft could not start: Zoho could not run the ${TOKEN_FUNCTION} function${text(reply?.message) ? ` (${text(reply.message)})` : ""}.`);
  }
  const output = parsed(reply.details?.output);
  if (typeof output?.error === "string") throw new WidgetError(`SpotDraft could not start: ${output.error}`);
  const expiresAt = Number(output?.expiresAt);
  if (typeof output?.token !== "string" || output.token === "" || !Number.isFinite(expiresAt)) {
    throw new WidgetError(`SpotDraft could not start: the ${TOKEN_FUNCTION} function did not return a session.`);
  }
  const relayUrl = relayBase(output.relayUrl);
  if (!relayUrl) throw new WidgetError("SpotDraft is not set up in this Zoho org: the spotdraft_relay_url variable must be the relay's https URL.");
  const environment = output.environment;
  if (environment !== "uat" && environment !== "production") {
    throw new WidgetError("SpotDraft is not set up in this Zoho org: the spotdraft_environment variable must be uat or production.");
  }
  const tenant = text(output.tenant);
  if (!tenant) throw new WidgetError("SpotDraft is not set up in this Zoho org: the spotdraft_zoho_org_id variable is empty.");
  return { token: output.token, expiresAt, relayUrl, environment, tenant };
}

/**
 * Starts the widget: waits for Zoho's PageLoad, then frames the sidebar for that deal, or says why not.
 * Resolves once the first PageLoad has been handled (the frame created, or the reason shown).
 * @param {{ win?: Window & { ZOHO?: any }, zoho?: any }} [options]
 */
export function startWidget({ win = window, zoho = win.ZOHO } = {}) {
  const doc = win.document;
  const main = /** @type {HTMLElement} */ (doc.getElementById("spotdraft"));
  const status = /** @type {HTMLElement} */ (doc.getElementById("spotdraft-status"));

  /** @type {{ dealId: string, iframe: HTMLIFrameElement, embed: ReturnType<typeof embedSidebar> } | null} */
  let current = null;
  // Each PageLoad that opens a deal starts a generation; what an older one finishes late is dropped.
  let generation = 0;

  /** @param {string} message */
  function showStatus(message, error = false) {
    status.textContent = message;
    status.className = error ? "status error" : "status";
    status.setAttribute("role", error ? "alert" : "status");
    status.hidden = false;
    main.setAttribute("aria-busy", error ? "false" : "true");
  }

  function closeCurrent() {
    if (!current) return;
    current.embed.close();
    current.iframe.remove();
    current = null;
  }

  /** @param {string} message */
  function fail(message) {
    closeCurrent();
    showStatus(message, true);
  }

  /** @param {string} dealId */
  async function mint(dealId) {
    let answer;
    try {
      answer = await zoho.CRM.FUNCTIONS.execute(TOKEN_FUNCTION, { arguments: JSON.stringify({ deal_id: dealId }) });
    } catch (error) {
      // Zoho's SDK rejects with an Error, an object with a message, or neither.
      const reason = text(/** @type {any} */ (error)?.message);
      throw new WidgetError(`SpotDraft could not start: Zoho could not run the ${TOKEN_FUNCTION} function${reason ? ` (${reason})` : ""}.`);
    }
    return sessionFromAnswer(answer);
  }

  /** @param {number} height */
  function resize(height) {
    if (!current || !Number.isFinite(height) || height <= 0) return;
    const size = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Math.ceil(height)));
    current.iframe.style.height = `${size}px`;
    const width = Math.round(win.innerWidth || 0);
    Promise.resolve()
      .then(() => zoho.CRM?.UI?.Resize?.(width > 0 ? { height: size, width } : { height: size }))
      .catch(() => {});
  }

  /**
   * @param {unknown} level
   * @param {string} message
   */
  function toast(level, message) {
    const popup = zoho.CRM?.UI?.Popup;
    if (typeof popup?.showMessage !== "function") return {};
    const type = level === "error" || level === "success" ? level : "info";
    Promise.resolve().then(() => popup.showMessage({ type, message })).catch(() => {});
    return {};
  }

  /** @param {string} dealId */
  async function open(dealId) {
    const mine = ++generation;
    closeCurrent();
    showStatus("Loading SpotDraft…");
    /** @type {ZohoSession} */
    let first;
    try {
      first = await mint(dealId);
    } catch (error) {
      if (mine === generation) throw error;
      return; // another PageLoad took over meanwhile
    }
    if (mine !== generation) return;
    const iframe = doc.createElement("iframe");
    iframe.className = "sidebar";
    iframe.title = "SpotDraft contracts";
    iframe.style.height = `${FIRST_HEIGHT}px`;
    iframe.src = `${first.relayUrl}/sidebar/index.html?host=zoho&env=${encodeURIComponent(first.environment)}`;
    // The sidebar says it is loaded by saying hello; the frame's own load is enough to stop saying "Loading".
    iframe.addEventListener("load", () => {
      if (current?.iframe === iframe) {
        status.hidden = true;
        main.setAttribute("aria-busy", "false");
      }
    });
    // The first init uses the session minted to find the relay; a later init (the sidebar page was
    // loaded again) gets a fresh one.
    /** @type {ZohoSession | null} */
    let unused = first;
    const embed = embedSidebar({
      iframe,
      sidebarOrigin: new URL(first.relayUrl).origin,
      win,
      context: async () => {
        /** @type {ZohoSession} */
        let session;
        try {
          session = unused ?? await mint(dealId);
        } catch (error) {
          // Without a session there is nothing to init the sidebar with: say why instead of the frame.
          if (current?.iframe === iframe) fail(/** @type {Error} */ (error).message);
          throw error;
        }
        unused = null;
        return {
          host: "zoho",
          environment: first.environment,
          relayUrl: first.relayUrl,
          tenant: session.tenant,
          // Only the id: the core reads the deal from Zoho CRM through the relay.
          deal: { id: dealId, name: null },
          theme: "light",
          session: { token: session.token, expiresAt: session.expiresAt },
        };
      },
      handlers: {
        refreshSession: async () => {
          const { token, expiresAt } = await mint(dealId);
          return { token, expiresAt };
        },
        resize,
        toast,
      },
    });
    current = { dealId, iframe, embed };
    main.append(iframe);
  }

  /** @param {any} page */
  async function onPageLoad(page) {
    let dealId;
    try {
      dealId = dealIdFromPage(page);
    } catch (error) {
      generation += 1;
      fail(/** @type {Error} */ (error).message);
      return;
    }
    // Zoho may send PageLoad again for the record it shows: the record changed, the sidebar reads it again.
    if (current?.dealId === dealId) {
      current.embed.send("record.changed", { id: dealId });
      return;
    }
    try {
      await open(dealId);
    } catch (error) {
      fail(error instanceof WidgetError ? error.message : `SpotDraft could not start: ${text(/** @type {any} */ (error)?.message) ?? "unknown error"}.`);
    }
  }

  if (typeof zoho?.embeddedApp?.on !== "function" || typeof zoho?.embeddedApp?.init !== "function" || typeof zoho?.CRM?.FUNCTIONS?.execute !== "function") {
    fail("SpotDraft could not start: Zoho's widget SDK did not load (from live.zwidgets.com).");
    return Promise.resolve();
  }

  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      fail("SpotDraft could not start: Zoho CRM did not say which record this page shows.");
      resolve(undefined);
    }, PAGE_LOAD_TIMEOUT_MS);
    // Registered before init(), as Zoho's SDK requires.
    zoho.embeddedApp.on("PageLoad", (/** @type {any} */ page) => {
      clearTimeout(timer);
      onPageLoad(page).then(resolve, resolve);
    });
    zoho.embeddedApp.on("ContextUpdate", () => {
      if (current) current.embed.send("record.changed", { id: current.dealId });
    });
    doc.addEventListener("visibilitychange", () => {
      current?.embed.send("visibility", { visible: doc.visibilityState !== "hidden" });
    });
    Promise.resolve()
      .then(() => zoho.embeddedApp.init())
      .catch((/** @type {any} */ error) => {
        clearTimeout(timer);
        fail(`SpotDraft could not start: Zoho's widget SDK did not start${text(error?.message) ? ` (${text(error.message)})` : ""}.`);
        resolve(undefined);
      });
  });
}
