import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.js';
import { AppError } from '../../errors/app-error.js';
import { errorResponses } from '../schemas/common.js';

const tokenRequest = z
  .object({
    grant_type: z.literal('client_credentials'),
    client_id: z.string().optional().describe('The API key id; or send it as the HTTP Basic user'),
    client_secret: z.string().optional().describe('The API key; or send it as the HTTP Basic password'),
  })
  .describe('RFC 6749 §4.4 client credentials');

const tokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().describe('Seconds'),
});

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4): client id = API key id, client secret = the
 * key, sent as HTTP Basic or in the body (form or JSON). Answers a short-lived bearer token.
 */
export function oauthRoutes(app: FastifyInstance, deps: Deps): void {
  app.post(
    '/oauth2/token',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        description: 'Client credentials → short-lived bearer token. The credentials come as HTTP Basic or in the body.',
        security: [],
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: tokenRequest,
        response: { 200: tokenResponse, ...errorResponses },
      },
      // The body schema documents the request; the handler reads it itself (a form body is a raw
      // string here, and the credentials may come as HTTP Basic instead) with OAuth's own errors.
      validatorCompiler: () => (data) => ({ value: data }),
    },
    async (request, reply) => {
    const raw = request.body;
    const fields: Record<string, string> = {};
    if (typeof raw === 'string') for (const [k, v] of new URLSearchParams(raw)) fields[k] = v;
    else if (raw && typeof raw === 'object') for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') fields[k] = v;
    const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) {
        fields.client_id = decodeURIComponent(decoded.slice(0, i));
        fields.client_secret = decodeURIComponent(decoded.slice(i + 1));
      }
    }
    if (fields.grant_type !== 'client_credentials') {
      throw new AppError('request.invalid', 'grant_type must be client_credentials.', { extra: { error: 'unsupported_grant_type' }, issues: [{ path: 'grant_type', message: 'must be client_credentials' }] });
    }
    if (!fields.client_id || !fields.client_secret) {
      throw new AppError('auth.invalid_client', 'Send client_id and client_secret (HTTP Basic or in the body).', { extra: { error: 'invalid_client' } });
    }
    const token = await deps.apiKeys.issueAccessToken(fields.client_id, fields.client_secret);
    return reply.header('cache-control', 'no-store').send(token);
    },
  );
}
