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

  registerErrorHandling(app, { isStoreUnavailable });
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
  await app.register(async (docs) => {
    publicPluginRoutes(docs);
    await docs.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
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
      await consoleScope.register(fastifyStatic, { root: consoleDir, prefix: '/admin/', decorateReply: true, wildcard: false, index: ['index.html'] });
      // Client-side routes of the console fall back to its index.html.
      consoleScope.get('/admin/*', { config: { access: 'public' }, schema: { hide: true } }, (_req, reply) => reply.sendFile('index.html'));
    });
  }
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.redirect(consoleDir ? '/admin/' : '/docs'));
  return app;
}
