// @ts-check
// Linking a contract made in SpotDraft to the deal, loaded only when a seller asks for it: the
// sidebar's build with the `link` feature (the search, the candidates and the link are the core's,
// `sidebar::link`; the relay decides every refusal), and the section that shows it. The page's first
// view never downloads this module or its wasm.
import init, { SdxSidebar } from "../pkg/spotdraft_crm_sidebar_link.js";

/** @typedef {import("../pkg/sidebar.js").SidebarLink} SidebarLink */
/** @typedef {import("../pkg/sidebar.js").SidebarEvent} SidebarEvent */
/** @typedef {import("../pkg/sidebar.js").SidebarContract} SidebarContract */
/**
 * sidebar.js's element builder.
 * @typedef {<K extends keyof HTMLElementTagNameMap>(tag: K, attributes?: import("./shell-types.js").Attributes, ...children: Array<import("./shell-types.js").Child | import("./shell-types.js").Child[]>) => HTMLElementTagNameMap[K]} ElementBuilder
 */

/**
 * A sidebar that can link, started with what the page's own was started with.
 * @param {ConstructorParameters<typeof SdxSidebar>[0]} sidebarInit
 * @param {ConstructorParameters<typeof SdxSidebar>[1]} deal
 * @param {ConstructorParameters<typeof SdxSidebar>[2]} refreshSession
 */
export async function startLinking(sidebarInit, deal, refreshSession) {
  await init();
  return new SdxSidebar(sidebarInit, deal, refreshSession);
}

/** What the seller last typed, kept across renders (the core keeps the query it searched). */
let typed = /** @type {string | null} */ (null);

/**
 * The "link a contract" section: a search of SpotDraft, and what it found, as contracts are shown
 * (a Link action on those that can be linked; why not, on the others), and a way to close it.
 * @param {SidebarLink} link
 * @param {{ el: ElementBuilder, dispatch: (event: SidebarEvent) => unknown, contractItem: (contract: SidebarContract) => HTMLElement, close: () => void }} shell
 */
export function linkSection(link, { el, dispatch, contractItem, close }) {
  const input = el("input", {
    type: "search", id: "link-query", "data-key": "link-query", autocomplete: "off", value: typed ?? link.query,
    oninput: (event) => { typed = /** @type {HTMLInputElement} */ (event.target).value; },
  });
  return el("section", { className: "link-existing", "aria-label": "Link a contract from SpotDraft" },
    el("form", {
      className: "row", role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        dispatch({ type: "linkSearched", query: input.value });
      },
    },
    el("label", { for: "link-query", text: "Find a contract in SpotDraft" }), input,
    el("button", { type: "submit", "data-key": "link-search", disabled: link.searching, "aria-busy": link.searching ? "true" : null, text: link.searching ? "Searching…" : "Find" })),
    link.message && el("p", { className: "muted small", role: "status", text: link.message }),
    link.results && link.results.length > 0 && el("ul", { className: "contracts", "aria-label": "Contracts found in SpotDraft" }, link.results.map(contractItem)),
    el("button", { type: "button", className: "link", "data-key": "link-close", onclick: close, text: "Close the search" }));
}
