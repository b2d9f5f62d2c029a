import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { maskWholeText, REPLAY_MEMORY_MS, TIMESTAMP_TOLERANCE_MS, withPlus } from '../../src/receivers/support.js';
import { receiverFor, receiverRegistry } from '../../src/receivers/registry.js';
import { platforms, type ReceiverRequest } from '../../src/receivers/types.js';

const now = Date.UTC(2026, 5, 1, 12);
const request = (headers: Record<string, string>, rawBody: string): ReceiverRequest => ({ headers, rawBody, body: JSON.parse(rawBody), now, tenantId: 'ten_x' });

test('whole texts: the given code and lone runs of 4–10 digits are masked; longer numbers and digits inside words stay', () => {
  assert.equal(maskWholeText('Your code is 4821. Call 0800123456789 if it was not you.'), 'Your code is ****. Call 0800123456789 if it was not you.');
  assert.equal(maskWholeText('Code X7K2QP for ref AB12', 'X7K2QP'), 'Code ****** for ref AB12');
  assert.equal(maskWholeText('123 and 12345678901'), '123 and 12345678901');
});

test('bare digits get their +; anything else is left to the phone parser', () => {
  assert.equal(withPlus('14155550100'), '+14155550100');
  assert.equal(withPlus('+1 415 555 0100'), '+1 415 555 0100');
  assert.equal(withPlus('12345'), '12345');
});

test('the replay memory outlasts a timestamp’s whole window', () => {
  assert.ok(REPLAY_MEMORY_MS >= 2 * TIMESTAMP_TOLERANCE_MS);
});

test('every platform has a receiver, and no other name does', () => {
  assert.deepEqual(Object.keys(receiverRegistry).sort(), [...platforms].sort());
  assert.equal(receiverFor('constructor'), undefined);
  assert.equal(receiverFor('__proto__'), undefined);
});

test('ZITADEL: the header as pkg/actions/signing.go writes it, with a second signature during rotation; malformed headers fail', () => {
  const z = receiverFor('zitadel')!;
  const body = '{"a":1}';
  const t = Math.floor(now / 1000);
  const sig = (k: string) => createHmac('sha256', k).update(`${t}.${body}`).digest('hex');
  assert.equal(z.authenticate(request({ 'zitadel-signature': `t=${t},v1=${sig('old-key-000')},v1=${sig('new-key-000')}` }, body), ['new-key-000']).ok, true);
  for (const h of [`t=${t}`, `t=${t},v1=${sig('k')}=x`, `t=abc,v1=${sig('k')}`, `v1=${sig('k')}`, `t=${t - 301},v1=${sig('k')}`]) {
    assert.equal(z.authenticate(request({ 'zitadel-signature': h }, body), ['k']).ok, false, h);
  }
});

test('secrets the user gives are checked per platform, never echoed in the problem', () => {
  for (const p of platforms) {
    const d = receiverFor(p)!;
    const problem = d.secretProblem('x');
    assert.ok(problem && !problem.includes('"x"'), p);
    if (d.canGenerateSecret) assert.equal(d.secretProblem(d.generateSecret()), undefined, p);
  }
});
