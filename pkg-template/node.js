// Node entry (relay, tools, tests): instantiates the module synchronously from the file beside
// this one, so importing it is enough. The same bindings as the browser entry.
import { readFileSync } from "node:fs";
import { initSync } from "./spotdraft_crm.js";

initSync({ module: readFileSync(new URL("./spotdraft_crm_bg.wasm", import.meta.url)) });

export * from "./spotdraft_crm.js";

export function load() {
  return Promise.resolve();
}
