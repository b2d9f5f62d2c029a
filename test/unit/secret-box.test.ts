import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSecretBox, parseSecretKeys } from '../../src/crypto/secret-box.js';

const k1 = Buffer.alloc(32, 1);
const k2 = Buffer.alloc(32, 2);

test('seal then open round-trips, with the v1 format', () => {
  const box = createSecretBox([{ id: 'k1', key: k1 }], 'k1');
  assert.equal(box.activeKeyId, 'k1');
  for (const plaintext of ['auth_token_abc123', '', 'ünïcödé 😀 {"json":true}', 'x'.repeat(10_000)]) {
    const sealed = box.seal(plaintext);
    const parts = sealed.split('.');
    assert.equal(parts.length, 5);
    assert.equal(parts[0], 'v1');
    assert.equal(parts[1], 'k1');
    assert.equal(Buffer.from(parts[2] ?? '', 'base64url').length, 12);
    assert.equal(Buffer.from(parts[4] ?? '', 'base64url').length, 16);
    assert.match(sealed, /^v1\.k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/);
    assert.equal(box.open(sealed), plaintext);
    if (plaintext !== '') assert.ok(!sealed.includes(plaintext));
  }
});

test('each seal uses a fresh IV', () => {
  const box = createSecretBox([{ id: 'k1', key: k1 }], 'k1');
  const a = box.seal('same');
  const b = box.seal('same');
  assert.notEqual(a, b);
  assert.notEqual(a.split('.')[2], b.split('.')[2]);
});

test('aad binds a sealed value to its row', () => {
  const box = createSecretBox([{ id: 'k1', key: k1 }], 'k1');
  const sealed = box.seal('body for msg_1', 'msg_1');
  assert.equal(box.open(sealed, 'msg_1'), 'body for msg_1');
  assert.throws(() => box.open(sealed, 'msg_2'), /failed authentication/);
  assert.throws(() => box.open(sealed), /failed authentication/);
  const plain = box.seal('no aad');
  assert.equal(box.open(plain), 'no aad');
  assert.equal(box.open(plain, ''), 'no aad');
  assert.throws(() => box.open(plain, 'msg_1'), /failed authentication/);
});

test('rotation: new writes use the active key, old values still open', () => {
  const old = createSecretBox([{ id: 'k1', key: k1 }], 'k1');
  const sealedOld = old.seal('old secret');
  const rotated = createSecretBox([{ id: 'k2', key: k2 }, { id: 'k1', key: k1 }], 'k2');
  assert.equal(rotated.activeKeyId, 'k2');
  const sealedNew = rotated.seal('new secret');
  assert.ok(sealedNew.startsWith('v1.k2.'));
  assert.equal(rotated.open(sealedOld), 'old secret');
  assert.equal(rotated.open(sealedNew), 'new secret');
  // the old box does not know k2
  assert.throws(() => old.open(sealedNew), /unknown key id "k2"/);
});

test('a key id pointing at another key fails authentication', () => {
  const box = createSecretBox([{ id: 'k1', key: k1 }, { id: 'k2', key: k2 }], 'k1');
  const sealed = box.seal('secret');
  assert.throws(() => box.open(sealed.replace('v1.k1.', 'v1.k2.')), /failed authentication/);
});

test('tampering with any part is detected', () => {
  const box = createSecretBox([{ id: 'k1', key: k1 }], 'k1');
  const sealed = box.seal('provider secret value');
  const parts = sealed.split('.');
  const flip = (s: string, at: number) => {
    const c = s.charAt(at);
    return s.slice(0, at) + (c === 'A' ? 'B' : 'A') + s.slice(at + 1);
  };
  for (const index of [2, 3, 4]) {
    const part = parts[index] ?? '';
    for (const at of [0, Math.floor(part.length / 2), part.length - 1]) {
      const tampered = [...parts];
      tampered[index] = flip(part, at);
      assert.throws(() => box.open(tampered.join('.')), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.ok(!err.message.includes('provider secret value'));
        return true;
      }, `part ${index} char ${at}`);
    }
  }
  // truncated ciphertext, swapped parts, extra data
  assert.throws(() => box.open([parts[0], parts[1], parts[2], (parts[3] ?? '').slice(0, -2), parts[4]].join('.')));
  assert.throws(() => box.open([parts[0], parts[1], parts[2], parts[4], parts[3]].join('.')));
  assert.throws(() => box.open(`${sealed}AA`));
});

test('malformed values and unknown key ids are refused with clear errors', () => {
  const box = createSecretBox([{ id: 'k1', key: k1 }], 'k1');
  const sealed = box.seal('secret');
  const [, , iv, ct, tag] = sealed.split('.');
  for (const bad of ['', 'plain text', 'v1.k1', `v2.k1.${iv}.${ct}.${tag}`, `v1.k1.${iv}.${ct}.${tag}.x`, `v1.k1.${iv}.${ct}.${tag}=`, `v1.k1.${iv}.${ct}+/.${tag}`]) {
    assert.throws(() => box.open(bad), Error, bad);
  }
  assert.throws(() => box.open(`v1.k1.${iv}AA.${ct}.${tag}`), /malformed/);
  assert.throws(() => box.open(`v1.k9.${iv}.${ct}.${tag}`), /unknown key id "k9"/);
});

