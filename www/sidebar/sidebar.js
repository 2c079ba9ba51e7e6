// The sidebar shell: connects to the host, feeds the core's state machine, renders its view as
// plain DOM (text only, never HTML from data) and runs its effects. No business rule lives here.
import { load, SdxSidebar } from "../pkg/sidebar.js";
import { connectToParent } from "./hosts/connection.js";

// Typed with JSDoc and checked by tsc -p tests/ts/tsconfig.shell.json: what crosses into the core has
// the package's declared types, so a change on the Rust side fails the check, not the page.
/**
 * @typedef {import("../pkg/sidebar.js").SidebarEvent} SidebarEvent
 * @typedef {import("../pkg/sidebar.js").SidebarEffect} SidebarEffect
 * @typedef {import("../pkg/sidebar.js").SidebarOutput} SidebarOutput
 * @typedef {import("../pkg/sidebar.js").SidebarView} SidebarView
 * @typedef {import("../pkg/sidebar.js").SdxError} SdxError
 * @typedef {import("./shell-types.js").HostConnection} HostConnection
 * @typedef {import("./shell-types.js").Settings} Settings
 * @typedef {import("./shell-types.js").Attributes} Attributes
 * @typedef {import("./shell-types.js").Child} Child
 */

// The module runs as soon as it has loaded (async in index.html), which can be before the body is
// parsed: the page's <main id="app"> is looked up once it is.
const parsed = document.readyState === "loading" ? new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true })) : Promise.resolve();
/** @type {HTMLElement} */
let app;
const params = new URLSearchParams(location.search);

/**
 * @param {Settings} settings
 * @returns {Promise<HostConnection>}
 */
async function connectHost(settings) {
  const host = params.get("host") ?? "demo";
  switch (host) {
    // Zoho CRM frames this page from its widget (www/hosts/zoho/widget), which speaks sdx/1 like the
    // demo page and Salesforce: ?host=zoho takes the default path.
    case "pipedrive": return (await import("./hosts/pipedrive.js")).connect({ env: params.get("env"), relayUrl: settings.relayUrl });
    case "hubspot": return (await import("./hosts/hubspot.js")).connect({ env: params.get("env"), relayUrl: settings.relayUrl });
    default: return connectToParent({ allowedOrigins: settings.allowedHostOrigins ?? [] });
  }
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attributes} [attributes]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "className") node.className = /** @type {string} */ (value);
    else if (key === "text") node.textContent = /** @type {string} */ (value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), /** @type {(event: Event) => void} */ (value));
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

/** @param {string} message */
async function showFatal(message) {
  await parsed;
  app = /** @type {HTMLElement} */ (document.getElementById("app"));
  app.replaceChildren(el("div", { className: "banner error", role: "alert" }, el("p", { className: "muted", text: message })));
  app.setAttribute("aria-busy", "false");
}

/**
 * The page's settings: written into index.html by the server (www/relay/sidebar-files.js), so the
 * host handshake starts without waiting for a request; from config.json when the page is served
 * unfilled (www/sidebar as is, in development).
 * @returns {Promise<Settings>}
 */
async function readSettings() {
  const written = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="sdx-settings"]'))?.content;
  try {
    return written ? JSON.parse(written) : await (await fetch("./config.json", { cache: "no-store" })).json();
  } catch {
    // Without settings no host origin is trusted: the connection then never completes.
    return {};
  }
}

/** What the page's early start (early.js) began, if it ran. */
const early = /** @type {Window & { sdxEarly?: import("./shell-types.js").EarlyStart }} */ (window).sdxEarly;

/** The wasm, compiled by the early start when it could (it began as the page was parsed), else fetched and compiled here. */
async function loadWasm() {
  const compiled = await early?.wasm?.catch(() => undefined);
  return load(compiled);
}

