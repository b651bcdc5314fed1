// Bad requests surface as the SDK's error classes, with the server's message in err.message.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { makeCalls, random } from './lib/calls.js';
import { ids } from './lib/expect.js';
import { Retell, assertApiError, failure, importCalls, keyA, sdk, sdkNoRetry, uniqueTag } from './lib/server.js';

const client = sdkNoRetry();
const agent = uniqueTag('agent_errors');
let calls = [];

before(async () => {
  calls = makeCalls(random(404), 5, [agent]);
  await importCalls(calls);
});

async function badList(params) {
  return assertApiError(await failure(client.call.list(params)), Retell.BadRequestError, 400);
}

describe('list-calls rejects what it cannot serve exactly', () => {
  for (const limit of [0, -1, 1001, 2.5]) {
    test(`limit ${limit} is a BadRequestError naming limit`, async () => {
      assert.match(await badList({ limit }), /limit/);
    });
  }

  test('a limit that is not a number is a BadRequestError', async () => {
    assert.match(await badList({ limit: 'ten' }), /limit/);
  });

  test('an unknown filter_criteria field is a BadRequestError naming it, never a wider query', async () => {
    const message = await badList({ filter_criteria: { agent_ids: [agent] } });
    assert.match(message, /agent_ids/);
  });

  test('an unknown top-level field is a BadRequestError naming it', async () => {
    assert.match(await badList({ sortOrder: 'ascending' }), /sortOrder/);
  });

  test('an unknown threshold field is a BadRequestError naming it', async () => {
    assert.match(await badList({ filter_criteria: { duration_ms: { min: 10 } } }), /min/);
  });

  for (const [field, value] of [
    ['call_status', 'finished'],
    ['call_type', 'video_call'],
    ['direction', 'Inbound'],
    ['user_sentiment', 'positive'],
    ['disconnection_reason', 'hung_up'],
  ]) {
    test(`an unknown ${field} value is a BadRequestError naming the field`, async () => {
      assert.match(await badList({ filter_criteria: { [field]: [value] } }), new RegExp(field));
    });
  }

  test('an unknown sort_order is a BadRequestError', async () => {
    assert.match(await badList({ sort_order: 'newest' }), /sort_order/);
  });

  test('a filter value of the wrong type is a BadRequestError', async () => {
    assert.match(await badList({ filter_criteria: { call_successful: ['yes'] } }), /call_successful/);
    assert.match(await badList({ filter_criteria: { agent_id: agent } }), /agent_id/);
  });

  for (const field of ['agent_id', 'from_number', 'to_number']) {
    test(`a null among the ${field} values is a BadRequestError, not a server error`, async () => {
      assert.match(await badList({ filter_criteria: { [field]: [null] } }), new RegExp(`${field}.*null`));
      assert.match(await badList({ filter_criteria: { [field]: ['+14155550100', null] } }), new RegExp(field));
    });
  }

  test('a pagination_key that names no call of this workspace is a BadRequestError naming the key', async () => {
    const key = uniqueTag('no_such_call');
    const message = await badList({ pagination_key: key });
    assert.match(message, /pagination_key/);
    assert.match(message, new RegExp(key));
  });

  test('after the errors the same client still lists the calls', async () => {
    const got = await client.call.list({ filter_criteria: { agent_id: [agent] } });
    assert.equal(got.length, calls.length);
    assert.deepEqual(new Set(ids(got)), new Set(ids(calls)));
  });
});

describe('authentication', () => {
  test('a wrong API key is an AuthenticationError on every call method', async () => {
    const wrong = sdkNoRetry(`cv_${'0'.repeat(48)}`);
    const attempts = [
      () => wrong.call.list({}),
      () => wrong.call.retrieve(calls[0].call_id),
      () => wrong.call.update(calls[0].call_id, { metadata: { stolen: true } }),
      () => wrong.call.delete(calls[0].call_id),
      () => wrong.call.registerPhoneCall({ agent_id: agent }),
    ];
    for (const attempt of attempts) {
      const message = assertApiError(await failure(attempt()), Retell.AuthenticationError, 401);
      assert.match(message, /key/i);
    }
    // Nothing changed, nothing was registered.
    const listed = await sdk().call.list({ filter_criteria: { agent_id: [agent] } });
    assert.deepEqual(new Set(ids(listed)), new Set(ids(calls)));
    const call = await sdk().call.retrieve(calls[0].call_id);
    assert.deepEqual(call.metadata, calls[0].metadata);
  });

  test('a key that shares a real key\'s prefix but not its secret is an AuthenticationError', async () => {
    const forged = keyA.slice(0, -1) + (keyA.endsWith('0') ? '1' : '0');
    assert.notEqual(forged, keyA);
    assertApiError(await failure(sdkNoRetry(forged).call.list({})), Retell.AuthenticationError, 401);
  });

  test('a key that is not even shaped like a key is an AuthenticationError', async () => {
    const err = await failure(sdkNoRetry('not-a-key').call.list({}));
    assertApiError(err, Retell.AuthenticationError, 401);
  });
});

describe('methods of the SDK that CallVault does not serve', () => {
  test('createPhoneCall and createWebCall fail with a NotFoundError that names the route', async () => {
    const phone = await failure(client.call.createPhoneCall({ from_number: '+14155550100', to_number: '+14155550101' }));
    assert.match(assertApiError(phone, Retell.NotFoundError, 404), /create-phone-call/);
    const web = await failure(client.call.createWebCall({ agent_id: agent }));
    assert.match(assertApiError(web, Retell.NotFoundError, 404), /create-web-call/);
  });
});
