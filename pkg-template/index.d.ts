export * from "./spotdraft_crm.js";

/**
 * Initialises the WebAssembly module once (later calls return the same promise). In Node the
 * module is ready on import and this resolves at once.
 * @param wasm where to load the `.wasm` from (URL, Response, bytes or a compiled module);
 *   defaults to the file beside this package's JS.
 */
export function load(wasm?: URL | string | Response | BufferSource | WebAssembly.Module): Promise<unknown>;
