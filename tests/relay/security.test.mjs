// The relay's security pass (SECURITY.md): HubSpot replay window, body limits, the route allow-list,
// no redirects and no foreign download URLs, CORS, ids that never reach SpotDraft, the sidebar page's
// headers when the relay serves it, and no configured secret in the package, the served files or the
// logs. Real components only: the sandbox binary, the relay server, loopback HTTP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { checkHostOrigin, loadBuiltPage, sidebarContentSecurityPolicy, VENDOR_FILES } from "../../www/relay/sidebar-files.js";
import { api, newDeal, relayConfig, signWithKey, startRelay, startSandbox, token } from "./support.mjs";

const root = new URL("../../", import.meta.url).pathname;
const HOST_ORIGINS = ["https://app.hubspot.com", "https://*.lightning.force.com", "http://127.0.0.1:5173"];

let sandbox;
let relay;
let deal;
let contract;
before(async () => {
  sandbox = await startSandbox();
  relay = await startRelay(sandbox, { config: { ...relayConfig(sandbox), sidebar: { hostOrigins: HOST_ORIGINS } } });
  const nda = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
  deal = await newDeal(sandbox, "Security deal");
  const reply = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { deal, templateId: nda } });
  assert.equal(reply.status, 201, JSON.stringify(reply.json));
  contract = reply.json.contract;
  for (const to of ["REDLINING", "SIGN", "EXECUTED"]) {
    const moved = await sandbox.control("POST", `/__sandbox/contracts/${contract.id}/transition`, { to });
    assert.equal(moved.status, 200, `${to}: ${JSON.stringify(moved.json)}`);
  }
});
after(async () => {
  await relay?.close();
  await sandbox?.stop();
});

/** How many requests the sandbox (SpotDraft and CRM) has received so far. */
async function upstreamCount() {
  return (await sandbox.control("GET", "/__sandbox/requests")).json.length;
}

/** Runs `work` and asserts that nothing it did reached SpotDraft or the CRM. */
async function reachesNothingUpstream(work) {
  const before = await upstreamCount();
  await work();
  assert.equal(await upstreamCount(), before, "no request reached the sandbox");
}

function hubspotHeaders(secret, method, url, body, timestamp) {
  const signature = createHmac("sha256", secret).update(`${method}${url}${body}${timestamp}`).digest("base64");
  return { "x-hubspot-signature-v3": signature, "x-hubspot-request-timestamp": String(timestamp) };
}

test("HubSpot v3: a signature older or newer than five minutes is refused, one inside the window is accepted", async () => {
  const secret = "uat-hubspot-app-client-secret";
  const url = `${relay.url}/api/uat/deals/1001/contracts?portalId=${sandbox.portal}&userId=77`;
  const at = async (offsetMs) => (await fetch(url, { headers: hubspotHeaders(secret, "GET", url, "", Date.now() + offsetMs) })).status;
  assert.equal(await at(-4 * 60 * 1000), 200, "four minutes old is inside the window");
  await reachesNothingUpstream(async () => {
    assert.equal(await at(-5 * 60 * 1000 - 5_000), 401, "a replay after five minutes");
    assert.equal(await at(-24 * 60 * 60 * 1000), 401, "a replay a day later");
    assert.equal(await at(6 * 60 * 1000), 401, "a timestamp in the future cannot extend the window");
    const missing = await fetch(url, { headers: { "x-hubspot-signature-v3": hubspotHeaders(secret, "GET", url, "", Date.now())["x-hubspot-signature-v3"] } });
    assert.equal(missing.status, 401, "no timestamp header");
  });
});

