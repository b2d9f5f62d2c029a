import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idPrefixOf, idTimeOf, isId, newId, newSecretToken, type IdPrefix } from '../../src/domain/ids.js';

const allPrefixes: IdPrefix[] = ['ten', 'key', 'chl', 'msg', 'att', 'tpl', 'aud', 'pvc', 'inb', 'tok'];
const body = /^[0-9a-hjkmnp-tv-z]{26}$/;

test('newId has the prefix and 26 lowercase Crockford base32 characters', () => {
  for (const prefix of allPrefixes) {
    const id = newId(prefix);
    assert.equal(id.length, 30);
    assert.ok(id.startsWith(`${prefix}_`), id);
    assert.match(id.slice(4), body);
    assert.equal(idPrefixOf(id), prefix);
    assert.ok(isId(id, prefix));
  }
});

test('newId encodes the timestamp in the first 10 characters (ULID layout)', () => {
  assert.ok(newId('msg', 0).startsWith('msg_0000000000'));
  // 48-bit max time encodes as 7zzzzzzzzz
  assert.ok(newId('msg', 2 ** 48 - 1).startsWith('msg_7zzzzzzzzz'));
  // 1469918176385 is the ULID spec example, encoded 01ARYZ6S41
  assert.ok(newId('msg', 1469918176385).startsWith('msg_01aryz6s41'));
  const t = Date.UTC(2026, 0, 1, 12, 30, 15, 123);
  assert.equal(idTimeOf(newId('chl', t)), t);
  assert.equal(idTimeOf(newId('chl', t + 0.9)), t, 'fractional ms are floored');
});

test('newId rejects times outside 48 bits and unknown prefixes', () => {
  assert.throws(() => newId('msg', -1), RangeError);
  assert.throws(() => newId('msg', 2 ** 48), RangeError);
  assert.throws(() => newId('msg', Number.NaN), RangeError);
  assert.throws(() => newId('msg', Number.POSITIVE_INFINITY), RangeError);
  assert.throws(() => newId('xyz' as IdPrefix), RangeError);
});

test('ids made in order sort in order, also within one millisecond', () => {
  const t = Date.UTC(2026, 2, 3);
  const ids: string[] = [];
  for (let i = 0; i < 5000; i++) ids.push(newId('msg', t));
  for (let i = 0; i < 5000; i++) ids.push(newId('msg', t + 1 + Math.floor(i / 100)));
  const sorted = [...ids].sort();
  assert.deepEqual(sorted, ids);
  assert.equal(new Set(ids).size, ids.length, 'all unique');
});

test('same-millisecond ids differ by one in the random part', () => {
  const t = Date.UTC(2026, 4, 5);
  const a = newId('ten', t);
  const b = newId('ten', t);
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  const toBig = (s: string) => [...s].reduce((n, c) => n * 32n + BigInt(alphabet.indexOf(c)), 0n);
  assert.equal(toBig(b.slice(14)) - toBig(a.slice(14)), 1n);
  assert.equal(a.slice(0, 14), b.slice(0, 14));
});

test('ids sort by creation time across milliseconds and Date.now default', () => {
  const early = newId('aud', Date.UTC(2025, 0, 1));
  const late = newId('aud', Date.UTC(2025, 0, 1) + 1);
  assert.ok(early < late);
  const before = Date.now();
  const id = newId('aud');
  const after = Date.now();
  const t = idTimeOf(id);
  assert.ok(t !== undefined && t >= before && t <= after);
});

test('a different millisecond starts fresh randomness (an earlier clock does not reuse the counter)', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(newId('key', 1000 + (i % 2)).slice(14));
  assert.equal(seen.size, 200);
});

test('random parts are well distributed across the alphabet', () => {
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const r = newId('tok', i * 7).slice(14);
    for (const c of r) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  assert.equal(counts.size, 32, 'every base32 digit appears');
  for (const [c, n] of counts) assert.ok(n > 500 && n < 1500, `digit ${c} appeared ${n} times`);
});

test('idPrefixOf and isId check the format strictly', () => {
  const id = newId('chl', Date.UTC(2026, 0, 1));
  assert.equal(idPrefixOf(id), 'chl');
  assert.ok(isId(id, 'chl'));
  assert.equal(isId(id, 'msg'), false);
  const bad = [
    '',
    'chl_',
    id.toUpperCase(),
    id.replace('chl_', 'chl-'),
    `${id}0`,
    id.slice(0, -1),
    `foo_${id.slice(4)}`,
    `chl_${'i'.repeat(26)}`,
    `chl_${'l'.repeat(26)}`,
    `chl_${'o'.repeat(26)}`,
    `chl_${'u'.repeat(26)}`,
    `chl_8${'0'.repeat(25)}`, // timestamp beyond 48 bits
    ` ${id}`,
  ];
  for (const value of bad) {
    assert.equal(idPrefixOf(value), undefined, value);
    assert.equal(isId(value, 'chl'), false, value);
  }
  for (const value of [undefined, null, 42, {}, [id]]) assert.equal(isId(value, 'chl'), false);
  assert.equal(idTimeOf('nope'), undefined);
});

test('newSecretToken is base64url of the requested random bytes', () => {
  const t = newSecretToken();
  assert.match(t, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(t, 'base64url').length, 32);
  const t64 = newSecretToken(64);
  assert.equal(Buffer.from(t64, 'base64url').length, 64);
  assert.equal(Buffer.from(newSecretToken(16), 'base64url').length, 16);
  const many = new Set(Array.from({ length: 100 }, () => newSecretToken()));
  assert.equal(many.size, 100);
  for (const n of [0, 8, 15, 1025, 1.5, Number.NaN]) assert.throws(() => newSecretToken(n), RangeError, String(n));
});
