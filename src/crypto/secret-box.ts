import { createCipheriv, createDecipheriv } from 'node:crypto';
import { pooledRandomBytes } from '../domain/random-pool.js';

/**
 * Authenticated encryption (AES-256-GCM) of small strings — provider secrets, outbox bodies —
 * under a set of keys, one of them active.
 *
 * Sealed format: `v1.<keyId>.<iv>.<ciphertext>.<tag>`, the last three base64url without
 * padding (12-byte IV, 16-byte tag). New values are sealed under the active key; `open` picks
 * the key named in the value, so after a rotation old values still open.
 */
export interface SecretBox {
  /**
   * Encrypts `plaintext` (UTF-8) under the active key with a fresh random IV.
   * @param aad additional authenticated data binding the value to its context (e.g. the
   *            message id): it must be given again, identically, to open. Default ''.
   */
  seal(plaintext: string, aad?: string): string;
  /**
   * Decrypts a sealed value. Throws an Error (never quoting plaintext or key) when the format
   * is wrong, the key id is unknown, or the value was tampered with or sealed with another AAD.
   */
  open(sealed: string, aad?: string): string;
  /** Id of the key new values are sealed under. */
  readonly activeKeyId: string;
}

export interface SecretBoxOptions {
  /**
   * How many of the values it sealed last the box keeps, with their plaintext, to open them
   * without decrypting (default 0: none). Worth it only where the same process opens what it
   * just sealed: a message body delivered by the thread that accepted the send. Elsewhere the
   * entries would only outlive a garbage collection or two and be promoted for nothing.
   */
  rememberSealed?: number;
}

const version = 'v1';
const algorithm = 'aes-256-gcm';
const keyBytes = 32;
const ivBytes = 12;
const tagBytes = 16;
/** Key ids appear inside sealed values, so no dots; short and URL-safe. */
const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/;
const base64urlPattern = /^[A-Za-z0-9_-]*$/;