test("request bodies over the limits are refused before any work: sidebar routes, webhooks, the host", async () => {
  const bearer = token(sandbox, deal.id);
  const big = (bytes) => JSON.stringify({ templateId: 1, deal: { id: deal.id, name: "x".repeat(bytes) } });
  await reachesNothingUpstream(async () => {
    for (const route of ["preview", "contracts"]) {
      const reply = await fetch(`${relay.url}/api/uat/deals/${deal.id}/${route}`, {
        method: "POST", headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" }, body: big(70 * 1024),
      });
      assert.equal(reply.status, 413, route);
      assert.equal((await reply.json()).error.code, "too_large");
    }
    // Correctly signed, so only the size can refuse it.
    const body = JSON.stringify({ activity: "CONTRACT_EXECUTED", padding: "x".repeat(300 * 1024) });
    const webhook = await fetch(`${relay.url}/webhooks/spotdraft/uat`, {
      method: "POST", headers: { "content-type": "application/json", "X-SD-WEBHOOK-CONTENT-HASH": signWithKey(sandbox.uat.hmac_key, body) }, body,
    });
    assert.equal(webhook.status, 413);
  });
  // Over the host's 1 MiB, the Node host answers before the body has arrived, so it never buffers one:
  // from the declared length (no byte sent), and while streaming (the request is never finished).
  // A host that read the whole body first would never answer either of these.
  const declared = await rawPost("/api/uat/deals/1001/preview", { "content-length": String(2 * 1024 * 1024 * 1024) }, Buffer.alloc(0));
  assert.equal(declared.status, 413);
  const streamed = await rawPost("/webhooks/spotdraft/uat", { "transfer-encoding": "chunked" }, Buffer.alloc(1536 * 1024, 0x61));
  assert.equal(streamed.status, 413);
});

/** A POST written by hand and left open: the answer must come while the request is unfinished. */
function rawPost(path, headers, body) {
  return new Promise((resolve, reject) => {
    const target = new URL(path, relay.url);
    const timer = setTimeout(() => {
      outgoing.destroy();
      reject(new Error(`no answer to ${path} while its body was still coming`));
    }, 5_000);
    const outgoing = httpRequest({ host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers: { "content-type": "application/json", ...headers } }, (incoming) => {
      clearTimeout(timer);
      incoming.resume();
      resolve({ status: incoming.statusCode });
      outgoing.destroy();
    });
    outgoing.on("error", () => {}); // the relay closes the connection after answering
    outgoing.flushHeaders();
    if (body.length > 0) outgoing.write(body);
  });
}

test("only allow-listed routes and methods are served; everything else is 404/405 and reaches nothing", async () => {
  const bearer = token(sandbox, deal.id);
  const base = `/api/uat/deals/${deal.id}`;
  const refused = [
    ["PUT", `${base}/contracts`], ["DELETE", `${base}/contracts`], ["PATCH", `${base}/contracts/${contract.id}/status`],
    ["GET", `${base}/contracts/${contract.id}/download-link`], ["GET", `${base}/contracts/${contract.id}/send`],
    ["POST", `${base}/contracts/${contract.id}/status`], ["POST", `${base}/contracts/${contract.id}/void`],
    ["GET", `${base}/contracts/${contract.id}`], ["GET", "/api/uat/contracts"], ["GET", "/api/uat/templates"],
    ["GET", "/api/v2.1/public/contracts/"], ["GET", "/api/staging/config"], ["GET", "/webhooks/spotdraft/uat"],
    ["POST", "/webhooks/spotdraft/staging"], ["GET", "/"], ["GET", "/admin"], ["GET", "/__sandbox/contracts"],
    ["POST", "/sidebar/index.html"], ["GET", "/sidebar/../www/relay/server.js"],
  ];
  await reachesNothingUpstream(async () => {
    for (const [method, path] of refused) {
      const reply = await api(relay, method, path, { bearer });
      assert.ok([404, 405].includes(reply.status), `${method} ${path} → ${reply.status}`);
    }
    const trace = await new Promise((resolve, reject) => {
      const target = new URL("/api/uat/config", relay.url);
      httpRequest({ host: target.hostname, port: target.port, path: target.pathname, method: "TRACE" }, (incoming) => {
        incoming.resume();
        resolve(incoming.statusCode);
      }).on("error", reject).end();
    });
    assert.equal(trace, 405, "TRACE");
  });
});

test("ids that fail validation are answered 400 and never reach the CRM or SpotDraft", async () => {
  const bearer = token(sandbox, deal.id);
  const badDeals = ["..%2F..%2Fconfig", "1001%2F..", "1001%00", "1001;drop", "%E2%80%AE1001", "9".repeat(65)];
  const badContracts = ["4", "T-abc", "T-1%2F..%2F..", "..%2F..", "T-99999999999999999999999", `T-${"1".repeat(300)}`];
  await reachesNothingUpstream(async () => {
    for (const id of badDeals) {
      for (const [method, suffix] of [["GET", ""], ["GET", "/contracts"], ["POST", "/preview"], ["POST", "/contracts"]]) {
        const reply = await api(relay, method, `/api/uat/deals/${id}${suffix}`, { bearer, body: method === "POST" ? { templateId: 1 } : undefined });
        assert.equal(reply.status, 400, `${method} deals/${id}${suffix}: ${JSON.stringify(reply.json)}`);
        assert.equal(reply.json.error.code, "invalid_input");
      }
    }
    for (const id of badContracts) {
      for (const [method, suffix] of [["GET", "status"], ["POST", "download-link"], ["POST", "send"]]) {
        const reply = await api(relay, method, `/api/uat/deals/${deal.id}/contracts/${id}/${suffix}`, { bearer });
        assert.equal(reply.status, 400, `${method} contracts/${id}/${suffix}: ${JSON.stringify(reply.json)}`);
        assert.match(reply.json.error.message, /is not a contract id/);
      }
    }
  });
});

