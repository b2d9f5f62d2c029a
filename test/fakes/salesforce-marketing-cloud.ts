import { hexId, mediaType, startFakeServer, tryJson, type FakeReply, type FakeServer, type RecordedRequest } from './fake-server.js';

/**
 * Fake Salesforce Marketing Cloud (PROVIDERS.md §5, checklist §9): one server plays the auth
 * host (`POST /v2/token` enhanced, `POST /v1/requestToken` legacy) and the REST host
 * (`POST {restPrefix}sms/v1/messageContact/{id}/send` → 202 `{tokenId}`). Tokens expire by
 * the injected clock; stale, unknown or revoked tokens get 401. Token requests are counted.
 */

export interface SfmcFakeOptions {
  clientId: string;
  clientSecret: string;
  /** Business units (MIDs) the package may switch to with `account_id`. */
  accountIds?: number[];
  /** Credentials of a legacy package (v1/requestToken). */
  legacy?: { clientId: string; clientSecret: string };
  messageIds: string[];
  keyword: string;
  /** Seconds; enhanced default 1079, legacy 3600 (fixed by SFMC). */
  enhancedTtlSeconds?: number;
  legacyTtlSeconds?: number;
  /**
   * Path of `rest_instance_url` on this server, with its trailing slash (default `/`). Enhanced
   * tokens are only good under it; legacy tokens under `/` (this server is not an SFMC host, so the
   * adapter sends legacy tokens to the endpoint itself).
   */
  restPrefix?: string;
  /** The clock that expires tokens (ms since epoch). */
  now?: () => number;
}

export type SfmcFault =
  /** The next send answers this REST error (`{message, errorcode, documentation}`). */
  | { kind: 'send_error'; status: number; errorcode?: number; message?: string; retryAfter?: string }
  /** The next token request answers this OAuth error. */
  | { kind: 'token_error'; status: number; error: string };

export interface SfmcSend {
  messageId: string;
  mobileNumbers: string[];
  messageText: string;
  keyword: string;
  tokenId: string;
}

export interface SfmcFake extends FakeServer<SfmcFault> {
  sends: SfmcSend[];
  /** Token requests so far (both routes). */
  tokenRequests(): number;
  /** Makes every issued token stale (the next send with one gets 401). */
  revokeTokens(): void;
}

interface Issued {
  expiresAt: number;
  restPrefix: string;
}

/** SFMC reads these keys case-insensitively (integrations use both casings). */
function getCI(obj: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

function oauthError(status: number, error: string): FakeReply {
  return { status, body: { error, error_description: `${error} (fake)`, error_uri: 'https://developer.salesforce.com/docs' } };
}

function restError(status: number, message: string, errorcode: number, headers?: Record<string, string>): FakeReply {
  return { status, headers, body: { message, errorcode, documentation: '' } };
}

export async function startSfmcFake(options: SfmcFakeOptions): Promise<SfmcFake> {
  const now = options.now ?? (() => Date.now());
  const restPrefix = options.restPrefix ?? '/';
  const tokens = new Map<string, Issued>();
  const sends: SfmcSend[] = [];
  let tokenCount = 0;
  let baseUrl = '';

  const issue = (ttlSeconds: number, prefix: string): string => {
    const token = `tok_${hexId(24)}`;
    tokens.set(token, { expiresAt: now() + ttlSeconds * 1000, restPrefix: prefix });
    return token;
  };

  const handle = (req: RecordedRequest, fault: SfmcFault | undefined): FakeReply => {
    const json = mediaType(req) === 'application/json' ? tryJson(req.body) : undefined;
    const body = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;

    if (req.method === 'POST' && req.path === '/v2/token') {
      tokenCount += 1;
      if (fault?.kind === 'token_error') return oauthError(fault.status, fault.error);
      if (!body) return oauthError(400, 'invalid_request');
      if (body['grant_type'] !== 'client_credentials') return oauthError(400, 'unsupported_grant_type');
      if (body['client_id'] !== options.clientId || body['client_secret'] !== options.clientSecret) return oauthError(401, 'invalid_client');
      const account = body['account_id'];
      if (account !== undefined && (typeof account !== 'number' || !(options.accountIds ?? []).includes(account))) {
        return oauthError(401, 'access_denied');
      }
      const ttl = options.enhancedTtlSeconds ?? 1079;
      return {
        status: 200,
        body: {
          access_token: issue(ttl, restPrefix),
          token_type: 'Bearer',
          expires_in: ttl,
          scope: 'sms_read sms_send sms_write',
          soap_instance_url: `${baseUrl}/soap/`,
          rest_instance_url: `${baseUrl}${restPrefix}`,
        },
      };
    }
    if (req.method === 'POST' && req.path === '/v1/requestToken') {
      tokenCount += 1;
      if (fault?.kind === 'token_error') return oauthError(fault.status, fault.error);
      if (!body) return { status: 400, body: { message: 'Bad Request', errorcode: 10000 } };
      const legacy = options.legacy;
      if (!legacy || body['clientId'] !== legacy.clientId || body['clientSecret'] !== legacy.clientSecret) {
        return { status: 401, body: { message: 'Unauthorized', errorcode: 1, documentation: '' } };
      }
      const ttl = options.legacyTtlSeconds ?? 3600;
      return { status: 200, body: { accessToken: issue(ttl, '/'), expiresIn: ttl } };
    }

    const m = /^(.*\/)sms\/v1\/messageContact\/([^/]+)\/send$/.exec(req.path);
    if (req.method !== 'POST' || !m) return restError(404, 'Not Found', 404);
    const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const issued = auth?.[1] === undefined ? undefined : tokens.get(auth[1]);
    if (!issued || now() >= issued.expiresAt) return restError(401, 'Not Authorized', 0);
    if (issued.restPrefix !== m[1]) return restError(404, 'Not Found', 404);
    if (fault?.kind === 'send_error') {
      return restError(fault.status, fault.message ?? 'Error', fault.errorcode ?? 0, fault.retryAfter ? { 'retry-after': fault.retryAfter } : undefined);
    }
    const messageId = decodeURIComponent(m[2] ?? '');
    if (!options.messageIds.includes(messageId)) return restError(400, `Message id ${messageId} is not valid.`, 10005);
    if (!body) return restError(400, 'The request body is not valid JSON.', 10000);
    const numbers = getCI(body, 'mobileNumbers');
    if (!Array.isArray(numbers) || numbers.length === 0) return restError(400, 'mobileNumbers is required.', 10001);
    if (numbers.some((n) => typeof n !== 'string' || !/^\d{8,15}$/.test(n))) return restError(400, 'mobileNumbers contains an invalid number.', 10002);
    const subscribe = getCI(body, 'subscribe') === true || getCI(body, 'resubscribe') === true;
    const keyword = getCI(body, 'keyword');
    if (subscribe && keyword !== options.keyword) return restError(400, 'Keyword is not valid for this message.', 10003);
    const text = getCI(body, 'messageText');
    if (getCI(body, 'override') === true && (typeof text !== 'string' || text === '')) {
      return restError(400, 'messageText is required when override is true.', 10004);
    }
    const tokenId = hexId(36);
    sends.push({ messageId, mobileNumbers: numbers as string[], messageText: String(text ?? ''), keyword: String(keyword ?? ''), tokenId });
    return { status: 202, body: { tokenId } };
  };

  const server = await startFakeServer<SfmcFault>(handle);
  baseUrl = server.url;
  return {
    ...server,
    sends,
    tokenRequests: () => tokenCount,
    revokeTokens: () => tokens.clear(),
  };
}