async function main() {
  const settings = await readSettings();
  /** @type {HostConnection} */
  let host;
  try {
    [, host] = await Promise.all([loadWasm(), connectHost(settings), parsed]);
  } catch (error) {
    showFatal(/** @type {Error & { code?: unknown }} */ (error).code === "NO_HOST" ? "Open this from a deal in your CRM." : "The CRM did not connect to the contract sidebar. Reload the record to try again.");
    return;
  }
  app = /** @type {HTMLElement} */ (document.getElementById("app")); // index.html's <main id="app">
  const context = host.context;
  if (context.theme === "dark" || context.theme === "light") document.documentElement.classList.add(`theme-${context.theme}`);
  const sidebarInit = { environment: context.environment, relayUrl: context.relayUrl, token: context.session.token, tzOffsetMinutes: -new Date().getTimezoneOffset() };
  // The sidebar asks for a fresh session itself when the relay says the current one expired.
  const refreshSession = async () => (await host.refreshSession()).token;
  /** @type {SdxSidebar} */
  let sidebar;
  /** Linking's section (link.js), once a seller asked to link a contract. @type {typeof import("./link.js").linkSection | null} */
  let linkSection = null;
  /** Where linking is: its module on the way, its section shown or closed, or it could not be loaded. */
  let linking = /** @type {"idle" | "loading" | "open" | "closed" | "failed"} */ ("idle");
  try {
    // The first view, asked for by the early start as soon as the host's init arrived.
    sidebar = new SdxSidebar(sidebarInit, context.deal, refreshSession, early?.firstView);
  } catch (error) {
    showFatal(/** @type {SdxError} */ (error).message);
    return;
  }

  /** @type {ReturnType<typeof setTimeout> | null} */
  let tickTimer = null;
  /** @type {SidebarView | null} */
  let lastView = null;

  /**
   * @param {SidebarEvent} event
   * @returns {SidebarOutput | null}
   */
  function dispatch(event) {
    let output;
    try {
      output = sidebar.update(event);
    } catch (error) {
      console.warn("sidebar: event refused", /** @type {SdxError} */ (error).code, /** @type {SdxError} */ (error).message);
      return null;
    }
    show(output);
    return output;
  }

  /** @param {SidebarOutput} output */
  function show(output) {
    output.effects.forEach(run);
    // Rendered after the effects' own first steps (a relay call's starts in a microtask the core
    // queued), so a request is already on its way while the DOM is built.
    queueMicrotask(() => render(output.view));
  }

  /** @param {Extract<SidebarEffect, { type: "call" }>} effect */
  async function perform(effect) {
    let output;
    try {
      output = await sidebar.perform(effect.id);
    } catch (error) {
      console.warn("sidebar: call refused", /** @type {SdxError} */ (error).code, /** @type {SdxError} */ (error).message);
      return;
    }
    show(output);
    // A download that produced no URL (failed, or refused) leaves no use for the window opened for it.
    if (effect.call === "download" && pendingDownload && !output.effects.some((e) => e.type === "openUrl")) {
      pendingDownload.close();
      pendingDownload = null;
    }
  }

  // A download URL arrives after a relay call, outside the click; browsers only let a click open a
  // window, so the click opens an empty one that the URL is then loaded into.
  /** @type {Window | null} */
  let pendingDownload = null;

  /**
   * @param {SidebarView["contracts"][number]["actions"][number]["action"]} action
   * @param {string} contractId
   */
  function clicked(action, contractId) {
    if (action === "download") {
      pendingDownload?.close();
      pendingDownload = window.open("", "_blank");
      // The document loaded into it must not reach this page (noopener, which window.open("", …,
      // "noopener") would give only by returning no handle to load the URL into).
      if (pendingDownload) pendingDownload.opener = null;
    }
    const output = dispatch({ type: `${action}Clicked`, contractId });
    // A download the sidebar did not start (already under way, not executed) needs no window.
    if (action === "download" && !output?.effects.some((e) => e.type === "call" && e.call === "download")) {
      pendingDownload?.close();
      pendingDownload = null;
    }
  }

  // Linking runs in the sidebar's build with `link`, downloaded when first asked for: it takes over
  // from this one and starts again (one first-view call), now showing the search.
  async function openLinking() {
    if (linkSection) {
      linking = "open";
      if (lastView) render(lastView);
      return;
    }
    linking = "loading";
    if (lastView) render(lastView);
    try {
      const module = await import("./link.js");
      const next = await module.startLinking(sidebarInit, context.deal, refreshSession);
      const before = sidebar;
      sidebar = /** @type {SdxSidebar} */ (/** @type {unknown} */ (next));
      linkSection = module.linkSection;
      linking = "open";
      try {
        before.free();
      } catch {
        // Still answering a call: left to the garbage collector.
      }
      dispatch({ type: "start" });
    } catch (error) {
      linking = "failed";
      if (lastView) render(lastView);
      console.warn("sidebar: linking could not be loaded", /** @type {Error} */ (error).message);
    }
  }

  function closeLinking() {
    linking = "closed";
    if (lastView) render(lastView);
    /** @type {HTMLElement | null} */ (app.querySelector('[data-key="link-open"]'))?.focus();
  }

  /** @param {string} url */
  function openUrl(url) {
    const target = pendingDownload;
    pendingDownload = null;
    // The core opens only https SpotDraft and download-origin URLs; this is the last line before navigation.
    let protocol = "";
    try {
      protocol = new URL(url).protocol;
    } catch {
      // not a URL: refused below
    }
    if (protocol !== "https:" && protocol !== "http:") {
      target?.close();
      return;
    }
    if (target && !target.closed) {
      target.opener = null;
      target.location.replace(url);
    } else {
      host.openUrl(url);
    }
  }

  /** @param {SidebarEffect} effect */
  function run(effect) {
    switch (effect.type) {
      case "scheduleTick":
        clearTimeout(tickTimer ?? undefined);
        tickTimer = setTimeout(() => dispatch({ type: "tick" }), effect.inMs);
        break;
      case "cancelTick":
        clearTimeout(tickTimer ?? undefined);
        tickTimer = null;
        break;
      case "openUrl":
        openUrl(effect.url);
        break;
      case "call":
        perform(effect);
        break;
    }
  }

  /** @param {SidebarView["contracts"][number]} c */
  function contractItem(c) {
    return el("li", { className: "contract", "data-contract": c.id },
      el("div", { className: "name", text: c.name }),
      el("div", { className: "row small" }, el("span", { className: `pill ${c.tone}`, text: c.statusLabel }), el("span", { className: "muted", text: c.updatedText })),
      c.approvals && el("ul", { className: "approvals small", "aria-label": `Approvals of ${c.name}` },
        c.approvals.steps.map((step) => el("li", { text: step })),
        !c.approvals.steps.length && el("li", { className: "muted", text: "No approvals yet." }),
        c.approvals.reason && el("li", { className: "muted", text: c.approvals.reason })),
      el("div", { className: "row" }, c.actions.map((a) => (a.href
        ? el("a", { className: "button", href: a.href, target: "_blank", rel: "noopener noreferrer", "data-key": `${a.action}:${c.id}`, "data-action": a.action, text: a.label })
        : el("button", {
          type: "button", "data-key": `${a.action}:${c.id}`, "data-action": a.action, disabled: !a.enabled, "aria-busy": a.busy ? "true" : null,
          onclick: () => clicked(a.action, c.id), text: a.label,
        })))));
  }

  /** @param {SidebarView} view */
  function render(view) {
    lastView = view;
    const focused = /** @type {(Element & { dataset?: DOMStringMap }) | null} */ (document.activeElement)?.dataset?.key;
    const heading = el("h1", {}, el("span", { text: "SpotDraft contracts" }), view.environmentBadge && el("span", { className: "badge", text: view.environmentBadge, title: "Test environment" }));
    /** @type {HTMLElement[]} */
    const parts = [heading];
    if (view.banner) {
      const banner = view.banner;
      parts.push(el("div", { className: `banner ${banner.tone}`, role: banner.tone === "error" ? "alert" : "status" },
        el("p", { text: banner.text }),
        banner.details.length > 0 && el("ul", {}, banner.details.map((d) => el("li", { text: d }))),
        (banner.retry || banner.dismissible) && el("div", { className: "row" },
          banner.retry && el("button", { type: "button", "data-key": "retry", onclick: () => dispatch({ type: "retryClicked" }), text: "Try again" }),
          banner.dismissible && el("button", { type: "button", className: "link", "data-key": "dismiss", onclick: () => dispatch({ type: "dismissNotice" }), text: "Dismiss" }))));
    }
    if (view.phase === "loading") parts.push(el("p", { className: "muted", role: "status", text: "Loading contracts…" }));
    if (view.freshness) parts.push(el("p", { className: "muted small", role: "status", text: view.freshness }));
    if (view.create) {
      const create = view.create;
      const reasonsId = "create-reasons";
      parts.push(el("section", { "aria-label": "Create a contract", className: "create" },
        view.emptyText && el("p", { className: "muted", text: view.emptyText }),
        create.showPicker && el("label", {}, "Template",
          el("select", { "data-key": "template", onchange: (event) => dispatch({ type: "templateSelected", templateId: Number(/** @type {HTMLSelectElement} */ (event.target).value) }) },
            el("option", { value: "", text: "Choose a template", disabled: true, selected: !create.templates.some((t) => t.selected) }),
            create.templates.map((t) => el("option", { value: t.templateId, text: t.label, selected: t.selected })))),
        el("button", {
          type: "button", className: "primary", "data-key": "create", disabled: !create.enabled, "aria-busy": create.busy ? "true" : null,
          "aria-describedby": create.reasons.length ? reasonsId : null, onclick: () => dispatch({ type: "createClicked" }), text: create.label,
        }),
        create.reasons.length > 0 && el("ul", { id: reasonsId, className: "reasons muted small" }, create.reasons.map((r) => el("li", { text: r })))));
    }
    if (view.link && linkSection && linking === "open") parts.push(linkSection(view.link, { el, dispatch, contractItem, close: closeLinking }));
    else if (view.create) {
      const loading = linking === "loading";
      parts.push(el("button", {
        type: "button", className: "link", "data-key": "link-open", onclick: openLinking, disabled: loading, "aria-busy": loading ? "true" : null,
        text: loading ? "Loading linking…" : "Link a contract made in SpotDraft",
      }));
      if (linking === "failed") parts.push(el("p", { className: "muted small", role: "alert", text: "Linking could not be loaded. Check your connection and try again." }));
    }
    if (view.contracts.length > 0) parts.push(el("ul", { className: "contracts", "aria-label": "Contracts for this deal" }, view.contracts.map(contractItem)));
    app.replaceChildren(...parts);
    app.setAttribute("aria-busy", view.phase === "loading" ? "true" : "false");
    if (focused) /** @type {HTMLElement | null} */ (app.querySelector(`[data-key="${CSS.escape(focused)}"]`))?.focus();
    // A ResizeObserver reports the new height after the browser's own layout; measuring here would
    // force a layout per render.
    if (!resizeObserved) reportHeight();
  }

  // The frame's height follows the content, up and down. It is measured on the content itself: the
  // document's scroll height is never less than the frame's own height, so a frame sized from it
  // could only ever grow.
  let reportedHeight = 0;
  function reportHeight() {
    const bottom = app.getBoundingClientRect().bottom + window.scrollY + parseFloat(getComputedStyle(app).marginBottom || "0");
    const height = Math.ceil(bottom);
    if (height > 0 && height !== reportedHeight) {
      reportedHeight = height;
      host.resize(height);
    }
  }
  // Fonts, wrapping at a new width and images change the height without a render.
  const resizeObserved = typeof ResizeObserver === "function";
  if (resizeObserved) new ResizeObserver(reportHeight).observe(app);

  // The host only says that the record changed; the core reads the deal from the CRM again.
  host.on("record.changed", () => dispatch({ type: "recordChanged" }));
  host.on("visibility", (payload) => dispatch({ type: "visibilityChanged", visible: Boolean(payload.visible) }));
  host.on("theme.changed", (payload) => {
    document.documentElement.classList.remove("theme-dark", "theme-light");
    if (payload.theme === "dark" || payload.theme === "light") document.documentElement.classList.add(`theme-${payload.theme}`);
  });
  document.addEventListener("visibilitychange", () => dispatch({ type: "visibilityChanged", visible: document.visibilityState === "visible" }));
  // Relative times ("updated 3 min ago") age without any message: the view is asked for again.
  setInterval(() => {
    if (!lastView) return;
    try {
      render(sidebar.view());
    } catch (error) {
      console.warn("sidebar: the view could not be refreshed", /** @type {SdxError} */ (error).code, /** @type {SdxError} */ (error).message);
    }
  }, 30_000);
  dispatch({ type: "start" });
}

main();
