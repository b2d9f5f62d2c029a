import type { ProviderDescriptor, SendResult } from '../types.js';
import { ProviderError } from '../provider-error.js';
import {
  asRecord,
  callProvider,
  errorFromTable,
  guardedSend,
  joinUrl,
  numberField,
  retryAfterOf,
  stringField,
  toE164,
} from '../adapter-support.js';
import { TWILIO_DEFAULT_BASE, twilioConfigSchema, twilioFields, type TwilioConfig } from './config.js';
import { twilioErrors } from './errors.js';
import { parseTwilioCallback } from './receipts.js';

const NAME = 'Twilio';
/** A 2xx answer whose message `status` is one of these is a failure (supabase does the same). */
const failedStatuses = new Set(['failed', 'undelivered', 'canceled']);

/**
 * Twilio Programmable Messaging: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`,
 * HTTP Basic (Account SID : Auth Token), form-urlencoded, recipient in E.164 with `+`.
 * @see PROVIDERS.md §1
 */
export const twilioProvider: ProviderDescriptor<TwilioConfig> = {
  id: 'Twilio',
  configKey: 'twilio',
  displayName: 'Twilio',
  configSchema: twilioConfigSchema,
  fields: twilioFields,
  create(config, ctx) {
    const url = joinUrl(config.endpoint ?? TWILIO_DEFAULT_BASE, `2010-04-01/Accounts/${config.account_sid}/Messages.json`);
    const authorization = `Basic ${Buffer.from(`${config.account_sid}:${config.auth_token}`, 'utf8').toString('base64')}`;

    return {
      send(request) {
        return guardedSend(NAME, ctx.logger, request, async (): Promise<SendResult> => {
          const form = new URLSearchParams();
          form.set('To', toE164(request.to));
          if (config.messaging_service_sid !== undefined) form.set('MessagingServiceSid', config.messaging_service_sid);
          else if (config.sender_phone_number !== undefined) form.set('From', config.sender_phone_number);
          form.set('Body', request.body);
          if (request.statusCallbackUrl !== undefined) form.set('StatusCallback', request.statusCallbackUrl);

          const res = await callProvider(ctx.http, NAME, {
            method: 'POST',
            url,
            headers: {
              authorization,
              'content-type': 'application/x-www-form-urlencoded',
              accept: 'application/json',
            },
            body: form.toString(),
            signal: request.signal,
          });
          const json = asRecord(res.json());

          if (res.status < 200 || res.status >= 300) {
            throw errorFromTable(NAME, twilioErrors, numberField(json, 'code'), {
              httpStatus: res.status,
              retryAfterMs: retryAfterOf(res, ctx.clock.now()),
            });
          }
          const status = stringField(json, 'status');
          if (status !== undefined && failedStatuses.has(status)) {
            // Accepted over HTTP but already failed: the error_code says why.
            throw errorFromTable(NAME, twilioErrors, numberField(json, 'error_code'), { httpStatus: res.status, fallbackKind: 'rejected' });
          }
          const sid = stringField(json, 'sid');
          if (sid === undefined) {
            throw new ProviderError('unknown', `Twilio answered HTTP ${res.status} without a message sid`, { httpStatus: res.status });
          }
          const segments = numberField(json, 'num_segments');
          return segments !== undefined && segments > 0 ? { providerMessageId: sid, segments } : { providerMessageId: sid };
        });
      },
    };
  },
  receipts: { parse: parseTwilioCallback },
};
