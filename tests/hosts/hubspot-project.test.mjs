// The HubSpot developer project (www/hosts/hubspot) through HubSpot's own project parser,
// @hubspot/project-parsing-lib (what `hs project upload` runs first): hsproject.json, the platform
// version, each *-hsmeta.json (uid, type, top-level keys, the folder its type belongs in, one app).
//
// Offline, one part cannot run: the parser downloads HubSpot's component JSON schemas for the
// platform version from HubSpot's API, with an account. Here that download answers with empty
// schemas, so every check the parser makes itself runs and the schema-level field checks (scope
// names, config keys) are left to HubSpot's upload. A copy of the project with one deliberate mistake
// each shows the checks run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { http } from "@hubspot/local-dev-lib/http";
import { parseProjectConfig } from "@hubspot/project-parsing-lib/projects";
import { translate } from "@hubspot/project-parsing-lib/translate";

const PROJECT = new URL("../../www/hosts/hubspot", import.meta.url).pathname;
const schemaDownloads = [];
http.get = async (_account, { url }) => {
  schemaDownloads.push(url);
  return { data: { APPLICATION: {}, CARD: {} } };
};

/** The parser's verdict on a project folder: the components by uid, or its error text. */
async function parse(dir) {
  try {
    const config = parseProjectConfig(dir);
    const result = await translate({ projectSourceDir: join(dir, config.srcDir), platformVersion: config.platformVersion, accountId: 1 });
    return { ok: true, platformVersion: config.platformVersion, nodes: result.intermediateRepresentation.intermediateNodesIndexedByUid, skipped: result.skippedHsMetaFiles };
  } catch (error) {
    return { ok: false, error: error.name === "TranslationError" ? error.toString() : error.message };
  }
}

/** A copy of the project with `change(dir)` applied. */
function changedCopy(change) {
  const dir = join(mkdtempSync(join(tmpdir(), "hubspot-project-")), "project");
  cpSync(PROJECT, dir, { recursive: true, filter: (source) => !source.includes("node_modules") });
  change(dir);
  return dir;
}

const editJson = (dir, path, edit) => {
  const file = join(dir, path);
  const value = JSON.parse(readFileSync(file, "utf8"));
  edit(value);
  writeFileSync(file, JSON.stringify(value, null, 2));
};

test("HubSpot's parser accepts the project on the current platform version: the app and its deal sidebar card", async () => {
  const parsed = await parse(PROJECT);
  assert.ok(parsed.ok, parsed.error);
  assert.equal(parsed.platformVersion, "2026.03");
  assert.deepEqual(Object.keys(parsed.nodes).sort(), ["spotdraft_contracts_card", "spotdraft_crm_app"]);
  assert.deepEqual(parsed.skipped, [], "no hsmeta file is left out");
  assert.ok(schemaDownloads.some((url) => url.includes("2026.03")), "the parser asked for the platform's schemas");
});

test("the parser refuses a project with a mistake in it (so the acceptance above means something)", async (t) => {
  const cases = [
    ["a platform version that does not exist", (dir) => editJson(dir, "hsproject.json", (p) => { p.platformVersion = "2026.3"; }), /Unsupported platform version/],
    ["a key HubSpot does not know at the top level", (dir) => editJson(dir, "src/app/app-hsmeta.json", (app) => { app.name = "x"; }), /Unexpected top-level properties found: name/],
    ["a uid with a space", (dir) => editJson(dir, "src/app/cards/spotdraft-contracts-hsmeta.json", (card) => { card.uid = "spotdraft card"; }), /'uid' should use only letters/],
    ["a project without srcDir", (dir) => editJson(dir, "hsproject.json", (p) => { delete p.srcDir; }), /missing required field\(s\): srcDir/],
  ];
  for (const [name, change, expected] of cases) {
    await t.test(name, async () => {
      const dir = changedCopy(change);
      try {
        const parsed = await parse(dir);
        assert.equal(parsed.ok, false, `${name} was accepted`);
        assert.match(parsed.error, expected);
      } finally {
        rmSync(join(dir, ".."), { recursive: true, force: true });
      }
    });
  }
});
