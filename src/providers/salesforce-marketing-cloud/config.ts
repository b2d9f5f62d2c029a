import { z } from 'zod';
import type { ConfigField } from '../types.js';
import { endpointField, endpointSchema, secretSchema } from '../config-support.js';

/**
 * Salesforce Marketing Cloud MobileConnect, sending through an "API entry event" message.
 * `endpoint`, when set, replaces the auth host `https://{subdomain}.auth.marketingcloudapis.com`
 * (enhanced packages then send to the token's `rest_instance_url`; legacy ones: `sfmcLegacyRestBase`).
 * @see PROVIDERS.md §5
 */
export const sfmcConfigSchema = z.strictObject({
  subdomain: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'must be the tenant subdomain only, e.g. mc563885gzs27c5t9-63k636ttgm (no dots, no https://)'),
  client_id: z.string().trim().min(1, 'client_id is required'),
  client_secret: secretSchema('client_secret'),
  message_id: z.string().regex(/^[A-Za-z0-9_=-]+$/, 'must be the MobileConnect API message id, e.g. MTE1Ojc4OjA'),
  package_type: z.enum(['enhanced', 'legacy']).default('enhanced'),
  keyword: z.string().trim().min(1, 'keyword is required (the MobileConnect keyword of the message\'s code)'),
  /** MID of the business unit to act in (enhanced packages only). */
  account_id: z.string().regex(/^\d{1,18}$/, 'must be the numeric MID of the business unit').optional(),
  endpoint: endpointSchema,
});

export type SfmcConfig = z.infer<typeof sfmcConfigSchema>;

export function sfmcAuthBase(config: SfmcConfig): string {
  return config.endpoint ?? `https://${config.subdomain}.auth.marketingcloudapis.com`;
}

/** The tenant-specific REST host, which serves legacy and enhanced tokens alike (PROVIDERS.md §5.2 [P]). */
function tenantRestBase(subdomain: string): string {
  return `https://${subdomain}.rest.marketingcloudapis.com/`;
}

/**
 * REST base (with a trailing slash) of a LEGACY package: its token answer has no
 * `rest_instance_url` (PROVIDERS.md §5.2), so it is derived, by this rule:
 * - no `endpoint`: `https://{subdomain}.rest.marketingcloudapis.com/`;
 * - `endpoint` on a tenant auth host `{x}.auth.marketingcloudapis.com`: its REST twin
 *   `{x}.rest.marketingcloudapis.com` (same scheme and port; the auth path is dropped);
 * - `endpoint` on the stack-wide legacy auth host (`auth[-sN].exacttargetapis.com`):
 *   `https://{subdomain}.rest.marketingcloudapis.com/`;
 * - any other `endpoint` (a proxy, sandbox or local fake that serves both roles): the endpoint
 *   itself, path included — the same base the token route is joined to.
 * Never the auth host's origin: a real auth host does not serve `/sms/v1/…`, and an origin
 * drops a proxy's path prefix.
 */
export function sfmcLegacyRestBase(config: SfmcConfig): string {
  if (config.endpoint === undefined) return tenantRestBase(config.subdomain);
  const url = new URL(config.endpoint);
  const host = url.hostname.toLowerCase();
  const tenantAuth = /^([a-z0-9][a-z0-9-]*)\.auth\.marketingcloudapis\.com$/.exec(host);
  if (tenantAuth) return `${url.protocol}//${tenantAuth[1]}.rest.marketingcloudapis.com${url.port ? `:${url.port}` : ''}/`;
  if (/^auth(-[a-z0-9]+)?\.exacttargetapis\.com$/.test(host)) return tenantRestBase(config.subdomain);
  return config.endpoint.endsWith('/') ? config.endpoint : `${config.endpoint}/`;
}

export const sfmcFields: readonly ConfigField[] = [
  {
    name: 'subdomain',
    label: 'Subdomain',
    type: 'string',
    required: true,
    // The token is fetched from https://{subdomain}.auth.marketingcloudapis.com unless `endpoint` is set.
    destination: true,
    help: 'Setup → Platform Tools → Apps → Installed Packages → your package → API Integration: the part before ".auth.marketingcloudapis.com" in the Authentication Base URI.',
  },
  {
    name: 'client_id',
    label: 'Client ID',
    type: 'string',
    required: true,
    help: 'Installed Packages → your package → API Integration component → Client Id. The package needs the SMS Send (and Read) scope.',
  },
  {
    name: 'client_secret',
    label: 'Client secret',
    type: 'secret',
    required: true,
    help: 'Installed Packages → your package → API Integration component → Client Secret.',
  },
  {
    name: 'message_id',
    label: 'Message ID',
    type: 'string',
    required: true,
    placeholder: 'MTE1Ojc4OjA',
    help: 'MobileConnect → Overview → your outbound "API entry event" message → its API key (the encoded message id).',
  },
  {
    name: 'package_type',
    label: 'Package type',
    type: 'enum',
    required: false,
    options: ['enhanced', 'legacy'],
    default: 'enhanced',
    help: 'enhanced = OAuth 2.0 server-to-server package (v2/token); legacy = packages created before August 2019 (v1/requestToken).',
  },
  {
    name: 'keyword',
    label: 'Keyword',
    type: 'string',
    required: true,
    help: 'The MobileConnect keyword of the message\'s short/long code; recipients are subscribed to it before the send.',
  },
  {
    name: 'account_id',
    label: 'Account ID (MID, optional)',
    type: 'string',
    required: false,
    help: 'The MID of the business unit to send from (shown in the account menu, top right). Enhanced packages only; empty = the package\'s default unit.',
  },
  endpointField('https://{subdomain}.auth.marketingcloudapis.com'),
];
