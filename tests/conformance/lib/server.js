// Where the CallVault server under test is, and how to talk to it: through the official retell-sdk for
// every Retell route, and with plain fetch for CallVault's own import route (the SDK has no import).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Retell from 'retell-sdk';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through scripts/test-suites/conformance.sh`);
  }
  return value;
}

/** Base URL of the running server, such as http://127.0.0.1:5123. */
export const baseURL = required('CALLVAULT_BASE_URL');
/** A key of workspace A, where most tests work. */
export const keyA = required('CALLVAULT_KEY_A');
/** A key of workspace B, another tenant of the same server. */
export const keyB = required('CALLVAULT_KEY_B');

/** An SDK client exactly as a Retell user builds one, pointed at CallVault. */
export function sdk(apiKey = keyA, options = {}) {
  return new Retell({ apiKey, baseURL, ...options });
}

/** A client that does not retry, for tests that expect an error. */
export function sdkNoRetry(apiKey = keyA) {
  return sdk(apiKey, { maxRetries: 0 });
}

/** Stores calls through POST /v2/import-calls and checks that all of them were taken. */
export async function importCalls(calls, apiKey = keyA) {
  const response = await fetch(`${baseURL}/v2/import-calls`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(calls),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `import-calls answered ${response.status}: ${text}`);
  assert.deepEqual(JSON.parse(text), { imported: calls.length });
}

/** A tag unique to this test run, so that tests sharing a workspace never see each other's calls. */
export function uniqueTag(prefix) {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Runs an SDK call that must fail, and returns the error it threw. */
export async function failure(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('the SDK call succeeded but an error was expected');
}

/**
 * Checks that an SDK error is of the expected class and status, and that the server's own message text is
 * what the SDK shows in err.message. Returns the server's message for further checks.
 */
export function assertApiError(err, ErrorClass, status) {
  assert.ok(err instanceof ErrorClass, `expected ${ErrorClass.name}, got ${err?.constructor?.name}: ${err?.message}`);
  assert.ok(err instanceof Retell.APIError);
  assert.equal(err.status, status);
  assert.equal(typeof err.error?.message, 'string', `the error body has no message: ${JSON.stringify(err.error)}`);
  assert.ok(err.error.message.length > 0);
  assert.equal(err.message, `${status} ${err.error.message}`);
  return err.error.message;
}

export { Retell };
