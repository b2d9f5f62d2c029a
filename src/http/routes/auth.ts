import { z } from 'zod';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { OPERATOR_ROLES } from '../../domain/roles.js';
import { actorOf, checkSameOrigin, cookieOf, requireOperator, SESSION_COOKIE } from '../plugins/auth.js';
import { errorResponses, noContent } from '../schemas/common.js';
import { AppError } from '../../errors/app-error.js';
import { SSO_PENDING_MS } from '../../services/sso-service.js';
import { operatorView } from './operators.js';

const code = z.string().trim().max(16).describe('The 6-digit code from the authenticator app');
const signedInView = z.object({ operator: operatorView, csrf_token: z.string().describe('Send it in X-CSRF-Token on every unsafe request of the session'), expires_at: z.string() });
const meView = z.object({
  kind: z.enum(['operator', 'admin_key']),
  role: z.enum(OPERATOR_ROLES),
  operator: operatorView.nullable(),
  tenants: z.array(z.object({ id: z.string(), name: z.string() })).nullable().describe('The tenants of a tenant_admin'),
  csrf_token: z.string().nullable(),
  expires_at: z.string().nullable(),
});
const withOperator = z.object({ operator: operatorView });

/** Console sign-in for operators (docs/operators.md). */
export function authRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const signedIn = { access: 'signed_in' as const };
  const secure = deps.config.env === 'production' ? '; Secure' : '';

  const sessionCookie = (token: string, maxAgeSeconds: number) => `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
  /** The session cookie for a new session, living as long as the session may. */
  const newSessionCookie = (token: string, expiresAt: number) => sessionCookie(token, Math.floor((expiresAt - deps.clock.now()) / 1000));
  function clearCookie(reply: FastifyReply): void {
    reply.header('set-cookie', sessionCookie('', 0));
  }

  r.post(
    '/v1/auth/sign-in',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operators'],
        description: 'Email and password (and `totp` when the account has an authenticator). Sets the HttpOnly session cookie; answers the CSRF token to send in X-CSRF-Token.',
        body: z.strictObject({ email: z.string().max(320), password: z.string().max(1024), totp: code.optional() }),
        response: { 200: signedInView, ...errorResponses },
      },
    },
    async (request, reply) => {
      checkSameOrigin(request);
      const { token, session } = await deps.operators.signIn({ ...request.body, ip: request.ip });
      reply.header('set-cookie', newSessionCookie(token, session.expiresAt));
      reply.header('cache-control', 'no-store');
      return { operator: session.operator, csrf_token: session.csrfToken, expires_at: new Date(session.expiresAt).toISOString() };
    },
  );

  const SSO_COOKIE = 'otpgate_sso';
  // Lax, not Strict: the provider sends the browser back with a top-level navigation from its own
  // site, which a Strict cookie would not come with. It holds no session, only the sealed
  // state, nonce and PKCE verifier of one sign-in, for 10 minutes.
  const ssoCookie = (value: string, maxAge: number) => `${SSO_COOKIE}=${value}; Path=/v1/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure}`;

  r.get(
    '/v1/auth/options',
    { config: { access: 'public' }, schema: { tags: ['operators'], description: 'How operators may sign in here: the console shows "Sign in with SSO" when `sso` is true.', response: { 200: z.object({ password: z.literal(true), sso: z.boolean() }), ...errorResponses } } },
    async () => ({ password: true as const, sso: deps.sso !== undefined }),
  );

  r.get(
    '/v1/auth/oidc/start',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operators'],
        description: "Starts single sign-on: redirects to the identity provider (Authorization Code with PKCE), and keeps this sign-in's state in an HttpOnly cookie for 10 minutes.",
        response: { 302: z.null().describe('To the identity provider'), ...errorResponses },
      },
    },
    async (_request, reply) => {
      if (!deps.sso) throw new AppError('auth.sso_disabled');
      const { url, pending } = await deps.sso.start();
      reply.header('set-cookie', ssoCookie(pending, Math.floor(SSO_PENDING_MS / 1000)));
      reply.header('cache-control', 'no-store');
      return reply.redirect(url, 302);
    },
  );

  r.get(
    '/v1/auth/oidc/callback',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operators'],
        description:
          'Where the identity provider sends the browser back. Signed in: the session cookie is set and the answer redirects to the console. Refused: it redirects to the console with `sso_error` set to the problem code (nothing is changed).',
        querystring: z.object({}).passthrough(),
        response: { 302: z.null().describe('To the console'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      const consoleUrl = '/admin/';
      // The sign-in cookie is spent whatever happens: a callback works once.
      const cookies = [ssoCookie('', 0)];
      reply.header('cache-control', 'no-store');
      try {
        if (!deps.sso) throw new AppError('auth.sso_disabled');
        const { token, session } = await deps.sso.finish(query, cookieOf(request, SSO_COOKIE), request.ip);
        cookies.push(newSessionCookie(token, session.expiresAt));
        reply.header('set-cookie', cookies);
        return reply.redirect(consoleUrl, 302);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        request.log.info({ code: err.code }, 'single sign-on refused');
        reply.header('set-cookie', cookies);
        return reply.redirect(`${consoleUrl}?sso_error=${encodeURIComponent(err.code)}`, 302);
      }
    },
  );

  r.post('/v1/auth/sign-out', { config: signedIn, schema: { tags: ['operators'], description: 'Ends this session.', response: { 204: noContent, ...errorResponses } } }, async (request, reply) => {
    await deps.operators.signOut(requireOperator(request).sessionId);
    clearCookie(reply);
    return reply.code(204).send();
  });

  r.post('/v1/auth/sign-out-everywhere', { config: signedIn, schema: { tags: ['operators'], description: 'Ends every session of the signed-in operator, on every device.', response: { 200: z.object({ sessions_ended: z.number().int() }), ...errorResponses } } }, async (request, reply) => {
    const session = requireOperator(request);
    const ended = await deps.operators.signOutEverywhere(session.operator.id, actorOf(request));
    clearCookie(reply);
    return reply.send({ sessions_ended: ended });
  });

  r.get('/v1/auth/me', { config: signedIn, schema: { tags: ['operators'], description: 'Who is signed in: the operator (with the session’s CSRF token), or the admin key.', response: { 200: meView, ...errorResponses } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const c = request.caller;
    if (c?.kind !== 'operator') return { kind: 'admin_key' as const, role: 'owner' as const, operator: null, tenants: null, csrf_token: null, expires_at: null };
    const op = c.session.operator;
    const tenants = op.role === 'tenant_admin' ? await Promise.all(op.tenant_ids.map(async (id) => ({ id, name: (await deps.tenants.get(id)).name }))) : null;
    return { kind: 'operator' as const, role: op.role, operator: op, tenants, csrf_token: c.session.csrfToken, expires_at: new Date(c.session.expiresAt).toISOString() };
  });

  r.post('/v1/auth/totp/setup', { config: signedIn, schema: { tags: ['operators'], description: 'A new authenticator secret (and its otpauth:// URI for a QR code), shown once; confirm it with /v1/auth/totp/enable.', response: { 200: z.object({ secret: z.string(), otpauth_uri: z.string() }), ...errorResponses } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    return deps.operators.setupTotp(requireOperator(request).operator.id);
  });

  r.post('/v1/auth/totp/enable', { config: signedIn, schema: { tags: ['operators'], body: z.strictObject({ code }), response: { 200: withOperator, ...errorResponses } } }, async (request) => ({
    operator: await deps.operators.enableTotp(requireOperator(request).operator.id, request.body.code, actorOf(request)),
  }));

  r.post('/v1/auth/totp/disable', { config: signedIn, schema: { tags: ['operators'], body: z.strictObject({ code }), response: { 200: withOperator, ...errorResponses } } }, async (request) => ({
    operator: await deps.operators.disableTotp(requireOperator(request).operator.id, request.body.code, actorOf(request)),
  }));
}
