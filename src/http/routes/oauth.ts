import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.js';
import { AppError } from '../../errors/app-error.js';

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4): client id = API key id, client secret = the
 * key, sent as HTTP Basic or in the body (form or JSON). Answers a short-lived bearer token.
 */
export function oauthRoutes(app: FastifyInstance, deps: Deps): void {
  app.post('/oauth2/token', { config: { access: 'public' }, schema: { tags: ['auth'], description: 'Client credentials → short-lived bearer token.' } }, async (request, reply) => {
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
  });
}
