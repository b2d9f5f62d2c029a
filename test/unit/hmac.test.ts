import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { constantTimeEqual, hmacCode, sha256Hex } from '../../src/crypto/hmac.js';

const key = Buffer.alloc(32, 7);

test('hmacCode is HMAC-SHA256 over "challengeId:code", base64url', () => {
  const expected = createHmac('sha256', key).update('chl_abc:123456').digest('base64url');
  assert.equal(hmacCode(key, 'chl_abc', '123456'), expected);
  assert.match(hmacCode(key, 'chl_abc', '123456'), /^[A-Za-z0-9_-]{43}$/);
});

test('hmacCode binds the code to the challenge and the key', () => {
  const h = hmacCode(key, 'chl_a', '123456');
  assert.equal(hmacCode(key, 'chl_a', '123456'), h, 'deterministic');
  assert.notEqual(hmacCode(key, 'chl_b', '123456'), h, 'another challenge');
  assert.notEqual(hmacCode(key, 'chl_a', '123457'), h, 'another code');
  assert.notEqual(hmacCode(Buffer.alloc(32, 8), 'chl_a', '123456'), h, 'another key');
  assert.ok(!h.includes('123456'));
  assert.throws(() => hmacCode(Buffer.alloc(0), 'chl_a', '1234'), RangeError);
});

test('hmacCode binds an amount and a payee; without them it is the unbound hash', () => {
  const plain = hmacCode(key, 'chl_a', '123456');
  assert.equal(hmacCode(key, 'chl_a', '123456', {}), plain);
  assert.equal(hmacCode(key, 'chl_a', '123456', { amount: undefined, payee: undefined }), plain);
  const bound = hmacCode(key, 'chl_a', '123456', { amount: 'EUR 10', payee: 'Shop' });
  assert.notEqual(bound, plain);
  assert.equal(hmacCode(key, 'chl_a', '123456', { amount: 'EUR 10', payee: 'Shop' }), bound);
  assert.notEqual(hmacCode(key, 'chl_a', '123456', { amount: 'EUR 11', payee: 'Shop' }), bound, 'another amount');
  assert.notEqual(hmacCode(key, 'chl_a', '123456', { amount: 'EUR 10', payee: 'Shop2' }), bound, 'another payee');
  assert.notEqual(hmacCode(key, 'chl_a', '123456', { amount: 'EUR 10' }), bound, 'payee missing');
  // Amount and payee cannot trade places or run into each other.
  assert.notEqual(hmacCode(key, 'chl_a', '123456', { amount: 'Shop', payee: 'EUR 10' }), bound);
  assert.notEqual(hmacCode(key, 'chl_a', '123456', { amount: 'EUR 10Shop' }), hmacCode(key, 'chl_a', '123456', { amount: 'EUR 10', payee: 'Shop' }));
});

test('constantTimeEqual', () => {
  assert.equal(constantTimeEqual('abc', 'abc'), true);
  assert.equal(constantTimeEqual('', ''), true);
  assert.equal(constantTimeEqual('abc', 'abd'), false);
  assert.equal(constantTimeEqual('abc', 'abcd'), false);
  assert.equal(constantTimeEqual('abcd', 'abc'), false);
  assert.equal(constantTimeEqual('', 'a'), false);
  assert.equal(constantTimeEqual('é', 'e\u0301'), false);
  assert.equal(constantTimeEqual('日本', '日本'), true);
  const h = hmacCode(key, 'chl_a', '1234');
  assert.equal(constantTimeEqual(h, hmacCode(key, 'chl_a', '1234')), true);
  assert.equal(constantTimeEqual(h, hmacCode(key, 'chl_a', '1235')), false);
});

test('sha256Hex', () => {
  assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.match(sha256Hex('otpk_anything'), /^[0-9a-f]{64}$/);
});
