import type { ProviderDescriptor, SendResult } from '../types.js';
import { ProviderError } from '../provider-error.js';
import {
  asRecord,
  callProvider,
  errorFromTable,
  guardedSend,
  joinUrl,
  kindForHttpStatus,
  mostSevere,
  numberField,
  retryAfterOf,
  stringField,
  toDigits,
} from '../adapter-support.js';
import { TEXTLOCAL_DEFAULT_BASES, textlocalConfigSchema, textlocalFields, type TextlocalConfig } from './config.js';
import { textlocalErrors } from './errors.js';
import { parseTextlocalReceipt } from './receipts.js';

const NAME = 'Textlocal';

/**
 * Textlocal: `POST {base}/send/` form-urlencoded with `apikey` (or `username` + `hash`),
 * `numbers` (digits, no `+`), `message`, `sender`, `custom` (otpgate's message id, echoed in
 * receipts as `customID`) and `receipt_url`. The HTTP status is not the signal: the JSON
 * `status` is (`success` | `failure` with `errors[]`).
 * @see PROVIDERS.md §3
 */
export const textlocalProvider: ProviderDescriptor<TextlocalConfig> = {
  id: 'Textlocal',
  configKey: 'textlocal',
  displayName: 'Textlocal',
  configSchema: textlocalConfigSchema,
  fields: textlocalFields,
  create(config, ctx) {
    const url = joinUrl(config.endpoint ?? TEXTLOCAL_DEFAULT_BASES[config.region], 'send/');

    return {
      send(request) {
        return guardedSend(NAME, ctx.logger, request, async (): Promise<SendResult> => {
          const form = new URLSearchParams();
          if (config.api_key !== undefined) form.set('apikey', config.api_key);
          else {
            form.set('username', config.username ?? '');
            form.set('hash', config.hash ?? '');
          }
          form.set('numbers', toDigits(request.to));
          form.set('message', request.body);
          form.set('sender', config.sender);
          form.set('custom', request.messageId);
          if (request.statusCallbackUrl !== undefined) form.set('receipt_url', request.statusCallbackUrl);

          const res = await callProvider(ctx.http, NAME, {
            method: 'POST',
            url,
            headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body: form.toString(),
            signal: request.signal,
          });
          const json = asRecord(res.json());
          const retryAfterMs = retryAfterOf(res, ctx.clock.now());
          const status = stringField(json, 'status');

          if (status === 'success') {
            const first = asRecord(Array.isArray(json?.['messages']) ? (json['messages'] as unknown[])[0] : undefined);
            const parts = numberField(asRecord(json?.['message']), 'num_parts');
            const result: SendResult = { providerMessageId: stringField(first, 'id') ?? stringField(json, 'batch_id') ?? null };
            if (parts !== undefined && parts > 0) result.segments = parts;
            return result;
          }
          if (status === 'failure') {
            const errors = Array.isArray(json?.['errors']) ? (json['errors'] as unknown[]) : [];
            const candidates = errors.map((e) =>
              errorFromTable(NAME, textlocalErrors, numberField(asRecord(e), 'code'), { httpStatus: res.status, retryAfterMs, fallbackKind: 'rejected' }),
            );
            throw mostSevere(candidates) ?? new ProviderError('rejected', 'Textlocal answered status "failure" without an error code', { httpStatus: res.status });
          }
          // Neither: a proxy or outage page, judged by its HTTP status.
          const kind = res.status >= 200 && res.status < 300 ? 'unknown' : kindForHttpStatus(res.status);
          throw new ProviderError(kind, `Textlocal answered HTTP ${res.status} without a Textlocal status`, {
            httpStatus: res.status,
            retryAfterMs: kind === 'rate_limited' || kind === 'transient' ? retryAfterMs : undefined,
          });
        });
      },
    };
  },
  receipts: { parse: parseTextlocalReceipt },
};
