import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject, validatorCompiler } from 'fastify-type-provider-zod';
import type { Deps } from './deps.js';
import { publicPluginRoutes, registerAuth } from './http/plugins/auth.js';
import { registerErrorHandling } from './http/plugins/errors.js';
import { authRoutes } from './http/routes/auth.js';
import { operatorRoutes } from './http/routes/operators.js';
import { registerSecurityHeaders } from './http/plugins/security-headers.js';
import { ERROR_PAGE_STYLE_SRC, errorPageRoutes } from './http/routes/error-pages.js';
import { AppError } from './errors/app-error.js';
import { callbackRoutes } from './http/routes/callbacks.js';
import { eventEndpointRoutes } from './http/routes/event-endpoints.js';
import { fraudGuardRoutes } from './http/routes/fraud-guard.js';
import { healthRoutes } from './http/routes/health.js';
import { messageRoutes } from './http/routes/messages.js';
import { oauthRoutes } from './http/routes/oauth.js';
import { otpRoutes } from './http/routes/otp.js';
import { phoneRoutes } from './http/routes/phones.js';
import { providerRoutes } from './http/routes/providers.js';
import { receiverRoutes } from './http/routes/receivers.js';
import { templateRoutes } from './http/routes/templates.js';
import { tenantRoutes } from './http/routes/tenants.js';
import { twilioVerifyRoutes } from './http/routes/twilio-verify.js';
import { pooledRandomBytes } from './domain/random-pool.js';
import { createHealthService } from './services/health-service.js';
import { createHousekeeping } from './services/housekeeping-service.js';
import { isStoreUnavailable } from './store/availability.js';

/** Where the built admin console lives (console/dist), from src/ or dist/src/. */
export function consoleDistDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [resolve(here, '../console/dist'), resolve(here, '../../console/dist')]) {
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  return undefined;
}

const CONSOLE_ASSETS = '/admin/assets/';

/**
 * Cache-Control of a console file: the hashed assets (Vite names each after its content) never
 * change under their name, so a year and `immutable`; index.html, which names the current
 * ones, is revalidated on every load so an upgrade shows at once.
 */
export function consoleCacheControl(path: string): string {
  return /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/** Builds the HTTP application around its dependencies. Never listens: main.ts does. */
export async function buildApp(deps: Deps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request access logs are off: the hot paths stay cheap, and errors are logged on their own.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.bodyLimitBytes,
    genReqId: () => `req_${pooledRandomBytes(8).toString('hex')}`,
    requestIdHeader: false,
    trustProxy: false,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(validatorCompiler);
  // Responses are built by our own code; JSON.stringify is enough (schemas document them).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });

  // JSON everywhere: a text/plain body is refused with 415 rather than read as a string, and
  // form bodies are read only by the routes that expect them (below).
  app.removeContentTypeParser('text/plain');

  registerErrorHandling(app, { isStoreUnavailable, publicUrl: deps.config.publicUrl });
  registerAuth(app, deps);

  // Not in deps.ts: only the HTTP app uses them (the dispatch worker builds deps but no app).
  const health = createHealthService(deps, { metrics: deps.metrics });
  const housekeeping = createHousekeeping(deps);
  app.addHook('onReady', async () => housekeeping.start());
  app.addHook('onClose', async () => housekeeping.stop());

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'otpgate', version: '0.1.0', description: 'Self-hosted SMS one-time passcodes through the SMS provider each tenant chooses.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  const production = deps.config.env === 'production';
  await app.register(async (docs) => {
    publicPluginRoutes(docs);
    // Swagger UI sets style attributes and inline styles of its own.
    await registerSecurityHeaders(docs, { production, styleSrc: ["'unsafe-inline'"] });
    // No validator badge: it would load an image from validator.swagger.io.
    await docs.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', validatorUrl: null } });
  });
  await app.register(async (pages) => {
    await registerSecurityHeaders(pages, { production, styleSrc: [ERROR_PAGE_STYLE_SRC] });
    errorPageRoutes(pages);
  });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  healthRoutes(app, deps, health);
  // Form bodies are kept raw: provider callbacks check signatures over them, OAuth reads them.
  // Only these routes parse them; every other route answers a form body with 415.
  await app.register(async (forms) => {
    forms.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    oauthRoutes(forms, deps);
    callbackRoutes(forms, deps);
  });
  authRoutes(app, deps);
  operatorRoutes(app, deps);
  tenantRoutes(app, deps);
  otpRoutes(app, deps);
  messageRoutes(app, deps);
  templateRoutes(app, deps);
  providerRoutes(app, deps);
  fraudGuardRoutes(app, deps);
  receiverRoutes(app, deps);
  eventEndpointRoutes(app, deps);
  phoneRoutes(app, deps);
  // Twilio Verify v2–compatible API: its own form parser, Basic auth and error bodies.
  await twilioVerifyRoutes(app, deps);

  const consoleDir = consoleDistDir();
  if (consoleDir) {
    await app.register(async (consoleScope) => {
      publicPluginRoutes(consoleScope);
      await registerSecurityHeaders(consoleScope, { production });
      await consoleScope.register(fastifyStatic, {
        root: consoleDir,
        prefix: '/admin/',
        decorateReply: true,
        wildcard: false,
        index: ['index.html'],
        // The build writes a .br and a .gz beside each asset (console/vite.config.ts): sent as
        // the client accepts, with no compression work per request.
        preCompressed: true,
        cacheControl: false,
        setHeaders: (reply, path) => {
          reply.header('cache-control', consoleCacheControl(path));
        },
      });
      // Client-side routes of the console fall back to its index.html; a missing asset (an old
      // hash after an upgrade) is a 404, not a page that the browser would try to run as a script.
      consoleScope.get('/admin/*', { config: { access: 'public' }, schema: { hide: true } }, (request, reply) => {
        if (request.url.startsWith(CONSOLE_ASSETS)) throw new AppError('route.not_found', `There is no console asset ${request.url.split('?')[0]}.`);
        return reply.sendFile('index.html');
      });
    });
  }
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.redirect(consoleDir ? '/admin/' : '/docs'));
  return app;
}
