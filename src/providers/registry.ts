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
