// Pipedrive's own Node client (the `pipedrive` package, its v1 DealFieldsApi, the one provisioning's
// requests follow) against the emulator: deal fields listed in pages, a text field created with a
// key Pipedrive chooses, and that key written on a deal through the v2 DealsApi.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Configuration as V1Configuration, DealFieldsApi } from 'pipedrive/v1';
import { Configuration, DealsApi } from 'pipedrive/v2';
import { startSandbox } from './sandbox.mjs';

test('the pipedrive client pages through deal fields, creates one and writes it on a deal', async () => {
  const sandbox = await startSandbox();
  try {
    const pd = sandbox.vendors.pipedrive;
    const fields = new DealFieldsApi(new V1Configuration({ apiKey: pd.api_token, basePath: `${sandbox.crm}/api/v1` }));
    const first = await fields.getDealFields({ start: 0, limit: 5 });
    assert.equal(first.success, true);
    assert.equal(first.data.length, 5);
    assert.equal(first.additional_data.pagination.more_items_in_collection, true);
    const rest = await fields.getDealFields({ start: first.additional_data.pagination.next_start, limit: 500 });
    const all = [...first.data, ...rest.data];
    assert.ok(all.some((field) => field.key === 'title' && field.edit_flag === false));
    assert.ok(all.some((field) => field.key === pd.fields.status && field.name === 'SpotDraft Status'));

    const made = await fields.addDealField({ CreateFieldRequest: { name: 'Renewal notice', field_type: 'varchar' } });
    assert.equal(made.success, true);
    assert.match(made.data.key, /^[0-9a-f]{40}$/);
    await assert.rejects(fields.addDealField({ CreateFieldRequest: { name: 'Odd', field_type: 'hologram' } }), (error) => /not supported|400/.test(`${error?.message ?? ''} ${JSON.stringify(error)}`));

    const deals = new DealsApi(new Configuration({ apiKey: pd.api_token, basePath: `${sandbox.crm}/api/v2` }));
    const updated = await deals.updateDeal({ id: 101, UpdateDealRequest: { custom_fields: { [made.data.key]: '90 days' } } });
    assert.equal(updated.data.custom_fields[made.data.key], '90 days');
  } finally {
    sandbox.stop();
  }
});
