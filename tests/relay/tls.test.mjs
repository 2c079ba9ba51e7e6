// The relay behind a TLS-terminating proxy, as it runs in production: HubSpot signs the https URL it
// called, so signatures are checked against the relay's public URL (configured), or against the
// forwarded headers of a trusted proxy, and never against whatever a Host or X-Forwarded-* header
// from anyone else says. The proxy is a real one: TLS with a certificate made for this test, on
// loopback, forwarding from its own address (127.0.0.2) so the relay can tell it from other peers.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer as createTlsServer, request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hubspotHeaders, startRelay, startSandbox } from "./support.mjs";

const SECRET = "uat-hubspot-app-client-secret";
const PROXY_ADDRESS = "127.0.0.2";

let sandbox;
let certificate;
const closers = [];

function selfSignedCertificate() {
  const dir = mkdtempSync(join(tmpdir(), "relay-tls-"));
  const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "ignore" });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** A TLS-terminating reverse proxy in front of `target` (set later), forwarding from 127.0.0.2. */
async function startProxy() {
  const proxy = { target: null };
  const server = createTlsServer(certificate, (incoming, outgoing) => {
    const forwarded = httpRequest({
      host: "127.0.0.1", port: proxy.target, localAddress: PROXY_ADDRESS, method: incoming.method, path: incoming.url,
      headers: { ...incoming.headers, "x-forwarded-proto": "https", "x-forwarded-host": incoming.headers.host, "x-forwarded-for": incoming.socket.remoteAddress },
    }, (answer) => {
      outgoing.writeHead(answer.statusCode, answer.headers);
      answer.pipe(outgoing);
    });
    forwarded.on("error", () => { outgoing.writeHead(502); outgoing.end(); });
    incoming.pipe(forwarded);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  proxy.origin = `https://localhost:${server.address().port}`;
  return proxy;
}

/** GET over https (trusting the test's certificate) or http; the status. */
function get(url, headers = {}) {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { headers, ca: certificate.cert }, (answer) => {
      answer.resume();
      answer.on("end", () => resolve(answer.statusCode));
    });
    req.on("error", reject);
    req.end();
  });
}

async function relayBehind(proxy, options) {
  const relay = await startRelay(sandbox, options);
  closers.push(() => relay.close());
  proxy.target = Number(new URL(relay.url).port);
  return relay;
}

const route = (origin) => `${origin}/api/uat/deals/1001/contracts?portalId=${sandbox.portal}&userId=77`;
const signedFor = (url) => hubspotHeaders(SECRET, "GET", url, "");

before(async () => {
  certificate = selfSignedCertificate();
  sandbox = await startSandbox();
});
after(async () => {
  for (const close of closers.reverse()) await close();
  await sandbox?.stop();
});

test("with a public URL, the card's signed https calls pass through the proxy; Host and X-Forwarded-* change nothing", async () => {
  const proxy = await startProxy();
  const relay = await relayBehind(proxy, { publicUrl: proxy.origin });
  assert.equal(await get(route(proxy.origin), signedFor(route(proxy.origin))), 200, "signed over the public URL, through TLS");
  // Straight to the relay, with headers claiming another authority: what is checked stays the public URL.
  const spoofed = "https://evil.example";
  const direct = route(relay.url);
  assert.equal(await get(direct, { ...signedFor(route(spoofed)), host: "evil.example", "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" }), 401);
  assert.equal(await get(direct, signedFor(direct)), 401, "the listening address is not the relay's public URL");
  assert.equal(await get(direct, signedFor(route(proxy.origin))), 200, "the public URL is what counts, whichever way the request came");
});

test("without a public URL, forwarded headers count only from a trusted proxy", async () => {
  const proxy = await startProxy();
  const relay = await relayBehind(proxy, { trustedProxies: [PROXY_ADDRESS] });
  assert.equal(await get(route(proxy.origin), signedFor(route(proxy.origin))), 200, "the trusted proxy says https and its host");
  const direct = route(relay.url);
  const claimed = { "x-forwarded-proto": "https", "x-forwarded-host": new URL(proxy.origin).host };
  assert.equal(await get(direct, { ...signedFor(route(proxy.origin)), ...claimed }), 401, "the same claim from an untrusted peer is ignored");
  assert.equal(await get(direct, { ...signedFor(route("http://evil.example")), host: "evil.example" }), 401, "a Host header alone picks nothing");
  assert.equal(await get(direct, signedFor(direct)), 200, "an untrusted peer is checked against the address the relay listens on");
});

test("a public URL must be an https origin", async () => {
  for (const bad of ["http://relay.example.com", "https://relay.example.com/relay", "relay.example.com"]) {
    await assert.rejects(startRelay(sandbox, { publicUrl: bad }), /http\.publicUrl/, bad);
  }
});
