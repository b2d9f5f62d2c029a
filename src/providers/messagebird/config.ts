import { z } from 'zod';
import type { ConfigField } from '../types.js';
import { endpointField, endpointSchema, secretSchema } from '../config-support.js';

export const MESSAGEBIRD_DEFAULT_BASE = 'https://rest.messagebird.com';

/**
 * Originator rules (PROVIDERS.md §2.3): alphanumeric 3–11 characters with at least one letter,
 * or a number of up to 17 digits (country code included, no `+`).
 */
export const messageBirdOriginatorSchema = z
  .string()
  .refine((v) => /^(?=.*[A-Za-z])[A-Za-z0-9]{3,11}$/.test(v) || /^\d{1,17}$/.test(v), {
    message: 'must be 3–11 letters and digits (at least one letter), or a number of up to 17 digits without +',
  });

/**
 * MessageBird (Bird) legacy SMS REST API.
 * @see https://developers.messagebird.com/api/sms-messaging/
 */
export const messageBirdConfigSchema = z.strictObject({
  access_key: secretSchema('access_key'),
  originator: messageBirdOriginatorSchema,
  /** Verifies `MessageBird-Signature-JWT` on status reports when set; reports are accepted unsigned otherwise. */
  signing_key: secretSchema('signing_key').optional(),
  endpoint: endpointSchema,
});

export type MessageBirdConfig = z.infer<typeof messageBirdConfigSchema>;

export const messageBirdFields: readonly ConfigField[] = [
  {
    name: 'access_key',
    label: 'Access key',
    type: 'secret',
    required: true,
    help: 'MessageBird Dashboard → Developers → API access → a live access key (test_ keys accept requests but send nothing).',
  },
  {
    name: 'originator',
    label: 'Originator',
    type: 'string',
    required: true,
    placeholder: 'MyApp',
    help: 'Sender shown on the phone: 3–11 letters/digits with at least one letter, or one of your numbers (up to 17 digits, no +). Some countries require registration; generic names are blocked.',
  },
  {
    name: 'signing_key',
    label: 'Signing key (optional)',
    type: 'secret',
    required: false,
    unsent: true,
    help: 'Dashboard → Developers → API settings → "Signing key". When set, status reports without a valid MessageBird-Signature-JWT are refused.',
  },
  endpointField(MESSAGEBIRD_DEFAULT_BASE),
];
