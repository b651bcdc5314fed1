// client.call.list: every filter field, both orders, ties, thresholds at their bounds, limit.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { makeCall, makeCalls, random } from './lib/calls.js';
import { expectedIds, ids, matches, sorted, stored, valueOf } from './lib/expect.js';
import { importCalls, sdk, uniqueTag } from './lib/server.js';

const client = sdk();
const agents = [uniqueTag('agent_list_a'), uniqueTag('agent_list_b'), uniqueTag('agent_list_c')];
const scope = { agent_id: agents };
let calls = [];

before(async () => {
  calls = makeCalls(random(20241), 160, agents);
  await importCalls(calls);
});

/** Lists with the given parameters and returns the call ids, in the order the server gave them. */
async function listIds(params) {
  return ids(await client.call.list(params));
}

/** The distinct values a filter field takes among the seeded calls, in a stable order. */
function distinct(field) {
  return [...new Set(calls.map((c) => valueOf(c, field)).filter((v) => v !== undefined))].sort();
}

describe('list-calls order and limit', () => {
  test('list without parameters answers at most fifty calls of the workspace, newest first', async () => {
    const page = await client.call.list();
    assert.equal(page.length, 50);
    assert.equal(new Set(ids(page)).size, page.length);
    const starts = page.map((c) => c.start_timestamp).filter((t) => t !== undefined);
    assert.deepEqual(starts, [...starts].sort((a, b) => b - a));
  });

  test('the default page holds the fifty matching calls with the latest start, in descending order', async () => {
    const expected = expectedIds(calls, { filter_criteria: scope });
    assert.equal(expected.length, 50);
    assert.deepEqual(await listIds({ filter_criteria: scope }), expected);
  });

  for (const sort_order of ['ascending', 'descending']) {
    test(`sort_order ${sort_order} orders by start_timestamp, ties by call_id in byte order`, async () => {
      const expected = expectedIds(calls, { filter_criteria: scope, sort_order, limit: 1000 });
      assert.equal(expected.length, calls.length);
      assert.deepEqual(await listIds({ filter_criteria: scope, sort_order, limit: 1000 }), expected);
    });
  }

  test('calls that start at the same millisecond are ordered by call_id bytes, not by locale', async () => {
    const agent = uniqueTag('agent_ties');
    const rng = random(7);
    const at = 1_731_000_000_000;
    // Byte order: "B" < "Z" < "_" < "a"; a locale-aware comparison would put "_" and "a" first.
    const tied = ['a', 'B', '_', 'Z'].map((p) => makeCall(rng, { agentId: agent, startTimestamp: at, over: { call_id: `${p}${uniqueTag('tie')}` } }));
    const before = makeCall(rng, { agentId: agent, startTimestamp: at - 1 });
    const after = makeCall(rng, { agentId: agent, startTimestamp: at + 1 });
    const all = [...tied, before, after];
    await importCalls(all);
    for (const sort_order of ['ascending', 'descending']) {
      const got = await listIds({ filter_criteria: { agent_id: [agent] }, sort_order });
      assert.deepEqual(got, ids(sorted(all, sort_order)));
    }
    const ascending = await listIds({ filter_criteria: { agent_id: [agent] }, sort_order: 'ascending' });
    assert.deepEqual(ascending.slice(1, 5).map((id) => id[0]), ['B', 'Z', '_', 'a']);
  });

  for (const limit of [1, 7, 49, 1000]) {
    test(`limit ${limit} answers exactly the first ${limit} matching calls (or all when fewer)`, async () => {
      const got = await listIds({ filter_criteria: scope, limit, sort_order: 'ascending' });
      assert.deepEqual(got, expectedIds(calls, { filter_criteria: scope, sort_order: 'ascending', limit }));
      assert.equal(got.length, Math.min(limit, calls.length));
    });
  }
});

