import { z } from 'zod';
import type { ConfigField } from '../types.js';
import { endpointField, endpointSchema, secretSchema } from '../config-support.js';

/** Default API hosts per region (PROVIDERS.md §3.1). */
export const TEXTLOCAL_DEFAULT_BASES = { uk: 'https://api.txtlocal.com', in: 'https://api.textlocal.in' } as const;

/** India: exactly 6 letters (a DLT-registered header). UK/global: 3–11 alphanumeric or ≤ 13 digits (§3.6). */
export function textlocalSenderProblem(region: 'uk' | 'in', sender: string): string | null {
  if (region === 'in') return /^[A-Za-z]{6}$/.test(sender) ? null : 'for India the sender must be exactly 6 letters (your DLT-approved header)';
  return /^[A-Za-z0-9]{3,11}$/.test(sender) || /^\d{1,13}$/.test(sender)
    ? null
    : 'the sender must be 3–11 letters and digits, or a number of up to 13 digits';
}

/**
 * Textlocal (UK `api.txtlocal.com`, India `api.textlocal.in`). Authenticates with an API key,
 * or with the login email (`username`) and the account's secure `hash`.
 * @see https://api.txtlocal.com/docs/sendsms
 */
export const textlocalConfigSchema = z
  .strictObject({
    api_key: secretSchema('api_key').optional(),
    username: z.string().trim().min(1, 'username is required with hash').optional(),
    hash: secretSchema('hash').optional(),
    sender: z.string(),
    region: z.enum(['uk', 'in']).default('uk'),
    endpoint: endpointSchema,
  })
  .superRefine((c, ctx) => {
    const login = c.username !== undefined || c.hash !== undefined;
    if (c.api_key !== undefined && login) {
      ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'use either api_key or username and hash, not both' });
    } else if (c.api_key === undefined && (c.username === undefined || c.hash === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'set api_key, or both username and hash' });
    }
    const problem = textlocalSenderProblem(c.region, c.sender);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['sender'], message: problem });
  });

export type TextlocalConfig = z.infer<typeof textlocalConfigSchema>;

export const textlocalFields: readonly ConfigField[] = [
  {
    name: 'api_key',
    label: 'API key',
    type: 'secret',
    required: false,
    help: 'Textlocal Messenger → Settings → API Keys → "Create New Key" (IP restrictions apply to otpgate\'s egress address). Or use username + hash.',
  },
  {
    name: 'username',
    label: 'Username (login email)',
    type: 'string',
    required: false,
    help: 'The email you sign in to Textlocal with; only with "hash", instead of an API key.',
  },
  {
    name: 'hash',
    label: 'Secure hash',
    type: 'secret',
    required: false,
    help: 'Messenger → Settings → All Settings → "Your API hash"; only with "username".',
  },
  {
    name: 'sender',
    label: 'Sender',
    type: 'string',
    required: true,
    placeholder: 'TXTLCL',
    help: 'India: exactly 6 letters, your DLT-approved header. UK/global: 3–11 letters and digits, or a number up to 13 digits.',
  },
  {
    name: 'region',
    label: 'Region',
    type: 'enum',
    required: false,
    options: ['uk', 'in'],
    default: 'uk',
    // uk = api.txtlocal.com, in = api.textlocal.in.
    destination: true,
    help: 'uk = api.txtlocal.com (UK and international accounts); in = api.textlocal.in (Indian accounts, DLT rules apply).',
  },
  endpointField(TEXTLOCAL_DEFAULT_BASES.uk),
];
