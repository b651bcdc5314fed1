// client.call.registerPhoneCall, and where calls without a start time sort.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeCall, random } from './lib/calls.js';
import { ids, sorted } from './lib/expect.js';
import { Retell, assertApiError, failure, importCalls, sdk, sdkNoRetry, uniqueTag } from './lib/server.js';

const client = sdk();
const rng = random(8080);

test('registerPhoneCall answers a registered phone call with a new 32-character id and the given fields', async () => {
  const agent_id = uniqueTag('agent_register');
  const params = {
    agent_id,
    direction: 'outbound',
    from_number: '+14155550123',
    to_number: '+442071838750',
    metadata: { campaign: 'spring-recall', attempt: 2, ratio: 0.125, who: 'Zoë' },
    retell_llm_dynamic_variables: { customer_name: 'Zoë Müller', balance: '42.10 €' },
  };
  const { data: call, response } = await client.call.registerPhoneCall(params).withResponse();
  assert.equal(response.status, 201);
  assert.equal(call.call_type, 'phone_call');
  assert.equal(call.call_status, 'registered');
  assert.match(call.call_id, /^[A-Za-z0-9]{32}$/);
  for (const [field, value] of Object.entries(params)) assert.deepEqual(call[field], value, field);
  assert.equal(call.transcript, undefined);
  assert.deepEqual(await client.call.retrieve(call.call_id), call);
});

test('registerPhoneCall with only agent_id answers a call without direction or numbers', async () => {
  const agent_id = uniqueTag('agent_register');
  const call = await client.call.registerPhoneCall({ agent_id });
  assert.equal(call.agent_id, agent_id);
  assert.equal(call.call_status, 'registered');
  assert.equal(call.direction, undefined);
  assert.equal(call.from_number, undefined);
  assert.deepEqual(await client.call.retrieve(call.call_id), call);
});

test('every registration gets its own call id', async () => {
  const agent_id = uniqueTag('agent_register');
  const made = await Promise.all(Array.from({ length: 10 }, () => client.call.registerPhoneCall({ agent_id })));
  assert.equal(new Set(ids(made)).size, 10);
  const listed = await client.call.list({ filter_criteria: { agent_id: [agent_id] } });
  assert.deepEqual(new Set(ids(listed)), new Set(ids(made)));
});

test('a registered call shows at the top of the default order and at the end of the ascending order', async () => {
  const agent_id = uniqueTag('agent_register');
  const earlier = [1, 2, 3].map((minutes) => makeCall(rng, { agentId: agent_id, startTimestamp: Date.now() - minutes * 60_000 }));
  await importCalls(earlier);
  const call = await client.call.registerPhoneCall({ agent_id, direction: 'inbound' });
  const descending = await client.call.list({ filter_criteria: { agent_id: [agent_id] } });
  assert.deepEqual(ids(descending), [call.call_id, ...ids(sorted(earlier, 'descending'))]);
  const ascending = await client.call.list({ filter_criteria: { agent_id: [agent_id] }, sort_order: 'ascending' });
  assert.deepEqual(ids(ascending), [...ids(sorted(earlier, 'ascending')), call.call_id]);
  const registered = await client.call.list({ filter_criteria: { agent_id: [agent_id], call_status: ['registered'] } });
  assert.deepEqual(ids(registered), [call.call_id]);
  const inbound = await client.call.list({ filter_criteria: { agent_id: [agent_id], direction: ['inbound'], start_timestamp: { lower_threshold: 0 } } });
  assert.ok(!ids(inbound).includes(call.call_id), 'a call without start_timestamp matched a start_timestamp filter');
});

test('a registered call keeps its place in the order after an update: the time it was first received', async () => {
  const agent_id = uniqueTag('agent_register');
  const first = await client.call.registerPhoneCall({ agent_id });
  await new Promise((resolve) => setTimeout(resolve, 20));
  const second = await client.call.registerPhoneCall({ agent_id });
  const order = ids(await client.call.list({ filter_criteria: { agent_id: [agent_id] } }));
  assert.deepEqual(order, [second.call_id, first.call_id]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await client.call.update(first.call_id, { metadata: { touched: true } });
  assert.deepEqual(ids(await client.call.list({ filter_criteria: { agent_id: [agent_id] } })), order);
  const page = await client.call.list({ filter_criteria: { agent_id: [agent_id] }, limit: 1, pagination_key: second.call_id });
  assert.deepEqual(ids(page), [first.call_id]);
});

test('a registered call can be updated and deleted through the SDK', async () => {
  const call = await client.call.registerPhoneCall({ agent_id: uniqueTag('agent_register') });
  const updated = await client.call.update(call.call_id, { metadata: { step: 'dialing' } });
  assert.deepEqual(updated, { ...call, metadata: { step: 'dialing' } });
  await client.call.delete(call.call_id);
  assertApiError(await failure(sdkNoRetry().call.retrieve(call.call_id)), Retell.NotFoundError, 404);
});

test('registerPhoneCall without agent_id is a BadRequestError naming agent_id', async () => {
  const err = await failure(sdkNoRetry().call.registerPhoneCall({ direction: 'inbound' }));
  const message = assertApiError(err, Retell.BadRequestError, 400);
  assert.match(message, /agent_id/);
});

test('registerPhoneCall with a null agent_id is a BadRequestError in plain words', async () => {
  const err = await failure(sdkNoRetry().call.registerPhoneCall({ agent_id: null }));
  const message = assertApiError(err, Retell.BadRequestError, 400);
  assert.match(message, /agent_id.*null/);
  assert.doesNotMatch(message, /CallVault\.|constructor/, 'the message exposes server internals');
});

test('registerPhoneCall with an unknown direction is a BadRequestError', async () => {
  const err = await failure(sdkNoRetry().call.registerPhoneCall({ agent_id: uniqueTag('agent_register'), direction: 'sideways' }));
  const message = assertApiError(err, Retell.BadRequestError, 400);
  assert.match(message, /direction/);
});
