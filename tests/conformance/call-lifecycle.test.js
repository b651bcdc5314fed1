// client.call.retrieve, client.call.update and client.call.delete on imported calls.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeCall, random } from './lib/calls.js';
import { SENSITIVE_FIELDS, ids, stored } from './lib/expect.js';
import { Retell, assertApiError, failure, importCalls, sdk, sdkNoRetry, uniqueTag } from './lib/server.js';

const client = sdk();
const strict = sdkNoRetry();
const rng = random(555);

/** An ended phone call and an ended web call with every sensitive field, imported for one test. */
async function seedPair(extra = {}) {
  const agentId = uniqueTag('agent_life');
  const phone = makeCall(rng, { type: 'phone_call', agentId, status: 'ended', ...extra });
  const web = makeCall(rng, { type: 'web_call', agentId, status: 'ended', ...extra });
  await importCalls([phone, web]);
  return { agentId, phone, web };
}

describe('retrieve', () => {
  test('retrieve answers a phone call and a web call exactly as imported', async () => {
    const { phone, web } = await seedPair();
    assert.deepEqual(await client.call.retrieve(phone.call_id), stored(phone));
    assert.deepEqual(await client.call.retrieve(web.call_id), stored(web));
  });

  test('retrieve keeps word timings, tool calls, latency statistics, costs and Unicode text intact', async () => {
    const { phone } = await seedPair();
    const got = await client.call.retrieve(phone.call_id);
    assert.deepEqual(got.transcript_object, phone.transcript_object);
    assert.ok(got.transcript_object[0].words.every((w) => typeof w.start === 'number' && typeof w.end === 'number' && w.word));
    assert.deepEqual(got.transcript_with_tool_calls.map((u) => u.role), phone.transcript_with_tool_calls.map((u) => u.role));
    assert.deepEqual(got.call_cost, phone.call_cost);
    assert.equal(got.call_cost.product_costs[0].unitPrice, 0.0011666667);
    assert.deepEqual(got.metadata, phone.metadata);
    assert.equal(got.transcript, phone.transcript);
    assert.deepEqual(got.llm_token_usage, phone.llm_token_usage);
  });

  test('extreme numbers and any Unicode survive import and retrieve, also where the server rewrote the document', async () => {
    const odd = {
      tiny: 5e-324, huge: 1.7976931348623157e308, third: 1 / 3, sum: 0.1 + 0.2, exp: 1e21, negative: -123456.789,
      maxSafe: Number.MAX_SAFE_INTEGER, zero: 0,
      text: 'e\u0301 \u202Eابت\u202C 𝄞 👩‍👩‍👧 \u2028 \u0000 "quoted" \\ back',
      nested: [[[{ deep: ['a', { deeper: [true, false, null] }] }]]],
    };
    const agentId = uniqueTag('agent_life');
    const plain = makeCall(rng, { type: 'web_call', status: 'ended', agentId, over: { metadata: odd, future_field: odd } });
    // Samples without statistics and an opt-out make the server rewrite the document before storing it.
    const rewritten = makeCall(rng, {
      type: 'phone_call', status: 'ended', agentId,
      over: { metadata: odd, future_field: odd, opt_out_sensitive_data_storage: true, latency: { e2e: { values: [900.5, 1e-7, 1200, 1100.25] } } },
    });
    await importCalls([plain, rewritten]);
    for (const call of [plain, rewritten]) {
      const got = await client.call.retrieve(call.call_id);
      assert.deepEqual(got, stored(call));
      assert.deepEqual(got.metadata, odd);
    }
    assert.equal((await client.call.retrieve(rewritten.call_id)).latency.e2e.p50, (900.5 + 1100.25) / 2);
  });

  test('retrieve of a call id that does not exist is a NotFoundError carrying the server message', async () => {
    const missing = uniqueTag('missing_call');
    const err = await failure(strict.call.retrieve(missing));
    const message = assertApiError(err, Retell.NotFoundError, 404);
    assert.match(message, new RegExp(missing));
  });
});

