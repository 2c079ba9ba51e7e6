export * from "./spotdraft_crm_sidebar.js";

/** Initialises the sidebar build once (later calls return the same promise). */
export function load(wasm?: URL | string | Response | BufferSource | WebAssembly.Module): Promise<unknown>;