/** Strict base64url: only canonical encodings decode, so no two strings open to the same value. */
function decodeBase64url(text: string): Buffer | undefined {
  if (!base64urlPattern.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

/**
 * A SecretBox over `keys` (each exactly 32 bytes, ids unique, matching `[A-Za-z0-9_-]{1,32}`),
 * sealing under `activeKeyId`. Throws an Error naming the problem (never the key bytes).
 */
export function createSecretBox(keys: ReadonlyArray<{ id: string; key: Buffer }>, activeKeyId: string, options: SecretBoxOptions = {}): SecretBox {
  const byId = new Map<string, Buffer>();
  for (const { id, key } of keys) {
    if (!keyIdPattern.test(id)) throw new Error(`secret key id "${id}" must be 1–32 characters of A–Z, a–z, 0–9, _ or -`);
    if (byId.has(id)) throw new Error(`secret key id "${id}" is listed twice`);
    if (!Buffer.isBuffer(key) || key.length !== keyBytes) {
      throw new Error(`secret key "${id}" must be ${keyBytes} bytes, got ${Buffer.isBuffer(key) ? key.length : 'no buffer'}`);
    }
    byId.set(id, Buffer.from(key)); // a private copy: later changes to the caller's buffer do not reach us
  }
  const activeKey = byId.get(activeKeyId);
  if (activeKey === undefined) throw new Error(`active secret key id "${activeKeyId}" is not among the keys`);
  // The values this box sealed last, by sealed text, with their AAD: a value that is exactly one
  // this box sealed opens, under the same AAD, to what was sealed, so that open needs no AES-GCM
  // context. The first open takes the entry out; the oldest go first once the limit is reached.
  const recentLimit = options.rememberSealed ?? 0;
  const recent = new Map<string, { aad: string; plaintext: string }>();

  return {
    activeKeyId,
    seal(plaintext: string, aad = ''): string {
      const iv = pooledRandomBytes(ivBytes);
      const cipher = createCipheriv(algorithm, activeKey, iv, { authTagLength: tagBytes });
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      const sealed = [version, activeKeyId, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
      if (recentLimit > 0) {
        if (recent.size >= recentLimit) recent.delete(recent.keys().next().value!);
        recent.set(sealed, { aad, plaintext });
      }
      return sealed;
    },
    open(sealed: string, aad = ''): string {
      const known = recent.size > 0 && typeof sealed === 'string' ? recent.get(sealed) : undefined;
      if (known !== undefined && known.aad === aad) {
        recent.delete(sealed);
        return known.plaintext;
      }
      const parts = typeof sealed === 'string' ? sealed.split('.') : [];
      const [ver, keyId, ivText, ciphertextText, tagText] = parts;
      if (parts.length !== 5 || ver !== version || keyId === undefined || ivText === undefined || ciphertextText === undefined || tagText === undefined) {
        throw new Error('sealed value is malformed (expected v1.<keyId>.<iv>.<ciphertext>.<tag>)');
      }
      const key = byId.get(keyId);
      if (key === undefined) throw new Error(`sealed value uses unknown key id "${keyIdPattern.test(keyId) ? keyId : '?'}"`);
      const iv = decodeBase64url(ivText);
      const ciphertext = decodeBase64url(ciphertextText);
      const tag = decodeBase64url(tagText);
      if (iv === undefined || iv.length !== ivBytes || ciphertext === undefined || tag === undefined || tag.length !== tagBytes) {
        throw new Error('sealed value is malformed (bad iv, ciphertext or tag encoding)');
      }
      try {
        const decipher = createDecipheriv(algorithm, key, iv, { authTagLength: tagBytes });
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        throw new Error('sealed value failed authentication (tampered, wrong key or wrong aad)');
      }
    },
  };
}

/** Decodes one key written as base64 or base64url (padding optional); undefined if it is not 32 bytes. */
function decodeKey(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
  return bytes.length === keyBytes ? bytes : undefined;
}

const keyHint = 'a base64 encoding of 32 random bytes (e.g. `openssl rand -base64 32`)';

/**
 * Parses `OTPGATE_SECRET_KEY`: either one base64/base64url 32-byte key (id `k1`), or a
 * comma-separated list `id:key,id2:key2` whose FIRST entry is the active key (the rest
 * still open older values). Throws an Error naming what is wrong — the entry's position
 * and id — never echoing key material.
 */
export function parseSecretKeys(spec: string): { keys: { id: string; key: Buffer }[]; activeKeyId: string } {
  const text = typeof spec === 'string' ? spec.trim() : '';
  if (text === '') throw new Error('OTPGATE_SECRET_KEY is empty');

  if (!text.includes(':') && !text.includes(',')) {
    const key = decodeKey(text);
    if (key === undefined) throw new Error(`OTPGATE_SECRET_KEY must be ${keyHint}, or a list "id:key,id2:key2"`);
    return { keys: [{ id: 'k1', key }], activeKeyId: 'k1' };
  }

  const keys: { id: string; key: Buffer }[] = [];
  const entries = text.split(',');
  entries.forEach((raw, index) => {
    const entry = raw.trim();
    const where = `OTPGATE_SECRET_KEY entry ${index + 1}`;
    const colon = entry.indexOf(':');
    if (colon === -1) throw new Error(`${where} must be written id:key`);
    const id = entry.slice(0, colon).trim();
    if (!keyIdPattern.test(id)) throw new Error(`${where} has an invalid key id: use 1–32 characters of A–Z, a–z, 0–9, _ or -`);
    if (keys.some((k) => k.id === id)) throw new Error(`${where}: key id "${id}" is listed twice`);
    const key = decodeKey(entry.slice(colon + 1).trim());
    if (key === undefined) throw new Error(`${where} ("${id}"): the key must be ${keyHint}`);
    keys.push({ id, key });
  });
  const first = keys[0];
  if (first === undefined) throw new Error('OTPGATE_SECRET_KEY lists no keys');
  return { keys, activeKeyId: first.id };
}
