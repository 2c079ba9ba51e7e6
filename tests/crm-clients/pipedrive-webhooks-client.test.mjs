// Pipedrive's own Node client (the `pipedrive` package, its v1 WebhooksApi, the routes
// `cli.js setup-crm-events` calls) against the emulator's Webhooks API: a version 2.0 deal webhook
// made with Basic credentials, listed with the company's id, refused where Pipedrive refuses one,
// and deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Configuration, WebhooksApi } from 'pipedrive/v1';
import { startSandbox } from './sandbox.mjs';

const refusedWith = (pattern) => (error) => {
  const text = `${error?.message ?? ''} ${JSON.stringify(error)}`;
  assert.match(text, pattern);
  return true;
};

test('the pipedrive client adds a deal webhook, lists it and deletes it', async () => {
  const sandbox = await startSandbox();
  try {
    const pd = sandbox.vendors.pipedrive;
    const webhooks = new WebhooksApi(new Configuration({ apiKey: pd.api_token, basePath: `${sandbox.crm}/api/v1` }));
    assert.deepEqual((await webhooks.getWebhooks()).data, []);

    const added = await webhooks.addWebhook({
      AddWebhookRequest: {
        subscription_url: 'https://relay.example.com/crm-events/uat',
        event_action: 'change',
        event_object: 'deal',
        name: 'SpotDraft relay (uat): change.deal',
        http_auth_user: 'spotdraft',
        http_auth_password: 'uat-pipedrive-webhook-password-0123',
        version: '2.0',
      },
    });
    assert.equal(added.success, true);
    assert.equal(added.status, 'ok');
    const hook = added.data;
    assert.ok(Number.isInteger(hook.id));
    assert.equal(String(hook.company_id), pd.company_id);
    assert.equal(String(hook.user_id), pd.users[0].id, 'made for the calling user');
    assert.equal(hook.event_action, 'change');
    assert.equal(hook.event_object, 'deal');
    assert.equal(hook.version, '2.0');
    assert.equal(hook.is_active, 1);
    assert.equal(hook.type, 'general');
    assert.equal(hook.http_auth_user, 'spotdraft');
    assert.match(hook.add_time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);

    // Without a version, Pipedrive makes a 2.0 webhook now.
    const defaulted = await webhooks.addWebhook({ AddWebhookRequest: { subscription_url: 'https://relay.example.com/crm-events/uat', event_action: 'create', event_object: 'deal', name: 'no version' } });
    assert.equal(defaulted.data.version, '2.0');
    assert.equal(defaulted.data.http_auth_user, null);

    const listed = await webhooks.getWebhooks();
    assert.equal(listed.success, true);
    assert.deepEqual(listed.data.map((w) => w.id).sort(), [hook.id, defaulted.data.id].sort());
    assert.equal(listed.data.find((w) => w.id === hook.id).subscription_url, 'https://relay.example.com/crm-events/uat');

    // What Pipedrive refuses: a plain-http URL (this sandbox runs without --local-testing), a v1
    // action name on a 2.0 webhook, an object it does not know, a version that does not exist.
    const base = { subscription_url: 'https://relay.example.com/crm-events/uat', event_action: 'change', event_object: 'deal', name: 'refused' };
    await assert.rejects(webhooks.addWebhook({ AddWebhookRequest: { ...base, subscription_url: 'http://127.0.0.1:9/crm-events/uat' } }), refusedWith(/subscription_url/));
    await assert.rejects(webhooks.addWebhook({ AddWebhookRequest: { ...base, event_action: 'updated' } }), refusedWith(/event_action/));
    await assert.rejects(webhooks.addWebhook({ AddWebhookRequest: { ...base, event_object: 'contract' } }), refusedWith(/event_object/));
    await assert.rejects(webhooks.addWebhook({ AddWebhookRequest: { ...base, version: '3.0' } }), refusedWith(/version/));
    // A v1 webhook takes v1's action names.
    const legacy = await webhooks.addWebhook({ AddWebhookRequest: { ...base, event_action: 'updated', version: '1.0' } });
    assert.equal(legacy.data.version, '1.0');

    for (const id of [hook.id, defaulted.data.id, legacy.data.id]) {
      const deleted = await webhooks.deleteWebhook({ id });
      assert.equal(deleted.success, true);
    }
    assert.deepEqual((await webhooks.getWebhooks()).data, []);
    await assert.rejects(webhooks.deleteWebhook({ id: hook.id }), refusedWith(/not found/i));

    // A seller (not the admin) may not delete the admin's webhook.
    const admins = await webhooks.addWebhook({ AddWebhookRequest: base });
    const seller = await (await fetch(`${sandbox.crm}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${pd.client_id}:${pd.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: pd.users[1].refresh_token }),
    })).json();
    const asSeller = new WebhooksApi(new Configuration({ accessToken: seller.access_token, basePath: `${sandbox.crm}/api/v1` }));
    await assert.rejects(asSeller.deleteWebhook({ id: admins.data.id }), refusedWith(/not allowed/));
  } finally {
    sandbox.stop();
  }
});
