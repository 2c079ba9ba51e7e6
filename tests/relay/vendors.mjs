// The relay on each emulated CRM (Salesforce, Zoho CRM, Pipedrive), configured as an admin would
// connect it: OAuth with a refresh token against the vendor's token endpoint, the write-back fields
// the vendor's admin created, the vendor's own stage vocabulary. HubSpot's suites are the other files.
import { sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { mintToken, SpotDraftClient } from "../../pkg/node.js";
import { resolveEnvReferences } from "../../www/relay/config.js";
import { SECRETS, handMadeToken, ndaTemplate, startRelay } from "./support.mjs";

export const VENDORS = ["salesforce", "zoho", "pipedrive"];

/** Per vendor: the installation id, the stages at which a contract may be created, how to read a record. */
const SHAPES = {
  salesforce: {
    tenant: "00DHs0000000001MAA",
    stages: ["Negotiation/Review", "Id. Decision Makers", "Needs Analysis"],
    oauth: (crm, vendor) => ({ clientId: vendor.client_id, clientSecret: vendor.client_secret, refreshToken: vendor.users[0].refresh_token, tokenUrl: `${crm}/services/oauth2/token` }),
    // The connected app's certificate instead (JWT bearer grant), its key from the environment as an admin would keep it.
    jwt: (crm, vendor) => ({ clientId: vendor.client_id, username: vendor.users[0].email, privateKeyPem: "env:SF_JWT_PRIVATE_KEY", tokenUrl: `${crm}/services/oauth2/token` }),
  },
  zoho: {
    tenant: "20050001",
    stages: ["Negotiation/Review", "Identify Decision Makers", "Needs Analysis"],
    oauth: (crm, vendor) => ({ clientId: vendor.client_id, clientSecret: vendor.client_secret, refreshToken: vendor.users[0].refresh_token, accountsDomain: crm }),
  },
  pipedrive: {
    tenant: "7001",
    stages: ["4", "2", "1"],
    oauth: (crm, vendor) => ({ clientId: vendor.client_id, clientSecret: vendor.client_secret, refreshToken: vendor.users[0].refresh_token, tokenUrl: `${crm}/oauth/token` }),
  },
};

export const PIPEDRIVE_SECRET = "uat-pipedrive-app-client-secret-0123456789";
/** What the Zoho org's minting function signs sessions with (its org variable). */
export const ZOHO_SECRET = "uat-zoho-host-secret-0123456789abcdef012345";

export async function vendorInfo(sandbox) {
  return (await sandbox.control("GET", "/__sandbox/crm/vendors")).json;
}

/** The sandbox's TEST-ONLY Salesforce connected-app private key (its emulator holds the public half). */
export const SALESFORCE_TEST_KEY = readFileSync(new URL("../../sandbox/keys/salesforce-jwt-test.key.pem", import.meta.url), "utf8");
/**
 * The org's signing certificate as an admin downloads it from Certificate and Key Management, here
 * the same TEST-ONLY key pair's self-signed certificate: the relay verifies the Apex minter's RS256
 * sessions with it (hostKeys.salesforce), so no secret is kept in the org.
 */
export const SALESFORCE_SIGNING_CERTIFICATE = readFileSync(new URL("../../sandbox/keys/salesforce-jwt-test.cert.pem", import.meta.url), "utf8");

/** A session as the Apex minter signs it (`Crypto.signWithCertificate('RSA-SHA256', …)`): RS256 over the relay's claims. */
export function salesforceSession({ tenant, record, user, ttl = 300, key = SALESFORCE_TEST_KEY }) {
  const now = Math.floor(Date.now() / 1000);
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part({ alg: "RS256", typ: "JWT" })}.${part({ iss: "salesforce", aud: "spotdraft-crm-relay", tenant, record, sub: user, iat: now, exp: now + ttl })}`;
  return `${input}.${sign("sha256", Buffer.from(input), key).toString("base64url")}`;
}

/** What must never reach the relay's log for this connection: the refresh token, or the private key. */
export function connectionSecrets(name, vendors, { connection } = {}) {
  if (connection === "jwt") return SALESFORCE_TEST_KEY.split("\n").filter((line) => line.length > 20 && !line.startsWith("-----"));
  return [vendors[name].users[0].refresh_token];
}

/** `connection`: "jwt" connects Salesforce with its connected app's certificate, else OAuth with a refresh token. */
export function vendorRelayConfig(sandbox, name, vendors, { connection } = {}) {
  const vendor = vendors[name];
  const shape = SHAPES[name];
  const oauth = connection === "jwt"
    ? resolveEnvReferences(shape.jwt(sandbox.crm, vendor), { SF_JWT_PRIVATE_KEY: SALESFORCE_TEST_KEY })
    : shape.oauth(sandbox.crm, vendor);
  return {
    environments: {
      uat: {
        plugin: {
          environment: "uat",
          crm: { host: name, accountId: shape.tenant },
          api: { baseUrl: sandbox.spotdraft },
          creationStages: shape.stages,
          templates: [ndaTemplate(sandbox.uat)],
        },
        spotdraft: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret, hmacKey: sandbox.uat.hmac_key },
        crm: { baseUrl: sandbox.crm, oauth, fields: vendor.fields },
        hostSecrets: { demo: SECRETS.uat, pipedrive: PIPEDRIVE_SECRET, zoho: ZOHO_SECRET },
        hostKeys: { salesforce: SALESFORCE_SIGNING_CERTIFICATE },
      },
    },
  };
}

/** A relay on the vendor's emulator, with the uat workspace's status webhooks delivered to it. */
export async function startVendorRelay(sandbox, name, vendors, options = {}) {
  const config = vendorRelayConfig(sandbox, name, vendors, options);
  Object.assign(config.environments.uat.crm, options.crm ?? {});
  const relay = await startRelay(sandbox, { config });
  const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
  await client.registerStatusWebhook(`${relay.url}/webhooks/spotdraft/uat`);
  return relay;
}

/**
 * A session for `seller` (one of the vendor's users) on `deal`, as that CRM's host side makes it:
 * Pipedrive's signed token (user id and company), the Salesforce Apex minter's token (user id), the
 * Zoho minting function's token (the user's login email, `zoho.loginuserid`).
 */
export function sellerToken(name, deal, seller) {
  const tenant = SHAPES[name].tenant;
  if (name === "pipedrive") {
    const now = Math.floor(Date.now() / 1000);
    return handMadeToken(PIPEDRIVE_SECRET, { companyId: Number(tenant), userId: Number(seller.id), iat: now, exp: now + 300 });
  }
  if (name === "salesforce") return salesforceSession({ tenant, record: String(deal), user: seller.id });
  return mintToken(ZOHO_SECRET, { host: "zoho", tenant, record: String(deal), user: seller.email }, 300);
}

/** The SpotDraft fields on the vendor's record, read through the vendor's own API as an admin would. */
export async function vendorRecord(sandbox, name, vendors, dealId) {
  const vendor = vendors[name];
  const keys = Object.values(vendor.fields);
  const form = (params) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(params).toString() });
  const refresh = { grant_type: "refresh_token", client_id: vendor.client_id, client_secret: vendor.client_secret, refresh_token: vendor.users[0].refresh_token };
  let values;
  if (name === "salesforce") {
    const { access_token: token } = await (await fetch(`${sandbox.crm}/services/oauth2/token`, form(refresh))).json();
    const record = await (await fetch(`${sandbox.crm}/services/data/v62.0/sobjects/Opportunity/${dealId}?fields=${keys.join(",")}`, { headers: { authorization: `Bearer ${token}` } })).json();
    values = record;
  } else if (name === "zoho") {
    const { access_token: token } = await (await fetch(`${sandbox.crm}/oauth/v2/token`, form(refresh))).json();
    const record = await (await fetch(`${sandbox.crm}/crm/v8/Deals/${dealId}?fields=${keys.join(",")}`, { headers: { authorization: `Zoho-oauthtoken ${token}` } })).json();
    values = record.data?.[0] ?? {};
  } else {
    const record = await (await fetch(`${sandbox.crm}/api/v2/deals/${dealId}?custom_fields=${keys.join(",")}`, { headers: { "x-api-token": vendor.api_token } })).json();
    values = record.data?.custom_fields ?? {};
  }
  return Object.fromEntries(Object.entries(vendor.fields).map(([field, key]) => [field, values[key] ?? null]));
}

/**
 * One CRM as a suite drives it, the same way for all four: a relay on it (webhooks delivered), new
 * deals at a stage that allows a contract, a seller's session, and the record's SpotDraft fields as
 * the CRM's own API shows them.
 */
/** `crm`: more of the relay's `crm` block (key terms, the signed PDF, the timeline). */
export async function crmUnderTest(sandbox, name, { crm = {} } = {}) {
  if (name === "hubspot") {
    const { newDeal, relayConfig, startRelay, token, crmFields } = await import("./support.mjs");
    // Connected through HubSpot's OAuth app (access tokens that expire), not a private app token.
    const app = (await vendorInfo(sandbox)).hubspot;
    const config = relayConfig(sandbox);
    config.environments.uat.crm = {
      baseUrl: sandbox.crm,
      oauth: { clientId: app.client_id, clientSecret: app.client_secret, refreshToken: app.users[0].refresh_token, tokenUrl: `${sandbox.crm}/oauth/v1/token` },
      ...crm,
    };
    const relay = await startRelay(sandbox, { config });
    const client = new SpotDraftClient({ baseUrl: sandbox.spotdraft, credentials: { clientId: sandbox.uat.client_id, clientSecret: sandbox.uat.client_secret } });
    await client.registerStatusWebhook(`${relay.url}/webhooks/spotdraft/uat`);
    return {
      name, relay,
      externalId: (dealId) => `hubspot:${sandbox.portal}:deal:${dealId}`,
      newDeal: async (label) => (await newDeal(sandbox, label)).id,
      token: (dealId) => token(sandbox, dealId),
      record: async (dealId) => {
        const fields = await crmFields(sandbox, dealId);
        return { contractId: fields.spotdraft_contract_id ?? null, status: fields.spotdraft_status ?? null };
      },
    };
  }
  const vendors = await vendorInfo(sandbox);
  const relay = await startVendorRelay(sandbox, name, vendors, { crm });
  const object = name === "salesforce" ? "opportunity" : "deal";
  return {
    name, relay,
    externalId: (dealId) => `${name}:${SHAPES[name].tenant}:${object}:${dealId}`,
    newDeal: async (label) => {
      const made = await sandbox.control("POST", `/__sandbox/crm/vendors/${name}/deals`, { name: label });
      if (made.status !== 201) throw new Error(`could not add a ${name} deal: ${JSON.stringify(made.json)}`);
      return made.json.id;
    },
    token: (dealId) => sellerToken(name, dealId, vendors[name].users[0]),
    record: (dealId) => vendorRecord(sandbox, name, vendors, dealId),
  };
}
