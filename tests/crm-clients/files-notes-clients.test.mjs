// The vendors' own Node clients against the emulator's files and notes APIs, the ones the relay uses
// for the signed PDF and the timeline: HubSpot's (@hubspot/api-client: Files upload, notes created
// with a deal association, the deal's notes through v4 associations and a batch read) and
// Pipedrive's (`pipedrive` v1: FilesApi.addFile with a deal, DealsApi.getDealFiles, NotesApi).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@hubspot/api-client';
import { Configuration, DealsApi, FilesApi, NotesApi } from 'pipedrive/v1';
import { startSandbox } from './sandbox.mjs';

const PDF = Buffer.from('%PDF-1.4\n% a tiny document for the clients\n%%EOF\n');

test('the HubSpot client uploads a file, notes it on a deal and reads the deal\'s notes back', async () => {
  const sandbox = await startSandbox();
  try {
    const token = (await (await fetch(`${sandbox.crm}/__sandbox/workspaces`)).json()).crm.bearer_token;
    const hubspot = new Client({ accessToken: token, basePath: sandbox.crm, numberOfApiCallRetries: 0 });
    const file = await hubspot.files.filesApi.upload(
      { data: PDF, name: 'Mutual NDA (T-1 v1).pdf' }, undefined, '/SpotDraft', 'Mutual NDA (T-1 v1)', undefined,
      JSON.stringify({ access: 'PRIVATE', overwrite: false }),
    );
    assert.ok(file.id);
    assert.equal(file.size, PDF.length);
    const note = await hubspot.crm.objects.notes.basicApi.create({
      properties: { hs_timestamp: String(Date.now()), hs_note_body: '<p>Signed PDF</p><p><small>SpotDraft ref uat/T-1/SIGNED_PDF/v1</small></p>', hs_attachment_ids: file.id },
      associations: [{ to: { id: '1001' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 214 }] }],
    });
    assert.ok(note.id);
    const linked = await hubspot.crm.associations.v4.basicApi.getPage('deals', '1001', 'notes', undefined, 500);
    assert.deepEqual(linked.results.map((r) => String(r.toObjectId)), [note.id]);
    const read = await hubspot.crm.objects.notes.batchApi.read({ properties: ['hs_note_body', 'hs_attachment_ids'], propertiesWithHistory: [], inputs: [{ id: note.id }] });
    assert.equal(read.results[0].properties.hs_attachment_ids, file.id);
    assert.match(read.results[0].properties.hs_note_body, /SpotDraft ref uat\/T-1\/SIGNED_PDF\/v1/);
    await assert.rejects(
      hubspot.crm.objects.notes.basicApi.create({ properties: { hs_note_body: 'no time' }, associations: [] }),
      (error) => error.code === 400 && /hs_timestamp/.test(JSON.stringify(error.body)),
    );
    await assert.rejects(
      hubspot.files.filesApi.upload({ data: PDF, name: 'x.pdf' }, undefined, '/SpotDraft', 'x', undefined, JSON.stringify({ access: 'SOMETIMES' })),
      (error) => error.code === 400,
    );
  } finally {
    sandbox.stop();
  }
});

test('the Pipedrive client adds a file and a note to a deal and lists them', async () => {
  const sandbox = await startSandbox();
  try {
    const config = new Configuration({ apiKey: sandbox.vendors.pipedrive.api_token, basePath: `${sandbox.crm}/api/v1` });
    const added = await new FilesApi(config).addFile({ file: new File([PDF], 'Mutual NDA (T-1 v1).pdf', { type: 'application/pdf' }), deal_id: 101 });
    assert.equal(added.success, true);
    assert.equal(added.data.deal_id, 101);
    assert.equal(added.data.name, 'Mutual NDA (T-1 v1).pdf');
    const files = await new DealsApi(config).getDealFiles({ id: 101 });
    assert.deepEqual(files.data.map((f) => f.id), [added.data.id]);
    const notes = new NotesApi(config);
    const note = await notes.addNote({ AddNoteRequest: { content: '<p>Mutual NDA executed</p>', deal_id: 101 } });
    assert.equal(note.success, true);
    const listed = await notes.getNotes({ deal_id: 101 });
    assert.deepEqual(listed.data.map((n) => n.content), ['<p>Mutual NDA executed</p>']);
    await assert.rejects(notes.addNote({ AddNoteRequest: { content: '', deal_id: 101 } }), (error) => /Content is required/.test(`${error?.message ?? ''} ${JSON.stringify(error)}`));
  } finally {
    sandbox.stop();
  }
});