test("the relay never redirects, and hands out download URLs only on the configured origins", async () => {
  const bearer = token(sandbox, deal.id);
  const probes = [
    ["GET", "/?next=https://evil.example/"], ["GET", "//evil.example/"], ["GET", "/api/uat/config?redirect=https://evil.example"],
    ["POST", `/api/uat/deals/${deal.id}/contracts/${contract.id}/download-link?redirect_uri=https://evil.example`],
    ["GET", "/sidebar"], ["GET", "/sidebar/index.html?return=https://evil.example"],
  ];
  for (const [method, path] of probes) {
    const reply = await fetch(`${relay.url}${path}`, { method, redirect: "manual", headers: { authorization: `Bearer ${bearer}` } });
    assert.ok(reply.status < 300 || reply.status >= 400, `${method} ${path} → ${reply.status}`);
    assert.equal(reply.headers.get("location"), null, `${method} ${path} sets no Location`);
  }
  const link = await api(relay, "POST", `/api/uat/deals/${deal.id}/contracts/${contract.id}/download-link`, { bearer });
  assert.equal(link.status, 200, JSON.stringify(link.json));
  assert.equal(new URL(link.json.url).origin, new URL(sandbox.spotdraft).origin, "the sandbox's own origin is the API origin");

  // A SpotDraft whose download_link answers with another origin: the same sandbox behind a proxy that
  // makes it believe its host is 127.0.0.2, so the signed URL points there.
  const proxy = createServer((incoming, outgoing) => {
    const target = new URL(sandbox.spotdraft);
    const forwarded = httpRequest({ host: target.hostname, port: target.port, path: incoming.url, method: incoming.method,
      headers: { ...incoming.headers, host: `127.0.0.2:${target.port}` } }, (answer) => {
      outgoing.writeHead(answer.statusCode, answer.headers);
      answer.pipe(outgoing);
    });
    incoming.pipe(forwarded);
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const config = relayConfig(sandbox);
  config.environments.uat.spotdraft.baseUrl = `http://127.0.0.1:${proxy.address().port}`;
  const proxied = await startRelay(sandbox, { config });
  try {
    const refused = await api(proxied, "POST", `/api/uat/deals/${deal.id}/contracts/${contract.id}/download-link`, { bearer });
    assert.equal(refused.status, 502, JSON.stringify(refused.json));
    assert.equal(refused.json.error.code, "bad_response");
    assert.match(refused.json.error.message, /http:\/\/127\.0\.0\.2:\d+, which is not one of the configured download origins/);
    assert.ok(!JSON.stringify(refused.json).includes("signature="), "the signed URL itself is not echoed");
    assert.ok(!proxied.lines.join("\n").includes("signature="), "nor logged");
  } finally {
    await proxied.close();
    await new Promise((resolve) => proxy.close(resolve));
  }
});

test("CORS: only configured sidebar origins get Access-Control-Allow-Origin, on preflights and answers alike", async () => {
  const path = `/api/uat/deals/${deal.id}/contracts`;
  for (const origin of ["https://evil.example", "http://127.0.0.1:5174", "null", "http://127.0.0.1:5173.evil.example"]) {
    const preflight = await fetch(`${relay.url}${path}`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" } });
    assert.equal(preflight.headers.get("access-control-allow-origin"), null, `preflight from ${origin}`);
    assert.equal(preflight.headers.get("access-control-allow-headers"), null);
    const answer = await fetch(`${relay.url}${path}`, { headers: { origin, authorization: `Bearer ${token(sandbox, deal.id)}` } });
    assert.equal(answer.headers.get("access-control-allow-origin"), null, `GET from ${origin}`);
  }
  const allowed = await fetch(`${relay.url}${path}`, { headers: { origin: "http://127.0.0.1:5173", authorization: `Bearer ${token(sandbox, deal.id)}` } });
  assert.equal(allowed.headers.get("access-control-allow-origin"), "http://127.0.0.1:5173");
  assert.equal(allowed.headers.get("vary"), "Origin");
  assert.equal(allowed.headers.get("access-control-allow-credentials"), null, "no cookies are ever involved");
  const webhook = await fetch(`${relay.url}/webhooks/spotdraft/uat`, { method: "OPTIONS", headers: { origin: "http://127.0.0.1:5173" } });
  assert.equal(webhook.headers.get("access-control-allow-origin"), null, "webhooks are never for browsers");
});

test("the relay serves the sidebar page with a CSP header: no unsafe-inline/eval, frame-ancestors = the CRM origins", async () => {
  const page = await fetch(`${relay.url}/sidebar/index.html`);
  assert.equal(page.status, 200);
  const policy = page.headers.get("content-security-policy");
  const directives = Object.fromEntries(policy.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
  assert.deepEqual(directives["frame-ancestors"], HOST_ORIGINS);
  const html = await page.text();
  // Two inline scripts (the page's early start, then its module) and its styles, each allowed by its
  // hash and nothing else inline.
  const hashOf = (text) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
  const inlineScripts = [...html.matchAll(/<script(?: type="module")?>([\s\S]*?)<\/script>/g)].map((m) => hashOf(m[1]));
  assert.equal(inlineScripts.length, 2, "two inline scripts: the early start and the page's module");
  assert.deepEqual(directives["script-src"], ["'self'", "'wasm-unsafe-eval'", ...inlineScripts]);
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => hashOf(m[1]));
  assert.equal(styles.length, 1, "one inline stylesheet");
  assert.deepEqual(directives["style-src"], ["'self'", ...styles]);
  assert.deepEqual(directives["connect-src"], ["'self'"], "the relay is this origin");
  assert.deepEqual(directives["default-src"], ["'none'"]);
  assert.deepEqual(directives["base-uri"], ["'none'"]);
  assert.ok(!/unsafe-inline|unsafe-eval'|https:(\s|;|$)|\*(\s|;|$)/.test(policy.replace("'wasm-unsafe-eval'", "")), policy);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  assert.equal(page.headers.get("referrer-policy"), "no-referrer");
  assert.equal([...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>/gi)].length, 2, "no other inline script");
  assert.equal([...html.matchAll(/<style\b/gi)].length, 1, "no other inline style");
  assert.ok(!/\sstyle=/i.test(html), "no inline style attribute");
  assert.ok(!/\son[a-z]+=/i.test(html), "no inline event handler");
  // (The settings <meta> names the CRM origins: what matters is where the page loads from.)
  const loads = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
  assert.deepEqual(loads.map((url) => url.replace(/\.[0-9a-f]{12}\./, ".<hash>.")), ["./spotdraft_crm_sidebar_bg.<hash>.wasm"], "the page is one file but its wasm");
  assert.deepEqual(loads.filter((url) => !url.startsWith("./")), [], "nothing loaded from another origin");
  const settings = await (await fetch(`${relay.url}/sidebar/config.json`)).json();
  assert.deepEqual(settings.allowedHostOrigins, HOST_ORIGINS);
  // The same settings are written into the page, so it needs no config.json request to start.
  const written = html.match(/<meta name="sdx-settings" content="([^"]*)">/);
  assert.ok(written, "index.html carries the page's settings");
  assert.deepEqual(JSON.parse(written[1].replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&")), settings);
  const { manifest } = loadBuiltPage();
  const scripts = Object.keys(manifest.assets).filter((name) => name.endsWith(".js"));
  assert.ok(scripts.some((name) => name.startsWith("hosts/pipedrive.")), `the Pipedrive adapter is among ${scripts.join(", ")}`);
  // Zoho's SDK runs in Zoho's own widget page (www/hosts/zoho/widget), never in this one.
  assert.ok(!scripts.some((name) => name.startsWith("hosts/zoho.")), "no Zoho adapter in the page");
  for (const file of scripts) {
    const reply = await fetch(`${relay.url}/sidebar/${file}`);
    assert.equal(reply.status, 200, file);
    assert.ok(!/live\.zwidgets\.com|https:\/\/[a-z.]*\/[^"'\s]*\.js/.test(await reply.text()), `${file} loads no third-party script`);
  }
  // The adapters find their vendor SDK beside the page (../vendor/ from their chunk in hosts/), where it is served.
  for (const file of scripts.filter((name) => /^hosts\/pipedrive\./.test(name))) {
    const text = readFileSync(join(root, "dist/sidebar", file), "utf8");
    const urls = [...text.matchAll(/new URL\("([^"]+)",import\.meta\.url\)/g)].map((m) => new URL(m[1], `${relay.url}/sidebar/${file}`).pathname);
    assert.equal(urls.length, 1, `${file}: one module-relative URL, its SDK (${urls.join(", ")})`);
    assert.ok(VENDOR_FILES.map((name) => `/sidebar/${name}`).includes(urls[0]), `${file} loads its SDK from ${urls[0]}, which is not served`);
  }
  // Only the built page: not its sources, its manifest, its precompressed copies by name, the package or the relay.
  const hashedScript = scripts.find((name) => name.startsWith("hosts/pipedrive."));
  for (const path of ["/sidebar/sidebar.js", "/sidebar/protocol.js", "/sidebar/hosts/connection.js", "/sidebar/hosts/parent.js", "/sidebar/manifest.json",
    `/sidebar/${hashedScript}.br`, `/sidebar/${hashedScript}.gz`, "/pkg/sidebar.js", "/pkg/spotdraft_crm_sidebar_bg.wasm",
    "/pkg/node.js", "/pkg/spotdraft_crm_bg.wasm", "/pkg/package.json", "/sidebar/%2e%2e/relay/server.js", "/sidebar/hosts/../../relay/config.js"]) {
    assert.equal((await fetch(`${relay.url}${path}`)).status, 404, `${path} is not served`);
  }
});

/** A GET with exactly these request headers, answered as sent (fetch would ask for and undo compression itself). */
function rawGet(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const target = new URL(path, relay.url);
    httpRequest({ host: target.hostname, port: target.port, path: target.pathname, headers }, (incoming) => {
      const chunks = [];
      incoming.on("data", (chunk) => chunks.push(chunk));
      incoming.on("end", () => resolve({ status: incoming.statusCode, headers: incoming.headers, body: Buffer.concat(chunks) }));
    }).on("error", reject).end();
  });
}

test("the sidebar page's hashed files are cached for a year and compressed as the browser accepts; index.html is revalidated", async () => {
  const { manifest, template } = loadBuiltPage();
  // index.html names only files the relay serves from the build.
  const referenced = [...template.matchAll(/(?:href|src)="\.\/([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(referenced)].sort(), manifest.initial.filter((name) => name !== manifest.index).sort());
  for (const name of Object.keys(manifest.assets)) {
    const original = readFileSync(join(root, "dist/sidebar", name));
    for (const [accept, encoding, decode] of [["gzip, deflate, br", "br", brotliDecompressSync], ["gzip", "gzip", gunzipSync], ["br;q=0, gzip;q=0.5", "gzip", gunzipSync], ["", undefined, (b) => b]]) {
      const reply = await rawGet(`/sidebar/${name}`, accept ? { "accept-encoding": accept } : {});
      assert.equal(reply.status, 200, name);
      assert.equal(reply.headers["cache-control"], "public, max-age=31536000, immutable", name);
      assert.equal(reply.headers.vary, "Accept-Encoding", name);
      assert.equal(reply.headers["content-encoding"], encoding, `${name} for Accept-Encoding "${accept}"`);
      assert.ok(decode(reply.body).equals(original), `${name} (${encoding ?? "identity"}) is the built file`);
      assert.ok(reply.headers["content-security-policy"], `${name} carries the CSP`);
    }
  }
  const first = await rawGet("/sidebar/index.html", { "accept-encoding": "br" });
  assert.equal(first.status, 200);
  assert.equal(first.headers["cache-control"], "no-cache");
  assert.equal(first.headers["content-encoding"], "br");
  assert.equal(first.headers.vary, "Accept-Encoding");
  assert.match(first.headers.etag, /^"[A-Za-z0-9_-]+"$/);
  assert.match(brotliDecompressSync(first.body).toString(), /<meta name="sdx-settings" content="\{/);
  const again = await rawGet("/sidebar/index.html", { "if-none-match": first.headers.etag, "accept-encoding": "br" });
  assert.equal(again.status, 304, "unchanged: not sent again");
  assert.equal(again.body.length, 0);
  assert.equal(again.headers.etag, first.headers.etag);
  assert.equal((await rawGet("/sidebar/index.html", { "if-none-match": '"something-else"' })).status, 200, "another ETag: sent in full");
});

test("host origins that would widen or break the CSP are refused", () => {
  for (const bad of ["*", "https:", "https://app.hubspot.com; script-src *", "'unsafe-inline'", "http://evil.example", "https://app.hubspot.com/path", "https://*", "HTTPS://APP.HUBSPOT.COM", "javascript:alert(1)"]) {
    assert.throws(() => checkHostOrigin(bad), /is not an origin/, bad);
  }
  assert.throws(() => sidebarContentSecurityPolicy({ hostOrigins: [], relayUrl: "http://relay.example" }), /must be https/);
  assert.match(sidebarContentSecurityPolicy({ hostOrigins: [] }), /frame-ancestors 'none'/, "no configured host: nobody may frame it");
  assert.match(sidebarContentSecurityPolicy({ hostOrigins: ["https://app.hubspot.com"], relayUrl: "https://relay.example.com/base" }), /connect-src 'self' https:\/\/relay\.example\.com;/);
  for (const hashes of [{ scripts: ["sha256-x' 'unsafe-inline"] }, { styles: ["sha256-x' 'unsafe-inline"] }]) {
    assert.throws(() => sidebarContentSecurityPolicy({ hostOrigins: [] }, hashes), /not sha256-<base64>/, "a manifest cannot widen script-src or style-src");
  }
});

/** Every secret value in a relay configuration document (credentials, keys, tokens, host secrets). */
function configuredSecrets(config) {
  const out = [];
  for (const env of Object.values(config.environments)) {
    out.push(env.spotdraft.clientSecret, env.spotdraft.hmacKey, env.crm.token, env.hubspotClientSecret, ...Object.values(env.hostSecrets ?? {}));
  }
  return out.filter((s) => typeof s === "string" && s.length >= 8);
}

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

test("no configured secret in the built package, the files the relay serves, its answers or its log lines", async () => {
  const secrets = configuredSecrets(relayConfig(sandbox));
  assert.ok(secrets.length >= 10, "the scan knows the secrets it looks for");
  // Also the encodings a leak would likely take.
  const forms = secrets.flatMap((s) => [s, Buffer.from(s).toString("base64"), encodeURIComponent(s)]);
  const leaks = (text) => forms.filter((form) => text.includes(form)).map((form) => `${form.slice(0, 4)}…`);

  const packageFiles = filesUnder(join(root, "pkg"));
  assert.ok(packageFiles.some((f) => f.endsWith("spotdraft_crm_bg.wasm")));
  for (const file of packageFiles) assert.deepEqual(leaks(readFileSync(file).toString("latin1")), [], file);

  // Exercise the paths that handle secrets before reading the logs: a signed webhook, a bad signature,
  // a token in a header, the HubSpot session mint, the download link.
  const body = JSON.stringify({ activity: "CONTRACT_EXECUTED", contract_id: 1, contract_status: "EXECUTED" });
  await fetch(`${relay.url}/webhooks/spotdraft/uat`, { method: "POST", headers: { "X-SD-WEBHOOK-CONTENT-HASH": signWithKey(sandbox.uat.hmac_key, body) }, body });
  await fetch(`${relay.url}/webhooks/spotdraft/uat`, { method: "POST", headers: { "X-SD-WEBHOOK-CONTENT-HASH": sandbox.uat.hmac_key }, body });
  await api(relay, "GET", `/api/uat/deals/${deal.id}/contracts`, { bearer: sandbox.uat.client_secret });
  const answers = [];
  for (const path of ["/api/uat/config", `/api/uat/deals/${deal.id}`, `/api/uat/deals/${deal.id}/contracts`]) {
    answers.push(JSON.stringify((await api(relay, "GET", path, { bearer: token(sandbox, deal.id) })).json));
  }
  for (const path of ["/sidebar/index.html", "/sidebar/config.json", ...Object.keys(loadBuiltPage().manifest.assets).map((name) => `/sidebar/${name}`)]) {
    const reply = await fetch(`${relay.url}${path}`);
    assert.equal(reply.status, 200, path);
    answers.push(Buffer.from(await reply.arrayBuffer()).toString("latin1"));
  }
  assert.deepEqual(leaks(answers.join("\n")), [], "served files and answers");
  const logs = relay.lines.join("\n");
  assert.ok(relay.lines.length > 20);
  assert.deepEqual(leaks(logs), [], "log lines");
  assert.ok(!logs.includes("eyJ"), "no token in the logs");
  assert.ok(!logs.includes("signature="), "no signed URL in the logs");
});