test('createSecretBox validates its keys', () => {
  assert.throws(() => createSecretBox([{ id: 'k1', key: Buffer.alloc(16) }], 'k1'), /32 bytes, got 16/);
  assert.throws(() => createSecretBox([{ id: 'k1', key: Buffer.alloc(33) }], 'k1'), /32 bytes/);
  assert.throws(() => createSecretBox([{ id: 'k1', key: k1 }], 'k2'), /active secret key id "k2"/);
  assert.throws(() => createSecretBox([], 'k1'), /active/);
  assert.throws(() => createSecretBox([{ id: 'k1', key: k1 }, { id: 'k1', key: k2 }], 'k1'), /twice/);
  assert.throws(() => createSecretBox([{ id: 'k.1', key: k1 }], 'k.1'), /key id/);
  assert.throws(() => createSecretBox([{ id: '', key: k1 }], ''), /key id/);
});

test('the box keeps its own copy of the key', () => {
  const key = Buffer.from(k1);
  const box = createSecretBox([{ id: 'k1', key }], 'k1');
  const sealed = box.seal('secret');
  key.fill(0);
  assert.equal(box.open(sealed), 'secret');
});

test('parseSecretKeys: a single base64 or base64url key is k1', () => {
  const raw = randomBytes(32);
  for (const spec of [raw.toString('base64'), raw.toString('base64url'), ` ${raw.toString('base64')}\n`, raw.toString('base64').replace(/=+$/, '')]) {
    const parsed = parseSecretKeys(spec);
    assert.equal(parsed.activeKeyId, 'k1');
    assert.equal(parsed.keys.length, 1);
    assert.equal(parsed.keys[0]?.id, 'k1');
    assert.ok(parsed.keys[0]?.key.equals(raw));
  }
});

test('parseSecretKeys: a list, the first entry active; feeds createSecretBox', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);
  const parsed = parseSecretKeys(`2026a:${a.toString('base64url')}, 2025b:${b.toString('base64')}`);
  assert.equal(parsed.activeKeyId, '2026a');
  assert.deepEqual(parsed.keys.map((k) => k.id), ['2026a', '2025b']);
  assert.ok(parsed.keys[0]?.key.equals(a));
  assert.ok(parsed.keys[1]?.key.equals(b));
  const box = createSecretBox(parsed.keys, parsed.activeKeyId);
  assert.ok(box.seal('x').startsWith('v1.2026a.'));
  assert.equal(parseSecretKeys(`solo:${a.toString('base64')}`).activeKeyId, 'solo');
});

test('parseSecretKeys: errors name the problem and never echo key material', () => {
  const good = randomBytes(32).toString('base64');
  const short = randomBytes(16).toString('base64');
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['   ', /empty/],
    [short, /32 random bytes/],
    ['not base64 at all!', /32 random bytes/],
    [`k1:${short}`, /entry 1 \("k1"\)/],
    [`k1:${good},k2:${short}`, /entry 2 \("k2"\)/],
    [`k1:${good},${good}`, /entry 2 must be written id:key/],
    [`k1:${good},`, /entry 2 must be written id:key/],
    [`bad.id:${good}`, /entry 1 has an invalid key id/],
    [`:${good}`, /entry 1 has an invalid key id/],
    [`k1:${good},k1:${good}`, /"k1" is listed twice/],
  ];
  for (const [spec, message] of cases) {
    assert.throws(() => parseSecretKeys(spec), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, message, spec);
      assert.ok(!err.message.includes(good), 'echoes a key');
      if (spec.includes(short)) assert.ok(!err.message.includes(short), 'echoes a key');
      return true;
    });
  }
});

for (const rememberSealed of [0, 8]) {
  test(`a value this box just sealed opens as any other: same plaintext, same AAD check, tampering caught (rememberSealed ${rememberSealed})`, () => {
    const box = createSecretBox([{ id: 'k1', key: k1 }], 'k1', { rememberSealed });
    const other = createSecretBox([{ id: 'k1', key: k1 }], 'k1');
    const sealed = box.seal('Your code is 123456', 'msg_1');
    // A wrong AAD is refused though the value may be one the box remembers, and does not spend it.
    assert.throws(() => box.open(sealed, 'msg_2'), /failed authentication/);
    const parts = sealed.split('.');
    const flipped = parts[3]!.startsWith('A') ? `B${parts[3]!.slice(1)}` : `A${parts[3]!.slice(1)}`;
    assert.throws(() => box.open([...parts.slice(0, 3), flipped, parts[4]].join('.'), 'msg_1'), /failed authentication/);
    assert.equal(box.open(sealed, 'msg_1'), 'Your code is 123456');
    // Opened again (a retry), and by a box that never sealed it: decrypted, the same answer.
    assert.equal(box.open(sealed, 'msg_1'), 'Your code is 123456');
    assert.equal(other.open(sealed, 'msg_1'), 'Your code is 123456');
    // More values than it remembers: the oldest (forgotten) and the newest open to what was sealed.
    const many = Array.from({ length: 50 }, (_, i) => box.seal(`body ${i}`, `msg_${i}`));
    assert.equal(box.open(many[0]!, 'msg_0'), 'body 0');
    assert.equal(box.open(many[49]!, 'msg_49'), 'body 49');
    assert.throws(() => box.open(many[48]!, 'msg_47'), /failed authentication/);
    assert.equal(box.open(many[48]!, 'msg_48'), 'body 48');
    // Under another key set the same text is refused: what a box remembers is its own keys' work.
    const stranger = createSecretBox([{ id: 'k1', key: k2 }], 'k1', { rememberSealed });
    assert.throws(() => stranger.open(many[47]!, 'msg_47'), /failed authentication/);
  });
}
