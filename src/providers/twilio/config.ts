import { z } from 'zod';
import type { ConfigField } from '../types.js';
import { e164Schema, endpointField, endpointSchema, secretSchema } from '../config-support.js';

export const TWILIO_DEFAULT_BASE = 'https://api.twilio.com';

/**
 * Twilio Programmable Messaging. Exactly one sender: a number of the account
 * (`sender_phone_number`) or a Messaging Service (`messaging_service_sid`), which then picks
 * the sender from its pool.
 * @see https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
 */
export const twilioConfigSchema = z
  .strictObject({
    account_sid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be the Account SID: "AC" followed by 32 hex characters'),
    /** The account's Auth Token (also the key for X-Twilio-Signature on status callbacks). */
    auth_token: secretSchema('auth_token'),
    sender_phone_number: e164Schema.optional(),
    messaging_service_sid: z
      .string()
      .regex(/^MG[0-9a-fA-F]{32}$/, 'must be a Messaging Service SID: "MG" followed by 32 hex characters')
      .optional(),
    endpoint: endpointSchema,
  })
  .refine((c) => (c.sender_phone_number === undefined) !== (c.messaging_service_sid === undefined), {
    message: 'set exactly one of sender_phone_number or messaging_service_sid',
    path: ['sender_phone_number'],
  });

export type TwilioConfig = z.infer<typeof twilioConfigSchema>;

export const twilioFields: readonly ConfigField[] = [
  {
    name: 'account_sid',
    label: 'Account SID',
    type: 'string',
    required: true,
    placeholder: 'AC…',
    help: 'Twilio Console → Account Dashboard → "Account Info" panel (starts with AC).',
  },
  {
    name: 'auth_token',
    label: 'Auth Token',
    type: 'secret',
    required: true,
    help: 'Twilio Console → Account Dashboard → "Account Info" panel, next to the Account SID (click "Show"). Also signs status callbacks.',
  },
  {
    name: 'sender_phone_number',
    label: 'Sender phone number',
    type: 'string',
    required: false,
    placeholder: '+15551234567',
    help: 'An SMS-capable number of this account, in E.164 (Console → Phone Numbers → Manage → Active numbers). Set this or a Messaging Service SID, not both.',
  },
  {
    name: 'messaging_service_sid',
    label: 'Messaging Service SID',
    type: 'string',
    required: false,
    placeholder: 'MG…',
    help: 'Console → Messaging → Services (starts with MG). Twilio picks the sender from the service\'s pool. Set this or a sender number, not both.',
  },
  endpointField(TWILIO_DEFAULT_BASE),
];
