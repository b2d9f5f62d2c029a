import { z } from 'zod';
import { signWebhook } from '../../crypto/webhook-signature.js';

/**
 * Standard Webhooks signing of the requests otpgate sends to a custom gateway
 * (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` (unix seconds) and
 * `webhook-signature`, one `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` per secret,
 * space-separated. The key is the base64 part of `whsec_…`, decoded.
 */

const WHSEC = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

function keyOf(secret: string): Buffer {
  return Buffer.from(WHSEC.exec(secret)?.[1] ?? '', 'base64');
}

/** A `whsec_` secret whose key is 24 to 64 bytes (the Standard Webhooks range). Messages never echo the value. */
export const signingSecretSchema = z
  .string()
  .trim()
  .regex(WHSEC, 'must be whsec_ followed by base64, e.g. "whsec_" + the output of `openssl rand -base64 32`')
  .refine((s) => {
    const n = keyOf(s).length;
    return n >= 24 && n <= 64;
  }, 'the base64 after whsec_ must decode to 24 to 64 bytes')
  .optional();

/** The three signature headers for `body`, or none when no secret is given (plain Mosaic contract). */
export function signatureHeaders(secrets: readonly (string | undefined)[], id: string, nowMs: number, body: string): Record<string, string> {
  const given = secrets.filter((s): s is string => s !== undefined && s !== '');
  if (given.length === 0) return {};
  // The same signer as event deliveries, so a gateway and an event endpoint check alike.
  const timestamp = Math.floor(nowMs / 1000);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(given, id, timestamp, body) };
}
