// Issue 6 budgets that do not depend on speed: SpotDraft requests per relay job (from the
// sandbox's traffic journal). Ceilings are today's counts; an improvement passes, a regression fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { measureRequestsPerJob } from "../../bench/js/request-budgets.mjs";

test("SpotDraft requests per create, refresh and status read stay within budget", async () => {
  const jobs = await measureRequestsPerJob();
  for (const [name, job] of Object.entries(jobs)) assert.ok(job.status < 300, `${name} answered ${job.status}`);

  // Happy path: lookup (no idempotency key: look before creating), create, and the post-create
  // lookup that settles a race with another relay instance; template metadata only when the relay's
  // five-minute cache is cold.
  const create = jobs.createWarm.requests;
  assert.ok(jobs.createCold.count <= 4, `cold create: ${jobs.createCold.requests.join(", ")}`);
  assert.ok(jobs.createWarm.count <= 3, `warm create: ${create.join(", ")}`);
  const lookupAt = create.findIndex((r) => r.startsWith("GET /api/v2.1/public/contracts/by_external_metadata/"));
  const createAt = create.indexOf("POST /api/v2.1/public/contracts/");
  assert.ok(lookupAt >= 0 && lookupAt < createAt, "the deal is looked up before anything is created");
  assert.equal(create.filter((r) => r.startsWith("POST ")).length, 1, "exactly one create");

  assert.ok(jobs.createAgain.count <= 1, `create on a deal that has a contract: ${jobs.createAgain.requests.join(", ")}`);
  assert.ok(!jobs.createAgain.requests.some((r) => r.startsWith("POST ")), "an existing contract is returned, not created again");
  assert.ok(jobs.sidebarRefresh.count <= 1, `sidebar refresh: ${jobs.sidebarRefresh.requests.join(", ")}`);
  assert.ok(jobs.statusRead.count <= 1, `status read: ${jobs.statusRead.requests.join(", ")}`);
});
