import { randomBytes } from 'node:crypto';
import { ProviderError } from '../provider-error.js';
import { asRecord, callProvider, constantTimeEqual, kindForHttpStatus, retryAfterOf, safeExcerpt } from '../adapter-support.js';
import type { ProviderContext } from '../types.js';
import { customGatewayTarget, type CustomGatewayConfig } from './config.js';
import { signatureHeaders } from './signing.js';

export const CUSTOM_GATEWAY_NAME = 'the gateway';
/** Tells the gateway which challenge protocol this is. */
export const CHALLENGE_SCHEME = 'otpgate-v1';

/**
 * The validation challenge (DESIGN.md "Custom gateway"): `GET {uri}` with `X-API-Key`, a fresh
 * random `X-Verification-Key` (32 bytes, base64url) and `X-Scheme: otpgate-v1`; the gateway
 * must answer 200 with JSON `{"key": <that value>}`. Throws a ProviderError saying what came
 * back otherwise (the API turns it into a 422). With a signing secret it is signed like a
 * delivery (empty body, a fresh `chk_…` id), so a gateway may refuse every unsigned request.
 */
export async function runGatewayChallenge(config: CustomGatewayConfig, ctx: ProviderContext): Promise<void> {
  const verificationKey = randomBytes(32).toString('base64url');
  const res = await callProvider(ctx.http, CUSTOM_GATEWAY_NAME, {
    method: 'GET',
    url: customGatewayTarget(config),
    headers: {
      'x-api-key': config.api_key,
      'x-verification-key': verificationKey,
      'x-scheme': CHALLENGE_SCHEME,
      accept: 'application/json',
      ...signatureHeaders([config.signing_secret, config.previous_signing_secret], `chk_${randomBytes(16).toString('hex')}`, ctx.clock.now(), ''),
    },
  });
  const excerpt = () => safeExcerpt(res.body, { redact: [config.api_key] }) || 'an empty body';
  const opts = { httpStatus: res.status };

  if (res.status !== 200) {
    const kind = res.status >= 200 && res.status < 300 ? 'rejected' : kindForHttpStatus(res.status);
    const hint = kind === 'auth' ? ': it refused the API key' : res.status >= 200 && res.status < 300 ? ' (the challenge needs exactly 200)' : '';
    const retryAfterMs = kind === 'rate_limited' || kind === 'transient' ? retryAfterOf(res, ctx.clock.now()) : undefined;
    throw new ProviderError(kind, `the gateway answered ${res.status}${hint}`, { ...opts, retryAfterMs });
  }
  const json = res.json();
  if (json === undefined) throw new ProviderError('rejected', `the gateway answered 200 but not with JSON: "${excerpt()}"`, opts);
  const key = asRecord(json)?.['key'];
  if (typeof key !== 'string') {
    throw new ProviderError('rejected', `the gateway answered 200 without a string "key" field: "${excerpt()}"`, opts);
  }
  if (!constantTimeEqual(key, verificationKey)) {
    const shown = safeExcerpt(key, { redact: [config.api_key], max: 40 });
    throw new ProviderError('rejected', `the gateway answered 200 with key "${shown}" instead of the verification key`, opts);
  }
}
