// client.call.list with pagination_key: full walks in both orders, keys that do not match the filter, keys of
// deleted calls, and walks while calls are inserted and deleted.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { makeCall, makeCalls, random } from './lib/calls.js';
import { compareIds, expectedIds, ids, matches, sorted } from './lib/expect.js';
import { importCalls, sdk, uniqueTag } from './lib/server.js';

const client = sdk();
const agents = [uniqueTag('agent_page_a'), uniqueTag('agent_page_b')];
const scope = { agent_id: agents };
let calls = [];

before(async () => {
  calls = makeCalls(random(90210), 103, agents);
  await importCalls(calls);
});

/** Walks every page, passing the last call id of each page as the next pagination_key. */
async function walk(params, { onPage = async () => {} } = {}) {
  const pages = [];
  let pagination_key;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await client.call.list({ ...params, ...(pagination_key ? { pagination_key } : {}) });
    pages.push(page);
    if (page.length < params.limit) return pages;
    pagination_key = page[page.length - 1].call_id;
    await onPage(page, pages.length);
  }
  assert.fail('the walk did not end');
}

describe('list-calls pagination', () => {
  for (const sort_order of ['descending', 'ascending']) {
    test(`walking ${sort_order} pages of 7 with pagination_key returns every call once, in order`, async () => {
      const pages = await walk({ filter_criteria: scope, sort_order, limit: 7 });
      const expected = expectedIds(calls, { filter_criteria: scope, sort_order, limit: 1000 });
      assert.deepEqual(ids(pages.flat()), expected);
      assert.equal(pages.length, Math.floor(calls.length / 7) + 1);
      for (const page of pages.slice(0, -1)) assert.equal(page.length, 7);
    });
  }

  test('a filtered walk returns every matching call once, in order', async () => {
    const filter_criteria = { ...scope, call_type: ['phone_call'], call_status: ['ended', 'error'] };
    const pages = await walk({ filter_criteria, limit: 5 });
    const expected = expectedIds(calls, { filter_criteria, limit: 1000 });
    assert.ok(expected.length > 10);
    assert.deepEqual(ids(pages.flat()), expected);
  });

  test('a pagination_key that does not match the filter still marks where the page starts, exclusively', async () => {
    const filter_criteria = { ...scope, call_type: ['web_call'] };
    for (const sort_order of ['ascending', 'descending']) {
      const order = sorted(calls, sort_order);
      const keyIndex = order.findIndex((c, i) => i > 10 && !matches(c, filter_criteria));
      const key = order[keyIndex];
      const expected = ids(order.slice(keyIndex + 1).filter((c) => matches(c, filter_criteria)));
      const got = await client.call.list({ filter_criteria, sort_order, limit: 1000, pagination_key: key.call_id });
      assert.deepEqual(ids(got), expected);
    }
  });

  test('the key of a call deleted since the previous page still continues the walk where that call stood', async () => {
    const agent = uniqueTag('agent_page_deleted');
    const own = makeCalls(random(31337), 20, [agent]);
    await importCalls(own);
    const filter_criteria = { agent_id: [agent] };
    const first = await client.call.list({ filter_criteria, limit: 6 });
    const key = first[first.length - 1].call_id;
    await client.call.delete(key);
    const rest = await client.call.list({ filter_criteria, limit: 1000, pagination_key: key });
    assert.deepEqual(ids(rest), expectedIds(own, { filter_criteria, limit: 1000 }).slice(6));
  });

  test('a walk while calls are inserted and deleted returns every call that existed throughout exactly once, in order', async () => {
    const agent = uniqueTag('agent_page_churn');
    const rng = random(4242);
    const own = makeCalls(rng, 40, [agent]);
    await importCalls(own);
    const filter_criteria = { agent_id: [agent] };
    const deleted = new Set();
    const inserted = [];
    const pages = await walk({ filter_criteria, sort_order: 'ascending', limit: 6 }, {
      onPage: async (page) => {
        const seen = new Set(ids(page));
        // Delete a call that is still ahead of the walk, and the key itself (the last call of this page).
        const ahead = own.find((c) => !deleted.has(c.call_id) && !seen.has(c.call_id) &&
          (c.start_timestamp > page[page.length - 1].start_timestamp));
        for (const victim of [ahead?.call_id, page[page.length - 1].call_id]) {
          if (victim && !deleted.has(victim)) {
            await client.call.delete(victim);
            deleted.add(victim);
          }
        }
        // Insert one call before the walk's position and one after it.
        const behind = makeCall(rng, { agentId: agent, startTimestamp: page[0].start_timestamp - 1 });
        const later = makeCall(rng, { agentId: agent, startTimestamp: page[page.length - 1].start_timestamp + 7 });
        await importCalls([behind, later]);
        inserted.push(behind, later);
      },
    });
    const got = ids(pages.flat());
    assert.equal(new Set(got).size, got.length, 'a call was returned twice');
    const survivors = ids(sorted(own.filter((c) => !deleted.has(c.call_id)), 'ascending'));
    assert.deepEqual(got.filter((id) => survivors.includes(id)), survivors);
    const all = new Map([...own, ...inserted].map((c) => [c.call_id, c]));
    const walked = got.map((id) => all.get(id));
    for (let i = 1; i < walked.length; i++) {
      const [a, b] = [walked[i - 1], walked[i]];
      assert.ok(a.start_timestamp < b.start_timestamp || (a.start_timestamp === b.start_timestamp && compareIds(a.call_id, b.call_id) < 0),
        `out of order: ${a.call_id} before ${b.call_id}`);
    }
  });

  test('an unfiltered walk over the whole workspace returns each call once, in order, including all of ours', async () => {
    const pages = await walk({ sort_order: 'descending', limit: 97 });
    const got = pages.flat();
    assert.equal(new Set(ids(got)).size, got.length, 'a call was returned twice');
    const mine = new Set(ids(calls));
    assert.deepEqual(ids(got).filter((id) => mine.has(id)), ids(sorted(calls, 'descending')));
    const starts = got.map((c) => c.start_timestamp).filter((t) => t !== undefined);
    assert.deepEqual(starts, [...starts].sort((a, b) => b - a));
  });
});
