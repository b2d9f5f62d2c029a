import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError, type FieldIssue } from '../../errors/app-error.js';
import { buildProblem, problemTypeBase } from '../../errors/problem.js';
import type { ErrorCode } from '../../errors/codes.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function sendProblem(reply: FastifyReply, request: FastifyRequest, err: AppError): FastifyReply {
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  return reply
    .code(err.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(buildProblem(err.code, request.id, err.detail, err.issues, err.extra, request.server.problemTypeBase));
}

/** Maps Fastify's own errors (body parsing, limits, validation) onto the catalog. */
function fromFastifyError(err: FastifyError): AppError | undefined {
  if (err.validation) {
    const where = err.validationContext ?? 'body';
    const issues: FieldIssue[] = err.validation.map((v) => {
      const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
      const unknownKeys = (v.params as { keys?: string[] } | undefined)?.keys;
      const message = v.keyword === 'unrecognized_keys' && unknownKeys ? `unknown field${unknownKeys.length > 1 ? 's' : ''}: ${unknownKeys.join(', ')}` : (v.message ?? 'is invalid');
      return { path: path ? `${where === 'body' ? '' : where + '.'}${path}` : where, message };
    });
    return new AppError('request.invalid', `The ${where === 'querystring' ? 'query string' : where} is invalid.`, { issues });
  }
  const byCode: Partial<Record<string, [ErrorCode, string]>> = {
    FST_ERR_CTP_BODY_TOO_LARGE: ['request.body_too_large', 'The request body is larger than this server accepts.'],
    FST_ERR_CTP_INVALID_MEDIA_TYPE: ['request.unsupported_media_type', 'Send the body as application/json.'],
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['request.invalid', 'The Content-Length header does not match the body.'],
    FST_ERR_CTP_EMPTY_JSON_BODY: ['request.malformed_json', 'The body is empty; send a JSON object.'],
    FST_ERR_CTP_INVALID_JSON_BODY: ['request.malformed_json', 'The body is not valid JSON.'],
  };
  const hit = err.code ? byCode[err.code] : undefined;
  if (hit) return new AppError(hit[0], hit[1]);
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) return new AppError('request.malformed_json', 'The body is not valid JSON.');
  if (err.statusCode === 413) return new AppError('request.body_too_large', 'The request body is larger than this server accepts.');
  if (err.statusCode === 415) return new AppError('request.unsupported_media_type', 'Send the body as application/json.');
  if (err.statusCode === 404) return new AppError('route.not_found');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new AppError('request.invalid', 'The request could not be read.');
  return undefined;
}

/** Methods probed for the `Allow` header of a 405 (HEAD comes with every GET route). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The methods some route answers for this path, or none when no route matches it at all. */
function allowedMethods(app: FastifyInstance, path: string): string[] {
  return METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
}

/** Seconds a client is told to wait before retrying a request the database could not serve. */
export const STORE_RETRY_AFTER_S = 2;
/** At most one log line per this many ms about requests answered `store.unavailable`. */
const STORE_LOG_EVERY_MS = 10_000;

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The 503 `store.unavailable` for an error that means the database is away, else
     * undefined: for route groups with an error handler of their own (the Twilio-compatible API).
     */
    storeUnavailable(err: unknown): AppError | undefined;
    /** The `type` of this app's problems up to the code: a page it serves (src/errors/problem.ts). */
    problemTypeBase: string;
  }
}

export interface ErrorHandlingOptions {
  /**
   * Whether an error means the database is away for now (src/store/availability.ts, passed in
   * by app.ts since `http` does not import `store`): answered 503 `store.unavailable`.
   */
  isStoreUnavailable?: (err: unknown) => boolean;
  /** OTPGATE_PUBLIC_URL, when set: problem `type`s are absolute URLs under it. */
  publicUrl?: string | undefined;
}

export function registerErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions = {}): void {
  // An outage fails every request: one line says so, then one per STORE_LOG_EVERY_MS with a count.
  let lastStoreLog = -Infinity;
  let unlogged = 0;
  const storeUnavailable = (err: unknown): AppError | undefined =>
    options.isStoreUnavailable?.(err)
      ? new AppError('store.unavailable', 'The database did not answer. Retry after Retry-After, with the same Idempotency-Key for a send.', { retryAfter: STORE_RETRY_AFTER_S })
      : undefined;
  app.decorate('problemTypeBase', problemTypeBase(options.publicUrl));
  app.decorate('storeUnavailable', (err: unknown) => {
    const away = storeUnavailable(err);
    if (away) logStoreUnavailable(app.log, err);
    return away;
  });
  function logStoreUnavailable(log: FastifyBaseLogger, err: unknown): void {
    unlogged++;
    const now = performance.now();
    if (now - lastStoreLog < STORE_LOG_EVERY_MS) return;
    const e = err as { name?: string; message?: string; code?: unknown };
    log.warn({ err_name: e.name, err_message: e.message, err_code: e.code, requests: unlogged }, 'the database is not answering: requests are answered 503 store.unavailable');
    lastStoreLog = now;
    unlogged = 0;
  }
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isAppError(err)) return sendProblem(reply, request, err);
    const mapped = fromFastifyError(err);
    if (mapped) return sendProblem(reply, request, mapped);
    const away = storeUnavailable(err);
    if (away) {
      logStoreUnavailable(request.log, err);
      return sendProblem(reply, request, away);
    }
    // Log the error's name and message only: never a request body, which may hold a code.
    request.log.error({ err_name: err.name, err_message: err.message, err_code: err.code, stack: err.stack }, 'unhandled error');
    return sendProblem(reply, request, new AppError('internal', 'Something went wrong on our side. Quote the request_id when you report it.'));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allow = allowedMethods(app, path);
    if (allow.length > 0) {
      reply.header('allow', allow.join(', '));
      return sendProblem(reply, request, new AppError('route.method_not_allowed', `${path} answers ${allow.join(', ')}, not ${request.method}.`));
    }
    return sendProblem(reply, request, new AppError('route.not_found', `There is no route ${request.method} ${path}.`));
  });
}
