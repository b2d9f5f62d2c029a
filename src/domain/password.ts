import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Operator passwords, hashed with scrypt (memory-hard; RFC 7914) into a self-describing string
 * `scrypt$ln=15,r=8,p=1$<salt b64url>$<hash b64url>`, so the cost can be raised later and old
 * hashes still verify with the parameters stored beside them.
 */
export interface ScryptParams {
  /** log2 of N, the CPU/memory cost (15 → 32 MiB with r=8). */
  ln: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ ln: 15, r: 8, p: 1 });
const KEY_LEN = 32;
const SALT_LEN = 16;
/** Bounds of stored parameters accepted on verify: a tampered row must not make us allocate gigabytes. */
const MAX_LN = 17;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  // Node refuses above maxmem (32 MiB by default, exactly what N=2^15, r=8 needs): allow twice the need.
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 2 * 128 * N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, KEY_LEN, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const hash = await scrypt(password, salt, params);
  return `scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Parameters of a stored hash, or undefined when it is not one of ours. */
export function parsePasswordHash(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | undefined {
  const m = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return undefined;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.ln < 10 || params.ln > MAX_LN || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 4) return undefined;
  return { params, salt: Buffer.from(m[4]!, 'base64url'), hash: Buffer.from(m[5]!, 'base64url') };
}

/** True when `password` matches `stored`; a malformed stored value never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed || parsed.hash.length !== KEY_LEN) return false;
  const candidate = await scrypt(password, parsed.salt, parsed.params);
  return timingSafeEqual(candidate, parsed.hash);
}

/** A hash of nothing in particular, verified against when the account does not exist, so both cases cost the same. */
export const DUMMY_PASSWORD_HASH = 'scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43);

/**
 * Passwords (or their stems, once digits and symbols around them are taken off) that a
 * guesser tries first. Small on purpose: length does most of the work; this catches the
 * padded classics ("Password1234!", "qwertyuiop12").
 */
const DENY_STEMS = [
  'password', 'passw0rd', 'qwerty', 'qwertyuiop', 'qwertz', 'azerty', 'asdfgh', 'asdfghjkl', 'zxcvbnm', 'letmein', 'welcome', 'admin', 'administrator',
  'iloveyou', 'monkey', 'dragon', 'football', 'baseball', 'sunshine', 'princess', 'shadow', 'master', 'superman', 'trustno1', 'changeme', 'secret',
  'abc', 'abcdef', 'abcdefgh', 'otpgate', 'login', 'root', 'default', 'test', 'guest', 'hello', 'starwars', 'whatever', 'passwordpassword',
];
const SEQUENCES = ['0123456789012345678901234567890', 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz', 'qwertyuiopasdfghjklzxcvbnm', '9876543210987654321098765432109'];

/**
 * Why a new password is refused (one sentence), or undefined when it is acceptable: at least
 * 12 characters, not made of one repeated character or a keyboard/number run, not a well-known
 * password padded with digits or symbols, and not the account's own email.
 */
export function passwordProblem(password: string, email?: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (new Set(lower).size < 5) return 'uses too few different characters';
  if (SEQUENCES.some((s) => s.includes(lower))) return 'is a run of keys or digits';
  const stem = lower.replace(/^[^a-z]+|[^a-z]+$/g, '').replace(/[@4]/g, 'a').replace(/0/g, 'o').replace(/[1!]/g, 'i').replace(/3/g, 'e').replace(/\$/g, 's');
  const plain = lower.replace(/^[^a-z]+|[^a-z]+$/g, '');
  if (DENY_STEMS.some((d) => d === plain || d === stem || d.replace(/o/g, '0') === plain) || /^(.{1,6})\1+$/.test(lower)) return 'is a well-known or repeated password';
  if (email) {
    const local = email.toLowerCase().split('@')[0] ?? '';
    if (lower.includes(email.toLowerCase()) || (local.length >= 4 && plain === local)) return 'must not be the email address';
  }
  return undefined;
}
