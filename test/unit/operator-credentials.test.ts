import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, parsePasswordHash, passwordProblem, verifyPassword } from '../../src/domain/password.js';
import { base32Decode, base32Encode, hotp, matchTotp, newTotpSecret, otpauthUri, totpAt, totpStep } from '../../src/domain/totp.js';

test('scrypt hashes are self-describing, salted, and verify only the right password', async () => {
  const a = await hashPassword('correct horse battery');
  const b = await hashPassword('correct horse battery');
  assert.match(a, /^scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b, 'a fresh salt each time');
  assert.deepEqual(parsePasswordHash(a)?.params, { ln: 15, r: 8, p: 1 });
  assert.equal(await verifyPassword('correct horse battery', a), true);
  assert.equal(await verifyPassword('correct horse batterY', a), false);
  // Stored parameters are honoured (a future cost change keeps old hashes working)…
  const cheap = await hashPassword('correct horse battery', { ln: 12, r: 8, p: 1 });
  assert.equal(await verifyPassword('correct horse battery', cheap), true);
  // …within bounds: a tampered row asking for 2^20 is refused, not computed.
  assert.equal(await verifyPassword('correct horse battery', cheap.replace('ln=12', 'ln=20')), false);
  assert.equal(await verifyPassword('x', 'not a hash'), false);
});

test('weak and breached-pattern passwords are refused with a reason', () => {
  for (const weak of ['short', 'elevenchars', 'aaaaaaaaaaaaaaaa', '123456789012', 'qwertyuiopas', 'Password1234', 'P@ssw0rd2024!', 'letmein12345', 'abcabcabcabc', 'ADMIN123456789', 'otpgate-2026!!']) {
    assert.ok(passwordProblem(weak), `${weak} should be refused`);
  }
  assert.match(passwordProblem('ana.silva@example.com', 'ana.silva@example.com') ?? '', /email/);
  for (const ok of ['correct horse battery', 'tq7-Vm2x!plR9', 'ein langer Satz hier']) assert.equal(passwordProblem(ok), undefined, ok);
});

test('TOTP: the RFC 6238 test vectors (SHA-1), base32, the window and the step', () => {
  // RFC 6238 Appendix B, secret "12345678901234567890", 8 digits.
  const secret = Buffer.from('12345678901234567890');
  const vectors: [number, string][] = [[59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'], [1234567890, '89005924'], [2000000000, '69279037']];
  for (const [t, expected] of vectors) assert.equal(hotp(secret, Math.floor(t / 30), 8), expected, `T=${t}`);
  const b32 = base32Encode(secret);
  assert.equal(b32, 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  assert.deepEqual(base32Decode(b32), secret);
  const now = 1111111111_000;
  assert.equal(totpAt(b32, now), '050471');
  assert.equal(matchTotp(b32, '050471', now), totpStep(now));
  // One step of drift either way is accepted; two are not.
  assert.equal(matchTotp(b32, totpAt(b32, now - 30_000), now), totpStep(now) - 1);
  assert.equal(matchTotp(b32, totpAt(b32, now + 30_000), now), totpStep(now) + 1);
  assert.equal(matchTotp(b32, totpAt(b32, now - 60_000), now), undefined);
  assert.equal(matchTotp(b32, '12345', now), undefined);
  assert.equal(matchTotp(b32, 'abcdef', now), undefined);
  const fresh = newTotpSecret();
  assert.match(fresh, /^[A-Z2-7]{32}$/);
  assert.match(otpauthUri(fresh, 'ana@example.com'), /^otpauth:\/\/totp\/otpgate:ana%40example\.com\?secret=[A-Z2-7]{32}&issuer=otpgate/);
});
