// Loads the relay configuration: a JSON file (RELAY_CONFIG or --config) or JSON text
// (RELAY_CONFIG_JSON). Any string value written "env:NAME" is read from the environment, so
// secrets live in the environment, never in the file. Validation is the core's (SdxRelay).
import { readFileSync } from "node:fs";

/**
 * Replaces every "env:NAME" string with the variable's value. `needed(path)` says whether a value is
 * needed at all (default: every one): one that is not and whose variable is unset becomes null.
 */
export function resolveEnvReferences(value, env = process.env, path = "", needed = () => true) {
  if (typeof value === "string" && value.startsWith("env:")) {
    const name = value.slice(4);
    const resolved = env[name];
    if (resolved === undefined || resolved === "") {
      if (!needed(path)) return null;
      throw new Error(`relay configuration: ${path || "(root)"} refers to environment variable ${name}, which is not set`);
    }
    return resolved;
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveEnvReferences(item, env, `${path}[${i}]`, needed));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveEnvReferences(item, env, path ? `${path}.${key}` : key, needed)]),
    );
  }
  return value;
}

export function loadRelayConfig({ file = process.env.RELAY_CONFIG, json = process.env.RELAY_CONFIG_JSON, env = process.env, needed } = {}) {
  let text = json;
  if (!text) {
    if (!file) throw new Error("relay configuration: set RELAY_CONFIG to a file or RELAY_CONFIG_JSON to its JSON");
    text = readFileSync(file, "utf8");
  }
  let document;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`relay configuration is not valid JSON: ${error.message}`);
  }
  return resolveEnvReferences(document, env, "", needed);
}
