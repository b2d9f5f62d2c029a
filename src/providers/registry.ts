import type { ProviderDescriptor } from './types.js';
import { inboxProvider } from './inbox/index.js';
import { twilioProvider } from './twilio/index.js';
import { messageBirdProvider } from './messagebird/index.js';
import { textlocalProvider } from './textlocal/index.js';
import { instaAlertsProvider } from './instaalerts/index.js';
import { salesforceMarketingCloudProvider } from './salesforce-marketing-cloud/index.js';
import { customGatewayProvider } from './custom-gateway/index.js';

/**
 * Every provider kind otpgate can send through, by API name. `Default` is not here: it is an
 * indirection to the operator's configured provider (see src/services/provider-resolver.ts).
 * test/contract/registry.test.ts fails when a folder under src/providers is missing here.
 */
export const providerRegistry: ReadonlyMap<string, ProviderDescriptor<any>> = new Map<string, ProviderDescriptor<any>>(
  [
    inboxProvider,
    twilioProvider,
    messageBirdProvider,
    textlocalProvider,
    instaAlertsProvider,
    salesforceMarketingCloudProvider,
    customGatewayProvider,
  ].map((d) => [d.id, d]),
);

export function getProviderDescriptor(kind: string): ProviderDescriptor<unknown> | undefined {
  return providerRegistry.get(kind) as ProviderDescriptor<unknown> | undefined;
}

/**
 * The kinds otpgate asks for delivery receipts: their adapter takes them, and every one of them
 * is told where to post them per message, which needs `OTPGATE_PUBLIC_URL`. Without it a
 * message's `sent` is as far as otpgate can follow it.
 */
export function receiptKinds(publicUrl: string | undefined): ReadonlySet<string> {
  if (!publicUrl) return new Set();
  return new Set([...providerRegistry.values()].filter((d) => d.receipts !== undefined).map((d) => d.id));
}
