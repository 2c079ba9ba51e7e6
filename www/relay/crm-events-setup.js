// `cli.js setup-crm-events`: makes the CRM tell the relay when deals change, so templates with
// `createAtStages` are created at their milestone (POST /crm-events/{env}).
//
// Pipedrive is the one CRM where a command can do it: a general webhook, payload version 2.0, on deal
// creation and deal changes, made with Pipedrive's Webhooks API (v1 routes: GET /api/v1/webhooks lists
// the company's webhooks, POST creates one, DELETE /api/v1/webhooks/{id} removes one), carrying the
// HTTP Basic credentials the relay checks (`crmEvents.pipedrive`). Running it again changes nothing
// once the webhooks are there. The other CRMs' callers ship with their packages and projects, so for
// them it only says what to set up.

/** The deal events the relay acts on, as Pipedrive's v2 webhooks name them (a deletion is not one). */
export const PIPEDRIVE_EVENT_ACTIONS = ["create", "change"];
const PIPEDRIVE_TOKEN_URL = "https://oauth.pipedrive.com/oauth/token";
const VERSION = "2.0";

export class SetupError extends Error {}

/**
 * The address the CRM calls: the relay's public origin + `/crm-events/{env}`. The origin is, first
 * found: `--public-url` (or RELAY_PUBLIC_URL), `http.publicUrl`, the origin of the environment's
 * `webhookUrl` (SpotDraft calls the same relay).
 */
export function crmEventsUrl({ environment, block, publicUrl, httpPublicUrl, parsePublicUrl }) {
  const candidates = [
    ["--public-url", publicUrl],
    ["http.publicUrl", httpPublicUrl],
    [`environments.${environment}.webhookUrl`, block.webhookUrl],
  ];
  for (const [source, value] of candidates) {
    if (value === undefined || value === null || value === "") continue;
    let origin;
    try {
      // SpotDraft's webhook URL is on the same relay: its origin is the relay's.
      origin = parsePublicUrl(source.endsWith("webhookUrl") ? new URL(String(value)).origin : value);
    } catch (error) {
      const problem = error instanceof TypeError ? "is not a URL" : error.message.replace(/^http\.publicUrl: "[^"]*" /, "");
      throw new SetupError(`${source}: "${value}" ${problem}`);
    }
    return { url: `${origin}/crm-events/${environment}`, source };
  }
  throw new SetupError(
    `the relay's public address is not known: pass --public-url https://relay.example.com, or set http.publicUrl or environments.${environment}.webhookUrl`,
  );
}

/** What the admin does for a CRM whose calls are set up in the CRM itself. */
export function manualInstructions(host, environment, url) {
  const byHost = {
    hubspot: [
      `HubSpot calls the relay from the app's webhook subscriptions, uploaded with the HubSpot project (www/hosts/hubspot/src/app/webhooks/webhooks-hsmeta.json).`,
      `Set its settings.targetUrl to ${url} and upload the project to this environment's account (hs project upload).`,
      `The relay checks HubSpot's signature with environments.${environment}.hubspotClientSecret, the app's client secret.`,
      `Guide: docs/install/hubspot.md, "Create at the milestone".`,
    ],
    salesforce: [
      `Salesforce calls the relay from the package's Opportunity trigger (SpotdraftOpportunityEvents, a queued callout through the SpotDraft Relay named credential).`,
      `Deploy the package and set the SpotDraft Relay named credential's URL to ${new URL(url).origin}; the trigger posts to /crm-events/uat from a sandbox org and /crm-events/production from any other.`,
      `The relay checks its event tokens with environments.${environment}.hostKeys.salesforce, the org's signing certificate.`,
      `Guide: www/hosts/salesforce/README.md, "Create at the milestone".`,
    ],
    zoho: [
      `Zoho CRM calls the relay from a workflow rule on Deals (create or edit) running the function spotdraft_deal_changed.`,
      `Create the function from www/hosts/zoho/spotdraft_deal_changed.deluge and the rule; the org variables spotdraft_relay_url (${new URL(url).origin}) and spotdraft_environment (${environment}) say where it posts.`,
      `The relay checks its event tokens with environments.${environment}.hostSecrets.zoho, the org's host secret.`,
      `Guide: www/hosts/zoho/README.md, "Create at the milestone".`,
    ],
  };
  return byHost[host] ?? [`${host} is not a CRM this command knows.`];
}

/** The templates that are created at a milestone, for the summary. */
export function milestoneTemplates(block) {
  return (block.plugin?.templates ?? [])
    .filter((template) => (template.createAtStages ?? []).length > 0)
    .map((template) => ({ label: template.label ?? String(template.templateId), stages: template.createAtStages }));
}

