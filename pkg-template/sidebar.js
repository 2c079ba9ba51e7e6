// Browser entry for the sidebar page: the sidebar-only build (no SpotDraft client, no relay, no
// webhook code), initialised once however many callers await `load()`.
import init from "./spotdraft_crm_sidebar.js";

export * from "./spotdraft_crm_sidebar.js";

let loading;

export function load(wasm) {
  loading ??= init(wasm === undefined ? undefined : { module_or_path: wasm });
  return loading;
}
