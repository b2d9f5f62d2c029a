import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/, the `standardwebhooks`
 * package verifies it): `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the
 * base64-decoded part of the `whsec_` secret. Several secrets (a rotation) give several
 * signatures, separated by spaces; a receiver accepts any one that matches.
 */
export function signWebhook(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
      return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
    })
    .join(' ');
}

/** A new `whsec_` secret: 32 random bytes, base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