function basic(user, password) {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

async function readJson(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return { raw: text.slice(0, 300) };
  }
}

function pipedriveRefusal(what, response, body) {
  const said = body?.error ?? body?.message ?? body?.error_description ?? body?.raw ?? "";
  const errors = body?.errors ? ` ${JSON.stringify(body.errors)}` : "";
  let hint = "";
  if (response.status === 401) hint = " (the connection in crm.token or crm.oauth is not valid)";
  if (response.status === 403) {
    hint = " (managing webhooks needs a Pipedrive admin: an admin's API token, or an OAuth app with the admin scope; or create the webhooks by hand, see docs/install/pipedrive.md)";
  }
  return new SetupError(`Pipedrive refused to ${what}: HTTP ${response.status}${said ? `: ${said}` : ""}${errors}${hint}`);
}

/**
 * The headers that authenticate to Pipedrive as the relay does: the API token (`x-api-token`), or an
 * access token from the OAuth refresh grant (client credentials as HTTP Basic, Pipedrive's form).
 */
async function pipedriveAuth(crm, fetchImpl) {
  if (crm.token) return { headers: { "x-api-token": crm.token }, connection: "apiToken", notes: [] };
  const oauth = crm.oauth;
  if (!oauth?.clientId || !oauth?.clientSecret || !oauth?.refreshToken) {
    throw new SetupError("crm needs a token or an oauth block with clientId, clientSecret and refreshToken");
  }
  const tokenUrl = oauth.tokenUrl ?? PIPEDRIVE_TOKEN_URL;
  const response = await fetchImpl(tokenUrl, {
    method: "POST",
    headers: { authorization: basic(oauth.clientId, oauth.clientSecret), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: oauth.refreshToken }).toString(),
  });
  const body = await readJson(response);
  if (!response.ok || typeof body?.access_token !== "string") {
    throw new SetupError(`Pipedrive's token endpoint refused the refresh token: HTTP ${response.status}${body?.error ? ` ${body.error}` : ""}${body?.error_description ? `: ${body.error_description}` : ""}`);
  }
  const notes = [];
  if (typeof body.refresh_token === "string" && body.refresh_token !== oauth.refreshToken) {
    notes.push("Pipedrive answered with a refresh token other than crm.oauth.refreshToken. If the relay later says its refresh token is refused, repeat the code exchange of docs/install/pipedrive.md, section 2.2.");
  }
  return { headers: { authorization: `Bearer ${body.access_token}` }, connection: "oauth", notes };
}

/** A password Pipedrive shows as hidden (absent or masked) cannot be compared. */
function passwordShown(value) {
  return typeof value === "string" && value !== "" && !/^[*•]+$/.test(value);
}

/**
 * How a listed webhook stands against what the relay needs: not about this address and deals (null),
 * unusable (`bad`, why), or good for these event actions (`good`).
 */
function classify(hook, { url, username, password }) {
  if (hook.subscription_url !== url) return null;
  const aboutDeals = hook.event_object === "deal" || hook.event_object === "*";
  if (!aboutDeals) return null;
  if (String(hook.version) !== VERSION) return { bad: `version ${hook.version}: the relay reads only version ${VERSION} payloads` };
  // Deletions (delete.deal) are not events the relay acts on: such a webhook is left alone.
  if (hook.event_action !== "*" && !PIPEDRIVE_EVENT_ACTIONS.includes(hook.event_action)) return null;
  const credentialsMatch = hook.http_auth_user === username && (!passwordShown(hook.http_auth_password) || hook.http_auth_password === password);
  if (!credentialsMatch) return { bad: "its credentials are not crmEvents.pipedrive (the relay would refuse its calls)" };
  return { good: hook.event_action === "*" ? PIPEDRIVE_EVENT_ACTIONS : PIPEDRIVE_EVENT_ACTIONS.filter((a) => a === hook.event_action) };
}

/**
 * Makes Pipedrive's deal webhooks for the relay, or finds them. `block`: the environment's resolved
 * configuration. Returns the report (no secret in it).
 */
