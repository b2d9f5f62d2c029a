import { z } from 'zod';
import type { ConfigField } from './types.js';

/**
 * Schema pieces every provider config shares. Secrets are plain strings here: the service
 * layer seals the fields typed `secret` at rest and masks them on read.
 */

/**
 * Optional base URL that replaces the provider's default host: a regional host, the provider's
 * sandbox, or a local fake in tests. Outbound policy (https and public addresses in production)
 * is enforced by the HTTP client on every call.
 */
export const endpointSchema = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) base URL, e.g. https://api.example.com' })
  .optional();

/** The console field for `endpoint`, identical for every kind. */
export function endpointField(defaultBase: string): ConfigField {
  return {
    name: 'endpoint',
    label: 'API base URL (optional)',
    type: 'url',
    required: false,
    help: `Leave empty to use ${defaultBase}. Set it only for a regional host, a sandbox or a test server.`,
    placeholder: defaultBase,
  };
}

/** A phone number in E.164 with the leading `+`. */
export const e164Schema = z.string().regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number with the leading +, e.g. +15551234567');

/** A required, non-blank credential string. */
export function secretSchema(what: string) {
  return z.string().trim().min(1, `${what} is required`);
}
