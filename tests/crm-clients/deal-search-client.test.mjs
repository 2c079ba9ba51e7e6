// The vendors' own Node clients against the emulator's deal searches, the answers the admin console's
// deal picker (crm::search_deals) reads: HubSpot's CRM search (`crm.deals.searchApi.doSearch`,
// @hubspot/api-client) and Pipedrive's v2 deal search (`DealsApi.searchDeals`, the `pipedrive` package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@hubspot/api-client';
import { Configuration, DealsApi } from 'pipedrive/v2';
import { startSandbox } from './sandbox.mjs';

test('the HubSpot client searches deals by query, newest modified first', async () => {
  const sandbox = await startSandbox();
  try {
    const token = (await (await fetch(`${sandbox.crm}/__sandbox/workspaces`)).json()).crm.bearer_token;
    const hubspot = new Client({ accessToken: token, basePath: sandbox.crm, numberOfApiCallRetries: 0 });
    const newest = [{ propertyName: 'hs_lastmodifieddate', direction: 'DESCENDING' }];
    const found = await hubspot.crm.deals.searchApi.doSearch({ query: 'acme', properties: ['dealname', 'dealstage'], sorts: newest, limit: 10 });
    assert.equal(found.total, 1);
    const [deal] = found.results;
    assert.equal(deal.id, '1001');
    assert.equal(deal.properties.dealname, 'Acme Widgets — Platform subscription');
    assert.equal(deal.properties.dealstage, 'contractsent');
    assert.ok(deal.updatedAt instanceof Date);
    const none = await hubspot.crm.deals.searchApi.doSearch({ query: 'nothing-like-this', properties: ['dealname'], limit: 10 });
    assert.deepEqual([none.total, none.results], [0, []]);
    // A deal changed last comes first.
    await hubspot.crm.deals.basicApi.update('1003', { properties: { amount: '9600' } });
    const all = await hubspot.crm.deals.searchApi.doSearch({ properties: ['dealname'], sorts: newest, limit: 10 });
    assert.equal(all.results[0].id, '1003');
  } finally {
    sandbox.stop();
  }
});

test('the pipedrive client searches deals by term in their titles', async () => {
  const sandbox = await startSandbox();
  try {
    const pd = sandbox.vendors.pipedrive;
    const deals = new DealsApi(new Configuration({ apiKey: pd.api_token, basePath: `${sandbox.crm}/api/v2` }));
    const found = await deals.searchDeals({ term: 'acme', fields: 'title', limit: 10 });
    assert.equal(found.success, true);
    assert.equal(found.data.items.length, 1);
    const [{ item, result_score: score }] = found.data.items;
    assert.equal(typeof score, 'number');
    assert.deepEqual([item.id, item.type, item.title], [101, 'deal', 'Acme Widgets — Platform subscription']);
    // The deal's own stage_id is the search answer's stage id.
    const deal = await deals.getDeal({ id: item.id });
    assert.equal(item.stage.id, deal.data.stage_id);
    assert.equal(item.stage.name, 'Contract sent');
    const none = await deals.searchDeals({ term: 'nothing-like-this', fields: 'title' });
    assert.deepEqual(none.data.items, []);
    // A one-character term is refused; the client rejects with Pipedrive's error body.
    await assert.rejects(deals.searchDeals({ term: 'a' }), (error) => error.success === false && error.errorCode === 400);
  } finally {
    sandbox.stop();
  }
});
