// The vendors' own Node clients against the emulator's pipelines, stages and field listings, the
// answers the admin console's CRM read (crm::read_schema) parses: HubSpot's PipelinesApi and
// company/contact properties (@hubspot/api-client), Pipedrive's v2 PipelinesApi and StagesApi and
// v1 OrganizationFieldsApi and PersonFieldsApi (the `pipedrive` package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@hubspot/api-client';
import { Configuration as V1Configuration, OrganizationFieldsApi, PersonFieldsApi } from 'pipedrive/v1';
import { Configuration, DealsApi, PipelinesApi, StagesApi } from 'pipedrive/v2';
import { startSandbox } from './sandbox.mjs';

test('the HubSpot client reads the deal pipeline, its stages and the company and contact properties', async () => {
  const sandbox = await startSandbox();
  try {
    const token = (await (await fetch(`${sandbox.crm}/__sandbox/workspaces`)).json()).crm.bearer_token;
    const hubspot = new Client({ accessToken: token, basePath: sandbox.crm, numberOfApiCallRetries: 0 });
    const pipelines = await hubspot.crm.pipelines.pipelinesApi.getAll('deals');
    assert.equal(pipelines.results.length, 1);
    const [pipeline] = pipelines.results;
    assert.equal(pipeline.id, 'default');
    assert.ok(pipeline.createdAt instanceof Date);
    const stages = Object.fromEntries(pipeline.stages.map((stage) => [stage.id, stage]));
    assert.equal(stages.contractsent.label, 'Contract sent');
    assert.equal(stages.closedwon.metadata.isClosed, 'true');
    // Every seeded deal's stage is one of them.
    const deals = await hubspot.crm.deals.basicApi.getPage(100, undefined, ['dealstage']);
    for (const deal of deals.results) assert.ok(stages[deal.properties.dealstage], deal.properties.dealstage);

    const companies = (await hubspot.crm.properties.coreApi.getAll('companies')).results.map((p) => p.name);
    const contacts = (await hubspot.crm.properties.coreApi.getAll('contacts')).results.map((p) => p.name);
    assert.ok(['name', 'city', 'country'].every((name) => companies.includes(name)), companies.join());
    assert.ok(['firstname', 'lastname', 'email'].every((name) => contacts.includes(name)), contacts.join());
  } finally {
    sandbox.stop();
  }
});

test('the pipedrive client reads pipelines, stages and organization and person fields', async () => {
  const sandbox = await startSandbox();
  try {
    const pd = sandbox.vendors.pipedrive;
    const v2 = new Configuration({ apiKey: pd.api_token, basePath: `${sandbox.crm}/api/v2` });
    const v1 = new V1Configuration({ apiKey: pd.api_token, basePath: `${sandbox.crm}/api/v1` });
    const pipelines = await new PipelinesApi(v2).getPipelines({ limit: 500 });
    assert.equal(pipelines.success, true);
    const [pipeline] = pipelines.data;
    const stages = await new StagesApi(v2).getStages({ pipeline_id: pipeline.id, limit: 500 });
    assert.equal(stages.success, true);
    assert.ok(stages.data.every((stage) => stage.pipeline_id === pipeline.id && stage.is_deleted === false));
    const ids = stages.data.map((stage) => stage.id);
    // The stage every seeded deal is in is listed.
    const deals = new DealsApi(v2);
    for (const id of pd.deal_ids) {
      const deal = await deals.getDeal({ id: Number(id) });
      assert.ok(ids.includes(deal.data.stage_id), `${deal.data.stage_id} not in ${ids}`);
    }

    const organization = await new OrganizationFieldsApi(v1).getOrganizationFields({ start: 0, limit: 500 });
    assert.equal(organization.success, true);
    assert.ok(organization.data.some((field) => field.key === 'name' && field.field_type === 'varchar'));
    const person = await new PersonFieldsApi(v1).getPersonFields({ start: 0, limit: 500 });
    assert.ok(person.data.some((field) => field.key === 'email'));
    assert.equal(person.additional_data.pagination.more_items_in_collection, false);
  } finally {
    sandbox.stop();
  }
});
