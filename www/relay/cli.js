#!/usr/bin/env node
// spotdraft-crm relay command line.
//   serve          --config FILE [--port 8788] [--host 127.0.0.1] [--state-dir DIR] [--reconcile-every SECONDS]
//                  [--public-url https://relay.example.com] [--trusted-proxy 10.0.0.5 ...] [--redis redis://…]
//                  (--redis, or "shared": { "redisUrl" }: several instances share locks, the SpotDraft
//                  allowance, applied deliveries and the reconcile checkpoint in that Redis)
//                  (with a top-level "sidebar": { "hostOrigins": [...] } it also serves the sidebar page;
//                  "http": { "publicUrl", "trustedProxies" } is the same as the two flags)
//   reconcile      --config FILE --env uat|production [--state-dir DIR] [--redis redis://…]
//   setup-webhook  --config FILE --env uat|production   (needs only that environment's SpotDraft client and webhookUrl)
//   provision      --config FILE --env uat|production [--dry-run] [--json]
//                  (creates the CRM fields the write-back fills where missing: HubSpot deal properties
//                  in a "SpotDraft" group, Pipedrive deal fields, Zoho CRM Deals fields; reads what
//                  exists first, never changes or deletes a field; --dry-run only prints what it would
//                  create; Salesforce's fields come with its package)
//   setup-crm-events --config FILE --env uat|production [--public-url URL] [--dry-run] [--json]
//                  (milestone creation: Pipedrive's deal webhooks, version 2.0, create.deal and change.deal,
//                  calling {public URL}/crm-events/{env} with crmEvents.pipedrive's Basic credentials;
//                  finds them if they exist, so it can be run again; the public URL is --public-url,
//                  else http.publicUrl, else the origin of the environment's webhookUrl; for HubSpot,
//                  Salesforce and Zoho it prints what to set up in the CRM instead)
// RELAY_CONFIG / RELAY_CONFIG_JSON may replace --config; "env:NAME" values come from the environment.
import { parseArgs } from "node:util";
import { SdxRelay, SpotDraftClient } from "../../pkg/node.js";
import { loadRelayConfig } from "./config.js";
import { SetupError, crmEventsUrl, describeCrmEventsSetup, manualInstructions, milestoneTemplates, setupPipedriveWebhooks } from "./crm-events-setup.js";
import { hostSettings, openSharedState, parsePublicUrl, reconcileOnce, startRelayServer } from "./server.js";

const usage = `usage: cli.js serve|reconcile|setup-webhook|provision|setup-crm-events [--config FILE] [--env uat|production] [--dry-run] [--json] [--port N] [--host H] [--state-dir DIR] [--reconcile-every S] [--public-url URL] [--trusted-proxy ADDRESS]... [--redis URL]`;

function fail(message) {
  console.error(message);
  process.exit(2);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        config: { type: "string" },
        env: { type: "string" },
        port: { type: "string", default: process.env.RELAY_PORT ?? "8788" },
        host: { type: "string", default: process.env.RELAY_HOST ?? "127.0.0.1" },
        "state-dir": { type: "string", default: process.env.RELAY_STATE_DIR ?? ".relay-state" },
        "reconcile-every": { type: "string", default: process.env.RELAY_RECONCILE_EVERY ?? "0" },
        "public-url": { type: "string", default: process.env.RELAY_PUBLIC_URL },
        "trusted-proxy": { type: "string", multiple: true },
        redis: { type: "string", default: process.env.RELAY_REDIS_URL },
        "dry-run": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    fail(`${error.message}\n${usage}`);
  }
})();

const command = positionals[0];
let config;
try {
  // setup-webhook is run before the workspace's signing key is known, and reads only its own
  // environment's SpotDraft client, API target and webhook URL: other values may still be unset.
  const needed = command === "setup-webhook"
    ? (path) => path.startsWith(`environments.${values.env}.`) && !path.endsWith(".spotdraft.hmacKey")
    : undefined;
  config = loadRelayConfig({ file: values.config ?? process.env.RELAY_CONFIG, needed });
} catch (error) {
  fail(error.message);
}

function describeError(error) {
  const problems = error.problems ?? [];
  if (problems.length === 0) return error.message;
  const heading = error.code === "invalid_config" ? "invalid configuration" : error.code;
  return [`${heading}:`, ...problems.map((p) => `  - ${p.path ? `${p.path}: ` : ""}${p.message}`)].join("\n");
}

const ACTIONS = { exists: "exists", foundByLabel: "exists (found by its label)", wouldCreate: "missing: would create", created: "created" };

