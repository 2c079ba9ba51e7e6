// Browser entry: the generated bindings plus a `load()` that initialises the module once, however
// many callers await it (a second `init` would instantiate a second, empty copy).
import init from "./spotdraft_crm.js";

export * from "./spotdraft_crm.js";

let loading;

export function load(wasm) {
  loading ??= init(wasm === undefined ? undefined : { module_or_path: wasm });
  return loading;
}
