import { z } from 'zod';
import type { ConfigField } from '../types.js';
import { endpointField, endpointSchema, secretSchema } from '../config-support.js';
import { signingSecretSchema } from './signing.js';

/**
 * A gateway of the tenant's own, wire-compatible with Transmit Security Mosaic's custom SMS
 * provider contract (DESIGN.md "Custom gateway", PROVIDERS.md §7.1).
 */
export const customGatewayConfigSchema = z.strictObject({
  /** The gateway URL: deliveries are `POST`ed to it, the validation challenge is a `GET` of it. */
  uri: z.url({ protocol: /^https?$/, error: 'must be the gateway\'s http(s) URL' }),
  api_key: secretSchema('api_key'),
  /** Sent as `sender_id`; the tenant's `sender_id` setting is used when this is empty. */
  sender_id: z.string().trim().min(1).max(20, 'sender_id is at most 20 characters').optional(),
  /** When set, replaces the scheme, host and port of `uri` (its path and query are kept). */
  endpoint: endpointSchema,
  /** `whsec_…`: when set, every request also carries Standard Webhooks signature headers. */
  signing_secret: signingSecretSchema,
  /** The secret being rotated out: it signs too (a second signature) until it is removed. */
  previous_signing_secret: signingSecretSchema,
});

export type CustomGatewayConfig = z.infer<typeof customGatewayConfigSchema>;

/** The URL requests actually go to: `uri`, or its path and query under `endpoint`. */
export function customGatewayTarget(config: CustomGatewayConfig): string {
  if (config.endpoint === undefined) return config.uri;
  const uri = new URL(config.uri);
  const base = config.endpoint.endsWith('/') ? config.endpoint : `${config.endpoint}/`;
  return new URL(`${uri.pathname.replace(/^\/+/, '')}${uri.search}`, base).toString();
}

export const customGatewayFields: readonly ConfigField[] = [
  {
    name: 'uri',
    label: 'Gateway URL',
    type: 'url',
    required: true,
    placeholder: 'https://sms-gateway.example.com/otpgate',
    help: 'Your gateway\'s HTTPS URL. otpgate POSTs each message to it and, on save, GETs it with a verification challenge it must echo.',
  },
  {
    name: 'api_key',
    label: 'API key',
    type: 'secret',
    required: true,
    help: 'Any secret you choose; otpgate sends it as the X-API-Key header and your gateway must check it.',
  },
  {
    name: 'sender_id',
    label: 'Sender ID (optional)',
    type: 'string',
    required: false,
    help: 'Passed to the gateway as "sender_id". Empty = the tenant\'s sender_id setting.',
  },
  {
    name: 'signing_secret',
    label: 'Signing secret (optional)',
    type: 'secret',
    required: false,
    placeholder: 'whsec_…',
    help: 'A Standard Webhooks secret you choose ("whsec_" + base64 of 24–64 random bytes). When set, every request is also signed with webhook-id, webhook-timestamp and webhook-signature headers.',
  },
  {
    name: 'previous_signing_secret',
    label: 'Previous signing secret (optional)',
    type: 'secret',
    required: false,
    placeholder: 'whsec_…',
    help: 'While rotating: the old secret, which keeps signing beside the new one until you remove it.',
  },
  endpointField('the gateway URL above'),
];
