// SpotDraft requests per relay job, counted from the sandbox's traffic journal. Deterministic:
// the benchmark reports these numbers and tests/budgets/ checks them.
import { api, newDeal, startRelay, startSandbox, token } from "../../tests/relay/support.mjs";

async function spotdraftRequests(sandbox) {
  const journal = (await sandbox.control("GET", "/__sandbox/requests?service=spotdraft")).json;
  const entries = Array.isArray(journal) ? journal : journal.requests ?? journal.entries ?? [];
  return entries.map((entry) => `${entry.method} ${entry.path}`);
}

async function counted(sandbox, job) {
  await sandbox.control("DELETE", "/__sandbox/requests");
  const reply = await job();
  const requests = await spotdraftRequests(sandbox);
  return { status: reply.status, count: requests.length, requests };
}

/** Starts its own sandbox and relay; returns the counts per job with the requests behind them. */
export async function measureRequestsPerJob() {
  const sandbox = await startSandbox();
  const relay = await startRelay(sandbox);
  try {
    const templateId = sandbox.uat.templates.find((t) => /Non-Disclosure/.test(t.name)).id;
    const create = async (deal) =>
      api(relay, "POST", `/api/uat/deals/${deal.id}/contracts`, { bearer: token(sandbox, deal.id), body: { deal, templateId } });
    const first = await newDeal(sandbox, "Budget deal one");
    const second = await newDeal(sandbox, "Budget deal two");
    const createCold = await counted(sandbox, () => create(first));
    const createWarm = await counted(sandbox, () => create(second));
    const createAgain = await counted(sandbox, () => create(second));
    const contract = (await api(relay, "GET", `/api/uat/deals/${second.id}/contracts`, { bearer: token(sandbox, second.id) })).json;
    const contractId = (contract.contracts ?? contract)[0]?.id;
    const sidebarRefresh = await counted(sandbox, () =>
      api(relay, "GET", `/api/uat/deals/${second.id}/contracts`, { bearer: token(sandbox, second.id) }));
    const statusRead = await counted(sandbox, () =>
      api(relay, "GET", `/api/uat/deals/${second.id}/contracts/${contractId}/status`, { bearer: token(sandbox, second.id) }));
    return { createCold, createWarm, createAgain, sidebarRefresh, statusRead };
  } finally {
    await relay.close();
    await sandbox.stop();
  }
}
