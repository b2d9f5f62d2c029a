import type { ProviderDescriptor, SendResult } from '../types.js';
import { ProviderError } from '../provider-error.js';
import {
  asRecord,
  callProvider,
  errorFromTable,
  guardedSend,
  joinUrl,
  kindForHttpStatus,
  retryAfterOf,
  safeExcerpt,
  stringField,
  toDigits,
} from '../adapter-support.js';
import { INSTAALERTS_DEFAULT_BASE, instaAlertsConfigSchema, instaAlertsFields, type InstaAlertsConfig } from './config.js';
import { classifyInfo, instaAlertsErrors } from './errors.js';

const NAME = 'InstaAlerts';

/**
 * Reads a Karix answer: `key=value` pairs joined by `&` (or new lines), e.g.
 * `requestid=…&statuscode=200&info=Platform Accepted&time=…`; a JSON answer
 * (`{"status":{"code":"200","desc":…},"ackid":…}`, the JSON receiver's shape) is read too.
 */
export function parseKarixAnswer(body: string): Map<string, string> {
  const out = new Map<string, string>();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const obj = asRecord(json);
  if (obj) {
    const status = asRecord(obj['status']);
    const code = stringField(status, 'code') ?? stringField(obj, 'statuscode');
    const info = stringField(status, 'desc') ?? stringField(obj, 'info');
    const id = stringField(obj, 'ackid') ?? stringField(obj, 'requestid');
    if (code !== undefined) out.set('statuscode', code);
    if (info !== undefined) out.set('info', info);
    if (id !== undefined) out.set('requestid', id);
    return out;
  }
  for (const pair of body.trim().split(/[&\r\n]+/)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim().toLowerCase();
    let value = pair.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      // keep the raw value
    }
    out.set(key, value);
  }
  return out;
}

/**
 * InstaAlerts (Karix JAPI): `GET {base}/httpapi/QueryStringReceiver?ver=1.0&key=…&encrpt=0&dest=…
 * &send=…&text=…[&dlt_entity_id=…&dlt_template_id=…]`, recipient as digits without `+`. Success
 * is a body with `statuscode=200`; HTTP 200 alone means nothing. No per-message receipt URL.
 * @see PROVIDERS.md §4.1a
 */
export const instaAlertsProvider: ProviderDescriptor<InstaAlertsConfig> = {
  id: 'InstaAlerts',
  configKey: 'instaalerts',
  displayName: 'InstaAlerts (Karix)',
  configSchema: instaAlertsConfigSchema,
  fields: instaAlertsFields,
  create(config, ctx) {
    const base = joinUrl(config.endpoint ?? INSTAALERTS_DEFAULT_BASE, 'httpapi/QueryStringReceiver');

    return {
      send(request) {
        return guardedSend(NAME, ctx.logger, request, async (): Promise<SendResult> => {
          const query = new URLSearchParams({
            ver: '1.0',
            key: config.api_key,
            encrpt: '0',
            dest: toDigits(request.to),
            send: config.sender_id,
            text: request.body,
          });
          if (config.dlt_entity_id !== undefined) query.set('dlt_entity_id', config.dlt_entity_id);
          if (config.dlt_template_id !== undefined) query.set('dlt_template_id', config.dlt_template_id);

          const res = await callProvider(ctx.http, NAME, {
            method: 'GET',
            url: `${base}?${query.toString()}`,
            headers: { accept: 'text/plain, application/json' },
            signal: request.signal,
          });
          const retryAfterMs = retryAfterOf(res, ctx.clock.now());
          if (res.status < 200 || res.status >= 300) {
            const kind = kindForHttpStatus(res.status);
            throw new ProviderError(kind, `InstaAlerts answered HTTP ${res.status}`, {
              httpStatus: res.status,
              retryAfterMs: kind === 'rate_limited' || kind === 'transient' ? retryAfterMs : undefined,
            });
          }
          const answer = parseKarixAnswer(res.body);
          const code = answer.get('statuscode');
          if (code === '200') return { providerMessageId: answer.get('requestid') ?? answer.get('ackid') ?? null };

          // Never echo the answer raw: it may repeat the text or the key. Digits are masked too.
          const excerpt = safeExcerpt(answer.get('info') ?? res.body, { redact: [config.api_key, request.body], maskDigits: true }) || 'an empty body';
          if (code !== undefined && instaAlertsErrors[code] !== undefined) {
            const pe = errorFromTable(NAME, instaAlertsErrors, code, { httpStatus: res.status, retryAfterMs });
            throw new ProviderError(pe.kind, `${pe.message}: "${excerpt}"`, { providerCode: code, httpStatus: res.status, retryAfterMs: pe.retryAfterMs });
          }
          const what = code === undefined ? 'without a status code' : `with status code ${code}`;
          throw new ProviderError(classifyInfo(answer.get('info') ?? res.body), `InstaAlerts did not accept the message (answered ${what}): "${excerpt}"`, {
            providerCode: code,
            httpStatus: res.status,
          });
        });
      },
    };
  },
};
