// Pipedrive's own Node client (the `pipedrive` package, API v2) against the emulator: deals,
// organizations, persons with the API token; custom fields written and read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Configuration, DealsApi, OrganizationsApi, PersonsApi } from 'pipedrive/v2';
import { startSandbox } from './sandbox.mjs';

test('the pipedrive client reads and updates deals', async () => {
  const sandbox = await startSandbox();
  try {
    const pd = sandbox.vendors.pipedrive;
    const config = new Configuration({ apiKey: pd.api_token, basePath: `${sandbox.crm}/api/v2` });
    const deals = new DealsApi(config);
    const deal = await deals.getDeal({ id: 101 });
    assert.equal(deal.success, true);
    assert.equal(deal.data.title, 'Acme Widgets — Platform subscription');
    assert.equal(deal.data.org_id, 201);
    const org = await new OrganizationsApi(config).getOrganization({ id: deal.data.org_id });
    assert.equal(org.data.address.locality, 'New York');
    const person = await new PersonsApi(config).getPerson({ id: deal.data.person_id });
    assert.equal(person.data.emails[0].value, 'avery.stone@acme.example');
    const updated = await deals.updateDeal({ id: 101, UpdateDealRequest: { custom_fields: { [pd.fields.status]: 'DRAFT' } } });
    assert.equal(updated.data.custom_fields[pd.fields.status], 'DRAFT');
    await assert.rejects(deals.getDeal({ id: 999 }), (error) => {
      assert.match(`${error?.message ?? ""} ${JSON.stringify(error)}`, /Deal not found|404/);
      return true;
    });
  } finally {
    sandbox.stop();
  }
});
