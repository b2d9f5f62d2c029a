import type { ProviderDescriptor, SendResult } from '../types.js';
import { ProviderError } from '../provider-error.js';
import { asRecord, callProvider, guardedSend, kindForHttpStatus, retryAfterOf, safeExcerpt, stringField, toE164 } from '../adapter-support.js';
import { customGatewayConfigSchema, customGatewayFields, customGatewayTarget, type CustomGatewayConfig } from './config.js';
import { CUSTOM_GATEWAY_NAME, runGatewayChallenge } from './challenge.js';
import { signatureHeaders } from './signing.js';

const NAME = 'CustomGateway';

/**
 * A tenant's own gateway: `POST {uri}` with `Content-Type: application/json`, `X-API-Key` and
 * `{"phone_number":"+…","sender_id":"…","message":"…"}`. Any 2xx is success; 401/403 auth,
 * 429 rate limited, 5xx transient, other 4xx rejected. `validate` runs the challenge.
 * With a `signing_secret`, also Standard Webhooks headers; `webhook-id` is otpgate's message
 * id, the same on every attempt, so a gateway can use it as its idempotency key.
 */
export const customGatewayProvider: ProviderDescriptor<CustomGatewayConfig> = {
  id: 'CustomGateway',
  configKey: 'custom_gateway',
  displayName: 'Custom gateway',
  configSchema: customGatewayConfigSchema,
  fields: customGatewayFields,
  create(config, ctx) {
    const url = customGatewayTarget(config);

    return {
      send(request) {
        return guardedSend(NAME, ctx.logger, request, async (): Promise<SendResult> => {
          const body = JSON.stringify({
            phone_number: toE164(request.to),
            sender_id: config.sender_id ?? request.from ?? '',
            message: request.body,
          });
          const signature = signatureHeaders([config.signing_secret, config.previous_signing_secret], request.messageId, ctx.clock.now(), body);
          const res = await callProvider(ctx.http, CUSTOM_GATEWAY_NAME, {
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json', 'x-api-key': config.api_key, accept: 'application/json', ...signature },
            body,
            signal: request.signal,
          });
          if (res.status >= 200 && res.status < 300) {
            const json = asRecord(res.json());
            return { providerMessageId: stringField(json, 'id') ?? stringField(json, 'message_id') ?? null };
          }
          const kind = kindForHttpStatus(res.status);
          const excerpt = safeExcerpt(res.body, { redact: [config.api_key, request.body], maskDigits: true });
          const hint = kind === 'auth' ? ': it refused the API key' : excerpt === '' ? '' : `: "${excerpt}"`;
          throw new ProviderError(kind, `the gateway answered HTTP ${res.status}${hint}`, {
            httpStatus: res.status,
            retryAfterMs: kind === 'rate_limited' || kind === 'transient' ? retryAfterOf(res, ctx.clock.now()) : undefined,
          });
        });
      },
    };
  },
  validate: runGatewayChallenge,
};
