// HubSpot's own Node client (@hubspot/api-client) against the emulator's CRM properties API, the one
// provisioning uses: deal properties and groups listed, a group and a text property created (201, as
// the client requires), and HubSpot's refusals for a name that is taken and a type that does not
// fit its field type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@hubspot/api-client';
import { startSandbox } from './sandbox.mjs';

test('the HubSpot client lists, creates and is refused deal properties and groups as HubSpot does', async () => {
  const sandbox = await startSandbox();
  try {
    const token = (await (await fetch(`${sandbox.crm}/__sandbox/workspaces`)).json()).crm.bearer_token;
    const hubspot = new Client({ accessToken: token, basePath: sandbox.crm, numberOfApiCallRetries: 0 });
    const properties = hubspot.crm.properties;

    const listed = await properties.coreApi.getAll('deals');
    const byName = Object.fromEntries(listed.results.map((property) => [property.name, property]));
    assert.equal(byName.amount.type, 'number');
    assert.equal(byName.spotdraft_status.type, 'string');
    assert.equal(byName.spotdraft_status.groupName, 'spotdraft');
    const groups = (await properties.groupsApi.getAll('deals')).results.map((group) => group.name);
    assert.ok(groups.includes('dealinformation') && groups.includes('spotdraft'), groups.join());

    const group = await properties.groupsApi.create('deals', { name: 'contract_terms', label: 'Contract terms', displayOrder: -1 });
    assert.equal(group.name, 'contract_terms');
    const made = await properties.coreApi.create('deals', {
      name: 'spotdraft_renewal_notice', label: 'Renewal notice', type: 'string', fieldType: 'text', groupName: 'contract_terms', description: 'Days before renewal',
    });
    assert.equal(made.name, 'spotdraft_renewal_notice');
    assert.equal(made.groupName, 'contract_terms');
    const again = await properties.coreApi.getAll('deals');
    assert.equal(again.results.filter((property) => property.name === 'spotdraft_renewal_notice').length, 1);

    await assert.rejects(
      properties.coreApi.create('deals', { name: 'spotdraft_renewal_notice', label: 'Again', type: 'string', fieldType: 'text', groupName: 'contract_terms' }),
      (error) => error.code === 409 && /already exists/.test(JSON.stringify(error.body)),
    );
    await assert.rejects(
      properties.coreApi.create('deals', { name: 'spotdraft_flag', label: 'Flag', type: 'bool', fieldType: 'text', groupName: 'contract_terms' }),
      (error) => error.code === 400 && /VALIDATION_ERROR/.test(JSON.stringify(error.body)),
    );
    await assert.rejects(
      properties.groupsApi.create('deals', { name: 'contract_terms', label: 'Twice', displayOrder: -1 }),
      (error) => error.code === 409,
    );
    // The new property can be written on a deal at once.
    const deal = await hubspot.crm.deals.basicApi.update('1001', { properties: { spotdraft_renewal_notice: '90' } });
    assert.equal(deal.properties.spotdraft_renewal_notice, '90');
  } finally {
    sandbox.stop();
  }
});
