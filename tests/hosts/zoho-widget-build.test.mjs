// The Zoho CRM widget's zip, built by scripts/build-zoho-widget.mjs with Zoho's own extension toolkit
// (zet validate, zet pack; offline, HOME in a temporary folder): what an admin uploads in Zoho CRM.
// Each build goes to its own temporary folder (--out), so these tests never touch dist/.
// The check can fail: a copy of the widget project with a file name Zoho refuses, or a file type it
// drops from the zip, makes the build fail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";

const root = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = join(root, "scripts/build-zoho-widget.mjs");
const PROJECT = join(root, "www/hosts/zoho/widget");
const SDK_URL = "https://live.zwidgets.com/js-sdk/1.5/ZohoEmbededAppSDK.min.js";

function build(...args) {
  return spawnSync(process.execPath, [SCRIPT, ...args], { cwd: root, encoding: "utf8" });
}

function scratch(t) {
  const dir = mkdtempSync(join(tmpdir(), "zoho-widget-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The zip's entries, read from its central directory (independently of the build script's reader). */
function readZip(bytes) {
  let end = bytes.length - 22;
  while (end >= 0 && bytes.readUInt32LE(end) !== 0x06054b50) end -= 1;
  assert.ok(end >= 0, "a zip file");
  const entries = new Map();
  let at = bytes.readUInt32LE(end + 16);
  for (let i = 0; i < bytes.readUInt16LE(end + 10); i += 1) {
    assert.equal(bytes.readUInt32LE(at), 0x02014b50);
    const nameLength = bytes.readUInt16LE(at + 28);
    const name = bytes.toString("utf8", at + 46, at + 46 + nameLength);
    const method = bytes.readUInt16LE(at + 10);
    const compressed = bytes.readUInt32LE(at + 20);
    const local = bytes.readUInt32LE(at + 42);
    const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    const data = bytes.subarray(start, start + compressed);
    if (!name.endsWith("/")) entries.set(name, method === 8 ? inflateRawSync(data) : data);
    at += 46 + nameLength + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
  }
  return entries;
}

test("the widget builds: zet validate passes and the zip holds widget.html and the bundled host script", (t) => {
  const out = join(scratch(t), "zoho-widget");
  const run = build("--out", out);
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /zet validate: Validation Rules passed successfully/);
  const zip = run.stdout.trim().split("\n").pop();
  assert.equal(zip, join(out, "dist", "zoho-widget.zip"), "the zip's path is printed last");

  const entries = readZip(readFileSync(zip));
  // CRM zips hold app/ only (zet leaves the manifest out for CRM).
  assert.deepEqual([...entries.keys()].sort(), ["app/css/widget.css", "app/js/spotdraft-zoho-widget.js", "app/widget.html"]);

  const html = entries.get("app/widget.html").toString("utf8");
  const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(scripts, [SDK_URL, "js/spotdraft-zoho-widget.js"], "Zoho's SDK from Zoho's CDN, then the host script");

  const bundle = entries.get("app/js/spotdraft-zoho-widget.js").toString("utf8");
  assert.ok(!/^\s*(import|export)\b|\bimport\s*\(/m.test(bundle), "one classic script: no module syntax left");
  assert.ok(bundle.includes("spotdraft_relay_token"), "calls the Deluge function");
  assert.ok(bundle.includes("host=zoho"), "frames the sidebar page as host zoho");
  assert.ok(bundle.includes("host.ready"), "embedSidebar (www/sidebar/hosts/parent.js) is bundled in");
  assert.ok(!bundle.includes("ZohoEmbededAppSDK") && !/ZOHO\s*=/.test(bundle), "Zoho's SDK is not bundled: widget.html loads it from Zoho");
  assert.ok(bundle.length < 40_000, `the host script stays small (${bundle.length} bytes)`);

  // The source project stays as committed: the bundle only exists in the built copy.
  assert.ok(!existsSync(join(PROJECT, "app/js")), "no bundle written into www/hosts/zoho/widget/app");
});

test("a project with a file name Zoho refuses fails the build at zet validate, with no zip", (t) => {
  const dir = scratch(t);
  cpSync(PROJECT, join(dir, "widget"), { recursive: true });
  writeFileSync(join(dir, "widget/app/read me.txt"), "a name with a space");
  const out = join(dir, "zoho-widget");
  const run = build("--project", join(dir, "widget"), "--out", out);
  assert.notEqual(run.status, 0, run.stdout);
  assert.match(run.stderr, /FAILED: zet validate refused the widget/);
  assert.match(run.stderr, /read me\.txt/, "says which file");
  assert.ok(!existsSync(join(out, "dist/zoho-widget.zip")));
});

test("a file type zet pack would silently leave out (.wasm) fails the build", (t) => {
  const dir = scratch(t);
  cpSync(PROJECT, join(dir, "widget"), { recursive: true });
  writeFileSync(join(dir, "widget/app/sidebar.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  const run = build("--project", join(dir, "widget"), "--out", join(dir, "zoho-widget"));
  assert.notEqual(run.status, 0, run.stdout);
  assert.match(run.stderr, /FAILED: .*type Zoho does not take/);
  assert.match(run.stderr, /sidebar\.wasm/);
});

test("a manifest for another Zoho service is refused", (t) => {
  const dir = scratch(t);
  cpSync(PROJECT, join(dir, "widget"), { recursive: true });
  writeFileSync(join(dir, "widget/plugin-manifest.json"), JSON.stringify({ service: "DESK" }));
  const run = build("--project", join(dir, "widget"), "--out", join(dir, "zoho-widget"));
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /"service" must be "CRM"/);
});

test("the Deluge function checks the deal and answers the session with the relay URL, environment and tenant from org variables", () => {
  const source = readFileSync(join(root, "www/hosts/zoho/spotdraft_relay_token.deluge"), "utf8");
  for (const variable of ["spotdraft_relay_host_secret", "spotdraft_zoho_org_id", "spotdraft_relay_url", "spotdraft_environment"]) {
    assert.ok(source.includes(`zoho.crm.getOrgVariable("${variable}")`), `reads ${variable}`);
    assert.ok(source.slice(0, source.indexOf("string standalone.")).includes(variable), `its header describes ${variable}`);
  }
  for (const key of ["token", "expiresAt", "relayUrl", "environment", "tenant"]) assert.ok(source.includes(`result.put("${key}",`), `answers ${key}`);
  assert.match(source, /zoho\.crm\.getRecordById\("Deals",deal_id\.toLong\(\)\)/, "still checks that the deal exists");
  assert.match(source, /environment != "uat" && environment != "production"/);
  assert.match(source, /relayUrl\.matches\("https:\/\//, "only an https relay URL");
});

test("the workflow function posts each changed deal to /crm-events/ with an event token minted from the same org variables, never printing the secret", () => {
  const source = readFileSync(join(root, "www/hosts/zoho/spotdraft_deal_changed.deluge"), "utf8");
  const session = readFileSync(join(root, "www/hosts/zoho/spotdraft_relay_token.deluge"), "utf8");
  const signature = "void automation.spotdraft_deal_changed(string deal_id)";
  assert.ok(source.includes(`\n${signature}\n`), "a workflow (automation) function taking deal_id");
  const header = source.slice(0, source.indexOf(signature));
  assert.match(header, /Workflow Rules/);
  assert.match(header, /deal_id = Deals - Deal Id/, "its header says how the rule maps the argument");

  // The same four org variables, checked exactly as the session function checks them.
  for (const variable of ["spotdraft_relay_host_secret", "spotdraft_zoho_org_id", "spotdraft_relay_url", "spotdraft_environment"]) {
    assert.ok(source.includes(`zoho.crm.getOrgVariable("${variable}")`), `reads ${variable}`);
  }
  // (Not the session's read of the deal: the rule names a deal Zoho just saved, and the relay reads it.)
  const checks = session.split("\n").filter((line) => /^\t(if\(|\t?relayUrl = |\t?environment = )/.test(line) && !line.includes("deal.get"));
  assert.ok(checks.length >= 7, checks.join("\n"));
  for (const line of checks) assert.ok(source.includes(`${line}\n`), `checks like spotdraft_relay_token.deluge: ${line.trim()}`);

  // The token: the session's construction, for the events audience and no user.
  const events = /pub const EVENTS_AUDIENCE: &str = "([^"]+)";/.exec(readFileSync(join(root, "src/auth.rs"), "utf8"));
  assert.ok(events, "src/auth.rs declares EVENTS_AUDIENCE");
  assert.equal(events[1], "spotdraft-crm-relay/crm-events");
  for (const claim of ['"iss","zoho"', `"aud","${events[1]}"`, '"tenant",tenant', '"record",deal_id', '"sub","crm-event"', '"iat",now', '"exp",now + 300']) {
    assert.ok(source.includes(`claims.put(${claim});`), `claim ${claim}`);
  }
  assert.ok(!source.includes('claims.put("aud","spotdraft-crm-relay");'), "never a session token");
  const signing = session.split("\n").filter((line) => /^\t(now|header64|claims64|signingInput|signature) = /.test(line));
  assert.equal(signing.length, 8);
  for (const line of signing) assert.ok(source.includes(`${line}\n`), `signs like spotdraft_relay_token.deluge: ${line.trim()}`);

  // One POST per deal, the token as a bearer, an empty JSON body; the status is logged.
  assert.ok(source.includes('headers.put("Authorization","Bearer " + signingInput + "." + signature);'));
  assert.ok(source.includes('headers.put("Content-Type","application/json");'));
  const call = source.slice(source.indexOf("invokeurl"), source.indexOf("];") + 2).replace(/\s+/g, " ");
  assert.equal(call, 'invokeurl [ url :relayUrl + "/crm-events/" + environment type :POST parameters:"{}" headers:headers detailed:true ];');
  assert.equal(source.match(/invokeurl/g).length, 1, "one call");
  assert.match(source, /^\tinfo "SpotDraft relay answered " \+ response\.get\("responseCode"\) \+ " for deal " \+ deal_id;$/m);

  // Nothing secret leaves the function: logs name no variable holding the secret or the token, and
  // a workflow function returns nothing.
  const logs = source.match(/^\s*info .*$/gm);
  assert.ok(logs.length >= 5);
  for (const line of logs) {
    const code = line.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    assert.doesNotMatch(code, /\b(secret|signature|signingInput|headers|claims|claims64|header64)\b/, line);
  }
  assert.doesNotMatch(source, /^\s*return\s+[^;\s]/m, "returns no value");
  assert.doesNotMatch(source, /sendmail|result\.put/);
});
