import type { ProviderDescriptor } from '../types.js';
import { inboxConfigSchema, type InboxConfig } from './config.js';

/**
 * Keeps every message in otpgate's own store, readable at `GET /v1/inbox` and in the console.
 * For development: with no SMS account, the whole flow can be tried in a minute.
 */
export const inboxProvider: ProviderDescriptor<InboxConfig> = {
  id: 'Inbox',
  configKey: 'inbox',
  displayName: 'Inbox (development)',
  configSchema: inboxConfigSchema,
  fields: [],
  create(_config, ctx) {
    return {
      async send(request) {
        const id = await ctx.inbox.capture({
          tenantId: request.tenantId,
          messageId: request.messageId,
          to: request.to,
          body: request.body,
        });
        return { providerMessageId: id };
      },
    };
  },
};