describe('list-calls filters', () => {
  async function check(filter_criteria, { discriminates = true } = {}) {
    const expected = expectedIds(calls, { filter_criteria, limit: 1000 });
    assert.ok(expected.length > 0, `no seeded call matches ${JSON.stringify(filter_criteria)}`);
    if (discriminates) assert.ok(expected.length < calls.length, `every seeded call matches ${JSON.stringify(filter_criteria)}`);
    const got = await listIds({ filter_criteria, limit: 1000 });
    assert.deepEqual(got, expected, `filter ${JSON.stringify(filter_criteria)}`);
  }

  test('agent_id keeps the calls of the listed agents only', async () => {
    await check({ agent_id: [agents[0]] });
    await check({ agent_id: [agents[0], agents[2]] });
    await check({ agent_id: [...agents] }, { discriminates: false });
  });

  const listFields = ['call_status', 'call_type', 'direction', 'from_number', 'to_number', 'user_sentiment', 'call_successful', 'in_voicemail', 'disconnection_reason'];
  for (const field of listFields) {
    test(`${field} keeps calls whose value is one of the listed values, and an empty list constrains nothing`, async () => {
      const values = distinct(field);
      assert.ok(values.length >= 2, `the seed has fewer than two values of ${field}`);
      await check({ ...scope, [field]: [values[0]] });
      await check({ ...scope, [field]: [values[1], values[0]] }, { discriminates: values.length > 2 });
      await check({ ...scope, [field]: [] }, { discriminates: false });
      assert.deepEqual(await listIds({ filter_criteria: { ...scope, [field]: [] }, limit: 1000 }), await listIds({ filter_criteria: scope, limit: 1000 }));
    });
  }

  for (const field of ['direction', 'from_number', 'to_number', 'user_sentiment', 'call_successful', 'in_voicemail', 'disconnection_reason']) {
    test(`a call lacking ${field} never matches a ${field} filter, even one listing every value`, async () => {
      const every = distinct(field);
      const lacking = calls.filter((c) => valueOf(c, field) === undefined);
      assert.ok(lacking.length > 0, `every seeded call has ${field}`);
      const got = new Set(await listIds({ filter_criteria: { ...scope, [field]: every }, limit: 1000 }));
      for (const call of lacking) assert.ok(!got.has(call.call_id), `${call.call_id} lacks ${field} but matched`);
      await check({ ...scope, [field]: every });
    });
  }

  for (const field of ['start_timestamp', 'duration_ms', 'e2e_latency_p50']) {
    test(`${field} thresholds include both bounds and exclude calls lacking the value`, async () => {
      const values = [...new Set(calls.map((c) => valueOf(c, field)).filter((v) => v !== undefined))].sort((a, b) => a - b);
      const low = values[Math.floor(values.length / 4)];
      const high = values[Math.floor((values.length * 3) / 4)];
      await check({ ...scope, [field]: { lower_threshold: low } });
      await check({ ...scope, [field]: { upper_threshold: high } });
      await check({ ...scope, [field]: { lower_threshold: low, upper_threshold: high } });
      // Exactly at a bound: the call holding that value is in, its neighbours are out.
      const exact = await listIds({ filter_criteria: { ...scope, [field]: { lower_threshold: low, upper_threshold: low } }, limit: 1000 });
      const holders = calls.filter((c) => valueOf(c, field) === low);
      assert.ok(holders.length > 0);
      assert.deepEqual(exact, expectedIds(holders, { limit: 1000 }));
      const nothing = await listIds({ filter_criteria: { ...scope, [field]: { lower_threshold: high, upper_threshold: low } }, limit: 1000 });
      assert.deepEqual(nothing, []);
    });
  }

  test('e2e_latency_p50 filters on the median the server computed where a call carried only latency samples', async () => {
    const samplesOnly = calls.filter((c) => c.latency?.e2e && c.latency.e2e.p50 === undefined && c.latency.e2e.values.length % 2 === 0);
    assert.ok(samplesOnly.length > 0, 'the seed has no call with an even number of e2e samples and no statistics');
    const target = samplesOnly[0];
    const p50 = stored(target).latency.e2e.p50;
    const got = await listIds({ filter_criteria: { ...scope, e2e_latency_p50: { lower_threshold: p50, upper_threshold: p50 } }, limit: 1000 });
    assert.ok(got.includes(target.call_id), `the call with computed p50 ${p50} was not found at that exact bound`);
    assert.deepEqual((await client.call.retrieve(target.call_id)).latency, stored(target).latency);
  });

  test('different fields combine with AND, values within one field with OR', async () => {
    const filter = {
      ...scope,
      call_type: ['phone_call'],
      direction: ['outbound'],
      user_sentiment: ['Positive', 'Neutral', 'Negative'],
      duration_ms: { lower_threshold: 60_000 },
    };
    await check(filter);
    const expected = calls.filter((c) => matches(c, filter));
    for (const call of expected) {
      assert.equal(call.call_type, 'phone_call');
      assert.equal(call.direction, 'outbound');
    }
  });

  test('listed calls are returned whole, exactly as imported, with unknown fields, numbers and Unicode intact', async () => {
    const page = await client.call.list({ filter_criteria: scope, limit: 1000 });
    const byId = new Map(calls.map((c) => [c.call_id, c]));
    assert.equal(page.length, calls.length);
    for (const call of page) assert.deepEqual(call, stored(byId.get(call.call_id)));
  });
});
