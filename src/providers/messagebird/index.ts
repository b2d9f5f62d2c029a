import type { ProviderDescriptor, SendResult } from '../types.js';
import { ProviderError } from '../provider-error.js';
import {
  asRecord,
  callProvider,
  errorFromTable,
  guardedSend,
  joinUrl,
  mostSevere,
  numberField,
  retryAfterOf,
  stringField,
  toDigits,
} from '../adapter-support.js';
import { MESSAGEBIRD_DEFAULT_BASE, messageBirdConfigSchema, messageBirdFields, type MessageBirdConfig } from './config.js';
import { messageBirdErrors, messageBirdRecipientErrors, recipientParameters } from './errors.js';
import { parseMessageBirdReport } from './receipts.js';

const NAME = 'MessageBird';

function errorFromBody(body: Record<string, unknown> | undefined, httpStatus: number, retryAfterMs: number | undefined): ProviderError {
  if (httpStatus === 429) {
    return new ProviderError('rate_limited', 'MessageBird is throttling requests (HTTP 429)', { httpStatus, retryAfterMs });
  }
  const errors = Array.isArray(body?.['errors']) ? (body['errors'] as unknown[]) : [];
  const candidates = errors.map((e) => {
    const item = asRecord(e);
    const code = numberField(item, 'code');
    const parameter = stringField(item, 'parameter') ?? '';
    const table = recipientParameters.has(parameter) ? { ...messageBirdErrors, ...messageBirdRecipientErrors } : messageBirdErrors;
    return errorFromTable(NAME, table, code, { httpStatus, retryAfterMs });
  });
  return mostSevere(candidates) ?? errorFromTable(NAME, messageBirdErrors, undefined, { httpStatus, retryAfterMs });
}

/**
 * Segments billed, from `recipients.items[].messagePartCount` (newer accounts carry it per
 * recipient, PROVIDERS.md §2.4 [P]). otpgate sends to one recipient, so this is that item's
 * count; should several come back, the largest. Absent on older accounts: `undefined`.
 */
function segmentsOf(recipients: Record<string, unknown> | undefined): number | undefined {
  const items = Array.isArray(recipients?.['items']) ? (recipients['items'] as unknown[]) : [];
  const counts = items.map((i) => numberField(asRecord(i), 'messagePartCount')).filter((n): n is number => n !== undefined && n > 0);
  return counts.length === 0 ? undefined : Math.max(...counts.map(Math.floor));
}

/**
 * MessageBird SMS: `POST {base}/messages`, `Authorization: AccessKey …`, JSON, recipients as
 * digits without `+`. `reference` is otpgate's message id (status reports are sent only for
 * messages that have one and echo it back).
 * @see PROVIDERS.md §2
 */
export const messageBirdProvider: ProviderDescriptor<MessageBirdConfig> = {
  id: 'MessageBird',
  configKey: 'messagebird',
  displayName: 'MessageBird (Bird)',
  configSchema: messageBirdConfigSchema,
  fields: messageBirdFields,
  create(config, ctx) {
    const url = joinUrl(config.endpoint ?? MESSAGEBIRD_DEFAULT_BASE, 'messages');

    return {
      send(request) {
        return guardedSend(NAME, ctx.logger, request, async (): Promise<SendResult> => {
          const payload: Record<string, unknown> = {
            recipients: [toDigits(request.to)],
            originator: config.originator,
            body: request.body,
            // `auto` keeps GSM-7 (160 per segment) unless the text needs Unicode.
            datacoding: 'auto',
            reference: request.messageId,
          };
          if (request.statusCallbackUrl !== undefined) payload['reportUrl'] = request.statusCallbackUrl;

          const res = await callProvider(ctx.http, NAME, {
            method: 'POST',
            url,
            headers: {
              authorization: `AccessKey ${config.access_key}`,
              'content-type': 'application/json',
              accept: 'application/json',
            },
            body: JSON.stringify(payload),
            signal: request.signal,
          });
          const json = asRecord(res.json());
          if (res.status < 200 || res.status >= 300 || json?.['errors'] !== undefined) {
            throw errorFromBody(json, res.status, retryAfterOf(res, ctx.clock.now()));
          }
          const id = stringField(json, 'id');
          const sent = numberField(asRecord(json?.['recipients']), 'totalSentCount');
          if (sent === 0) {
            throw new ProviderError('rejected', 'MessageBird accepted the request but sent it to no recipient (totalSentCount 0)', {
              httpStatus: res.status,
            });
          }
          if (id === undefined) {
            throw new ProviderError('unknown', `MessageBird answered HTTP ${res.status} without a message id`, { httpStatus: res.status });
          }
          const segments = segmentsOf(asRecord(json?.['recipients']));
          return segments === undefined ? { providerMessageId: id } : { providerMessageId: id, segments };
        });
      },
    };
  },
  receipts: { parse: parseMessageBirdReport },
};