export async function setupPipedriveWebhooks({ environment, block, url, dryRun = false, fetchImpl: given = fetch }) {
  const fetchImpl = async (target, init) => {
    try {
      return await given(target, init);
    } catch (error) {
      throw new SetupError(`could not reach ${new URL(target).origin}: ${error.cause?.message ?? error.message}`);
    }
  };
  const credentials = block.crmEvents?.pipedrive;
  if (!credentials?.username || !credentials?.password) {
    throw new SetupError(
      `environments.${environment}.crmEvents.pipedrive is required: {"username": "spotdraft", "password": "env:PD_${environment === "uat" ? "UAT" : "PROD"}_EVENTS_PASSWORD"} (24 or more random characters; the webhooks are made with them and the relay checks them)`,
    );
  }
  const baseUrl = String(block.crm?.baseUrl ?? "").replace(/\/+$/, "");
  if (!baseUrl) throw new SetupError(`environments.${environment}.crm.baseUrl is required`);
  const endpoint = `${baseUrl}/api/v1/webhooks`;
  const auth = await pipedriveAuth(block.crm, fetchImpl);
  const call = async (method, target, what, body) => {
    const response = await fetchImpl(target, {
      method,
      headers: { ...auth.headers, accept: "application/json", ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const answer = await readJson(response);
    if (!response.ok || answer?.success === false) throw pipedriveRefusal(what, response, answer);
    return answer;
  };

  const listed = (await call("GET", endpoint, "list its webhooks")).data ?? [];
  const wanted = { url, username: credentials.username, password: credentials.password };
  const covered = new Map();
  const steps = [];
  const stale = [];
  for (const hook of listed) {
    const verdict = classify(hook, wanted);
    if (!verdict) continue;
    if (verdict.bad) {
      stale.push({ hook, reason: verdict.bad });
      continue;
    }
    // A second webhook for an event already covered only doubles the calls.
    const fresh = verdict.good.filter((action) => !covered.has(action));
    if (fresh.length === 0) {
      stale.push({ hook, reason: `a duplicate of webhook ${covered.get(verdict.good[0])}` });
      continue;
    }
    for (const action of fresh) {
      covered.set(action, hook.id);
      steps.push({ event: `${action}.deal`, action: "exists", webhookId: hook.id, ...(hook.event_action === "*" ? { as: `${hook.event_action}.${hook.event_object}` } : {}) });
    }
  }
  for (const action of PIPEDRIVE_EVENT_ACTIONS.filter((a) => !covered.has(a))) {
    if (dryRun) {
      steps.push({ event: `${action}.deal`, action: "wouldCreate" });
      continue;
    }
    const created = await call("POST", endpoint, `create the ${action}.deal webhook`, {
      subscription_url: url,
      event_action: action,
      event_object: "deal",
      version: VERSION,
      name: `SpotDraft relay (${environment}): ${action}.deal`,
      http_auth_user: credentials.username,
      http_auth_password: credentials.password,
    });
    steps.push({ event: `${action}.deal`, action: "created", webhookId: created.data?.id });
  }
  // Removed only once their replacements exist, so no event is missed in between.
  for (const { hook, reason } of stale) {
    if (!dryRun) await call("DELETE", `${endpoint}/${encodeURIComponent(hook.id)}`, `delete webhook ${hook.id}`);
    steps.push({ event: `${hook.event_action}.${hook.event_object}`, action: dryRun ? "wouldDelete" : "deleted", webhookId: hook.id, reason });
  }
  return {
    crm: "pipedrive",
    environment,
    dryRun,
    subscriptionUrl: url,
    connection: auth.connection,
    username: credentials.username,
    steps,
    notes: auth.notes,
  };
}

const WORDS = {
  exists: "exists",
  created: "created",
  wouldCreate: "missing: would create",
  deleted: "deleted",
  wouldDelete: "would delete",
};

/** The report in an admin's words. */
export function describeCrmEventsSetup(report) {
  const lines = [];
  if (report.manual) {
    lines.push(`${report.crm} (${report.environment}): nothing for this command to create; the CRM's calls go to ${report.subscriptionUrl}`);
    for (const line of report.manual) lines.push(`  ${line}`);
  } else {
    lines.push(`Pipedrive webhooks (${report.environment})${report.dryRun ? ", dry run: nothing was changed" : ""}`);
    const connection = report.connection === "oauth" ? "OAuth (crm.oauth)" : "the API token (crm.token)";
    lines.push(`  calling ${report.subscriptionUrl} as "${report.username}" (crmEvents.pipedrive), payload version ${VERSION}; connected with ${connection}`);
    for (const step of report.steps) {
      const id = step.webhookId === undefined ? "" : ` (webhook ${step.webhookId}${step.as ? `, ${step.as}` : ""})`;
      lines.push(`  ${step.event}: ${WORDS[step.action] ?? step.action}${id}${step.reason ? `: ${step.reason}` : ""}`);
    }
    if (report.steps.some((step) => step.action.startsWith("would"))) lines.push("Run without --dry-run to make these changes.");
  }
  if (report.templates.length === 0) {
    lines.push("No template has createAtStages yet: the relay accepts these calls and creates nothing until one does.");
  } else {
    for (const template of report.templates) lines.push(`"${template.label}" is created at stage ${template.stages.join(", ")}.`);
  }
  for (const note of report.notes ?? []) lines.push(note);
  return lines.join("\n");
}
