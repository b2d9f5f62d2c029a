import type { ProviderDescriptor, SendRequest, SendResult } from '../types.js';
import { ProviderError } from '../provider-error.js';
import type { HttpResponse } from '../http.js';
import { asRecord, callProvider, guardedSend, joinUrl, kindForHttpStatus, retryAfterOf, safeExcerpt, stringField, toDigits } from '../adapter-support.js';
import { sfmcConfigSchema, sfmcFields, type SfmcConfig } from './config.js';
import { createSfmcTokenCache, fetchSfmcToken, SFMC_NAME, sfmcCacheKey, type SfmcToken, type SfmcTokenCache } from './token.js';

export { createSfmcTokenCache, type SfmcTokenCache } from './token.js';

/** Waits for a shared promise (the single-flight token fetch) unless this send's signal fires. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new ProviderError('transient', `the request to ${SFMC_NAME} was aborted (attempt deadline or shutdown)`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ProviderError('transient', `the request to ${SFMC_NAME} was aborted (attempt deadline or shutdown)`));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function sendError(res: HttpResponse, request: SendRequest, retryAfterMs: number | undefined): ProviderError {
  const json = asRecord(res.json());
  const code = stringField(json, 'errorcode') ?? stringField(json, 'errorCode');
  const detail = stringField(json, 'message');
  const kind = res.status === 403 ? 'auth' : kindForHttpStatus(res.status);
  const why = res.status === 403
    ? 'refused the send (HTTP 403): give the installed package the SMS Send permission'
    : `refused the send (HTTP ${res.status}${code === undefined ? '' : `, errorcode ${code}`})`;
  const excerpt = detail === undefined ? '' : `: "${safeExcerpt(detail, { redact: [request.body], maskDigits: true })}"`;
  return new ProviderError(kind, `${SFMC_NAME} ${why}${excerpt}`, {
    providerCode: code,
    httpStatus: res.status,
    retryAfterMs: kind === 'rate_limited' || kind === 'transient' ? retryAfterMs : undefined,
  });
}

/**
 * Builds the SFMC descriptor around a token cache (one per descriptor, so tests and processes
 * get their own). Sends `POST {rest_instance_url}sms/v1/messageContact/{message_id}/send` with
 * a Bearer token; a 401 drops the cached token and retries once with a fresh one.
 * @see PROVIDERS.md §5
 */
export function createSalesforceMarketingCloudProvider(
  options: { tokenCache?: SfmcTokenCache } = {},
): ProviderDescriptor<SfmcConfig> {
  const cache = options.tokenCache ?? createSfmcTokenCache();
  return {
    id: 'SalesforceMarketingCloud',
    configKey: 'salesforce_marketing_cloud',
    displayName: 'Salesforce Marketing Cloud (MobileConnect)',
    configSchema: sfmcConfigSchema,
    fields: sfmcFields,
    create(config, ctx) {
      const key = sfmcCacheKey(config);
      const token = () => cache.get(key, ctx.clock.now(), () => fetchSfmcToken(ctx.http, config, () => ctx.clock.now()));
      const path = `sms/v1/messageContact/${encodeURIComponent(config.message_id)}/send`;

      const post = (t: SfmcToken, request: SendRequest) =>
        callProvider(ctx.http, SFMC_NAME, {
          method: 'POST',
          url: joinUrl(t.restBase, path),
          headers: { authorization: `Bearer ${t.accessToken}`, 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({
            mobileNumbers: [toDigits(request.to)],
            Subscribe: true,
            Resubscribe: true,
            keyword: config.keyword,
            Override: true,
            messageText: request.body,
          }),
          signal: request.signal,
        });

      return {
        send(request) {
          return guardedSend(SFMC_NAME, ctx.logger, request, async (): Promise<SendResult> => {
            let t = await unlessAborted(token(), request.signal);
            let res = await post(t, request);
            if (res.status === 401) {
              // The token expired early or was revoked: fetch a new one, once.
              cache.invalidate(key, t.accessToken);
              ctx.logger.info({ provider: SFMC_NAME, messageId: request.messageId }, 'access token refused; refreshing it once');
              t = await unlessAborted(token(), request.signal);
              res = await post(t, request);
              if (res.status === 401) {
                cache.invalidate(key, t.accessToken);
                throw new ProviderError('auth', `${SFMC_NAME} refused a freshly issued access token (HTTP 401): check the package's permissions`, {
                  httpStatus: 401,
                });
              }
            }
            if (res.status < 200 || res.status >= 300) throw sendError(res, request, retryAfterOf(res, ctx.clock.now()));
            return { providerMessageId: stringField(asRecord(res.json()), 'tokenId') ?? null };
          });
        },
      };
    },
  };
}

/** The registry's instance, with its own token cache. */
export const salesforceMarketingCloudProvider = createSalesforceMarketingCloudProvider();
