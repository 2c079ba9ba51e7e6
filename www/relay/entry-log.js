// The relay's audit log and setup history when it runs alone (no Redis): one file per log and
// environment in its state directory (`audit-<env>.jsonl`, `setup-<env>.jsonl`), one JSON entry per
// line, oldest first, so they survive restarts and an admin can read them with the relay's admin
// routes or any text tool. Appends are queued so lines never interleave; past MAX_BYTES a file is
// moved to `<name>-<env>.1.jsonl` (replacing the one before) and a new one begun.
import { appendFile, readFile, rename, stat } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const MAX_BYTES = 8 * 1024 * 1024;

/** `{append(environment, entry), recent(environment, limit)}` over the `name` files in `stateDir`. */
export function fileEntryLog(stateDir, name, { maxBytes = MAX_BYTES } = {}) {
  if (!/^[a-z]+$/.test(name)) throw new Error(`entry log: "${name}" is not a log name`);
  mkdirSync(stateDir, { recursive: true });
  const file = (environment, suffix = "") => {
    if (!/^[a-z]+$/.test(environment)) throw new Error(`${name}: "${environment}" is not an environment name`);
    return join(stateDir, `${name}-${environment}${suffix}.jsonl`);
  };
  let queue = Promise.resolve();
  // A file's lines are read again only when it changed (the relay asks for the newest setup every
  // few seconds; another instance may have appended to the same file).
  const cached = new Map();
  const lines = async (path) => {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if (error.code === "ENOENT") return [];
      throw error;
    }
    const hit = cached.get(path);
    if (hit && hit.size === info.size && hit.mtimeMs === info.mtimeMs) return hit.lines;
    const read = (await readFile(path, "utf8")).split("\n").filter(Boolean);
    cached.set(path, { size: info.size, mtimeMs: info.mtimeMs, lines: read });
    return read;
  };
  return {
    append(environment, entry) {
      if (typeof entry !== "string" || entry.includes("\n")) return Promise.reject(new TypeError(`${name}.append: an entry is one line of text`));
      const path = file(environment);
      const done = queue.then(async () => {
        const size = await stat(path).then((s) => s.size, () => 0);
        if (size + entry.length + 1 > maxBytes && size > 0) await rename(path, file(environment, ".1"));
        await appendFile(path, `${entry}\n`, { mode: 0o600 });
      });
      // One failed append does not stop the ones after it.
      queue = done.catch(() => {});
      return done;
    },
    async recent(environment, limit) {
      await queue;
      const count = Math.max(1, Math.floor(Number(limit) || 1));
      let found = [...(await lines(file(environment)))].reverse();
      if (found.length < count) found = found.concat([...(await lines(file(environment, ".1")))].reverse());
      return found.slice(0, count);
    },
  };
}
