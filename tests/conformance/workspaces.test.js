// Two workspaces on one server: a key sees only its own workspace's calls, and another workspace's call is a
// NotFoundError, never a hint that it exists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeCall, random } from './lib/calls.js';
import { ids, stored } from './lib/expect.js';
import { Retell, assertApiError, failure, importCalls, keyA, keyB, sdk, sdkNoRetry, uniqueTag } from './lib/server.js';

const a = sdk(keyA);
const b = sdk(keyB);
const bStrict = sdkNoRetry(keyB);
const rng = random(2222);

test('another workspace\'s call is a NotFoundError for retrieve, update and delete, and stays untouched', async () => {
  const call = makeCall(rng, { type: 'phone_call', status: 'ended', agentId: uniqueTag('agent_ws') });
  await importCalls([call], keyA);
  const missing = assertApiError(await failure(bStrict.call.retrieve(uniqueTag('never_existed'))), Retell.NotFoundError, 404);
  const errors = [
    await failure(bStrict.call.retrieve(call.call_id)),
    await failure(bStrict.call.update(call.call_id, { metadata: { hijacked: true } })),
    await failure(bStrict.call.update(call.call_id, { opt_out_sensitive_data_storage: true })),
    await failure(bStrict.call.delete(call.call_id)),
  ];
  for (const err of errors) {
    const message = assertApiError(err, Retell.NotFoundError, 404);
    // The same words as for a call that never existed: nothing tells that the id is taken elsewhere.
    assert.equal(message.replace(call.call_id, 'ID'), missing.replace(/never_existed_[0-9a-f]+/, 'ID'));
  }
  assert.deepEqual(await a.call.retrieve(call.call_id), stored(call));
});

test('list-calls never shows another workspace\'s calls, not even with their agent id as filter', async () => {
  const agent = uniqueTag('agent_ws');
  const calls = [0, 1, 2].map(() => makeCall(rng, { agentId: agent }));
  await importCalls(calls, keyA);
  assert.deepEqual(await b.call.list({ filter_criteria: { agent_id: [agent] } }), []);
  assert.equal((await a.call.list({ filter_criteria: { agent_id: [agent] } })).length, 3);
});

test('another workspace\'s call id is no pagination_key: BadRequestError', async () => {
  const call = makeCall(rng, { agentId: uniqueTag('agent_ws') });
  await importCalls([call], keyA);
  const err = await failure(bStrict.call.list({ pagination_key: call.call_id }));
  const message = assertApiError(err, Retell.BadRequestError, 400);
  assert.match(message, /pagination_key/);
});

test('the same call_id in two workspaces is two separate calls', async () => {
  const agent = uniqueTag('agent_ws');
  const mine = makeCall(rng, { type: 'phone_call', status: 'ended', agentId: agent });
  const theirs = { ...makeCall(rng, { type: 'web_call', status: 'ended', agentId: agent }), call_id: mine.call_id };
  await importCalls([mine], keyA);
  await importCalls([theirs], keyB);
  assert.deepEqual(await a.call.retrieve(mine.call_id), stored(mine));
  assert.deepEqual(await b.call.retrieve(mine.call_id), stored(theirs));

  await b.call.update(mine.call_id, { opt_out_sensitive_data_storage: true, metadata: { workspace: 'B' } });
  const stillMine = await a.call.retrieve(mine.call_id);
  assert.deepEqual(stillMine, stored(mine));

  await b.call.delete(mine.call_id);
  assertApiError(await failure(bStrict.call.retrieve(mine.call_id)), Retell.NotFoundError, 404);
  assert.deepEqual(await a.call.retrieve(mine.call_id), stored(mine));
  assert.deepEqual(ids(await a.call.list({ filter_criteria: { agent_id: [agent] } })), [mine.call_id]);
});

test('a call registered in one workspace is invisible to the other', async () => {
  const agent_id = uniqueTag('agent_ws');
  const call = await a.call.registerPhoneCall({ agent_id });
  assertApiError(await failure(bStrict.call.retrieve(call.call_id)), Retell.NotFoundError, 404);
  assert.deepEqual(await b.call.list({ filter_criteria: { agent_id: [agent_id] } }), []);
});
