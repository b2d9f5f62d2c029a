import { z } from 'zod';
import type { ConfigField } from '../types.js';
import { endpointField, endpointSchema, secretSchema } from '../config-support.js';

export const INSTAALERTS_DEFAULT_BASE = 'https://japi.instaalerts.zone';

const dltId = (what: string) => z.string().regex(/^\d{1,30}$/, `${what} must be the numeric id from the DLT portal`);

/**
 * InstaAlerts (Karix Mobile) JAPI query-string interface (PROVIDERS.md §4.1a). Indian traffic
 * needs the DLT principal entity id and content template id, and the text must match the
 * registered template exactly.
 */
export const instaAlertsConfigSchema = z.strictObject({
  api_key: secretSchema('api_key'),
  sender_id: z.string().regex(/^[A-Za-z0-9]{1,15}$/, 'must be 1–15 letters and digits (India: the 6-letter DLT header)'),
  dlt_entity_id: dltId('dlt_entity_id').optional(),
  dlt_template_id: dltId('dlt_template_id').optional(),
  endpoint: endpointSchema,
});

export type InstaAlertsConfig = z.infer<typeof instaAlertsConfigSchema>;

export const instaAlertsFields: readonly ConfigField[] = [
  {
    name: 'api_key',
    label: 'API key',
    type: 'secret',
    required: true,
    help: 'The JAPI "key" Karix issues for your InstaAlerts account (InstaAlerts portal → Settings → API key, or from your Karix account manager).',
  },
  {
    name: 'sender_id',
    label: 'Sender ID',
    type: 'string',
    required: true,
    placeholder: 'OTPGTE',
    help: 'The approved sender ("send" parameter). India: your 6-letter DLT header.',
  },
  {
    name: 'dlt_entity_id',
    label: 'DLT entity id (India)',
    type: 'string',
    required: false,
    help: 'Principal Entity ID from your DLT registration portal (Jio, Vodafone Idea, Airtel …). Required for Indian numbers.',
  },
  {
    name: 'dlt_template_id',
    label: 'DLT template id (India)',
    type: 'string',
    required: false,
    help: 'Content Template ID of the approved OTP template on the DLT portal; the rendered text must match it exactly.',
  },
  endpointField(INSTAALERTS_DEFAULT_BASE),
];
