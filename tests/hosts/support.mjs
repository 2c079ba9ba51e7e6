// Shared helpers for the host-adapter tests: HS256 tokens like the hosts mint them, a recording
// fetch, and a minimal window.

import { createHmac } from "node:crypto";

export function b64url(text) {
  return Buffer.from(text).toString("base64url");
}

/** An HS256 JWT over `claims` (what Pipedrive's get_signed_token and the host functions return). */
export function hs256(claims, secret = "a-host-secret-of-at-least-32-characters") {
  const input = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** A fetch that answers from `route(url, init)` → { status, body } and records every call. */
export function recordingFetch(route) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    calls.push({ url: String(url), init });
    const { status = 200, body = {} } = (await route(String(url), init)) ?? {};
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  };
  return { fetch, calls };
}

/** A window-like object for in-process adapters. */
export function fakeWindow({ search = "", ancestor = null, parent = null, fetch = null } = {}) {
  const opened = [];
  const win = {
    location: { search, ancestorOrigins: ancestor ? [ancestor] : [] },
    document: { referrer: "" },
    parent,
    fetch,
    opened,
    open: (url, target, features) => {
      opened.push({ url, target, features });
      return null;
    },
    addEventListener() {},
    removeEventListener() {},
    innerWidth: 320,
  };
  if (!parent) win.parent = win;
  return win;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