/** The provisioning report in an admin's words: each step, then the crm.fields and key terms' fields to configure if they differ. */
function describeProvision(environment, report) {
  const lines = [`${report.crm} (${environment})${report.dryRun ? ", dry run: nothing was changed" : ""}`];
  for (const step of report.steps) {
    const what = step.kind === "group" ? `property group "${step.label}" (${step.name})` : `${step.value}: "${step.label}"${step.name ? ` (${step.name})` : ""}`;
    lines.push(`  ${what}: ${ACTIONS[step.action] ?? step.action}`);
  }
  if (report.fields === null) {
    lines.push(`Run without --dry-run to create the missing fields; ${report.crm} names them, and this command then prints the crm.fields to configure.`);
  } else if (report.configurationChanges) {
    const block = config.environments[environment].crm ?? {};
    if (JSON.stringify(report.fields) !== JSON.stringify(block.fields ?? null)) {
      lines.push(`Set environments.${environment}.crm.fields in the relay's configuration to:`, JSON.stringify(report.fields, null, 2));
    }
    (report.keyTermFields ?? []).forEach((name, i) => {
      if (name && name !== block.keyTerms?.[i]?.field) lines.push(`Set environments.${environment}.crm.keyTerms[${i}].field to "${name}".`);
    });
  } else if (report.steps.some((step) => step.action === "wouldCreate")) {
    lines.push(`Run without --dry-run to create the missing fields; environments.${environment}.crm.fields already has their names.`);
  } else {
    lines.push(`environments.${environment}.crm.fields already names these fields.`);
  }
  return lines.join("\n");
}

function environmentBlock() {
  const environment = values.env;
  if (!environment || !config.environments?.[environment]) fail(`--env must name a configured environment (${Object.keys(config.environments ?? {}).join(", ")})`);
  return [environment, config.environments[environment]];
}

try {
  if (command === "serve") {
    const server = await startRelayServer({
      config,
      port: Number(values.port),
      host: values.host,
      stateDir: values["state-dir"],
      reconcileEverySeconds: Number(values["reconcile-every"]),
      publicUrl: values["public-url"],
      trustedProxies: values["trusted-proxy"],
      redisUrl: values.redis,
    });
    console.log(`relay listening on ${server.url}, reached as ${server.publicOrigin} (environments: ${Object.keys(config.environments).join(", ")})`);
    const hubspot = Object.values(config.environments ?? {}).some((environment) => environment.hubspotClientSecret);
    if (hubspot && !values["public-url"] && !hostSettings(config).http.publicUrl) {
      console.warn("HubSpot signs the https URL it calls: set --public-url (or http.publicUrl) to the relay's public address, or its card calls will be refused.");
    }
    for (const signal of ["SIGINT", "SIGTERM"]) {
      process.once(signal, async () => {
        await server.close();
        process.exit(0);
      });
    }
  } else if (command === "reconcile") {
    const [environment] = environmentBlock();
    const { core: coreConfig, shared } = hostSettings(config);
    const state = await openSharedState({ ...shared, redisUrl: values.redis ?? shared.redisUrl, stateDir: values["state-dir"], log: (line) => console.error(line) });
    try {
      const report = await reconcileOnce(new SdxRelay(coreConfig, { shared: state.shared }), environment, state.checkpoints, () => {});
      console.log(JSON.stringify(report, null, 2));
      if (report.failures.length > 0) process.exitCode = 1;
    } finally {
      await state.close();
    }
  } else if (command === "setup-webhook") {
    const [environment, block] = environmentBlock();
    if (!block.webhookUrl) fail(`environments.${environment}.webhookUrl is required to register a webhook`);
    const target = block.spotdraft.baseUrl ? { baseUrl: block.spotdraft.baseUrl }
      : block.plugin.api.region ? { region: block.plugin.api.region } : { baseUrl: block.plugin.api.baseUrl };
    const client = new SpotDraftClient({ ...target, credentials: { clientId: block.spotdraft.clientId, clientSecret: block.spotdraft.clientSecret } });
    const hmacKey = await client.webhookHmacKey();
    const subscription = await client.registerStatusWebhook(block.webhookUrl);
    console.log(JSON.stringify({
      environment,
      webhookId: subscription.id,
      url: subscription.url,
      status: subscription.status,
      activities: subscription.only_for_activities,
      store: {
        [`environments.${environment}.spotdraft.hmacKey`]: "the key below, as a secret (e.g. env:SPOTDRAFT_HMAC_KEY)",
        webhookId: "keep it: deleting or rotating the subscription needs it",
      },
      hmacKey,
    }, null, 2));
  } else if (command === "provision") {
    const [environment] = environmentBlock();
    const report = await new SdxRelay(hostSettings(config).core).provisionFields(environment, values["dry-run"]);
    console.log(values.json ? JSON.stringify(report, null, 2) : describeProvision(environment, report));
  } else if (command === "setup-crm-events") {
    const [environment, block] = environmentBlock();
    // The whole configuration is checked first (crmEvents.pipedrive's length among the rest), so a
    // webhook is never made with credentials the relay would refuse at start.
    new SdxRelay(hostSettings(config).core).free();
    const { url, source } = crmEventsUrl({
      environment,
      block,
      publicUrl: values["public-url"],
      httpPublicUrl: hostSettings(config).http.publicUrl,
      parsePublicUrl,
    });
    const host = block.plugin?.crm?.host;
    const report = host === "pipedrive"
      ? await setupPipedriveWebhooks({ environment, block, url, dryRun: values["dry-run"] })
      : { crm: host, environment, dryRun: values["dry-run"], subscriptionUrl: url, steps: [], manual: manualInstructions(host, environment, url) };
    Object.assign(report, { urlSource: source, templates: milestoneTemplates(block) });
    console.log(values.json ? JSON.stringify(report, null, 2) : describeCrmEventsSetup(report));
  } else {
    fail(usage);
  }
} catch (error) {
  if (error instanceof SetupError) fail(error.message);
  fail(describeError(error));
}