describe('update', () => {
  test('update replaces the metadata as a whole and answers the updated call', async () => {
    const { phone } = await seedPair();
    const first = { order: { id: 'ord-77', items: [1, 2.5, -3e-7] }, note: 'naïve ✓' };
    const updated = await client.call.update(phone.call_id, { metadata: first });
    assert.deepEqual(updated, { ...stored(phone), metadata: first });
    const second = { only: 'this' };
    await client.call.update(phone.call_id, { metadata: second });
    const got = await client.call.retrieve(phone.call_id);
    assert.deepEqual(got, { ...stored(phone), metadata: second });
  });

  test('update with metadata null removes the metadata and leaves the rest of the call', async () => {
    const { phone } = await seedPair();
    await client.call.update(phone.call_id, { metadata: { crm: 'A-1' } });
    const updated = await client.call.update(phone.call_id, { metadata: null });
    const { metadata, ...rest } = stored(phone);
    assert.deepEqual(updated, rest);
    assert.deepEqual(await client.call.retrieve(phone.call_id), rest);
  });

  test('update with an empty body changes nothing', async () => {
    const { web } = await seedPair();
    assert.deepEqual(await client.call.update(web.call_id, {}), stored(web));
    assert.deepEqual(await client.call.retrieve(web.call_id), stored(web));
  });

  test('opting out erases transcript, transcript objects, recording and log urls and keeps everything else', async () => {
    const { phone, web } = await seedPair();
    for (const call of [phone, web]) {
      const updated = await client.call.update(call.call_id, { opt_out_sensitive_data_storage: true });
      const expected = { ...stored(call), opt_out_sensitive_data_storage: true };
      for (const field of SENSITIVE_FIELDS) delete expected[field];
      assert.deepEqual(updated, expected);
      const got = await client.call.retrieve(call.call_id);
      assert.deepEqual(got, expected);
      for (const field of SENSITIVE_FIELDS) assert.ok(!(field in got), `${field} survived the opt-out`);
      const listed = await client.call.list({ filter_criteria: { agent_id: [call.agent_id] }, limit: 10 });
      assert.deepEqual(listed.find((c) => c.call_id === call.call_id), expected);
    }
  });

  test('opting out again is accepted, and metadata may change on an opted-out call', async () => {
    const { phone } = await seedPair();
    await client.call.update(phone.call_id, { opt_out_sensitive_data_storage: true });
    const again = await client.call.update(phone.call_id, { opt_out_sensitive_data_storage: true, metadata: { after: 'opt-out' } });
    assert.equal(again.opt_out_sensitive_data_storage, true);
    assert.deepEqual(again.metadata, { after: 'opt-out' });
    assert.equal(again.transcript, undefined);
  });

  test('opting back in (true to false) is a BadRequestError and the call stays opted out', async () => {
    const { phone } = await seedPair();
    await client.call.update(phone.call_id, { opt_out_sensitive_data_storage: true });
    const err = await failure(strict.call.update(phone.call_id, { opt_out_sensitive_data_storage: false }));
    const message = assertApiError(err, Retell.BadRequestError, 400);
    assert.match(message, /opt_out_sensitive_data_storage/);
    const got = await client.call.retrieve(phone.call_id);
    assert.equal(got.opt_out_sensitive_data_storage, true);
    assert.equal(got.recording_url, undefined);
  });

  test('a call imported already opted out comes back without its sensitive fields', async () => {
    const call = makeCall(rng, { type: 'phone_call', status: 'ended', agentId: uniqueTag('agent_life'), over: { opt_out_sensitive_data_storage: true } });
    assert.ok(call.transcript && call.recording_url);
    await importCalls([call]);
    const got = await client.call.retrieve(call.call_id);
    for (const field of SENSITIVE_FIELDS) assert.ok(!(field in got), `${field} was stored for an opted-out call`);
    assert.deepEqual(got, stored(call));
  });

  test('metadata of exactly 50,000 bytes as JSON is kept, one byte more is a BadRequestError that changes nothing', async () => {
    const { phone } = await seedPair();
    const limit = { blob: 'x'.repeat(50_000 - JSON.stringify({ blob: '' }).length) };
    assert.equal(Buffer.byteLength(JSON.stringify(limit)), 50_000);
    assert.deepEqual((await client.call.update(phone.call_id, { metadata: limit })).metadata, limit);
    const over = { blob: `${limit.blob}x` };
    const err = await failure(strict.call.update(phone.call_id, { metadata: over }));
    assertApiError(err, Retell.BadRequestError, 400);
    assert.match(err.message, /metadata/);
    assert.deepEqual((await client.call.retrieve(phone.call_id)).metadata, limit);
  });

  test('opt_out_sensitive_data_storage false on a call that never opted out keeps its data', async () => {
    const { web } = await seedPair();
    assert.deepEqual(await client.call.update(web.call_id, { opt_out_sensitive_data_storage: false }), stored(web));
  });

  test('metadata nested deeper than 64 levels is a BadRequestError', async () => {
    const { phone } = await seedPair();
    let deep = { leaf: true };
    for (let i = 0; i < 70; i++) deep = { deeper: deep };
    const err = await failure(strict.call.update(phone.call_id, { metadata: deep }));
    assert.match(assertApiError(err, Retell.BadRequestError, 400), /64/);
    assert.deepEqual((await client.call.retrieve(phone.call_id)).metadata, phone.metadata);
  });

  test('a request body over the 1 MiB limit is an APIError with status 413 and nothing changes', async () => {
    const { phone } = await seedPair();
    const err = await failure(strict.call.update(phone.call_id, { metadata: { blob: 'y'.repeat(1_100_000) } }));
    assertApiError(err, Retell.APIError, 413);
    assert.deepEqual((await client.call.retrieve(phone.call_id)).metadata, phone.metadata);
  });

  test('update of a call id that does not exist is a NotFoundError', async () => {
    const err = await failure(strict.call.update(uniqueTag('missing_call'), { metadata: { a: 1 } }));
    assertApiError(err, Retell.NotFoundError, 404);
  });
});

describe('delete', () => {
  test('delete removes the call: retrieve, list and a second delete no longer find it', async () => {
    const { agentId, phone, web } = await seedPair();
    const response = await client.call.delete(phone.call_id).asResponse();
    assert.equal(response.status, 204);
    const retrieveErr = await failure(strict.call.retrieve(phone.call_id));
    assertApiError(retrieveErr, Retell.NotFoundError, 404);
    assert.deepEqual(ids(await client.call.list({ filter_criteria: { agent_id: [agentId] } })), [web.call_id]);
    const deleteErr = await failure(strict.call.delete(phone.call_id));
    assertApiError(deleteErr, Retell.NotFoundError, 404);
    assert.deepEqual(await client.call.retrieve(web.call_id), stored(web));
  });

  test('a deleted call id can be imported again as a new call', async () => {
    const { phone } = await seedPair();
    // The SDK resolves delete to null when the server answered 204 No Content.
    assert.equal(await client.call.delete(phone.call_id), null);
    const again = { ...phone, metadata: { reimported: true } };
    await importCalls([again]);
    assert.deepEqual(await client.call.retrieve(phone.call_id), stored(again));
  });
});
