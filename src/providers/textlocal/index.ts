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
/** The warning code Textlocal gives for an invalid number it dropped (PROVIDERS.md §3.5). */
const INVALID_NUMBER_WARNING = '3';

/** The codes of a success answer's `warnings[]` (`[{code, message}]`), as strings. */
function warningCodes(json: Record<string, unknown> | undefined): string[] {
  const list = Array.isArray(json?.['warnings']) ? (json['warnings'] as unknown[]) : [];
  return list.map((w) => stringField(asRecord(w), 'code')).filter((c): c is string => c !== undefined);
}

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
            const recipientId = stringField(first, 'id');
            const warnings = warningCodes(json);
            if (warnings.length > 0) {
              // Warning 3 = invalid number (PROVIDERS.md §3.5): Textlocal drops such numbers and
              // sends to the rest. We send one number per request, so no per-recipient id means
              // nothing went out: `invalid_recipient` (no other provider will reach it either).
              // With an id, Textlocal did queue the message: failing would fail over and send a
              // second SMS, so it stays a success, noted in the log (codes only: the warning text
              // may quote the number); the delivery receipt (`I`) settles it.
              if (warnings.includes(INVALID_NUMBER_WARNING) && recipientId === undefined) {
                throw new ProviderError('invalid_recipient', 'Textlocal accepted the request but dropped the number as invalid (warning 3)', {
                  providerCode: `warning ${INVALID_NUMBER_WARNING}`,
                  httpStatus: res.status,
                });
              }
              ctx.logger.warn({ provider: NAME, messageId: request.messageId, warnings }, 'provider accepted the message with warnings');
            }
            const parts = numberField(asRecord(json?.['message']), 'num_parts');
            const result: SendResult = { providerMessageId: recipientId ?? stringField(json, 'batch_id') ?? null };
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
